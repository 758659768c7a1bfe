//! Operator operations (Magento's `admin:adobe-ims:*` commands): enable,
//! disable, status, info.

use std::fmt;

use ims_api::{
    ADOBE_IMS_ROLE, AuthorizeRequest, ClientId, ClientSecret, ImsSettings, OrgId, ProbeAnswer,
};
use url::Url;

use crate::{AdminIms, LOG_TARGET};

/// `admin:adobe-ims:enable`'s input.
#[derive(Clone)]
#[non_exhaustive]
pub struct EnableRequest {
    /// Organization id (`^([A-Z0-9]{24})(@AdobeOrg)?$`, any case).
    pub organization_id: String,
    /// Client id (`[a-z_\-0-9]`, any case).
    pub client_id: String,
    /// Client secret (`[a-z_\-0-9]`, any case).
    pub client_secret: ClientSecret,
    /// The operator confirms that the organization enforces 2FA.
    pub two_factor_confirmed: bool,
}

impl EnableRequest {
    /// The request.
    pub fn new(
        organization_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
        two_factor_confirmed: bool,
    ) -> Self {
        EnableRequest {
            organization_id: organization_id.into(),
            client_id: client_id.into(),
            client_secret,
            two_factor_confirmed,
        }
    }
}

impl EnableRequest {
    /// Checks the input with Magento's rules, as [`AdminIms::enable`] does
    /// before it probes IMS: an operator command can refuse bad input
    /// before it reaches for IMS.
    ///
    /// ```
    /// use admin_ims::{EnableError, EnableRequest};
    /// use admin_ims::ims_api::ClientSecret;
    ///
    /// let request = EnableRequest::new("not-an-org", "my-client", ClientSecret::new("s3cret"), true);
    /// assert!(matches!(request.validate(), Err(EnableError::InvalidOrganizationId)));
    /// ```
    ///
    /// # Errors
    ///
    /// The [`EnableError`] `enable` would answer for this input.
    pub fn validate(&self) -> Result<(), EnableError> {
        parse_org(&self.organization_id).ok_or(EnableError::InvalidOrganizationId)?;
        if !magento_token_rule(&self.client_id) || ClientId::parse(&self.client_id).is_err() {
            return Err(EnableError::InvalidClientId);
        }
        if !magento_token_rule(self.client_secret.expose_secret()) {
            return Err(EnableError::InvalidClientSecret);
        }
        if !self.two_factor_confirmed {
            return Err(EnableError::TwoFactorRequired);
        }
        Ok(())
    }
}

impl fmt::Debug for EnableRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnableRequest")
            .field("organization_id", &self.organization_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("two_factor_confirmed", &self.two_factor_confirmed)
            .finish()
    }
}

/// Why `enable` refused. `Display` is the operator's message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnableError {
    /// The organization id is malformed.
    #[error("No valid Organization ID provided")]
    InvalidOrganizationId,
    /// The client id is malformed.
    #[error("No valid Client ID provided")]
    InvalidClientId,
    /// The client secret is malformed.
    #[error("No valid Client Secret provided")]
    InvalidClientSecret,
    /// 2FA was not confirmed.
    #[error("2FA is required when enabling the Admin Adobe IMS Module")]
    TwoFactorRequired,
    /// IMS did not accept the client (or could not be asked).
    #[error("Could not connect to Adobe IMS Service: {0}.")]
    ProbeFailed(String),
    /// No probe was configured ([`AdminImsServices::with_probe`](crate::AdminImsServices::with_probe)).
    #[error("No IMS probe is configured; the integration was not enabled")]
    NoProbe,
    /// Saving the settings or a host hook failed.
    #[error("Could not enable the Admin Adobe IMS integration: {0}")]
    Storage(#[source] ims_api::Error),
}

/// What `enable` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnableReport {
    /// Password-based admin tokens revoked (0 without hooks).
    pub revoked_admin_tokens: u64,
    /// Whether the "Adobe Ims" role was ensured (false without hooks).
    pub role_ensured: bool,
}

/// Enabled or disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntegrationStatus {
    /// On.
    Enabled,
    /// Off.
    Disabled,
}

impl fmt::Display for IntegrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntegrationStatus::Enabled => "Admin Adobe IMS integration is enabled",
            IntegrationStatus::Disabled => "Admin Adobe IMS integration is disabled",
        })
    }
}

/// `admin:adobe-ims:info`: what is configured, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntegrationInfo {
    /// The client id.
    pub client_id: Option<ClientId>,
    /// The organization id.
    pub organization_id: Option<OrgId>,
    /// Whether a client secret is stored.
    pub client_secret_configured: bool,
}

impl fmt::Display for IntegrationInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Client ID: {}",
            self.client_id.as_ref().map(ClientId::as_str).unwrap_or("")
        )?;
        writeln!(
            f,
            "Organization ID: {}",
            self.organization_id
                .as_ref()
                .map(OrgId::as_str)
                .unwrap_or("")
        )?;
        f.write_str(if self.client_secret_configured {
            "Client Secret configured"
        } else {
            "Client Secret not configured"
        })
    }
}

/// Magento's rule for client ids and secrets: `^[a-z_\-0-9]+$`, any case.
fn magento_token_rule(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Magento's rule for organization ids: `^([A-Z0-9]{24})(@AdobeOrg)?$`, any
/// case, without trimming.
fn parse_org(value: &str) -> Option<OrgId> {
    if value.trim() != value {
        return None;
    }
    OrgId::parse(value).ok()
}

impl AdminIms {
    /// `admin:adobe-ims:enable`: validates the input with Magento's rules,
    /// probes IMS (the authorize URL must answer a redirect without
    /// `error=`, to IMS's own sign-in or to our callback host), saves the
    /// settings (the store encrypts the secret), revokes password-based
    /// admin tokens and ensures the "Adobe Ims" role (through the hooks).
    pub async fn enable(&self, request: EnableRequest) -> Result<EnableReport, EnableError> {
        let result = self.enable_inner(request).await;
        match &result {
            Ok(report) => {
                tracing::info!(target: LOG_TARGET, event = "integration_enabled", revoked_admin_tokens = report.revoked_admin_tokens, "Admin Adobe IMS integration enabled")
            }
            Err(err) => {
                tracing::error!(target: LOG_TARGET, event = "integration_enable_failed", error = %err, "Admin Adobe IMS integration not enabled")
            }
        }
        result
    }

    async fn enable_inner(&self, request: EnableRequest) -> Result<EnableReport, EnableError> {
        request.validate()?;
        let org = parse_org(&request.organization_id).ok_or(EnableError::InvalidOrganizationId)?;
        let client_id =
            ClientId::parse(&request.client_id).map_err(|_| EnableError::InvalidClientId)?;
        self.probe(&client_id).await?;
        let settings = ImsSettings::enabled(client_id, request.client_secret, org);
        self.services
            .settings
            .save(&settings)
            .await
            .map_err(EnableError::Storage)?;
        let mut report = EnableReport {
            revoked_admin_tokens: 0,
            role_ensured: false,
        };
        if let Some(hooks) = &self.services.hooks {
            report.revoked_admin_tokens = hooks
                .revoke_password_admin_tokens()
                .await
                .map_err(EnableError::Storage)?;
            hooks
                .ensure_adobe_ims_role()
                .await
                .map_err(EnableError::Storage)?;
            report.role_ensured = true;
            tracing::info!(target: LOG_TARGET, event = "adobe_ims_role_ensured", role = ADOBE_IMS_ROLE, "the Adobe Ims role exists");
        }
        Ok(report)
    }

    async fn probe(&self, client_id: &ClientId) -> Result<(), EnableError> {
        let probe = self.services.probe.as_ref().ok_or(EnableError::NoProbe)?;
        let request = AuthorizeRequest::new(
            client_id.clone(),
            self.config.callback_url.clone(),
            String::new(),
        )
        .with_scopes(self.config.scopes.clone());
        // A real sign-in's URL (fresh state, PKCE): its secrets are dropped.
        let url = self
            .services
            .authorize
            .begin_authorization(request)
            .await
            .map_err(|err| EnableError::ProbeFailed(err.to_string()))?
            .url;
        let answer = probe
            .get_without_redirects(&url)
            .await
            .map_err(|err| EnableError::ProbeFailed(err.to_string()))?;
        check_probe_answer(&answer, &url, &self.config.callback_url)
    }

    /// `admin:adobe-ims:disable`.
    pub async fn disable(&self) -> ims_api::Result<IntegrationStatus> {
        let mut settings = self.services.settings.load().await?;
        settings.enabled = false;
        self.services.settings.save(&settings).await?;
        tracing::info!(target: LOG_TARGET, event = "integration_disabled", "Admin Adobe IMS integration disabled");
        Ok(IntegrationStatus::Disabled)
    }

    /// `admin:adobe-ims:status`.
    pub async fn status(&self) -> ims_api::Result<IntegrationStatus> {
        let settings = self.services.settings.load().await?;
        Ok(if settings.enabled {
            IntegrationStatus::Enabled
        } else {
            IntegrationStatus::Disabled
        })
    }

    /// `admin:adobe-ims:info`.
    pub async fn info(&self) -> ims_api::Result<IntegrationInfo> {
        let settings = self.services.settings.load().await?;
        Ok(IntegrationInfo {
            client_id: settings.client_id.clone(),
            organization_id: settings.org_id.clone(),
            client_secret_configured: settings
                .client_secret
                .as_ref()
                .is_some_and(|secret| !secret.expose_secret().is_empty()),
        })
    }
}

/// The probe's verdict: a redirect, without `error=`, to IMS itself or to
/// our callback's host.
pub(crate) fn check_probe_answer(
    answer: &ProbeAnswer,
    authorize_url: &Url,
    callback_url: &Url,
) -> Result<(), EnableError> {
    if !(300..400).contains(&answer.status) {
        return Err(EnableError::ProbeFailed(format!(
            "the authorize URL answered {} instead of a redirect",
            answer.status
        )));
    }
    let location = answer
        .location
        .as_deref()
        .ok_or_else(|| EnableError::ProbeFailed("the redirect has no Location".into()))?;
    let target = authorize_url
        .join(location)
        .map_err(|_| EnableError::ProbeFailed("the redirect's Location is not a URL".into()))?;
    let error = target
        .query_pairs()
        .chain(
            target
                .fragment()
                .map(|f| url::form_urlencoded::parse(f.as_bytes()))
                .into_iter()
                .flatten(),
        )
        .find(|(key, _)| key == "error")
        .map(|(_, value)| crate::callback::loggable(&value));
    if let Some(error) = error {
        return Err(EnableError::ProbeFailed(error));
    }
    let same_origin = |a: &Url, b: &Url| {
        a.scheme() == b.scheme()
            && a.host_str() == b.host_str()
            && a.port_or_known_default() == b.port_or_known_default()
    };
    let to_callback = same_origin(&target, callback_url);
    let to_ims = target.host_str() == authorize_url.host_str()
        || target
            .host_str()
            .is_some_and(|host| host.ends_with(".adobe.com") || host.ends_with(".adobelogin.com"));
    if to_callback || to_ims {
        Ok(())
    } else {
        Err(EnableError::ProbeFailed(
            "the redirect points neither to IMS nor to our callback host".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magento_validation_rules() {
        assert!(parse_org("A1B2C3D4E5F6A7B8C9D0E1F2@AdobeOrg").is_some());
        assert!(parse_org("a1b2c3d4e5f6a7b8c9d0e1f2").is_some());
        assert!(parse_org(" A1B2C3D4E5F6A7B8C9D0E1F2").is_none());
        assert!(parse_org("A1B2C3D4E5F6A7B8C9D0E1F").is_none());
        assert!(magento_token_rule("emulator-web_1"));
        assert!(!magento_token_rule("with.dot"));
        assert!(!magento_token_rule(""));
        assert!(!magento_token_rule("sp ace"));
    }

    #[test]
    fn probe_verdicts() {
        let authorize = Url::parse("https://ims-na1.adobelogin.com/ims/authorize/v2?x=1").unwrap();
        let callback = Url::parse("https://shop.example/admin/ims/callback").unwrap();
        let check = |status, location: Option<&str>| {
            check_probe_answer(
                &ProbeAnswer::new(status, location.map(str::to_owned)),
                &authorize,
                &callback,
            )
        };
        assert!(check(302, Some("https://auth.services.adobe.com/signin")).is_ok());
        assert!(check(302, Some("https://shop.example/admin/ims/callback?code=x")).is_ok());
        assert!(check(302, Some("/ims/signin")).is_ok());
        assert!(check(200, None).is_err());
        assert!(check(302, None).is_err());
        let err = check(
            302,
            Some("https://shop.example/admin/ims/callback?error=invalid_client"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Could not connect to Adobe IMS Service: invalid_client."
        );
        assert!(check(302, Some("https://elsewhere.example/")).is_err());
    }

    #[test]
    fn info_and_status_wording() {
        let info = IntegrationInfo {
            client_id: Some(ClientId::parse("abc").unwrap()),
            organization_id: None,
            client_secret_configured: false,
        };
        assert_eq!(
            info.to_string(),
            "Client ID: abc\nOrganization ID: \nClient Secret not configured"
        );
        assert_eq!(
            IntegrationStatus::Enabled.to_string(),
            "Admin Adobe IMS integration is enabled"
        );
    }

    #[test]
    fn enable_request_debug_hides_the_secret() {
        let request = EnableRequest::new("org", "client", ClientSecret::new("hunter2"), true);
        assert!(!format!("{request:?}").contains("hunter2"));
    }
}
