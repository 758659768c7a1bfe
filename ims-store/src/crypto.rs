//! Encryption at rest: AES-256-GCM under a host key that is never stored
//! beside the data.
//!
//! A stored value is `nonce (12 random bytes) || ciphertext || tag (16
//! bytes)`. The associated data names the table, the column and the row, so a
//! ciphertext copied into another row or column does not decrypt. The cipher
//! is aws-lc-rs's, the workspace's one crypto provider.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine as _;
use ims_api::Error;

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

/// Why an [`EncryptionKey`] could not be built. Messages never contain key
/// material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is not 32 bytes long.
    #[error("the encryption key must be 32 bytes (AES-256), got {len}")]
    WrongLength {
        /// The length that was given.
        len: usize,
    },
    /// The text is not base64 (standard or URL-safe alphabet, padded or not).
    #[error("the encryption key is not valid base64")]
    InvalidBase64,
    /// The environment variable is not set (or not Unicode).
    #[error("the environment variable {var} holding the encryption key is not set")]
    MissingEnv {
        /// The variable's name.
        var: String,
    },
}

impl From<KeyError> for Error {
    fn from(err: KeyError) -> Self {
        Error::Misconfigured(err.to_string())
    }
}

/// The 32-byte AES-256-GCM key that encrypts client secrets and tokens at
/// rest. Keep it outside the database (an environment variable, a secret
/// manager); `Debug` never shows it.
///
/// ```
/// use ims_store::EncryptionKey;
///
/// let key = EncryptionKey::generate();
/// let same = EncryptionKey::from_base64(&key.expose_base64())?;
/// assert_eq!(format!("{same:?}"), "EncryptionKey([REDACTED])");
/// assert!(EncryptionKey::from_base64("c2hvcnQ=").is_err());
/// # Ok::<(), ims_store::KeyError>(())
/// ```
#[derive(Clone)]
pub struct EncryptionKey {
    bytes: Arc<[u8; KEY_LEN]>,
}

impl EncryptionKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        EncryptionKey {
            bytes: Arc::new(bytes),
        }
    }

    /// A key from a slice that must be 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| KeyError::WrongLength { len: bytes.len() })?;
        Ok(Self::from_bytes(bytes))
    }

    /// A key from base64 text (standard or URL-safe alphabet, with or
    /// without padding; surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = text.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or(KeyError::InvalidBase64)?;
        Self::from_slice(&bytes)
    }

    /// A key from the base64 text in an environment variable.
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        let text = std::env::var(var).map_err(|_| KeyError::MissingEnv {
            var: var.to_owned(),
        })?;
        Self::from_base64(&text)
    }

    /// A new random key (from the operating system's generator).
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::fill(&mut bytes[..]);
        Self::from_bytes(bytes)
    }

    /// The key as standard base64, to put in a secret manager. This exposes
    /// the key: never log it.
    pub fn expose_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(*self.bytes)
    }

    /// The AES-256-GCM key, expanded for one operation (secrets are sealed
    /// and opened rarely; keeping only the bytes keeps construction
    /// infallible). `None` only if aws-lc refuses a 32-byte AES-256 key.
    fn cipher(&self) -> Option<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM, &self.bytes[..])
            .ok()
            .map(LessSafeKey::new)
    }

    /// Encrypts `plaintext`, bound to `aad` (table, column, row).
    pub(crate) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = || Error::Storage {
            message: "failed to encrypt a value".to_owned(),
            source: None,
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let mut stored = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
        stored.extend_from_slice(&nonce);
        let mut sealed = plaintext.to_vec();
        self.cipher()
            .ok_or_else(failed)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed,
            )
            .map_err(|_| failed())?;
        stored.extend_from_slice(&sealed);
        Ok(stored)
    }

    /// Decrypts a stored value; `None` if it does not decrypt under this key
    /// (wrong key, altered data, or a value moved from another row).
    pub(crate) fn open(&self, stored: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let (nonce, sealed) = stored.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = sealed.to_vec();
        let plain = self
            .cipher()?
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .ok()?
            .len();
        in_out.truncate(plain);
        Some(in_out)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey([REDACTED])")
    }
}

/// The optional key of a store, with the policy around it: storing a secret
/// needs a key; reading one back needs the same key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sealer {
    key: Option<EncryptionKey>,
}

impl Sealer {
    pub(crate) fn new(key: Option<EncryptionKey>) -> Self {
        Sealer { key }
    }

    pub(crate) fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// Encrypts a secret for `what` (e.g. "the client secret"); without a key,
    /// a `Misconfigured` error: secrets are never stored in clear.
    pub(crate) fn seal(
        &self,
        what: &str,
        plaintext: Option<&str>,
        aad: &[u8],
    ) -> Result<Option<Vec<u8>>, Error> {
        let Some(plaintext) = plaintext else {
            return Ok(None);
        };
        let key = self.key.as_ref().ok_or_else(|| {
            Error::Misconfigured(format!(
                "cannot store {what}: no encryption key is configured \
                 (set one with StoreOptions::with_encryption_key; secrets are never stored in clear)"
            ))
        })?;
        key.seal(plaintext.as_bytes(), aad).map(Some)
    }

    /// Decrypts a stored secret of `what`.
    pub(crate) fn open(
        &self,
        what: &str,
        stored: Option<Vec<u8>>,
        aad: &[u8],
    ) -> Result<Option<String>, Error> {
        let Some(stored) = stored else {
            return Ok(None);
        };
        let key = self.key.as_ref().ok_or_else(|| {
            Error::Misconfigured(format!(
                "{what} is stored encrypted, but no encryption key is configured"
            ))
        })?;
        let plain = key.open(&stored, aad).ok_or_else(|| {
            Error::Misconfigured(format!(
                "cannot decrypt {what}: the configured encryption key is not the one it was \
                 stored with (or the stored value was altered)"
            ))
        })?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| Error::Storage {
                message: format!("{what} decrypted to invalid UTF-8"),
                source: None,
            })
    }
}

/// The associated data of an encrypted column: `table.column:row`.
pub(crate) fn aad(table: &str, column: &str, row: &str) -> Vec<u8> {
    format!("{table}.{column}:{row}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding_to_the_row() {
        let key = EncryptionKey::generate();
        let stored = key.seal(b"secret", b"t.c:1").unwrap();
        assert_ne!(&stored[NONCE_LEN..], b"secret");
        assert_eq!(key.open(&stored, b"t.c:1").unwrap(), b"secret");
        assert!(key.open(&stored, b"t.c:2").is_none());
        assert!(EncryptionKey::generate().open(&stored, b"t.c:1").is_none());
        assert!(key.open(&stored[..5], b"t.c:1").is_none());
    }

    /// A value sealed by earlier versions (RustCrypto's AES-256-GCM, the
    /// same format): existing databases keep decrypting.
    #[test]
    fn decrypts_what_earlier_versions_stored() {
        let stored: Vec<u8> = (0..STORED_BY_0_1.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&STORED_BY_0_1[i..i + 2], 16).unwrap())
            .collect();
        let key = EncryptionKey::from_bytes([7; 32]);
        let aad = b"adobe_ims_settings.client_secret:1";
        assert_eq!(
            key.open(&stored, aad).unwrap(),
            "client-secret-\u{2713}".as_bytes()
        );
        assert!(
            key.open(&stored, b"adobe_ims_settings.client_secret:2")
                .is_none()
        );
    }

    const STORED_BY_0_1: &str = "a8d1dac2ca7ae073de4dbd0e6722a1514a578ff86af5da2502f9efe596c5ad815426bab5d2b2cb7569a882f7ab";

    #[test]
    fn nonces_differ_per_write() {
        let key = EncryptionKey::generate();
        assert_ne!(key.seal(b"x", b"").unwrap(), key.seal(b"x", b"").unwrap());
    }

    #[test]
    fn key_constructors() {
        assert_eq!(
            EncryptionKey::from_slice(&[0; 31]).unwrap_err(),
            KeyError::WrongLength { len: 31 }
        );
        assert_eq!(
            EncryptionKey::from_base64("not base64!").unwrap_err(),
            KeyError::InvalidBase64
        );
        let key = EncryptionKey::from_bytes([7; 32]);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
        let again = EncryptionKey::from_base64(&url_safe).unwrap();
        assert_eq!(key.expose_base64(), again.expose_base64());
        let err = EncryptionKey::from_env("IMS_STORE_TEST_SURELY_UNSET_KEY_VAR").unwrap_err();
        assert!(
            err.to_string()
                .contains("IMS_STORE_TEST_SURELY_UNSET_KEY_VAR")
        );
    }

    #[test]
    fn sealer_without_key_refuses_secrets() {
        let sealer = Sealer::new(None);
        assert!(sealer.seal("x", None, b"").unwrap().is_none());
        let err = sealer
            .seal("the client secret", Some("s"), b"")
            .unwrap_err();
        assert!(matches!(err, Error::Misconfigured(_)));
        assert!(err.to_string().contains("encryption key"));
    }
}
