#![cfg(feature = "data")]
//! PyTorch parity: every reference file in `TORCH_REFERENCE_DIR` (see its README) is replayed —
//! the same initial weights, the same first batch, the same epochs in file order — and every
//! logit, gradient, loss and weight is compared with what PyTorch computed.
//!
//! The run's settings (batch, lr, limit, stage-1 mode) come from each file's metadata, so new
//! reference runs are checked without changing this file. Run with `--nocapture` to see the
//! worst difference per tensor group.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::Array2;
use twostage::batches::{gather_labels, gather_normalised};
use twostage::checkpoint::{self, Tensor, TensorFile};
use twostage::data::mnist::Mnist;
use twostage::nn::{MseLoss, Parameters, SoftmaxCrossEntropy};
use twostage::train::{self, EpochStats, Examples, Observer, Schedule, Stage, Stage1Mode};
use twostage::{Dims, Part, Stage1Grad, TwoStageNetwork};

const LOGIT_TOLERANCE: f32 = 1e-6;
const GRAD_TOLERANCE: f32 = 1e-6;
const LOSS_TOLERANCE: f32 = 1e-5;
const WEIGHT_TOLERANCE: f32 = 1e-4;

/// One reference run's settings, from the file's metadata.
struct Settings {
    batch: usize,
    lr: f64,
    limit: usize,
    stage1: Stage1Mode,
}

fn settings(file: &TensorFile, path: &Path) -> Settings {
    let get = |key: &str| {
        file.metadata
            .get(key)
            .unwrap_or_else(|| panic!("{}: metadata lacks {key:?}", path.display()))
    };
    let stage1 = match get("stage1").as_str() {
        "autoencoder" => Stage1Mode::Autoencoder,
        "seed" | "placeholder" => Stage1Mode::Seed,
        "none" => Stage1Mode::None,
        other => panic!("{}: unknown stage1 {other:?}", path.display()),
    };
    Settings {
        batch: get("batch").parse().expect("batch is an integer"),
        lr: get("lr").parse().expect("lr is a number"),
        limit: get("limit").parse().expect("limit is an integer"),
        stage1,
    }
}

/// The network at the reference's `init.*` weights.
fn network_at_init(file: &TensorFile, path: &Path) -> TwoStageNetwork<f32> {
    let mut rng = <twostage::rand::rngs::SmallRng as twostage::rand::SeedableRng>::seed_from_u64(0);
    let mut network = TwoStageNetwork::new(Dims::MNIST, &mut rng);
    checkpoint::load_into(&mut network, file, "init.", &Part::ALL, path).expect("init.* loads");
    network
}

fn tensor<'a>(file: &'a TensorFile, name: &str) -> &'a Tensor {
    file.tensors
        .get(name)
        .unwrap_or_else(|| panic!("reference lacks {name}"))
}

/// Largest |a − b|, asserting equal lengths.
fn max_abs_diff(ours: &[f32], theirs: &[f32], what: &str) -> f32 {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths differ");
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        // A NaN anywhere is the worst possible difference, not one `max` may skip.
        .map(|d| if d.is_nan() { f32::INFINITY } else { d })
        .fold(0.0, f32::max)
}

/// Compares the network's tensors (values or gradients) under `parts` with `prefix.<name>`;
/// records the worst difference under `group`.
fn compare_params(
    network: &mut TwoStageNetwork<f32>,
    parts: &[Part],
    grads: bool,
    file: &TensorFile,
    prefix: &str,
    tolerance: f32,
    worst: &mut BTreeMap<String, f32>,
) {
    let mut failures = Vec::new();
    network.parts(parts).visit_params(&mut |name, p| {
        let key = format!("{prefix}.{name}");
        let ours: Vec<f32> = if grads {
            p.grad.iter().copied().collect()
        } else {
            p.value.iter().copied().collect()
        };
        let diff = max_abs_diff(&ours, &tensor(file, &key).data, &key);
        let entry = worst.entry(prefix.to_string()).or_insert(0.0);
        *entry = entry.max(diff);
        if diff > tolerance {
            failures.push(format!("{key}: max |diff| {diff:e} > {tolerance:e}"));
        }
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

struct LossRecorder(Vec<f32>);
impl Observer for LossRecorder {
    fn batch_end(&mut self, _stage: Stage, _epoch: usize, _batch: usize, loss: f32) {
        self.0.push(loss);
    }
    fn epoch_end(&mut self, _stats: &EpochStats) {}
}

fn compare_losses(ours: &[f32], file: &TensorFile, key: &str, worst: &mut BTreeMap<String, f32>) {
    let theirs = &tensor(file, key).data;
    let diff = max_abs_diff(ours, theirs, key);
    worst.insert(key.to_string(), diff);
    assert!(
        diff <= LOSS_TOLERANCE,
        "{key}: max |diff| {diff:e} > {LOSS_TOLERANCE:e}"
    );
}

fn check_reference(path: &Path, mnist: &Mnist) -> BTreeMap<String, f32> {
    let file = checkpoint::read(path).expect("reference file reads");
    let settings = settings(&file, path);
    let mut worst = BTreeMap::new();
    let train_set = Examples {
        pixels: &mnist.images,
        labels: &mnist.labels,
        width: 784,
    }
    .first(settings.limit);

    // --- the first batch, at init ---
    let first: Vec<usize> = (0..settings.batch.min(settings.limit)).collect();
    let mut x = Array2::zeros((0, 0));
    gather_normalised(train_set.pixels, 784, &first, &mut x);
    let mut y = Vec::new();
    gather_labels(train_set.labels, &first, &mut y);
    let mut network = network_at_init(&file, path);

    let logits = network.logits(x.view()).to_owned();
    let diff = max_abs_diff(
        logits.as_slice().unwrap(),
        &tensor(&file, "first_batch_logits").data,
        "logits",
    );
    worst.insert("first_batch_logits".into(), diff);
    assert!(
        diff <= LOGIT_TOLERANCE,
        "first_batch_logits: max |diff| {diff:e}"
    );

    // grad_ae: MSE(decoder(stage1(x)), x), backward through decoder and stage 1.
    network.zero_grad();
    let mut mse = MseLoss::new();
    let reconstruction = network.reconstruction(x.view());
    mse.forward(reconstruction, x.view());
    network.reconstruction_backward(mse.backward());
    compare_params(
        &mut network,
        &[Part::Stage1, Part::Decoder],
        true,
        &file,
        "grad_ae",
        GRAD_TOLERANCE,
        &mut worst,
    );

    // grad_ce_frozen: CE(stage2(stage1(x).detach()), y): stage 2 only, stage 1 untouched.
    network.zero_grad();
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    cross_entropy.forward(network.logits(x.view()), &y).unwrap();
    network.logits_backward(cross_entropy.backward(), Stage1Grad::Frozen);
    compare_params(
        &mut network,
        &[Part::Stage2],
        true,
        &file,
        "grad_ce_frozen",
        GRAD_TOLERANCE,
        &mut worst,
    );
    network.stage1.visit_params(&mut |name, p| {
        assert!(
            p.grad.iter().all(|&g| g == 0.0),
            "frozen stage1.{name} received a gradient"
        );
    });

    // grad_ce_full: CE(stage2(stage1(x)), y): through both stages.
    network.zero_grad();
    cross_entropy.forward(network.logits(x.view()), &y).unwrap();
    network.logits_backward(cross_entropy.backward(), Stage1Grad::Trainable);
    compare_params(
        &mut network,
        &[Part::Stage1, Part::Stage2],
        true,
        &file,
        "grad_ce_full",
        GRAD_TOLERANCE,
        &mut worst,
    );

    // --- one stage-1 epoch, then one stage-2 epoch, file order, fresh Adam each ---
    let mut network = network_at_init(&file, path);
    let schedule = Schedule {
        stage1: settings.stage1,
        stage1_epochs: 1,
        stage2_epochs: 0,
        finetune_epochs: 0,
        batch_size: settings.batch,
        lr: settings.lr,
        finetune_lr: settings.lr,
        shuffle: false,
        seed: 0,
    };
    // Runs `schedule` on the network, then compares its batch losses with `{stage}_losses`
    // and its weights with `after_{stage}`.
    let mut run_and_compare = |network: &mut TwoStageNetwork<f32>, schedule, stage: &str| {
        let mut recorder = LossRecorder(Vec::new());
        train::run(network, train_set, schedule, &mut recorder).unwrap();
        let (losses, after) = (format!("{stage}_losses"), format!("after_{stage}"));
        compare_losses(&recorder.0, &file, &losses, &mut worst);
        compare_params(
            network,
            &Part::ALL,
            false,
            &file,
            &after,
            WEIGHT_TOLERANCE,
            &mut worst,
        );
    };
    run_and_compare(&mut network, &schedule, "stage1");
    let schedule = Schedule {
        stage1: Stage1Mode::None,
        stage2_epochs: 1,
        ..schedule
    };
    run_and_compare(&mut network, &schedule, "stage2");
    worst
}

#[test]
fn matches_pytorch_on_every_reference_run() {
    let (Some(files), Some(mnist)) = (common::reference_files(), common::mnist_train()) else {
        return;
    };
    for path in &files {
        let worst = check_reference(path, &mnist);
        eprintln!("{}:", path.file_name().unwrap().to_string_lossy());
        for (group, diff) in worst {
            eprintln!("  {group:<20} max |diff| {diff:.3e}");
        }
    }
}

/// Stage 2 trains on features computed once for the whole set; they must be bit-identical to
/// the features computed batch by batch, as the reference does.
#[test]
fn precomputed_features_equal_per_batch_features() {
    let Some(mnist) = common::mnist_train() else { return };
    let examples = mnist.examples().first(1000);
    let mut rng = <twostage::rand::rngs::SmallRng as twostage::rand::SeedableRng>::seed_from_u64(7);
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut rng);
    let all_at_once = train::features_of(&mut network, examples);
    let all: Vec<usize> = (0..examples.len()).collect();
    let mut x = Array2::zeros((0, 0));
    for batch in [1, 32, 33, 256] {
        let mut batched = Vec::new();
        for indices in all.chunks(batch) {
            gather_normalised(examples.pixels, 784, indices, &mut x);
            batched.extend(network.features(x.view()).iter().copied());
        }
        assert_eq!(
            all_at_once.as_slice().unwrap(),
            &batched[..],
            "features differ between one chunk of 1000 and chunks of {batch}"
        );
    }
}
