//! Stochastic gradient descent with momentum, as `torch.optim.SGD(lr, momentum)` computes it
//! (no dampening, no Nesterov, no weight decay):
//! ```text
//! b ← μ·b + g        (b = g at the first step)
//! θ ← θ − lr·b
//! ```
//! With μ = 0 it is plain gradient descent, `θ ← θ − lr·g`. Momentum lets past gradients keep
//! pushing: along a direction where they agree, steps grow towards `lr/(1 − μ)`; where they
//! alternate, they cancel.

use super::{Keyed, Optimizer};
use crate::linalg::Scalar;
use crate::nn::Parameters;

/// SGD and its per-parameter momentum buffers `b`.
pub struct Sgd<T> {
    /// The learning rate.
    pub lr: f64,
    /// The momentum μ (0: plain SGD).
    pub momentum: f64,
    /// `b` for each parameter, by name; created at the first step.
    buffers: Keyed<Vec<T>>,
}

impl<T: Scalar> Sgd<T> {
    /// SGD with learning rate `lr` and momentum `momentum` (0 for plain SGD).
    pub fn new(lr: f64, momentum: f64) -> Sgd<T> {
        Sgd {
            lr,
            momentum,
            buffers: Keyed::default(),
        }
    }
}

impl<T: Scalar> Optimizer<T> for Sgd<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) {
        let (lr, momentum) = (T::from_f64(self.lr), T::from_f64(self.momentum));
        let mut index = 0;
        params.visit_params(&mut |name, mut p| {
            let mut first = false;
            let buffer = self.buffers.get(index, name, p.value.as_ptr(), "SGD", || {
                first = true;
                vec![T::zero(); p.value.len()]
            });
            index += 1;
            for ((theta, &g), b) in p.value.iter_mut().zip(p.grad.iter()).zip(buffer.iter_mut()) {
                // b = g at the first step, as PyTorch starts its buffer from the gradient.
                *b = if first { g } else { momentum * *b + g };
                *theta -= lr * *b;
            }
        });
    }
}
