//! Scenario tests of the call state machine on a virtual clock.
//!
//! The harness plays a script of outcomes, one per attempt, jumping the clock straight to
//! each deadline, so a scenario with minutes of backoff runs in microseconds.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::rng::Rng;

use super::*;

const SECOND: Duration = Duration::from_secs(1);
const IMF_NOW: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const WALL_NOW_MS: u64 = 784_111_777_000;

/// What the server does with one attempt.
#[derive(Clone, Debug)]
enum Outcome {
    /// A response head after `latency`, then a body of `body` bytes that ends cleanly.
    Respond {
        head: Head,
        latency: Duration,
        body: Body,
    },
    /// A transport failure after `latency`.
    Fail(TransportErrorKind, Duration),
    /// Nothing at all: only a timeout ends the attempt.
    Hang,
}

#[derive(Clone, Debug, Default)]
struct Head {
    status: u16,
    retry_after: Option<&'static str>,
    date: Option<&'static str>,
    content_length: Option<u64>,
    etag: Option<&'static str>,
    last_modified: Option<&'static str>,
    accept_ranges: bool,
    content_range: Option<String>,
    wall_ms: u64,
}

#[derive(Clone, Debug)]
enum Body {
    /// `n` bytes, then the end.
    Complete(u64),
    /// `n` bytes, then silence.
    StallAfter(u64),
    /// `n` bytes, then a connection reset.
    ResetAfter(u64),
    /// `n` bytes, then the end although `Content-Length` promised more.
    ShortEnd(u64),
}

fn status(code: u16) -> Outcome {
    Outcome::Respond {
        head: Head {
            status: code,
            content_length: Some(0),
            wall_ms: WALL_NOW_MS,
            ..Head::default()
        },
        latency: Duration::from_millis(10),
        body: Body::Complete(0),
    }
}

fn with_retry_after(code: u16, value: &'static str) -> Outcome {
    let mut outcome = status(code);
    if let Outcome::Respond { head, .. } = &mut outcome {
        head.retry_after = Some(value);
        head.date = Some(IMF_NOW);
    }
    outcome
}

fn with_body(code: u16, head: Head, body: Body) -> Outcome {
    Outcome::Respond {
        head: Head {
            status: code,
            wall_ms: WALL_NOW_MS,
            ..head
        },
        latency: Duration::from_millis(10),
        body,
    }
}

/// A recorded event of a played scenario.
#[derive(Clone, Debug, PartialEq)]
enum Event {
    Attempt {
        at: Duration,
        number: u32,
        purpose: AttemptPurpose,
        headers: Vec<(String, String)>,
    },
    Wait {
        at: Duration,
        delay: Duration,
    },
    Deliver {
        at: Duration,
        delivery: Delivery,
    },
    Continue {
        at: Duration,
        offset: u64,
    },
    Finish {
        at: Duration,
    },
    Fail {
        at: Duration,
        failure: Failure,
    },
}

struct Played {
    events: Vec<Event>,
    call: Call,
}

impl Played {
    fn attempts(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Attempt { .. }))
            .collect()
    }

    fn attempt_count(&self) -> usize {
        self.attempts().len()
    }

    fn header_values(&self, name: &str) -> Vec<Option<String>> {
        self.attempts()
            .iter()
            .map(|e| match e {
                Event::Attempt { headers, .. } => headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone()),
                _ => unreachable!(),
            })
            .collect()
    }

    fn waits(&self) -> Vec<Duration> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Wait { delay, .. } => Some(*delay),
                _ => None,
            })
            .collect()
    }

    fn last(&self) -> &Event {
        self.events
            .last()
            .expect("a played scenario records events")
    }

    fn delivery(&self) -> Delivery {
        self.events
            .iter()
            .find_map(|e| match e {
                Event::Deliver { delivery, .. } => Some(*delivery),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no delivery in {:#?}", self.events))
    }

    fn failure(&self) -> (Duration, Failure) {
        match self.last() {
            Event::Fail { at, failure } => (*at, failure.clone()),
            other => panic!("expected a failure, got {other:?} in {:#?}", self.events),
        }
    }
}

fn spec(method: &'static str) -> CallSpec {
    let mut spec = CallSpec::new(method, "http://127.0.0.1:9");
    spec.policy = Arc::new(RetryPolicy::default().jitter(Jitter::None));
    spec
}

fn with_policy(mut spec: CallSpec, policy: RetryPolicy) -> CallSpec {
    spec.policy = Arc::new(policy);
    spec
}

/// Plays `script` (the last outcome repeats) and returns what happened.
fn play(spec: CallSpec, script: &[Outcome]) -> Played {
    play_with(spec, script, BodyMode::Streaming, [11; 32])
}

fn play_with(spec: CallSpec, script: &[Outcome], mode: BodyMode, seed: [u8; 32]) -> Played {
    let start = Instant::from_nanos(1_000_000_000);
    let mut now = start;
    let at = |now: Instant| now.saturating_duration_since(start);
    let mut call = Call::new(spec, now, seed);
    let mut events = Vec::new();
    let mut attempt_index = 0usize;
    let mut pending_body: Option<Body> = None;
    for _ in 0..10_000 {
        let Some(step) = call.poll(now) else {
            // Waiting for an input: either a body to play or a deadline.
            if let Some(body) = pending_body.take() {
                now = play_body(&mut call, now, body);
                continue;
            }
            match call.next_deadline() {
                Some(deadline) => {
                    now = now.max(deadline);
                    call.handle_timeout(now);
                    continue;
                }
                None => break,
            }
        };
        match step {
            Step::StartAttempt(attempt) => {
                events.push(Event::Attempt {
                    at: at(now),
                    number: attempt.number,
                    purpose: attempt.purpose,
                    headers: attempt
                        .headers
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.clone()))
                        .collect(),
                });
                let outcome = script[attempt_index.min(script.len() - 1)].clone();
                attempt_index += 1;
                match outcome {
                    Outcome::Respond {
                        head,
                        latency,
                        body,
                    } => {
                        let arrival = now.saturating_add(latency);
                        if call.next_deadline().is_some_and(|d| d <= arrival) {
                            now = call.next_deadline().unwrap();
                            call.handle_timeout(now);
                            continue;
                        }
                        now = arrival;
                        call.handle_head(now, &head.as_core());
                        pending_body = Some(body);
                    }
                    Outcome::Fail(kind, latency) => {
                        now = now.saturating_add(latency);
                        call.handle_failure(now, kind);
                    }
                    Outcome::Hang => {}
                }
            }
            Step::Wait { until } => {
                events.push(Event::Wait {
                    at: at(now),
                    delay: until.saturating_duration_since(now),
                });
            }
            Step::Deliver(delivery) => {
                events.push(Event::Deliver {
                    at: at(now),
                    delivery,
                });
                call.handle_body_mode(now, mode);
                if delivery.body == BodyExpectation::Empty {
                    pending_body = None;
                }
            }
            Step::ContinueBody { offset } => events.push(Event::Continue {
                at: at(now),
                offset,
            }),
            Step::Finish => {
                events.push(Event::Finish { at: at(now) });
                break;
            }
            Step::Fail(failure) => {
                events.push(Event::Fail {
                    at: at(now),
                    failure,
                });
                break;
            }
        }
        if call.is_done() && pending_body.is_none() {
            break;
        }
    }
    Played { events, call }
}

/// Feeds a body to the call in 10-byte chunks 1 ms apart and returns the new time.
fn play_body(call: &mut Call, mut now: Instant, body: Body) -> Instant {
    let (bytes, ending) = match body {
        Body::Complete(n) => (n, 0),
        Body::StallAfter(n) => (n, 1),
        Body::ResetAfter(n) => (n, 2),
        Body::ShortEnd(n) => (n, 0),
    };
    let mut sent = 0;
    while sent < bytes {
        let len = (bytes - sent).min(10);
        now = now.saturating_add(Duration::from_millis(1));
        if call.next_deadline().is_some_and(|d| d <= now) {
            now = call.next_deadline().unwrap();
            call.handle_timeout(now);
            return now;
        }
        call.handle_chunk(now, len);
        sent += len;
    }
    match ending {
        0 => call.handle_end(now),
        2 => call.handle_failure(now, TransportErrorKind::ConnectionReset),
        _ => {}
    }
    now
}

impl Head {
    fn as_core(&self) -> ResponseHead<'_> {
        ResponseHead {
            status: self.status,
            wall_ms: self.wall_ms,
            retry_after: self.retry_after,
            date: self.date,
            content_length: self.content_length,
            etag: self.etag,
            last_modified: self.last_modified,
            accept_ranges_bytes: self.accept_ranges,
            content_range: self.content_range.as_deref(),
        }
    }
}

// ---- attempts ----

#[test]
fn max_attempts_one_sends_one() {
    let played = play(
        with_policy(spec("GET"), RetryPolicy::none()),
        &[status(503)],
    );
    assert_eq!(played.attempt_count(), 1);
    assert_eq!(
        played.delivery().stop,
        Some(StopReason::AttemptsExhausted { attempts: 1 })
    );
}

#[test]
fn max_attempts_four_sends_four_and_returns_last() {
    let policy = RetryPolicy::default().max_attempts(4).jitter(Jitter::None);
    let played = play(
        with_policy(spec("GET"), policy),
        &[status(500), status(502), status(503), status(504)],
    );
    assert_eq!(played.attempt_count(), 4);
    let delivery = played.delivery();
    assert_eq!(delivery.attempt, 4);
    assert_eq!(
        delivery.stop,
        Some(StopReason::AttemptsExhausted { attempts: 4 })
    );
}

#[test]
fn every_retryable_status_exhausts_the_same_way() {
    for code in [408, 425, 429, 500, 502, 503, 504] {
        let played = play(spec("GET"), &[status(code)]);
        assert_eq!(played.attempt_count(), 3, "status {code}");
        assert_eq!(
            played.delivery().stop,
            Some(StopReason::AttemptsExhausted { attempts: 3 }),
            "status {code}"
        );
        assert!(
            matches!(played.last(), Event::Finish { .. }),
            "status {code}: {:?}",
            played.last()
        );
    }
}

#[test]
fn success_after_retries() {
    let played = play(spec("GET"), &[status(503), status(503), status(200)]);
    assert_eq!(played.attempt_count(), 3);
    let delivery = played.delivery();
    assert_eq!(delivery.attempt, 3);
    assert_eq!(delivery.stop, None);
}

#[test]
fn non_retryable_statuses_delivered_at_once() {
    for code in [200, 201, 301, 400, 401, 403, 404, 409, 413, 501, 505] {
        let played = play(spec("GET"), &[status(code)]);
        assert_eq!(played.attempt_count(), 1, "status {code}");
        assert_eq!(played.delivery().stop, None, "status {code}");
    }
}

#[test]
fn status_413_retried_only_with_retry_after() {
    let without = play(spec("GET"), &[status(413)]);
    assert_eq!(without.attempt_count(), 1);
    let with = play(spec("GET"), &[with_retry_after(413, "1"), status(200)]);
    assert_eq!(with.attempt_count(), 2);
    assert_eq!(with.waits(), vec![SECOND]);
}

#[test]
fn custom_statuses_replace_defaults() {
    let policy = RetryPolicy::default()
        .statuses([418u16])
        .jitter(Jitter::None);
    let teapot = play(
        with_policy(spec("GET"), policy.clone()),
        &[status(418), status(200)],
    );
    assert_eq!(teapot.attempt_count(), 2);
    let unavailable = play(with_policy(spec("GET"), policy), &[status(503)]);
    assert_eq!(unavailable.attempt_count(), 1);
}

// ---- backoff ----

#[test]
fn backoff_doubles_without_jitter() {
    let policy = RetryPolicy::default().max_attempts(5).jitter(Jitter::None);
    let played = play(with_policy(spec("GET"), policy), &[status(503)]);
    let millis: Vec<u128> = played.waits().iter().map(Duration::as_millis).collect();
    assert_eq!(millis, vec![200, 400, 800, 1600]);
}

#[test]
fn attempts_start_after_their_delay() {
    let played = play(spec("GET"), &[status(503), status(503), status(200)]);
    let starts: Vec<Duration> = played
        .attempts()
        .iter()
        .map(|e| match e {
            Event::Attempt { at, .. } => *at,
            _ => unreachable!(),
        })
        .collect();
    // Each response takes 10 ms, then the backoff runs.
    assert_eq!(starts[1] - starts[0], Duration::from_millis(210));
    assert_eq!(starts[2] - starts[1], Duration::from_millis(410));
}

#[test]
fn full_jitter_delays_within_cap_and_spread() {
    let mut sum = Duration::ZERO;
    for seed in 0..200u8 {
        let mut spec = spec("GET");
        spec.policy = Arc::new(RetryPolicy::default());
        let played = play_with(
            spec,
            &[status(503), status(200)],
            BodyMode::Streaming,
            [seed; 32],
        );
        let waits = played.waits();
        assert_eq!(waits.len(), 1);
        assert!(waits[0] <= Duration::from_millis(200), "{:?}", waits[0]);
        sum += waits[0];
    }
    let mean = sum / 200;
    assert!(
        mean > Duration::from_millis(60) && mean < Duration::from_millis(140),
        "mean {mean:?}"
    );
}

// ---- Retry-After ----

#[test]
fn retry_after_delta_used_as_given() {
    let played = play(spec("GET"), &[with_retry_after(503, "3"), status(200)]);
    assert_eq!(played.waits(), vec![Duration::from_secs(3)]);
}

#[test]
fn retry_after_above_max_delay_not_shortened() {
    let played = play(spec("GET"), &[with_retry_after(503, "30"), status(200)]);
    assert_eq!(played.waits(), vec![Duration::from_secs(30)]);
}

#[test]
fn retry_after_imf_date_three_seconds_ahead() {
    let played = play(
        spec("GET"),
        &[
            with_retry_after(503, "Sun, 06 Nov 1994 08:49:40 GMT"),
            status(200),
        ],
    );
    assert_eq!(played.waits(), vec![Duration::from_secs(3)]);
}

#[test]
fn retry_after_date_ignores_client_skew() {
    let mut skewed = with_retry_after(503, "Sun, 06 Nov 1994 08:49:40 GMT");
    if let Outcome::Respond { head, .. } = &mut skewed {
        head.wall_ms = WALL_NOW_MS + 86_400_000;
    }
    let played = play(spec("GET"), &[skewed, status(200)]);
    assert_eq!(played.waits(), vec![Duration::from_secs(3)]);
}

#[test]
fn retry_after_date_without_date_header_uses_wall_clock() {
    let mut outcome = with_retry_after(503, "Sun, 06 Nov 1994 08:49:42 GMT");
    if let Outcome::Respond { head, .. } = &mut outcome {
        head.date = None;
    }
    let played = play(spec("GET"), &[outcome, status(200)]);
    assert_eq!(played.waits(), vec![Duration::from_secs(5)]);
}

#[test]
fn retry_after_rfc850_and_asctime() {
    for value in ["Sunday, 06-Nov-94 08:49:39 GMT", "Sun Nov  6 08:49:39 1994"] {
        let played = play(spec("GET"), &[with_retry_after(503, value), status(200)]);
        assert_eq!(played.waits(), vec![Duration::from_secs(2)], "{value}");
    }
}

#[test]
fn retry_after_too_long_returns_at_once() {
    let played = play(spec("GET"), &[with_retry_after(503, "86400")]);
    assert_eq!(played.attempt_count(), 1);
    assert!(played.waits().is_empty());
    let delivery = played.delivery();
    assert_eq!(delivery.retry_after, Some(Duration::from_secs(86400)));
    assert_eq!(
        delivery.stop,
        Some(StopReason::RetryAfterTooLong {
            retry_after: Duration::from_secs(86400),
            limit: Duration::from_secs(60)
        })
    );
}

#[test]
fn retry_after_year_9999_too_long() {
    let played = play(
        spec("GET"),
        &[with_retry_after(503, "Fri, 31 Dec 9999 23:59:59 GMT")],
    );
    assert_eq!(played.attempt_count(), 1);
    assert!(matches!(
        played.delivery().stop,
        Some(StopReason::RetryAfterTooLong { .. })
    ));
}

#[test]
fn retry_after_past_date_retries_now_and_counts() {
    let played = play(
        spec("GET"),
        &[
            with_retry_after(503, "Sun, 06 Nov 1994 08:00:00 GMT"),
            status(200),
        ],
    );
    assert_eq!(played.attempt_count(), 2);
    assert_eq!(played.waits(), vec![Duration::ZERO]);
}

#[test]
fn retry_after_garbage_uses_backoff() {
    for value in ["2m", "tomorrow", "", "-1", "1.5"] {
        let played = play(spec("GET"), &[with_retry_after(503, value), status(200)]);
        assert_eq!(
            played.waits(),
            vec![Duration::from_millis(200)],
            "{value:?}"
        );
        assert_eq!(played.delivery().retry_after, None, "{value:?}");
    }
}

#[test]
fn status_429_without_retry_after_backs_off() {
    let played = play(spec("GET"), &[status(429), status(200)]);
    assert_eq!(played.attempt_count(), 2);
    assert_eq!(played.waits(), vec![Duration::from_millis(200)]);
}

#[test]
fn retry_after_past_total_deadline_returns_at_once() {
    let mut spec = spec("GET");
    spec.total_timeout = Some(Duration::from_secs(2));
    let played = play(spec, &[with_retry_after(503, "5")]);
    assert_eq!(played.attempt_count(), 1);
    assert!(played.waits().is_empty());
    assert_eq!(played.delivery().stop, Some(StopReason::DeadlinePassed));
    assert_eq!(played.delivery().retry_after, Some(Duration::from_secs(5)));
}

#[test]
fn retry_after_not_reported_for_success() {
    let mut outcome = with_retry_after(200, "5");
    if let Outcome::Respond { head, .. } = &mut outcome {
        head.status = 200;
    }
    let played = play(spec("GET"), &[outcome]);
    assert_eq!(played.delivery().retry_after, None);
}

// ---- methods and idempotency ----

#[test]
fn post_without_key_not_retried_on_status() {
    for code in [502, 503] {
        let played = play(spec("POST"), &[status(code), status(200)]);
        assert_eq!(played.attempt_count(), 1, "status {code}");
        assert_eq!(
            played.delivery().stop,
            Some(StopReason::MethodNotIdempotent)
        );
    }
}

#[test]
fn post_without_key_not_retried_after_read_timeout() {
    let mut spec = spec("POST");
    spec.read_timeout = Some(SECOND);
    let played = play(
        spec,
        &[
            with_body(200, Head::default(), Body::StallAfter(0)),
            status(200),
        ],
    );
    assert_eq!(played.attempt_count(), 1);
    let (_, failure) = played.failure();
    assert_eq!(failure.kind, FailureKind::Body(BodyFault::Stalled));
    assert_eq!(failure.stop, Some(StopReason::MethodNotIdempotent));
}

#[test]
fn post_without_key_not_retried_after_reset_or_timeout() {
    let reset = play(
        spec("POST"),
        &[Outcome::Fail(
            TransportErrorKind::ConnectionReset,
            Duration::ZERO,
        )],
    );
    assert_eq!(reset.attempt_count(), 1);
    assert_eq!(
        reset.failure().1.stop,
        Some(StopReason::MethodNotIdempotent)
    );
    let hang = play(spec("PATCH"), &[Outcome::Hang]);
    assert_eq!(hang.attempt_count(), 1);
    assert_eq!(
        hang.failure().1.kind,
        FailureKind::Timeout(TimeoutPhase::Attempt)
    );
}

#[test]
fn post_retried_when_nothing_was_sent() {
    for kind in [
        TransportErrorKind::ConnectRefused,
        TransportErrorKind::Dns,
        TransportErrorKind::ConnectTimeout,
    ] {
        let played = play(
            spec("POST"),
            &[Outcome::Fail(kind, Duration::ZERO), status(201)],
        );
        assert_eq!(played.attempt_count(), 2, "{kind:?}");
    }
}

#[test]
fn fetch_network_error_does_not_retry_post() {
    let played = play(
        spec("POST"),
        &[
            Outcome::Fail(TransportErrorKind::Network, Duration::ZERO),
            status(201),
        ],
    );
    assert_eq!(played.attempt_count(), 1);
}

#[test]
fn auto_key_same_on_every_attempt() {
    let mut spec = spec("POST");
    spec.idempotency_key = Some(IdempotencyKey::Auto);
    let played = play(spec, &[status(503), status(502), status(201)]);
    assert_eq!(played.attempt_count(), 3);
    let keys = played.header_values("idempotency-key");
    let first = keys[0].clone().expect("an auto key is sent");
    assert_eq!(first.len(), 36);
    assert!(
        keys.iter().all(|k| k.as_deref() == Some(first.as_str())),
        "{keys:?}"
    );
}

#[test]
fn caller_key_kept_as_is() {
    let mut spec = spec("PATCH");
    spec.idempotency_key = Some(IdempotencyKey::from("order-17"));
    let played = play(spec, &[status(503), status(200)]);
    assert_eq!(
        played.header_values("idempotency-key"),
        vec![Some("order-17".into()), Some("order-17".into())]
    );
}

#[test]
fn no_key_added_silently() {
    let played = play(spec("POST"), &[status(200)]);
    assert_eq!(played.header_values("idempotency-key"), vec![None]);
}

#[test]
fn every_default_method_retries() {
    for method in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"] {
        let played = play(spec(method), &[status(503), status(200)]);
        assert_eq!(played.attempt_count(), 2, "{method}");
    }
}

#[test]
fn custom_methods_replace_defaults() {
    let policy = RetryPolicy::default()
        .methods(["POST"])
        .jitter(Jitter::None);
    let post = play(
        with_policy(spec("POST"), policy.clone()),
        &[status(503), status(200)],
    );
    assert_eq!(post.attempt_count(), 2);
    let get = play(
        with_policy(spec("GET"), policy),
        &[status(503), status(200)],
    );
    assert_eq!(get.attempt_count(), 1);
}

#[test]
fn streaming_body_not_replayed() {
    let mut stream = spec("PUT");
    stream.body = BodyReplay::Streaming;
    let status_played = play(stream.clone(), &[status(503), status(200)]);
    assert_eq!(status_played.attempt_count(), 1);
    assert_eq!(
        status_played.delivery().stop,
        Some(StopReason::BodyNotReplayable)
    );
    let reset = play(
        stream,
        &[Outcome::Fail(
            TransportErrorKind::ConnectionReset,
            Duration::ZERO,
        )],
    );
    assert_eq!(reset.attempt_count(), 1);
    assert_eq!(reset.failure().1.stop, Some(StopReason::BodyNotReplayable));
    assert!(StopReason::BodyNotReplayable
        .to_string()
        .contains("not retried: body is not replayable"));
}

#[test]
fn non_retryable_failures_end_at_once() {
    for kind in [
        TransportErrorKind::TlsCertificate,
        TransportErrorKind::Decode,
        TransportErrorKind::InvalidRequest,
        TransportErrorKind::Other,
    ] {
        let played = play(
            spec("GET"),
            &[Outcome::Fail(kind, Duration::ZERO), status(200)],
        );
        assert_eq!(played.attempt_count(), 1, "{kind:?}");
        let (_, failure) = played.failure();
        assert_eq!(failure.kind, FailureKind::Transport(kind));
        assert_eq!(failure.stop, None);
    }
}

#[test]
fn retryable_failures_retry() {
    for kind in [
        TransportErrorKind::ConnectRefused,
        TransportErrorKind::Dns,
        TransportErrorKind::ConnectionReset,
        TransportErrorKind::TlsHandshake,
        TransportErrorKind::Network,
    ] {
        let played = play(
            spec("GET"),
            &[Outcome::Fail(kind, Duration::ZERO), status(200)],
        );
        assert_eq!(played.attempt_count(), 2, "{kind:?}");
    }
}

// ---- headers ----

#[test]
fn request_id_same_on_every_attempt() {
    let played = play(spec("GET"), &[status(503), status(503), status(200)]);
    let ids = played.header_values("x-request-id");
    let first = ids[0].clone().expect("a request id is sent");
    assert_eq!(&first[14..15], "4", "a UUIDv4: {first}");
    assert!(
        ids.iter().all(|id| id.as_deref() == Some(first.as_str())),
        "{ids:?}"
    );
    assert_eq!(played.call.request_id(), first);
}

#[test]
fn caller_request_id_and_header_name_kept() {
    let mut spec = spec("GET");
    spec.request_id = RequestIdMode::Given("abc-123".into());
    spec.request_id_header = Cow::Borrowed("x-correlation-id");
    let played = play(spec, &[status(503), status(200)]);
    assert_eq!(
        played.header_values("x-correlation-id"),
        vec![Some("abc-123".into()); 2]
    );
    assert_eq!(played.header_values("x-request-id"), vec![None, None]);
}

#[test]
fn unsent_request_id_adds_no_header() {
    let mut spec = spec("GET");
    spec.request_id = RequestIdMode::Unsent;
    let played = play(spec, &[status(200)]);
    assert_eq!(played.header_values("x-request-id"), vec![None]);
    assert_eq!(played.call.request_id().len(), 36);
}

#[test]
fn traceparent_keeps_trace_changes_parent() {
    let mut spec = spec("GET");
    spec.traceparent = true;
    let played = play(spec, &[status(503), status(200)]);
    let values: Vec<String> = played
        .header_values("traceparent")
        .into_iter()
        .map(|v| v.unwrap())
        .collect();
    let parts: Vec<Vec<&str>> = values.iter().map(|v| v.split('-').collect()).collect();
    assert_eq!(parts[0].len(), 4);
    assert_eq!(parts[0][0], "00");
    assert_eq!(parts[0][1].len(), 32);
    assert_eq!(parts[0][2].len(), 16);
    assert_eq!(parts[0][1], parts[1][1], "one trace id per call");
    assert_ne!(parts[0][2], parts[1][2], "a new parent id per attempt");
}

// ---- deadlines ----

#[test]
fn total_timeout_bounds_slow_attempts() {
    let mut spec = spec("GET");
    spec.total_timeout = Some(Duration::from_secs(10));
    spec.attempt_timeout = Some(Duration::from_secs(4));
    spec.policy = Arc::new(RetryPolicy::default().max_attempts(4).jitter(Jitter::None));
    let played = play(spec, &[Outcome::Hang]);
    let (at, failure) = played.failure();
    assert!(at <= Duration::from_secs(10), "ended at {at:?}");
    assert!(
        matches!(
            failure.kind,
            FailureKind::Timeout(TimeoutPhase::Total) | FailureKind::Timeout(TimeoutPhase::Attempt)
        ),
        "{failure:?}"
    );
    assert!(failure.attempts >= 2);
}

#[test]
fn total_timeout_fires_mid_attempt() {
    let mut spec = spec("GET");
    spec.total_timeout = Some(Duration::from_secs(10));
    spec.attempt_timeout = Some(Duration::from_secs(30));
    let played = play(spec, &[Outcome::Hang]);
    let (at, failure) = played.failure();
    assert_eq!(at, Duration::from_secs(10));
    assert_eq!(failure.kind, FailureKind::Timeout(TimeoutPhase::Total));
    assert_eq!(failure.attempts, 1);
}

#[test]
fn attempt_timeout_retried() {
    let mut spec = spec("GET");
    spec.attempt_timeout = Some(SECOND);
    let played = play(spec, &[Outcome::Hang, status(200)]);
    assert_eq!(played.attempt_count(), 2);
    assert_eq!(played.delivery().attempt, 2);
}

#[test]
fn attempt_timeout_not_retried_when_disabled() {
    let mut spec = spec("GET");
    spec.attempt_timeout = Some(SECOND);
    spec.policy = Arc::new(RetryPolicy::default().retry_on_timeout(false));
    let played = play(spec, &[Outcome::Hang, status(200)]);
    assert_eq!(played.attempt_count(), 1);
    assert_eq!(played.failure().1.stop, Some(StopReason::TimeoutNotRetried));
}

#[test]
fn backoff_past_deadline_not_started() {
    let mut spec = spec("GET");
    spec.total_timeout = Some(Duration::from_millis(300));
    spec.policy = Arc::new(
        RetryPolicy::default()
            .initial_delay(Duration::from_millis(400))
            .jitter(Jitter::None),
    );
    let played = play(spec, &[status(503)]);
    assert_eq!(played.attempt_count(), 1);
    assert!(played.waits().is_empty());
    assert_eq!(played.delivery().stop, Some(StopReason::DeadlinePassed));
}

#[test]
fn read_timeout_after_last_byte() {
    let mut spec = spec("GET");
    spec.read_timeout = Some(Duration::from_secs(2));
    let played = play(
        spec,
        &[with_body(
            200,
            Head {
                content_length: Some(100),
                ..Head::default()
            },
            Body::StallAfter(1),
        )],
    );
    let (at, failure) = played.failure();
    assert_eq!(failure.kind, FailureKind::Body(BodyFault::Stalled));
    // Head at 10 ms, one byte at 11 ms, then 2 s of silence.
    assert_eq!(at, Duration::from_millis(2011));
}

#[test]
fn stall_before_first_byte_retried() {
    let mut spec = spec("GET");
    spec.read_timeout = Some(SECOND);
    let played = play(
        spec,
        &[
            with_body(200, Head::default(), Body::StallAfter(0)),
            with_body(
                200,
                Head {
                    content_length: Some(5),
                    ..Head::default()
                },
                Body::Complete(5),
            ),
        ],
    );
    assert_eq!(played.attempt_count(), 2);
    assert!(
        matches!(played.last(), Event::Finish { .. }),
        "{:?}",
        played.last()
    );
}

#[test]
fn buffered_body_bounded_by_total_timeout() {
    let mut spec = spec("GET");
    spec.total_timeout = Some(Duration::from_secs(5));
    spec.read_timeout = Some(Duration::from_secs(60));
    let head = Head {
        content_length: Some(100),
        ..Head::default()
    };
    let played = play_with(
        spec,
        &[with_body(200, head, Body::StallAfter(1))],
        BodyMode::Buffered,
        [1; 32],
    );
    let (at, failure) = played.failure();
    assert_eq!(failure.kind, FailureKind::Timeout(TimeoutPhase::Total));
    assert_eq!(at, Duration::from_secs(5));
}

#[test]
fn streaming_body_outlives_total_timeout() {
    let mut spec = spec("GET");
    spec.total_timeout = Some(Duration::from_secs(5));
    spec.read_timeout = Some(Duration::from_secs(8));
    let head = Head {
        content_length: Some(100),
        ..Head::default()
    };
    let played = play(spec, &[with_body(200, head, Body::StallAfter(1))]);
    let (at, failure) = played.failure();
    assert_eq!(failure.kind, FailureKind::Body(BodyFault::Stalled));
    assert!(at > Duration::from_secs(5), "{at:?}");
}

#[test]
fn buffered_stall_restarts_from_scratch() {
    let mut spec = spec("GET");
    spec.read_timeout = Some(SECOND);
    let head = Head {
        content_length: Some(50),
        ..Head::default()
    };
    let played = play_with(
        spec,
        &[
            with_body(200, head.clone(), Body::StallAfter(20)),
            with_body(200, head, Body::Complete(50)),
        ],
        BodyMode::Buffered,
        [1; 32],
    );
    let purposes: Vec<AttemptPurpose> = played
        .attempts()
        .iter()
        .map(|e| match e {
            Event::Attempt { purpose, .. } => *purpose,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        purposes,
        vec![AttemptPurpose::First, AttemptPurpose::Restart]
    );
    assert!(
        played
            .events
            .iter()
            .any(|e| matches!(e, Event::Continue { offset: 0, .. })),
        "{:#?}",
        played.events
    );
    assert!(matches!(played.last(), Event::Finish { .. }));
}

#[test]
fn cancel_during_backoff_stops_everything() {
    let start = Instant::ZERO;
    let mut call = Call::new(spec("GET"), start, [3; 32]);
    assert!(matches!(call.poll(start), Some(Step::StartAttempt(_))));
    call.handle_head(
        start,
        &ResponseHead {
            status: 503,
            retry_after: Some("3"),
            ..ResponseHead::default()
        },
    );
    assert!(matches!(call.poll(start), Some(Step::Wait { .. })));
    let later = start.saturating_add(Duration::from_millis(5));
    call.cancel(later);
    let Some(Step::Fail(failure)) = call.poll(later) else {
        panic!("cancel must fail the call")
    };
    assert_eq!(failure.kind, FailureKind::Cancelled);
    assert_eq!(failure.attempts, 1);
    assert_eq!(call.next_deadline(), None);
    call.handle_timeout(start.saturating_add(Duration::from_secs(3)));
    assert_eq!(
        call.poll(start.saturating_add(Duration::from_secs(3))),
        None
    );
}

// ---- bodies ----

fn resumable_head(total: u64) -> Head {
    Head {
        content_length: Some(total),
        etag: Some("\"v1\""),
        accept_ranges: true,
        ..Head::default()
    }
}

fn partial(start: u64, total: u64, etag: &'static str) -> Head {
    Head {
        content_length: Some(total - start),
        etag: Some(etag),
        accept_ranges: true,
        content_range: Some(format!("bytes {start}-{}/{total}", total - 1)),
        ..Head::default()
    }
}

#[test]
fn reset_mid_body_resumes_with_range() {
    let played = play(
        spec("GET"),
        &[
            with_body(200, resumable_head(1000), Body::ResetAfter(100)),
            with_body(206, partial(100, 1000, "\"v1\""), Body::Complete(900)),
        ],
    );
    assert_eq!(played.attempt_count(), 2);
    assert_eq!(
        played.header_values("range"),
        vec![None, Some("bytes=100-".into())]
    );
    assert_eq!(
        played.header_values("if-range"),
        vec![None, Some("\"v1\"".into())]
    );
    assert!(played
        .events
        .iter()
        .any(|e| matches!(e, Event::Continue { offset: 100, .. })));
    assert!(
        matches!(played.last(), Event::Finish { .. }),
        "{:?}",
        played.last()
    );
}

#[test]
fn resume_with_misaligned_range_rejected() {
    let played = play(
        spec("GET"),
        &[
            with_body(200, resumable_head(1000), Body::ResetAfter(100)),
            with_body(206, partial(90, 1000, "\"v1\""), Body::Complete(910)),
        ],
    );
    let (_, failure) = played.failure();
    assert!(
        matches!(
            failure.kind,
            FailureKind::Resume(ResumeRejection::ContentRange {
                expected_start: 100,
                ..
            })
        ),
        "{failure:?}"
    );
}

#[test]
fn resume_answered_with_200_rejected() {
    let played = play(
        spec("GET"),
        &[
            with_body(200, resumable_head(1000), Body::ResetAfter(100)),
            with_body(200, resumable_head(1000), Body::Complete(1000)),
        ],
    );
    assert_eq!(
        played.failure().1.kind,
        FailureKind::Resume(ResumeRejection::NotPartial(200))
    );
}

#[test]
fn resume_with_changed_total_rejected() {
    let played = play(
        spec("GET"),
        &[
            with_body(200, resumable_head(1000), Body::ResetAfter(100)),
            with_body(206, partial(100, 2000, "\"v1\""), Body::Complete(1900)),
        ],
    );
    assert!(matches!(
        played.failure().1.kind,
        FailureKind::Resume(ResumeRejection::ContentRange { .. })
    ));
}

#[test]
fn resume_range_only_checks_validators() {
    let mut spec = spec("GET");
    spec.resume = ResumeMode::RangeOnly;
    let played = play(
        spec,
        &[
            with_body(200, resumable_head(1000), Body::ResetAfter(100)),
            with_body(206, partial(100, 1000, "\"v2\""), Body::Complete(900)),
        ],
    );
    assert_eq!(played.header_values("if-range"), vec![None, None]);
    assert_eq!(
        played.header_values("range"),
        vec![None, Some("bytes=100-".into())]
    );
    assert_eq!(
        played.failure().1.kind,
        FailureKind::Resume(ResumeRejection::ValidatorChanged)
    );
}

#[test]
fn weak_etag_not_resumed() {
    let mut head = resumable_head(1000);
    head.etag = Some("W/\"v1\"");
    let played = play(
        spec("GET"),
        &[with_body(200, head, Body::ResetAfter(100)), status(200)],
    );
    assert_eq!(played.attempt_count(), 1);
    assert_eq!(
        played.failure().1.kind,
        FailureKind::Body(BodyFault::Interrupted(TransportErrorKind::ConnectionReset))
    );
}

#[test]
fn resume_offsets_caller_range() {
    let mut spec = spec("GET");
    spec.range_start = 500;
    let first = Head {
        content_length: Some(500),
        etag: Some("\"v1\""),
        accept_ranges: true,
        content_range: Some("bytes 500-999/1000".into()),
        ..Head::default()
    };
    let played = play(
        spec,
        &[
            with_body(206, first, Body::ResetAfter(100)),
            with_body(206, partial(600, 1000, "\"v1\""), Body::Complete(400)),
        ],
    );
    assert_eq!(
        played.header_values("range")[1].as_deref(),
        Some("bytes=600-")
    );
    assert!(
        matches!(played.last(), Event::Finish { .. }),
        "{:?}",
        played.events
    );
}

#[test]
fn resume_retries_a_503_then_continues() {
    let played = play(
        spec("GET"),
        &[
            with_body(200, resumable_head(1000), Body::ResetAfter(100)),
            status(503),
            with_body(206, partial(100, 1000, "\"v1\""), Body::Complete(900)),
        ],
    );
    assert_eq!(played.attempt_count(), 3);
    assert_eq!(
        played.header_values("range")[2].as_deref(),
        Some("bytes=100-")
    );
    assert!(matches!(played.last(), Event::Finish { .. }));
}

#[test]
fn bodiless_responses_complete_at_once() {
    let head = Head {
        content_length: Some(5000),
        ..Head::default()
    };
    let get_204 = play(
        spec("GET"),
        &[with_body(204, head.clone(), Body::Complete(0))],
    );
    assert_eq!(get_204.delivery().body, BodyExpectation::Empty);
    let get_304 = play(
        spec("GET"),
        &[with_body(304, head.clone(), Body::Complete(0))],
    );
    assert_eq!(get_304.delivery().body, BodyExpectation::Empty);
    let head_200 = play(spec("HEAD"), &[with_body(200, head, Body::Complete(0))]);
    assert_eq!(head_200.delivery().body, BodyExpectation::Empty);
    assert!(head_200.call.is_done());
    assert_eq!(head_200.call.next_deadline(), None);
}

#[test]
fn short_body_is_an_error() {
    let head = Head {
        content_length: Some(100),
        ..Head::default()
    };
    let played = play(spec("GET"), &[with_body(200, head, Body::ShortEnd(50))]);
    let (_, failure) = played.failure();
    assert_eq!(
        failure.kind,
        FailureKind::Body(BodyFault::Short {
            expected: 100,
            received: 50
        })
    );
}

#[test]
fn complete_body_finishes() {
    let head = Head {
        content_length: Some(100),
        ..Head::default()
    };
    let played = play(spec("GET"), &[with_body(200, head, Body::Complete(100))]);
    assert!(matches!(played.last(), Event::Finish { .. }));
    assert_eq!(played.delivery().body, BodyExpectation::Length(100));
}

// ---- budget ----

fn budgeted(tracker: &Arc<BudgetTracker>) -> CallSpec {
    let mut spec = spec("GET");
    spec.budget = Some(tracker.clone());
    spec
}

#[test]
fn budget_limits_outage_attempts() {
    let tracker = Arc::new(BudgetTracker::new());
    let start = Instant::from_nanos(1);
    let mut attempts = 0u64;
    let mut budget_stops = 0;
    let calls = 5_000u64;
    for i in 0..calls {
        // 1,000 calls a second, each returned 503 at once.
        let now = start.saturating_add(Duration::from_millis(i));
        let mut call = Call::new(budgeted(&tracker), now, [i as u8; 32]);
        let mut clock = now;
        for _ in 0..20 {
            match call.poll(clock) {
                Some(Step::StartAttempt(_)) => {
                    attempts += 1;
                    call.handle_head(
                        clock,
                        &ResponseHead {
                            status: 503,
                            content_length: Some(0),
                            ..ResponseHead::default()
                        },
                    );
                }
                Some(Step::Wait { .. }) => {
                    // Jump the backoff without moving the shared clock much.
                    clock = call.next_deadline().unwrap();
                    call.handle_timeout(clock);
                }
                Some(Step::Deliver(delivery)) => {
                    budget_stops += usize::from(delivery.stop == Some(StopReason::BudgetExhausted));
                    break;
                }
                _ => break,
            }
        }
    }
    let per_call = attempts as f64 / calls as f64;
    assert!(per_call <= 1.11, "{per_call} attempts per logical request");
    assert!(budget_stops > 0, "the budget never stopped a retry");
}

#[test]
fn budget_keeps_normal_retries_at_five_percent_failures() {
    let tracker = Arc::new(BudgetTracker::new());
    let mut rng = Rng::from_seed([77; 32]);
    let start = Instant::from_nanos(1);
    let calls = 20_000u64;
    let mut successes = 0u64;
    for i in 0..calls {
        let now = start.saturating_add(Duration::from_millis(i));
        let mut call = Call::new(budgeted(&tracker), now, [i as u8; 32]);
        let mut clock = now;
        for _ in 0..20 {
            match call.poll(clock) {
                Some(Step::StartAttempt(_)) => {
                    let failed = rng.between(0, 99) < 5;
                    let code = if failed { 503 } else { 200 };
                    call.handle_head(
                        clock,
                        &ResponseHead {
                            status: code,
                            content_length: Some(0),
                            ..ResponseHead::default()
                        },
                    );
                }
                Some(Step::Wait { until }) => {
                    clock = until;
                    call.handle_timeout(clock);
                }
                Some(Step::Deliver(_)) => {
                    break;
                }
                _ => break,
            }
        }
        successes += u64::from(call.last_status() == Some(200));
    }
    let rate = successes as f64 / calls as f64;
    assert!(rate >= 0.999, "success rate {rate}");
}

// ---- properties ----

fn outcome_strategy() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        (100u16..600).prop_map(status),
        (0u64..120).prop_map(|secs| {
            let value: &'static str = Box::leak(secs.to_string().into_boxed_str());
            with_retry_after(503, value)
        }),
        Just(with_retry_after(503, "tomorrow")),
        Just(Outcome::Fail(
            TransportErrorKind::ConnectionReset,
            Duration::from_millis(5)
        )),
        Just(Outcome::Fail(
            TransportErrorKind::ConnectRefused,
            Duration::ZERO
        )),
        Just(Outcome::Hang),
        (0u64..200).prop_map(|n| with_body(
            200,
            Head {
                content_length: Some(200),
                ..Head::default()
            },
            Body::StallAfter(n)
        )),
        (0u64..200).prop_map(|n| with_body(200, resumable_head(200), Body::ResetAfter(n))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold_for_any_script(
        script in proptest::collection::vec(outcome_strategy(), 1..8),
        max_attempts in 1u32..6,
        total_secs in proptest::option::of(1u64..120),
        jitter in 0usize..4,
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT")],
        seed in any::<[u8; 32]>(),
    ) {
        let jitter = [Jitter::None, Jitter::Full, Jitter::Equal, Jitter::Decorrelated][jitter];
        let mut spec = CallSpec::new(method, "http://127.0.0.1:9");
        let policy = RetryPolicy::default().max_attempts(max_attempts).jitter(jitter);
        spec.policy = Arc::new(policy.clone());
        spec.total_timeout = total_secs.map(Duration::from_secs);
        spec.attempt_timeout = Some(Duration::from_secs(3));
        spec.read_timeout = Some(Duration::from_secs(2));
        let played = play_with(spec, &script, BodyMode::Buffered, seed);

        // Attempts are counted exactly and never exceed the policy.
        let started = played.attempt_count() as u32;
        prop_assert!(started >= 1);
        prop_assert!(started <= max_attempts, "{started} > {max_attempts}");
        prop_assert_eq!(started, played.call.attempts());

        // Every sleep is within its bound: the backoff cap, or the Retry-After limit.
        for delay in played.waits() {
            prop_assert!(delay <= policy.max_retry_after.max(policy.max_delay), "{:?}", delay);
        }

        // The call ends, and never after the total deadline (buffered reads included).
        let end = match played.last() {
            Event::Finish { at } | Event::Fail { at, .. } | Event::Deliver { at, .. } => *at,
            other => return Err(TestCaseError::fail(format!("call did not end: {other:?}"))),
        };
        if let Some(total) = total_secs {
            prop_assert!(end <= Duration::from_secs(total), "ended at {:?}, total {}s", end, total);
        }
    }
}
