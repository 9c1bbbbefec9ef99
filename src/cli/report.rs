//! `twostage report`: one self-contained HTML page showing what a checkpoint learned.

use std::path::{Path, PathBuf};

use clap::Args;
use twostage::checkpoint;
use twostage::data::identity::ModelData;
use twostage::data::mnist::Mnist;
use twostage::model::TwoStageNetwork;
use twostage::report::{self, Inputs, metrics::Metrics};

use super::common_args::{DataFlags, ThreadsArg};
use super::console::outln;
use super::error::{Error, invalid};
use super::paths::{Contents, Output, check_outputs, data_inputs, sweep_stale};
use super::{open_model, test_data_for};

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// A checkpoint written by `twostage train` (with its decoder, the page shows
    /// reconstructions) [required]
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The run's metrics (`train --metrics FILE`), for the training curves [default: none,
    /// the page then has no curves]
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Where the test files are; a known dataset is downloaded there if missing [default: the
    /// model's dataset's: $MNIST_DIR, else data/mnist; $FASHION_MNIST_DIR, else data/fashion-mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The HTML page to write
    #[arg(long, default_value = "report.html", value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Read the test files as your own IDX set: checksums not verified, nothing downloaded
    /// [default: off]
    #[arg(long)]
    pub no_verify: bool,
    /// Replace --out even if twostage did not write it [default: off, only a page twostage
    /// wrote is replaced]
    #[arg(long)]
    pub overwrite: bool,
}

/// The largest `--metrics` file read: 256 MiB, thousands of times a full run's rows.
const MOST_METRICS_BYTES: u64 = 256 << 20;

/// Reads a metrics file, naming `flag` when it cannot be read.
fn read_metrics(path: &Path) -> Result<Metrics, Error> {
    let bytes = super::paths::read_input("--metrics", path, MOST_METRICS_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        invalid(
            "--metrics",
            format!(
                "cannot read {}: {e} (give the file `twostage train --metrics FILE` wrote)",
                path.display()
            ),
        )
    })?;
    Ok(report::metrics::parse(&text, path)?)
}

/// The most the test accuracy of a metrics file may differ from the checkpoint's (recorded to 4
/// decimals) and still be the same run's: half a unit of the last decimal, and rounding.
const SAME_ACCURACY: f64 = 0.5e-4 + 1e-9;

/// Refuses a metrics file whose test row is not the test accuracy the checkpoint recorded: the
/// curves would be of another run. Either side lacking the accuracy cannot be checked.
fn check_metrics_are_the_models(
    model: &ModelData,
    model_path: &Path,
    metrics: &Metrics,
    metrics_path: &Path,
) -> Result<(), Error> {
    let recorded = model.pairs.iter().find(|(k, _)| k == "test_accuracy");
    let recorded = recorded.and_then(|(_, v)| v.parse::<f64>().ok());
    let (Some(recorded), Some((accuracy, _))) = (recorded, metrics.test) else {
        return Ok(());
    };
    if (recorded - accuracy).abs() <= SAME_ACCURACY {
        return Ok(());
    }
    let message = format!(
        "{} is the metrics of another run: its test row says {:.2}% accuracy, but {} records \
         {:.2}%",
        metrics_path.display(),
        100.0 * accuracy,
        model_path.display(),
        100.0 * recorded
    );
    Err(invalid("--metrics", message).hinted(format!(
        "pass --metrics the file the `twostage train` run that saved {} wrote, or leave \
         --metrics out",
        model_path.display()
    )))
}

/// Builds the page for `network` on `test_set` and writes it atomically to `path` (already
/// checked by [`check_outputs`]). Returns the page's size in bytes.
pub fn write_report(
    network: &mut TwoStageNetwork<f32>,
    has_decoder: bool,
    test_set: &Mnist,
    metrics: Option<&Metrics>,
    class_names: &[String],
    title: &str,
    path: &Path,
) -> Result<usize, Error> {
    let inputs = Inputs {
        title,
        has_decoder,
        test: test_set.examples(),
        class_names,
        metrics,
    };
    let html = report::build(network, &inputs)?;
    checkpoint::write_atomically(path, html.as_bytes())?;
    Ok(html.len())
}

/// `twostage report`.
pub fn run(args: &ReportArgs) -> Result<(), Error> {
    // The output is checked first, against every file this run could read: the data files of
    // --data-dir, or of every known dataset's default directory.
    let mut inputs = match &args.data_dir {
        Some(dir) => data_inputs(dir),
        None => [
            &twostage::data::dataset::MNIST,
            &twostage::data::dataset::FASHION_MNIST,
        ]
        .iter()
        .flat_map(|d| data_inputs(&d.data_dir()))
        .collect(),
    };
    inputs.push(("--model".to_string(), args.model.clone()));
    if let Some(metrics) = &args.metrics {
        inputs.push(("--metrics".to_string(), metrics.clone()));
    }
    let resolved = check_outputs(
        &[Output::new("--out", &args.out, Contents::Html)],
        &inputs,
        args.overwrite,
    )?;
    args.threads.apply()?;
    // Which data: the one the model records (else MNIST), or --data-dir; refused if it is not
    // what the model was trained on.
    let mut model = open_model(&args.model)?;
    let metrics = args.metrics.as_deref().map(read_metrics).transpose()?;
    if let (Some(path), Some(metrics)) = (&args.metrics, &metrics) {
        check_metrics_are_the_models(&model.data, &args.model, metrics, path)?;
    }
    let data = test_data_for(
        &model,
        &DataFlags {
            dataset: None,
            data_dir: args.data_dir.clone(),
            no_verify: args.no_verify,
            force: false,
            has_dataset_and_force: false,
        },
    )?;
    if let Some(directory) = resolved[0].parent() {
        sweep_stale(directory);
    }
    let title = args.model.display().to_string();
    let bytes = write_report(
        &mut model.network,
        model.has_decoder,
        &data.test,
        metrics.as_ref(),
        &data.class_names,
        &title,
        &resolved[0],
    )?;
    outln!(
        "Wrote {} ({:.1} MB): open it in a browser (file://{})",
        args.out.display(),
        bytes as f64 / 1e6,
        resolved[0].display()
    );
    Ok(())
}
