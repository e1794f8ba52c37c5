//! `Retry-After` and HTTP-date parsing (RFC 9110, sections 5.6.7 and 10.2.3).

use core::time::Duration;
use std::time::UNIX_EPOCH;

/// A parsed `Retry-After` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Delta-seconds. Values too large for `u64` saturate, which every cap treats as too long.
    Delay(Duration),
    /// An HTTP-date, as milliseconds since the Unix epoch.
    Date(u64),
}

/// Parses a `Retry-After` header value: delta-seconds, or an HTTP-date in any of the three
/// RFC 9110 forms (IMF-fixdate, RFC 850, asctime). Returns `None` for anything else,
/// which the caller ignores in favour of normal backoff.
///
/// Total over arbitrary input: it never panics.
pub fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.bytes().fold(0u64, |acc, digit| {
            acc.saturating_mul(10)
                .saturating_add(u64::from(digit - b'0'))
        });
        return Some(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    parse_http_date_ms(value).map(RetryAfter::Date)
}

/// Parses an HTTP-date in any of the three RFC 9110 forms into milliseconds since the Unix
/// epoch. Dates before 1970 are rejected.
pub fn parse_http_date_ms(value: &str) -> Option<u64> {
    let time = httpdate::parse_http_date(value.trim()).ok()?;
    let since_epoch = time.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since_epoch.as_millis()).ok()
}

/// Returns how long `retry_after` requests the client to wait.
///
/// A date is measured against the response's `Date` header when that parses, so a skewed
/// client clock does not matter; otherwise against `wall_ms`, the adapter's wall clock in
/// Unix milliseconds. A date in the past gives zero.
pub fn retry_after_delay(
    retry_after: RetryAfter,
    date_header: Option<&str>,
    wall_ms: u64,
) -> Duration {
    match retry_after {
        RetryAfter::Delay(delay) => delay,
        RetryAfter::Date(at_ms) => {
            let reference = date_header.and_then(parse_http_date_ms).unwrap_or(wall_ms);
            Duration::from_millis(at_ms.saturating_sub(reference))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOV_6_1994: u64 = 784_111_777_000;

    #[test]
    fn delta_seconds() {
        assert_eq!(
            parse_retry_after("120"),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        assert_eq!(
            parse_retry_after(" 0 "),
            Some(RetryAfter::Delay(Duration::ZERO))
        );
    }

    #[test]
    fn huge_delta_saturates() {
        let parsed = parse_retry_after("99999999999999999999999999999").unwrap();
        assert_eq!(parsed, RetryAfter::Delay(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn all_three_date_forms() {
        for form in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(form),
                Some(RetryAfter::Date(NOV_6_1994)),
                "{form}"
            );
        }
    }

    #[test]
    fn garbage_ignored() {
        for value in [
            "2m", "tomorrow", "", "  ", "-5", "1.5", "NaN", "3 s", "+3", "0x10",
        ] {
            assert_eq!(parse_retry_after(value), None, "{value:?}");
        }
    }

    #[test]
    fn year_9999_parses_far_ahead() {
        let parsed = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT").unwrap();
        let delay = retry_after_delay(parsed, None, NOV_6_1994);
        assert!(delay > Duration::from_secs(86400 * 365 * 8000), "{delay:?}");
    }

    #[test]
    fn date_relative_to_date_header() {
        let at = parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT").unwrap();
        // The client clock is a day off, but the server's Date header fixes the reference.
        let delay = retry_after_delay(
            at,
            Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            NOV_6_1994 + 86_400_000,
        );
        assert_eq!(delay, Duration::from_secs(3));
    }

    #[test]
    fn date_without_date_header_uses_wall_clock() {
        let at = parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT").unwrap();
        assert_eq!(
            retry_after_delay(at, None, NOV_6_1994),
            Duration::from_secs(3)
        );
        assert_eq!(
            retry_after_delay(at, Some("garbage"), NOV_6_1994),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn past_date_is_zero() {
        let at = parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            retry_after_delay(at, None, NOV_6_1994 + 5000),
            Duration::ZERO
        );
    }

    proptest! {
        #[test]
        fn total_over_arbitrary_strings(value in ".*") {
            let _ = parse_retry_after(&value);
        }

        #[test]
        fn total_over_date_like_strings(value in "[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9:]{8} GMT") {
            if let Some(parsed) = parse_retry_after(&value) {
                let _ = retry_after_delay(parsed, Some(&value), u64::MAX);
            }
        }

        #[test]
        fn digits_round_trip(secs in any::<u32>()) {
            let parsed = parse_retry_after(&secs.to_string());
            prop_assert_eq!(parsed, Some(RetryAfter::Delay(Duration::from_secs(u64::from(secs)))));
        }
    }
}
