//! `admin_ims::CallbackQuery::parse`, the OAuth callback query (`code`,
//! `state`, `error`, `error_description`) IMS sends the browser back with,
//! on hostile text.
//!
//! Invariants beyond "no panic":
//! - the documented limits hold (state ≤ 512 bytes, error ≤ 256,
//!   description ≤ 1024, an over-long query is a problem and nothing else);
//! - a query without a problem never has both a code and an error;
//! - the values read back unchanged from a query re-encoded from them.

#![no_main]

use admin_ims::{CallbackQuery, MAX_CALLBACK_QUERY_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Axum hands over the raw query as text: percent-escapes carry any bytes.
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let query = CallbackQuery::parse(raw);
    let _ = format!("{query:?}");
    if raw.len() > MAX_CALLBACK_QUERY_LEN {
        assert!(query.problem().is_some());
        assert!(query.state().is_none() && !query.has_code() && query.ims_error().is_none());
        return;
    }
    assert!(query.state().is_none_or(|s| s.len() <= 512));
    assert!(query.ims_error().is_none_or(|e| e.len() <= 256));
    assert!(
        query
            .ims_error_description()
            .is_none_or(|d| d.len() <= 1024)
    );
    if query.problem().is_some() {
        return;
    }
    assert!(!(query.has_code() && query.ims_error().is_some()));

    // Re-encode what was read; it must read back the same.
    let mut encoder = url::form_urlencoded::Serializer::new(String::new());
    if query.has_code() {
        encoder.append_pair("code", "c");
    }
    for (name, value) in [
        ("state", query.state()),
        ("error", query.ims_error()),
        ("error_description", query.ims_error_description()),
    ] {
        if let Some(value) = value {
            encoder.append_pair(name, value);
        }
    }
    let again = CallbackQuery::parse(&encoder.finish());
    assert_eq!(again.problem(), None);
    assert_eq!(again.state(), query.state());
    assert_eq!(again.has_code(), query.has_code());
    assert_eq!(again.ims_error(), query.ims_error());
    assert_eq!(again.ims_error_description(), query.ims_error_description());
});
