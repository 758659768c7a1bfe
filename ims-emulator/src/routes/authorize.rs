//! `GET`/`POST /ims/authorize`, `/v1`, `/v2`: the sign-in page, SSO session, PKCE, scope checks,
//! and errors as redirects (or an error page when redirecting would be unsafe).

use std::borrow::Cow;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::html;
use crate::params::Params;
use crate::routes::secrets_equal;
use crate::seed::SeedClient;
use crate::state::{AppState, CodeGrant, Inner, Session};
use crate::tokens::{CODE_TTL_MS, TokenKind, TokenSpec, now_ms, random_id, split_scopes};

/// Name of the browser-session cookie set by the sign-in page.
pub(crate) const SESSION_COOKIE: &str = "ims_emulator_session";

/// Parameters that are not carried through the sign-in form.
const FORM_ONLY: &[&str] = &["email", "password", "action"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    Fragment,
}

/// A checked authorization request.
#[derive(Debug)]
struct AuthRequest<'a> {
    client: Cow<'a, SeedClient>,
    redirect_uri: String,
    mode: Mode,
    state: Option<String>,
    scope: Vec<String>,
    nonce: Option<String>,
    prompt: Option<String>,
    reauth: bool,
    challenge: Option<(String, String)>,
}

/// Where an authorization error goes.
#[derive(Debug)]
enum AuthError {
    /// Unsafe to redirect: show an error page.
    Page(StatusCode, &'static str, String),
    /// Redirect to the (registered) redirect URI with `error`.
    Redirect {
        redirect_uri: String,
        mode: Mode,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            AuthError::Page(status, error, description) => {
                html::error_page(status, error, &description)
            }
            AuthError::Redirect {
                redirect_uri,
                mode,
                state,
                error,
                description,
            } => {
                let mut pairs = vec![
                    ("error", error.to_owned()),
                    ("error_description", description),
                ];
                if let Some(state) = state {
                    pairs.push(("state", state));
                }
                redirect_with(&redirect_uri, mode, &pairs)
            }
        }
    }
}

/// 302 to `uri` with `pairs` in its query or fragment.
fn redirect_with(uri: &str, mode: Mode, pairs: &[(&str, String)]) -> Response {
    let Ok(mut url) = url::Url::parse(uri) else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri is not a URL",
        );
    };
    match mode {
        Mode::Query => {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        Mode::Fragment => {
            let fragment = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            url.set_fragment(Some(&fragment));
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

fn parse<'a>(state: &'a Inner, params: &Params) -> Result<AuthRequest<'a>, AuthError> {
    let page = |d: String| AuthError::Page(StatusCode::BAD_REQUEST, "invalid_request", d);
    let client_id = params
        .get("client_id")
        .ok_or_else(|| page("missing required parameter: client_id".into()))?;
    let client = state.client(client_id).ok_or_else(|| {
        AuthError::Page(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            format!("unknown client_id {client_id}"),
        )
    })?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.redirect_allowed(uri) => uri.to_owned(),
        Some(uri) => {
            return Err(page(format!(
                "redirect_uri {uri} is not registered for client {client_id}"
            )));
        }
        None => client
            .default_redirect()
            .map(str::to_owned)
            .ok_or_else(|| {
                page("redirect_uri is required: the client has no default redirect URI".into())
            })?,
    };
    let state_param = params.get("state").map(str::to_owned);
    let mode = if params.get("response_mode") == Some("fragment") {
        Mode::Fragment
    } else {
        Mode::Query
    };
    let redirect = |error: &'static str, description: String| AuthError::Redirect {
        redirect_uri: redirect_uri.clone(),
        mode,
        state: state_param.clone().filter(|s| s.len() <= 4096),
        error,
        description,
    };
    if let Some(m) = params.get("response_mode")
        && m != "query"
        && m != "fragment"
    {
        return Err(redirect(
            "invalid_request",
            format!("response_mode {m} is not supported"),
        ));
    }
    if state_param.as_ref().is_some_and(|s| s.len() > 4096) {
        return Err(redirect(
            "invalid_request",
            "state is longer than 4096 characters".into(),
        ));
    }
    let response_type = params.get("response_type").unwrap_or("code");
    if response_type != "code" {
        return Err(redirect(
            "unsupported_response_type",
            format!("response_type {response_type} is not supported (use code)"),
        ));
    }
    if !client.allows_grant("authorization_code") {
        return Err(redirect(
            "unauthorized_client",
            "the client may not use the authorization code flow".into(),
        ));
    }
    let scope = split_scopes(params.get("scope").unwrap_or_default());
    if let Some(bad) = scope.iter().find(|s| !client.allows_scope(s)) {
        return Err(redirect(
            "invalid_scope",
            format!("scope {bad} is not allowed for this client"),
        ));
    }
    let challenge = match params.get("code_challenge") {
        Some(c) => {
            let method = params.get("code_challenge_method").unwrap_or("plain");
            if method != "S256" && method != "plain" {
                return Err(redirect(
                    "invalid_request",
                    format!("code_challenge_method {method} is not supported"),
                ));
            }
            if !(43..=128).contains(&c.len()) {
                return Err(redirect(
                    "invalid_request",
                    "code_challenge must be 43 to 128 characters".into(),
                ));
            }
            Some((c.to_owned(), method.to_owned()))
        }
        None => None,
    };
    if challenge.is_none() && client.client_secret.is_none() {
        return Err(redirect(
            "invalid_request",
            "public clients must send a code_challenge (PKCE)".into(),
        ));
    }
    let prompt = params.get("prompt").map(str::to_owned);
    if let Some(p) = &prompt
        && !matches!(p.as_str(), "none" | "login" | "consent" | "select_account")
    {
        return Err(redirect(
            "invalid_request",
            format!("prompt {p} is not supported"),
        ));
    }
    let reauth = match params.get("reauth") {
        None => false,
        Some("check") => true,
        Some(other) => {
            return Err(redirect(
                "invalid_request",
                format!("reauth {other} is not supported"),
            ));
        }
    };
    Ok(AuthRequest {
        client,
        redirect_uri,
        mode,
        state: state_param,
        scope,
        nonce: params.get("nonce").map(str::to_owned),
        prompt,
        reauth,
        challenge,
    })
}

/// The session id from the cookie, if it names a live session.
fn current_session(state: &Inner, headers: &HeaderMap) -> Option<(String, String)> {
    let cookies = headers.get_all(header::COOKIE);
    for value in cookies {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((name, id)) = pair.trim().split_once('=')
                && name == SESSION_COOKIE
            {
                let store = state.store();
                if let Some(session) = store.sessions.get(id)
                    && !session.ended
                    && state.seed.user(&session.user_id).is_some()
                {
                    return Some((id.to_owned(), session.user_id.clone()));
                }
            }
        }
    }
    None
}

/// Mints a code and redirects with it.
fn issue_code(state: &Inner, request: &AuthRequest<'_>, user_id: &str, session: &str) -> Response {
    let now = now_ms();
    let minted = match state.mint(&TokenSpec {
        kind: TokenKind::Code,
        client_id: request.client.client_id.clone(),
        user_id: user_id.to_owned(),
        scope: request.scope.clone(),
        created_at_ms: now,
        expires_in_ms: CODE_TTL_MS,
        extra: Vec::new(),
    }) {
        Ok(m) => m,
        Err(e) => return html::error_page(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e),
    };
    {
        let mut store = state.store();
        store.prune_codes(now);
        store.codes.insert(
            minted.id.clone(),
            CodeGrant {
                client_id: request.client.client_id.clone(),
                user_id: user_id.to_owned(),
                scope: request.scope.clone(),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.challenge.clone(),
                nonce: request.nonce.clone(),
                session_id: Some(session.to_owned()),
                used: false,
                expires_at_ms: now + CODE_TTL_MS,
                issued: Vec::new(),
            },
        );
    }
    let mut pairs = vec![("code", minted.token)];
    if let Some(s) = &request.state {
        pairs.push(("state", s.clone()));
    }
    redirect_with(&request.redirect_uri, request.mode, &pairs)
}

fn hidden_fields(params: &Params) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in params.pairs() {
        if FORM_ONLY.contains(&k) || out.iter().any(|(ok, ov)| ok == k && ov == v) {
            continue;
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    out
}

fn client_label(client: &SeedClient) -> &str {
    if client.name.is_empty() {
        &client.client_id
    } else {
        &client.name
    }
}

/// `GET /ims/authorize[/v1|/v2]`.
pub(crate) async fn authorize_get(
    State(state): State<AppState>,
    uri: Uri,
    params: Params,
) -> Response {
    let request = match parse(&state, &params) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let session = current_session(&state, &params.headers);
    let prompt = request.prompt.as_deref();
    if prompt == Some("none") {
        return match session {
            Some((sid, user)) if !request.reauth => issue_code(&state, &request, &user, &sid),
            _ => AuthError::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                mode: request.mode,
                state: request.state.clone(),
                error: "login_required",
                description: "the user is not signed in".into(),
            }
            .into_response(),
        };
    }
    if let Some((sid, user)) = session
        && prompt != Some("login")
        && !request.reauth
    {
        return issue_code(&state, &request, &user, &sid);
    }
    // Like IMS, which sends the browser on to its sign-in host: the request
    // is valid, so the answer is a redirect (Magento's enable probe relies
    // on it), to the sign-in page with the same parameters.
    let mut location = state.url(SIGN_IN_PATH);
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => AuthError::Page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the authorize request cannot be redirected".into(),
        )
        .into_response(),
    }
}

/// Where `GET /ims/authorize` sends browsers that must sign in.
pub(crate) const SIGN_IN_PATH: &str = "/ims/signin";

/// `GET /ims/signin`: the sign-in page for an authorize request (its
/// parameters in the query); the form posts to `/ims/authorize/v2`.
pub(crate) async fn sign_in_get(State(state): State<AppState>, params: Params) -> Response {
    let request = match parse(&state, &params) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    // Like IMS: `login_hint` pre-fills the e-mail address.
    html::sign_in_page(
        StatusCode::OK,
        "/ims/authorize/v2",
        client_label(&request.client),
        &hidden_fields(&params),
        params.get("login_hint").unwrap_or_default(),
        None,
        request.reauth,
    )
}

/// `POST /ims/authorize[/v1|/v2]`: the sign-in form's submission.
pub(crate) async fn authorize_post(
    State(state): State<AppState>,
    uri: Uri,
    params: Params,
) -> Response {
    let request = match parse(&state, &params) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if params.get("action") == Some("cancel") {
        return AuthError::Redirect {
            redirect_uri: request.redirect_uri.clone(),
            mode: request.mode,
            state: request.state.clone(),
            error: "access_denied",
            description: "the user cancelled the sign-in".into(),
        }
        .into_response();
    }
    let email = params.get("email").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let user = state
        .seed
        .user_by_email(email)
        .filter(|u| secrets_equal(&u.password, password));
    let Some(user) = user else {
        return html::sign_in_page(
            StatusCode::UNAUTHORIZED,
            uri.path(),
            client_label(&request.client),
            &hidden_fields(&params),
            email,
            Some("Wrong email address or password."),
            request.reauth,
        );
    };
    let sid = random_id(24);
    state.store().sessions.insert(
        sid.clone(),
        Session {
            user_id: user.user_id.clone(),
            ended: false,
        },
    );
    let mut response = issue_code(&state, &request, &user.user_id, &sid);
    let cookie = format!("{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
