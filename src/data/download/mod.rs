//! Fetching a known dataset's `.gz` files (MNIST, Fashion-MNIST) from its list of mirrors.
//!
//! The rule: **a file the user has is never replaced or lost** unless they asked for it
//! (`twostage download --force`). [`ensure_dataset`] only *completes* a set — it fetches
//! the missing files into a directory whose files all verify as that dataset, and refuses,
//! naming the files, when the directory holds anything else under its names.
//! [`download_dataset`] refuses to replace a present file that does not verify unless forced.
//! [`ensure_mnist`] and [`download_mnist`] are the same for MNIST.
//!
//! Each file is written to a temporary file in the target directory
//! (`.<name>.gz.part-<pid>`, a [`TempFile`](crate::temp_files::TempFile)) and renamed to its final name only once the SHA-256 of its
//! decompressed content matches the published one. Any failure on a mirror — refused
//! connection, timeout, a body that trickles past [`DownloadOptions::file_deadline`], HTTP
//! error, short body, corrupt gzip, wrong content — is logged in one line and the next mirror
//! is tried; the temporary file never outlives the attempt. A password in a mirror URL is never
//! shown: every URL in logs and errors goes through [`redact_url`].

mod http;
mod progress;
mod redact;
mod verify;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checksums::KnownFile;
use super::dataset::{Dataset, MNIST};
use super::mnist::{find_file, verify_mnist_file};
use super::{DataError, Foreign, kind_of};
use crate::temp_files::remove_stale;
use http::{build_client, download_file};
pub use progress::{Outcome, Progress, Reporter};
pub use redact::redact_url;
use verify::{not_mnist, why_not_mnist};

/// How to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Base URLs, tried in order; `<name>.gz` is appended.
    pub mirrors: Vec<String>,
    /// Bound on establishing each connection.
    pub connect_timeout: Duration,
    /// Bound on waiting for the response headers and on each read of the body; also the window
    /// over which a body must average at least 1 KiB/s, or the mirror is given up on (logged,
    /// with its rate) and the next one tried.
    pub read_timeout: Duration,
    /// Bound on one file from one mirror, from the request to the last byte of the body: a
    /// mirror still sending when it passes is given up on (logged) and the next mirror tried.
    /// It catches a mirror that trickles a byte now and then, which `read_timeout` never does.
    /// Checked between reads, so it may be overrun by at most `read_timeout`.
    pub file_deadline: Duration,
    /// Where the progress of the download goes ([`Reporter::silent`] by default).
    pub progress: Reporter,
}

/// The default [`DownloadOptions::file_deadline`]: 10 minutes, i.e. MNIST's largest file
/// (9.9 MB) at 17 KB/s on average.
pub const DEFAULT_FILE_DEADLINE: Duration = Duration::from_secs(600);

impl Default for DownloadOptions {
    /// MNIST's mirrors, 10 s to connect, 30 s per read, 10 minutes per file, no progress reported.
    fn default() -> Self {
        DownloadOptions::for_dataset(&MNIST)
    }
}

impl DownloadOptions {
    /// `dataset`'s mirrors, 10 s to connect, 30 s per read, 10 minutes per file, no progress reported.
    pub fn for_dataset(dataset: &Dataset) -> Self {
        DownloadOptions {
            mirrors: dataset.mirrors.iter().map(|m| m.to_string()).collect(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            file_deadline: DEFAULT_FILE_DEADLINE,
            progress: Reporter::silent(),
        }
    }
}

/// MNIST's data directory: `$MNIST_DIR` if set, else `data/mnist` (each dataset's is
/// [`Dataset::data_dir`]).
pub fn default_data_dir() -> PathBuf {
    MNIST.data_dir()
}

/// [`ensure_dataset`] for MNIST.
pub fn ensure_mnist(dir: &Path, needed: &[&str], opts: &DownloadOptions) -> Result<(), DataError> {
    ensure_dataset(&MNIST, dir, needed, opts)
}

/// Makes sure the files `needed` (names without `.gz`, e.g. [`Split::file_names`]) of
/// `dataset` are in `dir`, downloading the missing ones — but only to *complete* a set of it.
///
/// * All `needed` present (plain or `.gz`, whatever their content): `Ok`, no network, nothing
///   touched. Reading them later checks them.
/// * `dir` does not exist: said on stderr, created, and the `needed` files downloaded.
/// * Otherwise every one of the dataset's four files present in `dir` must verify (header
///   dimensions, then SHA-256 of the content); if one does not, nothing is downloaded and the
///   error ([`DataError::IncompleteSet`]) names the missing files and the ones that are not
///   the dataset's. Only missing files are fetched; a present file is never replaced.
///
/// Call it only when the data is to be verified: under `--no-verify` a missing file is
/// the plain [`DataError::MissingFile`] of [`Mnist::load`](super::mnist::Mnist::load).
///
/// [`Split::file_names`]: super::mnist::Split::file_names
pub fn ensure_dataset(
    dataset: &'static Dataset,
    dir: &Path,
    needed: &[&str],
    opts: &DownloadOptions,
) -> Result<(), DataError> {
    let needed = needed
        .iter()
        .map(|name| known(dataset, name))
        .collect::<Result<Vec<_>, _>>()?;
    let missing: Vec<&'static KnownFile> = if directory_exists(dir)? {
        let missing: Vec<_> = needed
            .into_iter()
            .filter(|known| find_file(dir, known.name).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let foreign = not_mnist(dataset, dir);
        if !foreign.is_empty() {
            return Err(DataError::IncompleteSet {
                dataset: dataset.title,
                dir: dir.to_path_buf(),
                missing: missing.iter().map(|known| known.name).collect(),
                foreign,
            });
        }
        missing
    } else {
        opts.progress.note(format_args!(
            "{} does not exist: creating it and downloading {} there",
            dir.display(),
            dataset.title
        ));
        create_dir(dir)?;
        needed
    };
    sweep(dir, opts);
    let client = build_client(opts)?;
    for known in missing {
        download_file(&client, dir, known, false, opts)?;
    }
    Ok(())
}

/// [`download_dataset`] for MNIST.
pub fn download_mnist(dir: &Path, force: bool, opts: &DownloadOptions) -> Result<(), DataError> {
    download_dataset(&MNIST, dir, force, opts)
}

/// Fetches the four `.gz` files of `dataset` into `dir` (created, with a line on stderr, if
/// missing), from the mirrors of `opts`.
///
/// A file already present (plain or `.gz`) that verifies as the dataset's is not fetched again. One
/// that does not verify is an error ([`DataError::PresentNotMnist`], nothing downloaded) unless
/// `force`, which replaces it: the `.gz` atomically, a plain file by removing it once its `.gz`
/// replacement is in place. A directory or other non-file under an MNIST name is an error
/// either way. Stale temporary files of dead processes are removed first.
pub fn download_dataset(
    dataset: &'static Dataset,
    dir: &Path,
    force: bool,
    opts: &DownloadOptions,
) -> Result<(), DataError> {
    if !directory_exists(dir)? {
        opts.progress.note(format_args!(
            "{} does not exist: creating it",
            dir.display()
        ));
        create_dir(dir)?;
    }
    sweep(dir, opts);
    let mut fetch = Vec::new();
    let mut foreign = Vec::new();
    for known in dataset.files {
        let Some(existing) = find_file(dir, known.name) else {
            fetch.push((known, None));
            continue;
        };
        // Forced, a corrupt plain file beside the `.gz` goes too: one verified copy is left.
        let twin = if force {
            corrupt_twin(dir, known, &existing)
        } else {
            None
        };
        match verify_mnist_file(&existing, known) {
            Ok(()) => {
                opts.progress.note(format_args!(
                    "{} already present and verified",
                    existing.display()
                ));
                if let Some(twin) = twin {
                    remove_replaced(&twin, opts)?;
                }
            }
            // A directory or FIFO cannot be renamed over: the error says what it is.
            Err(error @ DataError::NotAFile { .. }) => return Err(error),
            Err(error) if force => {
                opts.progress.note(format_args!(
                    "{} is not {} ({}): replacing it (forced)",
                    existing.display(),
                    dataset.title,
                    why_not_mnist(&error, &existing)
                ));
                let plain = !existing.to_string_lossy().ends_with(".gz");
                fetch.push((known, if plain { Some(existing) } else { twin }));
            }
            Err(error) => foreign.push(Foreign {
                reason: why_not_mnist(&error, &existing),
                file: existing,
            }),
        }
    }
    if !foreign.is_empty() {
        return Err(DataError::PresentNotMnist {
            dataset: dataset.title,
            dir: dir.to_path_buf(),
            files: foreign,
        });
    }
    if fetch.is_empty() {
        return Ok(());
    }
    let client = build_client(opts)?;
    for (known, replaced_plain) in fetch {
        download_file(&client, dir, known, force, opts)?;
        if let Some(plain) = replaced_plain {
            // Forced: the verified `.gz` is in place, and would be read before this anyway.
            remove_replaced(&plain, opts)?;
        }
    }
    Ok(())
}

/// The plain file `<name>` beside `existing` = `<name>.gz`, when it is a file that is not the
/// dataset's: under `--force` it goes once the `.gz` verifies.
fn corrupt_twin(dir: &Path, known: &KnownFile, existing: &Path) -> Option<PathBuf> {
    let plain = dir.join(known.name);
    let is_file = fs::symlink_metadata(&plain).is_ok_and(|m| m.is_file());
    (existing != plain && is_file && verify_mnist_file(&plain, known).is_err()).then_some(plain)
}

/// Removes the plain file `plain`, which a verified `.gz` replaces (forced), saying so.
fn remove_replaced(plain: &Path, opts: &DownloadOptions) -> Result<(), DataError> {
    fs::remove_file(plain).map_err(|e| DataError::FileIo {
        file: plain.to_path_buf(),
        source: e,
    })?;
    opts.progress.note(format_args!(
        "removed {} (not the dataset's; its verified .gz replaces it, forced)",
        plain.display()
    ));
    Ok(())
}

/// The file of `dataset` called `name`, or an error naming the bad name.
fn known(dataset: &'static Dataset, name: &str) -> Result<&'static KnownFile, DataError> {
    dataset
        .file(name)
        .ok_or_else(|| DataError::UnknownFileName {
            name: name.to_string(),
        })
}

/// Whether `dir` exists as a directory; an error if something else is there.
fn directory_exists(dir: &Path) -> Result<bool, DataError> {
    match fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => Ok(true),
        Ok(metadata) => Err(DataError::NotADirectory {
            dir: dir.to_path_buf(),
            kind: kind_of(metadata.file_type()),
        }),
        // A dangling symbolic link: creating the directory would fail with "File exists".
        Err(_) if fs::symlink_metadata(dir).is_ok() => Err(DataError::NotADirectory {
            dir: dir.to_path_buf(),
            kind: "a symbolic link to nothing",
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(DataError::FileIo {
            file: dir.to_path_buf(),
            source: e,
        }),
    }
}

fn create_dir(dir: &Path) -> Result<(), DataError> {
    fs::create_dir_all(dir).map_err(|e| DataError::FileIo {
        file: dir.to_path_buf(),
        source: e,
    })
}

/// Removes the temporary files that dead processes left in `dir`, saying which.
fn sweep(dir: &Path, opts: &DownloadOptions) {
    for stale in remove_stale(dir) {
        opts.progress.note(format_args!(
            "removed {}, left by an interrupted run",
            stale.display()
        ));
    }
}
