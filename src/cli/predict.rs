//! `twostage predict`: one test image, its label, the prediction and the probabilities.

use std::path::PathBuf;

use clap::Args;
use twostage::data::mnist::Split;
use twostage::train;

use super::console::{out, outln};
use super::error::{Error, invalid};
use super::output;
use super::{DatasetChoice, check_data_fits_model, data_source, load_classifier, load_split};

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// A checkpoint written by `twostage train` (or by PyTorch with the same names) [required]
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which test image, from 0 (MNIST and Fashion-MNIST have 10000) [required]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub index: usize,
    /// Which known dataset the image is from [default: the one the model was trained on, else mnist]
    #[arg(long, value_enum, value_name = "NAME")]
    pub dataset: Option<DatasetChoice>,
    /// Where the test files are; a known dataset is downloaded there if missing [default: the
    /// dataset's: $MNIST_DIR, else data/mnist; $FASHION_MNIST_DIR, else data/fashion-mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Read the test files as your own IDX set: checksums not verified, nothing downloaded
    /// [default: off, the files must be the dataset's]
    #[arg(long)]
    pub no_verify: bool,
    /// Predict even when the data is not what the model was trained on (a loud warning)
    /// [default: off, such data is refused]
    #[arg(long)]
    pub force: bool,
}

/// `twostage predict`.
pub fn run(args: &PredictArgs) -> Result<(), Error> {
    let (mut network, model) = load_classifier(&args.model)?;
    let source = data_source(
        args.dataset,
        &args.data_dir,
        args.no_verify,
        Some((&model, &args.model)),
    )?;
    let test_set = load_split(&source, Split::Test)?;
    let names = check_data_fits_model(
        &model,
        &args.model,
        network.dims.classes,
        &source,
        &test_set,
        args.force,
    )?;
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
    let label = usize::from(test_set.label(args.index));
    outln!(
        "test image {}: true label {}, predicted {}",
        args.index,
        output::class_label(label, &names),
        output::class_label(predicted, &names)
    );
    let width = output::name_width(&names);
    for (class, p) in probabilities.iter().enumerate() {
        let bar = "#".repeat((p * 40.0).round() as usize);
        outln!(
            "  {}: {p:.4} {bar}",
            output::class_column(class, &names, width)
        );
    }
    Ok(())
}
