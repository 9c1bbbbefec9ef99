//! What a study reports as it goes: pretraining epochs and finished runs.

use super::Row;
use crate::train::{EpochStats, Observer};

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

/// Hands the pretraining's epochs to the study's events.
pub(super) struct Forward<'e> {
    pub(super) seed: u64,
    pub(super) on_event: &'e mut (dyn FnMut(Event) + Send),
}

impl Observer for Forward<'_> {
    fn epoch_end(&mut self, stats: &EpochStats) {
        (self.on_event)(Event::PretrainEpoch {
            seed: self.seed,
            stats,
        });
    }
}
