//! Response body that injects wire-level faults: slow frames, a mid-body stall, an abort after
//! N bytes, and a body shorter than its declared Content-Length.
//!
//! Faults are driven by tokio sleeps inside `poll_frame`, so hyper flushes the bytes already
//! written while the body is pending, and dropping the body (client gone) cancels any stall.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// Upper bound on any single pause, so a "hang forever" step cannot leak a task for longer.
pub const MAX_PAUSE: Duration = Duration::from_secs(600);

/// Pause before aborting, so hyper flushes the bytes already written and the client reads them
/// before the connection goes away.
const FLUSH_PAUSE: Duration = Duration::from_millis(25);

/// Frame size for generated pattern bodies when the step sets none.
pub const DEFAULT_PATTERN_CHUNK: usize = 64 * 1024;

/// Period of the deterministic body pattern: byte `i` is `(i % 251) as u8`. A prime period
/// makes an off-by-N offset visible at any N that is not a multiple of 251.
pub const PATTERN_PERIOD: u64 = 251;

const PATTERN: [u8; PATTERN_PERIOD as usize] = {
    let mut table = [0u8; PATTERN_PERIOD as usize];
    let mut i = 0;
    while i < table.len() {
        table[i] = i as u8;
        i += 1;
    }
    table
};

/// Returns `len` pattern bytes starting at absolute offset `offset`.
pub fn pattern_bytes(offset: u64, len: usize) -> Bytes {
    let mut out = Vec::with_capacity(len);
    let mut phase = (offset % PATTERN_PERIOD) as usize;
    while out.len() < len {
        let take = (PATTERN.len() - phase).min(len - out.len());
        out.extend_from_slice(&PATTERN[phase..phase + take]);
        phase = 0;
    }
    Bytes::from(out)
}

/// Where body bytes come from.
#[derive(Debug)]
pub enum Source {
    Memory(Bytes),
    /// Pattern bytes for absolute offsets `next..end`, generated frame by frame.
    Pattern {
        next: u64,
        end: u64,
    },
}

impl Source {
    pub fn len(&self) -> u64 {
        match self {
            Source::Memory(bytes) => bytes.len() as u64,
            Source::Pattern { next, end } => end.saturating_sub(*next),
        }
    }

    /// Restricts the source to `start..=end` of its current bytes.
    pub fn slice(self, start: u64, end: u64) -> Source {
        match self {
            Source::Memory(bytes) => Source::Memory(bytes.slice(start as usize..=end as usize)),
            Source::Pattern { next, .. } => Source::Pattern {
                next: next + start,
                end: next + end + 1,
            },
        }
    }

    /// Keeps at most the first `len` bytes.
    pub fn truncate(self, len: u64) -> Source {
        if len >= self.len() {
            return self;
        }
        match self {
            Source::Memory(bytes) => Source::Memory(bytes.slice(..len as usize)),
            Source::Pattern { next, .. } => Source::Pattern {
                next,
                end: next + len,
            },
        }
    }

    /// Returns all bytes in memory, for gzip, which needs the whole input.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Source::Memory(bytes) => bytes,
            Source::Pattern { next, end } => pattern_bytes(next, (end - next) as usize),
        }
    }

    fn take(&mut self, max: usize) -> Bytes {
        match self {
            Source::Memory(bytes) => {
                let len = max.min(bytes.len());
                bytes.split_to(len)
            }
            Source::Pattern { next, end } => {
                let len = (max as u64).min(*end - *next) as usize;
                let frame = pattern_bytes(*next, len);
                *next += len as u64;
                frame
            }
        }
    }
}

/// Faults to inject while streaming a body. Offsets count body bytes sent in this response.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Maximum frame size. `None` sends memory bodies whole and pattern bodies in 64 KiB frames.
    pub chunk_size: Option<usize>,
    pub chunk_delay: Duration,
    pub stall_after: Option<u64>,
    pub stall: Duration,
    pub abort_after: Option<u64>,
    /// Error after the last byte, because the declared Content-Length is larger than the body.
    pub abort_at_end: bool,
}

/// Counts response bodies that are still streaming, so tests can check that stalls end.
#[derive(Debug)]
pub struct ActiveGuard(Arc<AtomicUsize>);

impl ActiveGuard {
    pub fn new(counter: &Arc<AtomicUsize>) -> ActiveGuard {
        counter.fetch_add(1, Ordering::SeqCst);
        ActiveGuard(Arc::clone(counter))
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Error that a faulty body yields. hyper then closes the connection (HTTP/1.1) or resets the
/// stream (h2) with the message incomplete.
#[derive(Debug)]
pub struct InjectedAbort {
    pub after_bytes: u64,
}

impl fmt::Display for InjectedAbort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "steadfast-chaos aborted the response after {} body bytes",
            self.after_bytes
        )
    }
}

impl std::error::Error for InjectedAbort {}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Streaming,
    Aborting,
    Done,
}

/// Response body of every route: in-memory or generated bytes, sent with [`Faults`].
pub struct ChaosBody {
    source: Source,
    faults: Faults,
    sent: u64,
    stalled: bool,
    delay_pending: bool,
    phase: Phase,
    sleep: Option<Pin<Box<Sleep>>>,
    _guard: Option<ActiveGuard>,
}

impl ChaosBody {
    pub fn new(source: Source, faults: Faults, guard: Option<ActiveGuard>) -> ChaosBody {
        ChaosBody {
            source,
            faults,
            sent: 0,
            stalled: false,
            delay_pending: false,
            phase: Phase::Streaming,
            sleep: None,
            _guard: guard,
        }
    }

    pub fn full(bytes: impl Into<Bytes>) -> ChaosBody {
        ChaosBody::new(Source::Memory(bytes.into()), Faults::default(), None)
    }

    pub fn empty() -> ChaosBody {
        ChaosBody::full(Bytes::new())
    }

    fn pause(&mut self, duration: Duration) {
        self.sleep = Some(Box::pin(tokio::time::sleep(duration.min(MAX_PAUSE))));
    }

    /// Returns the next frame length: bounded by the chunk size and by the next fault offset, so
    /// stalls and aborts happen at exactly the scripted byte.
    fn next_frame_len(&self) -> usize {
        let default_chunk = match self.source {
            Source::Memory(_) => usize::MAX,
            Source::Pattern { .. } => DEFAULT_PATTERN_CHUNK,
        };
        let mut len = self.faults.chunk_size.unwrap_or(default_chunk) as u64;
        len = len.min(self.source.len());
        if let (false, Some(at)) = (self.stalled, self.faults.stall_after) {
            if at > self.sent {
                len = len.min(at - self.sent);
            }
        }
        if let Some(at) = self.faults.abort_after {
            if at > self.sent {
                len = len.min(at - self.sent);
            }
        }
        len as usize
    }
}

impl Body for ChaosBody {
    type Data = Bytes;
    type Error = InjectedAbort;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InjectedAbort>>> {
        let this = &mut *self;
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
            }
            match this.phase {
                Phase::Done => return Poll::Ready(None),
                Phase::Aborting => {
                    this.phase = Phase::Done;
                    return Poll::Ready(Some(Err(InjectedAbort {
                        after_bytes: this.sent,
                    })));
                }
                Phase::Streaming => {}
            }
            if this.faults.abort_after.is_some_and(|at| this.sent >= at) {
                this.phase = Phase::Aborting;
                this.pause(FLUSH_PAUSE);
                continue;
            }
            if !this.stalled && this.faults.stall_after.is_some_and(|at| this.sent >= at) {
                this.stalled = true;
                let stall = this.faults.stall;
                this.pause(stall);
                continue;
            }
            if this.source.len() == 0 {
                if this.faults.abort_at_end {
                    this.phase = Phase::Aborting;
                    this.pause(FLUSH_PAUSE);
                    continue;
                }
                this.phase = Phase::Done;
                return Poll::Ready(None);
            }
            if this.delay_pending {
                this.delay_pending = false;
                let delay = this.faults.chunk_delay;
                this.pause(delay);
                continue;
            }
            let len = this.next_frame_len();
            let frame = this.source.take(len);
            this.sent += frame.len() as u64;
            this.delay_pending = !this.faults.chunk_delay.is_zero();
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.phase == Phase::Done
    }

    fn size_hint(&self) -> SizeHint {
        let remaining = self.source.len();
        let faulty = self.faults.abort_after.is_some() || self.faults.abort_at_end;
        if faulty {
            let mut hint = SizeHint::new();
            hint.set_upper(remaining);
            hint
        } else {
            SizeHint::with_exact(remaining)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_is_periodic_from_any_offset() {
        let bytes = pattern_bytes(500, 600);
        for (index, byte) in bytes.iter().enumerate() {
            assert_eq!(u64::from(*byte), (500 + index as u64) % PATTERN_PERIOD);
        }
    }

    #[test]
    fn pattern_source_slices_absolute_offsets() {
        let source = Source::Pattern { next: 0, end: 1000 }.slice(300, 399);
        assert_eq!(source.len(), 100);
        assert_eq!(source.into_bytes(), pattern_bytes(300, 100));
    }
}
