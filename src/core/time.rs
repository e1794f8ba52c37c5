//! Monotonic instants supplied by the adapter.

use core::time::Duration;

/// A point on the adapter's monotonic clock, in nanoseconds since an origin the adapter picks.
///
/// The core never reads a clock: every input carries an `Instant`, natively from
/// `std::time::Instant` and on wasm32 from `performance.now()`. Arithmetic saturates, so a
/// far deadline such as "no timeout" never wraps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The adapter's origin.
    pub const ZERO: Instant = Instant(0);

    /// Creates an instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// Creates an instant `since_origin` after the origin, saturating at about 584 years.
    pub fn from_duration(since_origin: Duration) -> Instant {
        Instant(u64::try_from(since_origin.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Creates an instant from fractional milliseconds, as `performance.now()` returns them.
    /// Negative and NaN values map to the origin.
    pub fn from_millis_f64(millis: f64) -> Instant {
        if millis.is_nan() || millis <= 0.0 {
            return Instant::ZERO;
        }
        // `as` saturates for floats above u64::MAX.
        Instant((millis * 1_000_000.0) as u64)
    }

    /// Returns the nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Returns the time since the origin.
    pub const fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// Returns `self + duration`, saturating at the largest instant.
    pub fn saturating_add(self, duration: Duration) -> Instant {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }

    /// Returns the time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_saturates_at_max() {
        let far = Instant::from_nanos(u64::MAX - 1).saturating_add(Duration::MAX);
        assert_eq!(far.as_nanos(), u64::MAX);
    }

    #[test]
    fn duration_since_later_is_zero() {
        let early = Instant::from_nanos(5);
        let late = Instant::from_nanos(9);
        assert_eq!(early.saturating_duration_since(late), Duration::ZERO);
        assert_eq!(
            late.saturating_duration_since(early),
            Duration::from_nanos(4)
        );
    }

    #[test]
    fn millis_f64_rejects_nan_and_negative() {
        assert_eq!(Instant::from_millis_f64(f64::NAN), Instant::ZERO);
        assert_eq!(Instant::from_millis_f64(-3.0), Instant::ZERO);
        assert_eq!(Instant::from_millis_f64(1.5).as_nanos(), 1_500_000);
    }
}
