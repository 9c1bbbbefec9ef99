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

mod events;
mod protocol;
mod runner;
mod summary;

pub use events::Event;
pub use protocol::{Method, Protocol};
pub use runner::{run, train_steps};
pub use subsets::Subsets;
pub use summary::{Row, cell, mean_std, summary};
