//! The IMS environment a client talks to: prod, stage, or any base URL.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::InvalidValue;

/// Where IMS is: Adobe's production or stage hosts, or a custom base URL (an
/// `ims-emulator`, a proxy). Each environment knows its base URL, the
/// authority its tokens carry in the `as` claim, where its signing
/// certificates are published, and where the identity graph answers
/// organization-membership questions.
///
/// ```
/// use ims_api::ImsEnvironment;
///
/// let prod: ImsEnvironment = "prod".parse()?;
/// assert_eq!(prod.base_url().as_str(), "https://ims-na1.adobelogin.com/");
/// assert_eq!(prod.authority(), "ims-na1");
///
/// let emulator: ImsEnvironment = "http://127.0.0.1:9800".parse()?;
/// assert_eq!(emulator.endpoint("/ims/token/v3").as_str(), "http://127.0.0.1:9800/ims/token/v3");
/// assert_eq!(emulator.authority(), "ims-na1");
/// # Ok::<(), ims_api::InvalidValue>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImsEnvironment {
    /// `https://ims-na1.adobelogin.com`, tokens with `as` = `ims-na1`.
    #[default]
    Prod,
    /// `https://ims-na1-stg1.adobelogin.com`, tokens with `as` = `ims-na1-stg1`.
    Stage,
    /// Any other base URL.
    Custom(Box<CustomEnvironment>),
}

/// A custom IMS environment: a base URL and what would otherwise be implied by
/// Adobe's host names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomEnvironment {
    base_url: Url,
    authority: String,
    key_base_url: Url,
    membership_base_url: Url,
}

impl CustomEnvironment {
    /// A custom environment at `base_url` (http or https, no query or
    /// fragment). Certificates are expected at `<base>/keys/prod/`, the
    /// identity graph at `<base>/`, and tokens with `as` = `ims-na1`; change
    /// them with the `with_*` methods.
    ///
    /// ```
    /// use ims_api::{CustomEnvironment, ImsEnvironment};
    ///
    /// let env: ImsEnvironment = CustomEnvironment::new("http://127.0.0.1:9800")?
    ///     .with_authority("ims-na1-stg1")
    ///     .into();
    /// assert_eq!(env.authority(), "ims-na1-stg1");
    /// # Ok::<(), ims_api::InvalidValue>(())
    /// ```
    pub fn new(base_url: &str) -> Result<Self, InvalidValue> {
        let mut base =
            Url::parse(base_url).map_err(|e| InvalidValue::new("IMS base URL", e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(InvalidValue::new(
                "IMS base URL",
                "expected an http:// or https:// URL",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(InvalidValue::new(
                "IMS base URL",
                "a base URL takes no query or fragment",
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let key_base_url = base
            .join("keys/prod/")
            .map_err(|e| InvalidValue::new("IMS base URL", e.to_string()))?;
        Ok(CustomEnvironment {
            membership_base_url: base.clone(),
            base_url: base,
            authority: PROD_AUTHORITY.to_owned(),
            key_base_url,
        })
    }

    /// The `as` claim its tokens carry.
    pub fn with_authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into();
        self
    }

    /// Where certificates named by a token's `x5u` are published (a URL
    /// ending in `/`).
    pub fn with_key_base_url(mut self, url: Url) -> Self {
        self.key_base_url = url;
        self
    }

    /// Where the identity graph answers `GET <org>@AdobeOrg/membership`.
    pub fn with_membership_base_url(mut self, url: Url) -> Self {
        self.membership_base_url = url;
        self
    }
}

impl From<CustomEnvironment> for ImsEnvironment {
    fn from(custom: CustomEnvironment) -> Self {
        ImsEnvironment::Custom(Box::new(custom))
    }
}

const PROD_BASE: &str = "https://ims-na1.adobelogin.com/";
const STAGE_BASE: &str = "https://ims-na1-stg1.adobelogin.com/";
const PROD_KEYS: &str = "https://static.adobelogin.com/keys/prod/";
const STAGE_KEYS: &str = "https://static.adobelogin.com/keys/nonprod/";
const PROD_GRAPH: &str = "https://graph.identity.adobe.com/";
// Inferred: Adobe documents no stage identity graph host.
const STAGE_GRAPH: &str = "https://graph-stg.identity.adobe.com/";

/// The authority of Adobe's production IMS, also the default of custom
/// environments (so that tokens of an emulator look like production ones).
pub const PROD_AUTHORITY: &str = "ims-na1";

fn fixed(url: &'static str) -> Url {
    // The constants above are valid URLs; the tests use each of them.
    Url::parse(url).expect("constant URL is valid")
}

impl ImsEnvironment {
    /// A custom environment at `base_url`; see [`CustomEnvironment::new`].
    pub fn custom(base_url: &str) -> Result<Self, InvalidValue> {
        CustomEnvironment::new(base_url).map(ImsEnvironment::from)
    }

    /// The base URL, ending in `/`.
    pub fn base_url(&self) -> Url {
        match self {
            ImsEnvironment::Prod => fixed(PROD_BASE),
            ImsEnvironment::Stage => fixed(STAGE_BASE),
            ImsEnvironment::Custom(custom) => custom.base_url.clone(),
        }
    }

    /// The URL of an endpoint path such as `/ims/token/v3`.
    pub fn endpoint(&self, path: &str) -> Url {
        let base = self.base_url();
        base.join(path.trim_start_matches('/')).unwrap_or(base)
    }

    /// The authority tokens of this environment carry in their `as` claim.
    pub fn authority(&self) -> &str {
        match self {
            ImsEnvironment::Prod => PROD_AUTHORITY,
            ImsEnvironment::Stage => "ims-na1-stg1",
            ImsEnvironment::Custom(custom) => &custom.authority,
        }
    }

    /// Where certificates named by `x5u` are published (ends in `/`).
    pub fn key_base_url(&self) -> Url {
        match self {
            ImsEnvironment::Prod => fixed(PROD_KEYS),
            ImsEnvironment::Stage => fixed(STAGE_KEYS),
            ImsEnvironment::Custom(custom) => custom.key_base_url.clone(),
        }
    }

    /// Where the identity graph answers organization membership (ends in `/`).
    pub fn membership_base_url(&self) -> Url {
        match self {
            ImsEnvironment::Prod => fixed(PROD_GRAPH),
            ImsEnvironment::Stage => fixed(STAGE_GRAPH),
            ImsEnvironment::Custom(custom) => custom.membership_base_url.clone(),
        }
    }

    /// `prod`, `stage` or the custom base URL.
    pub fn name(&self) -> String {
        match self {
            ImsEnvironment::Prod => "prod".to_owned(),
            ImsEnvironment::Stage => "stage".to_owned(),
            ImsEnvironment::Custom(custom) => custom.base_url.to_string(),
        }
    }
}

impl FromStr for ImsEnvironment {
    type Err = InvalidValue;

    /// `prod`, `stage` (case-insensitive), or an http(s) base URL.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("prod") {
            Ok(ImsEnvironment::Prod)
        } else if value.eq_ignore_ascii_case("stage") {
            Ok(ImsEnvironment::Stage)
        } else if value.contains("://") {
            ImsEnvironment::custom(value)
        } else {
            Err(InvalidValue::new(
                "IMS environment",
                "expected prod, stage or an http(s) base URL",
            ))
        }
    }
}

impl fmt::Display for ImsEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_environments() {
        let stage = ImsEnvironment::Stage;
        assert_eq!(stage.authority(), "ims-na1-stg1");
        assert_eq!(
            stage.key_base_url().join("k.cer").unwrap().as_str(),
            "https://static.adobelogin.com/keys/nonprod/k.cer"
        );
        assert_eq!(ImsEnvironment::default(), ImsEnvironment::Prod);
    }

    #[test]
    fn custom_environment_keeps_its_path_prefix() {
        let env = ImsEnvironment::custom("http://proxy.local/adobe").unwrap();
        assert_eq!(
            env.endpoint("/ims/keys").as_str(),
            "http://proxy.local/adobe/ims/keys"
        );
        assert_eq!(
            env.key_base_url().as_str(),
            "http://proxy.local/adobe/keys/prod/"
        );
    }

    #[test]
    fn rejects_unusable_urls() {
        for bad in [
            "ftp://x",
            "mailto:a@b",
            "http://x/?a=b",
            "http://x/#f",
            "local",
            "",
        ] {
            assert!(bad.parse::<ImsEnvironment>().is_err(), "{bad}");
        }
    }

    #[test]
    fn custom_authority() {
        let env: ImsEnvironment = CustomEnvironment::new("http://h")
            .unwrap()
            .with_authority("ims-emu")
            .into();
        assert_eq!(env.authority(), "ims-emu");
    }
}
