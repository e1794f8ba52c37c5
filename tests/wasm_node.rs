//! The fetch adapter in Node, against the chaos server.
//!
//! Run through `scripts/with-chaos.sh cargo test --target wasm32-unknown-unknown --test
//! wasm_node` with `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner`.
//! Without a `wasm_bindgen_test_configure!` the runner uses Node.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test;

#[macro_use]
#[path = "wasm_common/mod.rs"]
mod common;

shared_tests!();

/// Undici names a refused connection in `cause.code`, which proves nothing was sent, so
/// even a POST without an idempotency key is retried.
#[wasm_bindgen_test]
async fn refused_post_retried() {
    let error = common::post_to_closed_port().await;
    assert!(error.is_connect(), "{error}");
    assert_eq!(error.attempts(), 3, "{error}");
    let message = error.to_string();
    assert!(message.contains("connection refused"), "{message}");
}

#[wasm_bindgen_test]
async fn relative_url_is_builder_error() {
    let error = common::quick_client()
        .get("/relative")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder(), "{error}");
    assert!(error.to_string().contains("absolute URL"), "{error}");
}
