//! The fetch adapter in headless Chromium, against the chaos server.
//!
//! Run through `scripts/with-chaos.sh cargo test --target wasm32-unknown-unknown --test
//! wasm_browser` with `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner`
//! and `CHROMEDRIVER=/usr/bin/chromedriver`; the runner reads Chromium's flags from
//! `webdriver.json`. The test page has its own origin, so every request here is
//! cross-origin.
#![cfg(target_arch = "wasm32")]

use steadfast::{Client, RequestIdPolicy, StatusCode};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[macro_use]
#[path = "wasm_common/mod.rs"]
mod common;

use common::Scenario;
use serde_json::json;

shared_tests!();

#[wasm_bindgen_test]
async fn cross_origin_get_stays_simple() {
    let scenario = Scenario::new(
        "simple-get",
        json!([{"status": 200, "body": {"text": "hi"}}]),
    )
    .await;
    let response = Client::new().get(scenario.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.request_id().len(),
        36,
        "an id for logs is still made"
    );
    assert_eq!(response.text().await.unwrap(), "hi");

    let log = scenario.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].header("x-request-id"), None, "{:?}", log[0].headers);
    assert_eq!(
        log[0]
            .header("user-agent")
            .map(|ua| ua.starts_with("steadfast")),
        Some(false)
    );
    let preflights = scenario.preflights().await;
    assert!(preflights.is_empty(), "preflights: {preflights:?}");
}

#[wasm_bindgen_test]
async fn request_id_always_sent_cross_origin() {
    let scenario = Scenario::new("always-id", json!([{"status": 200}])).await;
    let client = Client::builder()
        .request_id(RequestIdPolicy::Always)
        .build()
        .unwrap();
    let response = client.get(scenario.url()).send().await.unwrap();
    let request_id = response.request_id().to_string();

    let log = scenario.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].header("x-request-id"), Some(request_id.as_str()));
    let preflights = scenario.preflights().await;
    assert_eq!(
        preflights.len(),
        1,
        "the header needs a preflight: {preflights:?}"
    );
}

/// Checks that a POST without an idempotency key is sent once after a refused connection,
/// because a browser reports it as a bare `TypeError`, like one that dropped mid-request.
#[wasm_bindgen_test]
async fn network_failure_post_sent_once() {
    let error = common::post_to_closed_port().await;
    assert_eq!(error.attempts(), 1, "{error}");
    assert!(!error.is_builder(), "{error}");
}
