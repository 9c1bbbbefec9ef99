//! What identifies a set of data, what a checkpoint says it was trained on, and whether some
//! data fits a model: the same dataset, the same classes, every label an output of the model.
//! The messages name files and datasets; what to do about a misfit (flags) is the caller's.

use std::path::Path;

use super::DataError;
use super::checksums::hex;
use super::dataset::{self, Dataset, FILE_NAMES, custom_id, read_class_names};
use super::mnist::{Mnist, Split, check_labels, content_sha256, find_file};
use crate::checkpoint::{TensorFile, decode_list, metadata_pairs};

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

    /// The identity of the data in `dir` whose test split is `test`: the dataset it was
    /// verified as (`verify`); else the known dataset whose test files these are; else a custom
    /// set, hashed from its four files (the training files are hashed, not loaded).
    pub fn of_test(dir: &Path, verify: Option<&'static Dataset>, test: &Mnist) -> Identity {
        if let Some(dataset) = verify {
            return Identity::Known(dataset);
        }
        let test_hashes = [
            (FILE_NAMES[2], hex(&test.content_sha256[0])),
            (FILE_NAMES[3], hex(&test.content_sha256[1])),
        ];
        if let Some(known) = dataset::identify(&test_hashes) {
            return Identity::Known(known);
        }
        let train = FILE_NAMES[..2]
            .iter()
            .map(|name| content_sha256(dir, name))
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

    /// The identity of data with both splits loaded (see [`Identity::of_test`]).
    pub fn of_both(verify: Option<&'static Dataset>, train: &Mnist, test: &Mnist) -> Identity {
        if let Some(dataset) = verify {
            return Identity::Known(dataset);
        }
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

    /// The class names of the data in `dir` read as this identity: a known dataset's, else
    /// those of `classes.txt`, else `None` (the label numbers).
    pub fn class_names(&self, dir: &Path) -> Result<Option<Vec<String>>, DataError> {
        match self {
            Identity::Known(d) => Ok(Some(d.class_names())),
            _ => read_class_names(dir),
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

/// `0`, `1`, … `classes - 1`.
pub fn label_numbers(classes: usize) -> Vec<String> {
    (0..classes).map(|c| c.to_string()).collect()
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
    /// What the metadata of a checkpoint says.
    pub fn of(file: &TensorFile) -> ModelData {
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

/// How a test set fits a model: the class names to show and what does not fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fit {
    /// The names of the model's classes: recorded at training, else the data's, else numbers.
    pub class_names: Vec<String>,
    /// What differs from what the model was trained on (another dataset, another number of
    /// classes), one sentence each; empty when the data is the model's.
    pub problems: Vec<String>,
}

/// Checks the test set `test`, read from `dir` (verified as `verify`), against the model at
/// `model_path` with `classes` outputs whose metadata is `model`.
///
/// # Errors
/// [`DataError::BadLabel`] for a label the model has no output for (such data cannot be used
/// at all), or an error reading the data's `classes.txt`. Other misfits are [`Fit::problems`].
pub fn check_data_fits_model(
    model: &ModelData,
    model_path: &Path,
    classes: usize,
    dir: &Path,
    verify: Option<&'static Dataset>,
    test: &Mnist,
) -> Result<Fit, DataError> {
    let labels_file = find_file(dir, Split::Test.labels_name())
        .unwrap_or_else(|| dir.join(Split::Test.labels_name()));
    check_labels(
        &test.labels,
        classes,
        &format!("the model {}", model_path.display()),
        &labels_file,
    )?;
    let identity = Identity::of_test(dir, verify, test);
    let data_names = identity.class_names(dir)?;
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
                dir.display()
            ));
        }
    }
    if let Some(names) = &data_names
        && names.len() != classes
    {
        problems.push(format!(
            "{} has {classes} classes, but the data in {} has {}",
            model_path.display(),
            dir.display(),
            names.len()
        ));
    }
    let class_names = model
        .class_names
        .clone()
        .filter(|n| n.len() == classes)
        .or(data_names.filter(|n| n.len() == classes))
        .unwrap_or_else(|| label_numbers(classes));
    Ok(Fit {
        class_names,
        problems,
    })
}
