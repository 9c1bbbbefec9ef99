//! The command line: one file a subcommand (a long one with a folder of its parts, e.g.
//! `train/`), flags several share in `common_args.rs`. Each validates its inputs first (flags,
//! paths, outputs never onto inputs), then calls the library. Every word a user reads — flag
//! names, hints, progress — lives here, not in the engine.

pub mod common_args;
pub mod console;
pub mod download;
pub mod error;
pub mod eval;
pub mod explain;
pub mod gradcheck;
pub mod inspect;
pub mod numbers;
pub mod output;
pub mod paths;
pub mod predict;
pub mod progress;
pub mod report;
pub mod study;
pub mod study_page;
pub mod train;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use twostage::checkpoint;
use twostage::data::dataset::{CLASSES_FILE, Dataset, FASHION_MNIST, FILE_NAMES, MNIST, custom_id};
use twostage::data::download::{DownloadOptions, ensure_dataset};
use twostage::data::identity::{ModelData, check_data_fits_model, describe_id};
use twostage::data::mnist::{Mnist, Split, content_sha256, find_file, twins};
use twostage::model::TwoStageNetwork;

use common_args::DataFlags;
use console::errln;
use error::{Error, invalid};

/// The command line, as clap parses it (`main` dispatches; tests walk its flags).
#[derive(Parser)]
#[command(
    name = "twostage",
    version,
    about = "A from-scratch two-stage MNIST network: autoencoder features, then a classifier"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train stage 1 (features), stage 2 (classifier), optionally fine-tune; save a checkpoint
    Train(train::TrainArgs),
    /// Test accuracy, per-class accuracy and the confusion matrix of a checkpoint
    Eval(eval::EvalArgs),
    /// Show one test image, its label, the predicted class and each class's probability
    Predict(predict::PredictArgs),
    /// One training step of a tiny network, every number printed and checked by finite differences
    Explain(explain::ExplainArgs),
    /// The engine's gradient checks on every layer, both losses and the network (--break: see one fail)
    Gradcheck(gradcheck::GradcheckArgs),
    /// Write one self-contained HTML page showing what a checkpoint learned (open it in a browser)
    Report(report::ReportArgs),
    /// Does stage 1 help when labels are few or noisy? Every method × label budget × noise × seed
    Study(study::StudyArgs),
    /// Download a known dataset (MNIST, Fashion-MNIST), trying mirrors in order and verifying every file
    Download(download::DownloadArgs),
    /// Describe an IDX file (dtype, dims, checksum, which dataset) or a checkpoint (tensors,
    /// shapes, dtype, dataset, classes, accuracy, stage-1 mode); fails on a bad file
    Inspect {
        /// An IDX file (plain or gzip-compressed) or a safetensors checkpoint
        file: PathBuf,
    },
}

/// `--dataset` values: the known datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetChoice {
    /// MNIST, handwritten digits
    Mnist,
    /// Fashion-MNIST (zalando), ten kinds of clothing
    FashionMnist,
}

impl DatasetChoice {
    /// Its table entry.
    pub fn dataset(self) -> &'static Dataset {
        match self {
            DatasetChoice::Mnist => &MNIST,
            DatasetChoice::FashionMnist => &FASHION_MNIST,
        }
    }
}

/// Where the data is and how to read it.
#[derive(Clone, Debug)]
pub struct DataSource {
    /// The data directory.
    pub dir: PathBuf,
    /// The known dataset the files must be (`None` under `--no-verify`: a custom set).
    pub verify: Option<&'static Dataset>,
}

/// Where the data is: `--dataset` (else the model's known dataset, else MNIST) says which
/// dataset and its default directory; `--data-dir` overrides the directory; `--no-verify`
/// reads it as a custom set. A model trained on a custom set needs `--data-dir`.
pub fn data_source(
    choice: Option<DatasetChoice>,
    dir: &Option<PathBuf>,
    no_verify: bool,
    model: Option<(&ModelData, &Path)>,
) -> Result<DataSource, Error> {
    let from_model = model.and_then(|(m, _)| m.known());
    if let (None, None, Some((m, path))) = (choice, dir, model)
        && let Some(id) = &m.dataset
        && from_model.is_none()
    {
        return Err(Error::Hinted {
            error: Box::new(invalid(
                "--data-dir",
                format!(
                    "none given, and {} was trained on {}, which has no default directory",
                    path.display(),
                    describe_id(id)
                ),
            )),
            hint: "pass --data-dir DIR --no-verify, DIR holding that set's files".to_string(),
        });
    }
    let dataset = choice
        .map(DatasetChoice::dataset)
        .or(from_model)
        .unwrap_or(&MNIST);
    let dir = dir.clone().unwrap_or_else(|| dataset.data_dir());
    if paths::is_link_loop(&dir) {
        return Err(invalid("--data-dir", paths::link_loop(&dir)));
    }
    match std::fs::metadata(&dir) {
        Ok(m) if !m.is_dir() => Err(invalid(
            "--data-dir",
            format!(
                "{} is {}, not a directory",
                dir.display(),
                twostage::data::kind_of(m.file_type())
            ),
        )),
        _ => Ok(DataSource {
            dir,
            verify: (!no_verify).then_some(dataset),
        }),
    }
}

/// When verifying, downloads whichever files of `splits` are missing, and only into a
/// directory that holds nothing but the dataset's files; never under `--no-verify`, where a
/// missing file is the error `Mnist::load_dataset` gives, naming it.
pub fn ensure_files(source: &DataSource, splits: &[Split]) -> Result<(), Error> {
    if let Some(dataset) = source.verify {
        let options = DownloadOptions {
            progress: progress::DownloadLog::reporter(),
            ..DownloadOptions::for_dataset(dataset)
        };
        let needed: Vec<&str> = splits.iter().flat_map(|s| s.file_names()).collect();
        ensure_dataset(dataset, &source.dir, &needed, &options)?;
    }
    Ok(())
}

/// Loads a split, fetching its files first if they are missing (see [`ensure_files`]).
pub fn load_split(source: &DataSource, split: Split) -> Result<Mnist, Error> {
    ensure_files(source, &[split])?;
    let dir = &source.dir;
    for (read, unread) in twins(dir, split) {
        errln!(
            "{} and {} are both present: reading {}",
            read.display(),
            unread.display(),
            read.display()
        );
    }
    let set = Mnist::load_dataset(dir, split, source.verify)?;
    if set.is_empty() {
        let file =
            find_file(dir, split.images_name()).unwrap_or_else(|| dir.join(split.images_name()));
        let purpose = match split {
            Split::Train => "nothing to train on",
            Split::Test => "nothing to evaluate on",
        };
        return Err(Error::from(twostage::data::DataError::FileIo {
            file,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("holds no images: {purpose}"),
            ),
        }));
    }
    Ok(set)
}

/// Loads both splits, all four files fetched first so that an incomplete set is reported as
/// such before any load.
pub fn load_both(source: &DataSource) -> Result<(Mnist, Mnist), Error> {
    ensure_files(source, &[Split::Train, Split::Test])?;
    Ok((
        load_split(source, Split::Train)?,
        load_split(source, Split::Test)?,
    ))
}

/// Removes the temporary files killed runs left beside each of `outputs` (resolved paths).
pub fn sweep_beside(outputs: &[PathBuf]) {
    for path in outputs {
        if let Some(directory) = path.parent() {
            paths::sweep_stale(directory);
        }
    }
}

/// A checkpoint opened for `eval`, `predict` and `report`: a network holding at least stage 1
/// and stage 2, and what its metadata says about its data.
pub struct Model {
    /// The file, as given.
    pub path: PathBuf,
    /// The network.
    pub network: TwoStageNetwork<f32>,
    /// What the checkpoint records about its data.
    pub data: ModelData,
    /// Whether the checkpoint holds the whole decoder.
    pub has_decoder: bool,
}

/// Opens the checkpoint at `path` (see [`Model`]).
pub fn open_model(path: &Path) -> Result<Model, Error> {
    let file = checkpoint::read(path)?;
    let network = TwoStageNetwork::from_file(&file, path)?;
    let decoder = file.tensors.keys().filter(|n| n.starts_with("decoder."));
    Ok(Model {
        path: path.to_path_buf(),
        network,
        data: ModelData::of(&file),
        has_decoder: decoder.count() == 4,
    })
}

/// Warns that `dir`'s `classes.txt`, if any, is ignored: the data is the known `dataset`,
/// whose own class names are used. `verified`: read as that dataset on purpose (not under
/// `--no-verify`, which would read the file).
pub fn warn_classes_ignored(dir: &Path, dataset: &Dataset, verified: bool) {
    let file = dir.join(CLASSES_FILE);
    if file.exists() {
        let instead = if verified {
            "; pass --no-verify to read the files as your own set, named by it"
        } else {
            ""
        };
        errln!(
            "warning: {} is ignored: the data is {}, whose own class names are used{instead}",
            file.display(),
            dataset.title
        );
    }
}

/// Whether the four files in `dir` (its test split `test`, already read) are the custom set
/// `model` records: hashed whole, as `train` identified them.
fn is_recorded_custom_set(model: &ModelData, dir: &Path, test: &Mnist) -> bool {
    let Some(recorded) = model
        .dataset
        .as_deref()
        .filter(|id| id.starts_with("custom:"))
    else {
        return false;
    };
    let hash = |name| content_sha256(dir, name).ok();
    match (hash(FILE_NAMES[0]), hash(FILE_NAMES[1])) {
        (Some(images), Some(labels)) => {
            let [test_images, test_labels] = test.content_sha256;
            custom_id(&[images, labels, test_images, test_labels]) == recorded
        }
        _ => false,
    }
}

/// The test set a model is run on, and the names of its classes.
pub struct TestData {
    /// The test split.
    pub test: Mnist,
    /// The names of the model's classes.
    pub class_names: Vec<String>,
}

/// Resolves the data for `model` from `flags`, loads its test split (downloading it if it is
/// a known dataset's and missing) and checks that it fits the model: every label an output of
/// the model (always), the same data and classes as at training (refused unless `--force`).
pub fn test_data_for(model: &Model, flags: &DataFlags) -> Result<TestData, Error> {
    let source = data_source(
        flags.dataset,
        &flags.data_dir,
        flags.no_verify,
        Some((&model.data, &model.path)),
    )?;
    let test = load_split(&source, Split::Test)?;
    if let Some(dataset) = source.verify {
        warn_classes_ignored(&source.dir, dataset, true);
    }
    let confirmed;
    let recorded = if is_recorded_custom_set(&model.data, &source.dir, &test) {
        // The four files hash to the custom set the model records, even if its test files
        // are a known dataset's (a custom training set beside MNIST's test files): the data is
        // the model's, and only the labels and classes are left to check.
        confirmed = ModelData {
            dataset: None,
            ..model.data.clone()
        };
        &confirmed
    } else {
        &model.data
    };
    let fit = check_data_fits_model(
        recorded,
        &model.path,
        model.network.dims.classes,
        &source.dir,
        source.verify,
        &test,
    )?;
    if !fit.problems.is_empty() {
        let problem = fit.problems.join("; ");
        if !flags.force {
            let offered = flags.has_dataset_and_force;
            let suggestion = match model.data.known() {
                Some(d) if offered => {
                    format!("pass --dataset {} (or nothing, to use the model's)", d.name)
                }
                Some(d) => format!(
                    "pass --data-dir the directory of {} (or no --data-dir, for its default)",
                    d.title
                ),
                None => "pass --data-dir the directory of the model's data".to_string(),
            };
            let hint = if offered {
                format!("{suggestion}, or --force to use this data anyway")
            } else {
                suggestion
            };
            return Err(invalid("--model", problem).hinted(hint));
        }
        errln!("WARNING: {problem}");
        errln!(
            "WARNING: --force: going on anyway; the results below do not measure this model on its own data"
        );
    }
    Ok(TestData {
        test,
        class_names: fit.class_names,
    })
}
