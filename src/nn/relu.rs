//! `ReLU`: `y = max(x, 0)`, element-wise.

use ndarray::{Array2, ArrayView2, Zip};

use super::{Layer, ParamMut, Parameters, check_dy, ensure_shape, no_forward};
use crate::linalg::{Scalar, elementwise, simd};

/// The rectifier. Its backward lets the gradient through where the *output* is positive, so the
/// gradient at `x = 0` is 0, PyTorch's convention (`threshold_backward(dy, y, 0)`).
pub struct Relu<T> {
    /// `y: (B, n)`, which is also the cache: `y > 0` exactly where `x > 0`.
    output: Option<Array2<T>>,
    /// `dx: (B, n)`.
    dinput: Array2<T>,
}

impl<T: Scalar> Relu<T> {
    /// A ReLU with nothing cached yet.
    pub fn new() -> Relu<T> {
        Relu {
            output: None,
            dinput: Array2::zeros((0, 0)),
        }
    }
}

impl<T: Scalar> Default for Relu<T> {
    fn default() -> Self {
        Relu::new()
    }
}

impl<T: Scalar> Layer<T> for Relu<T> {
    fn describe(&self) -> String {
        "ReLU()".to_string()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    /// `y = max(x, 0)`: `x: (B, n) → y: (B, n)`.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let output = self.output.get_or_insert_with(|| Array2::zeros(x.dim()));
        ensure_shape(output, x.nrows(), x.ncols());
        match (output.as_slice_mut(), x.as_slice()) {
            (Some(y), Some(x)) => elementwise::relu(simd::rung(), y, x),
            _ => Zip::from(&mut *output)
                .and(&x)
                .for_each(|y, &x| *y = if x > T::zero() { x } else { T::zero() }),
        }
        output.view()
    }

    /// `dx = dy ⊙ [y > 0]`: `dy: (B, n) → dx: (B, n)`.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
        let describe = || "ReLU()".to_string();
        let Some(output) = &self.output else {
            panic!("{}", no_forward(&describe()));
        };
        check_dy(&describe, &dy, output.dim());
        ensure_shape(&mut self.dinput, dy.nrows(), dy.ncols());
        match (self.dinput.as_slice_mut(), dy.as_slice(), output.as_slice()) {
            (Some(dx), Some(dy), Some(y)) => elementwise::relu_mask(simd::rung(), dx, dy, y),
            _ => Zip::from(&mut self.dinput)
                .and(&dy)
                .and(output)
                .for_each(|dx, &dy, &y| *dx = if y > T::zero() { dy } else { T::zero() }),
        }
        self.dinput.view()
    }

    /// No parameters: nothing to accumulate (the shape is still checked).
    fn backward_params(&mut self, dy: ArrayView2<T>) {
        let describe = || "ReLU()".to_string();
        let Some(output) = &self.output else {
            panic!("{}", no_forward(&describe()));
        };
        check_dy(&describe, &dy, output.dim());
    }
}

impl<T: Scalar> Parameters<T> for Relu<T> {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {}
}
