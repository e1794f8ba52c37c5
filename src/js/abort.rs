//! Cancelling a call when the caller's `AbortSignal` fires.

use std::future::Future;
use std::pin::pin;

use futures_util::future::{select, Either};
use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Runs `work` until it finishes or `abort` settles, whichever comes first. When `abort`
/// wins, `work` is dropped, which aborts its fetch and clears its timers, and the result is
/// `Err` with the value `abort` settled with: the signal's reason.
///
/// The JavaScript layer makes `abort` from the signal's `abort` event, so the rejection
/// happens in the same task as the event.
pub(crate) async fn until_aborted<T>(
    work: impl Future<Output = Result<T, JsValue>>,
    abort: Option<Promise>,
) -> Result<T, JsValue> {
    let Some(abort) = abort else {
        return work.await;
    };
    match select(pin!(work), JsFuture::from(abort)).await {
        Either::Left((result, _)) => result,
        Either::Right((reason, _)) => Err(reason.unwrap_or_else(|rejected| rejected)),
    }
}
