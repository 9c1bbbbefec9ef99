//! Shared test helpers: where the real MNIST and PyTorch's reference runs are, small data
//! builders, and (in `binary`, `chromium`) running the `twostage` binary and headless Chromium.
#![allow(dead_code)]

use std::path::PathBuf;

use ndarray::Array2;
use ndarray_rand::RandomExt;
use ndarray_rand::rand_distr::Uniform;
use twostage::Dims;
use twostage::nn::Dense;
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;

#[cfg(feature = "data")]
use twostage::data::mnist::{Mnist, Split, missing_files};

#[cfg(feature = "cli")]
mod binary;
#[cfg(feature = "cli")]
#[allow(unused_imports)] // not every test binary runs the CLI helpers
pub use binary::*;

#[cfg(feature = "report")]
mod chromium;
#[cfg(feature = "report")]
#[allow(unused_imports)] // only the page tests run Chromium
pub use chromium::*;

/// `assert_matches!(value => pattern)` fails, showing the value, unless `value` matches
/// `pattern` (std's `assert_matches!` is not stable yet); an optional message after the pattern
/// says which case failed. The `=>` keeps rustfmt from spreading a pattern over many lines.
#[allow(unused_macros)] // not every test binary matches errors
macro_rules! assert_matches {
    ($value:expr => $pattern:pat $(if $guard:expr)? $(, $($message:tt)+)?) => {
        match &$value {
            $pattern $(if $guard)? => {}
            other => panic!(
                "expected {}, found {other:?}{}",
                stringify!($pattern),
                String::new() $(+ ": " + &format!($($message)+))?
            ),
        }
    };
}
#[allow(unused_imports)] // not every test binary matches errors
pub(crate) use assert_matches;

/// True when running under CI (`CI=true`), where a missing data file is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

#[cfg(feature = "data")]
/// `var` names a directory holding all four files of a set; `None` (skip, with a message) when
/// unset or incomplete, a panic under CI.
fn data_dir(var: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os(var).map(PathBuf::from) else {
        assert!(!in_ci(), "CI=true but {var} is not set");
        eprintln!("skipping: {var} not set");
        return None;
    };
    let missing = missing_files(&dir);
    if !missing.is_empty() {
        assert!(!in_ci(), "CI=true but {} lacks {missing:?}", dir.display());
        eprintln!("skipping: {} lacks {missing:?}", dir.display());
        return None;
    }
    Some(dir)
}

#[cfg(feature = "data")]
/// `MNIST_DIR` holding all four files; `None` (skip, with a message) when unset, a panic under CI.
pub fn mnist_dir() -> Option<PathBuf> {
    data_dir("MNIST_DIR")
}

#[cfg(feature = "data")]
/// `FASHION_MNIST_DIR` holding all four Fashion-MNIST files; `None` (skip, with a message) when
/// unset, a panic under CI.
pub fn fashion_mnist_dir() -> Option<PathBuf> {
    data_dir("FASHION_MNIST_DIR")
}

#[cfg(feature = "data")]
/// The MNIST training set, when available.
pub fn mnist_train() -> Option<Mnist> {
    let dir = mnist_dir()?;
    Some(Mnist::load(&dir, Split::Train).expect("MNIST_DIR holds the real MNIST"))
}

/// Every `*.safetensors` in `TORCH_REFERENCE_DIR`; `None` (skip) when unset, a panic under CI.
pub fn reference_files() -> Option<Vec<PathBuf>> {
    let Some(dir) = std::env::var_os("TORCH_REFERENCE_DIR").map(PathBuf::from) else {
        assert!(!in_ci(), "CI=true but TORCH_REFERENCE_DIR is not set");
        eprintln!("skipping: TORCH_REFERENCE_DIR not set");
        return None;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("TORCH_REFERENCE_DIR {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        assert!(
            !in_ci(),
            "CI=true but {} holds no .safetensors",
            dir.display()
        );
        eprintln!("skipping: no reference files in {}", dir.display());
        return None;
    }
    Some(files)
}

/// A fresh, empty directory in the temp dir, unique to this process and `tag`.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twostage-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the temp dir is writable");
    dir
}

/// A `(rows, cols)` matrix with entries from `U(−1, 1)`.
pub fn random(shape: (usize, usize), rng: &mut SmallRng) -> Array2<f64> {
    Array2::random_using(shape, Uniform::new(-1.0, 1.0).expect("a valid range"), rng)
}

/// The widths of the small network the gradient and layer tests use: 12 → 10 → 8 → 6 → 4.
pub const SMALL: Dims = Dims {
    input: 12,
    hidden1: 10,
    features: 8,
    hidden2: 6,
    classes: 4,
};

/// The message of the panic `f` raises; fails the test if it does not panic.
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("misuse must panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The bytes of an uncompressed IDX file: the magic (two zeros, `dtype`, the number of
/// dimensions), each dimension big-endian, then `data`.
pub fn idx_of(dtype: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, dtype, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// The bytes of an uncompressed IDX file of u8 data.
pub fn idx_u8(dims: &[u32], data: &[u8]) -> Vec<u8> {
    idx_of(0x08, dims, data)
}

/// A tiny custom IDX set (30 training and 20 test images of two classes) in `dir`.
pub fn tiny_set(dir: &std::path::Path) {
    let image = |i: usize| -> Vec<u8> {
        (0..784)
            .map(|p| if (p / 28 + i) % 7 < 3 + i % 2 { 255 } else { 0 })
            .collect()
    };
    for (prefix, n) in [("train", 30usize), ("t10k", 20)] {
        let pixels: Vec<u8> = (0..n).flat_map(image).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx_u8(&[n as u32, 28, 28], &pixels),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx_u8(&[n as u32], &labels),
        )
        .unwrap();
    }
}

/// A rayon pool of exactly `threads` threads, whatever the machine.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a small pool")
}

/// A seeded f64 `Dense(inputs → outputs)` with a random batch `x` of `batch` rows and a random
/// `(batch, outputs)` matrix for its outputs' gradient (or weighting), drawn in that order; the
/// generator is returned for what the test draws next.
pub fn dense_case(
    seed: u64,
    (batch, inputs, outputs): (usize, usize, usize),
) -> (Dense<f64>, Array2<f64>, Array2<f64>, SmallRng) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let dense = Dense::new(inputs, outputs, &mut rng);
    let x = random((batch, inputs), &mut rng);
    let dy = random((batch, outputs), &mut rng);
    (dense, x, dy, rng)
}
