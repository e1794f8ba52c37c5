//! steadfast: a robust HTTP client.
//!
//! One sans-IO [`core`] decides everything that makes a call robust: when to retry and how
//! long to wait, which headers each attempt carries, when a deadline has passed, and how a
//! streamed body is accounted for and resumed. Two thin adapters do the I/O:
//!
//! - the native adapter (feature `native`): hyper 1.x on tokio, rustls, HTTP/1.1 and HTTP/2;
//! - the fetch adapter (wasm32, feature `fetch`, on by default): the runtime's global
//!   `fetch`, the same in browsers, Workers, Deno and Node.
//!
//! Both expose the same API:
//!
//! ```no_run
//! # #[cfg(feature = "native")]
//! # async fn run() -> Result<(), steadfast::Error> {
//! use std::time::Duration;
//! use steadfast::{Client, IdempotencyKey, RetryPolicy};
//!
//! let client = Client::builder()
//!     .retry(RetryPolicy::default().max_attempts(4))
//!     .timeout(Duration::from_secs(10))
//!     .build()?;
//! let response = client
//!     .post("http://127.0.0.1:8080/orders")
//!     .idempotency_key(IdempotencyKey::Auto)
//!     .body("{}")
//!     .send()
//!     .await?
//!     .error_for_status()?;
//! println!("{} after {} attempts", response.status(), response.attempts());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod core;

mod error;

pub use crate::error::Error;

#[cfg(any(
    all(feature = "native", not(target_arch = "wasm32")),
    all(feature = "fetch", target_arch = "wasm32")
))]
mod body;
#[cfg(any(
    all(feature = "native", not(target_arch = "wasm32")),
    all(feature = "fetch", target_arch = "wasm32")
))]
mod client;
#[cfg(any(
    all(feature = "native", not(target_arch = "wasm32")),
    all(feature = "fetch", target_arch = "wasm32")
))]
pub mod redirect;

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
mod native;
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub(crate) use native as backend;

#[cfg(all(feature = "fetch", target_arch = "wasm32"))]
mod fetch;
#[cfg(all(feature = "fetch", target_arch = "wasm32"))]
pub(crate) use fetch as backend;

#[cfg(all(feature = "fetch", target_arch = "wasm32"))]
mod js;

#[cfg(any(
    all(feature = "native", not(target_arch = "wasm32")),
    all(feature = "fetch", target_arch = "wasm32")
))]
pub use crate::{
    backend::Response,
    body::Body,
    client::{Client, ClientBuilder, IntoUrl, RequestBuilder, RequestIdPolicy},
};

pub use crate::core::{IdempotencyKey, Jitter, RetryBudget, RetryPolicy, StopReason, TimeoutPhase};
pub use http::{self, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
