//! The demo's mail system, below both the operator commands and the
//! server's wiring, which send the welcome e-mail through it.

use async_trait::async_trait;
use ims_api::{AdminMailer, WelcomeMail};

/// The demo's mail system: it sends nothing and logs the recipient and the
/// subject of each mail (never a password: the mail has none).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

#[async_trait]
impl AdminMailer for LogMailer {
    async fn send_welcome(&self, mail: &WelcomeMail) -> ims_api::Result<()> {
        tracing::info!(
            to = %mail.to,
            subject = %mail.subject,
            "welcome e-mail to a new admin (the demo logs mail instead of sending it)"
        );
        Ok(())
    }
}
