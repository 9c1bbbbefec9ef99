//! Fetching the four MNIST `.gz` files from a list of mirrors.
//!
//! Each file is written to a temporary file in the target directory
//! (`.<name>.gz.part-<pid>`, a [`TempFile`]) and renamed to its final name only once the SHA-256 of its
//! decompressed content matches the published one. Any failure on a mirror — refused
//! connection, timeout, HTTP error, short body, corrupt gzip, wrong content — is logged in one
//! line and the next mirror is tried; the temporary file never outlives the attempt.

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::checksums::{self, hex};
use super::idx::content_sha256;
use super::mnist::{FILE_NAMES, files_present, find_file};
use super::{Attempt, DataError};
use crate::temp_files::{Kind, TempFile, sibling};

/// Mirrors tried in order; each holds `<name>.gz` for the four MNIST files.
/// No MNIST file is larger than 10 MB compressed; a mirror sending more is broken, and is not
/// allowed to fill the disk.
const MAX_DOWNLOAD_BYTES: u64 = 64 << 20;

pub const DEFAULT_MIRRORS: [&str; 3] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// How to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Base URLs, tried in order; `<name>.gz` is appended.
    pub mirrors: Vec<String>,
    /// Bound on establishing each connection.
    pub connect_timeout: Duration,
    /// Bound on waiting for the response headers and on each read of the body.
    pub read_timeout: Duration,
    /// Show an `indicatif` progress bar (set it from `std::io::stderr().is_terminal()`);
    /// otherwise plain log lines go to stderr.
    pub progress: bool,
}

impl Default for DownloadOptions {
    /// The default mirrors, 10 s to connect, 30 s per read, no progress bar.
    fn default() -> Self {
        DownloadOptions {
            mirrors: DEFAULT_MIRRORS.iter().map(|m| m.to_string()).collect(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            progress: false,
        }
    }
}

/// The data directory: `$MNIST_DIR` if set, else `data/mnist`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data/mnist"))
}

/// Downloads whatever MNIST files are missing from `dir`, only if any is missing.
pub fn ensure_mnist(dir: &Path, opts: &DownloadOptions) -> Result<(), DataError> {
    if files_present(dir) {
        return Ok(());
    }
    download_mnist(dir, opts)
}

/// Fetches the four MNIST `.gz` files into `dir` (created if needed).
///
/// A file already present (plain or `.gz`) whose decompressed content matches the published
/// SHA-256 is not fetched again.
pub fn download_mnist(dir: &Path, opts: &DownloadOptions) -> Result<(), DataError> {
    fs::create_dir_all(dir).map_err(|e| DataError::Io {
        file: dir.to_path_buf(),
        source: e,
    })?;
    let client = build_client(opts)?;
    for name in FILE_NAMES {
        let expected =
            checksums::expected_sha256(name).expect("every MNIST file name has a checksum");
        if let Some(existing) = find_file(dir, name) {
            match content_sha256(&existing) {
                Ok(hash) if hex(&hash) == expected => {
                    eprintln!("{} already present and verified", existing.display());
                    continue;
                }
                _ => eprintln!(
                    "{} is present but does not verify; downloading it again",
                    existing.display()
                ),
            }
        }
        download_file(&client, dir, name, expected, opts)?;
    }
    Ok(())
}

/// A reqwest blocking client with rustls (ring provider) and the configured timeouts.
fn build_client(opts: &DownloadOptions) -> Result<reqwest::blocking::Client, DataError> {
    // reqwest is built with `rustls-no-provider`: install ring once. Installing again fails
    // harmlessly (a provider is already there), so the result is ignored on purpose.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .connect_timeout(opts.connect_timeout)
        // In the blocking client this bounds the wait for the headers and each body read.
        .timeout(opts.read_timeout)
        .user_agent(concat!("twostage/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DataError::HttpClient {
            reason: describe(&e),
        })
}

/// Tries each mirror in turn for `<name>.gz`; stops at the first that verifies.
fn download_file(
    client: &reqwest::blocking::Client,
    dir: &Path,
    name: &str,
    expected: &str,
    opts: &DownloadOptions,
) -> Result<(), DataError> {
    let file_name = format!("{name}.gz");
    let final_path = dir.join(&file_name);
    let mut attempts = Vec::new();
    for mirror in &opts.mirrors {
        let url = join_url(mirror, &file_name);
        let part_path = sibling(&final_path, Kind::Download).ok_or_else(|| DataError::Io {
            file: final_path.clone(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        })?;
        if !opts.progress {
            eprint!("downloading {url} … ");
        }
        let outcome = fetch(client, &url, &part_path, expected, opts);
        // One line per attempt: the plain log finishes the line begun above.
        let prefix = if opts.progress {
            format!("{url}: ")
        } else {
            String::new()
        };
        match outcome {
            Ok((part, bytes)) => {
                part.persist(&final_path).map_err(|e| DataError::Io {
                    file: final_path.clone(),
                    source: e,
                })?;
                eprintln!("{prefix}done, {bytes} bytes");
                return Ok(());
            }
            Err(Failure::Local(error)) => {
                eprintln!("{prefix}failed");
                return Err(error);
            }
            Err(Failure::Mirror(reason)) => {
                eprintln!("{prefix}failed: {reason}");
                attempts.push(Attempt { url, reason });
            }
        }
    }
    Err(DataError::DownloadFailed {
        file: file_name,
        attempts,
    })
}

/// Why one attempt failed: the mirror's fault (try the next) or ours (stop).
enum Failure {
    Mirror(String),
    Local(DataError),
}

/// Downloads `url` into the temporary file `part` and checks its decompressed content; returns
/// the temporary file (removed on drop unless persisted) and the byte count.
fn fetch(
    client: &reqwest::blocking::Client,
    url: &str,
    part: &Path,
    expected: &str,
    opts: &DownloadOptions,
) -> Result<(TempFile, u64), Failure> {
    let mut response = client
        .get(url)
        .send()
        .map_err(|e| Failure::Mirror(request_failure(e, opts)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(Failure::Mirror(format!("HTTP {status}")));
    }
    let announced = response.content_length();
    let local = |e: io::Error| {
        Failure::Local(DataError::Io {
            file: part.to_path_buf(),
            source: e,
        })
    };
    let (temp, file) = TempFile::create(part.to_path_buf()).map_err(local)?;
    let mut out = BufWriter::new(file);
    let bar = progress_bar(opts.progress, url, announced);
    let mut received: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match response.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                bar.abandon();
                let progress = match announced {
                    Some(total) => format!("after {received} of {total} announced bytes"),
                    None => format!("after {received} bytes"),
                };
                let why = if is_timeout(&e) {
                    format!("no data for {:?} (read timeout)", opts.read_timeout)
                } else {
                    root_cause(&e)
                };
                return Err(Failure::Mirror(format!("body failed {progress}: {why}")));
            }
        };
        received += n as u64;
        if received > MAX_DOWNLOAD_BYTES {
            bar.abandon();
            return Err(Failure::Mirror(format!(
                "body exceeds {MAX_DOWNLOAD_BYTES} bytes, far more than any MNIST file"
            )));
        }
        out.write_all(&chunk[..n]).map_err(local)?;
        bar.set_position(received);
    }
    bar.finish_and_clear();
    out.into_inner()
        .map_err(|e| local(e.into_error()))?
        .sync_all()
        .map_err(local)?;
    if let Some(total) = announced
        && received < total
    {
        return Err(Failure::Mirror(format!(
            "body ended after {received} of {total} announced bytes"
        )));
    }
    let actual = match content_sha256(part) {
        Ok(hash) => hex(&hash),
        Err(DataError::CorruptGzip { source, .. }) => {
            return Err(Failure::Mirror(format!("corrupt gzip: {source}")));
        }
        Err(other) => return Err(Failure::Local(other)),
    };
    if actual != expected {
        return Err(Failure::Mirror(format!(
            "checksum mismatch: decompressed content has SHA-256 {actual}, expected {expected}"
        )));
    }
    Ok((temp, received))
}

/// A progress bar with bytes and rate, or a hidden one when `show` is false.
fn progress_bar(show: bool, url: &str, total: Option<u64>) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{msg}\n{wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{msg}\n{spinner} {bytes} {binary_bytes_per_sec}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(format!("downloading {url}"));
    bar
}

/// `mirror` + `file_name`, with exactly one `/` between them.
fn join_url(mirror: &str, file_name: &str) -> String {
    format!("{}/{file_name}", mirror.trim_end_matches('/'))
}

/// A one-line reason for a request that got no response: connect failure, timeout or other.
fn request_failure(error: reqwest::Error, opts: &DownloadOptions) -> String {
    if error.is_connect() && error.is_timeout() {
        format!(
            "could not connect within {:?} (connect timeout)",
            opts.connect_timeout
        )
    } else if error.is_connect() {
        format!("could not connect: {}", root_cause(&error))
    } else if error.is_timeout() {
        format!("no response within {:?} (read timeout)", opts.read_timeout)
    } else {
        describe(&error.without_url())
    }
}

/// Whether a body read failed because the read timeout expired.
fn is_timeout(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout)
}

/// The innermost cause of an error, e.g. `Connection refused (os error 111)`.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// An error and its chain of causes on one line, e.g. `error sending request: connection refused`.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}
