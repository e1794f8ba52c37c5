//! Scripted responses: a [`Scenario`] is a list of [`Step`]s that successive requests play.
//!
//! The JSON form (serde) is the wire format of `PUT /__chaos/scenario/{id}`, so field names and
//! enum spellings are part of the public contract.

use hyper::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

/// Responses for one scenario id: request `k` (0-based) plays `steps[min(k, len - 1)]`.
///
/// An empty `steps` plays [`Step::default`] (200, empty body) for every request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    pub steps: Vec<Step>,
}

/// One scripted response and the faults to inject while sending it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Step {
    /// Status code, 100..=999. Default 200.
    pub status: u16,
    /// Extra response headers, sent as given and in this order. A header named here replaces the
    /// one the server would compute (Date, Content-Length, Content-Type, ETag, Retry-After, ...).
    pub headers: Vec<(String, String)>,
    pub body: BodySpec,
    /// Pause before sending the response head, in ms. The request is logged before the pause.
    pub head_delay_ms: u64,
    /// Retry-After computed from the server clock at send time.
    pub retry_after: Option<RetryAfterSpec>,
    /// Offset in seconds added to the server clock for the Date header (and for Retry-After dates).
    pub date_skew_secs: i64,
    /// Content-Length to declare. When it exceeds the body, the body ends with an error after the
    /// bytes it has, so the client sees the connection close before the message completed.
    pub declared_length: Option<u64>,
    /// Size of each body frame, in bytes. Default: one frame for in-memory bodies, 64 KiB for
    /// generated pattern bodies.
    pub chunk_size: Option<usize>,
    /// Pause between body frames, in ms.
    pub chunk_delay_ms: u64,
    /// Body offset, in bytes, at which to pause for `stall_ms` once.
    pub stall_after_bytes: Option<u64>,
    /// Length of the stall, in ms. Capped at 10 minutes, and cut short when the client goes away.
    pub stall_ms: u64,
    /// Body offset, in bytes, at which to abort the connection (HTTP/1.1) or reset the stream (h2).
    pub reset_after_bytes: Option<u64>,
    /// Gzip encoding of the body, announced with `Content-Encoding: gzip`.
    pub gzip: bool,
    /// Location header to send, as an absolute URL on one of the two origins.
    pub redirect_to: Option<RedirectSpec>,
    /// Byte-range support: `Range: bytes=...` gets 206 with Content-Range, responses carry
    /// `Accept-Ranges: bytes` and a strong ETag, and an `If-Range` that does not match it gets 200.
    pub ranges: bool,
    /// Bytes added to both ends of the range reported in Content-Range, while the body still starts
    /// at the requested offset. A client that checks the start against its request must reject it.
    pub range_start_shift: i64,
}

impl Default for Step {
    fn default() -> Self {
        Step {
            status: 200,
            headers: Vec::new(),
            body: BodySpec::Empty,
            head_delay_ms: 0,
            retry_after: None,
            date_skew_secs: 0,
            declared_length: None,
            chunk_size: None,
            chunk_delay_ms: 0,
            stall_after_bytes: None,
            stall_ms: 0,
            reset_after_bytes: None,
            gzip: false,
            redirect_to: None,
            ranges: false,
            range_start_shift: 0,
        }
    }
}

/// Response body content.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodySpec {
    #[default]
    Empty,
    Text(String),
    /// `n` bytes of a deterministic pattern: byte `i` is `(i % 251) as u8`. Generated on the fly.
    Pattern(u64),
    /// A gzip stream that inflates to `n` zero bytes, sent with `Content-Encoding: gzip`.
    /// Built once per size per process and cached.
    GzipBomb(u64),
    /// The request body, sent back unchanged.
    Echo,
}

/// Retry-After value: the server time plus `secs` (plus the step's `date_skew_secs`, so that
/// Retry-After minus Date is `secs`), written in `form`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryAfterSpec {
    pub secs: i64,
    pub form: DateForm,
}

/// Wire form of a Retry-After value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateForm {
    /// Delta-seconds: `secs` as a plain integer, negative values included.
    #[default]
    Delta,
    /// IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`.
    Imf,
    /// Obsolete RFC 850 form, `Sunday, 06-Nov-94 08:49:37 GMT`.
    Rfc850,
    /// Obsolete ANSI C asctime() form, `Sun Nov  6 08:49:37 1994`.
    Asctime,
}

/// Target of a Location header: `path` on the primary origin, or on the other one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedirectSpec {
    pub other_origin: bool,
    /// Path and query, starting with `/`. An empty path means `/`.
    pub path: String,
}

impl Scenario {
    pub fn new(steps: Vec<Step>) -> Scenario {
        Scenario { steps }
    }

    /// Builds a scenario that plays `step` for every request.
    pub fn repeat(step: Step) -> Scenario {
        Scenario { steps: vec![step] }
    }

    /// Returns the index into `steps` that request `request_index` (0-based) plays, or 0 when
    /// `steps` is empty.
    pub fn step_index(&self, request_index: usize) -> usize {
        request_index.min(self.steps.len().saturating_sub(1))
    }

    /// Returns the step that request `request_index` (0-based) plays.
    pub fn step_for(&self, request_index: usize) -> Step {
        self.steps
            .get(self.step_index(request_index))
            .cloned()
            .unwrap_or_default()
    }

    /// Checks what serde cannot: status codes, header names and values, and redirect paths.
    /// The error names the step and the field.
    pub fn validate(&self) -> Result<(), String> {
        for (index, step) in self.steps.iter().enumerate() {
            step.validate()
                .map_err(|message| format!("steps[{index}].{message}"))?;
        }
        Ok(())
    }
}

impl Step {
    /// Builds a step with status `code` and everything else at its default.
    pub fn status(code: u16) -> Step {
        Step {
            status: code,
            ..Step::default()
        }
    }

    /// Builds a 200 step.
    pub fn ok() -> Step {
        Step::default()
    }

    /// Builds a redirect step: `code` (e.g. 302, 307) with a Location to `path`.
    pub fn redirect(code: u16, other_origin: bool, path: &str) -> Step {
        Step {
            status: code,
            redirect_to: Some(RedirectSpec {
                other_origin,
                path: path.to_owned(),
            }),
            ..Step::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Step {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body_text(mut self, text: &str) -> Step {
        self.body = BodySpec::Text(text.to_owned());
        self
    }

    pub fn body_pattern(mut self, len: u64) -> Step {
        self.body = BodySpec::Pattern(len);
        self
    }

    pub fn gzip_bomb(mut self, inflated_len: u64) -> Step {
        self.body = BodySpec::GzipBomb(inflated_len);
        self
    }

    pub fn echo(mut self) -> Step {
        self.body = BodySpec::Echo;
        self
    }

    pub fn head_delay_ms(mut self, ms: u64) -> Step {
        self.head_delay_ms = ms;
        self
    }

    pub fn retry_after(mut self, secs: i64, form: DateForm) -> Step {
        self.retry_after = Some(RetryAfterSpec { secs, form });
        self
    }

    pub fn date_skew_secs(mut self, secs: i64) -> Step {
        self.date_skew_secs = secs;
        self
    }

    pub fn declared_length(mut self, len: u64) -> Step {
        self.declared_length = Some(len);
        self
    }

    /// Sets the body frame size to `size` bytes, with a pause of `delay_ms` between frames.
    pub fn chunked(mut self, size: usize, delay_ms: u64) -> Step {
        self.chunk_size = Some(size);
        self.chunk_delay_ms = delay_ms;
        self
    }

    /// Sets one pause of `ms` after the first `bytes` body bytes.
    pub fn stall_after(mut self, bytes: u64, ms: u64) -> Step {
        self.stall_after_bytes = Some(bytes);
        self.stall_ms = ms;
        self
    }

    pub fn reset_after(mut self, bytes: u64) -> Step {
        self.reset_after_bytes = Some(bytes);
        self
    }

    pub fn gzip(mut self) -> Step {
        self.gzip = true;
        self
    }

    pub fn ranges(mut self) -> Step {
        self.ranges = true;
        self
    }

    pub fn range_start_shift(mut self, shift: i64) -> Step {
        self.range_start_shift = shift;
        self
    }

    fn validate(&self) -> Result<(), String> {
        if !(100..=999).contains(&self.status) {
            return Err(format!(
                "status: {} is not a valid status code; use 100..=999",
                self.status
            ));
        }
        for (index, (name, value)) in self.headers.iter().enumerate() {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("headers[{index}]: {name:?} is not a valid header name"))?;
            HeaderValue::from_str(value).map_err(|_| {
                format!(
                    "headers[{index}]: value {value:?} of {name:?} is not a valid header value \
                     (visible ASCII, spaces and tabs only)"
                )
            })?;
        }
        if self.chunk_size == Some(0) {
            return Err("chunk_size: must be at least 1 byte".to_owned());
        }
        if let Some(redirect) = &self.redirect_to {
            let path = &redirect.path;
            if !path.is_empty() && !path.starts_with('/') {
                return Err(format!("redirect_to.path: {path:?} must start with '/'"));
            }
            if HeaderValue::from_str(path).is_err() {
                return Err(format!(
                    "redirect_to.path: {path:?} is not a valid Location value; percent-encode it"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_spellings_are_stable() {
        let json = r#"{"steps":[
            {"status":503,"retry_after":{"secs":2,"form":"asctime"},"headers":[["ETag","\"v1\""]]},
            {"body":{"pattern":10},"ranges":true,"range_start_shift":-3},
            {"body":{"gzip_bomb":1000},"redirect_to":{"other_origin":true,"path":"/x"}},
            {"body":"echo","stall_after_bytes":5,"stall_ms":10,"reset_after_bytes":8},
            {"body":{"text":"hi"},"gzip":true,"declared_length":9,"chunk_size":1,"chunk_delay_ms":2}
        ]}"#;
        let scenario: Scenario = serde_json::from_str(json).expect("scenario JSON parses");
        let steps = &scenario.steps;
        assert_eq!(steps[0].status, 503);
        assert_eq!(
            steps[0].retry_after.as_ref().unwrap().form,
            DateForm::Asctime
        );
        assert_eq!(steps[1].status, 200, "status defaults to 200");
        assert_eq!(steps[1].body, BodySpec::Pattern(10));
        assert_eq!(steps[2].body, BodySpec::GzipBomb(1000));
        assert!(steps[2].redirect_to.as_ref().unwrap().other_origin);
        assert_eq!(steps[3].body, BodySpec::Echo);
        assert_eq!(steps[4].body, BodySpec::Text("hi".to_owned()));
        assert_eq!(steps[4].declared_length, Some(9));

        let round_trip: Scenario =
            serde_json::from_str(&serde_json::to_string(&scenario).unwrap()).unwrap();
        assert_eq!(round_trip, scenario);

        let forms: Vec<String> = [
            DateForm::Delta,
            DateForm::Imf,
            DateForm::Rfc850,
            DateForm::Asctime,
        ]
        .iter()
        .map(|form| serde_json::to_string(form).unwrap())
        .collect();
        assert_eq!(forms, ["\"delta\"", "\"imf\"", "\"rfc850\"", "\"asctime\""]);
    }

    #[test]
    fn empty_scenario_plays_default_step() {
        let scenario = Scenario::default();
        assert_eq!(scenario.step_index(5), 0);
        assert_eq!(scenario.step_for(5), Step::default());
    }

    #[test]
    fn validate_names_step_and_field() {
        let scenario = Scenario::new(vec![Step::ok(), Step::ok().header("X-Ok", "bad\nvalue")]);
        let error = scenario.validate().unwrap_err();
        assert!(error.starts_with("steps[1].headers[0]"), "{error}");
        let redirect = Scenario::repeat(Step::redirect(302, false, "relative"));
        assert!(redirect
            .validate()
            .unwrap_err()
            .contains("redirect_to.path"));
    }
}
