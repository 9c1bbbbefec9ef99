//! `LeakyRelu`: `y = x` where `x > 0`, else `α·x`, element-wise.

use super::pointwise::{Formula, Pointwise};
use crate::linalg::Scalar;

/// PyTorch's `nn.LeakyReLU(negative_slope)`: a rectifier that lets `α` of a negative input
/// through, so a unit below zero still gets a gradient. Like [`super::Relu`], the gradient at
/// `x = 0` is the negative side's (`α`), PyTorch's convention (`x > 0 ? dy : α·dy`).
pub type LeakyRelu<T> = Pointwise<T, LeakyRectifier<T>>;

/// LeakyReLU's formula: `y = x > 0 ? x : α·x`, `dx = dy ⊙ (x > 0 ? 1 : α)`.
#[derive(Clone, Copy, Debug)]
pub struct LeakyRectifier<T> {
    /// `α`, the slope for `x ≤ 0` (PyTorch's default: 0.01).
    pub negative_slope: T,
}

impl<T: Scalar> LeakyRelu<T> {
    /// A leaky rectifier with slope `negative_slope` below zero.
    pub fn new(negative_slope: f64) -> LeakyRelu<T> {
        Pointwise::with(LeakyRectifier {
            negative_slope: T::from_f64(negative_slope),
        })
    }
}

impl<T: Scalar> Default for LeakyRelu<T> {
    /// PyTorch's default slope, 0.01.
    fn default() -> Self {
        LeakyRelu::new(0.01)
    }
}

impl<T: Scalar> Formula<T> for LeakyRectifier<T> {
    /// The side of the gradient is the sign of `x`, which `y = α·x` does not tell for `α ≤ 0`.
    const READS_INPUT: bool = true;

    fn describe(&self) -> String {
        format!("LeakyReLU(negative_slope={})", self.negative_slope)
    }

    /// `y = x > 0 ? x : α·x`.
    fn forward(&self, y: &mut [T], x: &[T]) {
        let slope = self.negative_slope;
        for (y, &x) in y.iter_mut().zip(x) {
            *y = if x > T::zero() { x } else { slope * x };
        }
    }

    /// `dx = dy ⊙ (x > 0 ? 1 : α)`.
    fn backward(&self, dx: &mut [T], dy: &[T], x: &[T]) {
        let slope = self.negative_slope;
        for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
            *dx = if x > T::zero() { dy } else { slope * dy };
        }
    }
}
