//! A program written against the documented public API, compiled on every target that has
//! a client: natively with feature `native`, and for wasm32 with the default `fetch`. If a
//! documented name is renamed or its signature changes, this file stops compiling.
#![cfg(any(feature = "native", target_arch = "wasm32"))]

use std::time::Duration;

use futures_util::StreamExt;
use steadfast::{
    redirect, Body, Client, Error, HeaderMap, HeaderName, HeaderValue, IdempotencyKey, Jitter,
    Method, RequestIdPolicy, Response, RetryBudget, RetryPolicy, StatusCode, StopReason,
    TimeoutPhase,
};

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(4)
        .initial_delay(Duration::from_millis(100))
        .max_delay(Duration::from_secs(5))
        .jitter(Jitter::Decorrelated)
        .max_retry_after(Duration::from_secs(30))
        .statuses([
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::TOO_MANY_REQUESTS,
        ])
        .methods([Method::GET, Method::PUT])
        .budget(
            RetryBudget::default()
                .ratio(0.2)
                .reserve(5)
                .window(Duration::from_secs(10)),
        )
}

fn client() -> Result<Client, Error> {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-team"),
        HeaderValue::from_static("payments"),
    );
    Client::builder()
        .retry(policy())
        .timeout(Duration::from_secs(10))
        .attempt_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(3))
        .connect_timeout(Duration::from_secs(1))
        .default_headers(headers)
        .user_agent("api-surface/1")
        .request_id_header("x-correlation-id")
        .request_id(RequestIdPolicy::Auto)
        .max_response_bytes(1 << 20)
        .redirect(redirect::Policy::limited(5))
        .pool_max_idle_per_host(8)
        .max_connections_per_host(16)
        .build()
}

/// Uses every request and response name; it is compiled, not run.
#[allow(dead_code)]
async fn every_call(client: &Client, url: &str) -> Result<(), Error> {
    let response: Response = client
        .post(url)
        .header("x-note", "surface")
        .headers(HeaderMap::new())
        .query(&[("page", "1")])
        .json(&serde_json::json!({ "a": 1 }))
        .timeout(Duration::from_secs(2))
        .retry(RetryPolicy::none())
        .idempotency_key(IdempotencyKey::Auto)
        .send()
        .await?;
    let _: StatusCode = response.status();
    let _: &HeaderMap = response.headers();
    let _: &str = response.url();
    let _: &str = response.request_id();
    let _: u32 = response.attempts();
    let _: Option<StopReason> = response.stop_reason();
    let _: Option<Duration> = response.retry_after();
    let response = response.error_for_status()?;
    let _value: serde_json::Value = response.json().await?;

    let put = client
        .put(url.to_string())
        .body(Body::from(vec![1u8, 2, 3]))
        .send()
        .await?;
    let _bytes = put.bytes().await?;
    let _text = client.get(url).send().await?.text().await?;
    let mut stream = client.delete(url).send().await?.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let _ = chunk?;
    }
    let _ = client
        .patch(url)
        .idempotency_key(IdempotencyKey::new("k-1"))
        .body("x")
        .send()
        .await?;
    let _ = client.head(url).send().await?;
    let _ = client.request(Method::OPTIONS, url).send().await?;
    let _ = Client::new()
        .get(url)
        .body(String::from("s"))
        .send()
        .await?;
    Ok(())
}

#[allow(dead_code)]
fn error_questions(error: &Error) -> (bool, Option<TimeoutPhase>, Option<StatusCode>, u32) {
    let flags = error.is_timeout()
        || error.is_connect()
        || error.is_status()
        || error.is_body()
        || error.is_decode()
        || error.is_redirect()
        || error.is_builder()
        || error.is_cancelled()
        || error.is_budget_exhausted();
    let _: Option<&str> = error.url();
    let _: Option<&str> = error.request_id();
    let _: Option<Duration> = error.retry_after();
    (
        flags,
        error.timeout_phase(),
        error.status(),
        error.attempts(),
    )
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn documented_client_builds() {
    let client = client().expect("every documented setting is valid");
    let invalid = Client::builder().retry(policy().max_attempts(0)).build();
    assert!(invalid.expect_err("0 attempts is invalid").is_builder());
    drop(client);
}
