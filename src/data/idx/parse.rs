//! The one bounded pass over an IDX input: the header read and checked, the data size refused
//! before anything is allocated when the input cannot hold it, the data read, the end insisted on.

use std::io::{self, Read};
use std::path::Path;

use super::gzip::{Content, TrailingGzipData};
use super::{Available, Dtype, IdxHeader, MAX_GZIP_RATIO};
use crate::data::DataError;
use crate::data::checksums::HashingReader;

/// Initial buffer size when the input length is unknown: the buffer then grows only as data arrives.
const UNBOUNDED_INITIAL_CAPACITY: usize = 1 << 20;

/// How many bytes after the declared data are counted for the error message: enough to say how
/// much is there, without inflating a gzip bomb hidden after valid data.
const TRAILING_COUNT_LIMIT: u64 = 1 << 20;

/// The most reserved up front for a gzip stream's data: MNIST's largest file (47 MB) fits, a
/// forged header claiming gigabytes gets no more than this until real data arrives.
const GZIP_INITIAL_CAPACITY: usize = 64 << 20;

/// Reads until `buf` is full or the input ends; returns the number of bytes read.
pub(super) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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
pub(super) fn any_header(_: &IdxHeader) -> Result<(), DataError> {
    Ok(())
}

/// What one pass over an IDX input found.
pub(super) struct Parsed {
    pub(super) gzip: bool,
    pub(super) sha256: [u8; 32],
    pub(super) header: IdxHeader,
    /// The data bytes, or empty when they were only hashed.
    pub(super) bytes: Vec<u8>,
}

/// The one pass over an IDX input: header, `check`, data (kept or only hashed), end of input.
pub(super) fn parse<R: Read>(
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
