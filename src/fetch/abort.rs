//! An `AbortController` per attempt, aborted when the attempt is dropped.

use wasm_bindgen::JsValue;
use web_sys::{AbortController, AbortSignal};

/// Aborts its fetch when dropped: a pending fetch rejects, and a body stream errors so the
/// runtime closes the connection instead of downloading the rest.
///
/// Aborting a fetch whose body was read to the end does nothing.
pub(crate) struct AbortOnDrop {
    controller: AbortController,
}

impl AbortOnDrop {
    /// Creates a controller.
    ///
    /// # Errors
    ///
    /// Returns the exception of a runtime without `AbortController`.
    pub(crate) fn new() -> Result<AbortOnDrop, JsValue> {
        Ok(AbortOnDrop {
            controller: AbortController::new()?,
        })
    }

    /// Returns the signal to pass to fetch.
    pub(crate) fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.controller.abort();
    }
}
