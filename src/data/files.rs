//! Finding a dataset's files in a directory: `NAME.gz` first, else `NAME`; anything at either
//! name counts as there.

use std::path::{Path, PathBuf};

use super::DataError;
use super::dataset::{Dataset, FILE_NAMES, MNIST};
use super::idx::idx_file_sha256;
use super::mnist::Split;

/// Whether anything at all is at `path`: a file, a directory, a FIFO, a dangling symbolic link.
/// Anything there is the user's: never treated as missing, never downloaded over.
fn something_at(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The candidates for MNIST file `name` in `dir` that exist: `<name>.gz` and `<name>`, in that
/// order of preference.
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    [format!("{name}.gz"), name.to_string()]
        .into_iter()
        .map(|candidate| dir.join(candidate))
        .filter(|path| something_at(path))
        .collect()
}

/// The path of MNIST file `name` in `dir`: `<name>.gz` if present, else `<name>`, else `None`.
///
/// "Present" means anything is there — also a directory, FIFO or dangling link, which reading
/// then refuses with an error that says what it is (rather than the file being reported as
/// missing, or downloaded over).
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    candidates(dir, name).into_iter().next()
}

/// The file to read for `name` and, when both `<name>.gz` and `<name>` exist, the one not read.
/// A missing file's error offers to download `dataset`.
pub(super) fn require_file(
    dir: &Path,
    name: &'static str,
    dataset: &'static Dataset,
) -> Result<(PathBuf, Option<PathBuf>), DataError> {
    let mut found = candidates(dir, name).into_iter();
    let chosen = found.next().ok_or_else(|| DataError::MissingFile {
        dir: dir.to_path_buf(),
        name,
        dataset,
    })?;
    Ok((chosen, found.next()))
}

/// The files of `split` in `dir` present twice, as `<name>.gz` and `<name>`: for each, the one
/// [`Mnist::load`](super::mnist::Mnist::load) reads and the one it leaves unread.
pub fn twins(dir: &Path, split: Split) -> Vec<(PathBuf, PathBuf)> {
    split
        .file_names()
        .into_iter()
        .filter_map(|name| {
            let mut found = candidates(dir, name).into_iter();
            Some((found.next()?, found.next()?))
        })
        .collect()
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

/// The SHA-256 of the uncompressed content of file `name` (`<name>.gz`, else `<name>`) in
/// `dir`, streamed with constant memory: how a custom set is identified without loading it.
pub fn content_sha256(dir: &Path, name: &'static str) -> Result<[u8; 32], DataError> {
    let (path, _) = require_file(dir, name, &MNIST)?;
    let (_, hash) = idx_file_sha256(&path, &|_| Ok(()))?;
    Ok(hash)
}
