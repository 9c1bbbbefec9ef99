//! Writing a checkpoint: the parameters as safetensors bytes, renamed into place only once whole.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use super::{CheckpointError, checkpoint_error, io_error};
use crate::model::{Part, TwoStageNetwork};
use crate::nn::Parameters;
use crate::temp_files::{Kind, TempFile, sibling};

/// Writes the parameters of `parts` as F32 tensors named by their state-dict keys, with
/// `metadata` as the file's `__metadata__`, atomically.
pub fn save(
    network: &mut TwoStageNetwork<f32>,
    parts: &[Part],
    metadata: HashMap<String, String>,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
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
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let temporary =
        sibling(path, Kind::Write).ok_or_else(|| checkpoint_error(path, "not a file path"))?;
    let (temp, mut file) = TempFile::create(temporary).map_err(io_error(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| temp.persist(path))
        .map_err(io_error(path))
}
