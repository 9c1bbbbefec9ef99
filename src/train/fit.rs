//! The training loop, for any network: a [`Layer`] (a [`Sequential`](crate::nn::Sequential),
//! a [`Route`](crate::model::Route) through the two-stage network, a layer of your own), a
//! [`Loss`] against the targets a [`Dataset`] holds, and an [`Optimizer`]. The two-stage
//! network's stages ([`super::stages`]) are this loop with particular choices of the four.

use crate::batches::{Batch, Batches, Dataset};
use crate::error::Error;
use crate::linalg::{Scalar, join, on_pool};
use crate::nn::{Layer, Loss};
use crate::optim::Optimizer;

use super::observer::{EpochLoss, EpochStats, Observer, Stage};
use super::sanity::ensure_finite;

/// One epoch: for every batch of `data`, in the order `batches` draws,
/// `ŷ = network(x)`, `L = loss(ŷ, y)`, `network.backward_params(dL/dŷ)`, then
/// `optimizer.step_and_zero_grad`. Each batch's loss goes to `epoch` (which stops the epoch
/// with [`Error::Diverged`] if it is not finite). On the rayon pool, where each product splits
/// across the cores cheaply; the gradients are cleared first.
///
/// The next batch is gathered while the optimizer steps, on the other core when there is one
/// ([`join`]): it depends on nothing the step writes, and gathering scattered rows waits on
/// memory, a visible share of the short stage-2 step (`benches/head_phases.rs`, figures in
/// `benches/README.md`). The same numbers in the same order as gathering it first, so the same
/// bits.
///
/// # Errors
/// [`Error::Diverged`]; what `loss` reports about bad targets ([`Error::Label`]).
pub fn train_epoch<T, N, D, L>(
    network: &mut N,
    loss: &mut L,
    optimizer: &mut (dyn Optimizer<T> + Send),
    data: &D,
    batches: &mut Batches,
    epoch: &mut EpochLoss,
) -> Result<(), Error>
where
    T: Scalar,
    N: Layer<T>,
    D: Dataset<T>,
    L: Loss<T, D::Targets> + Send,
{
    network.zero_grad();
    batches.start_epoch(data.len());
    let (mut batch, mut next) = (Batch::default(), Batch::default());
    on_pool(|| {
        let mut more = batches.next(data, &mut batch).is_some();
        while more {
            let prediction = network.forward(batch.x.view()); // x: (B, in) → ŷ: (B, out)
            epoch.add(loss.forward(prediction, &batch)?.to_f64() as f32)?; // L(ŷ, y)
            network.backward_params(loss.backward()); // dŷ → every dW, db
            // The step on this core; the next batch gathered meanwhile on the other.
            (_, more) = join(
                || optimizer.step_and_zero_grad(network),
                || batches.next(data, &mut next).is_some(),
            );
            std::mem::swap(&mut batch, &mut next);
        }
        Ok(())
    })
}

/// Trains `network` for `epochs` epochs of [`train_epoch`], reporting to `observer` as
/// [`Stage::Fit`]; returns every epoch's stats. Afterwards every parameter must be finite
/// ([`ensure_finite`]).
///
/// # Errors
/// [`Error::Empty`] for no data; as [`train_epoch`]; [`Error::NonFiniteParameter`].
pub fn fit<T, N, D, L>(
    network: &mut N,
    loss: &mut L,
    optimizer: &mut (dyn Optimizer<T> + Send),
    data: &D,
    batches: &mut Batches,
    epochs: usize,
    observer: &mut dyn Observer,
) -> Result<Vec<EpochStats>, Error>
where
    T: Scalar,
    N: Layer<T>,
    D: Dataset<T>,
    L: Loss<T, D::Targets> + Send,
{
    if data.is_empty() {
        return Err(Error::Empty {
            what: "training set",
            purpose: "train on",
        });
    }
    observer.stage_start(Stage::Fit, epochs, batches.per_epoch(data.len()));
    let mut stats = Vec::with_capacity(epochs);
    for epoch in 1..=epochs {
        let mut running = EpochLoss::new(Stage::Fit, epoch, epochs, observer);
        train_epoch(network, loss, optimizer, data, batches, &mut running)?;
        stats.push(running.finish());
    }
    ensure_finite(network, Stage::Fit)?;
    Ok(stats)
}
