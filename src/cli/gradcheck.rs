//! `twostage gradcheck`: the engine's gradient checks as a command. Every layer, both losses and
//! the whole network on a batch (real MNIST when there is some, else a built-in one), in
//! `f64`, one line per tensor. `--break` swaps in a deliberately wrong backward (see
//! [`broken`]), so a student sees what a failing check looks like.

mod broken;

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ndarray::{Array2, ArrayView2};
use twostage::gradcheck::{
    CheckOptions, TensorCheck, check_layer, check_parameters, numerical_gradient,
};
use twostage::model::{Stage1Grad, TwoStageNetwork};
use twostage::nn::{Dense, Layer, Relu};
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};

use super::console::outln;
use super::error::{Error, invalid};
use super::numbers::{count, seed};
use super::{DataSource, DatasetChoice, data_source, load_split};
use broken::{
    FirstRowBiasDense, Loss, MasklessRelu, broken_network, loss_and_gradient, loss_value,
    why_the_rest_is_correct,
};
use twostage::data::mnist::{Split, find_file};

/// `--break` values: which backward to get wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Break {
    /// ReLU forgets its mask: dx = dy, also where the unit was off
    Relu,
    /// Dense adds only the first example's dy to db (the sum over the batch forgotten)
    Dense,
    /// MSE forgets the 2 of d(ŷ − y)²/dŷ
    Mse,
    /// Cross-entropy forgets to divide by the batch size B
    Ce,
}

#[derive(Args, Debug, Clone)]
pub struct GradcheckArgs {
    /// Where the MNIST test files are (the network is checked on the first test images)
    /// [default: $MNIST_DIR, else data/mnist, if they hold them; else a built-in batch]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Accept test files whose checksums differ from the published MNIST ones [default: off]
    #[arg(long)]
    pub no_verify: bool,
    /// Images in the batch, 1 to 32: past that the finite differences' rounding grows with
    /// the batch and ReLU kinks get likely, so a correct gradient could be called WRONG
    #[arg(long, default_value_t = 4, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = count::<1, 32>)]
    pub batch: usize,
    /// Entries checked per tensor of the network, chosen at random (1 to 1000)
    #[arg(long, default_value_t = 24, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = count::<1, 1000>)]
    pub samples: usize,
    /// Seeds the weights, the random inputs and the entries checked
    #[arg(long, default_value_t = 0, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = seed)]
    pub seed: u64,
    /// Swap in a deliberately wrong backward, to see a check fail [default: none]
    #[arg(long = "break", value_enum, value_name = "PART")]
    pub broken: Option<Break>,
}

/// The worst error a correct backward shows here is ~1e-9 (f64); a wrong one, 1e-2 or worse.
const TOLERANCE: f64 = 1e-6;

/// What the checks printed, and the tensors that failed (named with their layer or loss).
#[derive(Default)]
pub struct Outcome {
    /// One line per section heading and per tensor.
    pub lines: Vec<String>,
    /// `Linear(6, 4) bias`, `stage1.0.weight`, …: each failing tensor once.
    pub failed: Vec<String>,
}

/// Prints one line per tensor under `section`; `owner` prefixes the names of failing tensors
/// (empty for the network, whose names are already full).
fn report(outcome: &mut Outcome, section: &str, owner: &str, checks: &[TensorCheck], scaled: bool) {
    outcome.lines.push(section.to_string());
    for check in checks {
        let error = if scaled {
            check.scaled_rel_error
        } else {
            check.max_rel_error
        };
        let pass = error <= TOLERANCE;
        let name = format!("{owner}{}", check.name);
        if !pass && !outcome.failed.contains(&name) {
            outcome.failed.push(name);
        }
        outcome.lines.push(format!(
            "  {:<18} rel error {error:.1e}  {}",
            check.name,
            if pass { "ok" } else { "WRONG" }
        ));
    }
}

fn random(shape: (usize, usize), rng: &mut SmallRng) -> Array2<f64> {
    Array2::from_shape_fn(shape, |_| rng.random_range(-1.0..1.0))
}

/// Moves every entry at least 0.1 away from ReLU's kink at 0, where no derivative exists.
fn off_the_kink(mut x: Array2<f64>) -> Array2<f64> {
    x.mapv_inplace(|v| v + 0.1 * v.signum());
    x
}

/// The checks, as lines of text, and the tensors that failed. `images` is the network's batch,
/// `what` says what it is (`4 MNIST test images`).
pub fn checks(plan: &Plan, images: ArrayView2<f64>, labels: &[usize], what: &str) -> Outcome {
    let mut rng = SmallRng::seed_from_u64(plan.seed);
    let options = CheckOptions {
        samples_per_tensor: None,
        seed: plan.seed,
        ..CheckOptions::default()
    };
    let mut outcome = Outcome::default();
    check_single_layers(&mut outcome, plan.broken, &options, &mut rng);
    check_losses(&mut outcome, plan.broken, &options, &mut rng);
    let sampled = CheckOptions {
        samples_per_tensor: Some(plan.samples),
        ..options
    };
    let mut network = broken_network(plan.broken, &mut rng);
    check_network(
        &mut outcome,
        &mut network,
        images,
        labels,
        what,
        plan.broken,
        &sampled,
    );
    outcome
}

/// Each layer alone, `L = Σ layer(x) ⊙ r` for a random `r`.
fn check_single_layers(
    outcome: &mut Outcome,
    broken: Option<Break>,
    options: &CheckOptions,
    rng: &mut SmallRng,
) {
    let x = random((3, 6), rng);
    let r = random((3, 4), rng);
    let dense = Dense::<f64>::new(6, 4, rng);
    let report_dense = if broken == Some(Break::Dense) {
        let mut layer = FirstRowBiasDense { inner: dense };
        check_layer(&mut layer, x.view(), r.view(), options)
    } else {
        let mut layer = dense;
        check_layer(&mut layer, x.view(), r.view(), options)
    };
    let section = "Linear(6, 4), L = Σ y ⊙ r";
    report(outcome, section, "Linear(6, 4) ", &report_dense, false);

    let x = off_the_kink(random((3, 5), rng));
    let r = random((3, 5), rng);
    let report_relu = if broken == Some(Break::Relu) {
        let mut layer = MasklessRelu::new();
        check_layer(&mut layer, x.view(), r.view(), options)
    } else {
        check_layer(&mut Relu::<f64>::new(), x.view(), r.view(), options)
    };
    report(
        outcome,
        "ReLU(), L = Σ y ⊙ r",
        "ReLU() ",
        &report_relu,
        false,
    );
}

/// Each loss against its own scalar.
fn check_losses(
    outcome: &mut Outcome,
    broken: Option<Break>,
    options: &CheckOptions,
    rng: &mut SmallRng,
) {
    for (loss, name) in [(Loss::Mse, "MSELoss"), (Loss::Ce, "CrossEntropyLoss")] {
        let prediction = random((3, 4), rng);
        let target = random((3, 4), rng);
        let classes = [2, 0, 3];
        let (_, analytic) =
            loss_and_gradient(loss, prediction.view(), target.view(), &classes, broken);
        let mut flat: Vec<f64> = prediction.iter().copied().collect();
        let numeric = numerical_gradient(&mut flat, options.h, |v| {
            let p = ArrayView2::from_shape((3, 4), v).expect("the shape of the prediction");
            loss_value(loss, p, target.view(), &classes)
        });
        let exact: Vec<f64> = analytic.iter().copied().collect();
        let check = TensorCheck::compare("dprediction", &exact, &numeric);
        let (section, owner) = (format!("{name}, its own scalar"), format!("{name} "));
        report(outcome, &section, &owner, &[check], false);
    }
}

/// What the network is trained to do, each checked over its own parameters.
#[derive(Clone, Copy)]
enum Objective {
    /// `L = MSE(decoder(stage1(x)), x)`, over stage 1 and the decoder.
    Autoencoder,
    /// `L = CE(stage2(stage1(x)), y)`, over both stages (and `dx`).
    Classifier,
}

impl Objective {
    /// The loss, and the part of the network the objective does not use.
    fn loss_and_unused(self) -> (Loss, &'static str) {
        match self {
            Objective::Autoencoder => (Loss::Mse, "stage2."),
            Objective::Classifier => (Loss::Ce, "decoder."),
        }
    }

    /// The network's output the loss is taken of.
    fn output(self, n: &mut TwoStageNetwork<f64>, x: ArrayView2<f64>) -> Array2<f64> {
        match self {
            Objective::Autoencoder => n.reconstruction(x).to_owned(),
            Objective::Classifier => n.logits(x).to_owned(),
        }
    }

    /// Backpropagates `doutput` through the parts the objective trains.
    fn backward(self, n: &mut TwoStageNetwork<f64>, doutput: ArrayView2<f64>) {
        match self {
            Objective::Autoencoder => n.reconstruction_backward(doutput),
            Objective::Classifier => n.logits_backward(doutput, Stage1Grad::Trainable),
        }
    }
}

/// The whole network on the batch: the autoencoder, then the classifier end to end with `dx`.
fn check_network(
    outcome: &mut Outcome,
    network: &mut TwoStageNetwork<f64>,
    x: ArrayView2<f64>,
    labels: &[usize],
    what: &str,
    broken: Option<Break>,
    sampled: &CheckOptions,
) {
    for objective in [Objective::Autoencoder, Objective::Classifier] {
        let (loss, unused) = objective.loss_and_unused();
        let checks = check_parameters(
            network,
            |n| loss_value(loss, objective.output(n, x).view(), x, labels),
            |n| {
                let output = objective.output(n, x);
                let (_, d) = loss_and_gradient(loss, output.view(), x, labels, broken);
                objective.backward(n, d.view());
            },
            sampled,
        )
        .unwrap_or_default();
        let mut mine: Vec<TensorCheck> = checks
            .into_iter()
            .filter(|c| !c.name.starts_with(unused))
            .collect();
        let section = match objective {
            Objective::Autoencoder => format!("the autoencoder on {what}, L = MSE(x̂, x)"),
            Objective::Classifier => {
                mine.push(input_gradient(network, x, labels, broken, sampled));
                "the classifier end to end, L = CE(stage2(stage1(x)), y)".to_string()
            }
        };
        report(outcome, &section, "", &mine, true);
    }
}

/// `dL/dx` of the classifier at sampled pixels, against centered differences.
fn input_gradient(
    network: &mut TwoStageNetwork<f64>,
    x: ArrayView2<f64>,
    labels: &[usize],
    broken: Option<Break>,
    options: &CheckOptions,
) -> TensorCheck {
    let logits = network.logits(x).to_owned();
    let (_, dlogits) = loss_and_gradient(Loss::Ce, logits.view(), x, labels, broken);
    let dfeatures = network.stage2.backward(dlogits.view()).to_owned();
    let dx = network.stage1.backward(dfeatures.view()).to_owned();
    let mut rng = SmallRng::seed_from_u64(options.seed.wrapping_add(1));
    let count = options.samples_per_tensor.unwrap_or(24).min(dx.len());
    let mut nudged = x.to_owned();
    let (mut exact, mut numeric) = (Vec::new(), Vec::new());
    for _ in 0..count {
        let at = (
            rng.random_range(0..x.nrows()),
            rng.random_range(0..x.ncols()),
        );
        let original = nudged[at];
        nudged[at] = original + options.h;
        let plus = loss_value(Loss::Ce, network.logits(nudged.view()), x, labels);
        nudged[at] = original - options.h;
        let minus = loss_value(Loss::Ce, network.logits(nudged.view()), x, labels);
        nudged[at] = original;
        numeric.push((plus - minus) / (2.0 * options.h));
        exact.push(dx[at]);
    }
    TensorCheck::compare("dx (the image)", &exact, &numeric)
}

/// What `twostage gradcheck` runs, validated.
pub struct Plan {
    /// The MNIST test images to check the network on, or `None` for the built-in batch.
    pub data: Option<DataSource>,
    /// Images in the batch.
    pub batch: usize,
    /// Entries checked per tensor of the network.
    pub samples: usize,
    /// Seeds everything.
    pub seed: u64,
    /// The planted bug, if any.
    pub broken: Option<Break>,
}

impl Plan {
    /// Checks the flags. The network is checked on real MNIST when `--data-dir` is given, or
    /// when MNIST's default directory ($MNIST_DIR, else data/mnist) holds the test files;
    /// otherwise on a built-in batch: nothing is downloaded and no directory created unasked.
    pub fn of(args: &GradcheckArgs) -> Result<Plan, Error> {
        if args.batch == 0 {
            return Err(invalid("--batch", "must be at least 1"));
        }
        if args.samples == 0 {
            return Err(invalid("--samples", "must be at least 1"));
        }
        let source = data_source(
            Some(DatasetChoice::Mnist),
            &args.data_dir,
            args.no_verify,
            None,
        )?;
        let present = Split::Test
            .file_names()
            .iter()
            .all(|name| find_file(&source.dir, name).is_some());
        Ok(Plan {
            data: (args.data_dir.is_some() || present).then_some(source),
            batch: args.batch,
            samples: args.samples,
            seed: args.seed,
            broken: args.broken,
        })
    }
}

/// `n` images of the built-in batch, normalised as MNIST's are, and their labels: smooth random
/// blobs, the same for a seed, so the checks need no download.
fn built_in_batch(n: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
    let mut rng = SmallRng::seed_from_u64(seed.wrapping_add(0x5eed));
    let images = Array2::from_shape_fn((n, 784), |_| {
        let ink: f64 = rng.random_range(0.0..1.0);
        (ink * ink * 2.0 - 1.0).clamp(-1.0, 1.0)
    });
    let labels = (0..n).map(|i| i % 10).collect();
    (images, labels)
}

/// The batch the network is checked on, and what it is.
fn batch(plan: &Plan) -> Result<(Array2<f64>, Vec<usize>, String), Error> {
    let Some(source) = &plan.data else {
        let (images, labels) = built_in_batch(plan.batch, plan.seed);
        let what = format!("{} built-in images", plan.batch);
        return Ok((images, labels, what));
    };
    let test = load_split(source, Split::Test)?;
    if plan.batch > test.len() {
        return Err(invalid(
            "--batch",
            format!(
                "{} is more images than the test set in {} has ({})",
                plan.batch,
                source.dir.display(),
                test.len()
            ),
        ));
    }
    let n = plan.batch;
    let images = Array2::from_shape_fn((n, 784), |(i, j)| {
        (f64::from(test.image(i)[j]) / 255.0 - 0.5) / 0.5
    });
    let labels: Vec<usize> = (0..n).map(|i| usize::from(test.label(i))).collect();
    Ok((images, labels, format!("{n} MNIST test images")))
}

/// `twostage gradcheck`.
pub fn run(args: &GradcheckArgs) -> Result<(), Error> {
    let plan = Plan::of(args)?;
    let (images, labels, what) = batch(&plan)?;
    if plan.data.is_none() {
        outln!(
            "(no MNIST given: the network is checked on {what};\n pass --data-dir DIR \
             to check it on real MNIST test images)"
        );
    }
    let outcome = checks(&plan, images.view(), &labels, &what);
    for line in &outcome.lines {
        outln!("{line}");
    }
    if outcome.failed.is_empty() {
        outln!("every gradient agrees with its finite difference (rel error ≤ {TOLERANCE:e})");
        return Ok(());
    }
    if let Some(broken) = plan.broken {
        outln!("{}", why_the_rest_is_correct(broken));
    }
    Err(Error::Failed(format!(
        "the gradient check failed for {}",
        outcome.failed.join(", ")
    )))
}
