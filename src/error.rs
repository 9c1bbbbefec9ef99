//! One error type for the crate. Every variant names what is at fault (the file, the tensor,
//! the flag), so a user can act on the message alone.

use std::path::PathBuf;

pub use crate::data::DataError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading MNIST or an IDX file failed.
    #[error(transparent)]
    Data(#[from] DataError),

    /// A layer's `backward` ran with no forward pass cached.
    #[error("{layer}: backward called before forward (no input cached)")]
    BackwardBeforeForward { layer: String },

    /// A loss's `backward` ran with no forward pass cached.
    #[error("{loss}: backward called before forward")]
    LossBackwardBeforeForward { loss: &'static str },

    /// Shapes that must agree do not.
    #[error("{what}: expected shape {expected:?}, got {found:?}")]
    Shape {
        what: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    /// A class label outside `0..classes`.
    #[error(
        "label {label} at batch row {row} is not a class index (the network has {classes} classes)"
    )]
    Label {
        label: usize,
        row: usize,
        classes: usize,
    },

    /// A checkpoint that cannot be read or does not fit the network.
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },

    /// A training schedule that cannot run, e.g. a batch size of 0.
    #[error("invalid schedule: {field} {message}")]
    Schedule {
        field: &'static str,
        message: String,
    },

    /// The loss became NaN or infinite.
    #[error(
        "training diverged: the {stage} loss became {loss} at epoch {epoch}, batch {batch}; \
         nothing was saved"
    )]
    Diverged {
        stage: &'static str,
        epoch: usize,
        batch: usize,
        loss: f64,
    },

    /// A parameter holds NaN or an infinity after a training stage.
    #[error(
        "training diverged: parameter {tensor:?} holds {value} at index {index} after {stage}; \
         nothing was saved"
    )]
    NonFiniteParameter {
        stage: &'static str,
        tensor: String,
        index: usize,
        value: f32,
    },

    /// The network's outputs overflow: finite weights too large to compute with.
    #[error(
        "the network's {what} are not finite ({value} on example {example}): its weights are too \
         large to compute with (largest |w| = {largest:e} in {tensor:?})"
    )]
    NonFiniteOutput {
        what: &'static str,
        example: usize,
        value: f32,
        tensor: String,
        largest: f32,
    },

    /// Nothing to train on or to evaluate.
    #[error("the {what} is empty: there is nothing to {purpose}")]
    Empty {
        what: &'static str,
        purpose: &'static str,
    },

    /// An I/O operation on a named file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
