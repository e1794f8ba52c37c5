//! The fetch `Request` of each attempt: URL, method, headers and body.

use std::borrow::Cow;

use http::HeaderMap;
use js_sys::Uint8Array;
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, Headers, Request, RequestInit, Url};

use super::bindings::{self, Host};
use super::error::describe_js_error;
use crate::error::Error;

/// Connection and framing headers that every runtime's HTTP stack sets itself. Node 20's
/// undici fails a fetch that sets `Connection`, `Expect`, `Keep-Alive`, `Transfer-Encoding`
/// or `Upgrade`. Fetch runtimes decode bodies themselves, so `Accept-Encoding` is dropped too.
const RUNTIME_OWNED: [&str; 10] = [
    "accept-encoding",
    "connection",
    "content-length",
    "expect",
    "host",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The rest of the Fetch standard's forbidden request headers, which browsers drop silently,
/// plus `User-Agent`, which Chromium ignores and which would make a cross-origin request
/// need a preflight elsewhere.
const BROWSER_FORBIDDEN: [&str; 12] = [
    "accept-charset",
    "access-control-request-headers",
    "access-control-request-method",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "origin",
    "referer",
    "set-cookie",
    "user-agent",
    "via",
];

/// The resolved URL of a request and how the host relates to it.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// The absolute URL, as the host's `URL` parser normalised it.
    pub url: String,
    /// `scheme://host[:port]`, the retry budget's key.
    pub origin: String,
    /// Whether the host is a browser.
    pub browser: bool,
    /// Whether CORS applies: a browser host requesting another origin.
    pub cross_origin: bool,
}

impl Target {
    /// Resolves `url` against the host's location, when it has one.
    ///
    /// # Errors
    ///
    /// Returns a builder error for a URL the host's `URL` parser rejects, such as a relative
    /// URL outside a browser.
    pub(crate) fn resolve(url: &str, host: &Host) -> Result<Target, Error> {
        let base_url = bindings::base_url();
        let parsed = match &base_url {
            Some(base) => Url::new_with_base(url, base),
            None => Url::new(url),
        };
        let parsed = parsed.map_err(|error| {
            let advice = if base_url.is_some() {
                "use a valid http:// or https:// URL"
            } else {
                "this runtime has no page to resolve a relative URL against; use an absolute URL"
            };
            Error::builder(format!("invalid URL {url:?}: {advice}"))
                .with_source(describe_js_error(&error))
        })?;
        let scheme = parsed.protocol();
        if scheme != "http:" && scheme != "https:" {
            return Err(Error::builder(format!(
                "invalid URL {url:?}: the scheme must be http or https, not {}",
                scheme.trim_end_matches(':')
            )));
        }
        let origin = parsed.origin();
        let cross_origin = host.browser && host.origin.as_deref() != Some(origin.as_str());
        Ok(Target {
            url: parsed.href(),
            origin,
            browser: host.browser,
            cross_origin,
        })
    }
}

/// The method, URL, headers and body that every attempt of one logical request sends.
pub(crate) struct RequestTemplate {
    method: String,
    url: String,
    /// Header names and values as the JavaScript byte strings fetch expects.
    headers: Vec<(String, String)>,
    /// The request body, copied into JavaScript once and sent by every attempt. Fetch copies a
    /// buffer body when it builds the request, so the array is never consumed.
    body: Option<Uint8Array>,
}

impl RequestTemplate {
    /// Copies the method, headers and body bytes, dropping the headers the runtime owns.
    pub(crate) fn new(method: &str, target: &Target, headers: &HeaderMap, body: &[u8]) -> Self {
        let headers = headers
            .iter()
            .filter(|(name, _)| {
                let keep = !is_dropped(name.as_str(), target.browser);
                if !keep {
                    tracing::debug!(header = %name, "not sending a header that fetch sets itself");
                }
                keep
            })
            .map(|(name, value)| (name.as_str().to_string(), byte_string(value.as_bytes())))
            .collect();
        RequestTemplate {
            method: method.to_string(),
            url: target.url.clone(),
            headers,
            body: (!body.is_empty()).then(|| Uint8Array::from(body)),
        }
    }

    /// Builds the `Request` of one attempt. The core's attempt headers replace request headers
    /// of the same name.
    ///
    /// # Errors
    ///
    /// Returns the exception of the `Request` constructor, which rejects, among others, a
    /// body on GET or HEAD, a forbidden method and a header value fetch cannot send.
    pub(crate) fn build(
        &self,
        attempt_headers: &[(Cow<'static, str>, String)],
        signal: &AbortSignal,
    ) -> Result<Request, JsValue> {
        let headers = Headers::new()?;
        for (name, value) in &self.headers {
            let replaced = attempt_headers
                .iter()
                .any(|(attempt_name, _)| attempt_name.eq_ignore_ascii_case(name));
            if !replaced {
                headers.append(name, value)?;
            }
        }
        for (name, value) in attempt_headers {
            headers.set(name, value)?;
        }
        let init = RequestInit::new();
        init.set_method(&self.method);
        init.set_headers(&headers);
        if let Some(body) = &self.body {
            init.set_body(body);
        }
        init.set_signal(Some(signal));
        Request::new_with_str_and_init(&self.url, &init)
    }
}

/// Returns whether `name` (lowercase) is left for the runtime to set.
fn is_dropped(name: &str, browser: bool) -> bool {
    if RUNTIME_OWNED.contains(&name) {
        return true;
    }
    browser
        && (BROWSER_FORBIDDEN.contains(&name)
            || name.starts_with("proxy-")
            || name.starts_with("sec-"))
}

/// Maps header bytes one to one onto the characters U+0000..=U+00FF, the `ByteString` form in
/// which fetch takes and returns header values.
pub(crate) fn byte_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&byte| char::from(byte)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn runtime_owned_headers_dropped_everywhere() {
        assert!(is_dropped("accept-encoding", false));
        assert!(is_dropped("content-length", false));
        assert!(!is_dropped("user-agent", false));
        assert!(!is_dropped("cookie", false));
    }

    #[wasm_bindgen_test]
    fn browser_drops_forbidden_headers() {
        assert!(is_dropped("user-agent", true));
        assert!(is_dropped("sec-fetch-mode", true));
        assert!(is_dropped("proxy-authorization", true));
        assert!(!is_dropped("authorization", true));
        assert!(!is_dropped("x-request-id", true));
    }

    #[wasm_bindgen_test]
    fn byte_string_keeps_high_bytes() {
        assert_eq!(byte_string(b"a\xe9"), "a\u{e9}");
    }
}
