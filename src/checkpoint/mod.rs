//! Checkpoints: safetensors files of F32 tensors under PyTorch's state-dict keys, so that
//! `model.load_state_dict(safetensors.torch.load_file(path), strict=False)` works in PyTorch.
//!
//! Writes go to a temporary file in the destination's directory, renamed over the destination
//! only once complete: a crash or a full disk never leaves a half-written checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A tensor read from a file: row-major `f32` data and its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

/// The tensors of a safetensors file, by name, and its `__metadata__`.
#[derive(Clone, Debug, Default)]
pub struct TensorFile {
    /// Every tensor, by its state-dict name.
    pub tensors: BTreeMap<String, Tensor>,
    /// The file's `__metadata__` map.
    pub metadata: HashMap<String, String>,
}

/// What can go wrong reading or writing a checkpoint; every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file cannot be read or written.
    #[error("{}: {source}", path.display())]
    FileIo {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a checkpoint, or not one of this network; the message names the tensor.
    #[error("checkpoint {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the tensor.
        message: String,
    },
}

impl CheckpointError {
    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            CheckpointError::FileIo { path, .. } | CheckpointError::Invalid { path, .. } => path,
        }
    }
}

fn checkpoint_error(path: &Path, message: impl Into<String>) -> CheckpointError {
    CheckpointError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::FileIo {
        path: path.to_path_buf(),
        source,
    }
}

mod metadata;
mod network;
mod read;
mod write;

pub use metadata::{METADATA_KEY, decode_list, encode_list, metadata_pairs, metadata_value};
pub use network::load_into;
pub use read::{MAX_DATA_BYTES, MAX_HEADER_BYTES, TensorInfo, describe, read};
pub use write::{save, write_atomically};
