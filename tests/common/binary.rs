//! Running the `twostage` binary and reading what it said.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The `twostage` binary, ready for arguments.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_twostage"))
}

/// Runs the `twostage` binary with `args` and the environment variables `env`.
pub fn twostage_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = bin();
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

/// Runs the `twostage` binary with `args`.
pub fn twostage(args: &[&str]) -> Output {
    twostage_env(args, &[])
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// What the command wrote to stdout.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What the command wrote to stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The arguments of `command` on the data in `data`, then `extra`.
pub fn data_args<'a>(command: &'a str, data: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    [&[command, "--data-dir", s(data)][..], extra].concat()
}

/// The arguments of `twostage train` on `data` for `epochs` (stage 1, stage 2) saving to
/// `save`, then `extra`.
pub fn train_args<'a>(
    data: &'a Path,
    epochs: [&'a str; 2],
    save: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--data-dir",
        s(data),
        "--stage1-epochs",
        epochs[0],
        "--stage2-epochs",
        epochs[1],
        "--save",
        s(save),
    ];
    args.extend_from_slice(extra);
    args
}

/// A fresh temp dir (see `temp_dir`) holding `data/`, the tiny custom set of `tiny_set`;
/// returns both.
pub fn tiny_data(tag: &str) -> (PathBuf, PathBuf) {
    let dir = super::temp_dir(tag);
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    super::tiny_set(&data);
    (dir, data)
}

/// Fails, naming `case` and showing stderr, unless the command exited with `code` without a
/// panic and its stderr holds every one of `needles`.
pub fn assert_refused(out: &Output, code: i32, needles: &[&str], case: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{case}: {err}");
    assert!(!err.contains("panicked"), "{case}: {err}");
    for needle in needles {
        assert!(
            err.contains(needle),
            "{case}: expected {needle:?} in: {err}"
        );
    }
}

/// Makes a FIFO at `path` (a special file that would hang a reader).
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// The arguments of `command` (eval, predict, report…) on the checkpoint `model` and the data in
/// `data`, then `extra`.
pub fn model_args<'a>(
    command: &'a str,
    model: &'a Path,
    data: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![command, "--model", s(model), "--data-dir", s(data)];
    args.extend_from_slice(extra);
    args
}

/// Runs the binary with `args` and no stdin, killing it after `limit`: its output, `None` on a
/// hang. Its stdout and stderr go through files, so a talkative run never blocks on a full pipe.
pub fn run_within(args: &[&str], limit: Duration) -> Option<Output> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let file = |stream: &str| {
        let name = format!("twostage-run-{}-{run}.{stream}", std::process::id());
        std::env::temp_dir().join(name)
    };
    let (out, err) = (file("out"), file("err"));
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let take = |path: &Path| {
        let bytes = std::fs::read(path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        bytes
    };
    Some(Output {
        status,
        stdout: take(&out),
        stderr: take(&err),
    })
}
