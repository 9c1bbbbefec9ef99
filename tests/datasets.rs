#![cfg(feature = "cli")]
//! Issue 11: every MNIST-shaped dataset. Known datasets by name (Fashion-MNIST with the real
//! files), custom IDX sets by directory with any number of classes, class names everywhere a
//! label is shown, checkpoints that know their data, and help lines that say their defaults.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use twostage::TwoStageNetwork;
use twostage::checkpoint::{self, decode_list, encode_list, metadata_pairs};
use twostage::data::DataError;
use twostage::data::checksums::hex;
use twostage::data::dataset::{self, DATASETS, Dataset, FASHION_MNIST, MNIST, read_class_names};
use twostage::data::mnist::{FILE_NAMES, Mnist, PIXELS, Split, check_labels};

use common::{
    assert_matches, assert_refused, model_args, s, stderr, stdout, train_args, twostage,
    twostage_env,
};

use common::idx_u8 as idx;

/// The metadata pairs of a checkpoint, as a lookup.
fn metadata(path: &Path) -> Vec<(String, String)> {
    metadata_pairs(&checkpoint::read(path).unwrap())
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A learnable synthetic set of `classes` classes: class `k`'s images light a 4-pixel-high band
/// at a row and column of its own, plus a little per-image noise. `per_class` images of each
/// class, in interleaved order.
fn synthetic(classes: u8, per_class: usize, seed: u32) -> (Vec<u8>, Vec<u8>) {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for i in 0..per_class * classes as usize {
        let k = (i % classes as usize) as u8;
        let mut image = vec![0u8; PIXELS];
        let row = usize::from(k % 6) * 4 + 2;
        let col = usize::from(k / 6) * 5 + 2;
        for r in row..row + 4 {
            for c in col..col + 5 {
                image[r * 28 + c] = 255;
            }
        }
        for pixel in image.iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if state.is_multiple_of(16) {
                *pixel = pixel.saturating_add((state >> 8) as u8 % 64);
            }
        }
        images.extend_from_slice(&image);
        labels.push(k);
    }
    (images, labels)
}

/// Writes a custom set of `classes` classes to `dir` (uncompressed).
fn write_synthetic(dir: &Path, classes: u8, train_per_class: usize, test_per_class: usize) {
    for (split, per_class, seed) in [
        (Split::Train, train_per_class, 1),
        (Split::Test, test_per_class, 2),
    ] {
        let (images, labels) = synthetic(classes, per_class, seed);
        let n = labels.len() as u32;
        std::fs::write(dir.join(split.images_name()), idx(&[n, 28, 28], &images)).unwrap();
        std::fs::write(dir.join(split.labels_name()), idx(&[n], &labels)).unwrap();
    }
}

#[test]
fn known_datasets_are_table_entries_with_files_mirrors_and_class_names() {
    assert_eq!(DATASETS.len(), 2);
    assert_eq!(Dataset::by_name("mnist"), Some(&MNIST));
    assert_eq!(Dataset::by_name("fashion-mnist"), Some(&FASHION_MNIST));
    assert_eq!(Dataset::by_name("emnist"), None);
    assert_eq!(MNIST.class_count(), 10);
    assert_eq!(MNIST.classes[7], "7");
    // No class name holds a comma, so the joined list equals the list.
    assert_eq!(
        FASHION_MNIST.classes.join(","),
        "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
    );
    // The published hashes, from the issue.
    let hashes: Vec<&str> = FASHION_MNIST.files.iter().map(|f| f.sha256).collect();
    assert_eq!(
        hashes,
        [
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ]
    );
    for dataset in DATASETS {
        let names: Vec<&str> = dataset.files.iter().map(|f| f.name).collect();
        assert_eq!(names, FILE_NAMES, "{}", dataset.name);
        assert!(!dataset.mirrors.is_empty());
        assert!(dataset.mirrors.iter().all(|m| m.ends_with('/')));
    }
    assert_eq!(
        FASHION_MNIST.mirrors[0], "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "zalando's S3 bucket is the canonical host"
    );
    assert_eq!(FASHION_MNIST.dir_env, "FASHION_MNIST_DIR");
}

#[test]
fn real_fashion_mnist_verifies_as_itself_and_not_as_mnist() {
    let Some(fashion) = common::fashion_mnist_dir() else { return };
    for (split, len) in [(Split::Train, 60000), (Split::Test, 10000)] {
        let set = Mnist::load_dataset(&fashion, split, Some(&FASHION_MNIST)).unwrap();
        assert_eq!(set.len(), len);
        assert_eq!(set.class_count(), 10);
    }
    let test = Mnist::load_dataset(&fashion, Split::Test, None).unwrap();
    assert_eq!(test.label(0), 9, "the first test image is an ankle boot");
    let hashes = [
        (FILE_NAMES[2], hex(&test.content_sha256[0])),
        (FILE_NAMES[3], hex(&test.content_sha256[1])),
    ];
    assert_eq!(dataset::identify(&hashes), Some(&FASHION_MNIST));

    // Fashion files verified as MNIST, and the reverse: refused, naming the dataset.
    let mut claims = vec![(fashion, &MNIST)];
    claims.extend(common::mnist_dir().map(|mnist| (mnist, &FASHION_MNIST)));
    for (dir, claimed) in claims {
        let e = Mnist::load_dataset(&dir, Split::Test, Some(claimed)).unwrap_err();
        assert_matches!(
            e => DataError::ChecksumMismatch { dataset, .. } if *dataset == claimed.title,
            "{} verified as {}",
            dir.display(),
            claimed.title,
        );
        // The library names no flag: the command line adds "pass --no-verify".
        assert!(!e.to_string().contains("--"), "{e}");
    }
}

#[test]
fn a_label_beyond_the_classes_is_refused_naming_file_and_index() {
    let file = Path::new("t10k-labels-idx1-ubyte");
    let e = check_labels(&[0, 3, 10, 2], 10, "Fashion-MNIST", file).unwrap_err();
    assert_matches!(e => DataError::BadLabel { index: 2, label: 10, classes: 10, .. });
    assert_eq!(
        e.to_string(),
        "t10k-labels-idx1-ubyte: label 10 at index 2 is out of range: Fashion-MNIST has 10 \
         classes (labels 0-9)"
    );
    assert!(check_labels(&[0, 9, 9], 10, "MNIST", file).is_ok());
}

#[test]
fn a_custom_set_takes_any_label_and_counts_its_classes() {
    let dir = common::temp_dir("custom-classes");
    write_synthetic(&dir, 26, 2, 1);
    let train = Mnist::load_any(&dir, Split::Train).unwrap();
    assert_eq!(train.class_count(), 26);
    assert_eq!(train.len(), 52);
    // Verified as a known dataset, the same files are refused.
    assert!(Mnist::load_dataset(&dir, Split::Train, Some(&FASHION_MNIST)).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn images_of_another_size_are_a_clear_error_naming_the_size() {
    let dir = common::temp_dir("size32");
    for split in [Split::Train, Split::Test] {
        std::fs::write(
            dir.join(split.images_name()),
            idx(&[3, 32, 32], &[0; 3 * 32 * 32]),
        )
        .unwrap();
        std::fs::write(dir.join(split.labels_name()), idx(&[3], &[0, 1, 2])).unwrap();
    }
    let e = Mnist::load_any(&dir, Split::Train).unwrap_err();
    assert_matches!(e => DataError::WrongImageSize { rows: 32, cols: 32, .. });
    assert_eq!(
        e.to_string(),
        format!(
            "{}: the images are 32×32 pixels; twostage takes 28×28 u8 images (MNIST's format): \
             resize the set to 28×28",
            dir.join("train-images-idx3-ubyte").display()
        )
    );
    // Through the command line: an error, not a panic, and nothing saved.
    let model = dir.join("model.safetensors");
    let out = twostage(&[
        "train",
        "--data-dir",
        s(&dir),
        "--no-verify",
        "--save",
        s(&model),
    ]);
    assert_refused(&out, 1, &["32×32 pixels"], "train on 32×32 images");
    assert!(!model.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn classes_txt_names_a_custom_sets_classes() {
    let dir = common::temp_dir("classes-txt");
    assert_eq!(read_class_names(&dir).unwrap(), None);
    std::fs::write(dir.join("classes.txt"), "alpha\n  beta gamma \r\nZ\n\n\n").unwrap();
    assert_eq!(
        read_class_names(&dir).unwrap(),
        Some(vec![
            "alpha".to_string(),
            "beta gamma".to_string(),
            "Z".to_string()
        ])
    );
    std::fs::write(dir.join("classes.txt"), "a\n\nc\n").unwrap();
    let e = read_class_names(&dir).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: line 2 is blank: every label from 0 needs a name, one a line",
            dir.join("classes.txt").display()
        )
    );
    std::fs::write(dir.join("classes.txt"), b"a\n\xff\n").unwrap();
    assert!(
        read_class_names(&dir)
            .unwrap_err()
            .to_string()
            .contains("not UTF-8")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn class_names_survive_the_single_metadata_value() {
    let names: Vec<String> = ["T-shirt/top", "Ankle boot", "a,b=c%d", "é"]
        .iter()
        .map(|n| n.to_string())
        .collect();
    let encoded = encode_list(&names);
    assert!(!encoded.contains(' '), "{encoded}");
    assert_eq!(encoded, "T-shirt/top,Ankle%20boot,a%2Cb%3Dc%25d,é");
    assert_eq!(decode_list(&encoded), names);
    assert!(decode_list("").is_empty());
}

/// Issue 11 "done when": Fashion-MNIST by name, no --no-verify; eval and predict name its
/// classes and find its directory from the model; evaluating the model on MNIST is refused.
#[test]
fn fashion_mnist_trains_by_name_and_eval_predict_inspect_name_its_classes() {
    let Some(fashion) = common::fashion_mnist_dir() else { return };
    let dir = common::temp_dir("fashion-cli");
    let model = dir.join("fashion.safetensors");
    let extra = ["--dataset", "fashion-mnist", "--train-limit", "3000"];
    let out = twostage(&train_args(&fashion, ["1", "2"], &model, &extra));
    assert!(out.status.success(), "{}", stderr(&out));
    let pairs = metadata(&model);
    assert_eq!(get(&pairs, "dataset"), Some("fashion-mnist"), "{pairs:?}");
    assert_eq!(get(&pairs, "classes"), Some("10"));
    assert_eq!(
        decode_list(get(&pairs, "class_names").unwrap()),
        FASHION_MNIST.class_names()
    );
    let network = TwoStageNetwork::load(&model).unwrap();
    assert_eq!(network.dims.classes, 10);

    // eval: the dataset and its directory come from the model ($FASHION_MNIST_DIR).
    let out = twostage_env(
        &["eval", "--model", s(&model)],
        &[("FASHION_MNIST_DIR", &fashion)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Confusion matrix (rows: true class, columns: predicted)"),
        "{text}"
    );
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_end().ends_with('%') && !l.starts_with("Test"))
        .collect();
    assert_eq!(rows.len(), 10, "{text}");
    assert!(rows[0].starts_with("    0  T-shirt/top "), "{text}");
    assert!(rows[9].starts_with("    9  Ankle boot  "), "{text}");

    // predict: test image 0 is an ankle boot; every class is listed by name.
    let out = twostage(&model_args("predict", &model, &fashion, &["--index", "0"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("test image 0: true label 9 (Ankle boot), predicted "),
        "{text}"
    );
    assert!(text.contains("  5 Sandal     : 0."), "{text}");

    // inspect: tensors, shapes, dtype and what the metadata says.
    let out = twostage(&["inspect", s(&model)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "format:     safetensors checkpoint",
        "network:    784 → 256 → 128 → 64 → 10 classes (with the autoencoder's decoder)",
        "dataset:    Fashion-MNIST (fashion-mnist)",
        "classes:    10: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot",
        "stage 1:    autoencoder",
        "accuracy:   ",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    for (tensor, shape) in [
        ("stage2.2.weight", "(10, 64)"),
        ("stage1.0.weight", "(256, 784)"),
    ] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{tensor} ")))
            .unwrap_or_else(|| panic!("{tensor} in\n{text}"));
        assert!(line.ends_with(&format!("F32  {shape}")), "{line}");
    }

    if let Some(mnist) = common::mnist_dir() {
        // On MNIST: refused, however the data is named; with --force, a loud warning.
        for args in [
            &["--dataset", "mnist", "--data-dir", s(&mnist)][..],
            &["--data-dir", s(&mnist), "--no-verify"][..],
        ] {
            let mut full = vec!["eval", "--model", s(&model)];
            full.extend_from_slice(args);
            let out = twostage(&full);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
            let message = stderr(&out);
            assert!(
                message.contains(&format!(
                    "{} was trained on Fashion-MNIST, but the data in {} is MNIST",
                    model.display(),
                    mnist.display()
                )),
                "{message}"
            );
            assert!(message.contains("--force"), "{message}");
            assert!(stdout(&out).is_empty());
        }
        // Without --dataset the model's is verified: MNIST's files are not Fashion-MNIST.
        let out = twostage(&model_args("eval", &model, &mnist, &[]));
        let refusal = "rather than the published Fashion-MNIST";
        assert_refused(
            &out,
            1,
            &[refusal],
            "eval on MNIST, verified as Fashion-MNIST",
        );
        let force = ["--dataset", "mnist", "--force"];
        let out = twostage(&model_args("eval", &model, &mnist, &force));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("WARNING: "), "{}", stderr(&out));
        assert!(stdout(&out).contains("Test accuracy: "));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 11 "done when": a 26-class IDX set trains end to end, and its checkpoint has a
/// `Linear(64, 26)` head, its identity and its class names. (Set TWOSTAGE_KEEP_CHECKPOINT to a
/// path to keep the checkpoint, e.g. for `tests/python/load_in_pytorch.py`.)
#[test]
fn a_synthetic_26_class_set_trains_end_to_end_with_a_26_way_head() {
    let dir = common::temp_dir("letters");
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    write_synthetic(&data, 26, 100, 10);
    let letters: Vec<String> = (b'A'..=b'Z').map(|c| (c as char).to_string()).collect();
    std::fs::write(data.join("classes.txt"), letters.join("\n") + "\n").unwrap();
    let model = dir.join("letters.safetensors");
    let out = twostage(&train_args(&data, ["2", "10"], &model, &["--no-verify"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let accuracy: f64 = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("Test Accuracy: "))
        .and_then(|a| a.trim_end_matches('%').parse().ok())
        .expect("a test accuracy line");
    assert!(accuracy > 90.0, "26 separable classes: {accuracy}%");
    if let Some(keep) = std::env::var_os("TWOSTAGE_KEEP_CHECKPOINT") {
        std::fs::copy(&model, PathBuf::from(keep)).unwrap();
    }

    let file = checkpoint::read(&model).unwrap();
    assert_eq!(file.tensors["stage2.2.weight"].shape, [26, 64]);
    assert_eq!(file.tensors["stage2.2.bias"].shape, [26]);
    assert_eq!(file.tensors["stage2.0.weight"].shape, [64, 128]);
    assert_eq!(TwoStageNetwork::load(&model).unwrap().dims.classes, 26);
    let pairs = metadata(&model);
    let id = get(&pairs, "dataset").unwrap();
    assert!(
        id.starts_with("custom:") && id.len() == "custom:".len() + 64,
        "{id}"
    );
    assert_eq!(get(&pairs, "classes"), Some("26"));
    assert_eq!(decode_list(get(&pairs, "class_names").unwrap()), letters);

    // Without --data-dir there is nowhere to look for a custom set: said so.
    let out = twostage(&["eval", "--model", s(&model)]);
    let hint = "pass --data-dir DIR --no-verify";
    assert_refused(
        &out,
        1,
        &[hint],
        "eval of a custom set's model without --data-dir",
    );
    // With it: 26 named rows.
    let out = twostage(&model_args("eval", &model, &data, &["--no-verify"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\n   25  Z "), "{text}");
    assert!(
        text.contains("    25\n") || text.contains("    25   accuracy"),
        "{text}"
    );
    let extra = ["--no-verify", "--index", "3"];
    let out = twostage(&model_args("predict", &model, &data, &extra));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("test image 3: true label 3 (D), predicted "),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("  25 Z: 0."), "{}", stdout(&out));

    // MNIST is not this model's data: 10 classes and another identity.
    if let Some(mnist) = common::mnist_dir() {
        let out = twostage(&model_args("eval", &model, &mnist, &["--dataset", "mnist"]));
        let needles = ["but the data in", "has 26 classes"];
        assert_refused(&out, 1, &needles, "eval of a 26-class model on MNIST");
        // --init with this 26-way head into MNIST's 10-way network: the head's shape is wrong.
        let out = twostage(&[
            "train",
            "--init",
            s(&model),
            "--data-dir",
            s(&mnist),
            "--stage1-epochs",
            "0",
            "--save",
            s(&dir.join("never.safetensors")),
        ]);
        let needle = "\"stage2.2.bias\" has shape [26], the network needs [10]";
        assert_refused(&out, 1, &[needle], "--init a 26-way head on MNIST");
    }

    // Other content in the same shape: another identity, refused.
    let other = dir.join("other");
    std::fs::create_dir(&other).unwrap();
    write_synthetic(&other, 26, 101, 10);
    let out = twostage(&model_args("eval", &model, &other, &["--no-verify"]));
    let needle = "is a custom IDX set (SHA-256 of its four files";
    assert_refused(&out, 1, &[needle], "eval on another custom set");

    // A label the model has no output for: an error naming file and index, even with --force.
    let (images, mut labels) = synthetic(26, 10, 2);
    labels[7] = 30;
    std::fs::write(
        other.join("t10k-labels-idx1-ubyte"),
        idx(&[labels.len() as u32], &labels),
    )
    .unwrap();
    drop(images);
    let out = twostage(&model_args(
        "eval",
        &model,
        &other,
        &["--no-verify", "--force"],
    ));
    let needle = format!(
        "{}: label 30 at index 7 is out of range: the model {} has 26 classes (labels 0-25)",
        other.join("t10k-labels-idx1-ubyte").display(),
        model.display()
    );
    assert_refused(&out, 1, &[&needle], "eval --force with label 30");

    // classes.txt naming fewer classes than the labels use: refused at training.
    std::fs::write(data.join("classes.txt"), "a\nb\n").unwrap();
    let never = dir.join("never.safetensors");
    let out = twostage(&train_args(&data, ["0", "1"], &never, &["--no-verify"]));
    let needle = "label 2 at index 2 is out of range";
    assert_refused(&out, 1, &[needle], "classes.txt naming 2 of 26 classes");
    assert!(!never.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// A default MNIST run records MNIST, and a checkpoint without dataset metadata (older runs,
/// PyTorch) still evaluates on MNIST with digit rows, as before.
#[test]
fn mnist_checkpoints_record_mnist_and_old_ones_still_evaluate() {
    let Some(mnist) = common::mnist_dir() else { return };
    let dir = common::temp_dir("mnist-meta");
    let model = dir.join("m.safetensors");
    let limit = ["--train-limit", "1000"];
    let out = twostage(&train_args(&mnist, ["0", "1"], &model, &limit));
    assert!(out.status.success(), "{}", stderr(&out));
    let pairs = metadata(&model);
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "stage1",
            "seed",
            "test_accuracy",
            "dataset",
            "classes",
            "class_names"
        ]
    );
    assert_eq!(get(&pairs, "dataset"), Some("mnist"));
    assert_eq!(get(&pairs, "class_names"), Some("0,1,2,3,4,5,6,7,8,9"));
    assert_eq!(checkpoint::read(&model).unwrap().metadata.len(), 1);

    // No metadata at all: the data decides (MNIST by default), digits as row names.
    let old = dir.join("old.safetensors");
    TwoStageNetwork::load(&model).unwrap().save(&old).unwrap();
    let out = twostage(&model_args("eval", &old, &mnist, &[]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Confusion matrix (rows: true digit, columns: predicted)"),
        "{text}"
    );
    assert!(text.contains("\n    9  "), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every flag of every subcommand has a help line, and the line says its default (or that the
/// flag is required).
#[test]
fn every_flag_has_a_help_line_with_its_default() {
    for (command, help_flag) in [
        "train",
        "eval",
        "predict",
        "download",
        "inspect",
        "report",
        "explain",
        "gradcheck",
    ]
    .into_iter()
    .flat_map(|c| [(c, "--help"), (c, "-h")])
    {
        let out = twostage(&[command, help_flag]);
        assert!(out.status.success());
        let text = stdout(&out);
        // Each flag's entry: its line and the indented lines after it, up to the next flag.
        let mut entries: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("--") || trimmed.starts_with("-h") || trimmed.starts_with("-V") {
                let flag = trimmed.split([' ', ',']).next().unwrap().to_string();
                // `-h` puts the help on the flag's line, after a gap of spaces.
                let help = trimmed
                    .split_once("  ")
                    .map_or("", |(_, help)| help.trim_start());
                entries.push((flag, format!("{help} ")));
            } else if let Some((_, help)) = entries.last_mut() {
                help.push_str(trimmed);
                help.push(' ');
            }
        }
        let flags: Vec<&(String, String)> = entries
            .iter()
            .filter(|(flag, _)| flag.starts_with("--"))
            .collect();
        if command != "inspect" {
            assert!(flags.len() >= 2, "{command}: {text}");
        }
        for (flag, help) in flags {
            assert!(
                !help.trim().is_empty(),
                "{command} {help_flag}: {flag} has no help line:\n{text}"
            );
            assert!(
                help.contains("[default: ") || help.contains("[required]"),
                "{command} {help_flag}: {flag} does not say its default: {help:?}"
            );
        }
    }
    // --dataset is on the four commands that read data, with both names.
    for command in ["train", "eval", "predict", "download"] {
        let text = stdout(&twostage(&[command, "--help"]));
        assert!(
            text.contains("--dataset <NAME>") && text.contains("fashion-mnist"),
            "{command}: {text}"
        );
    }
}

/// `inspect` still describes IDX files, and names Fashion-MNIST's by their hash.
#[test]
fn inspect_names_fashion_mnist_files() {
    let Some(fashion) = common::fashion_mnist_dir() else { return };
    let out = twostage(&["inspect", s(&fashion.join("t10k-labels-idx1-ubyte.gz"))]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "dataset:  matches the published SHA-256 of Fashion-MNIST t10k-labels-idx1-ubyte"
        ),
        "{}",
        stdout(&out)
    );
    // A file that is neither IDX nor safetensors is a clear error.
    let dir = common::temp_dir("inspect-junk");
    let junk = dir.join("junk.bin");
    std::fs::File::create(&junk)
        .unwrap()
        .write_all(b"hello, this is not a checkpoint")
        .unwrap();
    let out = twostage(&["inspect", s(&junk)]);
    assert_refused(
        &out,
        1,
        &["junk.bin: neither an IDX file nor a safetensors checkpoint"],
        "inspect junk.bin",
    );
    std::fs::remove_dir_all(dir).unwrap();
}
