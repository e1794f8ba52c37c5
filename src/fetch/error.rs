//! Fetch's JavaScript errors and the core's failures, turned into [`Error`]s.

use std::time::Duration;

use http::{Method, StatusCode};
use wasm_bindgen::JsValue;

use super::bindings::property;
use crate::core::{BodyFault, CallSpec, Failure, FailureKind, TimeoutPhase, TransportErrorKind};
use crate::error::{Error, Kind};

/// The maximum number of `cause`s described, so that a cycle of hand-made errors cannot hang.
const MAX_CAUSES: usize = 4;

/// The request a failure belongs to, for error messages.
#[derive(Clone, Debug)]
pub(crate) struct RequestContext {
    pub method: Method,
    pub url: String,
}

/// Describes a thrown JavaScript value as `Name: message`, followed by its `cause` chain,
/// where undici puts the socket error (`cause: Error: connect ECONNREFUSED … (ECONNREFUSED)`).
pub(crate) fn describe_js_error(value: &JsValue) -> String {
    let mut text = describe_one(value);
    let mut cause = property(value, "cause");
    for _ in 0..MAX_CAUSES {
        if cause.is_undefined() || cause.is_null() {
            break;
        }
        text.push_str("; caused by ");
        text.push_str(&describe_one(&cause));
        cause = property(&cause, "cause");
    }
    text
}

fn describe_one(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    if !value.is_object() {
        return format!("{value:?}");
    }
    let name = property(value, "name").as_string();
    let message = property(value, "message").as_string().unwrap_or_default();
    let mut text = match name {
        Some(name) if message.is_empty() => name,
        Some(name) => format!("{name}: {message}"),
        None => format!("{value:?}"),
    };
    if let Some(code) = property(value, "code").as_string() {
        text.push_str(&format!(" ({code})"));
    }
    text
}

/// Names of rejections that a retry cannot change. An `AbortError` is among them because it is
/// never ours: an attempt is dropped before its own abort could be observed.
const PERMANENT_ERRORS: [&str; 6] = [
    "AbortError",
    "TimeoutError",
    "SecurityError",
    "NotAllowedError",
    "NotSupportedError",
    "InvalidStateError",
];

/// Classifies the rejection of a fetch or of a body read.
///
/// Fetch reports every network failure as a `TypeError` (workerd as a plain `Error`), so on
/// its own it cannot tell a
/// refused connection, which proves nothing was sent, from a dropped one: that is
/// [`TransportErrorKind::Network`], after which a POST without an idempotency key is not
/// retried. Node's undici names the socket error in `cause.code`, and those codes are mapped
/// to the precise kinds.
pub(crate) fn classify_rejection(value: &JsValue) -> TransportErrorKind {
    let name = property(value, "name").as_string().unwrap_or_default();
    if PERMANENT_ERRORS.contains(&name.as_str()) {
        return TransportErrorKind::Other;
    }
    let mut cause = property(value, "cause");
    for _ in 0..MAX_CAUSES {
        if !cause.is_object() {
            break;
        }
        if let Some(kind) = property(&cause, "code")
            .as_string()
            .and_then(|c| node_code(&c))
        {
            return kind;
        }
        cause = property(&cause, "cause");
    }
    TransportErrorKind::Network
}

/// Maps Node and undici socket error codes.
fn node_code(code: &str) -> Option<TransportErrorKind> {
    let kind = match code {
        "ECONNREFUSED" => TransportErrorKind::ConnectRefused,
        "ENOTFOUND" | "EAI_AGAIN" => TransportErrorKind::Dns,
        "UND_ERR_CONNECT_TIMEOUT" => TransportErrorKind::ConnectTimeout,
        "ECONNRESET" | "EPIPE" | "UND_ERR_SOCKET" | "UND_ERR_CLOSED" => {
            TransportErrorKind::ConnectionReset
        }
        _ => return None,
    };
    Some(kind)
}

/// Builds the error for a call the core ended with `failure`. `detail` is the description of
/// the last JavaScript error, attached as the source.
pub(crate) fn failure_error(
    failure: &Failure,
    spec: &CallSpec,
    context: &RequestContext,
    request_id: &str,
    detail: Option<String>,
) -> Error {
    let (kind, what) = describe_failure(&failure.kind, spec);
    let mut error = Error::new(kind, what)
        .with_request(context.method.as_str(), &context.url)
        .with_request_id(request_id)
        .with_attempts(failure.attempts)
        .with_stop(failure.stop);
    if let Some(status) = failure.status.and_then(|s| StatusCode::from_u16(s).ok()) {
        error = error.with_status(status);
    }
    match detail {
        Some(detail) => error.with_source(detail),
        None => error,
    }
}

fn describe_failure(kind: &FailureKind, spec: &CallSpec) -> (Kind, String) {
    match kind {
        FailureKind::Transport(transport) => describe_transport(*transport),
        FailureKind::Timeout(phase) => describe_timeout(*phase, spec),
        FailureKind::Body(BodyFault::Stalled) => (
            Kind::Timeout(TimeoutPhase::Read),
            format!(
                "the response body stalled: no bytes arrived within the read timeout of {}",
                format_duration(spec.read_timeout)
            ),
        ),
        FailureKind::Body(BodyFault::Short { expected, received }) => (
            Kind::Body,
            format!("the response body ended after {received} of its {expected} bytes"),
        ),
        FailureKind::Body(_) => (
            Kind::Body,
            "the connection failed before the response body was complete".to_string(),
        ),
        FailureKind::Resume(rejection) => (Kind::Body, rejection.to_string()),
        FailureKind::Cancelled => (Kind::Cancelled, "the request was cancelled".to_string()),
    }
}

fn describe_transport(kind: TransportErrorKind) -> (Kind, String) {
    let what = match kind {
        TransportErrorKind::ConnectRefused => "connection refused",
        TransportErrorKind::Dns => "DNS resolution failed",
        TransportErrorKind::ConnectTimeout => "connect timed out",
        TransportErrorKind::ConnectionReset => {
            "the connection closed before the response head arrived"
        }
        TransportErrorKind::InvalidRequest => "fetch rejected the request before sending it",
        TransportErrorKind::Network => {
            "fetch failed with a network error (the server may be down, or in a browser the \
             response may lack the CORS headers for this origin)"
        }
        _ => "fetch failed",
    };
    let public = match kind {
        TransportErrorKind::ConnectRefused | TransportErrorKind::Dns => Kind::Connect,
        TransportErrorKind::ConnectTimeout => Kind::Timeout(TimeoutPhase::Connect),
        TransportErrorKind::InvalidRequest => Kind::Builder,
        _ => Kind::Request,
    };
    (public, what.to_string())
}

fn describe_timeout(phase: TimeoutPhase, spec: &CallSpec) -> (Kind, String) {
    let what = match phase {
        TimeoutPhase::Total => format!(
            "the request timed out: the total timeout of {} passed",
            format_duration(spec.total_timeout)
        ),
        TimeoutPhase::Attempt => format!(
            "the request timed out: no response head within the attempt timeout of {}",
            format_duration(spec.attempt_timeout)
        ),
        TimeoutPhase::Read => format!(
            "the response body stalled: no bytes arrived within the read timeout of {}",
            format_duration(spec.read_timeout)
        ),
        _ => "the request timed out".to_string(),
    };
    (Kind::Timeout(phase), what)
}

/// Formats a configured duration as `250 ms` or `1.5 s`, rounding to tenths of a second.
///
/// Integer arithmetic on `u64` only: float and `u128` formatting would add several KiB to
/// the browser build.
pub(crate) fn format_duration(duration: Option<Duration>) -> String {
    let Some(duration) = duration else {
        return "none".to_string();
    };
    let (secs, millis) = (duration.as_secs(), duration.subsec_millis());
    if secs == 0 {
        format!("{millis} ms")
    } else if millis == 0 {
        format!("{secs} s")
    } else {
        let tenths = (millis + 50) / 100;
        // 950 ms and more round up to the next whole second.
        format!(
            "{}.{} s",
            secs.saturating_add(u64::from(tenths / 10)),
            tenths % 10
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Some(Duration::from_millis(250))), "250 ms");
        assert_eq!(format_duration(Some(Duration::from_secs(30))), "30 s");
        assert_eq!(format_duration(Some(Duration::from_millis(1500))), "1.5 s");
        assert_eq!(format_duration(Some(Duration::from_millis(1999))), "2.0 s");
        assert_eq!(format_duration(None), "none");
    }

    #[wasm_bindgen_test]
    fn node_codes_refine_type_errors() {
        assert_eq!(
            node_code("ECONNREFUSED"),
            Some(TransportErrorKind::ConnectRefused)
        );
        assert_eq!(
            node_code("UND_ERR_SOCKET"),
            Some(TransportErrorKind::ConnectionReset)
        );
        assert_eq!(node_code("EWHATEVER"), None);
    }
}
