//! The semi-supervised study: does stage 1 help when labels are few or noisy?
//!
//! For each seed, each label budget `N` and each noise rate `p`, four classifiers of the same
//! `784-256-128-64-C` network learn from the same `N` labelled training images and are tested
//! on the whole test set:
//!
//! | [`Method`] | stage 1 | trained on the `N` labels |
//! |---|---|---|
//! | `autoencoder` | pretrained as the autoencoder on **all** training images (labels unused), frozen | stage 2 |
//! | `random` | its random init, frozen (what the reference script's zero loss leaves) | stage 2 |
//! | `supervised` | its random init | both stages end to end |
//! | `finetune` | as `autoencoder` | stage 2 for half the steps, then both stages end to end |
//!
//! The protocol, the same for every method:
//! - **subsets**: class-balanced and nested ([`subsets::balanced_order`]): the 100 are inside
//!   the 300, with `N/C` images of each class;
//! - **noise**: round(p·N) of the `N` labels replaced by a uniformly drawn other class
//!   ([`subsets::Noise`]);
//! - **steps**: every classifier takes the same number of Adam steps at a budget,
//!   [`Protocol::steps`];
//! - **init**: every method starts from the network `seed` draws (as `train --seed` does), so
//!   they differ only in what stage 1 is and what trains; each run visits its batches in the
//!   same seeded order;
//! - **no test image decides anything**: the schedule is fixed in advance, with no early
//!   stopping and no selection; the test set is only measured, after training.
//!
//! Stage 1 is pretrained once per seed and reused by every budget and rate. Every number is
//! the same bits whatever the size of the thread pool (the engine's products are).

pub mod subsets;

use std::time::Instant;

use ndarray::{Array2, ArrayView2, ArrayViewD, Axis};
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand::rngs::SmallRng;

use crate::batches::{Batch, Batches, Classification, Dataset, Examples, Order};
use crate::error::Error;
use crate::linalg::on_pool;
use crate::model::{Dims, Route, TwoStageNetwork};
use crate::nn::{Layer, Parameters, SoftmaxCrossEntropy};
use crate::optim::{Adam, Optimizer};
use crate::train::{
    CHUNK_ROWS, EpochLoss, EpochStats, Observer, Schedule, Stage, Stage1Mode, argmax,
    ensure_finite, evaluate, features_of,
};

use subsets::{Noise, balanced_order};

/// The four ways of training the classifier a study compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Stage 1 pretrained as the autoencoder on all images, frozen; stage 2 on the labels.
    Autoencoder,
    /// Stage 1 frozen at its random init; stage 2 on the labels.
    Random,
    /// The whole network end to end on the labels, from its random init.
    Supervised,
    /// `Autoencoder`, then both stages fine-tuned end to end on the labels.
    Finetune,
}

impl Method {
    /// All four, in the order tables list them.
    pub const ALL: [Method; 4] = [
        Method::Autoencoder,
        Method::Random,
        Method::Supervised,
        Method::Finetune,
    ];

    /// `autoencoder`, `random`, `supervised`, `finetune`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Autoencoder => "autoencoder",
            Method::Random => "random",
            Method::Supervised => "supervised",
            Method::Finetune => "finetune",
        }
    }

    /// The method called `name`.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether it needs the autoencoder's stage 1.
    pub fn pretrained(self) -> bool {
        matches!(self, Method::Autoencoder | Method::Finetune)
    }
}

/// Everything that decides a study.
#[derive(Clone, Debug)]
pub struct Protocol {
    /// Label budgets `N`, each a multiple of the number of classes.
    pub budgets: Vec<usize>,
    /// Label-noise rates, each in `[0, 1)`.
    pub noise: Vec<f64>,
    /// One run of every method, budget and rate per seed.
    pub seeds: Vec<u64>,
    /// The methods compared.
    pub methods: Vec<Method>,
    /// Examples per batch, in every stage.
    pub batch_size: usize,
    /// Adam's learning rate for the autoencoder and the classifiers.
    pub lr: f64,
    /// Adam's learning rate while `finetune` trains end to end.
    pub finetune_lr: f64,
    /// Epochs of the autoencoder over all training images.
    pub pretrain_epochs: usize,
    /// The step rule: at least this many epochs over the labelled subset …
    pub min_epochs: usize,
    /// … and at least this many steps.
    pub min_steps: usize,
}

impl Default for Protocol {
    /// The study of the issue: 6 budgets × 4 methods × 3 seeds, no noise; the reference
    /// script's batch size, learning rate and 5 autoencoder epochs.
    fn default() -> Protocol {
        let schedule = Schedule::default();
        Protocol {
            budgets: vec![100, 300, 1000, 3000, 10000, 60000],
            noise: vec![0.0],
            seeds: vec![0, 1, 2],
            methods: Method::ALL.to_vec(),
            batch_size: schedule.batch_size,
            lr: schedule.lr,
            finetune_lr: schedule.finetune_lr,
            pretrain_epochs: schedule.stage1_epochs,
            min_epochs: 5,
            min_steps: 3000,
        }
    }
}

impl Protocol {
    /// The Adam steps of every classifier at a budget of `n`:
    /// `max(min_epochs · ⌈n / batch⌉, min_steps)`.
    ///
    /// Why this rule: `min_epochs` (5) is the reference script's stage-2 schedule, so with all
    /// 60 000 labels every classifier trains as `train` does (9 375 steps). With few labels 5
    /// epochs are a handful of steps (16 at N = 100), too few for any classifier to fit its
    /// subset, which would measure how fast a method starts, not what it learns; `min_steps`
    /// (3 000, 960 epochs at N = 100) is enough for each method's training loss to level off at
    /// every budget below 10 000, while a whole end-to-end run stays about a second. The rule
    /// depends on `n` only, never on the method, the noise or any measurement.
    pub fn steps(&self, n: usize) -> usize {
        (self.min_epochs * n.div_ceil(self.batch_size.max(1))).max(self.min_steps)
    }

    /// Checks the protocol against a training set of `train_len` images in `classes` classes.
    ///
    /// # Errors
    /// [`Error::Schedule`] naming the field at fault.
    pub fn check(&self, train_len: usize, classes: usize) -> Result<(), Error> {
        let bad = |field, message: String| Err(Error::Schedule { field, message });
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        for &n in &self.budgets {
            if n == 0 || n > train_len {
                return bad(
                    "budgets",
                    format!("{n} is not between 1 and the {train_len} training images"),
                );
            }
            if n % classes.max(1) != 0 {
                return bad(
                    "budgets",
                    format!("{n} is not a multiple of the {classes} classes"),
                );
            }
        }
        if let Some(p) = self.noise.iter().find(|p| !(0.0..1.0).contains(*p)) {
            return bad("noise", format!("{p} is not in [0, 1)"));
        }
        for (field, empty) in [
            ("budgets", self.budgets.is_empty()),
            ("noise", self.noise.is_empty()),
            ("seeds", self.seeds.is_empty()),
            ("methods", self.methods.is_empty()),
        ] {
            if empty {
                return bad(field, "is empty".into());
            }
        }
        Ok(())
    }

    /// Every run, in the order [`run`] makes them: seed, then rate, budget, method.
    pub fn runs(&self) -> Vec<(u64, f64, usize, Method)> {
        let mut runs = Vec::new();
        for &seed in &self.seeds {
            for &p in &self.noise {
                for &n in &self.budgets {
                    for &method in &self.methods {
                        runs.push((seed, p, n, method));
                    }
                }
            }
        }
        runs
    }

    /// Whether any method needs the autoencoder (then each seed pretrains it once).
    pub fn pretrains(&self) -> bool {
        self.methods.iter().any(|m| m.pretrained()) && self.pretrain_epochs > 0
    }
}

/// One classifier's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// How it was trained.
    pub method: Method,
    /// Its label budget `N`.
    pub labels: usize,
    /// Its label-noise rate.
    pub noise: f64,
    /// Its seed.
    pub seed: u64,
    /// The Adam steps it took on the labels, counted as they were taken.
    pub steps: usize,
    /// Fraction of the test set it gets right.
    pub accuracy: f64,
    /// Its mean cross-entropy on the test set.
    pub loss: f64,
    /// Wall-clock seconds of its training and test (the pretraining not included).
    pub seconds: f64,
}

/// What a study reports as it goes.
pub enum Event<'a> {
    /// An autoencoder epoch of `seed`'s pretraining ended.
    PretrainEpoch {
        /// The seed.
        seed: u64,
        /// The epoch's stats.
        stats: &'a EpochStats,
    },
    /// A run ended.
    Run(&'a Row),
}

/// The labelled subsets of one seed: the positions of [`balanced_order`], their true labels
/// and their noise.
pub struct Subsets {
    /// Training-image indices, in the order budgets take them.
    pub order: Vec<usize>,
    /// Their true labels.
    pub labels: Vec<u8>,
    /// Their noise.
    pub noise: Noise,
}

impl Subsets {
    /// The subsets `seed` draws from `labels`.
    pub fn new(labels: &[u8], classes: usize, seed: u64) -> Subsets {
        let order = balanced_order(labels, classes, seed);
        let labels: Vec<u8> = order.iter().map(|&i| labels[i]).collect();
        let noise = Noise::new(&labels, classes, seed);
        Subsets {
            order,
            labels,
            noise,
        }
    }

    /// The `n` training images of a budget and their labels at noise rate `p`.
    pub fn take(&self, n: usize, p: f64) -> (&[usize], Vec<u8>) {
        (&self.order[..n], self.noise.apply(&self.labels[..n], p))
    }
}

/// Runs the study `protocol` describes on `train` and `test` with a network of `dims`,
/// telling `on_event` of every pretraining epoch and run. Returns one row per run, in the
/// order of [`Protocol::runs`].
///
/// # Errors
/// [`Error::Schedule`] from [`Protocol::check`]; what training reports ([`Error::Diverged`],
/// [`Error::NonFiniteParameter`], [`Error::Label`]) or evaluation.
pub fn run(
    protocol: &Protocol,
    train: Examples,
    test: Examples,
    dims: Dims,
    on_event: &mut (dyn FnMut(Event) + Send),
) -> Result<Vec<Row>, Error> {
    protocol.check(train.len(), dims.classes)?;
    if test.is_empty() {
        return Err(Error::Empty {
            what: "test set",
            purpose: "evaluate on",
        });
    }
    let mut rows = Vec::new();
    for &seed in &protocol.seeds {
        let seed_runs = SeedRuns::prepare(protocol, train, test, dims, seed, on_event)?;
        for &p in &protocol.noise {
            for &n in &protocol.budgets {
                for &method in &protocol.methods {
                    let row = seed_runs.run(method, n, p)?;
                    on_event(Event::Run(&row));
                    rows.push(row);
                }
            }
        }
    }
    Ok(rows)
}

/// Frozen features of the training and test images.
struct Features {
    train: Array2<f32>,
    test: Array2<f32>,
}

impl Features {
    fn of(network: &mut TwoStageNetwork<f32>, train: Examples, test: Examples) -> Features {
        Features {
            train: features_of(network, train),
            test: features_of(network, test),
        }
    }
}

/// What every run of one seed shares: its subsets, its pretrained stage 1, the features of
/// both stage 1s.
struct SeedRuns<'a> {
    protocol: &'a Protocol,
    train: Examples<'a>,
    test: Examples<'a>,
    dims: Dims,
    seed: u64,
    subsets: Subsets,
    /// Stage 1 after the autoencoder, as tensors in visiting order.
    pretrained: Option<Vec<ndarray::ArrayD<f32>>>,
    autoencoder: Option<Features>,
    random: Option<Features>,
}

impl<'a> SeedRuns<'a> {
    fn prepare(
        protocol: &'a Protocol,
        train: Examples<'a>,
        test: Examples<'a>,
        dims: Dims,
        seed: u64,
        on_event: &mut (dyn FnMut(Event) + Send),
    ) -> Result<SeedRuns<'a>, Error> {
        let subsets = Subsets::new(train.labels, dims.classes, seed);
        let needs = |m: Method| protocol.methods.contains(&m);
        let random =
            needs(Method::Random).then(|| Features::of(&mut init(dims, seed), train, test));
        let (mut pretrained, mut autoencoder) = (None, None);
        if needs(Method::Autoencoder) || needs(Method::Finetune) {
            let mut network = init(dims, seed);
            let schedule = Schedule {
                stage1: Stage1Mode::Autoencoder,
                stage1_epochs: protocol.pretrain_epochs,
                stage2_epochs: 0,
                finetune_epochs: 0,
                batch_size: protocol.batch_size,
                lr: protocol.lr,
                finetune_lr: protocol.finetune_lr,
                shuffle: true,
                seed,
            };
            let mut observer = Forward { seed, on_event };
            crate::train::run(&mut network, train, &schedule, &mut observer)?;
            autoencoder = Some(Features::of(&mut network, train, test));
            let mut tensors = Vec::new();
            network
                .stage1
                .visit_params(&mut |_, p| tensors.push(p.value.to_owned()));
            pretrained = Some(tensors);
        }
        Ok(SeedRuns {
            protocol,
            train,
            test,
            dims,
            seed,
            subsets,
            pretrained,
            autoencoder,
            random,
        })
    }

    /// One run: `method` on the budget of `n` at noise `p`.
    fn run(&self, method: Method, n: usize, p: f64) -> Result<Row, Error> {
        let start = Instant::now();
        let protocol = self.protocol;
        let steps = protocol.steps(n);
        let (indices, labels) = self.subsets.take(n, p);
        let mut network = init(self.dims, self.seed);
        let mut batches = Batches::new(protocol.batch_size, Order::Shuffled { seed: self.seed });
        let (taken, (accuracy, loss)) = match method {
            Method::Autoencoder | Method::Random => {
                let features = match method {
                    Method::Autoencoder => self.autoencoder.as_ref(),
                    _ => self.random.as_ref(),
                }
                .expect("prepared for every method asked for");
                let taken = self.head(
                    &mut network,
                    features,
                    indices,
                    &labels,
                    steps,
                    &mut batches,
                )?;
                let measured =
                    head_evaluation(&mut network, features.test.view(), self.test.labels)?;
                (taken, measured)
            }
            Method::Supervised => {
                let images = Images::gather(self.train, indices, labels);
                let mut adam = Adam::new(protocol.lr);
                let mut route = network.route(Route::Classifier);
                let taken = train_steps(
                    &mut route,
                    &mut adam,
                    &images.examples(),
                    &mut batches,
                    steps,
                )?;
                (taken, full_evaluation(&mut network, self.test)?)
            }
            Method::Finetune => {
                let features = self.autoencoder.as_ref().expect("pretrained");
                let tensors = self.pretrained.as_ref().expect("pretrained");
                set_stage1(&mut network, tensors);
                let head_steps = steps / 2;
                let head = self.head(
                    &mut network,
                    features,
                    indices,
                    &labels,
                    head_steps,
                    &mut batches,
                )?;
                let images = Images::gather(self.train, indices, labels);
                let mut adam = Adam::new(protocol.finetune_lr);
                let mut route = network.route(Route::Classifier);
                let rest = steps - head_steps;
                let end_to_end = train_steps(
                    &mut route,
                    &mut adam,
                    &images.examples(),
                    &mut batches,
                    rest,
                )?;
                (head + end_to_end, full_evaluation(&mut network, self.test)?)
            }
        };
        ensure_finite(&mut network, Stage::Fit)?;
        Ok(Row {
            method,
            labels: n,
            noise: p,
            seed: self.seed,
            steps: taken,
            accuracy,
            loss,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// `steps` steps of stage 2 on the frozen features of the subset `indices`.
    fn head(
        &self,
        network: &mut TwoStageNetwork<f32>,
        features: &Features,
        indices: &[usize],
        labels: &[u8],
        steps: usize,
        batches: &mut Batches,
    ) -> Result<usize, Error> {
        let subset = features.train.select(Axis(0), indices); // (N, 128)
        let data = Classification {
            inputs: subset.view(),
            labels,
        };
        let mut adam = Adam::new(self.protocol.lr);
        let mut route = network.route(Route::Head);
        train_steps(&mut route, &mut adam, &data, batches, steps)
    }
}

/// The network `seed` draws, as `train --seed` draws it.
fn init(dims: Dims, seed: u64) -> TwoStageNetwork<f32> {
    TwoStageNetwork::new(dims, &mut SmallRng::seed_from_u64(seed))
}

/// Copies stage 1's tensors (in visiting order) into `network`.
fn set_stage1(network: &mut TwoStageNetwork<f32>, tensors: &[ndarray::ArrayD<f32>]) {
    let mut next = tensors.iter();
    network.stage1.visit_params(&mut |_, mut p| {
        let value: ArrayViewD<f32> = next.next().expect("same network").view();
        p.value.assign(&value);
    });
}

/// A subset's images, gathered into one contiguous block, with their (noisy) labels.
struct Images {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    width: usize,
}

impl Images {
    fn gather(train: Examples, indices: &[usize], labels: Vec<u8>) -> Images {
        let width = train.width;
        let mut pixels = Vec::with_capacity(indices.len() * width);
        for &i in indices {
            pixels.extend_from_slice(&train.pixels[i * width..(i + 1) * width]);
        }
        Images {
            pixels,
            labels,
            width,
        }
    }

    fn examples(&self) -> Examples<'_> {
        Examples {
            pixels: &self.pixels,
            labels: &self.labels,
            width: self.width,
        }
    }
}

/// Exactly `steps` Adam steps of softmax cross-entropy over `data`, epoch after epoch in the
/// order `batches` draws (the last epoch stops part-way): the loop of
/// [`crate::train::train_epoch`], counted in steps rather than epochs.
///
/// Returns the steps taken (`steps`, counted as they happen).
///
/// # Errors
/// [`Error::Diverged`], [`Error::Label`].
pub fn train_steps<N, D>(
    network: &mut N,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    data: &D,
    batches: &mut Batches,
    steps: usize,
) -> Result<usize, Error>
where
    N: Layer<f32>,
    D: Dataset<f32, Targets = Vec<usize>>,
{
    if data.is_empty() {
        return Err(Error::Empty {
            what: "training set",
            purpose: "train on",
        });
    }
    let mut loss = SoftmaxCrossEntropy::new();
    let mut buffer = Batch::<f32, Vec<usize>>::default();
    let mut silent = crate::train::Silent;
    let (mut taken, mut epoch) = (0, 0);
    network.zero_grad();
    on_pool(|| {
        while taken < steps {
            epoch += 1;
            let mut running = EpochLoss::new(Stage::Fit, epoch, 0, &mut silent);
            batches.start_epoch(data.len());
            while taken < steps
                && let Some(batch) = batches.next(data, &mut buffer)
            {
                let logits = network.forward(batch.x.view()); // x: (B, in) → logits: (B, C)
                running.add(loss.forward(logits, &batch.targets)?)?; // L = CE(logits, y)
                network.backward_params(loss.backward()); // dlogits → every dW, db
                optimizer.step_and_zero_grad(network);
                taken += 1;
            }
        }
        Ok(taken)
    })
}

/// Test accuracy and mean cross-entropy of stage 2 on precomputed `features: (N, 128)`.
fn head_evaluation(
    network: &mut TwoStageNetwork<f32>,
    features: ArrayView2<f32>,
    labels: &[u8],
) -> Result<(f64, f64), Error> {
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    let (mut correct, mut loss_sum) = (0usize, 0.0);
    for (c, chunk) in features.axis_chunks_iter(Axis(0), CHUNK_ROWS).enumerate() {
        let rows = c * CHUNK_ROWS..c * CHUNK_ROWS + chunk.nrows();
        let chunk_labels: Vec<usize> = labels[rows].iter().map(|&l| usize::from(l)).collect();
        let logits = network.stage2.forward(chunk); // f: (rows, 128) → z: (rows, C)
        for (row, &label) in logits.rows().into_iter().zip(&chunk_labels) {
            correct += usize::from(argmax(row.iter().copied()) == label);
        }
        loss_sum += cross_entropy.forward(logits, &chunk_labels)? as f64 * chunk.nrows() as f64;
    }
    let n = labels.len().max(1) as f64;
    Ok((correct as f64 / n, loss_sum / n))
}

/// Test accuracy and mean cross-entropy of the whole network.
fn full_evaluation(
    network: &mut TwoStageNetwork<f32>,
    test: Examples,
) -> Result<(f64, f64), Error> {
    let evaluation = evaluate(network, test)?;
    Ok((evaluation.accuracy, evaluation.loss))
}

/// Hands the pretraining's epochs to the study's events.
struct Forward<'e> {
    seed: u64,
    on_event: &'e mut (dyn FnMut(Event) + Send),
}

impl Observer for Forward<'_> {
    fn epoch_end(&mut self, stats: &EpochStats) {
        (self.on_event)(Event::PretrainEpoch {
            seed: self.seed,
            stats,
        });
    }
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The rows of one method, budget and rate, over the seeds.
pub fn cell(rows: &[Row], method: Method, labels: usize, noise: f64) -> Vec<&Row> {
    rows.iter()
        .filter(|r| r.method == method && r.labels == labels && r.noise == noise)
        .collect()
}

/// A method's test accuracies at one budget and rate over the seeds: mean and std, if it ran.
pub fn summary(rows: &[Row], method: Method, labels: usize, noise: f64) -> Option<(f64, f64)> {
    let accuracies: Vec<f64> = cell(rows, method, labels, noise)
        .iter()
        .map(|r| r.accuracy)
        .collect();
    (!accuracies.is_empty()).then(|| mean_std(&accuracies))
}
