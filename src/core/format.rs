//! Number formatting for messages without `core::fmt`'s float printing.
//!
//! `f64`'s `Display` brings Grisu and Dragon4 with their bignum tables. Leaving them out
//! saves about 8 KiB of the npm package's gzipped wasm, measured with
//! `scripts/measure-pkg-size.mjs`.

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `byte` as two lowercase hex digits, as `{byte:02x}` does.
pub(crate) fn push_hex_byte(text: &mut String, byte: u8) {
    text.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
    text.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
}

/// Formats `value` as `f64`'s `Display` does without a precision: the shortest decimal
/// that reads back as `value`, never in exponent form, such as `0.1`, `-3`, `1e21` as
/// `1000000000000000000000`, `NaN` and `inf`.
///
/// The text equals `Display`'s whenever that has at most 15 significant digits, at most 22
/// digits after the point and a magnitude below 1e37. Other values are printed as their
/// exact decimal expansion (every finite `f64` has one), which reads back as the same `f64`
/// but has more digits than `Display` prints.
pub(crate) fn f64_display(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    let mut text = String::new();
    if value.is_sign_negative() {
        text.push('-');
    }
    let magnitude = value.abs();
    if magnitude.is_infinite() {
        text.push_str("inf");
    } else if let Some((digits, point)) = shortest_decimal(magnitude) {
        push_decimal(&mut text, &digits, point);
    } else {
        let (digits, point) = exact_decimal(magnitude);
        push_decimal(&mut text, &digits, point);
    }
    text
}

/// 2^53: every integer below it is exact in an `f64`.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Returns the fewest decimal digits whose value rounds to `magnitude` (finite, not
/// negative), and how many of them follow the decimal point, negative for trailing zeros.
///
/// A candidate `n × 10^±k` with `n` below 2^53 and `k` at most 22 has both factors exact in
/// an `f64`, so one correctly rounded multiplication or division yields the `f64` nearest
/// to it: the value that parsing its digits yields.
fn shortest_decimal(magnitude: f64) -> Option<(String, i32)> {
    if magnitude == 0.0 {
        return Some(("0".to_string(), 0));
    }
    if magnitude < EXACT_INTEGERS {
        let mut scale = 1.0;
        for fraction_digits in 0..=22 {
            let rounded = (magnitude * scale).round();
            for n in [rounded, rounded - 1.0, rounded + 1.0] {
                if n > 0.0 && n < EXACT_INTEGERS && n / scale == magnitude {
                    return Some(((n as u64).to_string(), fraction_digits));
                }
            }
            scale *= 10.0;
        }
        return None;
    }
    // An integer of 2^53 or more: drop as many trailing digits as still read back the same.
    let mut scale = 1e22;
    for zeros in (0..=22).rev() {
        let rounded = (magnitude / scale).round();
        for n in [rounded, rounded - 1.0, rounded + 1.0] {
            if n > 0.0 && n < EXACT_INTEGERS && n * scale == magnitude {
                return Some(((n as u64).to_string(), -zeros));
            }
        }
        scale /= 10.0;
    }
    None
}

/// Returns the exact decimal digits of `magnitude` (finite, not negative) and how many of
/// them follow the decimal point.
fn exact_decimal(magnitude: f64) -> (String, i32) {
    let bits = magnitude.to_bits();
    let biased_exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = if biased_exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased_exponent - 1075)
    };
    // magnitude = mantissa × 2^exponent, and 2^-e = 5^e / 10^e for a negative exponent.
    let mut limbs = vec![mantissa as u32, (mantissa >> 32) as u32];
    let (factor, times) = if exponent >= 0 {
        (2, exponent)
    } else {
        (5, -exponent)
    };
    for _ in 0..times {
        let mut carry = 0u64;
        for limb in &mut limbs {
            let product = u64::from(*limb) * factor + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    // Base 2^32 limbs to base 10^9 chunks, least significant first.
    let mut chunks = Vec::new();
    while limbs.iter().any(|&limb| limb != 0) {
        let mut remainder = 0u64;
        for limb in limbs.iter_mut().rev() {
            let dividend = (remainder << 32) | u64::from(*limb);
            *limb = (dividend / 1_000_000_000) as u32;
            remainder = dividend % 1_000_000_000;
        }
        chunks.push(remainder as u32);
    }
    let mut digits = chunks.pop().unwrap_or(0).to_string();
    for chunk in chunks.iter().rev() {
        let chunk = chunk.to_string();
        digits.extend(core::iter::repeat('0').take(9 - chunk.len()));
        digits.push_str(&chunk);
    }
    let mut point = if exponent >= 0 { 0 } else { -exponent };
    while point > 0 && digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
        point -= 1;
    }
    (digits, point)
}

/// Appends `digits` with a decimal point `point` digits from the right: zeros pad a
/// negative `point` on the right and a `point` beyond the digits on the left.
fn push_decimal(text: &mut String, digits: &str, point: i32) {
    if point <= 0 {
        text.push_str(digits);
        text.extend(core::iter::repeat('0').take(point.unsigned_abs() as usize));
        return;
    }
    let point = point as usize;
    if point >= digits.len() {
        text.push_str("0.");
        text.extend(core::iter::repeat('0').take(point - digits.len()));
        text.push_str(digits);
    } else {
        let (whole, fraction) = digits.split_at(digits.len() - point);
        text.push_str(whole);
        text.push('.');
        text.push_str(fraction);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Returns how many significant digits `Display` prints for `value`.
    fn significant_digits(value: f64) -> usize {
        let text = value.abs().to_string().replace('.', "");
        text.trim_start_matches('0').trim_end_matches('0').len()
    }

    /// Returns how many digits `Display` prints after the point for `value`.
    fn fraction_digits(value: f64) -> usize {
        let text = value.to_string();
        text.split_once('.')
            .map_or(0, |(_, fraction)| fraction.len())
    }

    #[test]
    fn f64_matches_display_for_listed_values() {
        let cases = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            0.1,
            -0.1,
            0.5,
            1000.1,
            1000.0001,
            -1.0,
            1e-7,
            -1e-20,
            1e21,
            1e22,
            1e23,
            2f64.powi(60),
            123_456_789.125,
        ];
        for value in cases {
            assert_eq!(f64_display(value), value.to_string(), "{value:e}");
        }
    }

    #[test]
    fn f64_exact_form_reads_back() {
        for value in [
            0.1 + 0.2,
            5e-324,
            -1e-30,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let formatted = f64_display(value);
            let parsed: f64 = formatted.parse().unwrap();
            assert_eq!(parsed.to_bits(), value.to_bits(), "{formatted}");
        }
    }

    proptest! {
        #[test]
        fn f64_reads_back_for_any(bits in any::<u64>()) {
            let value = f64::from_bits(bits);
            prop_assume!(value.is_finite());
            let formatted = f64_display(value);
            let parsed: f64 = formatted.parse().unwrap();
            prop_assert_eq!(parsed.to_bits(), value.to_bits(), "{}", formatted);
            if significant_digits(value) <= 15 && fraction_digits(value) <= 22 && value.abs() < 1e37 {
                prop_assert_eq!(formatted, value.to_string());
            }
        }

        #[test]
        fn f64_matches_display_for_short_decimals(n in -10_000_000i64..10_000_000, k in 0u32..8) {
            let value = n as f64 / 10f64.powi(k as i32);
            prop_assert_eq!(f64_display(value), value.to_string());
        }

        #[test]
        fn hex_byte_matches_format(byte in any::<u8>()) {
            let mut text = String::new();
            push_hex_byte(&mut text, byte);
            prop_assert_eq!(text, format!("{byte:02x}"));
        }
    }
}
