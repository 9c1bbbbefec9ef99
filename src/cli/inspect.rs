//! `twostage inspect FILE`: what an IDX file or a checkpoint holds.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use twostage::checkpoint::{self, METADATA_KEY, decode_list};

use super::console::out;
use super::error::Error;
use twostage::data::identity::{ModelData, describe_id};

/// `twostage inspect`: the file's first bytes say what it is (see [`Format`]); an IDX file is
/// described by the data layer, a checkpoint here, with the loaders' verdict on it.
pub fn run(path: &Path) -> Result<(), Error> {
    match sniff(path) {
        Format::Idx => out!("{}", twostage::data::inspect(path)?),
        Format::Checkpoint => {
            let (text, verdict) = describe_checkpoint(path)?;
            out!("{text}");
            if let Err(why) = verdict {
                return Err(Error::Failed(format!(
                    "{}: not usable: {why}",
                    path.display()
                )));
            }
        }
        Format::Neither(why) => {
            return Err(Error::Failed(format!(
                "{}: neither an IDX file nor a safetensors checkpoint: {why}",
                path.display()
            )));
        }
    }
    Ok(())
}

/// What a file's first bytes make it.
enum Format {
    /// `1f 8b` (gzip, which only IDX files come as here) or `00 00 TYPE DIMS` with an IDX type.
    Idx,
    /// An 8-byte little-endian header length `N` with `2 ≤ N ≤ size − 8`, then `{`.
    Checkpoint,
    /// Neither; the closest format and what is wrong with it.
    Neither(String),
}

/// The IDX data types: u8, i8, i16, i32, f32, f64.
const IDX_TYPES: [u8; 6] = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E];

/// Reads the first 9 bytes. Files that cannot be opened, special files and short files go to
/// the IDX reader, whose error names what is wrong with them.
fn sniff(path: &Path) -> Format {
    let size = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => meta.len(),
        _ => return Format::Idx,
    };
    let mut start = [0u8; 9];
    let Ok(mut file) = std::fs::File::open(path) else {
        return Format::Idx;
    };
    let mut read = 0;
    while read < start.len() {
        match file.read(&mut start[read..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => read += k,
        }
    }
    if read < 4 {
        return Format::Idx;
    }
    let header = u64::from_le_bytes(start[..8].try_into().unwrap_or([0; 8]));
    if read == 9 && (2..=size.saturating_sub(8)).contains(&header) && start[8] == b'{' {
        return Format::Checkpoint;
    }
    if start[..2] == [0x1f, 0x8b] || (start[..2] == [0, 0] && IDX_TYPES.contains(&start[2])) {
        return Format::Idx;
    }
    let as_checkpoint = format!(
        "read as safetensors, its 8-byte header length is {header}, but the file has {} bytes \
         after it",
        size.saturating_sub(8)
    );
    Format::Neither(if read == 9 && start[8] == b'{' {
        as_checkpoint
    } else if start[..2] == [0, 0] {
        format!(
            "it starts 00 00 as IDX does, but its type byte 0x{:02x} is none of IDX's \
             (08 u8, 09 i8, 0b i16, 0c i32, 0d f32, 0e f64)",
            start[2]
        )
    } else if read < 9 {
        format!("it holds {size} bytes, too few for either")
    } else if !(2..=size.saturating_sub(8)).contains(&header) {
        as_checkpoint
    } else {
        "read as safetensors, its header does not start with `{` (a JSON object)".to_string()
    })
}

/// The loaders' verdict on a checkpoint: `eval`, `predict`, `report` and `train --init` load
/// it as [`super::open_model`] does, and the metadata's class count must be the head's.
fn verdict(path: &Path) -> Result<(), String> {
    let model = match super::open_model(path) {
        Ok(model) => model,
        Err(error) => {
            let mut why = error.to_string();
            let mut cause = std::error::Error::source(&error);
            while let Some(c) = cause {
                let _ = write!(why, ": {c}");
                cause = c.source();
            }
            return Err(why);
        }
    };
    let head = model.network.dims.classes;
    let recorded = model.data.pairs.iter().find(|(k, _)| k == "classes");
    match recorded.map(|(_, v)| v.parse::<usize>()) {
        Some(Ok(classes)) if classes != head => Err(format!(
            "its metadata records {classes} classes, but its head (stage2.2.weight) has {head} \
             outputs"
        )),
        Some(Err(_)) => Err("its metadata's class count is not a number".to_string()),
        _ => Ok(()),
    }
}

/// Tensors (name, dtype, shape), parameter count, the network's widths, whether the loaders
/// take it, and what the metadata says: dataset, classes, test accuracy, stage-1 mode, seed.
fn describe_checkpoint(path: &Path) -> Result<(String, Result<(), String>), Error> {
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
    let verdict = verdict(path);
    let _ = match &verdict {
        Ok(()) => writeln!(
            text,
            "usable:     yes (eval, predict, report and train --init load it)"
        ),
        Err(why) => writeln!(text, "usable:     no: {why}"),
    };
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
        return Ok((text, verdict));
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
    Ok((text, verdict))
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
