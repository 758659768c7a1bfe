//! `cargo xtask package`: every library crate packaged as crates.io would
//! receive it, and each package built from its packaged sources.
//!
//! `cargo package --workspace` packages the crates in dependency order and
//! resolves the unpublished workspace dependencies of each through a local
//! registry overlay, so a crate is verified against its dependencies'
//! packages, not their directories. The verification builds every package in
//! `target/package/` with a freshly resolved lock file (what a user of the
//! published crate gets), which takes a while on a small machine.
//!
//! The metadata a published crate needs is checked by a tidy test
//! (`tidy::packaging`), which runs with the other tests.

use crate::commands::{Result, cargo, run};

/// The crates published to the registry, in dependency order.
pub(crate) const PUBLISHED: &[&str] = &[
    "ims-api",
    "ims-emulator",
    "ims-core",
    "admin-ims",
    "webapi-ims",
    "ims-store",
    "ims-kit",
    "ims-cli",
];

/// Workspace members that are never published (`publish = false`).
pub(crate) const UNPUBLISHED: &[&str] = &["xtask", "ims-demo", "ims-e2e", "ims-examples"];

/// The arguments of the `cargo package` run: the workspace less the
/// unpublished members.
pub(crate) fn package_args() -> Vec<&'static str> {
    // `--allow-dirty`: this verifies the working tree, it publishes nothing.
    let mut args = vec!["package", "--workspace", "--locked", "--allow-dirty"];
    for member in UNPUBLISHED {
        args.extend(["--exclude", member]);
    }
    args
}

/// `cargo xtask package`.
pub(crate) fn run_package() -> Result {
    eprintln!("xtask package: {}", PUBLISHED.join(", "));
    let mut package = cargo();
    package.args(package_args());
    run(
        "cargo package (every library crate, each built from its package)",
        package,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unpublished_member_is_excluded_and_no_published_one() {
        let args = package_args();
        for member in UNPUBLISHED {
            assert!(
                args.windows(2).any(|w| w == ["--exclude", *member]),
                "{member} is not excluded: {args:?}"
            );
        }
        for krate in PUBLISHED {
            assert!(!args.contains(krate), "{krate} is excluded: {args:?}");
        }
    }
}
