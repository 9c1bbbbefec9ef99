//! Reading a safetensors file within bounds, and describing what it holds.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors};

use super::{CheckpointError, Tensor, TensorFile, checkpoint_error, io_error};

/// The largest safetensors header we read. The format itself allows 100 MB; a twostage
/// checkpoint's is under 2 KB.
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The most tensor data a checkpoint may hold: the largest network twostage builds (256
/// classes, with its decoder) has well under 1 M parameters, 4 MB of F32.
pub const MAX_DATA_BYTES: u64 = 256 << 20;

/// Reads every tensor of a safetensors file; all must be F32.
///
/// The file's size and declared header length are checked before anything is read into
/// memory, so `/dev/zero`, a FIFO or a multi-gigabyte file is refused at once.
pub fn read(path: impl AsRef<Path>) -> Result<TensorFile, CheckpointError> {
    let path = path.as_ref();
    let bytes = read_bounded(path)?;
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

/// The bytes of a checkpoint file, after checking that it is a regular file of a plausible size
/// with a plausible header length.
fn read_bounded(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    use std::io::Read;
    let metadata = std::fs::metadata(path).map_err(io_error(path))?;
    if !metadata.is_file() {
        return Err(checkpoint_error(
            path,
            format!(
                "this is {}, not a regular file",
                crate::data::kind_of(metadata.file_type())
            ),
        ));
    }
    let size = metadata.len();
    let mut file = std::fs::File::open(path).map_err(io_error(path))?;
    let mut prefix = [0u8; 8];
    file.read_exact(&mut prefix).map_err(|_| {
        checkpoint_error(
            path,
            format!(
                "not a valid safetensors file: {size} bytes, too short for the 8-byte header length"
            ),
        )
    })?;
    let header = u64::from_le_bytes(prefix);
    if header > MAX_HEADER_BYTES || header > size - 8 {
        return Err(checkpoint_error(
            path,
            format!(
                "not a valid safetensors file: it declares a {header}-byte header, but the file has {} bytes after the length{}",
                size - 8,
                if header > MAX_HEADER_BYTES {
                    format!(" and the format allows at most {MAX_HEADER_BYTES}")
                } else {
                    String::new()
                }
            ),
        ));
    }
    let data = size - 8 - header;
    if data > MAX_DATA_BYTES {
        return Err(checkpoint_error(
            path,
            format!(
                "holds {data} bytes of tensor data; a twostage checkpoint holds at most {MAX_DATA_BYTES} \
                 (this is not a checkpoint of this network)"
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    bytes.extend_from_slice(&prefix);
    // `take` bounds the read even if the file grows while it is read.
    file.take(size - 8)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    Ok(bytes)
}

/// The first non-finite value of `data`, as (index, value).
pub(super) fn first_non_finite(data: &[f32]) -> Option<(usize, f32)> {
    data.iter()
        .position(|v| !v.is_finite())
        .map(|i| (i, data[i]))
}

/// One tensor of a checkpoint as stored: its name, dtype and shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The state-dict name.
    pub name: String,
    /// The dtype as safetensors names it, e.g. `F32`.
    pub dtype: String,
    /// The shape, outermost first.
    pub shape: Vec<usize>,
}

/// The tensors of a safetensors file (any dtype, in file order) and its `__metadata__`, for
/// `twostage inspect`; nothing is converted.
pub fn describe(
    path: impl AsRef<Path>,
) -> Result<(Vec<TensorInfo>, HashMap<String, String>), CheckpointError> {
    let path = path.as_ref();
    let bytes = read_bounded(path)?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| checkpoint_error(path, format!("not a valid safetensors file: {e}")))?;
    let mut tensors: Vec<(usize, TensorInfo)> = header
        .tensors()
        .into_iter()
        .map(|(name, info)| {
            (
                info.data_offsets.0,
                TensorInfo {
                    name,
                    dtype: format!("{:?}", info.dtype),
                    shape: info.shape.clone(),
                },
            )
        })
        .collect();
    tensors.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    Ok((
        tensors.into_iter().map(|(_, t)| t).collect(),
        header.metadata().clone().unwrap_or_default(),
    ))
}
