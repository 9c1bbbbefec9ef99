//! Optimizers: what to do with a gradient once backward has accumulated it.
//!
//! | optimizer | update, per parameter `θ` with gradient `g` |
//! |---|---|
//! | [`Sgd`] | `b ← μ·b + g`, `θ ← θ − lr·b` (plain SGD when μ = 0) |
//! | [`TextbookAdam`] | Adam from the paper's formulas, line by line, for reading |
//! | [`Adam`] | the same update as PyTorch computes it, fused into one pass over memory |
//!
//! Each keeps its state (momentum, moments) per parameter, under the parameter's name, and
//! refuses to be handed other parameters than the ones it started with.

pub mod adam;
pub mod adam_textbook;
pub mod sgd;

pub use adam::Adam;
pub use adam_textbook::TextbookAdam;
pub use sgd::Sgd;

use crate::linalg::Scalar;
use crate::nn::Parameters;

/// Something that updates parameters from their gradients.
///
/// ```
/// use twostage::ndarray::array;
/// use twostage::nn::{Dense, Layer};
/// use twostage::optim::{Adam, Optimizer, Sgd};
/// // The same training step, whichever optimizer is passed in.
/// fn train_step(layer: &mut Dense<f64>, optimizer: &mut dyn Optimizer<f64>) {
///     let x = array![[1.0, 2.0]];
///     let prediction = layer.forward(x.view());
///     let dprediction = prediction.mapv(|p| p - 3.0); // d/dŷ of ½(ŷ − 3)²
///     layer.backward_params(dprediction.view());
///     optimizer.step_and_zero_grad(layer);
/// }
/// let mut a = Dense::from_weights(array![[0.5, 0.5]], array![0.0]);
/// let mut b = Dense::from_weights(array![[0.5, 0.5]], array![0.0]);
/// let (mut adam, mut sgd) = (Adam::new(0.01), Sgd::new(0.05, 0.5));
/// for _ in 0..300 {
///     train_step(&mut a, &mut adam);
///     train_step(&mut b, &mut sgd);
/// }
/// let output = |l: &mut Dense<f64>| l.forward(array![[1.0, 2.0]].view())[[0, 0]];
/// let (ya, yb) = (output(&mut a), output(&mut b));
/// assert!((ya - 3.0).abs() < 0.05 && (yb - 3.0).abs() < 0.05, "Adam {ya}, SGD {yb}");
/// ```
pub trait Optimizer<T: Scalar> {
    /// One update of every parameter `params` visits, from the gradients they hold.
    ///
    /// # Panics
    /// If `params` are not the parameters of the first step (names and sizes).
    fn step(&mut self, params: &mut dyn Parameters<T>);

    /// Clears every gradient of `params`, as `optimizer.zero_grad()` does in PyTorch.
    fn zero_grad(&self, params: &mut dyn Parameters<T>) {
        params.zero_grad();
    }

    /// [`Optimizer::step`], then [`Optimizer::zero_grad`]; an optimizer may fuse the two.
    fn step_and_zero_grad(&mut self, params: &mut dyn Parameters<T>) {
        self.step(params);
        self.zero_grad(params);
    }
}

/// Per-parameter state, kept under each parameter's name: the first step records the names
/// and sizes, every later step must visit the same ones in the same order.
#[derive(Debug, Default)]
pub(crate) struct Keyed<S> {
    entries: Vec<(String, S)>,
}

impl<S> Keyed<S> {
    /// The state of the `index`-th parameter visited, `name` with `len` values: created by
    /// `init` at the first step, checked against `name` afterwards.
    ///
    /// # Panics
    /// If a later step visits another parameter at this position.
    pub(crate) fn get(
        &mut self,
        index: usize,
        name: &str,
        optimizer: &str,
        init: impl FnOnce() -> S,
    ) -> &mut S {
        if index == self.entries.len() {
            self.entries.push((name.to_string(), init()));
        }
        let Some((known, state)) = self.entries.get_mut(index) else {
            panic!("{optimizer}: parameters must be visited in the same order at every step");
        };
        assert!(
            known == name,
            "{optimizer}: step got parameter {name:?} where it keeps the state of {known:?}; \
             use one optimizer per set of parameters"
        );
        state
    }
}
