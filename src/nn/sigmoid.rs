//! `Sigmoid`: `y = σ(x) = 1 / (1 + e^{−x})`, element-wise.

use super::pointwise::{Formula, Pointwise};
use crate::linalg::Scalar;

/// The logistic function, PyTorch's `nn.Sigmoid`. Its backward needs only the output:
/// `dσ(x)/dx = σ(x)·(1 − σ(x)) = y·(1 − y)`.
pub type Sigmoid<T> = Pointwise<T, Logistic>;

/// Sigmoid's formula: `y = 1 / (1 + e^{−x})`, `dx = dy ⊙ y ⊙ (1 − y)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Logistic;

impl<T: Scalar> Formula<T> for Logistic {
    const READS_INPUT: bool = false;

    fn describe(&self) -> String {
        "Sigmoid()".to_string()
    }

    /// `y = 1 / (1 + e^{−x})`.
    fn forward(&self, y: &mut [T], x: &[T]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = T::one() / (T::one() + (-x).exp());
        }
    }

    /// `dx = dy ⊙ y ⊙ (1 − y)`.
    fn backward(&self, dx: &mut [T], dy: &[T], y: &[T]) {
        for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
            *dx = dy * y * (T::one() - y);
        }
    }
}
