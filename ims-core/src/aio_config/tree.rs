//! Case-insensitive access to a JSON configuration tree, as aio's keys are
//! case-insensitive.

use serde_json::{Map, Value};

/// The key of `map` equal to `key` ignoring ASCII case (an exact match wins).
pub(crate) fn find_key<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a String> {
    if let Some((k, _)) = map.get_key_value(key) {
        return Some(k);
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(key))
}

/// `map[key]`, ignoring ASCII case.
pub(crate) fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    find_key(map, key).and_then(|k| map.get(k))
}

/// The value at a dotted path (`["ims", "contexts", "x"]`), ignoring case.
pub(crate) fn get_path<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut current = value;
    for key in path {
        current = get_ci(current.as_object()?, key)?;
    }
    Some(current)
}

/// Removes `map[key]`, ignoring ASCII case (every spelling of the key).
pub(crate) fn remove_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let keys: Vec<String> = map
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .collect();
    let mut removed = None;
    for k in keys {
        if let Some(v) = map.remove(&k) {
            removed.get_or_insert(v);
        }
    }
    removed
}

/// Sets `map[key]`, keeping the spelling of an existing key.
pub(crate) fn insert_ci(map: &mut Map<String, Value>, key: &str, value: Value) {
    let key = find_key(map, key)
        .cloned()
        .unwrap_or_else(|| key.to_owned());
    map.insert(key, value);
}

/// The object at `path` under `value`, created where missing; a non-object on
/// the way (or `value` itself) is replaced by an empty object.
pub(crate) fn object_at_mut<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut current = value;
    for key in path {
        let map = ensure_object(current);
        let key = find_key(map, key)
            .cloned()
            .unwrap_or_else(|| (*key).to_owned());
        current = map.entry(key).or_insert(Value::Null);
    }
    ensure_object(current)
}

/// The object at `path`, if it exists, without creating anything.
pub(crate) fn existing_object_mut<'a>(
    value: &'a mut Value,
    path: &[&str],
) -> Option<&'a mut Map<String, Value>> {
    let mut current = value;
    for key in path {
        let map = current.as_object_mut()?;
        let key = find_key(map, key)?.clone();
        current = map.get_mut(&key)?;
    }
    current.as_object_mut()
}

fn ensure_object(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        // Made an object just above.
        _ => unreachable!("value was just made an object"),
    }
}

/// Deep-merges `source` into `target`: objects merge key by key (ignoring
/// case), anything else in `source` replaces what `target` has.
///
/// The reference the merge with origins (`origin::Node::merge`, which reads
/// use) is tested against.
#[cfg(test)]
pub(crate) fn merge(target: &mut Value, source: Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match find_key(target, &key).cloned() {
                    Some(existing) => {
                        if let Some(slot) = target.get_mut(&existing) {
                            merge(slot, value);
                        }
                    }
                    None => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (target, source) => *target = source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookups_ignore_case_and_merge_deeply() {
        let mut base = json!({"IMS": {"contexts": {"A": {"client_id": "x", "keep": 1}}}});
        merge(
            &mut base,
            json!({"ims": {"Contexts": {"a": {"client_id": "y"}}}}),
        );
        assert_eq!(
            get_path(&base, &["ims", "contexts", "a", "client_id"]),
            Some(&json!("y"))
        );
        assert_eq!(
            get_path(&base, &["ims", "contexts", "a", "keep"]),
            Some(&json!(1))
        );
        let map = object_at_mut(&mut base, &["ims", "config"]);
        map.insert("current".into(), json!("a"));
        assert_eq!(
            get_path(&base, &["ims", "config", "current"]),
            Some(&json!("a"))
        );
    }

    #[test]
    fn object_at_replaces_scalars() {
        let mut v = json!({"ims": 3});
        object_at_mut(&mut v, &["ims", "contexts"]);
        assert_eq!(v, json!({"ims": {"contexts": {}}}));
    }
}
