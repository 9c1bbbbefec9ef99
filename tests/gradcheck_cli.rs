#![cfg(feature = "cli")]
//! `twostage gradcheck`: passes on the engine, and fails, naming the tensor, for each
//! deliberately broken backward of `--break`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

fn gradcheck(mnist: &std::path::Path, extra: &[&str]) -> (bool, String, String) {
    let out =
        common::twostage(&[&["gradcheck", "--data-dir", mnist.to_str().unwrap()], extra].concat());
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_engine_passes_every_check() {
    let Some(mnist) = common::mnist_dir() else { return };
    let (ok, out, err) = gradcheck(&mnist, &[]);
    assert!(ok, "{out}{err}");
    // Every layer, both losses, the autoencoder and the classifier, with the image's dx.
    for line in [
        "  weight ",
        "ReLU(), L = Σ y ⊙ r",
        "MSELoss, its own scalar",
        "CrossEntropyLoss, its own scalar",
        "  stage1.0.weight ",
        "  decoder.2.bias ",
        "  stage2.2.bias ",
        "  dx (the image) ",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(!out.contains("WRONG"), "{out}");
    assert_eq!(out.matches(" ok\n").count(), 6 + 8 + 9, "{out}");
}

#[test]
fn each_broken_backward_fails_naming_its_tensors() {
    let Some(mnist) = common::mnist_dir() else { return };
    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            "relu",
            &["ReLU() dx", "stage1.0.weight", "dx (the image)"],
            &["MSELoss"],
        ),
        (
            "dense",
            &["Linear(6, 4) bias", "stage2.2.bias"],
            &["stage2.2.weight", "ReLU()"],
        ),
        (
            "mse",
            &["MSELoss dprediction", "decoder.2.weight"],
            &["stage2.", "CrossEntropyLoss"],
        ),
        (
            "ce",
            &["CrossEntropyLoss dprediction", "stage2.0.weight"],
            &["decoder.", "MSELoss"],
        ),
    ];
    for (part, failing, passing) in cases {
        let (ok, out, err) = gradcheck(&mnist, &["--break", part]);
        assert!(!ok, "--break {part} must fail:\n{out}");
        assert!(err.contains("the gradient check failed for"), "{err}");
        for name in failing {
            assert!(
                err.contains(name),
                "--break {part}: {name} not named in {err}"
            );
        }
        for name in passing {
            assert!(
                !err.contains(name),
                "--break {part}: {name} wrongly named in {err}"
            );
        }
    }
}

/// A student with no MNIST: the check runs on a built-in batch, in the directory it was run
/// from, without creating `data/mnist` there or reaching for a mirror.
#[test]
fn without_mnist_it_checks_a_built_in_batch_and_creates_nothing() {
    let cwd = common::temp_dir("gradcheck-no-mnist");
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_twostage"))
        .arg("gradcheck")
        .current_dir(&cwd)
        .env_remove("MNIST_DIR")
        // Were it to download, no mirror could answer.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .output()
        .expect("the binary runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("no MNIST given"), "{stdout}");
    assert!(
        stdout.contains("the autoencoder on 4 built-in images"),
        "{stdout}"
    );
    assert!(!stdout.contains("WRONG"), "{stdout}");
    assert!(!stderr.contains("download"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&cwd).unwrap().collect();
    assert!(left.is_empty(), "gradcheck created {left:?}");
    assert!(start.elapsed() < Duration::from_secs(60));
    std::fs::remove_dir_all(&cwd).unwrap();
}

/// A planted bug fails its tensors, and the output says why the others stay correct.
#[test]
fn a_planted_bug_says_why_the_rest_is_correct() {
    let cwd = common::temp_dir("gradcheck-why");
    for (part, why) in [
        ("relu", "layer after the last ReLU gets its gradient before"),
        ("dense", "db is a dead end of the backward pass"),
        ("mse", "the classifier does not use MSE and stays correct"),
        ("ce", "the autoencoder does not use cross-entropy and"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_twostage"))
            .args(["gradcheck", "--break", part])
            .current_dir(&cwd)
            .env_remove("MNIST_DIR")
            .output()
            .expect("the binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "--break {part}:\n{stdout}");
        assert!(
            stdout.contains("why the rest is ok"),
            "--break {part}:\n{stdout}"
        );
        assert!(stdout.contains(why), "--break {part}:\n{stdout}");
    }
    std::fs::remove_dir_all(&cwd).unwrap();
}
