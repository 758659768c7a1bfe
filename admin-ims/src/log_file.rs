//! Magento's error log file, `adminadobe-ims.log` (feature `log-file`).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::Mutex;

use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

use crate::LOG_TARGET;

/// The file name the product documentation gives the error log.
pub const ERROR_LOG_FILE_NAME: &str = "adminadobe-ims.log";

/// A `tracing-subscriber` layer that appends this crate's error-level events
/// (failed IMS calls, failed storage, failed IMS logouts) to
/// `<dir>/adminadobe-ims.log`, without colours. `enabled` is Magento's
/// "error logging" switch: when it is off no file is opened and `None` is
/// returned (an `Option` of a layer is itself a layer).
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let dir = tempfile::tempdir()?;
/// let layer = admin_ims::error_log_layer(dir.path(), true)?;
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::error!(target: "admin_ims", event = "demo", "IMS unreachable");
///     tracing::info!(target: "admin_ims", "not an error: not in the file");
/// });
/// let log = std::fs::read_to_string(dir.path().join("adminadobe-ims.log"))?;
/// assert!(log.contains("IMS unreachable") && !log.contains("not an error"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn error_log_layer<S>(
    dir: &Path,
    enabled: bool,
) -> io::Result<Option<Box<dyn Layer<S> + Send + Sync + 'static>>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if !enabled {
        return Ok(None);
    }
    let file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(ERROR_LOG_FILE_NAME))?;
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .with_filter(Targets::new().with_target(LOG_TARGET, LevelFilter::ERROR));
    Ok(Some(Box::new(layer)))
}
