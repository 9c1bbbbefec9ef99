//! `twostage predict`: one test image (`--index`) or your own picture (`--image`), what the
//! network saw, the prediction and the probabilities, with the classes' names.

use std::path::{Path, PathBuf};

use clap::Args;
use twostage::report::image;
use twostage::train;

use super::common_args::DataFlags;
use super::console::{out, outln};
use super::error::{Error, invalid};
use super::numbers::at_least;
use super::output;
use super::paths::read_input;
use super::{open_model, test_data_for};

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// A checkpoint written by `twostage train` (or by PyTorch with the same names) [required]
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which test image, from 0 (MNIST and Fashion-MNIST have 10000) [required] unless --image
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        required_unless_present = "image",
        conflicts_with = "image",
        value_parser = at_least::<0>
    )]
    pub index: Option<usize>,
    /// Your own picture as a PNG: any size, dark on light or light on dark, colour or grey. It
    /// is preprocessed as MNIST was (and as the report's canvas does) before the network sees
    /// it [default: none, use --index]
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataFlags,
}

/// Prints the probabilities, one bar a class, under the classes' names.
fn bars(probabilities: &[f32], names: &[String]) {
    let width = output::name_width(names);
    for (class, p) in probabilities.iter().enumerate() {
        let bar = "#".repeat((p * 40.0).round() as usize);
        outln!(
            "  {}: {p:.4} {bar}",
            output::class_column(class, names, width)
        );
    }
}

/// The largest `--image` file read: 64 MiB, far past any drawing saved as PNG.
const MOST_IMAGE_BYTES: u64 = 64 << 20;

/// `twostage predict --image FILE`.
fn predict_image(args: &PredictArgs, path: &Path) -> Result<(), Error> {
    let bytes = read_input("--image", path, MOST_IMAGE_BYTES)?;
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
                "{} has no stroke to read: nothing in it stands out from its background by a \
                 tenth of full contrast (a flat or nearly flat picture). Draw a digit, dark on \
                 light or light on dark",
                path.display()
            ),
        ));
    }
    let mut model = open_model(&args.model)?;
    let names = model.data.class_names.clone().unwrap_or_default();
    let probabilities = train::probabilities(&mut model.network, &pixels)?;
    outln!(
        "{} ({}×{}), as the network saw it after MNIST's preprocessing:",
        path.display(),
        decoded.width,
        decoded.height
    );
    out!("{}", output::ascii_digit(&pixels, 28));
    bars(&probabilities, &names);
    let predicted = train::argmax(probabilities.iter().copied());
    outln!("predicted {}", output::class_label(predicted, &names));
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
    let mut model = open_model(&args.model)?;
    let data = test_data_for(&model, &args.data)?;
    let (test_set, names) = (&data.test, &data.class_names);
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
        train::probabilities(&mut model.network, test_set.image(index)).map_err(|e| match e {
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
    let label = usize::from(test_set.label(index));
    outln!(
        "test image {}: true label {}, predicted {}",
        index,
        output::class_label(label, names),
        output::class_label(predicted, names)
    );
    bars(&probabilities, names);
    Ok(())
}
