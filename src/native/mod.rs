//! The native adapter: hyper 1.x on tokio, rustls, HTTP/1.1 and HTTP/2.
//!
//! The core decides, and this adapter carries the decisions out. [`send`] creates the core's
//! call and sends each attempt through hyper-util's pooled client, following redirects
//! inside the attempt and racing it against the core's deadlines. The delivered response
//! goes to a [`Response`] whose body reader keeps driving the same call: it reports every
//! chunk, enforces the read timeout, resumes or restarts a failed body, and decompresses.
//!
//! Nothing here spawns a task: a call is one future, so dropping it cancels the attempt and
//! any sleep at once. hyper-util's connection tasks belong to the pool, not to a call.

mod classify;
mod decode;
mod driver;
mod exchange;
mod redirect;
mod response;
mod time;
mod transport;
mod wire;

use url::Url;

use self::driver::{Driver, Outcome};
use self::exchange::AttemptBody;
use crate::body::BodyInner;
use crate::client::PreparedRequest;
use crate::core::Call;
use crate::error::{Error, Kind};

pub use self::response::Response;
pub(crate) use self::transport::Transport;

/// Native requests need an absolute `http://` or `https://` URL: there is no base to resolve
/// a relative one against.
pub(crate) const ACCEPTS_RELATIVE_URLS: bool = false;

/// Sends `request` with every retry its policy allows, and returns the delivered response.
///
/// # Errors
///
/// Returns a builder error, with nothing sent, for a URL that does not parse, and otherwise
/// the error that ended the call.
///
/// # Cancel safety
///
/// Dropping the future cancels the running attempt and any backoff sleep.
pub(crate) async fn send(mut request: PreparedRequest) -> Result<Response, Error> {
    let url = parse_url(&request.url).map_err(|error| {
        error.with_request(request.method.as_str(), &redact_credentials(&request.url))
    })?;
    // `parse_url` rejects URLs with credentials, so the text needs no redaction from here on
    // and is not parsed a second time.
    let display_url = std::mem::take(&mut request.url);
    let context = |error: Error| error.with_request(request.method.as_str(), &display_url);
    let spec = request.call_spec(exchange::origin_of(&url), true, true);
    let seed = request.shared.transport.seeds.next().map_err(context)?;
    let clock = request.shared.transport.clock;
    let call = Call::new(spec, clock.now(), seed);
    if let Some(key) = call.idempotency_key() {
        if http::HeaderValue::from_str(key).is_err() {
            return Err(context(Error::builder(format!(
                "invalid idempotency key {key:?}: use visible ASCII"
            ))));
        }
    }

    let body = match request.body.inner {
        BodyInner::Bytes(bytes) => AttemptBody::Bytes(bytes),
        BodyInner::Stream(stream) => AttemptBody::Stream(Some(stream)),
    };
    let mut driver = Box::new(Driver::new(
        call,
        request.shared,
        request.method,
        url,
        display_url,
        request.headers,
        body,
    ));
    loop {
        match driver.drive().await? {
            Outcome::Delivered(delivery, head) => {
                return Ok(Response::new(driver, delivery, head));
            }
            Outcome::Idle => driver.await_deadline().await?,
            Outcome::Continued { .. } | Outcome::Finished => {
                return Err(driver.context(Error::new(
                    Kind::Request,
                    "steadfast's core ended a call before delivering a response; this is a \
                     bug in steadfast, please report it",
                )));
            }
        }
    }
}

/// Parses the request URL. The client builder already rejected whitespace, control
/// characters and anything but `http://` and `https://`.
fn parse_url(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|e| {
        Error::builder(format!(
            "invalid URL {text:?}: {e}; check the host and port"
        ))
        .with_source(e)
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::builder(format!(
            "invalid URL {text:?}: the scheme must be http or https"
        )));
    }
    if url.host_str().map_or(true, str::is_empty) {
        return Err(Error::builder(format!(
            "invalid URL {text:?}: it has no host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::builder(
            "invalid URL: credentials in the URL are not sent; remove them and set an \
             Authorization header (for example with bearer_auth)",
        ));
    }
    Ok(url)
}

/// Returns `text` with any user name and password replaced by `***`, so that errors and
/// log events never show them.
fn redact_credentials(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            // Both setters fail only for URLs that cannot have credentials at all.
            let _ = url.set_username("***");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_url_accepts_http_and_https() {
        assert!(parse_url("http://127.0.0.1:8080/a?b#c").is_ok());
        assert!(parse_url("https://[::1]/").is_ok());
    }

    #[test]
    fn parse_url_rejects_bad_port() {
        let error = parse_url("http://127.0.0.1:99999/").unwrap_err();
        assert!(error.is_builder());
        assert!(error.to_string().contains("127.0.0.1:99999"), "{error}");
    }

    #[test]
    fn parse_url_rejects_credentials() {
        let error = parse_url("http://user:secret@127.0.0.1/").unwrap_err();
        assert!(error.is_builder());
        assert!(error.to_string().contains("credentials"), "{error}");
    }

    #[test]
    fn credentials_redacted_in_errors() {
        let redacted = redact_credentials("http://user:secret@127.0.0.1/x");
        assert_eq!(redacted, "http://***@127.0.0.1/x");
        assert_eq!(
            redact_credentials("http://127.0.0.1/x"),
            "http://127.0.0.1/x"
        );
    }

    #[test]
    fn parse_url_rejects_missing_host() {
        assert!(parse_url("http://:80/").unwrap_err().is_builder());
    }
}
