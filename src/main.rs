//! `twostage`: train, evaluate and query the two-stage MNIST network from the command line.
//! This file only parses arguments; each command lives in its own file under `cli/`.

mod cli;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::{
    download::DownloadArgs, eval::EvalArgs, predict::PredictArgs, report::ReportArgs,
    train::TrainArgs,
};

#[derive(Parser)]
#[command(
    name = "twostage",
    version,
    about = "A from-scratch two-stage MNIST network: autoencoder features, then a classifier"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train stage 1 (features), stage 2 (classifier), optionally fine-tune; save a checkpoint
    Train(TrainArgs),
    /// Test accuracy, per-class accuracy and the confusion matrix of a checkpoint
    Eval(EvalArgs),
    /// Show one test image, its label, the predicted class and each class's probability
    Predict(PredictArgs),
    /// One training step of a tiny network, every number printed and checked by finite differences
    Explain(cli::explain::ExplainArgs),
    /// The engine's gradient checks on every layer, both losses and the network (--break: see one fail)
    Gradcheck(cli::gradcheck::GradcheckArgs),
    /// Write one self-contained HTML page showing what a checkpoint learned (open it in a browser)
    Report(ReportArgs),
    /// Does stage 1 help when labels are few or noisy? Every method × label budget × noise × seed
    Study(cli::study::StudyArgs),
    /// Download a known dataset (MNIST, Fashion-MNIST), trying mirrors in order and verifying every file
    Download(DownloadArgs),
    /// Describe an IDX file (dtype, dims, checksum, which dataset) or a checkpoint (tensors,
    /// shapes, dtype, dataset, classes, accuracy, stage-1 mode); fails on a bad file
    Inspect {
        /// An IDX file (plain or gzip-compressed) or a safetensors checkpoint
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    // SIGINT/SIGTERM remove the temporary files of a write in progress before exiting.
    twostage::temp_files::remove_on_signal();
    let result = match Cli::parse().command {
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
