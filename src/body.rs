//! Request bodies.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A stream of request body chunks.
pub(crate) type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// A request body: bytes, replayed byte for byte on every attempt, or a stream, sent once.
pub struct Body {
    pub(crate) inner: BodyInner,
}

pub(crate) enum BodyInner {
    Bytes(Bytes),
    // The fetch adapter rejects streaming bodies, so on wasm32 the stream is never read.
    Stream(#[cfg_attr(target_arch = "wasm32", allow(dead_code))] BodyStream),
}

impl Body {
    /// Creates an empty body.
    pub fn empty() -> Body {
        Body::from(Bytes::new())
    }

    /// Creates a body from a stream of chunks. It is sent once: a failure after the first
    /// attempt started is returned with "not retried: body is not replayable".
    pub fn wrap_stream<S, E>(stream: S) -> Body
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        use futures_util::TryStreamExt;
        Body {
            inner: BodyInner::Stream(Box::pin(stream.map_err(Into::into))),
        }
    }

    /// Returns the bytes of a replayable body, or `None` for a stream.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.inner {
            BodyInner::Bytes(bytes) => Some(bytes),
            BodyInner::Stream(_) => None,
        }
    }

    pub(crate) fn is_stream(&self) -> bool {
        matches!(self.inner, BodyInner::Stream(_))
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            BodyInner::Bytes(bytes) => f.debug_struct("Body").field("len", &bytes.len()).finish(),
            BodyInner::Stream(_) => f.write_str("Body(stream)"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body {
            inner: BodyInner::Bytes(bytes),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from(Bytes::from(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::from(Bytes::from_static(bytes))
    }
}
