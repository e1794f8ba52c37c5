//! Gzip encoding of step bodies, and the cached gzip bombs.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::Compression;
use tokio::sync::OnceCell;

/// Gzips `input` on the blocking pool, because large bodies take a noticeable time.
pub async fn gzip(input: Bytes) -> io::Result<Bytes> {
    run_blocking(move || {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&input)?;
        Ok(Bytes::from(encoder.finish()?))
    })
    .await
}

/// Returns a gzip stream that inflates to `inflated_len` zero bytes.
///
/// Each size is built once per process and cached, so repeated requests cost nothing. The bomb
/// is about 1/1000 of `inflated_len`: a 4 GiB bomb measured 4,247,572 bytes.
pub async fn gzip_bomb(inflated_len: u64) -> io::Result<Bytes> {
    static BOMBS: OnceLock<Mutex<HashMap<u64, Arc<OnceCell<Bytes>>>>> = OnceLock::new();
    let cell = {
        let mut bombs = BOMBS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(bombs.entry(inflated_len).or_default())
    };
    let bomb = cell
        .get_or_try_init(|| run_blocking(move || build_gzip_bomb(inflated_len)))
        .await?;
    Ok(bomb.clone())
}

/// Zero bytes per repeated deflate segment of a gzip bomb.
const BOMB_SEGMENT: usize = 1 << 20;

/// Builds the bomb from one compressed segment repeated, so the cost is one 1 MiB compression
/// plus a copy, whatever the size. Compressing the zeros directly took about 7 s per 256 MiB
/// in a debug build on a 2-core machine.
///
/// The segment is the output of a fresh deflate encoder after a sync flush. It ends on a byte
/// boundary and its back-references stay inside its own output, so copies of it can follow each
/// other. A fresh encoder then writes the remainder with the final block.
fn build_gzip_bomb(inflated_len: u64) -> io::Result<Bytes> {
    static ZEROS: [u8; BOMB_SEGMENT] = [0; BOMB_SEGMENT];
    let segments = inflated_len / BOMB_SEGMENT as u64;
    let remainder = (inflated_len % BOMB_SEGMENT as u64) as usize;

    let mut segment_encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    segment_encoder.write_all(&ZEROS)?;
    segment_encoder.flush()?;
    let segment = segment_encoder.get_ref().clone();
    let mut tail_encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    tail_encoder.write_all(&ZEROS[..remainder])?;
    let tail = tail_encoder.finish()?;

    let mut segment_crc = crc32fast::Hasher::new();
    segment_crc.update(&ZEROS);
    let mut crc = crc32fast::Hasher::new();
    combine_repeated(&mut crc, segment_crc, segments);
    let mut tail_crc = crc32fast::Hasher::new();
    tail_crc.update(&ZEROS[..remainder]);
    crc.combine(&tail_crc);

    let deflate_len = segment.len() as u64 * segments + tail.len() as u64;
    let mut out = Vec::with_capacity(GZIP_HEADER.len() + deflate_len as usize + 8);
    out.extend_from_slice(&GZIP_HEADER);
    for _ in 0..segments {
        out.extend_from_slice(&segment);
    }
    out.extend_from_slice(&tail);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    // ISIZE is the inflated length modulo 2^32 (RFC 1952).
    out.extend_from_slice(&(inflated_len as u32).to_le_bytes());
    Ok(Bytes::from(out))
}

/// Gzip member header (RFC 1952): deflate, no flags, no mtime, XFL 2 (maximum compression),
/// OS 255 (unknown).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];

/// Appends `count` copies of the block hashed by `block` to `crc`, by doubling.
fn combine_repeated(crc: &mut crc32fast::Hasher, block: crc32fast::Hasher, mut count: u64) {
    let mut power = block;
    while count > 0 {
        if count & 1 == 1 {
            crc.combine(&power);
        }
        count >>= 1;
        if count > 0 {
            let copy = power.clone();
            power.combine(&copy);
        }
    }
}

async fn run_blocking<F>(work: F) -> io::Result<Bytes>
where
    F: FnOnce() -> io::Result<Bytes> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join_error| io::Error::other(format!("gzip task failed: {join_error}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate(gzip: &[u8]) -> Vec<u8> {
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(gzip)
            .read_to_end(&mut inflated)
            .expect("bomb is valid gzip with a correct CRC and ISIZE");
        inflated
    }

    #[test]
    fn gzip_bomb_sizes_around_segment_boundaries() {
        let segment = BOMB_SEGMENT as u64;
        for len in [
            0,
            1,
            segment - 1,
            segment,
            segment + 1,
            3 * segment + 12_345,
        ] {
            let bomb = build_gzip_bomb(len).unwrap();
            let inflated = inflate(&bomb);
            assert_eq!(inflated.len() as u64, len, "inflated length for {len}");
            assert!(
                inflated.iter().all(|&byte| byte == 0),
                "non-zero byte for {len}"
            );
        }
    }

    #[tokio::test]
    async fn gzip_bomb_is_cached_per_size() {
        let first = gzip_bomb(1 << 20).await.expect("bomb builds");
        let second = gzip_bomb(1 << 20).await.expect("bomb builds");
        assert_eq!(
            first.as_ptr(),
            second.as_ptr(),
            "second request reuses the cache"
        );

        let inflated = inflate(&first);
        assert_eq!(inflated.len(), 1 << 20);
        assert!(inflated.iter().all(|&byte| byte == 0));
    }
}
