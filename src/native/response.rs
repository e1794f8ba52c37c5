//! The response handed to the caller, and its body reader: decoding, size limits and the
//! buffered and streaming read modes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::header::{HeaderMap, CONTENT_ENCODING, CONTENT_LENGTH};
use http::{Method, StatusCode, Version};
use serde::de::DeserializeOwned;
use url::Url;

use super::decode::{parse_content_encoding, Decoder, Encoding, Pull};
use super::driver::Driver;
use super::exchange::AttemptHead;
use super::wire::{WireBody, WireEvent};
use crate::core::{BodyExpectation, BodyMode, Delivery, StopReason};
use crate::error::{Error, Kind};

/// The maximum number of body bytes that [`Response::error_for_status_with_body`] keeps in
/// its error.
const ERROR_BODY_PREFIX_LIMIT: usize = 64 * 1024;

/// A response: its head, and a body that is read once, buffered or as a stream.
///
/// The body reader keeps the call alive: it enforces the read timeout, reports every chunk
/// to the core, and resumes a GET body that fails mid-stream when the server supports it.
/// Dropping the response closes its connection if the body was not read to the end.
pub struct Response {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    url: Url,
    method: Method,
    request_id: Arc<str>,
    stop: Option<StopReason>,
    retry_after: Option<Duration>,
    content_length: Option<u64>,
    body: BodyReader,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("request_id", &self.request_id)
            .field("attempts", &self.attempts())
            .finish_non_exhaustive()
    }
}

impl Response {
    pub(crate) fn new(driver: Box<Driver>, delivery: Delivery, head: AttemptHead) -> Response {
        // The head is taken apart, not copied: its headers become the response's.
        let AttemptHead {
            response,
            url,
            method,
            permit,
        } = head;
        let (parts, incoming) = response.into_parts();
        let mut headers = parts.headers;
        let wire_encoding = headers.get(CONTENT_ENCODING).cloned();
        let wire_length = super::driver::content_length(&headers);
        let empty = delivery.body == BodyExpectation::Empty;
        let encodings = if empty {
            Ok(Vec::new())
        } else {
            parse_content_encoding(&headers)
        };
        let decoding = encodings.as_ref().is_ok_and(|list| !list.is_empty());
        if decoding {
            // The caller sees decoded bytes, which these headers do not describe.
            headers.remove(CONTENT_ENCODING);
            headers.remove(CONTENT_LENGTH);
        }

        let content_length = match delivery.body {
            BodyExpectation::Empty => Some(0),
            BodyExpectation::Length(len) if !decoding => Some(len),
            _ => None,
        };

        let request_id = driver.request_id.clone();
        let config = &driver.shared.config;
        let (max_decoded, max_buffered) = (config.max_decoded_bytes, config.max_response_bytes);
        let wire = WireBody::new(driver, incoming, permit, wire_encoding, wire_length, empty);

        Response {
            status: parts.status,
            version: parts.version,
            headers,
            url,
            method,
            request_id,
            stop: delivery.stop,
            retry_after: delivery.retry_after,
            content_length,
            body: BodyReader::new(wire, encodings, max_decoded, max_buffered),
        }
    }

    /// Returns the status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Returns the HTTP version of the response.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Returns the response headers. When the body is decoded, `Content-Encoding` and
    /// `Content-Length` are removed, since they describe the encoded bytes.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Returns the URL of the response, after redirects.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// Returns the request id sent on every attempt (or generated for logs when none was
    /// sent).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Returns how many attempts this call has sent so far, this response's included. It
    /// grows when the body is resumed or read again after a failure.
    pub fn attempts(&self) -> u32 {
        self.body.wire.driver.call.attempts()
    }

    /// Returns why no further attempt was made, when the status was retryable.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    /// Returns the server's `Retry-After` delay, when the status was retryable and the value
    /// parsed.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Returns the number of body bytes the caller will read, when known: 0 for HEAD, 204
    /// and 304, the `Content-Length` of a body that is not decoded, and `None` otherwise.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Reads the whole body.
    ///
    /// # Errors
    ///
    /// Returns a decode error when the body exceeds `max_response_bytes` (64 MiB by
    /// default) or cannot be decompressed, a timeout error when the total or read timeout
    /// passes, and a body error when the body fails and cannot be resumed.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        self.body.collect().await
    }

    /// Reads the whole body as UTF-8 text. The charset of `Content-Type` is not consulted.
    ///
    /// # Errors
    ///
    /// As [`Response::bytes`], and a decode error when the body is not valid UTF-8.
    pub async fn text(self) -> Result<String, Error> {
        let context = self.error_context();
        let bytes = self.bytes().await?;
        String::from_utf8(bytes.into()).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            context.apply(
                Error::new(
                    Kind::Decode,
                    format!("the response body is not valid UTF-8 (invalid byte at offset {at})"),
                )
                .with_source(e),
            )
        })
    }

    /// Reads the whole body and parses it as JSON.
    ///
    /// # Errors
    ///
    /// As [`Response::bytes`], and a decode error when the body is not valid JSON for `T`.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        let context = self.error_context();
        let bytes = self.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            context.apply(
                Error::new(
                    Kind::Decode,
                    format!("the response body is not the expected JSON ({e})"),
                )
                .with_source(e),
            )
        })
    }

    /// Reads the next chunk of the body as it arrives; `Ok(None)` at the end. Memory stays
    /// flat however large the body is.
    ///
    /// # Errors
    ///
    /// As [`Response::bytes`], except that `max_response_bytes` does not apply and the
    /// total timeout no longer bounds the body.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future can lose a chunk, or a resume in progress; read the body no
    /// further after that.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        self.body.wire.set_mode(BodyMode::Streaming);
        self.body.next_data().await
    }

    /// Returns the body as a stream of chunks, delivered as they arrive. Memory stays flat
    /// however large the body is. The stream ends after its first error. It is `Unpin`, so
    /// `StreamExt::next` works on it without pinning.
    pub fn bytes_stream(self) -> impl Stream<Item = Result<Bytes, Error>> + Send + Unpin + 'static {
        let mut body = self.body;
        body.wire.set_mode(BodyMode::Streaming);
        Box::pin(futures_util::stream::unfold(
            Some(body),
            |state| async move {
                let mut body = state?;
                match body.next_data().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), Some(body))),
                    Ok(None) => None,
                    Err(error) => Some((Err(error), None)),
                }
            },
        ))
    }

    /// Turns a 4xx or 5xx response into an error, and returns any other as it is.
    ///
    /// # Errors
    ///
    /// Returns a status error carrying the status, the request id, the attempts, the
    /// server's `Retry-After` and why no retry was made.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.is_error_status() {
            return Err(self.status_error());
        }
        Ok(self)
    }

    /// As [`Response::error_for_status`], and keeps the first bytes of the body, at most
    /// 64 KiB, in the error's [`Error::body_prefix`]. The rest of the body is not read.
    ///
    /// # Errors
    ///
    /// Returns the status error. A body that fails while being read only shortens the prefix.
    pub async fn error_for_status_with_body(mut self) -> Result<Response, Error> {
        if !self.is_error_status() {
            return Ok(self);
        }
        let prefix = self.body.read_prefix(ERROR_BODY_PREFIX_LIMIT).await;
        Err(self.status_error().with_body_prefix(prefix))
    }

    fn is_error_status(&self) -> bool {
        self.status.is_client_error() || self.status.is_server_error()
    }

    fn status_error(&self) -> Error {
        self.error_context().apply(
            Error::new(Kind::Status, format!("server returned {}", self.status))
                .with_status(self.status)
                .with_retry_after(self.retry_after)
                .with_stop(self.stop),
        )
    }

    fn error_context(&self) -> ErrorContext {
        ErrorContext {
            method: self.method.to_string(),
            url: self.url.to_string(),
            request_id: self.request_id.to_string(),
            attempts: self.attempts(),
        }
    }
}

/// The request facts every error of a response carries.
struct ErrorContext {
    method: String,
    url: String,
    request_id: String,
    attempts: u32,
}

impl ErrorContext {
    fn apply(&self, error: Error) -> Error {
        error
            .with_request(&self.method, &self.url)
            .with_request_id(&self.request_id)
            .with_attempts(self.attempts)
    }
}

/// A decoded body chunk, or the news that the body restarted from its first byte.
enum BodyEvent {
    Data(Bytes),
    Restart,
    End,
}

/// The body pipeline: wire body, then the decoder, then the caller.
struct BodyReader {
    wire: WireBody,
    decoder: Option<Decoder>,
    /// An unsupported `Content-Encoding`, reported at the first read so that the head and
    /// `error_for_status` still work.
    encoding_error: Option<String>,
    decoded: u64,
    max_decoded: u64,
    max_buffered: u64,
    failed: bool,
}

impl BodyReader {
    fn new(
        wire: WireBody,
        encodings: Result<Vec<Encoding>, String>,
        max_decoded: u64,
        max_buffered: u64,
    ) -> BodyReader {
        let (decoder, encoding_error) = match encodings {
            Ok(list) if list.is_empty() => (None, None),
            Ok(list) => (Some(Decoder::new(&list)), None),
            Err(message) => (None, Some(message)),
        };
        BodyReader {
            wire,
            decoder,
            encoding_error,
            decoded: 0,
            max_decoded,
            max_buffered,
            failed: false,
        }
    }

    fn error(&self, kind: Kind, message: String) -> Error {
        self.wire.driver.context(Error::new(kind, message))
    }

    /// Reads the next chunk for a streaming caller.
    async fn next_data(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            match self.next_event().await? {
                BodyEvent::Data(chunk) => return Ok(Some(chunk)),
                // A streaming body restarts only before any byte reached the caller.
                BodyEvent::Restart => continue,
                BodyEvent::End => return Ok(None),
            }
        }
    }

    /// Reads the whole body, restarting the buffer when the core restarts the body.
    async fn collect(&mut self) -> Result<Bytes, Error> {
        self.wire.set_mode(BodyMode::Buffered);
        let limit = self.max_buffered;
        let announced = self
            .wire
            .announced_length()
            .filter(|_| self.decoder.is_none());
        if announced.is_some_and(|len| len > limit) {
            self.fail();
            return Err(self.too_large(limit));
        }
        let mut first: Option<Bytes> = None;
        let mut buffer = BytesMut::new();
        let mut total: u64 = 0;
        loop {
            match self.next_event().await? {
                BodyEvent::Data(chunk) => {
                    total += chunk.len() as u64;
                    if total > limit {
                        self.fail();
                        return Err(self.too_large(limit));
                    }
                    match first.take() {
                        None if buffer.is_empty() => first = Some(chunk),
                        None => buffer.extend_from_slice(&chunk),
                        Some(previous) => {
                            buffer.extend_from_slice(&previous);
                            buffer.extend_from_slice(&chunk);
                        }
                    }
                }
                BodyEvent::Restart => {
                    first = None;
                    buffer.clear();
                    total = 0;
                }
                BodyEvent::End => {
                    return Ok(first.unwrap_or_else(|| buffer.freeze()));
                }
            }
        }
    }

    fn too_large(&self, limit: u64) -> Error {
        self.error(
            Kind::Decode,
            format!(
                "the response body is larger than max_response_bytes of {limit} bytes; raise \
                 max_response_bytes or read it with bytes_stream"
            ),
        )
    }

    /// Reads at most `limit` bytes of the body; a failure ends the prefix early.
    async fn read_prefix(&mut self, limit: usize) -> Bytes {
        self.wire.set_mode(BodyMode::Buffered);
        let mut prefix = BytesMut::new();
        while prefix.len() < limit {
            match self.next_event().await {
                Ok(BodyEvent::Data(chunk)) => {
                    let room = limit - prefix.len();
                    prefix.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(BodyEvent::Restart) => prefix.clear(),
                Ok(BodyEvent::End) | Err(_) => break,
            }
        }
        prefix.freeze()
    }

    fn fail(&mut self) {
        self.failed = true;
        self.wire.abandon();
    }

    async fn next_event(&mut self) -> Result<BodyEvent, Error> {
        if self.failed {
            return Err(self.error(
                Kind::Body,
                "the response body can no longer be read because an earlier read failed"
                    .to_string(),
            ));
        }
        let result = self.read_event().await;
        if result.is_err() {
            self.fail();
        }
        result
    }

    async fn read_event(&mut self) -> Result<BodyEvent, Error> {
        if let Some(message) = self.encoding_error.take() {
            return Err(self.error(Kind::Decode, message));
        }
        if self.decoder.is_none() {
            return Ok(match self.wire.next().await? {
                WireEvent::Data(chunk) => BodyEvent::Data(chunk),
                WireEvent::Restart => BodyEvent::Restart,
                WireEvent::End => BodyEvent::End,
            });
        }
        loop {
            let pulled = match self.decoder.as_mut() {
                Some(decoder) => decoder.pull(),
                None => Ok(Pull::End),
            };
            match pulled {
                Ok(Pull::Data(chunk)) => return self.count_decoded(chunk),
                Ok(Pull::End) => return self.drain_after_decoded_end().await,
                Ok(Pull::NeedInput) => match self.wire.next().await? {
                    WireEvent::Data(chunk) => self.push(chunk),
                    WireEvent::End => self.close_input(),
                    WireEvent::Restart => return self.restart_decoder(),
                },
                Err(error) => {
                    return Err(self
                        .error(
                            Kind::Decode,
                            "the response body could not be decompressed".to_string(),
                        )
                        .with_source(error))
                }
            }
        }
    }

    fn push(&mut self, chunk: Bytes) {
        if let Some(decoder) = self.decoder.as_mut() {
            decoder.push(chunk);
        }
    }

    fn close_input(&mut self) {
        if let Some(decoder) = self.decoder.as_mut() {
            decoder.close_input();
        }
    }

    fn count_decoded(&mut self, chunk: Bytes) -> Result<BodyEvent, Error> {
        self.decoded += chunk.len() as u64;
        if self.decoded > self.max_decoded {
            let limit = self.max_decoded;
            return Err(self.error(
                Kind::Decode,
                format!(
                    "the decompressed response body exceeds max_decoded_bytes of {limit} bytes; \
                     raise max_decoded_bytes if the body is expected to be this large"
                ),
            ));
        }
        Ok(BodyEvent::Data(chunk))
    }

    /// Reads the wire body to its end after the decoder finished, so that the core records the
    /// end of the body. Bytes after the end of the encoded stream are discarded.
    async fn drain_after_decoded_end(&mut self) -> Result<BodyEvent, Error> {
        loop {
            match self.wire.next().await? {
                WireEvent::Data(_) => continue,
                WireEvent::Restart => return self.restart_decoder(),
                WireEvent::End => return Ok(BodyEvent::End),
            }
        }
    }

    fn restart_decoder(&mut self) -> Result<BodyEvent, Error> {
        self.decoded = 0;
        match parse_content_encoding_of(self.wire.content_encoding()) {
            Ok(list) if list.is_empty() => self.decoder = None,
            Ok(list) => self.decoder = Some(Decoder::new(&list)),
            Err(message) => return Err(self.error(Kind::Decode, message)),
        }
        Ok(BodyEvent::Restart)
    }
}

fn parse_content_encoding_of(value: Option<&http::HeaderValue>) -> Result<Vec<Encoding>, String> {
    let mut headers = HeaderMap::new();
    if let Some(value) = value {
        headers.insert(CONTENT_ENCODING, value.clone());
    }
    parse_content_encoding(&headers)
}
