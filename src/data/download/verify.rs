//! Whether a present or downloaded file is the dataset's, and if not, why, in a few words.

use std::path::Path;

use super::http::Failure;
use crate::data::DataError;
use crate::data::Foreign;
use crate::data::checksums::KnownFile;
use crate::data::dataset::Dataset;
use crate::data::mnist::{find_file, verify_mnist_file};

/// The files of `dataset` present in `dir` that do not verify, with why.
pub(super) fn not_mnist(dataset: &Dataset, dir: &Path) -> Vec<Foreign> {
    dataset
        .files
        .iter()
        .filter_map(|known| {
            let file = find_file(dir, known.name)?;
            let error = verify_mnist_file(&file, known).err()?;
            Some(Foreign {
                reason: why_not_mnist(&error, &file),
                file,
            })
        })
        .collect()
}

/// A short reason why `file` is not the dataset's, without the file's name (the message names it).
pub(super) fn why_not_mnist(error: &DataError, file: &Path) -> String {
    match error {
        DataError::ChecksumMismatch { dataset, .. } => format!("its SHA-256 is not {dataset}'s"),
        DataError::NotAFile { kind, .. } => format!("it is {kind}, not a file"),
        DataError::NotMnistHeader {
            dataset,
            expected,
            found,
            ..
        } => format!("its header declares {found}, {dataset}'s is {expected}"),
        other => without_file(other, file),
    }
}

/// An error's message without the leading `FILE: ` (when the context already names the file).
pub(super) fn without_file(error: &DataError, file: &Path) -> String {
    let text = error.to_string();
    match text.strip_prefix(&format!("{}: ", file.display())) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// Whether the downloaded file `part` is `known`'s content: if not, whose fault that is.
pub(super) fn check_content(part: &Path, known: &KnownFile) -> Result<(), Failure> {
    match verify_mnist_file(part, known) {
        Ok(()) => Ok(()),
        Err(DataError::ChecksumMismatch {
            expected, actual, ..
        }) => Err(Failure::Mirror(format!(
            "checksum mismatch: decompressed content has SHA-256 {actual}, expected {expected}"
        ))),
        Err(DataError::CorruptGzip { source, .. }) => {
            Err(Failure::Mirror(format!("corrupt gzip: {source}")))
        }
        Err(error @ DataError::NotMnistHeader { .. }) => Err(Failure::Mirror(format!(
            "not {} {}: {}",
            known.dataset,
            known.name,
            why_not_mnist(&error, part)
        ))),
        // Our own disk failing is not the mirror's fault: stop.
        Err(error @ (DataError::FileIo { .. } | DataError::NotAFile { .. })) => {
            Err(Failure::Local(error))
        }
        // Anything else is content that is not the MNIST file: a header declaring other
        // dimensions (refused before inflating it), not IDX, truncated, trailing data.
        Err(other) => Err(Failure::Mirror(format!(
            "not {} {}: {}",
            known.dataset,
            known.name,
            without_file(&other, part)
        ))),
    }
}
