//! Retry policy: what is retried, how often and how long to wait.

use core::fmt;
use core::time::Duration;

use super::format::f64_display;

/// The randomisation of a computed backoff delay, so that many clients do not retry in step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Jitter {
    /// The exact exponential delay.
    None,
    /// Uniform in `[0, d]`, where `d` is the capped exponential delay. The default.
    #[default]
    Full,
    /// Uniform in `[d/2, d]`.
    Equal,
    /// Uniform in `[initial_delay, 3 × previous delay]`, capped at `max_delay`.
    Decorrelated,
}

/// The per-origin retry budget of a client: retries may add about `ratio` extra load over a
/// sliding `window`, plus `reserve` retries per window so that a quiet client still retries
/// a lone failure.
///
/// Defaults to a ratio of 0.1, a reserve of 10 and a window of 10 s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryBudget {
    pub(crate) enabled: bool,
    pub(crate) ratio: f64,
    pub(crate) reserve: u32,
    pub(crate) window: Duration,
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            enabled: true,
            ratio: 0.1,
            reserve: 10,
            window: Duration::from_secs(10),
        }
    }
}

impl RetryBudget {
    /// Returns a budget that never stops a retry.
    pub fn disabled() -> RetryBudget {
        RetryBudget {
            enabled: false,
            ..RetryBudget::default()
        }
    }

    /// Sets the retries allowed per first attempt, from 0.0 to 1000.0. Defaults to 0.1.
    pub fn ratio(mut self, ratio: f64) -> RetryBudget {
        self.ratio = ratio;
        self
    }

    /// Sets the retries allowed per window whatever the load. Defaults to 10.
    pub fn reserve(mut self, reserve: u32) -> RetryBudget {
        self.reserve = reserve;
        self
    }

    /// Sets the sliding window, from 1 ms to 1 hour. Defaults to 10 s.
    pub fn window(mut self, window: Duration) -> RetryBudget {
        self.window = window;
        self
    }

    /// Returns whether the budget can stop a retry.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
}

/// The retry rules of a client or of one request.
///
/// Every setter is checked by [`RetryPolicy::validate`], which the client builder and
/// `send` call, so an invalid value is reported before any request is sent.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) jitter: Jitter,
    pub(crate) max_retry_after: Duration,
    pub(crate) statuses: Vec<u16>,
    pub(crate) methods: Vec<String>,
    pub(crate) budget: RetryBudget,
    pub(crate) retry_on_timeout: bool,
}

/// The statuses retried by default: 408, 425, 429, 500, 502, 503 and 504. A 413 is retried
/// only when it carries `Retry-After`, whether this list contains it or not.
pub const DEFAULT_RETRY_STATUSES: [u16; 7] = [408, 425, 429, 500, 502, 503, 504];

/// The methods retried by default: the idempotent methods of RFC 9110, section 9.2.2.
pub const DEFAULT_RETRY_METHODS: [&str; 6] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            jitter: Jitter::Full,
            max_retry_after: Duration::from_secs(60),
            statuses: DEFAULT_RETRY_STATUSES.to_vec(),
            methods: DEFAULT_RETRY_METHODS
                .iter()
                .map(|m| m.to_string())
                .collect(),
            budget: RetryBudget::default(),
            retry_on_timeout: true,
        }
    }
}

impl RetryPolicy {
    /// Returns a policy that sends exactly one attempt.
    pub fn none() -> RetryPolicy {
        RetryPolicy::default().max_attempts(1)
    }

    /// Sets the number of attempts, the first one included: 3 means at most 2 retries.
    /// Must be at least 1. Defaults to 3.
    pub fn max_attempts(mut self, attempts: u32) -> RetryPolicy {
        self.max_attempts = attempts;
        self
    }

    /// Sets the delay before the first retry; retry `n` waits `initial × 2^(n−1)` before
    /// jitter. Defaults to 200 ms.
    pub fn initial_delay(mut self, delay: Duration) -> RetryPolicy {
        self.initial_delay = delay;
        self
    }

    /// Sets the cap on every backoff delay. Must not be below `initial_delay`.
    /// Defaults to 10 s.
    pub fn max_delay(mut self, delay: Duration) -> RetryPolicy {
        self.max_delay = delay;
        self
    }

    /// Sets the jitter mode. Defaults to [`Jitter::Full`].
    pub fn jitter(mut self, jitter: Jitter) -> RetryPolicy {
        self.jitter = jitter;
        self
    }

    /// Sets the longest `Retry-After` the client waits for. A longer one, or one that ends
    /// past the total deadline, stops the retries at once and returns that response.
    /// Defaults to 60 s.
    pub fn max_retry_after(mut self, limit: Duration) -> RetryPolicy {
        self.max_retry_after = limit;
        self
    }

    /// Replaces the retryable statuses. Each must be in 100..=599.
    pub fn statuses<I, S>(mut self, statuses: I) -> RetryPolicy
    where
        I: IntoIterator<Item = S>,
        S: Into<u16>,
    {
        self.statuses = statuses.into_iter().map(Into::into).collect();
        self.statuses.sort_unstable();
        self.statuses.dedup();
        self
    }

    /// Replaces the methods retried without an `Idempotency-Key`, matched case-sensitively
    /// as RFC 9110 requires. Accepts `http::Method` values or strings.
    pub fn methods<I, M>(mut self, methods: I) -> RetryPolicy
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        self.methods = methods
            .into_iter()
            .map(|m| m.as_ref().to_string())
            .collect();
        self
    }

    /// Sets the per-origin retry budget. Defaults to [`RetryBudget::default`].
    pub fn budget(mut self, budget: RetryBudget) -> RetryPolicy {
        self.budget = budget;
        self
    }

    /// Sets whether an attempt timeout is retried. Defaults to true.
    pub fn retry_on_timeout(mut self, retry: bool) -> RetryPolicy {
        self.retry_on_timeout = retry;
        self
    }

    /// Returns the number of attempts, the first one included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Returns the retry budget.
    pub fn retry_budget(&self) -> &RetryBudget {
        &self.budget
    }

    /// Returns whether `status` is in the retryable list.
    pub fn is_retryable_status(&self, status: u16) -> bool {
        self.statuses.binary_search(&status).is_ok()
    }

    /// Returns whether `method` is retried without an idempotency key.
    pub fn is_retryable_method(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }

    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// Returns the first invalid setting, with its value and the accepted range.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.max_attempts == 0 {
            return Err(PolicyError::new(
                "max_attempts",
                "0".into(),
                "must be at least 1, because it counts the first attempt; use 1 for no retries",
            ));
        }
        if self.initial_delay > self.max_delay {
            return Err(PolicyError::new(
                "initial_delay",
                format!(
                    "{:?} above max_delay {:?}",
                    self.initial_delay, self.max_delay
                ),
                "must not exceed max_delay; raise max_delay or lower initial_delay",
            ));
        }
        for (setting, value) in [
            ("max_delay", self.max_delay),
            ("max_retry_after", self.max_retry_after),
        ] {
            if value > MAX_WAIT {
                return Err(PolicyError::new(
                    setting,
                    format!("{value:?}"),
                    "must be at most 24 hours, so that no retry waits without end",
                ));
            }
        }
        if let Some(bad) = self.statuses.iter().find(|s| !(400..=599).contains(*s)) {
            return Err(PolicyError::new(
                "statuses",
                bad.to_string(),
                "every status must be in 400..=599, because only errors are retried",
            ));
        }
        if let Some(bad) = self.methods.iter().find(|m| !is_token(m)) {
            return Err(PolicyError::new(
                "methods",
                format!("{bad:?}"),
                "every method must be a non-empty HTTP token such as GET",
            ));
        }
        if let Some(bad) = self.methods.iter().find(|m| is_miscased_standard_method(m)) {
            return Err(PolicyError::new(
                "methods",
                format!("{bad:?}"),
                "methods are case-sensitive and never match a request sent as upper case; \
                 write the standard method in upper case, such as POST",
            ));
        }
        self.validate_budget()
    }

    fn validate_budget(&self) -> Result<(), PolicyError> {
        let budget = &self.budget;
        if !(0.0..=1000.0).contains(&budget.ratio) {
            return Err(PolicyError::new(
                "budget.ratio",
                f64_display(budget.ratio),
                "must be a number from 0.0 to 1000.0",
            ));
        }
        if budget.window < Duration::from_millis(1) || budget.window > Duration::from_secs(3600) {
            return Err(PolicyError::new(
                "budget.window",
                format!("{:?}", budget.window),
                "must be from 1 ms to 1 hour",
            ));
        }
        Ok(())
    }
}

/// The maximum backoff or `Retry-After` wait a policy accepts.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Returns whether `method` spells a standard method in other than upper case, such as
/// `post`, which a caller almost certainly meant as `POST`.
fn is_miscased_standard_method(method: &str) -> bool {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    STANDARD
        .iter()
        .any(|standard| method != *standard && method.eq_ignore_ascii_case(standard))
}

/// Returns whether `text` is an RFC 9110 token, the syntax of a method or header name.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An invalid retry policy setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    setting: &'static str,
    value: String,
    rule: &'static str,
}

impl PolicyError {
    fn new(setting: &'static str, value: String, rule: &'static str) -> PolicyError {
        PolicyError {
            setting,
            value,
            rule,
        }
    }

    /// Returns the name of the invalid setting, such as `max_attempts`.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid retry policy: {} ({}) {}",
            self.setting, self.value, self.rule
        )
    }
}

impl std::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_contract() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_attempts, 3);
        assert_eq!(policy.initial_delay, Duration::from_millis(200));
        assert_eq!(policy.max_delay, Duration::from_secs(10));
        assert_eq!(policy.jitter, Jitter::Full);
        assert_eq!(policy.max_retry_after, Duration::from_secs(60));
        assert_eq!(policy.statuses, vec![408, 425, 429, 500, 502, 503, 504]);
        for method in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"] {
            assert!(policy.is_retryable_method(method), "{method}");
        }
        assert!(!policy.is_retryable_method("POST"));
        assert!(!policy.is_retryable_method("PATCH"));
        assert!(policy.validate().is_ok());
    }

    #[test]
    fn zero_attempts_rejected() {
        let error = RetryPolicy::default()
            .max_attempts(0)
            .validate()
            .unwrap_err();
        assert_eq!(error.setting(), "max_attempts");
        assert!(error.to_string().contains("at least 1"), "{error}");
    }

    #[test]
    fn initial_above_max_rejected() {
        let error = RetryPolicy::default()
            .initial_delay(Duration::from_secs(20))
            .validate()
            .unwrap_err();
        assert_eq!(error.setting(), "initial_delay");
        assert!(error.to_string().contains("20s"), "{error}");
    }

    #[test]
    fn unbounded_waits_rejected() {
        let delay = RetryPolicy::default()
            .initial_delay(Duration::MAX)
            .max_delay(Duration::MAX)
            .validate()
            .unwrap_err();
        assert_eq!(delay.setting(), "max_delay");
        let server = RetryPolicy::default()
            .max_retry_after(Duration::MAX)
            .validate()
            .unwrap_err();
        assert_eq!(server.setting(), "max_retry_after");
        assert!(server.to_string().contains("24 hours"), "{server}");
        let day = RetryPolicy::default().max_retry_after(Duration::from_secs(86_400));
        assert!(day.validate().is_ok());
    }

    #[test]
    fn success_statuses_and_miscased_methods_rejected() {
        for status in [200u16, 304] {
            let error = RetryPolicy::default()
                .statuses([status])
                .validate()
                .unwrap_err();
            assert_eq!(error.setting(), "statuses", "{status}");
        }
        let lower = RetryPolicy::default()
            .methods(["post"])
            .validate()
            .unwrap_err();
        assert_eq!(lower.setting(), "methods");
        assert!(lower.to_string().contains("POST"), "{lower}");
        let custom = RetryPolicy::default().methods(["PURGE", "GET"]);
        assert!(custom.validate().is_ok());
    }

    #[test]
    fn bad_status_and_method_rejected() {
        let status = RetryPolicy::default()
            .statuses([99u16])
            .validate()
            .unwrap_err();
        assert_eq!(status.setting(), "statuses");
        let method = RetryPolicy::default()
            .methods(["GE T"])
            .validate()
            .unwrap_err();
        assert_eq!(method.setting(), "methods");
    }

    #[test]
    fn bad_budget_rejected() {
        let ratio = RetryPolicy::default()
            .budget(RetryBudget::default().ratio(f64::NAN))
            .validate()
            .unwrap_err();
        assert_eq!(ratio.setting(), "budget.ratio");
        let window = RetryPolicy::default()
            .budget(RetryBudget::default().window(Duration::ZERO))
            .validate()
            .unwrap_err();
        assert_eq!(window.setting(), "budget.window");
    }
}
