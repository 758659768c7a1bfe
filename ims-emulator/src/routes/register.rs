//! `POST /ims/register`: dynamic client registration (RFC 7591) as ims-go's `DCR` sends it: a
//! JSON body `{"client_name", "redirect_uris": [..], "scope"?}` (scopes space-separated). The
//! client it makes is honoured from then on by every endpoint that takes a client: authorize,
//! token, validate, invalidate, revoke, logout.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::error::{ImsError, json_response};
use crate::params::read_body;
use crate::seed::SeedClient;
use crate::state::AppState;
use crate::tokens::{now_ms, random_id, split_scopes};

/// How many clients registration keeps (memory stays bounded); past it → 403 `access_denied`.
pub(crate) const MAX_REGISTERED_CLIENTS: usize = 1000;
/// Longest `client_name`, in characters.
const MAX_NAME_CHARS: usize = 256;
/// Most `redirect_uris`.
const MAX_REDIRECT_URIS: usize = 16;
/// Longest redirect URI, in bytes.
const MAX_URI_BYTES: usize = 2048;
/// The scopes of a registration that names none.
const DEFAULT_SCOPES: &[&str] = &["AdobeID", "openid"];
/// The grants of a registered client: a web app's.
const GRANTS: &[&str] = &["authorization_code", "refresh_token"];

/// The metadata the emulator reads; other RFC 7591 fields are ignored, as the RFC asks.
#[derive(Debug, Deserialize)]
struct Registration {
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    scope: Option<String>,
}

fn bad_metadata(description: impl Into<String>) -> ImsError {
    ImsError::bad("invalid_client_metadata", description)
}

fn bad_redirect(description: impl Into<String>) -> ImsError {
    ImsError::bad("invalid_redirect_uri", description)
}

/// A redirect URI a registered client may use: an absolute `https` URL, or `http` to a loopback
/// host (RFC 8252); no user info, no fragment, no `*` (registered URIs match exactly), no spaces
/// or control characters (the URL parser would drop tabs and newlines, so the text registered
/// would not be the URL checked).
fn check_redirect(uri: &str) -> Result<(), ImsError> {
    if uri.len() > MAX_URI_BYTES {
        return Err(bad_redirect(format!(
            "a redirect URI is longer than {MAX_URI_BYTES} bytes"
        )));
    }
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad_redirect(
            "a redirect URI may not hold spaces or control characters",
        ));
    }
    if uri.contains('*') {
        return Err(bad_redirect(format!(
            "redirect URI {uri} has a wildcard; registered redirect URIs match exactly"
        )));
    }
    let parsed =
        url::Url::parse(uri).map_err(|_| bad_redirect(format!("{uri} is not an absolute URL")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad_redirect(format!("redirect URI {uri} has user info")));
    }
    if parsed.fragment().is_some() {
        return Err(bad_redirect(format!("redirect URI {uri} has a fragment")));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(bad_redirect(format!(
            "redirect URI {uri} must be https, or http to a loopback host"
        ))),
    }
}

fn check_scope(scope: &str) -> Result<(), ImsError> {
    let ok = scope.len() <= 128
        && scope
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ImsError::bad(
            "invalid_client_metadata",
            format!("scope {scope:?} is not a scope name"),
        ))
    }
}

/// `POST /ims/register` → 201 `{client_id, client_secret, client_name, redirect_uris,
/// grant_types, response_types, token_endpoint_auth_method, scope, client_id_issued_at,
/// client_secret_expires_at}`.
///
/// Refusals: a body that is not `application/json` → 415; JSON that does not parse or a field of
/// the wrong type, a missing or overlong `client_name`, a bad scope name → 400
/// `invalid_client_metadata`; no `redirect_uris`, too many, or one that is not acceptable → 400
/// `invalid_redirect_uri`; the registry full → 403 `access_denied`.
pub(crate) async fn register(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ImsError> {
    let (parts, body) = request.into_parts();
    let mime = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if mime != "application/json" {
        return Err(ImsError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "client registration takes an application/json body",
        ));
    }
    let bytes = read_body(&parts.headers, body).await?;
    let registration: Registration = serde_json::from_slice(&bytes)
        .map_err(|e| bad_metadata(format!("the registration is not valid JSON metadata: {e}")))?;
    let name = registration
        .client_name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad_metadata("client_name is required"))?;
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(bad_metadata(format!(
            "client_name must be at most {MAX_NAME_CHARS} printable characters"
        )));
    }
    let redirect_uris = registration.redirect_uris.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(bad_redirect("redirect_uris is required"));
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(bad_redirect(format!(
            "at most {MAX_REDIRECT_URIS} redirect_uris"
        )));
    }
    for uri in &redirect_uris {
        check_redirect(uri)?;
    }
    let mut scopes = split_scopes(registration.scope.as_deref().unwrap_or_default());
    if scopes.is_empty() {
        scopes = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    }
    if scopes.len() > 32 {
        return Err(bad_metadata("at most 32 scopes"));
    }
    for scope in &scopes {
        check_scope(scope)?;
    }
    let client = SeedClient {
        client_id: format!("dcr-{}", random_id(12)),
        client_secret: Some(random_id(24)),
        name,
        redirect_uris,
        grant_types: GRANTS.iter().map(|g| (*g).to_owned()).collect(),
        scopes,
        org_id: None,
        technical_account: None,
    };
    let body = json!({
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": client.scopes.join(" "),
        "client_id_issued_at": now_ms() / 1000,
        "client_secret_expires_at": 0,
    });
    if !state.register_client(client, MAX_REGISTERED_CLIENTS) {
        return Err(ImsError::new(
            StatusCode::FORBIDDEN,
            "access_denied",
            format!("the emulator keeps at most {MAX_REGISTERED_CLIENTS} registered clients"),
        ));
    }
    let mut response = json_response(StatusCode::CREATED, &body);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rules() {
        assert!(check_redirect("https://app.example/cb").is_ok());
        assert!(check_redirect("http://127.0.0.1:8080/cb").is_ok());
        assert!(check_redirect("http://localhost/cb").is_ok());
        assert!(check_redirect("http://[::1]:1/cb").is_ok());
        for bad in [
            "http://app.example/cb",
            "https://app.example/*",
            "https://user:pw@app.example/cb",
            "https://app.example/cb#x",
            "javascript:alert(1)",
            "/relative",
            "http://localhost.evil.example/cb",
            // The URL parser drops tabs and newlines (as browsers do): the
            // registered text would not be the URL it checked, and CR/LF
            // would be sent in a Location header.
            "https://app.example/c\nb",
            "https://app.example/c\r\nLocation: https://evil.example/",
            "https://app.\texample/cb",
            "https://app.example/c b",
            " https://app.example/cb",
        ] {
            assert!(check_redirect(bad).is_err(), "{bad}");
        }
    }
}
