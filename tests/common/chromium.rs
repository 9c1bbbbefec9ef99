//! Headless Chromium for the page tests: finding it, running it, reading its screenshot.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use twostage::report::image::{Decoded, decode_png};

/// A Chromium binary: `$CHROMIUM`, else the Debian packages' names on `PATH` or in
/// /usr/lib/chromium.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let names = [
        "chromium-headless-shell",
        "chromium",
        "chromium-browser",
        "google-chrome",
    ];
    let on_path = names
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)));
    let packaged = [
        "/usr/lib/chromium/chromium-headless-shell",
        "/usr/lib/chromium/chromium",
    ]
    .map(PathBuf::from);
    on_path.chain(packaged).find(|p| p.is_file())
}

/// Runs headless Chromium with a fresh profile in `dir` on `url` with `extra` flags.
pub fn run_chromium(binary: &Path, dir: &Path, extra: &[&str], url: &str) -> Output {
    let profile = dir.join(format!("profile-{}", extra.len()));
    let _ = std::fs::remove_dir_all(&profile);
    let mut command = Command::new(binary);
    command.args([
        "--no-sandbox",
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &format!("--user-data-dir={}", profile.display()),
    ]);
    command.args(extra).arg(url);
    command.output().expect("chromium runs")
}

/// The screenshot Chromium (run `out`) wrote to `shot`, and how many distinct colours it holds.
pub fn screenshot(shot: &Path, out: &Output) -> (Decoded, usize) {
    let bytes = std::fs::read(shot).unwrap_or_else(|e| {
        let err = String::from_utf8_lossy(&out.stderr);
        panic!("no screenshot ({e}): {err}")
    });
    let image = decode_png(&bytes).expect("the screenshot is a PNG");
    let mut colours: Vec<&[u8]> = image.pixels.chunks(image.channels).collect();
    colours.sort();
    colours.dedup();
    let count = colours.len();
    (image, count)
}
