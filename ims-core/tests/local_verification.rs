//! `LocalVerifier` against a wiremock IMS publishing test keys.

// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use ims_api::{
    AccessToken, ClientId, Clock, Error, ImsEnvironment, ManualClock, TokenRejection, TokenType,
    TokenVerifier,
};
use ims_core::{HttpPolicy, LocalVerifier, VerifierConfig};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use support::*;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const INTERVAL: Duration = Duration::from_secs(30);

struct Ims {
    server: MockServer,
    clock: Arc<ManualClock>,
    k1: TestKey,
    k2: TestKey,
    other: TestKey,
}

impl Ims {
    async fn start() -> Ims {
        let ims = Ims {
            server: MockServer::start().await,
            clock: Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
            k1: TestKey::new("k1", K1_PEM),
            k2: TestKey::new("k2", K2_PEM),
            other: TestKey::new("k1", OTHER_PEM),
        };
        ims.publish(&[&ims.k1]).await;
        ims
    }

    /// Serves `keys` at /ims/keys (replacing what was served) and the k1
    /// certificate at /keys/prod/<X5U>.
    async fn publish(&self, keys: &[&TestKey]) {
        self.server.reset().await;
        Mock::given(method("GET"))
            .and(path("/ims/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks(keys)))
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/keys/prod/{X5U}")))
            .respond_with(ResponseTemplate::new(200).set_body_string(strip(K1_CERT)))
            .mount(&self.server)
            .await;
    }

    fn env(&self) -> ImsEnvironment {
        ImsEnvironment::custom(&self.server.uri()).unwrap()
    }

    fn config(&self) -> VerifierConfig {
        let mut http = HttpPolicy::default();
        http.max_retries = 0;
        http.attempt_timeout = Duration::from_secs(2);
        http.deadline = Duration::from_secs(3);
        VerifierConfig::default()
            .with_min_refetch_interval(INTERVAL)
            .with_http_policy(http)
    }

    fn verifier(&self) -> LocalVerifier {
        self.verifier_with(self.config())
    }

    fn verifier_with(&self, config: VerifierConfig) -> LocalVerifier {
        LocalVerifier::with_clock(
            self.env(),
            config,
            Arc::clone(&self.clock) as Arc<dyn Clock>,
        )
        .unwrap()
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn claims(&self) -> Value {
        access_claims(self.now())
    }

    /// Requests received on `p`.
    async fn hits(&self, p: &str) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == p)
            .count()
    }

    async fn requests(&self) -> usize {
        self.server.received_requests().await.unwrap().len()
    }
}

async fn verify(verifier: &LocalVerifier, token: &str) -> Result<ims_api::VerifiedToken, Error> {
    verifier.verify(&AccessToken::new(token)).await
}

fn rejection(result: Result<ims_api::VerifiedToken, Error>) -> TokenRejection {
    match result {
        Err(Error::InvalidToken(reason)) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_ims_token_verifies_and_keys_are_cached() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    let token = ims.k1.token(&ims.claims());
    let verified = verify(&verifier, &token).await.unwrap();
    assert_eq!(verified.key_id, "k1");
    assert_eq!(verified.claims.token_type, TokenType::AccessToken);
    assert_eq!(verified.claims.client_id.as_deref(), Some("my_client"));
    assert_eq!(verified.claims.authority.as_deref(), Some("ims-na1"));
    for _ in 0..5 {
        verify(&verifier, &token).await.unwrap();
    }
    assert_eq!(ims.hits("/ims/keys").await, 1);
    assert_eq!(ims.requests().await, 1);
}

#[tokio::test]
async fn only_rs256_is_accepted() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    let payload = ims.claims().to_string();

    // alg none, unsigned.
    let none = format!(
        "{}.{}.",
        b64(json!({"alg":"none","kid":"k1"}).to_string().as_bytes()),
        b64(payload.as_bytes())
    );
    let none_with_sig = format!("{none}c2ln");
    // HS256 keyed with the public key (the classic confusion attack).
    let public = strip(include_str!("fixtures/test-k1-public.pem"));
    let hs256 = sign_raw(
        &json!({"alg":"HS256","kid":"k1"}),
        payload.as_bytes(),
        &EncodingKey::from_secret(public.as_bytes()),
        Algorithm::HS256,
    );
    // RS512 by the right key.
    let rs512 = sign_raw(
        &json!({"alg":"RS512","kid":"k1"}),
        payload.as_bytes(),
        &ims.k1.encoding,
        Algorithm::RS512,
    );
    let ps256 = sign_raw(
        &json!({"alg":"PS256","kid":"k1"}),
        payload.as_bytes(),
        &ims.k1.encoding,
        Algorithm::PS256,
    );
    let mut tokens = vec![none, none_with_sig, hs256, rs512, ps256];
    for alg in ["ES256", "rs256", "RS256 ", "", "EdDSA"] {
        tokens.push(format!(
            "{}.{}.c2ln",
            b64(json!({"alg": alg, "kid":"k1"}).to_string().as_bytes()),
            b64(payload.as_bytes())
        ));
    }
    for token in tokens {
        let reason = rejection(verify(&verifier, &token).await);
        assert!(
            matches!(reason, TokenRejection::UnsupportedAlgorithm(_)),
            "{reason:?}"
        );
    }
    // alg is checked before any key is fetched.
    assert_eq!(ims.requests().await, 0);

    // No alg at all is malformed.
    let no_alg = format!(
        "{}.{}.c2ln",
        b64(br#"{"kid":"k1"}"#),
        b64(payload.as_bytes())
    );
    assert!(matches!(
        rejection(verify(&verifier, &no_alg).await),
        TokenRejection::Malformed(_)
    ));
}

#[tokio::test]
async fn an_unknown_kid_triggers_exactly_one_refetch() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    verify(&verifier, &ims.k1.token(&ims.claims()))
        .await
        .unwrap();
    assert_eq!(ims.hits("/ims/keys").await, 1);

    // Within the interval since the last fetch: no request.
    let unknown = ims.k2.token(&ims.claims());
    assert_eq!(
        rejection(verify(&verifier, &unknown).await),
        TokenRejection::UnknownKey
    );
    assert_eq!(ims.hits("/ims/keys").await, 1);

    // After it: exactly one refetch, then none again.
    ims.clock.advance(INTERVAL);
    for _ in 0..3 {
        assert_eq!(
            rejection(verify(&verifier, &unknown).await),
            TokenRejection::UnknownKey
        );
    }
    assert_eq!(ims.hits("/ims/keys").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bogus_kids_makes_one_request() {
    let ims = Ims::start().await;
    let verifier = Arc::new(ims.verifier());
    let mut tasks = Vec::new();
    for i in 0..100 {
        let token = sign_raw(
            &ims_header(&format!("bogus-{i}-{}", rand::random::<u64>())),
            ims.claims().to_string().as_bytes(),
            &ims.other.encoding,
            Algorithm::RS256,
        );
        let verifier = Arc::clone(&verifier);
        tasks.push(tokio::spawn(async move {
            verifier.verify(&AccessToken::new(token)).await
        }));
    }
    for task in tasks {
        assert_eq!(rejection(task.await.unwrap()), TokenRejection::UnknownKey);
    }
    assert_eq!(ims.hits("/ims/keys").await, 1);
    assert_eq!(ims.requests().await, 1);
}

#[tokio::test]
async fn keys_rotate_without_a_restart() {
    let ims = Ims::start().await;
    let verifier = ims.verifier_with(ims.config().with_max_key_age(Duration::from_secs(3600)));
    let k1_token = ims.k1.token(&ims.claims());
    verify(&verifier, &k1_token).await.unwrap();

    // IMS starts publishing k2 next to k1.
    ims.publish(&[&ims.k1, &ims.k2]).await;
    ims.clock.advance(INTERVAL);
    let k2_token = ims.k2.token(&ims.claims());
    let verified = verify(&verifier, &k2_token).await.unwrap();
    assert_eq!(verified.key_id, "k2");
    assert_eq!(ims.hits("/ims/keys").await, 1, "one refetch since publish");
    // k1 is still published, so its tokens still verify, from the cache.
    verify(&verifier, &k1_token).await.unwrap();
    assert_eq!(ims.hits("/ims/keys").await, 1);

    // IMS withdraws k1: once the set is refreshed, k1 tokens stop verifying.
    ims.publish(&[&ims.k2]).await;
    ims.clock.advance(Duration::from_secs(3600));
    let fresh_k1 = ims.k1.token(&ims.claims());
    assert_eq!(
        rejection(verify(&verifier, &fresh_k1).await),
        TokenRejection::UnknownKey
    );
    verify(&verifier, &ims.k2.token(&ims.claims()))
        .await
        .unwrap();
    assert_eq!(ims.hits("/ims/keys").await, 1);
}

#[tokio::test]
async fn a_certificate_named_by_x5u_verifies_tokens_without_kid() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    let token = sign_raw(
        &json!({"alg":"RS256","x5u": X5U,"itt":"at"}),
        ims.claims().to_string().as_bytes(),
        &ims.k1.encoding,
        Algorithm::RS256,
    );
    let verified = verify(&verifier, &token).await.unwrap();
    assert_eq!(verified.key_id, X5U);
    verify(&verifier, &token).await.unwrap();
    assert_eq!(ims.hits(&format!("/keys/prod/{X5U}")).await, 1);
    assert_eq!(ims.hits("/ims/keys").await, 0);
    assert!(verifier.holds_keys(), "a certificate is a key held");

    // Signed by another key, same certificate name.
    let forged = sign_raw(
        &json!({"alg":"RS256","x5u": X5U}),
        ims.claims().to_string().as_bytes(),
        &ims.other.encoding,
        Algorithm::RS256,
    );
    assert_eq!(
        rejection(verify(&verifier, &forged).await),
        TokenRejection::BadSignature
    );

    // An unpublished certificate is an unknown key.
    ims.clock.advance(INTERVAL);
    let unpublished = sign_raw(
        &json!({"alg":"RS256","x5u": "ims_na1-key-at-9.cer"}),
        ims.claims().to_string().as_bytes(),
        &ims.k1.encoding,
        Algorithm::RS256,
    );
    assert_eq!(
        rejection(verify(&verifier, &unpublished).await),
        TokenRejection::UnknownKey
    );
}

#[tokio::test]
async fn an_x5u_that_is_not_a_bare_name_is_refused_without_a_request() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    for x5u in [
        "../ims_na1-key-at-1.cer",
        "../../etc/passwd",
        "/etc/passwd",
        "keys/ims_na1-key-at-1.cer",
        "https://evil.example/ims_na1-key-at-1.cer",
        "//evil.example/k.cer",
        "..\\k.cer",
        "",
    ] {
        for header in [
            json!({"alg":"RS256","kid":"k1","x5u": x5u}),
            json!({"alg":"RS256","x5u": x5u}),
        ] {
            let token = sign_raw(
                &header,
                ims.claims().to_string().as_bytes(),
                &ims.k1.encoding,
                Algorithm::RS256,
            );
            assert_eq!(
                rejection(verify(&verifier, &token).await),
                TokenRejection::InvalidKeyReference,
                "{x5u}"
            );
        }
    }
    assert_eq!(ims.requests().await, 0);
}

#[tokio::test]
async fn bad_signatures_are_refused() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    // Another key claiming to be k1.
    let forged = ims.other.token(&ims.claims());
    assert_eq!(
        rejection(verify(&verifier, &forged).await),
        TokenRejection::BadSignature
    );
    // A payload swapped under a valid signature.
    let good = ims.k1.token(&ims.claims());
    let mut elevated = ims.claims();
    elevated["client_id"] = json!("admin_client");
    let evil = ims.k1.token(&elevated);
    let good_parts: Vec<&str> = good.split('.').collect();
    let evil_parts: Vec<&str> = evil.split('.').collect();
    let spliced = format!("{}.{}.{}", good_parts[0], evil_parts[1], good_parts[2]);
    assert_eq!(
        rejection(verify(&verifier, &spliced).await),
        TokenRejection::BadSignature
    );
    // A truncated signature.
    let truncated = &good[..good.len() - 10];
    assert_eq!(
        rejection(verify(&verifier, truncated).await),
        TokenRejection::BadSignature
    );
    // A signature that is not base64url.
    let garbled = format!("{}.{}.***", good_parts[0], good_parts[1]);
    assert_eq!(
        rejection(verify(&verifier, &garbled).await),
        TokenRejection::BadSignature
    );
}

#[tokio::test]
async fn lifetime_is_created_at_plus_expires_in_with_leeway() {
    let ims = Ims::start().await;
    let verifier = ims.verifier_with(ims.config().with_leeway(Duration::from_secs(30)));
    let now = ims.now();

    let mut expired = ims.claims();
    expired["created_at"] = json!(millis(now - time::Duration::hours(25)));
    assert!(matches!(
        rejection(verify(&verifier, &ims.k1.token(&expired)).await),
        TokenRejection::Expired { .. }
    ));

    // Expired 10 s ago: within the leeway.
    let mut just_expired = ims.claims();
    just_expired["created_at"] = json!(millis(now - time::Duration::seconds(70)));
    just_expired["expires_in"] = json!("60000");
    verify(&verifier, &ims.k1.token(&just_expired))
        .await
        .unwrap();

    let mut future = ims.claims();
    future["created_at"] = json!(millis(now + time::Duration::minutes(5)));
    assert!(matches!(
        rejection(verify(&verifier, &ims.k1.token(&future)).await),
        TokenRejection::NotYetValid { .. }
    ));

    // The same token expires when the clock moves on.
    let token = ims.k1.token(&ims.claims());
    verify(&verifier, &token).await.unwrap();
    ims.clock.advance(Duration::from_secs(23 * 3600 + 31));
    assert!(matches!(
        rejection(verify(&verifier, &token).await),
        TokenRejection::Expired { .. }
    ));
}

#[tokio::test]
async fn time_claims_must_be_present_and_numeric() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    for claim in ["created_at", "expires_in"] {
        let mut missing = ims.claims();
        missing.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            rejection(verify(&verifier, &ims.k1.token(&missing)).await),
            TokenRejection::MissingClaim(claim)
        );
        for bad in [
            json!("tomorrow"),
            json!("12e3"),
            json!(-5),
            json!({"ms": 1}),
        ] {
            let mut invalid = ims.claims();
            invalid[claim] = bad;
            assert!(matches!(
                rejection(verify(&verifier, &ims.k1.token(&invalid)).await),
                TokenRejection::InvalidClaim { claim: c, .. } if c == claim
            ));
        }
    }
    let mut no_type = ims.claims();
    no_type.as_object_mut().unwrap().remove("type");
    assert_eq!(
        rejection(verify(&verifier, &ims.k1.token(&no_type)).await),
        TokenRejection::MissingClaim("type")
    );
}

#[tokio::test]
async fn only_access_tokens_are_accepted() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    for kind in [
        "refresh_token",
        "authorization_code",
        "device_token",
        "id_token",
    ] {
        let mut claims = ims.claims();
        claims["type"] = json!(kind);
        let reason = rejection(verify(&verifier, &ims.k1.token(&claims)).await);
        assert_eq!(
            reason,
            TokenRejection::WrongType {
                expected: "access_token".into(),
                found: kind.into()
            }
        );
    }
}

#[tokio::test]
async fn the_as_claim_must_name_the_environment() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    let mut stage = ims.claims();
    stage["as"] = json!("ims-na1-stg1");
    assert_eq!(
        rejection(verify(&verifier, &ims.k1.token(&stage)).await),
        TokenRejection::WrongEnvironment {
            expected: "ims-na1".into(),
            found: "ims-na1-stg1".into()
        }
    );
    let mut none = ims.claims();
    none.as_object_mut().unwrap().remove("as");
    assert_eq!(
        rejection(verify(&verifier, &ims.k1.token(&none)).await),
        TokenRejection::MissingClaim("as")
    );
}

#[tokio::test]
async fn the_client_allow_list_is_enforced() {
    let ims = Ims::start().await;
    let allowed = [
        ClientId::parse("my_client").unwrap(),
        ClientId::parse("second").unwrap(),
    ];
    let verifier = ims.verifier_with(ims.config().with_allowed_client_ids(allowed));
    verify(&verifier, &ims.k1.token(&ims.claims()))
        .await
        .unwrap();
    let mut foreign = ims.claims();
    foreign["client_id"] = json!("someone_else");
    let reason = rejection(verify(&verifier, &ims.k1.token(&foreign)).await);
    assert_eq!(
        reason,
        TokenRejection::ClientNotAllowed("someone_else".into())
    );
    assert_eq!(
        reason.to_string(),
        "IMS client \"someone_else\" is not authorized"
    );
    let mut anonymous = ims.claims();
    anonymous.as_object_mut().unwrap().remove("client_id");
    assert_eq!(
        rejection(verify(&verifier, &ims.k1.token(&anonymous)).await),
        TokenRejection::MissingClaim("client_id")
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused_before_any_request() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    let good = ims.k1.token(&ims.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let header = b64(ims_header("k1").to_string().as_bytes());
    let long_payload = b64(&vec![b' '; 64 * 1024]);
    let bomb = b64(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).as_bytes());
    let non_utf8_header = b64(&[0xff, 0xfe, 0xfd, b'{', b'}']);
    let cases: Vec<String> = vec![
        String::new(),
        "   ".into(),
        good[..40].to_owned(),
        "!!!.!!!.!!!".into(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{good}.{}", parts[2]),
        format!("{}..{}", parts[0], parts[2]),
        format!("{header}.{long_payload}.{}", parts[2]),
        "a".repeat(64 * 1024),
        format!("{header}.{bomb}.{}", parts[2]),
        format!("{non_utf8_header}.{}.{}", parts[1], parts[2]),
        format!("{}.{}.{}", b64(b"[1,2]"), parts[1], parts[2]),
        format!("{}.{}.{}", b64(b"{\"alg\":"), parts[1], parts[2]),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            b64(json!({"alg":"RS256","kid":"k1","crit":["exp"]})
                .to_string()
                .as_bytes()),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            b64(json!({"alg":"RS256"}).to_string().as_bytes()),
            parts[1],
            parts[2]
        ),
    ];
    for (i, token) in cases.iter().enumerate() {
        let reason = rejection(verify(&verifier, token).await);
        assert!(
            matches!(reason, TokenRejection::Malformed(_)),
            "case {i}: {reason:?}"
        );
    }
    assert_eq!(ims.requests().await, 0);
}

#[tokio::test]
async fn a_deeply_nested_signed_payload_is_malformed() {
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    // Small enough to pass the size limit, signed, so that the JSON parser
    // meets it: the recursion limit answers, not the stack.
    let bomb = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let token = sign_raw(
        &ims_header("k1"),
        bomb.as_bytes(),
        &ims.k1.encoding,
        Algorithm::RS256,
    );
    let reason = rejection(verify(&verifier, &token).await);
    assert!(matches!(reason, TokenRejection::Malformed(_)), "{reason:?}");
    // And a payload that is JSON but no object.
    let token = sign_raw(
        &ims_header("k1"),
        b"\"access_token\"",
        &ims.k1.encoding,
        Algorithm::RS256,
    );
    assert!(matches!(
        rejection(verify(&verifier, &token).await),
        TokenRejection::Malformed(_)
    ));
    // An array with the claims in field order, which serde would read into
    // the claims struct position by position: still no object.
    let now = ims.now();
    let array = json!([
        null,
        "access_token",
        "my_client",
        "ABCDEF0123456789@AdobeID",
        "openid,AdobeID",
        "ims-na1",
        millis(now - time::Duration::hours(1)),
        "86400000",
    ]);
    let token = sign_raw(
        &ims_header("k1"),
        array.to_string().as_bytes(),
        &ims.k1.encoding,
        Algorithm::RS256,
    );
    assert!(matches!(
        rejection(verify(&verifier, &token).await),
        TokenRejection::Malformed(_)
    ));
}

#[tokio::test]
async fn a_repeated_claim_counts_once_its_last_value() {
    // serde refuses a repeated field where a JSON object keeps the last
    // value; the verifier reads claims as an object does, whichever path
    // parses them.
    let ims = Ims::start().await;
    let verifier = ims.verifier();
    let claims = ims.claims().to_string();
    let payload = format!(
        "{},\"client_id\":\"second_client\"}}",
        claims.trim_end_matches('}')
    );
    let token = sign_raw(
        &ims_header("k1"),
        payload.as_bytes(),
        &ims.k1.encoding,
        Algorithm::RS256,
    );
    let verified = verifier.verify(&AccessToken::new(token)).await.unwrap();
    assert_eq!(verified.claims.client_id.as_deref(), Some("second_client"));
}

#[tokio::test]
async fn unreachable_keys_are_unavailable_not_invalid() {
    let ims = Ims::start().await;
    ims.server.reset().await;
    Mock::given(method("GET"))
        .and(path("/ims/keys"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&ims.server)
        .await;
    let verifier = ims.verifier();
    let token = ims.k1.token(&ims.claims());
    let err = verify(&verifier, &token).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    // Rate limited: the same answer without a new request.
    let err = verify(&verifier, &token).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(ims.hits("/ims/keys").await, 1);
    assert!(!verifier.holds_keys(), "no key set was ever loaded");

    // IMS is back: after the interval, the token verifies.
    ims.publish(&[&ims.k1]).await;
    ims.clock.advance(INTERVAL);
    verify(&verifier, &token).await.unwrap();
    assert!(verifier.holds_keys());
}

#[tokio::test]
async fn garbage_key_documents_are_unavailable() {
    for body in ["not json", r#"{"keys":[]}"#, r#"{"keys":[{"kty":"EC"}]}"#] {
        let ims = Ims::start().await;
        ims.server.reset().await;
        Mock::given(method("GET"))
            .and(path("/ims/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&ims.server)
            .await;
        let verifier = ims.verifier();
        let err = verify(&verifier, &ims.k1.token(&ims.claims()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{body}: {err:?}");
        assert!(!verifier.holds_keys(), "{body} gives no key");
    }
}

#[tokio::test]
async fn cached_keys_keep_verifying_while_ims_is_down() {
    let ims = Ims::start().await;
    let verifier = ims.verifier_with(ims.config().with_max_key_age(Duration::from_secs(60)));
    let token = ims.k1.token(&ims.claims());
    verify(&verifier, &token).await.unwrap();
    ims.server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&ims.server)
        .await;
    // The set is stale and its refresh fails: the cached key still serves,
    // and the verifier says it holds keys (what readiness probes ask).
    ims.clock.advance(Duration::from_secs(120));
    verify(&verifier, &token).await.unwrap();
    assert!(verifier.holds_keys());
    // An unknown kid gets the outage, not a verdict.
    let err = verify(&verifier, &ims.k2.token(&ims.claims()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn debug_output_shows_no_token_or_key_material() {
    let ims = Ims::start().await;
    let verifier = ims.verifier_with(
        ims.config()
            .with_allowed_client_ids([ClientId::parse("my_client").unwrap()]),
    );
    let token = ims.k1.token(&ims.claims());
    verify(&verifier, &token).await.unwrap();
    let shown = format!("{verifier:?} {:?}", verifier.config());
    assert!(shown.contains("k1"), "{shown}");
    let signature = token.rsplit('.').next().unwrap();
    for secret in [token.as_str(), signature, &ims.k1.modulus()[..40]] {
        assert!(!shown.contains(secret), "{shown}");
    }
    // Nor do rejections.
    let err = verify(&verifier, &ims.other.token(&ims.claims()))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains(signature), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_refresh_of_stale_keys_blocks_only_one_request() {
    let ims = Ims::start().await;
    let verifier =
        Arc::new(ims.verifier_with(ims.config().with_max_key_age(Duration::from_secs(60))));
    let token = ims.k1.token(&ims.claims());
    verify(&verifier, &token).await.unwrap();

    ims.server.reset().await;
    Mock::given(method("GET"))
        .and(path("/ims/keys"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(jwks(&[&ims.k1]))
                .set_delay(Duration::from_millis(1800)),
        )
        .mount(&ims.server)
        .await;
    ims.clock.advance(Duration::from_secs(120));

    let refreshing = {
        let verifier = Arc::clone(&verifier);
        let token = token.clone();
        tokio::spawn(async move { verifier.verify(&AccessToken::new(token)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    verify(&verifier, &token).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "waited {:?} for the refresh",
        started.elapsed()
    );
    refreshing.await.unwrap().unwrap();
    assert_eq!(ims.hits("/ims/keys").await, 1);
}
