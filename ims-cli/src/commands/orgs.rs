//! `ims orgs`: the organizations of the context's user.

use ims_api::OrganizationReader as _;
use serde_json::json;

use crate::exit::CliError;
use crate::{App, ContextHint as _};

pub(crate) async fn run(app: &App, context: Option<&str>) -> Result<(), CliError> {
    let user = app.signed_in(context).await?;
    let orgs = user
        .client
        .organizations(&user.token)
        .await
        .with_context_hint(&user.name)?;
    if app.out.is_json() {
        app.out.json(&json!(orgs));
        return Ok(());
    }
    if orgs.is_empty() {
        app.out.note(&format!(
            "the user of context {} belongs to no organization",
            user.name
        ));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = orgs
        .iter()
        .map(|org| {
            vec![
                org.org_id(),
                org.org_name.clone(),
                org.org_type.clone().unwrap_or_default(),
                org.country_code.clone().unwrap_or_default(),
            ]
        })
        .collect();
    app.out.table(&["ORG ID", "NAME", "TYPE", "COUNTRY"], &rows);
    Ok(())
}
