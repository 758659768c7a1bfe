//! JSON equality for round-trip checks, shared by the targets that use it
//! (`mod json_eq;`).

use serde_json::Value;

/// `a == b`, except that floats may differ in their last bit: serde_json's
/// default float parser is best-effort (exact parsing is its
/// `float_roundtrip` feature, which this project does not enable), so a
/// float written and read back may move by one ULP. Nothing else may move.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => {
                    x == y || (x - y).abs() <= x.abs().max(y.abs()) * 4.0 * f64::EPSILON
                }
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
