//! Backoff delays: capped exponential growth, then jitter.

use core::time::Duration;

use super::policy::{Jitter, RetryPolicy};
use super::rng::Rng;

/// Returns the delay before retry `retry` (1 for the first retry) before jitter:
/// `initial × 2^(retry−1)`, capped at `max_delay`.
///
/// The arithmetic saturates, so every `retry` up to `u32::MAX` gives a value no larger than
/// the cap and the sequence never decreases.
pub fn capped_delay(policy: &RetryPolicy, retry: u32) -> Duration {
    let cap = policy.max_delay.as_nanos();
    let exponent = retry.saturating_sub(1);
    let initial = policy.initial_delay.as_nanos();
    // initial < 2^64 ns, so a shift of up to 63 fits in u128; anything larger is past the cap
    // for any non-zero initial delay.
    let grown = if initial == 0 {
        0
    } else if exponent >= 64 {
        cap
    } else {
        (initial << exponent).min(cap)
    };
    Duration::from_nanos(u64::try_from(grown.min(cap)).unwrap_or(u64::MAX))
}

/// Returns the jittered delay before retry `retry`, given the delay used before the previous
/// retry (for [`Jitter::Decorrelated`]). The result is always within `[0, max_delay]`.
pub fn jittered_delay(
    policy: &RetryPolicy,
    retry: u32,
    previous: Duration,
    rng: &mut Rng,
) -> Duration {
    let capped = nanos(capped_delay(policy, retry));
    let cap = nanos(policy.max_delay);
    let chosen = match policy.jitter {
        Jitter::None => capped,
        Jitter::Full => rng.between(0, capped),
        Jitter::Equal => rng.between(capped / 2, capped),
        Jitter::Decorrelated => {
            let low = nanos(policy.initial_delay);
            let high = nanos(previous).saturating_mul(3).max(low);
            rng.between(low, high)
        }
    };
    Duration::from_nanos(chosen.min(cap))
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::Rng;
    use proptest::prelude::*;

    fn policy(initial_ms: u64, max_ms: u64, jitter: Jitter) -> RetryPolicy {
        RetryPolicy::default()
            .initial_delay(Duration::from_millis(initial_ms))
            .max_delay(Duration::from_millis(max_ms))
            .jitter(jitter)
    }

    #[test]
    fn default_sequence_doubles_then_caps() {
        let policy = RetryPolicy::default();
        let millis: Vec<u128> = (1..=8)
            .map(|n| capped_delay(&policy, n).as_millis())
            .collect();
        assert_eq!(
            millis,
            vec![200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]
        );
    }

    #[test]
    fn huge_retry_numbers_give_cap() {
        let policy = RetryPolicy::default();
        for retry in [63, 64, 65, 1000, u32::MAX - 1, u32::MAX] {
            assert_eq!(
                capped_delay(&policy, retry),
                Duration::from_secs(10),
                "retry {retry}"
            );
        }
    }

    #[test]
    fn retry_zero_treated_as_first() {
        let policy = RetryPolicy::default();
        assert_eq!(capped_delay(&policy, 0), Duration::from_millis(200));
    }

    #[test]
    fn never_decreases_up_to_u32_max() {
        let policy = policy(1, 3_600_000, Jitter::None);
        let mut previous = Duration::ZERO;
        let mut retry = 1u32;
        // Dense near the crossover, then sparse up to u32::MAX.
        while retry < u32::MAX {
            let delay = capped_delay(&policy, retry);
            assert!(delay >= previous, "retry {retry}: {delay:?} < {previous:?}");
            previous = delay;
            retry = if retry < 100 {
                retry + 1
            } else {
                retry.saturating_mul(3)
            };
        }
        assert_eq!(capped_delay(&policy, u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn every_jitter_mode_within_bounds() {
        let mut rng = Rng::from_seed([42; 32]);
        for jitter in [
            Jitter::None,
            Jitter::Full,
            Jitter::Equal,
            Jitter::Decorrelated,
        ] {
            let policy = policy(200, 10_000, jitter);
            let mut previous = policy.initial_delay;
            for retry in [1, 2, 3, 5, 8, 20, 64, 65, u32::MAX] {
                for _ in 0..10_000 {
                    let delay = jittered_delay(&policy, retry, previous, &mut rng);
                    assert!(
                        delay <= policy.max_delay,
                        "{jitter:?} retry {retry}: {delay:?}"
                    );
                    previous = delay;
                }
            }
        }
    }

    #[test]
    fn equal_jitter_keeps_lower_half() {
        let policy = policy(1000, 1000, Jitter::Equal);
        let mut rng = Rng::from_seed([5; 32]);
        for _ in 0..1000 {
            let delay = jittered_delay(&policy, 1, Duration::ZERO, &mut rng);
            assert!(delay >= Duration::from_millis(500), "{delay:?}");
        }
    }

    #[test]
    fn full_jitter_spreads_values() {
        let policy = policy(1000, 1000, Jitter::Full);
        let mut rng = Rng::from_seed([9; 32]);
        let delays: Vec<Duration> = (0..1000)
            .map(|_| jittered_delay(&policy, 1, Duration::ZERO, &mut rng))
            .collect();
        assert!(delays.iter().any(|d| *d < Duration::from_millis(250)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(750)));
    }

    proptest! {
        #[test]
        fn jitter_never_exceeds_cap(
            initial in 0u64..=100_000,
            extra in 0u64..=10_000_000,
            retry in any::<u32>(),
            previous in any::<u64>(),
            mode in 0usize..4,
            seed in any::<[u8; 32]>(),
        ) {
            let jitter = [Jitter::None, Jitter::Full, Jitter::Equal, Jitter::Decorrelated][mode];
            let policy = policy(initial, initial + extra, jitter);
            let mut rng = Rng::from_seed(seed);
            let delay = jittered_delay(&policy, retry, Duration::from_nanos(previous), &mut rng);
            prop_assert!(delay <= policy.max_delay);
            prop_assert!(capped_delay(&policy, retry) <= policy.max_delay);
            prop_assert!(capped_delay(&policy, retry) <= capped_delay(&policy, retry.saturating_add(1)));
        }
    }
}
