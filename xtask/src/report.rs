//! `BENCHMARKS.md`: one file, several writers. Each command that measures
//! something (`bench`, `fuzz`, `reliability`, `fleet`) owns named sections and
//! replaces only those, so running one command keeps the others' last
//! results.
//!
//! A section is the text between `<!-- xtask:begin NAME -->` and
//! `<!-- xtask:end NAME -->`; a new section is appended at the end.

use std::path::PathBuf;
use std::process::Command;

use crate::commands::{Result, workspace_root};

const HEADER: &str = "# Benchmarks\n\n\
Written by `cargo xtask bench`, `fuzz`, `reliability` and `fleet`\n\
(do not edit by hand: each command replaces its own sections). Absolute numbers\n\
drift between machines; each figure that matters is a ratio against a baseline\n\
measured side by side in the same run, or a count.\n";

fn path() -> PathBuf {
    workspace_root().join("BENCHMARKS.md")
}

/// Replaces (or appends) section `name` of `BENCHMARKS.md` with `markdown`.
pub(crate) fn write_section(name: &str, markdown: &str) -> Result {
    let path = path();
    let current = match std::fs::read_to_string(&path) {
        Ok(text) if text.contains("<!-- xtask:begin ") => text,
        // A missing file, or one from before sections existed.
        _ => HEADER.to_owned(),
    };
    let updated = replace_section(&current, name, markdown);
    std::fs::write(&path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("xtask: wrote section {name:?} of {}", path.display());
    Ok(())
}

fn replace_section(document: &str, name: &str, markdown: &str) -> String {
    let begin = format!("<!-- xtask:begin {name} -->");
    let end = format!("<!-- xtask:end {name} -->");
    let block = format!("{begin}\n{}\n{end}", markdown.trim_end());
    if let Some(start) = document.find(&begin)
        && let Some(stop) = document[start..].find(&end)
    {
        let stop = start + stop + end.len();
        return format!("{}{block}{}", &document[..start], &document[stop..]);
    }
    format!("{}\n\n{block}\n", document.trim_end_matches('\n'))
}

/// The machine the figures come from, as a section body.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let rustc = output("rustc", &["--version"]).unwrap_or_default();
    format!(
        "## Machine\n\n- CPU: {cpu}, {cores} cores available\n- {}\n",
        rustc.trim()
    )
}

/// What `program args` prints, when it runs and succeeds.
pub(crate) fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_section_is_appended_and_an_old_one_replaced_in_place() {
        let doc = replace_section(HEADER, "a", "## A\n\nfirst\n");
        let doc = replace_section(&doc, "b", "## B\n");
        let doc = replace_section(&doc, "a", "## A\n\nsecond");
        assert!(doc.starts_with("# Benchmarks"));
        assert!(doc.contains("second"));
        assert!(!doc.contains("first"));
        let a = doc.find("## A").unwrap();
        let b = doc.find("## B").unwrap();
        assert!(a < b, "sections keep their order:\n{doc}");
        assert_eq!(doc.matches("<!-- xtask:begin a -->").count(), 1);
    }
}
