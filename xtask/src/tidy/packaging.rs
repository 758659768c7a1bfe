//! Every library crate keeps what crates.io and docs.rs need, and its
//! package carries its README, changelog and licenses and nothing it does
//! not need (`cargo xtask package` builds the packages; this is the quick
//! check that runs with the tests).

use std::path::Path;

use serde_json::Value;

use crate::package::{PUBLISHED, UNPUBLISHED};

/// The crates.io category slugs the workspace uses or may use (a slug
/// crates.io does not know is refused at publish time).
pub(crate) const KNOWN_CATEGORIES: &[&str] = &[
    "api-bindings",
    "asynchronous",
    "authentication",
    "command-line-utilities",
    "config",
    "cryptography",
    "database",
    "development-tools",
    "development-tools::testing",
    "network-programming",
    "web-programming",
    "web-programming::http-client",
    "web-programming::http-server",
];

/// The files every package must carry, besides its sources.
pub(crate) const REQUIRED_FILES: &[&str] = &[
    "Cargo.toml",
    "README.md",
    "CHANGELOG.md",
    "LICENSE-MIT",
    "LICENSE-APACHE",
];

/// The crate attribute that shows feature badges on docs.rs.
pub(crate) const DOCS_RS_ATTRIBUTE: &str = "#![cfg_attr(docsrs, feature(doc_cfg))]";

/// What a listed package file must not be: tests, benches, examples, fuzz
/// or proptest leftovers, databases.
fn unwanted(file: &str) -> bool {
    ["tests/", "benches/", "examples/", "proptest-regressions/"]
        .iter()
        .any(|dir| file.starts_with(dir))
        || [".db", ".sqlite", ".sqlite3", ".db-wal", ".db-shm"]
            .iter()
            .any(|ext| file.ends_with(ext))
}

/// The metadata problems of the workspace members in a `cargo metadata`
/// document, one sentence each. `read` gives a file's text (relative to the
/// workspace or absolute), `None` when it does not exist.
pub(crate) fn metadata_problems(
    metadata: &Value,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Vec<String> {
    let mut found = Vec::new();
    let members: Vec<&Value> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["source"].is_null())
        .collect();
    for krate in PUBLISHED {
        if !members.iter().any(|p| p["name"] == *krate) {
            found.push(format!("{krate} is not a workspace member"));
        }
    }
    for package in members {
        let name = package["name"].as_str().unwrap_or("?");
        if UNPUBLISHED.contains(&name) {
            if package["publish"] != serde_json::json!([]) {
                found.push(format!("{name} must say `publish = false`"));
            }
            continue;
        }
        if !PUBLISHED.contains(&name) {
            found.push(format!(
                "{name} is neither published nor unpublished: add it to one list of xtask/src/package.rs"
            ));
            continue;
        }
        found.extend(published_problems(name, package, read));
    }
    found
}

fn published_problems(
    name: &str,
    package: &Value,
    read: &dyn Fn(&Path) -> Option<String>,
) -> Vec<String> {
    let mut found = Vec::new();
    let mut problem = |what: String| found.push(format!("{name}: {what}"));
    let text = |key: &str| package[key].as_str().unwrap_or("").trim().to_owned();

    if !package["publish"].is_null() {
        problem("`publish` must be allowed (crates.io)".into());
    }
    if text("description").is_empty() {
        problem("no description".into());
    }
    if text("license") != "MIT OR Apache-2.0" {
        problem("the license must be \"MIT OR Apache-2.0\"".into());
    }
    for key in ["repository", "homepage"] {
        if text(key).contains(".invalid") || text(key).contains("example.") {
            problem(format!(
                "`{key}` is a placeholder: give a real URL or leave it out"
            ));
        }
    }
    if !text("documentation").starts_with("https://docs.rs/") {
        problem("`documentation` should be its docs.rs page".into());
    }
    let keywords = package["keywords"].as_array().map_or(0, Vec::len);
    if !(1..=5).contains(&keywords) {
        problem(format!("{keywords} keywords (crates.io takes 1 to 5)"));
    }
    let categories: Vec<&str> = package["categories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if categories.is_empty() {
        problem("no categories".into());
    }
    for category in categories {
        if !KNOWN_CATEGORIES.contains(&category) {
            problem(format!("category {category:?} is not a crates.io slug"));
        }
    }
    let docs_rs = &package["metadata"]["docs"]["rs"];
    let rustdoc_args: Vec<&str> = docs_rs["rustdoc-args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if docs_rs["all-features"] != true || !rustdoc_args.windows(2).any(|w| w == ["--cfg", "docsrs"])
    {
        problem(
            "[package.metadata.docs.rs] needs all-features = true and rustdoc-args = [\"--cfg\", \"docsrs\"]"
                .into(),
        );
    }
    for dependency in package["dependencies"].as_array().into_iter().flatten() {
        let dev = dependency["kind"] == "dev";
        if !dev && dependency["path"].is_string() && dependency["req"] == "*" {
            problem(format!(
                "the path dependency {} has no version (a published crate needs one)",
                dependency["name"].as_str().unwrap_or("?")
            ));
        }
    }

    let manifest = Path::new(package["manifest_path"].as_str().unwrap_or(""));
    let dir = manifest.parent().unwrap_or(Path::new(""));
    if package["readme"].as_str().is_none() {
        problem("no `readme`".into());
    }
    match read(&dir.join("CHANGELOG.md")) {
        Some(changelog) if changelog.contains("## [Unreleased]") => {}
        Some(_) => problem("CHANGELOG.md has no `## [Unreleased]` section".into()),
        None => problem("no CHANGELOG.md".into()),
    }
    let lib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib"))
        });
    if let Some(src) = lib.and_then(|t| t["src_path"].as_str()) {
        match read(Path::new(src)) {
            Some(lib_rs) if lib_rs.contains(DOCS_RS_ATTRIBUTE) => {}
            _ => problem(format!("src/lib.rs lacks `{DOCS_RS_ATTRIBUTE}`")),
        }
    }
    found
}

/// The problems of one package's file list (`cargo package --list`).
pub(crate) fn list_problems(name: &str, files: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for required in REQUIRED_FILES {
        if !files.contains(required) {
            found.push(format!("{name}: the package lacks {required}"));
        }
    }
    if !files.iter().any(|f| f.starts_with("src/")) {
        found.push(format!("{name}: the package has no sources"));
    }
    for file in files.iter().filter(|f| unwanted(f)) {
        found.push(format!(
            "{name}: the package carries {file} (keep it out with `include`)"
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::process::Command;

    fn good_package(name: &str) -> Value {
        json!({
            "name": name, "source": null, "publish": null,
            "description": "d", "license": "MIT OR Apache-2.0",
            "documentation": format!("https://docs.rs/{name}"),
            "readme": "README.md",
            "keywords": ["adobe"], "categories": ["authentication"],
            "metadata": {"docs": {"rs": {"all-features": true, "rustdoc-args": ["--cfg", "docsrs"]}}},
            "dependencies": [
                {"name": "ims-api", "kind": null, "path": "/w/ims-api", "req": "^0.1.0"},
                {"name": "ims-emulator", "kind": "dev", "path": "/w/ims-emulator", "req": "*"}
            ],
            "manifest_path": format!("/w/{name}/Cargo.toml"),
            "targets": [{"kind": ["lib"], "src_path": format!("/w/{name}/src/lib.rs")}]
        })
    }

    fn workspace(edit: impl FnOnce(&mut Vec<Value>)) -> Value {
        let mut packages: Vec<Value> = PUBLISHED.iter().map(|n| good_package(n)).collect();
        packages.extend(
            UNPUBLISHED
                .iter()
                .map(|n| json!({"name": n, "source": null, "publish": []})),
        );
        edit(&mut packages);
        json!({ "packages": packages })
    }

    fn files(path: &Path) -> Option<String> {
        let path = path.to_string_lossy();
        if path.ends_with("CHANGELOG.md") {
            Some("# Changelog\n\n## [Unreleased]\n".into())
        } else if path.ends_with("lib.rs") {
            Some(format!("//! Docs.\n\n{DOCS_RS_ATTRIBUTE}\n"))
        } else {
            None
        }
    }

    fn problems_after(edit: impl FnOnce(&mut Vec<Value>)) -> Vec<String> {
        metadata_problems(&workspace(edit), &files)
    }

    #[test]
    fn a_complete_workspace_has_no_problem() {
        assert_eq!(problems_after(|_| {}), Vec::<String>::new());
    }

    /// What is broken, how, and what the problem must say.
    type Case = (&'static str, fn(&mut Value), &'static str);

    #[test]
    fn each_missing_piece_is_named() {
        let cases: [Case; 10] = [
            (
                "description",
                |p| p["description"] = json!(null),
                "no description",
            ),
            (
                "keywords",
                |p| p["keywords"] = json!(["a", "b", "c", "d", "e", "f"]),
                "6 keywords",
            ),
            (
                "category",
                |p| p["categories"] = json!(["web"]),
                "not a crates.io slug",
            ),
            (
                "publish",
                |p| p["publish"] = json!([]),
                "`publish` must be allowed",
            ),
            (
                "repository",
                |p| p["repository"] = json!("https://example.invalid/x"),
                "placeholder",
            ),
            (
                "docs.rs",
                |p| p["metadata"] = json!({}),
                "package.metadata.docs.rs",
            ),
            ("readme", |p| p["readme"] = json!(null), "no `readme`"),
            (
                "path version",
                |p| p["dependencies"][0]["req"] = json!("*"),
                "has no version",
            ),
            ("license", |p| p["license"] = json!("MIT"), "license"),
            (
                "lib.rs",
                |p| p["targets"][0]["src_path"] = json!("/w/none/src/main.rs"),
                "lacks `#![cfg_attr(docsrs",
            ),
        ];
        for (what, edit, expected) in cases {
            let found = problems_after(|packages| edit(&mut packages[0]));
            assert!(
                found.len() == 1
                    && found[0].starts_with(PUBLISHED[0])
                    && found[0].contains(expected),
                "{what}: {found:?}"
            );
        }
    }

    #[test]
    fn unpublished_and_unknown_members_are_checked() {
        let found = problems_after(|packages| {
            packages.retain(|p| p["name"] != PUBLISHED[1]);
            packages.push(json!({"name": "newcomer", "source": null, "publish": null}));
            if let Some(demo) = packages.iter_mut().find(|p| p["name"] == "ims-demo") {
                demo["publish"] = json!(null);
            }
        });
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().any(|f| f.contains("not a workspace member")));
        assert!(found.iter().any(|f| f.starts_with("newcomer is neither")));
        assert!(
            found
                .iter()
                .any(|f| f == "ims-demo must say `publish = false`")
        );
    }

    #[test]
    fn a_changelog_without_unreleased_is_named() {
        let found = metadata_problems(&workspace(|_| {}), &|path| {
            if path.ends_with("CHANGELOG.md") {
                Some("# Changelog\n".into())
            } else {
                files(path)
            }
        });
        assert_eq!(found.len(), PUBLISHED.len(), "{found:?}");
        assert!(found.iter().all(|f| f.contains("`## [Unreleased]`")));
    }

    #[test]
    fn package_lists_need_their_files_and_nothing_else() {
        let good = [
            "Cargo.toml",
            "Cargo.toml.orig",
            "README.md",
            "CHANGELOG.md",
            "LICENSE-MIT",
            "LICENSE-APACHE",
            "src/lib.rs",
        ];
        assert!(list_problems("x", &good).is_empty());
        let mut bad: Vec<&str> = good
            .iter()
            .copied()
            .filter(|f| *f != "LICENSE-MIT")
            .collect();
        bad.extend([
            "tests/it.rs",
            "data/test.sqlite",
            "proptest-regressions/x.txt",
        ]);
        let found = list_problems("x", &bad);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("lacks LICENSE-MIT"), "{found:?}");
    }

    /// The real workspace: its metadata, and each library crate's package
    /// list (`cargo package --list` reads the manifests, builds nothing).
    #[test]
    fn every_library_crate_is_publishable() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let root = crate::commands::workspace_root();
        let output = Command::new(&cargo)
            .current_dir(&root)
            .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
            .output()
            .expect("cargo metadata runs");
        assert!(
            output.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
        let mut found = metadata_problems(&metadata, &|path| {
            std::fs::read_to_string(root.join(path)).ok()
        });
        for krate in PUBLISHED {
            let output = Command::new(&cargo)
                .current_dir(&root)
                .args([
                    "package",
                    "--list",
                    "--allow-dirty",
                    "--locked",
                    "-p",
                    krate,
                ])
                .output()
                .expect("cargo package --list runs");
            assert!(
                output.status.success(),
                "cargo package --list -p {krate} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let listed = String::from_utf8_lossy(&output.stdout);
            let files: Vec<&str> = listed.lines().collect();
            found.extend(list_problems(krate, &files));
        }
        assert!(
            found.is_empty(),
            "the library crates are not publishable:\n{}",
            found.join("\n")
        );
    }
}
