#![cfg(feature = "cli")]
//! The `twostage` binary end to end: output format, metrics, checkpoints, PyTorch parity through
//! the command line, and every bad-input case failing cleanly before any work.

mod common;

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use twostage::checkpoint;
use twostage::{Dims, Part, TwoStageNetwork};

use common::{model_args, s, stderr, stdout, train_args, twostage};

/// `Epoch [e/n], Loss: d.dddd`
fn is_epoch_line(line: &str, epoch: usize, epochs: usize) -> bool {
    let Some(rest) = line.strip_prefix(&format!("Epoch [{epoch}/{epochs}], Loss: ")) else {
        return false;
    };
    let decimals = rest.split('.').nth(1).map_or(0, str::len);
    rest.parse::<f64>().is_ok_and(f64::is_finite) && decimals == 4
}

fn test_accuracy(out: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("Test Accuracy: "))
        .expect("a test accuracy line");
    line["Test Accuracy: ".len()..]
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

#[test]
fn train_subset_prints_like_the_script_and_round_trips_its_checkpoint() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("subset");
    let (model, metrics) = (dir.join("model.safetensors"), dir.join("metrics.jsonl"));
    let extra = [
        "--train-limit",
        "2000",
        "--seed",
        "3",
        "--metrics",
        s(&metrics),
    ];
    let out = twostage(&train_args(&mnist, ["1", "1"], &model, &extra));
    assert!(out.status.success(), "train failed: {}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    // The script's lines, each stage's first loss beside its sanity baseline.
    assert_eq!(lines[0], "Training Stage 1 (Feature Extraction)", "{text}");
    assert!(
        lines[1].starts_with("  first batch loss ")
            && lines[1].contains("predicting the mean image: 0.2"),
        "{text}"
    );
    assert!(is_epoch_line(lines[2], 1, 1), "{text}");
    assert_eq!(lines[3], "Training Stage 2 (Classification)", "{text}");
    assert!(
        lines[4].ends_with("(ln 10, a uniform guess: 2.3026)"),
        "{text}"
    );
    assert!(is_epoch_line(lines[5], 1, 1), "{text}");
    let accuracy = test_accuracy(&text);
    assert!(
        accuracy > 50.0,
        "2000 images, 1+1 epochs should reach well over 50%: {accuracy}"
    );

    // Metrics: each epoch's batch losses (all of them in a run this short: 2 × 63 batches) and
    // then the epoch, then the test result.
    let metrics_text = std::fs::read_to_string(&metrics).unwrap();
    let (batch_rows, records): (Vec<&str>, Vec<&str>) =
        metrics_text.lines().partition(|l| l.contains("\"batch\":"));
    assert_eq!(records.len(), 3, "{metrics_text}");
    assert_eq!(batch_rows.len(), 126, "{metrics_text}");
    assert!(batch_rows[0].starts_with("{\"stage\":\"stage1\",\"epoch\":1,\"batch\":1,\"loss\":0."));
    assert!(
        batch_rows[125].starts_with("{\"stage\":\"stage2\",\"epoch\":1,\"batch\":63,\"loss\":")
    );
    let all: Vec<&str> = metrics_text.lines().collect();
    assert_eq!(
        all[63], records[0],
        "stage 1's batches come before its epoch row"
    );
    assert!(
        records[0].starts_with("{\"stage\":\"stage1\",\"epoch\":1,\"loss\":0."),
        "{metrics_text}"
    );
    assert!(records[0].contains("\"seconds\":"), "{metrics_text}");
    assert!(
        records[1].starts_with("{\"stage\":\"stage2\",\"epoch\":1,\"loss\":"),
        "{metrics_text}"
    );
    let expected_test = format!("{{\"event\":\"test\",\"accuracy\":{}", accuracy / 100.0);
    assert!(
        records[2].starts_with("{\"event\":\"test\",\"accuracy\":0."),
        "{metrics_text}"
    );
    let recorded: f64 = records[2]
        .split("\"accuracy\":")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (recorded * 100.0 - accuracy).abs() < 0.006,
        "{expected_test} vs {metrics_text}"
    );

    // The checkpoint holds PyTorch's names and shapes, the decoder included (it was trained).
    let saved = checkpoint::read(&model).unwrap();
    let names: Vec<&str> = saved.tensors.keys().map(String::as_str).collect();
    assert_eq!(names.len(), 12, "{names:?}");
    assert_eq!(saved.tensors["stage1.0.weight"].shape, vec![256, 784]);
    assert_eq!(saved.tensors["decoder.2.weight"].shape, vec![784, 256]);

    // Round trip: --init from it with no training gives the same weights and predictions.
    let again = dir.join("again.safetensors");
    let out2 = twostage(&train_args(
        &mnist,
        ["0", "0"],
        &again,
        &["--init", s(&model)],
    ));
    assert!(out2.status.success(), "{}", stderr(&out2));
    assert_eq!(test_accuracy(&stdout(&out2)), accuracy);
    assert_eq!(checkpoint::read(&again).unwrap().tensors, saved.tensors);
    let eval1 = twostage(&model_args("eval", &model, &mnist, &[]));
    let eval2 = twostage(&model_args("eval", &again, &mnist, &[]));
    assert!(eval1.status.success(), "{}", stderr(&eval1));
    assert_eq!(stdout(&eval1), stdout(&eval2), "identical predictions");
    assert!(
        stdout(&eval1).contains("Confusion matrix"),
        "{}",
        stdout(&eval1)
    );
    assert!(
        stdout(&eval1).contains(&format!("Test accuracy: {accuracy:.2}%")),
        "{}",
        stdout(&eval1)
    );

    // predict: the first test image is a 7.
    let p = twostage(&model_args("predict", &model, &mnist, &["--index", "0"]));
    assert!(p.status.success(), "{}", stderr(&p));
    let text = stdout(&p);
    assert!(text.contains("true label 7"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric) && l.contains(": 0."))
            .count(),
        10,
        "{text}"
    );
    let far = twostage(&model_args(
        "predict",
        &model,
        &mnist,
        &["--index", "10000"],
    ));
    assert!(!far.status.success());
    assert!(stderr(&far).contains("--index"), "{}", stderr(&far));
}

#[test]
fn same_seed_gives_a_bit_identical_checkpoint_on_any_thread_count() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("seed");
    let run = |name: &str, threads: &str| {
        let path = dir.join(name);
        let extra = ["--train-limit", "1000", "--seed", "5", "--threads", threads];
        let out = twostage(&train_args(&mnist, ["1", "1"], &path, &extra));
        assert!(out.status.success(), "{}", stderr(&out));
        (
            checkpoint::read(&path).unwrap().tensors,
            std::fs::read(&path).unwrap(),
        )
    };
    let (a, b) = (run("a.safetensors", "1"), run("b.safetensors", "2"));
    assert!(a.0 == b.0, "same seed, 1 vs 2 threads: the weights differ");
    assert!(a.1 == b.1, "same seed, 1 vs 2 threads: the files differ");
}

/// `train` through the CLI from a reference file's `init.*` matches its `after_stage2.*`.
#[test]
fn cli_training_matches_pytorch_reference_runs() {
    let (Some(files), Some(mnist)) = (common::reference_files(), common::mnist_dir()) else {
        return;
    };
    let dir = common::temp_dir("parity");
    for path in files {
        let reference = checkpoint::read(&path).unwrap();
        let meta = |k: &str| reference.metadata[k].clone();
        let mut network = TwoStageNetwork::new(Dims::MNIST, &mut rng());
        checkpoint::load_into(&mut network, &reference, "init.", &Part::ALL, &path).unwrap();
        let init = dir.join("init.safetensors");
        checkpoint::save(&mut network, &Part::ALL, HashMap::new(), &init).unwrap();
        let stage1 = if meta("stage1") == "autoencoder" {
            "autoencoder"
        } else {
            "seed"
        };
        let out_path = dir.join("out.safetensors");
        let (limit, batch, lr) = (meta("limit"), meta("batch"), meta("lr"));
        let extra = [
            "--no-shuffle",
            "--train-limit",
            &limit,
            "--batch-size",
            &batch,
            "--lr",
            &lr,
            "--stage1",
            stage1,
            "--init",
            s(&init),
        ];
        let out = twostage(&train_args(&mnist, ["1", "1"], &out_path, &extra));
        assert!(out.status.success(), "{}", stderr(&out));
        let ours = checkpoint::read(&out_path).unwrap();
        let mut worst = 0.0_f32;
        for (name, tensor) in &ours.tensors {
            let theirs = &reference.tensors[&format!("after_stage2.{name}")];
            assert_eq!(tensor.shape, theirs.shape, "{name}");
            for (a, b) in tensor.data.iter().zip(&theirs.data) {
                let d = (a - b).abs();
                assert!(d <= 1e-4, "{}: {name} differs by {d}", path.display());
                worst = worst.max(d);
            }
        }
        assert_eq!(ours.tensors.len(), 12, "all parameters saved");
        eprintln!(
            "{}: CLI after_stage2 max |diff| {worst:.3e}",
            path.display()
        );
    }
}

fn rng() -> twostage::rand::rngs::SmallRng {
    <twostage::rand::rngs::SmallRng as twostage::rand::SeedableRng>::seed_from_u64(0)
}

/// Bad arguments fail with a message naming the flag, before touching any data (the data
/// directory given does not exist, so any work would fail differently).
#[test]
fn bad_arguments_fail_before_any_work() {
    let dir = common::temp_dir("bad");
    let nowhere = dir.join("no-such-dir");
    let save = dir.join("never.safetensors");
    let cases: &[(&[&str], &str)] = &[
        (&["--batch-size", "0"], "--batch-size"),
        (&["--lr", "-0.001"], "--lr"),
        (&["--lr", "NaN"], "--lr"),
        (&["--lr", "inf"], "--lr"),
        (&["--finetune-lr", "0"], "--finetune-lr"),
        (&["--train-limit", "0"], "--train-limit"),
        (&["--threads", "0"], "--threads"),
        (&["--save", "/"], "--save"),
        (&["--stage1", "bogus"], "--stage1"),
        (
            &["--init", "/no/such/init.safetensors"],
            "/no/such/init.safetensors",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["train", "--data-dir", s(&nowhere)];
        if !extra.contains(&"--save") {
            args.extend_from_slice(&["--save", s(&save)]);
        }
        args.extend_from_slice(extra);
        let out = twostage(&args);
        assert!(!out.status.success(), "{extra:?} should fail");
        let err = stderr(&out);
        assert!(err.contains(expected), "{extra:?}: {err}");
        assert!(!err.contains("panicked"), "{extra:?}: {err}");
        assert!(
            !nowhere.exists(),
            "{extra:?} created the data dir: work started"
        );
    }
    assert!(!save.exists());
}

#[test]
fn divergence_stops_with_stage_epoch_batch_and_saves_nothing() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("diverge");
    let save = dir.join("never.safetensors");
    let metrics = dir.join("never.jsonl");
    let extra = [
        "--train-limit",
        "2000",
        "--lr",
        "1e6",
        "--metrics",
        s(&metrics),
    ];
    let out = twostage(&train_args(&mnist, ["1", "1"], &save, &extra));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("training diverged") && err.contains("epoch 1, batch "),
        "{err}"
    );
    assert!(err.contains("stage1") || err.contains("stage2"), "{err}");
    assert!(!save.exists() && !metrics.exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );
}

/// Writes a safetensors file from `(name, dtype, shape, bytes)`.
fn write_tensors(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .map(|(n, d, shape, bytes)| (*n, TensorView::new(*d, shape.clone(), bytes).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn f32_bytes(n: usize) -> Vec<u8> {
    vec![0u8; 4 * n]
}

#[test]
fn bad_checkpoints_are_clear_errors_naming_the_key() {
    let dir = common::temp_dir("ckpt");
    let nowhere = dir.join("no-data");
    let file = |name: &str| dir.join(name);
    write_tensors(
        &file("shape.safetensors"),
        &[("stage1.0.bias", Dtype::F32, vec![255], f32_bytes(255))],
    );
    write_tensors(
        &file("unknown.safetensors"),
        &[("stage3.0.bias", Dtype::F32, vec![4], f32_bytes(4))],
    );
    write_tensors(
        &file("dtype.safetensors"),
        &[("stage1.0.bias", Dtype::F64, vec![256], vec![0; 8 * 256])],
    );
    std::fs::write(
        file("corrupt.safetensors"),
        b"\xff\xff\xff\xff\xff\xff\xff\x7f{not json",
    )
    .unwrap();
    let cases = [
        ("shape.safetensors", "\"stage1.0.bias\" has shape [255]"),
        ("unknown.safetensors", "unknown tensor \"stage3.0.bias\""),
        ("dtype.safetensors", "\"stage1.0.bias\" has dtype F64"),
        ("corrupt.safetensors", "not a valid safetensors file"),
    ];
    for (name, expected) in cases {
        let out = twostage(&[
            "train",
            "--init",
            s(&file(name)),
            "--data-dir",
            s(&nowhere),
            "--save",
            s(&file("x")),
        ]);
        let err = stderr(&out);
        assert!(
            !out.status.success() && err.contains(expected) && err.contains(name),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // eval needs all of stage 1 and stage 2.
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut rng());
    let partial = file("stage1-only.safetensors");
    checkpoint::save(&mut network, &[Part::Stage1], HashMap::new(), &partial).unwrap();
    let out = twostage(&model_args("eval", &partial, &nowhere, &[]));
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("missing tensor \"stage2."),
        "{err}"
    );
}

#[test]
fn bad_download_timeouts_are_clear_errors() {
    let dir = common::temp_dir("timeouts");
    let nowhere = dir.join("no-such-dir");
    for (flag, value) in [
        ("--connect-timeout", "1e20"),
        ("--connect-timeout", "0"),
        ("--read-timeout", "NaN"),
        ("--read-timeout", "-1"),
    ] {
        let out = twostage(&["download", "--data-dir", s(&nowhere), flag, value]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{flag} {value} should fail");
        assert!(
            err.contains(flag) && !err.contains("panicked"),
            "{flag} {value}: {err}"
        );
        assert!(!nowhere.exists(), "{flag} {value}: work started");
    }
}

/// The data layer names no flag; the command line adds the hint, after the error, in its words.
#[test]
fn a_missing_file_is_reported_with_the_command_lines_hint() {
    let dir = common::temp_dir("cli-missing-hint");
    let d = s(&dir);
    let save = dir.join("model.safetensors");
    let out = twostage(&["train", "--no-verify", "--data-dir", d, "--save", s(&save)]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out),
        format!(
            "error: train-images-idx3-ubyte(.gz) is missing in {d}\n  hint: add \
             train-images-idx3-ubyte or train-images-idx3-ubyte.gz there, pass --data-dir the \
             directory that holds it, or run `twostage download --data-dir {d}` to fetch MNIST\n"
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
