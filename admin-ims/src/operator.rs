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
    /// IMS sent the probe back with an `error=` in its redirect (an unknown
    /// or disabled client id): Magento's wording, with IMS's error code.
    #[error("Could not connect to Adobe IMS Service: {0}.")]
    ClientRejected(String),
    /// IMS answered, but not with the one answer a registered client gets:
    /// exactly a 302 whose `redirect_uri` (followed through `callback` /
    /// `uc_callback`) is on our callback's host. An unknown client id
    /// usually lands here (IMS answers an error page).
    #[error("Could not get a valid response from Adobe IMS Service: {0}.")]
    InvalidResponse(ProbeProblem),
    /// IMS could not be asked (refused connection, timeout, 5xx after the
    /// retries): nothing is known about the client id.
    #[error("Could not reach Adobe IMS Service: {0}")]
    ImsUnreachable(#[source] ims_api::Error),
    /// No probe was configured ([`AdminImsServices::with_probe`](crate::AdminImsServices::with_probe)).
    #[error("No IMS probe is configured; the integration was not enabled")]
    NoProbe,
    /// Saving the settings or a host hook failed (or the probe's authorize
    /// URL could not be built).
    #[error("Could not enable the Admin Adobe IMS integration: {0}")]
    Storage(#[source] ims_api::Error),
}

/// What was wrong with IMS's answer to the enable probe
/// ([`EnableError::InvalidResponse`]). `Display` is the operator's detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeProblem {
    /// The answer was not a 302 (an unknown client id gets IMS's error
    /// page, a 4xx).
    #[error("IMS answered {0} instead of a 302 redirect (is the client id registered at IMS?)")]
    NotRedirected(u16),
    /// A 302 without a `Location`.
    #[error("the redirect has no Location")]
    NoLocation,
    /// The `Location` is not a URL.
    #[error("the redirect's Location is not a URL")]
    BadLocation,
    /// No `redirect_uri` in the redirect, directly or inside its
    /// `callback` / `uc_callback`.
    #[error("the redirect carries no redirect_uri")]
    NoRedirectUri,
    /// The redirect's `redirect_uri` is on another host than our callback
    /// (the client is registered for another site).
    #[error("the redirect_uri IMS kept is on host {found:?}, not on {expected:?}")]
    OtherHost {
        /// The host IMS would send the browser back to.
        found: String,
        /// Our callback's host.
        expected: String,
    },
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

/// `admin:adobe-ims:info`: what is configured, never the secret. While
/// the integration is off, `Display` is Magento's "Module is disabled".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntegrationInfo {
    /// Whether the integration is on.
    pub enabled: bool,
    /// The client id.
    pub client_id: Option<ClientId>,
    /// The organization id.
    pub organization_id: Option<OrgId>,
    /// Whether a client secret is stored.
    pub client_secret_configured: bool,
}

impl fmt::Display for IntegrationInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return f.write_str("Module is disabled");
        }
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
            .map_err(EnableError::Storage)?
            .url;
        let answer = probe
            .get_without_redirects(&url)
            .await
            .map_err(EnableError::ImsUnreachable)?;
        check_probe_answer(&answer, &url, &self.config.callback_url)
    }

    /// `admin:adobe-ims:disable`: turns the integration off and deletes
    /// the client id, the client secret and the organization id (and the
    /// 2FA confirmation), as Magento's `Config::disableModule` does; enabling
    /// again asks for all of them.
    pub async fn disable(&self) -> ims_api::Result<IntegrationStatus> {
        self.services.settings.save(&ImsSettings::default()).await?;
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
            enabled: settings.enabled,
            client_id: settings.client_id.clone(),
            organization_id: settings.org_id.clone(),
            client_secret_configured: settings
                .client_secret
                .as_ref()
                .is_some_and(|secret| !secret.expose_secret().is_empty()),
        })
    }
}

/// The probe's verdict, as Magento's `Authorization::getAuthUrl` reaches
/// it: an `error=` in the `Location` is IMS refusing the client; otherwise
/// the answer must be exactly a 302 whose `redirect_uri` — in the
/// `Location`'s query, or inside its `callback` / `uc_callback` URL (IMS
/// nests them on the way to its sign-in page) — is on our callback's host.
pub(crate) fn check_probe_answer(
    answer: &ProbeAnswer,
    authorize_url: &Url,
    callback_url: &Url,
) -> Result<(), EnableError> {
    if let Some(location) = answer.location.as_deref()
        && let Some(error) = location_error(location)
    {
        return Err(EnableError::ClientRejected(error));
    }
    if answer.status != 302 {
        return Err(EnableError::InvalidResponse(ProbeProblem::NotRedirected(
            answer.status,
        )));
    }
    let location = answer
        .location
        .as_deref()
        .ok_or(EnableError::InvalidResponse(ProbeProblem::NoLocation))?;
    let target = authorize_url
        .join(location)
        .map_err(|_| EnableError::InvalidResponse(ProbeProblem::BadLocation))?;
    let found = redirect_uri_host(&target, 0)
        .ok_or(EnableError::InvalidResponse(ProbeProblem::NoRedirectUri))?;
    let expected = callback_url.host_str().unwrap_or_default();
    if found.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(EnableError::InvalidResponse(ProbeProblem::OtherHost {
            found: crate::callback::loggable(&found),
            expected: expected.to_owned(),
        }))
    }
}

/// Magento's `/error=([a-z_]+)/i` on the raw `Location`: IMS's error code.
fn location_error(location: &str) -> Option<String> {
    let mut rest = location;
    while let Some(at) = rest.find("error=") {
        let code: String = rest[at + "error=".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '_')
            .take(100)
            .collect();
        if !code.is_empty() {
            return Some(code);
        }
        rest = &rest[at + "error=".len()..];
    }
    None
}

/// How deep `callback` / `uc_callback` nesting is followed (IMS nests two
/// levels; the bound keeps a hostile `Location` from costing more).
const MAX_CALLBACK_NESTING: usize = 4;

/// The host of the `redirect_uri` in `url`'s query, or in the first
/// `callback` / `uc_callback` URL that has one (Magento's
/// `getRedirectUrlHost`).
fn redirect_uri_host(url: &Url, depth: usize) -> Option<String> {
    if let Some((_, value)) = url.query_pairs().find(|(key, _)| key == "redirect_uri") {
        return Url::parse(&value)
            .ok()
            .and_then(|uri| uri.host_str().map(str::to_owned));
    }
    if depth >= MAX_CALLBACK_NESTING {
        return None;
    }
    url.query_pairs()
        .filter(|(key, _)| key == "callback" || key == "uc_callback")
        .filter_map(|(_, value)| Url::parse(&value).ok())
        .find_map(|nested| redirect_uri_host(&nested, depth + 1))
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
        let check = |status, location: &str| {
            check_probe_answer(
                &ProbeAnswer::new(status, Some(location.to_owned())),
                &authorize,
                &callback,
            )
        };
        // Direct, and nested the way IMS sends browsers to its sign-in page.
        assert!(
            check(
                302,
                "/ims/signin?redirect_uri=https%3A%2F%2Fshop.example%2Fcb"
            )
            .is_ok()
        );
        let inner = "https://ims-na1.adobelogin.com/ims/adobeid/c/AdobeID/code?redirect_uri=https%3A%2F%2FSHOP.example%2Fadmin%2Fims%2Fcallback";
        let outer = format!(
            "https://auth.services.adobe.com/en_US/index.html?foo=1&callback={}",
            url::form_urlencoded::byte_serialize(inner.as_bytes()).collect::<String>()
        );
        assert!(check(302, &outer).is_ok());
        let uc = outer.replace("&callback=", "&uc_callback=");
        assert!(check(302, &uc).is_ok());

        // Exactly 302: another redirect status is not IMS's answer.
        let ok_location = "/ims/signin?redirect_uri=https%3A%2F%2Fshop.example%2Fcb";
        for status in [200, 301, 303, 307, 400, 500] {
            assert!(
                matches!(
                    check(status, ok_location),
                    Err(EnableError::InvalidResponse(ProbeProblem::NotRedirected(s))) if s == status
                ),
                "{status}"
            );
        }
        assert!(matches!(
            check_probe_answer(&ProbeAnswer::new(302, None), &authorize, &callback),
            Err(EnableError::InvalidResponse(ProbeProblem::NoLocation))
        ));
        // A redirect without our redirect_uri, or to another host's.
        assert!(matches!(
            check(302, "https://auth.services.adobe.com/signin"),
            Err(EnableError::InvalidResponse(ProbeProblem::NoRedirectUri))
        ));
        let err = check(302, "/x?redirect_uri=https%3A%2F%2Fphishing.example%2F").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Could not get a valid response from Adobe IMS Service: the redirect_uri IMS kept is on host \"phishing.example\", not on \"shop.example\"."
        );
        // `error=` wins whatever the status, with Magento's wording.
        let err = check(
            302,
            "https://shop.example/admin/ims/callback?error=invalid_client",
        )
        .unwrap_err();
        assert!(matches!(&err, EnableError::ClientRejected(code) if code == "invalid_client"));
        assert_eq!(
            err.to_string(),
            "Could not connect to Adobe IMS Service: invalid_client."
        );
        assert!(matches!(
            check(400, "/x?error=unauthorized_client&redirect_uri=x"),
            Err(EnableError::ClientRejected(_))
        ));
    }

    #[test]
    fn hostile_locations_cost_little_and_never_panic() {
        let authorize = Url::parse("https://ims.example/ims/authorize/v2").unwrap();
        let callback = Url::parse("https://shop.example/cb").unwrap();
        // Nested deeper than IMS ever does: not followed past the bound.
        let mut url = "https://x.example/?redirect_uri=https%3A%2F%2Fshop.example%2F".to_owned();
        for _ in 0..(MAX_CALLBACK_NESTING + 2) {
            url = format!(
                "https://x.example/?callback={}",
                url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
            );
        }
        assert!(
            check_probe_answer(&ProbeAnswer::new(302, Some(url)), &authorize, &callback).is_err()
        );
        for location in [
            "error=",
            "error=\u{e9}",
            "%%%",
            "http://[::1",
            "?redirect_uri=notaurl",
        ] {
            let answer = ProbeAnswer::new(302, Some(location.to_owned()));
            assert!(
                check_probe_answer(&answer, &authorize, &callback).is_err(),
                "{location}"
            );
        }
        assert_eq!(
            location_error("a?error=&b=1&error=access_denied"),
            Some("access_denied".into())
        );
    }

    #[test]
    fn info_and_status_wording() {
        let info = IntegrationInfo {
            enabled: true,
            client_id: Some(ClientId::parse("abc").unwrap()),
            organization_id: None,
            client_secret_configured: false,
        };
        assert_eq!(
            info.to_string(),
            "Client ID: abc\nOrganization ID: \nClient Secret not configured"
        );
        let off = IntegrationInfo {
            enabled: false,
            ..info
        };
        assert_eq!(off.to_string(), "Module is disabled");
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
