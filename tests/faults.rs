#![cfg(feature = "cli")]
//! Issue 9 through the binary, as a hostile user would try it: nothing a user owns is ever
//! lost, replaced or silently wrong. One test per class; each fails on the code before the fix.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use safetensors::tensor::{Dtype, TensorView};
use twostage::data::mnist::FILE_NAMES;
use twostage::{Dims, Part, TwoStageNetwork};

use common::{assert_refused, bin, model_args, s, stderr, train_args, twostage};

/// The arguments of a tiny training run on the real MNIST in `data`.
fn tiny_run<'a>(data: &'a Path, save: &'a Path) -> Vec<&'a str> {
    train_args(
        data,
        ["1", "1"],
        save,
        &["--train-limit", "96", "--threads", "1"],
    )
}

/// Runs the binary with `args`, its stdout and stderr closed before it prints anything.
fn with_closed_pipes(args: &[&str]) -> std::process::ExitStatus {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().unwrap()
}

/// A copy of the real MNIST files in a fresh directory (tests that might write there must not
/// touch the shared copy).
fn copy_of_mnist(mnist: &Path, tag: &str) -> PathBuf {
    let dir = common::temp_dir(tag);
    for name in FILE_NAMES {
        let file = format!("{name}.gz");
        std::fs::copy(mnist.join(&file), dir.join(&file)).expect("copy MNIST");
    }
    dir
}

/// A checkpoint of the whole network (seed 0) with `edit` applied to its tensors first.
fn write_checkpoint(path: &Path, edit: impl Fn(&str, &mut Vec<f32>)) {
    let mut rng = <twostage::rand::rngs::SmallRng as twostage::rand::SeedableRng>::seed_from_u64(0);
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut rng);
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    use twostage::nn::Parameters;
    network.parts(&Part::ALL).visit_params(&mut |name, p| {
        let mut values: Vec<f32> = p.value.iter().copied().collect();
        edit(name, &mut values);
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((name.to_string(), p.value.shape().to_vec(), bytes));
    });
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .map(|(n, shape, b)| {
            (
                n.as_str(),
                TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
            )
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

/// Class 3: a closed stdout never panics and never costs the checkpoint.
#[test]
fn a_closed_pipe_never_costs_the_run() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("pipe");
    let save = dir.join("m.safetensors");
    // `twostage train … | head -1`
    let mut child = bin()
        .args(tiny_run(&mnist, &save))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim_end(), "Training Stage 1 (Feature Extraction)");
    // The reader is gone now.
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    assert!(save.is_file(), "the checkpoint was saved");

    // eval and predict with stdout closed before they print anything, and stderr closed too.
    for args in [
        model_args("eval", &save, &mnist, &[]),
        model_args("predict", &save, &mnist, &["--index", "0"]),
    ] {
        let status = with_closed_pipes(&args);
        assert!(status.success(), "{args:?} with closed pipes: {status}");
    }
    // download, whose log goes to stderr: every file is present and verified, and says so.
    let data = copy_of_mnist(&mnist, "pipe-download");
    let download = [
        "download",
        "--data-dir",
        s(&data),
        "--mirror",
        "http://127.0.0.1:9/",
    ];
    assert!(
        with_closed_pipes(&download).success(),
        "download with closed pipes"
    );
    // A failing command with a closed stderr still reports through its exit status: 1, not 101.
    let mut child = bin()
        .args(model_args(
            "eval",
            Path::new("/no/such.safetensors"),
            &mnist,
            &[],
        ))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

/// Class 2: an output is never another output or an input; refused before any work.
#[test]
fn outputs_never_land_on_inputs_or_each_other() {
    let Some(mnist) = common::mnist_dir() else { return };
    let data = copy_of_mnist(&mnist, "same-path-data");
    let dir = common::temp_dir("same-path");
    let init = dir.join("init.safetensors");
    write_checkpoint(&init, |_, _| {});
    let init_bytes = std::fs::read(&init).unwrap();
    let labels = data.join("t10k-labels-idx1-ubyte.gz");
    let labels_bytes = std::fs::read(&labels).unwrap();
    let x = dir.join("X");
    let link = dir.join("link.safetensors");
    std::os::unix::fs::symlink(&init, &link).unwrap();
    let dotted = format!(
        "{}/../{}/init.safetensors",
        s(&dir),
        dir.file_name().unwrap().to_str().unwrap()
    );

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--save", s(&x), "--metrics", s(&x)], "--metrics"),
        (vec!["--init", s(&init), "--metrics", s(&init)], "input"),
        (vec!["--init", s(&init), "--save", &dotted], "input"),
        (vec!["--init", s(&init), "--save", s(&link)], "input"),
        (vec!["--save", s(&labels)], "input"),
    ];
    for (extra, needle) in &cases {
        let mut args = vec!["train", "--data-dir", s(&data), "--train-limit", "64"];
        if !extra.contains(&"--save") {
            args.extend(["--save", s(&x)]);
        }
        args.extend(extra.iter().copied());
        let start = Instant::now();
        let out = twostage(&args);
        assert_refused(&out, 1, &[needle], &format!("{extra:?}"));
        assert!(
            !stderr(&out).contains("Training"),
            "{extra:?}: refused before any work"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{extra:?}: no training ran"
        );
    }
    assert!(!x.exists(), "nothing was written to X");
    assert_eq!(std::fs::read(&init).unwrap(), init_bytes);
    assert_eq!(std::fs::read(&labels).unwrap(), labels_bytes);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// Class 4: what the final rename will do is checked before training.
#[test]
fn save_paths_are_checked_before_training() {
    let dir = common::temp_dir("save-path");
    let nowhere = dir.join("no-data");
    let fifo = dir.join("fifo");
    common::mkfifo(&fifo);
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "my notes\n").unwrap();
    let newdir = format!("{}/newdir/", s(&dir));
    let missing = dir.join("missing-dir").join("m.safetensors");
    let dangling = dir.join("dangling");
    std::os::unix::fs::symlink(dir.join("nothing-here"), &dangling).unwrap();
    let cases: Vec<(&str, &str)> = vec![
        (&newdir, "names a directory"),
        (s(&missing), "does not exist"),
        (s(&fifo), "FIFO"),
        ("/dev/null", "device"),
        (s(&dir), "directory"),
        (s(&notes), "twostage did not write"),
        (s(&dangling), "does not exist"),
    ];
    for (save, needle) in cases {
        let out = twostage(&["train", "--data-dir", s(&nowhere), "--save", save]);
        assert_refused(&out, 1, &[needle, "--save"], save);
        assert!(!nowhere.exists(), "{save}: no work started");
    }
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes\n");
    assert!(!dir.join("newdir").exists() && !dir.join("missing-dir").exists());
    let metrics_out = twostage(&[
        "train",
        "--data-dir",
        s(&nowhere),
        "--save",
        s(&dir.join("ok.safetensors")),
        "--metrics",
        s(&notes),
    ]);
    assert_refused(
        &metrics_out,
        1,
        &["twostage did not write"],
        "--metrics notes.txt",
    );
}

/// Class 4: `--save` through a symlink writes the target and keeps the link.
#[test]
fn save_through_a_symlink_writes_its_target() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("symlink");
    let target = dir.join("real.safetensors");
    let link = dir.join("link.safetensors");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    write_checkpoint(&target, |_, _| {});
    let before = std::fs::read(&target).unwrap();
    // The target holds no twostage metadata: replacing it takes --overwrite.
    let mut args = tiny_run(&mnist, &link);
    args.push("--overwrite");
    let out = twostage(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert_ne!(
        std::fs::read(&target).unwrap(),
        before,
        "the target was written"
    );
}

/// Class 5: stale temporary files of dead processes are removed by the next run; a live
/// process's are left alone.
#[test]
fn stale_temporary_files_are_swept() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("stale");
    // A pid that certainly ran and is gone: a child we waited for.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = dir.join(format!(".m.safetensors.tmp-{dead}"));
    let live = dir.join(format!(".m.safetensors.tmp-{}", std::process::id()));
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    std::fs::write(&live, b"someone else's write in progress").unwrap();
    let out = twostage(&tiny_run(&mnist, &dir.join("m.safetensors")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists(), "the dead run's file is gone");
    assert!(live.exists(), "a live process's file is kept");
    assert!(stderr(&out).contains("removed"), "{}", stderr(&out));
}

/// Class 5: SIGTERM during a download removes the partial file and exits 143.
#[test]
fn sigterm_removes_temporary_files() {
    signal_removes_temporary_files("TERM", 15);
}

/// A closed terminal (SIGHUP) or Ctrl-\\ (SIGQUIT) is treated as SIGTERM: nothing left behind.
#[test]
fn sighup_and_sigquit_remove_temporary_files() {
    signal_removes_temporary_files("HUP", 1);
    signal_removes_temporary_files("QUIT", 3);
}

/// Sends `signal` (number `number`) to a download in progress: the partial file is removed and
/// the exit status is 128 + `number`.
fn signal_removes_temporary_files(signal: &str, number: i32) {
    // A mirror that sends a header and then one byte a second.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n",
                );
                for _ in 0..120 {
                    if stream.write_all(b"\x1f").is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            });
        }
    });
    let dir = common::temp_dir(&format!("sig{signal}"));
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    let mut child = bin()
        .args(["download", "--data-dir", s(&data), "--mirror", &base])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let part = loop {
        let found = std::fs::read_dir(&data)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().contains(".part-"));
        if let Some(entry) = found {
            break entry.path();
        }
        assert!(Instant::now() < deadline, "no partial download appeared");
        std::thread::sleep(Duration::from_millis(50));
    };
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(128 + number),
        "exit status 128 + SIG{signal}"
    );
    assert!(!part.exists(), "{} was removed", part.display());
    let left: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "nothing left: {left:?}");
}

/// Class 6: rates that are not normal f32 are flag errors; non-finite weights are refused on
/// every load, naming the tensor; finite weights whose outputs overflow are an error, not
/// "predicted 0".
#[test]
fn non_finite_weights_are_never_used_or_saved() {
    let dir = common::temp_dir("nonfinite");
    let nowhere = dir.join("no-data");
    for (flag, value) in [
        ("--lr", "1e39"),
        ("--lr", "1e-320"),
        ("--finetune-lr", "1e39"),
        ("--lr", "-inf"),
    ] {
        let out = twostage(&["train", "--data-dir", s(&nowhere), flag, value]);
        // Refused by the flag's own parser (clap's usage error, exit 2), naming the range.
        assert_refused(&out, 2, &[flag, "positive number"], value);
    }
    let inf = dir.join("inf.safetensors");
    write_checkpoint(&inf, |name, v| {
        if name == "stage2.2.bias" {
            v[3] = f32::INFINITY;
        }
    });
    let nan = dir.join("nan.safetensors");
    write_checkpoint(&nan, |name, v| {
        if name == "stage1.0.weight" {
            v[17] = f32::NAN;
        }
    });
    let huge = dir.join("huge.safetensors");
    // Every weight and bias 3e38: finite, but the logits overflow.
    write_checkpoint(&huge, |_, v| v.iter_mut().for_each(|x| *x = 3e38));
    let out = twostage(&[
        "train",
        "--data-dir",
        s(&nowhere),
        "--init",
        s(&inf),
        "--save",
        s(&dir.join("o.safetensors")),
    ]);
    assert_refused(
        &out,
        1,
        &["\"stage2.2.bias\" holds inf at index 3"],
        "--init inf",
    );
    let Some(mnist) = common::mnist_dir() else { return };
    for command in [vec!["eval"], vec!["predict", "--index", "0"]] {
        let mut args = command.clone();
        args.extend(["--data-dir", s(&mnist), "--model", s(&nan)]);
        assert_refused(
            &twostage(&args),
            1,
            &["\"stage1.0.weight\" holds NaN at index 17"],
            "nan",
        );
        let mut args = command.clone();
        args.extend(["--data-dir", s(&mnist), "--model", s(&huge)]);
        assert_refused(&twostage(&args), 1, &["not finite"], "3e38");
    }
}

/// Writes an IDX set into `dir`: `train` training and `test` test images of 28 × 28, each
/// image a ramp of grey levels and its label its index.
fn write_set(dir: &Path, train: u8, test: u8) {
    for (prefix, n) in [("train", train), ("t10k", test)] {
        let images: Vec<u8> = (0..usize::from(n) * 784).map(|i| (i % 251) as u8).collect();
        let labels: Vec<u8> = (0..n).collect();
        let (images_file, labels_file) = (
            format!("{prefix}-images-idx3-ubyte"),
            format!("{prefix}-labels-idx1-ubyte"),
        );
        let n = u32::from(n);
        std::fs::write(dir.join(images_file), common::idx_u8(&[n, 28, 28], &images)).unwrap();
        std::fs::write(dir.join(labels_file), common::idx_u8(&[n], &labels)).unwrap();
    }
}

/// Class 7: an empty training or test set is an error naming the file, not `Loss: 0.0000`.
#[test]
fn empty_sets_are_errors_naming_the_file() {
    let dir = common::temp_dir("empty");
    let save = dir.join("m.safetensors");
    let train = || {
        twostage(&[
            "train",
            "--data-dir",
            s(&dir),
            "--no-verify",
            "--save",
            s(&save),
        ])
    };
    // An empty training set beside a small test set, then the other way round: refused
    // before any checkpoint is written.
    for (train_n, test_n, file, case) in [
        (0, 10, "train-images-idx3-ubyte", "empty train"),
        (10, 0, "t10k-images-idx3-ubyte", "empty test"),
    ] {
        write_set(&dir, train_n, test_n);
        let needle = format!("{file}: holds no images");
        assert_refused(&train(), 1, &[needle.as_str()], case);
        assert!(!save.exists(), "{case}: a checkpoint was written");
    }
    write_checkpoint(&save, |_, _| {});
    let out = twostage(&model_args("eval", &save, &dir, &["--no-verify"]));
    assert_refused(&out, 1, &["holds no images"], "eval on an empty test set");
}

/// Class 1: a directory holding another dataset is never completed with, or replaced by,
/// MNIST; a missing file is an error naming it.
#[test]
fn a_custom_dataset_is_never_replaced() {
    let fashion = std::env::var_os("FASHION_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/fashion-mnist"));
    if !fashion.join("train-images-idx3-ubyte.gz").is_file() {
        assert!(
            !common::in_ci(),
            "CI=true but no Fashion-MNIST at {}",
            fashion.display()
        );
        eprintln!("skipping: no Fashion-MNIST at {}", fashion.display());
        return;
    }
    let dir = common::temp_dir("custom");
    // Three of the four Fashion-MNIST files: the test labels are missing.
    for name in &FILE_NAMES[..3] {
        let file = format!("{name}.gz");
        std::fs::copy(fashion.join(&file), dir.join(&file)).unwrap();
    }
    let before: Vec<Vec<u8>> = FILE_NAMES[..3]
        .iter()
        .map(|n| std::fs::read(dir.join(format!("{n}.gz"))).unwrap())
        .collect();
    let save = dir.join("m.safetensors");
    for verify in [false, true] {
        let mut args = vec!["train", "--data-dir", s(&dir), "--save", s(&save)];
        if !verify {
            args.push("--no-verify");
        }
        let out = twostage(&args);
        assert_refused(
            &out,
            1,
            &["t10k-labels-idx1-ubyte(.gz) is missing"],
            &format!("verify={verify}"),
        );
        for (name, bytes) in FILE_NAMES[..3].iter().zip(&before) {
            assert_eq!(
                &std::fs::read(dir.join(format!("{name}.gz"))).unwrap(),
                bytes,
                "{name} untouched"
            );
        }
        assert!(!save.exists());
    }
}

/// Checkpoint size bombs are refused before they are read: `/dev/zero`, a huge header, a file
/// far larger than any checkpoint.
#[test]
fn checkpoint_size_bombs_are_refused_up_front() {
    let dir = common::temp_dir("bombs");
    let nowhere = dir.join("no-data");
    let header = dir.join("header.safetensors");
    std::fs::write(&header, (3u64 << 30).to_le_bytes()).unwrap();
    let big = dir.join("big.safetensors");
    {
        let file = std::fs::File::create(&big).unwrap();
        let head = b"{\"__metadata__\":{}}";
        let mut bytes = (head.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(head);
        (&file).write_all(&bytes).unwrap();
        file.set_len(3 << 30).unwrap(); // sparse: no disk used
    }
    for (model, needle) in [
        ("/dev/zero", "not a regular file"),
        (s(&header), "header"),
        (s(&big), "at most"),
    ] {
        let start = Instant::now();
        let out = twostage(&["eval", "--data-dir", s(&nowhere), "--model", model]);
        assert_refused(&out, 1, &[needle], model);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{model}: refused without reading it"
        );
    }
}

/// Unhelpful messages: negative numbers name their flag; `--data-dir` on a file says so;
/// divergence names the learning rate that was used.
#[test]
fn messages_name_the_flag_at_fault() {
    let dir = common::temp_dir("messages");
    let nowhere = dir.join("no-data");
    let file = dir.join("file");
    std::fs::write(&file, "x").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["train", "--batch-size", "-1"], "--batch-size"),
        (vec!["train", "--stage1-epochs", "-2"], "--stage1-epochs"),
        (vec!["predict", "--model", "m", "--index", "-1"], "--index"),
        (vec!["train", "--data-dir", s(&file)], "--data-dir"),
        (vec!["download", "--file-deadline", "-5"], "--file-deadline"),
    ];
    for (args, flag) in cases {
        let mut args = args.clone();
        if !args.contains(&"--data-dir") {
            args.extend(["--data-dir", s(&nowhere)]);
        }
        let out = twostage(&args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
    }
    let Some(mnist) = common::mnist_dir() else { return };
    let out = twostage(&[
        "train",
        "--data-dir",
        s(&mnist),
        "--train-limit",
        "320",
        "--stage1-epochs",
        "0",
        "--stage2-epochs",
        "1",
        "--finetune-epochs",
        "1",
        "--finetune-lr",
        "1e30",
        "--save",
        s(&dir.join("never.safetensors")),
    ]);
    assert_refused(&out, 1, &["--finetune-lr"], "finetune divergence");
    assert!(!stderr(&out).contains("smaller --lr"), "{}", stderr(&out));
}

/// Class 8: `--threads 1000` finishes promptly: the pool is capped at the cores the process may
/// use, with a warning, and the answers are those of any other thread count.
#[test]
fn a_huge_thread_count_is_capped_and_finishes() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("threads-1000");
    let (huge, one) = (dir.join("huge.safetensors"), dir.join("one.safetensors"));
    let start = Instant::now();
    let mut args = tiny_run(&mnist, &huge);
    let at = args.iter().position(|a| *a == "--threads").unwrap();
    args[at + 1] = "1000";
    let out = twostage(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "--threads 1000 took {:?}",
        start.elapsed()
    );
    assert!(
        stderr(&out).contains("--threads 1000 is more than the"),
        "{}",
        stderr(&out)
    );
    let out = twostage(&tiny_run(&mnist, &one));
    assert!(out.status.success());
    assert_eq!(std::fs::read(&huge).unwrap(), std::fs::read(&one).unwrap());
}
