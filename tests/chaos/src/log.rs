//! Request log entries and the FNV-1a body hash used to compare bodies byte for byte.

use serde::{Deserialize, Serialize};

/// One request as the server received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lowercase names in the order hyper's `HeaderMap` yields them: names in order of first
    /// appearance, with repeated names grouped. h2 pseudo-headers are not included, so an h2
    /// request has no `host` entry unless the client sent one (use `origin` instead).
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
    /// 64-bit FNV-1a of the request body.
    pub body_fnv64: u64,
    /// `"HTTP/1.1"` or `"HTTP/2.0"`.
    pub version: String,
    /// Milliseconds from server start to the arrival of the request head (monotonic clock).
    pub received_ms: u64,
    /// `"primary"` or `"other"`: the listener the request came in on.
    pub origin: String,
    /// Index of the step played, or 0 for preflights, which play no step.
    pub step: usize,
}

impl LoggedRequest {
    /// Returns the first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Streaming 64-bit FNV-1a hasher.
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

impl Fnv64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub fn new() -> Fnv64 {
        Fnv64(Self::OFFSET_BASIS)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64::new()
    }
}

/// Returns the 64-bit FNV-1a hash of `bytes`, as logged in [`LoggedRequest::body_fnv64`].
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv64::new();
    hasher.update(bytes);
    hasher.finish()
}
