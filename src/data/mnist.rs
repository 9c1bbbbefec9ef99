//! MNIST on top of IDX: 28×28 u8 images and u8 labels 0–9, checked for shape, range, count
//! and (optionally) against the published SHA-256 of each file.

use std::path::{Path, PathBuf};

use super::DataError;
use super::checksums::{self, hex};
use super::idx::{IdxData, IdxFile, read_idx_file};

/// Image height in pixels.
pub const ROWS: usize = 28;
/// Image width in pixels.
pub const COLS: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = ROWS * COLS;
/// Number of classes (digits 0–9).
pub const CLASSES: usize = 10;

/// Which half of MNIST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The 60000 training examples.
    Train,
    /// The 10000 test examples.
    Test,
}

impl Split {
    /// Name of the images file (without `.gz`).
    pub fn images_name(self) -> &'static str {
        match self {
            Split::Train => "train-images-idx3-ubyte",
            Split::Test => "t10k-images-idx3-ubyte",
        }
    }

    /// Name of the labels file (without `.gz`).
    pub fn labels_name(self) -> &'static str {
        match self {
            Split::Train => "train-labels-idx1-ubyte",
            Split::Test => "t10k-labels-idx1-ubyte",
        }
    }
}

/// The names (without `.gz`) of the four MNIST files.
pub const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// One split of MNIST in memory, pixels kept as u8 (normalisation happens in `batches`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// `len × 784` pixels, row-major, one image after another.
    pub images: Vec<u8>,
    /// `len` labels, each 0–9.
    pub labels: Vec<u8>,
    /// Number of examples.
    pub len: usize,
}

impl Mnist {
    /// Loads `split` from `dir`, where each file is `<name>.gz` or `<name>`.
    ///
    /// With `verify`, the SHA-256 of each uncompressed file must match the published one;
    /// without it, any IDX files of the right shape are accepted.
    pub fn load(dir: &Path, split: Split, verify: bool) -> Result<Mnist, DataError> {
        let images = require_file(dir, split.images_name())?;
        let labels = require_file(dir, split.labels_name())?;
        Mnist::from_files(&images, &labels, verify)
    }

    /// Loads an images file and a labels file given by path.
    ///
    /// `verify` compares each file's content hash with the published hash of the MNIST file
    /// it is named after; a file not named after an MNIST file fails verification.
    pub fn from_files(
        images_path: &Path,
        labels_path: &Path,
        verify: bool,
    ) -> Result<Mnist, DataError> {
        let images_file = read_idx_file(images_path)?;
        if verify {
            verify_checksum(&images_file)?;
        }
        let images = into_u8(images_file, &[ROWS, COLS], "u8 images of shape (N, 28, 28)")?;

        let labels_file = read_idx_file(labels_path)?;
        if verify {
            verify_checksum(&labels_file)?;
        }
        let labels = into_u8(labels_file, &[], "u8 labels of shape (N,)")?;

        if let Some(index) = labels
            .iter()
            .position(|&label| usize::from(label) >= CLASSES)
        {
            return Err(DataError::BadLabel {
                file: labels_path.to_path_buf(),
                index,
                label: labels[index],
            });
        }
        let len = images.len() / PIXELS;
        if len != labels.len() {
            return Err(DataError::CountMismatch {
                images_file: images_path.to_path_buf(),
                images: len,
                labels_file: labels_path.to_path_buf(),
                labels: labels.len(),
            });
        }
        Ok(Mnist {
            images,
            labels,
            len,
        })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The 784 pixels of image `i`, row-major. Panics if `i >= len` (like slice indexing).
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    /// The label of example `i`. Panics if `i >= len` (like slice indexing).
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }
}

/// Checks the decompressed content hash against the published hash for the file's name.
fn verify_checksum(file: &IdxFile) -> Result<(), DataError> {
    let actual = hex(&file.sha256);
    let expected = checksums::by_file_name(&file.source).map(|known| known.sha256);
    match expected {
        Some(expected) if expected == actual => Ok(()),
        _ => Err(DataError::ChecksumMismatch {
            file: file.source.clone(),
            expected: expected.unwrap_or("(not an MNIST file name)").to_string(),
            actual,
        }),
    }
}

/// Takes the u8 data out of `file`, requiring dims `(N, inner...)`.
fn into_u8(file: IdxFile, inner: &[usize], expected: &'static str) -> Result<Vec<u8>, DataError> {
    let dims = &file.idx.dims;
    let shape_ok = dims.len() == 1 + inner.len() && dims[1..] == *inner;
    match file.idx.data {
        IdxData::U8(bytes) if shape_ok => Ok(bytes),
        data => {
            let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            Err(DataError::WrongShape {
                file: file.source,
                expected,
                found: format!("{} of shape ({})", data.dtype().name(), dims.join(", ")),
            })
        }
    }
}

/// The path of MNIST file `name` in `dir`: `<name>.gz` if present, else `<name>`, else `None`.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [format!("{name}.gz"), name.to_string()]
        .into_iter()
        .map(|candidate| dir.join(candidate))
        .find(|path| path.is_file())
}

fn require_file(dir: &Path, name: &'static str) -> Result<PathBuf, DataError> {
    find_file(dir, name).ok_or_else(|| DataError::MissingFile {
        dir: dir.to_path_buf(),
        name,
    })
}

/// The MNIST files (names without `.gz`) missing from `dir`.
pub fn missing_files(dir: &Path) -> Vec<&'static str> {
    FILE_NAMES
        .into_iter()
        .filter(|name| find_file(dir, name).is_none())
        .collect()
}

/// True if all four MNIST files are in `dir` (plain or `.gz`); their content is not checked.
pub fn files_present(dir: &Path) -> bool {
    missing_files(dir).is_empty()
}
