//! `webapi_ims::parse_bearer` on one or several `Authorization` header
//! values, as raw bytes.
//!
//! Invariants beyond "no panic": the parser agrees with an independent
//! reading of its documented grammar (exactly one value, `Bearer` in any
//! case, one space, a non-empty token of JWT characters, at most
//! `MAX_AUTHORIZATION_LEN` bytes); an accepted token is the tail of that one
//! value; no values is `MissingCredentials`; a refusal does not echo the
//! token.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use webapi_ims::ims_api::TokenRejection;
use webapi_ims::{AuthError, MAX_AUTHORIZATION_LEN, parse_bearer};

/// One header value.
#[derive(Arbitrary, Debug)]
enum Value {
    /// Any bytes.
    Raw(Vec<u8>),
    /// `Bearer` (each letter's case from a bit of `case`), a space, then
    /// `token`: reaches the token checks more often than raw bytes do.
    Bearer { case: u8, token: Vec<u8> },
}

impl Value {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Value::Raw(bytes) => bytes.clone(),
            Value::Bearer { case, token } => {
                let mut value: Vec<u8> = b"bearer"
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        if case >> i & 1 == 1 {
                            b.to_ascii_uppercase()
                        } else {
                            *b
                        }
                    })
                    .collect();
                value.push(b' ');
                value.extend_from_slice(token);
                value
            }
        }
    }
}

fuzz_target!(|values: Vec<Value>| {
    let owned: Vec<Vec<u8>> = values.iter().map(Value::bytes).collect();
    let borrowed: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    let expected = expected_token(&borrowed);
    match parse_bearer(&borrowed) {
        Ok(token) => {
            let token = token.expose_secret();
            assert_eq!(Some(token.as_bytes()), expected, "accepted {borrowed:?}");
            assert!(!token.is_empty());
            assert!(token.bytes().all(is_jwt_byte));
            // It comes from exactly one value: its tail.
            assert_eq!(borrowed.len(), 1);
            assert!(borrowed[0].ends_with(token.as_bytes()));
        }
        Err(err) => {
            assert_eq!(expected, None, "refused {borrowed:?}: {err}");
            match (&err, borrowed.len()) {
                (AuthError::MissingCredentials, 0) => {}
                (AuthError::InvalidToken(TokenRejection::Malformed(_)), 1..) => {}
                _ => panic!("unexpected refusal for {} values: {err:?}", borrowed.len()),
            }
            // A refusal may be logged: it must not carry the token.
            if let [value] = borrowed.as_slice()
                && value.len() > 7 + 16
                && let Ok(text) = std::str::from_utf8(&value[7..])
            {
                assert!(
                    !err.to_string().contains(text),
                    "the refusal echoes the token"
                );
            }
        }
    }
});

fn is_jwt_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=' | b'+' | b'/')
}

/// The documented grammar, read independently of the parser.
fn expected_token<'a>(values: &[&'a [u8]]) -> Option<&'a [u8]> {
    let [value] = values else { return None };
    if value.len() > MAX_AUTHORIZATION_LEN || value.len() < 8 {
        return None;
    }
    let (scheme, rest) = value.split_at(6);
    let token = rest.strip_prefix(b" ")?;
    (scheme.eq_ignore_ascii_case(b"bearer")
        && !token.is_empty()
        && token.iter().all(|b| is_jwt_byte(*b)))
    .then_some(token)
}
