//! Tidy checks of the architecture invariants, run as tests.
//!
//! They read `cargo metadata` and fail when a crate depends on what it must
//! not (see `ARCHITECTURE.md`, "Architecture invariants"):
//!
//! - `admin-ims` and `webapi-ims` have no normal dependency, direct or
//!   transitive, on `ims-core` or `ims-store`;
//! - `ims-api` reaches no I/O crate (reqwest, sqlx, axum, actix-web, hyper)
//!   through normal dependencies, and asks for no tokio runtime feature;
//! - `ims-core` and `ims-store` do not depend on `admin-ims` or `webapi-ims`
//!   (`ims-kit`, above them all, may depend on every crate: it has no rule);
//! - no crate of the workspace builds a second TLS or crypto provider (ring,
//!   OpenSSL, native-tls, RustCrypto's AEADs): aws-lc-rs is the one. This
//!   one asks `cargo tree`, which, unlike `cargo metadata`'s resolve, leaves
//!   out optional dependencies no feature turns on (the lock file lists
//!   `ring`, which nothing builds);
//! - no manifest of the workspace names a crate that issue #16 replaced by
//!   one home (`moka` by `quick_cache`, `sha2` by `aws_lc_rs::digest`);
//! - no crate has an import cycle between its modules
//!   ([`module_cycles`]);
//! - no tracked file cites a file outside the repository ([`citations`]);
//! - every library crate keeps its crates.io and docs.rs metadata, and its
//!   package its README, changelog and licenses ([`packaging`]).

mod citations;
mod module_cycles;
mod packaging;

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde_json::Value;

/// Crates that would bring I/O into `ims-api`.
const IO_CRATES: &[&str] = &["reqwest", "sqlx", "axum", "actix-web", "hyper"];

/// tokio features that start a runtime or do I/O.
const TOKIO_RUNTIME_FEATURES: &[&str] = &[
    "full",
    "rt",
    "rt-multi-thread",
    "net",
    "fs",
    "io-std",
    "process",
    "signal",
    "time",
];

/// Crypto and TLS providers other than aws-lc-rs, the workspace's one.
pub(crate) const OTHER_PROVIDERS: &[&str] = &[
    "ring",
    "openssl",
    "openssl-sys",
    "native-tls",
    "aes-gcm",
    "aes-gcm-siv",
    "chacha20poly1305",
];

/// The violation, if any, that `cargo tree -i provider -e normal` printed
/// `tree` for: an empty tree means nothing builds it.
pub(crate) fn provider_violation(provider: &str, tree: &str) -> Option<String> {
    let tree = tree.trim();
    if tree.is_empty() {
        return None;
    }
    Some(format!(
        "{provider} is built (aws-lc-rs is the one TLS and crypto provider; use it, and rustls \
         with aws-lc-rs for TLS):\n{tree}"
    ))
}

/// What must not be reachable from what, through normal dependencies.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("admin-ims", &["ims-core", "ims-store"]),
    ("webapi-ims", &["ims-core", "ims-store"]),
    ("ims-api", IO_CRATES),
    ("ims-core", &["admin-ims", "webapi-ims"]),
    ("ims-store", &["admin-ims", "webapi-ims"]),
];

/// Crates replaced by one home each (issue #16), which no manifest of the
/// workspace may name, with what replaced them.
pub(crate) const REPLACED_CRATES: &[(&str, &str)] =
    &[("moka", "quick_cache"), ("sha2", "aws_lc_rs::digest")];

/// Workspace members (no `source`) that name a replaced crate as a direct
/// dependency of any kind, one sentence each. `allowed` lists
/// `(member, crate)` pairs still to be migrated.
pub(crate) fn replaced_dependencies(metadata: &Value, allowed: &[(&str, &str)]) -> Vec<String> {
    let mut found = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if !package["source"].is_null() {
            continue;
        }
        let member = package["name"].as_str().unwrap_or("?");
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let name = dependency["name"].as_str().unwrap_or("");
            if let Some((_, instead)) = REPLACED_CRATES.iter().find(|(gone, _)| *gone == name) {
                if allowed.contains(&(member, name)) {
                    continue;
                }
                let sentence = format!("{member} depends on {name}: use {instead} instead");
                if !found.contains(&sentence) {
                    found.push(sentence);
                }
            }
        }
    }
    found
}

/// Every violation of the invariants in a `cargo metadata` document (with
/// `resolve`), one sentence each; empty when all hold.
pub(crate) fn violations(metadata: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let ids: HashMap<&str, &str> = names.iter().map(|(id, name)| (*name, *id)).collect();

    // Normal (non-dev, non-build) edges of the resolved graph.
    let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
    for node in metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(id) = node["id"].as_str() else {
            continue;
        };
        let normal = node["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| {
                dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|kind| kind["kind"].is_null())
            })
            .filter_map(|dep| dep["pkg"].as_str());
        edges.entry(id).or_default().extend(normal);
    }

    for (from, forbidden) in FORBIDDEN {
        let Some(start) = ids.get(from) else {
            continue;
        };
        for (target, path) in reachable(start, &edges) {
            let Some(name) = names.get(target) else {
                continue;
            };
            if forbidden.contains(name) {
                let via: Vec<&str> = path
                    .iter()
                    .filter_map(|id| names.get(id).copied())
                    .collect();
                found.push(format!(
                    "{from} has a normal dependency on {name} (via {}): {}",
                    via.join(" -> "),
                    reason(from)
                ));
            }
        }
    }

    // ims-api may use tokio only without runtime features (it should not
    // need it at all outside tests).
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if package["name"] != "ims-api" {
            continue;
        }
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            if dep["name"] != "tokio" || !dep["kind"].is_null() {
                continue;
            }
            let features: BTreeSet<&str> = dep["features"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|f| TOKIO_RUNTIME_FEATURES.contains(f))
                .collect();
            let default_on = dep["uses_default_features"].as_bool().unwrap_or(true);
            if !features.is_empty() || default_on {
                found.push(format!(
                    "ims-api depends on tokio with runtime features {features:?}{}: {}",
                    if default_on {
                        " (and default features)"
                    } else {
                        ""
                    },
                    reason("ims-api")
                ));
            }
        }
    }
    found
}

fn reason(from: &str) -> &'static str {
    match from {
        "admin-ims" | "webapi-ims" => {
            "hosts wire implementations in through ims-api traits; depend on ims-api only (dev-dependencies aside)"
        }
        "ims-api" => "ims-api is the contracts and must do no I/O",
        _ => "implementations must not depend on the crates that use them through ims-api",
    }
}

/// Every package reachable from `start`, with the path that reached it first.
fn reachable<'a>(
    start: &'a str,
    edges: &HashMap<&'a str, Vec<&'a str>>,
) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut queue = VecDeque::from([(start, vec![start])]);
    while let Some((id, path)) = queue.pop_front() {
        for next in edges.get(id).into_iter().flatten() {
            if *next == start || seen.contains_key(next) {
                continue;
            }
            let mut next_path = path.clone();
            next_path.push(next);
            seen.insert(next, next_path.clone());
            queue.push_back((next, next_path));
        }
    }
    let mut found: Vec<_> = seen.into_iter().collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::process::Command;

    #[test]
    fn the_workspace_keeps_its_invariants() {
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(crate::commands::workspace_root())
            .args([
                "metadata",
                "--format-version",
                "1",
                "--all-features",
                "--locked",
            ])
            .output()
            .expect("cargo metadata runs");
        assert!(
            output.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
        let mut found = violations(&metadata);
        found.extend(replaced_dependencies(&metadata, &[]));
        assert!(
            found.is_empty(),
            "architecture invariants broken:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn the_workspace_builds_one_crypto_provider() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut found = Vec::new();
        for provider in OTHER_PROVIDERS {
            let output = Command::new(&cargo)
                .current_dir(crate::commands::workspace_root())
                .args([
                    "tree",
                    "--locked",
                    "--workspace",
                    "--all-features",
                    "--target",
                    "all",
                    "--edges",
                    "normal",
                    "--invert",
                    provider,
                ])
                .output()
                .expect("cargo tree runs");
            // A provider absent from the lock file makes cargo tree fail
            // with "did not match any packages": nothing builds it either.
            let tree = if output.status.success() {
                String::from_utf8_lossy(&output.stdout).into_owned()
            } else {
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    stderr.contains("did not match any packages"),
                    "cargo tree -i {provider} failed: {stderr}"
                );
                String::new()
            };
            found.extend(provider_violation(provider, &tree));
        }
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    /// Cycles allowed, with the reason; none today.
    const KNOWN_CYCLES: &[&str] = &[];

    #[test]
    fn no_crate_has_an_import_cycle_between_its_modules() {
        let root = crate::commands::workspace_root();
        let mut found = Vec::new();
        for (name, dir) in module_cycles::workspace_crates(&root) {
            let source = module_cycles::CrateSource::read(&name, &dir).expect("sources read");
            found.extend(
                module_cycles::cycles(&name, &source.edges())
                    .into_iter()
                    .filter(|cycle| !KNOWN_CYCLES.iter().any(|k| cycle.starts_with(k))),
            );
        }
        assert!(
            found.is_empty(),
            "import cycles between modules (move what both use into a module below them):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn no_tracked_file_cites_a_file_outside_the_repository() {
        let root = crate::commands::workspace_root();
        let output = Command::new("git")
            .current_dir(&root)
            .args(["ls-files", "-z"])
            .output()
            .expect("git ls-files runs");
        assert!(output.status.success(), "git ls-files failed");
        let mut found = Vec::new();
        for path in String::from_utf8_lossy(&output.stdout).split('\0') {
            if path.is_empty() {
                continue;
            }
            // Binary and missing files (a sparse checkout) have no citations.
            if let Ok(text) = std::fs::read_to_string(root.join(path)) {
                found.extend(citations::mentions(path, &text));
            }
        }
        assert!(
            found.is_empty(),
            "files cite what the repository does not hold (the wire protocol is docs/src/wire-protocol.md):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn a_provider_in_the_tree_is_a_violation() {
        assert_eq!(provider_violation("ring", "\n"), None);
        let found = provider_violation("ring", "ring v0.17.14\n└── ims-core v0.1.0\n").unwrap();
        assert!(found.starts_with("ring is built"), "{found}");
        assert!(found.contains("└── ims-core"), "{found}");
    }

    /// A tiny metadata document: packages by name, normal and dev edges.
    fn metadata(edges: &[(&str, &str, Option<&str>)], tokio_dep: Option<Value>) -> Value {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (from, to, _) in edges {
            names.insert(from);
            names.insert(to);
        }
        names.insert("ims-api");
        let id = |n: &str| format!("path+file:///ws/{n}#0.1.0");
        let packages: Vec<Value> = names
            .iter()
            .map(|n| {
                let deps = if *n == "ims-api" {
                    tokio_dep.clone().map(|d| vec![d]).unwrap_or_default()
                } else {
                    vec![]
                };
                json!({"id": id(n), "name": n, "dependencies": deps})
            })
            .collect();
        let nodes: Vec<Value> = names
            .iter()
            .map(|n| {
                let deps: Vec<Value> = edges
                    .iter()
                    .filter(|(from, _, _)| from == n)
                    .map(|(_, to, kind)| {
                        json!({"name": to, "pkg": id(to), "dep_kinds": [{"kind": kind, "target": null}]})
                    })
                    .collect();
                json!({"id": id(n), "deps": deps})
            })
            .collect();
        json!({"packages": packages, "resolve": {"nodes": nodes}})
    }

    #[test]
    fn flags_a_member_naming_a_replaced_crate() {
        let metadata = json!({"packages": [
            {"name": "ims-core", "source": null, "dependencies": [{"name": "moka"}, {"name": "sha2"}]},
            {"name": "sqlx-postgres", "source": "registry+x", "dependencies": [{"name": "sha2"}]},
            {"name": "admin-ims", "source": null, "dependencies": [{"name": "sha2"}]},
        ]});
        let found = replaced_dependencies(&metadata, &[("admin-ims", "sha2")]);
        assert_eq!(
            found,
            [
                "ims-core depends on moka: use quick_cache instead",
                "ims-core depends on sha2: use aws_lc_rs::digest instead",
            ]
        );
    }

    #[test]
    fn flags_webapi_ims_depending_on_ims_core() {
        let found = violations(&metadata(
            &[
                ("webapi-ims", "ims-api", None),
                ("webapi-ims", "ims-core", None),
            ],
            None,
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("webapi-ims has a normal dependency on ims-core"));
    }

    #[test]
    fn flags_transitive_dependencies_too() {
        let found = violations(&metadata(
            &[("admin-ims", "helper", None), ("helper", "ims-store", None)],
            None,
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("via admin-ims -> helper -> ims-store"),
            "{found:?}"
        );
    }

    #[test]
    fn dev_dependencies_are_allowed() {
        let found = violations(&metadata(
            &[
                ("admin-ims", "ims-core", Some("dev")),
                ("webapi-ims", "ims-store", Some("dev")),
            ],
            None,
        ));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn flags_io_crates_under_ims_api() {
        for io in IO_CRATES {
            let found = violations(&metadata(&[("ims-api", "x", None), ("x", io, None)], None));
            assert_eq!(found.len(), 1, "{io}: {found:?}");
        }
    }

    #[test]
    fn flags_implementations_depending_on_their_users() {
        let found = violations(&metadata(
            &[
                ("ims-core", "admin-ims", None),
                ("ims-store", "webapi-ims", None),
            ],
            None,
        ));
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn flags_tokio_runtime_features_in_ims_api() {
        let rt = json!({"name": "tokio", "kind": null, "features": ["rt"], "uses_default_features": false});
        assert_eq!(violations(&metadata(&[], Some(rt))).len(), 1);
        let sync = json!({"name": "tokio", "kind": null, "features": ["sync"], "uses_default_features": false});
        assert!(violations(&metadata(&[], Some(sync))).is_empty());
        let dev = json!({"name": "tokio", "kind": "dev", "features": ["rt", "macros"], "uses_default_features": false});
        assert!(violations(&metadata(&[], Some(dev))).is_empty());
    }
}
