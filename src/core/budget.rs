//! The per-origin retry budget shared by all calls of one client.
//!
//! Each origin keeps counts of first attempts and retries in `BUCKETS` slots that together
//! span the budget window, so the window slides in steps of a tenth. A retry is allowed while
//! `retries < reserve + ratio × first_attempts` over the window. During a full outage that
//! settles at about `1 + ratio` attempts per logical request.

use std::collections::HashMap;
use std::sync::Mutex;

use super::policy::RetryBudget;
use super::time::Instant;

const BUCKETS: usize = 10;

/// Origins idle for longer than a window are dropped once the map contains this many.
const PRUNE_ABOVE: usize = 256;

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    /// Index of the window slot this bucket counts, or `None` when never used.
    slot: Option<u64>,
    first_attempts: u32,
    retries: u32,
}

#[derive(Debug, Default)]
struct OriginWindow {
    buckets: [Bucket; BUCKETS],
    last_used: Instant,
}

impl OriginWindow {
    fn bucket(&mut self, slot: u64) -> &mut Bucket {
        let bucket = &mut self.buckets[(slot % BUCKETS as u64) as usize];
        if bucket.slot != Some(slot) {
            *bucket = Bucket {
                slot: Some(slot),
                ..Bucket::default()
            };
        }
        bucket
    }

    fn totals(&self, slot: u64) -> (u64, u64) {
        let oldest = slot.saturating_sub(BUCKETS as u64 - 1);
        self.buckets
            .iter()
            .filter(|b| b.slot.is_some_and(|s| s >= oldest && s <= slot))
            .fold((0, 0), |(firsts, retries), b| {
                (
                    firsts + u64::from(b.first_attempts),
                    retries + u64::from(b.retries),
                )
            })
    }
}

/// The shared retry budget of one client, keyed by origin (`scheme://host:port`).
///
/// Calls record their first attempt with [`BudgetTracker::record_request`] and ask before
/// each retry with [`BudgetTracker::try_acquire_retry`]. A `Mutex` guards the map because a
/// native client is shared across threads; on wasm32 it is never contended.
#[derive(Debug, Default)]
pub struct BudgetTracker {
    origins: Mutex<HashMap<String, OriginWindow>>,
}

impl BudgetTracker {
    /// Creates an empty tracker.
    pub fn new() -> BudgetTracker {
        BudgetTracker::default()
    }

    /// Counts a first attempt to `origin`.
    pub fn record_request(&self, budget: &RetryBudget, origin: &str, now: Instant) {
        if !budget.enabled {
            return;
        }
        let slot = slot_of(budget, now);
        self.with_origin(origin, now, |window| {
            let bucket = window.bucket(slot);
            bucket.first_attempts = bucket.first_attempts.saturating_add(1);
        });
    }

    /// Returns whether a retry to `origin` fits the budget, and counts it when it does.
    pub fn try_acquire_retry(&self, budget: &RetryBudget, origin: &str, now: Instant) -> bool {
        if !budget.enabled {
            return true;
        }
        let slot = slot_of(budget, now);
        self.with_origin(origin, now, |window| {
            let (firsts, retries) = window.totals(slot);
            let allowed = f64::from(budget.reserve) + budget.ratio * firsts as f64;
            if (retries as f64) + 1.0 > allowed {
                return false;
            }
            let bucket = window.bucket(slot);
            bucket.retries = bucket.retries.saturating_add(1);
            true
        })
    }

    fn with_origin<T>(
        &self,
        origin: &str,
        now: Instant,
        update: impl FnOnce(&mut OriginWindow) -> T,
    ) -> T {
        // A poisoned lock only means another thread panicked mid-update of plain counters,
        // which leaves them valid, so the budget keeps working.
        let mut origins = self
            .origins
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if origins.len() > PRUNE_ABOVE && !origins.contains_key(origin) {
            prune(&mut origins, now);
        }
        let window = match origins.get_mut(origin) {
            Some(window) => window,
            None => origins.entry(origin.to_string()).or_default(),
        };
        window.last_used = now;
        update(window)
    }
}

fn prune(origins: &mut HashMap<String, OriginWindow>, now: Instant) {
    // One hour is the longest valid window, so an origin idle for that long has nothing left
    // to count.
    let hour = core::time::Duration::from_secs(3600);
    origins.retain(|_, window| now.saturating_duration_since(window.last_used) < hour);
}

fn slot_of(budget: &RetryBudget, now: Instant) -> u64 {
    let slot_nanos = (budget.window.as_nanos() / BUCKETS as u128).max(1);
    u64::try_from(u128::from(now.as_nanos()) / slot_nanos).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn at_ms(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn reserve_allows_lone_retries() {
        let tracker = BudgetTracker::new();
        let budget = RetryBudget::default();
        tracker.record_request(&budget, "http://a", at_ms(0));
        for _ in 0..10 {
            assert!(tracker.try_acquire_retry(&budget, "http://a", at_ms(1)));
        }
        assert!(!tracker.try_acquire_retry(&budget, "http://a", at_ms(2)));
    }

    #[test]
    fn origins_are_separate() {
        let tracker = BudgetTracker::new();
        let budget = RetryBudget::default().reserve(1).ratio(0.0);
        assert!(tracker.try_acquire_retry(&budget, "http://a", at_ms(0)));
        assert!(!tracker.try_acquire_retry(&budget, "http://a", at_ms(0)));
        assert!(tracker.try_acquire_retry(&budget, "http://b", at_ms(0)));
    }

    #[test]
    fn window_slides() {
        let tracker = BudgetTracker::new();
        let budget = RetryBudget::default().reserve(1).ratio(0.0);
        assert!(tracker.try_acquire_retry(&budget, "o", at_ms(0)));
        assert!(!tracker.try_acquire_retry(&budget, "o", at_ms(9_000)));
        assert!(tracker.try_acquire_retry(&budget, "o", at_ms(10_500)));
    }

    #[test]
    fn disabled_never_stops() {
        let tracker = BudgetTracker::new();
        let budget = RetryBudget::disabled();
        for _ in 0..1000 {
            assert!(tracker.try_acquire_retry(&budget, "o", Instant::ZERO));
        }
    }

    #[test]
    fn outage_costs_about_ratio() {
        // 20,000 logical requests over 20 s, each wanting 2 retries, all failing. At this
        // rate the reserve of 10 per window adds only 0.001 attempts per request.
        let tracker = BudgetTracker::new();
        let budget = RetryBudget::default();
        let mut attempts = 0u64;
        for i in 0..20_000u64 {
            let now = at_ms(i);
            tracker.record_request(&budget, "o", now);
            attempts += 1;
            for _ in 0..2 {
                if tracker.try_acquire_retry(&budget, "o", now) {
                    attempts += 1;
                }
            }
        }
        let per_request = attempts as f64 / 20_000.0;
        assert!(
            per_request <= 1.105,
            "{per_request} attempts per logical request"
        );
        assert!(
            per_request >= 1.05,
            "{per_request}: the budget starved retries"
        );
    }

    #[test]
    fn many_origins_pruned() {
        let tracker = BudgetTracker::new();
        let budget = RetryBudget::default();
        for i in 0..600 {
            tracker.record_request(&budget, &format!("http://h{i}"), at_ms(0));
        }
        let later = Instant::ZERO.saturating_add(Duration::from_secs(7200));
        tracker.record_request(&budget, "http://new", later);
        let len = tracker.origins.lock().unwrap().len();
        assert!(len < 600, "{len} origins kept");
    }
}
