//! Leases in files: `<dir>/<context>.lease` holds `{holder, expires}` (ms
//! since the epoch). Checking and taking a lease happen under the
//! cross-process lock of `<context>.lease.lock`, so two processes never both
//! take it; a lease past its expiry (its holder crashed) is taken over.

use std::path::{Path, PathBuf};

use ims_api::{ContextName, Error, from_unix_millis, to_unix_millis};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::aio_config::{file, lock, tree};

fn lease_path(dir: &Path, context: &ContextName) -> PathBuf {
    dir.join(format!("{}.lease", context.as_str()))
}

fn failed(path: &Path, err: std::io::Error) -> Error {
    Error::storage(format!("cannot use the lease file {}", path.display()), err)
}

/// The current holder and expiry; `None` if there is no lease or it is
/// unreadable (a crash mid-write), which counts as free.
fn read(path: &Path) -> Result<Option<(String, OffsetDateTime)>, Error> {
    let value = match file::read(path) {
        Ok(Some(value)) => value,
        Ok(None) | Err(Error::Misconfigured(_)) => return Ok(None),
        Err(err) => return Err(err),
    };
    let Some(map) = value.as_object() else {
        return Ok(None);
    };
    let holder = tree::get_ci(map, "holder").and_then(Value::as_str);
    let expires = tree::get_ci(map, "expires")
        .and_then(Value::as_i64)
        .and_then(from_unix_millis);
    Ok(holder.zip(expires).map(|(h, e)| (h.to_owned(), e)))
}

pub(crate) fn try_lease(
    dir: &Path,
    context: &ContextName,
    holder: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, Error> {
    std::fs::create_dir_all(dir).map_err(|err| failed(dir, err))?;
    let path = lease_path(dir, context);
    let _guard = lock::lock_exclusive(&path).map_err(|err| failed(&path, err))?;
    if let Some((current, current_expiry)) = read(&path)?
        && current != holder
        && current_expiry > now
    {
        return Ok(false);
    }
    let lease = json!({"holder": holder, "expires": to_unix_millis(expires_at)});
    file::write_atomic(&path, &lease, || Ok(()))?;
    Ok(true)
}

pub(crate) fn release(dir: &Path, context: &ContextName, holder: &str) -> Result<(), Error> {
    let path = lease_path(dir, context);
    if !path.exists() {
        return Ok(());
    }
    let _guard = lock::lock_exclusive(&path).map_err(|err| failed(&path, err))?;
    if read(&path)?.is_some_and(|(current, _)| current == holder) {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(failed(&path, err)),
        }
    }
    Ok(())
}
