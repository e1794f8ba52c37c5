//! One attempt on the wire: the hyper request, its redirects and the response head.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::header::{HeaderMap, HeaderName, HeaderValue, LOCATION};
use http::{Method, Uri};
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::sync::OwnedSemaphorePermit;
use url::Url;

use super::classify::AttemptError;
use super::redirect::{plan_hop, strip_body_headers, strip_credentials};
use super::transport::RequestBody;
use crate::body::BodyStream;
use crate::client::ClientShared;
use crate::error::Kind;

/// The request body of one attempt.
pub(crate) enum AttemptBody {
    Empty,
    /// Replayed on every hop that keeps the body.
    Bytes(Bytes),
    /// Sent by the first hop only; `None` once it was handed to hyper.
    Stream(Option<BodyStream>),
}

impl AttemptBody {
    fn is_replayable(&self) -> bool {
        !matches!(self, AttemptBody::Stream(_))
    }

    fn take_hyper_body(&mut self) -> Result<RequestBody, AttemptError> {
        let body = match self {
            AttemptBody::Empty => Empty::new().map_err(|never| match never {}).boxed_unsync(),
            AttemptBody::Bytes(bytes) => Full::new(bytes.clone())
                .map_err(|never| match never {})
                .boxed_unsync(),
            AttemptBody::Stream(stream) => {
                let stream = stream.take().ok_or_else(|| {
                    AttemptError::fatal(
                        Kind::Request,
                        "the streaming request body was already sent and cannot be sent again",
                    )
                })?;
                StreamBody::new(stream.map_ok(Frame::data)).boxed_unsync()
            }
        };
        Ok(body)
    }
}

/// The request of one attempt.
pub(crate) struct AttemptRequest {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// The call's headers, shared by all its attempts.
    pub(crate) base_headers: Arc<HeaderMap>,
    /// The headers the core added to this attempt, inserted over the call's.
    pub(crate) extra_headers: Vec<(HeaderName, HeaderValue)>,
    /// The headers after the first redirect, which edits them for each hop; `None` before.
    pub(crate) redirected_headers: Option<HeaderMap>,
    pub(crate) body: AttemptBody,
    /// For log events only.
    pub(crate) request_id: Arc<str>,
    pub(crate) attempt: u32,
}

impl AttemptRequest {
    /// Builds the headers of the first hop: the call's, then the attempt's.
    fn first_hop_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::clone(&self.base_headers);
        for (name, value) in &self.extra_headers {
            headers.insert(name.clone(), value.clone());
        }
        headers
    }
}

/// The response head of an attempt, after its last redirect.
pub(crate) struct AttemptHead {
    pub(crate) response: http::Response<Incoming>,
    /// The URL that returned this response.
    pub(crate) url: Url,
    /// The method of the last hop, GET when a redirect changed it.
    pub(crate) method: Method,
    /// The origin's permit, held until the body ends.
    pub(crate) permit: Option<OwnedSemaphorePermit>,
}

/// Sends one attempt and follows its redirects, up to the response head.
///
/// # Cancel safety
///
/// Dropping the future abandons the request; hyper closes or reuses the connection.
pub(crate) async fn send_attempt(
    shared: Arc<ClientShared>,
    mut request: AttemptRequest,
) -> Result<AttemptHead, AttemptError> {
    let policy = shared.config.redirect;
    let mut hops = 0;
    let mut left_origin = false;
    loop {
        let permit = shared.transport.limits.acquire(&request.url).await;
        let replayable = request.body.is_replayable();
        let mut hyper_request = http::Request::new(request.body.take_hyper_body()?);
        *hyper_request.method_mut() = request.method.clone();
        *hyper_request.uri_mut() = request_uri(&request.url)?;
        *hyper_request.headers_mut() = match &request.redirected_headers {
            Some(headers) => headers.clone(),
            None => request.first_hop_headers(),
        };

        let response = shared
            .transport
            .client
            .request(hyper_request)
            .await
            .map_err(|error| {
                let mut failure = AttemptError::from_request(error);
                if hops > 0 {
                    // The caller's URL is in the error already; name the hop that failed.
                    failure.message =
                        format!("{} after a redirect to {}", failure.message, request.url);
                }
                failure
            })?;

        let status = response.status();
        let location = response.headers().get(LOCATION);
        let hop = plan_hop(
            &policy,
            hops,
            &request.url,
            &request.method,
            status,
            location,
            replayable,
        )
        .map_err(|e| AttemptError::fatal(Kind::Redirect, e.to_string()))?;
        let Some(hop) = hop else {
            return Ok(AttemptHead {
                response,
                url: request.url,
                method: request.method,
                permit,
            });
        };

        tracing::debug!(
            target: "steadfast",
            request_id = %request.request_id,
            attempt = request.attempt,
            status = status.as_u16(),
            from = %request.url,
            to = %hop.url,
            method = %hop.method,
            "following redirect"
        );
        left_origin |= hop.changes_origin;
        // Only a redirect needs the headers again: the first hop built them for hyper and
        // kept no copy, so they are built once more here, the same way.
        if request.redirected_headers.is_none() {
            request.redirected_headers = Some(request.first_hop_headers());
        }
        let headers = request
            .redirected_headers
            .as_mut()
            .expect("the redirected headers were just set");
        if left_origin {
            strip_credentials(headers);
        }
        if !hop.keeps_body {
            request.body = AttemptBody::Empty;
            strip_body_headers(headers);
        }
        request.method = hop.method;
        request.url = hop.url;
        hops += 1;
    }
}

/// Returns `scheme://host:port`, with the scheme's default port filled in.
pub(crate) fn origin_of(url: &Url) -> String {
    let scheme = url.scheme();
    let host = url.host_str().unwrap_or("");
    let port = url.port_or_known_default().unwrap_or(0);
    // Built by hand because `format!` costs several times as much, once per request.
    let mut origin = String::with_capacity(scheme.len() + host.len() + 9);
    origin.push_str(scheme);
    origin.push_str("://");
    origin.push_str(host);
    origin.push(':');
    let mut digits = [0u8; 5];
    let mut start = digits.len();
    let mut rest = port;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        origin.push(char::from(digit));
    }
    origin
}

/// Converts `url` into the URI hyper sends, without its fragment, which is never sent.
fn request_uri(url: &Url) -> Result<Uri, AttemptError> {
    let text = match url.as_str().split_once('#') {
        Some((before, _)) => before,
        None => url.as_str(),
    };
    Uri::try_from(text).map_err(|e| {
        let mut error = AttemptError::fatal(
            Kind::Builder,
            format!("invalid URL {text:?}: it cannot be sent as an HTTP request target"),
        );
        error.source = Some(Box::new(e));
        error
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_fills_default_port() {
        let url = Url::parse("https://example.test/path").unwrap();
        assert_eq!(origin_of(&url), "https://example.test:443");
        let ipv6 = Url::parse("http://[::1]:8080/").unwrap();
        assert_eq!(origin_of(&ipv6), "http://[::1]:8080");
        let low = Url::parse("http://127.0.0.1:1/").unwrap();
        assert_eq!(origin_of(&low), "http://127.0.0.1:1");
        let high = Url::parse("http://127.0.0.1:65535/").unwrap();
        assert_eq!(origin_of(&high), "http://127.0.0.1:65535");
        let zero = Url::parse("http://127.0.0.1:0/").unwrap();
        assert_eq!(origin_of(&zero), "http://127.0.0.1:0");
    }

    #[test]
    fn fragment_not_sent() {
        let url = Url::parse("http://127.0.0.1:1/a?b=c#frag").unwrap();
        assert_eq!(
            request_uri(&url).unwrap().to_string(),
            "http://127.0.0.1:1/a?b=c"
        );
    }
}
