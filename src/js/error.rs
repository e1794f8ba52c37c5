//! steadfast errors as plain objects that the JavaScript layer turns into error classes.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::core::TimeoutPhase;
use crate::error::Error;

/// Builds `{ steadfastError: true, kind, message, status, attempts, requestId, retryAfter, phase, budgetExhausted,
/// stopReason, detail }` from `error`. `kind` is one of `builder`, `timeout`, `connect`,
/// `status`, `body`, `decode`, `cancelled` and `request`; `retryAfter` is in milliseconds.
pub(crate) fn error_value(error: &Error) -> JsValue {
    let object = Object::new();
    set(&object, "steadfastError", &JsValue::TRUE);
    set(&object, "kind", &JsValue::from_str(kind_name(error)));
    set(&object, "message", &JsValue::from_str(&error.to_string()));
    set(&object, "attempts", &JsValue::from(error.attempts()));
    set(
        &object,
        "budgetExhausted",
        &JsValue::from(error.is_budget_exhausted()),
    );
    if let Some(status) = error.status() {
        set(&object, "status", &JsValue::from(status.as_u16()));
    }
    if let Some(request_id) = error.request_id() {
        set(&object, "requestId", &JsValue::from_str(request_id));
    }
    if let Some(retry_after) = error.retry_after() {
        set(
            &object,
            "retryAfter",
            &JsValue::from(retry_after.as_millis() as f64),
        );
    }
    if let Some(phase) = error.timeout_phase() {
        set(&object, "phase", &JsValue::from_str(phase_name(phase)));
    }
    if let Some(stop) = error.stop_reason() {
        set(&object, "stopReason", &JsValue::from_str(&stop.to_string()));
    }
    if let Some(source) = std::error::Error::source(error) {
        set(&object, "detail", &JsValue::from_str(&source.to_string()));
    }
    object.into()
}

/// Returns a JavaScript `TypeError` with `message`.
pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

fn kind_name(error: &Error) -> &'static str {
    if error.is_builder() {
        "builder"
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_status() {
        "status"
    } else if error.is_body() {
        "body"
    } else if error.is_decode() {
        "decode"
    } else if error.is_cancelled() {
        "cancelled"
    } else {
        "request"
    }
}

fn phase_name(phase: TimeoutPhase) -> &'static str {
    match phase {
        TimeoutPhase::Connect => "connect",
        TimeoutPhase::Attempt => "attempt",
        TimeoutPhase::Read => "read",
        _ => "total",
    }
}

fn set(object: &Object, name: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot throw.
    let _ = Reflect::set(object, &JsValue::from_str(name), value);
}
