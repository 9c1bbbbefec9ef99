//! The data layer: MNIST from disk (or the network) to memory.
//!
//! ```text
//! download.rs ──.gz files──▶ idx.rs ──(dims, typed data)──▶ mnist.rs ──Mnist{images u8, labels}──▶ batches.rs
//! ```
//!
//! * [`idx`] parses the IDX format (optionally gzip-compressed), refusing every malformed input
//!   with a [`DataError`] that names the file.
//! * [`checksums`] holds the published SHA-256 of the four MNIST files and the hashing reader
//!   that checks them while the bytes stream past.
//! * [`mnist`] checks that the files really are MNIST (shape, label range, counts, checksums).
//! * [`download`] fetches the four files from a list of mirrors, atomically.
//! * [`inspect`] describes any IDX file for `twostage inspect FILE`.
//!
//! This module knows nothing of networks; `train.rs` is where data meets the model.

pub mod batches;
pub mod checksums;
pub mod download;
pub mod idx;
pub mod mnist;

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong in the data layer. Each variant names the file (or URL) at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An operating-system error while reading or writing `file`.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file being read or written.
        file: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// The first two bytes are not `00 00`: this is not an IDX file.
    #[error(
        "{}: not an IDX file (magic bytes {}, expected 00 00 <dtype> <ndims>)",
        file.display(), hex_bytes(found)
    )]
    BadMagic {
        /// The file.
        file: PathBuf,
        /// The four magic bytes found.
        found: [u8; 4],
    },

    /// The third magic byte is not one of the six IDX data types.
    #[error(
        "{}: unknown IDX data type 0x{code:02x} (known: 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)",
        file.display()
    )]
    UnknownDtype {
        /// The file.
        file: PathBuf,
        /// The data-type byte found.
        code: u8,
    },

    /// The header declares zero dimensions.
    #[error("{}: IDX header declares zero dimensions", file.display())]
    ZeroDims {
        /// The file.
        file: PathBuf,
    },

    /// The input ends before the header or the data is complete.
    #[error("{}: truncated IDX {part}: expected {expected} bytes, found {found}", file.display())]
    Truncated {
        /// The file.
        file: PathBuf,
        /// `"header"` or `"data"`.
        part: &'static str,
        /// Bytes the header promises.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },

    /// Bytes follow the data the header declares.
    #[error(
        "{}: {extra} trailing bytes after the {expected} data bytes the IDX header declares",
        file.display()
    )]
    TrailingBytes {
        /// The file.
        file: PathBuf,
        /// Data bytes the header declares.
        expected: u64,
        /// Bytes found after them.
        extra: u64,
    },

    /// The file starts with the gzip magic but does not decompress.
    #[error("{}: corrupt gzip data: {source}", file.display())]
    CorruptGzip {
        /// The file.
        file: PathBuf,
        /// The decompressor's error.
        source: io::Error,
    },

    /// The dimensions multiply to a size that does not fit in memory addresses.
    #[error(
        "{}: IDX header claims dimensions {dims:?} of {elem_size}-byte elements, a size that overflows",
        file.display()
    )]
    SizeOverflow {
        /// The file.
        file: PathBuf,
        /// The dimensions claimed.
        dims: Vec<u32>,
        /// Bytes per element.
        elem_size: usize,
    },

    /// The header claims more data than the (compressed) input could possibly hold.
    #[error(
        "{}: IDX header claims {claimed} data bytes, more than the input can hold (at most {limit})",
        file.display()
    )]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// Data bytes the header claims.
        claimed: u64,
        /// The most the input can decompress to.
        limit: u64,
    },

    /// An MNIST file has the wrong data type or shape.
    #[error("{}: expected {expected}, found {found}", file.display())]
    WrongShape {
        /// The file.
        file: PathBuf,
        /// What MNIST requires, e.g. `u8 (N, 28, 28)`.
        expected: &'static str,
        /// What the file holds, e.g. `i16 (10, 28)`.
        found: String,
    },

    /// A label outside `0..=9`.
    #[error("{}: label {label} at index {index} is not a digit 0-9", file.display())]
    BadLabel {
        /// The labels file.
        file: PathBuf,
        /// Index of the first bad label.
        index: usize,
        /// The bad label.
        label: u8,
    },

    /// The images and labels files hold different numbers of examples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        images_file.display(), labels_file.display()
    )]
    CountMismatch {
        /// The images file.
        images_file: PathBuf,
        /// Number of images.
        images: usize,
        /// The labels file.
        labels_file: PathBuf,
        /// Number of labels.
        labels: usize,
    },

    /// The SHA-256 of the uncompressed content differs from the published one.
    #[error(
        "{}: SHA-256 of the uncompressed content is {actual}, expected {expected} \
         (if this is your own IDX data rather than the published MNIST, pass --no-verify)",
        file.display()
    )]
    ChecksumMismatch {
        /// The file.
        file: PathBuf,
        /// The published hash (hex).
        expected: String,
        /// The hash of the file (hex).
        actual: String,
    },

    /// Neither `<name>.gz` nor `<name>` exists in the data directory.
    #[error(
        "{}: MNIST file {name} not found (looked for {name}.gz and {name}); \
         run `twostage download` or pass --data-dir DIR",
        dir.display()
    )]
    MissingFile {
        /// The directory searched.
        dir: PathBuf,
        /// The file name without `.gz`.
        name: &'static str,
    },

    /// The HTTP client could not be built.
    #[error("could not set up the HTTP client: {reason}")]
    HttpClient {
        /// Why.
        reason: String,
    },

    /// Every mirror failed for one file.
    #[error(
        "could not download {file} from any mirror:\n{}\
         To use a local copy instead, pass --data-dir DIR pointing at a directory holding the four \
         MNIST files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
         t10k-labels-idx1-ubyte, each plain or .gz)",
        list_attempts(attempts)
    )]
    DownloadFailed {
        /// The file name, e.g. `train-labels-idx1-ubyte.gz`.
        file: String,
        /// Each URL tried, with the reason it failed.
        attempts: Vec<Attempt>,
    },
}

/// One failed download attempt: the URL and a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The URL tried.
    pub url: String,
    /// Why it failed, e.g. `HTTP 404 Not Found`.
    pub reason: String,
}

fn hex_bytes(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(" ")
}

fn list_attempts(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "  (no mirrors configured)\n".to_string();
    }
    let mut listing = String::new();
    for attempt in attempts {
        // Writing to a String cannot fail.
        let _ = writeln!(listing, "  {}: {}", attempt.url, attempt.reason);
    }
    listing
}

/// Describes an IDX file for humans: path, compression, data type, dimensions, element count,
/// SHA-256 of the uncompressed content and, for the four MNIST files (recognised by hash or
/// name), whether that hash matches the published one.
///
/// Errors are those of [`idx::read_idx_file`]: a file that does not parse is an error.
pub fn inspect(path: &Path) -> Result<String, DataError> {
    let parsed = idx::read_idx_file(path)?;
    let hash = checksums::hex(&parsed.sha256);
    let dims: Vec<String> = parsed.idx.dims.iter().map(|d| d.to_string()).collect();
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(text, "file:     {}", path.display());
    let _ = writeln!(
        text,
        "format:   IDX{}",
        if parsed.gzip {
            ", gzip-compressed"
        } else {
            ", uncompressed"
        }
    );
    let _ = writeln!(text, "dtype:    {}", parsed.idx.data.dtype().name());
    let _ = writeln!(text, "dims:     ({})", dims.join(", "));
    let _ = writeln!(text, "elements: {}", parsed.idx.data.len());
    let _ = writeln!(text, "sha256:   {hash} (uncompressed content)");
    let verdict = match checksums::by_hash(&hash) {
        Some(known) => format!("matches the published SHA-256 of MNIST {}", known.name),
        None => match checksums::by_file_name(path) {
            Some(known) => format!(
                "DOES NOT match the published SHA-256 of MNIST {} ({})",
                known.name, known.sha256
            ),
            None => "not one of the four MNIST files".to_string(),
        },
    };
    let _ = writeln!(text, "mnist:    {verdict}");
    Ok(text)
}
