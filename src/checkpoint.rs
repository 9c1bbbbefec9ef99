//! Checkpoints: safetensors files of F32 tensors under PyTorch's state-dict keys, so that
//! `model.load_state_dict(safetensors.torch.load_file(path), strict=False)` works in PyTorch.
//!
//! Writes go to a temporary file in the destination's directory, renamed over the destination
//! only once complete: a crash or a full disk never leaves a half-written checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::Error;
use crate::model::{Part, TwoStageNetwork};
use crate::nn::Parameters;
use crate::temp_files::{Kind, TempFile, sibling};

/// A tensor read from a file: row-major `f32` data and its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The tensors of a safetensors file, by name, and its `__metadata__`.
#[derive(Clone, Debug, Default)]
pub struct TensorFile {
    pub tensors: BTreeMap<String, Tensor>,
    pub metadata: HashMap<String, String>,
}

fn checkpoint_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads every tensor of a safetensors file; all must be F32.
pub fn read(path: &Path) -> Result<TensorFile, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| checkpoint_error(path, format!("not a valid safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| checkpoint_error(path, format!("not a valid safetensors file: {e}")))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.iter() {
        if view.dtype() != Dtype::F32 {
            return Err(checkpoint_error(
                path,
                format!(
                    "tensor {name:?} has dtype {:?}; only F32 is supported",
                    view.dtype()
                ),
            ));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.insert(
            name.to_string(),
            Tensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(TensorFile {
        tensors,
        metadata: header.metadata().clone().unwrap_or_default(),
    })
}

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
) -> Result<Vec<String>, Error> {
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

/// Writes the parameters of `parts` as F32 tensors named by their state-dict keys, with
/// `metadata` as the file's `__metadata__`, atomically.
pub fn save(
    network: &mut TwoStageNetwork<f32>,
    parts: &[Part],
    metadata: HashMap<String, String>,
    path: &Path,
) -> Result<(), Error> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    network.parts(parts).visit_params(&mut |name, p| {
        let bytes = p.value.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((name.to_string(), p.value.shape().to_vec(), bytes));
    });
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, shape.clone(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| checkpoint_error(path, format!("cannot encode: {e}")))?;
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| checkpoint_error(path, format!("cannot encode: {e}")))?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary sibling file and a rename: `path` is either
/// its old self or complete, never half-written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let temporary =
        sibling(path, Kind::Write).ok_or_else(|| checkpoint_error(path, "not a file path"))?;
    let (temp, mut file) = TempFile::create(temporary).map_err(|e| Error::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| temp.persist(path))
        .map_err(|e| Error::io(path, e))
}
