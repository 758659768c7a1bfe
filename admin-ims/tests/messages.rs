//! What a failed sign-in tells the user and the log: Magento's generic
//! "Error signing in" page by default, the reason and Magento's own message
//! only in the log; detailed messages, naming the configured product, when
//! switched on. (Its own test binary: it installs a log subscriber.)

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use admin_ims::LoginMessages;
use ims_emulator::default_seed as seed;
use support::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

const GENERIC: &str = "Something went wrong and we could not sign you in. Please try again or contact your administrator.";

#[tokio::test(flavor = "current_thread")]
async fn failed_sign_ins_show_magentos_generic_page_and_log_the_reason() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("admin_ims=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // The default wording (only the product's name changed).
    let h = Harness::start_with(
        |config| {
            config.messages = LoginMessages::default();
            config.messages.product_name = "Shop".into();
        },
        true,
    )
    .await;
    let browser = browser();

    // An organization failure: generic page; Magento's organization
    // message in the log.
    let landing = sign_in(
        &h,
        &browser,
        seed::NON_MEMBER_EMAIL,
        seed::NON_MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403, "the status stays the outcome's");
    assert!(
        landing.body.contains("data-kind=\"no_access\""),
        "{}",
        landing.body
    );
    assert!(
        landing.body.contains("Error signing in"),
        "{}",
        landing.body
    );
    assert!(landing.body.contains(GENERIC), "{}", landing.body);
    assert!(
        !landing.body.contains("Unable to sign in"),
        "{}",
        landing.body
    );
    assert!(!landing.body.contains("access to this"), "{}", landing.body);
    let log = capture.take();
    assert!(log.contains("reason=\"not_member\""), "{log}");
    assert!(
        log.contains("magento_message=Unable to sign in with the Adobe ID"),
        "{log}"
    );

    // A failure of the admin account: generic page; Magento's user message
    // with the product's name in the log.
    h.admins.update(h.member_id, |user| user.is_active = false);
    let landing = sign_in(
        &h,
        &browser,
        seed::MEMBER_EMAIL,
        seed::MEMBER_PASSWORD,
        None,
    )
    .await;
    assert_eq!(landing.status, 403);
    assert!(landing.body.contains(GENERIC), "{}", landing.body);
    assert!(!landing.body.contains("access to this"), "{}", landing.body);
    let log = capture.take();
    assert!(log.contains("reason=\"inactive\""), "{log}");
    assert!(
        log.contains("magento_message=You don't have access to this Shop instance"),
        "{log}"
    );

    // Detailed messages, switched on, name the product.
    let h = Harness::start_with(
        |config| config.messages = LoginMessages::detailed("Shop"),
        true,
    )
    .await;
    h.admins.update(h.member_id, |user| user.is_active = false);
    let fresh = support::browser();
    let landing = sign_in(&h, &fresh, seed::MEMBER_EMAIL, seed::MEMBER_PASSWORD, None).await;
    assert_eq!(landing.status, 403);
    assert!(
        landing
            .body
            .contains("You don&#x27;t have access to this Shop instance"),
        "{}",
        landing.body
    );
    assert!(!landing.body.contains(GENERIC), "{}", landing.body);
}
