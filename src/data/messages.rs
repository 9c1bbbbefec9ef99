//! The longer messages of [`DataError`](super::DataError), put into sentences: lists of files,
//! of reasons, of failed mirrors.

use std::path::{Path, PathBuf};

use super::error::{Attempt, Foreign};

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

pub(super) fn incomplete_set(
    dataset: &str,
    dir: &Path,
    missing: &[&'static str],
    foreign: &[Foreign],
) -> String {
    let missing_names: Vec<String> = missing.iter().map(|n| format!("{n}(.gz)")).collect();
    let foreign_names: Vec<String> = foreign
        .iter()
        .map(|f| format!("{} ({})", file_name(&f.file), f.reason))
        .collect();
    let is = if missing.len() == 1 { "is" } else { "are" };
    let which = if foreign.len() == 1 {
        format!("which is not {dataset}")
    } else {
        format!("which are not {dataset}")
    };
    format!(
        "{} {is} missing in {dir}; {dir} also holds {}, {which}, so nothing was downloaded",
        and_list(&missing_names),
        and_list(&foreign_names),
        dir = dir.display(),
    )
}

pub(super) fn present_not_mnist(dataset: &str, dir: &Path, files: &[Foreign]) -> String {
    let names: Vec<String> = files
        .iter()
        .map(|f| format!("{} ({})", file_name(&f.file), f.reason))
        .collect();
    let is = if files.len() == 1 { "is" } else { "are" };
    format!(
        "{} in {} {is} not {dataset} and nothing was downloaded",
        and_list(&names),
        dir.display(),
    )
}

pub(super) fn also_present(others: &[PathBuf]) -> String {
    let names: Vec<String> = others.iter().map(|p| p.display().to_string()).collect();
    let verb = if others.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", and_list(&names))
}

pub(super) fn hex_bytes(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(" ")
}

pub(super) fn list_attempts(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "  (no mirrors configured)".to_string();
    }
    let lines: Vec<String> = attempts
        .iter()
        .map(|attempt| format!("  {}: {}", attempt.url, attempt.reason))
        .collect();
    lines.join("\n")
}
