//! `Sigmoid`: `y = σ(x) = 1 / (1 + e^{−x})`, element-wise.

use std::any::Any;

use ndarray::{Array2, ArrayView2, Zip};

use super::{Layer, ParamMut, Parameters, check_dy, ensure_shape, no_forward};
use crate::linalg::Scalar;

/// The logistic function, PyTorch's `nn.Sigmoid`. Its backward needs only the output:
/// `dσ(x)/dx = σ(x)·(1 − σ(x)) = y·(1 − y)`.
pub struct Sigmoid<T> {
    /// `y: (B, n)`, which is also the cache; `None` before the first forward.
    output: Option<Array2<T>>,
    /// `dx: (B, n)`.
    dinput: Array2<T>,
}

impl<T: Scalar> Sigmoid<T> {
    /// A Sigmoid with nothing cached yet.
    pub fn new() -> Sigmoid<T> {
        Sigmoid {
            output: None,
            dinput: Array2::zeros((0, 0)),
        }
    }
}

impl<T: Scalar> Default for Sigmoid<T> {
    fn default() -> Self {
        Sigmoid::new()
    }
}

impl<T: Scalar> Layer<T> for Sigmoid<T> {
    fn describe(&self) -> String {
        "Sigmoid()".to_string()
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        Some(self)
    }

    /// `y = 1 / (1 + e^{−x})`: `x: (B, n) → y: (B, n)`.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let output = self.output.get_or_insert_with(|| Array2::zeros(x.dim()));
        ensure_shape(output, x.nrows(), x.ncols());
        Zip::from(&mut *output)
            .and(&x)
            .for_each(|y, &x| *y = T::one() / (T::one() + (-x).exp()));
        output.view()
    }

    /// `dx = dy ⊙ y ⊙ (1 − y)`: `dy: (B, n) → dx: (B, n)`.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
        let Some(output) = &self.output else {
            panic!("{}", no_forward("Sigmoid()"));
        };
        check_dy(&|| "Sigmoid()".to_string(), &dy, output.dim());
        ensure_shape(&mut self.dinput, dy.nrows(), dy.ncols());
        Zip::from(&mut self.dinput)
            .and(&dy)
            .and(output)
            .for_each(|dx, &dy, &y| *dx = dy * y * (T::one() - y));
        self.dinput.view()
    }
}

impl<T: Scalar> Parameters<T> for Sigmoid<T> {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {}
}
