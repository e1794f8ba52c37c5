//! Helpers shared by the native test files: a fast retry policy, a client that uses it, and a
//! chaos server on loopback.

use std::time::Duration;

use steadfast::{Client, RetryPolicy};
use steadfast_chaos::ChaosServer;

/// Retries with short delays, so a test with two retries takes well under a second.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .initial_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(50))
}

/// Returns a client with `fast_retry` and timeouts far above any scripted delay.
pub fn client() -> Client {
    Client::builder()
        .retry(fast_retry())
        .timeout(Duration::from_secs(15))
        .attempt_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(5))
        .build()
        .expect("the test client configuration is valid")
}

/// Starts a chaos server on two ports of 127.0.0.1.
pub async fn server() -> ChaosServer {
    ChaosServer::start()
        .await
        .expect("the chaos server binds two ports on 127.0.0.1")
}
