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
    let text = path.as_os_str().to_string_lossy();
    if text.ends_with(std::path::MAIN_SEPARATOR)
        || text.ends_with('/')
        || path.file_name().is_none()
    {
        return Err(invalid(
            flag,
            format!(
                "{shown} names a directory, not a file: give a file name, e.g. {}",
                Path::new(text.trim_end_matches('/'))
                    .join("model.safetensors")
                    .display()
            ),
        ));
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|_| {
            let to = std::fs::read_link(path).unwrap_or_default();
            invalid(
                flag,
                format!(
                    "{shown} is a symbolic link to {}, which does not exist",
                    to.display()
                ),
            )
        })?,
        _ => path.to_path_buf(),
    };
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
    let directory = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&directory) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(invalid(
                flag,
                format!("{} is not a directory", directory.display()),
            ));
        }
        Err(_) => {
            return Err(invalid(
                flag,
                format!(
                    "directory {} does not exist: create it first",
                    directory.display()
                ),
            ));
        }
    }
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

/// Whether the existing file at `path` holds `contents`, judged by its first bytes.
fn holds(path: &Path, contents: Contents) -> bool {
    let mut start = [0u8; 64];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut start)) else {
        return false;
    };
    match contents {
        // An 8-byte little-endian header length, then the JSON header.
        Contents::Checkpoint => n >= 9 && start[8] == b'{',
        Contents::JsonLines => n > 0 && start[0] == b'{',
        // A page starts with its doctype or <html>, perhaps after a byte-order mark or spaces.
        Contents::Html => {
            let text = String::from_utf8_lossy(&start[..n]).to_ascii_lowercase();
            let text = text.trim_start_matches('\u{feff}').trim_start();
            text.starts_with("<!doctype html") || text.starts_with("<html")
        }
    }
}

/// Resolves every output and refuses, before any work, an output that is another output or an
/// input (compared as canonical paths, so `./m`, `dir/../m` and symlinks are caught).
pub fn check_outputs(
    outputs: &[Output],
    inputs: &[(String, PathBuf)],
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
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) && !holds(&path, output.contents) {
            let what = match output.contents {
                Contents::Checkpoint => "a safetensors checkpoint",
                Contents::JsonLines => "a JSON Lines metrics file",
                Contents::Html => "an HTML page",
            };
            return Err(invalid(
                output.flag,
                format!(
                    "{} exists and is not {what}: refusing to replace it (choose another \
                     path, or remove the file yourself)",
                    output.path.display()
                ),
            ));
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
