#![cfg(feature = "cli")]
//! Issue 23 ("hostile round two") through the binary: a file that merely looks like ours is
//! still the user's; every input bounded; write errors reported.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{assert_refused, bin, model_args, s, stderr, tiny_data, train_args, twostage};

/// A safetensors file that is someone else's model: an F16 `lm_head.weight`, no metadata.
fn foreign_safetensors() -> Vec<u8> {
    let header = br#"{"lm_head.weight":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0u8; 8]);
    bytes
}

/// Fails unless `out` refused (exit 1, no panic) naming `file` and saying what it holds.
fn assert_kept(out: &Output, file: &Path, before: &[u8], holds: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(s(file)), "names {}: {err}", file.display());
    assert!(err.contains(holds), "says it holds {holds:?}: {err}");
    assert!(err.contains("--overwrite"), "offers --overwrite: {err}");
    assert_eq!(
        std::fs::read(file).unwrap(),
        before,
        "{} kept",
        file.display()
    );
}

/// Defect 1: an existing file is replaced only if twostage wrote it or `--overwrite` is given;
/// otherwise the run is refused before any work, naming the file and what it holds.
#[test]
fn a_file_that_looks_like_ours_is_still_the_users() {
    let dir = common::temp_dir("hostile-ours");
    let nowhere = dir.join("no-data");
    let model = dir.join("model.safetensors");
    let dataset = dir.join("dataset.jsonl");
    let notes = dir.join("notes.jsonl");
    let page = dir.join("index.html");
    std::fs::write(&model, foreign_safetensors()).unwrap();
    std::fs::write(
        &dataset,
        "{\"text\":\"a cat\",\"label\":1}\n{\"text\":\"a dog\",\"label\":0}\n",
    )
    .unwrap();
    std::fs::write(
        &notes,
        "{\"stage\":\"stage2\",\"epoch\":1,\"loss\":0.5,\"seconds\":1.0}\nmy own notes\n",
    )
    .unwrap();
    std::fs::write(
        &page,
        "<!DOCTYPE html>\n<html><body>my home page</body></html>\n",
    )
    .unwrap();

    // The default --save is someone's model.
    let out = bin()
        .current_dir(&dir)
        .args(["train", "--no-verify", "--data-dir", s(&nowhere)])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("model.safetensors") && err.contains("lm_head.weight"),
        "{err}"
    );
    assert_eq!(std::fs::read(&model).unwrap(), foreign_safetensors());

    let train_without_data = |extra: &[&str]| {
        twostage(&[&["train", "--no-verify", "--data-dir", s(&nowhere)], extra].concat())
    };
    let save = dir.join("new.safetensors");
    for (file, holds) in [
        (&dataset, "line 1"),
        (&notes, "line 2"),
        (&page, "generator mark"),
    ] {
        let before = std::fs::read(file).unwrap();
        let flag = if file.extension().unwrap() == "html" {
            "--report"
        } else {
            "--metrics"
        };
        let out = train_without_data(&["--save", s(&save), flag, s(file)]);
        assert_kept(&out, file, &before, holds);
        assert!(
            !save.exists() && !nowhere.exists(),
            "refused before any work"
        );
    }
    let before = std::fs::read(&page).unwrap();
    let out = twostage(&[
        "report",
        "--model",
        s(&dir.join("absent.safetensors")),
        "--out",
        s(&page),
    ]);
    assert_kept(&out, &page, &before, "generator mark");

    // --overwrite: the user says so; the run goes on (and here fails for want of data).
    let out = train_without_data(&["--save", s(&model), "--metrics", s(&dataset), "--overwrite"]);
    assert!(
        !stderr(&out).contains("refusing to replace"),
        "{}",
        stderr(&out)
    );
}

/// What twostage wrote, it replaces: a second identical run over the first one's checkpoint,
/// metrics and page succeeds.
#[test]
fn what_twostage_wrote_it_replaces() {
    let (dir, data) = tiny_data("hostile-rerun");
    let (model, metrics, page) = (
        dir.join("m.safetensors"),
        dir.join("m.jsonl"),
        dir.join("m.html"),
    );
    let extra = [
        "--no-verify",
        "--metrics",
        s(&metrics),
        "--report",
        s(&page),
    ];
    for _ in 0..2 {
        let out = twostage(&train_args(&data, ["1", "1"], &model, &extra));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = twostage(&model_args(
        "report",
        &model,
        &data,
        &["--no-verify", "--out", s(&page)],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Runs the binary with `args`, stdout on /dev/full.
fn to_full(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    bin()
        .args(args)
        .env("MNIST_DIR", "/nonexistent-twostage-mnist")
        .stdout(full)
        .output()
        .unwrap()
}

/// Defect 7: a command whose product is its text exits 1 naming stdout when the text cannot be
/// written; a closed pipe stays harmless; train, whose product is a file, finishes and says on
/// stderr that the console output was lost.
#[test]
fn write_errors_on_stdout_are_reported() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipping: no /dev/full");
        return;
    }
    let (dir, data) = tiny_data("hostile-full");
    let model = dir.join("m.safetensors");
    let out = to_full(&train_args(&data, ["1", "1"], &model, &["--no-verify"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("console output was lost"), "{err}");
    assert!(model.exists());
    let images = data.join("t10k-images-idx3-ubyte");
    let with_data = ["--data-dir", s(&data), "--no-verify"];
    let cases: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["train", "--help"],
        vec!["explain"],
        vec!["gradcheck", "--samples", "2"],
        vec!["inspect", s(&images)],
        [&["eval", "--model", s(&model)][..], &with_data].concat(),
        [
            &["predict", "--model", s(&model), "--index", "0"][..],
            &with_data,
        ]
        .concat(),
    ];
    for args in &cases {
        let out = to_full(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("stdout"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        // A closed pipe is the reader's choice: exit 0, quietly.
        let mut child = bin()
            .args(args)
            .env("MNIST_DIR", "/nonexistent-twostage-mnist")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} | closed: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("stdout"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// A PNG of `width × height` whose header is then patched to declare `declared` pixels a side.
fn png_declaring(pixels: &[u8], width: usize, height: usize, declared: u32) -> Vec<u8> {
    let mut png = twostage::report::image::encode_png(pixels, width, height, 1);
    // The IHDR chunk: length (4), "IHDR" (4), width, height, 5 more bytes, then its CRC.
    png[16..20].copy_from_slice(&declared.to_be_bytes());
    png[20..24].copy_from_slice(&declared.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    png
}

/// Runs the binary with `args`, failing the test if it runs past 20 s (a hang).
fn within_20s(args: &[&str]) -> Output {
    common::run_within(args, std::time::Duration::from_secs(20))
        .unwrap_or_else(|| panic!("{args:?} still running after 20 s"))
}

/// Defects 4, 5 and 6: every input bounded and checked before it is read: special files
/// refused up front (a FIFO would hang, /dev/zero never ends), a PNG's declared canvas capped
/// from its header, and a picture with no ink contrast refused with the reason.
#[test]
fn inputs_are_bounded_and_special_files_refused() {
    let (dir, data) = tiny_data("hostile-inputs");
    let model = dir.join("m.safetensors");
    let out = twostage(&train_args(&data, ["1", "1"], &model, &["--no-verify"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let fifo = dir.join("fifo");
    common::mkfifo(&fifo);
    let report = |metrics: &str| {
        within_20s(&[
            "report",
            "--model",
            s(&model),
            "--data-dir",
            s(&data),
            "--no-verify",
            "--metrics",
            metrics,
            "--out",
            s(&dir.join("r.html")),
        ])
    };
    let predict = |image: &str| within_20s(&["predict", "--model", s(&model), "--image", image]);
    for (special, kind) in [(s(&fifo), "FIFO"), ("/dev/zero", "character device")] {
        for (out, flag) in [
            (report(special), "--metrics"),
            (predict(special), "--image"),
        ] {
            assert_refused(&out, 1, &[flag, kind], &format!("{flag} {special}"));
        }
    }
    // A small file declaring a 100000 × 100000 canvas is refused from its header.
    let huge = dir.join("huge.png");
    std::fs::write(&huge, png_declaring(&[0u8; 64], 8, 8, 100_000)).unwrap();
    let out = predict(s(&huge));
    assert_refused(&out, 1, &["--image", "100000×100000"], "a huge canvas");
    // Flat grey, and faint noise around one grey, hold no stroke.
    let flat = dir.join("flat.png");
    let png = twostage::report::image::encode_png(&[0x80; 140 * 140], 140, 140, 1);
    std::fs::write(&flat, png).unwrap();
    let noise = dir.join("noise.png");
    let pixels: Vec<u8> = (0..140 * 140).map(|i| 200 + (i * 7 % 3) as u8).collect();
    std::fs::write(
        &noise,
        twostage::report::image::encode_png(&pixels, 140, 140, 1),
    )
    .unwrap();
    for file in [&flat, &noise] {
        let out = predict(s(file));
        assert_refused(&out, 1, &["no stroke"], &file.display().to_string());
    }
}

/// Defect 4: a gzip bomb of an images file (3 M images declared, 2.35 GB inflated, a few MB on
/// disk) is never inflated into memory: training checks its header against the labels first,
/// and `inspect` hashes it in constant memory. Run under a 1.2 GB address-space limit.
#[test]
fn an_idx_gzip_bomb_is_never_inflated_into_memory() {
    use std::io::Write as _;
    let (dir, data) = tiny_data("hostile-bomb");
    let images = data.join("train-images-idx3-ubyte");
    std::fs::remove_file(&images).unwrap();
    let n: u32 = 3_000_000;
    let bomb = data.join("train-images-idx3-ubyte.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&bomb).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&common::idx_u8(&[n, 28, 28], &[])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut left = u64::from(n) * 784;
    while left > 0 {
        let k = left.min(zeros.len() as u64) as usize;
        gz.write_all(&zeros[..k]).unwrap();
        left -= k as u64;
    }
    gz.finish().unwrap();
    let limited = |args: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 1200000 && exec {} {args}",
                env!("CARGO_BIN_EXE_twostage")
            ))
            .output()
            .unwrap()
    };
    let out = limited(&format!(
        "train --no-verify --threads 1 --data-dir {} --save {}",
        s(&data),
        s(&dir.join("m.safetensors"))
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("3000000") && err.contains("30"), "{err}");
    let out = limited(&format!("inspect {}", s(&bomb)));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("(3000000, 28, 28)"), "{text}");
}

/// Defect 3: gradcheck never calls a correct gradient WRONG: its batch is capped where the
/// finite differences are still sharp (32; at 200 a correct bias was marked WRONG), a batch
/// larger than the data is refused, not silently clamped, and `--samples` is bounded.
#[test]
fn gradcheck_is_bounded_and_never_cries_wolf() {
    let (_dir, data) = tiny_data("hostile-gradcheck");
    for (flag, value, says) in [
        ("--batch", "200", "from 1 to 32"),
        ("--batch", "10001", "from 1 to 32"),
        ("--samples", "10000000", "from 1 to 1000"),
    ] {
        let out = twostage(&["gradcheck", flag, value]);
        assert_refused(&out, 2, &[flag, says], &format!("{flag} {value}"));
    }
    // The tiny set has 20 test images.
    let out = twostage(&[
        "gradcheck",
        "--data-dir",
        s(&data),
        "--no-verify",
        "--batch",
        "21",
    ]);
    assert_refused(&out, 1, &["--batch", "(20)"], "--batch 21");
    // At the cap, on real MNIST, every correct gradient passes.
    let Some(mnist) = common::mnist_dir() else { return };
    for seed in ["0", "4"] {
        let out = twostage(&[
            "gradcheck",
            "--data-dir",
            s(&mnist),
            "--batch",
            "32",
            "--seed",
            seed,
        ]);
        assert!(
            out.status.success(),
            "seed {seed}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
