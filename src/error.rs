//! The public error type.
#![cfg_attr(
    not(any(
        all(feature = "native", not(target_arch = "wasm32")),
        all(feature = "fetch", target_arch = "wasm32")
    )),
    allow(dead_code)
)]

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::core::{StopReason, TimeoutPhase};

type BoxError = Box<dyn StdError + Send + Sync>;

/// The error of every fallible steadfast operation.
///
/// It is opaque on purpose: ask it questions (`is_timeout`, `status`, `attempts`, …)
/// instead of matching variants, so new failure kinds can appear without breaking callers.
/// `Display` prints one sentence; `source()` links the underlying cause.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    what: String,
    method: Option<String>,
    url: Option<String>,
    request_id: Option<String>,
    attempts: u32,
    status: Option<StatusCode>,
    retry_after: Option<Duration>,
    stop: Option<StopReason>,
    body_prefix: Option<bytes::Bytes>,
    source: Option<BoxError>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Builder,
    Connect,
    Timeout(TimeoutPhase),
    Status,
    Body,
    Decode,
    Redirect,
    Cancelled,
    Request,
}

impl Error {
    pub(crate) fn new(kind: Kind, what: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                what: what.into(),
                method: None,
                url: None,
                request_id: None,
                attempts: 0,
                status: None,
                retry_after: None,
                stop: None,
                body_prefix: None,
                source: None,
            }),
        }
    }

    pub(crate) fn builder(what: impl Into<String>) -> Error {
        Error::new(Kind::Builder, what)
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn with_request(mut self, method: &str, url: &str) -> Error {
        self.inner.method = Some(method.to_string());
        self.inner.url = Some(url.to_string());
        self
    }

    pub(crate) fn with_request_id(mut self, request_id: &str) -> Error {
        self.inner.request_id = Some(request_id.to_string());
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Error {
        self.inner.attempts = attempts;
        self
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> Error {
        self.inner.status = Some(status);
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Error {
        self.inner.retry_after = retry_after;
        self
    }

    pub(crate) fn with_stop(mut self, stop: Option<StopReason>) -> Error {
        self.inner.stop = stop;
        self
    }

    pub(crate) fn with_body_prefix(mut self, prefix: bytes::Bytes) -> Error {
        self.inner.body_prefix = Some(prefix);
        self
    }

    // Read by the native adapter's logs only.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// Returns whether a deadline passed; [`Error::timeout_phase`] returns which.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::Timeout(_))
    }

    /// Returns the phase whose deadline passed: connect, attempt, read or total.
    pub fn timeout_phase(&self) -> Option<TimeoutPhase> {
        match self.inner.kind {
            Kind::Timeout(phase) => Some(phase),
            _ => None,
        }
    }

    /// Returns whether the connection could not be made (refused, DNS, TLS handshake).
    pub fn is_connect(&self) -> bool {
        self.inner.kind == Kind::Connect
    }

    /// Returns whether the error comes from `error_for_status`.
    pub fn is_status(&self) -> bool {
        self.inner.kind == Kind::Status
    }

    /// Returns whether the response body failed: stalled, cut short, interrupted, or a
    /// resume that could not be joined.
    pub fn is_body(&self) -> bool {
        self.inner.kind == Kind::Body
    }

    /// Returns whether the body could not be decoded: compression, JSON, UTF-8, or a size
    /// limit.
    pub fn is_decode(&self) -> bool {
        self.inner.kind == Kind::Decode
    }

    /// Returns whether a redirect was refused or there were too many.
    pub fn is_redirect(&self) -> bool {
        self.inner.kind == Kind::Redirect
    }

    /// Returns whether the request or client was invalid, so nothing was sent.
    pub fn is_builder(&self) -> bool {
        self.inner.kind == Kind::Builder
    }

    /// Returns whether the caller cancelled the request.
    pub fn is_cancelled(&self) -> bool {
        self.inner.kind == Kind::Cancelled
    }

    /// Returns whether the origin's retry budget stopped a retry that would otherwise have
    /// been made.
    pub fn is_budget_exhausted(&self) -> bool {
        self.inner.stop == Some(StopReason::BudgetExhausted)
    }

    /// Returns the status of the last response, if one arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// Returns the request URL.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// Returns the request id sent on every attempt.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// Returns how many attempts were sent.
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Returns the server's `Retry-After` delay, when the last response was retryable and
    /// carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Returns why no further attempt was made, when the failure was retryable.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.inner.stop
    }

    /// Returns the first bytes of the response body, at most 64 KiB, when the error comes
    /// from `Response::error_for_status_with_body`.
    pub fn body_prefix(&self) -> Option<&[u8]> {
        self.inner.body_prefix.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.write_str(&inner.what)?;
        if let (Some(method), Some(url)) = (&inner.method, &inner.url) {
            write!(f, " for {method} ")?;
            write_url(f, url)?;
        }
        let exhausted = matches!(inner.stop, Some(StopReason::AttemptsExhausted { .. }));
        if inner.attempts > 1 && !exhausted {
            write!(f, " after {} attempts", inner.attempts)?;
        }
        if let Some(stop) = inner.stop {
            write!(f, "; {stop}")?;
        }
        if let Some(hint) = hint(inner.kind) {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

/// The longest URL a message prints in full; longer ones are cut, so a huge URL cannot make a
/// huge log line.
const MAX_URL_IN_MESSAGE: usize = 300;

/// Writes `url` for a message: as is when it is plain, quoted and escaped when it is empty or
/// contains control characters (so it cannot forge log lines), and cut when it is long.
fn write_url(f: &mut fmt::Formatter<'_>, url: &str) -> fmt::Result {
    let cut = match url.char_indices().nth(MAX_URL_IN_MESSAGE) {
        Some((end, _)) => &url[..end],
        None => url,
    };
    let suffix = if cut.len() < url.len() { "…" } else { "" };
    if url.is_empty() || cut.chars().any(char::is_control) {
        write!(f, "{cut:?}{suffix}")
    } else {
        write!(f, "{cut}{suffix}")
    }
}

fn hint(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Timeout(TimeoutPhase::Total) => {
            Some("raise `timeout` if the server is slow but healthy")
        }
        Kind::Timeout(TimeoutPhase::Attempt) => {
            Some("raise `attempt_timeout` if the server is slow but healthy")
        }
        Kind::Timeout(TimeoutPhase::Read) => {
            Some("raise `read_timeout` if the server sends in long bursts")
        }
        Kind::Timeout(TimeoutPhase::Connect) => {
            Some("check that the server is up, or raise `connect_timeout`")
        }
        Kind::Connect => Some("check that the server is up and the address is right"),
        _ => None,
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut debug = f.debug_struct("steadfast::Error");
        debug.field("kind", &inner.kind).field("what", &inner.what);
        if let Some(url) = &inner.url {
            debug.field("url", url);
        }
        if let Some(status) = inner.status {
            debug.field("status", &status);
        }
        debug.field("attempts", &inner.attempts);
        if let Some(stop) = inner.stop {
            debug.field("stop", &stop);
        }
        if let Some(source) = &inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_one_pointer() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_names_request_and_stop() {
        let error = Error::new(
            Kind::Timeout(TimeoutPhase::Total),
            "request timed out after the total timeout of 10s",
        )
        .with_request("GET", "http://127.0.0.1:1/x")
        .with_attempts(3)
        .with_stop(Some(StopReason::BudgetExhausted));
        let text = error.to_string();
        assert!(text.starts_with("request timed out"), "{text}");
        assert!(text.contains("GET http://127.0.0.1:1/x"), "{text}");
        assert!(text.contains("after 3 attempts"), "{text}");
        assert!(text.contains("retry budget"), "{text}");
        assert!(error.is_timeout());
        assert!(error.is_budget_exhausted());
        assert_eq!(error.timeout_phase(), Some(TimeoutPhase::Total));
    }

    #[test]
    fn display_escapes_and_cuts_urls() {
        let injected = Error::builder("invalid URL").with_request("GET", "http://h/a\r\nX-Evil: 1");
        let text = injected.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains("\\r\\n"), "{text}");
        let empty = Error::builder("invalid URL: it is empty").with_request("GET", "");
        assert!(empty.to_string().ends_with("for GET \"\""), "{empty}");
        let long = format!("http://h/{}", "a".repeat(10_000));
        let cut = Error::builder("invalid URL")
            .with_request("GET", &long)
            .to_string();
        assert!(cut.len() < 400, "{} bytes", cut.len());
        assert!(cut.ends_with('…'), "{cut}");
    }

    #[test]
    fn exhausted_attempts_counted_once() {
        let error = Error::new(Kind::Connect, "connection refused")
            .with_request("GET", "http://127.0.0.1:1/")
            .with_attempts(3)
            .with_stop(Some(StopReason::AttemptsExhausted { attempts: 3 }));
        assert_eq!(
            error.to_string().matches("3 attempts").count(),
            1,
            "{error}"
        );
    }

    #[test]
    fn source_is_chained() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = Error::new(Kind::Connect, "connection failed").with_source(io);
        assert!(error.source().is_some());
        assert!(error.is_connect());
    }
}
