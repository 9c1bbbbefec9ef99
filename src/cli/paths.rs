//! Output paths, checked before any work: never onto an input or another output, never a
//! directory, FIFO or device, written through symbolic links, never replacing a file of another
//! kind. And the sweep of temporary files that killed runs left behind.

use std::io::Read;
use std::path::{Path, PathBuf};

use twostage::data::kind_of;
use twostage::data::mnist::FILE_NAMES;
use twostage::temp_files::{self, Kind, TempFile};

use super::console::errln;
use super::error::{Error, invalid};

/// What an output file holds, so an existing file of another kind is never replaced.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    Checkpoint,
    JsonLines,
    /// An HTML page (`report --out`, `train --report`).
    Html,
}

/// An output file a command will write: its flag, the path as given and what it holds.
pub struct Output<'a> {
    pub flag: &'static str,
    pub path: &'a Path,
    pub contents: Contents,
}

impl<'a> Output<'a> {
    /// The output `flag` names, at `path`, holding `contents`.
    pub fn new(flag: &'static str, path: &'a Path, contents: Contents) -> Output<'a> {
        Output {
            flag,
            path,
            contents,
        }
    }
}

/// The canonical path of an existing file, or of a file to be created in an existing directory.
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(c) = std::fs::canonicalize(path) {
        return Some(c);
    }
    let parent = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(path.file_name()?))
}

/// Where an output really goes, checked before any work so a finished run is never lost at the
/// end: a file name (not `dir/`), in an existing directory we can write to, not a directory,
/// FIFO or device, and through a symbolic link to its target.
fn resolve_output(output: &Output) -> Result<PathBuf, Error> {
    let (flag, path) = (output.flag, output.path);
    let shown = path.display();
    refuse_directory_name(output)?;
    let target = follow_link(flag, path)?;
    match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => {
            return Err(invalid(
                flag,
                format!(
                    "{shown} is {}, not a regular file: refusing to replace it",
                    kind_of(m.file_type())
                ),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(invalid(flag, format!("cannot use {shown}: {e}"))),
    }
    let directory = existing_directory(flag, &target)?;
    let resolved = canonical(&target)
        .ok_or_else(|| invalid(flag, format!("{shown} is not a usable file path")))?;
    // The write goes through a temporary sibling and a rename: try creating that sibling now.
    let probe = temp_files::sibling(&resolved, Kind::Write)
        .ok_or_else(|| invalid(flag, format!("{shown} is not a usable file path")))?;
    TempFile::create(probe).map_err(|e| {
        invalid(
            flag,
            format!("cannot write in {}: {e}", directory.display()),
        )
    })?;
    Ok(resolved)
}

/// Refuses an output path that names a directory (`dir/`, `..`), suggesting a file name.
fn refuse_directory_name(output: &Output) -> Result<(), Error> {
    let path = output.path;
    let text = path.as_os_str().to_string_lossy();
    if !(text.ends_with(std::path::MAIN_SEPARATOR)
        || text.ends_with('/')
        || path.file_name().is_none())
    {
        return Ok(());
    }
    // `x.html/` most likely meant `x.html`; `dir/`, a file inside it.
    let trimmed = Path::new(text.trim_end_matches('/'));
    let suggestion = if trimmed.extension().is_some() {
        trimmed.to_path_buf()
    } else {
        trimmed.join(match output.contents {
            Contents::Checkpoint => "model.safetensors",
            Contents::JsonLines => "metrics.jsonl",
            Contents::Html => "report.html",
        })
    };
    Err(invalid(
        output.flag,
        format!(
            "{} names a directory, not a file: give a file name, e.g. {}",
            path.display(),
            suggestion.display()
        ),
    ))
}

/// The most symbolic links followed before a path counts as a loop: Linux's limit, past which
/// its calls fail with ELOOP.
const MOST_LINKS: usize = 40;

/// Whether `path` is a symbolic link whose chain of targets never ends (it comes back to
/// itself: the operating system's ELOOP), unlike a link to something or to nothing.
pub fn is_link_loop(path: &Path) -> bool {
    let mut at = path.to_path_buf();
    for _ in 0..MOST_LINKS {
        match std::fs::read_link(&at) {
            // A relative target is relative to the link's directory.
            Ok(to) => at = at.parent().unwrap_or(Path::new("")).join(to),
            Err(_) => return false,
        }
    }
    true
}

/// What is wrong with a path [`is_link_loop`] found to be a loop, naming it.
pub fn link_loop(path: &Path) -> String {
    format!(
        "{} is a loop of symbolic links (ELOOP): each link leads to another and never to a file \
         or directory; fix the links or name the file itself",
        path.display()
    )
}

/// The file a path writes to: the path itself, or the target of a symbolic link (which must
/// exist).
fn follow_link(flag: &'static str, path: &Path) -> Result<PathBuf, Error> {
    if is_link_loop(path) {
        return Err(invalid(flag, link_loop(path)));
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|_| {
            let to = std::fs::read_link(path).unwrap_or_default();
            invalid(
                flag,
                format!(
                    "{} is a symbolic link to {}, which does not exist",
                    path.display(),
                    to.display()
                ),
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// The directory `target` goes in, which must exist.
fn existing_directory(flag: &'static str, target: &Path) -> Result<PathBuf, Error> {
    let directory = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&directory) {
        Ok(m) if m.is_dir() => Ok(directory),
        Ok(_) => Err(invalid(
            flag,
            format!("{} is not a directory", directory.display()),
        )),
        Err(_) => Err(invalid(
            flag,
            format!(
                "directory {} does not exist: create it first",
                directory.display()
            ),
        )),
    }
}

/// The most bytes of an existing metrics file read to tell whether twostage wrote it.
const MOST_METRICS_BYTES: u64 = 256 << 20;
/// The most bytes of a safetensors header read to tell whether twostage wrote it.
const MOST_HEADER_BYTES: u64 = 100 << 20;

/// The JSON header of the safetensors file at `path`, if it is one.
fn safetensors_header(path: &Path) -> Option<serde_json::Value> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut length = [0u8; 8];
    file.read_exact(&mut length).ok()?;
    let length = u64::from_le_bytes(length);
    if length == 0 || length > MOST_HEADER_BYTES {
        return None;
    }
    let mut header = vec![0u8; length as usize];
    file.read_exact(&mut header).ok()?;
    serde_json::from_slice(&header).ok()
}

/// Whether a JSON object is a row `twostage train` or `twostage study` writes to its metrics
/// file.
fn metrics_row(row: &serde_json::Value) -> bool {
    let Some(row) = row.as_object() else {
        return false;
    };
    let ours = |key: &str| row.contains_key(key);
    (ours("stage") && ours("epoch") && ours("loss"))
        || (row.get("event").and_then(|e| e.as_str()) == Some("test") && ours("accuracy"))
        || ["method", "labels", "noise", "seed", "steps", "accuracy"]
            .iter()
            .all(|key| ours(key))
}

/// Whether twostage wrote the existing file at `path` as `contents`: a checkpoint carrying our
/// metadata, a metrics file whose every row is ours, a page with our generator mark. Otherwise
/// what it holds, in words, for the refusal.
fn ours(path: &Path, contents: Contents) -> Result<(), String> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let header = safetensors_header(path);
    if let Some(header) = &header {
        if contents == Contents::Checkpoint
            && header
                .get("__metadata__")
                .and_then(|m| m.get(twostage::checkpoint::METADATA_KEY))
                .is_some()
        {
            return Ok(());
        }
        let tensors: Vec<&str> = header
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| *k != "__metadata__")
                    .map(|k| k.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let shown = match tensors.as_slice() {
            [] => String::new(),
            [one] => format!(": tensor {one}"),
            [first, rest @ ..] => format!(": tensors {first} and {} more", rest.len()),
        };
        return Err(format!(
            "a safetensors file twostage did not write (no {} metadata){shown}",
            twostage::checkpoint::METADATA_KEY
        ));
    }
    let mut start = vec![0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut start))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&start[..n]).to_ascii_lowercase();
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html") {
        if contents == Contents::Html && text.contains(twostage::report::GENERATOR) {
            return Ok(());
        }
        return Err("an HTML page twostage did not write (no twostage generator mark)".into());
    }
    if trimmed.starts_with('{') {
        if size > MOST_METRICS_BYTES {
            return Err(format!(
                "{size} bytes of JSON, more than a metrics file twostage writes"
            ));
        }
        let whole = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = whole.lines().filter(|l| !l.trim().is_empty()).collect();
        let foreign = lines.iter().position(|line| {
            !serde_json::from_str::<serde_json::Value>(line).is_ok_and(|row| metrics_row(&row))
        });
        return match foreign {
            None if contents == Contents::JsonLines && !lines.is_empty() => Ok(()),
            None => Err("twostage metrics rows".into()),
            Some(i) => Err(format!(
                "JSON that is not twostage's metrics (line {} is not one of its rows)",
                i + 1
            )),
        };
    }
    Err(format!("{size} bytes that twostage did not write"))
}

/// Resolves every output and refuses, before any work, an existing file twostage did not write
/// (unless `overwrite`: `--overwrite`), and an output that is another output or an
/// input (compared as canonical paths, so `./m`, `dir/../m` and symlinks are caught).
pub fn check_outputs(
    outputs: &[Output],
    inputs: &[(String, PathBuf)],
    overwrite: bool,
) -> Result<Vec<PathBuf>, Error> {
    let inputs: Vec<(&str, PathBuf)> = inputs
        .iter()
        .filter_map(|(what, path)| Some((what.as_str(), std::fs::canonicalize(path).ok()?)))
        .collect();
    let mut resolved: Vec<PathBuf> = Vec::new();
    for output in outputs {
        let path = resolve_output(output)?;
        if let Some(j) = resolved.iter().position(|p| *p == path) {
            return Err(invalid(
                output.flag,
                format!(
                    "{} is also the {} file: two outputs cannot share a path",
                    output.path.display(),
                    outputs[j].flag
                ),
            ));
        }
        if let Some((what, _)) = inputs.iter().find(|(_, p)| *p == path) {
            return Err(invalid(
                output.flag,
                format!(
                    "{} is an input of this run ({what}): refusing to write over it",
                    output.path.display()
                ),
            ));
        }
        // An existing file is replaced only if twostage wrote it, or the user says so.
        if !overwrite
            && std::fs::metadata(&path).is_ok_and(|m| m.len() > 0)
            && let Err(what) = ours(&path, output.contents)
        {
            return Err(invalid(
                output.flag,
                format!(
                    "{} exists and holds {what}: refusing to replace it",
                    output.path.display()
                ),
            )
            .hinted("choose another path, or pass --overwrite to replace it"));
        }
        resolved.push(path);
    }
    Ok(resolved)
}

/// The data files a run may read from `dir`, plain and `.gz`, as inputs outputs must not hit.
pub fn data_inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    FILE_NAMES
        .iter()
        .flat_map(|name| [format!("{name}.gz"), name.to_string()])
        .map(|file| (format!("data file {file}"), dir.join(file)))
        .collect()
}

/// Removes temporary files that killed runs left in `directory`, saying so.
pub fn sweep_stale(directory: &Path) {
    for path in temp_files::remove_stale(directory) {
        errln!(
            "removed {}, left by an earlier run that was killed",
            path.display()
        );
    }
}

/// Reads the input file `path` of `flag`, refusing up front what is not a regular file (a FIFO
/// would hang, `/dev/zero` never ends) or is larger than `most` bytes, and reading no more
/// than that even if the file grows meanwhile.
pub fn read_input(flag: &'static str, path: &Path, most: u64) -> Result<Vec<u8>, Error> {
    let shown = path.display();
    if is_link_loop(path) {
        return Err(invalid(flag, link_loop(path)));
    }
    let metadata =
        std::fs::metadata(path).map_err(|e| invalid(flag, format!("cannot read {shown}: {e}")))?;
    if !metadata.is_file() {
        return Err(invalid(
            flag,
            format!(
                "{shown} is {}, not a regular file",
                kind_of(metadata.file_type())
            ),
        ));
    }
    if metadata.len() > most {
        return Err(invalid(
            flag,
            format!(
                "{shown} is {} bytes, more than the {most} such a file can sensibly be",
                metadata.len()
            ),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(most + 1).read_to_end(&mut bytes))
        .map_err(|e| invalid(flag, format!("cannot read {shown}: {e}")))?;
    if bytes.len() as u64 > most {
        return Err(invalid(
            flag,
            format!("{shown} grew past {most} bytes while it was read"),
        ));
    }
    Ok(bytes)
}
