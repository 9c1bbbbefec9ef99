//! `twostage predict`: one test image (`--index`) or your own picture of a digit (`--image`),
//! what the network saw, the prediction and the probabilities.

use std::path::{Path, PathBuf};

use clap::Args;
use twostage::data::mnist::{CLASSES, Split};
use twostage::report::image;
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
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        required_unless_present = "image",
        conflicts_with = "image"
    )]
    pub index: Option<usize>,
    /// Your own digit as a PNG: any size, dark on light or light on dark, colour or grey. It
    /// is preprocessed as MNIST was (and as the report's canvas does) before the network sees it
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Where the MNIST test files are; downloaded there if missing [default: $MNIST_DIR, else data/mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Accept test files whose checksums differ from the published MNIST ones (your own IDX data)
    #[arg(long)]
    pub no_verify: bool,
}

/// Prints the probabilities, one bar a class.
fn bars(probabilities: &[f32]) {
    for (digit, p) in probabilities.iter().enumerate().take(CLASSES) {
        let bar = "#".repeat((p * 40.0).round() as usize);
        outln!("  {digit}: {p:.4} {bar}");
    }
}

/// `twostage predict --image FILE`.
fn predict_image(args: &PredictArgs, path: &Path) -> Result<(), Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| invalid("--image", format!("cannot read {}: {e}", path.display())))?;
    let decoded = image::decode_png(&bytes).map_err(|e| {
        invalid(
            "--image",
            format!(
                "{} is not a PNG this tool can read ({e}): save the drawing as PNG",
                path.display()
            ),
        )
    })?;
    let pixels = image::mnist_like(&image::ink(&decoded), decoded.width, decoded.height);
    if pixels.iter().all(|&p| p == 0) {
        return Err(invalid(
            "--image",
            format!(
                "{} has no stroke to read: it is one flat colour. Draw a digit, dark on light \
                 or light on dark",
                path.display()
            ),
        ));
    }
    let mut network = load_classifier(&args.model)?;
    let probabilities = train::probabilities(&mut network, &pixels)?;
    outln!(
        "{} ({}×{}), as the network saw it after MNIST's preprocessing:",
        path.display(),
        decoded.width,
        decoded.height
    );
    out!("{}", output::ascii_digit(&pixels, 28));
    bars(&probabilities);
    outln!("predicted {}", train::argmax(probabilities.iter().copied()));
    Ok(())
}

/// `twostage predict`.
pub fn run(args: &PredictArgs) -> Result<(), Error> {
    if let Some(path) = &args.image {
        return predict_image(args, path);
    }
    let Some(index) = args.index else {
        return Err(invalid("--index", "give --index N or --image FILE"));
    };
    let dir = data_dir(&args.data_dir)?;
    let mut network = load_classifier(&args.model)?;
    let test_set = load_split(&dir, Split::Test, !args.no_verify)?;
    if index >= test_set.len() {
        return Err(invalid(
            "--index",
            format!(
                "{} is out of range: the test set has {} images (0..{})",
                index,
                test_set.len(),
                test_set.len()
            ),
        ));
    }
    let probabilities =
        train::probabilities(&mut network, test_set.image(index)).map_err(|e| match e {
            twostage::Error::NonFiniteOutput {
                what,
                value,
                tensor,
                largest,
                ..
            } => twostage::Error::NonFiniteOutput {
                what,
                example: index,
                value,
                tensor,
                largest,
            },
            other => other,
        })?;
    let predicted = train::argmax(probabilities.iter().copied());
    out!("{}", output::ascii_digit(test_set.image(index), 28));
    outln!(
        "test image {}: true label {}, predicted {}",
        index,
        test_set.label(index),
        predicted
    );
    bars(&probabilities);
    Ok(())
}
