//! The data of a training run: both splits, what they are, and their classes.

use std::path::Path;

use twostage::data::DataError;
use twostage::data::dataset::{CLASSES_FILE, MNIST};
use twostage::data::identity::{Identity, describe_id, label_numbers};
use twostage::data::mnist::{Mnist, Split, find_file};

use crate::cli::console::errln;
use crate::cli::error::{Error, invalid};
use crate::cli::{DataSource, load_both};

/// The data of a run: both splits, what they are, and their classes.
pub struct Data {
    pub train: Mnist,
    pub test: Mnist,
    pub identity: Identity,
    pub classes: usize,
    pub class_names: Vec<String>,
}

/// Loads both splits (see [`load_both`]) and finds their classes.
pub fn load_data(source: &DataSource) -> Result<Data, Error> {
    let (train, test) = load_both(source)?;
    let identity = Identity::of_both(source.verify, &train, &test);
    let (classes, class_names) = classes_of(&identity, &source.dir, &train, &test)?;
    if let Identity::Known(dataset) = identity {
        crate::cli::warn_classes_ignored(&source.dir, dataset, source.verify.is_some());
    }
    if identity != Identity::Known(&MNIST) {
        errln!(
            "data: {} in {}, {classes} classes",
            describe_id(&identity.id().unwrap_or_default()),
            source.dir.display()
        );
    }
    Ok(Data {
        train,
        test,
        identity,
        classes,
        class_names,
    })
}

/// The number of classes and their names. A known dataset fixes both (its labels were checked
/// when read). A custom set has `max label + 1` classes over train and test, named by
/// `classes.txt` when present (which may list more classes than the labels use, not fewer).
fn classes_of(
    identity: &Identity,
    dir: &Path,
    train: &Mnist,
    test: &Mnist,
) -> Result<(usize, Vec<String>), Error> {
    if let Identity::Known(dataset) = identity {
        return Ok((dataset.class_count(), dataset.class_names()));
    }
    let from_labels = train.class_count().max(test.class_count());
    let names = identity.class_names(dir)?;
    if let Some(names) = &names
        && names.len() < from_labels
    {
        let (split, set) = if train.class_count() == from_labels {
            (Split::Train, train)
        } else {
            (Split::Test, test)
        };
        let labels_file =
            find_file(dir, split.labels_name()).unwrap_or_else(|| dir.join(split.labels_name()));
        let index = set
            .labels
            .iter()
            .position(|&l| usize::from(l) >= names.len())
            .unwrap_or(0);
        return Err(Error::from(DataError::BadLabel {
            file: labels_file,
            index,
            label: set.labels[index],
            classes: names.len(),
            of: format!("{}", dir.join(CLASSES_FILE).display()),
        }));
    }
    let classes = names.as_ref().map_or(from_labels, Vec::len);
    if classes < 2 {
        return Err(invalid(
            "--data-dir",
            format!(
                "every label in {} is 0: a classifier needs at least two classes",
                dir.display()
            ),
        ));
    }
    Ok((classes, names.unwrap_or_else(|| label_numbers(classes))))
}
