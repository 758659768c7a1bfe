//! The contracts chapter's example: a mock of an `ims-api` trait (the `mock`
//! feature) standing in for `ims-core`'s verifier in a test.

#![allow(clippy::unwrap_used)]

#[tokio::test]
async fn a_mock_verifier_refuses_every_token() {
    // ANCHOR: mock
    use std::sync::Arc;

    use ims_api::mock::MockTokenVerifier;
    use ims_api::{AccessToken, Error, TokenRejection, TokenVerifier};

    let mut verifier = MockTokenVerifier::new();
    verifier
        .expect_verify()
        .returning(|_| Err(Error::InvalidToken(TokenRejection::BadSignature)));
    let verifier: Arc<dyn TokenVerifier> = Arc::new(verifier);

    let refused = verifier.verify(&AccessToken::new("any.token.here")).await;
    assert!(matches!(
        refused,
        Err(Error::InvalidToken(TokenRejection::BadSignature))
    ));
    // ANCHOR_END: mock
}
