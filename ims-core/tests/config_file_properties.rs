//! aio configuration files with arbitrary content: read or refused with a
//! clear error naming the file, never a panic.
#![allow(clippy::unwrap_used)]

use ims_api::{ConfigLocation, Error};
use ims_core::{AioConfig, ConfigPaths};
use proptest::prelude::*;

fn read(content: &[u8]) -> Result<serde_json::Value, Error> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aio");
    std::fs::write(&path, content).unwrap();
    let config = AioConfig::with_env(ConfigPaths::new(&path), Vec::<(String, String)>::new());
    config.read_file(ConfigLocation::Global)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn arbitrary_bytes_are_read_or_refused(content in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Err(err) = read(&content) {
            prop_assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
        }
    }

    #[test]
    fn hjson_like_text_is_read_or_refused(content in r#"[{}\[\]:,"' a-z0-9#/\n]{0,200}"#) {
        if let Err(err) = read(content.as_bytes()) {
            prop_assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
            prop_assert!(err.to_string().contains("aio"), "{err}");
        }
    }
}
