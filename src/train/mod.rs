//! Training and evaluation: where a network meets its data.
//!
//! | file | holds |
//! |---|---|
//! | [`fit`](mod@fit) | the one training loop, for any [`Layer`](crate::nn::Layer) + [`Loss`](crate::nn::Loss) + [`Optimizer`](crate::optim::Optimizer) + [`Dataset`](crate::batches::Dataset) |
//! | [`observer`] | [`Observer`] (progress hooks), [`EpochLoss`], [`EpochStats`], [`Stage`] |
//! | [`stages`] | the two-stage network's [`Schedule`] and its stages, each a user of the loop |
//! | [`evaluate`](mod@evaluate) | accuracy, loss and confusion on a test set, class probabilities, features, dead ReLU units |
//! | [`sanity`] | CS231n's checks: [`overfit`] a few examples, the [`mean_image_mse`] baseline, [`ensure_finite`] |
//!
//! Every epoch reads like the math:
//! ```text
//! while let Some(batch) = batches.next(&data, &mut buffer) {
//!     forward → loss → backward → optimizer.step_and_zero_grad
//! }
//! ```
//! An epoch's loss is the mean of its batch losses, as the reference script prints it. Every
//! buffer a step touches lives in the batch buffer or in the layers and is reused from step to
//! step.
//!
//! A regression network, trained with the loop:
//! ```
//! use twostage::batches::{Batches, Order, Regression};
//! use twostage::ndarray::Array2;
//! use twostage::nn::{Dense, Layer, MseLoss, Relu, Sequential};
//! use twostage::optim::Adam;
//! use twostage::rand::{rngs::SmallRng, SeedableRng};
//! use twostage::train::{fit, Silent};
//!
//! // y = x², 64 points in [−1, 1].
//! let x = Array2::from_shape_fn((64, 1), |(i, _)| i as f32 / 32.0 - 1.0);
//! let y = x.mapv(|v| v * v);
//! let mut rng = SmallRng::seed_from_u64(0);
//! let mut net = Sequential::new(vec![
//!     Box::new(Dense::new(1, 32, &mut rng)),
//!     Box::new(Relu::new()),
//!     Box::new(Dense::new(32, 1, &mut rng)),
//! ]);
//! let data = Regression { inputs: x.view(), targets: y.view() };
//! let mut batches = Batches::new(16, Order::Shuffled { seed: 0 });
//! let epochs = fit(&mut net, &mut MseLoss::new(), &mut Adam::new(0.01), &data, &mut batches, 300, &mut Silent)?;
//! let last = epochs.last().unwrap().loss;
//! assert!(last < 2e-3, "final loss {last}");
//! # Ok::<(), twostage::Error>(())
//! ```
//!
//! The two-stage network, trained and evaluated from code:
//! ```
//! use twostage::batches::Examples;
//! use twostage::model::{Dims, TwoStageNetwork};
//! use twostage::rand::{rngs::SmallRng, Rng, SeedableRng};
//! use twostage::train::{self, Schedule, Silent};
//!
//! // 200 synthetic 16-pixel "images" in 2 classes: class 1 is bright on the left half.
//! let mut rng = SmallRng::seed_from_u64(1);
//! let labels: Vec<u8> = (0..200).map(|i| (i % 2) as u8).collect();
//! let pixels: Vec<u8> = labels
//!     .iter()
//!     .flat_map(|&l| (0..16).map(move |j| if l == 1 && j < 8 { 220 } else { 30 }))
//!     .map(|p: u8| p.saturating_add(rng.random_range(0..30)))
//!     .collect();
//! let examples = Examples { pixels: &pixels, labels: &labels, width: 16 };
//! let dims = Dims { input: 16, hidden1: 16, features: 8, hidden2: 8, classes: 2 };
//! let mut network = TwoStageNetwork::<f32>::new(dims, &mut SmallRng::seed_from_u64(0));
//! let schedule = Schedule { batch_size: 20, lr: 1e-2, ..Schedule::default() };
//! let epochs = train::run(&mut network, examples, &schedule, &mut Silent)?;
//! assert_eq!(epochs.len(), 10); // 5 autoencoder epochs, then 5 classifier epochs
//! let evaluation = train::evaluate(&mut network, examples)?;
//! assert!(evaluation.accuracy > 0.95, "accuracy {}", evaluation.accuracy);
//! # Ok::<(), twostage::Error>(())
//! ```

pub mod evaluate;
pub mod fit;
pub mod observer;
pub mod sanity;
pub mod stages;

pub use crate::batches::{Batch, Batches, Examples, Order};
pub use evaluate::{
    DeadUnits, Evaluation, argmax, dead_relu_units, evaluate, features_of, probabilities,
};
pub use fit::{fit, train_epoch};
pub use observer::{EpochLoss, EpochStats, Observer, Silent, Stage};
pub use sanity::{ensure_finite, mean_image_mse, overfit};
pub use stages::{
    Schedule, Stage1Mode, autoencoder_epoch, finetune_epoch, head_epoch, run, run_with_validation,
    seed_epoch,
};

/// Rows a forward pass takes at a time when it runs over a whole data set (evaluation,
/// features): large enough that each product splits across the cores, small enough that the
/// activations stay in cache. Outputs do not depend on it (each row is computed alone); the
/// test loss does in its last bits, as it is summed chunk by chunk, and 1000 is the chunk the
/// command line has always evaluated with, so printed and saved losses stay what they were.
pub const CHUNK_ROWS: usize = 1000;
