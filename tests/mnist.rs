#![cfg(feature = "data")]
//! MNIST loading: the real files (from `MNIST_DIR`) and small crafted sets in temp dirs.

mod common;

use std::io::Write as _;
use std::path::Path;

use twostage::data::DataError;
use twostage::data::mnist::{FILE_NAMES, Mnist, PIXELS, Split, files_present, missing_files};

use common::assert_matches;
use common::idx_u8 as idx_bytes;

/// Writes an uncompressed training set of `images` images and the given labels into `dir`.
fn write_set(dir: &Path, images: u32, labels: &[u8]) {
    let pixels: Vec<u8> = (0..images as usize * PIXELS)
        .map(|i| (i % 251) as u8)
        .collect();
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        idx_bytes(&[images, 28, 28], &pixels),
    )
    .unwrap();
    std::fs::write(
        dir.join("train-labels-idx1-ubyte"),
        idx_bytes(&[labels.len() as u32], labels),
    )
    .unwrap();
}

#[test]
fn real_mnist_loads_and_verifies() {
    let Some(dir) = common::mnist_dir() else { return };
    assert!(files_present(&dir));
    for (split, count) in [(Split::Train, 60000), (Split::Test, 10000)] {
        let set = Mnist::load(&dir, split).unwrap();
        assert_eq!(set.len(), count);
        assert_eq!(set.images.len(), count * PIXELS);
        assert_eq!(set.labels.len(), count);
        assert!(set.labels.iter().all(|&l| l <= 9));
        // Every digit occurs, and images are not blank.
        for digit in 0..10 {
            assert!(set.labels.contains(&digit));
        }
        assert!(set.image(0).iter().any(|&p| p > 0));
    }
    let train = Mnist::load_any(&dir, Split::Train).unwrap();
    assert_eq!(train.label(0), 5, "the first MNIST training digit is a 5");
}

#[test]
fn inspect_recognises_real_files() {
    let Some(dir) = common::mnist_dir() else { return };
    for name in FILE_NAMES {
        let path = twostage::data::mnist::find_file(&dir, name).unwrap();
        let text = twostage::data::inspect(&path).unwrap();
        assert!(
            text.contains(&format!("matches the published SHA-256 of MNIST {name}")),
            "{text}"
        );
    }
}

#[test]
fn crafted_set_loads_without_verify_and_fails_with_it() {
    let dir = common::temp_dir("crafted");
    write_set(&dir, 3, &[0, 9, 4]);
    let set = Mnist::load_any(&dir, Split::Train).unwrap();
    assert_eq!((set.len(), set.labels.clone()), (3, vec![0, 9, 4]));
    assert_eq!(set.image(1)[0], (PIXELS % 251) as u8);

    // Verifying: the header already shows it is not MNIST.
    let e = Mnist::load(&dir, Split::Train).unwrap_err();
    assert_matches!(e => DataError::NotMnistHeader { .. });
    assert!(e.to_string().contains("nothing more was read"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();

    // The published dimensions but other content: the checksum tells.
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("crafted-labels");
    let images = twostage::data::mnist::find_file(&mnist, "t10k-images-idx3-ubyte").unwrap();
    let labels = dir.join("t10k-labels-idx1-ubyte");
    let digits: Vec<u8> = (0..10000).map(|i| (i % 10) as u8).collect();
    std::fs::write(&labels, idx_bytes(&[10000], &digits)).unwrap();
    assert_eq!(
        Mnist::from_files_of(&images, &labels, None).unwrap().len(),
        10000
    );
    let e = Mnist::from_files(&images, &labels).unwrap_err();
    assert_matches!(e => DataError::ChecksumMismatch { .. });
    let message = e.to_string();
    assert!(
        message.contains("t10k-labels-idx1-ubyte: SHA-256 of the uncompressed content is"),
        "{message}"
    );
    assert!(
        message
            .contains("expected ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
        "{message}"
    );
    // The hint "pass --no-verify" is the command line's.
    assert!(!message.contains("--no-verify"), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// MNIST has ten classes: a label 10 in files verified as MNIST is refused, naming file and
/// index (the check runs on the verified labels; here on crafted ones). Unverified, the same
/// files are a custom set of eleven classes.
#[test]
fn label_ten_is_refused_with_file_and_index() {
    let dir = common::temp_dir("label10");
    write_set(&dir, 7, &[0, 1, 2, 3, 4, 10, 6]);
    let labels = dir.join("train-labels-idx1-ubyte");
    let e = twostage::data::mnist::check_labels(&[0, 1, 2, 3, 4, 10, 6], 10, "MNIST", &labels)
        .unwrap_err();
    assert_matches!(e => DataError::BadLabel { index: 5, label: 10, .. });
    assert_eq!(
        e.to_string(),
        format!(
            "{}: label 10 at index 5 is out of range: MNIST has 10 classes (labels 0-9)",
            labels.display()
        )
    );
    let custom = Mnist::load_any(&dir, Split::Train).unwrap();
    assert_eq!(custom.class_count(), 11);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn count_mismatch_is_refused() {
    let dir = common::temp_dir("count");
    write_set(&dir, 4, &[1, 2, 3]);
    let e = Mnist::load_any(&dir, Split::Train).unwrap_err();
    assert_matches!(e => DataError::CountMismatch { images: 4, labels: 3, .. });
    assert_eq!(
        e.to_string(),
        format!(
            "{} holds 4 images but {} holds 3 labels",
            dir.join("train-images-idx3-ubyte").display(),
            dir.join("train-labels-idx1-ubyte").display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn wrong_shape_and_type_are_refused() {
    let dir = common::temp_dir("shape");
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        idx_bytes(&[2, 28, 27], &[0; 2 * 28 * 27]),
    )
    .unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx_bytes(&[2], &[0, 1])).unwrap();
    let e = Mnist::load_any(&dir, Split::Test).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: the images are 28×27 pixels; twostage takes 28×28 u8 images (MNIST's format): \
             resize the set to 28×28",
            dir.join("t10k-images-idx3-ubyte").display()
        )
    );
    // Flat images are not reshaped: a shape error.
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        idx_bytes(&[2, 784], &[0; 2 * 784]),
    )
    .unwrap();
    let e = Mnist::load_any(&dir, Split::Test).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected u8 images of shape (N, 28, 28), found u8 of shape (2, 784)",
            dir.join("t10k-images-idx3-ubyte").display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn missing_files_are_reported() {
    let dir = common::temp_dir("missing");
    assert!(!files_present(&dir));
    assert_eq!(missing_files(&dir), FILE_NAMES.to_vec());
    let e = Mnist::load_any(&dir, Split::Test).unwrap_err();
    assert_matches!(e => DataError::MissingFile { name: "t10k-images-idx3-ubyte", .. });
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 9: the missing-file message says what is missing and where, and what to do.
#[test]
fn missing_file_message_names_file_and_dir() {
    let dir = common::temp_dir("missing-message");
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        idx_bytes(&[1, 28, 28], &[0; PIXELS]),
    )
    .unwrap();
    let e = Mnist::load_any(&dir, Split::Test).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "t10k-labels-idx1-ubyte(.gz) is missing in {d}",
            d = dir.display()
        )
    );
    assert_eq!(
        Split::Test.file_names(),
        ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    );
    assert_eq!(
        Split::Train.file_names(),
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 9: a directory, FIFO or device named like a data file is said to be one, not reported
/// missing (which sent it to the mirrors) — and a FIFO does not hang the load.
#[test]
fn non_file_named_like_a_data_file_is_said_so() {
    let dir = common::temp_dir("nonfile");
    write_set(&dir, 2, &[3, 4]);
    let images = dir.join("train-images-idx3-ubyte.gz");
    std::fs::create_dir(&images).unwrap();
    // Present, as far as finding files goes: never "missing", never downloaded over.
    assert_eq!(
        missing_files(&dir),
        ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    );
    assert_eq!(
        twostage::data::mnist::find_file(&dir, "train-images-idx3-ubyte"),
        Some(images.clone())
    );
    let e = Mnist::load_any(&dir, Split::Train).unwrap_err();
    let message = e.to_string();
    assert!(
        message.starts_with(&format!(
            "{} is a directory, not a file: move it away, or put the IDX file there (note: {} \
             is also present and not read;",
            images.display(),
            dir.join("train-images-idx3-ubyte").display()
        )),
        "{message}"
    );
    std::fs::remove_dir(&images).unwrap();

    let labels = dir.join("train-labels-idx1-ubyte");
    std::fs::remove_file(&labels).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&labels)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let e = Mnist::load_any(&dir, Split::Train).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} is a FIFO, not a file: move it away, or put the IDX file there",
                labels.display()
            )
        );
        std::fs::remove_file(&labels).unwrap();
    }
    #[cfg(unix)]
    if Path::new("/dev/zero").exists() {
        std::os::unix::fs::symlink("/dev/zero", &labels).unwrap();
        let e = Mnist::load_any(&dir, Split::Train).unwrap_err();
        assert_matches!(e => DataError::NotAFile { kind: "a character device", .. });
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 9: with both NAME.gz and NAME present, NAME.gz is read, and a failure reading it
/// mentions the other.
#[test]
fn both_gz_and_plain_present_error_mentions_the_other() {
    let dir = common::temp_dir("both");
    write_set(&dir, 2, &[1, 2]);
    // A damaged .gz beside the good plain images file.
    let gz = dir.join("train-images-idx3-ubyte.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let e = Mnist::load_any(&dir, Split::Train).unwrap_err();
    assert_matches!(e => DataError::AlsoPresent { .. });
    let message = e.to_string();
    assert!(
        message.starts_with(&format!("{}: corrupt gzip data: ", gz.display())),
        "{message}"
    );
    assert!(
        message.ends_with(&format!(
            "(note: {} is also present and not read; when both NAME.gz and NAME exist, NAME.gz \
             is read: remove the one that is wrong)",
            dir.join("train-images-idx3-ubyte").display()
        )),
        "{message}"
    );
    assert_eq!(e.file(), Some(gz.as_path()));
    // An error in the labels file does not blame the images' twin.
    std::fs::remove_file(&gz).unwrap();
    std::fs::write(
        dir.join("train-images-idx3-ubyte.gz"),
        gzip(&idx_bytes(&[2, 28, 28], &[0; 2 * PIXELS])),
    )
    .unwrap();
    std::fs::write(
        dir.join("train-labels-idx1-ubyte"),
        idx_bytes(&[2, 1], &[1, 2]),
    )
    .unwrap();
    let e = Mnist::load_any(&dir, Split::Train).unwrap_err();
    assert_matches!(e => DataError::WrongShape { .. });
    // And when both read fine, the .gz is the one used.
    std::fs::write(
        dir.join("train-labels-idx1-ubyte"),
        idx_bytes(&[2], &[1, 2]),
    )
    .unwrap();
    let set = Mnist::load_any(&dir, Split::Train).unwrap();
    assert_eq!(
        set.image(0)[0],
        0,
        "the .gz (all zeros) was read, not the plain file"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 9, item 9: when verifying, a header that declares other dimensions than the published
/// MNIST file is refused before its data is read — a 10.2 M-image gzip bomb costs nothing.
#[test]
fn verify_refuses_a_foreign_header_before_reading() {
    let dir = common::temp_dir("bomb");
    // A header claiming 80000 images (62.7 MB) followed by 64 MB of zeros in 64 KB of gzip:
    // within the gzip ratio bound, so only the published dimensions can refuse it unread (the
    // 7.8 MB bomb of the issue claiming 10.2 M images is the same at 128 times the size).
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(&idx_bytes(&[80_000, 28, 28], &[]))
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let images = dir.join("train-images-idx3-ubyte.gz");
    std::fs::write(&images, encoder.finish().unwrap()).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx_bytes(&[1], &[1])).unwrap();
    let bomb = std::fs::metadata(&images).unwrap().len();
    assert!(
        bomb * 1032 > 80_000 * 784,
        "the ratio bound alone would let it through"
    );
    let start = std::time::Instant::now();
    let e = Mnist::load(&dir, Split::Train).unwrap_err();
    assert!(
        start.elapsed() < std::time::Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    // The labels are read first (their count bounds the images), so the refusal may name
    // either header; either way nothing past a header was inflated (the time bound above).
    let message = e.to_string();
    let labels = dir.join("train-labels-idx1-ubyte");
    assert!(
        message
            == format!(
                "{}: the IDX header declares u8 (80000, 28, 28), but MNIST train-images-idx3-ubyte \
                 is u8 (60000, 28, 28); nothing more was read",
                images.display()
            )
            || message
                == format!(
                    "{}: the IDX header declares u8 (1), but MNIST train-labels-idx1-ubyte is u8 \
                     (60000); nothing more was read",
                    labels.display()
                ),
        "{message}"
    );
    // Without verify the shape is still checked first: labels must match the image count.
    std::fs::write(&images, gzip(&idx_bytes(&[2, 28, 28], &[0; 2 * PIXELS]))).unwrap();
    let e = Mnist::load_any(&dir, Split::Train).unwrap_err();
    assert_matches!(e => DataError::CountMismatch { images: 2, labels: 1, .. });
    std::fs::remove_dir_all(dir).unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
