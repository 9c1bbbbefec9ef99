//! `twostage eval`: accuracy, per-class accuracy and the confusion matrix of a checkpoint.

use std::path::PathBuf;

use clap::Args;
use twostage::train;

use super::common_args::{DataFlags, ThreadsArg};
use super::console::out;
use super::error::Error;
use super::output;
use super::{open_model, test_data_for};

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// A checkpoint written by `twostage train` (or by PyTorch with the same names) [required]
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    #[command(flatten)]
    pub data: DataFlags,
    #[command(flatten)]
    pub threads: ThreadsArg,
}

/// `twostage eval`.
pub fn run(args: &EvalArgs) -> Result<(), Error> {
    let mut model = open_model(&args.model)?;
    args.threads.apply()?;
    let data = test_data_for(&model, &args.data)?;
    let evaluation = train::evaluate(&mut model.network, data.test.examples())?;
    out!(
        "{}",
        output::evaluation_table(&evaluation, &data.class_names)
    );
    Ok(())
}
