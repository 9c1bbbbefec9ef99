//! `LeakyRelu`: `y = x` where `x > 0`, else `α·x`, element-wise.

use std::any::Any;

use ndarray::{Array2, ArrayView2, Zip};

use super::{Layer, ParamMut, Parameters, check_dy, ensure_shape, no_forward};
use crate::linalg::Scalar;

/// PyTorch's `nn.LeakyReLU(negative_slope)`: a rectifier that lets `α` of a negative input
/// through, so a unit below zero still gets a gradient. Like [`super::Relu`], the gradient at
/// `x = 0` is the negative side's (`α`), PyTorch's convention (`x > 0 ? dy : α·dy`).
pub struct LeakyRelu<T> {
    /// `α`, the slope for `x ≤ 0` (PyTorch's default: 0.01).
    pub negative_slope: T,
    /// `x: (B, n)`, the cache; `None` before the first forward.
    input: Option<Array2<T>>,
    /// `y: (B, n)`.
    output: Array2<T>,
    /// `dx: (B, n)`.
    dinput: Array2<T>,
}

impl<T: Scalar> LeakyRelu<T> {
    /// A leaky rectifier with slope `negative_slope` below zero.
    pub fn new(negative_slope: f64) -> LeakyRelu<T> {
        LeakyRelu {
            negative_slope: T::from_f64(negative_slope),
            input: None,
            output: Array2::zeros((0, 0)),
            dinput: Array2::zeros((0, 0)),
        }
    }
}

impl<T: Scalar> Default for LeakyRelu<T> {
    /// PyTorch's default slope, 0.01.
    fn default() -> Self {
        LeakyRelu::new(0.01)
    }
}

impl<T: Scalar> Layer<T> for LeakyRelu<T> {
    fn describe(&self) -> String {
        format!("LeakyReLU(negative_slope={})", self.negative_slope)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        Some(self)
    }

    /// `y = x > 0 ? x : α·x`: `x: (B, n) → y: (B, n)`.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let input = self.input.get_or_insert_with(|| Array2::zeros(x.dim()));
        ensure_shape(input, x.nrows(), x.ncols());
        input.assign(&x);
        ensure_shape(&mut self.output, x.nrows(), x.ncols());
        let slope = self.negative_slope;
        Zip::from(&mut self.output)
            .and(&x)
            .for_each(|y, &x| *y = if x > T::zero() { x } else { slope * x });
        self.output.view()
    }

    /// `dx = dy ⊙ (x > 0 ? 1 : α)`: `dy: (B, n) → dx: (B, n)`.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
        let describe = || format!("LeakyReLU(negative_slope={})", self.negative_slope);
        let Some(input) = &self.input else {
            panic!("{}", no_forward(&describe()));
        };
        check_dy(&describe, &dy, input.dim());
        ensure_shape(&mut self.dinput, dy.nrows(), dy.ncols());
        let slope = self.negative_slope;
        Zip::from(&mut self.dinput)
            .and(&dy)
            .and(input)
            .for_each(|dx, &dy, &x| *dx = if x > T::zero() { dy } else { slope * dy });
        self.dinput.view()
    }
}

impl<T: Scalar> Parameters<T> for LeakyRelu<T> {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {}
}
