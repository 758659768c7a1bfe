//! No import cycles between the modules of a crate.
//!
//! Reads every crate's `src/**/*.rs`, maps each file to its module path
//! (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`), and collects the paths it
//! names with `crate::…`, `super::…` and `self::…` (in `use` lists and in
//! code; comments are skipped, and so is an inline `#[cfg(test)] mod`, by
//! convention at the end of its file: a test may use the whole crate). A path resolves to the deepest module it
//! names, and through one `pub use` re-export in that module's file.
//!
//! The graphs checked are the top-level modules of each crate and the
//! sub-modules of each directory module: a reference from `a::x` to `b::y`
//! is an edge `a -> b` of the crate's graph, one from `a::x` to `a::y` an
//! edge `x -> y` of `a`'s graph; a module naming its own parent or child is
//! no edge. A strongly connected component of more than one module is a
//! cycle, reported with the files that make its edges.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path inside a crate (`[]` is the crate root).
type ModPath = Vec<String>;

/// Where one module names another: the graph's edge and the file that
/// makes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Edge {
    /// The directory module whose graph holds the edge (`""` for the crate).
    pub(crate) parent: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) file: String,
}

/// One crate's source: module path -> file text, and the file's name.
#[derive(Debug, Default)]
pub(crate) struct CrateSource {
    pub(crate) name: String,
    pub(crate) files: BTreeMap<ModPath, (String, String)>,
}

impl CrateSource {
    /// Reads `dir/src/**/*.rs`.
    pub(crate) fn read(name: &str, dir: &Path) -> std::io::Result<Self> {
        let mut source = CrateSource {
            name: name.to_owned(),
            files: BTreeMap::new(),
        };
        let src = dir.join("src");
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let relative = path.strip_prefix(&src).unwrap_or(&path).to_path_buf();
                    let text = fs::read_to_string(&path)?;
                    source.add(&relative, text);
                }
            }
        }
        Ok(source)
    }

    /// Adds the file at `relative` (to `src/`).
    pub(crate) fn add(&mut self, relative: &Path, text: String) {
        let Some(module) = module_path(relative) else {
            return;
        };
        let shown = format!("{}/src/{}", self.name, relative.display());
        // lib.rs wins over main.rs for the root when both exist.
        if module.is_empty() && self.files.contains_key(&module) && shown.ends_with("main.rs") {
            return;
        }
        self.files.insert(module, (shown, text));
    }

    /// Every edge of every graph of the crate.
    pub(crate) fn edges(&self) -> BTreeSet<Edge> {
        let modules: BTreeSet<&ModPath> = self.files.keys().collect();
        let mut edges = BTreeSet::new();
        for (module, (file, text)) in &self.files {
            let is_dir_module =
                file.ends_with("mod.rs") || file.ends_with("lib.rs") || file.ends_with("main.rs");
            for path in referenced_paths(without_test_module(text)) {
                let Some(target) = resolve(module, is_dir_module, &path) else {
                    continue;
                };
                let target = self.deepest_module(&modules, &target);
                if let Some(edge) = edge_between(module, &target, file) {
                    edges.insert(edge);
                }
            }
        }
        edges
    }

    /// The deepest module `path` names, following one `pub use` re-export
    /// of the item right after it.
    fn deepest_module(&self, modules: &BTreeSet<&ModPath>, path: &[String]) -> ModPath {
        let mut depth = 0;
        while depth < path.len() && modules.contains(&path[..=depth].to_vec()) {
            depth += 1;
        }
        let found = path[..depth].to_vec();
        if let (Some(item), Some((file, text))) = (path.get(depth), self.files.get(&found)) {
            let is_dir_module =
                file.ends_with("mod.rs") || file.ends_with("lib.rs") || file.ends_with("main.rs");
            if let Some(target) = reexport_origin(text, item)
                .and_then(|origin| resolve(&found, is_dir_module, &origin))
            {
                let mut depth = 0;
                while depth < target.len() && modules.contains(&target[..=depth].to_vec()) {
                    depth += 1;
                }
                if depth > 0 {
                    return target[..depth].to_vec();
                }
            }
        }
        found
    }
}

/// `text` up to its inline test module (`#[cfg(test)]` on the line before
/// `mod …`), which ends the file by convention.
fn without_test_module(text: &str) -> &str {
    let mut offset = 0;
    let mut previous_is_cfg_test = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if previous_is_cfg_test && trimmed.starts_with("mod ") && trimmed.ends_with('{') {
            let cfg_start = text[..offset]
                .trim_end()
                .rfind("#[cfg(test)]")
                .unwrap_or(offset);
            return &text[..cfg_start];
        }
        previous_is_cfg_test = trimmed == "#[cfg(test)]";
        offset += line.len();
    }
    text
}

/// `a/b.rs`, `a/b/mod.rs` -> `[a, b]`; `lib.rs`, `main.rs` -> `[]`;
/// other roots (`bin/x.rs`) are not modules of the library.
fn module_path(relative: &Path) -> Option<ModPath> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    let stem = last.strip_suffix(".rs")?;
    match stem {
        "lib" | "main" if parts.is_empty() => Some(vec![]),
        "mod" => Some(parts),
        _ => {
            parts.push(stem.to_owned());
            Some(parts)
        }
    }
}

/// The paths a file names starting with `crate`, `super` or `self`,
/// `use` groups expanded (`crate::{a, b::c}` gives `crate::a`, `crate::b::c`).
pub(crate) fn referenced_paths(text: &str) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    let mut paths = Vec::new();
    for start_word in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start_word) {
            let at = from + found;
            from = at + start_word.len();
            let preceded = at > 0 && {
                let c = bytes[at - 1];
                c.is_ascii_alphanumeric() || c == b'_' || c == b':' || c == b'$'
            };
            if preceded {
                continue;
            }
            expand(&code[at..], &mut Vec::new(), &mut paths);
        }
    }
    paths
}

/// Parses one path (with groups) at the start of `text`, appending every
/// full path to `out`; returns how many bytes it read.
fn expand(text: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut read = 0;
    let mut segments: Vec<String> = Vec::new();
    let rest = |read: usize| &text[read..];
    loop {
        let word: String = rest(read)
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() {
            break;
        }
        read += word.len();
        segments.push(word);
        let after = rest(read).trim_start();
        let skipped = rest(read).len() - after.len();
        if let Some(more) = after.strip_prefix("::") {
            let more_trim = more.trim_start();
            read += skipped + 2 + (more.len() - more_trim.len());
            if more_trim.starts_with('{') {
                read += 1;
                let depth = prefix.len();
                prefix.append(&mut segments);
                loop {
                    let inner = rest(read);
                    let trimmed = inner.trim_start();
                    read += inner.len() - trimmed.len();
                    if trimmed.starts_with('}') {
                        read += 1;
                        break;
                    }
                    if trimmed.is_empty() {
                        break;
                    }
                    let used = expand(trimmed, prefix, out);
                    read += used;
                    let inner = rest(read);
                    let trimmed = inner.trim_start();
                    read += inner.len() - trimmed.len();
                    if trimmed.starts_with(',') {
                        read += 1;
                    } else if !trimmed.starts_with('}') {
                        // Not a path list (`self::*`, …): skip to the brace.
                        match trimmed.find(['}', ',']) {
                            Some(n) => read += n,
                            None => break,
                        }
                    }
                }
                prefix.truncate(depth);
                return read;
            }
            continue;
        }
        break;
    }
    let mut full = prefix.clone();
    full.extend(segments);
    if !full.is_empty() {
        out.push(full);
    }
    read
}

/// `crate::a::b` -> `[a, b]`; `super::x` from module `m` -> parent of `m`
/// plus `x` (for a directory module's file, `m` itself is the directory);
/// `self::x` -> `m` plus `x`.
fn resolve(module: &[String], _is_dir_module: bool, path: &[String]) -> Option<ModPath> {
    let mut segments = path.iter().peekable();
    let mut base: ModPath = match segments.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segments.next();
            vec![]
        }
        Some("self") => {
            segments.next();
            module.to_vec()
        }
        Some("super") => {
            let mut base = module.to_vec();
            while segments.peek().is_some_and(|s| *s == "super") {
                segments.next();
                base.pop()?;
            }
            base
        }
        // A relative path inside a `pub use` list: from this module.
        Some(_) => module.to_vec(),
        None => return None,
    };
    for segment in segments {
        if segment == "self" || segment == "super" || segment == "crate" {
            return None;
        }
        base.push(segment.clone());
    }
    Some(base)
}

/// Where `item` comes from if the file re-exports it (`pub use a::b::Item`,
/// `pub(crate) use a::{Item, …}`), as a path to resolve from that module.
fn reexport_origin(text: &str, item: &str) -> Option<Vec<String>> {
    for statement in text.split(';') {
        // The statement starts at its `pub … use` line (comments and
        // attributes may come before it).
        let Some(used) = statement.lines().enumerate().find_map(|(n, line)| {
            let line = line.trim_start();
            let rest = line
                .strip_prefix("pub use ")
                .or_else(|| line.strip_prefix("pub(crate) use "))
                .or_else(|| line.strip_prefix("pub(super) use "))?;
            let after: Vec<&str> = statement.lines().skip(n + 1).collect();
            Some(format!("{rest}\n{}", after.join("\n")))
        }) else {
            continue;
        };
        let mut paths = Vec::new();
        expand(used.trim(), &mut Vec::new(), &mut paths);
        for path in paths {
            if path.last().is_some_and(|last| last == item) {
                return Some(path);
            }
        }
    }
    None
}

/// The edge a reference from `from` to `to` makes, in the graph of their
/// deepest common directory module; none when one contains the other.
fn edge_between(from: &[String], to: &[String], file: &str) -> Option<Edge> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some(Edge {
        parent: from[..common].join("::"),
        from: from[common].clone(),
        to: to[common].clone(),
        file: file.to_owned(),
    })
}

/// The cycles (strongly connected components of two modules or more) of
/// every graph, each as `crate: parent: a -> b -> a (edges: …)`.
pub(crate) fn cycles(crate_name: &str, edges: &BTreeSet<Edge>) -> Vec<String> {
    let mut graphs: BTreeMap<&str, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for edge in edges {
        graphs
            .entry(&edge.parent)
            .or_default()
            .entry(&edge.from)
            .or_default()
            .insert(&edge.to);
    }
    let mut found = Vec::new();
    for (parent, graph) in &graphs {
        for component in strongly_connected(graph) {
            if component.len() < 2 {
                continue;
            }
            let members: BTreeSet<&str> = component.iter().copied().collect();
            let cycle = one_cycle(graph, &members);
            let files: Vec<String> = edges
                .iter()
                .filter(|e| {
                    e.parent == *parent
                        && members.contains(e.from.as_str())
                        && members.contains(e.to.as_str())
                })
                .map(|e| format!("{} -> {} ({})", e.from, e.to, e.file))
                .collect();
            let place = if parent.is_empty() {
                crate_name.to_owned()
            } else {
                format!("{crate_name}::{parent}")
            };
            found.push(format!(
                "{place}: {} (edges: {})",
                cycle.join(" -> "),
                files.join("; ")
            ));
        }
    }
    found
}

/// Tarjan's algorithm, iteratively small enough to write recursively.
fn strongly_connected<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut State<'a>,
    ) {
        let i = state.index.len();
        state.index.insert(node, i);
        state.low.insert(node, i);
        state.stack.push(node);
        state.on_stack.insert(node);
        for &next in graph.get(node).into_iter().flatten() {
            if !state.index.contains_key(next) {
                visit(next, graph, state);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                component.push(top);
                if top == node {
                    break;
                }
            }
            component.sort_unstable();
            state.out.push(component);
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(node, graph, &mut state);
        }
    }
    state.out
}

/// One cycle through the component's first module (by a breadth-first
/// search back to it), as `a -> b -> a`.
fn one_cycle<'a>(
    graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    members: &BTreeSet<&'a str>,
) -> Vec<&'a str> {
    let Some(&start) = members.iter().next() else {
        return vec![];
    };
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &next in graph.get(node).into_iter().flatten() {
            if !members.contains(next) {
                continue;
            }
            if next == start {
                let mut path = vec![start];
                let mut at = node;
                while at != start {
                    path.push(at);
                    at = came_from[at];
                }
                path.push(start);
                let end = path.len() - 1;
                path[1..end].reverse();
                return path;
            }
            if !came_from.contains_key(next) {
                came_from.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    vec![start]
}

/// The crates of the workspace whose sources are checked: every directory
/// of the root with a `Cargo.toml` and a `src/` (vendor/ and fuzz/ are not
/// ours or have no `src/`).
pub(crate) fn workspace_crates(root: &Path) -> Vec<(String, PathBuf)> {
    let mut crates = Vec::new();
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            let dir = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if ["target", "vendor", "fuzz"].contains(&name.as_str()) || name.starts_with('.') {
                continue;
            }
            if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
                crates.push((name, dir));
            }
        }
    }
    crates.sort();
    crates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(files: &[(&str, &str)]) -> CrateSource {
        let mut source = CrateSource {
            name: "demo".into(),
            ..CrateSource::default()
        };
        for (path, text) in files {
            source.add(Path::new(path), (*text).to_owned());
        }
        source
    }

    #[test]
    fn use_groups_and_code_paths_are_read() {
        let paths = referenced_paths(
            "use crate::{a::B, c, d::{e, f::G}};\n// crate::comment::X\nfn f() { super::h::i(); }\n",
        );
        let shown: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
        assert!(shown.contains(&"crate::a::B".to_owned()), "{shown:?}");
        assert!(shown.contains(&"crate::c".to_owned()), "{shown:?}");
        assert!(shown.contains(&"crate::d::e".to_owned()), "{shown:?}");
        assert!(shown.contains(&"crate::d::f::G".to_owned()), "{shown:?}");
        assert!(shown.contains(&"super::h::i".to_owned()), "{shown:?}");
        assert!(!shown.iter().any(|p| p.contains("comment")), "{shown:?}");
    }

    #[test]
    fn a_cycle_between_top_level_modules_is_named() {
        let crate_source = source(&[
            ("lib.rs", "mod state;\nmod wiring;\nmod rest;\n"),
            ("wiring.rs", "use crate::state::AppState;\n"),
            ("state.rs", "use crate::wiring::Config;\n"),
            ("rest.rs", "use crate::state::AppState;\n"),
        ]);
        let found = cycles("demo", &crate_source.edges());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("demo: state -> wiring -> state"),
            "{found:?}"
        );
        assert!(found[0].contains("demo/src/state.rs"), "{found:?}");
    }

    #[test]
    fn a_cycle_through_super_inside_a_directory_module_is_named() {
        let crate_source = source(&[
            ("lib.rs", "mod routes;\n"),
            (
                "routes/mod.rs",
                "mod a;\nmod b;\npub(crate) use a::Thing;\n",
            ),
            ("routes/a.rs", "use super::b::Other;\n"),
            ("routes/b.rs", "use super::Thing;\n"),
        ]);
        let found = cycles("emu", &crate_source.edges());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("emu::routes: a -> b -> a"),
            "{found:?}"
        );
    }

    #[test]
    fn parents_children_and_one_way_edges_are_no_cycle() {
        let crate_source = source(&[
            ("lib.rs", "mod a;\nmod b;\nuse crate::a::X;\n"),
            (
                "a/mod.rs",
                "mod inner;\nuse self::inner::Y;\nuse crate::b::Z;\n",
            ),
            ("a/inner.rs", "use super::X;\nuse crate::b::Z;\n"),
            (
                "b.rs",
                "use crate::Root;\n#[cfg(test)]\nmod tests {\n    use crate::a::X;\n}\n",
            ),
        ]);
        assert!(cycles("ok", &crate_source.edges()).is_empty());
    }
}
