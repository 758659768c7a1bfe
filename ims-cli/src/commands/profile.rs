//! `ims profile`: the profile of the context's user.

use ims_api::ProfileReader as _;
use serde_json::json;

use crate::exit::CliError;
use crate::{App, ContextHint as _};

pub(crate) async fn run(app: &App, context: Option<&str>) -> Result<(), CliError> {
    let user = app.signed_in(context).await?;
    let profile = user
        .client
        .profile(&user.token, user.context.credentials.client_id())
        .await
        .with_context_hint(&user.name)?;
    if app.out.is_json() {
        app.out.json(&json!(profile));
        return Ok(());
    }
    let field = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut rows = vec![
        vec!["user id".to_owned(), field(&profile.user_id)],
        vec!["name".to_owned(), field(&profile.name)],
        vec!["email".to_owned(), field(&profile.email)],
        vec![
            "email verified".to_owned(),
            profile.email_verified.to_string(),
        ],
        vec!["account type".to_owned(), field(&profile.account_type)],
        vec!["country".to_owned(), field(&profile.country_code)],
    ];
    for role in &profile.roles {
        rows.push(vec![
            "role".to_owned(),
            format!(
                "{} in {}",
                role.named_role.as_deref().unwrap_or("?"),
                role.organization.as_deref().unwrap_or("?")
            ),
        ]);
    }
    app.out.table(&["FIELD", "VALUE"], &rows);
    Ok(())
}
