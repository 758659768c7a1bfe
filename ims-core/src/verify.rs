//! Local verification of IMS access tokens: RS256 signature against IMS's
//! published keys, then the claims.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_api::{
    AccessToken, ClientId, Clock, Error, ImsEnvironment, SystemClock, TokenClaims, TokenRejection,
    TokenType, TokenVerifier, VerifiedToken,
};

use crate::HttpPolicy;
use crate::http::Transport;
use crate::jwt;
use crate::keys::KeySet;

/// Room for the signature of the largest RS256 key accepted (8192 bits),
/// with the slack base64's length estimate asks for.
const MAX_SIGNATURE_BYTES: usize = 8192 / 8 + 16;

/// How a [`LocalVerifier`] judges tokens and refreshes keys.
///
/// ```
/// use std::time::Duration;
/// use ims_api::ClientId;
/// use ims_core::VerifierConfig;
///
/// let config = VerifierConfig::default()
///     .with_leeway(Duration::from_secs(10))
///     .with_allowed_client_ids([ClientId::parse("my_client")?]);
/// assert_eq!(config.leeway, Duration::from_secs(10));
/// # Ok::<(), ims_api::InvalidValue>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifierConfig {
    /// Clock skew tolerated on both ends of a token's lifetime. Default
    /// 30 s: the skew IMS itself allows on JWT assertions; tokens live 24 h,
    /// so more buys nothing.
    pub leeway: Duration,
    /// When set, only tokens of these clients are accepted (aio's
    /// `validateTokenAllowList`). Default: any client.
    pub allowed_client_ids: Option<Vec<ClientId>>,
    /// The `type` claim required. Default `access_token`.
    pub expected_type: TokenType,
    /// The shortest time between two fetches of the key set (or of
    /// certificates), however many unknown `kid`s arrive. Default 30 s.
    pub min_refetch_interval: Duration,
    /// Age after which the key set is fetched again on next use, so keys IMS
    /// withdrew stop verifying. Default 1 h. A failed refresh keeps the old
    /// keys.
    pub max_key_age: Duration,
    /// Timeouts and retries of key fetches.
    pub http: HttpPolicy,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        VerifierConfig {
            leeway: Duration::from_secs(30),
            allowed_client_ids: None,
            expected_type: TokenType::AccessToken,
            min_refetch_interval: Duration::from_secs(30),
            max_key_age: Duration::from_secs(3600),
            http: HttpPolicy::default(),
        }
    }
}

impl VerifierConfig {
    /// Sets [`leeway`](Self::leeway).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets [`allowed_client_ids`](Self::allowed_client_ids).
    pub fn with_allowed_client_ids(mut self, ids: impl IntoIterator<Item = ClientId>) -> Self {
        self.allowed_client_ids = Some(ids.into_iter().collect());
        self
    }

    /// Sets [`expected_type`](Self::expected_type).
    pub fn with_expected_type(mut self, token_type: TokenType) -> Self {
        self.expected_type = token_type;
        self
    }

    /// Sets [`min_refetch_interval`](Self::min_refetch_interval).
    pub fn with_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// Sets [`max_key_age`](Self::max_key_age).
    pub fn with_max_key_age(mut self, age: Duration) -> Self {
        self.max_key_age = age;
        self
    }

    /// Sets [`http`](Self::http).
    pub fn with_http_policy(mut self, policy: HttpPolicy) -> Self {
        self.http = policy;
        self
    }
}

/// Verifies IMS access tokens locally: Magento's `TokenReader`, without a
/// call to IMS per token.
///
/// Checks, in this order (the first failure is the answer): size and shape
/// → header → `alg` is exactly `RS256` → the key, by `kid` from
/// `/ims/keys`, or, for a token without `kid`, the certificate named by
/// `x5u` (a bare file name) → the signature → the claims parse → `type` →
/// `as` is the environment's authority → `created_at + expires_in` (with
/// leeway) → the client allow-list. Keys embedded in the token (`jwk`,
/// `jku`, `x5c`) are never trusted, and a `crit` header is refused.
///
/// ```no_run
/// use ims_api::{AccessToken, ImsEnvironment, TokenVerifier};
/// use ims_core::{LocalVerifier, VerifierConfig};
///
/// # async fn run() -> Result<(), ims_api::Error> {
/// let verifier = LocalVerifier::new(ImsEnvironment::Prod, VerifierConfig::default())?;
/// let token = AccessToken::new("eyJhbGciOiJSUzI1NiIs...");
/// match verifier.verify(&token).await {
///     Ok(verified) => println!("client {:?}", verified.claims.client_id),
///     Err(ims_api::Error::InvalidToken(reason)) => println!("refused: {reason}"),
///     Err(other) => println!("no verdict: {other}"),
/// }
/// # Ok(())
/// # }
/// ```
pub struct LocalVerifier {
    env: ImsEnvironment,
    config: VerifierConfig,
    clock: Arc<dyn Clock>,
    keys: KeySet,
}

impl fmt::Debug for LocalVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalVerifier")
            .field("environment", &self.env.name())
            .field("config", &self.config)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl LocalVerifier {
    /// A verifier for tokens of `env`, on the system clock.
    pub fn new(env: ImsEnvironment, config: VerifierConfig) -> Result<Self, Error> {
        LocalVerifier::with_clock(env, config, Arc::new(SystemClock))
    }

    /// A verifier for tokens of `env` reading time from `clock` (for
    /// lifetimes and refetch intervals).
    pub fn with_clock(
        env: ImsEnvironment,
        config: VerifierConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let transport = Transport::new(config.http.clone())?;
        let keys = KeySet::new(
            env.clone(),
            transport,
            Arc::clone(&clock),
            config.min_refetch_interval,
            config.max_key_age,
        );
        Ok(LocalVerifier {
            env,
            config,
            clock,
            keys,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Whether this verifier holds any of IMS's signing keys (its key set
    /// or a certificate was loaded), so that tokens signed with them verify
    /// without IMS. No I/O: a readiness probe can ask it on every call. An
    /// instance that holds keys keeps serving known tokens through an IMS
    /// outage; one that holds none can verify nothing until IMS answers.
    ///
    /// ```
    /// use ims_api::ImsEnvironment;
    /// use ims_core::{LocalVerifier, VerifierConfig};
    ///
    /// let verifier = LocalVerifier::new(ImsEnvironment::Prod, VerifierConfig::default())?;
    /// // Keys are fetched with the first token, not before.
    /// assert!(!verifier.holds_keys());
    /// # Ok::<(), ims_api::Error>(())
    /// ```
    pub fn holds_keys(&self) -> bool {
        self.keys.holds_keys()
    }

    async fn verify_str(&self, token: &str) -> Result<VerifiedToken, Error> {
        // An empty signature is refused below, once `alg` is known: an
        // unsigned `alg: none` token is refused for its algorithm.
        let parts = jwt::split(token, true)?;
        let header = jwt::header(&parts, false)?;
        if header.alg != "RS256" {
            return Err(rejected(TokenRejection::UnsupportedAlgorithm(printable(
                &header.alg,
                16,
            ))));
        }
        if parts.signature.is_empty() {
            return Err(rejected(TokenRejection::Malformed(
                "the token is unsigned".to_owned(),
            )));
        }
        if header.crit.is_some() {
            return Err(rejected(TokenRejection::Malformed(
                "the header names critical extensions".to_owned(),
            )));
        }
        // Checked before any fetch, whichever key is used.
        if let Some(x5u) = &header.x5u {
            crate::keys::check_x5u(x5u)?;
        }
        let (key, key_id) = match (&header.kid, &header.x5u) {
            (Some(kid), _) => (self.keys.by_kid(kid).await?, kid.clone()),
            (None, Some(x5u)) => (self.keys.by_x5u(x5u).await?, x5u.clone()),
            (None, None) => {
                return Err(rejected(TokenRejection::Malformed(
                    "the header names no key (kid or x5u)".to_owned(),
                )));
            }
        };
        // The signature decoded once, on the stack; a part that is not
        // base64url, or longer than an 8192-bit key's, is a bad signature.
        let mut signature = [0u8; MAX_SIGNATURE_BYTES];
        let signature_ok = match URL_SAFE_NO_PAD.decode_slice(parts.signature, &mut signature) {
            Ok(len) => key.verifies(parts.signed.as_bytes(), &signature[..len]),
            Err(_) => false,
        };
        if !signature_ok {
            return Err(rejected(TokenRejection::BadSignature));
        }
        let claims = claims_of(&parts)?;
        self.check_claims(&claims)?;
        Ok(VerifiedToken::new(claims, key_id))
    }

    fn check_claims(&self, claims: &TokenClaims) -> Result<(), Error> {
        if claims.token_type != self.config.expected_type {
            return Err(rejected(TokenRejection::WrongType {
                expected: self.config.expected_type.to_string(),
                found: printable(claims.token_type.as_str(), 32),
            }));
        }
        let expected = self.env.authority();
        match claims.authority.as_deref() {
            None => return Err(rejected(TokenRejection::MissingClaim("as"))),
            Some(found) if found != expected => {
                return Err(rejected(TokenRejection::WrongEnvironment {
                    expected: expected.to_owned(),
                    found: printable(found, 32),
                }));
            }
            Some(_) => {}
        }
        claims
            .check_lifetime(self.clock.now(), self.config.leeway)
            .map_err(rejected)?;
        if let Some(allowed) = &self.config.allowed_client_ids {
            let client = claims
                .client_id
                .as_deref()
                .ok_or(rejected(TokenRejection::MissingClaim("client_id")))?;
            if !allowed.iter().any(|id| id.as_str() == client) {
                return Err(rejected(TokenRejection::ClientNotAllowed(printable(
                    client, 64,
                ))));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl TokenVerifier for LocalVerifier {
    async fn verify(&self, token: &AccessToken) -> ims_api::Result<VerifiedToken> {
        self.verify_str(token.expose_secret().trim()).await
    }
}

fn rejected(reason: TokenRejection) -> Error {
    Error::InvalidToken(reason)
}

/// A claim or header value fit for an error message: at most `max`
/// characters, control characters replaced.
fn printable(value: &str, max: usize) -> String {
    let mut out: String = value
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().count() > max {
        out.push('…');
    }
    out
}

/// The claims of a token whose signature was verified: straight from the
/// payload's bytes into [`TokenClaims`] when that succeeds (every good
/// token: one decoding, no intermediate JSON tree), else through
/// [`parse_claims`], which names what is wrong. Both give the same verdict:
/// a payload the direct parse accepts passes every check of
/// `parse_claims` (the required claims are fields without defaults, their
/// parsers refuse `null`), and a JSON array, which serde would also read
/// into a struct, is left to `parse_claims` to refuse.
fn claims_of(parts: &jwt::Parts<'_>) -> Result<TokenClaims, Error> {
    let bytes = jwt::b64(parts.payload, "payload", false)?;
    let is_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_object && let Ok(claims) = serde_json::from_slice::<TokenClaims>(&bytes) {
        return Ok(claims);
    }
    parse_claims(jwt::payload_json(&bytes)?)
}

/// The claims a token must have, checked one by one so that the rejection
/// names the claim; then the whole payload as [`TokenClaims`].
fn parse_claims(payload: serde_json::Map<String, serde_json::Value>) -> Result<TokenClaims, Error> {
    const REQUIRED: [&str; 3] = ["type", "created_at", "expires_in"];
    for claim in REQUIRED {
        if payload.get(claim).is_none_or(serde_json::Value::is_null) {
            return Err(rejected(TokenRejection::MissingClaim(claim)));
        }
    }
    if !payload
        .get("type")
        .is_some_and(serde_json::Value::is_string)
    {
        return Err(rejected(TokenRejection::InvalidClaim {
            claim: "type",
            detail: "expected a string".to_owned(),
        }));
    }
    // Each time claim alone, through `TokenClaims`' own parser.
    for claim in ["created_at", "expires_in"] {
        let mut probe = serde_json::Map::new();
        probe.insert("type".to_owned(), "access_token".into());
        probe.insert("created_at".to_owned(), "0".into());
        probe.insert("expires_in".to_owned(), "0".into());
        if let Some(value) = payload.get(claim) {
            probe.insert(claim.to_owned(), value.clone());
        }
        if serde_json::from_value::<TokenClaims>(serde_json::Value::Object(probe)).is_err() {
            return Err(rejected(TokenRejection::InvalidClaim {
                claim,
                detail: "expected milliseconds as a decimal string".to_owned(),
            }));
        }
    }
    serde_json::from_value(serde_json::Value::Object(payload)).map_err(|err| {
        rejected(TokenRejection::Malformed(format!(
            "the claims do not have the expected shape ({})",
            data_problem(&err)
        )))
    })
}

/// serde's complaint without the offending value (it may be long or
/// personal): "invalid type: string \"…\", expected …" keeps "expected …".
fn data_problem(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.find("expected") {
        Some(at) => printable(&text[at..], 80),
        None => "unexpected value".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        match value {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("test payloads are objects"),
        }
    }

    #[test]
    fn missing_and_invalid_time_claims_are_named() {
        let base = json!({"type":"access_token","created_at":"1","expires_in":"2"});
        assert!(parse_claims(map(base.clone())).is_ok());
        for claim in ["type", "created_at", "expires_in"] {
            let mut payload = map(base.clone());
            payload.remove(claim);
            let err = parse_claims(payload).unwrap_err();
            assert!(
                matches!(err, Error::InvalidToken(TokenRejection::MissingClaim(c)) if c == claim),
                "{claim}: {err:?}"
            );
        }
        for claim in ["created_at", "expires_in"] {
            for bad in [json!("soon"), json!(-1), json!(true), json!("1.5")] {
                let mut payload = map(base.clone());
                payload.insert(claim.to_owned(), bad);
                let err = parse_claims(payload).unwrap_err();
                assert!(
                    matches!(err, Error::InvalidToken(TokenRejection::InvalidClaim { claim: c, .. }) if c == claim),
                    "{claim}: {err:?}"
                );
            }
        }
    }

    #[test]
    fn other_shape_errors_do_not_quote_the_value() {
        let payload = json!({"type":"access_token","created_at":"1","expires_in":"2","client_id":"x".repeat(500)});
        assert!(parse_claims(map(payload)).is_ok());
        let payload = json!({"type":"access_token","created_at":"1","expires_in":"2","user_id":{"secret":"s3cr3t"}});
        let err = parse_claims(map(payload)).unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(err.contains("expected"), "{err}");
    }

    #[test]
    fn printable_truncates_and_strips_controls() {
        assert_eq!(printable("ab\ncd", 10), "ab?cd");
        assert_eq!(printable("abcdef", 3), "abc…");
    }
}
