//! Splitting and decoding JWTs, with limits: at most [`MAX_TOKEN_LEN`]
//! bytes, exactly three parts, strict base64url, JSON objects only (serde_json
//! refuses nesting deeper than 128). Nothing here verifies a signature.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ims_api::{Error, TokenRejection};
use serde::Deserialize;

/// The longest token accepted, in bytes. IMS access tokens are 1–2 KiB; a
/// token beyond this is refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A JWT cut into its parts, nothing decoded yet.
pub(crate) struct Parts<'a> {
    /// `base64url(header) "." base64url(payload)`: the signed bytes.
    pub(crate) signed: &'a str,
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

/// The header fields the verifier looks at.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    /// The signing algorithm; only `RS256` is accepted.
    pub(crate) alg: String,
    /// The id of the signing key in IMS's JWKS.
    #[serde(default)]
    pub(crate) kid: Option<String>,
    /// The file name of the signing certificate.
    #[serde(default)]
    pub(crate) x5u: Option<String>,
    /// Unused beyond parsing: IMS sends `JWT` or nothing.
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) typ: Option<String>,
    /// IMS's token type hint (`at`); informative, the `type` claim decides.
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) itt: Option<String>,
    /// RFC 7515 critical extensions: none is understood, so any is refused.
    #[serde(default)]
    pub(crate) crit: Option<serde_json::Value>,
}

fn malformed(detail: impl Into<String>) -> Error {
    Error::InvalidToken(TokenRejection::Malformed(detail.into()))
}

/// Cuts a token into exactly three non-empty parts (the signature may be
/// empty when `allow_empty_signature`), after the length check.
pub(crate) fn split(token: &str, allow_empty_signature: bool) -> Result<Parts<'_>, Error> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(malformed(format!(
            "the token is longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    if token.is_empty() {
        return Err(malformed("the token is empty"));
    }
    let mut pieces = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(malformed("a JWT has exactly three dot-separated parts"));
    };
    if header.is_empty() || payload.is_empty() || (signature.is_empty() && !allow_empty_signature) {
        return Err(malformed("a part of the JWT is empty"));
    }
    let signed = &token[..header.len() + 1 + payload.len()];
    Ok(Parts {
        signed,
        header,
        payload,
        signature,
    })
}

/// Decodes one base64url part. With `tolerate_padding`, trailing `=` are
/// ignored (as aio's `getTokenData` does).
pub(crate) fn b64(part: &str, what: &str, tolerate_padding: bool) -> Result<Vec<u8>, Error> {
    let part = if tolerate_padding {
        part.trim_end_matches('=')
    } else {
        part
    };
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| malformed(format!("the {what} is not base64url")))
}

/// Decodes and parses the header (a JSON object).
pub(crate) fn header(parts: &Parts<'_>, tolerate_padding: bool) -> Result<Header, Error> {
    let bytes = b64(parts.header, "header", tolerate_padding)?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err(malformed("the header is not UTF-8"));
    }
    serde_json::from_slice(&bytes).map_err(|err| malformed(json_problem("header", &err)))
}

/// Decodes and parses the payload as a JSON object.
pub(crate) fn payload(
    parts: &Parts<'_>,
    tolerate_padding: bool,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    payload_json(&b64(parts.payload, "payload", tolerate_padding)?)
}

/// Parses decoded payload bytes as a JSON object.
pub(crate) fn payload_json(
    bytes: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed("the payload is not a JSON object")),
        Err(err) => Err(malformed(json_problem("payload", &err))),
    }
}

/// What is wrong with a part's JSON, without quoting it.
fn json_problem(what: &str, err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let problem = match err.classify() {
        Category::Io | Category::Syntax => "is not valid JSON",
        Category::Eof => "is truncated JSON",
        Category::Data => "does not have the expected shape",
    };
    if err.to_string().contains("recursion limit") {
        format!("the {what} is nested too deeply")
    } else {
        format!("the {what} {problem}")
    }
}

/// Decodes a token's payload **without verifying anything**, for display:
/// what aio's `getTokenData` does. Base64url padding is tolerated, the
/// signature part may be empty, and the same size and shape limits as for
/// verification apply.
///
/// Never base a decision on the result: use
/// [`LocalVerifier`](crate::LocalVerifier) or a
/// [`TokenValidator`](ims_api::TokenValidator) for that.
///
/// ```
/// use base64::Engine as _;
/// use base64::engine::general_purpose::URL_SAFE_NO_PAD;
///
/// let payload = URL_SAFE_NO_PAD.encode(r#"{"type":"access_token","client_id":"my_client"}"#);
/// let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
/// let claims = ims_core::decode_unverified(&token)?;
/// assert_eq!(claims["client_id"], "my_client");
///
/// assert!(ims_core::decode_unverified("not-a-jwt").is_err());
/// # Ok::<(), ims_api::Error>(())
/// ```
pub fn decode_unverified(token: &str) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let parts = split(token.trim(), true)?;
    // The header must be sound too: a display of garbage helps nobody.
    header(&parts, true)?;
    payload(&parts, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn is_malformed(result: Result<impl std::fmt::Debug, Error>) -> bool {
        matches!(
            result,
            Err(Error::InvalidToken(TokenRejection::Malformed(_)))
        )
    }

    #[test]
    fn counts_parts() {
        let h = enc(r#"{"alg":"RS256"}"#);
        let p = enc("{}");
        assert!(split(&format!("{h}.{p}.s"), false).is_ok());
        assert!(is_malformed(split(&format!("{h}.{p}"), false).map(|_| ())));
        assert!(is_malformed(
            split(&format!("{h}.{p}.s.x"), false).map(|_| ())
        ));
        assert!(is_malformed(split(&format!("{h}.{p}."), false).map(|_| ())));
        assert!(split(&format!("{h}.{p}."), true).is_ok());
        assert!(is_malformed(split("", false).map(|_| ())));
        assert!(is_malformed(split("..", true).map(|_| ())));
    }

    #[test]
    fn signed_part_is_header_dot_payload() {
        let parts = split("aa.bb.cc", false).unwrap();
        assert_eq!(parts.signed, "aa.bb");
        assert_eq!(parts.signature, "cc");
    }

    #[test]
    fn refuses_oversized_tokens_before_decoding() {
        let token = "a".repeat(MAX_TOKEN_LEN + 1);
        let err = split(&token, false).err().unwrap();
        assert!(err.to_string().contains("longer than"), "{err}");
    }

    #[test]
    fn padding_is_tolerated_only_when_asked() {
        // `{}` is "e30" unpadded, "e30=" padded.
        assert!(b64("e30=", "payload", true).is_ok());
        assert!(b64("e30=", "payload", false).is_err());
        assert!(b64("e3+/", "payload", true).is_err());
    }

    #[test]
    fn decode_unverified_reads_payload_and_rejects_garbage() {
        let h = enc(r#"{"alg":"none"}"#);
        let p = format!("{}=", enc(r#"{"type":"access_token","a":1}"#));
        let claims = decode_unverified(&format!("{h}.{p}.")).unwrap();
        assert_eq!(claims["type"], "access_token");
        assert!(is_malformed(decode_unverified(&format!(
            "{h}.{}.",
            enc("[1]")
        ))));
        assert!(is_malformed(decode_unverified(&format!(
            "{h}.{}.",
            enc("{")
        ))));
        assert!(is_malformed(decode_unverified(&format!("{h}.!!.x"))));
    }

    #[test]
    fn deep_nesting_is_malformed_not_a_stack_overflow() {
        let h = enc(r#"{"alg":"RS256"}"#);
        let bomb = enc(&format!("{}{}", "[".repeat(5000), "]".repeat(5000)));
        let err = decode_unverified(&format!("{h}.{bomb}.s")).unwrap_err();
        assert!(err.to_string().contains("nested too deeply"), "{err}");
    }

    #[test]
    fn non_utf8_header_is_malformed() {
        let h = URL_SAFE_NO_PAD.encode([0xff, 0xfe, b'{', b'}']);
        let p = enc("{}");
        let err = decode_unverified(&format!("{h}.{p}.s")).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text is decoded or refused as malformed: never a panic, never
        /// another kind of error.
        #[test]
        fn decoding_never_panics(token in ".{0,300}") {
            if let Err(err) = decode_unverified(&token) {
                prop_assert!(
                    matches!(err, Error::InvalidToken(TokenRejection::Malformed(_))),
                    "{err:?}"
                );
            }
        }

        /// Three base64url parts of arbitrary bytes: decoded or malformed.
        #[test]
        fn arbitrary_parts_never_panic(
            header in proptest::collection::vec(any::<u8>(), 0..80),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let token = format!(
                "{}.{}.sig",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(payload)
            );
            let _ = decode_unverified(&token);
        }

        /// A token's claims survive the round trip, with or without padding.
        #[test]
        fn payloads_round_trip(id in "[a-z0-9]{1,20}", pad in any::<bool>()) {
            let payload = serde_json::json!({"id": id, "type": "access_token"}).to_string();
            let mut encoded = URL_SAFE_NO_PAD.encode(&payload);
            if pad {
                while !encoded.len().is_multiple_of(4) {
                    encoded.push('=');
                }
            }
            let token = format!("{}.{encoded}.sig", URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#));
            let claims = decode_unverified(&token).unwrap();
            prop_assert_eq!(claims["id"].as_str(), Some(id.as_str()));
        }
    }
}
