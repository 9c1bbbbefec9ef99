#![cfg(feature = "cli")]
//! `twostage gradcheck`: passes on the engine, and fails, naming the tensor, for each
//! deliberately broken backward of `--break`.

mod common;

use std::process::Command;

fn gradcheck(mnist: &std::path::Path, extra: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_twostage"))
        .args(["gradcheck", "--data-dir", mnist.to_str().unwrap()])
        .args(extra)
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_engine_passes_every_check() {
    let Some(mnist) = common::mnist_dir() else {
        return;
    };
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
    let Some(mnist) = common::mnist_dir() else {
        return;
    };
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
