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

mod gzip;
mod parse;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::{DataError, kind_of};
pub use gzip::{Content, GzipMembers, Sniffed};
pub use parse::{HeaderCheck, expected_data_len};
use parse::{any_header, parse};

/// Deflate's largest possible expansion: no gzip input inflates to more than ~1032× its size.
pub const MAX_GZIP_RATIO: u64 = 1032;

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
