//! Progress: the [`Observer`] hooks the loop calls, and an epoch's running loss.

use std::time::Instant;

use crate::error::Error;

/// What is training: one of the two-stage network's stages, or a network of your own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Feature extraction (autoencoder or the literal seed loss).
    Stage1,
    /// The classifier on frozen features.
    Stage2,
    /// Both stages end to end.
    Finetune,
    /// Any network trained with [`crate::train::fit()`].
    Fit,
}

impl Stage {
    /// `stage1`, `stage2`, `finetune`, `fit`: the names in metrics files and errors.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Stage1 => "stage1",
            Stage::Stage2 => "stage2",
            Stage::Finetune => "finetune",
            Stage::Fit => "fit",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
                stage: self.stage,
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
