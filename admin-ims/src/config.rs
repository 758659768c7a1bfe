//! The service's settings, with Magento's defaults where it has one.

use std::time::Duration;

use ims_api::{LockoutPolicy, Scopes};
use url::Url;

/// What happens to an Adobe ID with no admin user of its e-mail address.
///
/// Every policy that creates a user makes it the way Magento's
/// `SaveImsUser` does: user name = the e-mail's local part, lower-cased;
/// the IMS profile's names; a random 100-character password; the role
/// [`ADOBE_IMS_ROLE`](ims_api::ADOBE_IMS_ROLE), which grants nothing. A
/// user name already taken by another admin creates nobody ("No matching
/// admin user found for Adobe ID."), where Magento's creation fails on it.
/// A created user gets the welcome e-mail
/// ([`AdminImsServices::with_mailer`](crate::AdminImsServices::with_mailer)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProvisioningPolicy {
    /// The default: create the user, then refuse the sign-in with "More
    /// permissions are needed to access this." until an administrator
    /// gives the user a real role. Unlike Magento, no session exists for an
    /// admin who may do nothing, and creation does not depend on the role
    /// existing.
    #[default]
    CreateWithoutPermissions,
    /// Magento's behaviour: create the user only while the host has the
    /// role [`ADOBE_IMS_ROLE`](ims_api::ADOBE_IMS_ROLE)
    /// ([`AdminUserDirectory::role_exists`](ims_api::AdminUserDirectory::role_exists);
    /// without it, "No matching admin user found for Adobe ID."), then sign
    /// the new user in with no permissions; so is an existing user whose
    /// role is [`ADOBE_IMS_ROLE`](ims_api::ADOBE_IMS_ROLE). The host's
    /// authorization must refuse such a session everything
    /// ([`AdminUser::has_permissions`](ims_api::AdminUser::has_permissions)).
    SignInWithoutPermissions,
    /// Create nobody: "No matching admin user found for Adobe ID."
    Off,
}

/// What a session re-validation does when IMS cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutagePolicy {
    /// Keep the session while its last successful check is at most this much
    /// older than the re-validation interval; end it afterwards.
    KeepWithin(Duration),
    /// End the session at once (fail closed).
    EndSession,
}

impl Default for OutagePolicy {
    fn default() -> Self {
        OutagePolicy::KeepWithin(Duration::from_secs(30 * 60))
    }
}

/// How the admin login behaves.
///
/// ```
/// use std::time::Duration;
/// use admin_ims::AdminImsConfig;
/// use url::Url;
///
/// let config = AdminImsConfig::new(Url::parse("https://shop.example/")?, "/admin/ims")?;
/// assert_eq!(config.callback_url.as_str(), "https://shop.example/admin/ims/callback");
/// assert_eq!(config.reauth_callback_url.as_str(), "https://shop.example/admin/ims/reauth/callback");
/// assert_eq!(config.revalidate_after, Duration::from_secs(600));
/// assert_eq!(config.state_ttl, Duration::from_secs(600));
/// assert_eq!(config.scopes.to_string(), "AdobeID,openid,email,profile,org.read");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminImsConfig {
    /// Where the routes are mounted in the host (`/admin/ims`; empty for
    /// the root), normalized: one leading `/`, no trailing one. The axum
    /// adapter mounts its routes here.
    pub mount_prefix: String,
    /// Where IMS sends the browser back after sign-in (registered for the
    /// client at IMS): host base URL + mount prefix + `/callback`.
    pub callback_url: Url,
    /// Where IMS sends the browser back after a re-authentication:
    /// host base URL + mount prefix + `/reauth/callback`.
    pub reauth_callback_url: Url,
    /// Scopes asked for (default `AdobeID,openid,email,profile,org.read`).
    pub scopes: Scopes,
    /// The locale IMS shows its pages in (default `en_US`).
    pub locale: Option<String>,
    /// How long a sign-in `state` may wait for its callback (default 10 min).
    pub state_ttl: Duration,
    /// Sign-ins a browser session may have in flight at once (several tabs);
    /// the oldest is dropped beyond this (default 5).
    pub max_pending: usize,
    /// Re-validate a session's token at IMS at most once per this interval
    /// (default 600 s, as Magento's prolong check).
    pub revalidate_after: Duration,
    /// What a re-validation does when IMS is unreachable.
    pub outage_policy: OutagePolicy,
    /// How long a re-authentication proof stays usable (default 5 min).
    pub reauth_ttl: Duration,
    /// What to do with an IMS user who has no admin account.
    pub provisioning: ProvisioningPolicy,
    /// Magento's lockout: failures before a lock, and its length.
    pub lockout: LockoutPolicy,
    /// How failed sign-ins are worded: Magento's generic "Error signing
    /// in" page by default, or detailed messages naming the product.
    pub messages: crate::LoginMessages,
    /// Where a signed-in admin lands when the sign-in asked for no return
    /// path (a path inside the host, default `/admin`; anything else is
    /// replaced by `/`).
    pub home_path: String,
}

impl AdminImsConfig {
    /// The defaults, with the callbacks at `base` + `mount_prefix` +
    /// `/callback` and `/reauth/callback`.
    ///
    /// Fails when `base` cannot be a base URL (e.g. `mailto:`).
    pub fn new(base: Url, mount_prefix: &str) -> Result<Self, ims_api::InvalidValue> {
        let prefix = mount_prefix.trim_matches('/');
        let join = |suffix: &str| -> Result<Url, ims_api::InvalidValue> {
            if base.cannot_be_a_base() {
                return Err(ims_api::InvalidValue::new(
                    "base URL",
                    "expected an http(s) URL that can be a base",
                ));
            }
            let mut url = base.clone();
            let path = if prefix.is_empty() {
                format!("/{suffix}")
            } else {
                format!("/{prefix}/{suffix}")
            };
            url.set_path(&path);
            url.set_query(None);
            url.set_fragment(None);
            Ok(url)
        };
        Ok(AdminImsConfig {
            mount_prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("/{prefix}")
            },
            callback_url: join("callback")?,
            reauth_callback_url: join("reauth/callback")?,
            scopes: Scopes::admin_default(),
            locale: Some("en_US".to_owned()),
            state_ttl: Duration::from_secs(600),
            max_pending: 5,
            revalidate_after: Duration::from_secs(600),
            outage_policy: OutagePolicy::default(),
            reauth_ttl: Duration::from_secs(300),
            provisioning: ProvisioningPolicy::default(),
            lockout: LockoutPolicy::default(),
            messages: crate::LoginMessages::default(),
            home_path: "/admin".to_owned(),
        })
    }
}
