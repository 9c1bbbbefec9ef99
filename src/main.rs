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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    // The engine never prints: a TWOSTAGE_SIMD it cannot honour is said here.
    if let Some(problem) = twostage::linalg::simd::env_problem() {
        let _ = writeln!(std::io::stderr(), "twostage: warning: {problem}");
    }
    // Whether the command's product is the text it prints (else a file it writes).
    let text_product = !matches!(
        cli.command,
        Command::Train(_) | Command::Report(_) | Command::Download(_)
    );
    let result = match cli.command {
        Command::Train(args) => cli::train::run(&args),
        Command::Eval(args) => cli::eval::run(&args),
        Command::Predict(args) => cli::predict::run(&args),
        Command::Report(args) => cli::report::run(&args),
        Command::Download(args) => cli::download::run(&args),
        Command::Study(args) => cli::study::run(&args),
        Command::Explain(args) => cli::explain::run(&args),
        Command::Gradcheck(args) => cli::gradcheck::run(&args),
        Command::Inspect { file } => cli::inspect::run(&file),
    };
    if let Some(why) = cli::console::stdout_lost() {
        if text_product {
            // The text was the product: losing it is a failure, even after a success.
            let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {why}");
            if let Err(e) = &result {
                let _ = std::io::stderr().write_all(describe(e).as_bytes());
            }
            return ExitCode::FAILURE;
        }
        let _ = writeln!(
            std::io::stderr(),
            "warning: the console output was lost (cannot write to stdout: {why}); the files \
             were written as reported by the exit status"
        );
    }
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
    if let Some(path) = e.looping_path() {
        text.push_str(&format!("  hint: {}\n", cli::paths::link_loop(path)));
    }
    text
}

/// A command line clap refused, or `--help`/`--version`: the text goes where clap says; a
/// help that cannot be written to stdout (other than to a closed pipe) is exit 1, naming stdout.
fn usage(e: &clap::Error) -> ExitCode {
    if e.use_stderr() {
        let _ = e.print();
        return ExitCode::from(e.exit_code() as u8);
    }
    cli::console::stdout_text(&e.render().to_string());
    if let Some(why) = cli::console::stdout_lost() {
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {why}");
        return ExitCode::FAILURE;
    }
    ExitCode::from(e.exit_code() as u8)
}
