//! IMS's signing keys, cached: the JWKS of `/ims/keys` by `kid`, and the
//! certificates named by a token's `x5u` by name.
//!
//! Refetch policy: the published JWKS is authoritative and **replaces** the
//! cached set on each fetch (a key IMS stops publishing stops verifying; a
//! key still published keeps verifying across rotations). A fetch happens
//! when the set was never loaded, when a token names an unknown `kid`, or
//! when the set is older than `max_key_age` — but never more often than once
//! per `min_refetch_interval`, whatever the number of callers or bogus
//! `kid`s: concurrent refetches wait on one lock and reuse its result.
//! Certificates follow the same rule (one fetch per interval over all names).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use ims_api::{Clock, Error, ImsEnvironment, TokenRejection};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::DecodingKeyKind;
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::http::{Call, Transport};

/// The largest JWKS or certificate body accepted.
const MAX_KEY_DOCUMENT: usize = 256 * 1024;
/// The most keys taken from one JWKS.
const MAX_KEYS: usize = 64;
/// The most certificates kept.
const MAX_CERTS: usize = 64;
/// The longest `x5u` file name accepted.
const MAX_X5U_LEN: usize = 128;

/// A key ready to verify RS256 signatures.
pub(crate) type Key = Arc<VerifyingKey>;

/// An RS256 public key, parsed once when it is loaded rather than on every
/// verification (as `jsonwebtoken::crypto::verify` would: it rebuilds the
/// RSA key, Montgomery constants included, from its bytes each call — a
/// quarter of a verification's cost).
pub(crate) struct VerifyingKey {
    /// `None` for a key aws-lc-rs refuses for RS256 (smaller than 2048 bits,
    /// inconsistent): every signature checked with it is bad, as it was when
    /// the key was parsed per call.
    parsed: Option<ParsedPublicKey>,
}

impl VerifyingKey {
    /// The key of an RSA [`DecodingKey`] (from a JWK's `n` and `e`, or a
    /// PEM certificate), with RS256's parameters: PKCS#1 v1.5, SHA-256,
    /// 2048 to 8192 bits — what jsonwebtoken's aws-lc-rs backend uses.
    fn new(key: &DecodingKey) -> Self {
        let parsed = match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
                    .parse()
                    .ok()
            }
            DecodingKeyKind::RsaModulusExponent { n, e } => RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .ok(),
        };
        VerifyingKey { parsed }
    }

    /// Whether `signature` (raw bytes) is this key's RS256 signature of
    /// `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed
            .as_ref()
            .is_some_and(|key| key.verify_sig(message, signature).is_ok())
    }
}

/// The cached keys of one IMS environment.
pub(crate) struct KeySet {
    env: ImsEnvironment,
    transport: Transport,
    clock: Arc<dyn Clock>,
    min_refetch_interval: Duration,
    max_key_age: Duration,
    jwks: RwLock<Jwks>,
    jwks_fetch: Mutex<FetchState>,
    certs: RwLock<HashMap<String, Key>>,
    cert_fetch: Mutex<FetchState>,
}

#[derive(Default)]
struct Jwks {
    keys: HashMap<String, Key>,
    fetched_at: Option<OffsetDateTime>,
}

/// When the last fetch ended, and how, for rate limiting.
#[derive(Default)]
struct FetchState {
    last_attempt: Option<OffsetDateTime>,
    /// The failure of the last attempt, if it failed (detail, retry-after).
    last_failure: Option<(String, Option<Duration>)>,
}

impl FetchState {
    /// Whether a fetch may start at `now`. A clock that went backwards
    /// allows one.
    fn may_fetch(&self, now: OffsetDateTime, interval: Duration) -> bool {
        match self.last_attempt {
            None => true,
            Some(last) => now < last || (now - last) >= interval,
        }
    }

    /// The answer while rate limited: the last failure, if the last fetch
    /// failed, else `otherwise`.
    fn rate_limited(&self, otherwise: TokenRejection) -> Error {
        match &self.last_failure {
            Some((detail, retry_after)) => Error::Unavailable {
                detail: detail.clone(),
                retry_after: *retry_after,
            },
            None => Error::InvalidToken(otherwise),
        }
    }

    fn record(&mut self, now: OffsetDateTime, outcome: Result<(), &Error>) {
        self.last_attempt = Some(now);
        self.last_failure = outcome
            .err()
            .map(|err| (err.to_string(), err.retry_after()));
    }
}

impl fmt::Debug for KeySet {
    /// Key ids and counts only; never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<String> = {
            let jwks = self.jwks.read().unwrap_or_else(PoisonError::into_inner);
            let mut kids: Vec<String> = jwks.keys.keys().cloned().collect();
            kids.sort();
            kids
        };
        let certs = self
            .certs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("KeySet")
            .field("environment", &self.env.name())
            .field("kids", &kids)
            .field("certificates", &certs)
            .field("min_refetch_interval", &self.min_refetch_interval)
            .field("max_key_age", &self.max_key_age)
            .finish_non_exhaustive()
    }
}

impl KeySet {
    pub(crate) fn new(
        env: ImsEnvironment,
        transport: Transport,
        clock: Arc<dyn Clock>,
        min_refetch_interval: Duration,
        max_key_age: Duration,
    ) -> Self {
        KeySet {
            env,
            transport,
            clock,
            min_refetch_interval,
            max_key_age,
            jwks: RwLock::new(Jwks::default()),
            jwks_fetch: Mutex::new(FetchState::default()),
            certs: RwLock::new(HashMap::new()),
            cert_fetch: Mutex::new(FetchState::default()),
        }
    }

    /// Whether any key is held: a JWKS key or a certificate, however old
    /// (a held key keeps verifying while IMS is away).
    pub(crate) fn holds_keys(&self) -> bool {
        let jwks = !self
            .jwks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys
            .is_empty();
        jwks || !self
            .certs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// The cached key `kid`, and whether the set is older than
    /// `max_key_age`.
    fn cached_kid(&self, kid: &str, now: OffsetDateTime) -> (Option<Key>, bool) {
        let jwks = self.jwks.read().unwrap_or_else(PoisonError::into_inner);
        let stale = match jwks.fetched_at {
            None => true,
            Some(at) => now < at || (now - at) >= self.max_key_age,
        };
        (jwks.keys.get(kid).cloned(), stale)
    }

    /// The JWKS key `kid`: from the cache, or after one rate-limited
    /// refetch. Unknown after that: `UnknownKey`. Keys unreachable and none
    /// cached: `Unavailable`.
    pub(crate) async fn by_kid(&self, kid: &str) -> Result<Key, Error> {
        let now = self.clock.now();
        let (cached, stale) = self.cached_kid(kid, now);
        if let (Some(key), false) = (&cached, stale) {
            return Ok(Arc::clone(key));
        }
        let mut state = match (&cached, self.jwks_fetch.try_lock()) {
            (_, Ok(state)) => state,
            // A refresh is under way: the stale key serves meanwhile, rather
            // than every request waiting for IMS.
            (Some(key), Err(_)) => return Ok(Arc::clone(key)),
            (None, Err(_)) => self.jwks_fetch.lock().await,
        };
        // Another caller may have fetched while this one waited.
        let now = self.clock.now();
        let (cached, stale) = self.cached_kid(kid, now);
        if let (Some(key), false) = (&cached, stale) {
            return Ok(Arc::clone(key));
        }
        if !state.may_fetch(now, self.min_refetch_interval) {
            // A stale key still serves while refetching is rate limited.
            return cached.ok_or_else(|| state.rate_limited(TokenRejection::UnknownKey));
        }
        let fetched = self.fetch_jwks().await;
        crate::metrics::key_refresh("jwks", fetched.is_ok());
        state.record(self.clock.now(), fetched.as_ref().map(|_| ()));
        match fetched {
            Ok(keys) => {
                tracing::debug!(
                    environment = %self.env.name(),
                    keys = keys.len(),
                    "fetched IMS's signing keys"
                );
                let found = keys.get(kid).cloned();
                let mut jwks = self.jwks.write().unwrap_or_else(PoisonError::into_inner);
                jwks.keys = keys;
                jwks.fetched_at = Some(now);
                found.ok_or(Error::InvalidToken(TokenRejection::UnknownKey))
            }
            Err(err) => {
                tracing::warn!(
                    environment = %self.env.name(),
                    "fetching IMS's signing keys failed: {err}"
                );
                // A key we still hold keeps verifying while IMS is away.
                cached.ok_or(err)
            }
        }
    }

    /// The certificate named `x5u` (a bare file name), from the cache or
    /// fetched from the environment's key base URL, one fetch per interval.
    pub(crate) async fn by_x5u(&self, x5u: &str) -> Result<Key, Error> {
        check_x5u(x5u)?;
        if let Some(key) = self.cached_cert(x5u) {
            return Ok(key);
        }
        let mut state = self.cert_fetch.lock().await;
        if let Some(key) = self.cached_cert(x5u) {
            return Ok(key);
        }
        let now = self.clock.now();
        if !state.may_fetch(now, self.min_refetch_interval) {
            return Err(state.rate_limited(TokenRejection::UnknownKey));
        }
        let fetched = self.fetch_cert(x5u).await;
        crate::metrics::key_refresh("certificate", fetched.is_ok());
        state.record(
            self.clock.now(),
            match &fetched {
                // An unpublished name is no failure of IMS.
                Err(Error::InvalidToken(_)) | Ok(_) => Ok(()),
                Err(err) => Err(err),
            },
        );
        let key = fetched?;
        let mut certs = self.certs.write().unwrap_or_else(PoisonError::into_inner);
        if certs.len() < MAX_CERTS {
            certs.insert(x5u.to_owned(), Arc::clone(&key));
        }
        Ok(key)
    }

    fn cached_cert(&self, x5u: &str) -> Option<Key> {
        self.certs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(x5u)
            .cloned()
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, Key>, Error> {
        let call = Call::get(self.env.endpoint("/ims/keys"));
        let answer = self
            .transport
            .send(&call)
            .await
            .map_err(|err| unavailable("fetching /ims/keys", err))?;
        if answer.body.len() > MAX_KEY_DOCUMENT {
            return Err(unavailable_detail("/ims/keys answered an oversized body"));
        }
        let doc: JwksDocument = answer
            .json()
            .map_err(|err| unavailable("reading /ims/keys", err))?;
        let keys = usable_keys(doc);
        if keys.is_empty() {
            return Err(unavailable_detail(
                "/ims/keys published no usable RS256 signing key",
            ));
        }
        Ok(keys)
    }

    async fn fetch_cert(&self, x5u: &str) -> Result<Key, Error> {
        let url = self
            .env
            .key_base_url()
            .join(x5u)
            .map_err(|_| Error::InvalidToken(TokenRejection::InvalidKeyReference))?;
        let answer = match self.transport.send(&Call::get(url)).await {
            Ok(answer) => answer,
            Err(Error::Refused(refusal)) if refusal.status == 404 => {
                return Err(Error::InvalidToken(TokenRejection::UnknownKey));
            }
            Err(err) => return Err(unavailable("fetching a signing certificate", err)),
        };
        if answer.body.len() > MAX_KEY_DOCUMENT {
            return Err(unavailable_detail("the signing certificate is oversized"));
        }
        let key = DecodingKey::from_rsa_pem(&answer.body).map_err(|_| {
            unavailable_detail("the signing certificate is not a PEM RSA certificate or key")
        })?;
        Ok(Arc::new(VerifyingKey::new(&key)))
    }
}

/// Checks that `x5u` is a bare certificate file name: 1 to 128 characters
/// from `A-Z a-z 0-9 . _ -`, not starting with `.`, without `..`. So no
/// path, no URL, no traversal, no percent-encoding.
pub(crate) fn check_x5u(x5u: &str) -> Result<(), Error> {
    let valid = !x5u.is_empty()
        && x5u.len() <= MAX_X5U_LEN
        && !x5u.starts_with('.')
        && !x5u.contains("..")
        && x5u
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidToken(TokenRejection::InvalidKeyReference))
    }
}

fn unavailable(doing: &str, err: Error) -> Error {
    let retry_after = err.retry_after();
    Error::Unavailable {
        detail: format!("{doing} failed: {err}"),
        retry_after,
    }
}

fn unavailable_detail(detail: &str) -> Error {
    Error::Unavailable {
        detail: detail.to_owned(),
        retry_after: None,
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<serde_json::Value>,
}

/// One JWK, as far as an RSA signing key needs it.
#[derive(Deserialize)]
struct RsaJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// The RSA signing keys of a JWKS with a `kid`; others (EC, encryption
/// keys, other algorithms, malformed entries) are skipped, not fatal.
fn usable_keys(doc: JwksDocument) -> HashMap<String, Key> {
    let mut keys = HashMap::new();
    for value in doc.keys.into_iter().take(MAX_KEYS) {
        let Ok(jwk) = serde_json::from_value::<RsaJwk>(value) else {
            continue;
        };
        let usable = jwk.kty == "RSA"
            && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256")
            && jwk.key_use.as_deref().is_none_or(|u| u == "sig");
        let (true, Some(kid), Some(n), Some(e)) = (usable, jwk.kid, jwk.n, jwk.e) else {
            continue;
        };
        if let Ok(key) = DecodingKey::from_rsa_components(&n, &e) {
            keys.insert(kid, Arc::new(VerifyingKey::new(&key)));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_too_small_for_rs256_verifies_nothing() {
        // A 1024-bit modulus: RS256 here means 2048 to 8192 bits, so every
        // signature checked with it is bad (whether aws-lc-rs refuses it
        // when parsing or when verifying).
        let mut n = vec![0xff; 128];
        n[127] = 0xfd;
        let key = VerifyingKey::new(&DecodingKey::from_rsa_raw_components(&n, &[1, 0, 1]));
        assert!(!key.verifies(b"message", &[0; 128]));
    }

    #[test]
    fn x5u_must_be_a_bare_file_name() {
        for good in ["ims_na1-key-at-1.cer", "k.cer", "a-b_c.pem"] {
            assert!(check_x5u(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "../ims_na1-key-at-1.cer",
            "..",
            ".hidden",
            "a..b",
            "keys/k.cer",
            "/etc/passwd",
            "C:\\k.cer",
            "k\\..\\x",
            "https://evil.example/k.cer",
            "//evil.example/k.cer",
            "k%2F..%2Fx",
            "k.cer?x=1",
            "k.cer#f",
            "k cer",
            "ké.cer",
            &"a".repeat(129),
        ] {
            assert!(
                matches!(
                    check_x5u(bad),
                    Err(Error::InvalidToken(TokenRejection::InvalidKeyReference))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn usable_keys_skip_what_cannot_sign_rs256() {
        let doc: JwksDocument = serde_json::from_str(
            r#"{"keys":[
                {"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"},
                {"kty":"RSA","kid":"b","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
                {"kty":"RSA","kid":"c","alg":"RS512","n":"AQAB","e":"AQAB"},
                {"kty":"RSA","kid":"d","use":"enc","n":"AQAB","e":"AQAB"},
                {"kty":"EC","kid":"e","crv":"P-256","x":"AQAB","y":"AQAB"},
                {"kty":"RSA","n":"AQAB","e":"AQAB"},
                {"kty":"RSA","kid":"g","n":"!!","e":"AQAB"},
                {"kty":"RSA","kid":"h"},
                {"kid":"i"},
                42
            ]}"#,
        )
        .unwrap();
        let mut kids: Vec<String> = usable_keys(doc).into_keys().collect();
        kids.sort();
        assert_eq!(kids, ["a", "b"]);
    }

    #[test]
    fn fetch_state_rate_limits_and_remembers_failures() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let interval = Duration::from_secs(30);
        let mut state = FetchState::default();
        assert!(state.may_fetch(t0, interval));
        state.record(t0, Ok(()));
        assert!(!state.may_fetch(t0 + Duration::from_secs(29), interval));
        assert!(state.may_fetch(t0 + Duration::from_secs(30), interval));
        assert!(state.may_fetch(t0 - Duration::from_secs(1), interval));
        assert!(matches!(
            state.rate_limited(TokenRejection::UnknownKey),
            Error::InvalidToken(TokenRejection::UnknownKey)
        ));
        let failure = unavailable_detail("down");
        state.record(t0, Err(&failure));
        assert!(matches!(
            state.rate_limited(TokenRejection::UnknownKey),
            Error::Unavailable { .. }
        ));
    }
}
