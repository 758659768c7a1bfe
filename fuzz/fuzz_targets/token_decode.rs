//! `ims_core::decode_unverified` (a JWT's payload, unverified, for display)
//! on hostile text, then the typed claims of what it accepts.
//!
//! The input is either the raw token text or, to reach the JSON and claims
//! code more often, a header and a payload that the target encodes itself.
//!
//! Invariants beyond "no panic":
//! - every refusal is `InvalidToken(Malformed)` and does not echo the token;
//! - an accepted token is at most `MAX_TOKEN_LEN` bytes of three
//!   dot-separated parts, and its claims survive a JSON round trip;
//! - claims that parse as `TokenClaims` survive a serde round trip, and
//!   their expiry is never before their creation.

#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_core::ims_api::{Error, TokenClaims, TokenRejection};
use libfuzzer_sys::fuzz_target;

mod json_eq;

#[derive(Arbitrary, Debug)]
enum Input {
    /// The token text as given.
    Raw(String),
    /// `base64url(header).base64url(payload).signature`.
    Parts {
        header: String,
        payload: String,
        signature: String,
        padded: bool,
    },
}

fuzz_target!(|input: Input| {
    let token = match input {
        Input::Raw(text) => text,
        Input::Parts {
            header,
            payload,
            signature,
            padded,
        } => {
            let pad = if padded { "==" } else { "" };
            format!(
                "{}.{}{pad}.{signature}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(payload)
            )
        }
    };
    check(&token);
});

fn check(token: &str) {
    match ims_core::decode_unverified(token) {
        Ok(claims) => {
            let trimmed = token.trim();
            assert!(trimmed.len() <= ims_core::MAX_TOKEN_LEN);
            assert_eq!(trimmed.split('.').count(), 3, "accepted {trimmed:?}");
            let text = serde_json::to_string(&claims).expect("claims serialize");
            let again: serde_json::Value =
                serde_json::from_str(&text).expect("serialized claims parse");
            let claims = serde_json::Value::Object(claims);
            assert!(
                json_eq::same(&again, &claims),
                "{claims} read back as {again}"
            );
            typed_claims(claims);
        }
        Err(Error::InvalidToken(TokenRejection::Malformed(detail))) => {
            let trimmed = token.trim();
            // A refusal may be logged: it must not carry the token.
            if trimmed.len() >= 16 && trimmed.contains('.') {
                assert!(!detail.contains(trimmed), "the refusal echoes the token");
            }
        }
        Err(other) => panic!("not a Malformed refusal: {other:?}"),
    }
}

/// What the verifier and the CLI do next with a payload.
fn typed_claims(claims: serde_json::Value) {
    let Ok(typed) = serde_json::from_value::<TokenClaims>(claims) else {
        return;
    };
    assert!(typed.expires_at() >= typed.created_at);
    let _ = typed.token_type.to_string();
    let _ = typed.check_lifetime(typed.created_at, Duration::from_secs(300));
    let text = serde_json::to_string(&typed).expect("typed claims serialize");
    let again: TokenClaims = serde_json::from_str(&text).expect("serialized claims parse back");
    assert_eq!(again, typed);
}
