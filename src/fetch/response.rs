//! The response of a fetch call, and its body.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::exchange::{Chunk, Exchange, Head};
use crate::core::{BodyExpectation, BodyMode, Delivery, StopReason};
use crate::error::{Error, Kind};

/// The most of an error body that [`Response::error_for_status_with_body`] keeps.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The largest buffer [`Response::bytes`] reserves up front from `Content-Length`.
const MAX_RESERVE: u64 = 1024 * 1024;

/// A response whose head has arrived; the body is read on demand.
///
/// Dropping it before the body ends aborts the fetch, so the runtime stops downloading.
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    url: String,
    content_length: Option<u64>,
    encoded: bool,
    delivery: Delivery,
    exchange: Exchange,
    max_response_bytes: u64,
    max_decoded_bytes: u64,
    body_mode: Option<BodyMode>,
    /// Decoded bytes read so far, checked against `max_decoded_bytes`.
    decoded: u64,
}

/// The body limits of a client.
pub(crate) struct BodyLimits {
    pub max_response_bytes: u64,
    pub max_decoded_bytes: u64,
}

impl Response {
    pub(crate) fn new(
        mut exchange: Exchange,
        head: Head,
        delivery: Delivery,
        limits: BodyLimits,
    ) -> Response {
        if delivery.body == BodyExpectation::Empty {
            exchange.release();
        }
        let url = if head.url.is_empty() {
            exchange.context().url.clone()
        } else {
            head.url
        };
        Response {
            status: StatusCode::from_u16(head.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: head.headers,
            url,
            content_length: head.content_length,
            encoded: head.encoded,
            delivery,
            exchange,
            max_response_bytes: limits.max_response_bytes,
            max_decoded_bytes: limits.max_decoded_bytes,
            body_mode: None,
            decoded: 0,
        }
    }

    /// Returns the status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Returns the headers that fetch lets the caller read. Cross-origin, in a browser, that
    /// is the CORS-safelisted ones plus those the server lists in
    /// `Access-Control-Expose-Headers`.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Returns the URL of the response, after the runtime's redirects.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the request id: the one sent on every attempt, or, when none was sent (a
    /// cross-origin browser request), the one that identifies the call in logs and errors.
    pub fn request_id(&self) -> &str {
        self.exchange.call().request_id()
    }

    /// Returns the number of attempts sent so far, a resume of the body included.
    pub fn attempts(&self) -> u32 {
        self.exchange.call().attempts()
    }

    /// Returns why no retry was made, when the status was retryable.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.delivery.stop
    }

    /// Returns the server's `Retry-After` delay, when the status was retryable and the header
    /// was readable and valid.
    pub fn retry_after(&self) -> Option<Duration> {
        self.delivery.retry_after
    }

    /// Returns the body length the response declares, when it is known to match what the
    /// body yields: not for a content-encoded or CORS-filtered response, nor a bodiless one.
    pub fn content_length(&self) -> Option<u64> {
        match self.delivery.body {
            BodyExpectation::Empty => Some(0),
            _ => self.content_length,
        }
    }

    /// Reads the whole body, up to `max_response_bytes`.
    ///
    /// # Errors
    ///
    /// Returns a decode error when the body exceeds `max_response_bytes`, a timeout when the
    /// total or read timeout passes, and a body error when the body fails and cannot be
    /// resumed or read again.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        self.read_all().await
    }

    /// Reads the whole body as UTF-8 text, up to `max_response_bytes`.
    ///
    /// # Errors
    ///
    /// Returns a decode error for a body that is not valid UTF-8, and the errors of
    /// [`Response::bytes`].
    pub async fn text(mut self) -> Result<String, Error> {
        let bytes = self.read_all().await?;
        String::from_utf8(bytes.to_vec()).map_err(|error| {
            let offset = error.utf8_error().valid_up_to();
            let what =
                format!("the response body is not valid UTF-8 (invalid byte at offset {offset})");
            self.decode_error(what).with_source(error)
        })
    }

    /// Reads the whole body and parses it as JSON, up to `max_response_bytes`.
    ///
    /// # Errors
    ///
    /// Returns a decode error for a body that is not valid JSON for `T`, and the errors of
    /// [`Response::bytes`].
    pub async fn json<T: DeserializeOwned>(mut self) -> Result<T, Error> {
        let bytes = self.read_all().await?;
        serde_json::from_slice(&bytes).map_err(|error| {
            let what = format!(
                "the response body is not valid JSON for {}",
                std::any::type_name::<T>()
            );
            self.decode_error(what).with_source(error)
        })
    }

    /// Reads the next chunk of the body as it arrives, or `None` at its end.
    ///
    /// # Errors
    ///
    /// Returns a timeout when the read timeout passes, and a body error when the body fails
    /// and cannot be resumed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses no bytes: the read under way is kept for the next call.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        self.set_body_mode(BodyMode::Streaming);
        loop {
            match self.next_chunk().await? {
                Chunk::Data(bytes) => return Ok(Some(bytes)),
                // A streamed body restarts only before its first byte, so nothing to discard.
                Chunk::Restart => {}
                Chunk::End => return Ok(None),
            }
        }
    }

    /// Turns the body into a stream of chunks, delivered as they arrive. The stream ends after
    /// its first error. It is `Unpin`, as the native one is, so
    /// `StreamExt::next` works without pinning.
    pub fn bytes_stream(self) -> impl Stream<Item = Result<Bytes, Error>> + Unpin {
        Box::pin(futures_util::stream::unfold(
            Some(self),
            |state| async move {
                let mut response = state?;
                match response.chunk().await {
                    Ok(Some(bytes)) => Some((Ok(bytes), Some(response))),
                    Ok(None) => None,
                    Err(error) => Some((Err(error), None)),
                }
            },
        ))
    }

    /// Returns the response unchanged for a 1xx, 2xx or 3xx status, and an error for 4xx and
    /// 5xx. The body is not read; see [`Response::error_for_status_with_body`].
    ///
    /// # Errors
    ///
    /// Returns a status error carrying the status, the attempts, the server's
    /// `Retry-After` and why no retry was made.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.is_error_status() {
            return Err(self.status_error());
        }
        Ok(self)
    }

    /// Like [`Response::error_for_status`], but reads up to 64 KiB of an error body into the
    /// error ([`Error::body_prefix`]) and drops the rest.
    ///
    /// # Errors
    ///
    /// Returns the status error; a failure while reading the body only shortens the prefix.
    pub async fn error_for_status_with_body(mut self) -> Result<Response, Error> {
        if !self.is_error_status() {
            return Ok(self);
        }
        let error = self.status_error();
        let prefix = self.read_prefix(MAX_ERROR_BODY).await;
        Err(error.with_body_prefix(prefix))
    }

    fn is_error_status(&self) -> bool {
        self.status.is_client_error() || self.status.is_server_error()
    }

    fn status_error(&self) -> Error {
        let reason = self.status.canonical_reason().unwrap_or("");
        let what = format!("HTTP status {} {reason}", self.status.as_u16());
        self.exchange
            .context_error(Kind::Status, what.trim_end())
            .with_status(self.status)
            .with_retry_after(self.delivery.retry_after)
            .with_stop(self.delivery.stop)
    }

    async fn read_prefix(&mut self, max: usize) -> Bytes {
        let mut prefix = Vec::new();
        while prefix.len() < max {
            match self.chunk().await {
                Ok(Some(bytes)) => prefix.extend_from_slice(&bytes),
                Ok(None) | Err(_) => break,
            }
        }
        prefix.truncate(max);
        Bytes::from(prefix)
    }

    async fn read_all(&mut self) -> Result<Bytes, Error> {
        self.set_body_mode(BodyMode::Buffered);
        let limit = self.max_response_bytes;
        if let Some(length) = self.content_length.filter(|&length| length > limit) {
            return Err(self.too_large(limit, Some(length)));
        }
        let reserve = self.content_length.unwrap_or(0).min(MAX_RESERVE);
        let mut body = Vec::with_capacity(reserve as usize);
        loop {
            match self.next_chunk().await? {
                Chunk::Data(bytes) => {
                    if (body.len() + bytes.len()) as u64 > limit {
                        return Err(self.too_large(limit, None));
                    }
                    body.extend_from_slice(&bytes);
                }
                Chunk::Restart => body.clear(),
                Chunk::End => return Ok(Bytes::from(body)),
            }
        }
    }

    fn decode_error(&self, what: String) -> Error {
        self.exchange
            .context_error(Kind::Decode, what)
            .with_status(self.status)
    }

    /// Reports the body mode on the first read. Later reads keep it, so that a body that was
    /// partly streamed is never restarted as if it had been buffered.
    fn set_body_mode(&mut self, mode: BodyMode) {
        if self.body_mode.is_none() {
            self.body_mode = Some(mode);
            self.exchange.set_body_mode(mode);
        }
    }

    async fn next_chunk(&mut self) -> Result<Chunk, Error> {
        let chunk = self.exchange.next_chunk().await?;
        match &chunk {
            Chunk::Data(bytes) if self.encoded => {
                self.decoded += bytes.len() as u64;
                if self.decoded > self.max_decoded_bytes {
                    self.exchange.abandon();
                    let what = format!(
                        "the decoded response body exceeds max_decoded_bytes of {} bytes",
                        self.max_decoded_bytes
                    );
                    return Err(self.exchange.context_error(Kind::Decode, what));
                }
            }
            Chunk::Restart => self.decoded = 0,
            _ => {}
        }
        Ok(chunk)
    }

    fn too_large(&mut self, limit: u64, declared: Option<u64>) -> Error {
        self.exchange.abandon();
        let declared = match declared {
            Some(length) => format!(" (Content-Length is {length})"),
            None => String::new(),
        };
        let what = format!(
            "the response body exceeds max_response_bytes of {limit} bytes{declared} (raise \
             it, or stream the body with bytes_stream)"
        );
        self.exchange.context_error(Kind::Decode, what)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &self.url)
            .field("attempts", &self.attempts())
            .field("request_id", &self.request_id())
            .finish_non_exhaustive()
    }
}
