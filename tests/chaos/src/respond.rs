//! Response building: playing a scenario [`Step`], the `/bytes/{n}` route, and byte ranges.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};

use crate::body::{Faults, Source, MAX_PAUSE};
use crate::dates;
use crate::encoding;
use crate::log::fnv64;
use crate::routes::{self, ChaosResponse};
use crate::scenario::{BodySpec, DateForm, Step};
use crate::server::{Origin, State};

/// Result of matching a request's Range and If-Range headers against a representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeOutcome {
    /// No usable Range, a multi-range request, or an If-Range that does not match: send 200.
    Full,
    /// Send bytes `start..=end` with 206.
    Partial { start: u64, end: u64 },
    /// The range starts at or past the end: send 416.
    Unsatisfiable,
}

/// Matches `Range` against a representation of `total` bytes. An `If-Range` header must equal
/// one of `validators` (strong ETag or Last-Modified) for the range to apply.
pub fn select_range(headers: &HeaderMap, total: u64, validators: &[&str]) -> RangeOutcome {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeOutcome::Full;
    };
    if let Some(if_range) = headers.get(header::IF_RANGE) {
        let if_range = if_range.to_str().unwrap_or_default().trim();
        // If-Range uses the strong comparison, so a weak ETag never matches.
        let matches = !if_range.starts_with("W/") && validators.contains(&if_range);
        if !matches {
            return RangeOutcome::Full;
        }
    }
    parse_byte_range(range, total)
}

/// Parses a single `bytes=` range; anything this server does not support is ignored (200), as
/// RFC 9110 section 14.2 allows.
fn parse_byte_range(range: &str, total: u64) -> RangeOutcome {
    let Some((unit, spec)) = range.split_once('=') else {
        return RangeOutcome::Full;
    };
    let spec = spec.trim();
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeOutcome::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeOutcome::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let Ok(suffix) = last.parse::<u64>() else {
            return RangeOutcome::Full;
        };
        if suffix == 0 || total == 0 {
            return RangeOutcome::Unsatisfiable;
        }
        return RangeOutcome::Partial {
            start: total - suffix.min(total),
            end: total - 1,
        };
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeOutcome::Full;
    };
    let requested_end = if last.is_empty() {
        u64::MAX
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => end,
            _ => return RangeOutcome::Full,
        }
    };
    if start >= total {
        return RangeOutcome::Unsatisfiable;
    }
    RangeOutcome::Partial {
        start,
        end: requested_end.min(total - 1),
    }
}

/// Formats a Content-Range value, shifting both ends by `shift` (clamped at 0).
fn content_range(start: u64, end: u64, total: u64, shift: i64) -> String {
    let shifted = |offset: u64| (i128::from(offset) + i128::from(shift)).max(0);
    format!("bytes {}-{}/{total}", shifted(start), shifted(end))
}

/// Builds the response for `step`, after its head delay.
pub async fn play_step(
    step: &Step,
    parts: &Parts,
    request_body: Option<Bytes>,
    state: &State,
) -> ChaosResponse {
    if step.head_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(step.head_delay_ms).min(MAX_PAUSE)).await;
    }
    let Ok(mut status) = StatusCode::from_u16(step.status) else {
        return routes::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "step status {} is not a valid status code; use 100..=999",
                step.status
            ),
        );
    };
    let now = SystemTime::now();
    let (mut source, gzipped) = match step_source(step, request_body).await {
        Ok(body) => body,
        Err(error) => {
            return routes::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("failed to gzip the step body: {error}"),
            )
        }
    };

    let mut headers = HeaderMap::new();
    let date = dates::shift(now, step.date_skew_secs);
    insert(&mut headers, header::DATE, &httpdate::fmt_http_date(date));
    if gzipped {
        insert(&mut headers, header::CONTENT_ENCODING, "gzip");
    }
    if let Some(content_type) = content_type(step, parts) {
        insert(&mut headers, header::CONTENT_TYPE, &content_type);
    }
    if let Some(spec) = &step.retry_after {
        let value = match spec.form {
            DateForm::Delta => spec.secs.to_string(),
            form => {
                let at = dates::shift(now, step.date_skew_secs.saturating_add(spec.secs));
                dates::format_http_date(at, form)
            }
        };
        insert(&mut headers, header::RETRY_AFTER, &value);
    }
    if let Some(redirect) = &step.redirect_to {
        let origin = match redirect.other_origin {
            true => Origin::Other,
            false => Origin::Primary,
        };
        let path = if redirect.path.is_empty() {
            "/"
        } else {
            redirect.path.as_str()
        };
        insert(&mut headers, header::LOCATION, &state.url(origin, path));
    }

    if step.ranges {
        let etag = match step_header(step, "etag") {
            Some(etag) => etag.to_owned(),
            None => computed_etag(&source),
        };
        insert(&mut headers, header::ACCEPT_RANGES, "bytes");
        insert(&mut headers, header::ETAG, &etag);
        if status == StatusCode::OK {
            let total = source.len();
            match routes::request_range(parts, total, &[etag.as_str()]) {
                RangeOutcome::Full => {}
                RangeOutcome::Partial { start, end } => {
                    status = StatusCode::PARTIAL_CONTENT;
                    let value = content_range(start, end, total, step.range_start_shift);
                    insert(&mut headers, header::CONTENT_RANGE, &value);
                    source = source.slice(start, end);
                }
                RangeOutcome::Unsatisfiable => {
                    status = StatusCode::RANGE_NOT_SATISFIABLE;
                    insert(
                        &mut headers,
                        header::CONTENT_RANGE,
                        &format!("bytes */{total}"),
                    );
                    source = Source::Memory(Bytes::new());
                }
            }
        }
    }

    let mut faults = Faults {
        chunk_size: step.chunk_size,
        chunk_delay: Duration::from_millis(step.chunk_delay_ms),
        stall_after: step.stall_after_bytes,
        stall: Duration::from_millis(step.stall_ms),
        abort_after: step.reset_after_bytes,
        abort_at_end: false,
    };
    let actual_len = source.len();
    let content_length = match step.declared_length {
        // A body longer than its Content-Length cannot be framed, so it is cut to the length.
        Some(declared) if declared < actual_len => {
            source = source.truncate(declared);
            declared
        }
        Some(declared) => {
            faults.abort_at_end = declared > actual_len;
            declared
        }
        None => actual_len,
    };
    if allows_content_length(status) {
        insert(
            &mut headers,
            header::CONTENT_LENGTH,
            &content_length.to_string(),
        );
    }
    apply_step_headers(&mut headers, step);

    let mut response = Response::new(routes::streaming_body(source, faults, state));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Returns the step's body bytes, gzipped when the step sets `gzip`, and whether they are gzipped.
async fn step_source(step: &Step, request_body: Option<Bytes>) -> std::io::Result<(Source, bool)> {
    let (source, gzipped) = match &step.body {
        BodySpec::Empty => (Source::Memory(Bytes::new()), false),
        BodySpec::Text(text) => (Source::Memory(Bytes::from(text.clone())), false),
        BodySpec::Pattern(len) => (Source::Pattern { next: 0, end: *len }, false),
        BodySpec::GzipBomb(len) => (Source::Memory(encoding::gzip_bomb(*len).await?), true),
        BodySpec::Echo => (Source::Memory(request_body.unwrap_or_default()), false),
    };
    if step.gzip && !gzipped {
        // NOTE: gzip needs the whole input, so a gzipped pattern body is held in memory.
        let encoded = encoding::gzip(source.into_bytes()).await?;
        return Ok((Source::Memory(encoded), true));
    }
    Ok((source, gzipped))
}

fn content_type(step: &Step, parts: &Parts) -> Option<String> {
    match &step.body {
        BodySpec::Empty => None,
        BodySpec::Text(_) => Some("text/plain; charset=utf-8".to_owned()),
        BodySpec::Pattern(_) | BodySpec::GzipBomb(_) => Some("application/octet-stream".to_owned()),
        BodySpec::Echo => Some(
            parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned(),
        ),
    }
}

/// Returns a strong ETag derived from the bytes to be sent, so equal bodies share a tag.
fn computed_etag(source: &Source) -> String {
    match source {
        Source::Memory(bytes) => format!("\"fnv-{:016x}\"", fnv64(bytes)),
        Source::Pattern { next, end } => format!("\"pattern-{next}-{end}\""),
    }
}

fn step_header<'a>(step: &'a Step, name: &str) -> Option<&'a str> {
    step.headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Replaces computed headers with the step's headers of the same name, keeping step order and
/// repeats.
fn apply_step_headers(headers: &mut HeaderMap, step: &Step) {
    let mut parsed = Vec::with_capacity(step.headers.len());
    for (name, value) in &step.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => parsed.push((name, value)),
            // Scenario::validate rejects these before a step is stored.
            _ => tracing::warn!(name, value, "skipping invalid step header"),
        }
    }
    for (name, _) in &parsed {
        headers.remove(name);
    }
    for (name, value) in parsed {
        headers.append(name, value);
    }
}

/// Returns whether to compute a Content-Length. RFC 9110 section 8.6 forbids it in 1xx and 204
/// responses, and a 304 has no body to measure. A step header can still set one.
fn allows_content_length(status: StatusCode) -> bool {
    !status.is_informational()
        && status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => tracing::warn!(%name, value, "skipping header with an invalid value"),
    }
}

/// Serves `GET /bytes/{n}`: `n` pattern bytes with ranges, a strong ETag and Last-Modified.
///
/// `?reset_after=K` aborts after K bytes, on the first GET of this exact path and query only
/// and only when that response starts at offset 0, so a client that resumes with Range
/// completes. `?chunk=SIZE` sets the frame size. Other query keys are ignored, so callers can
/// add one to get a fresh first request.
pub fn bytes_route(len_segment: &str, parts: &Parts, state: &State) -> ChaosResponse {
    let Ok(total) = len_segment.parse::<u64>() else {
        return routes::text(
            StatusCode::BAD_REQUEST,
            &format!(
                "invalid byte count {len_segment:?} in /bytes/{{n}}; \
                 expected a decimal integer such as /bytes/1048576"
            ),
        );
    };
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let mut response = routes::text(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("/bytes/{{n}} accepts GET and HEAD, not {}", parts.method),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let query = match BytesQuery::parse(parts.uri.query().unwrap_or_default()) {
        Ok(query) => query,
        Err(message) => return routes::text(StatusCode::BAD_REQUEST, &message),
    };

    let etag = format!("\"bytes-{total}\"");
    let last_modified = httpdate::fmt_http_date(state.started_wall);
    let outcome = routes::request_range(parts, total, &[etag.as_str(), last_modified.as_str()]);
    let is_first = parts.method == Method::GET && {
        let key = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default();
        routes::first_request(state, key)
    };

    let mut headers = HeaderMap::new();
    insert(
        &mut headers,
        header::DATE,
        &httpdate::fmt_http_date(SystemTime::now()),
    );
    insert(
        &mut headers,
        header::CONTENT_TYPE,
        "application/octet-stream",
    );
    insert(&mut headers, header::ACCEPT_RANGES, "bytes");
    insert(&mut headers, header::ETAG, &etag);
    insert(&mut headers, header::LAST_MODIFIED, &last_modified);

    let mut source = Source::Pattern {
        next: 0,
        end: total,
    };
    let mut status = StatusCode::OK;
    let mut starts_at_zero = true;
    match outcome {
        RangeOutcome::Full => {}
        RangeOutcome::Partial { start, end } => {
            status = StatusCode::PARTIAL_CONTENT;
            insert(
                &mut headers,
                header::CONTENT_RANGE,
                &content_range(start, end, total, 0),
            );
            source = source.slice(start, end);
            starts_at_zero = start == 0;
        }
        RangeOutcome::Unsatisfiable => {
            status = StatusCode::RANGE_NOT_SATISFIABLE;
            insert(
                &mut headers,
                header::CONTENT_RANGE,
                &format!("bytes */{total}"),
            );
            source = Source::Memory(Bytes::new());
        }
    }
    insert(
        &mut headers,
        header::CONTENT_LENGTH,
        &source.len().to_string(),
    );

    let faults = Faults {
        chunk_size: query.chunk,
        abort_after: query.reset_after.filter(|_| is_first && starts_at_zero),
        ..Faults::default()
    };
    let mut response = Response::new(routes::streaming_body(source, faults, state));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Query parameters of `/bytes/{n}`.
#[derive(Debug, Default)]
struct BytesQuery {
    reset_after: Option<u64>,
    chunk: Option<usize>,
}

impl BytesQuery {
    fn parse(query: &str) -> Result<BytesQuery, String> {
        let mut parsed = BytesQuery::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "reset_after" => {
                    let bytes = value.parse::<u64>().map_err(|_| {
                        format!("invalid reset_after={value:?}; expected a byte count")
                    })?;
                    parsed.reset_after = Some(bytes);
                }
                "chunk" => {
                    let size = value.parse::<usize>().ok().filter(|size| *size > 0);
                    let size = size.ok_or_else(|| {
                        format!("invalid chunk={value:?}; expected a frame size of at least 1 byte")
                    })?;
                    parsed.chunk = Some(size);
                }
                _ => {}
            }
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range_headers(range: &str, if_range: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
        if let Some(value) = if_range {
            headers.insert(header::IF_RANGE, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn byte_range_forms() {
        let cases = [
            ("bytes=10-", RangeOutcome::Partial { start: 10, end: 99 }),
            ("bytes=10-19", RangeOutcome::Partial { start: 10, end: 19 }),
            ("bytes=90-500", RangeOutcome::Partial { start: 90, end: 99 }),
            ("bytes=-5", RangeOutcome::Partial { start: 95, end: 99 }),
            ("bytes=-500", RangeOutcome::Partial { start: 0, end: 99 }),
            ("bytes=100-", RangeOutcome::Unsatisfiable),
            ("bytes=-0", RangeOutcome::Unsatisfiable),
            ("bytes=20-10", RangeOutcome::Full),
            ("bytes=0-1,5-6", RangeOutcome::Full),
            ("items=0-1", RangeOutcome::Full),
            ("bytes=x-", RangeOutcome::Full),
        ];
        for (range, expected) in cases {
            let headers = range_headers(range, None);
            assert_eq!(select_range(&headers, 100, &[]), expected, "Range: {range}");
        }
    }

    #[test]
    fn if_range_needs_exact_strong_match() {
        let etag = "\"abc\"";
        let matching = range_headers("bytes=10-", Some(etag));
        assert_eq!(
            select_range(&matching, 100, &[etag]),
            RangeOutcome::Partial { start: 10, end: 99 }
        );
        let stale = range_headers("bytes=10-", Some("\"old\""));
        assert_eq!(select_range(&stale, 100, &[etag]), RangeOutcome::Full);
        let weak = range_headers("bytes=10-", Some("W/\"abc\""));
        assert_eq!(select_range(&weak, 100, &["W/\"abc\""]), RangeOutcome::Full);
    }

    #[test]
    fn content_range_shift_clamps_at_zero() {
        assert_eq!(content_range(10, 19, 100, 3), "bytes 13-22/100");
        assert_eq!(content_range(10, 19, 100, -20), "bytes 0-0/100");
    }
}
