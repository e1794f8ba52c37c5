//! Carries out the core's steps for one logical request: fetches, sleeps and body reads.
//!
//! [`Exchange::advance`] feeds the core until it has something for the caller: a response
//! to deliver, a resumed body, the end of the body, or a failure. [`Exchange::next_chunk`]
//! reads the body and goes back to `advance` whenever the core reacts to a read (a stall, a
//! reset, a short body), so a resume or restart happens inside the caller's read.

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT_RANGES, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_RANGE, DATE, ETAG, LAST_MODIFIED, RETRY_AFTER,
};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, ResponseType};

use super::abort::AbortOnDrop;
use super::bindings::{self, property};
use super::error::{classify_rejection, describe_js_error, failure_error, RequestContext};
use super::request::RequestTemplate;
use super::timer::{sleep_until, until_deadline};
use crate::core::{
    Attempt, BodyMode, Call, Delivery, Failure, Instant, ResponseHead, Step, TransportErrorKind,
};
use crate::error::{Error, Kind};

/// The head of the latest response.
#[derive(Debug)]
pub(crate) struct Head {
    pub status: u16,
    pub headers: HeaderMap,
    /// The URL after the runtime's redirects.
    pub url: String,
    /// `Content-Length`, when it counts the bytes the body stream yields: every header is
    /// readable (not a CORS-filtered response) and the body is not content-encoded, which
    /// fetch decodes.
    pub content_length: Option<u64>,
    /// Whether a readable `Content-Encoding` shows that the runtime decodes the body.
    pub encoded: bool,
}

/// An outcome of the core that the caller acts on.
#[derive(Debug)]
pub(crate) enum Event {
    /// A response to hand to the caller.
    Deliver(Delivery),
    /// A resumed or restarted attempt carries the body on from this offset; 0 is a restart.
    Continue(u64),
    /// The body ended.
    Finish,
    /// The core waits for more of the current body.
    Body,
}

/// The outcome of one body read.
#[derive(Debug)]
pub(crate) enum Chunk {
    Data(Bytes),
    /// The body starts again from its first byte: discard what was kept.
    Restart,
    End,
}

/// The fetch of one attempt and its body reader. Dropping it aborts the fetch.
struct ActiveAttempt {
    /// The fetch promise, until it settles.
    head: Option<JsFuture>,
    response: Option<web_sys::Response>,
    reader: Option<ReadableStreamDefaultReader>,
    /// A `read()` under way, kept across calls so a dropped read future loses no chunk.
    pending_read: Option<JsFuture>,
    /// Held for its `Drop`, which aborts the fetch.
    _abort: AbortOnDrop,
}

/// One logical request: the core's call and the fetch of its current attempt.
pub(crate) struct Exchange {
    call: Call,
    template: RequestTemplate,
    context: RequestContext,
    attempt: Option<ActiveAttempt>,
    /// The head of the latest response, until the caller takes it.
    head: Option<Head>,
    /// The description of the JavaScript error behind the input just fed to the core.
    last_error: Option<String>,
    failed: bool,
    /// The caller's fetch function (the JavaScript `fetch` option), or `None` for
    /// `globalThis.fetch`.
    fetch: Option<js_sys::Function>,
}

impl Exchange {
    /// Creates an exchange; nothing is sent before the first [`Exchange::advance`].
    pub(crate) fn new(call: Call, template: RequestTemplate, context: RequestContext) -> Self {
        Exchange {
            call,
            template,
            context,
            attempt: None,
            head: None,
            last_error: None,
            failed: false,
            fetch: None,
        }
    }

    /// Sends every attempt through `fetch`, called as `fetch(request)`, in place of
    /// `globalThis.fetch`.
    pub(crate) fn with_fetch(mut self, fetch: Option<js_sys::Function>) -> Self {
        self.fetch = fetch;
        self
    }

    pub(crate) fn call(&self) -> &Call {
        &self.call
    }

    pub(crate) fn context(&self) -> &RequestContext {
        &self.context
    }

    /// Takes the head of the latest response, the delivered one right after
    /// [`Event::Deliver`].
    pub(crate) fn take_head(&mut self) -> Option<Head> {
        self.head.take()
    }

    /// Reports the body mode the caller picked.
    pub(crate) fn set_body_mode(&mut self, mode: BodyMode) {
        self.call.handle_body_mode(bindings::now(), mode);
    }

    /// Aborts the current fetch, for a response whose body is empty.
    pub(crate) fn release(&mut self) {
        self.attempt = None;
    }

    /// Aborts the current fetch after an error of the caller's making, such as a size limit;
    /// later reads return an error.
    pub(crate) fn abandon(&mut self) {
        self.attempt = None;
        self.failed = true;
    }

    /// Sends attempts and sleeps until the core has an event for the caller.
    ///
    /// # Errors
    ///
    /// Returns the error of the failure that ended the call.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future keeps the fetch under way; dropping the exchange aborts it.
    pub(crate) async fn advance(&mut self) -> Result<Event, Error> {
        loop {
            if let Some(event) = self.drain()? {
                return Ok(event);
            }
            if self.call.is_done() {
                self.attempt = None;
                return Ok(Event::Finish);
            }
            if self.awaits_body() {
                return Ok(Event::Body);
            }
            self.wait_for_head().await;
        }
    }

    /// Reads the next chunk of the body, resuming or restarting it as the core decides.
    ///
    /// # Errors
    ///
    /// Returns the error of the failure that ended the call, and on every later call an error
    /// saying that the body already failed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future keeps the read under way, and the next call takes its result, so
    /// no chunk is lost.
    pub(crate) async fn next_chunk(&mut self) -> Result<Chunk, Error> {
        loop {
            if self.failed {
                return Err(self.context_error(
                    Kind::Body,
                    "the response body failed earlier, so nothing more can be read (the first \
                     error has the cause)",
                ));
            }
            match self.advance().await? {
                Event::Continue(0) => return Ok(Chunk::Restart),
                Event::Finish => return Ok(Chunk::End),
                Event::Body => {
                    if let Some(bytes) = self.read_or_deadline().await {
                        return Ok(Chunk::Data(bytes));
                    }
                }
                Event::Continue(_) | Event::Deliver(_) => {}
            }
        }
    }

    /// Builds an error with the request's method, URL, id and attempts.
    pub(crate) fn context_error(&self, kind: Kind, what: impl Into<String>) -> Error {
        Error::new(kind, what)
            .with_request(self.context.method.as_str(), &self.context.url)
            .with_request_id(self.call.request_id())
            .with_attempts(self.call.attempts())
    }

    /// Carries out the queued steps. Returns the first one the caller must see.
    fn drain(&mut self) -> Result<Option<Event>, Error> {
        let now = bindings::now();
        let mut event = None;
        while let Some(step) = self.call.poll(now) {
            match step {
                Step::StartAttempt(attempt) => self.start_attempt(now, &attempt),
                Step::Wait { .. } => self.attempt = None,
                Step::Deliver(delivery) => {
                    event = Some(Event::Deliver(delivery));
                    break;
                }
                Step::ContinueBody { offset } => {
                    event = Some(Event::Continue(offset));
                    break;
                }
                Step::Finish => {
                    self.attempt = None;
                    event = Some(Event::Finish);
                    break;
                }
                Step::Fail(failure) => {
                    self.attempt = None;
                    self.failed = true;
                    return Err(self.failure_error(&failure));
                }
            }
        }
        self.last_error = None;
        Ok(event)
    }

    fn failure_error(&mut self, failure: &Failure) -> Error {
        let detail = self.last_error.take();
        let spec = self.call.spec();
        failure_error(failure, spec, &self.context, self.call.request_id(), detail)
    }

    fn start_attempt(&mut self, now: Instant, attempt: &Attempt) {
        self.attempt = None;
        match self.fetch(attempt) {
            Ok(active) => self.attempt = Some(active),
            Err(error) => {
                let detail = describe_js_error(&error);
                tracing::debug!(attempt = attempt.number, error = %detail, "fetch threw");
                self.last_error = Some(detail);
                self.call
                    .handle_failure(now, TransportErrorKind::InvalidRequest);
            }
        }
    }

    fn fetch(&self, attempt: &Attempt) -> Result<ActiveAttempt, JsValue> {
        let abort = AbortOnDrop::new()?;
        let request = self.template.build(&attempt.headers, &abort.signal())?;
        let promise = match &self.fetch {
            None => bindings::global_fetch(&request)?,
            // A function that throws, or returns a Response rather than a promise, is treated
            // as if it had returned a rejected or resolved promise, as `await` would.
            Some(fetch) => match fetch.call1(&JsValue::UNDEFINED, &request) {
                Ok(value) => js_sys::Promise::resolve(&value),
                Err(error) => js_sys::Promise::reject(&error),
            },
        };
        Ok(ActiveAttempt {
            head: Some(JsFuture::from(promise)),
            response: None,
            reader: None,
            pending_read: None,
            _abort: abort,
        })
    }

    /// Returns whether the current attempt's head was handled and its body is being read.
    fn awaits_body(&self) -> bool {
        self.attempt
            .as_ref()
            .is_some_and(|attempt| attempt.head.is_none() && attempt.response.is_some())
    }

    /// Waits for the current fetch to settle or for the core's next deadline, whichever comes
    /// first, and reports it.
    async fn wait_for_head(&mut self) {
        let deadline = self.call.next_deadline();
        let pending = self
            .attempt
            .as_mut()
            .and_then(|attempt| attempt.head.as_mut());
        let Some(pending) = pending else {
            if deadline.is_none() {
                // Nothing is under way and nothing is due: end the call rather than hang.
                tracing::warn!(request_id = %self.call.request_id(), "the call has nothing to wait for");
                self.call.cancel(bindings::now());
                return;
            }
            sleep_until(deadline).await;
            self.call.handle_timeout(bindings::now());
            return;
        };
        let settled = until_deadline(pending, deadline).await;
        let now = bindings::now();
        let Some(result) = settled else {
            self.call.handle_timeout(now);
            return;
        };
        if let Some(attempt) = self.attempt.as_mut() {
            attempt.head = None;
        }
        match result {
            Ok(value) => self.handle_response(now, value.unchecked_into()),
            Err(error) => {
                let detail = describe_js_error(&error);
                tracing::debug!(request_id = %self.call.request_id(), error = %detail, "fetch rejected");
                self.last_error = Some(detail);
                self.call.handle_failure(now, classify_rejection(&error));
            }
        }
    }

    fn handle_response(&mut self, now: Instant, response: web_sys::Response) {
        let head = read_head(&response);
        let text = |name: HeaderName| head.headers.get(name).and_then(|v| v.to_str().ok());
        let accept_ranges_bytes = !head.encoded
            && text(ACCEPT_RANGES).is_some_and(|value| {
                value
                    .split(',')
                    .any(|unit| unit.trim().eq_ignore_ascii_case("bytes"))
            });
        let core_head = ResponseHead {
            status: head.status,
            wall_ms: bindings::wall_ms(),
            retry_after: text(RETRY_AFTER),
            date: text(DATE),
            content_length: head.content_length,
            etag: text(ETAG),
            last_modified: text(LAST_MODIFIED),
            accept_ranges_bytes,
            content_range: text(CONTENT_RANGE),
        };
        if response.type_() == ResponseType::Cors
            && core_head.retry_after.is_none()
            && matches!(head.status, 429 | 503)
        {
            tracing::debug!(
                request_id = %self.call.request_id(),
                status = head.status,
                "no readable Retry-After on a cross-origin response; the server must list it in \
                 Access-Control-Expose-Headers, so normal backoff applies"
            );
        }
        self.call.handle_head(now, &core_head);
        if let Some(attempt) = self.attempt.as_mut() {
            attempt.response = Some(response);
        }
        self.head = Some(head);
    }

    /// Reads one chunk, or reports the core's deadline if it comes first. Returns the bytes
    /// of a non-empty chunk; every other outcome is fed to the core.
    async fn read_or_deadline(&mut self) -> Option<Bytes> {
        let now = bindings::now();
        let attempt = self.attempt.as_mut()?;
        if attempt.pending_read.is_none() {
            if attempt.reader.is_none() {
                let Some(stream) = attempt.response.as_ref().and_then(|r| r.body()) else {
                    self.call.handle_end(now);
                    return None;
                };
                match ReadableStreamDefaultReader::new(&stream) {
                    Ok(reader) => attempt.reader = Some(reader),
                    Err(error) => {
                        self.last_error = Some(describe_js_error(&error));
                        self.call.handle_failure(now, TransportErrorKind::Other);
                        return None;
                    }
                }
            }
            let reader = attempt.reader.as_ref()?;
            // NOTE: the core arms its read timer only on a chunk, so a zero-length chunk
            // restarts it here. The timer then runs only while a read is outstanding, so a
            // consumer that pauses for longer than the read timeout cannot fail a healthy
            // body. The runtime's stream queue does the reading ahead meanwhile.
            self.call.handle_chunk(now, 0);
            attempt.pending_read = Some(JsFuture::from(reader.read()));
        }
        let deadline = self.call.next_deadline();
        let pending = attempt.pending_read.as_mut()?;
        let settled = until_deadline(pending, deadline).await;
        let now = bindings::now();
        let Some(result) = settled else {
            self.call.handle_timeout(now);
            return None;
        };
        attempt.pending_read = None;
        let value = match result {
            Ok(value) => value,
            Err(error) => {
                let detail = describe_js_error(&error);
                tracing::debug!(request_id = %self.call.request_id(), error = %detail, "body read failed");
                self.last_error = Some(detail);
                self.call.handle_failure(now, classify_rejection(&error));
                return None;
            }
        };
        if property(&value, "done").as_bool() == Some(true) {
            self.call.handle_end(now);
            return None;
        }
        let Some(array) = property(&value, "value").dyn_into::<Uint8Array>().ok() else {
            self.last_error =
                Some("the body stream yielded a chunk that is not a Uint8Array".into());
            self.call.handle_failure(now, TransportErrorKind::Other);
            return None;
        };
        let bytes = Bytes::from(array.to_vec());
        self.call.handle_chunk(now, bytes.len() as u64);
        (!bytes.is_empty()).then_some(bytes)
    }
}

/// Reads status, headers and URL from a fetch `Response`.
fn read_head(response: &web_sys::Response) -> Head {
    let headers = header_map(&response.headers());
    let encoded = headers
        .get(CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| !value.trim().eq_ignore_ascii_case("identity"));
    let filtered = matches!(
        response.type_(),
        ResponseType::Cors | ResponseType::Opaque | ResponseType::Opaqueredirect
    );
    let content_length = if encoded || filtered {
        None
    } else {
        headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok())
    };
    Head {
        status: response.status(),
        headers,
        url: response.url(),
        content_length,
        encoded,
    }
}

/// Copies fetch `Headers` into a `HeaderMap`, skipping any pair `http` rejects. Fetch joins
/// repeated headers into one comma-separated value.
fn header_map(headers: &web_sys::Headers) -> HeaderMap {
    let mut map = HeaderMap::new();
    let Ok(Some(entries)) = js_sys::try_iter(headers) else {
        return map;
    };
    for entry in entries.flatten() {
        let pair: js_sys::Array = entry.unchecked_into();
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            continue;
        };
        let name = HeaderName::from_bytes(name.as_bytes());
        let value = HeaderValue::from_bytes(&latin1_bytes(&value));
        if let (Ok(name), Ok(value)) = (name, value) {
            map.append(name, value);
        }
    }
    map
}

/// Maps a JavaScript byte string (every character at most U+00FF) back to its bytes. A wider
/// character, which a conforming runtime never yields, keeps its UTF-8 encoding.
fn latin1_bytes(text: &str) -> Vec<u8> {
    if text.chars().all(|c| u32::from(c) <= 0xFF) {
        text.chars().map(|c| c as u8).collect()
    } else {
        text.as_bytes().to_vec()
    }
}
