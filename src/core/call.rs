//! The state machine of one logical request.
//!
//! # Theory of operation
//!
//! ```text
//!            ┌───────────── retry decision ◄──────────────┐
//!            ▼                                            │
//!   Start ─► AwaitingHead ──head accepted──► Body ──end──► Done
//!            ▲    │  ▲                        │
//!            │    │  └── resume / restart ◄───┤ fault (stall, reset, short)
//!            │    ▼                           │
//!            └── Backoff ◄── retry ───────────┘
//! ```
//!
//! The adapter drives it with two kinds of calls. Inputs (`handle_*`, `cancel`) report what
//! happened, each with the `now` of the adapter's monotonic clock. After every input the
//! adapter drains [`Call::poll`] until it returns `None`, acts on each [`Step`], and arranges
//! to call [`Call::handle_timeout`] at [`Call::next_deadline`]. The core never sleeps,
//! reads a clock or draws randomness of its own: the adapter seeds [`Rng`] once per call.
//!
//! Every retry goes through one decision, [`Call::decide`], which checks in this order:
//!
//! 1. the outcome is retryable, the body can be replayed and the method may be retried;
//! 2. an attempt is left;
//! 3. the wait (`Retry-After` or jittered backoff) ends before the total deadline;
//! 4. the origin's budget allows the retry.

use std::borrow::Cow;
use std::time::Duration;

use super::backoff::jittered_delay;
use super::retry_after::{parse_retry_after, retry_after_delay};
use super::rng::Rng;
use super::spec::*;
use super::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    Total = 0,
    Attempt = 1,
    Backoff = 2,
    ReadIdle = 3,
}

const TIMER_COUNT: usize = 4;

/// The body the next attempt continues, once its head arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Continuation {
    /// Nothing: its head is a fresh response.
    Fresh,
    /// A `Range` request for the body from this offset.
    Resume(u64),
    /// A buffered body read again from the start.
    Restart,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    AwaitingHead(Continuation),
    Backoff(Continuation),
    Body,
    Done,
}

/// Validators of the first response, for resuming its body.
#[derive(Clone, Debug, Default)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
    /// Total length of the representation, when known.
    total: Option<u64>,
    status: u16,
}

/// The cause of a retry decision.
#[derive(Clone, Copy, Debug)]
enum Cause {
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    Transport(TransportErrorKind),
    AttemptTimeout,
    Body(BodyFault),
}

impl Cause {
    /// Describes the cause for logs, such as "status 503 with Retry-After 2s".
    fn describe(self) -> String {
        match self {
            Cause::Status {
                code,
                retry_after: Some(delay),
            } => format!("status {code} with Retry-After {}", format_delay(delay)),
            Cause::Status { code, .. } => format!("status {code}"),
            Cause::Transport(kind) => kind.to_string(),
            Cause::AttemptTimeout => "attempt timed out".to_string(),
            Cause::Body(fault) => fault.to_string(),
        }
    }
}

fn format_delay(delay: Duration) -> String {
    if delay.subsec_millis() == 0 {
        format!("{}s", delay.as_secs())
    } else {
        format!("{}ms", delay.as_millis())
    }
}

/// The outcome of a retry decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decision {
    Retry(Duration),
    Stop(StopReason),
    NotRetryable,
}

/// One logical request: every attempt, sleep and body byte of it.
///
/// See the module documentation for the order of calls.
#[derive(Debug)]
pub struct Call {
    spec: CallSpec,
    rng: Rng,
    request_id: String,
    idempotency_key: Option<String>,
    trace_id: Option<String>,
    state: State,
    attempts: u32,
    timers: [Option<Instant>; TIMER_COUNT],
    previous_delay: Duration,
    pending: Option<Step>,
    last_status: Option<u16>,
    body_mode: BodyMode,
    /// Bytes of the representation received over all attempts of the current body.
    received: u64,
    /// Bytes received in the current attempt's body.
    attempt_received: u64,
    attempt_expected: Option<u64>,
    validators: Option<Validators>,
}

impl Call {
    /// Creates a call and records its first attempt in the retry budget.
    pub fn new(spec: CallSpec, now: Instant, seed: [u8; 32]) -> Call {
        let mut rng = Rng::from_seed(seed);
        let request_id = match &spec.request_id {
            RequestIdMode::Given(id) => id.clone(),
            RequestIdMode::Generate | RequestIdMode::Unsent => rng.uuid_v4(),
        };
        let idempotency_key = match &spec.idempotency_key {
            Some(IdempotencyKey::Auto) => Some(rng.uuid_v4()),
            Some(IdempotencyKey::Value(key)) => Some(key.clone()),
            None => None,
        };
        let trace_id = spec.traceparent.then(|| rng.hex_id(16));
        let mut timers = [None; TIMER_COUNT];
        timers[Timer::Total as usize] = spec.total_timeout.map(|t| now.saturating_add(t));
        if let Some(budget) = &spec.budget {
            budget.record_request(&spec.policy.budget, &spec.origin, now);
        }
        Call {
            spec,
            rng,
            request_id,
            idempotency_key,
            trace_id,
            state: State::Start,
            attempts: 0,
            timers,
            previous_delay: Duration::ZERO,
            pending: None,
            last_status: None,
            body_mode: BodyMode::Streaming,
            received: 0,
            attempt_received: 0,
            attempt_expected: None,
            validators: None,
        }
    }

    /// Returns the request id, sent or not.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Returns the idempotency key sent on every attempt, if any.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// Returns the number of attempts started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Returns the status of the last response head, if one arrived.
    pub fn last_status(&self) -> Option<u16> {
        self.last_status
    }

    /// Returns the spec the call was created with.
    pub fn spec(&self) -> &CallSpec {
        &self.spec
    }

    /// Returns whether the call has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done && self.pending.is_none()
    }

    /// Returns the earliest instant at which the adapter must call [`Call::handle_timeout`].
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.state == State::Done {
            return None;
        }
        self.timers.iter().flatten().min().copied()
    }

    /// Returns the next step, or `None` when the call waits for an input.
    #[must_use]
    pub fn poll(&mut self, now: Instant) -> Option<Step> {
        if let Some(step) = self.pending.take() {
            return Some(step);
        }
        if self.state == State::Start {
            return Some(self.start_attempt(now, Continuation::Fresh));
        }
        None
    }

    /// Reports the head of the current attempt's response.
    pub fn handle_head(&mut self, now: Instant, head: &ResponseHead<'_>) {
        let State::AwaitingHead(continuation) = self.state else {
            return;
        };
        self.timers[Timer::Attempt as usize] = None;
        self.last_status = Some(head.status);
        let retry_after = self.retry_after_of(head);
        tracing::debug!(
            request_id = %self.request_id,
            attempt = self.attempts,
            status = head.status,
            "response head"
        );
        let cause = Cause::Status {
            code: head.status,
            retry_after,
        };
        let decision = self.decide(now, cause);
        match (decision, continuation) {
            (Decision::Retry(delay), _) => self.schedule_retry(now, delay, continuation, cause),
            (Decision::Stop(reason), Continuation::Fresh) => {
                self.deliver(now, head, Some(reason), retry_after)
            }
            (Decision::NotRetryable, Continuation::Fresh) => {
                self.deliver(now, head, None, retry_after)
            }
            (Decision::Stop(reason), _) => {
                let rejection = ResumeRejection::NotPartial(head.status);
                self.fail(FailureKind::Resume(rejection), Some(reason));
            }
            (Decision::NotRetryable, _) => self.accept_continuation(now, head, continuation),
        }
    }

    /// Reports that the current attempt failed below HTTP, before or after its head.
    pub fn handle_failure(&mut self, now: Instant, kind: TransportErrorKind) {
        match self.state {
            State::AwaitingHead(continuation) => {
                self.timers[Timer::Attempt as usize] = None;
                self.retry_or_fail(
                    now,
                    Cause::Transport(kind),
                    continuation,
                    FailureKind::Transport(kind),
                );
            }
            State::Body => self.handle_body_fault(now, BodyFault::Interrupted(kind)),
            _ => {}
        }
    }

    /// Reports which body mode the caller picked. Streaming lifts the total timeout off the
    /// body; buffered lets a body that fails before its end be read again from the start.
    pub fn handle_body_mode(&mut self, _now: Instant, mode: BodyMode) {
        self.body_mode = mode;
        if mode == BodyMode::Streaming && self.state == State::Body {
            self.timers[Timer::Total as usize] = None;
        }
    }

    /// Reports `len` body bytes that came off the network at `now`.
    pub fn handle_chunk(&mut self, now: Instant, len: u64) {
        if self.state != State::Body {
            return;
        }
        self.received = self.received.saturating_add(len);
        self.attempt_received = self.attempt_received.saturating_add(len);
        self.arm_read_timer(now);
        tracing::trace!(request_id = %self.request_id, len, received = self.received, "body chunk");
    }

    /// Reports the end of the current attempt's body.
    pub fn handle_end(&mut self, now: Instant) {
        if self.state != State::Body {
            return;
        }
        if let Some(expected) = self.attempt_expected {
            if self.attempt_received < expected {
                let fault = BodyFault::Short {
                    expected,
                    received: self.attempt_received,
                };
                self.handle_body_fault(now, fault);
                return;
            }
        }
        self.finish();
        self.pending = Some(Step::Finish);
    }

    /// Reports that `now` has reached [`Call::next_deadline`]. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.expired(Timer::Total, now) {
            self.timers = [None; TIMER_COUNT];
            self.fail(FailureKind::Timeout(TimeoutPhase::Total), None);
            return;
        }
        if self.expired(Timer::Attempt, now) {
            self.timers[Timer::Attempt as usize] = None;
            if let State::AwaitingHead(continuation) = self.state {
                let failure = FailureKind::Timeout(TimeoutPhase::Attempt);
                self.retry_or_fail(now, Cause::AttemptTimeout, continuation, failure);
            }
            return;
        }
        if self.expired(Timer::ReadIdle, now) {
            self.timers[Timer::ReadIdle as usize] = None;
            if self.state == State::Body {
                self.handle_body_fault(now, BodyFault::Stalled);
            }
            return;
        }
        if self.expired(Timer::Backoff, now) {
            self.timers[Timer::Backoff as usize] = None;
            if let State::Backoff(continuation) = self.state {
                let step = self.start_attempt(now, continuation);
                self.pending = Some(step);
            }
        }
    }

    /// Cancels the call: no further attempt is made.
    pub fn cancel(&mut self, _now: Instant) {
        if self.state != State::Done {
            self.fail(FailureKind::Cancelled, None);
        }
    }

    fn expired(&self, timer: Timer, now: Instant) -> bool {
        self.timers[timer as usize].is_some_and(|at| at <= now)
    }

    fn arm_read_timer(&mut self, now: Instant) {
        self.timers[Timer::ReadIdle as usize] =
            self.spec.read_timeout.map(|t| now.saturating_add(t));
    }

    fn retry_after_of(&self, head: &ResponseHead<'_>) -> Option<Duration> {
        let raw = head.retry_after?;
        match parse_retry_after(raw) {
            Some(parsed) => Some(retry_after_delay(parsed, head.date, head.wall_ms)),
            None => {
                tracing::debug!(
                    request_id = %self.request_id,
                    "ignoring an unparseable Retry-After; using normal backoff"
                );
                None
            }
        }
    }

    fn start_attempt(&mut self, now: Instant, continuation: Continuation) -> Step {
        self.attempts += 1;
        self.state = State::AwaitingHead(continuation);
        let deadline = self.spec.attempt_timeout.map(|t| now.saturating_add(t));
        let deadline = match (deadline, self.timers[Timer::Total as usize]) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.timers[Timer::Attempt as usize] = deadline;
        let purpose = match continuation {
            Continuation::Fresh if self.attempts == 1 => AttemptPurpose::First,
            Continuation::Fresh => AttemptPurpose::Retry,
            Continuation::Resume(offset) => AttemptPurpose::Resume { offset },
            Continuation::Restart => AttemptPurpose::Restart,
        };
        tracing::debug!(
            request_id = %self.request_id,
            attempt = self.attempts,
            purpose = ?purpose,
            "attempt started"
        );
        Step::StartAttempt(Attempt {
            number: self.attempts,
            headers: self.attempt_headers(continuation),
            deadline,
            purpose,
        })
    }

    fn attempt_headers(&mut self, continuation: Continuation) -> Vec<(Cow<'static, str>, String)> {
        let mut headers = Vec::with_capacity(4);
        if self.spec.request_id != RequestIdMode::Unsent {
            headers.push((self.spec.request_id_header.clone(), self.request_id.clone()));
        }
        if let Some(key) = &self.idempotency_key {
            headers.push((Cow::Borrowed("idempotency-key"), key.clone()));
        }
        if let Some(trace_id) = &self.trace_id {
            let parent = self.rng.hex_id(8);
            headers.push((
                Cow::Borrowed("traceparent"),
                format!("00-{trace_id}-{parent}-01"),
            ));
        }
        if let Continuation::Resume(offset) = continuation {
            let start = self.spec.range_start.saturating_add(offset);
            headers.push((Cow::Borrowed("range"), format!("bytes={start}-")));
            let validators = self.validators.as_ref();
            let if_range =
                validators.and_then(|v| v.etag.clone().or_else(|| v.last_modified.clone()));
            if let (ResumeMode::RangeAndIfRange, Some(value)) = (self.spec.resume, if_range) {
                headers.push((Cow::Borrowed("if-range"), value));
            }
        }
        headers
    }

    /// Decides whether to retry after `cause`. See the module documentation for the order.
    fn decide(&mut self, now: Instant, cause: Cause) -> Decision {
        let policy = &self.spec.policy;
        let retryable = match cause {
            Cause::Status { code, retry_after } => {
                is_retryable_status(&self.spec, code, retry_after)
            }
            Cause::Transport(kind) => kind.is_retryable(),
            Cause::AttemptTimeout => {
                if !policy.retry_on_timeout {
                    return Decision::Stop(StopReason::TimeoutNotRetried);
                }
                true
            }
            Cause::Body(BodyFault::Interrupted(kind)) => kind.is_retryable(),
            Cause::Body(_) => true,
        };
        if !retryable {
            return Decision::NotRetryable;
        }
        let proves_unsent = matches!(cause, Cause::Transport(kind) if kind.proves_unsent());
        if self.spec.body == BodyReplay::Streaming {
            return Decision::Stop(StopReason::BodyNotReplayable);
        }
        let keyed = self.idempotency_key.is_some();
        if !policy.is_retryable_method(&self.spec.method) && !keyed && !proves_unsent {
            return Decision::Stop(StopReason::MethodNotIdempotent);
        }
        if self.attempts >= policy.max_attempts {
            return Decision::Stop(StopReason::AttemptsExhausted {
                attempts: self.attempts,
            });
        }
        let delay = match cause {
            Cause::Status {
                retry_after: Some(server_delay),
                ..
            } => {
                if server_delay > policy.max_retry_after {
                    return Decision::Stop(StopReason::RetryAfterTooLong {
                        retry_after: server_delay,
                        limit: policy.max_retry_after,
                    });
                }
                server_delay
            }
            _ => jittered_delay(policy, self.attempts, self.previous_delay, &mut self.rng),
        };
        if let Some(total) = self.timers[Timer::Total as usize] {
            if now.saturating_add(delay) >= total {
                return Decision::Stop(StopReason::DeadlinePassed);
            }
        }
        if let Some(budget) = &self.spec.budget {
            if !budget.try_acquire_retry(&policy.budget, &self.spec.origin, now) {
                return Decision::Stop(StopReason::BudgetExhausted);
            }
        }
        Decision::Retry(delay)
    }

    fn retry_or_fail(
        &mut self,
        now: Instant,
        cause: Cause,
        continuation: Continuation,
        failure: FailureKind,
    ) {
        match self.decide(now, cause) {
            Decision::Retry(delay) => self.schedule_retry(now, delay, continuation, cause),
            Decision::Stop(reason) => self.fail(failure, Some(reason)),
            Decision::NotRetryable => self.fail(failure, None),
        }
    }

    fn schedule_retry(
        &mut self,
        now: Instant,
        delay: Duration,
        continuation: Continuation,
        cause: Cause,
    ) {
        self.previous_delay = delay;
        let until = now.saturating_add(delay);
        self.timers[Timer::Backoff as usize] = Some(until);
        self.timers[Timer::ReadIdle as usize] = None;
        self.state = State::Backoff(continuation);
        tracing::debug!(
            request_id = %self.request_id,
            attempt = self.attempts,
            delay_ms = delay.as_millis() as u64,
            cause = %cause.describe(),
            resume_at = match continuation {
                Continuation::Resume(offset) => Some(offset),
                _ => None,
            },
            "retry scheduled"
        );
        self.pending = Some(Step::Wait { until });
    }

    fn deliver(
        &mut self,
        now: Instant,
        head: &ResponseHead<'_>,
        stop: Option<StopReason>,
        retry_after: Option<Duration>,
    ) {
        if let Some(reason) = stop {
            tracing::debug!(request_id = %self.request_id, attempt = self.attempts, %reason, "retry stopped");
        }
        let body = if is_bodiless(&self.spec.method, head.status) {
            BodyExpectation::Empty
        } else {
            head.content_length
                .map_or(BodyExpectation::Unknown, BodyExpectation::Length)
        };
        self.validators = self.capture_validators(head);
        self.start_body(now, head);
        let retryable = is_retryable_status(&self.spec, head.status, retry_after);
        self.pending = Some(Step::Deliver(Delivery {
            attempt: self.attempts,
            body,
            stop,
            retry_after: if retryable { retry_after } else { None },
        }));
        if body == BodyExpectation::Empty {
            self.finish();
        }
    }

    fn start_body(&mut self, now: Instant, head: &ResponseHead<'_>) {
        self.state = State::Body;
        self.attempt_received = 0;
        self.attempt_expected = head.content_length;
        if is_bodiless(&self.spec.method, head.status) {
            self.attempt_expected = None;
        }
        if self.body_mode == BodyMode::Streaming && self.attempts > 1 && self.received > 0 {
            self.timers[Timer::Total as usize] = None;
        }
        self.arm_read_timer(now);
    }

    fn capture_validators(&self, head: &ResponseHead<'_>) -> Option<Validators> {
        if self.spec.resume == ResumeMode::Off
            || self.spec.method != "GET"
            || !head.accept_ranges_bytes
        {
            return None;
        }
        let etag = head
            .etag
            .filter(|tag| !tag.starts_with("W/"))
            .map(str::to_string);
        let last_modified = head.last_modified.map(str::to_string);
        if etag.is_none() && last_modified.is_none() {
            return None;
        }
        let total = match head.status {
            200 => head.content_length,
            206 => head
                .content_range
                .and_then(parse_content_range)
                .and_then(|r| r.total),
            _ => return None,
        };
        Some(Validators {
            etag,
            last_modified,
            total,
            status: head.status,
        })
    }

    fn accept_continuation(
        &mut self,
        now: Instant,
        head: &ResponseHead<'_>,
        continuation: Continuation,
    ) {
        let result = match continuation {
            Continuation::Resume(offset) => self.check_resume(head, offset),
            Continuation::Restart => self.check_restart(head),
            Continuation::Fresh => Ok(()),
        };
        if let Err(rejection) = result {
            tracing::warn!(request_id = %self.request_id, %rejection, "resume rejected");
            self.fail(FailureKind::Resume(rejection), None);
            return;
        }
        let offset = match continuation {
            Continuation::Resume(offset) => offset,
            _ => {
                self.received = 0;
                0
            }
        };
        self.start_body(now, head);
        self.pending = Some(Step::ContinueBody { offset });
    }

    fn check_resume(&self, head: &ResponseHead<'_>, offset: u64) -> Result<(), ResumeRejection> {
        if head.status != 206 {
            return Err(ResumeRejection::NotPartial(head.status));
        }
        let expected_start = self.spec.range_start.saturating_add(offset);
        let raw = head.content_range.unwrap_or("");
        let range_error = || ResumeRejection::ContentRange {
            received: raw.to_string(),
            expected_start,
        };
        let range = parse_content_range(raw).ok_or_else(range_error)?;
        let validators = self.validators.as_ref();
        let total_changed = match (validators.and_then(|v| v.total), range.total) {
            (Some(known), Some(now_total)) => known != now_total,
            _ => false,
        };
        if range.start != expected_start || total_changed {
            return Err(range_error());
        }
        self.check_validators(head)
    }

    fn check_restart(&self, head: &ResponseHead<'_>) -> Result<(), ResumeRejection> {
        let first_status = self.validators.as_ref().map_or(200, |v| v.status);
        if head.status != first_status && !(200..300).contains(&head.status) {
            return Err(ResumeRejection::NotPartial(head.status));
        }
        self.check_validators(head)
    }

    fn check_validators(&self, head: &ResponseHead<'_>) -> Result<(), ResumeRejection> {
        let Some(validators) = &self.validators else {
            return Ok(());
        };
        let etag_changed = validators
            .etag
            .as_deref()
            .is_some_and(|tag| head.etag != Some(tag));
        let modified_changed = validators.etag.is_none()
            && validators
                .last_modified
                .as_deref()
                .is_some_and(|lm| head.last_modified != Some(lm));
        if etag_changed || modified_changed {
            return Err(ResumeRejection::ValidatorChanged);
        }
        Ok(())
    }

    fn handle_body_fault(&mut self, now: Instant, fault: BodyFault) {
        tracing::debug!(request_id = %self.request_id, attempt = self.attempts, %fault, "body failed");
        self.timers[Timer::ReadIdle as usize] = None;
        let continuation = if self.validators.is_some() && self.received > 0 {
            Continuation::Resume(self.received)
        } else if self.body_mode == BodyMode::Buffered || self.received == 0 {
            Continuation::Restart
        } else {
            self.fail(FailureKind::Body(fault), None);
            return;
        };
        let cause = Cause::Body(fault);
        match self.decide(now, cause) {
            Decision::Retry(delay) => self.schedule_retry(now, delay, continuation, cause),
            Decision::Stop(reason) => self.fail(FailureKind::Body(fault), Some(reason)),
            Decision::NotRetryable => self.fail(FailureKind::Body(fault), None),
        }
    }

    fn finish(&mut self) {
        self.state = State::Done;
        self.timers = [None; TIMER_COUNT];
    }

    fn fail(&mut self, kind: FailureKind, stop: Option<StopReason>) {
        tracing::debug!(
            request_id = %self.request_id,
            attempts = self.attempts,
            failure = %kind,
            stop = stop.map(|s| s.to_string()),
            "call failed"
        );
        self.finish();
        self.pending = Some(Step::Fail(Failure {
            kind,
            attempts: self.attempts,
            stop,
            status: self.last_status,
        }));
    }
}

fn is_retryable_status(spec: &CallSpec, status: u16, retry_after: Option<Duration>) -> bool {
    if status == 413 {
        return retry_after.is_some();
    }
    spec.policy.is_retryable_status(status)
}

/// Returns whether a response has no body whatever its headers state (RFC 9110, section 6.4.1).
pub fn is_bodiless(method: &str, status: u16) -> bool {
    method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304
}

/// A parsed `Content-Range: bytes START-END/TOTAL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentRange {
    /// First byte position.
    pub start: u64,
    /// Last byte position, inclusive.
    pub end: u64,
    /// Complete length, or `None` for `*`.
    pub total: Option<u64>,
}

/// Parses `Content-Range: bytes START-END/TOTAL` (RFC 9110, section 14.4). Returns `None`
/// for any other form, unsatisfied ranges (`bytes */N`) included.
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start = parse_digits(start)?;
    let end = parse_digits(end)?;
    let total = match total {
        "*" => None,
        digits => Some(parse_digits(digits)?),
    };
    if end < start || total.is_some_and(|t| end >= t) {
        return None;
    }
    Some(ContentRange { start, end, total })
}

/// Parses the start of a single open or closed byte range, `bytes=N-` or `bytes=N-M`.
/// Returns `None` for suffix ranges and lists, which the core does not resume.
pub fn parse_range_start(value: &str) -> Option<(u64, bool)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    Some((parse_digits(start.trim())?, end.trim().is_empty()))
}

fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
