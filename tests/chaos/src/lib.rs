//! Loopback fault-injection HTTP server for steadfast's test suites.
//!
//! [`ChaosServer`] binds two origins on 127.0.0.1 that share one state. Tests script a
//! [`Scenario`] under an id, send requests to `/s/{id}`, and read back what arrived with
//! [`ChaosServer::log`]. The same scenarios can be scripted over HTTP (`PUT
//! /__chaos/scenario/{id}` with the JSON form of [`Scenario`]) by tests that run the
//! `steadfast-chaos` binary as a separate process.
//!
//! ```no_run
//! use steadfast_chaos::{ChaosServer, DateForm, Scenario, Step};
//!
//! # async fn example() -> std::io::Result<()> {
//! let server = ChaosServer::start().await?;
//! server.script(
//!     "flaky",
//!     Scenario::new(vec![
//!         Step::status(503).retry_after(2, DateForm::Imf),
//!         Step::ok().body_text("done"),
//!     ]),
//! );
//! let url = server.url("/s/flaky");
//! // ... send requests to `url` ...
//! assert_eq!(server.log("flaky").len(), 2);
//! # Ok(())
//! # }
//! ```

mod body;
mod dates;
mod encoding;
mod log;
mod respond;
mod routes;
mod scenario;
mod server;

pub use body::PATTERN_PERIOD;
pub use log::{fnv64, Fnv64, LoggedRequest};
pub use scenario::{BodySpec, DateForm, RedirectSpec, RetryAfterSpec, Scenario, Step};
pub use server::ChaosServer;

/// Returns `len` bytes of the body pattern starting at offset `offset`: byte `i` is
/// `(i % 251) as u8`. Tests compare received bodies against it.
pub fn pattern(offset: u64, len: usize) -> bytes::Bytes {
    body::pattern_bytes(offset, len)
}

/// Formats `time` as an HTTP-date in `form`, the way the server writes Retry-After.
/// [`DateForm::Delta`] formats as IMF-fixdate.
pub fn format_http_date(time: std::time::SystemTime, form: DateForm) -> String {
    dates::format_http_date(time, form)
}
