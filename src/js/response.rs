//! The delivered response: its head, and a body reader for a JavaScript `ReadableStream`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::abort::until_aborted;
use super::error::{error_value, type_error};
use super::header_array;
use crate::Response;

/// The body, shared between the `RawResponse` and a read under way. A read takes the
/// response out and puts it back when it is done, so no borrow is held across an await.
#[derive(Default)]
struct BodySlot {
    response: Option<Response>,
    /// Set by `cancel` while a read holds the response, so the read drops it.
    cancelled: bool,
}

/// The head of a delivered response and a reader for its body.
#[wasm_bindgen]
pub struct RawResponse {
    status: u16,
    url: String,
    headers: Array,
    request_id: String,
    request_id_header: String,
    retry_after: Option<f64>,
    stop_reason: Option<String>,
    budget_exhausted: bool,
    attempts: Rc<RefCell<u32>>,
    body: Rc<RefCell<BodySlot>>,
}

impl RawResponse {
    pub(crate) fn new(response: Response, request_id_header: String) -> RawResponse {
        let stop = response.stop_reason();
        RawResponse {
            status: response.status().as_u16(),
            url: response.url().to_string(),
            headers: header_array(response.headers()),
            request_id: response.request_id().to_string(),
            request_id_header,
            retry_after: response.retry_after().map(|d| d.as_millis() as f64),
            stop_reason: stop.map(|s| s.to_string()),
            budget_exhausted: stop == Some(crate::core::StopReason::BudgetExhausted),
            attempts: Rc::new(RefCell::new(response.attempts())),
            body: Rc::new(RefCell::new(BodySlot {
                response: Some(response),
                cancelled: false,
            })),
        }
    }
}

#[wasm_bindgen]
impl RawResponse {
    /// The status code.
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The URL after the runtime's redirects.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The readable response headers as `[name, value]` pairs.
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> Array {
        self.headers.clone()
    }

    /// The request id sent on every attempt.
    #[wasm_bindgen(getter, js_name = requestId)]
    pub fn request_id(&self) -> String {
        self.request_id.clone()
    }

    /// The name of the request id header, lowercase.
    #[wasm_bindgen(getter, js_name = requestIdHeader)]
    pub fn request_id_header(&self) -> String {
        self.request_id_header.clone()
    }

    /// The attempts sent so far, a resume of the body included.
    #[wasm_bindgen(getter)]
    pub fn attempts(&self) -> u32 {
        *self.attempts.borrow()
    }

    /// The server's `Retry-After` in milliseconds, when the status was retryable.
    #[wasm_bindgen(getter, js_name = retryAfter)]
    pub fn retry_after(&self) -> Option<f64> {
        self.retry_after
    }

    /// Why no retry was made, when the status was retryable.
    #[wasm_bindgen(getter, js_name = stopReason)]
    pub fn stop_reason(&self) -> Option<String> {
        self.stop_reason.clone()
    }

    /// Whether the origin's retry budget stopped a retry.
    #[wasm_bindgen(getter, js_name = budgetExhausted)]
    pub fn budget_exhausted(&self) -> bool {
        self.budget_exhausted
    }

    /// Reads the next body chunk: resolves to a `Uint8Array`, or to `undefined` at the end,
    /// or rejects with an error object. The read timeout runs while the read waits for the
    /// network. A settled `abort` drops the body, which aborts its fetch, and the promise
    /// rejects with the value `abort` settled with.
    pub fn read(&self, abort: Option<Promise>) -> Promise {
        let slot = self.body.clone();
        let attempts = self.attempts.clone();
        let taken = slot.borrow_mut().response.take();
        let Some(mut response) = taken else {
            return Promise::resolve(&JsValue::UNDEFINED);
        };
        future_to_promise(async move {
            let reading = async {
                let chunk = response.chunk().await;
                *attempts.borrow_mut() = response.attempts();
                chunk.map_err(|e| error_value(&e))
            };
            let chunk = until_aborted(reading, abort).await;
            match chunk {
                Ok(Some(bytes)) => {
                    let mut slot = slot.borrow_mut();
                    if !slot.cancelled {
                        slot.response = Some(response);
                    }
                    Ok(Uint8Array::from(bytes.as_ref()).into())
                }
                Ok(None) => Ok(JsValue::UNDEFINED),
                Err(error) => Err(error),
            }
        })
    }

    /// Reads the whole body as a buffered read, so the total timeout and
    /// `max_response_bytes` apply as they do to the Rust client's `bytes()`: resolves to a
    /// `Uint8Array`, or rejects with an error object or the value `abort` settled with.
    #[wasm_bindgen(js_name = readAll)]
    pub fn read_all(&self, abort: Option<Promise>) -> Promise {
        let taken = self.body.borrow_mut().response.take();
        let Some(response) = taken else {
            return Promise::reject(&type_error("the response body was already read"));
        };
        future_to_promise(async move {
            let reading = async { response.bytes().await.map_err(|e| error_value(&e)) };
            let bytes = until_aborted(reading, abort).await?;
            Ok(Uint8Array::from(bytes.as_ref()).into())
        })
    }

    /// Drops the body: the fetch is aborted and later reads resolve to `undefined`.
    pub fn cancel(&self) {
        let mut slot = self.body.borrow_mut();
        slot.cancelled = true;
        slot.response = None;
    }
}
