//! The training stages and evaluation: where the network meets the data.
//!
//! ```text
//! stage 1  autoencoder: x → stage1 → decoder → MSE(x̂, x)     Adam over stage1 + decoder
//!          seed:        x → stage1 → MSE(f, f.detach()) = 0   Adam over stage1 (zero gradient)
//! stage 2  features = stage1(x), computed once (stage 1 is frozen)
//!          features → stage2 → CE(logits, y)                  Adam over stage2
//! finetune x → stage1 → stage2 → CE(logits, y)                Adam over stage1 + stage2
//! ```
//! Each stage starts a fresh Adam. Every epoch reads like the math:
//! ```text
//! while let Some(batch) = batches.next_images(train) {
//!     forward → loss.add(loss) → backward → optimizer.step_and_zero_grad
//! }
//! ```
//! An epoch's loss is the mean of its batch losses, as the reference script prints it. Every
//! buffer a step touches lives in [`Batches`] or in the layers and is reused from step to step.

use std::convert::Infallible;
use std::ops::Range;
use std::time::Instant;

use ndarray::{Array2, ArrayView2, s};

use crate::batches::gather_normalised;
pub use crate::batches::{Batch, Batches, Examples};
use crate::error::Error;
use crate::linalg::on_pool;
use crate::model::{Part, Stage1Grad, TwoStageNetwork};
use crate::nn::{Layer, MseLoss, Parameters, SoftmaxCrossEntropy};
use crate::optim::{Adam, Optimizer};

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
    /// Feature extraction (autoencoder or the literal seed loss).
    Stage1,
    /// The classifier on frozen features.
    Stage2,
    /// Both stages end to end.
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
    /// What stage 1 does.
    pub stage1: Stage1Mode,
    /// Epochs of stage 1.
    pub stage1_epochs: usize,
    /// Epochs of stage 2.
    pub stage2_epochs: usize,
    /// Epochs of fine-tuning (0: none).
    pub finetune_epochs: usize,
    /// Examples per batch; the last partial batch is kept.
    pub batch_size: usize,
    /// Adam's learning rate in stages 1 and 2.
    pub lr: f64,
    /// Adam's learning rate when fine-tuning.
    pub finetune_lr: f64,
    /// Visit the examples in a new random order each epoch.
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
    /// The stage.
    pub stage: Stage,
    /// 1-based.
    pub epoch: usize,
    /// Epochs in the stage.
    pub epochs: usize,
    /// The mean of the epoch's batch losses.
    pub loss: f64,
    /// Wall-clock seconds the epoch took.
    pub seconds: f64,
    /// Accuracy on the training examples after the epoch, when a validation set is given
    /// (stage 2 and fine-tuning only: stage 1 trains no classifier).
    pub train_accuracy: Option<f64>,
    /// Accuracy on the validation examples after the epoch, when a validation set is given.
    pub validation_accuracy: Option<f64>,
}

/// Hooks for progress display and logging; every method has an empty default. `Send`, because
/// the training loop calls it from a rayon worker thread.
pub trait Observer: Send {
    /// A stage begins: `epochs` epochs of `batches_per_epoch` batches.
    fn stage_start(&mut self, _stage: Stage, _epochs: usize, _batches_per_epoch: usize) {}
    /// Batch `batch` (1-based) of `epoch` ended with `loss`.
    fn batch_end(&mut self, _stage: Stage, _epoch: usize, _batch: usize, _loss: f32) {}
    /// An epoch ended.
    fn epoch_end(&mut self, _stats: &EpochStats) {}
}

/// An observer that does nothing.
pub struct Silent;
impl Observer for Silent {}

/// An epoch's running loss: the sum of its batch losses, each checked to be finite and passed
/// to the observer as it comes.
pub struct EpochLoss<'o> {
    stage: Stage,
    epoch: usize,
    epochs: usize,
    sum: f64,
    batches: usize,
    start: Instant,
    observer: &'o mut dyn Observer,
}

impl<'o> EpochLoss<'o> {
    /// Starts timing epoch `epoch` (1-based) of `epochs` of `stage`.
    pub fn new(
        stage: Stage,
        epoch: usize,
        epochs: usize,
        observer: &'o mut dyn Observer,
    ) -> EpochLoss<'o> {
        EpochLoss {
            stage,
            epoch,
            epochs,
            sum: 0.0,
            batches: 0,
            start: Instant::now(),
            observer,
        }
    }

    /// Adds one batch's loss; a NaN or infinite loss stops training with [`Error::Diverged`].
    pub fn add(&mut self, loss: f32) -> Result<(), Error> {
        self.batches += 1;
        if !loss.is_finite() {
            return Err(Error::Diverged {
                stage: self.stage.name(),
                epoch: self.epoch,
                batch: self.batches,
                loss: loss as f64,
            });
        }
        self.sum += loss as f64;
        self.observer
            .batch_end(self.stage, self.epoch, self.batches, loss);
        Ok(())
    }

    /// The epoch's stats (its loss is the mean of its batch losses, as the reference script
    /// prints it), also handed to the observer.
    pub fn finish(self) -> EpochStats {
        self.finish_with_accuracy(None, None)
    }

    /// [`EpochLoss::finish`], with the train and validation accuracies measured after the epoch.
    pub fn finish_with_accuracy(self, train: Option<f64>, validation: Option<f64>) -> EpochStats {
        let stats = EpochStats {
            stage: self.stage,
            epoch: self.epoch,
            epochs: self.epochs,
            loss: self.sum / self.batches.max(1) as f64,
            seconds: self.start.elapsed().as_secs_f64(),
            train_accuracy: train,
            validation_accuracy: validation,
        };
        self.observer.epoch_end(&stats);
        stats
    }
}

/// Trains `network` on `train` through every stage of `schedule`, reporting to `observer`.
/// Returns the stats of every epoch. Each stage starts a fresh Adam over the parts it trains;
/// after each, every parameter must be finite.
pub fn run(
    network: &mut TwoStageNetwork<f32>,
    train: Examples,
    schedule: &Schedule,
    observer: &mut dyn Observer,
) -> Result<Vec<EpochStats>, Error> {
    let none = Examples {
        pixels: &[],
        labels: &[],
        width: train.width,
    };
    run_with_validation(network, train, none, schedule, observer)
}

/// [`run`], measuring after every classifier epoch (stage 2, fine-tuning) the accuracy on
/// `train` and on `validation`, so over-fitting shows; with no validation examples it is
/// exactly [`run`] (nothing extra is computed).
pub fn run_with_validation(
    network: &mut TwoStageNetwork<f32>,
    train: Examples,
    validation: Examples,
    schedule: &Schedule,
    observer: &mut dyn Observer,
) -> Result<Vec<EpochStats>, Error> {
    let validate = !validation.is_empty();
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
    let per_epoch = batches.per_epoch(train.len());
    let mut stats = Vec::new();

    let epochs = match schedule.stage1 {
        Stage1Mode::None => 0,
        _ => schedule.stage1_epochs,
    };
    if epochs > 0 {
        observer.stage_start(Stage::Stage1, epochs, per_epoch);
        let mut adam = Adam::new(schedule.lr);
        for epoch in 1..=epochs {
            let mut loss = EpochLoss::new(Stage::Stage1, epoch, epochs, observer);
            match schedule.stage1 {
                Stage1Mode::Seed => seed_epoch(network, &mut adam, train, &mut batches, &mut loss)?,
                _ => autoencoder_epoch(network, &mut adam, train, &mut batches, &mut loss)?,
            }
            stats.push(loss.finish());
        }
        check_parameters(network, Stage::Stage1)?;
    }

    let epochs = schedule.stage2_epochs;
    if epochs > 0 {
        // Stage 1 is frozen from here: its features are the same in every epoch.
        let features = features_of(network, train, 1024);
        let validation_features = features_of(network, validation, 1024);
        observer.stage_start(Stage::Stage2, epochs, per_epoch);
        let mut adam = Adam::new(schedule.lr);
        for epoch in 1..=epochs {
            let mut loss = EpochLoss::new(Stage::Stage2, epoch, epochs, observer);
            head_epoch(
                network,
                &mut adam,
                &features,
                train.labels,
                &mut batches,
                &mut loss,
            )?;
            let accuracy = validate.then(|| {
                (
                    head_accuracy(network, &features, train.labels),
                    head_accuracy(network, &validation_features, validation.labels),
                )
            });
            stats.push(loss.finish_with_accuracy(accuracy.map(|a| a.0), accuracy.map(|a| a.1)));
        }
        check_parameters(network, Stage::Stage2)?;
    }

    let epochs = schedule.finetune_epochs;
    if epochs > 0 {
        observer.stage_start(Stage::Finetune, epochs, per_epoch);
        let mut adam = Adam::new(schedule.finetune_lr);
        for epoch in 1..=epochs {
            let mut loss = EpochLoss::new(Stage::Finetune, epoch, epochs, observer);
            finetune_epoch(network, &mut adam, train, &mut batches, &mut loss)?;
            let accuracy = if validate {
                Some((
                    evaluate(network, train, 1024)?.accuracy,
                    evaluate(network, validation, 1024)?.accuracy,
                ))
            } else {
                None
            };
            stats.push(loss.finish_with_accuracy(accuracy.map(|a| a.0), accuracy.map(|a| a.1)));
        }
        check_parameters(network, Stage::Finetune)?;
    }
    Ok(stats)
}

/// The fraction of `labels` stage 2 gets right from precomputed `features: (N, 128)`.
fn head_accuracy(network: &mut TwoStageNetwork<f32>, features: &Array2<f32>, labels: &[u8]) -> f64 {
    let mut correct = 0usize;
    for (rows, chunk) in features
        .axis_chunks_iter(ndarray::Axis(0), 1024)
        .enumerate()
        .map(|(c, chunk)| (c * 1024, chunk))
    {
        let logits = network.stage2.forward(chunk); // f: (rows, 128) → z: (rows, C)
        for (i, row) in logits.rows().into_iter().enumerate() {
            correct += usize::from(argmax(row.iter().copied()) == usize::from(labels[rows + i]));
        }
    }
    correct as f64 / labels.len().max(1) as f64
}

/// CS231n's sanity check that the model and the loop can learn at all: trains the classifier
/// end to end (both stages, cross-entropy, Adam at `schedule.lr`) on `examples` until it gets
/// every one of them right, for at most `max_epochs`. Returns the epochs run and the final
/// training accuracy (1.0 when it succeeded).
pub fn overfit(
    network: &mut TwoStageNetwork<f32>,
    examples: Examples,
    schedule: &Schedule,
    max_epochs: usize,
    observer: &mut dyn Observer,
) -> Result<(usize, f64), Error> {
    if examples.is_empty() {
        return Err(Error::Empty {
            what: "overfitting set",
            purpose: "train on",
        });
    }
    let mut batches = Batches::new(schedule.batch_size, schedule.shuffle, schedule.seed);
    let mut adam = Adam::new(schedule.lr);
    observer.stage_start(
        Stage::Finetune,
        max_epochs,
        batches.per_epoch(examples.len()),
    );
    let mut accuracy = 0.0;
    for epoch in 1..=max_epochs {
        let mut loss = EpochLoss::new(Stage::Finetune, epoch, max_epochs, observer);
        finetune_epoch(network, &mut adam, examples, &mut batches, &mut loss)?;
        accuracy = evaluate(network, examples, 1024)?.accuracy;
        loss.finish_with_accuracy(Some(accuracy), None);
        if accuracy == 1.0 {
            return Ok((epoch, accuracy));
        }
    }
    check_parameters(network, Stage::Finetune)?;
    Ok((max_epochs, accuracy))
}

/// The mean squared error of the best constant guess, the mean image: the autoencoder's
/// sanity baseline (a reconstruction loss above it has learned nothing). In normalised pixels,
/// `Σ_i Σ_j (x_ij − x̄_j)² / (N·784)`.
pub fn mean_image_mse(examples: Examples) -> f64 {
    let (n, width) = (examples.len(), examples.width);
    if n == 0 || width == 0 {
        return 0.0;
    }
    let normalised = |p: u8| f64::from(crate::batches::normalise(p));
    let mut mean = vec![0.0_f64; width];
    for image in examples.pixels.chunks_exact(width) {
        for (m, &p) in mean.iter_mut().zip(image) {
            *m += normalised(p);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut sum = 0.0;
    for image in examples.pixels.chunks_exact(width) {
        for (m, &p) in mean.iter().zip(image) {
            let d = normalised(p) - m;
            sum += d * d;
        }
    }
    sum / (n * width) as f64
}

/// Every parameter must be finite after a stage. The loss check inside an epoch runs before
/// each update, so the last update of a stage (a one-batch stage, a rate that overflows) could
/// otherwise leave NaN or ∞ in weights that would then be saved.
pub fn check_parameters(network: &mut TwoStageNetwork<f32>, after: Stage) -> Result<(), Error> {
    let mut first = None;
    network.visit_params(&mut |name, p| {
        if first.is_none()
            && let Some((index, &value)) = p.value.iter().enumerate().find(|(_, v)| !v.is_finite())
        {
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

/// One autoencoder epoch: `x → stage1 → decoder → x̂`, `L = MSE(x̂, x)`, Adam over stage1 +
/// decoder. On the rayon pool, where each product splits across the cores cheaply.
pub fn autoencoder_epoch(
    network: &mut TwoStageNetwork<f32>,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    train: Examples,
    batches: &mut Batches,
    loss: &mut EpochLoss,
) -> Result<(), Error> {
    const TRAINED: &[Part] = &[Part::Stage1, Part::Decoder];
    let mut mse = MseLoss::new();
    // Gradients start at zero: cleared here, then by every step_and_zero_grad.
    network.parts(TRAINED).zero_grad();
    batches.start_epoch(train.len());
    on_pool(|| {
        while let Some(batch) = batches.next_images(train) {
            let reconstruction = network.reconstruction(batch.x); // x: (B, 784) → x̂: (B, 784)
            loss.add(mse.forward(reconstruction, batch.x))?; // L = mean((x̂ − x)²)
            network.reconstruction_backward(mse.backward()); // dx̂ = 2(x̂ − x)/(B·784)
            optimizer.step_and_zero_grad(&mut network.parts(TRAINED));
        }
        Ok(())
    })
}

/// One epoch of the reference script's literal stage 1: `f = stage1(x)`, `L = MSE(f,
/// f.detach())`. The loss is identically zero and so is its gradient; Adam steps with it
/// anyway, as the script does, and leaves the weights where they are.
pub fn seed_epoch(
    network: &mut TwoStageNetwork<f32>,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    train: Examples,
    batches: &mut Batches,
    loss: &mut EpochLoss,
) -> Result<(), Error> {
    let mut mse = MseLoss::new();
    network.stage1.zero_grad();
    batches.start_epoch(train.len());
    on_pool(|| {
        while let Some(batch) = batches.next_images(train) {
            let features = network.features(batch.x); // x: (B, 784) → f: (B, 128)
            loss.add(mse.forward(features, features))?; // L = mean((f − f)²) = 0
            network.stage1.backward_params(mse.backward()); // df = 0
            optimizer.step_and_zero_grad(&mut network.stage1);
        }
        Ok(())
    })
}

/// One stage-2 epoch on precomputed frozen features: `features → stage2 → logits`,
/// `L = CE(logits, y)`, Adam over stage2. On the calling thread: the head's products are too
/// small to be worth splitting.
pub fn head_epoch(
    network: &mut TwoStageNetwork<f32>,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    features: &Array2<f32>,
    labels: &[u8],
    batches: &mut Batches,
    loss: &mut EpochLoss,
) -> Result<(), Error> {
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    network.stage2.zero_grad();
    batches.start_epoch(labels.len());
    while let Some(batch) = batches.next_rows(features, labels) {
        let logits = network.stage2.forward(batch.x); // f: (B, 128) → z: (B, 10)
        loss.add(cross_entropy.forward(logits, batch.labels)?)?; // L = −mean(log softmax(z)_y)
        network.stage2.backward_params(cross_entropy.backward()); // dz = (softmax(z) − 1_y)/B
        optimizer.step_and_zero_grad(&mut network.stage2);
    }
    Ok(())
}

/// One fine-tuning epoch: `x → stage1 → stage2 → logits`, `L = CE(logits, y)`, Adam over
/// stage1 + stage2.
pub fn finetune_epoch(
    network: &mut TwoStageNetwork<f32>,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    train: Examples,
    batches: &mut Batches,
    loss: &mut EpochLoss,
) -> Result<(), Error> {
    const TRAINED: &[Part] = &[Part::Stage1, Part::Stage2];
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    network.parts(TRAINED).zero_grad();
    batches.start_epoch(train.len());
    on_pool(|| {
        while let Some(batch) = batches.next_images(train) {
            let logits = network.logits(batch.x); // x: (B, 784) → z: (B, 10)
            loss.add(cross_entropy.forward(logits, batch.labels)?)?;
            network.logits_backward(cross_entropy.backward(), Stage1Grad::Trainable);
            optimizer.step_and_zero_grad(&mut network.parts(TRAINED));
        }
        Ok(())
    })
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
