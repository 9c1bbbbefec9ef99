//! `twostage eval`: accuracy, per-class accuracy and the confusion matrix of a checkpoint.

use std::path::PathBuf;

use clap::Args;
use twostage::train;

use super::console::out;
use super::error::Error;
use super::output;
use super::{DataFlags, DatasetChoice, open_model, set_threads, test_data_for};

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// A checkpoint written by `twostage train` (or by PyTorch with the same names) [required]
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which known dataset to evaluate on [default: the one the model was trained on, else mnist]
    #[arg(long, value_enum, value_name = "NAME")]
    pub dataset: Option<DatasetChoice>,
    /// Where the test files are; a known dataset is downloaded there if missing [default: the
    /// dataset's: $MNIST_DIR, else data/mnist; $FASHION_MNIST_DIR, else data/fashion-mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Size of the thread pool [default: all cores]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = super::numbers::at_least::<1>)]
    pub threads: Option<usize>,
    /// Read the test files as your own IDX set: checksums not verified, nothing downloaded
    /// [default: off, the files must be the dataset's]
    #[arg(long)]
    pub no_verify: bool,
    /// Evaluate even when the data is not what the model was trained on (a loud warning)
    /// [default: off, such data is refused]
    #[arg(long)]
    pub force: bool,
}

/// `twostage eval`.
pub fn run(args: &EvalArgs) -> Result<(), Error> {
    let mut model = open_model(&args.model)?;
    set_threads(args.threads)?;
    let data = test_data_for(
        &model,
        &DataFlags {
            dataset: args.dataset,
            data_dir: &args.data_dir,
            no_verify: args.no_verify,
            force: args.force,
        },
    )?;
    let evaluation = train::evaluate(&mut model.network, data.test.examples())?;
    out!(
        "{}",
        output::evaluation_table(&evaluation, &data.class_names)
    );
    Ok(())
}
