//! ims-go's dynamic client registration (`POST /ims/register`) and admin endpoints
//! (`/ims/admin_profile/v1`, `/ims/admin_organizations/v5`).

use ims_emulator::{MintTokenRequest, default_seed as d};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

async fn register(ims: &ims_emulator::RunningEmulator, body: &Value) -> reqwest::Response {
    http()
        .post(ims.url("/ims/register"))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_registered_client_signs_a_user_in_and_gets_tokens() {
    let ims = start().await;
    let response = register(
        &ims,
        &json!({
            "client_name": "my-app",
            "redirect_uris": ["http://127.0.0.1:6001/callback"],
            "scope": "AdobeID openid email",
            "software_id": "ignored, as RFC 7591 asks",
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let client_id = body["client_id"].as_str().unwrap().to_owned();
    let secret = body["client_secret"].as_str().unwrap().to_owned();
    assert!(!client_id.is_empty() && secret.len() >= 32);
    assert_eq!(body["client_name"], "my-app");
    assert_eq!(
        body["redirect_uris"],
        json!(["http://127.0.0.1:6001/callback"])
    );
    assert_eq!(body["scope"], "AdobeID openid email");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );

    // The emulator honours it: sign-in, code exchange, validation.
    let query = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", "http://127.0.0.1:6001/callback"),
        ("scope", "AdobeID,openid"),
        ("response_type", "code"),
        ("state", "s"),
    ];
    let signed_in = sign_in_as(&ims, &query, d::MEMBER_EMAIL, d::MEMBER_PASSWORD).await;
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("code", signed_in.code().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["client_id"], client_id.as_str());
    assert_eq!(validate(&ims, access, "access_token").await["valid"], true);
    // Its secret is checked; its redirect URIs are exact (not another port); its scopes hold.
    let response = http()
        .post(ims.url("/ims/token/v3"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("client_secret", "wrong"),
            ("code", "x.y.z"),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_client").await;
    let response = http()
        .get(ims.url("/ims/authorize/v2"))
        .query(&[
            ("client_id", client_id.as_str()),
            ("redirect_uri", "http://127.0.0.1:6002/callback"),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Two registrations make two clients.
    let again: Value = register(
        &ims,
        &json!({"client_name": "my-app", "redirect_uris": ["https://app.example/cb"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(again["client_id"], body["client_id"]);
    assert_eq!(again["scope"], "AdobeID openid");
}

#[tokio::test]
async fn registration_refuses_bad_metadata() {
    let ims = start().await;
    let cases = [
        (
            json!({"redirect_uris": ["https://a.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_name": "  ", "redirect_uris": ["https://a.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_name": 5, "redirect_uris": ["https://a.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_name": "x".repeat(300), "redirect_uris": ["https://a.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_name": "a\u{0}b", "redirect_uris": ["https://a.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_name": "a", "redirect_uris": ["https://a.example/cb"], "scope": "openid <script>"}),
            "invalid_client_metadata",
        ),
        (json!({"client_name": "a"}), "invalid_redirect_uri"),
        (
            json!({"client_name": "a", "redirect_uris": []}),
            "invalid_redirect_uri",
        ),
        (
            json!({"client_name": "a", "redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"client_name": "a", "redirect_uris": ["https://*.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"client_name": "a", "redirect_uris": ["https://a.example/cb#f"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"client_name": "a", "redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"client_name": "a", "redirect_uris": vec!["https://a.example/cb"; 17]}),
            "invalid_redirect_uri",
        ),
        (json!([1, 2]), "invalid_client_metadata"),
    ];
    for (body, error) in cases {
        let response = register(&ims, &body).await;
        expect_error(response, 400, error).await;
    }
    let response = http()
        .post(ims.url("/ims/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_client_metadata").await;
    // A form is not a registration.
    let response = http()
        .post(ims.url("/ims/register"))
        .form(&[
            ("client_name", "a"),
            ("redirect_uris", "https://a.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    expect_error(response, 415, "invalid_request").await;
    // Nothing was registered by the refusals: the seed's clients only.
    assert_eq!(ims.seed().clients.len(), 4);
}

async fn admin_call(
    ims: &ims_emulator::RunningEmulator,
    path: &str,
    token: &str,
    client_header: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = http().post(ims.url(path)).bearer_auth(token).form(form);
    if let Some(client) = client_header {
        request = request.header("X-IMS-ClientId", client);
    }
    request.send().await.unwrap()
}

const MEMBER_GUID: &str = "1111AAAA2222BBBB3333CCCC";

#[tokio::test]
async fn admin_profile_and_organizations_answer_for_a_service_token() {
    let ims = start().await;
    let service = s2s_token(&ims).await;
    let form = [("guid", MEMBER_GUID), ("auth_src", "AdobeID")];
    let response = admin_call(
        &ims,
        "/ims/admin_profile/v1",
        &service,
        Some(d::S2S_CLIENT_ID),
        &form,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["userId"], d::MEMBER_USER_ID);
    assert_eq!(profile["email"], d::MEMBER_EMAIL);
    assert_eq!(profile["roles"][0]["organization"], d::ORG_ID);
    let response = admin_call(
        &ims,
        "/ims/admin_organizations/v5",
        &service,
        Some(d::S2S_CLIENT_ID),
        &form,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let orgs: Value = response.json().await.unwrap();
    assert_eq!(orgs[0]["orgName"], d::ORG_NAME);
    assert_eq!(orgs[0]["orgRef"]["ident"], "A1B2C3D4E5F6A7B8C9D0E1F2");
    // The guid with its suffix, by GET.
    let response = http()
        .get(ims.url("/ims/admin_profile/v1"))
        .bearer_auth(&service)
        .header("X-IMS-ClientId", d::S2S_CLIENT_ID)
        .query(&[("guid", d::MEMBER_USER_ID), ("auth_src", "AdobeID")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn admin_endpoints_refuse_bad_tokens_clients_and_users() {
    let ims = start().await;
    let service = s2s_token(&ims).await;
    let form = [("guid", MEMBER_GUID), ("auth_src", "AdobeID")];
    for path in ["/ims/admin_profile/v1", "/ims/admin_organizations/v5"] {
        // No token, a forged one, an expired one.
        let response = http()
            .post(ims.url(path))
            .header("X-IMS-ClientId", d::S2S_CLIENT_ID)
            .form(&form)
            .send()
            .await
            .unwrap();
        expect_error(response, 401, "invalid_token").await;
        let expired = ims
            .mint_access_token(
                &MintTokenRequest::for_user_id(d::S2S_TECHNICAL_ACCOUNT_ID, d::S2S_CLIENT_ID)
                    .created_at_ms(now_ms() - 48 * 3600 * 1000),
            )
            .unwrap();
        for bad in ["a.b.c", expired.as_str()] {
            let response = admin_call(&ims, path, bad, Some(d::S2S_CLIENT_ID), &form).await;
            expect_error(response, 401, "invalid_token").await;
        }
        // A user's token is not a service token.
        let user = ims
            .mint_access_token(&MintTokenRequest::for_email(
                d::MEMBER_EMAIL,
                d::WEB_CLIENT_ID,
            ))
            .unwrap();
        let response = admin_call(&ims, path, &user, Some(d::WEB_CLIENT_ID), &form).await;
        expect_error(response, 403, "access_denied").await;
        // The client header: missing, or another client.
        let response = admin_call(&ims, path, &service, None, &form).await;
        expect_error(response, 400, "invalid_request").await;
        let response = admin_call(&ims, path, &service, Some(d::WEB_CLIENT_ID), &form).await;
        expect_error(response, 400, "invalid_client").await;
        // Parameters.
        for form in [
            &[("auth_src", "AdobeID")][..],
            &[("guid", MEMBER_GUID)][..],
            &[("guid", d::MEMBER_USER_ID), ("auth_src", "AdobeOrg")][..],
        ] {
            let response = admin_call(&ims, path, &service, Some(d::S2S_CLIENT_ID), form).await;
            expect_error(response, 400, "invalid_request").await;
        }
        // Unknown users, and users outside the service's organizations, look the same.
        for guid in ["FFFF0000FFFF0000FFFF0000", "4444DDDD5555EEEE6666FFFF"] {
            let response = admin_call(
                &ims,
                path,
                &service,
                Some(d::S2S_CLIENT_ID),
                &[("guid", guid), ("auth_src", "AdobeID")],
            )
            .await;
            expect_error(response, 404, "user_not_found").await;
        }
    }
}
