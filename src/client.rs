//! The client and request builders, shared by the native and fetch adapters.
//!
//! Everything here is validation and configuration; [`crate::backend`] sends.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RANGE, USER_AGENT};
use http::Method;

use crate::backend::{self, Response, Transport};
use crate::body::Body;
use crate::core::{self, BudgetTracker, IdempotencyKey, RetryPolicy};
use crate::error::Error;
use crate::redirect;

/// The default `User-Agent`.
const DEFAULT_USER_AGENT: &str = concat!("steadfast/", env!("CARGO_PKG_VERSION"));

/// Whether steadfast adds its request id header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestIdPolicy {
    /// Send it, except on a cross-origin browser request, where a non-safelisted header
    /// would turn a CORS simple request into a preflighted one. The default.
    #[default]
    Auto,
    /// Send it on every request, cross-origin browser requests included.
    Always,
    /// Never send it; one is still generated for logs and errors.
    Never,
}

/// The validated configuration of a client.
#[derive(Clone, Debug)]
pub(crate) struct ClientConfig {
    pub retry: Arc<RetryPolicy>,
    pub timeout: Option<Duration>,
    pub attempt_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub default_headers: HeaderMap,
    pub request_id_header: HeaderName,
    pub request_id: RequestIdPolicy,
    pub traceparent: bool,
    pub resume: bool,
    pub max_response_bytes: u64,
    pub redirect: redirect::Policy,
    pub pool_max_idle_per_host: usize,
    pub pool_idle_timeout: Option<Duration>,
    pub max_connections_per_host: Option<usize>,
    pub http2_prior_knowledge: bool,
    pub max_decoded_bytes: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        let mut default_headers = HeaderMap::new();
        default_headers.insert(USER_AGENT, HeaderValue::from_static(DEFAULT_USER_AGENT));
        ClientConfig {
            retry: Arc::new(RetryPolicy::default()),
            timeout: None,
            attempt_timeout: Some(Duration::from_secs(30)),
            read_timeout: Some(Duration::from_secs(30)),
            connect_timeout: Some(Duration::from_secs(10)),
            default_headers,
            request_id_header: HeaderName::from_static("x-request-id"),
            request_id: RequestIdPolicy::Auto,
            traceparent: false,
            resume: true,
            max_response_bytes: 64 * 1024 * 1024,
            redirect: redirect::Policy::default(),
            pool_max_idle_per_host: 32,
            pool_idle_timeout: Some(Duration::from_secs(90)),
            max_connections_per_host: None,
            http2_prior_knowledge: false,
            max_decoded_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// State shared by all clones of a [`Client`].
pub(crate) struct ClientShared {
    pub config: ClientConfig,
    pub budget: Arc<BudgetTracker>,
    pub transport: Transport,
}

/// A robust HTTP client. Cloning is cheap and shares the connection pool and the retry
/// budget.
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<ClientShared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl Client {
    /// Creates a client with the default configuration.
    ///
    /// # Panics
    ///
    /// Panics if the transport cannot be created, which the defaults never cause; use
    /// [`Client::builder`] to handle the error.
    pub fn new() -> Client {
        Client::builder()
            .build()
            .expect("the default client configuration is valid")
    }

    /// Creates a builder to configure a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            config: ClientConfig::default(),
            error: None,
        }
    }

    /// Starts a GET request.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a POST request.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// Starts a PUT request.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// Starts a PATCH request.
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// Starts a DELETE request.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// Starts a HEAD request.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Starts a request with any method.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            parts: Ok(RequestParts {
                method,
                url: url.into_url_string(),
                headers: HeaderMap::new(),
                body: Body::empty(),
                timeout: None,
                attempt_timeout: None,
                read_timeout: None,
                retry: None,
                idempotency_key: None,
            }),
        }
    }
}

/// A URL argument: `&str` or `String`. The URL is validated when the request is sent.
pub trait IntoUrl {
    /// Converts into the URL string.
    fn into_url_string(self) -> String;
}

impl IntoUrl for &str {
    fn into_url_string(self) -> String {
        self.to_string()
    }
}

impl IntoUrl for String {
    fn into_url_string(self) -> String {
        self
    }
}

impl IntoUrl for &String {
    fn into_url_string(self) -> String {
        self.clone()
    }
}

/// Configures and builds a [`Client`]. Setters consume and return the builder; an invalid
/// value is reported by [`ClientBuilder::build`].
#[must_use]
pub struct ClientBuilder {
    config: ClientConfig,
    error: Option<Error>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .finish()
    }
}

impl ClientBuilder {
    /// Sets the retry policy. Defaults to [`RetryPolicy::default`].
    pub fn retry(mut self, policy: RetryPolicy) -> ClientBuilder {
        self.config.retry = Arc::new(policy);
        self
    }

    /// Sets the total timeout of a call: attempts, sleeps and buffered body reads.
    /// Defaults to none.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.timeout = Some(timeout);
        self
    }

    /// Sets the timeout of one attempt up to its response head. Defaults to 30 s.
    pub fn attempt_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.attempt_timeout = Some(timeout);
        self
    }

    /// Sets the longest wait for the next body bytes from the network. Defaults to 30 s.
    pub fn read_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.read_timeout = Some(timeout);
        self
    }

    /// Sets the connect timeout (native only; fetch runtimes connect on their own).
    /// Defaults to 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.connect_timeout = Some(timeout);
        self
    }

    /// Sets headers sent on every request, replacing the defaults (`User-Agent`) of the
    /// same name.
    pub fn default_headers(mut self, headers: HeaderMap) -> ClientBuilder {
        for (name, value) in &headers {
            self.config
                .default_headers
                .insert(name.clone(), value.clone());
        }
        self
    }

    /// Sets the `User-Agent`. Defaults to `steadfast/VERSION`. Browsers ignore it.
    pub fn user_agent<V>(mut self, value: V) -> ClientBuilder
    where
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        match value.try_into() {
            Ok(value) => {
                self.config.default_headers.insert(USER_AGENT, value);
            }
            Err(error) => {
                self.record(Error::builder("invalid user_agent value").with_source(error.into()))
            }
        }
        self
    }

    /// Sets the name of the request id header. Defaults to `x-request-id`.
    pub fn request_id_header<N>(mut self, name: N) -> ClientBuilder
    where
        N: TryInto<HeaderName>,
        N::Error: Into<http::Error>,
    {
        match name.try_into() {
            Ok(name) => self.config.request_id_header = name,
            Err(error) => self
                .record(Error::builder("invalid request_id_header name").with_source(error.into())),
        }
        self
    }

    /// Sets when the request id header is sent. Defaults to [`RequestIdPolicy::Auto`].
    pub fn request_id(mut self, policy: RequestIdPolicy) -> ClientBuilder {
        self.config.request_id = policy;
        self
    }

    /// Sends a W3C `traceparent`: one trace id per call, a new parent id per attempt.
    /// Defaults to off.
    pub fn traceparent(mut self, enabled: bool) -> ClientBuilder {
        self.config.traceparent = enabled;
        self
    }

    /// Sets whether a GET body that fails mid-stream resumes with `Range`. Defaults to on.
    pub fn resume(mut self, enabled: bool) -> ClientBuilder {
        self.config.resume = enabled;
        self
    }

    /// Sets the limit of `bytes`, `text` and `json`. Defaults to 64 MiB.
    pub fn max_response_bytes(mut self, limit: u64) -> ClientBuilder {
        self.config.max_response_bytes = limit;
        self
    }

    /// Sets the limit on decoded (decompressed) body bytes, streaming included. Defaults
    /// to 1 GiB.
    pub fn max_decoded_bytes(mut self, limit: u64) -> ClientBuilder {
        self.config.max_decoded_bytes = limit;
        self
    }

    /// Sets the redirect policy (native only). Defaults to [`redirect::Policy::default`].
    pub fn redirect(mut self, policy: redirect::Policy) -> ClientBuilder {
        self.config.redirect = policy;
        self
    }

    /// Sets the idle connections kept per host. Defaults to 32.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> ClientBuilder {
        self.config.pool_max_idle_per_host = max;
        self
    }

    /// Sets how long an idle connection is kept. Defaults to 90 s.
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.config.pool_idle_timeout = timeout;
        self
    }

    /// Limits the connections open at once to one host; requests beyond it wait for a free
    /// connection. Defaults to no limit.
    ///
    /// Natively this is a steadfast-level limit on requests in flight per origin: a request
    /// keeps its place from the start of an attempt until its response body is read to the
    /// end or the response is dropped, so read or drop each response before waiting on
    /// another request to the same origin.
    pub fn max_connections_per_host(mut self, max: usize) -> ClientBuilder {
        self.config.max_connections_per_host = Some(max);
        self
    }

    /// Speaks HTTP/2 without TLS from the first byte (h2c prior knowledge).
    pub fn http2_prior_knowledge(mut self) -> ClientBuilder {
        self.config.http2_prior_knowledge = true;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// Returns a builder error naming the first invalid setting.
    pub fn build(self) -> Result<Client, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let config = self.config;
        validate_config(&config)?;
        let transport = Transport::new(&config)?;
        Ok(Client {
            shared: Arc::new(ClientShared {
                config,
                budget: Arc::new(BudgetTracker::new()),
                transport,
            }),
        })
    }

    fn record(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }
}

fn validate_config(config: &ClientConfig) -> Result<(), Error> {
    config
        .retry
        .validate()
        .map_err(|e| Error::builder(e.to_string()))?;
    let durations = [
        ("timeout", config.timeout),
        ("attempt_timeout", config.attempt_timeout),
        ("read_timeout", config.read_timeout),
        ("connect_timeout", config.connect_timeout),
    ];
    for (name, value) in durations {
        if value == Some(Duration::ZERO) {
            return Err(Error::builder(format!(
                "invalid {name}: 0 s would fail every request; use a positive duration"
            )));
        }
    }
    if config.max_connections_per_host == Some(0) {
        return Err(Error::builder(
            "invalid max_connections_per_host: 0 would block every request; use at least 1",
        ));
    }
    if config.pool_idle_timeout.is_some_and(|t| t > MAX_POOL_IDLE) {
        return Err(Error::builder(
            "invalid pool_idle_timeout: it must be at most 24 hours; use None to keep idle \
             connections until the server closes them",
        ));
    }
    if let Some(name) = RESERVED_HEADERS
        .iter()
        .find(|name| **name == config.request_id_header.as_str())
    {
        return Err(Error::builder(format!(
            "invalid request_id_header {name:?}: that header has its own meaning in HTTP; \
             use a name such as x-request-id or x-correlation-id"
        )));
    }
    for name in ["idempotency-key", "content-length", "transfer-encoding"] {
        if config.default_headers.contains_key(name) {
            return Err(Error::builder(format!(
                "invalid default_headers: {name} would be sent on every request; set it per \
                 request instead (for Idempotency-Key, with idempotency_key)"
            )));
        }
    }
    Ok(())
}

/// The longest accepted `pool_idle_timeout`: hyper-util adds it to an `Instant`, which
/// panics on overflow, and no pool needs connections idle for longer.
const MAX_POOL_IDLE: Duration = Duration::from_secs(24 * 3600);

/// Header names that a request id must not take, because HTTP, the transport or steadfast
/// give them a meaning of their own.
const RESERVED_HEADERS: [&str; 16] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "authorization",
    "proxy-authorization",
    "cookie",
    "idempotency-key",
    "range",
    "if-range",
    "traceparent",
];

/// A request being built.
pub(crate) struct RequestParts {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Body,
    pub timeout: Option<Duration>,
    pub attempt_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    pub retry: Option<RetryPolicy>,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// Builds one request. Setters consume and return the builder; an invalid value is
/// reported by [`RequestBuilder::send`], and then nothing is sent.
#[must_use = "a request is sent only by `send().await`"]
pub struct RequestBuilder {
    client: Client,
    parts: Result<RequestParts, Error>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.parts {
            Ok(parts) => f
                .debug_struct("RequestBuilder")
                .field("method", &parts.method)
                .field("url", &parts.url)
                .finish_non_exhaustive(),
            Err(error) => f.debug_tuple("RequestBuilder").field(error).finish(),
        }
    }
}

impl RequestBuilder {
    fn update(
        mut self,
        change: impl FnOnce(&mut RequestParts) -> Result<(), Error>,
    ) -> RequestBuilder {
        if let Ok(parts) = &mut self.parts {
            if let Err(error) = change(parts) {
                self.parts = Err(error);
            }
        }
        self
    }

    /// Adds a header. An invalid name or value (CR, LF or NUL included) fails `send`.
    pub fn header<K, V>(self, name: K, value: V) -> RequestBuilder
    where
        K: TryInto<HeaderName>,
        K::Error: Into<http::Error>,
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        self.update(|parts| {
            let name = name
                .try_into()
                .map_err(|e| Error::builder("invalid header name").with_source(e.into()))?;
            let value = value.try_into().map_err(|e| {
                Error::builder(format!("invalid value for header {name}: CR, LF, NUL and other control characters are not allowed"))
                    .with_source(e.into())
            })?;
            parts.headers.append(name, value);
            Ok(())
        })
    }

    /// Adds every header of `headers`.
    pub fn headers(self, headers: HeaderMap) -> RequestBuilder {
        self.update(|parts| {
            for (name, value) in &headers {
                parts.headers.append(name.clone(), value.clone());
            }
            Ok(())
        })
    }

    /// Appends query parameters, percent-encoded.
    pub fn query<T: serde::Serialize + ?Sized>(self, query: &T) -> RequestBuilder {
        self.update(|parts| {
            let encoded = serde_urlencoded::to_string(query)
                .map_err(|e| Error::builder("invalid query parameters").with_source(e))?;
            if encoded.is_empty() {
                return Ok(());
            }
            let (without_fragment, fragment) = match parts.url.split_once('#') {
                Some((head, tail)) => (head.to_string(), Some(tail.to_string())),
                None => (parts.url.clone(), None),
            };
            let separator = if without_fragment.contains('?') {
                "&"
            } else {
                "?"
            };
            let mut url = format!("{without_fragment}{separator}{encoded}");
            if let Some(fragment) = fragment {
                url.push('#');
                url.push_str(&fragment);
            }
            parts.url = url;
            Ok(())
        })
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> RequestBuilder {
        self.update(|parts| {
            let bytes = serde_json::to_vec(value).map_err(|e| {
                Error::builder("the JSON body could not be serialized").with_source(e)
            })?;
            parts.body = Body::from(bytes);
            parts
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(())
        })
    }

    /// Sets the body.
    pub fn body(self, body: impl Into<Body>) -> RequestBuilder {
        self.update(|parts| {
            parts.body = body.into();
            Ok(())
        })
    }

    /// Sets `Authorization: Bearer TOKEN`, marked sensitive so it is never logged.
    pub fn bearer_auth(self, token: impl fmt::Display) -> RequestBuilder {
        self.update(|parts| {
            let mut value = HeaderValue::try_from(format!("Bearer {token}"))
                .map_err(|e| Error::builder("invalid bearer token").with_source(e))?;
            value.set_sensitive(true);
            parts.headers.insert(http::header::AUTHORIZATION, value);
            Ok(())
        })
    }

    /// Sets the total timeout of this call, replacing the client's.
    pub fn timeout(self, timeout: Duration) -> RequestBuilder {
        self.update(|parts| {
            parts.timeout = Some(timeout);
            Ok(())
        })
    }

    /// Sets the attempt timeout of this call, replacing the client's.
    pub fn attempt_timeout(self, timeout: Duration) -> RequestBuilder {
        self.update(|parts| {
            parts.attempt_timeout = Some(timeout);
            Ok(())
        })
    }

    /// Sets the read timeout of this call, replacing the client's.
    pub fn read_timeout(self, timeout: Duration) -> RequestBuilder {
        self.update(|parts| {
            parts.read_timeout = Some(timeout);
            Ok(())
        })
    }

    /// Sets the retry policy of this call, replacing the client's. The client's retry
    /// budget still applies, with this policy's budget settings.
    pub fn retry(self, policy: RetryPolicy) -> RequestBuilder {
        self.update(|parts| {
            parts.retry = Some(policy);
            Ok(())
        })
    }

    /// Sends an `Idempotency-Key` on every attempt, which makes a POST or PATCH retryable.
    pub fn idempotency_key(self, key: impl Into<IdempotencyKey>) -> RequestBuilder {
        self.update(|parts| {
            parts.idempotency_key = Some(key.into());
            Ok(())
        })
    }

    /// Sends the request, with every retry its policy allows.
    ///
    /// Returns `Ok` for any status once the retries are done, as `reqwest` does; use
    /// [`Response::error_for_status`] to turn 4xx and 5xx into errors.
    ///
    /// # Errors
    ///
    /// Returns a builder error (nothing sent) for an invalid URL, header or setting, and
    /// otherwise the last transport error or timeout.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the running attempt and any backoff sleep.
    pub async fn send(self) -> Result<Response, Error> {
        let prepared = self.prepare()?;
        backend::send(prepared).await
    }

    pub(crate) fn prepare(self) -> Result<PreparedRequest, Error> {
        let parts = self.parts?;
        let shared = self.client.shared;
        let config = &shared.config;
        validate_url(&parts.url).map_err(|e| e.with_request(parts.method.as_str(), &parts.url))?;
        let request_error = |e: Error| e.with_request(parts.method.as_str(), &parts.url);
        let timeouts = [
            ("timeout", parts.timeout),
            ("attempt_timeout", parts.attempt_timeout),
            ("read_timeout", parts.read_timeout),
        ];
        for (name, value) in timeouts {
            if value == Some(Duration::ZERO) {
                return Err(request_error(Error::builder(format!(
                    "invalid {name}: 0 s would fail every request; use a positive duration"
                ))));
            }
        }
        let retry = match parts.retry {
            Some(policy) => {
                policy
                    .validate()
                    .map_err(|e| request_error(Error::builder(e.to_string())))?;
                Arc::new(policy)
            }
            None => config.retry.clone(),
        };
        let mut headers = config.default_headers.clone();
        for name in parts.headers.keys() {
            headers.remove(name);
        }
        for (name, value) in &parts.headers {
            headers.append(name.clone(), value.clone());
        }
        validate_headers(&headers).map_err(request_error)?;
        check_framing_headers(&mut headers, &parts.body).map_err(request_error)?;
        let idempotency_key = match headers.remove("idempotency-key") {
            Some(value) => Some(IdempotencyKey::Value(
                value
                    .to_str()
                    .map_err(|_| {
                        request_error(Error::builder(
                            "the Idempotency-Key header must be visible ASCII",
                        ))
                    })?
                    .to_string(),
            )),
            None => parts.idempotency_key,
        };
        if let Some(IdempotencyKey::Value(key)) = &idempotency_key {
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(request_error(Error::builder(format!(
                    "invalid Idempotency-Key {key:?}: it must be non-empty visible ASCII, \
                     because a server treats an empty key as no key and would act on each retry"
                ))));
            }
        }
        let given_request_id = match headers.remove(&config.request_id_header) {
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| {
                        request_error(Error::builder(
                            "the request id header must be visible ASCII",
                        ))
                    })?
                    .to_string(),
            ),
            None => None,
        };
        let range_start = match headers.get(RANGE) {
            None => Some(0),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(core::parse_range_start)
                .and_then(|(start, open)| open.then_some(start)),
        };
        Ok(PreparedRequest {
            shared: shared.clone(),
            method: parts.method,
            url: parts.url,
            headers,
            body: parts.body,
            retry,
            total_timeout: parts.timeout.or(config.timeout),
            attempt_timeout: parts.attempt_timeout.or(config.attempt_timeout),
            read_timeout: parts.read_timeout.or(config.read_timeout),
            idempotency_key,
            given_request_id,
            range_start,
        })
    }
}

/// A validated request, ready for the backend.
pub(crate) struct PreparedRequest {
    pub shared: Arc<ClientShared>,
    pub method: Method,
    pub url: String,
    /// Default and request headers, without the request id and idempotency key, which the
    /// core sets on each attempt.
    pub headers: HeaderMap,
    pub body: Body,
    pub retry: Arc<RetryPolicy>,
    pub total_timeout: Option<Duration>,
    pub attempt_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    pub idempotency_key: Option<IdempotencyKey>,
    pub given_request_id: Option<String>,
    /// The start of the caller's `Range: bytes=N-`: 0 without a `Range`, `None` for a range
    /// the core cannot resume (closed, suffix or multiple ranges).
    pub range_start: Option<u64>,
}

impl PreparedRequest {
    /// Builds the core's description of this call.
    ///
    /// `send_request_id` is false where the backend must not add a header of its own, as on
    /// a cross-origin browser request. `if_range` is false where `If-Range` cannot be sent.
    pub(crate) fn call_spec(
        &self,
        origin: String,
        send_request_id: bool,
        if_range: bool,
    ) -> core::CallSpec {
        let config = &self.shared.config;
        let request_id = match (&self.given_request_id, send_request_id) {
            (Some(id), _) => core::RequestIdMode::Given(id.clone()),
            (None, true) => core::RequestIdMode::Generate,
            (None, false) => core::RequestIdMode::Unsent,
        };
        let resume = match (config.resume, self.range_start, if_range) {
            (false, _, _) | (_, None, _) => core::ResumeMode::Off,
            (true, Some(_), true) => core::ResumeMode::RangeAndIfRange,
            (true, Some(_), false) => core::ResumeMode::RangeOnly,
        };
        let budget = self
            .retry
            .retry_budget()
            .is_enabled()
            .then(|| self.shared.budget.clone());
        core::CallSpec {
            method: method_name(&self.method),
            origin,
            policy: self.retry.clone(),
            total_timeout: self.total_timeout,
            attempt_timeout: self.attempt_timeout,
            read_timeout: self.read_timeout,
            request_id,
            request_id_header: match config.request_id_header.as_str() {
                "x-request-id" => Cow::Borrowed("x-request-id"),
                other => Cow::Owned(other.to_string()),
            },
            idempotency_key: self.idempotency_key.clone(),
            body: if self.body.is_stream() {
                core::BodyReplay::Streaming
            } else {
                core::BodyReplay::Replayable
            },
            traceparent: config.traceparent,
            resume,
            range_start: self.range_start.unwrap_or(0),
            budget,
        }
    }
}

/// Returns the name of `method`, borrowed for the standard methods so that a call spec
/// allocates no string for them.
fn method_name(method: &Method) -> Cow<'static, str> {
    let name = match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => return Cow::Owned(method.as_str().to_string()),
    };
    Cow::Borrowed(name)
}

/// Checks the framing headers a caller set, which the transport computes itself.
///
/// A `Content-Length` that disagrees with a byte body would cut it short or stall the
/// request, so it must match, and the transport then sets it. Streams are sent chunked, so
/// they take no `Content-Length` and nobody may set `Transfer-Encoding`.
fn check_framing_headers(headers: &mut HeaderMap, body: &Body) -> Result<(), Error> {
    if headers.contains_key(http::header::TRANSFER_ENCODING) {
        return Err(Error::builder(
            "invalid header transfer-encoding: steadfast frames the body itself; remove it",
        ));
    }
    let Some(declared) = headers.remove(http::header::CONTENT_LENGTH) else {
        return Ok(());
    };
    let declared = declared.to_str().unwrap_or("").trim().to_string();
    match body.as_bytes() {
        Some(bytes) if declared == bytes.len().to_string() => Ok(()),
        Some(bytes) => Err(Error::builder(format!(
            "invalid header content-length {declared:?}: the body has {} bytes; remove the \
             header and steadfast sets it",
            bytes.len()
        ))),
        None => Err(Error::builder(format!(
            "invalid header content-length {declared:?} on a streaming body: streams are sent \
             chunked; remove the header, or pass the body as bytes"
        ))),
    }
}

/// Checks the URL text for what no backend accepts: control characters, whitespace and,
/// on native targets, anything but an absolute `http` or `https` URL.
fn validate_url(url: &str) -> Result<(), Error> {
    // The error's Display adds the URL, escaped, so these messages leave it out.
    if url.is_empty() {
        return Err(Error::builder("invalid URL: it is empty"));
    }
    if let Some(bad) = url.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::builder(format!(
            "invalid URL: it contains {bad:?}; percent-encode spaces and control characters"
        )));
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let absolute = lower.starts_with("http://") || lower.starts_with("https://");
    if !absolute && !backend::ACCEPTS_RELATIVE_URLS {
        return Err(Error::builder(
            "invalid URL: it must be an absolute http:// or https:// URL",
        ));
    }
    Ok(())
}

/// Rejects header values that `HeaderValue`'s unchecked constructors could have let through.
fn validate_headers(headers: &HeaderMap) -> Result<(), Error> {
    for (name, value) in headers {
        if value
            .as_bytes()
            .iter()
            .any(|b| matches!(b, b'\r' | b'\n' | 0))
        {
            return Err(Error::builder(format!(
                "invalid value for header {name}: CR, LF and NUL are not allowed"
            )));
        }
    }
    Ok(())
}
