//! Scenarios shared by the Node and Chromium runs of the fetch adapter, against the
//! `steadfast-chaos` server.
//!
//! Each `pub async fn` is one test; `wasm_node.rs` and `wasm_browser.rs` wrap them in
//! `#[wasm_bindgen_test]`. The server's URL is compiled in from `STEADFAST_CHAOS_URL`, which
//! `scripts/with-chaos.sh` exports. Every scenario id
//! carries a random suffix, so reruns against one server never share a log.
//!
//! The page of the browser run is served by the test runner on its own port, so every
//! request there is cross-origin. Tests that assert on `X-Request-ID` therefore use
//! `RequestIdPolicy::Always`.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use steadfast::{
    Client, ClientBuilder, IdempotencyKey, Method, RequestIdPolicy, RetryPolicy, StatusCode,
    StopReason, TimeoutPhase,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Expands to one `#[wasm_bindgen_test]` per scenario named, each calling the function of the
/// same name in this module.
macro_rules! wrap_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test]
            async fn $name() {
                common::$name().await;
            }
        )*
    };
}

/// Expands to a test for every shared scenario, in the file that includes this module with
/// `#[macro_use]`.
macro_rules! shared_tests {
    () => {
        wrap_tests!(
            retries_503_with_one_request_id,
            retry_after_one_second_honoured,
            retry_after_above_cap_not_slept,
            max_attempts_one_sends_one,
            max_attempts_four_returns_last,
            retries_429_without_retry_after,
            post_without_key_not_retried,
            post_with_auto_key_retried,
            put_bytes_identical_across_attempts,
            total_timeout_bounds_slow_attempts,
            attempt_timeout_retries,
            read_timeout_on_stalled_body,
            total_timeout_bounds_stalled_body,
            slow_consumer_of_healthy_body,
            slow_consumer_of_stalled_body,
            drop_during_retry_after_sends_nothing_more,
            head_with_content_length_is_empty,
            no_content_is_empty,
            resume_after_reset_exact_bytes,
            stream_resumes_after_reset,
            buffered_body_restarts_after_reset,
            streamed_body_without_validators_fails,
            gzip_body_decoded,
            gzip_bomb_stopped_by_decoded_cap,
            shifted_content_range_rejected,
            short_body_is_error,
            max_response_bytes_enforced,
            error_body_prefix_bounded,
            json_body_parsed,
            crlf_header_is_builder_error,
            streaming_body_is_builder_error,
            get_with_body_is_builder_error,
        );
    };
}

const RUN_HINT: &str = "run the wasm tests through `make test-node` / `make test-browser`, or \
     `scripts/with-chaos.sh cargo test --target wasm32-unknown-unknown --test wasm_node`, \
     which start the chaos server and export its URLs at compile time";

/// A loopback URL for refused connections. Unlike port 1, port 3 is not on fetch's list of
/// blocked ports, so the runtime really connects.
// NOTE: assumes nothing on the test machine listens on port 3.
const CLOSED_PORT_URL: &str = "http://127.0.0.1:3/";

/// Returns the chaos server's primary origin, `http://127.0.0.1:PORT`.
pub fn chaos_url() -> &'static str {
    match option_env!("STEADFAST_CHAOS_URL") {
        Some(url) => url,
        None => panic!("STEADFAST_CHAOS_URL was not set when this test was compiled; {RUN_HINT}"),
    }
}

/// One request as the chaos server logged it.
#[derive(Debug, Deserialize)]
pub struct Logged {
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
    pub body_fnv64: u64,
    pub received_ms: u64,
}

impl Logged {
    /// Returns the first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A scripted scenario on the chaos server.
pub struct Scenario {
    pub id: String,
}

impl Scenario {
    /// Scripts `steps` (the server's JSON step objects) under a fresh id.
    pub async fn new(name: &str, steps: Value) -> Scenario {
        let id = unique_id(name);
        let url = format!("{}/__chaos/scenario/{id}", chaos_url());
        let body = json!({ "steps": steps }).to_string();
        let (status, text) = control("PUT", &url, Some(&body)).await;
        assert_eq!(status, 204, "scripting scenario {id} failed: {text}");
        Scenario { id }
    }

    /// Returns the URL that plays this scenario on the primary origin.
    pub fn url(&self) -> String {
        format!("{}/s/{}", chaos_url(), self.id)
    }

    /// Returns the requests the server received for this scenario, preflights excluded.
    pub async fn log(&self) -> Vec<Logged> {
        self.read_log("log").await
    }

    /// Returns the CORS preflights the server received for this scenario.
    #[allow(dead_code)] // Only the browser run sends preflights.
    pub async fn preflights(&self) -> Vec<Logged> {
        self.read_log("preflights").await
    }

    async fn read_log(&self, kind: &str) -> Vec<Logged> {
        let url = format!("{}/__chaos/{kind}/{}", chaos_url(), self.id);
        let (status, text) = control("GET", &url, None).await;
        assert_eq!(status, 200, "reading {url} failed: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid log JSON {text:?}: {e}"))
    }
}

/// Returns `name` with a random suffix.
pub fn unique_id(name: &str) -> String {
    let suffix = (js_sys::Math::random() * 1e12) as u64;
    format!("{name}-{suffix:x}")
}

/// Sends a control request with the host's own fetch, so a fault in steadfast cannot hide
/// behind the harness. Returns the status and the body text.
async fn control(method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&body.into());
    }
    let request = web_sys::Request::new_with_str_and_init(url, &init)
        .unwrap_or_else(|e| panic!("invalid control request {method} {url}: {e:?}"));
    let global: js_sys::Object = js_sys::global();
    let fetch: js_sys::Function = js_sys::Reflect::get(&global, &"fetch".into())
        .expect("globalThis.fetch")
        .unchecked_into();
    let promise: js_sys::Promise = fetch
        .call1(&global, &request)
        .unwrap_or_else(|e| panic!("fetch threw for {method} {url}: {e:?}"))
        .unchecked_into();
    let response: web_sys::Response = JsFuture::from(promise)
        .await
        .unwrap_or_else(|e| panic!("control request {method} {url} failed: {e:?}; {RUN_HINT}"))
        .unchecked_into();
    let text = JsFuture::from(response.text().expect("Response.text"))
        .await
        .expect("control response body")
        .as_string()
        .unwrap_or_default();
    (response.status(), text)
}

/// Returns the milliseconds of the host's monotonic clock.
pub fn now_ms() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .expect("globalThis.performance");
    let now: js_sys::Function = js_sys::Reflect::get(&performance, &"now".into())
        .expect("performance.now")
        .unchecked_into();
    now.call0(&performance)
        .expect("performance.now()")
        .as_f64()
        .expect("a number")
}

/// Sleeps `millis` milliseconds.
pub async fn sleep_ms(millis: u32) {
    TimeoutFuture::new(millis).await;
}

/// Returns `len` bytes of the chaos server's pattern from `offset`: byte `i` is `i % 251`.
pub fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64)
        .map(|i| (i % 251) as u8)
        .collect()
}

/// 64-bit FNV-1a, as the chaos server logs request bodies.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Returns a retry policy with short backoff, so a test with retries takes milliseconds.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy::default()
        .initial_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(40))
}

/// Returns a client builder with [`quick_retry`] that sends its request id cross-origin too.
pub fn quick_builder() -> ClientBuilder {
    Client::builder()
        .retry(quick_retry())
        .request_id(RequestIdPolicy::Always)
}

/// Returns a client from [`quick_builder`].
pub fn quick_client() -> Client {
    quick_builder().build().expect("a valid client")
}

/// Runs `future`, failing the test if it takes longer than `limit_ms`.
pub async fn within<T>(limit_ms: u32, what: &str, future: impl Future<Output = T>) -> T {
    match select(pin!(future), pin!(sleep_ms(limit_ms))).await {
        Either::Left((value, _)) => value,
        Either::Right(_) => panic!("{what} did not finish within {limit_ms} ms"),
    }
}

fn request_ids(log: &[Logged]) -> Vec<Option<&str>> {
    log.iter()
        .map(|entry| entry.header("x-request-id"))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Retries and identity
// ---------------------------------------------------------------------------------------

pub async fn retries_503_with_one_request_id() {
    let scenario = Scenario::new(
        "503-503-200",
        json!([{"status": 503}, {"status": 503}, {"status": 200, "body": {"text": "ok"}}]),
    )
    .await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.attempts(), 3);
    let request_id = response.request_id().to_string();
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    assert_eq!(response.text().await.unwrap(), "ok");

    let log = scenario.log().await;
    assert_eq!(log.len(), 3, "attempts the server saw: {log:?}");
    let expected = Some(request_id.as_str());
    assert_eq!(request_ids(&log), vec![expected; 3]);
}

pub async fn retry_after_one_second_honoured() {
    let scenario = Scenario::new(
        "retry-after-1",
        json!([{"status": 503, "headers": [["Retry-After", "1"]]}, {"status": 200}]),
    )
    .await;
    let started = now_ms();
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    let elapsed = now_ms() - started;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        elapsed >= 990.0,
        "the retry came {elapsed} ms after the start"
    );
    assert!(elapsed < 5_000.0, "the retry took {elapsed} ms");

    let log = scenario.log().await;
    assert_eq!(log.len(), 2);
    let gap = log[1].received_ms - log[0].received_ms;
    assert!(
        gap >= 990,
        "the server saw the retry {gap} ms after the first attempt"
    );
}

pub async fn retry_after_above_cap_not_slept() {
    let scenario = Scenario::new(
        "retry-after-86400",
        json!([{"status": 503, "headers": [["Retry-After", "86400"]]}, {"status": 200}]),
    )
    .await;
    let started = now_ms();
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    let elapsed = now_ms() - started;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(elapsed < 1_000.0, "returning the 503 took {elapsed} ms");
    assert_eq!(response.attempts(), 1);
    assert_eq!(response.retry_after(), Some(Duration::from_secs(86_400)));

    let error = response.error_for_status().unwrap_err();
    assert!(error.is_status());
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(86_400)));
    assert!(
        matches!(
            error.stop_reason(),
            Some(StopReason::RetryAfterTooLong { .. })
        ),
        "{:?}",
        error.stop_reason()
    );
    let message = error.to_string();
    assert!(message.contains("max_retry_after"), "{message}");
    assert_eq!(scenario.log().await.len(), 1);
}

pub async fn max_attempts_one_sends_one() {
    let scenario = Scenario::new("max-attempts-1", json!([{"status": 503}])).await;
    let client = quick_builder()
        .retry(quick_retry().max_attempts(1))
        .build()
        .unwrap();
    let response = client.get(scenario.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.attempts(), 1);
    assert_eq!(scenario.log().await.len(), 1);
}

pub async fn max_attempts_four_returns_last() {
    let scenario = Scenario::new(
        "max-attempts-4",
        json!([{"status": 500}, {"status": 502}, {"status": 504}, {"status": 503}]),
    )
    .await;
    let client = quick_builder()
        .retry(quick_retry().max_attempts(4))
        .build()
        .unwrap();
    let response = client.get(scenario.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.attempts(), 4);
    assert_eq!(
        response.stop_reason(),
        Some(StopReason::AttemptsExhausted { attempts: 4 })
    );
    assert_eq!(scenario.log().await.len(), 4);
}

pub async fn retries_429_without_retry_after() {
    let scenario = Scenario::new("429", json!([{"status": 429}, {"status": 200}])).await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.attempts(), 2);
    assert_eq!(scenario.log().await.len(), 2);
}

pub async fn post_without_key_not_retried() {
    let scenario = Scenario::new("post-502", json!([{"status": 502}, {"status": 200}])).await;
    let response = quick_client()
        .post(scenario.url())
        .body("order")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        response.stop_reason(),
        Some(StopReason::MethodNotIdempotent)
    );
    let log = scenario.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].header("idempotency-key"), None);
}

pub async fn post_with_auto_key_retried() {
    let scenario = Scenario::new(
        "post-auto-key",
        json!([{"status": 503}, {"status": 503}, {"status": 201}]),
    )
    .await;
    let response = quick_client()
        .post(scenario.url())
        .idempotency_key(IdempotencyKey::Auto)
        .body("order")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.attempts(), 3);

    let log = scenario.log().await;
    assert_eq!(log.len(), 3);
    let key = log[0]
        .header("idempotency-key")
        .expect("a key on attempt 1");
    assert_eq!(key.len(), 36, "a UUID: {key}");
    for entry in &log {
        assert_eq!(entry.header("idempotency-key"), Some(key));
    }
}

pub async fn put_bytes_identical_across_attempts() {
    let scenario = Scenario::new(
        "put-bytes",
        json!([{"status": 503}, {"status": 500}, {"status": 204}]),
    )
    .await;
    let body = pattern(7, 10_000);
    let response = quick_client()
        .put(scenario.url())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let log = scenario.log().await;
    assert_eq!(log.len(), 3);
    for entry in &log {
        assert_eq!(entry.body_len, body.len() as u64);
        assert_eq!(entry.body_fnv64, fnv64(&body));
        assert_eq!(entry.header("content-length"), Some("10000"));
    }
}

// ---------------------------------------------------------------------------------------
// Deadlines and cancellation
// ---------------------------------------------------------------------------------------

pub async fn total_timeout_bounds_slow_attempts() {
    let scenario = Scenario::new(
        "slow-heads",
        json!([{"status": 200, "head_delay_ms": 3000}]),
    )
    .await;
    let client = quick_builder()
        .timeout(Duration::from_millis(1_500))
        .attempt_timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    let started = now_ms();
    let error = within(4_000, "the slow call", client.get(scenario.url()).send())
        .await
        .unwrap_err();
    let elapsed = now_ms() - started;
    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.timeout_phase(), Some(TimeoutPhase::Total), "{error}");
    assert!(elapsed >= 1_400.0, "failed after {elapsed} ms");
    assert!(elapsed < 2_500.0, "failed after {elapsed} ms");
    assert!(error.attempts() >= 2, "{error}");
}

pub async fn attempt_timeout_retries() {
    let scenario = Scenario::new(
        "slow-then-fast",
        json!([{"status": 200, "head_delay_ms": 3000}, {"status": 200, "body": {"text": "fast"}}]),
    )
    .await;
    let client = quick_builder()
        .attempt_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let response = within(2_500, "the retried call", client.get(scenario.url()).send())
        .await
        .unwrap();
    assert_eq!(response.attempts(), 2);
    assert_eq!(response.text().await.unwrap(), "fast");
}

pub async fn read_timeout_on_stalled_body() {
    let scenario = Scenario::new(
        "stalled-body",
        json!([{"status": 200, "body": {"text": "{\"a\": 1}"}, "stall_after_bytes": 1, "stall_ms": 5000}]),
    )
    .await;
    let client = quick_builder()
        .retry(quick_retry().max_attempts(1))
        .read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let response = client.get(scenario.url()).send().await.unwrap();
    let started = now_ms();
    let error = within(3_000, "the stalled body", response.text())
        .await
        .unwrap_err();
    let elapsed = now_ms() - started;
    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.timeout_phase(), Some(TimeoutPhase::Read), "{error}");
    assert!(elapsed >= 400.0, "failed after {elapsed} ms");
    assert!(elapsed < 2_000.0, "failed after {elapsed} ms");
}

pub async fn total_timeout_bounds_stalled_body() {
    let scenario = Scenario::new(
        "stalled-body-total",
        json!([{"status": 200, "body": {"text": "{\"a\": 1}"}, "stall_after_bytes": 1, "stall_ms": 5000}]),
    )
    .await;
    let client = quick_builder()
        .timeout(Duration::from_millis(1_000))
        .build()
        .unwrap();
    let started = now_ms();
    let response = client.get(scenario.url()).send().await.unwrap();
    let error = within(3_000, "the stalled body", response.bytes())
        .await
        .unwrap_err();
    let elapsed = now_ms() - started;
    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.timeout_phase(), Some(TimeoutPhase::Total), "{error}");
    assert!(elapsed >= 900.0, "failed after {elapsed} ms");
    assert!(elapsed < 2_000.0, "failed after {elapsed} ms");
}

pub async fn slow_consumer_of_healthy_body() {
    let scenario = Scenario::new(
        "slow-consumer",
        json!([{"status": 200, "body": {"pattern": 3072}, "chunk_size": 1024, "chunk_delay_ms": 50}]),
    )
    .await;
    let client = quick_builder()
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut response = client.get(scenario.url()).send().await.unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        // Longer than the read timeout, while the server has bytes ready.
        sleep_ms(350).await;
    }
    assert_eq!(body, pattern(0, 3072));
    assert_eq!(response.attempts(), 1);
}

pub async fn slow_consumer_of_stalled_body() {
    let scenario = Scenario::new(
        "slow-consumer-stall",
        json!([{"status": 200, "body": {"pattern": 8192}, "chunk_size": 1024,
                "stall_after_bytes": 2048, "stall_ms": 5000}]),
    )
    .await;
    let client = quick_builder()
        .retry(quick_retry().max_attempts(1))
        .read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let mut response = client.get(scenario.url()).send().await.unwrap();
    let started = now_ms();
    let error = within(4_000, "the stalled body", async {
        loop {
            match response.chunk().await {
                Ok(Some(_)) => sleep_ms(200).await,
                Ok(None) => panic!("the stalled body ended"),
                Err(error) => return error,
            }
        }
    })
    .await;
    let elapsed = now_ms() - started;
    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.timeout_phase(), Some(TimeoutPhase::Read), "{error}");
    assert!(elapsed < 3_000.0, "failed after {elapsed} ms");
}

pub async fn drop_during_retry_after_sends_nothing_more() {
    let scenario = Scenario::new(
        "drop-in-sleep",
        json!([{"status": 503, "headers": [["Retry-After", "1"]]}, {"status": 200}]),
    )
    .await;
    let client = quick_client();
    let send = client.get(scenario.url()).send();
    match select(pin!(send), pin!(sleep_ms(300))).await {
        Either::Left((result, _)) => panic!("the call ended during its sleep: {result:?}"),
        Either::Right(_) => {}
    }
    // The future was dropped 300 ms into a 1 s sleep; wait past the retry it would have sent.
    sleep_ms(1_500).await;
    assert_eq!(scenario.log().await.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------

pub async fn head_with_content_length_is_empty() {
    let url = format!("{}/bytes/5000", chaos_url());
    let response = within(2_000, "the HEAD", quick_client().head(&url).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-length")
            .map(|v| v.as_bytes()),
        Some(&b"5000"[..])
    );
    assert_eq!(response.content_length(), Some(0));
    let body = within(1_000, "the HEAD body", response.bytes())
        .await
        .unwrap();
    assert!(body.is_empty(), "{} bytes", body.len());
}

pub async fn no_content_is_empty() {
    let scenario = Scenario::new("204", json!([{"status": 204}])).await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let body = within(1_000, "the 204 body", response.bytes())
        .await
        .unwrap();
    assert!(body.is_empty());
}

pub async fn resume_after_reset_exact_bytes() {
    let steps = json!([
        {"status": 200, "body": {"pattern": 200000}, "ranges": true,
         "chunk_size": 16384, "reset_after_bytes": 70000},
        {"status": 200, "body": {"pattern": 200000}, "ranges": true, "chunk_size": 16384}
    ]);
    let scenario = Scenario::new("resume", steps).await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = within(5_000, "the resumed body", response.bytes())
        .await
        .unwrap();
    assert_eq!(body.len(), 200_000);
    assert!(
        body == pattern(0, 200_000),
        "the body differs from the pattern"
    );

    let log = scenario.log().await;
    assert_eq!(log.len(), 2, "{log:?}");
    let range = log[1].header("range").expect("a Range on the resume");
    let start: u64 = range
        .strip_prefix("bytes=")
        .and_then(|rest| rest.strip_suffix('-'))
        .and_then(|start| start.parse().ok())
        .unwrap_or_else(|| panic!("unexpected Range {range:?}"));
    assert!(start > 0, "resumed at {start}");
    assert!(start <= 70_000, "resumed at {start}, past the reset");
    assert_eq!(
        log[1].header("if-range"),
        expected_if_range(etag.as_deref())
    );
}

/// Returns the `If-Range` a resume sends: the ETag in Node, and none from a cross-origin page,
/// where `If-Range` would need a preflight.
fn expected_if_range(etag: Option<&str>) -> Option<&str> {
    if is_browser() {
        None
    } else {
        etag
    }
}

/// Returns whether the test runs in a browser page or worker, where CORS applies.
fn is_browser() -> bool {
    let global = js_sys::global();
    let defined = |name: &str| {
        js_sys::Reflect::get(&global, &name.into()).is_ok_and(|value| !value.is_undefined())
    };
    defined("document") || defined("importScripts")
}

pub async fn stream_resumes_after_reset() {
    let url = format!(
        "{}/bytes/300000?reset_after=100000&chunk=8192&run={}",
        chaos_url(),
        unique_id("stream")
    );
    let response = quick_client().get(&url).send().await.unwrap();
    let mut stream = std::pin::pin!(response.bytes_stream());
    let mut body = Vec::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.expect("a chunk"));
        }
    };
    within(5_000, "the streamed body", read).await;
    assert_eq!(body.len(), 300_000);
    assert!(
        body == pattern(0, 300_000),
        "the body differs from the pattern"
    );
}

pub async fn buffered_body_restarts_after_reset() {
    let steps = json!([
        {"status": 200, "body": {"pattern": 50000}, "chunk_size": 4096, "reset_after_bytes": 20000},
        {"status": 200, "body": {"pattern": 50000}}
    ]);
    let scenario = Scenario::new("restart", steps).await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    let body = within(5_000, "the restarted body", response.bytes())
        .await
        .unwrap();
    assert_eq!(body.len(), 50_000);
    assert!(
        body == pattern(0, 50_000),
        "the body differs from the pattern"
    );
    let log = scenario.log().await;
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].header("range"),
        None,
        "a restart asks for the whole body"
    );
}

pub async fn streamed_body_without_validators_fails() {
    let steps = json!([
        {"status": 200, "body": {"pattern": 50000}, "chunk_size": 4096, "reset_after_bytes": 20000},
        {"status": 200, "body": {"pattern": 50000}}
    ]);
    let scenario = Scenario::new("stream-no-resume", steps).await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    let mut stream = std::pin::pin!(response.bytes_stream());
    let mut received = 0;
    let error = within(5_000, "the streamed body", async {
        loop {
            match stream.next().await {
                Some(Ok(chunk)) => received += chunk.len(),
                Some(Err(error)) => return error,
                None => panic!("the stream ended after {received} bytes without an error"),
            }
        }
    })
    .await;
    assert!(error.is_body(), "{error}");
    assert!(received <= 20_000, "received {received} bytes");
    assert_eq!(
        scenario.log().await.len(),
        1,
        "bytes already streamed cannot be retried"
    );
}

pub async fn gzip_body_decoded() {
    let scenario = Scenario::new(
        "gzip",
        json!([{"status": 200, "body": {"text": "hi"}, "gzip": true}]),
    )
    .await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    assert_eq!(
        response
            .headers()
            .get("content-encoding")
            .map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    // The gzip stream is longer than the two bytes it decodes to.
    assert_eq!(response.text().await.unwrap(), "hi");
}

pub async fn gzip_bomb_stopped_by_decoded_cap() {
    let scenario = Scenario::new(
        "gzip-bomb",
        json!([{"status": 200, "body": {"gzip_bomb": 67108864}}]),
    )
    .await;
    let client = quick_builder()
        .max_decoded_bytes(1024 * 1024)
        .build()
        .unwrap();
    let response = client.get(scenario.url()).send().await.unwrap();
    let mut stream = std::pin::pin!(response.bytes_stream());
    let mut received = 0;
    let error = within(10_000, "the gzip bomb", async {
        loop {
            match stream.next().await {
                Some(Ok(chunk)) => received += chunk.len(),
                Some(Err(error)) => return error,
                None => panic!("the bomb was read to its end, {received} bytes"),
            }
        }
    })
    .await;
    assert!(error.is_decode(), "{error}");
    assert!(error.to_string().contains("max_decoded_bytes"), "{error}");
    assert!(received <= 1024 * 1024, "received {received} bytes");
}

pub async fn shifted_content_range_rejected() {
    let steps = json!([
        {"status": 200, "body": {"pattern": 50000}, "ranges": true, "reset_after_bytes": 20000},
        {"status": 200, "body": {"pattern": 50000}, "ranges": true, "range_start_shift": 100}
    ]);
    let scenario = Scenario::new("shifted-range", steps).await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    let error = within(5_000, "the resumed body", response.bytes())
        .await
        .unwrap_err();
    assert!(error.is_body(), "{error}");
    assert!(error.to_string().contains("Content-Range"), "{error}");
}

pub async fn short_body_is_error() {
    let scenario = Scenario::new(
        "short-body",
        json!([{"status": 200, "body": {"text": "0123456789"}, "declared_length": 100}]),
    )
    .await;
    let client = quick_builder()
        .retry(quick_retry().max_attempts(1))
        .build()
        .unwrap();
    let response = client.get(scenario.url()).send().await.unwrap();
    let error = within(3_000, "the short body", response.bytes())
        .await
        .unwrap_err();
    assert!(error.is_body(), "{error}");
}

pub async fn max_response_bytes_enforced() {
    let url = format!("{}/bytes/10000", chaos_url());
    let client = quick_builder().max_response_bytes(1_000).build().unwrap();
    let response = client.get(&url).send().await.unwrap();
    let error = response.bytes().await.unwrap_err();
    assert!(error.is_decode(), "{error}");
    assert!(error.to_string().contains("1000"), "{error}");
}

pub async fn error_body_prefix_bounded() {
    let scenario = Scenario::new(
        "big-error-body",
        json!([{"status": 404, "body": {"pattern": 200000}}]),
    )
    .await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    let error = within(
        3_000,
        "the error body",
        response.error_for_status_with_body(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    let prefix = error.body_prefix().expect("a body prefix");
    assert_eq!(prefix.len(), 64 * 1024);
    assert!(prefix == pattern(0, 64 * 1024).as_slice());
}

pub async fn json_body_parsed() {
    let scenario = Scenario::new(
        "json",
        json!([{"status": 200, "body": {"text": "{\"answer\": 42}"}}]),
    )
    .await;
    let response = quick_client().get(scenario.url()).send().await.unwrap();
    let value: Value = response.json().await.unwrap();
    assert_eq!(value["answer"], 42);
}

// ---------------------------------------------------------------------------------------
// Requests that must not be sent
// ---------------------------------------------------------------------------------------

pub async fn crlf_header_is_builder_error() {
    let scenario = Scenario::new("crlf", json!([{"status": 200}])).await;
    let error = quick_client()
        .get(scenario.url())
        .header("x-note", "a\r\nx-injected: b")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder(), "{error}");
    assert_eq!(scenario.log().await.len(), 0);
}

pub async fn streaming_body_is_builder_error() {
    let scenario = Scenario::new("stream-body", json!([{"status": 200}])).await;
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("a"))]);
    let error = quick_client()
        .put(scenario.url())
        .body(steadfast::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder(), "{error}");
    assert!(error.to_string().contains("streaming"), "{error}");
    assert_eq!(scenario.log().await.len(), 0);
}

pub async fn get_with_body_is_builder_error() {
    let scenario = Scenario::new("get-body", json!([{"status": 200}])).await;
    let error = quick_client()
        .request(Method::GET, scenario.url())
        .body("not allowed on GET by fetch")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_builder(), "{error}");
    assert_eq!(scenario.log().await.len(), 0);
}

/// Sends a POST to a closed loopback port and returns the error.
pub async fn post_to_closed_port() -> steadfast::Error {
    let client = quick_builder()
        .retry(quick_retry().max_attempts(3))
        .build()
        .unwrap();
    within(
        5_000,
        "the refused POST",
        client.post(CLOSED_PORT_URL).body("x").send(),
    )
    .await
    .unwrap_err()
}
