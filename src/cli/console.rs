//! Console output that never panics and never costs a run.
//!
//! `println!` panics when stdout is a closed pipe (`twostage train | head -1`): the run would
//! end with exit 101 before its checkpoint was saved. These macros write the same text and
//! drop it when the stream is gone, so a command whose reader went away still finishes,
//! saves and reports its outcome through the exit status.

use std::fmt::Arguments;
use std::io::Write;

/// Writes to stdout; a closed or full stream drops the text.
pub fn stdout(args: Arguments) {
    let _ = std::io::stdout().lock().write_fmt(args);
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
