//! `/ims/userinfo/v1` (GET and POST) and the unversioned front-channel `GET /ims/logout`.

use ims_emulator::{MintTokenRequest, default_seed as d};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn userinfo_v1_answers_the_openid_claims_by_get_and_post() {
    let ims = start().await;
    let tokens = member_tokens(&ims, "AdobeID,openid,email,profile").await;
    let access = tokens["access_token"].as_str().unwrap();
    let get = http()
        .get(ims.url("/ims/userinfo/v1"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    let body: Value = get.json().await.unwrap();
    assert_eq!(body["sub"], d::MEMBER_USER_ID);
    assert_eq!(body["email"], d::MEMBER_EMAIL);
    assert_eq!(body["email_verified"], true);
    assert_eq!(body["name"], "Mia Member");
    assert_eq!(body["given_name"], "Mia");
    assert_eq!(body["family_name"], "Member");
    let post_bearer: Value = http()
        .post(ims.url("/ims/userinfo/v1"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(post_bearer, body);
    let post_form = http()
        .post(ims.url("/ims/userinfo/v1"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(post_form.status(), StatusCode::OK);
    assert_eq!(post_form.json::<Value>().await.unwrap(), body);
}

#[tokio::test]
async fn userinfo_v1_refuses_missing_forged_expired_and_service_tokens() {
    let ims = start().await;
    // No token at all, by GET and by POST.
    let response = http()
        .get(ims.url("/ims/userinfo/v1"))
        .send()
        .await
        .unwrap();
    let challenge = response.headers()["www-authenticate"].clone();
    expect_error(response, 401, "invalid_token").await;
    assert_eq!(challenge, "Bearer error=\"invalid_token\"");
    let response = http()
        .post(ims.url("/ims/userinfo/v1"))
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_token").await;
    // A token in the query string of a GET is not taken (RFC 6750 discourages it).
    let good = ims
        .mint_access_token(&MintTokenRequest::for_email(
            d::MEMBER_EMAIL,
            d::WEB_CLIENT_ID,
        ))
        .unwrap();
    let response = http()
        .get(ims.url("/ims/userinfo/v1"))
        .query(&[("access_token", good.as_str())])
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_token").await;
    // Both ways at once is ambiguous.
    let response = http()
        .post(ims.url("/ims/userinfo/v1"))
        .bearer_auth(&good)
        .form(&[("access_token", good.as_str())])
        .send()
        .await
        .unwrap();
    expect_error(response, 400, "invalid_request").await;
    // Forged: the payload of a good token with another user.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    let forged = parts.join(".");
    let expired = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::WEB_CLIENT_ID)
                .created_at_ms(now_ms() - 48 * 3600 * 1000),
        )
        .unwrap();
    for bad in [forged.as_str(), expired.as_str(), "not-a-jwt"] {
        let response = http()
            .post(ims.url("/ims/userinfo/v1"))
            .form(&[("access_token", bad)])
            .send()
            .await
            .unwrap();
        expect_error(response, 401, "invalid_token").await;
    }
    // A service token has no user to describe.
    let service = s2s_token(&ims).await;
    let response = http()
        .get(ims.url("/ims/userinfo/v1"))
        .bearer_auth(&service)
        .send()
        .await
        .unwrap();
    expect_error(response, 401, "invalid_token").await;
}

#[tokio::test]
async fn unversioned_logout_redirects_and_ends_the_session() {
    let ims = start().await;
    let signed_in = sign_in(&ims, &[]).await;
    let body: Value = exchange_code(&ims, "/ims/token/v1", &signed_in.code(), &[])
        .await
        .json()
        .await
        .unwrap();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();

    // No redirect_uri: an error page, nothing happens (Magento: "no success response").
    let response = http()
        .get(ims.url("/ims/logout"))
        .query(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(validate(&ims, access, "access_token").await["valid"], true);

    // A redirect_uri the token's client did not register: an error page, nothing happens.
    for bad in [
        "https://evil.example/",
        "http://localhost:80@evil.example/",
        "not a url",
    ] {
        let response = http()
            .get(ims.url("/ims/logout"))
            .query(&[("access_token", access), ("redirect_uri", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(response.headers().get("location").is_none(), "{bad}");
    }
    assert_eq!(validate(&ims, access, "access_token").await["valid"], true);

    // A registered one: 302 there, the session and its tokens are gone.
    let response = http()
        .get(ims.url("/ims/logout"))
        .query(&[
            ("access_token", access),
            ("redirect_uri", "http://127.0.0.1:5555/bye"),
        ])
        .header("cookie", &signed_in.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "http://127.0.0.1:5555/bye");
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(validate(&ims, access, "access_token").await["valid"], false);
    assert_eq!(
        validate(&ims, refresh, "refresh_token").await["valid"],
        false
    );
}

#[tokio::test]
async fn unversioned_logout_with_redirect_self_and_bad_tokens() {
    let ims = start().await;
    let token = ims
        .mint_access_token(&MintTokenRequest::for_email(
            d::MEMBER_EMAIL,
            d::WEB_CLIENT_ID,
        ))
        .unwrap();
    // Magento's `redirect_uri=self`: back to IMS's own page, the token is revoked.
    let response = http()
        .get(ims.url("/ims/logout"))
        .query(&[("access_token", token.as_str()), ("redirect_uri", "self")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], ims.url("/").as_str());
    assert_eq!(validate(&ims, &token, "access_token").await["valid"], false);
    // A forged token with a URL redirect: no client to check the URL against → error page.
    let response = http()
        .get(ims.url("/ims/logout"))
        .query(&[
            ("access_token", "a.b.c"),
            ("redirect_uri", "http://127.0.0.1:5555/bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // ... unless the client is named.
    let response = http()
        .get(ims.url("/ims/logout"))
        .query(&[
            ("access_token", "a.b.c"),
            ("client_id", d::WEB_CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:5555/bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // An expired token is still logged out (its session ends).
    let expired = ims
        .mint_access_token(
            &MintTokenRequest::for_email(d::MEMBER_EMAIL, d::WEB_CLIENT_ID)
                .created_at_ms(now_ms() - 48 * 3600 * 1000),
        )
        .unwrap();
    let response = http()
        .get(ims.url("/ims/logout"))
        .query(&[("access_token", expired.as_str()), ("redirect_uri", "self")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // POST is not the unversioned logout.
    let response = http().post(ims.url("/ims/logout")).send().await.unwrap();
    expect_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn unversioned_logout_never_redirects_a_token_to_another_clients_uri() {
    let ims = start().await;
    // Anyone may register a client, with any https redirect URI.
    let registered: Value = http()
        .post(ims.url("/ims/register"))
        .json(&serde_json::json!({
            "client_name": "attacker",
            "redirect_uris": ["https://evil.example/landing"],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attacker_client = registered["client_id"].as_str().unwrap();
    let victim = ims
        .mint_access_token(&MintTokenRequest::for_email(
            d::MEMBER_EMAIL,
            d::WEB_CLIENT_ID,
        ))
        .unwrap();
    // The victim's token (issued to the web client) with the attacker's
    // client named: the redirect URI would be checked against the attacker's
    // registration. Refused, and the victim's token is left alone.
    let response = http()
        .get(ims.url("/ims/logout"))
        .query(&[
            ("access_token", victim.as_str()),
            ("client_id", attacker_client),
            ("redirect_uri", "https://evil.example/landing"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(validate(&ims, &victim, "access_token").await["valid"], true);
    // The same on the versioned front channel.
    let response = http()
        .get(ims.url("/ims/logout/v1"))
        .query(&[
            ("access_token", victim.as_str()),
            ("client_id", attacker_client),
            ("redirect_uri", "https://evil.example/landing"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(validate(&ims, &victim, "access_token").await["valid"], true);
    // Naming the token's own client is fine.
    let response = http()
        .get(ims.url("/ims/logout"))
        .query(&[
            ("access_token", victim.as_str()),
            ("client_id", d::WEB_CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:5555/bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        validate(&ims, &victim, "access_token").await["valid"],
        false
    );
}

#[tokio::test]
async fn unversioned_logout_prefix_tricks_never_leave_the_registered_host() {
    let ims = start().await;
    let token = ims
        .mint_access_token(&MintTokenRequest::for_email(
            d::MEMBER_EMAIL,
            d::WEB_CLIENT_ID,
        ))
        .unwrap();
    // The web client registers `http://127.0.0.1:*` and `http://localhost:*`.
    for trick in [
        "//evil.example/",
        "http://127.0.0.1.evil.example/",
        "http://127.0.0.1:1@evil.example/",
        "http://127.0.0.1:1\\@evil.example/",
        "http://127.0.0.1:1.evil.example/",
        "http://127.0.0.1:1%2F@evil.example/",
        "http://localhost:1#@evil.example/",
        "http://localhost.:1/",
        "http://localhost:1/\t@evil.example",
        "http://localhost:1/%0d%0aLocation:%20https://evil.example/",
        "http://127.0.0.1:1/\r\nLocation: https://evil.example/",
        "javascript://127.0.0.1:1/%0aalert(1)",
        "http:\\\\evil.example\\127.0.0.1:1",
        "http://LOCALHOST:1/",
    ] {
        let response = http()
            .get(ims.url("/ims/logout"))
            .query(&[("access_token", token.as_str()), ("redirect_uri", trick)])
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::BAD_REQUEST => assert!(response.headers().get("location").is_none()),
            StatusCode::FOUND => {
                let location = response.headers()["location"].to_str().unwrap();
                let parsed = url::Url::parse(location).unwrap();
                assert!(
                    matches!(parsed.host_str(), Some("127.0.0.1" | "localhost")),
                    "{trick:?} → {location:?}"
                );
                assert_eq!(parsed.scheme(), "http", "{trick:?}");
                assert_eq!(response.headers().get_all("location").iter().count(), 1);
            }
            other => panic!("{trick:?}: {other}"),
        }
    }
}
