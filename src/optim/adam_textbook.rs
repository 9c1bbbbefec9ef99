//! Adam from the paper's formulas, line by line (Kingma & Ba, Algorithm 1, with ε added
//! after the square root as PyTorch does). For reading and for testing [`super::Adam`], which
//! computes the same update fused into one pass over memory with PyTorch's rounding:
//! ```text
//! t ← t + 1
//! m ← β₁·m + (1 − β₁)·g          first moment: a running mean of g
//! v ← β₂·v + (1 − β₂)·g²         second moment: a running mean of g²
//! m̂ = m / (1 − β₁ᵗ)              bias corrections: m and v start at 0
//! v̂ = v / (1 − β₂ᵗ)
//! θ ← θ − lr·m̂ / (√v̂ + ε)
//! ```

use super::{Keyed, Optimizer};
use crate::linalg::Scalar;
use crate::nn::Parameters;

/// The textbook Adam and its per-parameter moments.
pub struct TextbookAdam<T> {
    /// The learning rate.
    pub lr: f64,
    /// β₁, the decay of the first moment (0.9).
    pub beta1: f64,
    /// β₂, the decay of the second moment (0.999).
    pub beta2: f64,
    /// ε, added to √v̂ (1e-8).
    pub eps: f64,
    /// Steps taken (`t`).
    pub steps: i32,
    /// `(m, v)` for each parameter, by name.
    moments: Keyed<(Vec<T>, Vec<T>)>,
}

impl<T: Scalar> TextbookAdam<T> {
    /// PyTorch's defaults: β = (0.9, 0.999), ε = 1e-8.
    pub fn new(lr: f64) -> TextbookAdam<T> {
        let (beta1, beta2, eps) = (0.9, 0.999, 1e-8);
        TextbookAdam {
            lr,
            beta1,
            beta2,
            eps,
            steps: 0,
            moments: Keyed::default(),
        }
    }
}

impl<T: Scalar> Optimizer<T> for TextbookAdam<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) {
        self.steps += 1;
        let t = self.steps;
        let [lr, beta1, beta2, eps] = [self.lr, self.beta1, self.beta2, self.eps].map(T::from_f64);
        let one = T::one();
        let correction1 = one - beta1.powi(t);
        let correction2 = one - beta2.powi(t);
        let mut index = 0;
        params.visit_params(&mut |name, mut p| {
            let n = p.value.len();
            let (m, v) = self
                .moments
                .get(index, name, p.value.as_ptr(), "TextbookAdam", || {
                    (vec![T::zero(); n], vec![T::zero(); n])
                });
            index += 1;
            for (i, (theta, &g)) in p.value.iter_mut().zip(p.grad.iter()).enumerate() {
                m[i] = beta1 * m[i] + (one - beta1) * g;
                v[i] = beta2 * v[i] + (one - beta2) * g * g;
                let m_hat = m[i] / correction1;
                let v_hat = v[i] / correction2;
                *theta -= lr * m_hat / (v_hat.sqrt() + eps);
            }
        });
    }
}
