//! The command line: one file a subcommand. Each validates its inputs first (flags, paths,
//! outputs never onto inputs), then calls the library. Every word a user reads — flag names,
//! hints, progress — lives here, not in the engine.

pub mod console;
pub mod download;
pub mod error;
pub mod eval;
pub mod inspect;
pub mod output;
pub mod paths;
pub mod predict;
pub mod report;
pub mod train;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use twostage::checkpoint::{self, file_kind};
use twostage::data::download::{DownloadOptions, default_data_dir, ensure_mnist};
use twostage::data::mnist::{Mnist, PIXELS, Split, find_file};
use twostage::model::{Dims, Part, TwoStageNetwork};
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;
use twostage::train::Examples;

use error::{Error, invalid};

/// Sizes the global thread pool (`None`: all cores).
pub fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    let Some(n) = threads else {
        return Ok(());
    };
    if n == 0 {
        return Err(invalid("--threads", "must be at least 1"));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| invalid("--threads", e.to_string()))
}

/// The data directory (`--data-dir`, else the default); an existing non-directory is an error.
pub fn data_dir(dir: &Option<PathBuf>) -> Result<PathBuf, Error> {
    let dir = dir.clone().unwrap_or_else(default_data_dir);
    match std::fs::metadata(&dir) {
        Ok(m) if !m.is_dir() => Err(invalid(
            "--data-dir",
            format!("{} is {}, not a directory", dir.display(), file_kind(&m)),
        )),
        _ => Ok(dir),
    }
}

/// Loads a split. When verifying, missing MNIST files are downloaded first (only ever into a
/// directory that holds nothing but MNIST); under `--no-verify` a missing file is an error.
pub fn load_split(dir: &Path, split: Split, verify: bool) -> Result<Mnist, Error> {
    if verify {
        let options = DownloadOptions {
            progress: std::io::stderr().is_terminal(),
            ..DownloadOptions::default()
        };
        ensure_mnist(dir, &options)?;
    }
    let set = Mnist::load(dir, split, verify)?;
    if set.is_empty() {
        let file =
            find_file(dir, split.images_name()).unwrap_or_else(|| dir.join(split.images_name()));
        let purpose = match split {
            Split::Train => "nothing to train on",
            Split::Test => "nothing to evaluate on",
        };
        return Err(Error::from(twostage::data::DataError::Io {
            file,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("holds no images: {purpose}"),
            ),
        }));
    }
    Ok(set)
}

pub fn examples(mnist: &Mnist) -> Examples<'_> {
    Examples {
        pixels: &mnist.images,
        labels: &mnist.labels,
        width: PIXELS,
    }
}

/// A network from a checkpoint that must hold at least stage 1 and stage 2.
pub fn load_classifier(path: &Path) -> Result<TwoStageNetwork<f32>, Error> {
    let file = checkpoint::read(path)?;
    let mut network = TwoStageNetwork::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    checkpoint::load_into(&mut network, &file, "", &[Part::Stage1, Part::Stage2], path)?;
    Ok(network)
}
