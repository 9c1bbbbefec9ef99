//! MNIST-shaped data on top of IDX: 28×28 u8 images and u8 labels, checked for shape, count
//! and, when verifying a known dataset, against the published SHA-256 of each file and its
//! number of classes. A custom set (not verified) may use any label 0–255: its number of
//! classes is its largest label + 1.

use std::path::{Path, PathBuf};

use super::DataError;
use super::checksums::{KnownFile, hex};
pub use super::dataset::FILE_NAMES;
use super::dataset::{Dataset, MNIST};
use super::files::require_file;
pub use super::files::{content_sha256, files_present, find_file, missing_files, twins};
use super::idx::{Dtype, IdxData, IdxFile, IdxHeader, idx_file_sha256, read_idx_file_checked};

/// Image height in pixels.
pub const ROWS: usize = 28;
/// Image width in pixels.
pub const COLS: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = ROWS * COLS;

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

    /// The images and labels file names (without `.gz`): what `eval`/`predict` pass to
    /// [`ensure_mnist`](super::download::ensure_mnist) as the files they need.
    pub fn file_names(self) -> [&'static str; 2] {
        [self.images_name(), self.labels_name()]
    }
}

/// One split of an MNIST-shaped set in memory, pixels kept as u8 (normalisation happens in
/// `batches`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// `len × 784` pixels, row-major, one image after another.
    pub images: Vec<u8>,
    /// `len` labels (below the dataset's number of classes when it was verified).
    pub labels: Vec<u8>,
    /// Number of examples.
    pub len: usize,
    /// SHA-256 of the uncompressed content of the images file and of the labels file: what
    /// identifies the data (see [`dataset::identify`](super::dataset::identify)).
    pub content_sha256: [[u8; 32]; 2],
}

impl Mnist {
    /// The examples, for training or evaluating on them: borrowed pixels and labels, 784 a row.
    pub fn examples(&self) -> crate::train::Examples<'_> {
        crate::train::Examples {
            pixels: &self.images,
            labels: &self.labels,
            width: PIXELS,
        }
    }

    /// Loads MNIST's `split` from `dir`, where each file is `<name>.gz` or `<name>`: the files
    /// must be MNIST's, by SHA-256 (see [`Mnist::load_dataset`]).
    pub fn load(dir: impl AsRef<Path>, split: Split) -> Result<Mnist, DataError> {
        Mnist::load_dataset(dir, split, Some(&MNIST))
    }

    /// Loads `split` of your own IDX set from `dir`, named as MNIST's files are: any images of
    /// MNIST's shape are accepted, with any labels; nothing is verified.
    pub fn load_any(dir: impl AsRef<Path>, split: Split) -> Result<Mnist, DataError> {
        Mnist::load_dataset(dir, split, None)
    }

    /// Loads `split` from `dir`, where each file is `<name>.gz` or `<name>`.
    ///
    /// With `verify` set to a known dataset, the SHA-256 of each uncompressed file must match
    /// that dataset's published one and every label must be below its number of classes;
    /// with `None`, any IDX files of the right shape are accepted. When both `<name>.gz` and
    /// `<name>` exist, `<name>.gz` is read (a caller may say so: [`twins`]) and an error reading
    /// it mentions the other.
    pub fn load_dataset(
        dir: impl AsRef<Path>,
        split: Split,
        verify: Option<&'static Dataset>,
    ) -> Result<Mnist, DataError> {
        let dir = dir.as_ref();
        let hint = verify.unwrap_or(&MNIST);
        let images = require_file(dir, split.images_name(), hint)?;
        let labels = require_file(dir, split.labels_name(), hint)?;
        let mut unread = Vec::new();
        for (path, other) in [&images, &labels] {
            if let Some(other) = other {
                unread.push((path.clone(), other.clone()));
            }
        }
        Mnist::from_files_of(&images.0, &labels.0, verify).map_err(|error| {
            if unread.is_empty() {
                return error;
            }
            // Mention the unread twin of the file at fault (both twins when the error is
            // about the pair, e.g. a count mismatch).
            let others: Vec<PathBuf> = match error.file() {
                Some(file) => unread
                    .iter()
                    .filter(|(read, _)| read == file)
                    .map(|(_, other)| other.clone())
                    .collect(),
                None => unread.iter().map(|(_, other)| other.clone()).collect(),
            };
            if others.is_empty() {
                error
            } else {
                DataError::AlsoPresent {
                    source: Box::new(error),
                    others,
                }
            }
        })
    }

    /// Loads an images file and a labels file given by path, verified as MNIST's (see
    /// [`Mnist::from_files_of`]).
    pub fn from_files(images_path: &Path, labels_path: &Path) -> Result<Mnist, DataError> {
        Mnist::from_files_of(images_path, labels_path, Some(&MNIST))
    }

    /// Loads an images file and a labels file given by path.
    ///
    /// `verify` compares each file's content hash with the published hash of the dataset's
    /// file it is named after (a file not named after one fails verification) and checks every
    /// label against the dataset's number of classes. Headers are checked before any data is
    /// read: the shape (`(N, 28, 28)` u8 images, `(N,)` u8 labels, as many labels as images)
    /// always, the published dimensions when verifying.
    pub fn from_files_of(
        images_path: &Path,
        labels_path: &Path,
        verify: Option<&'static Dataset>,
    ) -> Result<Mnist, DataError> {
        const LABELS: &str = "u8 labels of shape (N,)";
        let known_labels = verify.and_then(|d| d.file_for_path(labels_path));
        let labels_check = |header: &IdxHeader| {
            if let Some(known) = known_labels {
                check_published(header, known, labels_path)?;
            }
            check_shape(header, &[], LABELS, labels_path)
        };
        // The labels first: one byte an image, so the images header is checked against
        // their count before any pixel is read (a forged or gzip-bombed images file declaring
        // millions of images is refused from its header, not inflated).
        let labels_file = read_idx_file_checked(labels_path, &labels_check)?;
        if let Some(dataset) = verify {
            verify_checksum(&labels_file, dataset)?;
        }
        let labels_sha256 = labels_file.sha256;
        let labels = into_u8(labels_file, &[], LABELS)?;

        const IMAGES: &str = "u8 images of shape (N, 28, 28)";
        let known_images = verify.and_then(|d| d.file_for_path(images_path));
        let images_check = |header: &IdxHeader| {
            if let Some(known) = known_images {
                check_published(header, known, images_path)?;
            }
            check_image_size(header, images_path)?;
            check_shape(header, &[ROWS as u32, COLS as u32], IMAGES, images_path)?;
            // Known before a pixel is read.
            if header.dims[0] as usize != labels.len() {
                return Err(DataError::CountMismatch {
                    images_file: images_path.to_path_buf(),
                    images: header.dims[0] as usize,
                    labels_file: labels_path.to_path_buf(),
                    labels: labels.len(),
                });
            }
            Ok(())
        };
        let images_file = read_idx_file_checked(images_path, &images_check)?;
        if let Some(dataset) = verify {
            verify_checksum(&images_file, dataset)?;
        }
        let images_sha256 = images_file.sha256;
        let images = into_u8(images_file, &[ROWS, COLS], IMAGES)?;
        let len = images.len() / PIXELS;

        if let Some(dataset) = verify {
            check_labels(&labels, dataset.class_count(), dataset.title, labels_path)?;
        }
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
            content_sha256: [images_sha256, labels_sha256],
        })
    }

    /// The number of classes the labels imply: the largest label + 1 (0 when empty).
    pub fn class_count(&self) -> usize {
        self.labels
            .iter()
            .max()
            .map_or(0, |&label| usize::from(label) + 1)
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

/// Refuses the first label that is not below `classes`, naming the file and its index. `of`
/// says what fixes the classes (a dataset's name, a model).
pub fn check_labels(labels: &[u8], classes: usize, of: &str, file: &Path) -> Result<(), DataError> {
    match labels
        .iter()
        .position(|&label| usize::from(label) >= classes)
    {
        None => Ok(()),
        Some(index) => Err(DataError::BadLabel {
            file: file.to_path_buf(),
            index,
            label: labels[index],
            classes,
            of: of.to_string(),
        }),
    }
}

/// Refuses images of another size than 28×28, saying the size found (a u8 file of three
/// dimensions is images; anything else is left to the shape check).
fn check_image_size(header: &IdxHeader, file: &Path) -> Result<(), DataError> {
    match header.dims[..] {
        [_, rows, cols] if (rows, cols) != (ROWS as u32, COLS as u32) => {
            Err(DataError::WrongImageSize {
                file: file.to_path_buf(),
                rows,
                cols,
            })
        }
        _ => Ok(()),
    }
}

/// Checks the decompressed content hash against `dataset`'s published hash for the file's name.
fn verify_checksum(file: &IdxFile, dataset: &Dataset) -> Result<(), DataError> {
    let actual = hex(&file.sha256);
    let expected = dataset
        .file_for_path(&file.source)
        .map(|known| known.sha256);
    match expected {
        Some(expected) if expected == actual => Ok(()),
        _ => Err(DataError::ChecksumMismatch {
            file: file.source.clone(),
            dataset: dataset.title,
            expected: expected
                .map(str::to_string)
                .unwrap_or_else(|| format!("(not a {} file name)", dataset.title)),
            actual,
        }),
    }
}

/// Refuses a header that does not declare the published type and dimensions of `known`.
fn check_published(header: &IdxHeader, known: &KnownFile, file: &Path) -> Result<(), DataError> {
    let published = IdxHeader {
        dtype: Dtype::U8,
        dims: known.dims.to_vec(),
    };
    if *header == published {
        return Ok(());
    }
    Err(DataError::NotMnistHeader {
        file: file.to_path_buf(),
        dataset: known.dataset,
        name: known.name,
        expected: published.describe(),
        found: header.describe(),
    })
}

/// Refuses a header that is not u8 of shape `(N, inner...)`.
fn check_shape(
    header: &IdxHeader,
    inner: &[u32],
    expected: &'static str,
    file: &Path,
) -> Result<(), DataError> {
    let dims = &header.dims;
    if header.dtype == Dtype::U8 && dims.len() == 1 + inner.len() && dims[1..] == *inner {
        return Ok(());
    }
    Err(DataError::WrongShape {
        file: file.to_path_buf(),
        expected,
        found: format!(
            "{} of shape ({})",
            header.dtype.name(),
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Checks that the file at `path` is the known file `known`: its header declares the published
/// dimensions (checked before any data is read, so a forged header costs nothing) and its
/// uncompressed content has the published SHA-256. The data is hashed, not kept: memory use is
/// constant. The file's name does not matter (a download in progress has a temporary name).
pub fn verify_mnist_file(path: &Path, known: &KnownFile) -> Result<(), DataError> {
    let (_, hash) = idx_file_sha256(path, &|header| check_published(header, known, path))?;
    let actual = hex(&hash);
    if actual == known.sha256 {
        Ok(())
    } else {
        Err(DataError::ChecksumMismatch {
            file: path.to_path_buf(),
            dataset: known.dataset,
            expected: known.sha256.to_string(),
            actual,
        })
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
