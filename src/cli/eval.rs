//! `twostage eval`: accuracy, per-class accuracy and the confusion matrix of a checkpoint.

use std::path::PathBuf;

use clap::Args;
use twostage::data::mnist::Split;
use twostage::train;

use super::console::out;
use super::error::Error;
use super::output;
use super::{
    DatasetChoice, check_data_fits_model, data_source, examples, load_classifier, load_split,
    set_threads,
};

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
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
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
    let (mut network, model) = load_classifier(&args.model)?;
    let source = data_source(
        args.dataset,
        &args.data_dir,
        args.no_verify,
        Some((&model, &args.model)),
    )?;
    set_threads(args.threads)?;
    let test_set = load_split(&source, Split::Test)?;
    let names = check_data_fits_model(
        &model,
        &args.model,
        network.dims.classes,
        &source,
        &test_set,
        args.force,
    )?;
    let evaluation = train::evaluate(&mut network, examples(&test_set), 1000)?;
    out!("{}", output::evaluation_table(&evaluation, &names));
    Ok(())
}
