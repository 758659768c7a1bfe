//! The book's own checks, run by `cargo xtask docs` after `mdbook build`:
//! every internal link of `docs/src/**/*.md` must lead somewhere.
//!
//! - A relative link to a `.md` file must name a file that exists and that
//!   `SUMMARY.md` lists (mdBook renders only those).
//! - A relative link to any other file must name a file that exists.
//! - A `#fragment` (alone, or after a `.md` target) must be the id of a
//!   heading of the target, by mdBook's rule: lower-case, white space to
//!   `-`, every other character but letters, digits, `-` and `_` dropped;
//!   a repeated id gets `-1`, `-2`, … ; `{#id}` after a heading sets it.
//!
//! Links inside code (fenced blocks and `code spans`) are not links. External
//! links (`https:`, `mailto:`, …) are not checked: the build is offline.
//!
//! mdBook only warns when an `{{#include file:anchor}}` names a missing file
//! or anchor, and renders nothing: so every include's file must exist, and
//! a named anchor must have its `ANCHOR:` and `ANCHOR_END:` lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use std::process::Command;

use crate::commands::{Result, cargo, run, workspace_root};

/// `cargo xtask docs`.
pub(crate) fn run_docs() -> Result {
    let mut doc = cargo();
    doc.args([
        "doc",
        "--workspace",
        "--no-deps",
        "--all-features",
        "--locked",
    ]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    run("cargo doc (warnings denied)", doc)?;

    let book = workspace_root().join("docs");
    let mut mdbook = Command::new("mdbook");
    mdbook.arg("build").arg(&book);
    if Command::new("mdbook").arg("--version").output().is_err() {
        return Err(
            "mdbook is not installed: run `cargo install --locked mdbook` (or .ci/run)".into(),
        );
    }
    run("mdbook build docs", mdbook)?;
    check_links(&book.join("src"))?;

    // The guides' code: every example builds, so the book cannot show code
    // that does not compile.
    let mut examples = cargo();
    examples.args(["build", "-p", "ims-examples", "--all-targets", "--locked"]);
    run("cargo build -p ims-examples (the guides' code)", examples)
}

/// One link that leads nowhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokenLink {
    /// The file, relative to the book's `src`.
    pub(crate) file: String,
    /// 1-based line.
    pub(crate) line: usize,
    /// The link target as written.
    pub(crate) target: String,
    /// Why it is broken.
    pub(crate) problem: String,
}

/// Checks the links of the book whose sources are in `src`; the error lists
/// each broken link.
pub(crate) fn check_links(src: &Path) -> Result {
    let pages = read_pages(src)?;
    let mut broken = broken_links(&pages);
    broken.extend(broken_includes(src, &pages));
    if broken.is_empty() {
        eprintln!(
            "xtask: {} book pages, every internal link resolves",
            pages.markdown.len()
        );
        return Ok(());
    }
    let mut message = format!("{} broken link(s) in the book:\n", broken.len());
    for link in &broken {
        message.push_str(&format!(
            "  docs/src/{}:{}: ({}) {}\n",
            link.file, link.line, link.target, link.problem
        ));
    }
    Err(message)
}

/// Every `.md` file under `src` (and the other files, by path, for
/// existence), keyed by their path relative to `src` with `/` separators.
fn read_pages(src: &Path) -> Result<Pages> {
    let mut pages = Pages::default();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
                .path();
            let relative = relative_name(src, &path);
            if path.is_dir() {
                dirs.push(path);
            } else if relative.ends_with(".md") {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                pages.markdown.insert(relative, text);
            } else {
                pages.other.insert(relative);
            }
        }
    }
    Ok(pages)
}

fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The book's sources: markdown text by path, and the other files' paths.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    pub(crate) markdown: BTreeMap<String, String>,
    pub(crate) other: BTreeSet<String>,
}

/// The broken links of `pages`.
pub(crate) fn broken_links(pages: &Pages) -> Vec<BrokenLink> {
    let in_summary: BTreeSet<String> = pages
        .markdown
        .get("SUMMARY.md")
        .map(|summary| {
            links(summary)
                .into_iter()
                .map(|(_, target)| split_fragment(&target).0.to_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut broken = Vec::new();
    for (file, text) in &pages.markdown {
        for (line, target) in links(text) {
            if let Some(problem) = check_target(pages, &in_summary, file, &target) {
                broken.push(BrokenLink {
                    file: file.clone(),
                    line,
                    target,
                    problem,
                });
            }
        }
    }
    broken
}

/// Why `target`, linked from `file`, leads nowhere (`None`: it is fine).
fn check_target(
    pages: &Pages,
    in_summary: &BTreeSet<String>,
    file: &str,
    target: &str,
) -> Option<String> {
    if is_external(target) {
        return None;
    }
    let (path, fragment) = split_fragment(target);
    let page = if path.is_empty() {
        file.to_owned()
    } else {
        if path.starts_with('/') {
            return Some("absolute paths break under a site prefix: use a relative link".into());
        }
        let Some(resolved) = resolve(file, path) else {
            return Some("leaves the book's sources (mdBook does not copy it)".into());
        };
        if resolved.ends_with(".md") {
            if !pages.markdown.contains_key(&resolved) {
                return Some(format!("no page {resolved}"));
            }
            if file != "SUMMARY.md" && !in_summary.contains(&resolved) {
                return Some(format!(
                    "{resolved} is not in SUMMARY.md, so it is not rendered"
                ));
            }
        } else if !pages.other.contains(&resolved) && !pages.markdown.contains_key(&resolved) {
            return Some(format!("no file {resolved} in the book's sources"));
        }
        resolved
    };
    let fragment = fragment?;
    let text = pages.markdown.get(&page)?;
    if heading_ids(text).contains(fragment) {
        None
    } else {
        Some(format!("{page} has no heading with id #{fragment}"))
    }
}

/// The `{{#include …}}` (and `rustdoc_include`) directives whose file or
/// anchor is missing. Paths are relative to the including page's directory
/// and may leave the book (the examples live in `examples/`).
fn broken_includes(src: &Path, pages: &Pages) -> Vec<BrokenLink> {
    let mut broken = Vec::new();
    for (file, text) in &pages.markdown {
        let dir = src
            .join(file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for (line, spec) in includes(text) {
            let mut parts = spec.splitn(2, ':');
            let path = parts.next().unwrap_or("");
            let selector = parts.next();
            let problem = match std::fs::read_to_string(dir.join(path)) {
                Err(err) => Some(format!("cannot read {path}: {err}")),
                Ok(included) => selector
                    .filter(|name| {
                        !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())
                    })
                    .and_then(|name| {
                        let start = included.contains(&format!("ANCHOR: {name}"));
                        let end = included.contains(&format!("ANCHOR_END: {name}"));
                        (!(start && end)).then(|| format!("{path} has no anchor {name}"))
                    }),
            };
            if let Some(problem) = problem {
                broken.push(BrokenLink {
                    file: file.clone(),
                    line,
                    target: format!("{{{{#include {spec}}}}}"),
                    problem,
                });
            }
        }
    }
    broken
}

/// The include directives of a markdown text (in code blocks and code spans
/// too: mdBook expands them there, unless escaped as `\{{#include …}}`):
/// line and `path[:selector]`.
pub(crate) fn includes(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("{{#") {
            let escaped = rest[..at].ends_with('\\');
            let after = &rest[at + 3..];
            let Some(end) = after.find("}}") else { break };
            if escaped {
                // `\{{#include …}}` is mdBook's escape: shown, not expanded.
                rest = &after[end + 2..];
                continue;
            }
            let mut words = after[..end].split_whitespace();
            if matches!(words.next(), Some("include" | "rustdoc_include"))
                && let Some(spec) = words.next()
            {
                found.push((index + 1, spec.to_owned()));
            }
            rest = &after[end + 2..];
        }
    }
    found
}

/// `https:`, `mailto:` and other links with a scheme.
fn is_external(target: &str) -> bool {
    match target.find(':') {
        Some(colon) => {
            let scheme = &target[..colon];
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

fn split_fragment(target: &str) -> (&str, Option<&str>) {
    match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    }
}

/// `path` relative to the directory of `file`, normalised; `None` when it
/// climbs out of the book's sources.
fn resolve(file: &str, path: &str) -> Option<String> {
    let mut parts: Vec<String> = Path::new(file)
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for component in PathBuf::from(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // Out of the book's sources: mdBook does not copy it.
                parts.pop()?;
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    Some(parts.join("/"))
}

/// The links of a markdown text, with their line numbers: inline links
/// `[text](target)` / `![alt](target "title")` and reference definitions
/// `[label]: target`, outside code.
pub(crate) fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut fence: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let marker: String = trimmed
                .chars()
                .take_while(|&c| c == '`' || c == '~')
                .collect();
            fence = Some(marker);
            continue;
        }
        let line_no = index + 1;
        let code_free = without_code_spans(line);
        // A reference definition: `[label]: target`.
        if let Some(rest) = code_free.trim_start().strip_prefix('[')
            && let Some(close) = rest.find("]:")
            && !rest[..close].contains('[')
        {
            if let Some(target) = rest[close + 2..].split_whitespace().next() {
                found.push((line_no, strip_angle(target).to_owned()));
            }
            continue;
        }
        let mut rest = code_free.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let inside = after[..end].trim();
            let target = inside.split_whitespace().next().unwrap_or("");
            if !target.is_empty() {
                found.push((line_no, strip_angle(target).to_owned()));
            }
            rest = &after[end..];
        }
    }
    found
}

fn strip_angle(target: &str) -> &str {
    target
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(target)
}

/// The line with every `code span` blanked out.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else if in_code {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// The ids mdBook gives the headings of a markdown text.
pub(crate) fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fence: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(
                trimmed
                    .chars()
                    .take_while(|&c| c == '`' || c == '~')
                    .collect(),
            );
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let heading = line[hashes..].trim().trim_end_matches('#').trim();
        // `## Title {#custom-id}`
        if let Some(open) = heading.rfind("{#")
            && heading.ends_with('}')
        {
            let custom = &heading[open + 2..heading.len() - 1];
            ids.insert(custom.split_whitespace().next().unwrap_or("").to_owned());
            continue;
        }
        let base = heading_id(heading);
        let count = seen.entry(base.clone()).or_insert(0);
        let id = if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        };
        *count += 1;
        ids.insert(id);
    }
    ids
}

/// mdBook's id of a heading's markdown text: the text as rendered (code
/// spans, emphasis and links reduced to their text), lower-cased; white
/// space becomes `-`; anything but letters, digits, `-` and `_` is dropped.
pub(crate) fn heading_id(heading: &str) -> String {
    rendered_text(heading)
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".to_owned())
            } else {
                None
            }
        })
        .collect()
}

/// The visible text of inline markdown: code spans verbatim; outside them
/// `[text](url)` → `text` and the markers of emphasis removed (`*`, and `_`
/// at the edges of a word — inside a word, or in code, `_` is text).
fn rendered_text(markdown: &str) -> String {
    markdown
        .split('`')
        .enumerate()
        .map(|(index, segment)| {
            if index % 2 == 1 {
                segment.to_owned()
            } else {
                without_emphasis(&without_link_targets(segment))
            }
        })
        .collect()
}

fn without_link_targets(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find("](") {
            Some(close) if after[close + 2..].contains(')') => {
                out.push_str(&after[..close]);
                let tail = &after[close + 2..];
                rest = &tail[tail.find(')').map_or(tail.len(), |i| i + 1)..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn without_emphasis(text: &str) -> String {
    text.replace('*', "")
        .split(' ')
        .map(|word| word.trim_matches('_'))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn book(files: &[(&str, &str)]) -> Pages {
        let mut pages = Pages::default();
        for (name, text) in files {
            if name.ends_with(".md") {
                pages.markdown.insert((*name).into(), (*text).into());
            } else {
                pages.other.insert((*name).into());
            }
        }
        pages
    }

    const SUMMARY: &str = "# Summary\n\n- [Intro](intro.md)\n- [Guide](guides/guide.md)\n";

    #[test]
    fn heading_ids_follow_mdbooks_rule() {
        assert_eq!(heading_id("Getting started"), "getting-started");
        assert_eq!(
            heading_id("The contracts: `ims-api`"),
            "the-contracts-ims-api"
        );
        assert_eq!(heading_id("What's *new*?"), "whats-new");
        assert_eq!(
            heading_id("Use [axum](https://docs.rs/axum) 0.8"),
            "use-axum-08"
        );
        assert_eq!(
            heading_id("snake_case and `AdminIms::new`"),
            "snake_case-and-adminimsnew"
        );
        let ids = heading_ids("# A\n\n## A\n\n```\n# not a heading\n```\n### B {#custom}\n");
        assert!(ids.contains("a") && ids.contains("a-1") && ids.contains("custom"));
        assert!(!ids.contains("not-a-heading") && !ids.contains("b"));
    }

    #[test]
    fn good_links_pass() {
        let pages = book(&[
            ("SUMMARY.md", SUMMARY),
            (
                "intro.md",
                "# Intro\n\n## Crate map\n\nSee [the guide](guides/guide.md#step-1), \
                 [above](#crate-map), [docs](https://docs.rs/x) and ![map](img/map.svg).\n\n\
                 [ref]: guides/guide.md\n",
            ),
            (
                "guides/guide.md",
                "# Guide\n\n## Step 1\n\nBack to [intro](../intro.md#intro).\n",
            ),
            ("img/map.svg", ""),
        ]);
        assert_eq!(broken_links(&pages), vec![]);
    }

    #[test]
    fn broken_links_are_caught_with_their_line() {
        let pages = book(&[
            ("SUMMARY.md", SUMMARY),
            (
                "intro.md",
                "# Intro\n\n[gone](missing.md)\n[orphan](orphan.md)\n[no heading](guides/guide.md#step-9)\n\
                 [self](#nowhere) [pic](img/none.png) [out](../../README.md)\n",
            ),
            ("guides/guide.md", "# Guide\n\n## Step 1\n"),
            ("orphan.md", "# Orphan\n"),
        ]);
        let broken: Vec<(usize, String)> = broken_links(&pages)
            .into_iter()
            .map(|b| (b.line, b.target))
            .collect();
        assert_eq!(
            broken,
            vec![
                (3, "missing.md".into()),
                (4, "orphan.md".into()),
                (5, "guides/guide.md#step-9".into()),
                (6, "#nowhere".into()),
                (6, "img/none.png".into()),
                (6, "../../README.md".into()),
            ]
        );
    }

    #[test]
    fn links_in_code_are_not_links() {
        let text = "`[a](nope.md)` and\n```rust\nlet x = [1](2);\n```\n[real](yes.md)\n";
        assert_eq!(links(text), vec![(5, "yes.md".to_owned())]);
    }

    #[test]
    fn includes_need_their_file_and_anchor() {
        let dir = std::env::temp_dir().join(format!("xtask-docs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("code.rs"),
            "// ANCHOR: main\nfn main() {}\n// ANCHOR_END: main\n",
        )
        .unwrap();
        let page = "```rust\n{{#include ../code.rs:main}}\n{{#include ../code.rs}}\n\
                    {{#include ../code.rs:2:3}}\n{{#include ../code.rs:gone}}\n\
                    {{#include ../missing.rs}}\n```\n`\\{{#include ../escaped.rs}}`\n";
        let pages = book(&[("page.md", page)]);
        let broken: Vec<usize> = broken_includes(&dir.join("src"), &pages)
            .into_iter()
            .map(|b| b.line)
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(broken, vec![5, 6]);
    }

    #[test]
    fn the_real_book_has_no_broken_link() {
        let src = crate::commands::workspace_root().join("docs/src");
        check_links(&src).unwrap();
    }
}
