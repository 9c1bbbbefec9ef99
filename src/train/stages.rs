//! The two-stage network's training: each stage is the generic loop ([`train_epoch`]) over a
//! [`Route`] through the network, with its loss and its data.
//!
//! ```text
//! stage 1  autoencoder: x → stage1 → decoder → MSE(x̂, x)     Adam over stage1 + decoder
//!          seed:        x → stage1 → MSE(f, f.detach()) = 0   Adam over stage1 (zero gradient)
//! stage 2  features = stage1(x), computed once (stage 1 is frozen)
//!          features → stage2 → CE(logits, y)                  Adam over stage2
//! finetune x → stage1 → stage2 → CE(logits, y)                Adam over stage1 + stage2
//! ```
//! Each stage starts a fresh Adam.

use ndarray::{Array2, ArrayView2};

use crate::batches::{Batch, Batches, Classification, Dataset, Examples, Order, Reconstruct};
use crate::error::Error;
use crate::model::{Route, TwoStageNetwork};
use crate::nn::{Loss, MseLoss, SoftmaxCrossEntropy};
use crate::optim::{Adam, Optimizer};

use super::evaluate::{evaluate, features_of, head_accuracy};
use super::fit::train_epoch;
use super::observer::{EpochLoss, EpochStats, Observer, Stage};
use super::sanity::ensure_finite;

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

impl Schedule {
    /// The visiting order `shuffle` and `seed` describe.
    pub fn order(&self) -> Order {
        match self.shuffle {
            true => Order::Shuffled { seed: self.seed },
            false => Order::AsGiven,
        }
    }

    /// Stage 1's epochs: none when it is [`Stage1Mode::None`].
    pub fn stage1_epochs_run(&self) -> usize {
        match self.stage1 {
            Stage1Mode::None => 0,
            _ => self.stage1_epochs,
        }
    }
}

/// Trains `network` on `train` through every stage of `schedule`, reporting to `observer`.
/// Returns the stats of every epoch. Each stage starts a fresh Adam over the parts it trains;
/// after each, every parameter must be finite.
///
/// # Errors
/// As [`run_with_validation`].
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
///
/// # Errors
/// [`Error::Schedule`] for a batch size of 0, [`Error::Empty`] for no training examples,
/// [`Error::Diverged`], [`Error::NonFiniteParameter`], [`Error::Label`],
/// [`Error::NonFiniteOutput`] (validation).
pub fn run_with_validation(
    network: &mut TwoStageNetwork<f32>,
    train: Examples,
    validation: Examples,
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
    let mut batches = Batches::new(schedule.batch_size, schedule.order());
    let mut stats = Vec::new();
    let mut run = StageRun {
        batches: &mut batches,
        observer,
        stats: &mut stats,
    };
    let stage1 = Plan {
        stage: Stage::Stage1,
        epochs: schedule.stage1_epochs,
        lr: schedule.lr,
        route: Route::Autoencoder,
    };
    let data = Reconstruct(train);
    match schedule.stage1 {
        Stage1Mode::Autoencoder => {
            run.stage(network, stage1, &data, &mut MseLoss::new(), &mut |_| {
                Ok(None)
            })?
        }
        Stage1Mode::Seed => {
            let seed = Plan {
                route: Route::Features,
                ..stage1
            };
            let mut literal = DetachedSelfMse::default();
            run.stage(network, seed, &data, &mut literal, &mut |_| Ok(None))?
        }
        Stage1Mode::None => {}
    }
    if schedule.stage2_epochs > 0 {
        run.stage2(network, train, validation, schedule)?;
    }
    run.finetune(network, train, validation, schedule)?;
    Ok(stats)
}

/// One stage's choices: which, how long, how fast, over which route.
#[derive(Clone, Copy)]
struct Plan {
    stage: Stage,
    epochs: usize,
    lr: f64,
    route: Route,
}

/// Train and validation accuracy after an epoch, when measured.
type Accuracy<'f> = dyn FnMut(&mut TwoStageNetwork<f32>) -> Result<Option<(f64, f64)>, Error> + 'f;

/// What the stages of one run share: the visiting order, the observer, the stats so far.
struct StageRun<'r, 'o> {
    batches: &'r mut Batches,
    observer: &'o mut dyn Observer,
    stats: &'r mut Vec<EpochStats>,
}

impl StageRun<'_, '_> {
    /// One stage: `plan.epochs` epochs of the loop over `plan.route` (no stage at all for 0),
    /// with a fresh Adam at `plan.lr`, `accuracy` measured after each epoch, and every
    /// parameter checked finite at the end.
    fn stage<D: Dataset<f32>, L: Loss<f32, D::Targets> + Send>(
        &mut self,
        network: &mut TwoStageNetwork<f32>,
        plan: Plan,
        data: &D,
        loss: &mut L,
        accuracy: &mut Accuracy,
    ) -> Result<(), Error> {
        let Plan {
            stage,
            epochs,
            lr,
            route,
        } = plan;
        if epochs == 0 {
            return Ok(());
        }
        self.observer
            .stage_start(stage, epochs, self.batches.per_epoch(data.len()));
        let mut adam = Adam::new(lr);
        for epoch in 1..=epochs {
            let mut running = EpochLoss::new(stage, epoch, epochs, self.observer);
            let mut trained = network.route(route);
            train_epoch(
                &mut trained,
                loss,
                &mut adam,
                data,
                self.batches,
                &mut running,
            )?;
            let measured = accuracy(network)?;
            self.stats
                .push(running.finish_with_accuracy(measured.map(|a| a.0), measured.map(|a| a.1)));
        }
        ensure_finite(network, stage)
    }
}

impl StageRun<'_, '_> {
    /// Stage 2: the head on stage 1's frozen features, computed once (they are the same in
    /// every epoch), with the accuracies on `train` and `validation` when there is one.
    fn stage2(
        &mut self,
        network: &mut TwoStageNetwork<f32>,
        train: Examples,
        validation: Examples,
        schedule: &Schedule,
    ) -> Result<(), Error> {
        let features = features_of(network, train);
        let validation_features = features_of(network, validation);
        let data = Classification {
            inputs: features.view(),
            labels: train.labels,
        };
        let mut accuracy = |network: &mut TwoStageNetwork<f32>| {
            Ok((!validation.is_empty()).then(|| {
                (
                    head_accuracy(network, features.view(), train.labels),
                    head_accuracy(network, validation_features.view(), validation.labels),
                )
            }))
        };
        let plan = Plan {
            stage: Stage::Stage2,
            epochs: schedule.stage2_epochs,
            lr: schedule.lr,
            route: Route::Head,
        };
        let mut cross_entropy = SoftmaxCrossEntropy::new();
        self.stage(network, plan, &data, &mut cross_entropy, &mut accuracy)
    }

    /// Fine-tuning: the classifier end to end on the images, with the accuracies on `train`
    /// and `validation` when there is one.
    fn finetune(
        &mut self,
        network: &mut TwoStageNetwork<f32>,
        train: Examples,
        validation: Examples,
        schedule: &Schedule,
    ) -> Result<(), Error> {
        let mut accuracy = |network: &mut TwoStageNetwork<f32>| -> Result<_, Error> {
            if validation.is_empty() {
                return Ok(None);
            }
            let train = evaluate(network, train)?.accuracy;
            Ok(Some((train, evaluate(network, validation)?.accuracy)))
        };
        let plan = Plan {
            stage: Stage::Finetune,
            epochs: schedule.finetune_epochs,
            lr: schedule.finetune_lr,
            route: Route::Classifier,
        };
        let mut cross_entropy = SoftmaxCrossEntropy::new();
        self.stage(network, plan, &train, &mut cross_entropy, &mut accuracy)
    }
}

/// The reference script's literal stage-1 loss, `MSE(f, f.detach())`: the prediction against
/// itself, identically zero with a zero gradient. Adam steps with it anyway, as the script
/// does, and leaves the weights where they are.
#[derive(Default)]
struct DetachedSelfMse(MseLoss<f32>);

impl<Y> Loss<f32, Y> for DetachedSelfMse {
    fn forward(
        &mut self,
        prediction: ArrayView2<f32>,
        _batch: &Batch<f32, Y>,
    ) -> Result<f32, Error> {
        Ok(self.0.forward(prediction, prediction)) // L = mean((f − f)²) = 0
    }
    fn backward(&mut self) -> ArrayView2<'_, f32> {
        self.0.backward() // df = 0
    }
}

/// One autoencoder epoch: `x → stage1 → decoder → x̂`, `L = MSE(x̂, x)`, `optimizer` over
/// stage1 + decoder.
///
/// # Errors
/// As [`train_epoch`].
pub fn autoencoder_epoch(
    network: &mut TwoStageNetwork<f32>,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    train: Examples,
    batches: &mut Batches,
    loss: &mut EpochLoss,
) -> Result<(), Error> {
    let mut route = network.route(Route::Autoencoder);
    train_epoch(
        &mut route,
        &mut MseLoss::new(),
        optimizer,
        &Reconstruct(train),
        batches,
        loss,
    )
}

/// One epoch of the reference script's literal stage 1: `f = stage1(x)`, `L = MSE(f,
/// f.detach()) = 0`, `optimizer` over stage1.
///
/// # Errors
/// As [`train_epoch`].
pub fn seed_epoch(
    network: &mut TwoStageNetwork<f32>,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    train: Examples,
    batches: &mut Batches,
    loss: &mut EpochLoss,
) -> Result<(), Error> {
    let mut route = network.route(Route::Features);
    let mut literal = DetachedSelfMse::default();
    train_epoch(
        &mut route,
        &mut literal,
        optimizer,
        &Reconstruct(train),
        batches,
        loss,
    )
}

/// One stage-2 epoch on precomputed frozen `features: (N, 128)`: `features → stage2 → logits`,
/// `L = CE(logits, y)`, `optimizer` over stage2.
///
/// # Errors
/// As [`train_epoch`].
pub fn head_epoch(
    network: &mut TwoStageNetwork<f32>,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    features: &Array2<f32>,
    labels: &[u8],
    batches: &mut Batches,
    loss: &mut EpochLoss,
) -> Result<(), Error> {
    let data = Classification {
        inputs: features.view(),
        labels,
    };
    let mut route = network.route(Route::Head);
    train_epoch(
        &mut route,
        &mut SoftmaxCrossEntropy::new(),
        optimizer,
        &data,
        batches,
        loss,
    )
}

/// One fine-tuning epoch: `x → stage1 → stage2 → logits`, `L = CE(logits, y)`, `optimizer`
/// over stage1 + stage2.
///
/// # Errors
/// As [`train_epoch`].
pub fn finetune_epoch(
    network: &mut TwoStageNetwork<f32>,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    train: Examples,
    batches: &mut Batches,
    loss: &mut EpochLoss,
) -> Result<(), Error> {
    let mut route = network.route(Route::Classifier);
    train_epoch(
        &mut route,
        &mut SoftmaxCrossEntropy::new(),
        optimizer,
        &train,
        batches,
        loss,
    )
}
