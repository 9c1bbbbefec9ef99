//! `Tanh`: `y = tanh(x)`, element-wise.

use std::any::Any;

use ndarray::{Array2, ArrayView2, Zip};

use super::{Layer, ParamMut, Parameters, check_dy, ensure_shape, no_forward};
use crate::linalg::Scalar;

/// The hyperbolic tangent, PyTorch's `nn.Tanh`. Its backward needs only the output:
/// `d tanh(x)/dx = 1 − tanh²(x) = 1 − y²`.
pub struct Tanh<T> {
    /// `y: (B, n)`, which is also the cache; `None` before the first forward.
    output: Option<Array2<T>>,
    /// `dx: (B, n)`.
    dinput: Array2<T>,
}

impl<T: Scalar> Tanh<T> {
    /// A Tanh with nothing cached yet.
    pub fn new() -> Tanh<T> {
        Tanh {
            output: None,
            dinput: Array2::zeros((0, 0)),
        }
    }
}

impl<T: Scalar> Default for Tanh<T> {
    fn default() -> Self {
        Tanh::new()
    }
}

impl<T: Scalar> Layer<T> for Tanh<T> {
    fn describe(&self) -> String {
        "Tanh()".to_string()
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        Some(self)
    }

    /// `y = tanh(x)`: `x: (B, n) → y: (B, n)`.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let output = self.output.get_or_insert_with(|| Array2::zeros(x.dim()));
        ensure_shape(output, x.nrows(), x.ncols());
        Zip::from(&mut *output)
            .and(&x)
            .for_each(|y, &x| *y = x.tanh());
        output.view()
    }

    /// `dx = dy ⊙ (1 − y²)`: `dy: (B, n) → dx: (B, n)`.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
        let Some(output) = &self.output else {
            panic!("{}", no_forward("Tanh()"));
        };
        check_dy(&|| "Tanh()".to_string(), &dy, output.dim());
        ensure_shape(&mut self.dinput, dy.nrows(), dy.ncols());
        Zip::from(&mut self.dinput)
            .and(&dy)
            .and(output)
            .for_each(|dx, &dy, &y| *dx = dy * (T::one() - y * y));
        self.dinput.view()
    }
}

impl<T: Scalar> Parameters<T> for Tanh<T> {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {}
}
