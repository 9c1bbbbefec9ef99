//! The known datasets, one table entry each: file names, published SHA-256, mirrors, class
//! names and default directory. Any other MNIST-shaped IDX set is a *custom* set: it is read
//! with `--data-dir DIR --no-verify`, its classes are named by an optional `classes.txt` and
//! it is identified by the SHA-256 of its four files ([`custom_id`]).
//!
//! All known datasets share MNIST's four file names and 28×28 u8 images; they differ in
//! content (hence checksums), mirrors and class names.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::checksums::{FASHION_MNIST_FILES, KnownFile, MNIST_FILES, hex};
use super::idx::open_regular;
use super::{DataError, kind_of};

/// The names (without `.gz`) of the four MNIST files.
pub const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// A dataset twostage knows by name: everything needed to fetch, verify and label it.
#[derive(Debug, PartialEq, Eq)]
pub struct Dataset {
    /// The name on the command line (`--dataset`) and in checkpoints: `mnist`, `fashion-mnist`.
    pub name: &'static str,
    /// The name in messages: `MNIST`, `Fashion-MNIST`.
    pub title: &'static str,
    /// The four files (train images, train labels, test images, test labels), with their
    /// published SHA-256 and dimensions.
    pub files: &'static [KnownFile; 4],
    /// Base URLs tried in order by `twostage download`; each holds `<name>.gz` for the four files.
    pub mirrors: &'static [&'static str],
    /// Class names in label order; the number of classes is their count.
    pub classes: &'static [&'static str],
    /// The environment variable naming the default data directory, e.g. `MNIST_DIR`.
    pub dir_env: &'static str,
    /// The data directory when that variable is unset, e.g. `data/mnist`.
    pub default_dir: &'static str,
}

/// MNIST's mirrors, tried in order.
pub const MNIST_MIRRORS: [&str; 3] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// Fashion-MNIST's mirrors, tried in order: zalando's S3 bucket `fashion-mnist/` (the canonical
/// host, served over HTTP only: every file is verified by its SHA-256 whatever the transport),
/// then the copy in zalando's GitHub repository.
pub const FASHION_MNIST_MIRRORS: [&str; 2] = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
];

/// MNIST: handwritten digits, classes `0`–`9`.
pub static MNIST: Dataset = Dataset {
    name: "mnist",
    title: "MNIST",
    files: &MNIST_FILES,
    mirrors: &MNIST_MIRRORS,
    classes: &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    dir_env: "MNIST_DIR",
    default_dir: "data/mnist",
};

/// Fashion-MNIST (zalando): ten kinds of clothing in MNIST's format.
pub static FASHION_MNIST: Dataset = Dataset {
    name: "fashion-mnist",
    title: "Fashion-MNIST",
    files: &FASHION_MNIST_FILES,
    mirrors: &FASHION_MNIST_MIRRORS,
    classes: &[
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
    dir_env: "FASHION_MNIST_DIR",
    default_dir: "data/fashion-mnist",
};

/// Every known dataset; the first is the default.
pub static DATASETS: [&Dataset; 2] = [&MNIST, &FASHION_MNIST];

impl Dataset {
    /// The known dataset called `name` (`mnist`, `fashion-mnist`).
    pub fn by_name(name: &str) -> Option<&'static Dataset> {
        DATASETS.iter().copied().find(|d| d.name == name)
    }

    /// Its file called `name` (without `.gz`).
    pub fn file(&self, name: &str) -> Option<&'static KnownFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// Its file that `path` is named after (`<name>` or `<name>.gz`), if any.
    pub fn file_for_path(&self, path: &Path) -> Option<&'static KnownFile> {
        let file_name = path.file_name()?.to_str()?;
        self.file(file_name.strip_suffix(".gz").unwrap_or(file_name))
    }

    /// The number of classes.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// The class names, owned.
    pub fn class_names(&self) -> Vec<String> {
        self.classes.iter().map(|c| c.to_string()).collect()
    }

    /// The data directory: `$<dir_env>` if set, else `default_dir`.
    pub fn data_dir(&self) -> PathBuf {
        // An empty variable (`MNIST_DIR=`) is unset, not the path "".
        std::env::var_os(self.dir_env)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(self.default_dir))
    }

    /// The names of every known dataset, for messages: `mnist, fashion-mnist`.
    pub fn names() -> String {
        let names: Vec<&str> = DATASETS.iter().map(|d| d.name).collect();
        names.join(", ")
    }
}

/// The known dataset whose files have the given content hashes: every `(file name, SHA-256
/// hex)` given must be that dataset's file of that name. `None` if there is no such dataset
/// (or nothing was given).
pub fn identify(hashes: &[(&str, String)]) -> Option<&'static Dataset> {
    if hashes.is_empty() {
        return None;
    }
    DATASETS.iter().copied().find(|dataset| {
        hashes
            .iter()
            .all(|(name, hash)| dataset.file(name).is_some_and(|f| f.sha256 == *hash))
    })
}

/// The identity of a custom set: `custom:` and the SHA-256 of the four files' content
/// SHA-256s (32 bytes each, in [`FILE_NAMES`] order: train images, train labels, test images,
/// test labels). Gzip or not, the same content gives the same identity.
pub fn custom_id(content_sha256: &[[u8; 32]; 4]) -> String {
    let mut hasher = Sha256::new();
    for hash in content_sha256 {
        hasher.update(hash);
    }
    format!("custom:{}", hex(&hasher.finalize()))
}

/// The file in a data directory that names a custom set's classes, one a line in label order.
pub const CLASSES_FILE: &str = "classes.txt";

/// The most a `classes.txt` may hold: 256 names of 255 bytes, with their line ends.
const MAX_CLASSES_FILE_BYTES: u64 = 256 * 256;

/// The class names in `dir/classes.txt`, one a line in label order, or `None` if there is no
/// such file. Blank lines at the end are ignored; surrounding whitespace is trimmed. A name
/// that is empty, a file of more than 256 names, or one that is not UTF-8 is an error naming
/// the file and the line.
pub fn read_class_names(dir: &Path) -> Result<Option<Vec<String>>, DataError> {
    let path = dir.join(CLASSES_FILE);
    let metadata = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(DataError::FileIo {
                file: path,
                source: e,
            });
        }
    };
    if !metadata.is_file() {
        return Err(DataError::NotAFile {
            kind: kind_of(metadata.file_type()),
            file: path,
        });
    }
    let (file, _) = open_regular(&path)?;
    let mut bytes = Vec::new();
    file.take(MAX_CLASSES_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::FileIo {
            file: path.clone(),
            source: e,
        })?;
    let bad = |message: String| DataError::ClassNames {
        file: path.clone(),
        message,
    };
    if bytes.len() as u64 > MAX_CLASSES_FILE_BYTES {
        return Err(bad(format!(
            "larger than {MAX_CLASSES_FILE_BYTES} bytes: it should hold at most 256 short names, one a line"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 text ({e})")))?;
    let mut names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    while names.last().is_some_and(String::is_empty) {
        names.pop();
    }
    if names.is_empty() {
        return Err(bad(
            "holds no class names: write one name a line, in label order, or remove the file"
                .to_string(),
        ));
    }
    if let Some(line) = names.iter().position(String::is_empty) {
        return Err(bad(format!(
            "line {} is blank: every label from 0 needs a name, one a line",
            line + 1
        )));
    }
    if names.len() > 256 {
        return Err(bad(format!(
            "lists {} names; labels are bytes, so there are at most 256 classes",
            names.len()
        )));
    }
    Ok(Some(names))
}
