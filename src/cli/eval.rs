//! `twostage eval`: accuracy, per-class accuracy and the confusion matrix of a checkpoint.

use std::path::PathBuf;

use clap::Args;
use twostage::data::mnist::Split;
use twostage::train;

use super::console::out;
use super::error::Error;
use super::output;
use super::{data_dir, examples, load_classifier, load_split, set_threads};

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// A checkpoint written by `twostage train` (or by PyTorch with the same names)
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Where the MNIST test files are; downloaded there if missing [default: $MNIST_DIR, else data/mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Size of the thread pool [default: all cores]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Accept test files whose checksums differ from the published MNIST ones (your own IDX data)
    #[arg(long)]
    pub no_verify: bool,
}

/// `twostage eval`.
pub fn run(args: &EvalArgs) -> Result<(), Error> {
    let dir = data_dir(&args.data_dir)?;
    set_threads(args.threads)?;
    let mut network = load_classifier(&args.model)?;
    let test_set = load_split(&dir, Split::Test, !args.no_verify)?;
    let evaluation = train::evaluate(&mut network, examples(&test_set), 1000)?;
    out!("{}", output::evaluation_table(&evaluation));
    Ok(())
}
