//! Seeded randomness for jitter and generated ids.
//!
//! xoshiro256** is written out here (a dozen lines of the published reference algorithm) so
//! the core needs neither `rand_core` nor a getrandom feature on wasm32. The adapters seed it
//! from the operating system or `crypto.getRandomValues`; tests seed it with a constant.

use super::format::push_hex_byte;

/// A xoshiro256** generator seeded by the adapter.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// Creates a generator from 32 bytes of entropy. An all-zero seed, which would make
    /// xoshiro emit only zeros, is replaced by a fixed non-zero state.
    pub fn from_seed(seed: [u8; 32]) -> Rng {
        let mut state = [0u64; 4];
        for (word, bytes) in state.iter_mut().zip(seed.chunks_exact(8)) {
            *word = u64::from_le_bytes(bytes.try_into().expect("chunks_exact yields 8 bytes"));
        }
        if state == [0; 4] {
            state = [
                0x9E37_79B9_7F4A_7C15,
                0xBF58_476D_1CE4_E5B9,
                0x94D0_49BB_1331_11EB,
                1,
            ];
        }
        Rng { state }
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Returns a value uniform in `[low, high]` (inclusive), by Lemire's multiply-shift.
    /// The bias is below 2^-64 per draw, far under what jitter can observe.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if low >= high {
            return low;
        }
        let span = high - low;
        if span == u64::MAX {
            return self.next_u64();
        }
        let scaled = (u128::from(self.next_u64()) * u128::from(span + 1)) >> 64;
        low + scaled as u64
    }

    /// Returns a random UUID version 4 in its hyphenated lowercase form.
    pub fn uuid_v4(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut text = String::with_capacity(36);
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                text.push('-');
            }
            push_hex_byte(&mut text, *byte);
        }
        text
    }

    /// Returns `len` random bytes as lowercase hex, never all zeros (W3C trace context
    /// treats an all-zero trace or parent id as invalid).
    pub fn hex_id(&mut self, len: usize) -> String {
        loop {
            let mut text = String::with_capacity(len * 2);
            let mut all_zero = true;
            let mut word = 0u64;
            for i in 0..len {
                if i % 8 == 0 {
                    word = self.next_u64();
                }
                let byte = (word >> ((i % 8) * 8)) as u8;
                all_zero &= byte == 0;
                push_hex_byte(&mut text, byte);
            }
            if !all_zero {
                return text;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant() {
        let mut rng = Rng::from_seed([7; 32]);
        for _ in 0..100 {
            let id = rng.uuid_v4();
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4");
            assert!(
                matches!(&id[19..20], "8" | "9" | "a" | "b"),
                "variant in {id}"
            );
        }
    }

    #[test]
    fn between_stays_in_range() {
        let mut rng = Rng::from_seed([1; 32]);
        for _ in 0..10_000 {
            let value = rng.between(10, 20);
            assert!((10..=20).contains(&value));
        }
        assert_eq!(rng.between(5, 5), 5);
        assert_eq!(rng.between(9, 3), 9);
    }

    #[test]
    fn zero_seed_still_random() {
        let mut rng = Rng::from_seed([0; 32]);
        assert_ne!(rng.next_u64(), rng.next_u64());
    }

    #[test]
    fn hex_id_length() {
        let mut rng = Rng::from_seed([3; 32]);
        assert_eq!(rng.hex_id(16).len(), 32);
        assert_eq!(rng.hex_id(8).len(), 16);
    }
}
