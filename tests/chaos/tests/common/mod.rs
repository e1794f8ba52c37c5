//! Client helpers shared by the integration tests: a real hyper client on loopback.

#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Upper bound for any single test. Every test finishes far sooner.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(15);

/// HTTP/1.1 client.
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// h2c client with prior knowledge, without the HTTP/1.1 Upgrade handshake.
pub fn h2_client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// Runs `test` with [`TEST_TIMEOUT`], so a hung server fails the test instead of hanging CI.
pub async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test exceeded its time bound")
}

pub async fn get(client: &HttpClient, url: &str) -> Response<Incoming> {
    send(client, Method::GET, url, &[], Bytes::new()).await
}

pub async fn send(
    client: &HttpClient,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Response<Incoming> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(body)).expect("request builds");
    client
        .request(request)
        .await
        .expect("response head arrives")
}

pub async fn body_bytes(response: Response<Incoming>) -> Bytes {
    response
        .into_body()
        .collect()
        .await
        .expect("body completes")
        .to_bytes()
}

pub fn header<'a>(response: &'a Response<Incoming>, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("header is visible ASCII"))
}

/// Body data frames as they arrived, each with the time since `start`, and the error that
/// ended the body early, if any.
pub struct Received {
    pub frames: Vec<(Duration, Bytes)>,
    pub error: Option<hyper::Error>,
}

impl Received {
    pub fn len(&self) -> usize {
        self.frames.iter().map(|(_, bytes)| bytes.len()).sum()
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.frames
            .iter()
            .flat_map(|(_, bytes)| bytes.to_vec())
            .collect()
    }

    /// Returns when the byte at `offset` (0-based) arrived.
    pub fn arrival_of(&self, offset: usize) -> Duration {
        let mut seen = 0;
        for (at, bytes) in &self.frames {
            seen += bytes.len();
            if seen > offset {
                return *at;
            }
        }
        panic!("byte {offset} never arrived; received {seen} bytes");
    }
}

/// Reads the body frame by frame, stopping at the first error.
pub async fn receive(response: Response<Incoming>, start: Instant) -> Received {
    let mut body = response.into_body();
    let mut received = Received {
        frames: Vec::new(),
        error: None,
    };
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    received.frames.push((start.elapsed(), data));
                }
            }
            Err(error) => {
                received.error = Some(error);
                break;
            }
        }
    }
    received
}
