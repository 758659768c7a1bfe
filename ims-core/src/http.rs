//! The one HTTP transport of every IMS call: timeouts, retries with
//! exponential backoff and jitter within a total deadline, `Retry-After`, and
//! the mapping of IMS answers to [`ims_api::Error`].
//!
//! Nothing here logs a request or response body, and error text carries
//! neither URLs' query strings nor bodies we sent.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use ims_api::{Error, ImsRefusal};
use rand::RngExt as _;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::{Host, Url};

/// Timeouts and retries applied to every IMS call.
///
/// ```
/// use std::time::Duration;
/// use ims_core::HttpPolicy;
///
/// let policy = HttpPolicy::default();
/// assert_eq!(policy.max_retries, 3);
/// assert!(policy.attempt_timeout <= policy.deadline);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpPolicy {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time one attempt may take, connection included.
    pub attempt_timeout: Duration,
    /// Time all attempts of one call may take together, waits included.
    pub deadline: Duration,
    /// Retries after the first attempt (connect errors, 5xx and 429 only;
    /// never for a one-time authorization code).
    pub max_retries: u32,
    /// The first backoff; it doubles with each retry, with full jitter.
    pub initial_backoff: Duration,
    /// The longest backoff between two attempts.
    pub max_backoff: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(30),
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl HttpPolicy {
    /// The backoff before retry number `retry` (1-based): a random duration
    /// up to `initial_backoff * 2^(retry-1)`, capped by `max_backoff`.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let cap = exp.min(self.max_backoff);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

/// Whether a call may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Retrying cannot do harm (reads, validations, client credentials).
    Safe,
    /// The call consumes something single-use (an authorization code): it is
    /// sent once, whatever happens.
    Never,
}

/// One IMS call, before it is sent.
pub(crate) struct Call {
    method: Method,
    url: Url,
    form: Vec<(&'static str, String)>,
    /// A JSON body (sent instead of the form).
    json: Option<Vec<u8>>,
    bearer: Option<String>,
    basic: Option<(String, String)>,
    headers: Vec<(&'static str, String)>,
    retry: Retry,
    /// A 3xx is the answer (status and `Location`), still never followed.
    answer_redirects: bool,
}

impl fmt::Debug for Call {
    /// Method and path only: the body and credentials may be secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("path", &self.url.path())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// A GET of `url`.
    pub(crate) fn get(url: Url) -> Self {
        Call::new(Method::GET, url)
    }

    /// A POST of a form to `url`.
    pub(crate) fn post(url: Url) -> Self {
        Call::new(Method::POST, url)
    }

    fn new(method: Method, url: Url) -> Self {
        Call {
            method,
            url,
            form: Vec::new(),
            json: None,
            bearer: None,
            basic: None,
            headers: Vec::new(),
            retry: Retry::Safe,
            answer_redirects: false,
        }
    }

    /// Adds a form field (sent `application/x-www-form-urlencoded`).
    pub(crate) fn field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.form.push((name, value.into()));
        self
    }

    /// Sends `body` as `application/json` instead of a form.
    pub(crate) fn json_body(mut self, body: Vec<u8>) -> Self {
        self.json = Some(body);
        self
    }

    /// Adds a form field when there is a value.
    pub(crate) fn field_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.field(name, value),
            None => self,
        }
    }

    /// Sends `Authorization: Bearer <token>`.
    pub(crate) fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_owned());
        self
    }

    /// Sends `Authorization: Basic base64(user:password)`.
    pub(crate) fn basic(mut self, user: &str, password: &str) -> Self {
        self.basic = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Adds a request header.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Makes a redirect the answer (its status and `Location`) instead of a
    /// refusal; it is still never followed, so nothing the call carries goes
    /// anywhere else. For the operator's probe of the authorize URL and the
    /// front-channel logout, whose answer is a redirect.
    pub(crate) fn answer_redirects(mut self) -> Self {
        self.answer_redirects = true;
        self
    }

    /// Marks the call as single-use: never retried.
    pub(crate) fn never_retry(mut self) -> Self {
        self.retry = Retry::Never;
        self
    }
}

/// A successful (2xx) answer of IMS.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: StatusCode,
    /// The `x-debug-id` header.
    pub(crate) debug_id: Option<String>,
    /// The `Location` header of a redirect answered by
    /// [`Call::answer_redirects`].
    pub(crate) location: Option<String>,
    /// The body.
    pub(crate) body: Bytes,
}

impl Answer {
    /// Parses the body as JSON; a body that does not parse is a refusal with
    /// error `invalid_response` (IMS answered, but not as documented).
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|err| {
            let mut refusal = ImsRefusal::new(self.status.as_u16(), "invalid_response")
                .with_description(format!("IMS's answer did not parse: {err}"));
            refusal.debug_id = self.debug_id.clone();
            Error::Refused(refusal)
        })
    }
}

/// Whether `url` may receive credentials: `https`, or `http` to loopback.
///
/// ```
/// use url::Url;
/// use ims_core::ims_url_is_allowed;
///
/// assert!(ims_url_is_allowed(&Url::parse("https://ims-na1.adobelogin.com")?));
/// assert!(ims_url_is_allowed(&Url::parse("http://127.0.0.1:9800")?));
/// assert!(ims_url_is_allowed(&Url::parse("http://localhost:9800")?));
/// assert!(ims_url_is_allowed(&Url::parse("http://[::1]:9800")?));
/// assert!(!ims_url_is_allowed(&Url::parse("http://ims.example.com")?));
/// assert!(!ims_url_is_allowed(&Url::parse("http://localhost.example.com")?));
/// assert!(!ims_url_is_allowed(&Url::parse("http://localhost.:9800")?));
/// # Ok::<(), url::ParseError>(())
/// ```
pub fn ims_url_is_allowed(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            // `localhost` exactly: the transport resolves it to loopback
            // itself. `localhost.` and `*.localhost` go past `/etc/hosts` to
            // DNS, whose answer can be anywhere.
            Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

/// The largest answer read from IMS, in bytes. IMS's answers are a few KB
/// (tokens, profiles, organizations) and its key sets tens of KB; a larger
/// answer is refused while it is read (`answer_too_large`), never buffered
/// whole.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The HTTP client shared by every IMS call of a process.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
    policy: HttpPolicy,
}

impl Transport {
    /// A transport with `policy`; system proxies (`HTTPS_PROXY`, …) are
    /// honoured.
    pub(crate) fn new(policy: HttpPolicy) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            // IMS answers every call directly. A redirect is refused, never
            // followed: reqwest would re-send a 307/308's form (a client
            // secret, a code) and its `Authorization` to wherever the
            // `Location` points.
            .redirect(reqwest::redirect::Policy::none())
            // `localhost` is the one name plain http may reach: it is
            // loopback whatever `/etc/hosts` and DNS say.
            .resolve_to_addrs(
                "localhost",
                &[
                    SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                    SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
                ],
            )
            .user_agent(concat!("ims-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| {
                Error::Misconfigured(format!(
                    "cannot build the HTTP client: {}",
                    err.without_url()
                ))
            })?;
        Ok(Transport { client, policy })
    }

    /// The policy in force.
    pub(crate) fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// Sends a call, retrying what may be retried, and maps the outcome:
    /// 2xx → [`Answer`]; 5xx, 429, connect errors and timeouts →
    /// [`Error::Unavailable`] once retries or the deadline are spent; any
    /// other status → [`Error::Refused`] with IMS's error body.
    pub(crate) async fn send(&self, call: &Call) -> Result<Answer, Error> {
        if !ims_url_is_allowed(&call.url) {
            return Err(Error::Misconfigured(format!(
                "{} {}://{}{}: IMS URLs must be https, or http to a loopback address \
                 (127.0.0.0/8, localhost, [::1]); nothing was sent",
                call.method,
                call.url.scheme(),
                call.url.host_str().unwrap_or(""),
                call.url.path()
            )));
        }
        let endpoint = crate::metrics::endpoint_name(call.url.path());
        let started = Instant::now();
        let deadline = started + self.policy.deadline;
        let mut retry = 0u32;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = self.policy.attempt_timeout.min(remaining);
            let outcome = self.attempt(call, endpoint, timeout).await;
            let (failure, retry_after) = match outcome {
                Attempt::Answer(answer) => return Ok(answer),
                Attempt::Refused(refusal) => return Err(Error::Refused(refusal)),
                Attempt::Unavailable {
                    detail,
                    retry_after,
                } => (detail, retry_after),
            };
            retry += 1;
            let wait = retry_after.unwrap_or_else(|| self.policy.backoff(retry));
            let can_retry = call.retry == Retry::Safe
                && retry <= self.policy.max_retries
                && Instant::now() + wait < deadline;
            tracing::debug!(
                method = %call.method,
                path = call.url.path(),
                attempt = retry,
                will_retry = can_retry,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "IMS call failed: {failure}"
            );
            if !can_retry {
                crate::metrics::unavailable(endpoint);
                return Err(Error::Unavailable {
                    detail: failure,
                    retry_after,
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, call: &Call, endpoint: &'static str, timeout: Duration) -> Attempt {
        let mut request = self
            .client
            .request(call.method.clone(), call.url.clone())
            .timeout(timeout);
        if let Some(json) = &call.json {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json.clone());
        } else if !call.form.is_empty() {
            request = request.form(&call.form);
        }
        if let Some(token) = &call.bearer {
            request = request.bearer_auth(token);
        }
        if let Some((user, password)) = &call.basic {
            request = request.basic_auth(user, Some(password));
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        let where_ = format!("{} {}", call.method, call.url.path());
        let sent = std::time::Instant::now();
        let response = request.send().await;
        crate::metrics::attempt(
            endpoint,
            response.as_ref().ok().map(|r| r.status().as_u16()),
            sent.elapsed(),
        );
        let response = match response {
            Ok(response) => response,
            Err(err) => {
                return Attempt::Unavailable {
                    detail: transport_failure(&where_, err),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let debug_id = header(response.headers(), "x-debug-id");
        let retry_after = retry_after(response.headers());
        if status.is_redirection() && call.answer_redirects {
            return Attempt::Answer(Answer {
                status,
                location: header(response.headers(), "location"),
                debug_id,
                body: Bytes::new(),
            });
        }
        if status.is_redirection() {
            tracing::debug!(
                method = %call.method,
                path = call.url.path(),
                status = status.as_u16(),
                "IMS answered with a redirect, which is not followed"
            );
            let mut refusal = ImsRefusal::new(status.as_u16(), "redirect_refused").with_description(
                format!(
                    "{where_} answered with a redirect ({status}); IMS answers directly, and a redirect is never followed so that credentials go nowhere else: check the IMS URL"
                ),
            );
            refusal.debug_id = debug_id;
            return Attempt::Refused(refusal);
        }
        let body = match read_capped(response, MAX_ANSWER_BYTES).await {
            Ok(body) => body,
            Err(ReadError::TooLarge) => {
                let mut refusal = ImsRefusal::new(status.as_u16(), "answer_too_large")
                    .with_description(format!(
                        "{where_} answered with more than {MAX_ANSWER_BYTES} bytes; the answer was not read"
                    ));
                refusal.debug_id = debug_id;
                return Attempt::Refused(refusal);
            }
            Err(ReadError::Transport(err)) => {
                return Attempt::Unavailable {
                    detail: transport_failure(&where_, err),
                    retry_after: None,
                };
            }
        };
        tracing::debug!(
            method = %call.method,
            path = call.url.path(),
            status = status.as_u16(),
            debug_id = debug_id.as_deref().unwrap_or(""),
            "IMS answered"
        );
        if status.is_success() {
            Attempt::Answer(Answer {
                status,
                debug_id,
                location: None,
                body,
            })
        } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let refusal = refusal(status, debug_id, &body);
            Attempt::Unavailable {
                detail: format!("{where_} answered {refusal}"),
                retry_after,
            }
        } else {
            Attempt::Refused(refusal(status, debug_id, &body))
        }
    }
}

enum ReadError {
    TooLarge,
    Transport(reqwest::Error),
}

/// The body, read chunk by chunk and given up as soon as it exceeds `limit`
/// bytes (or announces more in `Content-Length`): a hostile or broken
/// server cannot make us buffer more than `limit`.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    if response
        .content_length()
        .is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

enum Attempt {
    Answer(Answer),
    Refused(ImsRefusal),
    Unavailable {
        detail: String,
        retry_after: Option<Duration>,
    },
}

fn transport_failure(where_: &str, err: reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "failed reading the answer"
    } else {
        "failed"
    };
    // `without_url`: a URL may carry a secret in its query.
    let err = err.without_url();
    let cause = std::error::Error::source(&err)
        .map(|source| format!(" ({source})"))
        .unwrap_or_default();
    format!("{where_} {kind}: {err}{cause}")
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// IMS's `{"error","error_description"}`, or the status alone when the body
/// is something else.
fn refusal(status: StatusCode, debug_id: Option<String>, body: &[u8]) -> ImsRefusal {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (error, description) = match parsed {
        Some(ErrorBody {
            error: Some(error),
            error_description,
        }) => (error, error_description),
        _ => (
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
                .replace(' ', "_"),
            None,
        ),
    };
    ImsRefusal {
        status: status.as_u16(),
        error,
        description,
        debug_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_string, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fast_policy() -> HttpPolicy {
        HttpPolicy {
            connect_timeout: Duration::from_millis(500),
            attempt_timeout: Duration::from_millis(500),
            deadline: Duration::from_secs(5),
            max_retries: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        }
    }

    fn url(server: &MockServer, p: &str) -> Url {
        Url::parse(&format!("{}{p}", server.uri())).unwrap()
    }

    #[tokio::test]
    async fn retries_5xx_then_succeeds() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/ims/token/v3"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/ims/token/v3"))
            .and(body_string("a=1&b=x+y"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"ok\":true}"))
            .expect(1)
            .mount(&server)
            .await;
        let transport = Transport::new(fast_policy()).unwrap();
        let call = Call::post(url(&server, "/ims/token/v3"))
            .field("a", "1")
            .field("b", "x y");
        let answer = transport.send(&call).await.unwrap();
        let json: serde_json::Value = answer.json().unwrap();
        assert_eq!(json["ok"], true);
        server.verify().await;
    }

    #[tokio::test]
    async fn never_retries_single_use_calls() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(502))
            .expect(1)
            .mount(&server)
            .await;
        let transport = Transport::new(fast_policy()).unwrap();
        let call = Call::post(url(&server, "/ims/token/v3")).never_retry();
        let err = transport.send(&call).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        server.verify().await;
    }

    #[tokio::test]
    async fn gives_up_after_max_retries_with_retry_after() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "0")
                    .set_body_string(r#"{"error":"too_many_requests"}"#),
            )
            .expect(4)
            .mount(&server)
            .await;
        let transport = Transport::new(fast_policy()).unwrap();
        let err = transport
            .send(&Call::get(url(&server, "/ims/keys")))
            .await
            .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::ZERO));
        assert!(err.to_string().contains("429 too_many_requests"), "{err}");
        server.verify().await;
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_deadline_stops_at_once() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "120"))
            .expect(1)
            .mount(&server)
            .await;
        let transport = Transport::new(fast_policy()).unwrap();
        let started = std::time::Instant::now();
        let err = transport
            .send(&Call::get(url(&server, "/ims/keys")))
            .await
            .unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
        assert!(started.elapsed() < Duration::from_secs(5));
        server.verify().await;
    }

    #[tokio::test]
    async fn client_errors_are_refusals_with_debug_id() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("authorization", "Bearer tok"))
            .respond_with(
                ResponseTemplate::new(400)
                    .insert_header("x-debug-id", "dbg-1")
                    .set_body_string(
                        r#"{"error":"invalid_grant","error_description":"Code expired"}"#,
                    ),
            )
            .expect(1)
            .mount(&server)
            .await;
        let transport = Transport::new(fast_policy()).unwrap();
        let err = transport
            .send(&Call::post(url(&server, "/ims/token/v3")).bearer("tok"))
            .await
            .unwrap_err();
        let Error::Refused(refusal) = err else {
            panic!("refusal expected, got {err:?}");
        };
        assert_eq!(refusal.status, 400);
        assert_eq!(refusal.error, "invalid_grant");
        assert_eq!(refusal.description.as_deref(), Some("Code expired"));
        assert_eq!(refusal.debug_id.as_deref(), Some("dbg-1"));
        server.verify().await;
    }

    #[tokio::test]
    async fn slow_answers_time_out_within_the_deadline() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let policy = HttpPolicy {
            attempt_timeout: Duration::from_millis(100),
            deadline: Duration::from_millis(400),
            ..fast_policy()
        };
        let transport = Transport::new(policy).unwrap();
        let started = std::time::Instant::now();
        let err = transport
            .send(&Call::get(url(&server, "/ims/keys")))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn unreachable_ims_is_unavailable_and_names_no_query() {
        // Bind and drop a listener to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let transport = Transport::new(fast_policy()).unwrap();
        let call = Call::get(
            Url::parse(&format!("http://127.0.0.1:{port}/ims/keys?secret=s3cr3t")).unwrap(),
        );
        let err = transport.send(&call).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("could not connect"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    /// Finding (LOW, issue #14): a redirect was followed, and reqwest
    /// re-sends a 307/308's body (the client secret) to wherever the
    /// `Location` points. No redirect is followed, for any call.
    #[tokio::test]
    async fn redirects_are_never_followed_and_the_body_goes_nowhere_else() {
        let thief = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .expect(0)
            .mount(&thief)
            .await;
        let ims = MockServer::start().await;
        for status in [301u16, 302, 303, 307, 308] {
            ims.reset().await;
            Mock::given(method("POST"))
                .respond_with(
                    ResponseTemplate::new(status)
                        .insert_header("location", format!("{}/steal", thief.uri())),
                )
                .expect(1)
                .mount(&ims)
                .await;
            let transport = Transport::new(fast_policy()).unwrap();
            let call = Call::post(url(&ims, "/ims/token/v3"))
                .field("client_secret", "s3cr3t-value")
                .basic("client", "s3cr3t-value");
            let err = transport.send(&call).await.unwrap_err();
            let Error::Refused(refusal) = &err else {
                panic!("{status}: a refusal expected, got {err:?}");
            };
            assert_eq!(refusal.status, status);
            assert_eq!(refusal.error, "redirect_refused", "{status}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
            ims.verify().await;
        }
        assert!(
            thief
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty()
        );
        thief.verify().await;
    }

    /// Finding (LOW, issue #14): the whole body was read into memory before
    /// any check. An answer larger than [`MAX_ANSWER_BYTES`] is refused, both
    /// when it announces its length and when it does not.
    #[tokio::test]
    async fn oversized_answers_are_refused() {
        let server = MockServer::start().await;
        let huge = vec![b'x'; MAX_ANSWER_BYTES + 1];
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(huge))
            .mount(&server)
            .await;
        let transport = Transport::new(fast_policy()).unwrap();
        let outcome = transport.send(&Call::get(url(&server, "/ims/keys"))).await;
        let refusal = match outcome {
            Err(Error::Refused(refusal)) => refusal,
            Ok(answer) => panic!("read an answer of {} bytes", answer.body.len()),
            Err(err) => panic!("a refusal expected, got {err:?}"),
        };
        assert_eq!(refusal.error, "answer_too_large", "{refusal}");
        // Error answers are capped too.
        server.reset().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(400).set_body_bytes(vec![b'{'; MAX_ANSWER_BYTES * 2]),
            )
            .mount(&server)
            .await;
        let err = transport
            .send(&Call::get(url(&server, "/ims/keys")))
            .await
            .unwrap_err();
        let Error::Refused(refusal) = &err else {
            panic!("a refusal expected, got {err:?}");
        };
        assert_eq!(refusal.error, "answer_too_large", "{err}");
        // An answer at the limit is read.
        server.reset().await;
        let mut body = b"{\"k\":\"".to_vec();
        body.resize(MAX_ANSWER_BYTES - 2, b'a');
        body.extend_from_slice(b"\"}");
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
            .mount(&server)
            .await;
        let answer = transport
            .send(&Call::get(url(&server, "/ims/keys")))
            .await
            .unwrap();
        assert_eq!(answer.body.len(), MAX_ANSWER_BYTES);
    }

    /// `localhost` reaches loopback (the transport resolves it itself).
    #[tokio::test]
    async fn localhost_is_resolved_to_loopback_by_the_transport() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .expect(1)
            .mount(&server)
            .await;
        let port = server.address().port();
        let transport = Transport::new(fast_policy()).unwrap();
        let call = Call::get(Url::parse(&format!("http://localhost:{port}/ims/x")).unwrap());
        transport.send(&call).await.unwrap();
        server.verify().await;
    }

    /// Names that only look like loopback: the system resolver takes
    /// `localhost.` (a fully qualified name) and `*.localhost` past
    /// `/etc/hosts` to DNS (glibc's `files dns`), so whoever answers DNS —
    /// a café's Wi-Fi — receives the client secret in clear text.
    #[test]
    fn names_the_resolver_may_send_elsewhere_are_not_loopback() {
        for url in [
            "http://localhost./",
            "http://LOCALHOST.:9800/",
            "http://ims.localhost/",
            "http://localhost.localdomain/",
            "http://127.0.0.1.evil.example/",
            "http://127.0.0.1@evil.example/",
            "http://localhost:80@evil.example/",
            "http://evil.example#@127.0.0.1/",
            "http://127.0.0.1%2eevil.example/",
            "http://[::]/",
            "http://[::127.0.0.1]/",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert!(!ims_url_is_allowed(&parsed), "{url} ({parsed})");
        }
        // Loopback spelled as numbers is loopback.
        for url in [
            "http://0x7f000001/",
            "http://127.1/",
            "http://2130706433/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:0:0:1]/",
        ] {
            assert!(ims_url_is_allowed(&Url::parse(url).unwrap()), "{url}");
        }
    }

    /// Issue #14: whatever built the URL (a context's `ims_url`, a custom
    /// environment in code, a key URL), no call goes in clear text to a
    /// host that is not loopback. `0.0.0.0` reaches this machine over
    /// loopback, so the refusal is visible without leaving it.
    #[tokio::test]
    async fn plain_http_to_a_host_that_is_not_loopback_is_refused_before_sending() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .expect(0)
            .mount(&server)
            .await;
        let port = server.address().port();
        let transport = Transport::new(fast_policy()).unwrap();
        let call = Call::post(Url::parse(&format!("http://0.0.0.0:{port}/ims/token/v3")).unwrap())
            .field("client_secret", "s3cr3t-value");
        let err = transport.send(&call).await.unwrap_err();
        assert!(matches!(err, Error::Misconfigured(_)), "{err:?}");
        assert!(err.to_string().contains("https"), "{err}");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        server.verify().await;
        // Loopback in every spelling is allowed.
        for url in [
            "http://127.0.0.1:1/",
            "http://127.9.9.9/",
            "http://localhost:1/",
            "http://LOCALHOST:1/",
            "http://[::1]:1/",
            "http://[::ffff:127.0.0.1]:1/",
            "https://ims-na1.adobelogin.com/",
        ] {
            assert!(ims_url_is_allowed(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "http://0.0.0.0/",
            "http://10.0.0.1/",
            "http://ims.example.com/",
            "http://localhost.example.com/",
            "http://127.0.0.1.example.com/",
            "http://[::2]/",
            "ftp://127.0.0.1/",
        ] {
            assert!(!ims_url_is_allowed(&Url::parse(url).unwrap()), "{url}");
        }
    }

    /// An endless answer without a length (chunked) is cut off at the limit:
    /// the client stops reading, so the server's writes fail long before it
    /// has sent all it would.
    #[tokio::test]
    async fn endless_chunked_answers_are_cut_off() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        const WOULD_SEND: usize = 512 * 1024 * 1024;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            if socket.write_all(head).await.is_err() {
                return 0;
            }
            let data = vec![b' '; 64 * 1024];
            let chunk = [
                format!("{:x}\r\n", data.len()).into_bytes(),
                data,
                b"\r\n".to_vec(),
            ]
            .concat();
            let mut sent = 0usize;
            while sent < WOULD_SEND {
                if socket.write_all(&chunk).await.is_err() {
                    break;
                }
                sent += chunk.len();
            }
            sent
        });
        let transport = Transport::new(fast_policy()).unwrap();
        let call = Call::get(Url::parse(&format!("http://{addr}/ims/keys")).unwrap()).never_retry();
        let err = transport.send(&call).await.unwrap_err();
        let Error::Refused(refusal) = &err else {
            panic!("a refusal expected, got {err:?}");
        };
        assert_eq!(refusal.error, "answer_too_large", "{err}");
        drop(transport);
        let sent = server.await.unwrap();
        assert!(sent < WOULD_SEND, "the client read all {sent} bytes");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = HttpPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            ..HttpPolicy::default()
        };
        for retry in 1..10 {
            let wait = policy.backoff(retry);
            assert!(wait <= Duration::from_millis(300), "{retry}: {wait:?}");
        }
        assert!(policy.backoff(1) <= Duration::from_millis(100));
    }

    #[test]
    fn call_debug_shows_no_secrets() {
        let call = Call::post(Url::parse("http://h/ims/token/v3").unwrap())
            .field("client_secret", "s3cr3t")
            .bearer("tok3n");
        let shown = format!("{call:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("tok3n"),
            "{shown}"
        );
    }
}
