//! One file from a list of mirrors over HTTP: the client, the attempts in turn, the bounded
//! body read into a temporary file, and one-line reasons for each failure.

use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use super::redact::{password, redact_url};
use super::verify::check_content;
use super::{DownloadOptions, Outcome};
use crate::data::checksums::KnownFile;
use crate::data::mnist::verify_mnist_file;
use crate::data::{Attempt, DataError};
use crate::temp_files::{Kind, TempFile, sibling};

/// No file of a known dataset is larger than 30 MB compressed; a mirror sending more is broken,
/// and is not allowed to fill the disk.
const MAX_DOWNLOAD_BYTES: u64 = 64 << 20;

/// The slowest a body may arrive, averaged over each window of [`DownloadOptions::read_timeout`]:
/// a mirror sending a byte a second never trips the read timeout, and would otherwise hold a
/// file for the whole file deadline. No file of a known dataset arrives within the 10-minute
/// default deadline at this rate, so nothing that could succeed is given up on.
const MIN_BYTES_PER_SECOND: f64 = 1024.0;

/// A reqwest blocking client with rustls (ring provider) and the configured timeouts.
pub(super) fn build_client(opts: &DownloadOptions) -> Result<reqwest::blocking::Client, DataError> {
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
pub(super) fn download_file(
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
                match persisted {
                    Ok(()) => {}
                    // Another run (a second `download` into this directory) got there first:
                    // if what it left is the dataset's file, the set is as asked for.
                    Err(e)
                        if e.kind() == io::ErrorKind::AlreadyExists
                            && verify_mnist_file(&final_path, known).is_ok() =>
                    {
                        opts.progress.note(format_args!(
                            "{} appeared meanwhile (another download?) and verifies: kept it",
                            final_path.display()
                        ));
                    }
                    Err(e) => {
                        return Err(DataError::FileIo {
                            file: final_path.clone(),
                            source: e,
                        });
                    }
                }
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
pub(super) enum Failure {
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
    let response = client
        .get(url)
        .send()
        .map_err(|e| Failure::Mirror(request_failure(e, opts)))?;
    let status = response.status();
    let content_length = response.content_length();
    if !status.is_success() {
        return Err(Failure::Mirror(format!("HTTP {status}")));
    }
    // A mirror may compress the `.gz` once more for the transfer (`Content-Encoding: gzip`):
    // undone here, so the file written and checked is the `.gz` itself. The announced length
    // is then of the encoded body, not of the file.
    let encoding = response
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .trim()
                .to_ascii_lowercase()
        });
    let mut body_reader: Box<dyn Read> = match encoding.as_deref() {
        None | Some("identity") => Box::new(response),
        Some("gzip" | "x-gzip") => Box::new(flate2::read::MultiGzDecoder::new(response)),
        Some(other) => {
            return Err(Failure::Mirror(format!(
                "sent Content-Encoding: {other}, which twostage does not decode"
            )));
        }
    };
    let announced = if encoding.is_some() {
        None
    } else {
        content_length
    };
    let local = |e: io::Error| {
        Failure::Local(DataError::FileIo {
            file: part.to_path_buf(),
            source: e,
        })
    };
    let (temp, file) = TempFile::create(part.to_path_buf()).map_err(local)?;
    let mut out = BufWriter::new(file);
    if let Some(p) = opts.progress.get() {
        p.body(announced);
    }
    let body = Body {
        announced,
        started,
        known,
        opts,
    };
    let received = body.copy(&mut body_reader, &mut out, &local)?;
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

/// A response body being received: what bounds it, and what it is for.
struct Body<'a> {
    /// The length the mirror announced, if it did.
    announced: Option<u64>,
    /// When the request was sent, for [`DownloadOptions::file_deadline`].
    started: Instant,
    known: &'a KnownFile,
    opts: &'a DownloadOptions,
}

impl Body<'_> {
    /// Copies the body from `response` to `out`, within [`MAX_DOWNLOAD_BYTES`] and the file
    /// deadline, reporting progress; returns the bytes received. `local` names our write errors.
    fn copy(
        &self,
        response: &mut impl Read,
        out: &mut impl Write,
        local: &dyn Fn(io::Error) -> Failure,
    ) -> Result<u64, Failure> {
        let progress = self.opts.progress.get();
        let mut received: u64 = 0;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut window = (Instant::now(), 0u64);
        loop {
            let n = match response.read(&mut chunk) {
                Ok(0) => return Ok(received),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let why = if is_timeout(&e) {
                        format!("no data for {:?} (read timeout)", self.opts.read_timeout)
                    } else {
                        root_cause(&e)
                    };
                    let so_far = self.so_far(received);
                    return Err(Failure::Mirror(format!("body failed {so_far}: {why}")));
                }
            };
            received += n as u64;
            if received > MAX_DOWNLOAD_BYTES {
                return Err(Failure::Mirror(format!(
                    "body exceeds {MAX_DOWNLOAD_BYTES} bytes, far more than any {} file",
                    self.known.dataset
                )));
            }
            out.write_all(&chunk[..n]).map_err(local)?;
            if let Some(p) = progress {
                p.received(received);
            }
            self.within_deadline(received)?;
            self.fast_enough(&mut window, received)?;
        }
    }

    /// Whether the bytes since the window `(start, received then)` opened came at least at
    /// [`MIN_BYTES_PER_SECOND`]; once the window is a read timeout long, the next one opens.
    fn fast_enough(&self, window: &mut (Instant, u64), received: u64) -> Result<(), Failure> {
        let elapsed = window.0.elapsed();
        if elapsed < self.opts.read_timeout {
            return Ok(());
        }
        let rate = (received - window.1) as f64 / elapsed.as_secs_f64();
        if rate < MIN_BYTES_PER_SECOND {
            return Err(Failure::Mirror(format!(
                "too slow: {rate:.0} bytes/s over the last {elapsed:.1?} ({}), below the \
                 minimum of {MIN_BYTES_PER_SECOND:.0} bytes/s",
                self.so_far(received)
            )));
        }
        *window = (Instant::now(), received);
        Ok(())
    }

    /// A mirror that trickles never trips the read timeout: the whole file is bounded.
    fn within_deadline(&self, received: u64) -> Result<(), Failure> {
        let elapsed = self.started.elapsed();
        if elapsed <= self.opts.file_deadline {
            return Ok(());
        }
        let rate = received as f64 / elapsed.as_secs_f64();
        Err(Failure::Mirror(format!(
            "too slow: not complete within the file deadline of {:?} ({}, {rate:.0} bytes/s)",
            self.opts.file_deadline,
            self.so_far(received)
        )))
    }

    /// `after 5 of 10 announced bytes`, or `after 5 bytes` when nothing was announced.
    fn so_far(&self, received: u64) -> String {
        match self.announced {
            Some(total) => format!("after {received} of {total} announced bytes"),
            None => format!("after {received} bytes"),
        }
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
