//! What a download reports as it goes ([`Progress`]), and where that goes ([`Reporter`]).

use std::sync::Arc;

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

    pub(super) fn get(&self) -> Option<&dyn Progress> {
        self.0.as_deref()
    }

    pub(super) fn note(&self, line: std::fmt::Arguments<'_>) {
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
