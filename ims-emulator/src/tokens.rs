//! IMS-shaped JWTs: minting (access tokens, refresh tokens, authorization codes, ID tokens) and
//! verification against the published keys.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{Map, Value};

use crate::keys::{KeyStore, SigningKey};

/// Access tokens live 24 h.
pub(crate) const ACCESS_TOKEN_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// Refresh tokens live 14 days.
pub(crate) const REFRESH_TOKEN_TTL_MS: u64 = 14 * 24 * 60 * 60 * 1000;
/// Authorization codes live 5 minutes (and are single use).
pub(crate) const CODE_TTL_MS: u64 = 5 * 60 * 1000;
/// ID tokens live 24 h.
pub(crate) const ID_TOKEN_TTL_S: u64 = 24 * 60 * 60;

/// The kinds of token the emulator issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    Refresh,
    Code,
}

impl TokenKind {
    pub(crate) fn type_claim(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
            TokenKind::Code => "authorization_code",
        }
    }

    fn itt(self) -> &'static str {
        match self {
            TokenKind::Access => "at",
            TokenKind::Refresh => "rt",
            TokenKind::Code => "ac",
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A random URL-safe identifier with `bytes` bytes of entropy.
pub(crate) fn random_id(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    rand::fill(buf.as_mut_slice());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// What goes into a new token.
#[derive(Debug, Clone)]
pub(crate) struct TokenSpec {
    pub(crate) kind: TokenKind,
    pub(crate) client_id: String,
    pub(crate) user_id: String,
    pub(crate) scope: Vec<String>,
    pub(crate) created_at_ms: u64,
    pub(crate) expires_in_ms: u64,
    /// Extra claims (e.g. `rtid`, `pac`).
    pub(crate) extra: Vec<(&'static str, Value)>,
}

/// A minted token and its `id` claim.
#[derive(Debug, Clone)]
pub(crate) struct Minted {
    pub(crate) token: String,
    pub(crate) id: String,
}

fn header_for(key: &SigningKey, itt: Option<&str>) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(key.kid.clone());
    header.x5u = Some(key.x5u.clone());
    if let Some(itt) = itt {
        header.extras.insert("itt", itt);
    }
    header
}

/// Signs an IMS-shaped token with the current key.
pub(crate) fn mint(keys: &KeyStore, authority: &str, spec: &TokenSpec) -> Result<Minted, String> {
    let key = keys.current();
    let id = format!("{}-{}", spec.kind.itt(), random_id(12));
    let mut claims = Map::new();
    claims.insert("id".into(), id.clone().into());
    claims.insert("type".into(), spec.kind.type_claim().into());
    claims.insert("client_id".into(), spec.client_id.clone().into());
    claims.insert("user_id".into(), spec.user_id.clone().into());
    claims.insert("as".into(), authority.into());
    for (k, v) in &spec.extra {
        claims.insert((*k).into(), v.clone());
    }
    claims.insert("scope".into(), spec.scope.join(",").into());
    claims.insert("created_at".into(), spec.created_at_ms.to_string().into());
    claims.insert("expires_in".into(), spec.expires_in_ms.to_string().into());
    let token = jsonwebtoken::encode(
        &header_for(&key, Some(spec.kind.itt())),
        &claims,
        &key.encoding,
    )
    .map_err(|e| e.to_string())?;
    Ok(Minted { token, id })
}

/// Signs an OIDC ID token (standard claims, seconds).
pub(crate) fn mint_id_token(
    keys: &KeyStore,
    claims: &Map<String, Value>,
) -> Result<String, String> {
    let key = keys.current();
    jsonwebtoken::encode(&header_for(&key, None), claims, &key.encoding).map_err(|e| e.to_string())
}

/// A token that passed signature and shape checks.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(crate) claims: Map<String, Value>,
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) client_id: String,
    pub(crate) user_id: String,
    pub(crate) scope: Vec<String>,
    pub(crate) expires_at_ms: u64,
}

impl Verified {
    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }
}

/// Why a token is not valid; `reason` is what `validate_token` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenProblem {
    pub(crate) reason: &'static str,
    pub(crate) description: String,
}

fn problem(reason: &'static str, description: impl Into<String>) -> TokenProblem {
    TokenProblem {
        reason,
        description: description.into(),
    }
}

/// Splits a scope parameter on commas and spaces.
pub(crate) fn split_scopes(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope
        .split([',', ' ', '+'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

fn claim_ms(claims: &Map<String, Value>, name: &str) -> Result<u64, TokenProblem> {
    match claims.get(name) {
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map_err(|_| problem("invalid_token", format!("claim {name} is not a number"))),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| problem("invalid_token", format!("claim {name} is not a number"))),
        _ => Err(problem("invalid_token", format!("claim {name} is missing"))),
    }
}

fn claim_str(claims: &Map<String, Value>, name: &str) -> Result<String, TokenProblem> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| problem("invalid_token", format!("claim {name} is missing")))
}

/// Checks signature (by `kid` among the published keys), shape, and expiry (`created_at +
/// expires_in`, ms). Revocation is checked by the caller.
pub(crate) fn verify(keys: &KeyStore, token: &str, now: u64) -> Result<Verified, TokenProblem> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| problem("invalid_token", "the token cannot be decoded"))?;
    if header.alg != Algorithm::RS256 {
        return Err(problem(
            "invalid_token",
            "the token is not signed with RS256",
        ));
    }
    let kid = header
        .kid
        .ok_or_else(|| problem("invalid_token", "the token header has no kid"))?;
    let key = keys
        .find(&kid)
        .ok_or_else(|| problem("bad_signature", format!("no published key has kid {kid}")))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                problem("bad_signature", "the signature is not valid")
            }
            _ => problem("invalid_token", "the token cannot be decoded"),
        })?;
    let claims = data.claims;
    let created_at = claim_ms(&claims, "created_at")?;
    let expires_in = claim_ms(&claims, "expires_in")?;
    let expires_at_ms = created_at.saturating_add(expires_in);
    let verified = Verified {
        id: claim_str(&claims, "id")?,
        kind: claim_str(&claims, "type")?,
        client_id: claim_str(&claims, "client_id")?,
        user_id: claim_str(&claims, "user_id")?,
        scope: split_scopes(
            claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        expires_at_ms,
        claims,
    };
    if expires_at_ms <= now {
        return Err(problem("token_expired", "the token has expired"));
    }
    Ok(verified)
}
