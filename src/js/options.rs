//! Reading the normalised option objects of the JavaScript layer.
//!
//! The JavaScript layer checks names, types and ranges first and throws a `TypeError` that
//! uses the JavaScript option names. The checks here repeat only what Rust needs to read a
//! value, so a caller of the raw classes still gets a `TypeError`, never a panic.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::error::type_error;
use crate::client::{Client, ClientBuilder, RequestIdPolicy};
use crate::core::{Jitter, RetryBudget, RetryPolicy};

/// Returns `target[name]`, or `undefined` when the lookup throws.
pub(crate) fn property(target: &JsValue, name: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Reads a string property; `undefined` is `None`.
pub(crate) fn optional_string(target: &JsValue, name: &str) -> Result<Option<String>, JsValue> {
    let value = property(target, name);
    if value.is_undefined() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| type_error(&format!("invalid option {name}: expected a string")))
}

/// Reads a boolean property; `undefined` is `None`.
pub(crate) fn optional_bool(target: &JsValue, name: &str) -> Result<Option<bool>, JsValue> {
    let value = property(target, name);
    if value.is_undefined() {
        return Ok(None);
    }
    value
        .as_bool()
        .map(Some)
        .ok_or_else(|| type_error(&format!("invalid option {name}: expected true or false")))
}

/// Reads a non-negative integer property; `undefined` is `None`.
fn optional_count(target: &JsValue, name: &str) -> Result<Option<u32>, JsValue> {
    let value = property(target, name);
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n < f64::from(u32::MAX) => Ok(Some(n as u32)),
        _ => Err(type_error(&format!(
            "invalid option {name}: expected a non-negative integer"
        ))),
    }
}

/// Reads a duration in milliseconds; `undefined` is `None`.
pub(crate) fn optional_millis(target: &JsValue, name: &str) -> Result<Option<Duration>, JsValue> {
    let value = property(target, name);
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some(Duration::from_secs_f64(ms / 1000.0))),
        _ => Err(type_error(&format!(
            "invalid option {name}: expected a finite, non-negative number of milliseconds"
        ))),
    }
}

/// Reads an array property as JavaScript values; `undefined` is `None`.
fn optional_array(target: &JsValue, name: &str) -> Result<Option<Array>, JsValue> {
    let value = property(target, name);
    if value.is_undefined() {
        return Ok(None);
    }
    value
        .dyn_into::<Array>()
        .map(Some)
        .map_err(|_| type_error(&format!("invalid option {name}: expected an array")))
}

/// Reads `[name, value]` pairs of strings. `undefined` is no pairs.
pub(crate) fn header_pairs(value: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
    if value.is_undefined() {
        return Ok(Vec::new());
    }
    let array: &Array = value
        .dyn_ref()
        .ok_or_else(|| type_error("invalid headers: expected an array of [name, value] pairs"))?;
    let mut pairs = Vec::with_capacity(array.length() as usize);
    for entry in array.iter() {
        let pair: Array = entry
            .dyn_into()
            .map_err(|_| type_error("invalid headers: every entry must be a [name, value] pair"))?;
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            return Err(type_error(
                "invalid headers: names and values must be strings",
            ));
        };
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// Builds a `HeaderMap` from pairs, rejecting CR, LF, NUL and invalid names.
fn header_map(pairs: Vec<(String, String)>) -> Result<HeaderMap, JsValue> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| type_error(&format!("invalid option headers: invalid name {name:?}")))?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            type_error(&format!(
                "invalid option headers: the value of {name} contains CR, LF, NUL or another \
                 control character"
            ))
        })?;
        map.append(header, value);
    }
    Ok(map)
}

/// Builds a client builder from the normalised client options.
pub(crate) fn client_builder(options: &JsValue) -> Result<ClientBuilder, JsValue> {
    let mut builder = Client::builder();
    let retry = property(options, "retry");
    if !retry.is_undefined() {
        builder = builder.retry(retry_policy(&retry)?);
    }
    if let Some(timeout) = optional_millis(options, "timeout")? {
        builder = builder.attempt_timeout(timeout);
    }
    if let Some(timeout) = optional_millis(options, "totalTimeout")? {
        builder = builder.timeout(timeout);
    }
    if let Some(timeout) = optional_millis(options, "readTimeout")? {
        builder = builder.read_timeout(timeout);
    }
    let headers = header_pairs(&property(options, "headers"))?;
    if !headers.is_empty() {
        builder = builder.default_headers(header_map(headers)?);
    }
    let policy = match optional_string(options, "requestId")?.as_deref() {
        None | Some("auto") => RequestIdPolicy::Auto,
        Some("always") => RequestIdPolicy::Always,
        Some("never") => RequestIdPolicy::Never,
        Some(other) => {
            return Err(type_error(&format!(
                "invalid option requestId: {other:?}; expected true, false or \"always\""
            )))
        }
    };
    Ok(builder.request_id(policy))
}

/// Builds a retry policy from `{ limit, initialDelay, backoffLimit, jitter, statusCodes,
/// methods, maxRetryAfter, retryOnTimeout, budget }`, each optional.
///
/// # Errors
///
/// Returns a `TypeError` for a value of the wrong type, or one the policy rejects.
pub(crate) fn retry_policy(options: &JsValue) -> Result<RetryPolicy, JsValue> {
    let mut policy = RetryPolicy::default();
    if let Some(limit) = optional_count(options, "limit")? {
        policy = policy.max_attempts(limit.saturating_add(1));
    }
    if let Some(delay) = optional_millis(options, "initialDelay")? {
        policy = policy.initial_delay(delay);
    }
    if let Some(delay) = optional_millis(options, "backoffLimit")? {
        policy = policy.max_delay(delay);
    }
    if let Some(jitter) = optional_string(options, "jitter")? {
        policy = policy.jitter(parse_jitter(&jitter)?);
    }
    if let Some(limit) = optional_millis(options, "maxRetryAfter")? {
        policy = policy.max_retry_after(limit);
    }
    if let Some(statuses) = optional_array(options, "statusCodes")? {
        let statuses: Option<Vec<u16>> = statuses
            .iter()
            .map(|s| s.as_f64().filter(|n| n.fract() == 0.0).map(|n| n as u16))
            .collect();
        let statuses = statuses
            .ok_or_else(|| type_error("invalid option retry.statusCodes: expected integers"))?;
        policy = policy.statuses(statuses);
    }
    if let Some(methods) = optional_array(options, "methods")? {
        let methods: Option<Vec<String>> = methods.iter().map(|m| m.as_string()).collect();
        let methods =
            methods.ok_or_else(|| type_error("invalid option retry.methods: expected strings"))?;
        policy = policy.methods(methods.iter().map(|m| m.to_ascii_uppercase()));
    }
    if let Some(retry) = optional_bool(options, "retryOnTimeout")? {
        policy = policy.retry_on_timeout(retry);
    }
    if optional_bool(options, "budget")? == Some(false) {
        policy = policy.budget(RetryBudget::disabled());
    }
    policy
        .validate()
        .map_err(|error| type_error(&error.to_string()))?;
    Ok(policy)
}

fn parse_jitter(name: &str) -> Result<Jitter, JsValue> {
    match name {
        "full" => Ok(Jitter::Full),
        "equal" => Ok(Jitter::Equal),
        "decorrelated" => Ok(Jitter::Decorrelated),
        "none" => Ok(Jitter::None),
        other => Err(type_error(&format!(
            "invalid option retry.jitter: {other:?}; expected \"full\", \"equal\", \
             \"decorrelated\" or \"none\""
        ))),
    }
}
