//! The clock and the randomness that the native adapter feeds to the core.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tokio::time::Sleep;

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

/// The source of every call's 32-byte seed: a ChaCha20 generator (`rand_chacha`) keyed
/// once per client from the operating system's random number generator, one stream per
/// call.
///
/// A getrandom system call per call cost about 350 ns on the 2-core benchmark machine
/// (Linux 6.18, glibc 2.36); a ChaCha20 block costs far less. The seeds stay unpredictable
/// because ChaCha20 is a stream cipher (the generator behind `/dev/urandom` since Linux 4.8),
/// so without the key one stream reveals nothing about another. Calls take stream numbers
/// from an atomic counter, so no lock is held.
///
/// NOTE: a process that forks after the key was drawn shares it with its child, and both
/// then hand out the same seeds for the same stream numbers.
pub(crate) struct SeedSource {
    key: OnceLock<[u8; 32]>,
    counter: AtomicU64,
}

impl SeedSource {
    pub(crate) fn new() -> SeedSource {
        SeedSource {
            key: OnceLock::new(),
            counter: AtomicU64::new(0),
        }
    }

    /// Returns the seed of the next call.
    ///
    /// # Errors
    ///
    /// Returns an error when the operating system's generator fails on the first call of
    /// the client; that call is retried on the next request. There is no fallback: a
    /// predictable seed would make request ids, idempotency keys and jitter predictable too.
    pub(crate) fn next(&self) -> Result<[u8; 32], Error> {
        let key = match self.key.get() {
            Some(key) => key,
            // Two threads may race to set the key; both then use the winner's.
            None => self.key.get_or_init(|| os_random().unwrap_or([0; 32])),
        };
        if *key == [0; 32] {
            // The operating system's generator failed when the key was drawn.
            return os_random();
        }
        let mut generator = ChaCha20Rng::from_seed(*key);
        generator.set_stream(self.counter.fetch_add(1, Ordering::Relaxed));
        let mut seed = [0u8; 32];
        generator.fill_bytes(&mut seed);
        Ok(seed)
    }
}

impl fmt::Debug for SeedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedSource").finish_non_exhaustive()
    }
}

/// Draws 32 bytes from the operating system's random number generator.
fn os_random() -> Result<[u8; 32], Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::new(
            Kind::Request,
            format!(
                "the operating system's random number generator failed ({e}), so nothing was sent"
            ),
        )
    })?;
    Ok(bytes)
}

/// The timer of one call, reused for every deadline the call waits on.
///
/// A new `Sleep` per wait registers a timer entry with tokio's driver and removes it again,
/// under the driver's lock, up to three times per request. One `Sleep` moved with `reset`
/// registers once, and a reset to a later deadline (the read timeout after each chunk) only
/// updates the entry in place.
pub(crate) struct DeadlineTimer {
    clock: Clock,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl DeadlineTimer {
    pub(crate) fn new(clock: Clock) -> DeadlineTimer {
        DeadlineTimer { clock, sleep: None }
    }

    /// Polls for `deadline`; a call without a deadline waits forever.
    pub(crate) fn poll_until(
        &mut self,
        cx: &mut Context<'_>,
        deadline: Option<core::Instant>,
    ) -> Poll<()> {
        let Some(at) = deadline else {
            return Poll::Pending;
        };
        let at = self.clock.to_tokio(at);
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                sleep
            }
            None => self.sleep.insert(Box::pin(tokio::time::sleep_until(at))),
        };
        sleep.as_mut().poll(cx)
    }

    /// Sleeps until `deadline`, or forever when there is none.
    pub(crate) async fn sleep_until(&mut self, deadline: Option<core::Instant>) {
        std::future::poll_fn(|cx| self.poll_until(cx, deadline)).await;
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
        let seeds = SeedSource::new();
        let first = seeds.next().unwrap();
        let second = seeds.next().unwrap();
        assert_ne!(first, second);
        assert_ne!(first, [0; 32]);
        let other_client = SeedSource::new().next().unwrap();
        assert_ne!(first, other_client);
    }
}
