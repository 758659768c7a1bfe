//! The aio configuration file reader (`AioConfig::parse_file_text`, what
//! `AioConfig::read_file` and the context store use) on hostile text: JSON,
//! else HJSON.
//!
//! Invariants beyond "no panic" (and no stack overflow):
//! - a refusal is `Misconfigured` and names the file;
//! - an accepted file is an object of keys;
//! - what `AioConfig::update` would write back (pretty JSON) reads back as
//!   the same tree, so a read-modify-write keeps every other key intact
//!   (floats to the last bit: see `json_eq`).

#![no_main]

use std::path::Path;

use ims_core::AioConfig;
use ims_core::ims_api::Error;
use libfuzzer_sys::fuzz_target;

mod json_eq;

const PATH: &str = "/fuzz/aio";

fuzz_target!(|data: &[u8]| {
    // `read_file` refuses non-UTF-8 files before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match AioConfig::parse_file_text(text, Path::new(PATH)) {
        Ok(tree) => {
            assert!(tree.is_object(), "accepted a non-object");
            let written = serde_json::to_string_pretty(&tree).expect("a tree serializes");
            let again = AioConfig::parse_file_text(&written, Path::new(PATH))
                .expect("what is written back reads back");
            assert!(
                json_eq::same(&again, &tree),
                "{tree} was written back as {again}"
            );
        }
        Err(Error::Misconfigured(message)) => {
            assert!(
                message.contains(PATH),
                "the error does not name the file: {message}"
            );
        }
        Err(other) => panic!("not a Misconfigured error: {other:?}"),
    }
});
