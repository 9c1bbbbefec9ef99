//! `ReLU`: `y = max(x, 0)`, element-wise.

use super::pointwise::{Formula, Pointwise};
use crate::linalg::{Scalar, elementwise, simd};

/// The rectifier. Its backward lets the gradient through where the *output* is positive, so the
/// gradient at `x = 0` is 0, PyTorch's convention (`threshold_backward(dy, y, 0)`).
pub type Relu<T> = Pointwise<T, Rectifier>;

/// ReLU's formula: `y = max(x, 0)`, `dx = dy ⊙ [y > 0]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rectifier;

impl<T: Scalar> Formula<T> for Rectifier {
    /// `y > 0` exactly where `x > 0`: the output is the cache.
    const READS_INPUT: bool = false;

    fn describe(&self) -> String {
        "ReLU()".to_string()
    }

    /// `y = max(x, 0)`, on the kernel of the current rung.
    fn forward(&self, y: &mut [T], x: &[T]) {
        elementwise::relu(simd::rung(), y, x)
    }

    /// `dx = dy ⊙ [y > 0]`.
    fn backward(&self, dx: &mut [T], dy: &[T], y: &[T]) {
        elementwise::relu_mask(simd::rung(), dx, dy, y)
    }
}
