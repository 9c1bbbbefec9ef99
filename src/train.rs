//! The training stages and evaluation: where the network meets the data.
//!
//! ```text
//! stage 1  autoencoder: x → stage1 → decoder → MSE(x̂, x)     Adam over stage1 + decoder
//!          seed:        x → stage1 → MSE(f, f.detach()) = 0   Adam over stage1 (zero gradient)
//! stage 2  features = stage1(x), computed once (stage 1 is frozen)
//!          features → stage2 → CE(logits, y)                  Adam over stage2
//! finetune x → stage1 → stage2 → CE(logits, y)                Adam over stage1 + stage2
//! ```
//! Each stage starts a fresh Adam. An epoch's loss is the mean of its batch losses, as the
//! reference script prints it. Every buffer a step touches lives in [`Batches`] or in the layers
//! and is reused from step to step.

use std::convert::Infallible;
use std::ops::Range;
use std::time::Instant;

use ndarray::{Array2, ArrayView2, s};

use crate::data::batches::{
    epoch_order, gather_labels, gather_normalised, gather_rows, prefetch_rows,
};
use crate::error::Error;
use crate::linalg::on_pool;
use crate::model::{Part, Stage1Grad, TwoStageNetwork};
use crate::nn::{Layer, MseLoss, Parameters, SoftmaxCrossEntropy};
use crate::optim::Adam;
use crate::rand::SeedableRng;
use crate::rand::rngs::SmallRng;

/// Labelled images: `pixels` is `(len, width)` u8, row-major.
#[derive(Clone, Copy)]
pub struct Examples<'a> {
    pub pixels: &'a [u8],
    pub labels: &'a [u8],
    pub width: usize,
}

impl<'a> Examples<'a> {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` examples (all of them if there are fewer).
    pub fn first(&self, n: usize) -> Examples<'a> {
        let n = n.min(self.len());
        Examples {
            pixels: &self.pixels[..n * self.width],
            labels: &self.labels[..n],
            width: self.width,
        }
    }
}

/// What stage 1 does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage1Mode {
    /// A real autoencoder: the decoder reconstructs the input, MSE loss.
    Autoencoder,
    /// The reference script's literal `MSE(f, f.detach())`: identically zero, so stage 1 keeps
    /// its random init. Run as written, for faithful reproduction.
    Seed,
    /// No stage-1 training at all.
    None,
}

/// The three training stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Stage1,
    Stage2,
    Finetune,
}

impl Stage {
    /// `stage1`, `stage2`, `finetune`: the names in metrics files and errors.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Stage1 => "stage1",
            Stage::Stage2 => "stage2",
            Stage::Finetune => "finetune",
        }
    }
}

/// Everything that decides a training run.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub stage1: Stage1Mode,
    pub stage1_epochs: usize,
    pub stage2_epochs: usize,
    pub finetune_epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub finetune_lr: f64,
    pub shuffle: bool,
    /// Seeds the shuffling (the network's init is drawn by the caller).
    pub seed: u64,
}

impl Default for Schedule {
    /// The reference script's run: autoencoder, 5 + 5 epochs, batch 32, Adam 1e-3, shuffled.
    fn default() -> Self {
        Schedule {
            stage1: Stage1Mode::Autoencoder,
            stage1_epochs: 5,
            stage2_epochs: 5,
            finetune_epochs: 0,
            batch_size: 32,
            lr: 1e-3,
            finetune_lr: 3e-5,
            shuffle: true,
            seed: 0,
        }
    }
}

/// One finished epoch.
#[derive(Clone, Debug)]
pub struct EpochStats {
    pub stage: Stage,
    /// 1-based.
    pub epoch: usize,
    pub epochs: usize,
    /// The mean of the epoch's batch losses.
    pub loss: f64,
    pub seconds: f64,
}

/// Hooks for progress display and logging; every method has an empty default. `Send`, because
/// the training loop calls it from a rayon worker thread.
pub trait Observer: Send {
    fn stage_start(&mut self, _stage: Stage, _epochs: usize, _batches_per_epoch: usize) {}
    fn batch_end(&mut self, _stage: Stage, _epoch: usize, _batch: usize, _loss: f32) {}
    fn epoch_end(&mut self, _stats: &EpochStats) {}
}

/// An observer that does nothing.
pub struct Silent;
impl Observer for Silent {}

/// The reusable state of a batch loop: the visiting order and its RNG, and the batch buffers.
pub struct Batches {
    order: Vec<usize>,
    rng: SmallRng,
    batch_size: usize,
    shuffle: bool,
    buffers: BatchBuffers,
}

/// One batch's inputs and labels, reused from batch to batch.
struct BatchBuffers {
    /// `x: (B, 784)` normalised pixels, or `(B, 128)` features in stage 2.
    inputs: Array2<f32>,
    labels: Vec<usize>,
}

impl BatchBuffers {
    /// Gathers the batch's normalised pixels and labels, and starts loading the pixels of the
    /// batch after it (`next`) into cache.
    fn gather(&mut self, examples: Examples, indices: &[usize], next: &[usize]) {
        gather_normalised(examples.pixels, examples.width, indices, &mut self.inputs);
        gather_labels(examples.labels, indices, &mut self.labels);
        prefetch_rows(examples.pixels, examples.width, next);
    }
}

impl Batches {
    pub fn new(batch_size: usize, shuffle: bool, seed: u64) -> Batches {
        Batches {
            order: Vec::new(),
            rng: SmallRng::seed_from_u64(seed),
            batch_size,
            shuffle,
            buffers: BatchBuffers {
                inputs: Array2::zeros((0, 0)),
                labels: Vec::new(),
            },
        }
    }

    fn batches_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.batch_size)
    }

    /// One pass over `n` examples: `step` trains on each batch, given its example indices and
    /// those of the next batch (empty for the last), and returns the batch loss, which must be
    /// finite. Returns (sum of batch losses, batches).
    ///
    /// With `pooled`, each step runs on the rayon pool ([`on_pool`]), where its products split
    /// across the cores cheaply; the stage-2 head's steps (~20 µs, no product large enough to
    /// split) are faster on the calling thread (0.036 s an epoch against 0.045–0.07 s pooled).
    fn epoch(
        &mut self,
        n: usize,
        pooled: bool,
        stage: Stage,
        epoch: usize,
        observer: &mut dyn Observer,
        mut step: impl FnMut(&[usize], &[usize], &mut BatchBuffers) -> Result<f32, Error> + Send,
    ) -> Result<(f64, usize), Error> {
        epoch_order(&mut self.order, n, self.shuffle, &mut self.rng);
        let (order, batch_size, buffers) = (&self.order, self.batch_size, &mut self.buffers);
        let mut run = || -> Result<(f64, usize), Error> {
            let mut total = 0.0;
            let mut count = 0;
            let mut batches = order.chunks(batch_size).enumerate().peekable();
            while let Some((b, indices)) = batches.next() {
                let next = batches.peek().map_or(&[][..], |&(_, next)| next);
                let loss = step(indices, next, buffers)?;
                if !loss.is_finite() {
                    return Err(Error::Diverged {
                        stage: stage.name(),
                        epoch,
                        batch: b + 1,
                        loss: loss as f64,
                    });
                }
                total += loss as f64;
                count += 1;
                observer.batch_end(stage, epoch, b + 1, loss);
            }
            Ok((total, count))
        };
        // The whole epoch runs on the rayon pool (see `linalg::on_pool`): one hand-off per epoch.
        if pooled { on_pool(run) } else { run() }
    }
}

/// Trains `network` on `train` through every stage of `schedule`, reporting to `observer`.
/// Returns the stats of every epoch.
pub fn run(
    network: &mut TwoStageNetwork<f32>,
    train: Examples,
    schedule: &Schedule,
    observer: &mut dyn Observer,
) -> Result<Vec<EpochStats>, Error> {
    if schedule.batch_size == 0 {
        return Err(Error::Schedule {
            field: "batch_size",
            message: "must be at least 1".into(),
        });
    }
    if train.is_empty() {
        return Err(Error::Empty {
            what: "training set",
            purpose: "train on",
        });
    }
    let mut batches = Batches::new(schedule.batch_size, schedule.shuffle, schedule.seed);
    let mut stats = Vec::new();
    let stage1_epochs = if schedule.stage1 == Stage1Mode::None {
        0
    } else {
        schedule.stage1_epochs
    };
    let autoencoder = schedule.stage1 == Stage1Mode::Autoencoder;
    let n = train.len();
    train_stage(
        Stage::Stage1,
        stage1_epochs,
        schedule.lr,
        n,
        &mut batches,
        observer,
        &mut stats,
        |adam, batches, epoch, observer| {
            if autoencoder {
                autoencoder_epoch(network, adam, train, batches, epoch, observer)
            } else {
                seed_epoch(network, adam, train, batches, epoch, observer)
            }
        },
    )?;
    check_parameters(network, Stage::Stage1)?;
    // Stage 1 is frozen from here: its features are the same in every epoch, so compute them once.
    let features = if schedule.stage2_epochs > 0 {
        features_of(network, train, 1024)
    } else {
        Array2::zeros((0, 0))
    };
    train_stage(
        Stage::Stage2,
        schedule.stage2_epochs,
        schedule.lr,
        n,
        &mut batches,
        observer,
        &mut stats,
        |adam, batches, epoch, observer| {
            head_epoch(
                network,
                adam,
                &features,
                train.labels,
                batches,
                epoch,
                observer,
            )
        },
    )?;
    check_parameters(network, Stage::Stage2)?;
    train_stage(
        Stage::Finetune,
        schedule.finetune_epochs,
        schedule.finetune_lr,
        n,
        &mut batches,
        observer,
        &mut stats,
        |adam, batches, epoch, observer| {
            finetune_epoch(network, adam, train, batches, epoch, observer)
        },
    )?;
    check_parameters(network, Stage::Finetune)?;
    Ok(stats)
}

/// Every parameter must be finite after a stage. The loss check inside an epoch runs before
/// each update, so the last update of a stage (a one-batch stage, a rate that overflows) could
/// otherwise leave NaN or ∞ in weights that would then be saved.
pub fn check_parameters(network: &mut TwoStageNetwork<f32>, after: Stage) -> Result<(), Error> {
    let mut first = None;
    network.visit_params(&mut |name, p| {
        if first.is_none()
            && let Some(index) = p.value.iter().position(|v| !v.is_finite())
        {
            let value = p.value.iter().nth(index).copied().unwrap_or(f32::NAN);
            first = Some((name.to_string(), index, value));
        }
    });
    match first {
        None => Ok(()),
        Some((tensor, index, value)) => Err(Error::NonFiniteParameter {
            stage: after.name(),
            tensor,
            index,
            value,
        }),
    }
}

/// The parameter with the largest magnitude: (name, |w|), for messages about overflow.
fn largest_weight(network: &mut TwoStageNetwork<f32>) -> (String, f32) {
    let mut largest = (String::new(), 0.0_f32);
    network.visit_params(&mut |name, p| {
        let m = p.value.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        if m > largest.1 {
            largest = (name.to_string(), m);
        }
    });
    largest
}

/// An error for logits that overflowed on `example`.
fn non_finite_output(network: &mut TwoStageNetwork<f32>, example: usize, value: f32) -> Error {
    let (tensor, largest) = largest_weight(network);
    Error::NonFiniteOutput {
        what: "logits",
        example,
        value,
        tensor,
        largest,
    }
}

/// `epochs` epochs of one stage over `n` examples with a fresh Adam; appends each epoch's stats.
#[allow(clippy::too_many_arguments)]
fn train_stage(
    stage: Stage,
    epochs: usize,
    lr: f64,
    n: usize,
    batches: &mut Batches,
    observer: &mut dyn Observer,
    stats: &mut Vec<EpochStats>,
    mut one_epoch: impl FnMut(
        &mut Adam<f32>,
        &mut Batches,
        usize,
        &mut dyn Observer,
    ) -> Result<(f64, usize), Error>,
) -> Result<(), Error> {
    if epochs == 0 {
        return Ok(());
    }
    observer.stage_start(stage, epochs, batches.batches_per_epoch(n));
    let mut adam = Adam::new(lr);
    for epoch in 1..=epochs {
        let start = Instant::now();
        let (sum, count) = one_epoch(&mut adam, batches, epoch, observer)?;
        let epoch_stats = EpochStats {
            stage,
            epoch,
            epochs,
            loss: sum / count.max(1) as f64,
            seconds: start.elapsed().as_secs_f64(),
        };
        observer.epoch_end(&epoch_stats);
        stats.push(epoch_stats);
    }
    Ok(())
}

/// One autoencoder epoch: `x → stage1 → decoder → x̂`, `L = MSE(x̂, x)`, Adam over stage1 + decoder.
/// Returns (sum of batch losses, number of batches).
pub fn autoencoder_epoch(
    network: &mut TwoStageNetwork<f32>,
    adam: &mut Adam<f32>,
    train: Examples,
    batches: &mut Batches,
    epoch: usize,
    observer: &mut dyn Observer,
) -> Result<(f64, usize), Error> {
    const TRAINED: &[Part] = &[Part::Stage1, Part::Decoder];
    let mut mse = MseLoss::new();
    // Gradients start each step at zero: cleared here, then by every step_and_zero_grad.
    network.parts(TRAINED).zero_grad();
    batches.epoch(
        train.len(),
        true,
        Stage::Stage1,
        epoch,
        observer,
        |indices, next, batch| {
            batch.gather(train, indices, next);
            // x: (B, 784) → reconstruction: (B, 784)
            let reconstruction = network.reconstruction(batch.inputs.view());
            let loss = mse.forward(reconstruction, batch.inputs.view())?;
            network.reconstruction_backward(mse.backward()?)?;
            adam.step_and_zero_grad(&mut network.parts(TRAINED));
            Ok(loss)
        },
    )
}

/// One epoch of the reference script's literal stage 1: `f = stage1(x)`, `L = MSE(f,
/// f.detach())`. The loss is identically zero and so is its gradient; Adam steps with it
/// anyway, as the script does, and leaves the weights where they are.
pub fn seed_epoch(
    network: &mut TwoStageNetwork<f32>,
    adam: &mut Adam<f32>,
    train: Examples,
    batches: &mut Batches,
    epoch: usize,
    observer: &mut dyn Observer,
) -> Result<(f64, usize), Error> {
    let mut mse = MseLoss::new();
    // Gradients start each step at zero: cleared here, then by every step_and_zero_grad.
    network.stage1.zero_grad();
    batches.epoch(
        train.len(),
        true,
        Stage::Stage1,
        epoch,
        observer,
        |indices, next, batch| {
            batch.gather(train, indices, next);
            // x: (B, 784) → f: (B, 128); the target is f itself.
            let features = network.features(batch.inputs.view());
            let loss = mse.forward(features, features)?;
            network.stage1.backward(mse.backward()?, false)?;
            adam.step_and_zero_grad(&mut network.stage1);
            Ok(loss)
        },
    )
}

/// Runs `f(rows, x)` on consecutive chunks of `examples`: `rows` the chunk's index range and
/// `x: (rows.len(), width)` its normalised pixels. On the rayon pool, so each chunk's products
/// split across the cores without waking the calling thread.
fn for_each_chunk<E: Send>(
    examples: Examples,
    chunk: usize,
    mut f: impl FnMut(Range<usize>, ArrayView2<f32>) -> Result<(), E> + Send,
) -> Result<(), E> {
    let mut inputs = Array2::zeros((0, 0));
    let chunk = chunk.max(1);
    let all: Vec<usize> = (0..examples.len()).collect();
    on_pool(|| {
        for (c, indices) in all.chunks(chunk).enumerate() {
            gather_normalised(examples.pixels, examples.width, indices, &mut inputs);
            f(c * chunk..c * chunk + indices.len(), inputs.view())?;
        }
        Ok(())
    })
}

/// Stage 1's features of every example, `(N, features)`, computed `chunk` rows at a time.
pub fn features_of(
    network: &mut TwoStageNetwork<f32>,
    examples: Examples,
    chunk: usize,
) -> Array2<f32> {
    let mut features = Array2::zeros((examples.len(), network.dims.features));
    let done: Result<(), Infallible> = for_each_chunk(examples, chunk, |rows, x| {
        // x: (rows, 784) → features: (rows, 128)
        features
            .slice_mut(s![rows, ..])
            .assign(&network.features(x));
        Ok(())
    });
    let Ok(()) = done;
    features
}

/// One stage-2 epoch on precomputed frozen features: `features → stage2 → logits`,
/// `L = CE(logits, y)`, Adam over stage2.
pub fn head_epoch(
    network: &mut TwoStageNetwork<f32>,
    adam: &mut Adam<f32>,
    features: &Array2<f32>,
    labels: &[u8],
    batches: &mut Batches,
    epoch: usize,
    observer: &mut dyn Observer,
) -> Result<(f64, usize), Error> {
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    let features_width = features.ncols();
    // Gradients start each step at zero: cleared here, then by every step_and_zero_grad.
    network.stage2.zero_grad();
    batches.epoch(
        labels.len(),
        false,
        Stage::Stage2,
        epoch,
        observer,
        |indices, next, batch| {
            gather_rows(features, indices, &mut batch.inputs);
            gather_labels(labels, indices, &mut batch.labels);
            if let Some(features) = features.as_slice() {
                prefetch_rows(features, features_width, next);
            }
            // features: (B, 128) → logits: (B, 10)
            let logits = network.stage2.forward(batch.inputs.view());
            let loss = cross_entropy.forward(logits, &batch.labels)?;
            network.stage2.backward(cross_entropy.backward()?, false)?;
            adam.step_and_zero_grad(&mut network.stage2);
            Ok(loss)
        },
    )
}

/// One fine-tuning epoch: `x → stage1 → stage2 → logits`, `L = CE(logits, y)`, Adam over
/// stage1 + stage2.
pub fn finetune_epoch(
    network: &mut TwoStageNetwork<f32>,
    adam: &mut Adam<f32>,
    train: Examples,
    batches: &mut Batches,
    epoch: usize,
    observer: &mut dyn Observer,
) -> Result<(f64, usize), Error> {
    const TRAINED: &[Part] = &[Part::Stage1, Part::Stage2];
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    // Gradients start each step at zero: cleared here, then by every step_and_zero_grad.
    network.parts(TRAINED).zero_grad();
    batches.epoch(
        train.len(),
        true,
        Stage::Finetune,
        epoch,
        observer,
        |indices, next, batch| {
            batch.gather(train, indices, next);
            // x: (B, 784) → logits: (B, 10)
            let logits = network.logits(batch.inputs.view());
            let loss = cross_entropy.forward(logits, &batch.labels)?;
            network.logits_backward(cross_entropy.backward()?, Stage1Grad::Trainable)?;
            adam.step_and_zero_grad(&mut network.parts(TRAINED));
            Ok(loss)
        },
    )
}

/// Test-set results.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Fraction correct.
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

impl Evaluation {
    /// Accuracy per true class (NaN for a class with no examples).
    pub fn per_class_accuracy(&self) -> Vec<f64> {
        self.confusion
            .iter()
            .enumerate()
            .map(|(c, row)| row[c] as f64 / row.iter().sum::<u64>() as f64)
            .collect()
    }
}

/// Classifies every example in batches of `chunk` rows (each product spread across the cores).
pub fn evaluate(
    network: &mut TwoStageNetwork<f32>,
    examples: Examples,
    chunk: usize,
) -> Result<Evaluation, Error> {
    if examples.is_empty() {
        return Err(Error::Empty {
            what: "test set",
            purpose: "evaluate on",
        });
    }
    let classes = network.dims.classes;
    let mut labels = Vec::new();
    let mut overflow = None;
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    let mut confusion = vec![vec![0u64; classes]; classes];
    let mut loss_sum = 0.0;
    for_each_chunk(examples, chunk, |rows, x| -> Result<(), Error> {
        if overflow.is_some() {
            return Ok(());
        }
        labels.clear();
        labels.extend(examples.labels[rows.clone()].iter().map(|&l| l as usize));
        // x: (rows, 784) → logits: (rows, 10)
        let logits = network.logits(x);
        if let Some(i) = logits.iter().position(|v| !v.is_finite()) {
            let (row, value) = (
                rows.start + i / logits.ncols(),
                logits.iter().nth(i).copied(),
            );
            overflow = Some((row, value.unwrap_or(f32::NAN)));
            return Ok(());
        }
        // The loss first: it rejects a label that is not a class index.
        loss_sum += cross_entropy.forward(logits, &labels)? as f64 * labels.len() as f64;
        for (row, &label) in logits.rows().into_iter().zip(&labels) {
            confusion[label][argmax(row.iter().copied())] += 1;
        }
        Ok(())
    })?;
    if let Some((example, value)) = overflow {
        return Err(non_finite_output(network, example, value));
    }
    let n = examples.len() as f64;
    let correct: u64 = (0..classes).map(|c| confusion[c][c]).sum();
    Ok(Evaluation {
        accuracy: correct as f64 / n,
        loss: loss_sum / n,
        confusion,
    })
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: impl Iterator<Item = f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// The class probabilities for one image of raw pixels; an error if the logits overflow.
pub fn probabilities(network: &mut TwoStageNetwork<f32>, pixels: &[u8]) -> Result<Vec<f32>, Error> {
    let mut input = Array2::zeros((0, 0));
    gather_normalised(pixels, pixels.len(), &[0], &mut input);
    let logits = network.logits(input.view()).to_owned();
    if let Some(&value) = logits.iter().find(|v| !v.is_finite()) {
        return Err(non_finite_output(network, 0, value));
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&z| (z - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    Ok(exps.iter().map(|e| e / sum).collect())
}
