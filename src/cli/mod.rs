//! The command line: one file a subcommand. Each validates its inputs first (flags, paths,
//! outputs never onto inputs), then calls the library. Every word a user reads — flag names,
//! hints, progress — lives here, not in the engine.

pub mod console;
pub mod download;
pub mod error;
pub mod eval;
pub mod explain;
pub mod gradcheck;
pub mod inspect;
pub mod output;
pub mod paths;
pub mod predict;
pub mod report;
pub mod train;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use twostage::checkpoint::file_kind;
use twostage::data::download::{DownloadOptions, default_data_dir, ensure_mnist};
use twostage::data::mnist::{Mnist, PIXELS, Split, find_file};
use twostage::model::TwoStageNetwork;
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

/// When verifying, downloads whichever files of `splits` are missing, and only into a
/// directory that holds nothing but MNIST; never under `--no-verify`, where a missing file is
/// the error `Mnist::load` gives, naming it.
pub fn ensure_files(dir: &Path, splits: &[Split], verify: bool) -> Result<(), Error> {
    if verify {
        let options = DownloadOptions {
            progress: std::io::stderr().is_terminal(),
            ..DownloadOptions::default()
        };
        let needed: Vec<&str> = splits.iter().flat_map(|s| s.file_names()).collect();
        ensure_mnist(dir, &needed, &options)?;
    }
    Ok(())
}

/// Loads a split, fetching its files first if they are missing (see [`ensure_files`]).
pub fn load_split(dir: &Path, split: Split, verify: bool) -> Result<Mnist, Error> {
    ensure_files(dir, &[split], verify)?;
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
    Ok(TwoStageNetwork::load(path)?)
}
