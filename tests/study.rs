//! `twostage study`: the protocol (balanced nested subsets, exact noise, the same steps for
//! every method, determinism whatever the thread count), the command's rows against its table,
//! its errors, and its page in headless Chromium.

#![cfg(feature = "cli")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use twostage::batches::{Classification, Examples, Order};
use twostage::model::Dims;
use twostage::nn::{Dense, Parameters};
use twostage::optim::{Adam, Optimizer};
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};
use twostage::study::subsets::{Noise, balanced_order};
use twostage::study::{self, Event, Method, Protocol, Row, Subsets, mean_std, train_steps};
use twostage::train::Batches;

use common::twostage;

/// Labels of 2 900 images in 10 classes, unevenly many per class (class c has 200 + 20c).
fn uneven_labels() -> Vec<u8> {
    let mut labels: Vec<u8> = (0..10u8)
        .flat_map(|c| std::iter::repeat_n(c, 200 + 20 * c as usize))
        .collect();
    labels.shuffle_with(7);
    labels
}

trait ShuffleWith {
    fn shuffle_with(&mut self, seed: u64);
}
impl ShuffleWith for Vec<u8> {
    fn shuffle_with(&mut self, seed: u64) {
        use twostage::rand::seq::SliceRandom;
        self.shuffle(&mut SmallRng::seed_from_u64(seed));
    }
}

#[test]
fn subsets_are_class_balanced_and_nested() {
    let labels = uneven_labels();
    for seed in 0..3 {
        let order = balanced_order(&labels, 10, seed);
        // Every image exactly once.
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..labels.len()).collect::<Vec<_>>());
        // Exactly N/10 of each class while every class has that many (the smallest has 200).
        for n in [10, 100, 300, 1000, 2000] {
            let mut counts = [0usize; 10];
            for &i in &order[..n] {
                counts[labels[i] as usize] += 1;
            }
            assert_eq!(counts, [n / 10; 10], "seed {seed}, N = {n}");
        }
        // Nested: the subsets of one seed are prefixes of one order, for every rate, and so
        // is their noise: an image mislabelled among the 100 carries the same wrong label
        // among the 300 and the 1000.
        let subsets = Subsets::new(&labels, 10, seed);
        for p in [0.0, 0.2, 0.33, 0.5] {
            let (small, small_labels) = subsets.take(100, p);
            for n in [300, 1000] {
                let (large, large_labels) = subsets.take(n, p);
                assert_eq!(small, &large[..100]);
                for i in 0..100 {
                    if small_labels[i] != subsets.labels[i] {
                        assert_eq!(
                            small_labels[i], large_labels[i],
                            "seed {seed}, p {p}, N {n}"
                        );
                    }
                }
            }
        }
    }
    assert_ne!(
        balanced_order(&labels, 10, 0),
        balanced_order(&labels, 10, 1)
    );
}

#[test]
fn noise_replaces_exactly_round_p_n_labels_with_another_class() {
    let labels = uneven_labels();
    let subsets = Subsets::new(&labels, 10, 3);
    for n in [10, 100, 300, 1000, 2900] {
        let truth = &subsets.labels[..n];
        let mut previous: Option<Vec<usize>> = None;
        for p in [0.0, 0.1, 0.2, 0.25, 0.4, 0.9] {
            let (_, noisy) = subsets.take(n, p);
            let wrong: Vec<usize> = (0..n).filter(|&i| noisy[i] != truth[i]).collect();
            // Every replaced label differs from its true one, so the count of differences is
            // the count replaced: exactly round(p·N).
            assert_eq!(
                wrong.len(),
                (p * n as f64).round() as usize,
                "N = {n}, p = {p}"
            );
            assert_eq!(Noise::count(n, p), wrong.len());
            assert!(noisy.iter().all(|&l| l < 10));
            // Nested across rates: the noisy images at a lower rate are noisy at a higher one.
            if let Some(before) = &previous {
                assert!(before.iter().all(|i| wrong.contains(i)), "N = {n}, p = {p}");
            }
            previous = Some(wrong);
        }
    }
}

#[test]
fn noise_draws_the_other_classes_uniformly() {
    let labels = vec![3u8; 90_000];
    let noise = Noise::new(&labels, 10, 0);
    let noisy = noise.apply(&labels, 0.999);
    let mut counts = [0usize; 10];
    for &l in &noisy {
        counts[l as usize] += 1;
    }
    assert_eq!(counts[3], 90);
    for (c, &k) in counts.iter().enumerate().filter(|&(c, _)| c != 3) {
        assert!((9_500..10_500).contains(&k), "class {c}: {k} of 90 000");
    }
}

/// An optimizer that counts its steps, around Adam.
struct Counting(Adam<f32>, usize);
impl Optimizer<f32> for Counting {
    fn step(&mut self, params: &mut dyn Parameters<f32>) {
        self.1 += 1;
        self.0.step(params);
    }
}

#[test]
fn train_steps_takes_exactly_the_steps_asked_across_epochs() {
    let mut rng = SmallRng::seed_from_u64(0);
    let x = ndarray::Array2::from_shape_fn((50, 4), |_| rng.random_range(-1.0..1.0f32));
    let labels: Vec<u8> = (0..50).map(|i| (i % 3) as u8).collect();
    let data = Classification {
        inputs: x.view(),
        labels: &labels,
    };
    for steps in [1, 2, 7, 8, 100] {
        let mut layer = Dense::<f32>::new(4, 3, &mut SmallRng::seed_from_u64(1));
        let mut counting = Counting(Adam::new(1e-3), 0);
        let mut batches = Batches::new(7, Order::Shuffled { seed: 0 }); // 8 batches an epoch
        let taken = train_steps(&mut layer, &mut counting, &data, &mut batches, steps).unwrap();
        assert_eq!((taken, counting.1), (steps, steps));
    }
}

/// 600 synthetic 16-pixel images of 3 classes, and 300 test images: class c is bright in
/// pixels 5c..5c+5.
fn synthetic(n: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
    let pixels = labels
        .iter()
        .flat_map(|&l| {
            let noise: Vec<u8> = (0..16).map(|_| rng.random_range(0..90)).collect();
            (0..16).map(move |j| {
                let bright = j / 5 == l as usize;
                noise[j] + if bright { 150 } else { 20 }
            })
        })
        .collect();
    (pixels, labels)
}

fn small_protocol() -> (Protocol, Dims) {
    let protocol = Protocol {
        budgets: vec![30, 90, 600],
        noise: vec![0.0, 0.2],
        seeds: vec![0, 1],
        methods: Method::ALL.to_vec(),
        batch_size: 16,
        pretrain_epochs: 2,
        min_epochs: 2,
        min_steps: 40,
        ..Protocol::default()
    };
    let dims = Dims {
        input: 16,
        hidden1: 12,
        features: 8,
        hidden2: 8,
        classes: 3,
    };
    (protocol, dims)
}

fn run_small(threads: usize) -> Vec<Row> {
    let (protocol, dims) = small_protocol();
    let (train_pixels, train_labels) = synthetic(600, 1);
    let (test_pixels, test_labels) = synthetic(300, 2);
    let train = Examples {
        pixels: &train_pixels,
        labels: &train_labels,
        width: 16,
    };
    let test = Examples {
        pixels: &test_pixels,
        labels: &test_labels,
        width: 16,
    };
    let pool = common::pool(threads);
    let mut pretrain_epochs = 0;
    let rows = pool
        .install(|| {
            study::run(&protocol, train, test, dims, &mut |event| {
                if let Event::PretrainEpoch { .. } = event {
                    pretrain_epochs += 1;
                }
            })
        })
        .unwrap();
    // Stage 1 pretrained once per seed, whatever the budgets and rates.
    assert_eq!(
        pretrain_epochs,
        protocol.seeds.len() * protocol.pretrain_epochs
    );
    rows
}

#[test]
fn every_method_takes_the_same_steps_at_a_budget() {
    let (protocol, _) = small_protocol();
    let rows = run_small(2);
    assert_eq!(rows.len(), protocol.runs().len());
    for &n in &protocol.budgets {
        let steps: Vec<usize> = rows
            .iter()
            .filter(|r| r.labels == n)
            .map(|r| r.steps)
            .collect();
        assert!(
            steps.iter().all(|&s| s == protocol.steps(n)),
            "N = {n}: {steps:?}"
        );
    }
    // max(2 epochs, 40 steps) at batch 16: 40, 40, 2 × 38 = 76.
    assert_eq!(protocol.steps(30), 40);
    assert_eq!(protocol.steps(600), 76);
    // The default rule: 3 000 steps up to 10 000 labels, 5 epochs (9 375 steps) at 60 000.
    let default = Protocol::default();
    assert_eq!(default.steps(100), 3000);
    assert_eq!(default.steps(10_000), 3000);
    assert_eq!(default.steps(60_000), 9375);
    // Something is learnt in so few steps (a third is chance).
    assert!(
        rows.iter()
            .filter(|r| r.labels == 600)
            .any(|r| r.accuracy > 0.6),
        "{rows:?}"
    );
}

#[test]
fn a_study_is_the_same_bits_for_a_seed_whatever_the_thread_count() {
    let strip = |rows: Vec<Row>| -> Vec<Row> {
        rows.into_iter()
            .map(|r| Row { seconds: 0.0, ..r })
            .collect()
    };
    let one = strip(run_small(1));
    let two = strip(run_small(2));
    assert_eq!(one, two);
    // Different seeds differ.
    let seed = |s: u64| -> Vec<u64> {
        one.iter()
            .filter(|r| r.seed == s)
            .map(|r| r.accuracy.to_bits())
            .collect()
    };
    assert_ne!(seed(0), seed(1));
}

// The command on real MNIST.

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn study_command(dir: &Path, data: &Path, extra: &[&str]) -> Output {
    let out = dir.join("study.html");
    let metrics = dir.join("study.jsonl");
    let mut args = vec![
        "study",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--metrics",
        metrics.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    twostage(&args)
}

/// A small study on MNIST: 2 budgets × 2 rates × 4 methods × 2 seeds, 1 autoencoder epoch,
/// 60 steps a classifier.
const SMALL: &[&str] = &[
    "--labels",
    "100,300",
    "--noise",
    "0,0.2",
    "--seeds",
    "2",
    "--pretrain-epochs",
    "1",
    "--min-steps",
    "60",
    "--min-epochs",
    "1",
];

/// The number after `key":` in a JSON object line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"')
}

#[test]
fn the_rows_agree_with_the_table_and_the_page_renders_in_headless_chromium() {
    let Some(data) = common::mnist_dir() else { return };
    let dir = common::temp_dir("study");
    let output = study_command(&dir, &data, SMALL);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        text(&output.stderr)
    );
    let jsonl = std::fs::read_to_string(dir.join("study.jsonl")).unwrap();
    let lines: Vec<&str> = jsonl.lines().collect();
    assert_eq!(lines.len(), 2 * 2 * 4 * 2);
    for line in &lines {
        for key in [
            "method", "labels", "noise", "seed", "steps", "accuracy", "loss", "seconds",
        ] {
            assert!(line.contains(&format!("\"{key}\":")), "{line}");
        }
        let accuracy: f64 = field(line, "accuracy").parse().unwrap();
        assert!((0.0..=1.0).contains(&accuracy), "{line}");
    }
    // Every cell of the table is the mean ± std of its rows.
    for noise in ["0", "0.2"] {
        let block_title = format!("label noise {}%", if noise == "0" { "0" } else { "20" });
        let block = stdout
            .split("Test accuracy")
            .find(|b| b.contains(&block_title))
            .unwrap_or_else(|| panic!("no block for noise {noise}: {stdout}"));
        for n in ["100", "300"] {
            let line = block
                .lines()
                .find(|l| l.split_whitespace().next() == Some(n))
                .unwrap();
            let mut means = Vec::new();
            for method in ["autoencoder", "random", "supervised", "finetune"] {
                let accuracies: Vec<f64> = lines
                    .iter()
                    .filter(|l| {
                        field(l, "method") == method
                            && field(l, "labels") == n
                            && field(l, "noise") == noise
                    })
                    .map(|l| field(l, "accuracy").parse().unwrap())
                    .collect();
                assert_eq!(accuracies.len(), 2);
                let (mean, std) = mean_std(&accuracies);
                let cell = format!("{:.2} ± {:.2}", 100.0 * mean, 100.0 * std);
                assert!(
                    line.contains(&cell),
                    "{method} N={n} p={noise}: {cell} not in {line}"
                );
                means.push(mean);
            }
            let gain = format!("{:+.2}", 100.0 * (means[0] - means[2]));
            assert!(
                line.trim_end().ends_with(&gain),
                "{gain} not at the end of {line}"
            );
        }
    }

    let page = dir.join("study.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<polyline class=\"curve\"").count(), 2 * 4);
    assert!(
        html.contains("id=\"findings\"><p>"),
        "the sentences under the plot"
    );
    assert!(
        !html.contains("<script src") && !html.contains("<link "),
        "offline, one file"
    );
    let Some(binary) = common::chromium() else {
        assert!(!common::in_ci(), "CI=true but no Chromium");
        eprintln!("skipping the screenshot: no Chromium");
        return;
    };
    let shot = dir.join("shot.png");
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let screenshot = format!("--screenshot={}", shot.display());
    let out = common::run_chromium(
        &binary,
        &dir,
        &[&screenshot, "--window-size=1200,900"],
        &url,
    );
    let (image, colours) = common::screenshot(&shot, &out);
    assert!(colours > 50, "a blank page: {colours} colours");
    let ch = image.channels;
    // The curves are drawn: pixels of each method's colour.
    for rgb in [[0x1f, 0x77, 0xb4], [0xd6, 0x27, 0x28], [0x2c, 0xa0, 0x2c]] {
        let hits = image.pixels.chunks(ch).filter(|p| p[..3] == rgb).count();
        assert!(hits > 100, "{rgb:?}: {hits} pixels");
    }
}

#[test]
fn bad_input_gets_an_error_naming_the_flag() {
    let dir = common::temp_dir("study-errors");
    let data_dir = common::mnist_dir();
    let data = data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("/nonexistent"));
    let cases: Vec<(&[&str], &str, &str)> = vec![
        (&["--labels", "0,100"], "--labels", "0"),
        (&["--noise", "1"], "--noise", "[0, 1)"),
        (&["--noise", "-0.1"], "--noise", "[0, 1)"),
        (
            &["--methods", "autoencoder,magic"],
            "--methods",
            "unknown method",
        ),
    ];
    for (args, flag, says) in cases {
        let output = study_command(&dir, &data, args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr.contains(flag) && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
    let Some(data) = data_dir else { return };
    for (args, says) in [
        (&["--labels", "100,60010"][..], "more than the 60000"),
        (&["--labels", "105"][..], "not a multiple of the 10 classes"),
    ] {
        let output = study_command(&dir, &data, args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success());
        assert!(
            stderr.contains("--labels") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
    // --out onto an input.
    let input = ["train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"]
        .iter()
        .map(|f| data.join(f))
        .find(|p| p.exists())
        .unwrap();
    let output = twostage(&[
        "study",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        input.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("--out") && stderr.contains("input"),
        "{stderr}"
    );
}
