//! `twostage predict`: one test image, its label, the prediction and the probabilities.

use std::path::PathBuf;

use clap::Args;
use twostage::data::mnist::{CLASSES, Split};
use twostage::train;

use super::console::{out, outln};
use super::error::{Error, invalid};
use super::output;
use super::{data_dir, load_classifier, load_split};

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// A checkpoint written by `twostage train` (or by PyTorch with the same names)
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which of the 10000 test images
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub index: usize,
    /// Where the MNIST test files are; downloaded there if missing [default: $MNIST_DIR, else data/mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Accept test files whose checksums differ from the published MNIST ones (your own IDX data)
    #[arg(long)]
    pub no_verify: bool,
}

/// `twostage predict`.
pub fn run(args: &PredictArgs) -> Result<(), Error> {
    let dir = data_dir(&args.data_dir)?;
    let mut network = load_classifier(&args.model)?;
    let test_set = load_split(&dir, Split::Test, !args.no_verify)?;
    if args.index >= test_set.len() {
        return Err(invalid(
            "--index",
            format!(
                "{} is out of range: the test set has {} images (0..{})",
                args.index,
                test_set.len(),
                test_set.len()
            ),
        ));
    }
    let probabilities =
        train::probabilities(&mut network, test_set.image(args.index)).map_err(|e| match e {
            twostage::Error::NonFiniteOutput {
                what,
                value,
                tensor,
                largest,
                ..
            } => twostage::Error::NonFiniteOutput {
                what,
                example: args.index,
                value,
                tensor,
                largest,
            },
            other => other,
        })?;
    let predicted = train::argmax(probabilities.iter().copied());
    out!("{}", output::ascii_digit(test_set.image(args.index), 28));
    outln!(
        "test image {}: true label {}, predicted {}",
        args.index,
        test_set.label(args.index),
        predicted
    );
    for (digit, p) in probabilities.iter().enumerate().take(CLASSES) {
        let bar = "#".repeat((p * 40.0).round() as usize);
        outln!("  {digit}: {p:.4} {bar}");
    }
    Ok(())
}
