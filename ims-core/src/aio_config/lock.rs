//! Cross-process exclusive locks on a sibling `<file>.lock`, so that renaming
//! a new version over the file does not lose the lock.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Holds an exclusive lock until dropped (closing the file releases it, also
/// when the process dies).
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: File,
}

/// The lock file of `path`: `<path>.lock`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

/// Blocks until this process holds the exclusive lock of `path`.
pub(crate) fn lock_exclusive(path: &Path) -> io::Result<LockGuard> {
    let file = open_lock_file(&lock_path(path))?;
    file.lock()?;
    Ok(LockGuard { _file: file })
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_exclusive_across_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aio");
        let guard = lock_exclusive(&path).unwrap();
        let other = open_lock_file(&lock_path(&path)).unwrap();
        assert!(other.try_lock().is_err());
        drop(guard);
        assert!(other.try_lock().is_ok());
        assert_eq!(lock_path(&path), dir.path().join("aio.lock"));
    }
}
