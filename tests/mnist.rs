//! MNIST loading: the real files (from `MNIST_DIR`) and small crafted sets in temp dirs.

mod common;

use std::path::Path;

use twostage::data::DataError;
use twostage::data::mnist::{FILE_NAMES, Mnist, PIXELS, Split, files_present, missing_files};

fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

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
    let Some(dir) = common::mnist_dir() else {
        return;
    };
    assert!(files_present(&dir));
    for (split, count) in [(Split::Train, 60000), (Split::Test, 10000)] {
        let set = Mnist::load(&dir, split, true).unwrap();
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
    let train = Mnist::load(&dir, Split::Train, false).unwrap();
    assert_eq!(train.label(0), 5, "the first MNIST training digit is a 5");
}

#[test]
fn inspect_recognises_real_files() {
    let Some(dir) = common::mnist_dir() else {
        return;
    };
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
    let set = Mnist::load(&dir, Split::Train, false).unwrap();
    assert_eq!((set.len(), set.labels.clone()), (3, vec![0, 9, 4]));
    assert_eq!(set.image(1)[0], (PIXELS % 251) as u8);

    let e = Mnist::load(&dir, Split::Train, true).unwrap_err();
    assert!(matches!(e, DataError::ChecksumMismatch { .. }), "{e:?}");
    let message = e.to_string();
    assert!(
        message.contains("train-images-idx3-ubyte: SHA-256 of the uncompressed content is"),
        "{message}"
    );
    assert!(
        message
            .contains("expected ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        "{message}"
    );
    assert!(message.contains("--no-verify"), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn label_ten_is_refused_with_file_and_index() {
    let dir = common::temp_dir("label10");
    write_set(&dir, 7, &[0, 1, 2, 3, 4, 10, 6]);
    let e = Mnist::load(&dir, Split::Train, false).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::BadLabel {
                index: 5,
                label: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: label 10 at index 5 is not a digit 0-9",
            dir.join("train-labels-idx1-ubyte").display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn count_mismatch_is_refused() {
    let dir = common::temp_dir("count");
    write_set(&dir, 4, &[1, 2, 3]);
    let e = Mnist::load(&dir, Split::Train, false).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                images: 4,
                labels: 3,
                ..
            }
        ),
        "{e:?}"
    );
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
    let e = Mnist::load(&dir, Split::Test, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: expected u8 images of shape (N, 28, 28), found u8 of shape (2, 28, 27)",
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
    let e = Mnist::load(&dir, Split::Test, false).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::MissingFile {
                name: "t10k-images-idx3-ubyte",
                ..
            }
        ),
        "{e:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
