//! Reading an input that may be gzip: sniffing its magic bytes, and decompressing one gzip
//! member after another, refusing what follows the last.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use flate2::bufread::GzDecoder;

use super::parse::read_full;

/// An input with the bytes read to sniff its format put back in front.
pub type Sniffed<R> = io::Chain<Cursor<Vec<u8>>, R>;

/// A reader yielding the uncompressed content of an input that may or may not be gzip.
pub enum Content<R: Read> {
    /// The input as is.
    Plain(Sniffed<R>),
    /// The input decompressed (all gzip members, as `gzip -d` does).
    Gzip(Box<GzipMembers<BufReader<Sniffed<R>>>>),
}

impl<R: Read> Content<R> {
    /// Sniffs the first two bytes of `reader` for the gzip magic `1f 8b` and wraps it accordingly.
    pub fn sniff(mut reader: R) -> io::Result<Content<R>> {
        let mut prefix = [0u8; 2];
        let n = read_full(&mut reader, &mut prefix)?;
        let gzip = n == 2 && prefix == [0x1f, 0x8b];
        let stream = Cursor::new(prefix[..n].to_vec()).chain(reader);
        Ok(if gzip {
            Content::Gzip(Box::new(GzipMembers::new(BufReader::new(stream))))
        } else {
            Content::Plain(stream)
        })
    }

    /// Whether the input is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        matches!(self, Content::Gzip(_))
    }
}

impl<R: Read> Read for Content<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Content::Plain(r) => r.read(buf),
            Content::Gzip(r) => r.read(buf),
        }
    }
}

/// The error inside the `io::Error` a [`GzipMembers`] returns when bytes that are not another
/// gzip member follow a member.
#[derive(Debug)]
pub(super) struct TrailingGzipData;

impl std::fmt::Display for TrailingGzipData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("trailing data after the gzip stream")
    }
}

impl std::error::Error for TrailingGzipData {}

/// Decompresses one gzip member after another, as `gzip -d` does, and refuses what follows the
/// last member unless it is the end of the input.
///
/// flate2's `MultiGzDecoder` reads such bytes as the header of another member and reports
/// "unexpected end of file" or "invalid gzip header"; this says what it is.
pub struct GzipMembers<R: BufRead> {
    /// The member being decompressed; `None` once the input has ended.
    decoder: Option<GzDecoder<R>>,
}

impl<R: BufRead> GzipMembers<R> {
    /// Decompresses `reader`, which must start with a gzip member.
    pub fn new(reader: R) -> Self {
        GzipMembers {
            decoder: Some(GzDecoder::new(reader)),
        }
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended (its CRC and length checked): the `bufread` decoder has consumed
            // exactly its bytes, so what follows is in the inner reader.
            let Some(finished) = self.decoder.take() else {
                return Ok(0);
            };
            let mut inner = finished.into_inner();
            let next = loop {
                match inner.fill_buf() {
                    Ok(rest) => break rest,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            match next {
                [] => return Ok(0),
                // Another member (a lone 0x1f at the end is left to the decoder to refuse).
                [0x1f] | [0x1f, 0x8b, ..] => self.decoder = Some(GzDecoder::new(inner)),
                _ => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, TrailingGzipData));
                }
            }
        }
    }
}
