#![cfg(feature = "cli")]
//! Issue 23, defect 2: every numeric flag of every subcommand, found by walking clap's command
//! definition (so a flag added tomorrow is covered without anyone remembering), at 0, 1, −1, its
//! type's maximum, past it, `nan`, `inf` and a value larger than the data allows: the run works,
//! or is refused naming the flag. Never a panic, never a hang.

mod common;

// The command line itself, compiled into this test so its `Command` can be walked.
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../src/cli/mod.rs"]
mod cli;

use std::any::TypeId;
use std::time::Duration;

use clap::CommandFactory;

use common::{model_args, run_within, s, stderr, tiny_data, train_args};

/// The numeric flags of each subcommand: `(subcommand, --flag, is a float)`.
fn numeric_flags() -> Vec<(String, String, bool)> {
    let mut flags = Vec::new();
    for sub in cli::Cli::command().get_subcommands() {
        for arg in sub.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let id = arg.get_value_parser().type_id();
            let float = id == TypeId::of::<f64>() || id == TypeId::of::<f32>();
            let whole = [
                TypeId::of::<usize>(),
                TypeId::of::<u64>(),
                TypeId::of::<u32>(),
                TypeId::of::<u16>(),
                TypeId::of::<u8>(),
                TypeId::of::<i64>(),
                TypeId::of::<i32>(),
            ]
            .iter()
            .any(|t| id == *t);
            if float || whole {
                flags.push((sub.get_name().to_string(), format!("--{long}"), float));
            }
        }
    }
    flags
}

#[test]
fn every_numeric_flag_works_or_is_refused_by_name() {
    let (dir, data) = tiny_data("flags");
    let model = dir.join("m.safetensors");
    let limit = Duration::from_secs(120);
    let train = train_args(&data, ["1", "1"], &model, &["--no-verify"]);
    let made = run_within(&train, limit).expect("training ends");
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));

    let flags = numeric_flags();
    for needed in [
        "--batch-size",
        "--lr",
        "--seed",
        "--threads",
        "--index",
        "--samples",
        "--file-deadline",
        "--min-steps",
    ] {
        assert!(
            flags.iter().any(|(_, f, _)| f == needed),
            "the walk finds {needed}: {flags:?}"
        );
    }
    let mut failures = Vec::new();
    for (sub, flag, float) in &flags {
        let mut values = vec!["0", "1", "-1", "1000000", "nan", "inf", "-inf"];
        values.extend(if *float {
            ["1.7976931348623157e308", "1e400", "4e-324"]
        } else {
            ["18446744073709551615", "18446744073709551616", "1.5"]
        });
        for value in values {
            let out = dir.join("out");
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir(&out).unwrap();
            let (save, page, study_page, downloads) = (
                out.join("m.safetensors"),
                out.join("r.html"),
                out.join("s.html"),
                out.join("dl"),
            );
            let mut args: Vec<&str> = match sub.as_str() {
                "train" => train_args(&data, ["1", "1"], &save, &["--no-verify"]),
                "eval" | "predict" => model_args(sub, &model, &data, &["--no-verify"]),
                "report" => model_args(sub, &model, &data, &["--no-verify", "--out", s(&page)]),
                // The smallest study: 10 labels, one method and seed, one step.
                "study" => vec![
                    "study",
                    "--data-dir",
                    s(&data),
                    "--no-verify",
                    "--labels",
                    "10",
                    "--methods",
                    "supervised",
                    "--seeds",
                    "1",
                    "--min-epochs",
                    "0",
                    "--min-steps",
                    "1",
                    "--out",
                    s(&study_page),
                ],
                "gradcheck" => vec!["gradcheck", "--data-dir", s(&data), "--no-verify"],
                // A mirror that refuses at once: the flag is judged before any download.
                "download" => vec![
                    "download",
                    "--data-dir",
                    s(&downloads),
                    "--mirror",
                    "http://127.0.0.1:9/",
                ],
                other => vec![other],
            };
            // The flag under test replaces the base's value.
            if let Some(at) = args.iter().position(|a| a == flag) {
                args.drain(at..at + 2);
            }
            args.push(flag);
            args.push(value);
            let case = args.join(" ");
            let Some(output) = run_within(&args, limit) else {
                failures.push(format!("{case}: still running after 120 s"));
                continue;
            };
            let (code, err) = (output.status.code(), stderr(&output));
            let names_flag = err.contains(flag.as_str());
            let ok = match code {
                Some(0) => true,
                Some(1) | Some(2) => names_flag && !err.contains("invalid digit"),
                _ => false,
            };
            // A download that failed for want of a mirror is judged by its flag having been
            // accepted: it got as far as the network.
            let download_ran = sub == "download" && code == Some(1) && err.contains("127.0.0.1:9");
            if (!ok && !download_ran) || err.contains("panicked") {
                failures.push(format!("{case}: exit {code:?}: {err}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
