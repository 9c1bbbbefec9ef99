//! `Tanh`: `y = tanh(x)`, element-wise.

use super::pointwise::{Formula, Pointwise};
use crate::linalg::Scalar;

/// The hyperbolic tangent, PyTorch's `nn.Tanh`. Its backward needs only the output:
/// `d tanh(x)/dx = 1 − tanh²(x) = 1 − y²`.
pub type Tanh<T> = Pointwise<T, HyperbolicTangent>;

/// Tanh's formula: `y = tanh(x)`, `dx = dy ⊙ (1 − y²)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperbolicTangent;

impl<T: Scalar> Formula<T> for HyperbolicTangent {
    const READS_INPUT: bool = false;

    fn describe(&self) -> String {
        "Tanh()".to_string()
    }

    /// `y = tanh(x)`.
    fn forward(&self, y: &mut [T], x: &[T]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x.tanh();
        }
    }

    /// `dx = dy ⊙ (1 − y²)`.
    fn backward(&self, dx: &mut [T], dy: &[T], y: &[T]) {
        for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
            *dx = dy * (T::one() - y * y);
        }
    }
}
