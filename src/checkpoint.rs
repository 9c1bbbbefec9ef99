//! Checkpoints: safetensors files of F32 tensors under PyTorch's state-dict keys, so that
//! `model.load_state_dict(safetensors.torch.load_file(path), strict=False)` works in PyTorch.
//!
//! Writes go to a temporary file in the destination's directory, renamed over the destination
//! only once complete: a crash or a full disk never leaves a half-written checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::model::{Dims, Part, TwoStageNetwork};
use crate::nn::Parameters;
use crate::temp_files::{Kind, TempFile, sibling};
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand::rngs::SmallRng;

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
fn first_non_finite(data: &[f32]) -> Option<(usize, f32)> {
    data.iter()
        .position(|v| !v.is_finite())
        .map(|i| (i, data[i]))
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

/// The one `__metadata__` key twostage writes. safetensors writes the metadata map in hash
/// order, so a single key keeps same-seed checkpoints byte-identical; everything is encoded in
/// its value as space-separated `key=value` pairs (see [`metadata_value`]).
pub const METADATA_KEY: &str = "twostage";

/// `key=value` pairs joined by spaces, e.g. `stage1=autoencoder seed=0 dataset=mnist`. Values
/// must not hold spaces: lists go through [`encode_list`].
pub fn metadata_value(pairs: &[(&str, String)]) -> String {
    let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(" ")
}

/// The `key=value` pairs of a checkpoint's [`METADATA_KEY`], in order (empty when the file has
/// none, e.g. one written by PyTorch). Words without `=` are skipped.
pub fn metadata_pairs(file: &TensorFile) -> Vec<(String, String)> {
    let Some(value) = file.metadata.get(METADATA_KEY) else {
        return Vec::new();
    };
    value
        .split(' ')
        .filter_map(|word| word.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A list of names as one metadata value without spaces: each name percent-encoded (`%`,
/// space, `,`, `=` and control characters), joined by commas. [`decode_list`] reverses it.
pub fn encode_list(names: &[String]) -> String {
    let encoded: Vec<String> = names
        .iter()
        .map(|name| {
            let mut out = String::new();
            for c in name.chars() {
                if matches!(c, '%' | ' ' | ',' | '=') || c.is_control() {
                    let mut buf = [0u8; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{byte:02X}"));
                    }
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect();
    encoded.join(",")
}

/// The names of an [`encode_list`] value. A malformed escape is kept as written.
pub fn decode_list(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    value
        .split(',')
        .map(|name| {
            let bytes = name.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                let escaped = (bytes[i] == b'%')
                    .then(|| name.get(i + 1..i + 3))
                    .flatten()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match escaped {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect()
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
