//! Request routing: scenarios under `/s/{id}`, the fixed `/bytes/{n}` and `/echo` routes, the
//! `/__chaos/...` control API, and CORS.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;

use crate::body::{ActiveGuard, ChaosBody, Faults, Source};
use crate::log::{Fnv64, LoggedRequest};
use crate::respond::{self, RangeOutcome};
use crate::scenario::{BodySpec, Scenario};
use crate::server::{lock, Origin, State};

/// Headers that browser code may read from cross-origin responses.
const EXPOSED_HEADERS: &str = "Retry-After, X-Request-ID, Idempotency-Key, ETag, Last-Modified, \
     Date, Content-Range, Accept-Ranges, Content-Length, Content-Encoding, traceparent";

const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// Maximum size of a scenario JSON accepted by the control API.
const MAX_SCENARIO_JSON: u64 = 64 * 1024 * 1024;

pub(crate) type ChaosResponse = Response<ChaosBody>;

/// Request body as read before responding: its length and hash, and the bytes when needed.
pub(crate) struct ReadBody {
    pub len: u64,
    pub fnv64: u64,
    pub bytes: Option<Bytes>,
}

/// Serves one request and adds the CORS headers every response carries.
pub(crate) async fn handle(
    request: Request<Incoming>,
    origin: Origin,
    state: Arc<State>,
) -> ChaosResponse {
    let received_ms = state.elapsed_ms();
    let mut response = route(request, origin, &state, received_ms).await;
    let headers = response.headers_mut();
    insert_if_absent(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
    insert_if_absent(
        headers,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        EXPOSED_HEADERS,
    );
    insert_if_absent(
        headers,
        header::DATE,
        &httpdate::fmt_http_date(std::time::SystemTime::now()),
    );
    response
}

async fn route(
    request: Request<Incoming>,
    origin: Origin,
    state: &Arc<State>,
    received_ms: u64,
) -> ChaosResponse {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    tracing::debug!(
        origin = origin.as_str(),
        method = %parts.method,
        uri = %parts.uri,
        version = ?parts.version,
        "request"
    );

    if is_preflight(&parts) {
        return preflight(&parts, origin, state, received_ms);
    }
    if let Some(rest) = path.strip_prefix("/s/") {
        let id = rest.split('/').next().unwrap_or_default();
        return play_scenario(id, parts, body, origin, state, received_ms).await;
    }
    if let Some(rest) = path.strip_prefix("/__chaos/") {
        return control(rest, parts, body, state).await;
    }
    if let Some(len) = path.strip_prefix("/bytes/") {
        return respond::bytes_route(len, &parts, state);
    }
    if path == "/echo" {
        return echo(&parts, body).await;
    }
    text(
        StatusCode::NOT_FOUND,
        &format!(
            "no route for {} {path}; routes are /s/{{id}}/..., /bytes/{{n}}, /echo and /__chaos/...",
            parts.method
        ),
    )
}

fn is_preflight(parts: &Parts) -> bool {
    parts.method == Method::OPTIONS
        && parts
            .headers
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Responds to a CORS preflight on any path, and logs it when the path belongs to a scenario.
fn preflight(parts: &Parts, origin: Origin, state: &State, received_ms: u64) -> ChaosResponse {
    if let Some(rest) = parts.uri.path().strip_prefix("/s/") {
        let id = rest.split('/').next().unwrap_or_default();
        let empty = ReadBody {
            len: 0,
            fnv64: Fnv64::new().finish(),
            bytes: None,
        };
        let logged = logged_request(parts, &empty, origin, received_ms, 0);
        if let Some(entry) = state.scenarios().get_mut(id) {
            entry.preflights.push(logged);
        }
    }
    let mut response = status_only(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    if let Some(requested) = parts.headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("0"),
    );
    // Chromium's Private Network Access sends this request header before a page may reach loopback.
    if parts
        .headers
        .get("access-control-request-private-network")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"))
    {
        headers.insert(
            HeaderName::from_static("access-control-allow-private-network"),
            HeaderValue::from_static("true"),
        );
    }
    response
}

async fn play_scenario(
    id: &str,
    parts: Parts,
    body: Incoming,
    origin: Origin,
    state: &Arc<State>,
    received_ms: u64,
) -> ChaosResponse {
    let retain_body = match state.scenarios().get(id) {
        Some(entry) => has_echo_step(&entry.scenario),
        None => return not_scripted(id),
    };
    let read = match read_body(body, retain_body, u64::MAX).await {
        Ok(read) => read,
        Err(message) => return text(StatusCode::BAD_REQUEST, &message),
    };
    let (step, index) = {
        let mut scenarios = state.scenarios();
        let Some(entry) = scenarios.get_mut(id) else {
            return not_scripted(id);
        };
        let request_index = entry.next_index;
        entry.next_index += 1;
        let index = entry.scenario.step_index(request_index);
        let logged = logged_request(&parts, &read, origin, received_ms, index);
        entry.log.push(logged);
        (entry.scenario.step_for(request_index), index)
    };
    tracing::debug!(
        id,
        step = index,
        status = step.status,
        "playing scenario step"
    );
    respond::play_step(&step, &parts, read.bytes, state).await
}

fn has_echo_step(scenario: &Scenario) -> bool {
    scenario
        .steps
        .iter()
        .any(|step| step.body == BodySpec::Echo)
}

fn not_scripted(id: &str) -> ChaosResponse {
    text(
        StatusCode::NOT_FOUND,
        &format!("no scenario scripted under id {id:?}; PUT /__chaos/scenario/{id} first"),
    )
}

async fn control(rest: &str, parts: Parts, body: Incoming, state: &State) -> ChaosResponse {
    let (resource, id) = rest.split_once('/').unwrap_or((rest, ""));
    let expected = match resource {
        "health" => Method::GET,
        "scenario" => Method::PUT,
        "log" | "preflights" => Method::GET,
        _ => {
            return text(
                StatusCode::NOT_FOUND,
                &format!(
                    "no control route /__chaos/{rest}; use /__chaos/health, \
                     /__chaos/scenario/{{id}}, /__chaos/log/{{id}} or /__chaos/preflights/{{id}}"
                ),
            )
        }
    };
    if parts.method != expected {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!(
                "/__chaos/{resource} accepts {expected}, not {}",
                parts.method
            ),
        );
        if let Ok(allow) = HeaderValue::from_str(expected.as_str()) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        return response;
    }
    if resource == "health" {
        return text(StatusCode::OK, "ok");
    }
    if id.is_empty() || id.contains('/') {
        return text(
            StatusCode::NOT_FOUND,
            &format!(
                "/__chaos/{resource}/{{id}} needs exactly one path segment as the id, got {id:?}"
            ),
        );
    }
    match resource {
        "scenario" => put_scenario(id, body, state).await,
        "log" => log_json(state, id, |entry| &entry.log),
        _ => log_json(state, id, |entry| &entry.preflights),
    }
}

async fn put_scenario(id: &str, body: Incoming, state: &State) -> ChaosResponse {
    let read = match read_body(body, true, MAX_SCENARIO_JSON).await {
        Ok(read) => read,
        Err(message) => return text(StatusCode::BAD_REQUEST, &message),
    };
    let json = read.bytes.unwrap_or_default();
    let scenario: Scenario = match serde_json::from_slice(&json) {
        Ok(scenario) => scenario,
        Err(error) => {
            return text(
                StatusCode::BAD_REQUEST,
                &format!("invalid scenario JSON for id {id:?}: {error}"),
            )
        }
    };
    if let Err(reason) = scenario.validate() {
        return text(
            StatusCode::BAD_REQUEST,
            &format!("invalid scenario for id {id:?}: {reason}"),
        );
    }
    tracing::debug!(id, steps = scenario.steps.len(), "scenario scripted");
    state.script(id, scenario);
    status_only(StatusCode::NO_CONTENT)
}

fn log_json(
    state: &State,
    id: &str,
    select: impl Fn(&crate::server::ScenarioEntry) -> &Vec<LoggedRequest>,
) -> ChaosResponse {
    let scenarios = state.scenarios();
    match scenarios.get(id) {
        Some(entry) => json(StatusCode::OK, select(entry)),
        None => not_scripted(id),
    }
}

/// JSON that `/echo` returns: the request as the server saw it.
#[derive(Serialize)]
struct EchoReport<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    version: String,
    headers: Vec<(String, String)>,
    body_len: u64,
    body_fnv64: u64,
}

async fn echo(parts: &Parts, body: Incoming) -> ChaosResponse {
    let read = match read_body(body, false, u64::MAX).await {
        Ok(read) => read,
        Err(message) => return text(StatusCode::BAD_REQUEST, &message),
    };
    let report = EchoReport {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        version: format!("{:?}", parts.version),
        headers: header_pairs(&parts.headers),
        body_len: read.len,
        body_fnv64: read.fnv64,
    };
    json(StatusCode::OK, &report)
}

/// Reads the whole request body, hashing it as it streams, and keeps the bytes only when
/// `retain` is set, so large uploads cost no memory.
pub(crate) async fn read_body(
    mut body: Incoming,
    retain: bool,
    max_len: u64,
) -> Result<ReadBody, String> {
    let mut hasher = Fnv64::new();
    let mut len = 0u64;
    let mut retained = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| format!("failed to read the request body: {error}"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        len += data.len() as u64;
        if len > max_len {
            return Err(format!(
                "request body exceeds the {max_len}-byte limit of this route"
            ));
        }
        hasher.update(&data);
        if retain {
            retained.extend_from_slice(&data);
        }
    }
    Ok(ReadBody {
        len,
        fnv64: hasher.finish(),
        bytes: retain.then(|| retained.freeze()),
    })
}

fn logged_request(
    parts: &Parts,
    body: &ReadBody,
    origin: Origin,
    received_ms: u64,
    step: usize,
) -> LoggedRequest {
    LoggedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: header_pairs(&parts.headers),
        body_len: body.len,
        body_fnv64: body.fnv64,
        version: format!("{:?}", parts.version),
        received_ms,
        origin: origin.as_str().to_owned(),
        step,
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect()
}

fn insert_if_absent(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if headers.contains_key(&name) {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

pub(crate) fn status_only(status: StatusCode) -> ChaosResponse {
    let mut response = Response::new(ChaosBody::empty());
    *response.status_mut() = status;
    response
}

/// Builds a plain-text response; every error message of the server goes through here.
pub(crate) fn text(status: StatusCode, message: &str) -> ChaosResponse {
    let mut response = Response::new(ChaosBody::full(message.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json(status: StatusCode, value: &impl Serialize) -> ChaosResponse {
    let body = match serde_json::to_vec(value) {
        Ok(body) => body,
        Err(error) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("failed to encode the response as JSON: {error}"),
            )
        }
    };
    let mut response = Response::new(ChaosBody::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Builds a streaming response body for `source` with the step's faults and the
/// active-response counter.
pub(crate) fn streaming_body(source: Source, faults: Faults, state: &State) -> ChaosBody {
    ChaosBody::new(source, faults, Some(ActiveGuard::new(&state.active_bodies)))
}

/// Marks `key` as requested and returns whether this is its first request.
pub(crate) fn first_request(state: &State, key: String) -> bool {
    lock(&state.bytes_requested).insert(key)
}

/// Parses the range of a request against `total`, given the validators `If-Range` may match.
pub(crate) fn request_range(parts: &Parts, total: u64, validators: &[&str]) -> RangeOutcome {
    if parts.method != Method::GET {
        return RangeOutcome::Full;
    }
    respond::select_range(&parts.headers, total, validators)
}
