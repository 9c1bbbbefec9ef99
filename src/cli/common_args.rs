//! Flags several subcommands share, each defined once: a command takes them with
//! `#[command(flatten)]`, so the flag's name, help line and range cannot drift apart.

use std::path::PathBuf;

use clap::Args;

use super::DatasetChoice;
use super::console::errln;
use super::error::{Error, invalid};
use super::numbers::at_least;

/// `--threads`.
#[derive(Args, Debug, Clone)]
pub struct ThreadsArg {
    /// Size of the thread pool [default: all cores]; the results are the same bits on any count
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = at_least::<1>)]
    pub threads: Option<usize>,
}

impl ThreadsArg {
    /// Sizes the global thread pool (no `--threads`: all cores).
    pub fn apply(&self) -> Result<(), Error> {
        let Some(n) = self.threads else {
            return Ok(());
        };
        if n == 0 {
            return Err(invalid("--threads", "must be at least 1"));
        }
        // More threads than the cores this process may use only queue behind each other; the
        // answers are bit-identical on any count, so use the cores and say so.
        let cores = twostage::linalg::usable_cores();
        let n = if n > cores {
            errln!(
                "warning: --threads {n} is more than the {cores} cores this process may use; \
                 using {cores}"
            );
            cores
        } else {
            n
        };
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| invalid("--threads", e.to_string()))
    }
}

/// The flags that say which test data a model is run on (`eval`, `predict`; `report` fills
/// them in from its own `--data-dir` and `--no-verify`).
#[derive(Args, Debug, Clone)]
pub struct DataFlags {
    /// Which known dataset the test images are from; its own class names are used, a
    /// classes.txt in --data-dir is ignored with a warning [default: the one the model was
    /// trained on, else mnist]
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
    /// Run even when the data is not what the model was trained on (a loud warning)
    /// [default: off, such data is refused]
    #[arg(long)]
    pub force: bool,
    /// Whether the command offers `--dataset` and `--force` (`eval`, `predict`; `report` has
    /// neither), so that a hint names only flags the command has.
    #[arg(skip = true)]
    pub has_dataset_and_force: bool,
}
