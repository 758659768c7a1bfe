//! Which sources may decide where a context's credentials go.
//!
//! The files found from the working directory (`.aio`, `.env`) are
//! untrusted: any repository the user checks out can hold them. A context
//! defined, even partly, by a trusted source (the global file, the process
//! environment) holds the user's credentials, so an untrusted source may
//! not choose where they are sent: its [`ENDPOINT_KEYS`] are refused, its
//! tokens ignored, and its `cli.env` does not apply. A context only
//! untrusted files define holds their own credentials and may name its IMS,
//! but may not read a private key from a file path (the user's key file
//! would sign an assertion for the file's endpoint).
//!
//! Every `ims_url`, wherever it comes from, must be `https`, or `http` to a
//! loopback address (`127.0.0.0/8`, `localhost`, `[::1]`).

use ims_api::{ContextName, Error};

use crate::aio_config::origin::Node;
use crate::aio_config::{MergedConfig, Origin};

/// The keys of a context that decide where its credentials or codes go.
pub(crate) const ENDPOINT_KEYS: &[&str] = &["ims_url", "env", "redirect_uri"];

/// How far the sources of one context are trusted.
#[derive(Debug)]
pub(crate) struct ContextTrust {
    /// A trusted source supplies at least one of its keys.
    pub(crate) trusted: bool,
    leaves: Vec<(String, Origin)>,
}

impl ContextTrust {
    pub(crate) fn of(merged: &MergedConfig, name: &ContextName) -> Self {
        let leaves: Vec<(String, Origin)> = merged
            .node(&["ims", "contexts", name.as_str()])
            .map(|node: &Node| {
                node.leaves()
                    .into_iter()
                    .map(|(path, origin)| {
                        let key = path.first().map(|k| k.to_ascii_lowercase());
                        (key.unwrap_or_default(), origin.clone())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let trusted = leaves.iter().any(|(_, origin)| origin.is_trusted());
        ContextTrust { trusted, leaves }
    }

    /// The origin of a top-level key of the context.
    pub(crate) fn origin_of(&self, key: &str) -> Option<&Origin> {
        self.leaves
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, origin)| origin)
    }

    /// Refuses what an untrusted source may not set on this context.
    pub(crate) fn check(&self, name: &ContextName) -> Result<(), Error> {
        if self.trusted {
            let trusted_origin = self
                .leaves
                .iter()
                .find(|(_, o)| o.is_trusted())
                .map(|(_, o)| o.to_string())
                .unwrap_or_default();
            for (key, origin) in &self.leaves {
                if !origin.is_trusted() && ENDPOINT_KEYS.contains(&key.as_str()) {
                    return Err(Error::Misconfigured(format!(
                        "context \"{name}\" is defined in {trusted_origin}, but its {key} comes from {origin}, \
                         a file of the working directory, which may not change where the context's credentials go; \
                         remove ims.contexts.{name}.{key} there (or set it in the global file or the environment)"
                    )));
                }
            }
        }
        Ok(())
    }
}
