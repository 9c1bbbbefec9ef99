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
pub mod progress;
pub mod report;
pub mod train;

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use twostage::checkpoint::{self, decode_list, metadata_pairs};
use twostage::data::dataset::{self, Dataset, FASHION_MNIST, MNIST, custom_id, read_class_names};
use twostage::data::download::{DownloadOptions, ensure_dataset};
use twostage::data::mnist::{FILE_NAMES, Mnist, PIXELS, Split, content_sha256, find_file};
use twostage::model::TwoStageNetwork;
use twostage::train::Examples;

use console::errln;
use error::{Error, invalid};

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

/// What identifies a set of data: a known dataset, or the hash of a custom set's four files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A known dataset.
    Known(&'static Dataset),
    /// A custom set: `custom:<sha256>` ([`custom_id`]).
    Custom(String),
    /// A custom set that cannot be identified, and why.
    Unknown(String),
}

impl Identity {
    /// What a checkpoint records: `mnist`, `fashion-mnist`, `custom:<sha256>`.
    pub fn id(&self) -> Option<String> {
        match self {
            Identity::Known(d) => Some(d.name.to_string()),
            Identity::Custom(id) => Some(id.clone()),
            Identity::Unknown(_) => None,
        }
    }
}

/// A recorded identity (`mnist`, `custom:…`) as a person reads it.
pub fn describe_id(id: &str) -> String {
    match Dataset::by_name(id) {
        Some(d) => d.title.to_string(),
        None => match id.strip_prefix("custom:") {
            Some(hash) => format!("a custom IDX set (SHA-256 of its four files {hash})"),
            None => format!("{id:?}"),
        },
    }
}

/// What a checkpoint says about the data it was trained on.
#[derive(Clone, Debug, Default)]
pub struct ModelData {
    /// The dataset identity recorded at training, if any (older and PyTorch checkpoints have none).
    pub dataset: Option<String>,
    /// The class names recorded at training, if any.
    pub class_names: Option<Vec<String>>,
    /// Every `key=value` pair of the metadata.
    pub pairs: Vec<(String, String)>,
}

impl ModelData {
    /// The pairs of a checkpoint's metadata.
    pub fn of(file: &checkpoint::TensorFile) -> ModelData {
        let pairs = metadata_pairs(file);
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        ModelData {
            dataset: get("dataset"),
            class_names: get("class_names").map(|v| decode_list(&v)),
            pairs: pairs.clone(),
        }
    }

    /// The known dataset the model was trained on, if it is one.
    pub fn known(&self) -> Option<&'static Dataset> {
        self.dataset.as_deref().and_then(Dataset::by_name)
    }
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

/// Sizes the global thread pool (`None`: all cores).
pub fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    let Some(n) = threads else {
        return Ok(());
    };
    if n == 0 {
        return Err(invalid("--threads", "must be at least 1"));
    }
    // More threads than the cores this process may use only queue behind each other (a
    // 64-thread pool on 2 cores ran an epoch twice as slowly); the answers are bit-identical
    // on any count, so use the cores and say so.
    let cores = twostage::linalg::usable_cores();
    let n = if n > cores {
        errln!(
            "warning: --threads {n} is more than the {cores} cores this process may use; using \
             {cores}"
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
    let set = Mnist::load_dataset(dir, split, source.verify)?;
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

/// A network from a checkpoint that must hold at least stage 1 and stage 2, and what its
/// metadata says about its data.
pub fn load_classifier(path: &Path) -> Result<(TwoStageNetwork<f32>, ModelData), Error> {
    let file = checkpoint::read(path)?;
    let network = TwoStageNetwork::from_file(&file, path)?;
    Ok((network, ModelData::of(&file)))
}

/// The identity of the data in `source` whose test split is `test`: the verified dataset; else
/// the known dataset whose test files these are; else a custom set, hashed from its four files
/// (the training files are hashed, not loaded).
pub fn test_identity(source: &DataSource, test: &Mnist) -> Identity {
    if let Some(dataset) = source.verify {
        return Identity::Known(dataset);
    }
    let test_hashes = [
        (
            FILE_NAMES[2],
            twostage::data::checksums::hex(&test.content_sha256[0]),
        ),
        (
            FILE_NAMES[3],
            twostage::data::checksums::hex(&test.content_sha256[1]),
        ),
    ];
    if let Some(known) = dataset::identify(&test_hashes) {
        return Identity::Known(known);
    }
    let train = FILE_NAMES[..2]
        .iter()
        .map(|name| content_sha256(&source.dir, name))
        .collect::<Result<Vec<_>, _>>();
    match train {
        Ok(train) => Identity::Custom(custom_id(&[
            train[0],
            train[1],
            test.content_sha256[0],
            test.content_sha256[1],
        ])),
        Err(e) => Identity::Unknown(format!(
            "its training files are needed to identify a custom set ({e})"
        )),
    }
}

/// The identity of the data in `source` with both splits loaded.
pub fn full_identity(source: &DataSource, train: &Mnist, test: &Mnist) -> Identity {
    if let Some(dataset) = source.verify {
        return Identity::Known(dataset);
    }
    let hex = twostage::data::checksums::hex;
    let hashes: Vec<(&str, String)> = FILE_NAMES
        .iter()
        .zip(
            train
                .content_sha256
                .iter()
                .chain(test.content_sha256.iter()),
        )
        .map(|(name, hash)| (*name, hex(hash)))
        .collect();
    match dataset::identify(&hashes) {
        Some(known) => Identity::Known(known),
        None => Identity::Custom(custom_id(&[
            train.content_sha256[0],
            train.content_sha256[1],
            test.content_sha256[0],
            test.content_sha256[1],
        ])),
    }
}

/// The class names of the data in `dir` read as `identity`: a known dataset's, else those of
/// `classes.txt`, else `None` (the label numbers).
pub fn data_class_names(identity: &Identity, dir: &Path) -> Result<Option<Vec<String>>, Error> {
    match identity {
        Identity::Known(d) => Ok(Some(d.class_names())),
        _ => Ok(read_class_names(dir)?),
    }
}

/// `0`, `1`, … `classes - 1`.
pub fn label_numbers(classes: usize) -> Vec<String> {
    (0..classes).map(|c| c.to_string()).collect()
}

/// Checks that the data fits the model before `eval`/`predict` use it: every label below the
/// model's classes (always: anything else cannot be evaluated), and the same data identity and
/// number of classes as recorded at training — refused unless `force`, which warns loudly.
/// Returns the class names to show.
pub fn check_data_fits_model(
    model: &ModelData,
    model_path: &Path,
    classes: usize,
    source: &DataSource,
    test: &Mnist,
    force: bool,
) -> Result<Vec<String>, Error> {
    let labels_file = find_file(&source.dir, Split::Test.labels_name())
        .unwrap_or_else(|| source.dir.join(Split::Test.labels_name()));
    twostage::data::mnist::check_labels(
        &test.labels,
        classes,
        &format!("the model {}", model_path.display()),
        &labels_file,
    )?;
    let identity = test_identity(source, test);
    let data_names = data_class_names(&identity, &source.dir)?;
    let mut problems = Vec::new();
    if let Some(recorded) = &model.dataset {
        let data = match &identity {
            Identity::Unknown(why) => Some(format!("cannot be identified: {why}")),
            other => other
                .id()
                .filter(|id| id != recorded)
                .map(|id| format!("is {}", describe_id(&id))),
        };
        if let Some(data) = data {
            problems.push(format!(
                "{} was trained on {}, but the data in {} {data}",
                model_path.display(),
                describe_id(recorded),
                source.dir.display()
            ));
        }
    }
    if let Some(names) = &data_names
        && names.len() != classes
    {
        problems.push(format!(
            "{} has {classes} classes, but the data in {} has {}",
            model_path.display(),
            source.dir.display(),
            names.len()
        ));
    }
    if !problems.is_empty() {
        let problem = problems.join("; ");
        if !force {
            let suggestion = match model.known() {
                Some(d) => format!("pass --dataset {} (or nothing, to use the model's)", d.name),
                None => "pass --data-dir the directory of the model's data".to_string(),
            };
            return Err(Error::Hinted {
                error: Box::new(invalid("--model", problem)),
                hint: format!("{suggestion}, or --force to use this data anyway"),
            });
        }
        errln!("WARNING: {problem}");
        errln!(
            "WARNING: --force: going on anyway; the results below do not measure this model on its own data"
        );
    }
    let names = model
        .class_names
        .clone()
        .filter(|n| n.len() == classes)
        .or(data_names.filter(|n| n.len() == classes))
        .unwrap_or_else(|| label_numbers(classes));
    Ok(names)
}
