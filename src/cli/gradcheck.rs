//! `twostage gradcheck`: the engine's gradient checks as a command. Every layer, both losses and
//! the whole network on a batch (real MNIST when there is some, else a built-in one), in
//! `f64`, one line per tensor. `--break` swaps in a
//! deliberately wrong backward, defined here and only here (teaching code, never on the
//! training path), so a student sees what a failing check looks like.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ndarray::{Array2, ArrayView2, Axis};
use twostage::gradcheck::{
    CheckOptions, TensorCheck, check_layer, check_parameters, numerical_gradient,
};
use twostage::model::{Dims, Stage1Grad, TwoStageNetwork};
use twostage::nn::{
    Dense, Layer, MseLoss, ParamMut, Parameters, Relu, Sequential, SoftmaxCrossEntropy,
};
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};

use super::console::outln;
use super::error::{Error, invalid};
use super::numbers::{count, seed};
use super::{DataSource, DatasetChoice, data_source, load_split};
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

/// ReLU without its mask: the bug `--break relu` plants.
struct MasklessRelu {
    inner: Relu<f64>,
    dx: Array2<f64>,
}

impl Parameters<f64> for MasklessRelu {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, ParamMut<'_, f64>)) {}
}

impl Layer<f64> for MasklessRelu {
    fn describe(&self) -> String {
        "ReLU() [broken]".into()
    }
    fn forward(&mut self, x: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.inner.forward(x)
    }
    fn backward(&mut self, dy: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.dx = dy.to_owned(); // WRONG: dx = dy ⊙ [y > 0]
        self.dx.view()
    }
}

/// Dense whose `db` takes only the first example: the bug `--break dense` plants.
struct FirstRowBiasDense {
    inner: Dense<f64>,
}

impl Parameters<f64> for FirstRowBiasDense {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, f64>)) {
        self.inner.visit_params(f)
    }
}

impl Layer<f64> for FirstRowBiasDense {
    fn describe(&self) -> String {
        format!("{} [broken]", self.inner.describe())
    }
    fn forward(&mut self, x: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.inner.forward(x)
    }
    fn backward(&mut self, dy: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.break_bias(dy);
        self.inner.backward(dy)
    }
    fn backward_params(&mut self, dy: ArrayView2<f64>) {
        self.break_bias(dy);
        self.inner.backward_params(dy);
    }
}

impl FirstRowBiasDense {
    /// Cancels the rows after the first of what the correct backward will add to `db`.
    fn break_bias(&mut self, dy: ArrayView2<f64>) {
        for row in dy.axis_iter(Axis(0)).skip(1) {
            self.inner.dbias -= &row; // WRONG: db = Σ_b dy
        }
    }
}

/// The loss of the checks, correct or with `--break mse|ce` applied to its gradient.
#[derive(Clone, Copy)]
enum Loss {
    Mse,
    Ce,
}

/// `(L, dL/dprediction)`, with the planted bug when `broken` names this loss.
fn loss_and_gradient(
    loss: Loss,
    prediction: ArrayView2<f64>,
    target: ArrayView2<f64>,
    labels: &[usize],
    broken: Option<Break>,
) -> (f64, Array2<f64>) {
    match loss {
        Loss::Mse => {
            let mut mse = MseLoss::new();
            let value = mse.forward(prediction, target);
            let mut d = mse.backward().to_owned();
            if broken == Some(Break::Mse) {
                d /= 2.0; // WRONG: dL/dŷ = 2(ŷ − y)/N
            }
            (value, d)
        }
        Loss::Ce => {
            let mut ce = SoftmaxCrossEntropy::new();
            let value = ce.forward(prediction, labels).unwrap_or(f64::NAN);
            let mut d = ce.backward().to_owned();
            if broken == Some(Break::Ce) {
                d *= labels.len() as f64; // WRONG: dL/dz = (p − onehot(y)) / B
            }
            (value, d)
        }
    }
}

fn loss_value(
    loss: Loss,
    prediction: ArrayView2<f64>,
    target: ArrayView2<f64>,
    labels: &[usize],
) -> f64 {
    loss_and_gradient(loss, prediction, target, labels, None).0
}

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
        let mut layer = MasklessRelu {
            inner: Relu::new(),
            dx: Array2::zeros((0, 0)),
        };
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

/// The MNIST-sized network, with the bug of `--break relu|dense` planted in it.
fn broken_network(broken: Option<Break>, rng: &mut SmallRng) -> TwoStageNetwork<f64> {
    let mut network = TwoStageNetwork::<f64>::new(Dims::MNIST, rng);
    match broken {
        Some(Break::Relu) => {
            for part in [
                &mut network.stage1,
                &mut network.stage2,
                &mut network.decoder,
            ] {
                part.layers[1] = Box::new(MasklessRelu {
                    inner: Relu::new(),
                    dx: Array2::zeros((0, 0)),
                });
            }
        }
        Some(Break::Dense) => {
            let dense = dense_of(&mut network.stage2, 2);
            network.stage2.layers[2] = Box::new(FirstRowBiasDense { inner: dense });
        }
        _ => {}
    }
    network
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
    // The autoencoder: L = MSE(decoder(stage1(x)), x), over stage 1 and the decoder.
    let autoencoder = check_parameters(
        network,
        |n| loss_value(Loss::Mse, n.reconstruction(x), x, labels),
        |n| {
            let reconstruction = n.reconstruction(x).to_owned();
            let (_, d) = loss_and_gradient(Loss::Mse, reconstruction.view(), x, labels, broken);
            n.reconstruction_backward(d.view());
        },
        sampled,
    )
    .unwrap_or_default();
    let mine: Vec<TensorCheck> = autoencoder
        .into_iter()
        .filter(|c| !c.name.starts_with("stage2."))
        .collect();
    let section = format!("the autoencoder on {what}, L = MSE(x̂, x)");
    report(outcome, &section, "", &mine, true);
    // The classifier end to end: L = CE(stage2(stage1(x)), y), over both stages, and dx.
    let classifier = check_parameters(
        network,
        |n| loss_value(Loss::Ce, n.logits(x), x, labels),
        |n| {
            let logits = n.logits(x).to_owned();
            let (_, d) = loss_and_gradient(Loss::Ce, logits.view(), x, labels, broken);
            n.logits_backward(d.view(), Stage1Grad::Trainable);
        },
        sampled,
    )
    .unwrap_or_default();
    let mut mine: Vec<TensorCheck> = classifier
        .into_iter()
        .filter(|c| !c.name.starts_with("decoder."))
        .collect();
    mine.push(input_gradient(network, x, labels, broken, sampled));
    let section = "the classifier end to end, L = CE(stage2(stage1(x)), y)";
    report(outcome, section, "", &mine, true);
}

/// A copy of the `Dense` layer at `index` of `part`, rebuilt from its parameters.
fn dense_of(part: &mut Sequential<f64>, index: usize) -> Dense<f64> {
    let (mut weight, mut bias) = (Array2::zeros((0, 0)), ndarray::Array1::zeros(0));
    let (weight_name, bias_name) = (format!("{index}.weight"), format!("{index}.bias"));
    part.visit_params(&mut |name, p| {
        if name == weight_name {
            let shape = (p.value.shape()[0], p.value.shape()[1]);
            weight = Array2::from_shape_vec(shape, p.value.iter().copied().collect())
                .unwrap_or_default();
        } else if name == bias_name {
            bias = p.value.iter().copied().collect();
        }
    });
    Dense::from_weights(weight, bias)
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

/// Why the tensors a planted bug does not reach stay correct: backpropagation computes each
/// gradient from the ones after it, so a bug spoils exactly the gradients computed from it.
fn why_the_rest_is_correct(broken: Break) -> &'static str {
    match broken {
        Break::Relu => {
            "why the rest is ok: the backward pass runs from the loss towards the input, so a\n\
             \x20 layer after the last ReLU gets its gradient before any broken ReLU has passed\n\
             \x20 dy back unmasked: it stays correct; every tensor the gradient reaches through\n\
             \x20 a ReLU is WRONG"
        }
        Break::Dense => {
            "why the rest is ok: db is a dead end of the backward pass (dx = dy·W does not use\n\
             \x20 it), so the wrong bias gradient flows into no other tensor: only the bias is\n\
             \x20 WRONG"
        }
        Break::Mse => {
            "why the rest is ok: dL/dx̂ is the first gradient of the autoencoder's backward\n\
             \x20 pass and every later one is computed from it, so all of the autoencoder is\n\
             \x20 WRONG by the same factor; the classifier does not use MSE and stays correct"
        }
        Break::Ce => {
            "why the rest is ok: dL/dlogits is the first gradient of the classifier's backward\n\
             \x20 pass and every later one is computed from it, so all of the classifier is\n\
             \x20 WRONG by the same factor B; the autoencoder does not use cross-entropy and\n\
             \x20 stays correct"
        }
    }
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
