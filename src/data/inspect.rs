//! `twostage inspect FILE`: what an IDX file holds, and whether it is a known dataset's file.

use std::fmt::Write as _;
use std::path::Path;

use super::{DataError, checksums, idx};

/// Describes an IDX file for humans: path, compression, data type, dimensions, element count,
/// SHA-256 of the uncompressed content and, for the files of a known dataset (recognised by
/// hash, or by name for MNIST), whether that hash matches the published one.
///
/// Errors are those of [`idx::read_idx_file`]: a file that does not parse is an error.
pub fn inspect(path: &Path) -> Result<String, DataError> {
    // Streamed, never kept: a gzip bomb's declared gigabytes are hashed in constant memory.
    let (header, sha256) = idx::idx_file_sha256(path, &|_| Ok(()))?;
    let gzip = {
        let mut start = [0u8; 2];
        std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut start))
            .is_ok()
            && start == [0x1f, 0x8b]
    };
    let hash = checksums::hex(&sha256);
    let dims: Vec<String> = header.dims.iter().map(|d| d.to_string()).collect();
    let elements: u64 = header.dims.iter().map(|&d| u64::from(d)).product();
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(text, "file:     {}", path.display());
    let _ = writeln!(
        text,
        "format:   IDX{}",
        if gzip {
            ", gzip-compressed"
        } else {
            ", uncompressed"
        }
    );
    let _ = writeln!(text, "dtype:    {}", header.dtype.name());
    let _ = writeln!(text, "dims:     ({})", dims.join(", "));
    let _ = writeln!(text, "elements: {elements}");
    let _ = writeln!(text, "sha256:   {hash} (uncompressed content)");
    let verdict = match checksums::by_hash(&hash) {
        Some(known) => format!(
            "matches the published SHA-256 of {} {}",
            known.dataset, known.name
        ),
        None => match checksums::by_file_name(path) {
            Some(known) => format!(
                "DOES NOT match the published SHA-256 of MNIST {} ({})",
                known.name, known.sha256
            ),
            None => "not a file of a known dataset (MNIST, Fashion-MNIST)".to_string(),
        },
    };
    let _ = writeln!(text, "dataset:  {verdict}");
    Ok(text)
}
