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
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;

fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

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

/// Runs the binary with `args`, killing it after `limit`: `(exit code, stderr)`, `None` on a
/// hang.
fn run(args: &[String], limit: Duration) -> Option<(Option<i32>, String)> {
    let err = std::env::temp_dir().join(format!("twostage-flags-{}.err", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_twostage"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let text = std::fs::read_to_string(&err).unwrap_or_default();
            return Some((status.code(), text));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_numeric_flag_works_or_is_refused_by_name() {
    let dir = common::temp_dir("flags");
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    common::tiny_set(&data);
    let model = dir.join("m.safetensors");
    let base_train = |save: &Path| -> Vec<String> {
        [
            "train",
            "--data-dir",
            s(&data),
            "--no-verify",
            "--stage1-epochs",
            "1",
            "--stage2-epochs",
            "1",
            "--save",
            s(save),
        ]
        .map(String::from)
        .to_vec()
    };
    let made = run(&base_train(&model), Duration::from_secs(120)).expect("training ends");
    assert_eq!(made.0, Some(0), "{}", made.1);

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
            let mut args: Vec<String> = match sub.as_str() {
                "train" => base_train(&out.join("m.safetensors")),
                "eval" | "predict" => [
                    sub,
                    "--model",
                    s(&model),
                    "--data-dir",
                    s(&data),
                    "--no-verify",
                ]
                .map(String::from)
                .to_vec(),
                "report" => [
                    "report",
                    "--model",
                    s(&model),
                    "--data-dir",
                    s(&data),
                    "--no-verify",
                    "--out",
                    s(&out.join("r.html")),
                ]
                .map(String::from)
                .to_vec(),
                // The smallest study: 10 labels, one method and seed, one step.
                "study" => [
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
                    s(&out.join("s.html")),
                ]
                .map(String::from)
                .to_vec(),
                "gradcheck" => ["gradcheck", "--data-dir", s(&data), "--no-verify"]
                    .map(String::from)
                    .to_vec(),
                // A mirror that refuses at once: the flag is judged before any download.
                "download" => [
                    "download",
                    "--data-dir",
                    s(&out.join("dl")),
                    "--mirror",
                    "http://127.0.0.1:9/",
                ]
                .map(String::from)
                .to_vec(),
                other => vec![other.to_string()],
            };
            // The flag under test replaces the base's value.
            if let Some(at) = args.iter().position(|a| a == flag) {
                args.drain(at..at + 2);
            }
            args.push(flag.clone());
            args.push(value.to_string());
            let case = args.join(" ");
            let Some((code, err)) = run(&args, Duration::from_secs(120)) else {
                failures.push(format!("{case}: still running after 120 s"));
                continue;
            };
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
