//! Validated identifiers: organization ids, client ids, admin user ids,
//! context names and token hashes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::InvalidValue;

/// An IMS organization id: 24 letters or digits, optionally followed by
/// `@AdobeOrg` (matched case-insensitively, as Magento does).
///
/// The value is kept upper-case and without the suffix; [`OrgId::with_suffix`]
/// gives the `…@AdobeOrg` form IMS uses in tokens and URLs.
///
/// ```
/// use ims_api::OrgId;
///
/// let org = OrgId::parse("0123456789abcdef01234567@adobeorg")?;
/// assert_eq!(org.as_str(), "0123456789ABCDEF01234567");
/// assert_eq!(org.with_suffix(), "0123456789ABCDEF01234567@AdobeOrg");
/// assert!(OrgId::parse("too-short").is_err());
/// # Ok::<(), ims_api::InvalidValue>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(String);

impl OrgId {
    /// The suffix IMS appends to organization ids.
    pub const SUFFIX: &'static str = "@AdobeOrg";

    /// Validates `^[A-Z0-9]{24}(@AdobeOrg)?$`, case-insensitively.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        let ident = match value.len().checked_sub(Self::SUFFIX.len()) {
            Some(split)
                if value.is_char_boundary(split)
                    && value[split..].eq_ignore_ascii_case(Self::SUFFIX) =>
            {
                &value[..split]
            }
            _ => value,
        };
        if ident.len() != 24 || !ident.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(InvalidValue::new(
                "organization id",
                "expected 24 letters or digits, optionally followed by @AdobeOrg",
            ));
        }
        Ok(OrgId(ident.to_ascii_uppercase()))
    }

    /// The 24-character identifier, without the suffix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier with `@AdobeOrg`, as IMS writes it.
    pub fn with_suffix(&self) -> String {
        format!("{}{}", self.0, Self::SUFFIX)
    }
}

/// An OAuth client id ("API key"): 1 to 255 characters from
/// `[A-Za-z0-9_.-]`.
///
/// ```
/// use ims_api::ClientId;
///
/// assert_eq!(ClientId::parse("my_client-1")?.as_str(), "my_client-1");
/// assert!(ClientId::parse("with space").is_err());
/// # Ok::<(), ims_api::InvalidValue>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// Validates a client id.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let valid = !value.is_empty()
            && value.len() <= 255
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if valid {
            Ok(ClientId(value.to_owned()))
        } else {
            Err(InvalidValue::new(
                "client id",
                "expected 1 to 255 characters from A-Z, a-z, 0-9, '_', '-' and '.'",
            ))
        }
    }

    /// The client id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of an admin user in the host's user directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdminUserId(pub i64);

impl fmt::Display for AdminUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The name of a configuration context (`ims.contexts.<name>`): 1 to 64
/// characters from `[A-Za-z0-9_-]`, optionally after a leading `$`. Names are
/// case-insensitive, as aio's keys are, so they are kept lower-case.
///
/// ```
/// use ims_api::ContextName;
///
/// assert_eq!(ContextName::parse("MyService")?.as_str(), "myservice");
/// assert!(ContextName::parse("a.b").is_err());
/// # Ok::<(), ims_api::InvalidValue>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextName(String);

impl ContextName {
    /// The context the aio CLI keeps for itself.
    pub const CLI: &'static str = "cli";

    /// Validates a context name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let body = value.strip_prefix('$').unwrap_or(value);
        let valid = !body.is_empty()
            && body.len() <= 64
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if valid {
            Ok(ContextName(value.to_ascii_lowercase()))
        } else {
            Err(InvalidValue::new(
                "context name",
                "expected 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'",
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The SHA-256 of an access token, as 64 lower-case hex digits: the key of the
/// `admin_adobe_ims_webapi` table (`access_token_hash`).
///
/// Computing it is left to implementations (this crate has no hashing); this
/// type only guarantees the shape.
///
/// ```
/// use ims_api::TokenHash;
///
/// let hash = TokenHash::from_hex(&"AB".repeat(32))?;
/// assert_eq!(hash.prefix(8), "abababab");
/// assert!(TokenHash::from_hex("abc").is_err());
/// # Ok::<(), ims_api::InvalidValue>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash(String);

impl TokenHash {
    /// Validates 64 hex digits (either case; kept lower-case).
    pub fn from_hex(value: &str) -> Result<Self, InvalidValue> {
        if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(TokenHash(value.to_ascii_lowercase()))
        } else {
            Err(InvalidValue::new("token hash", "expected 64 hex digits"))
        }
    }

    /// Builds the hash from the 32 bytes of a SHA-256 digest.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        // On the Web API's hot path: a table, not the formatting machinery.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        TokenHash(hex)
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `len` hex digits, for display.
    pub fn prefix(&self, len: usize) -> &str {
        &self.0[..len.min(self.0.len())]
    }
}

macro_rules! string_id_impls {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                $name::parse_str(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                $name::parse_str(&value).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

string_id_impls!(OrgId, ClientId, ContextName, TokenHash);

impl OrgId {
    fn parse_str(value: &str) -> Result<Self, InvalidValue> {
        Self::parse(value)
    }
}
impl ClientId {
    fn parse_str(value: &str) -> Result<Self, InvalidValue> {
        Self::parse(value)
    }
}
impl ContextName {
    fn parse_str(value: &str) -> Result<Self, InvalidValue> {
        Self::parse(value)
    }
}
impl TokenHash {
    fn parse_str(value: &str) -> Result<Self, InvalidValue> {
        Self::from_hex(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_id_accepts_magento_forms_and_normalises() {
        for input in [
            "ABCDEF0123456789ABCDEF01",
            "abcdef0123456789abcdef01",
            "ABCDEF0123456789ABCDEF01@AdobeOrg",
            "abcdef0123456789abcdef01@ADOBEORG",
            " ABCDEF0123456789ABCDEF01 ",
        ] {
            let org = OrgId::parse(input).unwrap();
            assert_eq!(org.as_str(), "ABCDEF0123456789ABCDEF01", "{input}");
        }
    }

    #[test]
    fn org_id_rejects_everything_else() {
        for input in [
            "",
            "ABCDEF0123456789ABCDEF0",
            "ABCDEF0123456789ABCDEF012",
            "ABCDEF0123456789ABCDEF0!",
            "ABCDEF0123456789ABCDEF01@Other",
            "@AdobeOrg",
            "ABCDEF0123456789ABCDEF01@AdobeOrg@AdobeOrg",
            "ÄBCDEF0123456789ABCDEF01",
        ] {
            assert!(OrgId::parse(input).is_err(), "{input:?} accepted");
        }
    }

    #[test]
    fn org_id_round_trips_through_serde() {
        let org: OrgId = serde_json::from_str("\"abcdef0123456789abcdef01@AdobeOrg\"").unwrap();
        assert_eq!(
            serde_json::to_string(&org).unwrap(),
            "\"ABCDEF0123456789ABCDEF01\""
        );
        assert!(serde_json::from_str::<OrgId>("\"nope\"").is_err());
    }

    #[test]
    fn client_id_rules() {
        assert!(ClientId::parse("exc_app").is_ok());
        assert!(ClientId::parse("a.b-c_D9").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a/b").is_err());
        assert!(ClientId::parse(&"a".repeat(256)).is_err());
    }

    #[test]
    fn token_hash_from_digest_is_lower_hex() {
        let hash = TokenHash::from_digest([0xAB; 32]);
        assert_eq!(hash.as_str(), "ab".repeat(32));
        assert_eq!(TokenHash::from_hex(&"AB".repeat(32)).unwrap(), hash);
    }

    #[test]
    fn context_names() {
        assert_eq!(ContextName::parse("$cli").unwrap().as_str(), "$cli");
        assert!(ContextName::parse("$").is_err());
        assert!(ContextName::parse("a b").is_err());
    }
}
