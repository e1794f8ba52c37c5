//! Scripted faults as a real hyper client sees them on loopback.

mod common;

use std::io::Read;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use common::{body_bytes, bounded, client, get, h2_client, header, receive, send};
use hyper::{Method, StatusCode};
use steadfast_chaos::{fnv64, pattern, ChaosServer, DateForm, Scenario, Step};

#[tokio::test]
async fn status_sequence_then_last_step_repeats() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        server.script(
            "seq",
            Scenario::new(vec![
                Step::status(503),
                Step::status(429),
                Step::ok().body_text("done"),
            ]),
        );
        let client = client();
        let mut statuses = Vec::new();
        let mut last_body = Bytes::new();
        for _ in 0..4 {
            let response = get(&client, &server.url("/s/seq/item?attempt=x")).await;
            statuses.push(response.status().as_u16());
            last_body = body_bytes(response).await;
        }
        assert_eq!(statuses, [503, 429, 200, 200]);
        assert_eq!(last_body, "done");

        let log = server.log("seq");
        let steps: Vec<usize> = log.iter().map(|entry| entry.step).collect();
        assert_eq!(steps, [0, 1, 2, 2]);
        assert_eq!(log[0].path, "/s/seq/item");
        assert_eq!(log[0].query.as_deref(), Some("attempt=x"));
        assert_eq!(log[0].version, "HTTP/1.1");
        assert_eq!(log[0].origin, "primary");
        assert!(
            log[0].header("HOST").is_some(),
            "header lookup ignores case"
        );
    })
    .await;
}

#[tokio::test]
async fn rescript_resets_steps_and_log() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        server.script("again", Scenario::new(vec![Step::status(500), Step::ok()]));
        let first = get(&client, &server.scenario_url("again")).await;
        assert_eq!(first.status(), 500);

        server.script("again", Scenario::new(vec![Step::status(418), Step::ok()]));
        assert!(server.log("again").is_empty());
        let after = get(&client, &server.scenario_url("again")).await;
        assert_eq!(after.status(), 418, "a new script starts at step 0");
    })
    .await;
}

#[tokio::test]
async fn unscripted_id_is_not_found() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let response = get(&client(), &server.scenario_url("nobody")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(
            header(&response, "date").is_some(),
            "error responses carry Date too"
        );
        let message = String::from_utf8(body_bytes(response).await.to_vec()).unwrap();
        assert!(message.contains("\"nobody\""), "{message}");
    })
    .await;
}

#[tokio::test]
async fn retry_after_in_every_form_matches_date() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        let forms = [
            DateForm::Delta,
            DateForm::Imf,
            DateForm::Rfc850,
            DateForm::Asctime,
        ];
        for skew in [0i64, -3600, 86_400] {
            for form in forms {
                let id = format!("retry-{skew}-{form:?}");
                let step = Step::status(503)
                    .retry_after(120, form)
                    .date_skew_secs(skew);
                server.script(&id, Scenario::repeat(step));
                let response = get(&client, &server.scenario_url(&id)).await;
                assert_eq!(response.status(), 503);

                let date_text = header(&response, "date").expect("Date header");
                let date = httpdate::parse_http_date(date_text).expect("Date is an HTTP-date");
                let retry_text = header(&response, "retry-after").expect("Retry-After header");

                let now = SystemTime::now();
                let expected_date = if skew >= 0 {
                    now + Duration::from_secs(skew as u64)
                } else {
                    now - Duration::from_secs(skew.unsigned_abs())
                };
                let date_error = signed_secs(date, expected_date);
                assert!(
                    date_error.abs() <= 2,
                    "{id}: Date {date_text} is {date_error} s off now + skew"
                );

                if form == DateForm::Delta {
                    assert_eq!(retry_text, "120", "{id}");
                    continue;
                }
                let retry = httpdate::parse_http_date(retry_text)
                    .unwrap_or_else(|_| panic!("{id}: Retry-After {retry_text:?} parses"));
                let offset = signed_secs(retry, date);
                assert!(
                    (119..=121).contains(&offset),
                    "{id}: Retry-After {retry_text} is {offset} s after Date {date_text}"
                );
            }
        }
        let asctime = server.log("retry-0-Asctime");
        assert_eq!(asctime.len(), 1);
    })
    .await;
}

fn signed_secs(later: SystemTime, earlier: SystemTime) -> i64 {
    match later.duration_since(earlier) {
        Ok(ahead) => ahead.as_secs_f64().round() as i64,
        Err(behind) => -(behind.duration().as_secs_f64().round() as i64),
    }
}

#[tokio::test]
async fn retry_after_forms_have_expected_shape() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        let cases = [
            (DateForm::Imf, " GMT", ", "),
            (DateForm::Rfc850, " GMT", "-"),
            (DateForm::Asctime, "", " "),
        ];
        for (form, suffix, separator) in cases {
            let id = format!("shape-{form:?}");
            server.script(
                &id,
                Scenario::repeat(Step::status(429).retry_after(5, form)),
            );
            let response = get(&client, &server.scenario_url(&id)).await;
            let value = header(&response, "retry-after").unwrap().to_owned();
            assert!(value.ends_with(suffix), "{form:?}: {value}");
            assert!(value.contains(separator), "{form:?}: {value}");
        }
        // The asctime form ends with the four-digit year, not a zone.
        server.script(
            "asctime",
            Scenario::repeat(Step::status(429).retry_after(5, DateForm::Asctime)),
        );
        let response = get(&client, &server.scenario_url("asctime")).await;
        let value = header(&response, "retry-after").unwrap();
        let year = value.rsplit(' ').next().unwrap();
        assert_eq!(year.len(), 4, "{value}");
        assert!(year.parse::<u16>().is_ok(), "{value}");
    })
    .await;
}

#[tokio::test]
async fn head_delay_logs_before_head() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        server.script("slow-head", Scenario::repeat(Step::ok().head_delay_ms(400)));
        let client = client();
        let url = server.scenario_url("slow-head");
        let start = Instant::now();
        let request = tokio::spawn(async move { get(&client, &url).await.status() });

        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !request.is_finished(),
            "head arrived before the delay ended"
        );
        assert_eq!(
            server.log("slow-head").len(),
            1,
            "request is logged on arrival"
        );

        let status = request.await.unwrap();
        assert_eq!(status, 200);
        assert!(
            start.elapsed() >= Duration::from_millis(400),
            "{:?}",
            start.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn mid_body_stall_then_resume() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let step = Step::ok().body_pattern(1000).stall_after(400, 400);
        server.script("stall", Scenario::repeat(step));
        let start = Instant::now();
        let response = get(&client(), &server.scenario_url("stall")).await;
        let head_at = start.elapsed();
        assert_eq!(header(&response, "content-length"), Some("1000"));
        let received = receive(response, start).await;

        assert!(received.error.is_none(), "{:?}", received.error);
        assert_eq!(received.bytes(), pattern(0, 1000));
        let before = received.arrival_of(399);
        let after = received.arrival_of(400);
        // The margins leave room for scheduling delay on a loaded machine. Without the stall,
        // the first check passes easily and the gap is near 0 ms.
        assert!(
            before < head_at + Duration::from_millis(250),
            "first 400 bytes came late: {before:?}"
        );
        assert!(
            after - before >= Duration::from_millis(250),
            "gap was {:?}",
            after - before
        );
    })
    .await;
}

#[tokio::test]
async fn slow_trickle_sends_paced_chunks() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let step = Step::ok().body_pattern(500).chunked(100, 60);
        server.script("trickle", Scenario::repeat(step));
        let start = Instant::now();
        let response = get(&client(), &server.scenario_url("trickle")).await;
        let received = receive(response, start).await;

        assert_eq!(received.bytes(), pattern(0, 500));
        // A late read can merge two chunks into one frame, so count at least three.
        assert!(
            received.frames.len() >= 3,
            "{} frames",
            received.frames.len()
        );
        let spread = received.arrival_of(499) - received.arrival_of(0);
        assert!(
            spread >= Duration::from_millis(150),
            "4 pauses of 60 ms spread the body over only {spread:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn stall_ends_when_client_disconnects() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let step = Step::ok().body_pattern(1000).stall_after(10, u64::MAX);
        server.script("hang", Scenario::repeat(step));
        let client = client();
        let response = get(&client, &server.scenario_url("hang")).await;
        let mut body = response.into_body();
        let first = http_body_util::BodyExt::frame(&mut body)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.into_data().unwrap().len(), 10);
        assert_eq!(server.active_responses(), 1);

        drop(body);
        drop(client);
        let deadline = Instant::now() + Duration::from_secs(3);
        while server.active_responses() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            server.active_responses(),
            0,
            "stalled body outlived its client"
        );
    })
    .await;
}

#[tokio::test]
async fn mid_body_reset_after_exact_bytes() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let step = Step::ok().body_pattern(100_000).reset_after(30_000);
        server.script("reset", Scenario::repeat(step));
        let start = Instant::now();
        let response = get(&client(), &server.scenario_url("reset")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-length"), Some("100000"));
        let received = receive(response, start).await;

        assert!(received.error.is_some(), "body completed despite the reset");
        assert_eq!(received.len(), 30_000);
        assert_eq!(received.bytes(), pattern(0, 30_000));
    })
    .await;
}

#[tokio::test]
async fn short_body_is_incomplete_message() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        server.script(
            "short",
            Scenario::repeat(Step::ok().body_text("hello").declared_length(100)),
        );
        let start = Instant::now();
        let response = get(&client(), &server.scenario_url("short")).await;
        assert_eq!(header(&response, "content-length"), Some("100"));
        let received = receive(response, start).await;

        assert_eq!(received.bytes(), b"hello");
        let error = received.error.expect("short body ends with an error");
        let io_error = std::error::Error::source(&error)
            .and_then(|source| source.downcast_ref::<std::io::Error>())
            .unwrap_or_else(|| panic!("body error {error:?} has no io::Error source"));
        assert_eq!(
            io_error.kind(),
            std::io::ErrorKind::UnexpectedEof,
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn gzip_bomb_inflates_to_exact_size() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let inflated_len = 10_000_000;
        server.script("bomb", Scenario::repeat(Step::ok().gzip_bomb(inflated_len)));
        let response = get(&client(), &server.scenario_url("bomb")).await;
        assert_eq!(header(&response, "content-encoding"), Some("gzip"));
        let compressed = body_bytes(response).await;
        assert!(
            compressed.len() < 100_000,
            "bomb is {} bytes",
            compressed.len()
        );

        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut inflated)
            .expect("bomb is a valid gzip stream");
        assert_eq!(inflated.len() as u64, inflated_len);
        assert!(inflated.iter().all(|&byte| byte == 0));
    })
    .await;
}

#[tokio::test]
async fn gzip_flag_encodes_body() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let text = "steadfast ".repeat(1000);
        server.script("gz", Scenario::repeat(Step::ok().body_text(&text).gzip()));
        let response = get(&client(), &server.scenario_url("gz")).await;
        assert_eq!(header(&response, "content-encoding"), Some("gzip"));
        let compressed = body_bytes(response).await;
        assert!(compressed.len() < text.len());

        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, text);
    })
    .await;
}

#[tokio::test]
async fn ranges_serve_partial_and_honour_if_range() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        server.script(
            "ranged",
            Scenario::repeat(Step::ok().body_pattern(1000).ranges()),
        );
        let client = client();
        let url = server.scenario_url("ranged");

        let full = get(&client, &url).await;
        assert_eq!(full.status(), 200);
        assert_eq!(header(&full, "accept-ranges"), Some("bytes"));
        let etag = header(&full, "etag").expect("ETag").to_owned();
        assert!(etag.starts_with('"'), "ETag {etag} is strong");
        assert_eq!(body_bytes(full).await, pattern(0, 1000));

        let partial = send(
            &client,
            Method::GET,
            &url,
            &[("range", "bytes=100-")],
            Bytes::new(),
        )
        .await;
        assert_eq!(partial.status(), 206);
        assert_eq!(
            header(&partial, "content-range"),
            Some("bytes 100-999/1000")
        );
        assert_eq!(header(&partial, "content-length"), Some("900"));
        assert_eq!(body_bytes(partial).await, pattern(100, 900));

        let headers = [("range", "bytes=100-"), ("if-range", etag.as_str())];
        let matching = send(&client, Method::GET, &url, &headers, Bytes::new()).await;
        assert_eq!(
            matching.status(),
            206,
            "If-Range with the current ETag keeps the range"
        );

        let headers = [("range", "bytes=100-"), ("if-range", "\"stale\"")];
        let stale = send(&client, Method::GET, &url, &headers, Bytes::new()).await;
        assert_eq!(stale.status(), 200, "If-Range mismatch sends the full body");
        assert_eq!(header(&stale, "content-range"), None);
        assert_eq!(body_bytes(stale).await, pattern(0, 1000));

        let past_end = send(
            &client,
            Method::GET,
            &url,
            &[("range", "bytes=1000-")],
            Bytes::new(),
        )
        .await;
        assert_eq!(past_end.status(), 416);
        assert_eq!(header(&past_end, "content-range"), Some("bytes */1000"));
    })
    .await;
}

#[tokio::test]
async fn range_start_shift_misreports_content_range() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        for (shift, expected) in [(-7i64, "bytes 93-192/1000"), (5, "bytes 105-204/1000")] {
            let id = format!("shift{shift}");
            let step = Step::ok()
                .body_pattern(1000)
                .ranges()
                .range_start_shift(shift);
            server.script(&id, Scenario::repeat(step));
            let headers = [("range", "bytes=100-199")];
            let response = send(
                &client,
                Method::GET,
                &server.scenario_url(&id),
                &headers,
                Bytes::new(),
            )
            .await;
            assert_eq!(response.status(), 206);
            assert_eq!(header(&response, "content-range"), Some(expected));
            assert_eq!(
                body_bytes(response).await,
                pattern(100, 100),
                "the body still starts at the requested offset"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn redirect_points_at_other_origin() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        server.script(
            "hop",
            Scenario::repeat(Step::redirect(307, true, "/s/landing?from=hop")),
        );
        server.script("landing", Scenario::repeat(Step::ok().body_text("landed")));
        let client = client();

        let response = get(&client, &server.scenario_url("hop")).await;
        assert_eq!(response.status(), 307);
        let location = header(&response, "location").unwrap().to_owned();
        assert_eq!(location, server.other_url("/s/landing?from=hop"));
        assert_ne!(server.addr(), server.other_addr());

        let landed = get(&client, &location).await;
        assert_eq!(body_bytes(landed).await, "landed");
        let log = server.log("landing");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].origin, "other");
        assert_eq!(log[0].query.as_deref(), Some("from=hop"));
    })
    .await;
}

#[tokio::test]
async fn cors_preflight_logged_separately() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        server.script("cors", Scenario::new(vec![Step::status(201), Step::ok()]));
        let client = client();
        let url = server.scenario_url("cors");

        let preflight_headers = [
            ("origin", "http://localhost:9"),
            ("access-control-request-method", "PUT"),
            (
                "access-control-request-headers",
                "x-request-id, idempotency-key",
            ),
        ];
        let preflight = send(
            &client,
            Method::OPTIONS,
            &url,
            &preflight_headers,
            Bytes::new(),
        )
        .await;
        assert_eq!(preflight.status(), 204);
        assert_eq!(header(&preflight, "access-control-allow-origin"), Some("*"));
        let methods = header(&preflight, "access-control-allow-methods").unwrap();
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            assert!(methods.contains(method), "{methods} lacks {method}");
        }
        assert_eq!(
            header(&preflight, "access-control-allow-headers"),
            Some("x-request-id, idempotency-key")
        );
        assert_eq!(header(&preflight, "access-control-max-age"), Some("0"));

        let actual = send(
            &client,
            Method::PUT,
            &url,
            &[("x-request-id", "r1")],
            Bytes::from("x"),
        )
        .await;
        assert_eq!(actual.status(), 201, "the preflight consumed no step");
        assert_eq!(header(&actual, "access-control-allow-origin"), Some("*"));
        let exposed = header(&actual, "access-control-expose-headers").unwrap();
        for name in [
            "Retry-After",
            "X-Request-ID",
            "Idempotency-Key",
            "ETag",
            "traceparent",
        ] {
            assert!(exposed.contains(name), "{exposed} lacks {name}");
        }

        let preflights = server.preflights("cors");
        assert_eq!(preflights.len(), 1);
        assert_eq!(preflights[0].method, "OPTIONS");
        assert_eq!(
            preflights[0].header("access-control-request-method"),
            Some("PUT")
        );
        let log = server.log("cors");
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].method, "PUT");
        assert_eq!(log[0].header("x-request-id"), Some("r1"));
    })
    .await;
}

#[tokio::test]
async fn echo_step_returns_request_body() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        server.script("echo", Scenario::repeat(Step::ok().echo()));
        let body = Bytes::from_static(b"idempotent payload");
        let headers = [("content-type", "application/x-test")];
        let response = send(
            &client(),
            Method::POST,
            &server.scenario_url("echo"),
            &headers,
            body.clone(),
        )
        .await;
        assert_eq!(
            header(&response, "content-type"),
            Some("application/x-test")
        );
        assert_eq!(body_bytes(response).await, body);

        let log = server.log("echo");
        assert_eq!(log[0].body_len, body.len() as u64);
        assert_eq!(log[0].body_fnv64, fnv64(&body));
    })
    .await;
}

#[tokio::test]
async fn step_headers_replace_computed_ones() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let step = Step::status(503)
            .retry_after(10, DateForm::Delta)
            .header("Retry-After", "soon")
            .header("Date", "Thu, 01 Jan 1970 00:00:00 GMT")
            .header("X-Request-ID", "a")
            .header("X-Request-ID", "b");
        server.script("override", Scenario::repeat(step));
        let response = get(&client(), &server.scenario_url("override")).await;
        assert_eq!(header(&response, "retry-after"), Some("soon"));
        assert_eq!(
            header(&response, "date"),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        let ids: Vec<_> = response.headers().get_all("x-request-id").iter().collect();
        assert_eq!(ids, ["a", "b"]);
    })
    .await;
}

#[tokio::test]
async fn h2c_prior_knowledge_is_served() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        server.script("h2", Scenario::repeat(Step::ok().body_pattern(70_000)));
        let response = get(&h2_client(), &server.scenario_url("h2")).await;
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        assert_eq!(body_bytes(response).await, pattern(0, 70_000));
        let log = server.log("h2");
        assert_eq!(log[0].version, "HTTP/2.0");
    })
    .await;
}

#[tokio::test]
async fn h2c_reset_fails_the_stream() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let step = Step::ok().body_pattern(50_000).reset_after(20_000);
        server.script("h2-reset", Scenario::repeat(step));
        let start = Instant::now();
        let response = get(&h2_client(), &server.scenario_url("h2-reset")).await;
        let received = receive(response, start).await;
        assert!(
            received.error.is_some(),
            "h2 body completed despite the reset"
        );
        assert_eq!(received.bytes(), pattern(0, 20_000));
    })
    .await;
}
