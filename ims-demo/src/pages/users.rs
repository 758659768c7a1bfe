//! Admin users: the list, and creating one — a sensitive action that
//! needs a fresh re-authentication (admin-ims's `require_reauth`; with a
//! password session, the admin's own password).

use admin_ims::axum::SignedInAdmin;
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ims_api::{AdminUserDirectory, AdminUserId, LockoutPolicy, NewAdminUser, Password};
use ims_store::PasswordSignIn;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{Nav, PageError, alert, escape, notice, page};
use crate::password_login::SignInKind;
use crate::wiring::{ADMIN_ROLE, AppState, ROLES, is_known_role, random_password};

/// Where a create form waits while its author re-authenticates.
const PENDING_KEY: &str = "demo_pending_user";

/// `GET /admin/users`'s query.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    created: Option<i64>,
}

/// `GET /admin/users`.
pub(crate) async fn list(
    State(state): State<AppState>,
    SignedInAdmin(admin): SignedInAdmin,
    Extension(kind): Extension<SignInKind>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let nav = Nav::load(&state, admin, kind).await?;
    let users = state
        .store
        .admin_users()
        .list()
        .await
        .map_err(PageError::storage)?;
    let mut body = String::new();
    if let Some(created) = query.created
        && let Some(user) = users.iter().find(|u| u.id == AdminUserId(created))
    {
        body.push_str(&notice(&format!("Admin user {} created.", user.username)));
    }
    body.push_str(
        "<table id=\"users\"><thead><tr><th>ID</th><th>User name</th><th>E-mail</th><th>Name</th><th>Role</th><th>Status</th></tr></thead><tbody>",
    );
    for user in &users {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            user.id.0,
            escape(&user.username),
            escape(&user.email),
            escape(&format!("{} {}", user.first_name, user.last_name)),
            escape(user.role.as_deref().unwrap_or("none")),
            if user.is_active { "active" } else { "inactive" },
        ));
    }
    body.push_str("</tbody></table>");
    body.push_str(
        "<p class=\"actions\"><a class=\"button\" id=\"new-user\" href=\"/admin/users/new\">Create admin user</a></p>",
    );
    Ok(page("Admin users", Some(&nav), &body).into_response())
}

/// The form's fields (never the passwords when kept in the session).
#[derive(Default, Deserialize, Serialize)]
pub(crate) struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    role: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default, skip_serializing)]
    current_password: String,
}

impl std::fmt::Debug for UserForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserForm")
            .field("username", &self.username)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// `GET /admin/users/new`: the form, filled in again after a
/// re-authentication.
pub(crate) async fn new_form(
    State(state): State<AppState>,
    SignedInAdmin(admin): SignedInAdmin,
    Extension(kind): Extension<SignInKind>,
    session: Session,
) -> Result<Response, PageError> {
    let nav = Nav::load(&state, admin, kind).await?;
    let pending = session.get::<UserForm>(PENDING_KEY).await.ok().flatten();
    let message = pending.as_ref().map(|_| {
        notice("Your entries were kept while you re-authenticated with Adobe ID. Press “Create admin user” to finish.")
    });
    let form = pending.unwrap_or_else(|| UserForm {
        role: ADMIN_ROLE.to_owned(),
        ..UserForm::default()
    });
    Ok(render_form(&nav, &form, message.as_deref().unwrap_or_default()).into_response())
}

fn render_form(nav: &Nav, form: &UserForm, message: &str) -> axum::response::Html<String> {
    let field = |name: &str, label: &str, value: &str, kind: &str| {
        format!(
            "<label>{label}<input type=\"{kind}\" id=\"{name}\" name=\"{name}\" value=\"{}\" required></label>",
            escape(value)
        )
    };
    let mut body = String::from(message);
    body.push_str("<form method=\"post\" action=\"/admin/users/new\">");
    body.push_str(&field("username", "User name", &form.username, "text"));
    body.push_str(&field("email", "E-mail", &form.email, "email"));
    body.push_str(&field("first_name", "First name", &form.first_name, "text"));
    body.push_str(&field("last_name", "Last name", &form.last_name, "text"));
    body.push_str("<label>Role<select id=\"role\" name=\"role\">");
    for (value, label) in ROLES {
        let selected = if form.role == value { " selected" } else { "" };
        body.push_str(&format!(
            "<option value=\"{}\"{selected}>{}</option>",
            escape(value),
            escape(label)
        ));
    }
    body.push_str("</select></label>");
    match nav.kind {
        SignInKind::AdobeId => body.push_str(
            "<p class=\"hint\">The new admin signs in with the Adobe ID of this e-mail address. \
Creating a user needs a fresh re-authentication with your Adobe ID: you will be asked to sign in again.</p>",
        ),
        SignInKind::Password => {
            body.push_str(&field("password", "Password for the new user", "", "password"));
            body.push_str(&field(
                "current_password",
                "Your password (re-authentication)",
                "",
                "password",
            ));
        }
    }
    body.push_str(
        "<p class=\"actions\"><button type=\"submit\" id=\"create-user\">Create admin user</button> \
<a href=\"/admin/users\">Cancel</a></p></form>",
    );
    page("Create admin user", Some(nav), &body)
}

/// The checks of a new user's fields; a readable reason when they fail.
pub(crate) fn validate_new_user(
    username: &str,
    email: &str,
    first_name: &str,
    last_name: &str,
) -> Result<(), &'static str> {
    if username.trim().is_empty() || username.len() > 40 {
        return Err("Enter a user name of at most 40 characters.");
    }
    if first_name.trim().is_empty() || last_name.trim().is_empty() {
        return Err("Enter a first and a last name.");
    }
    let valid_email = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if !valid_email {
        return Err("Enter a valid e-mail address.");
    }
    Ok(())
}

/// Magento's rule for admin passwords: at least 7 characters, with letters
/// and digits.
pub(crate) fn validate_password(password: &str) -> Result<(), &'static str> {
    let letters = password.chars().any(char::is_alphabetic);
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if password.chars().count() >= 7 && letters && digits {
        Ok(())
    } else {
        Err("The password needs at least 7 characters, with both letters and digits.")
    }
}

/// `POST /admin/users/new`.
pub(crate) async fn create(
    State(state): State<AppState>,
    SignedInAdmin(admin): SignedInAdmin,
    Extension(kind): Extension<SignInKind>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let nav = Nav::load(&state, admin, kind).await?;
    let invalid = |message: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            render_form(&nav, &form, &alert(message)),
        )
            .into_response()
    };
    if let Err(message) = validate_new_user(
        &form.username,
        &form.email,
        &form.first_name,
        &form.last_name,
    ) {
        return Ok(invalid(message));
    }
    if !is_known_role(&form.role) {
        return Ok(invalid("Choose a role."));
    }
    let admins = state.store.admin_users();
    if admins
        .find_by_email(form.email.trim())
        .await
        .map_err(PageError::storage)?
        .is_some()
    {
        return Ok(invalid(
            "An admin user with this e-mail address already exists.",
        ));
    }
    let password = match kind {
        SignInKind::AdobeId => {
            // The sensitive action: admin-ims consumes the re-authentication
            // proof, or we keep the form and send the admin to re-authenticate.
            if state.web.require_reauth(&session, &headers).await.is_err() {
                session
                    .insert(PENDING_KEY, &form)
                    .await
                    .map_err(|_| PageError::new("The session could not be saved."))?;
                let target = format!(
                    "{}?return_to={}",
                    state.web.reauth_path(),
                    "%2Fadmin%2Fusers%2Fnew"
                );
                return Ok(Redirect::to(&target).into_response());
            }
            random_password()
        }
        SignInKind::Password => {
            // The admin's own password, checked as a sign-in is: a wrong one
            // counts towards the lockout (a stolen session cannot guess it
            // freely) and a locked admin is refused without a hash.
            let outcome = admins
                .sign_in_with_password(
                    &nav.user.username,
                    &Password::new(form.current_password.clone()),
                    &LockoutPolicy::default(),
                )
                .await
                .map_err(PageError::storage)?;
            match outcome {
                PasswordSignIn::SignedIn(user) if user.id == admin => {}
                PasswordSignIn::Busy { .. } => {
                    return Ok(invalid(
                        "Too many passwords are being checked right now. Please try again in a moment.",
                    ));
                }
                _ => return Ok(invalid("Your password was not correct.")),
            }
            if let Err(message) = validate_password(&form.password) {
                return Ok(invalid(message));
            }
            Password::new(form.password.clone())
        }
    };
    let new_user = NewAdminUser::new(
        form.username.trim(),
        form.email.trim(),
        form.first_name.trim(),
        form.last_name.trim(),
        password,
    )
    .with_role(form.role.clone());
    let created = match admins.create(&new_user).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!("creating an admin user failed: {e}");
            return Ok(invalid(
                "The user could not be created: is the user name already taken?",
            ));
        }
    };
    let _ = session.remove::<UserForm>(PENDING_KEY).await;
    tracing::info!(
        admin_id = admin.0,
        created = created.id.0,
        "admin user created"
    );
    Ok(Redirect::to(&format!("/admin/users?created={}", created.id.0)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_users_are_checked() {
        assert!(validate_new_user("casey", "casey@example.com", "Casey", "C").is_ok());
        assert!(validate_new_user("", "casey@example.com", "Casey", "C").is_err());
        assert!(validate_new_user("casey", "not-an-email", "Casey", "C").is_err());
        assert!(validate_new_user("casey", "a b@example.com", "Casey", "C").is_err());
        assert!(validate_new_user("casey", "casey@example.com", " ", "C").is_err());
    }

    #[test]
    fn passwords_follow_magentos_rule() {
        assert!(validate_password("abc1234").is_ok());
        assert!(validate_password("abcdefg").is_err());
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("ab12").is_err());
    }
}
