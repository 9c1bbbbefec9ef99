//! [`DataError`], everything that can go wrong in the data layer, and the records it carries.

use std::io;
use std::path::{Path, PathBuf};

use super::dataset;
use super::messages::{also_present, hex_bytes, incomplete_set, list_attempts, present_not_mnist};

/// Everything that can go wrong in the data layer. Each variant names the file (or URL) at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An operating-system error while reading or writing `file`.
    #[error("{}: {source}", file.display())]
    FileIo {
        /// The file being read or written.
        file: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// The (uncompressed) content is shorter than the 4-byte IDX magic: only the bytes that exist
    /// are shown.
    #[error(
        "{}: {}content is only {} byte{}{}, too short to be an IDX file (its header alone is at least 4 bytes)",
        file.display(),
        if *gzip { "decompressed " } else { "" },
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        if found.is_empty() { String::new() } else { format!(" ({})", hex_bytes(found)) }
    )]
    TooShort {
        /// The file.
        file: PathBuf,
        /// Whether the input was gzip (the bytes are then the decompressed ones).
        gzip: bool,
        /// The bytes there are (fewer than 4).
        found: Vec<u8>,
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
        "{}: {}{extra} trailing bytes after the {expected} data bytes the IDX header declares",
        file.display(), if *at_least { "at least " } else { "" }
    )]
    TrailingBytes {
        /// The file.
        file: PathBuf,
        /// Data bytes the header declares.
        expected: u64,
        /// Bytes found after them (counted up to a bound: see `at_least`).
        extra: u64,
        /// True when counting stopped at the bound: there are more than `extra`.
        at_least: bool,
    },

    /// A gzip stream is followed by bytes that are not another gzip member.
    #[error(
        "{}: trailing data after the gzip stream (bytes that are not another gzip member): \
         the file is damaged or was appended to; download it again or remove the extra bytes",
        file.display()
    )]
    GzipTrailingData {
        /// The file.
        file: PathBuf,
    },

    /// A path that must be a regular file is a directory, FIFO, device or socket.
    #[error(
        "{} is {kind}, not a file: move it away, or put the IDX file there",
        file.display()
    )]
    NotAFile {
        /// The path.
        file: PathBuf,
        /// What it is, e.g. `a directory`, `a FIFO`.
        kind: &'static str,
    },

    /// The data directory exists but is not a directory.
    #[error(
        "{} is {kind}, not a directory",
        dir.display()
    )]
    NotADirectory {
        /// The path given as the data directory.
        dir: PathBuf,
        /// What it is, e.g. `a file`.
        kind: &'static str,
    },

    /// When verifying, the header of a file named after a known dataset's file declares other
    /// dimensions than the published ones; refused before any data is read.
    #[error(
        "{}: the IDX header declares {found}, but {dataset} {name} is {expected}; nothing more \
         was read",
        file.display()
    )]
    NotMnistHeader {
        /// The file.
        file: PathBuf,
        /// The dataset being verified, e.g. `MNIST`.
        dataset: &'static str,
        /// The MNIST file it is named after.
        name: &'static str,
        /// The published shape, e.g. `u8 (60000, 28, 28)`.
        expected: String,
        /// The shape the header declares.
        found: String,
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

    /// A label outside `0..classes` (the known dataset's classes, or the model's).
    #[error(
        "{}: label {label} at index {index} is out of range: {of} has {classes} classes (labels 0-{})",
        file.display(), classes.saturating_sub(1)
    )]
    BadLabel {
        /// The labels file.
        file: PathBuf,
        /// Index of the first bad label.
        index: usize,
        /// The bad label.
        label: u8,
        /// The number of classes allowed.
        classes: usize,
        /// What fixes the classes, e.g. `MNIST` or `the model model.safetensors`.
        of: String,
    },

    /// Images of another size than 28×28.
    #[error(
        "{}: the images are {rows}×{cols} pixels; twostage takes 28×28 u8 images (MNIST's \
         format): resize the set to 28×28",
        file.display()
    )]
    WrongImageSize {
        /// The images file.
        file: PathBuf,
        /// Rows per image found.
        rows: u32,
        /// Columns per image found.
        cols: u32,
    },

    /// A `classes.txt` that cannot serve as class names.
    #[error("{}: {message}", file.display())]
    ClassNames {
        /// The file.
        file: PathBuf,
        /// What is wrong, and what to do.
        message: String,
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
        "{}: SHA-256 of the uncompressed content is {actual}, expected {expected}",
        file.display()
    )]
    ChecksumMismatch {
        /// The file.
        file: PathBuf,
        /// The dataset being verified, e.g. `MNIST`.
        dataset: &'static str,
        /// The published hash (hex).
        expected: String,
        /// The hash of the file (hex).
        actual: String,
    },

    /// Neither `<name>.gz` nor `<name>` exists in the data directory.
    #[error("{name}(.gz) is missing in {}", dir.display())]
    MissingFile {
        /// The directory searched.
        dir: PathBuf,
        /// The file name without `.gz`.
        name: &'static str,
        /// The dataset the hint offers to download (MNIST for a custom set).
        dataset: &'static dataset::Dataset,
    },

    /// Files are missing from a directory that also holds files that are not the dataset's:
    /// downloading into it would mix two datasets, so nothing was downloaded.
    #[error("{}", incomplete_set(dataset, dir, missing, foreign))]
    IncompleteSet {
        /// The dataset being completed, e.g. `MNIST`.
        dataset: &'static str,
        /// The data directory.
        dir: PathBuf,
        /// The missing files (names without `.gz`).
        missing: Vec<&'static str>,
        /// The files present that do not verify as MNIST, with why.
        foreign: Vec<Foreign>,
    },

    /// `twostage download` found files that are not the dataset's under its names, and was not
    /// told to replace them.
    #[error("{}", present_not_mnist(dataset, dir, files))]
    PresentNotMnist {
        /// The dataset being downloaded, e.g. `MNIST`.
        dataset: &'static str,
        /// The data directory.
        dir: PathBuf,
        /// The files that do not verify, with why.
        files: Vec<Foreign>,
    },

    /// Reading one of `<name>.gz` / `<name>` failed while the other is also present.
    #[error(
        "{source} (note: {} also present and not read; when both NAME.gz and NAME exist, \
         NAME.gz is read: remove the one that is wrong)",
        also_present(others)
    )]
    AlsoPresent {
        /// The error reading the file that was chosen.
        source: Box<DataError>,
        /// The files of the same name that were not read.
        others: Vec<PathBuf>,
    },

    /// A name that is not one of the four MNIST files was asked for (a bug in the caller).
    #[error("internal error: {name} is not one of the four MNIST file names")]
    UnknownFileName {
        /// The name given.
        name: String,
    },

    /// The HTTP client could not be built.
    #[error("could not set up the HTTP client: {reason}")]
    HttpClient {
        /// Why.
        reason: String,
    },

    /// Every mirror failed for one file.
    #[error(
        "could not download {file} from any mirror:\n{}",
        list_attempts(attempts)
    )]
    DownloadFailed {
        /// The dataset being downloaded, e.g. `MNIST`.
        dataset: &'static str,
        /// The file name, e.g. `train-labels-idx1-ubyte.gz`.
        file: String,
        /// Each URL tried, with the reason it failed.
        attempts: Vec<Attempt>,
    },
}

/// A file present under an MNIST name whose content is not that MNIST file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    /// The file.
    pub file: PathBuf,
    /// Why it is not MNIST, e.g. `its SHA-256 is not that of MNIST train-images-idx3-ubyte`.
    pub reason: String,
}

/// One failed download attempt: the URL and a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The URL tried.
    pub url: String,
    /// Why it failed, e.g. `HTTP 404 Not Found`.
    pub reason: String,
}

impl DataError {
    /// The one file this error is about, if there is one (`None` for errors about a directory,
    /// a URL or two files).
    pub fn file(&self) -> Option<&Path> {
        match self {
            DataError::FileIo { file, .. }
            | DataError::TooShort { file, .. }
            | DataError::BadMagic { file, .. }
            | DataError::UnknownDtype { file, .. }
            | DataError::ZeroDims { file }
            | DataError::Truncated { file, .. }
            | DataError::TrailingBytes { file, .. }
            | DataError::GzipTrailingData { file }
            | DataError::CorruptGzip { file, .. }
            | DataError::SizeOverflow { file, .. }
            | DataError::TooLarge { file, .. }
            | DataError::WrongShape { file, .. }
            | DataError::BadLabel { file, .. }
            | DataError::WrongImageSize { file, .. }
            | DataError::ClassNames { file, .. }
            | DataError::ChecksumMismatch { file, .. }
            | DataError::NotAFile { file, .. }
            | DataError::NotMnistHeader { file, .. } => Some(file),
            DataError::AlsoPresent { source, .. } => source.file(),
            _ => None,
        }
    }
}

/// What a path is when it is not what was wanted, for messages: `a directory`, `a FIFO`, ….
pub fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a file"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}
