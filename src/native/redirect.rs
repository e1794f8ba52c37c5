//! The hop rules of redirects, as pure functions over URLs, methods and headers.
//!
//! Redirects are followed inside one attempt, so the core receives only the final response
//! head.
//! 301 and 302 turn a POST into a GET without a body, 303 turns every method but GET and
//! HEAD into GET without a body, and 307 and 308 keep the method and replay the body. When a
//! hop changes the scheme, host or port, the credentials headers are removed and stay
//! removed for the rest of the attempt, even if a later hop returns to the first origin.

use std::fmt;

use http::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, COOKIE,
    PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use http::{Method, StatusCode};
use url::Url;

use crate::redirect::Policy;

/// The request of the next hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) url: Url,
    pub(crate) method: Method,
    /// Whether the request body is sent again; false when the method became GET.
    pub(crate) keeps_body: bool,
    /// Whether the hop leaves the origin of the previous one.
    pub(crate) changes_origin: bool,
}

/// The reason a redirect is rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HopError {
    TooMany { max: usize },
    InvalidLocation { location: String },
    UnsupportedScheme { url: Url },
    HttpsToHttp { url: Url },
    BodyNotReplayable { status: StatusCode },
}

impl fmt::Display for HopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HopError::TooMany { max } => write!(
                f,
                "too many redirects: more than the redirect policy's maximum of {max}"
            ),
            HopError::InvalidLocation { location } => {
                write!(
                    f,
                    "redirect rejected: Location {location:?} is not a valid URL"
                )
            }
            HopError::UnsupportedScheme { url } => write!(
                f,
                "redirect rejected: {url} is not an http:// or https:// URL"
            ),
            HopError::HttpsToHttp { url } => write!(
                f,
                "redirect rejected: it leads from https to the clear-text {url}; \
                 allow it with redirect::Policy::allow_https_to_http"
            ),
            HopError::BodyNotReplayable { status } => write!(
                f,
                "redirect rejected: a {} asks to send the body again, but it is a stream \
                 that was already sent; use a bytes body to follow it",
                status.as_u16()
            ),
        }
    }
}

/// Returns the method of the hop after a `status` response to `method`, and whether the body
/// is kept. Returns `None` for statuses that are not followed redirects.
pub(crate) fn next_method(status: StatusCode, method: &Method) -> Option<(Method, bool)> {
    match status.as_u16() {
        301 | 302 if method == Method::POST => Some((Method::GET, false)),
        301 | 302 => Some((method.clone(), true)),
        303 if method == Method::GET || method == Method::HEAD => Some((method.clone(), false)),
        303 => Some((Method::GET, false)),
        307 | 308 => Some((method.clone(), true)),
        _ => None,
    }
}

/// Resolves a `Location` value against the URL that returned it. A target without a fragment
/// inherits the base's (RFC 9110, section 10.2.2).
pub(crate) fn resolve_location(base: &Url, location: &HeaderValue) -> Result<Url, HopError> {
    let invalid = || HopError::InvalidLocation {
        location: String::from_utf8_lossy(location.as_bytes()).into_owned(),
    };
    let text = location.to_str().map_err(|_| invalid())?;
    let mut url = base.join(text).map_err(|_| invalid())?;
    if url.fragment().is_none() {
        url.set_fragment(base.fragment());
    }
    Ok(url)
}

/// Returns whether `from` and `to` differ in scheme, host or port.
pub(crate) fn changes_origin(from: &Url, to: &Url) -> bool {
    from.scheme() != to.scheme()
        || from.host_str() != to.host_str()
        || from.port_or_known_default() != to.port_or_known_default()
}

/// Plans the hop after a `status` response with `location`, when `hops` redirects were
/// already followed in this attempt. Returns `Ok(None)` when the response is to be
/// delivered as it is: not a followed redirect, no `Location`, or a policy that follows none.
pub(crate) fn plan_hop(
    policy: &Policy,
    hops: usize,
    from: &Url,
    method: &Method,
    status: StatusCode,
    location: Option<&HeaderValue>,
    body_replayable: bool,
) -> Result<Option<Hop>, HopError> {
    let (Some((next, keeps_body)), Some(location)) = (next_method(status, method), location) else {
        return Ok(None);
    };
    if policy.max_redirects() == 0 {
        return Ok(None);
    }
    if hops >= policy.max_redirects() {
        return Err(HopError::TooMany {
            max: policy.max_redirects(),
        });
    }
    let url = resolve_location(from, location)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HopError::UnsupportedScheme { url });
    }
    if from.scheme() == "https" && url.scheme() == "http" && !policy.allow_https_to_http {
        return Err(HopError::HttpsToHttp { url });
    }
    if keeps_body && !body_replayable {
        return Err(HopError::BodyNotReplayable { status });
    }
    Ok(Some(Hop {
        changes_origin: changes_origin(from, &url),
        url,
        method: next,
        keeps_body,
    }))
}

/// Removes the headers that carry credentials.
pub(crate) fn strip_credentials(headers: &mut HeaderMap) {
    headers.remove(AUTHORIZATION);
    headers.remove(PROXY_AUTHORIZATION);
    headers.remove(COOKIE);
}

/// Removes the headers that describe a request body, once the body is dropped.
pub(crate) fn strip_body_headers(headers: &mut HeaderMap) {
    headers.remove(CONTENT_TYPE);
    headers.remove(CONTENT_LENGTH);
    headers.remove(CONTENT_ENCODING);
    headers.remove(TRANSFER_ENCODING);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn location(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    fn plan(
        policy: &Policy,
        hops: usize,
        from: &str,
        method: Method,
        status: u16,
        to: &str,
    ) -> Result<Option<Hop>, HopError> {
        plan_hop(
            policy,
            hops,
            &url(from),
            &method,
            StatusCode::from_u16(status).unwrap(),
            Some(&location(to)),
            true,
        )
    }

    #[test]
    fn post_becomes_get_on_301_302_303() {
        for status in [301, 302, 303] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(
                next_method(status, &Method::POST),
                Some((Method::GET, false)),
                "{status}"
            );
        }
    }

    #[test]
    fn put_keeps_method_on_302_but_not_303() {
        assert_eq!(
            next_method(StatusCode::FOUND, &Method::PUT),
            Some((Method::PUT, true))
        );
        assert_eq!(
            next_method(StatusCode::SEE_OTHER, &Method::PUT),
            Some((Method::GET, false))
        );
        assert_eq!(
            next_method(StatusCode::SEE_OTHER, &Method::HEAD),
            Some((Method::HEAD, false))
        );
    }

    #[test]
    fn temporary_and_permanent_keep_body() {
        for status in [307, 308] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(
                next_method(status, &Method::POST),
                Some((Method::POST, true))
            );
        }
    }

    #[test]
    fn other_statuses_are_not_followed() {
        for status in [200, 300, 304, 305, 404] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(next_method(status, &Method::GET), None, "{status}");
        }
    }

    #[test]
    fn relative_location_resolves() {
        let hop = plan(
            &Policy::default(),
            0,
            "http://127.0.0.1:8080/a/b",
            Method::GET,
            302,
            "../c?x=1",
        )
        .unwrap()
        .unwrap();
        assert_eq!(hop.url.as_str(), "http://127.0.0.1:8080/c?x=1");
        assert!(!hop.changes_origin);
    }

    #[test]
    fn fragment_is_inherited() {
        let resolved = resolve_location(&url("http://127.0.0.1/a#part"), &location("/b")).unwrap();
        assert_eq!(resolved.as_str(), "http://127.0.0.1/b#part");
        let own = resolve_location(&url("http://127.0.0.1/a#part"), &location("/b#own")).unwrap();
        assert_eq!(own.fragment(), Some("own"));
    }

    #[test]
    fn origin_change_detected() {
        let from = url("http://127.0.0.1:8080/");
        assert!(changes_origin(&from, &url("http://127.0.0.1:8081/")));
        assert!(changes_origin(&from, &url("https://127.0.0.1:8080/")));
        assert!(changes_origin(&from, &url("http://localhost:8080/")));
        assert!(!changes_origin(&from, &url("http://127.0.0.1:8080/other")));
        assert!(!changes_origin(
            &url("http://127.0.0.1/"),
            &url("http://127.0.0.1:80/")
        ));
    }

    #[test]
    fn too_many_redirects() {
        let policy = Policy::limited(2);
        assert!(
            plan(&policy, 1, "http://127.0.0.1/", Method::GET, 302, "/x")
                .unwrap()
                .is_some()
        );
        assert_eq!(
            plan(&policy, 2, "http://127.0.0.1/", Method::GET, 302, "/x"),
            Err(HopError::TooMany { max: 2 })
        );
    }

    #[test]
    fn policy_none_delivers_redirect() {
        let hop = plan(
            &Policy::none(),
            0,
            "http://127.0.0.1/",
            Method::GET,
            302,
            "/x",
        );
        assert_eq!(hop, Ok(None));
    }

    #[test]
    fn missing_location_delivers_redirect() {
        let hop = plan_hop(
            &Policy::default(),
            0,
            &url("http://127.0.0.1/"),
            &Method::GET,
            StatusCode::FOUND,
            None,
            true,
        );
        assert_eq!(hop, Ok(None));
    }

    #[test]
    fn https_to_http_rejected_unless_allowed() {
        let rejected = plan(
            &Policy::default(),
            0,
            "https://127.0.0.1/",
            Method::GET,
            302,
            "http://127.0.0.1/",
        );
        assert!(matches!(rejected, Err(HopError::HttpsToHttp { .. })));
        let allowed = plan(
            &Policy::default().allow_https_to_http(true),
            0,
            "https://127.0.0.1/",
            Method::GET,
            302,
            "http://127.0.0.1/",
        );
        assert!(allowed.unwrap().unwrap().changes_origin);
    }

    #[test]
    fn non_http_scheme_rejected() {
        let hop = plan(
            &Policy::default(),
            0,
            "http://127.0.0.1/",
            Method::GET,
            302,
            "ftp://127.0.0.1/file",
        );
        assert!(matches!(hop, Err(HopError::UnsupportedScheme { .. })));
    }

    #[test]
    fn stream_body_cannot_follow_307() {
        let hop = plan_hop(
            &Policy::default(),
            0,
            &url("http://127.0.0.1/"),
            &Method::POST,
            StatusCode::TEMPORARY_REDIRECT,
            Some(&location("/x")),
            false,
        );
        assert!(matches!(hop, Err(HopError::BodyNotReplayable { .. })));
        let see_other = plan_hop(
            &Policy::default(),
            0,
            &url("http://127.0.0.1/"),
            &Method::POST,
            StatusCode::SEE_OTHER,
            Some(&location("/x")),
            false,
        );
        assert_eq!(see_other.unwrap().unwrap().method, Method::GET);
    }

    #[test]
    fn credentials_stripped() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, location("Bearer secret"));
        headers.insert(PROXY_AUTHORIZATION, location("Basic x"));
        headers.insert(COOKIE, location("a=b"));
        headers.insert(CONTENT_TYPE, location("text/plain"));
        strip_credentials(&mut headers);
        assert!(headers.get(AUTHORIZATION).is_none());
        assert!(headers.get(PROXY_AUTHORIZATION).is_none());
        assert!(headers.get(COOKIE).is_none());
        assert!(headers.get(CONTENT_TYPE).is_some());
    }

    #[test]
    fn body_headers_stripped() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, location("application/json"));
        headers.insert(CONTENT_LENGTH, location("2"));
        headers.insert(AUTHORIZATION, location("Bearer secret"));
        strip_body_headers(&mut headers);
        assert!(headers.get(CONTENT_TYPE).is_none());
        assert!(headers.get(CONTENT_LENGTH).is_none());
        assert!(headers.get(AUTHORIZATION).is_some());
    }
}
