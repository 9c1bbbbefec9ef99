//! Console output that never panics and never costs a run.
//!
//! `println!` panics when stdout is a closed pipe (`twostage train | head -1`): the run would
//! end with exit 101 before its checkpoint was saved. These macros write the same text and
//! drop it when the stream is gone, so a command whose reader went away still finishes,
//! saves and reports its outcome through the exit status.

use std::fmt::Arguments;
use std::io::{self, Write};
use std::sync::Mutex;

/// The first error writing to stdout other than a closed pipe, if any: a command whose product
/// is its text must not exit 0 when that text went nowhere (`> /dev/full`, a full disk).
static LOST: Mutex<Option<String>> = Mutex::new(None);

/// Records a failed write to stdout. A closed pipe (`| head -1`) is the reader's choice and
/// harmless; anything else is remembered for [`stdout_lost`].
fn note(e: &io::Error) {
    if e.kind() != io::ErrorKind::BrokenPipe {
        let mut lost = LOST.lock().unwrap_or_else(|p| p.into_inner());
        lost.get_or_insert_with(|| e.to_string());
    }
}

/// Writes to stdout; a closed or full stream drops the text (a full one is remembered).
pub fn stdout(args: Arguments) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        note(&e);
    }
}

/// Writes `text` as it is to stdout (clap's help), remembering a failure as [`stdout`] does.
pub fn stdout_text(text: &str) {
    if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes()) {
        note(&e);
    }
}

/// Flushes stdout and says why output was lost, if it was (a closed pipe is not a loss).
pub fn stdout_lost() -> Option<String> {
    if let Err(e) = std::io::stdout().lock().flush() {
        note(&e);
    }
    LOST.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Writes to stderr; a closed or full stream drops the text.
pub fn stderr(args: Arguments) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `println!` that never panics.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::console::stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::console::stdout(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::cli::console::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

#[allow(unused_imports)]
pub(crate) use {errln, out, outln};
