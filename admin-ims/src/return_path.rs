//! Post-login return paths that can only point inside the host.

use url::Url;

/// The longest return path accepted.
pub const MAX_RETURN_PATH_LEN: usize = 2048;

/// Checks a post-login return path and gives it back normalised, or `None`
/// when it could lead anywhere but this host.
///
/// Only an absolute path is accepted (`/admin/sales?page=2`): no scheme, no
/// host, no protocol-relative `//evil.example`, no backslashes (browsers read
/// `/\evil.example` as `//evil.example`), no control characters or white
/// space, at most [`MAX_RETURN_PATH_LEN`] bytes. Dot segments are resolved
/// and the fragment is dropped.
///
/// ```
/// use admin_ims::sanitize_return_path;
///
/// assert_eq!(sanitize_return_path("/admin/sales?page=2").as_deref(), Some("/admin/sales?page=2"));
/// assert_eq!(sanitize_return_path("/admin/../x/./y").as_deref(), Some("/x/y"));
/// assert_eq!(sanitize_return_path("//evil.example/"), None);
/// assert_eq!(sanitize_return_path("/\\evil.example"), None);
/// assert_eq!(sanitize_return_path("https://evil.example/"), None);
/// assert_eq!(sanitize_return_path("javascript:alert(1)"), None);
/// ```
pub fn sanitize_return_path(candidate: &str) -> Option<String> {
    if candidate.len() > MAX_RETURN_PATH_LEN {
        return None;
    }
    let mut chars = candidate.chars();
    if chars.next() != Some('/') || matches!(chars.next(), Some('/' | '\\')) {
        return None;
    }
    if candidate
        .chars()
        .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    {
        return None;
    }
    // Resolve against a base that can't be confused with anything real, and
    // insist that the result stayed on it.
    let base = Url::parse("http://return-path.invalid/").ok()?;
    let resolved = base.join(candidate).ok()?;
    if resolved.scheme() != "http"
        || resolved.host_str() != Some("return-path.invalid")
        || resolved.port().is_some()
        || !resolved.username().is_empty()
        || resolved.password().is_some()
    {
        return None;
    }
    let path = resolved.path();
    if !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    let mut out = path.to_owned();
    if let Some(query) = resolved.query() {
        out.push('?');
        out.push_str(query);
    }
    (out.len() <= MAX_RETURN_PATH_LEN).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_every_way_out() {
        for hostile in [
            "",
            "admin",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%5Cevil.example",
            "https://evil.example/admin",
            "http:evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "/admin\r\nLocation: https://evil.example",
            "/ad min",
            "/\t/evil.example",
            " /admin",
        ] {
            let out = sanitize_return_path(hostile);
            if let Some(path) = &out {
                assert!(
                    path.starts_with('/') && !path.starts_with("//"),
                    "{hostile:?} -> {path:?}"
                );
                let joined = Url::parse("https://shop.example/")
                    .unwrap()
                    .join(path)
                    .unwrap();
                assert_eq!(joined.host_str(), Some("shop.example"), "{hostile:?}");
            }
            if hostile != "/%5Cevil.example" {
                assert_eq!(out, None, "{hostile:?} accepted");
            }
        }
        assert_eq!(
            sanitize_return_path(&format!("/{}", "a".repeat(3000))),
            None
        );
    }

    #[test]
    fn keeps_paths_and_queries() {
        assert_eq!(sanitize_return_path("/").as_deref(), Some("/"));
        assert_eq!(
            sanitize_return_path("/admin/user/edit?id=7#frag").as_deref(),
            Some("/admin/user/edit?id=7")
        );
        assert_eq!(sanitize_return_path("/../../etc").as_deref(), Some("/etc"));
    }

    fn stays_on_host(path: &str) {
        assert!(path.starts_with('/'));
        assert!(!path.starts_with("//"));
        assert!(!path.contains('\\'));
        for base in [
            "https://shop.example/",
            "https://shop.example/admin/ims/callback",
        ] {
            let joined = Url::parse(base).unwrap().join(path).unwrap();
            assert_eq!(joined.scheme(), "https");
            assert_eq!(joined.host_str(), Some("shop.example"));
            assert_eq!(joined.port(), None);
        }
        // Idempotent: a sanitised path passes again unchanged.
        assert_eq!(sanitize_return_path(path).as_deref(), Some(path));
    }

    proptest! {
        #[test]
        fn never_panics_never_leaves_the_host(input in any::<String>()) {
            if let Some(path) = sanitize_return_path(&input) {
                stays_on_host(&path);
            }
        }

        #[test]
        fn url_like_inputs_never_leave_the_host(
            input in r"[/\\]{0,3}[a-z.:@%/\\?#5Cc]{0,30}"
        ) {
            if let Some(path) = sanitize_return_path(&input) {
                stays_on_host(&path);
            }
        }
    }
}
