#![cfg(feature = "cli")]
//! The messages a hostile tester found unhelpful (issue 23), each checked through the binary:
//! the message names the file or flag at fault, says what is wrong and what to do.

mod common;

use std::collections::HashMap;
use std::path::Path;

use twostage::checkpoint;
use twostage::nn::Parameters;
use twostage::{Dims, Part, TwoStageNetwork};

use common::{assert_refused, s, stderr, train_args, twostage};

/// Writes to `path` a checkpoint of the MNIST network with every weight and bias `value`.
fn write_checkpoint_of(path: &Path, value: f32) {
    let mut rng = <twostage::rand::rngs::SmallRng as twostage::rand::SeedableRng>::seed_from_u64(0);
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut rng);
    network
        .parts(&Part::ALL)
        .visit_params(&mut |_, mut p| p.value.fill(value));
    checkpoint::save(&mut network, &Part::ALL, HashMap::new(), path).unwrap();
}

/// A fresh temp dir holding `data/`, a tiny custom IDX set of ten classes (so a checkpoint of
/// the MNIST shape fits it); returns both.
fn ten_classes(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = common::temp_dir(tag);
    let data = dir.join("data");
    write_ten_classes(&data, 0);
    (dir, data)
}

/// Writes into `data` (created) a tiny IDX set of ten classes, its pixels a ramp from `shift`.
fn write_ten_classes(data: &Path, shift: u32) {
    std::fs::create_dir_all(data).unwrap();
    for (prefix, n) in [("train", 40u32), ("t10k", 20)] {
        let pixels: Vec<u8> = (0..n * 784).map(|i| ((i + shift) % 251) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let file = |kind: &str| data.join(format!("{prefix}-{kind}"));
        std::fs::write(
            file("images-idx3-ubyte"),
            common::idx_u8(&[n, 28, 28], &pixels),
        )
        .unwrap();
        std::fs::write(file("labels-idx1-ubyte"), common::idx_u8(&[n], &labels)).unwrap();
    }
}

/// Fails, naming `case` and showing stderr, unless the command succeeded.
fn assert_ok(out: &std::process::Output, case: &str) {
    assert!(out.status.success(), "{case}: {}", stderr(out));
}

/// Fails unless every flag named in a hint of `out` (outside backticks, which quote another
/// command line) is one `twostage COMMAND --help` lists.
fn assert_hints_name_own_flags(out: &std::process::Output, command: &str, case: &str) {
    let help = common::stdout(&twostage(&[command, "--help"]));
    let err = stderr(out);
    let hints: Vec<&str> = err.lines().filter(|l| l.contains("hint:")).collect();
    assert!(!hints.is_empty(), "{case}: a hint: {err}");
    for hint in hints {
        // Even pieces are outside backticks.
        for piece in hint.split('`').step_by(2) {
            for word in piece.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
                if word.starts_with("--") {
                    let listed =
                        help.contains(&format!("{word} ")) || help.contains(&format!("{word}\n"));
                    assert!(listed, "{case}: `{command}` has no {word}: {hint}");
                }
            }
        }
    }
}

/// Item 1: training from `--init` weights near 3e38 blames the weights, naming the file and the
/// largest |weight|, in one sentence, not `--lr`.
#[test]
fn huge_init_weights_are_blamed_not_the_learning_rate() {
    let (dir, data) = ten_classes("unhelpful-huge");
    let save = dir.join("o.safetensors");
    let all = dir.join("all.safetensors");
    write_checkpoint_of(&all, 3e38);
    for (init, epochs) in [(&all, ["1", "1"]), (&all, ["0", "1"])] {
        let args = train_args(&data, epochs, &save, &["--no-verify", "--init", s(init)]);
        let out = twostage(&args);
        let err = stderr(&out);
        let case = format!("--init {} {epochs:?}", init.display());
        let hint = format!("the weights loaded by --init {} are huge", init.display());
        assert_refused(&out, 1, &[&hint, "largest |weight| is 3e38"], &case);
        assert!(!err.contains("--lr"), "{case}: no --lr advice: {err}");
        let hints: Vec<&str> = err.lines().filter(|l| l.contains("hint:")).collect();
        assert_eq!(hints.len(), 1, "{case}: one hint: {err}");
        assert!(hints[0].ends_with("or without --init"), "{case}: {err}");
        assert!(!save.exists(), "{case}: nothing saved");
    }
}

/// Item 2: a loop of symbolic links, as an input or an output, is called that (ELOOP), naming
/// the path, never "a link to nothing" or only the operating system's "too many levels".
#[test]
fn a_loop_of_symbolic_links_is_named_as_one() {
    let (dir, data) = ten_classes("unhelpful-loop");
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let me = dir.join("me");
    std::os::unix::fs::symlink("me", &me).unwrap();
    let save = dir.join("o.safetensors");
    for link in [&a, &me] {
        let l = s(link);
        let train_to = |save: &Path, extra: &[&str]| {
            let mut args = train_args(&data, ["0", "0"], save, &["--no-verify"]);
            args.extend_from_slice(extra);
            twostage(&args)
        };
        let train = |extra: &[&str]| train_to(&save, extra);
        let cases = [
            (twostage(&["train", "--data-dir", l]), "--data-dir"),
            (twostage(&["download", "--data-dir", l]), "--data-dir"),
            (train_to(link, &[]), "--save"),
            (train(&["--metrics", l]), "--metrics"),
            (train(&["--init", l]), "--init"),
            (
                twostage(&["eval", "--model", l, "--data-dir", s(&data)]),
                "eval --model",
            ),
            (
                twostage(&["predict", "--model", l, "--image", l]),
                "--image",
            ),
            (twostage(&["inspect", l]), "inspect"),
        ];
        for (out, case) in cases {
            let named = format!("{l} is a loop of symbolic links (ELOOP)");
            assert_refused(&out, 1, &[&named], case);
            let err = stderr(&out);
            assert!(!err.contains("to nothing"), "{case}: {err}");
        }
    }
}

/// Item 3: when `report` refuses a model's data, its hints name only flags `report` has (no
/// `--force`, no `--dataset`), while `eval` still offers `--force`.
#[test]
fn report_hints_name_only_flags_report_has() {
    let (dir, data) = ten_classes("unhelpful-report-flags");
    let model = dir.join("m.safetensors");
    assert_ok(
        &twostage(&train_args(&data, ["0", "0"], &model, &["--no-verify"])),
        "train",
    );
    let other = dir.join("other");
    write_ten_classes(&other, 1);
    let page = dir.join("r.html");
    let on = |command: &str, data: &Path, extra: &[&str]| {
        let mut args = common::model_args(command, &model, data, &["--no-verify"]);
        args.extend_from_slice(extra);
        twostage(&args)
    };
    let report = on("report", &other, &["--out", s(&page)]);
    assert_refused(
        &report,
        1,
        &["--data-dir the directory of the model's data"],
        "report",
    );
    assert_hints_name_own_flags(&report, "report", "report on other data");
    assert!(!stderr(&report).contains("--force"), "{}", stderr(&report));
    let eval = on("eval", &other, &[]);
    assert_refused(&eval, 1, &["--force"], "eval");
    assert_hints_name_own_flags(&eval, "eval", "eval on other data");
    // A page twostage did not write: report's own --overwrite.
    std::fs::write(&page, "mine").unwrap();
    let report = on("report", &data, &["--out", s(&page)]);
    assert_refused(&report, 1, &["--overwrite"], "report over a file");
    assert_hints_name_own_flags(&report, "report", "report over a file");
}

/// Item 4: a model trained with `--no-verify` on a custom training set beside MNIST's own test
/// files is run by `eval` and `predict` on that same directory (with or without `--no-verify`),
/// while a directory with other training files is still refused.
#[test]
fn a_custom_training_set_beside_mnist_test_files_is_the_models_data() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("unhelpful-beside");
    let (mine, other) = (dir.join("mine"), dir.join("other"));
    for (data, shift) in [(&mine, 0), (&other, 1)] {
        write_ten_classes(data, shift);
        for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
            std::fs::remove_file(data.join(name)).unwrap();
            let gz = format!("{name}.gz");
            std::fs::copy(mnist.join(&gz), data.join(&gz)).unwrap();
        }
    }
    let model = dir.join("m.safetensors");
    assert_ok(
        &twostage(&train_args(&mine, ["0", "0"], &model, &["--no-verify"])),
        "train",
    );
    let on = |command: &str, data: &Path, extra: &[&str]| {
        let mut args = common::model_args(command, &model, data, extra);
        if command == "predict" {
            args.extend(["--index", "0"]);
        }
        twostage(&args)
    };
    for extra in [&["--no-verify"][..], &[]] {
        for command in ["eval", "predict"] {
            assert_ok(&on(command, &mine, extra), &format!("{command} {extra:?}"));
        }
    }
    let refused = on("eval", &other, &["--no-verify"]);
    let needle = "was trained on a custom IDX set";
    assert_refused(&refused, 1, &[needle], "other training files");
}

/// Item 5: a `classes.txt` beside a known dataset's files is not used, and every command that
/// reads the data says so on stderr, naming the file and why.
#[test]
fn classes_txt_beside_a_known_dataset_is_ignored_aloud() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("unhelpful-classes");
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    for entry in std::fs::read_dir(&mnist).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
    }
    let classes = data.join("classes.txt");
    let names: Vec<String> = (0..10).map(|i| format!("glyph{i}")).collect();
    std::fs::write(&classes, names.join("\n")).unwrap();
    let warning = format!(
        "warning: {} is ignored: the data is MNIST",
        classes.display()
    );
    let model = dir.join("m.safetensors");
    let mnist_flag = ["--dataset", "mnist"];
    let train = twostage(&train_args(&data, ["0", "0"], &model, &mnist_flag));
    assert_ok(&train, "train");
    let eval = twostage(&common::model_args("eval", &model, &data, &[]));
    assert_ok(&eval, "eval");
    for (out, case) in [(train, "train"), (eval, "eval")] {
        let err = stderr(&out);
        assert!(err.contains(&warning), "{case}: {err}");
        assert!(err.contains("pass --no-verify"), "{case}: {err}");
        let all = common::stdout(&out) + &err;
        assert!(!all.contains("glyph"), "{case}: names unused: {all}");
    }
}

/// Item 6: `report --metrics` of another run (its test row not the checkpoint's recorded test
/// accuracy) is refused, naming both files; the run's own metrics are accepted.
#[test]
fn report_refuses_the_metrics_of_another_run() {
    let (dir, data) = ten_classes("unhelpful-metrics");
    let (model, metrics) = (dir.join("m.safetensors"), dir.join("m.jsonl"));
    let extra = ["--no-verify", "--metrics", s(&metrics)];
    assert_ok(
        &twostage(&train_args(&data, ["0", "1"], &model, &extra)),
        "train",
    );
    let own = std::fs::read_to_string(&metrics).unwrap();
    let other = dir.join("other.jsonl");
    let rows: Vec<String> = own
        .lines()
        .map(|row| match row.starts_with("{\"event\":\"test\"") {
            true => "{\"event\":\"test\",\"accuracy\":0.9361,\"loss\":0.21}".to_string(),
            false => row.to_string(),
        })
        .collect();
    std::fs::write(&other, rows.join("\n") + "\n").unwrap();
    let page = dir.join("r.html");
    let report = |metrics: &Path| {
        let extra = ["--no-verify", "--out", s(&page), "--metrics", s(metrics)];
        twostage(&common::model_args("report", &model, &data, &extra))
    };
    let refused = report(&other);
    let named = [s(&other), s(&model), "another run", "93.61%"];
    assert_refused(&refused, 1, &named, "another run's metrics");
    assert!(!page.exists(), "no page for another run's metrics");
    assert_ok(&report(&metrics), "the run's own metrics");
}

/// `inspect` names the format a file is not, and gives the loaders' verdict on a checkpoint:
/// one `eval` would refuse is "usable: no", with the loader's reason, and exit 1.
#[test]
fn inspect_names_neither_format_and_gives_the_loaders_verdict() {
    let dir = common::temp_dir("inspect-verdict");
    let good = dir.join("good.safetensors");
    write_checkpoint_of(&good, 0.01);
    let out = twostage(&["inspect", s(&good)]);
    assert_ok(&out, "a loadable checkpoint");
    assert!(
        common::stdout(&out).contains("usable:     yes"),
        "{}",
        common::stdout(&out)
    );

    // 26 classes in the metadata beside a 10-output head.
    let mut rng = <twostage::rand::rngs::SmallRng as twostage::rand::SeedableRng>::seed_from_u64(0);
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut rng);
    let classes = HashMap::from([(
        checkpoint::METADATA_KEY.to_string(),
        "classes=26".to_string(),
    )]);
    let c26 = dir.join("c26.safetensors");
    checkpoint::save(&mut network, &Part::ALL, classes, &c26).unwrap();
    let out = twostage(&["inspect", s(&c26)]);
    assert_refused(
        &out,
        1,
        &["not usable", "26 classes", "10 outputs"],
        "26 vs 10 classes",
    );
    assert!(common::stdout(&out).contains("usable:     no: its metadata records 26 classes"));

    // Neither IDX nor safetensors: a bad IDX type byte; safetensors header lengths 0 and 2⁶³.
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "bad.idx",
            [&[0u8, 0, 7, 3][..], &[0; 100]].concat(),
            "type byte 0x07",
        ),
        (
            "h0.safetensors",
            [&0u64.to_le_bytes()[..], b"{\"a\":1}        "].concat(),
            "header length is 0",
        ),
        (
            "h63.safetensors",
            [&(1u64 << 63).to_le_bytes()[..], b"{\"a\":1}        "].concat(),
            "9223372036854775808",
        ),
    ];
    for (name, bytes, says) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = twostage(&["inspect", s(&path)]);
        assert_refused(
            &out,
            1,
            &[
                "neither an IDX file nor a safetensors checkpoint",
                says,
                name,
            ],
            name,
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
