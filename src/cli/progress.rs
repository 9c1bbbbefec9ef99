//! How a download shows its progress on the command line: a line per event on stderr, or on a
//! terminal a progress bar per file and a line when it ends.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use twostage::data::download::{Outcome, Progress, Reporter};

use super::console::errln;

/// The command line's [`Progress`]: plain lines on stderr, or bars when stderr is a terminal.
pub struct DownloadLog {
    terminal: bool,
    /// The URL being fetched and its bar (terminal only).
    current: Mutex<(String, Option<ProgressBar>)>,
}

impl DownloadLog {
    /// A [`Reporter`] for downloads started by this command.
    pub fn reporter() -> Reporter {
        Reporter::new(DownloadLog {
            terminal: std::io::stderr().is_terminal(),
            current: Mutex::new((String::new(), None)),
        })
    }

    fn current(&self) -> std::sync::MutexGuard<'_, (String, Option<ProgressBar>)> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Progress for DownloadLog {
    fn note(&self, line: &str) {
        errln!("{line}");
    }

    fn attempt(&self, url: &str) {
        if self.terminal {
            *self.current() = (url.to_string(), None);
        } else {
            // The attempt's outcome finishes this line.
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "downloading {url} … ").and_then(|()| stderr.flush());
        }
    }

    fn body(&self, total: Option<u64>) {
        if self.terminal {
            let mut current = self.current();
            let bar = progress_bar(&current.0, total);
            current.1 = Some(bar);
        }
    }

    fn received(&self, received: u64) {
        if let Some(bar) = &self.current().1 {
            bar.set_position(received);
        }
    }

    fn ended(&self, url: &str, outcome: Outcome<'_>) {
        let prefix = if self.terminal {
            if let Some(bar) = self.current().1.take() {
                match outcome {
                    Outcome::Done { .. } => bar.finish_and_clear(),
                    _ => bar.abandon(),
                }
            }
            format!("{url}: ")
        } else {
            String::new()
        };
        match outcome {
            Outcome::Done { bytes } => errln!("{prefix}done, {bytes} bytes"),
            Outcome::MirrorFailed { reason } => errln!("{prefix}failed: {reason}"),
            Outcome::LocalFailed => errln!("{prefix}failed"),
        }
    }
}

/// A progress bar with bytes and rate (a spinner when the size is not announced).
fn progress_bar(shown_url: &str, total: Option<u64>) -> ProgressBar {
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
    bar.set_message(format!("downloading {shown_url}"));
    bar
}
