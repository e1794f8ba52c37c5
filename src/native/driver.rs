//! The loop that carries out the core's steps: sends attempts, sleeps, and turns failures
//! into public errors.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;

use http::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT_ENCODING, ACCEPT_RANGES, CONTENT_LENGTH,
    CONTENT_RANGE, DATE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE, RETRY_AFTER,
};
use http::{Method, StatusCode};
use url::Url;

use super::classify::{public_kind, AttemptError};
use super::exchange::{send_attempt, AttemptBody, AttemptHead, AttemptRequest};
use super::time::{self, Clock, DeadlineTimer};
use crate::client::ClientShared;
use crate::core::{
    Attempt, BodyFault, Call, Delivery, Failure, FailureKind, ResponseHead, Step, TimeoutPhase,
    TransportErrorKind,
};
use crate::error::{Error, Kind};

/// The `Accept-Encoding` that the native adapter sends. It decodes each of these codings.
const ACCEPT_ENCODING_VALUE: &str = "gzip, br, zstd";

/// The result of carrying out the core's steps.
pub(crate) enum Outcome {
    /// A response for the caller.
    Delivered(Delivery, AttemptHead),
    /// A resumed (`offset > 0`) or restarted (`offset == 0`) attempt whose body replaces the
    /// failed one.
    Continued { offset: u64, head: AttemptHead },
    /// The body ended and the call is complete.
    Finished,
    /// The core waits for an input from the body reader.
    Idle,
}

/// The outcome of the last attempt or body, for the log event of the retry that follows.
/// It is formatted only when that event is logged.
#[derive(Debug, Default)]
pub(crate) enum LastOutcome {
    #[default]
    None,
    Status(StatusCode),
    Message(String),
}

impl fmt::Display for LastOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LastOutcome::None => Ok(()),
            LastOutcome::Status(status) => write!(f, "status {status}"),
            LastOutcome::Message(message) => f.write_str(message),
        }
    }
}

/// One logical request: the core's call and everything needed to send its attempts.
pub(crate) struct Driver {
    pub(crate) call: Call,
    pub(crate) clock: Clock,
    pub(crate) shared: Arc<ClientShared>,
    method: Method,
    url: Url,
    /// The URL as the caller wrote it, for error messages.
    original_url: String,
    /// Default and request headers, plus `Accept-Encoding`; the core adds its own per attempt.
    /// Shared with each attempt, which copies it once per hop into the hyper request.
    headers: Arc<HeaderMap>,
    /// The call's request id, shared with each attempt's log events.
    pub(crate) request_id: Arc<str>,
    /// The one timer of the call, reset for each deadline.
    pub(crate) timer: DeadlineTimer,
    body: AttemptBody,
    started: std::time::Instant,
    in_flight: Option<AttemptHead>,
    /// A step polled while racing an attempt against its deadline, handled next.
    peeked: Option<Step>,
    /// The error of the last failed attempt or body, attached if it ends the call.
    pub(crate) last_error: Option<AttemptError>,
    /// The outcome of the last attempt, for the log event of the retry that follows.
    pub(crate) last_outcome: LastOutcome,
}

impl Driver {
    pub(crate) fn new(
        call: Call,
        shared: Arc<ClientShared>,
        method: Method,
        url: Url,
        original_url: String,
        mut headers: HeaderMap,
        body: AttemptBody,
    ) -> Driver {
        if !headers.contains_key(ACCEPT_ENCODING) {
            headers.insert(
                ACCEPT_ENCODING,
                HeaderValue::from_static(ACCEPT_ENCODING_VALUE),
            );
        }
        let clock = shared.transport.clock;
        Driver {
            request_id: Arc::from(call.request_id()),
            call,
            clock,
            shared,
            method,
            url,
            original_url,
            headers: Arc::new(headers),
            timer: DeadlineTimer::new(clock),
            body,
            started: std::time::Instant::now(),
            in_flight: None,
            peeked: None,
            last_error: None,
            last_outcome: LastOutcome::None,
        }
    }

    /// Returns the milliseconds since the call started, for log events.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Carries out the core's steps until one needs the caller or the body reader.
    ///
    /// # Errors
    ///
    /// Returns the public error of a call that failed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the running attempt or sleep; the driver must not be used
    /// afterwards.
    pub(crate) async fn drive(&mut self) -> Result<Outcome, Error> {
        loop {
            let now = self.clock.now();
            let step = match self.peeked.take().or_else(|| self.call.poll(now)) {
                Some(step) => step,
                None => return Ok(Outcome::Idle),
            };
            match step {
                Step::StartAttempt(attempt) => self.run_attempt(attempt).await,
                Step::Wait { until } => self.wait(until).await?,
                Step::Deliver(delivery) => {
                    let head = self
                        .in_flight
                        .take()
                        .ok_or_else(|| self.internal("Deliver"))?;
                    self.log_delivery(&delivery, &head);
                    return Ok(Outcome::Delivered(delivery, head));
                }
                Step::ContinueBody { offset } => {
                    let head = self
                        .in_flight
                        .take()
                        .ok_or_else(|| self.internal("ContinueBody"))?;
                    return Ok(Outcome::Continued { offset, head });
                }
                Step::Finish => return Ok(Outcome::Finished),
                Step::Fail(failure) => return Err(self.failure_error(failure)),
            }
        }
    }

    /// Sleeps until the core's next deadline and reports it, for a call that waits on
    /// nothing else.
    ///
    /// # Errors
    ///
    /// Returns an internal error when the core has no deadline, since nothing would wake it.
    pub(crate) async fn await_deadline(&mut self) -> Result<(), Error> {
        let deadline = self
            .call
            .next_deadline()
            .ok_or_else(|| self.internal("a call with no input and no deadline"))?;
        self.timer.sleep_until(Some(deadline)).await;
        self.call.handle_timeout(self.clock.now());
        Ok(())
    }

    async fn run_attempt(&mut self, attempt: Attempt) {
        self.in_flight = None;
        self.last_error = None;
        let number = attempt.number;
        tracing::debug!(
            target: "steadfast",
            request_id = %self.call.request_id(),
            attempt = number,
            purpose = ?attempt.purpose,
            method = %self.method,
            url = %self.url,
            elapsed_ms = self.elapsed_ms(),
            "sending attempt"
        );
        let request = match self.attempt_request(attempt) {
            Ok(request) => request,
            Err(error) => return self.record_failure(number, error),
        };
        let sending = send_attempt(self.shared.clone(), request);
        tokio::pin!(sending);
        loop {
            // The response is polled first, so a head that is ready wins over a deadline
            // that passed in the same wakeup.
            let call = &self.call;
            let timer = &mut self.timer;
            let result = std::future::poll_fn(|cx| {
                if let Poll::Ready(result) = sending.as_mut().poll(cx) {
                    return Poll::Ready(Some(result));
                }
                timer.poll_until(cx, call.next_deadline()).map(|()| None)
            })
            .await;
            match result {
                Some(Ok(head)) => return self.record_head(number, head),
                Some(Err(error)) => return self.record_failure(number, error),
                None => {
                    let now = self.clock.now();
                    self.call.handle_timeout(now);
                    if let Some(step) = self.call.poll(now) {
                        tracing::debug!(
                            target: "steadfast",
                            request_id = %self.call.request_id(),
                            attempt = number,
                            elapsed_ms = self.elapsed_ms(),
                            "attempt timed out before its response head"
                        );
                        self.last_outcome =
                            LastOutcome::Message("the attempt timed out".to_string());
                        self.peeked = Some(step);
                        return;
                    }
                }
            }
        }
    }

    fn attempt_request(&mut self, attempt: Attempt) -> Result<AttemptRequest, AttemptError> {
        let mut extra_headers = Vec::with_capacity(attempt.headers.len());
        for (name, value) in attempt.headers {
            // The value moves into the header without a copy; validation is the same as
            // `HeaderValue::from_str`.
            let parsed = (
                self.header_name(&name),
                HeaderValue::from_maybe_shared(Bytes::from(value)),
            );
            let (Ok(parsed_name), Ok(mut parsed_value)) = parsed else {
                return Err(AttemptError::fatal(
                    Kind::Builder,
                    format!("invalid value for header {name}: use visible ASCII"),
                ));
            };
            if parsed_name != RANGE && parsed_name != IF_RANGE {
                // The request id, idempotency key and traceparent are new for each call, so
                // an HPACK table entry for them is never used again and evicts entries that
                // are. h2 sends a sensitive value as a literal that is never indexed. HTTP/1.1
                // sends it the same either way.
                parsed_value.set_sensitive(true);
            }
            extra_headers.push((parsed_name, parsed_value));
        }
        let body = match &mut self.body {
            AttemptBody::Empty => AttemptBody::Empty,
            AttemptBody::Bytes(bytes) => AttemptBody::Bytes(bytes.clone()),
            AttemptBody::Stream(stream) => AttemptBody::Stream(stream.take()),
        };
        Ok(AttemptRequest {
            method: self.method.clone(),
            url: self.url.clone(),
            base_headers: self.headers.clone(),
            extra_headers,
            redirected_headers: None,
            body,
            request_id: self.request_id.clone(),
            attempt: attempt.number,
        })
    }

    /// Returns the header name of a header the core adds, without parsing the names that
    /// the core is known to send.
    fn header_name(&self, name: &str) -> Result<HeaderName, http::header::InvalidHeaderName> {
        let request_id_header = &self.shared.config.request_id_header;
        Ok(match name {
            _ if name == request_id_header.as_str() => request_id_header.clone(),
            "idempotency-key" => HeaderName::from_static("idempotency-key"),
            "traceparent" => HeaderName::from_static("traceparent"),
            "range" => RANGE,
            "if-range" => IF_RANGE,
            _ => HeaderName::from_bytes(name.as_bytes())?,
        })
    }

    fn record_head(&mut self, number: u32, head: AttemptHead) {
        let status = head.response.status();
        tracing::debug!(
            target: "steadfast",
            request_id = %self.call.request_id(),
            attempt = number,
            status = status.as_u16(),
            version = ?head.response.version(),
            elapsed_ms = self.elapsed_ms(),
            "response head received"
        );
        self.last_outcome = LastOutcome::Status(status);
        let now = self.clock.now();
        self.call
            .handle_head(now, &core_head(status, head.response.headers()));
        self.in_flight = Some(head);
    }

    fn record_failure(&mut self, number: u32, error: AttemptError) {
        tracing::debug!(
            target: "steadfast",
            request_id = %self.call.request_id(),
            attempt = number,
            error = %error.message,
            kind = ?error.transport,
            elapsed_ms = self.elapsed_ms(),
            "attempt failed"
        );
        self.last_outcome = LastOutcome::Message(error.message.clone());
        self.call.handle_failure(self.clock.now(), error.transport);
        self.last_error = Some(error);
    }

    async fn wait(&mut self, until: crate::core::Instant) -> Result<(), Error> {
        // The previous response is not delivered: release its connection and permit now,
        // not after the sleep.
        self.in_flight = None;
        let delay = until.saturating_duration_since(self.clock.now());
        tracing::debug!(
            target: "steadfast",
            request_id = %self.call.request_id(),
            attempt = self.call.attempts(),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            reason = %self.last_outcome,
            elapsed_ms = self.elapsed_ms(),
            "waiting before the next attempt"
        );
        self.timer.sleep_until(Some(until)).await;
        self.call.handle_timeout(self.clock.now());
        while self.peeked.is_none() {
            match self.call.poll(self.clock.now()) {
                Some(step) => self.peeked = Some(step),
                None => self.await_deadline().await?,
            }
        }
        Ok(())
    }

    fn log_delivery(&self, delivery: &Delivery, head: &AttemptHead) {
        tracing::debug!(
            target: "steadfast",
            request_id = %self.call.request_id(),
            attempt = delivery.attempt,
            status = head.response.status().as_u16(),
            url = %head.url,
            stop = delivery.stop.map(|s| s.to_string()),
            elapsed_ms = self.elapsed_ms(),
            "response delivered"
        );
    }

    /// Adds the request, its id and its attempts so far to `error`.
    pub(crate) fn context(&self, error: Error) -> Error {
        let error = error
            .with_request(self.method.as_str(), &self.original_url)
            .with_request_id(self.call.request_id())
            .with_attempts(self.call.attempts());
        // A body or decode error comes after a head arrived, and its status belongs on it.
        match self
            .call
            .last_status()
            .and_then(|s| StatusCode::from_u16(s).ok())
        {
            Some(status) if error.status().is_none() => error.with_status(status),
            _ => error,
        }
    }

    fn internal(&self, step: &str) -> Error {
        self.context(Error::new(
            Kind::Request,
            format!(
                "steadfast's core stopped without a result ({step}); this is a bug in steadfast, \
                 please report it"
            ),
        ))
    }

    fn failure_error(&mut self, failure: Failure) -> Error {
        let spec = self.call.spec();
        let error = match failure.kind {
            FailureKind::Transport(kind) => self.transport_error(kind),
            FailureKind::Timeout(phase) => {
                let limit = match phase {
                    TimeoutPhase::Total => spec.total_timeout,
                    TimeoutPhase::Attempt => spec.attempt_timeout,
                    TimeoutPhase::Read => spec.read_timeout,
                    TimeoutPhase::Connect => self.shared.config.connect_timeout,
                };
                Error::new(Kind::Timeout(phase), timeout_message(phase, limit))
            }
            FailureKind::Body(fault) => self.body_error(fault),
            FailureKind::Resume(rejection) => Error::new(Kind::Body, rejection.to_string()),
            FailureKind::Cancelled => Error::new(Kind::Cancelled, "the request was cancelled"),
        };
        let error = self
            .context(error)
            .with_attempts(failure.attempts)
            .with_stop(failure.stop);
        let error = match failure.status.and_then(|s| StatusCode::from_u16(s).ok()) {
            Some(status) => error.with_status(status),
            None => error,
        };
        tracing::debug!(
            target: "steadfast",
            request_id = %self.call.request_id(),
            attempts = failure.attempts,
            kind = ?error.kind(),
            error = %error,
            elapsed_ms = self.elapsed_ms(),
            "request failed"
        );
        error
    }

    fn transport_error(&mut self, kind: TransportErrorKind) -> Error {
        let Some(mut attempt_error) = self.last_error.take() else {
            return Error::new(public_kind(kind), format!("the request failed ({kind:?})"));
        };
        if kind == TransportErrorKind::ConnectTimeout {
            attempt_error.message =
                timeout_message(TimeoutPhase::Connect, self.shared.config.connect_timeout);
        }
        attempt_error.into_error()
    }

    fn body_error(&mut self, fault: BodyFault) -> Error {
        match fault {
            BodyFault::Stalled => Error::new(
                Kind::Timeout(TimeoutPhase::Read),
                timeout_message(TimeoutPhase::Read, self.call.spec().read_timeout),
            ),
            BodyFault::Short { expected, received } => {
                let error = Error::new(
                    Kind::Body,
                    format!(
                        "the response body ended after {received} of the {expected} bytes its \
                         Content-Length announced"
                    ),
                );
                match self.last_error.take().and_then(|e| e.source) {
                    Some(source) => error.with_source(source),
                    None => error,
                }
            }
            BodyFault::Interrupted(kind) => match self.last_error.take() {
                Some(error) => error.into_error(),
                None => Error::new(
                    Kind::Body,
                    format!("the response body was interrupted ({kind:?})"),
                ),
            },
        }
    }
}

fn timeout_message(phase: TimeoutPhase, limit: Option<Duration>) -> String {
    let limit = limit.map_or_else(|| "its limit".to_string(), |d| format!("{d:?}"));
    match phase {
        TimeoutPhase::Total => format!("request timed out after the total timeout of {limit}"),
        TimeoutPhase::Attempt => {
            format!("no response head arrived within the attempt timeout of {limit}")
        }
        TimeoutPhase::Read => format!(
            "the response body stalled: no bytes arrived within the read timeout of {limit}"
        ),
        TimeoutPhase::Connect => format!("connect timed out after the connect timeout of {limit}"),
    }
}

/// Extracts what the core reads from a response head.
pub(crate) fn core_head(status: StatusCode, headers: &HeaderMap) -> ResponseHead<'_> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let accept_ranges_bytes = headers.get_all(ACCEPT_RANGES).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .any(|unit| unit.trim().eq_ignore_ascii_case("bytes"))
        })
    });
    ResponseHead {
        status: status.as_u16(),
        wall_ms: time::wall_ms(),
        retry_after: text(RETRY_AFTER),
        date: text(DATE),
        content_length: content_length(headers),
        etag: text(ETAG),
        last_modified: text(LAST_MODIFIED),
        accept_ranges_bytes,
        content_range: text(CONTENT_RANGE),
    }
}

/// Returns the `Content-Length` of a response head, when it has a valid one. The core and the
/// body reader both use this, so they agree on when a body is short.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_head_reads_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("42"));
        headers.insert(ETAG, HeaderValue::from_static("\"v1\""));
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("none, Bytes"));
        headers.insert(CONTENT_RANGE, HeaderValue::from_static("bytes 0-41/42"));
        let head = core_head(StatusCode::OK, &headers);
        assert_eq!(head.status, 200);
        assert_eq!(head.retry_after, Some("3"));
        assert_eq!(head.content_length, Some(42));
        assert_eq!(head.etag, Some("\"v1\""));
        assert!(head.accept_ranges_bytes);
        assert_eq!(head.content_range, Some("bytes 0-41/42"));
        assert!(head.wall_ms > 0);
    }

    #[test]
    fn accept_ranges_none_is_not_bytes() {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("none"));
        assert!(!core_head(StatusCode::OK, &headers).accept_ranges_bytes);
    }

    #[test]
    fn timeout_messages_name_the_limit() {
        let text = timeout_message(TimeoutPhase::Read, Some(Duration::from_millis(300)));
        assert!(text.contains("read timeout of 300ms"), "{text}");
        let total = timeout_message(TimeoutPhase::Total, Some(Duration::from_secs(2)));
        assert_eq!(total, "request timed out after the total timeout of 2s");
    }
}
