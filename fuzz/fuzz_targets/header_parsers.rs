//! Feeds arbitrary bytes to every header parser of the core and checks what each promises:
//! no panic, and results consistent with their input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::core::{
    parse_content_range, parse_http_date_ms, parse_range_start, parse_retry_after,
    retry_after_delay, RetryAfter,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(parsed) = parse_retry_after(text) {
        // Any parsed value gives a delay against any reference, with or without a Date.
        let _ = retry_after_delay(parsed, Some(text), 0);
        let _ = retry_after_delay(parsed, None, u64::MAX);
        if let RetryAfter::Date(ms) = parsed {
            assert_eq!(parse_http_date_ms(text), Some(ms));
        }
    }
    if let Some(range) = parse_content_range(text) {
        assert!(range.start <= range.end);
        if let Some(total) = range.total {
            assert!(range.end < total);
        }
    }
    let _ = parse_range_start(text);
});
