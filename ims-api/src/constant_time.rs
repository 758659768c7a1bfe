//! Comparing secrets without leaking where they differ.

use subtle::ConstantTimeEq as _;

/// Compares two byte strings in time that does not depend on their contents.
///
/// Use it for every comparison where one side is a secret an attacker may
/// probe byte by byte: OAuth `state`, client secrets, PKCE verifiers, tokens.
/// The time taken depends only on the lengths (a length mismatch returns
/// `false` at once; lengths of such values are not secret). This is the one
/// constant-time comparison of the workspace; it runs over the `subtle`
/// crate.
///
/// ```
/// use ims_api::constant_time_eq;
///
/// assert!(constant_time_eq(b"state-123", b"state-123"));
/// assert!(!constant_time_eq(b"state-123", b"state-124"));
/// assert!(!constant_time_eq(b"state", b"state-123"));
/// ```
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // `subtle`'s slice comparison already answers `false` for different
    // lengths; the explicit check keeps that promise independent of it.
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_inputs_compare_equal() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(&[0u8; 64], &[0u8; 64]));
    }

    #[test]
    fn any_difference_compares_unequal() {
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"bbc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b"a"));
        // A shared prefix of the right length is not enough.
        let mut long = [7u8; 1024];
        let copy = long;
        long[1023] = 8;
        assert!(!constant_time_eq(&long, &copy));
    }
}
