//! The mail the integration sends to admins: Magento's welcome e-mail to an
//! admin created while the integration is on
//! (`AdminAccountCreatedObserver`).

use std::fmt;

use async_trait::async_trait;
use url::Url;

use crate::Result;

/// The welcome e-mail to a new admin: who it goes to, its subject
/// (Magento's "`first name`, you now have access to Adobe Commerce", with
/// the host's product name) and where the admin signs in. It never holds a
/// password: an admin of the integration signs in with the Adobe ID.
///
/// ```
/// use ims_api::WelcomeMail;
///
/// let mail = WelcomeMail::new("mia@example.com", "mia", "Mia", "Member", "Adobe Commerce");
/// assert_eq!(mail.subject, "Mia, you now have access to Adobe Commerce");
/// assert_eq!(mail.recipient_name(), "Mia Member");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WelcomeMail {
    /// The admin's e-mail address (the recipient).
    pub to: String,
    /// The admin's user name.
    pub username: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// The subject line.
    pub subject: String,
    /// Where the admin signs in (the "Get started" link), when known.
    pub sign_in_url: Option<Url>,
}

impl WelcomeMail {
    /// The mail to a new admin of `product` ("Adobe Commerce" in Magento).
    pub fn new(
        to: impl Into<String>,
        username: impl Into<String>,
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        product: &str,
    ) -> Self {
        let first_name = first_name.into();
        let username = username.into();
        let greeted = if first_name.trim().is_empty() {
            username.as_str()
        } else {
            first_name.as_str()
        };
        let subject = format!("{greeted}, you now have access to {product}");
        WelcomeMail {
            to: to.into(),
            username,
            first_name,
            last_name: last_name.into(),
            subject,
            sign_in_url: None,
        }
    }

    /// Sets the sign-in link.
    pub fn with_sign_in_url(mut self, url: Url) -> Self {
        self.sign_in_url = Some(url);
        self
    }

    /// "`first name` `last name`", as Magento addresses the mail.
    pub fn recipient_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

impl fmt::Debug for WelcomeMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WelcomeMail")
            .field("to", &self.to)
            .field("username", &self.username)
            .field("subject", &self.subject)
            .field("sign_in_url", &self.sign_in_url.as_ref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

/// Sends the integration's mail to admins. The host implements it with its
/// mail system; `admin-ims` calls it when it provisions an admin, and a
/// host's own "create admin" command calls it while the integration is on.
/// A failure is the host's to report: callers log it and go on.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AdminMailer: Send + Sync {
    /// Sends the welcome e-mail to a new admin.
    async fn send_welcome(&self, mail: &WelcomeMail) -> Result<()>;
}
