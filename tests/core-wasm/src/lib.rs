//! Runs one retried call through the sans-IO core, exported as a C-ABI function so that the
//! whole decision path is linked into the wasm32 module that CI inspects for `env` imports.

use steadfast::core::{Call, CallSpec, Instant, ResponseHead, Step};

/// Plays `failures` responses with status 503 and a `Retry-After: 1`, then a 200, and returns
/// the number of attempts the core started, or 0 if the core stopped early.
#[no_mangle]
pub extern "C" fn steadfast_core_attempts(failures: u32, seed: u64) -> u32 {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut now = Instant::ZERO;
    let mut call = Call::new(CallSpec::new("GET", "http://127.0.0.1"), now, seed_bytes);
    let mut sent = 0;
    // Each turn of the loop handles one step; the bound keeps a bug from spinning forever.
    for _ in 0..1000 {
        match call.poll(now) {
            Some(Step::StartAttempt(_)) => {
                sent += 1;
                let status = if sent > failures { 200 } else { 503 };
                let head = ResponseHead {
                    status,
                    retry_after: Some("1"),
                    date: Some("Sun, 06 Nov 1994 08:49:37 GMT"),
                    content_length: Some(0),
                    ..ResponseHead::default()
                };
                call.handle_head(now, &head);
            }
            Some(Step::Wait { until }) => {
                now = until;
                call.handle_timeout(now);
            }
            Some(Step::Deliver(_)) | Some(Step::Finish) => return call.attempts(),
            Some(_) | None => return 0,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_failures_take_three_attempts() {
        assert_eq!(steadfast_core_attempts(2, 1), 3);
    }

    #[test]
    fn too_many_failures_return_last_response() {
        assert_eq!(steadfast_core_attempts(5, 1), 3);
    }
}
