//! `twostage inspect FILE`: what an IDX file or a checkpoint holds.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use twostage::checkpoint::{self, METADATA_KEY, decode_list};

use super::console::out;
use super::error::Error;
use twostage::data::identity::{ModelData, describe_id};

/// `twostage inspect`: an IDX file (it starts `00 00`, or is gzip) is described by the data
/// layer; anything else is read as a safetensors checkpoint.
pub fn run(path: &Path) -> Result<(), Error> {
    if looks_like_idx(path) {
        out!("{}", twostage::data::inspect(path)?);
    } else {
        out!("{}", describe_checkpoint(path)?);
    }
    Ok(())
}

/// Whether the file starts like IDX (`00 00`) or gzip (`1f 8b`). A safetensors file starts
/// with its header length, which is never below 256 bytes for a checkpoint with any tensor,
/// so its first two bytes are not `00 00`. Unreadable files go to the IDX reader, whose error
/// names what is wrong.
fn looks_like_idx(path: &Path) -> bool {
    let mut start = [0u8; 2];
    let read = std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .and_then(|_| std::fs::File::open(path).ok())
        .and_then(|mut f| f.read_exact(&mut start).ok());
    read.is_none() || start == [0, 0] || start == [0x1f, 0x8b]
}

/// Tensors (name, dtype, shape), parameter count, the network's widths and what the metadata
/// says: dataset, classes, test accuracy, stage-1 mode, seed.
fn describe_checkpoint(path: &Path) -> Result<String, Error> {
    let (tensors, metadata) = checkpoint::describe(path)?;
    let file = checkpoint::TensorFile {
        metadata: metadata.clone(),
        ..Default::default()
    };
    let model = ModelData::of(&file);
    let get = |key: &str| {
        model
            .pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut text = String::new();
    let _ = writeln!(text, "file:       {}", path.display());
    let _ = writeln!(text, "format:     safetensors checkpoint");
    let _ = writeln!(text, "tensors:    {}", tensors.len());
    describe_tensors(&mut text, &tensors);
    if model.pairs.is_empty() {
        let _ = writeln!(
            text,
            "metadata:   {}",
            if metadata.is_empty() {
                "none (not written by twostage train: the dataset is unknown)".to_string()
            } else {
                format!("{metadata:?}")
            }
        );
        return Ok(text);
    }
    let dataset = match &model.dataset {
        Some(id) => format!("{} ({id})", describe_id(id)),
        None => "not recorded (a checkpoint from before datasets were recorded)".to_string(),
    };
    let _ = writeln!(text, "dataset:    {dataset}");
    if let Some(classes) = get("classes") {
        let names = get("class_names").map(decode_list).unwrap_or_default();
        let _ = writeln!(text, "classes:    {classes}: {}", names.join(", "));
    }
    if let Some(accuracy) = get("test_accuracy").and_then(|a| a.parse::<f64>().ok()) {
        let _ = writeln!(text, "accuracy:   {:.2}% on the test set", 100.0 * accuracy);
    }
    if let Some(stage1) = get("stage1") {
        let _ = writeln!(text, "stage 1:    {stage1}");
    }
    if let Some(seed) = get("seed") {
        let _ = writeln!(text, "seed:       {seed}");
    }
    let _ = writeln!(
        text,
        "metadata:   {METADATA_KEY} = {:?}",
        metadata.get(METADATA_KEY).map_or("", String::as_str)
    );
    Ok(text)
}

/// One line per tensor, the parameter count and, when the four stage tensors are there, the
/// network's widths.
fn describe_tensors(text: &mut String, tensors: &[checkpoint::TensorInfo]) {
    let name_width = tensors.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut parameters = 0usize;
    for tensor in tensors {
        let shape: Vec<String> = tensor.shape.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(
            text,
            "  {:<name_width$}  {}  ({})",
            tensor.name,
            tensor.dtype,
            shape.join(", ")
        );
        parameters += tensor.shape.iter().product::<usize>();
    }
    let _ = writeln!(text, "parameters: {parameters}");
    let shape_of = |name: &str| {
        tensors
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.shape.clone())
    };
    if let (Some(s1), Some(s2), Some(s3), Some(s4)) = (
        shape_of("stage1.0.weight"),
        shape_of("stage1.2.weight"),
        shape_of("stage2.0.weight"),
        shape_of("stage2.2.weight"),
    ) && s1.len() == 2
        && [&s2, &s3, &s4].iter().all(|s| s.len() == 2)
    {
        let _ = writeln!(
            text,
            "network:    {} → {} → {} → {} → {} classes{}",
            s1[1],
            s1[0],
            s2[0],
            s3[0],
            s4[0],
            if shape_of("decoder.2.weight").is_some() {
                " (with the autoencoder's decoder)"
            } else {
                ""
            }
        );
    }
}
