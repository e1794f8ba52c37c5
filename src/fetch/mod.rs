//! The fetch adapter for wasm32: drives the core with the host's global `fetch`, so one
//! client runs in browsers, browser workers, Cloudflare Workers (workerd), Deno and Node.
//!
//! Time comes from `performance.now()` (the core's clock) and `Date.now()` (for
//! `Retry-After` dates), randomness from `crypto.getRandomValues` through getrandom, sleeps
//! from `setTimeout`, and every attempt has its own `AbortController`. Dropping the future of
//! `send`, or the [`Response`], aborts the fetch and clears the timer.
//!
//! # What fetch cannot guarantee the way the native adapter does
//!
//! - **Refused or dropped.** Fetch rejects every network failure with a bare `TypeError`, so
//!   a refused connection, which proves nothing was sent, looks like one that dropped
//!   mid-request. A POST without an `Idempotency-Key` is therefore not retried after any
//!   network failure. Node is the exception: undici names the socket error in `cause.code`,
//!   and `ECONNREFUSED` is treated as refused. A CORS rejection is a `TypeError` too, so it is
//!   retried like a network failure.
//! - **Headers fetch owns.** `Accept-Encoding`, `Content-Length`, `Host`, `Connection` and
//!   the other framing headers are never passed to fetch. In browsers every forbidden
//!   request header is dropped too, `User-Agent` included.
//! - **Cross-origin browser requests.** Steadfast adds no `X-Request-ID` (unless
//!   [`RequestIdPolicy::Always`](crate::RequestIdPolicy::Always)) and resumes with `Range`
//!   alone, without `If-Range`, so a simple request stays simple. Only the response headers
//!   the server lists in `Access-Control-Expose-Headers` are readable: without `Retry-After`
//!   there the normal backoff applies. Without `ETag`, `Accept-Ranges` and `Content-Range`
//!   a body that fails midway is not resumed: a buffered read starts again from the first
//!   byte, and a stream fails.
//! - **Redirects, decompression, connections.** The runtime follows redirects by its own
//!   rules, so the `redirect` policy does not apply. It decodes content encodings itself,
//!   and `max_decoded_bytes` counts the decoded bytes only where `Content-Encoding` is
//!   readable. It keeps its own connection pool, so `connect_timeout`, the pool settings and
//!   `http2_prior_knowledge` do nothing, and `attempt_timeout` covers connecting.
//! - **Short bodies.** Browsers and undici fail a body that ends before its
//!   `Content-Length` on their own. The core's own length check runs only where the
//!   runtime lets every header be read and the body is not content-encoded, because fetch
//!   hands out decoded bytes.
//! - **Read timeout.** The timer runs while steadfast waits on `reader.read()`. The runtime's
//!   stream queue does the reading ahead, so after a consumer pause a stalled server is
//!   noticed up to `read_timeout` after the next read starts, not after the last byte
//!   arrived.
//! - **Streaming request bodies** are not supported: `send` returns a builder error.

mod abort;
mod bindings;
mod error;
mod exchange;
mod request;
mod response;
mod timer;

pub use response::Response;

use crate::client::{ClientConfig, PreparedRequest, RequestIdPolicy};
use crate::core::{Call, Delivery};
use crate::error::{Error, Kind};
use bindings::Host;
use error::RequestContext;
use exchange::{Event, Exchange, Head};
use request::{RequestTemplate, Target};
use response::BodyLimits;

/// Relative URLs are valid: fetch resolves them against the page (or Deno's `--location`).
pub(crate) const ACCEPTS_RELATIVE_URLS: bool = true;

/// The fetch transport: what the client knows about its host. The host's fetch keeps all
/// connection state.
#[derive(Debug)]
pub(crate) struct Transport {
    host: Host,
}

impl Transport {
    /// Creates the transport.
    ///
    /// # Errors
    ///
    /// Never fails; the signature matches the native transport.
    pub(crate) fn new(_config: &ClientConfig) -> Result<Transport, Error> {
        Ok(Transport {
            host: Host::detect(),
        })
    }
}

/// Sends a request with every retry its policy allows, and returns the delivered response.
///
/// # Errors
///
/// Returns a builder error for a streaming body or a URL the host cannot resolve, and
/// otherwise the failure that ended the call.
///
/// # Cancel safety
///
/// Dropping the future aborts the fetch under way and clears any backoff timer; nothing more
/// is sent.
pub(crate) async fn send(request: PreparedRequest) -> Result<Response, Error> {
    send_with(request, None).await
}

/// Sends a request like [`send`], calling `fetch(request)` for every attempt instead of
/// `globalThis.fetch` when it is given: a Worker service binding, or a test double.
///
/// # Errors
///
/// The errors of [`send`].
///
/// # Cancel safety
///
/// The same as [`send`].
pub(crate) async fn send_with(
    request: PreparedRequest,
    fetch: Option<js_sys::Function>,
) -> Result<Response, Error> {
    let method = request.method.as_str();
    let Some(body) = request.body.as_bytes() else {
        let what = "a streaming request body is not supported by the fetch adapter yet; pass \
                    the body as bytes";
        return Err(Error::builder(what).with_request(method, &request.url));
    };
    let target = Target::resolve(&request.url, &request.shared.transport.host)
        .map_err(|e| e.with_request(method, &request.url))?;

    let call = start_call(&request, &target)?;
    let template = RequestTemplate::new(method, &target, &request.headers, body);
    let context = RequestContext {
        method: request.method.clone(),
        url: target.url.clone(),
    };
    let mut exchange = Exchange::new(call, template, context).with_fetch(fetch);

    let (head, delivery) = first_delivery(&mut exchange).await?;
    let config = &request.shared.config;
    let limits = BodyLimits {
        max_response_bytes: config.max_response_bytes,
        max_decoded_bytes: config.max_decoded_bytes,
    };
    Ok(Response::new(exchange, head, delivery, limits))
}

/// Creates the core's call. A cross-origin browser request gets no request id header unless
/// the policy is `Always`, and never `If-Range`, so a simple request needs no preflight.
fn start_call(request: &PreparedRequest, target: &Target) -> Result<Call, Error> {
    let send_request_id = match request.shared.config.request_id {
        RequestIdPolicy::Always => true,
        RequestIdPolicy::Never => false,
        RequestIdPolicy::Auto => !target.cross_origin,
    };
    let spec = request.call_spec(target.origin.clone(), send_request_id, !target.cross_origin);
    let seed = random_seed().map_err(|e| e.with_request(request.method.as_str(), &target.url))?;
    Ok(Call::new(spec, bindings::now(), seed))
}

/// Runs the call up to its first delivered response.
async fn first_delivery(exchange: &mut Exchange) -> Result<(Head, Delivery), Error> {
    let delivery = match exchange.advance().await? {
        Event::Deliver(delivery) => delivery,
        other => {
            // Written out instead of `{other:?}`, whose derived `Debug` would compile in
            // `Debug` for every core type the events carry.
            let event = match other {
                Event::Continue(offset) => format!("Continue({offset})"),
                Event::Finish => "Finish".to_string(),
                Event::Body => "Body".to_string(),
                Event::Deliver(_) => "Deliver".to_string(),
            };
            let what = format!("internal error: the call produced {event} before a response");
            return Err(exchange.context_error(Kind::Request, what));
        }
    };
    match exchange.take_head() {
        Some(head) => Ok((head, delivery)),
        None => {
            let what = "internal error: the call delivered a response without a head";
            Err(exchange.context_error(Kind::Request, what))
        }
    }
}

/// Draws the core's seed from `crypto.getRandomValues`.
fn random_seed() -> Result<[u8; 32], Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| {
        Error::new(
            Kind::Request,
            "crypto.getRandomValues is not available, so no request id or jitter can be drawn",
        )
        .with_source(error.to_string())
    })?;
    Ok(seed)
}
