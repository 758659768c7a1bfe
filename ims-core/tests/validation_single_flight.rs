//! The validation cache in front of the real client: 200 concurrent
//! validations of one uncached token make one request at the emulator.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ims_api::{AccessToken, ClientId, ImsEnvironment, TokenValidator};
use ims_core::{CachedValidator, ImsClient, ValidationCacheConfig};
use ims_emulator::{Emulator, MintTokenRequest, default_seed as seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_validations_make_one_ims_request() {
    let ims = Emulator::builder().start().await.unwrap();
    let env = ImsEnvironment::custom(ims.base()).unwrap();
    let validator = Arc::new(CachedValidator::new(
        Arc::new(ImsClient::new(env.clone()).unwrap()),
        &env,
        ValidationCacheConfig::default(),
    ));
    let token = AccessToken::new(
        ims.mint_access_token(&MintTokenRequest::for_email(
            seed::MEMBER_EMAIL,
            seed::WEB_CLIENT_ID,
        ))
        .unwrap(),
    );
    let client_id = ClientId::parse(seed::WEB_CLIENT_ID).unwrap();
    let callers: Vec<_> = (0..200)
        .map(|_| {
            let validator = validator.clone();
            let token = token.clone();
            let client_id = client_id.clone();
            tokio::spawn(async move { validator.validate(&token, &client_id).await })
        })
        .collect();
    for caller in callers {
        assert!(caller.await.unwrap().unwrap().is_valid());
    }
    assert_eq!(ims.stats().count("POST /ims/validate_token/v1"), 1);

    // A token revoked at IMS is answered from the cache until its TTL, and
    // an invalid verdict is cached apart: one more request, then none.
    let other = AccessToken::new("not-a-token");
    for _ in 0..50 {
        assert!(
            !validator
                .validate(&other, &client_id)
                .await
                .unwrap()
                .is_valid()
        );
    }
    assert_eq!(ims.stats().count("POST /ims/validate_token/v1"), 2);
}
