//! Optimizers: what to do with a gradient once backward has accumulated it.
//!
//! | optimizer | update, per parameter `θ` with gradient `g` |
//! |---|---|
//! | [`Sgd`] | `b ← μ·b + g`, `θ ← θ − lr·b` (plain SGD when μ = 0) |
//! | [`TextbookAdam`] | Adam from the paper's formulas, line by line, for reading |
//! | [`Adam`] | the same update as PyTorch computes it, fused into one pass over memory |
//!
//! Each keeps its state (momentum, moments) per parameter, under the parameter's name, and
//! refuses to be handed other parameters than the ones it started with: other names, another
//! order, or the same names on another network (it remembers where each tensor lives). One
//! optimizer per network.

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
    /// If `params` are not the parameters of the first step (the same tensors, visited in the
    /// same order): one optimizer per network.
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
/// and where each tensor's values live, every later step must visit the same tensors in the
/// same order. The address is what tells two networks with the same parameter names apart:
/// without it, an optimizer handed a second network would silently apply the first one's
/// moments to it.
#[derive(Debug)]
pub(crate) struct Keyed<S> {
    entries: Vec<(String, usize, S)>,
}

impl<S> Default for Keyed<S> {
    fn default() -> Self {
        Keyed {
            entries: Vec::new(),
        }
    }
}

impl<S> Keyed<S> {
    /// The state of the `index`-th parameter visited, `name`, whose values start at `values`:
    /// created by `init` at the first step, checked against `name` and `values` afterwards.
    ///
    /// # Panics
    /// If a later step visits another parameter at this position, or a tensor of the same name
    /// that is not the one of the first step (another network).
    pub(crate) fn get<T>(
        &mut self,
        index: usize,
        name: &str,
        values: *const T,
        optimizer: &str,
        init: impl FnOnce() -> S,
    ) -> &mut S {
        let address = values as usize;
        if index == self.entries.len() {
            self.entries.push((name.to_string(), address, init()));
        }
        let Some((known, known_address, state)) = self.entries.get_mut(index) else {
            panic!("{optimizer}: parameters must be visited in the same order at every step");
        };
        assert!(
            known == name,
            "{optimizer}: step got parameter {name:?} where it keeps the state of {known:?}; \
             use one optimizer per set of parameters"
        );
        assert!(
            *known_address == address,
            "{optimizer}: parameter {name:?} is not the tensor this optimizer took its first \
             step on (another network with the same parameter names?); its state belongs to \
             the first one: use one optimizer per network"
        );
        state
    }
}

#[cfg(test)]
mod tests {
    use super::{Adam, Optimizer, Sgd, TextbookAdam};
    use crate::nn::Dense;
    use ndarray::array;

    fn layer() -> Dense<f64> {
        Dense::from_weights(array![[0.5, -0.5]], array![0.1])
    }

    /// Each optimizer refuses a second network with the same parameter names, and keeps
    /// stepping its own (moved, so its struct sits elsewhere; its tensors did not move).
    #[test]
    fn an_optimizer_refuses_a_second_network_with_the_same_names() {
        type Make = fn() -> Box<dyn Optimizer<f64>>;
        let optimizers: [Make; 3] = [
            || Box::new(Adam::new(0.1)),
            || Box::new(TextbookAdam::new(0.1)),
            || Box::new(Sgd::new(0.1, 0.9)),
        ];
        for make in optimizers {
            let mut optimizer = make();
            let first = layer();
            let mut moved = vec![first];
            optimizer.step(&mut moved[0]);
            let mut first = moved.pop().expect("the layer");
            optimizer.step(&mut first);
            let mut second = layer();
            let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                optimizer.step(&mut second)
            }));
            let message = refused.expect_err("a second network must be refused");
            let message = message
                .downcast_ref::<String>()
                .expect("a formatted message");
            assert!(
                message.contains("use one optimizer per network"),
                "{message}"
            );
        }
    }
}
