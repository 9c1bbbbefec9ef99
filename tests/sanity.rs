#![cfg(feature = "data")]
//! The sanity checks of a training run (CS231n's): the baselines a first loss is compared with,
//! over-fitting a few images to 100 %, and train/validation accuracy per epoch.

mod common;

use twostage::batches::Examples;
use twostage::model::{Dims, TwoStageNetwork};
use twostage::nn::Parameters;
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;
use twostage::train::{self, Schedule, Silent, Stage};

#[test]
fn mean_image_mse_is_the_error_of_the_mean_image() {
    // Two 2-pixel images, normalised to (−1, 1) and (1, −1): the mean is (0, 0), every pixel
    // is 1 away from it.
    let pixels = [0u8, 255, 255, 0];
    let examples = Examples {
        pixels: &pixels,
        labels: &[0, 1],
        width: 2,
    };
    assert_eq!(train::mean_image_mse(examples), 1.0);
    // Identical images: the mean predicts them exactly.
    let same = [7u8, 9, 7, 9, 7, 9];
    let examples = Examples {
        pixels: &same,
        labels: &[0, 0, 0],
        width: 2,
    };
    assert_eq!(train::mean_image_mse(examples), 0.0);
}

/// The counted version agrees with the formula summed image by image, two passes in `f64`.
#[test]
fn mean_image_mse_matches_the_two_pass_formula() {
    let (n, width) = (997, 13);
    let mut state = 12345_u32;
    let pixels: Vec<u8> = (0..n * width)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            // Mostly zeros with a few bright pixels, as in MNIST.
            if i % 3 == 0 { (state >> 24) as u8 } else { 0 }
        })
        .collect();
    let labels = vec![0_u8; n];
    let examples = Examples {
        pixels: &pixels,
        labels: &labels,
        width,
    };
    let x = |i: usize, j: usize| f64::from(twostage::batches::normalise(pixels[i * width + j]));
    let mean: Vec<f64> = (0..width)
        .map(|j| (0..n).map(|i| x(i, j)).sum::<f64>() / n as f64)
        .collect();
    let two_pass = (0..n)
        .flat_map(|i| (0..width).map(move |j| (i, j)))
        .map(|(i, j)| (x(i, j) - mean[j]).powi(2))
        .sum::<f64>()
        / (n * width) as f64;
    let counted = train::mean_image_mse(examples);
    assert!(
        (counted - two_pass).abs() <= 1e-12 * two_pass,
        "{counted} vs {two_pass}"
    );
    assert!(two_pass > 0.1, "the data vary: {two_pass}");
}

#[test]
fn overfitting_fifty_images_reaches_every_one() {
    let Some(mnist) = common::mnist_train() else { return };
    let examples = mnist.examples().first(50);
    let mut network = TwoStageNetwork::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    let (epochs, accuracy) = train::overfit(
        &mut network,
        examples,
        &Schedule::default(),
        300,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(accuracy, 1.0, "after {epochs} epochs");
    assert!(epochs > 1, "one epoch cannot learn 50 images: {epochs}");
}

/// Validation adds accuracies to the classifier's epochs and changes no weight.
#[test]
fn validation_reports_accuracy_and_changes_nothing() {
    let Some(mnist) = common::mnist_train() else { return };
    let all = mnist.examples().first(2000);
    let (train_part, validation) = (
        all.first(1500),
        Examples {
            pixels: &all.pixels[1500 * 784..],
            labels: &all.labels[1500..],
            width: 784,
        },
    );
    let schedule = Schedule {
        stage1_epochs: 1,
        stage2_epochs: 2,
        finetune_epochs: 1,
        ..Schedule::default()
    };
    let fresh = || TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(4));
    let (mut plain, mut validated) = (fresh(), fresh());
    let stats_plain = train::run(&mut plain, train_part, &schedule, &mut Silent).unwrap();
    let stats = train::run_with_validation(
        &mut validated,
        train_part,
        validation,
        &schedule,
        &mut Silent,
    )
    .unwrap();
    assert!(stats_plain.iter().all(|s| s.train_accuracy.is_none()));
    for s in &stats {
        let has = s.train_accuracy.is_some() && s.validation_accuracy.is_some();
        assert_eq!(has, s.stage != Stage::Stage1, "{s:?}");
        // Well above chance (10 %) after one epoch on 1500 images.
        if let (Some(t), Some(v)) = (s.train_accuracy, s.validation_accuracy) {
            assert!(
                (0.3..=1.0).contains(&t) && (0.3..=1.0).contains(&v),
                "{s:?}"
            );
        }
    }
    let weights = |n: &mut TwoStageNetwork<f32>| {
        let mut all = Vec::new();
        n.visit_params(&mut |_, p| all.extend(p.value.iter().copied()));
        all
    };
    assert!(
        weights(&mut plain) == weights(&mut validated),
        "validation moved a weight"
    );
}

#[cfg(feature = "cli")]
mod command_line {
    use super::common::{data_args, s, stderr, stdout, train_args, twostage};

    #[test]
    fn val_split_adds_accuracies_to_epoch_lines_and_metrics() {
        let Some(mnist) = super::common::mnist_dir() else { return };
        let dir = super::common::temp_dir("val-split");
        let (save, metrics) = (dir.join("m.safetensors"), dir.join("m.jsonl"));
        let extra = [
            "--train-limit",
            "3000",
            "--val-split",
            "500",
            "--metrics",
            s(&metrics),
        ];
        let out = twostage(&train_args(&mnist, ["1", "2"], &save, &extra));
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let stage2: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("Training Stage 2"))
            .filter(|l| l.starts_with("Epoch"))
            .collect();
        assert_eq!(stage2.len(), 2, "{text}");
        for line in stage2 {
            assert!(
                line.contains(", Train Acc: ") && line.contains("%, Val Acc: "),
                "{line}"
            );
        }
        let rows = std::fs::read_to_string(&metrics).unwrap();
        let with_accuracy = rows
            .lines()
            .filter(|l| l.contains("\"val_accuracy\":0."))
            .count();
        assert_eq!(with_accuracy, 2, "{rows}");
        // Too large a split is refused, naming the flag.
        let too_large = [
            "--train-limit",
            "100",
            "--val-split",
            "100",
            "--save",
            s(&save),
        ];
        let out = twostage(&data_args("train", &mnist, &too_large));
        assert!(!out.status.success());
        assert!(stderr(&out).contains("--val-split"), "{}", stderr(&out));
    }

    #[test]
    fn overfit_reaches_every_image_and_saves_nothing() {
        let Some(mnist) = super::common::mnist_dir() else { return };
        let dir = super::common::temp_dir("overfit");
        let save = dir.join("never.safetensors");
        let overfit = ["--overfit", "50", "--save", s(&save)];
        let out = twostage(&data_args("train", &mnist, &overfit));
        let text = stdout(&out);
        assert!(out.status.success(), "{text}{}", stderr(&out));
        assert!(
            text.contains("Reached 100% training accuracy on 50 images"),
            "{text}"
        );
        assert!(text.contains("Train Acc: 100.00%"), "{text}");
        assert!(!save.exists(), "--overfit saves nothing");
    }
}
