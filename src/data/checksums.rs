//! The published SHA-256 of the four files of each known dataset (MNIST, Fashion-MNIST), and a
//! reader that hashes bytes as they pass.
//!
//! The hashes are of the *uncompressed* IDX files: the gzip bytes differ from mirror to mirror,
//! the content does not. Hashing the decompressed stream while parsing it means no second pass.

use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// One of the four canonical files of a known dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFile {
    /// The dataset it belongs to, as messages name it: `MNIST`, `Fashion-MNIST`.
    pub dataset: &'static str,
    /// File name of the uncompressed file, e.g. `train-images-idx3-ubyte`.
    pub name: &'static str,
    /// SHA-256 of the uncompressed content, lower-case hex.
    pub sha256: &'static str,
    /// The published dimensions (all four files are u8): a header declaring others is not this
    /// file, and is refused before its data is read.
    pub dims: &'static [u32],
}

/// The four MNIST files with their published SHA-256.
pub const MNIST_FILES: [KnownFile; 4] = four_files(
    "MNIST",
    [
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ],
);

/// The four Fashion-MNIST files (zalando), with the SHA-256 of their uncompressed content. Same
/// names and dimensions as MNIST's, other content.
pub const FASHION_MNIST_FILES: [KnownFile; 4] = four_files(
    "Fashion-MNIST",
    [
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ],
);

/// The four files every MNIST-shaped dataset has, in this order: names and dimensions.
const LAYOUT: [(&str, &[u32]); 4] = [
    ("train-images-idx3-ubyte", &[60000, 28, 28]),
    ("train-labels-idx1-ubyte", &[60000]),
    ("t10k-images-idx3-ubyte", &[10000, 28, 28]),
    ("t10k-labels-idx1-ubyte", &[10000]),
];

/// `dataset`'s four files of [`LAYOUT`], with their SHA-256 `hashes` in the same order.
const fn four_files(dataset: &'static str, hashes: [&'static str; 4]) -> [KnownFile; 4] {
    const fn file(dataset: &'static str, i: usize, sha256: &'static str) -> KnownFile {
        let (name, dims) = LAYOUT[i];
        KnownFile {
            dataset,
            name,
            sha256,
            dims,
        }
    }
    [
        file(dataset, 0, hashes[0]),
        file(dataset, 1, hashes[1]),
        file(dataset, 2, hashes[2]),
        file(dataset, 3, hashes[3]),
    ]
}

/// The MNIST file called `name` (without `.gz`), if it is one.
pub fn by_name(name: &str) -> Option<&'static KnownFile> {
    MNIST_FILES.iter().find(|f| f.name == name)
}

/// The file of a known dataset (MNIST or Fashion-MNIST) whose published SHA-256 is `hex`, if any.
pub fn by_hash(hex: &str) -> Option<&'static KnownFile> {
    MNIST_FILES
        .iter()
        .chain(FASHION_MNIST_FILES.iter())
        .find(|f| f.sha256 == hex)
}

/// The MNIST file that `path` is named after (`<name>` or `<name>.gz`), if any.
pub fn by_file_name(path: &Path) -> Option<&'static KnownFile> {
    let file_name = path.file_name()?.to_str()?;
    let stem = file_name.strip_suffix(".gz").unwrap_or(file_name);
    MNIST_FILES.iter().find(|f| f.name == stem)
}

/// Lower-case hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Wraps a reader and feeds every byte read through SHA-256.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    /// Starts hashing what `inner` yields.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The SHA-256 of every byte read so far.
    pub fn finish(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
