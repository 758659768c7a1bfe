//! Where each configuration value came from, kept through the merge.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};

/// The source of one configuration value.
///
/// The user's own global file and the process environment are **trusted**;
/// the files found from the working directory (`.aio`, `.env`) are not: any
/// checked-out repository can hold them.
///
/// ```
/// use std::path::PathBuf;
/// use ims_core::Origin;
///
/// let local = Origin::Local(PathBuf::from("/src/project/.aio"));
/// assert!(!local.is_trusted());
/// assert_eq!(local.to_string(), "/src/project/.aio");
/// let env = Origin::Env { variable: "AIO_CLI_ENV".into() };
/// assert!(env.is_trusted());
/// assert_eq!(env.to_string(), "environment variable AIO_CLI_ENV");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// The global aio file (trusted).
    Global(PathBuf),
    /// The working directory's `.aio` (untrusted).
    Local(PathBuf),
    /// A variable of the working directory's `.env` file (untrusted).
    DotEnv {
        /// The `.env` file.
        path: PathBuf,
        /// The variable's name.
        variable: String,
    },
    /// A variable of the process environment (trusted).
    Env {
        /// The variable's name.
        variable: String,
    },
}

impl Origin {
    /// Whether the source is the user's own: the global file or the process
    /// environment.
    pub fn is_trusted(&self) -> bool {
        matches!(self, Origin::Global(_) | Origin::Env { .. })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Global(path) | Origin::Local(path) => write!(f, "{}", path.display()),
            Origin::DotEnv { path, variable } => write!(f, "{} ({variable})", path.display()),
            Origin::Env { variable } => write!(f, "environment variable {variable}"),
        }
    }
}

/// A configuration tree whose every leaf knows its [`Origin`]. No `Debug`:
/// its values hold secrets.
#[derive(Clone)]
pub(crate) enum Node {
    Object(Vec<(String, Node)>),
    Leaf(Value, Origin),
}

impl Node {
    pub(crate) fn empty() -> Self {
        Node::Object(Vec::new())
    }

    /// `value`, every leaf from `origin`; objects stay objects so that they
    /// merge key by key, as the plain tree's do.
    pub(crate) fn annotate(value: Value, origin: &Origin) -> Self {
        match value {
            Value::Object(map) => Node::Object(
                map.into_iter()
                    .map(|(k, v)| (k, Node::annotate(v, origin)))
                    .collect(),
            ),
            other => Node::Leaf(other, origin.clone()),
        }
    }

    /// The plain tree.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Object(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.clone(), v.to_value());
                }
                Value::Object(map)
            }
            Node::Leaf(value, _) => value.clone(),
        }
    }

    fn position(entries: &[(String, Node)], key: &str) -> Option<usize> {
        entries.iter().position(|(k, _)| k == key).or_else(|| {
            entries
                .iter()
                .position(|(k, _)| k.eq_ignore_ascii_case(key))
        })
    }

    /// Deep-merges `source` into `self` exactly as
    /// [`tree::merge`](super::tree::merge) does: objects key by key (ignoring
    /// case, keeping the target's spelling), anything else replaces.
    pub(crate) fn merge(&mut self, source: Node) {
        match (self, source) {
            (Node::Object(target), Node::Object(source)) => {
                for (key, value) in source {
                    match Node::position(target, &key) {
                        Some(i) => target[i].1.merge(value),
                        None => target.push((key, value)),
                    }
                }
            }
            (target, source) => *target = source,
        }
    }

    /// Sets `path` to `node`, creating objects on the way and replacing
    /// non-objects there (as an `AIO_*` variable does).
    pub(crate) fn set(&mut self, path: &[&str], node: Node) {
        let Some((first, rest)) = path.split_first() else {
            *self = node;
            return;
        };
        if !matches!(self, Node::Object(_)) {
            *self = Node::empty();
        }
        let Node::Object(entries) = self else {
            return;
        };
        let i = match Node::position(entries, first) {
            Some(i) => i,
            None => {
                entries.push(((*first).to_owned(), Node::empty()));
                entries.len() - 1
            }
        };
        if rest.is_empty() {
            entries[i].1 = node;
        } else {
            entries[i].1.set(rest, node);
        }
    }

    /// The node at `path`, ignoring case.
    pub(crate) fn get(&self, path: &[&str]) -> Option<&Node> {
        let mut current = self;
        for key in path {
            let Node::Object(entries) = current else {
                return None;
            };
            current = &entries[Node::position(entries, key)?].1;
        }
        Some(current)
    }

    /// Every leaf under this node: its path (relative, in the spelling of
    /// the merged tree) and origin.
    pub(crate) fn leaves(&self) -> Vec<(Vec<String>, &Origin)> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect<'a>(&'a self, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a Origin)>) {
        match self {
            Node::Leaf(_, origin) => out.push((prefix.clone(), origin)),
            Node::Object(entries) => {
                for (k, v) in entries {
                    prefix.push(k.clone());
                    v.collect(prefix, out);
                    prefix.pop();
                }
            }
        }
    }
}

/// The merged configuration with the origin of every value.
///
/// ```
/// use ims_core::{AioConfig, ConfigPaths, Origin};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("aio"), r#"{"ims": {"contexts": {"svc": {"client_id": "c"}}}}"#)?;
/// let config = AioConfig::with_env(
///     ConfigPaths::new(dir.path().join("aio")),
///     [("AIO_IMS_CONTEXTS_SVC_SCOPES", "openid")],
/// );
/// let merged = config.read_merged_with_origins()?;
/// assert_eq!(merged.value()["ims"]["contexts"]["svc"]["client_id"], "c");
/// assert_eq!(
///     merged.origin("ims.contexts.svc.scopes"),
///     Some(&Origin::Env { variable: "AIO_IMS_CONTEXTS_SVC_SCOPES".into() })
/// );
/// let keys: Vec<String> = merged.origins_under("ims.contexts.svc").into_iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["client_id", "scopes"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MergedConfig {
    pub(crate) root: Node,
    value: Value,
}

impl fmt::Debug for MergedConfig {
    /// The keys and their origins, never the values (they hold secrets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (path, origin) in self.root.leaves() {
            map.entry(&path.join("."), &origin.to_string());
        }
        map.finish()
    }
}

impl MergedConfig {
    pub(crate) fn new(root: Node) -> Self {
        let value = root.to_value();
        MergedConfig { root, value }
    }

    /// The merged tree, as [`AioConfig::read_merged`](super::AioConfig::read_merged)
    /// returns it.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The merged value of a dotted key (`cli.env`), ignoring case.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let path: Vec<&str> = key.split('.').collect();
        super::tree::get_path(&self.value, &path)
    }

    /// Where the value of a dotted key (`cli.env`) came from; `None` if the
    /// key is unset or holds an object (whose keys each have their own).
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        let path: Vec<&str> = key.split('.').collect();
        match self.root.get(&path)? {
            Node::Leaf(_, origin) => Some(origin),
            Node::Object(_) => None,
        }
    }

    /// Every value under a dotted key (`ims.contexts.svc`), as its dotted
    /// key relative to it and its origin, in key order.
    pub fn origins_under(&self, key: &str) -> Vec<(String, Origin)> {
        let path: Vec<&str> = key.split('.').collect();
        let mut out: Vec<(String, Origin)> = self
            .root
            .get(&path)
            .map(|node| {
                node.leaves()
                    .into_iter()
                    .map(|(p, o)| (p.join("."), o.clone()))
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub(crate) fn node(&self, path: &[&str]) -> Option<&Node> {
        self.root.get(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aio_config::tree;
    use proptest::prelude::*;

    /// Trees of objects, scalars and arrays over a few keys, so that layers
    /// overlap often.
    fn trees() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[a-z]{0,3}".prop_map(Value::from),
            Just(Value::Null),
            Just(serde_json::json!([1, "x"])),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            proptest::collection::btree_map("[abc]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
    }

    fn upper(value: Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k.to_ascii_uppercase(), upper(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The merge with origins gives the plain merge's tree, and every
        /// value's origin is a layer that holds that very value there.
        #[test]
        fn origins_follow_the_plain_merge(
            global in proptest::collection::btree_map("[abc]", trees(), 0..4),
            local in proptest::collection::btree_map("[abc]", trees(), 0..4),
            env in proptest::collection::btree_map("[abc]", trees(), 0..4),
        ) {
            let object = |m: std::collections::BTreeMap<String, Value>| Value::Object(m.into_iter().collect());
            // The local layer spells its keys in capitals: keys match
            // across layers ignoring case.
            let layers = [
                (object(global), Origin::Global("g".into())),
                (upper(object(local)), Origin::Local(".aio".into())),
                (object(env), Origin::Env { variable: "AIO_X".into() }),
            ];
            let mut plain = Value::Object(Map::new());
            let mut root = Node::empty();
            for (value, origin) in &layers {
                tree::merge(&mut plain, value.clone());
                root.merge(Node::annotate(value.clone(), origin));
            }
            let merged = MergedConfig::new(root);
            prop_assert_eq!(merged.value(), &plain);
            for (path, origin) in merged.root.leaves() {
                let keys: Vec<&str> = path.iter().map(String::as_str).collect();
                let layer = layers.iter().find(|(_, o)| o == origin).map(|(v, _)| v);
                let held = layer.and_then(|v| tree::get_path(v, &keys));
                prop_assert_eq!(held, tree::get_path(&plain, &keys), "{:?} from {}", path, origin);
            }
        }
    }
}
