//! The JWT exchange's assertion: claims signed RS256 with a service
//! account's private key (PKCS#1, PKCS#8, passphrase-encrypted PKCS#8, or
//! OpenSSL's legacy encrypted PKCS#1).

mod legacy_pem;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ims_api::{Error, ImsEnvironment, JwtServiceAccount, Passphrase, PrivateKeyPem};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pkcs8::der::Decode as _;
use serde::Serialize;
use time::OffsetDateTime;

/// How long an assertion is valid: IMS wants `exp` within a few minutes.
pub(crate) const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Serialize)]
struct AssertionClaims<'a> {
    exp: i64,
    iat: i64,
    iss: String,
    sub: &'a str,
    aud: String,
    #[serde(flatten)]
    meta_scopes: BTreeMap<String, bool>,
}

/// The IMS base URL as it appears in `aud` and meta-scope claims: without a
/// trailing slash.
fn claim_base(env: &ImsEnvironment) -> String {
    env.base_url().as_str().trim_end_matches('/').to_owned()
}

/// Signs the assertion for `account` at `now`.
pub(crate) fn sign(
    account: &JwtServiceAccount,
    env: &ImsEnvironment,
    now: OffsetDateTime,
) -> Result<String, Error> {
    let key = encoding_key(&account.private_key, account.passphrase.as_ref())?;
    let base = claim_base(env);
    let iat = now.unix_timestamp();
    let lifetime = i64::try_from(ASSERTION_LIFETIME.as_secs()).unwrap_or(300);
    let claims = AssertionClaims {
        exp: iat + lifetime,
        iat,
        iss: account.org_id.with_suffix(),
        sub: &account.technical_account_id,
        aud: format!("{base}/c/{}", account.client.client_id),
        meta_scopes: account
            .meta_scopes
            .iter()
            .map(|scope| meta_scope_claim(&base, scope))
            .map(|claim| (claim, true))
            .collect(),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key)
        .map_err(|err| Error::Misconfigured(format!("cannot sign the JWT assertion: {err}")))
}

/// A meta scope as a claim name: `<base>/s/<scope>`; a scope that is already a
/// URL is kept as given (aio accepts both).
fn meta_scope_claim(base: &str, scope: &str) -> String {
    let scope = scope.trim();
    if scope.starts_with("https://") || scope.starts_with("http://") {
        scope.to_owned()
    } else {
        format!("{base}/s/{scope}")
    }
}

/// Reads a PEM private key: PKCS#1 (`RSA PRIVATE KEY`), PKCS#8
/// (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`) or OpenSSL's
/// legacy encrypted PKCS#1 (`Proc-Type: 4,ENCRYPTED`, `DEK-Info` AES-CBC or
/// DES-EDE3-CBC); the encrypted ones need the passphrase. Literal `\n` escapes, as found in environment variables,
/// are accepted for line breaks. Errors never quote the key.
pub(crate) fn encoding_key(
    pem: &PrivateKeyPem,
    passphrase: Option<&Passphrase>,
) -> Result<EncodingKey, Error> {
    let text = pem.expose_secret().trim().replace("\\n", "\n");
    if legacy_pem::is_encrypted(&text) {
        let passphrase = passphrase.ok_or_else(|| {
            Error::Misconfigured("the private key is encrypted: set its passphrase".to_owned())
        })?;
        let der = legacy_pem::decrypt(&text, passphrase)?;
        return Ok(EncodingKey::from_rsa_der(&der));
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let passphrase = passphrase.ok_or_else(|| {
            Error::Misconfigured("the private key is encrypted: set its passphrase".to_owned())
        })?;
        let pkcs8_pem = decrypt_pkcs8(&text, passphrase)?;
        return EncodingKey::from_rsa_pem(pkcs8_pem.as_bytes())
            .map_err(|err| invalid_key(&format!("decrypted key is not an RSA key ({err})")));
    }
    if !text.contains("-----BEGIN RSA PRIVATE KEY-----")
        && !text.contains("-----BEGIN PRIVATE KEY-----")
    {
        return Err(invalid_key(
            "expected a PEM block 'RSA PRIVATE KEY', 'PRIVATE KEY' or 'ENCRYPTED PRIVATE KEY'",
        ));
    }
    EncodingKey::from_rsa_pem(text.as_bytes()).map_err(|err| invalid_key(&err.to_string()))
}

fn invalid_key(detail: &str) -> Error {
    Error::Misconfigured(format!("invalid private key: {detail}"))
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` PEM into a `PRIVATE KEY` PEM.
fn decrypt_pkcs8(pem: &str, passphrase: &Passphrase) -> Result<String, Error> {
    let (label, der) = pkcs8::der::pem::decode_vec(pem.as_bytes())
        .map_err(|err| invalid_key(&format!("not a PEM document ({err})")))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(invalid_key("expected one ENCRYPTED PRIVATE KEY block"));
    }
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::from_der(&der)
        .map_err(|err| invalid_key(&format!("not an encrypted PKCS#8 key ({err})")))?;
    let document = encrypted
        .decrypt(passphrase.expose_secret().as_bytes())
        .map_err(|_| invalid_key("cannot decrypt it: wrong passphrase or unsupported cipher"))?;
    let body = STANDARD.encode(document.as_bytes());
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    Ok(out)
}
