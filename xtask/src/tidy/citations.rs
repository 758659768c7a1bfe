//! The repository cites no file outside itself.
//!
//! Earlier sessions pointed readers at a wire protocol specification kept
//! next to the repository (a sibling `shared` directory), which users of
//! the project do not have. The protocol is described in the book
//! (`docs/src/wire-protocol.md`); no tracked file may point outside again.

/// What a tracked file must not mention. Built from pieces so that this
/// file does not match itself.
pub(crate) fn forbidden() -> [String; 2] {
    [
        format!("../{}", "shared"),
        format!("ims-wire-{}.md", "protocol"),
    ]
}

/// The forbidden mentions in `text`, as `path:line: text`.
pub(crate) fn mentions(path: &str, text: &str) -> Vec<String> {
    let needles = forbidden();
    text.lines()
        .enumerate()
        .filter(|(_, line)| needles.iter().any(|n| line.contains(n.as_str())))
        .map(|(n, line)| format!("{path}:{}: {}", n + 1, line.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_citations_are_found() {
        let text = format!(
            "fine\nsee {}/reference/x\nand {}\n",
            forbidden()[0],
            forbidden()[1]
        );
        let found = mentions("README.md", &text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("README.md:2: "), "{found:?}");
        assert!(mentions("a.md", "docs/src/wire-protocol.md\n").is_empty());
    }
}
