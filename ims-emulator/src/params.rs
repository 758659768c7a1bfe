//! The parameter extractor: IMS accepts the same parameters in the query string, in an
//! `application/x-www-form-urlencoded` body and in a `multipart/form-data` body. [`Params`]
//! merges them (body first), with a size limit and IMS-style errors for anything malformed.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use serde::de::DeserializeOwned;

use crate::error::ImsError;

/// Largest request body accepted (64 KiB).
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// Query and body parameters of a request, merged.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    body: Vec<(String, String)>,
    query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
}

impl Params {
    /// The first non-empty value of `name`: body first, then query.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.body
            .iter()
            .chain(self.query.iter())
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `name` in the body only (never the query string).
    pub(crate) fn body_value(&self, name: &str) -> Option<&str> {
        self.body
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A required parameter, or 400 `invalid_request`.
    pub(crate) fn require(&self, name: &str) -> Result<&str, ImsError> {
        self.get(name)
            .ok_or_else(|| ImsError::invalid_request(format!("missing required parameter: {name}")))
    }

    /// All body and query pairs (body first).
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.body
            .iter()
            .chain(self.query.iter())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The bearer token of the `Authorization` header.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
    }

    /// `client_id`/`client_secret` of an `Authorization: Basic` header.
    pub(crate) fn basic_credentials(&self) -> Result<Option<(String, String)>, ImsError> {
        let Some(value) = self.headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let bad = || ImsError::bad("invalid_client", "malformed Basic authorization header");
        let value = value.to_str().map_err(|_| bad())?.trim();
        let Some((scheme, encoded)) = value.split_once(' ') else {
            return Ok(None);
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Ok(None);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
        let id = percent_decode(id);
        let secret = percent_decode(secret);
        Ok(Some((id, secret)))
    }
}

/// Basic credentials are form-encoded by RFC 6749 §2.3.1 clients; decode `%XX` and `+`.
fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

fn too_large() -> ImsError {
    ImsError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        format!("the request body exceeds {BODY_LIMIT} bytes"),
    )
}

/// Reads the whole body, at most [`BODY_LIMIT`] bytes.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ImsError> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > BODY_LIMIT as u64
    {
        return Err(too_large());
    }
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| too_large())
}

fn parse_urlencoded(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ImsError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let query = parts
            .uri
            .query()
            .map(|q| parse_urlencoded(q.as_bytes()))
            .unwrap_or_default();
        let bytes = read_body(&parts.headers, body).await?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let body = if bytes.is_empty() {
            Vec::new()
        } else if mime == "application/x-www-form-urlencoded"
            || (mime.is_empty() && !bytes.is_empty())
        {
            if std::str::from_utf8(&bytes).is_err() {
                return Err(ImsError::invalid_request(
                    "the form body is not valid UTF-8",
                ));
            }
            parse_urlencoded(&bytes)
        } else if mime == "multipart/form-data" {
            let headers = parts.headers.clone();
            let rebuilt = Request::from_parts(parts, Body::from(bytes));
            let mut multipart = Multipart::from_request(rebuilt, state).await.map_err(|e| {
                ImsError::invalid_request(format!("malformed multipart body: {}", e.body_text()))
            })?;
            let mut fields = Vec::new();
            loop {
                match multipart.next_field().await {
                    Ok(Some(field)) => {
                        let name = field.name().unwrap_or_default().to_owned();
                        let value = field.text().await.map_err(|e| {
                            ImsError::invalid_request(format!("malformed multipart body: {e}"))
                        })?;
                        fields.push((name, value));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(ImsError::invalid_request(format!(
                            "malformed multipart body: {e}"
                        )));
                    }
                }
            }
            return Ok(Params {
                body: fields,
                query,
                headers,
            });
        } else {
            return Err(ImsError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                format!(
                    "unsupported content type {mime}: use application/x-www-form-urlencoded or multipart/form-data"
                ),
            ));
        };
        Ok(Params {
            body,
            query,
            headers: parts.headers,
        })
    }
}

/// A JSON body (control API), size-limited, with IMS-style errors.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ImsError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let bytes = read_body(&parts.headers, body).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ImsError::invalid_request(format!("invalid JSON body: {e}")))
    }
}
