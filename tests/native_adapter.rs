#![cfg(feature = "native")]
//! The native adapter against the chaos server on loopback: retries, identity headers,
//! redirects, decoding, body accounting, resume, timeouts and builder errors.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use steadfast::redirect::Policy;
use steadfast::{
    Body, Client, IdempotencyKey, Method, RetryPolicy, StatusCode, StopReason, TimeoutPhase,
};
use steadfast_chaos::{pattern, DateForm, Scenario, Step};

mod support;
use support::{client, fast_retry, server};

/// Returns a loopback URL on a port that had a listener a moment ago and has none now.
fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/nothing-here")
}

#[tokio::test]
async fn retries_503_until_200() {
    let server = server().await;
    server.script(
        "flaky",
        Scenario::new(vec![
            Step::status(503),
            Step::status(503),
            Step::ok().body_text("done"),
        ]),
    );

    let response = client().get(server.url("/s/flaky")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.attempts(), 3);
    let request_id = response.request_id().to_string();
    assert_eq!(response.text().await.unwrap(), "done");
    let log = server.log("flaky");
    assert_eq!(log.len(), 3);
    for (index, request) in log.iter().enumerate() {
        assert_eq!(
            request.header("x-request-id"),
            Some(request_id.as_str()),
            "attempt {}",
            index + 1
        );
    }
}

#[tokio::test]
async fn exhausted_retries_return_last_response() {
    let server = server().await;
    server.script("down", Scenario::repeat(Step::status(503)));

    let response = client().get(server.url("/s/down")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.attempts(), 3);
    assert_eq!(
        response.stop_reason(),
        Some(StopReason::AttemptsExhausted { attempts: 3 })
    );
    let error = response.error_for_status().unwrap_err();
    assert!(error.is_status());
    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(error.attempts(), 3);
    let text = error.to_string();
    assert!(
        text.starts_with("server returned 503 Service Unavailable"),
        "{text}"
    );
    assert!(text.contains("all 3 attempts"), "{text}");
}

#[tokio::test]
async fn retry_after_delay_honoured() {
    let server = server().await;
    server.script(
        "later",
        Scenario::new(vec![
            Step::status(503).retry_after(1, DateForm::Delta),
            Step::ok(),
        ]),
    );

    let started = Instant::now();
    let response = client().get(server.url("/s/later")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.attempts(), 2);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1),
        "retried after {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "retried after {elapsed:?}"
    );
}

#[tokio::test]
async fn retry_after_too_long_returned_at_once() {
    let server = server().await;
    server.script(
        "busy",
        Scenario::repeat(Step::status(503).retry_after(86_400, DateForm::Delta)),
    );

    let started = Instant::now();
    let response = client().get(server.url("/s/busy")).send().await.unwrap();

    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(response.attempts(), 1);
    assert_eq!(response.retry_after(), Some(Duration::from_secs(86_400)));
    let error = response.error_for_status().unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(86_400)));
    assert!(matches!(
        error.stop_reason(),
        Some(StopReason::RetryAfterTooLong { .. })
    ));
    assert_eq!(server.log("busy").len(), 1);
}

#[tokio::test]
async fn connection_refused_is_connect_error() {
    let url = refused_url();

    let error = client().get(&url).send().await.unwrap_err();

    assert!(error.is_connect(), "{error}");
    assert_eq!(error.attempts(), 3);
    assert_eq!(error.url(), Some(url.as_str()));
    assert!(error.request_id().is_some());
    assert!(
        error.to_string().starts_with("connection refused"),
        "{error}"
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test]
async fn post_without_key_not_retried_on_502() {
    let server = server().await;
    server.script("post", Scenario::new(vec![Step::status(502), Step::ok()]));

    let response = client()
        .post(server.url("/s/post"))
        .body("order")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(response.attempts(), 1);
    assert_eq!(
        response.stop_reason(),
        Some(StopReason::MethodNotIdempotent)
    );
    assert_eq!(server.log("post").len(), 1);
}

#[tokio::test]
async fn post_with_auto_key_retried_with_same_key() {
    let server = server().await;
    server.script(
        "keyed",
        Scenario::new(vec![Step::status(502), Step::status(502), Step::ok()]),
    );

    let response = client()
        .post(server.url("/s/keyed"))
        .idempotency_key(IdempotencyKey::Auto)
        .body("order")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let log = server.log("keyed");
    assert_eq!(log.len(), 3);
    let key = log[0]
        .header("idempotency-key")
        .expect("the first attempt carries an Idempotency-Key");
    assert_eq!(key.len(), 36, "a UUID: {key}");
    for request in &log {
        assert_eq!(request.header("idempotency-key"), Some(key));
        assert_eq!(request.body_len, 5);
        assert_eq!(request.body_fnv64, log[0].body_fnv64);
    }
}

#[tokio::test]
async fn redirect_cross_origin_strips_authorization() {
    let server = server().await;
    server.script(
        "start",
        Scenario::repeat(Step::redirect(302, true, "/s/away")),
    );
    server.script(
        "away",
        Scenario::repeat(Step::redirect(302, false, "/s/back")),
    );
    server.script("back", Scenario::repeat(Step::ok().body_text("arrived")));

    let response = client()
        .get(server.url("/s/start"))
        .bearer_auth("secret-token")
        .header("cookie", "session=1")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url(), server.url("/s/back"));
    assert_eq!(response.attempts(), 1);
    let first = &server.log("start")[0];
    assert_eq!(first.header("authorization"), Some("Bearer secret-token"));
    let away = &server.log("away")[0];
    assert_eq!(away.origin, "other");
    assert_eq!(away.header("authorization"), None);
    assert_eq!(away.header("cookie"), None);
    let back = &server.log("back")[0];
    assert_eq!(back.origin, "primary");
    assert_eq!(back.header("authorization"), None, "restored on return");
    assert_eq!(back.header("cookie"), None, "restored on return");
    assert_eq!(response.text().await.unwrap(), "arrived");
}

#[tokio::test]
async fn redirect_303_turns_post_into_get() {
    let server = server().await;
    server.script(
        "form",
        Scenario::repeat(Step::redirect(303, false, "/s/result")),
    );
    server.script("result", Scenario::repeat(Step::ok()));

    let response = client()
        .post(server.url("/s/form"))
        .body("a=1")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let result = &server.log("result")[0];
    assert_eq!(result.method, "GET");
    assert_eq!(result.body_len, 0);
    assert_eq!(result.header("content-type"), None);
}

#[tokio::test]
async fn redirect_307_replays_bytes_body() {
    let server = server().await;
    server.script(
        "moved",
        Scenario::repeat(Step::redirect(307, false, "/s/new")),
    );
    server.script("new", Scenario::repeat(Step::ok().echo()));

    let response = client()
        .put(server.url("/s/moved"))
        .body("payload")
        .send()
        .await
        .unwrap();

    assert_eq!(server.log("new")[0].method, "PUT");
    assert_eq!(response.text().await.unwrap(), "payload");
}

#[tokio::test]
async fn redirect_307_rejects_stream_body() {
    let server = server().await;
    server.script(
        "moved",
        Scenario::repeat(Step::redirect(307, false, "/s/new")),
    );
    server.script("new", Scenario::repeat(Step::ok()));
    let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
        bytes::Bytes::from_static(b"once"),
    )]);

    let error = client()
        .post(server.url("/s/moved"))
        .body(Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap_err();

    assert!(error.is_redirect(), "{error}");
    assert!(server.log("new").is_empty());
}

#[tokio::test]
async fn too_many_redirects_is_error() {
    let server = server().await;
    server.script(
        "loop",
        Scenario::repeat(Step::redirect(302, false, "/s/loop")),
    );
    let client = Client::builder()
        .redirect(Policy::limited(2))
        .build()
        .unwrap();

    let error = client.get(server.url("/s/loop")).send().await.unwrap_err();

    assert!(error.is_redirect(), "{error}");
    assert!(error.to_string().contains("maximum of 2"), "{error}");
    assert_eq!(server.log("loop").len(), 3);
}

#[tokio::test]
async fn policy_none_delivers_redirect() {
    let server = server().await;
    server.script("hop", Scenario::repeat(Step::redirect(302, false, "/s/x")));
    let client = Client::builder().redirect(Policy::none()).build().unwrap();

    let response = client.get(server.url("/s/hop")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(response.headers().contains_key("location"));
}

#[tokio::test]
async fn gzip_body_decoded() {
    let server = server().await;
    let text = "steadfast ".repeat(1000);
    server.script(
        "zipped",
        Scenario::repeat(Step::ok().body_text(&text).gzip()),
    );

    let response = client().get(server.url("/s/zipped")).send().await.unwrap();

    assert!(response.headers().get("content-encoding").is_none());
    assert!(response.headers().get("content-length").is_none());
    assert_eq!(response.content_length(), None);
    assert_eq!(response.text().await.unwrap(), text);
    let sent = server.log("zipped")[0]
        .header("accept-encoding")
        .map(str::to_string);
    assert_eq!(sent.as_deref(), Some("gzip, br, zstd"));
}

#[tokio::test]
async fn gzip_bomb_stopped_by_decoded_cap() {
    let server = server().await;
    server.script(
        "bomb",
        Scenario::repeat(Step::ok().gzip_bomb(64 * 1024 * 1024)),
    );
    let client = Client::builder()
        .max_decoded_bytes(1024 * 1024)
        .build()
        .unwrap();

    let response = client.get(server.url("/s/bomb")).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let mut decoded = 0usize;
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => decoded += chunk.len(),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }

    let error = failure.expect("the decoded-size cap fails the stream");
    assert!(error.is_decode(), "{error}");
    assert!(
        error.to_string().contains("max_decoded_bytes of 1048576"),
        "{error}"
    );
    assert!(decoded <= 1024 * 1024, "{decoded} bytes passed the cap");
}

#[tokio::test]
async fn max_response_bytes_limits_buffered_read() {
    let server = server().await;
    server.script("big", Scenario::repeat(Step::ok().body_pattern(100_000)));
    let client = Client::builder()
        .max_response_bytes(10_000)
        .build()
        .unwrap();

    let response = client.get(server.url("/s/big")).send().await.unwrap();
    let error = response.bytes().await.unwrap_err();

    assert!(error.is_decode(), "{error}");
    assert!(
        error.to_string().contains("max_response_bytes of 10000"),
        "{error}"
    );
}

#[tokio::test]
async fn head_with_content_length_completes_empty() {
    let server = server().await;
    server.script(
        "head",
        Scenario::repeat(Step::ok().header("content-length", "5000")),
    );

    let started = Instant::now();
    let response = client().head(server.url("/s/head")).send().await.unwrap();

    assert_eq!(
        response
            .headers()
            .get("content-length")
            .map(|v| v.to_str().unwrap()),
        Some("5000")
    );
    assert_eq!(response.content_length(), Some(0));
    assert!(response.bytes().await.unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn no_content_completes_empty() {
    let server = server().await;
    server.script("empty", Scenario::repeat(Step::status(204)));

    let response = client().get(server.url("/s/empty")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn short_body_is_an_error() {
    let server = server().await;
    server.script(
        "short",
        Scenario::repeat(Step::ok().body_text("abc").declared_length(10)),
    );
    let client = Client::builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    let response = client.get(server.url("/s/short")).send().await.unwrap();
    let error = response.bytes().await.unwrap_err();

    assert!(error.is_body(), "{error}");
    assert_eq!(error.attempts(), 1);
}

#[tokio::test]
async fn stalled_body_hits_read_timeout() {
    let server = server().await;
    server.script(
        "stall",
        Scenario::repeat(Step::ok().body_pattern(1000).stall_after(100, 3_000)),
    );
    let client = Client::builder()
        .retry(RetryPolicy::none())
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let response = client.get(server.url("/s/stall")).send().await.unwrap();
    let started = Instant::now();
    let error = response.bytes().await.unwrap_err();
    let elapsed = started.elapsed();

    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.timeout_phase(), Some(TimeoutPhase::Read));
    assert!(
        error.to_string().contains("read timeout of 200ms"),
        "{error}"
    );
    assert!(elapsed >= Duration::from_millis(150), "after {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "after {elapsed:?}");
}

#[tokio::test]
async fn slow_consumer_of_healthy_body_no_timeout() {
    let server = server().await;
    server.script(
        "steady",
        Scenario::repeat(Step::ok().body_pattern(4096).chunked(1024, 0)),
    );
    let client = Client::builder()
        .retry(RetryPolicy::none())
        .read_timeout(Duration::from_millis(100))
        .build()
        .unwrap();

    let mut response = client.get(server.url("/s/steady")).send().await.unwrap();
    let mut received = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        received.extend_from_slice(&chunk);
        // Longer than the read timeout: the bytes are already buffered, so no timeout.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    assert_eq!(received, pattern(0, 4096));
}

#[tokio::test]
async fn total_timeout_bounds_slow_attempts() {
    let server = server().await;
    server.script("slow", Scenario::repeat(Step::ok().head_delay_ms(2_000)));
    let client = Client::builder()
        .retry(fast_retry())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let started = Instant::now();
    let error = client.get(server.url("/s/slow")).send().await.unwrap_err();

    assert_eq!(error.timeout_phase(), Some(TimeoutPhase::Total), "{error}");
    assert!(started.elapsed() < Duration::from_millis(1000));
}

#[tokio::test]
async fn attempt_timeout_retried() {
    let server = server().await;
    server.script(
        "late",
        Scenario::new(vec![Step::ok().head_delay_ms(2_000), Step::ok()]),
    );
    let client = Client::builder()
        .retry(fast_retry())
        .attempt_timeout(Duration::from_millis(150))
        .build()
        .unwrap();

    let response = client.get(server.url("/s/late")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.attempts(), 2);
}

#[tokio::test]
async fn dropped_send_sends_nothing_more() {
    let server = server().await;
    server.script(
        "hang",
        Scenario::repeat(Step::status(503).head_delay_ms(500)),
    );

    let sent = client().get(server.url("/s/hang")).send();
    let outcome = tokio::time::timeout(Duration::from_millis(100), sent).await;
    assert!(outcome.is_err(), "the send future finished early");
    tokio::time::sleep(Duration::from_millis(700)).await;

    assert_eq!(server.log("hang").len(), 1);
}

#[tokio::test]
async fn large_stream_matches_pattern() {
    let server = server().await;
    let total: u64 = 32 * 1024 * 1024;

    let response = client()
        .get(server.url(&format!("/bytes/{total}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.content_length(), Some(total));
    let mut stream = response.bytes_stream();
    let mut offset = 0u64;
    let mut largest_chunk = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        assert_eq!(chunk, pattern(offset, chunk.len()), "at offset {offset}");
        offset += chunk.len() as u64;
        largest_chunk = largest_chunk.max(chunk.len());
    }

    assert_eq!(offset, total);
    // Chunks come as hyper reads them, never buffered whole.
    assert!(
        largest_chunk <= 1024 * 1024,
        "a chunk of {largest_chunk} bytes"
    );
}

#[tokio::test]
async fn reset_body_resumes_with_exact_bytes() {
    let server = server().await;
    let total = 1_000_000usize;

    let response = client()
        .get(server.url(&format!("/bytes/{total}?reset_after=300000")))
        .send()
        .await
        .unwrap();
    let body = response.bytes().await.unwrap();

    assert_eq!(body.len(), total);
    assert!(body == pattern(0, total), "the resumed body differs");
}

#[tokio::test]
async fn reset_stream_resumes_with_exact_bytes() {
    let server = server().await;
    let total = 1_000_000usize;

    let response = client()
        .get(server.url(&format!("/bytes/{total}?reset_after=250000")))
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    let mut received = Vec::with_capacity(total);
    while let Some(chunk) = stream.next().await {
        received.extend_from_slice(&chunk.unwrap());
    }

    assert_eq!(received.len(), total);
    assert!(received == pattern(0, total), "the resumed stream differs");
}

#[tokio::test]
async fn resume_with_wrong_content_range_rejected() {
    let server = server().await;
    server.script(
        "shifted",
        Scenario::new(vec![
            Step::ok()
                .body_pattern(100_000)
                .ranges()
                .reset_after(40_000),
            Step::ok()
                .body_pattern(100_000)
                .ranges()
                .range_start_shift(7),
        ]),
    );

    let response = client().get(server.url("/s/shifted")).send().await.unwrap();
    let error = response.bytes().await.unwrap_err();

    assert!(error.is_body(), "{error}");
    assert!(error.to_string().contains("resume failed"), "{error}");
    let log = server.log("shifted");
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].header("range"), Some("bytes=40000-"));
    assert!(log[1].header("if-range").is_some());
}

#[tokio::test]
async fn h2c_prior_knowledge() {
    let server = server().await;
    server.script("h2", Scenario::repeat(Step::ok().body_text("over h2")));
    let client = Client::builder().http2_prior_knowledge().build().unwrap();

    let response = client.get(server.url("/s/h2")).send().await.unwrap();

    assert_eq!(response.version(), steadfast::http::Version::HTTP_2);
    assert_eq!(response.text().await.unwrap(), "over h2");
    assert_eq!(server.log("h2")[0].version, "HTTP/2.0");
}

#[tokio::test]
async fn json_body_parsed() {
    #[derive(serde::Deserialize)]
    struct Order {
        id: u32,
    }
    let server = server().await;
    server.script("json", Scenario::repeat(Step::ok().body_text("{\"id\":7}")));

    let response = client().get(server.url("/s/json")).send().await.unwrap();
    let order: Order = response.json().await.unwrap();

    assert_eq!(order.id, 7);
}

#[tokio::test]
async fn error_body_prefix_bounded() {
    let server = server().await;
    server.script(
        "oops",
        Scenario::repeat(Step::status(400).body_pattern(1024 * 1024)),
    );

    let response = client().get(server.url("/s/oops")).send().await.unwrap();
    let error = response.error_for_status_with_body().await.unwrap_err();

    assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
    let prefix = error.body_prefix().expect("a body prefix");
    assert_eq!(prefix.len(), 64 * 1024);
    assert!(prefix == &pattern(0, 64 * 1024)[..]);
}

#[tokio::test]
async fn max_connections_per_host_serialises() {
    let server = server().await;
    server.script("one", Scenario::repeat(Step::ok().head_delay_ms(100)));
    let client = Client::builder()
        .max_connections_per_host(1)
        .build()
        .unwrap();

    // Each request reads its body before finishing, because a response holds the origin's
    // permit until its body ends.
    let fetch = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await?.bytes().await }
    };
    let started = Instant::now();
    let url = server.url("/s/one");
    let (a, b) = tokio::join!(fetch(url.clone()), fetch(url));
    a.unwrap();
    b.unwrap();

    let log = server.log("one");
    assert_eq!(log.len(), 2);
    let gap = log[1].received_ms - log[0].received_ms;
    assert!(
        gap >= 90,
        "the second request started {gap} ms after the first"
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn invalid_url_sends_nothing() {
    let server = server().await;
    server.script("never", Scenario::repeat(Step::ok()));

    for url in [
        server.url("/s/never/a b"),
        format!("http://127.0.0.1:{}/s/never", 70_000),
        "ftp://127.0.0.1/s/never".to_string(),
        "/s/never".to_string(),
    ] {
        let error = client().get(&url).send().await.unwrap_err();
        assert!(error.is_builder(), "{url}: {error}");
    }

    assert!(server.log("never").is_empty());
}

#[tokio::test]
async fn crlf_header_sends_nothing() {
    let server = server().await;
    server.script("never", Scenario::repeat(Step::ok()));

    let error = client()
        .get(server.url("/s/never"))
        .header("x-note", "a\r\nInjected: yes")
        .send()
        .await
        .unwrap_err();

    assert!(error.is_builder(), "{error}");
    assert!(server.log("never").is_empty());
}

#[tokio::test]
async fn zero_timeout_sends_nothing() {
    let server = server().await;
    server.script("never", Scenario::repeat(Step::ok()));

    let built = Client::builder().timeout(Duration::ZERO).build();
    assert!(built.unwrap_err().is_builder());
    for request in [
        client().get(server.url("/s/never")).timeout(Duration::ZERO),
        client()
            .get(server.url("/s/never"))
            .read_timeout(Duration::ZERO),
    ] {
        let error = request.send().await.unwrap_err();
        assert!(error.is_builder(), "{error}");
    }

    assert!(server.log("never").is_empty());
}

#[tokio::test]
async fn idempotency_key_with_crlf_sends_nothing() {
    let server = server().await;
    server.script("never", Scenario::repeat(Step::ok()));

    let error = client()
        .request(Method::POST, server.url("/s/never"))
        .idempotency_key("a\r\nb")
        .send()
        .await
        .unwrap_err();

    assert!(error.is_builder(), "{error}");
    assert!(server.log("never").is_empty());
}

#[tokio::test]
async fn total_timeout_bounds_buffered_body() {
    let server = server().await;
    server.script(
        "drip",
        Scenario::repeat(Step::ok().body_pattern(10_000).stall_after(10, 3_000)),
    );
    let client = Client::builder()
        .retry(RetryPolicy::none())
        .timeout(Duration::from_millis(300))
        .read_timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let started = Instant::now();
    let response = client.get(server.url("/s/drip")).send().await.unwrap();
    let error = response.bytes().await.unwrap_err();

    assert_eq!(error.timeout_phase(), Some(TimeoutPhase::Total), "{error}");
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn buffered_body_restarts_without_validators() {
    let server = server().await;
    server.script(
        "again",
        Scenario::new(vec![
            Step::ok().body_pattern(100_000).reset_after(30_000),
            Step::ok().body_pattern(100_000),
        ]),
    );

    let response = client().get(server.url("/s/again")).send().await.unwrap();
    let body = response.bytes().await.unwrap();

    assert!(body == pattern(0, 100_000), "the restarted body differs");
    let log = server.log("again");
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].header("range"), None);
}

#[tokio::test]
async fn streamed_body_without_validators_fails() {
    let server = server().await;
    server.script(
        "cut",
        Scenario::new(vec![
            Step::ok().body_pattern(100_000).reset_after(30_000),
            Step::ok().body_pattern(100_000),
        ]),
    );

    let response = client().get(server.url("/s/cut")).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let mut received = 0usize;
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => received += chunk.len(),
            Err(error) => failure = Some(error),
        }
    }

    let error = failure.expect("a cut stream without validators cannot be resumed");
    assert!(error.is_body(), "{error}");
    assert!(received < 100_000);
    assert_eq!(server.log("cut").len(), 1);
}

#[tokio::test]
async fn gzip_body_resumes_and_decodes() {
    let server = server().await;
    let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    server.script(
        "zipresume",
        Scenario::new(vec![
            Step::ok()
                .body_text(&text)
                .gzip()
                .ranges()
                .reset_after(20_000),
            Step::ok().body_text(&text).gzip().ranges(),
        ]),
    );

    let response = client()
        .get(server.url("/s/zipresume"))
        .send()
        .await
        .unwrap();
    let decoded = response.text().await.unwrap();

    assert!(decoded == text, "the resumed gzip body decodes differently");
    let log = server.log("zipresume");
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].header("range"), Some("bytes=20000-"));
}

#[tokio::test]
async fn unknown_encoding_is_decode_error() {
    let server = server().await;
    server.script(
        "odd",
        Scenario::repeat(
            Step::status(500)
                .body_text("xyz")
                .header("content-encoding", "compress"),
        ),
    );
    let client = Client::builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    let response = client.get(server.url("/s/odd")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let error = response.bytes().await.unwrap_err();

    assert!(error.is_decode(), "{error}");
    assert!(error.to_string().contains("\"compress\""), "{error}");
}

#[tokio::test]
async fn slow_consumer_of_stalled_body_times_out() {
    let server = server().await;
    server.script(
        "frozen",
        Scenario::repeat(
            Step::ok()
                .body_pattern(10_000)
                .chunked(100, 0)
                .stall_after(500, 3_000),
        ),
    );
    let client = Client::builder()
        .retry(RetryPolicy::none())
        .read_timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let started = Instant::now();
    let mut response = client.get(server.url("/s/frozen")).send().await.unwrap();
    let failure = loop {
        match response.chunk().await {
            Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
            Ok(None) => panic!("the stalled body ended"),
            Err(error) => break error,
        }
    };

    assert_eq!(
        failure.timeout_phase(),
        Some(TimeoutPhase::Read),
        "{failure}"
    );
    assert!(started.elapsed() < Duration::from_millis(2_000));
}

#[tokio::test]
async fn h2c_reset_stream_resumes() {
    let server = server().await;
    let total = 500_000usize;
    let client = Client::builder()
        .retry(fast_retry())
        .http2_prior_knowledge()
        .build()
        .unwrap();

    let response = client
        .get(server.url(&format!("/bytes/{total}?reset_after=100000")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), steadfast::http::Version::HTTP_2);
    let body = response.bytes().await.unwrap();

    assert_eq!(body.len(), total);
    assert!(body == pattern(0, total), "the resumed h2 body differs");
}
