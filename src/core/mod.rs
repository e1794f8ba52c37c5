//! The sans-IO core: every decision that makes a call robust, and nothing else.
//!
//! In scope: when to retry and how long to wait (capped exponential backoff, four jitter
//! modes, `Retry-After` in every RFC 9110 form), which methods and failures may be retried,
//! the idempotency key and request id sent on every attempt, the deadlines of a call
//! (total, attempt, read-idle), the per-origin retry budget, and the accounting of a body
//! that streams, fails and resumes with `Range`.
//!
//! Out of scope: sockets, TLS, HTTP framing, URLs, header maps, decompression and timers.
//! Those belong to the adapters, which report what happened as inputs and carry out the
//! [`Step`]s the core returns.
//!
//! **The core does no I/O, reads no clock and draws no randomness.** Every input takes the
//! adapter's `now`, wall-clock time arrives as Unix milliseconds inside [`ResponseHead`], and
//! randomness is a seed passed to [`Call::new`]. It builds for `wasm32-unknown-unknown`
//! with no features and depends on neither tokio, hyper, web-sys nor js-sys.
//!
//! ```
//! use steadfast::core::{Call, CallSpec, Instant, ResponseHead, Step};
//!
//! let now = Instant::ZERO;
//! let mut call = Call::new(CallSpec::new("GET", "http://127.0.0.1:8080"), now, [7; 32]);
//! let Some(Step::StartAttempt(attempt)) = call.poll(now) else { unreachable!() };
//! assert_eq!(attempt.number, 1);
//! call.handle_head(now, &ResponseHead { status: 503, ..ResponseHead::default() });
//! let Some(Step::Wait { until }) = call.poll(now) else { unreachable!() };
//! call.handle_timeout(until);
//! assert!(matches!(call.poll(until), Some(Step::StartAttempt(a)) if a.number == 2));
//! ```

mod backoff;
mod budget;
mod call;
mod format;
mod policy;
mod retry_after;
mod rng;
mod spec;
mod time;

#[cfg(test)]
mod tests;

pub use backoff::{capped_delay, jittered_delay};
pub use budget::BudgetTracker;
pub use call::{is_bodiless, parse_content_range, parse_range_start, Call, ContentRange};
pub use policy::{
    Jitter, PolicyError, RetryBudget, RetryPolicy, DEFAULT_RETRY_METHODS, DEFAULT_RETRY_STATUSES,
};
pub use retry_after::{parse_http_date_ms, parse_retry_after, retry_after_delay, RetryAfter};
pub use rng::Rng;
pub use spec::{
    Attempt, AttemptPurpose, BodyExpectation, BodyFault, BodyMode, BodyReplay, CallSpec, Delivery,
    Failure, FailureKind, IdempotencyKey, RequestIdMode, ResponseHead, ResumeMode, ResumeRejection,
    Step, StopReason, TimeoutPhase, TransportErrorKind,
};
pub use time::Instant;
