//! The response body as it comes off the network: chunk accounting, the read timeout, and
//! the splice of a resumed or restarted attempt's body.

use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_ENCODING};
use http_body::Body as _;
use hyper::body::Incoming;
use tokio::sync::OwnedSemaphorePermit;

use super::classify::AttemptError;
use super::driver::{content_length, Driver, LastOutcome, Outcome};
use super::exchange::AttemptHead;
use crate::core::{BodyMode, TransportErrorKind};
use crate::error::{Error, Kind};

/// An event of the wire body.
#[derive(Debug)]
pub(crate) enum WireEvent {
    /// Bytes as they came off the network, before decoding.
    Data(Bytes),
    /// A restarted attempt replaced the body: everything yielded before is void, and its
    /// body starts from the first byte.
    Restart,
    /// The body is complete.
    End,
}

/// The body of a delivered response, owning the call so that it can report every chunk to
/// the core and carry out resumes.
pub(crate) struct WireBody {
    pub(crate) driver: Box<Driver>,
    incoming: Option<Incoming>,
    permit: Option<OwnedSemaphorePermit>,
    content_encoding: Option<HeaderValue>,
    /// Bytes received over all attempts of this body, for log events.
    received: u64,
    /// Bytes received in the current attempt's body, and what its Content-Length announced.
    attempt_received: u64,
    attempt_expected: Option<u64>,
    mode: Option<BodyMode>,
    done: bool,
}

impl WireBody {
    /// Wraps the body `incoming` of a response whose head had `content_encoding` and
    /// `content_length`. `empty` is true when the core expects no body (HEAD, 204, 304),
    /// which then ends at once regardless of Content-Length.
    pub(crate) fn new(
        driver: Box<Driver>,
        incoming: Incoming,
        permit: Option<OwnedSemaphorePermit>,
        content_encoding: Option<HeaderValue>,
        content_length: Option<u64>,
        empty: bool,
    ) -> WireBody {
        let attempt_expected = content_length;
        let (incoming, permit) = if empty {
            (None, None)
        } else {
            (Some(incoming), permit)
        };
        WireBody {
            driver,
            incoming,
            permit,
            content_encoding,
            received: 0,
            attempt_received: 0,
            attempt_expected,
            mode: None,
            done: empty,
        }
    }

    /// Tells the core how the caller reads the body. Only the first call counts.
    pub(crate) fn set_mode(&mut self, mode: BodyMode) {
        if self.mode.is_none() {
            self.mode = Some(mode);
            let now = self.driver.clock.now();
            self.driver.call.handle_body_mode(now, mode);
        }
    }

    /// Returns the `Content-Length` of the body now being read, when nothing of it was read
    /// yet and the server announced one.
    pub(crate) fn announced_length(&self) -> Option<u64> {
        if self.done || self.attempt_received > 0 {
            return None;
        }
        self.attempt_expected
    }

    /// Returns the `Content-Encoding` of the body now being read.
    pub(crate) fn content_encoding(&self) -> Option<&HeaderValue> {
        self.content_encoding.as_ref()
    }

    /// Drops the connection and the permit; later reads return [`WireEvent::End`].
    pub(crate) fn abandon(&mut self) {
        self.done = true;
        self.incoming = None;
        self.permit = None;
    }

    /// Returns the next wire event.
    ///
    /// # Errors
    ///
    /// Returns the public error of a body that failed beyond what the retry policy repairs:
    /// read timeout, connection failure, short body or a rejected resume.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future while a resume is being sent abandons it, and the body must not
    /// be read again.
    pub(crate) async fn next(&mut self) -> Result<WireEvent, Error> {
        loop {
            if self.done {
                return Ok(WireEvent::End);
            }
            let Some(incoming) = self.incoming.as_mut() else {
                // Between attempts with nothing to read: only a deadline can move the call on.
                self.driver.await_deadline().await?;
                if let Some(event) = self.advance().await? {
                    return Ok(event);
                }
                continue;
            };

            let clock = self.driver.clock;
            let deadline = self.driver.call.next_deadline();
            let timer = &mut self.driver.timer;
            // The body is polled first: bytes already received win over a deadline that
            // passed while the caller was busy, so a slow consumer never causes a read timeout.
            let polled = std::future::poll_fn(|cx| {
                if let Poll::Ready(frame) = Pin::new(&mut *incoming).poll_frame(cx) {
                    return Poll::Ready(Some(frame));
                }
                timer.poll_until(cx, deadline).map(|()| None)
            })
            .await;
            let now = clock.now();
            match polled {
                Some(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if data.is_empty() {
                        continue;
                    }
                    let len = data.len() as u64;
                    self.received += len;
                    self.attempt_received += len;
                    self.driver.call.handle_chunk(now, len);
                    return Ok(WireEvent::Data(data));
                }
                Some(None) => {
                    self.incoming = None;
                    self.driver.call.handle_end(now);
                }
                Some(Some(Err(error))) => {
                    self.incoming = None;
                    self.permit = None;
                    let error = AttemptError::from_body(error);
                    let short = self
                        .attempt_expected
                        .is_some_and(|expected| self.attempt_received < expected);
                    tracing::debug!(
                        target: "steadfast",
                        request_id = %self.driver.call.request_id(),
                        attempt = self.driver.call.attempts(),
                        received = self.received,
                        error = %error.message,
                        elapsed_ms = self.driver.elapsed_ms(),
                        "response body failed"
                    );
                    self.driver.last_outcome = LastOutcome::Message(format!(
                        "the response body failed after {} bytes: {}",
                        self.received, error.message
                    ));
                    if short && error.transport == TransportErrorKind::ConnectionReset {
                        // The connection closed before Content-Length was reached: report the
                        // end, so the core names the fault as a short body with both counts.
                        self.driver.call.handle_end(now);
                    } else {
                        self.driver.call.handle_failure(now, error.transport);
                    }
                    self.driver.last_error = Some(error);
                }
                None => {
                    self.driver.last_outcome = LastOutcome::Message(format!(
                        "the response body stalled after {} bytes",
                        self.received
                    ));
                    self.driver.call.handle_timeout(now);
                }
            }
            if let Some(event) = self.advance().await? {
                return Ok(event);
            }
        }
    }

    /// Carries out the core's steps after an input; returns the event they lead to, if any.
    async fn advance(&mut self) -> Result<Option<WireEvent>, Error> {
        let outcome = match self.driver.drive().await {
            Ok(outcome) => outcome,
            Err(error) => {
                self.abandon();
                return Err(error);
            }
        };
        match outcome {
            Outcome::Idle => Ok(None),
            Outcome::Finished => {
                tracing::debug!(
                    target: "steadfast",
                    request_id = %self.driver.call.request_id(),
                    attempts = self.driver.call.attempts(),
                    received = self.received,
                    elapsed_ms = self.driver.elapsed_ms(),
                    "response body complete"
                );
                self.abandon();
                Ok(Some(WireEvent::End))
            }
            Outcome::Continued { offset, head } => self.splice(offset, head),
            Outcome::Delivered(..) => {
                self.abandon();
                Err(self.driver.context(Error::new(
                    Kind::Request,
                    "steadfast's core delivered a second response for one call; this is a bug \
                     in steadfast, please report it",
                )))
            }
        }
    }

    /// Replaces the failed body with the body of `head`.
    fn splice(&mut self, offset: u64, head: AttemptHead) -> Result<Option<WireEvent>, Error> {
        let encoding = head.response.headers().get(CONTENT_ENCODING).cloned();
        if offset > 0 && encoding != self.content_encoding {
            self.abandon();
            let describe = |value: &Option<HeaderValue>| {
                value.as_ref().map_or_else(
                    || "none".to_string(),
                    |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            };
            return Err(self.driver.context(Error::new(
                Kind::Body,
                format!(
                    "resume failed: the resumed response has Content-Encoding {} but the first \
                     had {}",
                    describe(&encoding),
                    describe(&self.content_encoding)
                ),
            )));
        }
        tracing::debug!(
            target: "steadfast",
            request_id = %self.driver.call.request_id(),
            attempt = self.driver.call.attempts(),
            offset,
            status = head.response.status().as_u16(),
            elapsed_ms = self.driver.elapsed_ms(),
            "response body continues in a new attempt"
        );
        self.content_encoding = encoding;
        self.attempt_received = 0;
        self.attempt_expected = content_length(head.response.headers());
        self.permit = head.permit;
        self.incoming = Some(head.response.into_body());
        if offset == 0 {
            self.received = 0;
            return Ok(Some(WireEvent::Restart));
        }
        Ok(None)
    }
}
