//! The clock and the randomness that the native adapter feeds to the core.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::core;
use crate::error::{Error, Kind};

/// A monotonic clock whose origin is fixed when the client is built, so every call of one
/// client shares one time line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    origin: std::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// Returns the current instant on the core's time line.
    pub(crate) fn now(&self) -> core::Instant {
        core::Instant::from_duration(self.origin.elapsed())
    }

    /// Converts a core instant into a tokio instant for `sleep_until`.
    pub(crate) fn to_tokio(self, instant: core::Instant) -> tokio::time::Instant {
        let at = self
            .origin
            .checked_add(instant.as_duration())
            // A deadline beyond what `std::time::Instant` can hold is as good as never; about
            // 30 years is still representable on every platform tokio supports.
            .unwrap_or_else(|| std::time::Instant::now() + Duration::from_secs(86_400 * 365 * 30));
        tokio::time::Instant::from_std(at)
    }
}

/// Returns the wall clock in Unix milliseconds, for `Retry-After` dates; 0 if the system
/// clock is set before 1970.
pub(crate) fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Draws the 32-byte seed of one call from the operating system's random number generator.
///
/// # Errors
///
/// Returns an error when the generator fails. There is no fallback: a predictable seed would
/// make request ids, idempotency keys and jitter predictable too.
pub(crate) fn seed() -> Result<[u8; 32], Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| {
        Error::new(
            Kind::Request,
            format!(
                "the operating system's random number generator failed ({e}), so nothing was sent"
            ),
        )
    })?;
    Ok(seed)
}

/// Sleeps until `deadline`, or forever when there is none.
pub(crate) async fn sleep_until(clock: Clock, deadline: Option<core::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(clock.to_tokio(at)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_round_trips_through_tokio() {
        let clock = Clock::new();
        let at = clock.now().saturating_add(Duration::from_millis(250));
        let tokio_at = clock.to_tokio(at);
        let back = tokio_at.into_std().duration_since(clock.origin);
        assert_eq!(back, at.as_duration());
    }

    #[test]
    fn far_deadline_does_not_panic() {
        let clock = Clock::new();
        let _ = clock.to_tokio(core::Instant::from_nanos(u64::MAX));
    }

    #[test]
    fn seeds_differ() {
        assert_ne!(seed().unwrap(), seed().unwrap());
    }
}
