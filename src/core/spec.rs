//! The inputs an adapter reports to the core about one logical request, and the steps it gets back.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::budget::BudgetTracker;
use super::policy::RetryPolicy;
use super::time::Instant;

/// The `Idempotency-Key` of a request. Sending one makes a POST or PATCH retryable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdempotencyKey {
    /// A UUIDv4 generated once per logical request and sent on every attempt.
    Auto,
    /// The caller's own key, sent as is.
    Value(String),
}

impl IdempotencyKey {
    /// Creates a key with the caller's value.
    pub fn new(value: impl Into<String>) -> IdempotencyKey {
        IdempotencyKey::Value(value.into())
    }
}

impl From<&str> for IdempotencyKey {
    fn from(value: &str) -> Self {
        IdempotencyKey::Value(value.to_string())
    }
}

impl From<String> for IdempotencyKey {
    fn from(value: String) -> Self {
        IdempotencyKey::Value(value)
    }
}

/// Where the request id comes from and whether it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestIdMode {
    /// Generate a UUIDv4 and send it on every attempt.
    Generate,
    /// Send the caller's id on every attempt.
    Given(String),
    /// Generate an id for logs and errors, but send no header (a cross-origin browser request
    /// that must stay a CORS simple request).
    Unsent,
}

/// Whether a request body can be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyReplay {
    /// No body, or bytes the adapter keeps: every attempt sends the same bytes.
    Replayable,
    /// A stream that is consumed by the first attempt, so no attempt follows one that
    /// started sending it.
    Streaming,
}

/// How a GET body that fails mid-stream may be resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeMode {
    /// Never resume.
    Off,
    /// Send `Range` and `If-Range`, and check the 206.
    RangeAndIfRange,
    /// Send `Range` alone, the one CORS-safelisted form, and compare the 206's validators
    /// with the first response's.
    RangeOnly,
}

/// The description of one logical request that the core needs.
#[derive(Clone, Debug)]
pub struct CallSpec {
    /// The method, as sent (case-sensitive).
    pub method: Cow<'static, str>,
    /// `scheme://host:port`, the retry budget's key.
    pub origin: String,
    /// The retry rules.
    pub policy: Arc<RetryPolicy>,
    /// Bounds attempts, sleeps and buffered body reads. `None` for no bound.
    pub total_timeout: Option<Duration>,
    /// Bounds one attempt up to its response head.
    pub attempt_timeout: Option<Duration>,
    /// The maximum wait for the next body bytes from the network.
    pub read_timeout: Option<Duration>,
    /// The request id.
    pub request_id: RequestIdMode,
    /// The request id header name, lowercase.
    pub request_id_header: Cow<'static, str>,
    /// The idempotency key, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Whether the request body can be replayed.
    pub body: BodyReplay,
    /// Whether to send a W3C `traceparent`.
    pub traceparent: bool,
    /// Whether and how to resume a GET body.
    pub resume: ResumeMode,
    /// The start of the caller's own `Range: bytes=N-`, which a resume offsets; 0 without one.
    pub range_start: u64,
    /// The shared retry budget; `None` disables it for this call.
    pub budget: Option<Arc<BudgetTracker>>,
}

impl CallSpec {
    /// Creates a spec with the defaults of a GET: the default policy, no total timeout,
    /// 30 s attempt and read timeouts, a generated `x-request-id`, resume with `If-Range`.
    pub fn new(method: impl Into<Cow<'static, str>>, origin: impl Into<String>) -> CallSpec {
        CallSpec {
            method: method.into(),
            origin: origin.into(),
            policy: Arc::new(RetryPolicy::default()),
            total_timeout: None,
            attempt_timeout: Some(Duration::from_secs(30)),
            read_timeout: Some(Duration::from_secs(30)),
            request_id: RequestIdMode::Generate,
            request_id_header: Cow::Borrowed("x-request-id"),
            idempotency_key: None,
            body: BodyReplay::Replayable,
            traceparent: false,
            resume: ResumeMode::RangeAndIfRange,
            range_start: 0,
            budget: None,
        }
    }
}

/// The response head, as far as the core reads it. Header values are raw strings so the
/// core needs no header map type.
#[derive(Clone, Copy, Debug, Default)]
pub struct ResponseHead<'a> {
    /// The status code.
    pub status: u16,
    /// The adapter's wall clock when the head arrived, in Unix milliseconds.
    pub wall_ms: u64,
    /// `Retry-After`, if present.
    pub retry_after: Option<&'a str>,
    /// `Date`, if present.
    pub date: Option<&'a str>,
    /// `Content-Length` of the body on the wire, if known.
    pub content_length: Option<u64>,
    /// `ETag`, if present.
    pub etag: Option<&'a str>,
    /// `Last-Modified`, if present.
    pub last_modified: Option<&'a str>,
    /// Whether `Accept-Ranges` lists `bytes`.
    pub accept_ranges_bytes: bool,
    /// `Content-Range`, if present.
    pub content_range: Option<&'a str>,
}

/// Why an attempt failed below HTTP, as the adapter classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection was refused: no byte reached the server.
    ConnectRefused,
    /// The host name did not resolve: no byte reached the server.
    Dns,
    /// The connect timeout passed: no byte reached the server.
    ConnectTimeout,
    /// The connection was reset or closed before the response completed.
    ConnectionReset,
    /// The TLS handshake was interrupted.
    TlsHandshake,
    /// The server's certificate was rejected: retrying cannot help.
    TlsCertificate,
    /// A network failure the runtime does not describe further, such as fetch's
    /// `TypeError: Failed to fetch`.
    Network,
    /// The response could not be decoded (bad framing, bad compression, too large).
    Decode,
    /// The request was invalid and was not sent.
    InvalidRequest,
    /// Any other failure, not retried.
    Other,
}

impl TransportErrorKind {
    /// Returns whether a retry may succeed after this failure.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            TransportErrorKind::ConnectRefused
                | TransportErrorKind::Dns
                | TransportErrorKind::ConnectTimeout
                | TransportErrorKind::ConnectionReset
                | TransportErrorKind::TlsHandshake
                | TransportErrorKind::Network
        )
    }

    /// Returns whether this failure proves that no byte of the request reached the server.
    pub fn proves_unsent(self) -> bool {
        matches!(
            self,
            TransportErrorKind::ConnectRefused
                | TransportErrorKind::Dns
                | TransportErrorKind::ConnectTimeout
        )
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::ConnectRefused => "connection refused",
            TransportErrorKind::Dns => "host name not resolved",
            TransportErrorKind::ConnectTimeout => "connect timed out",
            TransportErrorKind::ConnectionReset => "connection reset",
            TransportErrorKind::TlsHandshake => "TLS handshake interrupted",
            TransportErrorKind::TlsCertificate => "TLS certificate rejected",
            TransportErrorKind::Network => "network error",
            TransportErrorKind::Decode => "response could not be decoded",
            TransportErrorKind::InvalidRequest => "invalid request",
            TransportErrorKind::Other => "request failed",
        })
    }
}

/// A timeout phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Connecting (native only).
    Connect,
    /// One attempt, up to the response head.
    Attempt,
    /// Waiting for body bytes.
    Read,
    /// The whole logical request.
    Total,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::Attempt => "attempt",
            TimeoutPhase::Read => "read",
            TimeoutPhase::Total => "total",
        })
    }
}

/// Why no further attempt was made although the last outcome was retryable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Every allowed attempt was sent.
    AttemptsExhausted {
        /// The number of attempts sent.
        attempts: u32,
    },
    /// The method is not idempotent and the request has no idempotency key.
    MethodNotIdempotent,
    /// The request body was a stream that cannot be sent again.
    BodyNotReplayable,
    /// `Retry-After` asked for longer than `max_retry_after`.
    RetryAfterTooLong {
        /// The server's delay.
        retry_after: Duration,
        /// The configured limit.
        limit: Duration,
    },
    /// The next attempt would start after the total deadline.
    DeadlinePassed,
    /// The origin's retry budget is used up.
    BudgetExhausted,
    /// A timeout that the policy does not retry (`retry_on_timeout(false)`).
    TimeoutNotRetried,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::AttemptsExhausted { attempts } => {
                write!(f, "not retried: all {attempts} attempts were used")
            }
            StopReason::MethodNotIdempotent => f.write_str(
                "not retried: the method is not idempotent and the request has no Idempotency-Key",
            ),
            StopReason::BodyNotReplayable => f.write_str("not retried: body is not replayable"),
            StopReason::RetryAfterTooLong { retry_after, limit } => write!(
                f,
                "not retried: Retry-After of {} s is above max_retry_after of {} s",
                retry_after.as_secs(),
                limit.as_secs()
            ),
            StopReason::DeadlinePassed => {
                f.write_str("not retried: the next attempt would start after the total timeout")
            }
            StopReason::BudgetExhausted => f.write_str(
                "not retried: the retry budget for this origin is used up (retries resume as \
                     its window slides; RetryBudget::disabled() turns it off)",
            ),
            StopReason::TimeoutNotRetried => {
                f.write_str("not retried: the policy does not retry timeouts")
            }
        }
    }
}

/// A failure of the body, after the head was delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyFault {
    /// No bytes for longer than the read timeout.
    Stalled,
    /// The connection failed mid-body.
    Interrupted(TransportErrorKind),
    /// The body ended before its `Content-Length`.
    Short {
        /// Bytes expected.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
}

impl fmt::Display for BodyFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyFault::Stalled => f.write_str("body stalled past the read timeout"),
            BodyFault::Interrupted(kind) => write!(f, "body interrupted: {kind}"),
            BodyFault::Short { expected, received } => {
                write!(f, "body ended at {received} of {expected} bytes")
            }
        }
    }
}

/// Why a resumed response was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumeRejection {
    /// The server returned this status instead of 206.
    NotPartial(u16),
    /// `Content-Range` was missing or did not start at the requested offset, or its total
    /// length changed.
    ContentRange {
        /// The `Content-Range` value, or an empty string when missing.
        received: String,
        /// The offset asked for.
        expected_start: u64,
    },
    /// The 206 carried different validators than the first response.
    ValidatorChanged,
}

impl fmt::Display for ResumeRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResumeRejection::NotPartial(status) => write!(
                f,
                "resume failed: the server answered {status} instead of 206 Partial Content"
            ),
            ResumeRejection::ContentRange {
                received,
                expected_start,
            } => write!(
                f,
                "resume failed: Content-Range {received:?} does not continue at byte {expected_start}"
            ),
            ResumeRejection::ValidatorChanged => {
                f.write_str("resume failed: the resource changed (its ETag or Last-Modified differs)")
            }
        }
    }
}

/// The kind of a terminal failure.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The last attempt failed below HTTP; the adapter keeps the underlying error.
    Transport(TransportErrorKind),
    /// A deadline passed.
    Timeout(TimeoutPhase),
    /// The body failed after the head was delivered.
    Body(BodyFault),
    /// A resumed response could not be joined to the bytes already delivered.
    Resume(ResumeRejection),
    /// The caller cancelled.
    Cancelled,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Transport(kind) => kind.fmt(f),
            FailureKind::Timeout(phase) => write!(f, "{phase} timeout"),
            FailureKind::Body(fault) => fault.fmt(f),
            FailureKind::Resume(rejection) => rejection.fmt(f),
            FailureKind::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// The end of a logical request without a response to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What failed.
    pub kind: FailureKind,
    /// Attempts sent, resumes included.
    pub attempts: u32,
    /// Why no further attempt was made, when the failure was retryable.
    pub stop: Option<StopReason>,
    /// The status of the last response head, if one arrived.
    pub status: Option<u16>,
}

/// What the body of a delivered response will carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyExpectation {
    /// Nothing, whatever `Content-Length` states (HEAD, 1xx, 204, 304).
    Empty,
    /// Exactly this many bytes on the wire.
    Length(u64),
    /// Unknown until the end.
    Unknown,
}

/// A response accepted for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The attempt that produced it.
    pub attempt: u32,
    /// What its body will carry.
    pub body: BodyExpectation,
    /// Why no retry was made, when the status was retryable.
    pub stop: Option<StopReason>,
    /// The server's `Retry-After` delay, when the status was retryable and it parsed.
    pub retry_after: Option<Duration>,
}

/// One attempt for the adapter to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// Headers to set on this attempt, replacing any of the same name; names are lowercase.
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// When this attempt times out, up to its response head.
    pub deadline: Option<Instant>,
    /// What the attempt is for.
    pub purpose: AttemptPurpose,
}

/// Why an attempt is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptPurpose {
    /// The first attempt.
    First,
    /// A retry after a retryable status or failure.
    Retry,
    /// A `Range` request continuing a body at this offset of the representation.
    Resume {
        /// Bytes already delivered.
        offset: u64,
    },
    /// A full retry of a buffered body: the adapter discards what it buffered so far.
    Restart,
}

/// The body mode the caller picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyMode {
    /// `bytes`, `text` or `json`: nothing reaches the caller before the end, and the total
    /// timeout bounds the read.
    Buffered,
    /// `bytes_stream`: every chunk reaches the caller at once, and the total timeout no
    /// longer applies.
    Streaming,
}

/// An output of the core, polled after each input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Send this attempt, then report its head, failure or timeout.
    StartAttempt(Attempt),
    /// Sleep before the next attempt, then call `handle_timeout`.
    Wait {
        /// When the sleep ends.
        until: Instant,
    },
    /// Hand the response to the caller, then report its body.
    Deliver(Delivery),
    /// The resumed or restarted attempt was accepted: read its body in place of the old one.
    ContinueBody {
        /// Bytes of the representation delivered before this attempt.
        offset: u64,
    },
    /// The body is complete.
    Finish,
    /// The call failed.
    Fail(Failure),
}
