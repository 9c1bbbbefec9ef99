//! A network's parameters to and from checkpoint tensors, by their state-dict keys.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::read::first_non_finite;
use super::{CheckpointError, TensorFile, checkpoint_error, read, save};
use crate::model::{Dims, Part, TwoStageNetwork};
use crate::nn::Parameters;
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand::rngs::SmallRng;

/// Copies `tensors` into the network's parameters of the same name (a key with a `prefix`,
/// e.g. `init.`, has it stripped first). Keys that are not parameters, and shapes that differ,
/// are errors naming the key. Every parameter of `required` must be present. Returns the names
/// loaded.
pub fn load_into(
    network: &mut TwoStageNetwork<f32>,
    file: &TensorFile,
    prefix: &str,
    required: &[Part],
    path: &Path,
) -> Result<Vec<String>, CheckpointError> {
    let mut expected: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    network.visit_params(&mut |name, p| {
        expected.insert(name.to_string(), p.value.shape().to_vec());
    });
    let mut selected = BTreeMap::new();
    for (key, tensor) in &file.tensors {
        let Some(name) = key.strip_prefix(prefix) else {
            continue;
        };
        let Some(shape) = expected.get(name) else {
            let known: Vec<&str> = expected.keys().map(String::as_str).collect();
            return Err(checkpoint_error(
                path,
                format!(
                    "unknown tensor {key:?}; the network's parameters are {}",
                    known.join(", ")
                ),
            ));
        };
        if let Some((index, value)) = first_non_finite(&tensor.data) {
            return Err(checkpoint_error(
                path,
                format!(
                    "tensor {key:?} holds {value} at index {index}: a checkpoint of a diverged \
                     or damaged run, not usable weights"
                ),
            ));
        }
        if &tensor.shape != shape {
            return Err(checkpoint_error(
                path,
                format!(
                    "tensor {key:?} has shape {:?}, the network needs {shape:?}",
                    tensor.shape
                ),
            ));
        }
        selected.insert(name.to_string(), tensor);
    }
    for part in required {
        let prefix_part = format!("{}.", part.name());
        if let Some(missing) = expected
            .keys()
            .find(|n| n.starts_with(&prefix_part) && !selected.contains_key(*n))
        {
            return Err(checkpoint_error(
                path,
                format!(
                    "missing tensor {:?} (needed: all of {})",
                    format!("{prefix}{missing}"),
                    part.name()
                ),
            ));
        }
    }
    network.visit_params(&mut |name, mut p| {
        if let Some(tensor) = selected.get(name) {
            // Shapes were checked above, and parameters are standard layout.
            let value = p.value.as_slice_mut().expect("parameters are contiguous");
            value.copy_from_slice(&tensor.data);
        }
    });
    Ok(selected.into_keys().collect())
}

impl TwoStageNetwork<f32> {
    /// Loads a network from a checkpoint that holds at least stage 1 and stage 2 (a decoder,
    /// if present, too). The widths come from the tensors' shapes, so a checkpoint with another
    /// number of classes loads as such.
    ///
    /// ```no_run
    /// use twostage::TwoStageNetwork;
    /// let mut network = TwoStageNetwork::load("model.safetensors")?;
    /// let probabilities = twostage::train::probabilities(&mut network, &[0u8; 784])?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`CheckpointError::Invalid`] naming the tensor that is missing, misshapen or not finite, or an
    /// I/O error naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<TwoStageNetwork<f32>, CheckpointError> {
        let path = path.as_ref();
        TwoStageNetwork::from_file(&read(path)?, path)
    }

    /// [`TwoStageNetwork::load`] from a file already [`read`]; `path` is for messages.
    ///
    /// # Errors
    /// [`CheckpointError::Invalid`] naming the tensor that is missing, misshapen or not finite.
    pub fn from_file(
        file: &TensorFile,
        path: impl AsRef<Path>,
    ) -> Result<TwoStageNetwork<f32>, CheckpointError> {
        let path = path.as_ref();
        let width = |key: &str, axis: usize| {
            file.tensors
                .get(key)
                .and_then(|t| t.shape.get(axis).copied())
                .ok_or_else(|| {
                    checkpoint_error(
                        path,
                        format!("missing tensor {key:?} (needed: all of stage1 and stage2)"),
                    )
                })
        };
        let dims = Dims {
            input: width("stage1.0.weight", 1)?,
            hidden1: width("stage1.0.weight", 0)?,
            features: width("stage1.2.weight", 0)?,
            hidden2: width("stage2.0.weight", 0)?,
            classes: width("stage2.2.weight", 0)?,
        };
        // Every loaded tensor overwrites its init; the draw only fills a decoder that is absent.
        let mut network = TwoStageNetwork::new(dims, &mut SmallRng::seed_from_u64(0));
        load_into(&mut network, file, "", &[Part::Stage1, Part::Stage2], path)?;
        Ok(network)
    }

    /// Saves every parameter (stage 1, stage 2, decoder) to `path`, atomically, under PyTorch's
    /// state-dict names.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        save(self, &Part::ALL, HashMap::new(), path.as_ref())
    }
}
