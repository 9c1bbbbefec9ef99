//! `twostage`: train, evaluate and query the two-stage MNIST network from the command line.
//! This file only parses arguments; each command lives in its own file under `cli/`.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> ExitCode {
    // SIGINT, SIGTERM, SIGHUP and SIGQUIT remove the temporary files of a write in progress before exiting.
    twostage::temp_files::remove_on_signal();
    let result = match Cli::parse().command {
        Command::Train(args) => cli::train::run(&args),
        Command::Eval(args) => cli::eval::run(&args),
        Command::Predict(args) => cli::predict::run(&args),
        Command::Report(args) => cli::report::run(&args),
        Command::Download(args) => cli::download::run(&args),
        Command::Explain(args) => cli::explain::run(&args),
        Command::Gradcheck(args) => cli::gradcheck::run(&args),
        Command::Inspect { file } => cli::inspect::run(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // stderr may be closed: reporting must not panic (exit 101) over the exit status.
            let _ = std::io::stderr().write_all(describe(&e).as_bytes());
            ExitCode::FAILURE
        }
    }
}

/// `error: …`, then each cause the message does not already say (`  caused by: …`), then the
/// command line's hints (`  hint: …`).
fn describe(e: &cli::error::Error) -> String {
    let (error, hints) = e.peel();
    let mut text = format!("error: {error}\n");
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        let message = c.to_string();
        if !text.contains(&message) {
            text.push_str(&format!("  caused by: {message}\n"));
        }
        cause = c.source();
    }
    for hint in hints {
        text.push_str(&format!("  hint: {hint}\n"));
    }
    text
}
