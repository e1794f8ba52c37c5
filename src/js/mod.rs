//! The `#[wasm_bindgen]` surface under the npm package's JavaScript API.
//!
//! The package's JavaScript (in `pkg-template/`) validates options, turns whatever `fetch`
//! accepts into a method, URL, header pairs and body bytes, and builds the standard
//! `Response`. This module receives that normalised input, runs the call on the same
//! [`Client`] and core as the Rust API, and hands back the response head and a pull-based
//! body reader. Errors cross as plain objects that the JavaScript turns into its error
//! classes.

mod abort;
mod error;
mod options;
mod response;

use js_sys::{Array, Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::client::{Client, RequestBuilder};
use crate::core::IdempotencyKey;
use crate::fetch::send_with;
use crate::http::Method;

use abort::until_aborted;
use error::{error_value, type_error};
use options::{header_pairs, optional_millis, optional_string, property};
pub use response::RawResponse;

/// The Rust client behind one JavaScript `Client`.
#[wasm_bindgen]
pub struct RawClient {
    client: Client,
}

#[wasm_bindgen]
impl RawClient {
    /// Creates a client from options the JavaScript layer has already normalised: durations
    /// in milliseconds, `headers` as `[name, value]` pairs, `requestId` as `"auto"`,
    /// `"always"` or `"never"`.
    ///
    /// # Errors
    ///
    /// Throws a `TypeError` naming the first invalid setting.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &JsValue) -> Result<RawClient, JsValue> {
        let builder = options::client_builder(options)?;
        let client = builder.build().map_err(|e| type_error(&e.to_string()))?;
        Ok(RawClient { client })
    }

    /// Sends one logical request and resolves to a [`RawResponse`] once a response is
    /// delivered, or rejects with an error object. A settled `abort` promise drops the call
    /// at once, which aborts the fetch under way and clears any backoff timer, and the
    /// returned promise rejects with the value `abort` resolved to.
    ///
    /// `request` has `method`, `url`, `headers` (pairs), `body` (a `Uint8Array` or
    /// undefined), and the optional per-call `retry`, `timeout`, `totalTimeout`,
    /// `readTimeout` and `idempotencyKey`. An optional `fetch` function is called for every
    /// attempt in place of `globalThis.fetch`.
    pub fn send(&self, request: &JsValue, abort: Option<Promise>) -> Promise {
        let builder = match self.request_builder(request) {
            Ok(builder) => builder,
            Err(error) => return Promise::reject(&error),
        };
        let fetch = property(request, "fetch").dyn_into::<Function>().ok();
        let header_name = self.client.shared.config.request_id_header.to_string();
        future_to_promise(async move {
            let sending = async move {
                let prepared = builder.prepare().map_err(|e| error_value(&e))?;
                send_with(prepared, fetch)
                    .await
                    .map_err(|e| error_value(&e))
            };
            let response = until_aborted(sending, abort).await?;
            Ok(RawResponse::new(response, header_name).into())
        })
    }
}

impl RawClient {
    fn request_builder(&self, request: &JsValue) -> Result<RequestBuilder, JsValue> {
        let method = optional_string(request, "method")?.unwrap_or_else(|| "GET".into());
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| type_error(&format!("invalid method {method:?}")))?;
        let url = optional_string(request, "url")?
            .ok_or_else(|| type_error("invalid request: the url is missing"))?;
        let mut builder = self.client.request(method, url);
        for (name, value) in header_pairs(&property(request, "headers"))? {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = property(request, "body");
        if !body.is_undefined() && !body.is_null() {
            let bytes: Uint8Array = body
                .dyn_into()
                .map_err(|_| type_error("invalid request: body must be a Uint8Array"))?;
            builder = builder.body(bytes.to_vec());
        }
        let retry = property(request, "retry");
        if !retry.is_undefined() {
            builder = builder.retry(options::retry_policy(&retry)?);
        }
        if let Some(timeout) = optional_millis(request, "timeout")? {
            builder = builder.attempt_timeout(timeout);
        }
        if let Some(timeout) = optional_millis(request, "totalTimeout")? {
            builder = builder.timeout(timeout);
        }
        if let Some(timeout) = optional_millis(request, "readTimeout")? {
            builder = builder.read_timeout(timeout);
        }
        builder = match optional_string(request, "idempotencyKey")?.as_deref() {
            None => builder,
            Some("auto") => builder.idempotency_key(IdempotencyKey::Auto),
            Some(key) => builder.idempotency_key(key),
        };
        Ok(builder)
    }
}

/// Returns the pairs of a `HeaderMap` as an array of `[name, value]` arrays of byte strings.
pub(crate) fn header_array(headers: &crate::HeaderMap) -> Array {
    let array = Array::new();
    for (name, value) in headers {
        let pair = Array::new();
        pair.push(&JsValue::from_str(name.as_str()));
        let text: String = value.as_bytes().iter().map(|&b| char::from(b)).collect();
        pair.push(&JsValue::from_str(&text));
        array.push(&pair);
    }
    array
}
