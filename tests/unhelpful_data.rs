#![cfg(feature = "cli")]
//! Issue 23's "unhelpful" findings in the data layer, through the binary: file names near the
//! file system's limit, forced downloads beside a corrupt twin, concurrent downloads.

mod common;

use common::{stderr, tiny_data, train_args, twostage};

/// A 253-byte name is legal (NAME_MAX is 255): `--save` and `--metrics` must write it, although
/// the hidden temporary sibling `.NAME.tmp-PID` would be longer than the limit.
#[test]
fn names_near_name_max_are_written() {
    let (dir, data) = tiny_data("unhelpful-long-name");
    let model = dir.join(format!(
        "{}.safetensors",
        "m".repeat(253 - ".safetensors".len())
    ));
    let metrics = dir.join(format!("{}.jsonl", "j".repeat(253 - ".jsonl".len())));
    let extra = ["--no-verify", "--metrics", common::s(&metrics)];
    let out = twostage(&train_args(&data, ["1", "1"], &model, &extra));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(model.is_file() && metrics.is_file());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name.to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
