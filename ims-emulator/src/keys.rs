//! Token-signing keys: the published JWKS, certificates by `x5u` name, and rotation.

use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::default_seed::{SIGNING_KEY_1_FIXTURE, SIGNING_KEY_2_FIXTURE, strip_comment};
use crate::error::EmulatorError;

/// One RSA signing key with its published forms.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) x5u: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    pub(crate) jwk: serde_json::Value,
    pub(crate) cert_pem: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("x5u", &self.x5u)
            .finish_non_exhaustive()
    }
}

fn key_err(e: impl std::fmt::Display) -> EmulatorError {
    EmulatorError::Key(e.to_string())
}

impl SigningKey {
    /// Loads a PKCS#8 (or PKCS#1) RSA private key PEM and derives its JWK and certificate.
    pub(crate) fn from_pem(pem: &str, kid: String) -> Result<Self, EmulatorError> {
        let pem = strip_comment(pem);
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(key_err)?;
        let jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(key_err)?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(key_err)?;
        let mut jwk_json = serde_json::to_value(&jwk).map_err(key_err)?;
        if let Some(obj) = jwk_json.as_object_mut() {
            obj.insert("kid".into(), kid.clone().into());
            obj.insert("use".into(), "sig".into());
            obj.insert("alg".into(), "RS256".into());
        }
        let key_pair = rcgen::KeyPair::from_pem_and_sign_algo(pem, &rcgen::PKCS_RSA_SHA256)
            .map_err(key_err)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(key_err)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("ims-emulator {kid}"));
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "ims-emulator (TEST ONLY)");
        let cert_pem = params.self_signed(&key_pair).map_err(key_err)?.pem();
        Ok(Self {
            x5u: format!("{kid}.cer"),
            kid,
            encoding,
            decoding,
            jwk: jwk_json,
            cert_pem,
        })
    }

    /// A fresh RSA-2048 key.
    pub(crate) fn generate(kid: String) -> Result<Self, EmulatorError> {
        let key_pair =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(key_err)?;
        Self::from_pem(&key_pair.serialize_pem(), kid)
    }
}

/// The published keys and which one signs.
#[derive(Debug)]
pub(crate) struct KeyStore {
    /// Published keys, oldest first.
    published: Vec<Arc<SigningKey>>,
    /// The key that signs new tokens.
    current: Arc<SigningKey>,
    /// Prefix of kids, e.g. `ims_na1-key-at-`.
    prefix: String,
    /// The number of the last key created.
    counter: u32,
}

impl KeyStore {
    /// The two fixture keys, the first of which signs. Kids are `<authority>-key-at-<n>` with `-`
    /// in the authority replaced by `_` (e.g. `ims_na1-key-at-1`), like IMS's certificate names.
    pub(crate) fn with_fixture_keys(authority: &str) -> Result<Self, EmulatorError> {
        let prefix = format!("{}-key-at-", authority.replace('-', "_"));
        let first = Arc::new(SigningKey::from_pem(
            SIGNING_KEY_1_FIXTURE,
            format!("{prefix}1"),
        )?);
        let second = Arc::new(SigningKey::from_pem(
            SIGNING_KEY_2_FIXTURE,
            format!("{prefix}2"),
        )?);
        Ok(Self {
            published: vec![first.clone(), second],
            current: first,
            prefix,
            counter: 2,
        })
    }

    pub(crate) fn current(&self) -> Arc<SigningKey> {
        self.current.clone()
    }

    pub(crate) fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.published.iter().find(|k| k.kid == kid).cloned()
    }

    pub(crate) fn find_cert(&self, x5u: &str) -> Option<Arc<SigningKey>> {
        self.published.iter().find(|k| k.x5u == x5u).cloned()
    }

    pub(crate) fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.published.iter().map(|k| k.jwk.clone()).collect();
        serde_json::json!({ "keys": keys })
    }

    /// The kid the next rotation will use.
    pub(crate) fn next_kid(&self) -> String {
        format!("{}{}", self.prefix, self.counter + 1)
    }

    /// Installs `key` (made with [`Self::next_kid`]) as the signer; the previous signer stays
    /// published, every other key is withdrawn.
    pub(crate) fn install(&mut self, key: SigningKey) {
        self.counter += 1;
        let key = Arc::new(key);
        self.published = vec![self.current.clone(), key.clone()];
        self.current = key;
    }
}
