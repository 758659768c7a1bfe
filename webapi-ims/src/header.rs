//! Reading `Authorization: Bearer <token>` strictly.

use ims_api::{AccessToken, TokenRejection};

use crate::AuthError;

/// The longest `Authorization` value accepted (IMS tokens are ~1.5–3 KiB).
pub const MAX_AUTHORIZATION_LEN: usize = 16 * 1024;

/// Extracts the bearer token from the `Authorization` header values of a
/// request, as raw bytes (a header may hold non-UTF-8 bytes, and a request
/// may repeat it).
///
/// Accepted: exactly one header, `Bearer` in any case, one space, then a
/// token of JWT characters (`A-Z a-z 0-9 - _ . = + /`), at most
/// [`MAX_AUTHORIZATION_LEN`] bytes in all. Anything else is refused, never
/// guessed at.
///
/// ```
/// use webapi_ims::{AuthError, parse_bearer};
///
/// let token = parse_bearer(&[b"bEaReR abc.def.ghi"])?;
/// assert_eq!(token.expose_secret(), "abc.def.ghi");
/// assert!(matches!(parse_bearer(&[]), Err(AuthError::MissingCredentials)));
/// assert!(parse_bearer(&[b"Bearer  abc"]).is_err());
/// assert!(parse_bearer(&[b"Bearer a", b"Bearer b"]).is_err());
/// # Ok::<(), AuthError>(())
/// ```
pub fn parse_bearer(values: &[&[u8]]) -> Result<AccessToken, AuthError> {
    checked_token(bearer_value(values.iter().copied())?)
}

/// The token of [`bearer_value`] as an [`AccessToken`], if its characters
/// are a token's: valid UTF-8, JWT characters only.
pub(crate) fn checked_token(token: &[u8]) -> Result<AccessToken, AuthError> {
    let Ok(token) = std::str::from_utf8(token) else {
        return Err(malformed("the Authorization header is not valid UTF-8"));
    };
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=' | b'+' | b'/'))
    {
        return Err(malformed(
            "the bearer token has characters a token cannot have (or extra spaces)",
        ));
    }
    Ok(AccessToken::new(token))
}

/// The structural part of [`parse_bearer`], over a request's
/// `Authorization` values as any framework lists them (every adapter
/// collects them here, without allocating): one header, the `Bearer`
/// scheme, one space, a non-empty token within the length limit — the
/// token's bytes, unchecked otherwise. Cheap enough for every request; a
/// known token was fully checked when first seen.
pub(crate) fn bearer_value<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<&'a [u8], AuthError> {
    let mut values = values.into_iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(AuthError::MissingCredentials),
        (Some(value), None) => value,
        (Some(_), Some(_)) => return Err(malformed("more than one Authorization header")),
    };
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(malformed("the Authorization header is too long"));
    }
    let Some(space) = value.iter().position(|b| *b == b' ') else {
        if std::str::from_utf8(value).is_err() {
            return Err(malformed("the Authorization header is not valid UTF-8"));
        }
        return Err(malformed("expected \"Bearer <token>\""));
    };
    let (scheme, token) = (&value[..space], &value[space + 1..]);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(malformed("the Authorization scheme is not Bearer"));
    }
    if token.is_empty() {
        return Err(malformed("the bearer token is empty"));
    }
    Ok(token)
}

/// [`bearer_value`] of the `Authorization` headers of an `http` request
/// (the axum adapter's layer and extractor).
#[cfg(feature = "axum")]
pub(crate) fn bearer_in(headers: &http::HeaderMap) -> Result<&[u8], AuthError> {
    bearer_value(
        headers
            .get_all(http::header::AUTHORIZATION)
            .iter()
            .map(http::HeaderValue::as_bytes),
    )
}

fn malformed(detail: &str) -> AuthError {
    AuthError::InvalidToken(TokenRejection::Malformed(detail.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_odd_shapes() {
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_LEN));
        let cases: Vec<&[u8]> = vec![
            b"Bearer",
            b"Bearer ",
            b"Bearer  abc",
            b"Bearer abc ",
            b" Bearer abc",
            b"Basic abc",
            b"Bearerabc",
            b"Bearer\tabc",
            b"Bearer a b",
            b"Bearer \xff\xfe",
            b"Bearer abc\"def",
            long.as_bytes(),
        ];
        for case in cases {
            let err = parse_bearer(&[case]).unwrap_err();
            assert!(
                matches!(err, AuthError::InvalidToken(TokenRejection::Malformed(_))),
                "{:?} gave {err:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn accepts_any_case_of_the_scheme() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let value = format!("{scheme} x.y.z");
            assert_eq!(
                parse_bearer(&[value.as_bytes()]).unwrap().expose_secret(),
                "x.y.z"
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes, any number of headers: an answer, never a panic; and
        /// an accepted token is exactly the bytes after "Bearer ".
        #[test]
        fn never_panics_and_accepts_only_the_strict_shape(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..3)
        ) {
            let slices: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            if let Ok(token) = parse_bearer(&slices) {
                prop_assert_eq!(slices.len(), 1);
                let value = slices[0];
                prop_assert!(value.len() > 7);
                prop_assert!(value[..6].eq_ignore_ascii_case(b"bearer"));
                prop_assert_eq!(value[6], b' ');
                prop_assert_eq!(token.expose_secret().as_bytes(), &value[7..]);
            }
        }

        /// Every well-formed header is accepted, whatever the scheme's case.
        #[test]
        fn well_formed_headers_are_accepted(
            upper in proptest::collection::vec(any::<bool>(), 6),
            token in "[A-Za-z0-9_.=+/-]{1,200}",
        ) {
            let scheme: String = "bearer"
                .chars()
                .zip(upper)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            let header = format!("{scheme} {token}");
            let parsed = parse_bearer(&[header.as_bytes()]).unwrap();
            prop_assert_eq!(parsed.expose_secret(), token.as_str());
        }
    }
}
