//! Hostile tokens, one table: each is answered 401 — with the same challenge
//! and body whatever the reason, which the authenticator gives (for the log)
//! but the answer does not — never a panic, and costs IMS at most one call
//! (none for a token of another client). Tokens are signed with the
//! emulator's own fixture key where the point is a claim, so the claim check
//! — not the signature — is what refuses them.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)]

mod real_stack;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http::StatusCode;
use ims_api::to_unix_millis;
use ims_emulator::{MintTokenRequest, default_seed as seed};
use real_stack::{App, LOCKED_EMAIL, NO_ROLE_EMAIL, PROFILE, STRANGER_EMAIL, VALIDATE, app};
use serde_json::{Value, json};

const EMULATOR_KEY: &str = include_str!("../../ims-emulator/fixtures/signing-key-1.pem");
const OTHER_KEY: &str = include_str!("../../ims-core/tests/fixtures/test-other-private.pem");
const KID: &str = "ims_na1-key-at-1";

fn now_ms() -> i64 {
    to_unix_millis(time::OffsetDateTime::now_utc())
}

/// IMS-shaped claims for the member, valid for a day.
fn claims() -> Value {
    json!({
        "id": "hostile", "type": "access_token", "client_id": seed::WEB_CLIENT_ID,
        "user_id": seed::MEMBER_USER_ID, "scope": "AdobeID,openid", "as": "ims-na1",
        "created_at": (now_ms() - 60_000).to_string(), "expires_in": "86400000",
    })
}

fn with(mut value: Value, key: &str, new: Value) -> Value {
    if new.is_null() {
        value.as_object_mut().unwrap().remove(key);
    } else {
        value[key] = new;
    }
    value
}

/// Signs `payload` RS256 with a PEM key under `header`.
fn sign(header: Value, payload: &Value, pem: &str) -> String {
    let header: jsonwebtoken::Header = serde_json::from_value(header).unwrap();
    jsonwebtoken::encode(
        &header,
        payload,
        &jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn rs256(payload: &Value) -> String {
    sign(
        json!({"alg": "RS256", "typ": "JWT", "kid": KID, "x5u": format!("{KID}.cer")}),
        payload,
        EMULATOR_KEY,
    )
}

/// Raw parts, base64url-encoded, with any header and signature.
fn raw(header: &str, payload: &str, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header),
        B64.encode(payload),
        B64.encode(signature)
    )
}

/// The classic confusion attack: HS256 keyed with the bytes of the public
/// certificate IMS publishes for `KID`.
fn hs256_with_public_key(public: &str) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": KID});
    jsonwebtoken::encode(
        &serde_json::from_value(header).unwrap(),
        &claims(),
        &jsonwebtoken::EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap()
}

struct Case {
    name: &'static str,
    authorization: Vec<Vec<u8>>,
    /// Expected in the authenticator's reason, which is logged, never
    /// answered ("" for a request without credentials).
    reason: &'static str,
    /// IMS calls (validation, profile) the first request may cost.
    max_ims_calls: u64,
}

fn bearer(name: &'static str, token: String, reason: &'static str) -> Case {
    Case {
        name,
        authorization: vec![format!("Bearer {token}").into_bytes()],
        reason,
        max_ims_calls: 2,
    }
}

/// A token refused before any IMS call.
fn local(name: &'static str, token: String, reason: &'static str) -> Case {
    Case {
        max_ims_calls: 0,
        ..bearer(name, token, reason)
    }
}

fn header(name: &'static str, values: &[&[u8]], reason: &'static str) -> Case {
    Case {
        name,
        authorization: values.iter().map(|v| v.to_vec()).collect(),
        reason,
        max_ims_calls: 0,
    }
}

fn cases(app: &App, public_certificate: &str) -> Vec<Case> {
    let day = 86_400_000i64;
    let genuine = app.mint(seed::MEMBER_EMAIL);
    let parts: Vec<&str> = genuine.split('.').collect();
    let revoked = app.mint(seed::MEMBER_EMAIL);
    let mut nest = String::new();
    for _ in 0..100_000 {
        nest.push('[');
    }
    let bomb = format!(r#"{{"type":"access_token","x":{nest}"#);
    let for_client = |client: &str| {
        app.ims
            .mint_access_token(
                &MintTokenRequest::for_email(seed::MEMBER_EMAIL, client).scope("AdobeID,openid"),
            )
            .unwrap()
    };
    let client_claim = |client: Value| rs256(&with(claims(), "client_id", client));
    vec![
        bearer(
            "alg none",
            raw(r#"{"alg":"none","typ":"JWT"}"#, &claims().to_string(), ""),
            "algorithm",
        ),
        bearer(
            "HS256 keyed with the public key",
            hs256_with_public_key(public_certificate),
            "algorithm",
        ),
        bearer(
            "RS512",
            sign(json!({"alg": "RS512", "kid": KID}), &claims(), EMULATOR_KEY),
            "algorithm",
        ),
        bearer(
            "PS256",
            sign(json!({"alg": "PS256", "kid": KID}), &claims(), EMULATOR_KEY),
            "algorithm",
        ),
        bearer(
            "alg in lower case",
            raw(
                r#"{"alg":"rs256","kid":"ims_na1-key-at-1"}"#,
                &claims().to_string(),
                "sig",
            ),
            "algorithm",
        ),
        bearer(
            "unknown kid",
            sign(
                json!({"alg": "RS256", "kid": "ims_na1-key-at-999"}),
                &claims(),
                EMULATOR_KEY,
            ),
            "unknown key",
        ),
        bearer(
            "x5u with ../",
            sign(
                json!({"alg": "RS256", "x5u": "../../etc/passwd"}),
                &claims(),
                EMULATOR_KEY,
            ),
            "x5u",
        ),
        bearer(
            "x5u as a full URL",
            sign(
                json!({"alg": "RS256", "x5u": "https://evil.example/key.cer"}),
                &claims(),
                EMULATOR_KEY,
            ),
            "x5u",
        ),
        bearer(
            "x5u with a slash",
            sign(
                json!({"alg": "RS256", "x5u": "keys/prod/k.cer"}),
                &claims(),
                EMULATOR_KEY,
            ),
            "x5u",
        ),
        bearer(
            "signature of another key",
            sign(json!({"alg": "RS256", "kid": KID}), &claims(), OTHER_KEY),
            "signature",
        ),
        bearer(
            "payload swapped under a genuine signature",
            format!(
                "{}.{}.{}",
                parts[0],
                B64.encode(claims().to_string()),
                parts[2]
            ),
            "signature",
        ),
        bearer(
            "missing created_at",
            rs256(&with(claims(), "created_at", Value::Null)),
            "created_at",
        ),
        bearer(
            "missing expires_in",
            rs256(&with(claims(), "expires_in", Value::Null)),
            "expires_in",
        ),
        bearer(
            "non-numeric created_at",
            rs256(&with(claims(), "created_at", json!("yesterday"))),
            "created_at",
        ),
        bearer(
            "non-numeric expires_in",
            rs256(&with(claims(), "expires_in", json!("1d"))),
            "expires_in",
        ),
        bearer(
            "negative expires_in",
            rs256(&with(claims(), "expires_in", json!("-5"))),
            "expires_in",
        ),
        bearer(
            "created_at as an object",
            rs256(&with(claims(), "created_at", json!({"ms": 1}))),
            "created_at",
        ),
        bearer(
            "expired",
            rs256(&with(
                claims(),
                "created_at",
                json!((now_ms() - 2 * day).to_string()),
            )),
            "expired",
        ),
        bearer(
            "created in the future",
            rs256(&with(
                claims(),
                "created_at",
                json!((now_ms() + day).to_string()),
            )),
            "future",
        ),
        bearer(
            "a refresh token",
            rs256(&with(claims(), "type", json!("refresh_token"))),
            "refresh_token",
        ),
        bearer(
            "an authorization code",
            rs256(&with(claims(), "type", json!("authorization_code"))),
            "authorization_code",
        ),
        bearer(
            "no type",
            rs256(&with(claims(), "type", Value::Null)),
            "type",
        ),
        bearer(
            "wrong as (stage)",
            rs256(&with(claims(), "as", json!("ims-na1-stg1"))),
            "ims-na1-stg1",
        ),
        local(
            "a token of the S2S client",
            for_client(seed::S2S_CLIENT_ID),
            "not authorized",
        ),
        local(
            "a token of the public (CLI) client",
            for_client(seed::PUBLIC_CLIENT_ID),
            "not authorized",
        ),
        local(
            "a token of the JWT client",
            for_client(seed::JWT_CLIENT_ID),
            "not authorized",
        ),
        local("no client_id", client_claim(Value::Null), "not authorized"),
        local("empty client_id", client_claim(json!("")), "not authorized"),
        local(
            "client_id in upper case",
            client_claim(json!(seed::WEB_CLIENT_ID.to_uppercase())),
            "not authorized",
        ),
        local(
            "client_id with a leading space",
            client_claim(json!(format!(" {}", seed::WEB_CLIENT_ID))),
            "not authorized",
        ),
        local(
            "client_id with a trailing newline",
            client_claim(json!(format!("{}\n", seed::WEB_CLIENT_ID))),
            "not authorized",
        ),
        local(
            "client_id with a NUL",
            client_claim(json!(format!("{}\u{0}", seed::WEB_CLIENT_ID))),
            "not authorized",
        ),
        local(
            "client_id as a prefix",
            client_claim(json!(&seed::WEB_CLIENT_ID[..seed::WEB_CLIENT_ID.len() - 1])),
            "not authorized",
        ),
        local(
            "client_id as a list",
            client_claim(json!([seed::WEB_CLIENT_ID])),
            "malformed",
        ),
        bearer("revoked at IMS", revoked, "IMS rejected"),
        bearer(
            "truncated",
            genuine[..genuine.len() - 12].to_owned(),
            "signature",
        ),
        bearer(
            "signature removed",
            format!("{}.{}.", parts[0], parts[1]),
            "malformed",
        ),
        bearer("not base64", "!!!.@@@.###".to_owned(), "malformed"),
        bearer(
            "header not JSON",
            raw("not json", &claims().to_string(), "s"),
            "malformed",
        ),
        // Its header names a real key: the signature is checked (and fails)
        // before the payload is even parsed.
        bearer(
            "payload not JSON",
            raw(
                r#"{"alg":"RS256","kid":"ims_na1-key-at-1"}"#,
                "not json",
                "s",
            ),
            "signature",
        ),
        bearer(
            "payload a JSON array",
            rs256(&json!([1, 2, 3])),
            "malformed",
        ),
        bearer(
            "two parts",
            format!("{}.{}", parts[0], parts[1]),
            "malformed",
        ),
        bearer("four parts", format!("{genuine}.{}", parts[2]), "malformed"),
        bearer("one part", parts[0].to_owned(), "malformed"),
        bearer("empty parts", "..".to_owned(), "malformed"),
        bearer("64 KiB token", "a".repeat(64 * 1024), "too long"),
        bearer(
            "JSON nesting bomb",
            raw(r#"{"alg":"RS256","kid":"ims_na1-key-at-1"}"#, &bomb, "s"),
            "malformed",
        ),
        bearer(
            "crit header",
            sign(
                json!({"alg": "RS256", "kid": KID, "crit": ["exp"]}),
                &claims(),
                EMULATOR_KEY,
            ),
            "crit",
        ),
        header("non-UTF-8 header", &[b"Bearer \xff\xfe\xfd"], "UTF-8"),
        header(
            "duplicated Authorization headers",
            &[
                format!("Bearer {genuine}").as_bytes(),
                format!("Bearer {genuine}").as_bytes(),
            ],
            "more than one",
        ),
        header(
            "odd case and extra spaces",
            &[format!("bEaReR  {genuine}").as_bytes()],
            "extra spaces",
        ),
        header(
            "trailing space",
            &[format!("Bearer {genuine} ").as_bytes()],
            "extra spaces",
        ),
        header(
            "tab separator",
            &[format!("Bearer\t{genuine}").as_bytes()],
            "Bearer",
        ),
        header("Basic scheme", &[b"Basic dXNlcjpwYXNz"], "not Bearer"),
        header("empty bearer", &[b"Bearer "], "empty"),
        header("no header at all", &[], ""),
        bearer(
            "unknown admin (a member of the organization)",
            app.mint(STRANGER_EMAIL),
            "no known admin",
        ),
        bearer(
            "an admin outside the organization",
            app.mint(seed::NON_MEMBER_EMAIL),
            "no known admin",
        ),
        bearer(
            "an admin with the no-permission role",
            app.mint(NO_ROLE_EMAIL),
            "no known admin",
        ),
        bearer("a locked admin", app.mint(LOCKED_EMAIL), "no known admin"),
    ]
}

#[tokio::test]
async fn every_hostile_token_is_refused_alike_and_at_most_one_ims_call() {
    let app = app(true).await;
    // The "revoked at IMS" case: a genuine token, logged out before use.
    let certificate = reqwest::get(app.ims.url(&format!("/keys/prod/{KID}.cer")))
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(certificate.contains("BEGIN"), "a PEM certificate");
    let cases = cases(&app, &certificate);
    let revoked = cases
        .iter()
        .find(|c| c.name == "revoked at IMS")
        .map(|c| String::from_utf8(c.authorization[0][7..].to_vec()).unwrap())
        .unwrap();
    reqwest::Client::new()
        .post(app.ims.url("/ims/logout/v1"))
        .form(&[
            ("access_token", revoked.as_str()),
            ("client_id", seed::WEB_CLIENT_ID),
            ("client_secret", seed::WEB_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    assert!(cases.len() >= 55, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let before = app.ims.stats().count(VALIDATE) + app.ims.stats().count(PROFILE);
        let values: Vec<&[u8]> = case.authorization.iter().map(Vec::as_slice).collect();
        // Twice: a replay of a refused token must not reach IMS again.
        let (status, challenge) = app.send_raw(&values).await;
        let (again, _) = app.send_raw(&values).await;
        let calls = app.ims.stats().count(VALIDATE) + app.ims.stats().count(PROFILE) - before;
        // The answer tells nothing; the reason is the authenticator's (for
        // the log), here asked directly (the refusal is remembered).
        let challenge_ok = if case.reason.is_empty() {
            challenge == "Bearer"
        } else {
            challenge == r#"Bearer error="invalid_token""#
        };
        let reason = match app.auth.authenticate(&values).await {
            Ok(_) => "accepted".to_owned(),
            Err(err) => err.to_string(),
        };
        let reason_ok = reason.to_lowercase().contains(&case.reason.to_lowercase());
        if status != StatusCode::UNAUTHORIZED
            || again != StatusCode::UNAUTHORIZED
            || !challenge_ok
            || !reason_ok
            || calls > case.max_ims_calls
        {
            failures.push(format!(
                "{}: {status} then {again}, {calls} IMS calls, challenge {challenge:?}, \
                 reason {reason:?}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "refused wrongly:\n{}",
        failures.join("\n")
    );
    // The genuine token still works: nothing above poisoned it.
    let genuine = app.mint(seed::MEMBER_EMAIL);
    assert_eq!(app.get(&genuine).await, StatusCode::OK);
}
