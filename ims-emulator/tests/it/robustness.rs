//! Malformed input never gets a 5xx: every endpoint, odd bodies and headers.

use reqwest::Method;

use crate::support::*;

const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/ims/.well-known/openid-configuration"),
    ("GET", "/ims/keys"),
    ("GET", "/keys/prod/x.cer"),
    ("GET", "/ims/authorize/v2"),
    ("POST", "/ims/authorize/v2"),
    ("POST", "/ims/token"),
    ("POST", "/ims/token/v1"),
    ("POST", "/ims/token/v2"),
    ("POST", "/ims/token/v3"),
    ("POST", "/ims/token/v4"),
    ("POST", "/ims/register"),
    ("POST", "/ims/exchange/jwt"),
    ("POST", "/ims/exchange/v1/jwt"),
    ("POST", "/ims/validate_token/v1"),
    ("GET", "/ims/validate_token/v1"),
    ("POST", "/ims/invalidate_token/v2"),
    ("POST", "/ims/revoke"),
    ("GET", "/ims/profile/v1"),
    ("GET", "/ims/userinfo/v1"),
    ("POST", "/ims/userinfo/v1"),
    ("GET", "/ims/userinfo/v2"),
    ("POST", "/ims/admin_profile/v1"),
    ("POST", "/ims/admin_organizations/v5"),
    ("GET", "/ims/organizations/v6"),
    ("GET", "/A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg/membership"),
    ("GET", "/ims/logout"),
    ("GET", "/ims/logout/v1"),
    ("POST", "/ims/logout/v1"),
    ("POST", "/__emulator/tokens"),
    ("POST", "/__emulator/faults"),
];

#[tokio::test]
async fn malformed_requests_never_get_a_server_error() {
    let ims = start().await;
    let bodies: &[(&str, &[u8])] = &[
        ("application/x-www-form-urlencoded", b"%%%&&==&client_id=%FF&token=a.b.c"),
        ("application/x-www-form-urlencoded", b"grant_type=authorization_code&code=eyJ.eyJ.x&client_id=emulator-web&client_secret=emulator-web-secret"),
        ("application/x-www-form-urlencoded", b"grant_type=refresh_token&refresh_token=....&client_id=emulator-web&client_secret=emulator-web-secret"),
        ("application/x-www-form-urlencoded", b"client_id=emulator-jwt&client_secret=emulator-jwt-secret&jwt_token=eyJhbGciOiJSUzI1NiJ9.e30.AAAA"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n\xff\xfe\r\n--b--\r\n"),
        ("application/json", b"{\"path_prefix\": 5}"),
        ("text/plain", b"\x00\x01\x02"),
        ("", b"token=abc"),
    ];
    let authorizations = [
        None,
        Some("Bearer"),
        Some("Bearer a.b.c"),
        Some("Basic"),
        Some("Basic Og=="),
        Some("Basic ZW11bGF0b3Itd2ViOg=="),
        Some("Negotiate xyz"),
    ];
    for (method, path) in ENDPOINTS {
        for (content_type, body) in bodies {
            for auth in authorizations {
                let mut request = http()
                    .request(
                        Method::from_bytes(method.as_bytes()).unwrap(),
                        ims.url(path),
                    )
                    .body(body.to_vec());
                if !content_type.is_empty() {
                    request = request.header("content-type", *content_type);
                }
                if let Some(auth) = auth {
                    request = request.header("authorization", auth);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                assert!(
                    !status.is_server_error(),
                    "{method} {path} {content_type} {auth:?} → {status}"
                );
                if status.is_client_error()
                    && !response.headers()["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("text/html")
                {
                    let body: serde_json::Value = response.json().await.unwrap();
                    assert!(body["error"].is_string(), "{method} {path}: {body}");
                }
            }
        }
    }
}
