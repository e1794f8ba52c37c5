//! HTTP-date formatting in the three forms RFC 9110 section 5.6.7 lets recipients parse.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::scenario::DateForm;

/// Latest instant httpdate formats (9999-12-31T23:59:59Z). httpdate panics past that.
const MAX_UNIX_SECS: u64 = 253_402_300_799;

/// Returns `now` shifted by `secs`, clamped to the range httpdate can format (1970..=9999).
pub fn shift(now: SystemTime, secs: i64) -> SystemTime {
    let base = now
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let shifted = base.saturating_add_signed(secs).min(MAX_UNIX_SECS);
    UNIX_EPOCH + Duration::from_secs(shifted)
}

/// Formats `time` (whole seconds) as an HTTP-date in `form`. [`DateForm::Delta`] is not a date
/// and formats as IMF-fixdate here.
pub fn format_http_date(time: SystemTime, form: DateForm) -> String {
    let imf = httpdate::fmt_http_date(time);
    match form {
        DateForm::Delta | DateForm::Imf => imf,
        DateForm::Rfc850 => {
            let parts = ImfParts::parse(&imf);
            format!(
                "{}, {}-{}-{} {} GMT",
                full_weekday(parts.weekday),
                parts.day,
                parts.month,
                &parts.year[parts.year.len() - 2..],
                parts.time
            )
        }
        DateForm::Asctime => {
            let parts = ImfParts::parse(&imf);
            let day = parts.day.trim_start_matches('0');
            format!(
                "{} {} {:>2} {} {}",
                parts.weekday, parts.month, day, parts.time, parts.year
            )
        }
    }
}

/// Fields of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
struct ImfParts<'a> {
    weekday: &'a str,
    day: &'a str,
    month: &'a str,
    year: &'a str,
    time: &'a str,
}

impl<'a> ImfParts<'a> {
    fn parse(imf: &'a str) -> ImfParts<'a> {
        let mut fields = imf.split_whitespace();
        let mut next = || fields.next().unwrap_or_default();
        ImfParts {
            weekday: next().trim_end_matches(','),
            day: next(),
            month: next(),
            year: next(),
            time: next(),
        }
    }
}

fn full_weekday(abbreviation: &str) -> &'static str {
    match abbreviation {
        "Mon" => "Monday",
        "Tue" => "Tuesday",
        "Wed" => "Wednesday",
        "Thu" => "Thursday",
        "Fri" => "Friday",
        "Sat" => "Saturday",
        _ => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SystemTime {
        // 1994-11-06T08:49:37Z, the example date of RFC 9110.
        UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn formats_rfc9110_examples() {
        assert_eq!(
            format_http_date(sample(), DateForm::Imf),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            format_http_date(sample(), DateForm::Rfc850),
            "Sunday, 06-Nov-94 08:49:37 GMT"
        );
        assert_eq!(
            format_http_date(sample(), DateForm::Asctime),
            "Sun Nov  6 08:49:37 1994"
        );
    }

    #[test]
    fn obsolete_forms_parse_back() {
        let recent = UNIX_EPOCH + Duration::from_secs(1_780_000_000);
        for form in [DateForm::Imf, DateForm::Rfc850, DateForm::Asctime] {
            let text = format_http_date(recent, form);
            let parsed = httpdate::parse_http_date(&text).expect("httpdate parses the output");
            assert_eq!(parsed, recent, "form {form:?} wrote {text}");
        }
    }

    #[test]
    fn shift_clamps_to_formattable_range() {
        assert_eq!(shift(sample(), -1_000_000_000_000), UNIX_EPOCH);
        let far = shift(sample(), i64::MAX);
        assert_eq!(
            format_http_date(far, DateForm::Imf),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }
}
