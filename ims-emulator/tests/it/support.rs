//! Shared helpers: start an emulator, a client that does not follow redirects, the sign-in flow.
#![allow(clippy::unwrap_used, dead_code)]

use base64::Engine as _;
use ims_emulator::{Emulator, RunningEmulator, SignInForm, default_seed as d};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::Value;

pub(crate) async fn start() -> RunningEmulator {
    Emulator::builder().start().await.unwrap()
}

thread_local! {
    // One client per test thread (each test has its own thread and runtime): building a client
    // loads the TLS roots, which is slow in debug builds.
    static CLIENT: reqwest::Client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
}

/// A client that does not follow redirects.
pub(crate) fn http() -> reqwest::Client {
    CLIENT.with(Clone::clone)
}

/// The decoded payload of a JWT (no verification).
pub(crate) fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The decoded header of a JWT.
pub(crate) fn header(jwt: &str) -> Value {
    let part = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Checks an IMS error answer: status, `error`, JSON content type, debug id. Returns the body.
pub(crate) async fn expect_error(response: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json;charset=UTF-8"
    );
    assert!(response.headers().contains_key("x-debug-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "unexpected body {body}");
    assert!(body["error_description"].is_string());
    body
}

/// Query (or fragment) pairs of a redirect's Location.
pub(crate) fn location(headers: &HeaderMap) -> url::Url {
    url::Url::parse(headers[LOCATION].to_str().unwrap()).unwrap()
}

pub(crate) fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Result of a browser sign-in.
#[derive(Debug)]
pub(crate) struct SignIn {
    pub(crate) redirect: url::Url,
    pub(crate) cookie: String,
}

impl SignIn {
    pub(crate) fn code(&self) -> String {
        query_param(&self.redirect, "code").unwrap()
    }
}

/// GETs an authorize path: a valid request is redirected to the sign-in
/// page (as IMS sends browsers to its sign-in host), which this follows.
pub(crate) async fn authorize_page(
    ims: &RunningEmulator,
    path: &str,
    query: &[(&str, &str)],
) -> reqwest::Response {
    let response = http().get(ims.url(path)).query(query).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "authorize redirects to sign-in"
    );
    let sign_in = location(response.headers());
    assert_eq!(sign_in.path(), "/ims/signin");
    http().get(sign_in.as_str()).send().await.unwrap()
}

/// Browser flow: GET authorize → sign-in page → POST hidden fields + credentials → 302.
pub(crate) async fn sign_in_as(
    ims: &RunningEmulator,
    query: &[(&str, &str)],
    email: &str,
    password: &str,
) -> SignIn {
    let client = http();
    let page = authorize_page(ims, "/ims/authorize/v2", query).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    let form = SignInForm::parse(&html).unwrap();
    let response = client
        .post(ims.url(&form.action))
        .form(&form.fields(email, password, "login"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "{:?}",
        response.text().await
    );
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    SignIn {
        redirect: location(response.headers()),
        cookie,
    }
}

/// Signs the member in with the web client.
pub(crate) async fn sign_in(ims: &RunningEmulator, extra: &[(&str, &str)]) -> SignIn {
    let mut query = vec![
        ("client_id", d::WEB_CLIENT_ID),
        ("redirect_uri", "http://127.0.0.1:5555/callback"),
        ("scope", "AdobeID,openid,email,profile,org.read"),
        ("response_type", "code"),
        ("state", "st-123"),
    ];
    for (k, v) in extra {
        query.retain(|(qk, _)| qk != k);
        query.push((k, v));
    }
    sign_in_as(ims, &query, d::MEMBER_EMAIL, d::MEMBER_PASSWORD).await
}

/// Exchanges a code at `path` with the web client's secret.
pub(crate) async fn exchange_code(
    ims: &RunningEmulator,
    path: &str,
    code: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", d::WEB_CLIENT_ID),
        ("client_secret", d::WEB_CLIENT_SECRET),
        ("code", code),
    ];
    form.extend_from_slice(extra);
    http().post(ims.url(path)).form(&form).send().await.unwrap()
}

/// A member access token from the full code flow at `/ims/token/v3`.
pub(crate) async fn member_tokens(ims: &RunningEmulator, scope: &str) -> Value {
    let signed_in = sign_in(ims, &[("scope", scope)]).await;
    let response = exchange_code(ims, "/ims/token/v3", &signed_in.code(), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A client-credentials token for the s2s client.
pub(crate) async fn s2s_token(ims: &RunningEmulator) -> String {
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", d::S2S_CLIENT_ID),
            ("client_secret", d::S2S_CLIENT_SECRET),
            ("scope", "openid,AdobeID,read_organizations"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// `POST /ims/validate_token/v1` (urlencoded) → body, asked for the
/// client the token was issued to (its `client_id` claim; the web client's
/// for what is no token).
pub(crate) async fn validate(ims: &RunningEmulator, token: &str, kind: &str) -> Value {
    let own = token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
        .and_then(|claims| claims["client_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| d::WEB_CLIENT_ID.to_owned());
    validate_for(ims, token, kind, &own).await
}

/// `POST /ims/validate_token/v1` (urlencoded), asked for `client_id`, → body.
pub(crate) async fn validate_for(
    ims: &RunningEmulator,
    token: &str,
    kind: &str,
    client_id: &str,
) -> Value {
    let response = http()
        .post(ims.url("/ims/validate_token/v1"))
        .form(&[("type", kind), ("client_id", client_id), ("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
