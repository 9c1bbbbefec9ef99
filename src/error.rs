//! The engine's error type. Every variant names what is at fault (the layer, the tensor, the
//! stage, the file), so a caller can act on the message alone; none names a command-line flag.
//! `Display` is written out by hand, so the numeric core needs no derive-macro crates.
//! The data layer (`DataError`), checkpoints (`CheckpointError`) and the report (`ReportError`)
//! have errors of their own; this one carries nothing of files, data or I/O.

use std::fmt;

pub use crate::train::Stage;

/// Everything the engine can report. Non-exhaustive: a match needs a `_` arm, so a variant
/// added later breaks no caller. Its shape does not depend on the crate's features.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A gradient check that had nothing to check (a layer without parameters): a report that
    /// would pass having checked nothing.
    NothingToCheck {
        /// What was to be checked.
        what: String,
    },

    /// A class label outside `0..classes`.
    Label {
        /// The label.
        label: usize,
        /// Its row in the batch.
        row: usize,
        /// The number of classes.
        classes: usize,
    },

    /// A training schedule that cannot run, e.g. a batch size of 0.
    Schedule {
        /// The field of [`crate::train::Schedule`].
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// The loss became NaN or infinite.
    Diverged {
        /// The stage that was training.
        stage: Stage,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch.
        batch: usize,
        /// The loss.
        loss: f64,
    },

    /// A parameter holds NaN or an infinity after a training stage.
    NonFiniteParameter {
        /// The stage just finished.
        stage: Stage,
        /// The parameter's state-dict name.
        tensor: String,
        /// The entry (in memory order).
        index: usize,
        /// Its value.
        value: f32,
    },

    /// The network's outputs overflow: finite weights too large to compute with.
    NonFiniteOutput {
        /// What overflowed, e.g. `logits`.
        what: &'static str,
        /// The example whose output overflowed.
        example: usize,
        /// The value.
        value: f32,
        /// The parameter with the largest magnitude.
        tensor: String,
        /// Its largest magnitude.
        largest: f32,
    },

    /// Nothing to train on or to evaluate.
    Empty {
        /// `training set`, `test set`, `overfitting set`.
        what: &'static str,
        /// `train on` or `evaluate on`.
        purpose: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NothingToCheck { what } => write!(
                f,
                "{what} has no parameters: a parameter check would pass having checked nothing \
                 (check its input gradient instead)"
            ),
            Error::Label {
                label,
                row,
                classes,
            } => write!(
                f,
                "label {label} at batch row {row} is not a class index (the network has \
                 {classes} classes)"
            ),
            Error::Schedule { field, message } => write!(f, "invalid schedule: {field} {message}"),
            Error::Diverged {
                stage,
                epoch,
                batch,
                loss,
            } => write!(
                f,
                "training diverged: the {} loss became {loss} at epoch {epoch}, batch \
                 {batch}; nothing was saved",
                stage.name()
            ),
            Error::NonFiniteParameter {
                stage,
                tensor,
                index,
                value,
            } => write!(
                f,
                "training diverged: parameter {tensor:?} holds {value} at index {index} after \
                 {}; nothing was saved",
                stage.name()
            ),
            Error::NonFiniteOutput {
                what,
                example,
                value,
                tensor,
                largest,
            } => write!(
                f,
                "the network's {what} are not finite ({value} on example {example}): its \
                 weights are too large to compute with (largest |w| = {largest:e} in {tensor:?})"
            ),
            Error::Empty { what, purpose } => {
                write!(f, "the {what} is empty: there is nothing to {purpose}")
            }
        }
    }
}

impl std::error::Error for Error {}
