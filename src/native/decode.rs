//! Streaming decompression of response bodies: gzip, br, zstd and deflate, in chains of at
//! most two encodings.
//!
//! The decoders are push-based: the body reader feeds them wire chunks as they come off the
//! network and pulls decoded chunks out. So the decoder sits after the point where a resumed
//! body is spliced in, and a resumed encoded stream decodes as one.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
use bytes::{Buf, Bytes, BytesMut};
use futures_util::task::noop_waker_ref;
use http::header::{HeaderMap, CONTENT_ENCODING};
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

/// The largest number of encodings in one `Content-Encoding` chain that is decoded.
pub(crate) const MAX_ENCODINGS: usize = 2;

/// Decoded bytes produced per pull: small enough to keep memory flat, large enough to keep
/// the per-chunk overhead low.
const OUTPUT_CHUNK: usize = 32 * 1024;

/// A content coding that the native adapter decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    Brotli,
    Zstd,
    /// HTTP's `deflate`, which is the zlib format (RFC 9110, section 8.4.1.2).
    Deflate,
}

/// Parses every `Content-Encoding` header into the codings in the order they were applied,
/// leaving out `identity`.
///
/// # Errors
///
/// Returns a message naming the unknown coding, or the chain when it has more than
/// [`MAX_ENCODINGS`] codings.
pub(crate) fn parse_content_encoding(headers: &HeaderMap) -> Result<Vec<Encoding>, String> {
    let mut encodings = Vec::new();
    let mut all = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let text = value
            .to_str()
            .map_err(|_| "the Content-Encoding header is not visible ASCII".to_string())?;
        for token in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            all.push(token.to_string());
            let encoding = match token.to_ascii_lowercase().as_str() {
                "identity" => continue,
                "gzip" | "x-gzip" => Encoding::Gzip,
                "br" => Encoding::Brotli,
                "zstd" => Encoding::Zstd,
                "deflate" => Encoding::Deflate,
                _ => {
                    return Err(format!(
                        "the response uses Content-Encoding {token:?}, which steadfast cannot \
                         decode; it decodes gzip, br, zstd and deflate"
                    ))
                }
            };
            encodings.push(encoding);
        }
    }
    if encodings.len() > MAX_ENCODINGS {
        return Err(format!(
            "the response's Content-Encoding chain {:?} has {} codings; at most {MAX_ENCODINGS} \
             are decoded",
            all.join(", "),
            encodings.len()
        ));
    }
    Ok(encodings)
}

/// The result of a pull.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pull {
    Data(Bytes),
    /// The decoder needs the next wire chunk, or the end of input.
    NeedInput,
    /// The decoded stream is complete.
    End,
}

/// A chain of decoders, fed with wire chunks and pulled for decoded chunks.
pub(crate) struct Decoder {
    /// In decoding order: the last applied coding first.
    stages: Vec<Stage>,
    output: BytesMut,
}

impl Decoder {
    /// Creates a decoder for codings listed in the order they were applied.
    pub(crate) fn new(applied: &[Encoding]) -> Decoder {
        Decoder {
            stages: applied.iter().rev().map(|&e| Stage::new(e)).collect(),
            output: BytesMut::new(),
        }
    }

    /// Feeds the next wire chunk. Call only after [`Decoder::pull`] returned
    /// [`Pull::NeedInput`].
    pub(crate) fn push(&mut self, chunk: Bytes) {
        if let Some(first) = self.stages.first_mut() {
            first.feed_mut().push(chunk);
        }
    }

    /// Marks the end of the wire body.
    pub(crate) fn close_input(&mut self) {
        if let Some(first) = self.stages.first_mut() {
            first.feed_mut().closed = true;
        }
    }

    /// Pulls the next decoded chunk.
    ///
    /// # Errors
    ///
    /// Returns the decoder's error for corrupt or truncated input.
    pub(crate) fn pull(&mut self) -> io::Result<Pull> {
        let last = self.stages.len() - 1;
        self.pull_stage(last)
    }

    fn pull_stage(&mut self, index: usize) -> io::Result<Pull> {
        loop {
            match self.read_stage(index)? {
                Some(pull) => return Ok(pull),
                None if index == 0 => return Ok(Pull::NeedInput),
                None => match self.pull_stage(index - 1)? {
                    Pull::Data(chunk) => self.stages[index].feed_mut().push(chunk),
                    Pull::End => self.stages[index].feed_mut().closed = true,
                    Pull::NeedInput => return Ok(Pull::NeedInput),
                },
            }
        }
    }

    /// Reads decoded bytes from one stage; `None` when it needs more input.
    fn read_stage(&mut self, index: usize) -> io::Result<Option<Pull>> {
        self.output.resize(OUTPUT_CHUNK, 0);
        let mut buf = ReadBuf::new(&mut self.output[..]);
        // The feed returns `Pending` only when it is empty, and is refilled before the next
        // poll, so no wake-up is ever needed and a no-op waker is enough.
        let mut cx = Context::from_waker(noop_waker_ref());
        let polled = self.stages[index].poll_read(&mut cx, &mut buf);
        let filled = buf.filled().len();
        match polled {
            Poll::Pending => Ok(None),
            Poll::Ready(Err(error)) => Err(error),
            Poll::Ready(Ok(())) if filled == 0 => Ok(Some(Pull::End)),
            Poll::Ready(Ok(())) => {
                self.output.truncate(filled);
                Ok(Some(Pull::Data(self.output.split().freeze())))
            }
        }
    }
}

/// Input queued for one decoder.
#[derive(Default)]
struct Feed {
    chunk: Bytes,
    closed: bool,
}

impl Feed {
    fn push(&mut self, chunk: Bytes) {
        if self.chunk.is_empty() {
            self.chunk = chunk;
        } else {
            let mut joined = BytesMut::with_capacity(self.chunk.len() + chunk.len());
            joined.extend_from_slice(&self.chunk);
            joined.extend_from_slice(&chunk);
            self.chunk = joined.freeze();
        }
    }
}

impl AsyncRead for Feed {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.chunk.is_empty() {
            return if this.closed {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            };
        }
        let len = this.chunk.len().min(buf.remaining());
        buf.put_slice(&this.chunk[..len]);
        this.chunk.advance(len);
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for Feed {
    fn poll_fill_buf(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.chunk.is_empty() && !this.closed {
            return Poll::Pending;
        }
        Poll::Ready(Ok(&this.chunk[..]))
    }

    fn consume(self: Pin<&mut Self>, amount: usize) {
        self.get_mut().chunk.advance(amount);
    }
}

enum Stage {
    Gzip(GzipDecoder<Feed>),
    Brotli(BrotliDecoder<Feed>),
    Zstd(ZstdDecoder<Feed>),
    Deflate(ZlibDecoder<Feed>),
}

impl Stage {
    fn new(encoding: Encoding) -> Stage {
        let feed = Feed::default();
        match encoding {
            Encoding::Gzip => {
                let mut decoder = GzipDecoder::new(feed);
                // Concatenated gzip members form one body (RFC 1952, section 2.2).
                decoder.multiple_members(true);
                Stage::Gzip(decoder)
            }
            Encoding::Brotli => Stage::Brotli(BrotliDecoder::new(feed)),
            Encoding::Zstd => Stage::Zstd(ZstdDecoder::new(feed)),
            Encoding::Deflate => Stage::Deflate(ZlibDecoder::new(feed)),
        }
    }

    fn feed_mut(&mut self) -> &mut Feed {
        match self {
            Stage::Gzip(decoder) => decoder.get_mut(),
            Stage::Brotli(decoder) => decoder.get_mut(),
            Stage::Zstd(decoder) => decoder.get_mut(),
            Stage::Deflate(decoder) => decoder.get_mut(),
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self {
            Stage::Gzip(decoder) => Pin::new(decoder).poll_read(cx, buf),
            Stage::Brotli(decoder) => Pin::new(decoder).poll_read(cx, buf),
            Stage::Zstd(decoder) => Pin::new(decoder).poll_read(cx, buf),
            Stage::Deflate(decoder) => Pin::new(decoder).poll_read(cx, buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder};
    use http::HeaderValue;
    use tokio::io::AsyncReadExt;

    async fn encode(encoding: Encoding, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match encoding {
            Encoding::Gzip => GzipEncoder::new(data).read_to_end(&mut out).await,
            Encoding::Brotli => BrotliEncoder::new(data).read_to_end(&mut out).await,
            Encoding::Zstd => ZstdEncoder::new(data).read_to_end(&mut out).await,
            Encoding::Deflate => ZlibEncoder::new(data).read_to_end(&mut out).await,
        }
        .unwrap();
        out
    }

    /// Feeds `wire` in chunks of `chunk` bytes and collects the decoded output.
    fn decode_all(applied: &[Encoding], wire: &[u8], chunk: usize) -> io::Result<Vec<u8>> {
        let mut decoder = Decoder::new(applied);
        let mut input = wire.chunks(chunk);
        let mut output = Vec::new();
        for _ in 0..1_000_000 {
            match decoder.pull()? {
                Pull::Data(bytes) => output.extend_from_slice(&bytes),
                Pull::NeedInput => match input.next() {
                    Some(piece) => decoder.push(Bytes::copy_from_slice(piece)),
                    None => decoder.close_input(),
                },
                Pull::End => return Ok(output),
            }
        }
        panic!("the decoder did not finish");
    }

    fn sample() -> Vec<u8> {
        (0..200_000u32).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn each_encoding_round_trips() {
        let data = sample();
        for encoding in [
            Encoding::Gzip,
            Encoding::Brotli,
            Encoding::Zstd,
            Encoding::Deflate,
        ] {
            let wire = encode(encoding, &data).await;
            for chunk in [1, 7, 4096, wire.len()] {
                let decoded = decode_all(&[encoding], &wire, chunk).unwrap();
                assert_eq!(decoded, data, "{encoding:?} in chunks of {chunk}");
            }
        }
    }

    #[tokio::test]
    async fn chain_of_two_decodes_in_reverse() {
        let data = sample();
        let once = encode(Encoding::Gzip, &data).await;
        let twice = encode(Encoding::Brotli, &once).await;
        let decoded = decode_all(&[Encoding::Gzip, Encoding::Brotli], &twice, 1000).unwrap();
        assert_eq!(decoded, data);
    }

    #[tokio::test]
    async fn truncated_input_is_an_error() {
        let wire = encode(Encoding::Gzip, &sample()).await;
        let cut = &wire[..wire.len() / 2];
        assert!(decode_all(&[Encoding::Gzip], cut, 512).is_err());
    }

    #[test]
    fn corrupt_input_is_an_error() {
        let garbage = vec![0x55u8; 4096];
        assert!(decode_all(&[Encoding::Gzip], &garbage, 100).is_err());
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(CONTENT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn parses_chains_and_identity() {
        assert_eq!(parse_content_encoding(&headers(&[])), Ok(vec![]));
        assert_eq!(parse_content_encoding(&headers(&["identity"])), Ok(vec![]));
        assert_eq!(
            parse_content_encoding(&headers(&["GZIP, br"])),
            Ok(vec![Encoding::Gzip, Encoding::Brotli])
        );
        assert_eq!(
            parse_content_encoding(&headers(&["deflate", "zstd"])),
            Ok(vec![Encoding::Deflate, Encoding::Zstd])
        );
    }

    #[test]
    fn rejects_unknown_and_long_chains() {
        let unknown = parse_content_encoding(&headers(&["compress"])).unwrap_err();
        assert!(unknown.contains("\"compress\""), "{unknown}");
        let long = parse_content_encoding(&headers(&["gzip, gzip, gzip"])).unwrap_err();
        assert!(long.contains("at most 2"), "{long}");
    }
}
