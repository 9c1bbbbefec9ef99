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
//! (`.<name>.gz.part-<pid>`, a [`TempFile`]) and renamed to its final name only once the SHA-256 of its
//! decompressed content matches the published one. Any failure on a mirror — refused
//! connection, timeout, a body that trickles past [`DownloadOptions::file_deadline`], HTTP
//! error, short body, corrupt gzip, wrong content — is logged in one line and the next mirror
//! is tried; the temporary file never outlives the attempt. A password in a mirror URL is never
//! shown: every URL in logs and errors goes through [`redact_url`].

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use std::sync::Arc;

use super::checksums::KnownFile;
use super::dataset::{Dataset, MNIST};
use super::mnist::{find_file, verify_mnist_file};
use super::{Attempt, DataError, Foreign, kind_of};
use crate::temp_files::{Kind, TempFile, remove_stale, sibling};

/// No file of a known dataset is larger than 30 MB compressed; a mirror sending more is broken,
/// and is not allowed to fill the disk.
const MAX_DOWNLOAD_BYTES: u64 = 64 << 20;

/// How a download attempt ended, for [`Progress::ended`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The file is in place: `bytes` were received and verified.
    Done {
        /// Bytes received (compressed).
        bytes: u64,
    },
    /// The mirror failed, for `reason`; the next one is tried.
    MirrorFailed {
        /// One line, e.g. `HTTP 404 Not Found`.
        reason: &'a str,
    },
    /// Our side failed (the disk): the error is returned, no other mirror is tried.
    LocalFailed,
}

/// What a download reports as it goes. The library never prints: the caller shows these as it
/// likes (the command line: log lines on stderr, or a progress bar on a terminal). Every
/// method does nothing by default.
pub trait Progress: Send + Sync {
    /// A whole line about the directory: created, a file already verified, a stale file removed.
    fn note(&self, _line: &str) {}
    /// An attempt to fetch `url` (password redacted) begins.
    fn attempt(&self, _url: &str) {}
    /// The mirror answered; it announced `total` bytes, if it did.
    fn body(&self, _total: Option<u64>) {}
    /// `received` bytes of the body so far.
    fn received(&self, _received: u64) {}
    /// The attempt on `url` ended.
    fn ended(&self, _url: &str, _outcome: Outcome<'_>) {}
}

/// Where a download's [`Progress`] goes: nowhere by default.
#[derive(Clone, Default)]
pub struct Reporter(Option<Arc<dyn Progress>>);

impl Reporter {
    /// Reports to `progress`.
    pub fn new(progress: impl Progress + 'static) -> Reporter {
        Reporter(Some(Arc::new(progress)))
    }

    /// Reports nothing.
    pub fn silent() -> Reporter {
        Reporter(None)
    }

    fn get(&self) -> Option<&dyn Progress> {
        self.0.as_deref()
    }

    fn note(&self, line: std::fmt::Arguments<'_>) {
        if let Some(p) = self.get() {
            p.note(&line.to_string());
        }
    }
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Reporter(..)"
        } else {
            "Reporter(silent)"
        })
    }
}

/// Two reporters are equal when they report to the same place.
impl PartialEq for Reporter {
    fn eq(&self, other: &Reporter) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Reporter {}

/// How to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Base URLs, tried in order; `<name>.gz` is appended.
    pub mirrors: Vec<String>,
    /// Bound on establishing each connection.
    pub connect_timeout: Duration,
    /// Bound on waiting for the response headers and on each read of the body.
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
        match verify_mnist_file(&existing, known) {
            Ok(()) => opts.progress.note(format_args!(
                "{} already present and verified",
                existing.display()
            )),
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
                fetch.push((known, plain.then_some(existing)));
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
            fs::remove_file(&plain).map_err(|e| DataError::FileIo {
                file: plain.clone(),
                source: e,
            })?;
            opts.progress.note(format_args!(
                "removed {} (replaced by its .gz, forced)",
                plain.display()
            ));
        }
    }
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

/// The files of `dataset` present in `dir` that do not verify, with why.
fn not_mnist(dataset: &Dataset, dir: &Path) -> Vec<Foreign> {
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
fn why_not_mnist(error: &DataError, file: &Path) -> String {
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
fn without_file(error: &DataError, file: &Path) -> String {
    let text = error.to_string();
    match text.strip_prefix(&format!("{}: ", file.display())) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// `url` with the password of its user information, if any, replaced by `***`:
/// `https://user:secret@host/` becomes `https://user:***@host/`. Every URL shown goes through it.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let authority_start = scheme_end + 3;
    let authority_len = url[authority_start..]
        .find(['/', '?', '#'])
        .unwrap_or(url.len() - authority_start);
    let authority = &url[authority_start..authority_start + authority_len];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_string();
    };
    format!(
        "{}{}:***{}",
        &url[..authority_start],
        &authority[..colon],
        &url[authority_start + at..]
    )
}

/// The password in `url`'s user information, if any (to scrub it from error texts too).
fn password(url: &str) -> Option<&str> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let secret = &userinfo[userinfo.find(':')? + 1..];
    (!secret.is_empty()).then_some(secret)
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

/// Tries each mirror in turn for `<name>.gz`; stops at the first that verifies. Only with
/// `replace` may the download take the place of a file already there (`download --force`).
fn download_file(
    client: &reqwest::blocking::Client,
    dir: &Path,
    known: &KnownFile,
    replace: bool,
    opts: &DownloadOptions,
) -> Result<(), DataError> {
    let file_name = format!("{}.gz", known.name);
    let final_path = dir.join(&file_name);
    let mut attempts = Vec::new();
    for mirror in &opts.mirrors {
        let url = join_url(mirror, &file_name);
        let shown = redact_url(&url);
        let part_path = sibling(&final_path, Kind::Download).ok_or_else(|| DataError::FileIo {
            file: final_path.clone(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        })?;
        let progress = opts.progress.get();
        if let Some(p) = progress {
            p.attempt(&shown);
        }
        let ended = |outcome| {
            if let Some(p) = progress {
                p.ended(&shown, outcome);
            }
        };
        let outcome = fetch(client, &url, &part_path, known, opts);
        match outcome {
            Ok((part, bytes)) => {
                let persisted = if replace {
                    part.persist(&final_path)
                } else {
                    part.persist_new(&final_path)
                };
                persisted.map_err(|e| DataError::FileIo {
                    file: final_path.clone(),
                    source: e,
                })?;
                ended(Outcome::Done { bytes });
                return Ok(());
            }
            Err(Failure::Local(error)) => {
                ended(Outcome::LocalFailed);
                return Err(error);
            }
            Err(Failure::Mirror(reason)) => {
                // Error texts from the HTTP stack may quote the URL: never its password.
                let reason = match password(&url) {
                    Some(secret) => reason.replace(secret, "***"),
                    None => reason,
                };
                ended(Outcome::MirrorFailed { reason: &reason });
                attempts.push(Attempt { url: shown, reason });
            }
        }
    }
    Err(DataError::DownloadFailed {
        dataset: known.dataset,
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
    known: &KnownFile,
    opts: &DownloadOptions,
) -> Result<(TempFile, u64), Failure> {
    let started = Instant::now();
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
        Failure::Local(DataError::FileIo {
            file: part.to_path_buf(),
            source: e,
        })
    };
    let (temp, file) = TempFile::create(part.to_path_buf()).map_err(local)?;
    let mut out = BufWriter::new(file);
    let progress = opts.progress.get();
    if let Some(p) = progress {
        p.body(announced);
    }
    let mut received: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    let so_far = |received: u64| match announced {
        Some(total) => format!("after {received} of {total} announced bytes"),
        None => format!("after {received} bytes"),
    };
    loop {
        let n = match response.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let why = if is_timeout(&e) {
                    format!("no data for {:?} (read timeout)", opts.read_timeout)
                } else {
                    root_cause(&e)
                };
                return Err(Failure::Mirror(format!(
                    "body failed {}: {why}",
                    so_far(received)
                )));
            }
        };
        received += n as u64;
        if received > MAX_DOWNLOAD_BYTES {
            return Err(Failure::Mirror(format!(
                "body exceeds {MAX_DOWNLOAD_BYTES} bytes, far more than any {} file",
                known.dataset
            )));
        }
        out.write_all(&chunk[..n]).map_err(local)?;
        if let Some(p) = progress {
            p.received(received);
        }
        // A mirror that trickles never trips the read timeout: bound the whole file.
        let elapsed = started.elapsed();
        if elapsed > opts.file_deadline {
            let rate = received as f64 / elapsed.as_secs_f64();
            return Err(Failure::Mirror(format!(
                "too slow: not complete within the file deadline of {:?} ({}, {rate:.0} bytes/s)",
                opts.file_deadline,
                so_far(received)
            )));
        }
    }
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
    check_content(part, known)?;
    Ok((temp, received))
}

/// Whether the downloaded file `part` is `known`'s content: if not, whose fault that is.
fn check_content(part: &Path, known: &KnownFile) -> Result<(), Failure> {
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
