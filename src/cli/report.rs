//! `twostage report`: one self-contained HTML page showing what a checkpoint learned.

use std::path::{Path, PathBuf};

use clap::Args;
use twostage::checkpoint;
use twostage::data::mnist::{Mnist, Split};
use twostage::model::{Dims, Part, TwoStageNetwork};
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;
use twostage::report::{self, Inputs, metrics::Metrics};

use super::console::outln;
use super::error::{Error, invalid};
use super::paths::{Contents, Output, check_outputs, data_inputs, sweep_stale};
use super::{data_dir, examples, load_split, set_threads};

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// A checkpoint written by `twostage train` (with its decoder, the page shows reconstructions)
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The run's metrics (`train --metrics FILE`), for the training curves
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Where the MNIST test files are; downloaded there if missing [default: $MNIST_DIR, else data/mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The HTML page to write
    #[arg(long, default_value = "report.html", value_name = "FILE")]
    pub out: PathBuf,
    /// Size of the thread pool [default: all cores]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Accept test files whose checksums differ from the published MNIST ones (your own IDX data)
    #[arg(long)]
    pub no_verify: bool,
}

/// Reads a metrics file, naming `flag` when it cannot be read.
fn read_metrics(path: &Path) -> Result<Metrics, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
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

/// Builds the page for `network` on `test_set` and writes it atomically to `path` (already
/// checked by [`check_outputs`]). Returns the page's size in bytes.
pub fn write_report(
    network: &mut TwoStageNetwork<f32>,
    has_decoder: bool,
    test_set: &Mnist,
    metrics: Option<&Metrics>,
    title: &str,
    path: &Path,
) -> Result<usize, Error> {
    let class_names = report::digit_names();
    let inputs = Inputs {
        title,
        has_decoder,
        test: examples(test_set),
        class_names: &class_names,
        metrics,
    };
    let html = report::build(network, &inputs)?;
    checkpoint::write_atomically(path, html.as_bytes())?;
    Ok(html.len())
}

/// `twostage report`.
pub fn run(args: &ReportArgs) -> Result<(), Error> {
    let dir = data_dir(&args.data_dir)?;
    let mut inputs = data_inputs(&dir);
    inputs.push(("--model".to_string(), args.model.clone()));
    if let Some(metrics) = &args.metrics {
        inputs.push(("--metrics".to_string(), metrics.clone()));
    }
    let resolved = check_outputs(
        &[Output {
            flag: "--out",
            path: &args.out,
            contents: Contents::Html,
        }],
        &inputs,
    )?;
    set_threads(args.threads)?;
    let metrics = args.metrics.as_deref().map(read_metrics).transpose()?;
    let file = checkpoint::read(&args.model)?;
    let mut network = TwoStageNetwork::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    let loaded = checkpoint::load_into(
        &mut network,
        &file,
        "",
        &[Part::Stage1, Part::Stage2],
        &args.model,
    )?;
    // Reconstructions only from a decoder the checkpoint really holds, all of it.
    let has_decoder = loaded.iter().filter(|n| n.starts_with("decoder.")).count() == 4;
    let test_set = load_split(&dir, Split::Test, !args.no_verify)?;
    if let Some(directory) = resolved[0].parent() {
        sweep_stale(directory);
    }
    let title = args.model.display().to_string();
    let bytes = write_report(
        &mut network,
        has_decoder,
        &test_set,
        metrics.as_ref(),
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
