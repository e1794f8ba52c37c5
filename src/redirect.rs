//! The redirect policy of the native client. Fetch runtimes follow their own rules.

/// How many redirects to follow, and whether an `https` → `http` hop is allowed.
///
/// Defaults to following up to 10. 301, 302 and 303 turn a POST into a GET without a body;
/// 307 and 308 replay the body. When the scheme, host or port changes, `Authorization`,
/// `Proxy-Authorization` and `Cookie` are removed and stay removed for later hops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub(crate) max: usize,
    pub(crate) allow_https_to_http: bool,
}

impl Policy {
    /// Follows up to `max` redirects; one more is an error.
    pub fn limited(max: usize) -> Policy {
        Policy {
            max,
            allow_https_to_http: false,
        }
    }

    /// Follows no redirect: a 3xx response is returned as is.
    pub fn none() -> Policy {
        Policy::limited(0)
    }

    /// Allows a redirect from `https` to `http`, which is rejected by default because it
    /// would send the request in clear text.
    pub fn allow_https_to_http(mut self, allow: bool) -> Policy {
        self.allow_https_to_http = allow;
        self
    }

    /// Returns the maximum number of redirects followed.
    pub fn max_redirects(&self) -> usize {
        self.max
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::limited(10)
    }
}
