//! Test keys and IMS-shaped tokens, shared by the integration tests and the
//! benches. The keys under `fixtures/` are TEST FIXTURES — never use them
//! outside tests.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub const K1_PEM: &str = include_str!("../fixtures/test-k1-private.pem");
pub const K2_PEM: &str = include_str!("../fixtures/test-k2-private.pem");
pub const OTHER_PEM: &str = include_str!("../fixtures/test-other-private.pem");
pub const K1_CERT: &str = include_str!("../fixtures/test-k1-cert.cer");

/// The certificate name IMS puts in `x5u`.
pub const X5U: &str = "ims_na1-key-at-1.cer";

/// A fixture without its "TEST FIXTURE" comment line.
pub fn strip(pem: &str) -> String {
    pem.lines()
        .filter(|line| !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A signing key and its public JWK.
pub struct TestKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

impl TestKey {
    pub fn new(kid: &str, pem: &str) -> Self {
        let encoding = EncodingKey::from_rsa_pem(strip(pem).as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        let mut jwk = serde_json::to_value(&jwk).unwrap();
        jwk["use"] = json!("sig");
        TestKey {
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }

    /// The JWK's modulus, to look for key material in output.
    pub fn modulus(&self) -> String {
        self.jwk["n"].as_str().unwrap().to_owned()
    }

    /// A token with IMS's header for this key and `payload`.
    pub fn token(&self, payload: &Value) -> String {
        sign_raw(
            &ims_header(&self.kid),
            payload.to_string().as_bytes(),
            &self.encoding,
            Algorithm::RS256,
        )
    }
}

/// `{"keys":[...]}`.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// IMS's access-token header.
pub fn ims_header(kid: &str) -> Value {
    json!({"alg": "RS256", "kid": kid, "x5u": X5U, "itt": "at"})
}

/// Signs arbitrary header and payload bytes.
pub fn sign_raw(header: &Value, payload: &[u8], key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

pub fn millis(t: OffsetDateTime) -> String {
    (t.unix_timestamp_nanos() / 1_000_000).to_string()
}

/// An IMS access-token payload created an hour before `now`, living 24 h.
pub fn access_claims(now: OffsetDateTime) -> Value {
    json!({
        "id": "1700000000000_00000000-0000-0000-0000-000000000000_ue1",
        "type": "access_token",
        "client_id": "my_client",
        "user_id": "ABCDEF0123456789@AdobeID",
        "scope": "openid,AdobeID",
        "as": "ims-na1",
        "created_at": millis(now - time::Duration::hours(1)),
        "expires_in": "86400000",
    })
}
