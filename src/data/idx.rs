//! The IDX file format, optionally gzip-compressed.
//!
//! An IDX file is a header followed by the data, all big-endian:
//!
//! ```text
//! offset 0     00 00          magic: two zero bytes
//! offset 2     dtype          0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64
//! offset 3     ndims          number of dimensions (at least 1 here)
//! offset 4     dims           ndims × u32, outermost first
//! offset 4+4n  data           product(dims) elements, row-major
//! ```
//!
//! A file starting with the gzip magic `1f 8b` is decompressed on the fly (whatever its name).
//! The parser streams: it reads the header, computes the data size with checked arithmetic,
//! refuses sizes the input cannot hold *before* allocating, reads exactly that many bytes and
//! then insists on the end of input. The SHA-256 of the uncompressed stream is computed on the way.
//!
//! A caller that knows what the header must declare (the published MNIST dimensions when
//! verifying, `(N, 28, 28)` images in any case) passes a header check, run before a single data
//! byte is read: a forged header then costs nothing, whatever the gzip ratio allows. Files are
//! opened only if they are regular files: a FIFO, a device or a directory is refused up front.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::GzDecoder;

use super::checksums::HashingReader;
use super::{DataError, kind_of};

/// Deflate's largest possible expansion: no gzip input inflates to more than ~1032× its size.
pub const MAX_GZIP_RATIO: u64 = 1032;

/// Initial buffer size when the input length is unknown: the buffer then grows only as data arrives.
const UNBOUNDED_INITIAL_CAPACITY: usize = 1 << 20;

/// How many bytes after the declared data are counted for the error message: enough to say how
/// much is there, without inflating a gzip bomb hidden after valid data.
const TRAILING_COUNT_LIMIT: u64 = 1 << 20;

/// The most reserved up front for a gzip stream's data: MNIST's largest file (47 MB) fits, a
/// forged header claiming gigabytes gets no more than this until real data arrives.
const GZIP_INITIAL_CAPACITY: usize = 64 << 20;

/// The element type of an IDX file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `0x08`, unsigned byte.
    U8,
    /// `0x09`, signed byte.
    I8,
    /// `0x0b`, big-endian i16.
    I16,
    /// `0x0c`, big-endian i32.
    I32,
    /// `0x0d`, big-endian f32.
    F32,
    /// `0x0e`, big-endian f64.
    F64,
}

impl Dtype {
    /// The dtype for a header byte, or `None` if the byte is not an IDX type.
    pub fn from_code(code: u8) -> Option<Dtype> {
        match code {
            0x08 => Some(Dtype::U8),
            0x09 => Some(Dtype::I8),
            0x0b => Some(Dtype::I16),
            0x0c => Some(Dtype::I32),
            0x0d => Some(Dtype::F32),
            0x0e => Some(Dtype::F64),
            _ => None,
        }
    }

    /// The header byte for this dtype.
    pub fn code(self) -> u8 {
        match self {
            Dtype::U8 => 0x08,
            Dtype::I8 => 0x09,
            Dtype::I16 => 0x0b,
            Dtype::I32 => 0x0c,
            Dtype::F32 => 0x0d,
            Dtype::F64 => 0x0e,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::I8 => 1,
            Dtype::I16 => 2,
            Dtype::I32 | Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }

    /// Rust name of the element type, e.g. `u8`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::U8 => "u8",
            Dtype::I8 => "i8",
            Dtype::I16 => "i16",
            Dtype::I32 => "i32",
            Dtype::F32 => "f32",
            Dtype::F64 => "f64",
        }
    }
}

/// A parsed IDX header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxHeader {
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions as stored (outermost first).
    pub dims: Vec<u32>,
}

impl IdxHeader {
    /// Length of the header in bytes: 4 magic bytes plus 4 per dimension.
    pub fn byte_len(&self) -> u64 {
        4 + 4 * self.dims.len() as u64
    }

    /// The data type and dimensions for humans, e.g. `u8 (60000, 28, 28)`.
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self.dims.iter().map(|d| d.to_string()).collect();
        format!("{} ({})", self.dtype.name(), dims.join(", "))
    }
}

/// What is known about how many data bytes the input can still provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Available {
    /// Nothing is known (a plain [`Read`]): buffers grow only as bytes arrive.
    Unknown,
    /// Exactly this many bytes follow the header (an uncompressed input of known length).
    Exactly(u64),
    /// At most this many (gzip input: compressed length × [`MAX_GZIP_RATIO`]).
    AtMost(u64),
}

/// The data of an IDX file, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum IdxData {
    /// `0x08`.
    U8(Vec<u8>),
    /// `0x09`.
    I8(Vec<i8>),
    /// `0x0b`.
    I16(Vec<i16>),
    /// `0x0c`.
    I32(Vec<i32>),
    /// `0x0d`.
    F32(Vec<f32>),
    /// `0x0e`.
    F64(Vec<f64>),
}

impl IdxData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }

    /// True if there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            IdxData::U8(_) => Dtype::U8,
            IdxData::I8(_) => Dtype::I8,
            IdxData::I16(_) => Dtype::I16,
            IdxData::I32(_) => Dtype::I32,
            IdxData::F32(_) => Dtype::F32,
            IdxData::F64(_) => Dtype::F64,
        }
    }

    /// Decodes big-endian `bytes` (whose length is a multiple of `dtype.size()`).
    fn from_be_bytes(dtype: Dtype, bytes: Vec<u8>) -> IdxData {
        fn decode<T, const N: usize>(bytes: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
            bytes
                .chunks_exact(N)
                .map(|chunk| {
                    let mut array = [0u8; N];
                    array.copy_from_slice(chunk);
                    from(array)
                })
                .collect()
        }
        match dtype {
            Dtype::U8 => IdxData::U8(bytes),
            Dtype::I8 => IdxData::I8(bytes.into_iter().map(|b| b as i8).collect()),
            Dtype::I16 => IdxData::I16(decode(&bytes, i16::from_be_bytes)),
            Dtype::I32 => IdxData::I32(decode(&bytes, i32::from_be_bytes)),
            Dtype::F32 => IdxData::F32(decode(&bytes, f32::from_be_bytes)),
            Dtype::F64 => IdxData::F64(decode(&bytes, f64::from_be_bytes)),
        }
    }
}

/// An IDX array: its shape and its data (`data.len()` is the product of `dims`).
#[derive(Debug, Clone, PartialEq)]
pub struct Idx {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: IdxData,
}

/// A parsed IDX input with what was learnt on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxFile {
    /// The file (or the name given to an in-memory input).
    pub source: PathBuf,
    /// Whether the input was gzip-compressed.
    pub gzip: bool,
    /// SHA-256 of the uncompressed content, header included.
    pub sha256: [u8; 32],
    /// The array.
    pub idx: Idx,
}

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
struct TrailingGzipData;

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

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Turns a read error into a [`DataError`]: decompression failures are `CorruptGzip`, bytes
/// after the gzip stream `GzipTrailingData`.
fn read_error(source: &Path, gzip: bool, error: io::Error) -> DataError {
    if gzip
        && error
            .get_ref()
            .is_some_and(|inner| inner.is::<TrailingGzipData>())
    {
        return DataError::GzipTrailingData {
            file: source.to_path_buf(),
        };
    }
    let decoder_kind = matches!(
        error.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    );
    if gzip && decoder_kind {
        DataError::CorruptGzip {
            file: source.to_path_buf(),
            source: error,
        }
    } else {
        DataError::FileIo {
            file: source.to_path_buf(),
            source: error,
        }
    }
}

/// The number of data bytes `header` declares, refused — before anything is allocated — if the
/// arithmetic overflows or the input cannot hold that many bytes.
///
/// `available` bounds what the input can provide after the header. The parser pre-allocates
/// exactly the returned length (or a small buffer when `available` is `Unknown`), so an `Ok(n)`
/// with a known bound is always `n <= bound`.
pub fn expected_data_len(
    header: &IdxHeader,
    available: Available,
    source: &Path,
) -> Result<usize, DataError> {
    let elem_size = header.dtype.size();
    let overflow = || DataError::SizeOverflow {
        file: source.to_path_buf(),
        dims: header.dims.clone(),
        elem_size,
    };
    let claimed = header
        .dims
        .iter()
        .try_fold(elem_size as u64, |acc, &d| acc.checked_mul(u64::from(d)))
        .ok_or_else(overflow)?;
    match available {
        Available::Exactly(found) if claimed > found => {
            return Err(DataError::Truncated {
                file: source.to_path_buf(),
                part: "data",
                expected: claimed,
                found,
            });
        }
        Available::AtMost(limit) if claimed > limit => {
            return Err(DataError::TooLarge {
                file: source.to_path_buf(),
                claimed,
                limit,
            });
        }
        _ => {}
    }
    usize::try_from(claimed).map_err(|_| overflow())
}

/// Reads and checks the header from the (uncompressed) stream.
fn read_header(reader: &mut impl Read, source: &Path, gzip: bool) -> Result<IdxHeader, DataError> {
    let file = || source.to_path_buf();
    let mut magic = [0u8; 4];
    let n = read_full(reader, &mut magic).map_err(|e| read_error(source, gzip, e))?;
    if n < 4 {
        // Show only the bytes there are: zero padding would pass for magic bytes.
        return Err(DataError::TooShort {
            file: file(),
            gzip,
            found: magic[..n].to_vec(),
        });
    }
    if magic[..2] != [0, 0] {
        return Err(DataError::BadMagic {
            file: file(),
            found: magic,
        });
    }
    let dtype = Dtype::from_code(magic[2]).ok_or(DataError::UnknownDtype {
        file: file(),
        code: magic[2],
    })?;
    let ndims = usize::from(magic[3]);
    if ndims == 0 {
        return Err(DataError::ZeroDims { file: file() });
    }
    let mut dim_bytes = vec![0u8; 4 * ndims];
    let n = read_full(reader, &mut dim_bytes).map_err(|e| read_error(source, gzip, e))?;
    if n < dim_bytes.len() {
        return Err(DataError::Truncated {
            file: file(),
            part: "header",
            expected: 4 + dim_bytes.len() as u64,
            found: 4 + n as u64,
        });
    }
    let dims = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(IdxHeader { dtype, dims })
}

/// A check on an IDX header, run after the header is read and before any data is: return an
/// error to refuse the file without reading (or inflating) its data.
pub type HeaderCheck<'a> = &'a dyn Fn(&IdxHeader) -> Result<(), DataError>;

/// Accepts every header.
fn any_header(_: &IdxHeader) -> Result<(), DataError> {
    Ok(())
}

/// What one pass over an IDX input found.
struct Parsed {
    gzip: bool,
    sha256: [u8; 32],
    header: IdxHeader,
    /// The data bytes, or empty when they were only hashed.
    bytes: Vec<u8>,
}

/// The one pass over an IDX input: header, `check`, data (kept or only hashed), end of input.
fn parse<R: Read>(
    reader: R,
    source: &Path,
    input_len: Option<u64>,
    check: HeaderCheck<'_>,
    keep: bool,
) -> Result<Parsed, DataError> {
    let content = Content::sniff(reader).map_err(|e| DataError::FileIo {
        file: source.to_path_buf(),
        source: e,
    })?;
    let gzip = content.is_gzip();
    let mut stream = HashingReader::new(content);

    let header = read_header(&mut stream, source, gzip)?;
    let available = match input_len {
        None => Available::Unknown,
        Some(len) if gzip => Available::AtMost(len.saturating_mul(MAX_GZIP_RATIO)),
        Some(len) => Available::Exactly(len.saturating_sub(header.byte_len())),
    };
    // The caller's check first: when it knows the shape, that is the clearest refusal.
    check(&header)?;
    let expected = expected_data_len(&header, available, source)?;

    let mut bytes = Vec::new();
    let found = if keep {
        // A plain file's size proves its data is there; a gzip stream only bounds it (by
        // 1032×), so a forged header could claim gigabytes: reserve a bounded amount and let
        // real data grow it.
        let capacity = match available {
            Available::Exactly(_) => expected,
            Available::AtMost(_) => expected.min(GZIP_INITIAL_CAPACITY),
            Available::Unknown => expected.min(UNBOUNDED_INITIAL_CAPACITY),
        };
        bytes.reserve_exact(capacity);
        (&mut stream)
            .take(expected as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| read_error(source, gzip, e))?;
        bytes.len() as u64
    } else {
        io::copy(&mut (&mut stream).take(expected as u64), &mut io::sink())
            .map_err(|e| read_error(source, gzip, e))?
    };
    if found < expected as u64 {
        return Err(DataError::Truncated {
            file: source.to_path_buf(),
            part: "data",
            expected: expected as u64,
            found,
        });
    }

    // Read on to the end: this both finds trailing bytes and makes gzip check its CRC. Counting
    // stops at a bound, so that a bomb after valid data is not inflated to count it.
    let extra = io::copy(
        &mut (&mut stream).take(TRAILING_COUNT_LIMIT + 1),
        &mut io::sink(),
    )
    .map_err(|e| read_error(source, gzip, e))?;
    if extra > 0 {
        let (extra, at_least) = match available {
            Available::Exactly(after_header) => (after_header - expected as u64, false),
            _ if extra > TRAILING_COUNT_LIMIT => (TRAILING_COUNT_LIMIT, true),
            _ => (extra, false),
        };
        return Err(DataError::TrailingBytes {
            file: source.to_path_buf(),
            expected: expected as u64,
            extra,
            at_least,
        });
    }
    Ok(Parsed {
        gzip,
        sha256: stream.finish(),
        header,
        bytes,
    })
}

/// Parses an IDX input (gzip or not) from any reader.
///
/// `source` names the input in errors. `input_len`, when known, is the length of the raw input
/// (compressed, if gzip); it lets forged headers be refused before any allocation. Without it
/// the data buffer starts small and grows only as bytes actually arrive (up to what the header
/// declares: pass a [`HeaderCheck`] to [`read_idx_checked`] to bound that).
pub fn read_idx<R: Read>(
    reader: R,
    source: &Path,
    input_len: Option<u64>,
) -> Result<IdxFile, DataError> {
    read_idx_checked(reader, source, input_len, &any_header)
}

/// [`read_idx`], refusing the input if `check` refuses its header, before any data is read.
pub fn read_idx_checked<R: Read>(
    reader: R,
    source: &Path,
    input_len: Option<u64>,
    check: HeaderCheck<'_>,
) -> Result<IdxFile, DataError> {
    let parsed = parse(reader, source, input_len, check, true)?;
    let dims = parsed.header.dims.iter().map(|&d| d as usize).collect();
    Ok(IdxFile {
        source: source.to_path_buf(),
        gzip: parsed.gzip,
        sha256: parsed.sha256,
        idx: Idx {
            dims,
            data: IdxData::from_be_bytes(parsed.header.dtype, parsed.bytes),
        },
    })
}

/// Opens `path` for reading if it is a regular file (after symbolic links), with its length.
///
/// A directory, FIFO, device or socket is refused before it is opened: opening a FIFO blocks
/// until a writer comes, and a device like `/dev/zero` never ends.
pub fn open_regular(path: &Path) -> Result<(File, u64), DataError> {
    let io_error = |e| DataError::FileIo {
        file: path.to_path_buf(),
        source: e,
    };
    let not_a_file = |kind| DataError::NotAFile {
        file: path.to_path_buf(),
        kind,
    };
    let metadata = std::fs::metadata(path).map_err(io_error)?;
    if !metadata.is_file() {
        return Err(not_a_file(kind_of(metadata.file_type())));
    }
    let file = File::open(path).map_err(io_error)?;
    // Checked again on what was opened: the path may have been swapped in between.
    let metadata = file.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        return Err(not_a_file(kind_of(metadata.file_type())));
    }
    Ok((file, metadata.len()))
}

/// Parses the IDX file at `path` (gzip recognised by its magic bytes, not its name).
pub fn read_idx_file(path: &Path) -> Result<IdxFile, DataError> {
    read_idx_file_checked(path, &any_header)
}

/// [`read_idx_file`], refusing the file if `check` refuses its header, before any data is read.
pub fn read_idx_file_checked(path: &Path, check: HeaderCheck<'_>) -> Result<IdxFile, DataError> {
    let (file, len) = open_regular(path)?;
    read_idx_checked(BufReader::new(file), path, Some(len), check)
}

/// Checks the IDX file at `path` as [`read_idx_file_checked`] does, without keeping its data:
/// returns its header and the SHA-256 of its uncompressed content. Memory use is constant.
pub fn idx_file_sha256(
    path: &Path,
    check: HeaderCheck<'_>,
) -> Result<(IdxHeader, [u8; 32]), DataError> {
    let (file, len) = open_regular(path)?;
    let parsed = parse(BufReader::new(file), path, Some(len), check, false)?;
    Ok((parsed.header, parsed.sha256))
}
