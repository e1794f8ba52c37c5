//! Sleeping until an instant of the core's clock.

use std::future::{self, Future};
use std::pin::pin;

use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;

use super::bindings;
use crate::core::Instant;

/// The maximum delay of `setTimeout`, in milliseconds. Larger values overflow its 32-bit
/// signed argument and fire at once.
const MAX_TIMER_MS: u64 = i32::MAX as u64;

/// Sleeps until `deadline` on [`bindings::now`], or forever for `None`.
///
/// Each turn sets one `setTimeout`, rounded up to whole milliseconds, then reads the clock
/// again. A timer that fires before `performance.now()` reaches the deadline (timers and the
/// clock round differently) or a deadline beyond the `setTimeout` range so costs another turn.
///
/// # Cancel safety
///
/// Dropping the future clears the pending `setTimeout`.
pub(crate) async fn sleep_until(deadline: Option<Instant>) {
    let Some(deadline) = deadline else {
        return future::pending().await;
    };
    loop {
        let remaining = deadline.saturating_duration_since(bindings::now());
        if remaining.is_zero() {
            return;
        }
        let millis = remaining.as_nanos().div_ceil(1_000_000);
        let millis = u64::try_from(millis).unwrap_or(u64::MAX).min(MAX_TIMER_MS);
        TimeoutFuture::new(millis as u32).await;
    }
}

/// Awaits `pending` unless `deadline` comes first, and returns `None` in that case.
///
/// # Cancel safety
///
/// `pending` is borrowed, so a future that lost the race stays usable; the timer is cleared
/// when this returns or is dropped.
pub(crate) async fn until_deadline<F>(
    pending: &mut F,
    deadline: Option<Instant>,
) -> Option<F::Output>
where
    F: Future + Unpin,
{
    match select(pending, pin!(sleep_until(deadline))).await {
        Either::Left((result, _)) => Some(result),
        Either::Right(_) => None,
    }
}
