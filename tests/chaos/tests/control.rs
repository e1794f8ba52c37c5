//! The HTTP control API, the fixed routes, the background server and the binary.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{body_bytes, bounded, client, get, header, receive, send};
use hyper::{Method, StatusCode};
use steadfast_chaos::{pattern, ChaosServer, LoggedRequest};

async fn text_body(response: hyper::Response<hyper::body::Incoming>) -> String {
    String::from_utf8(body_bytes(response).await.to_vec()).expect("UTF-8 body")
}

#[tokio::test]
async fn control_api_round_trip() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        let scenario = r#"{"steps":[
            {"status":429,"headers":[["X-Request-ID","abc"]],"retry_after":{"secs":3,"form":"rfc850"}},
            {"body":{"text":"fine"}}
        ]}"#;
        let put = send(
            &client,
            Method::PUT,
            &server.url("/__chaos/scenario/js"),
            &[("content-type", "application/json")],
            Bytes::from(scenario),
        )
        .await;
        assert_eq!(put.status(), StatusCode::NO_CONTENT);

        let first = get(&client, &server.url("/s/js/a")).await;
        assert_eq!(first.status(), 429);
        assert_eq!(header(&first, "x-request-id"), Some("abc"));
        assert!(header(&first, "retry-after").unwrap().contains('-'), "RFC 850 form");
        let second = get(&client, &server.other_url("/s/js/b")).await;
        assert_eq!(text_body(second).await, "fine");

        let log_response = get(&client, &server.url("/__chaos/log/js")).await;
        assert_eq!(log_response.status(), 200);
        assert_eq!(header(&log_response, "content-type"), Some("application/json"));
        let log: Vec<LoggedRequest> = serde_json::from_slice(&body_bytes(log_response).await).unwrap();
        let paths: Vec<&str> = log.iter().map(|entry| entry.path.as_str()).collect();
        assert_eq!(paths, ["/s/js/a", "/s/js/b"]);
        assert_eq!(log[1].origin, "other");
        assert_eq!(log, server.log("js"), "HTTP and library views agree");

        let preflights = get(&client, &server.url("/__chaos/preflights/js")).await;
        assert_eq!(text_body(preflights).await, "[]");
    })
    .await;
}

#[tokio::test]
async fn control_api_rejects_invalid_scenarios() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        let url = server.url("/__chaos/scenario/bad");
        let cases = [
            (r#"{"steps":[{"stauts":500}]}"#, "stauts"),
            (r#"{"steps":[{"status":"500"}]}"#, "invalid type"),
            (r#"{"steps":[{"body":{"pattern":-1}}]}"#, "invalid value"),
            (r#"{"steps":[{"status":42}]}"#, "steps[0].status"),
            (
                r#"{"steps":[{},{"headers":[["bad name","x"]]}]}"#,
                "steps[1].headers[0]",
            ),
            (
                r#"{"steps":[{"retry_after":{"secs":1,"form":"julian"}}]}"#,
                "julian",
            ),
            ("not json", "expected"),
        ];
        for (json, expected) in cases {
            let response = send(&client, Method::PUT, &url, &[], Bytes::from(json)).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{json}");
            let message = text_body(response).await;
            assert!(message.contains(expected), "{json}: {message}");
        }
        let never_stored = get(&client, &server.scenario_url("bad")).await;
        assert_eq!(never_stored.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn control_routes_answer_health_and_errors() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        let health = get(&client, &server.url("/__chaos/health")).await;
        assert_eq!(health.status(), 200);
        assert_eq!(text_body(health).await, "ok");

        let unknown = get(&client, &server.url("/nowhere")).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert!(text_body(unknown).await.contains("/nowhere"));

        let missing_log = get(&client, &server.url("/__chaos/log/never")).await;
        assert_eq!(missing_log.status(), StatusCode::NOT_FOUND);

        let wrong_method = get(&client, &server.url("/__chaos/scenario/x")).await;
        assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header(&wrong_method, "allow"), Some("PUT"));
    })
    .await;
}

#[tokio::test]
async fn echo_route_reports_request() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let headers = [("idempotency-key", "k-1")];
        let response = send(
            &client(),
            Method::PATCH,
            &server.url("/echo"),
            &headers,
            Bytes::from("12345"),
        )
        .await;
        assert_eq!(response.status(), 200);
        let report: serde_json::Value =
            serde_json::from_slice(&body_bytes(response).await).unwrap();
        assert_eq!(report["method"], "PATCH");
        assert_eq!(report["body_len"], 5);
        let has_key = report["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|pair| pair[0] == "idempotency-key" && pair[1] == "k-1");
        assert!(has_key, "{report}");
    })
    .await;
}

#[tokio::test]
async fn bytes_reset_once_then_range_resume() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        let url = server.url("/bytes/200000?reset_after=50000&chunk=8192");

        let start = Instant::now();
        let first = get(&client, &url).await;
        assert_eq!(first.status(), 200);
        assert_eq!(header(&first, "accept-ranges"), Some("bytes"));
        assert!(header(&first, "last-modified").is_some());
        let etag = header(&first, "etag").unwrap().to_owned();
        let received = receive(first, start).await;
        assert!(
            received.error.is_some(),
            "first request completed despite reset_after"
        );
        assert_eq!(received.len(), 50_000);
        assert_eq!(received.bytes(), pattern(0, 50_000));

        let headers = [("range", "bytes=50000-"), ("if-range", etag.as_str())];
        let resumed = send(&client, Method::GET, &url, &headers, Bytes::new()).await;
        assert_eq!(resumed.status(), 206);
        assert_eq!(
            header(&resumed, "content-range"),
            Some("bytes 50000-199999/200000")
        );
        assert_eq!(body_bytes(resumed).await, pattern(50_000, 150_000));

        let again = get(&client, &url).await;
        assert_eq!(again.status(), 200);
        assert_eq!(
            body_bytes(again).await.len(),
            200_000,
            "only the first request resets"
        );
    })
    .await;
}

#[tokio::test]
async fn bytes_route_validates_input() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let client = client();
        for path in ["/bytes/abc", "/bytes/10?chunk=0", "/bytes/10?reset_after=x"] {
            let response = get(&client, &server.url(path)).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        }
        let post = send(
            &client,
            Method::POST,
            &server.url("/bytes/10"),
            &[],
            Bytes::new(),
        )
        .await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);

        let stale = [("range", "bytes=5-"), ("if-range", "\"bytes-999\"")];
        let response = send(
            &client,
            Method::GET,
            &server.url("/bytes/10"),
            &stale,
            Bytes::new(),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(body_bytes(response).await, pattern(0, 10));
    })
    .await;
}

#[tokio::test]
async fn bytes_route_streams_large_bodies() {
    bounded(async {
        let server = ChaosServer::start().await.unwrap();
        let total: u64 = 64 * 1024 * 1024;
        let response = get(&client(), &server.url(&format!("/bytes/{total}"))).await;
        assert_eq!(
            header(&response, "content-length"),
            Some(total.to_string().as_str())
        );
        let mut body = response.into_body();
        let mut offset = 0u64;
        while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
            let data = frame.unwrap().into_data().unwrap();
            assert_eq!(
                data,
                pattern(offset, data.len()),
                "mismatch at offset {offset}"
            );
            offset += data.len() as u64;
        }
        assert_eq!(offset, total);
    })
    .await;
}

/// Sends a raw HTTP/1.1 request with `Connection: close` and returns the whole response.
fn raw_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn server_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ChaosServer>();
}

#[test]
fn background_server_serves_without_caller_runtime() {
    let server = ChaosServer::start_in_background().unwrap();
    let addr = server.addr();
    let response = raw_get(addr, "/__chaos/health").unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.to_lowercase().contains("\r\ndate: "), "{response}");
    assert!(response.ends_with("\r\n\r\nok"), "{response}");

    drop(server);
    let connect_after_drop = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    assert!(
        connect_after_drop.is_err(),
        "listener still accepts after drop"
    );
}

#[test]
fn binary_announces_serves_and_stops_on_sigterm() {
    let addr_file =
        std::env::temp_dir().join(format!("steadfast-chaos-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&addr_file);
    let mut child = Command::new(env!("CARGO_BIN_EXE_steadfast-chaos"))
        .arg("--addr-file")
        .arg(&addr_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Read the announcement on a thread, so a silent child fails the test instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });
    let Ok(line) = line_rx.recv_timeout(Duration::from_secs(10)) else {
        let _ = child.kill();
        panic!("steadfast-chaos printed no listening line within 10 s");
    };
    assert!(
        line.starts_with("steadfast-chaos listening on http://127.0.0.1:"),
        "{line}"
    );

    let addresses: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&addr_file).unwrap()).unwrap();
    let url = addresses["url"].as_str().unwrap();
    let other_url = addresses["other_url"].as_str().unwrap();
    assert_eq!(
        line.trim_end(),
        format!("steadfast-chaos listening on {url} and {other_url}")
    );

    let addr = url.trim_start_matches("http://").parse().unwrap();
    let response = raw_get(addr, "/__chaos/health").unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("steadfast-chaos did not exit within 5 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = std::fs::remove_file(&addr_file);
    assert!(status.success(), "exit status {status}");
}

#[test]
fn binary_rejects_bad_flag_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_steadfast-chaos"))
        .arg("--prot")
        .arg("80")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--prot"), "{stderr}");
    assert!(stderr.contains("usage: steadfast-chaos"), "{stderr}");
}
