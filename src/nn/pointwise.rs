//! What every element-wise layer shares: the buffers, the cache, the shape checks and the
//! [`Layer`] plumbing. Each activation's file holds only its formula, a [`Formula`]: `y = f(x)`
//! and `dx = dy ⊙ f'(…)` on slices, and [`Pointwise`] makes it a layer (`Relu<T>` is
//! `Pointwise<T, Rectifier>`).

use std::any::Any;

use ndarray::{Array2, ArrayView2};

use super::{
    Layer, ParamMut, Parameters, check_dy, elements, elements_mut, ensure_shape, no_forward,
};
use crate::linalg::{Scalar, elementwise, simd};

/// An element-wise function and its derivative, on a batch stored row by row.
pub trait Formula<T: Scalar>: Send + 'static {
    /// Whether [`Formula::backward`] needs the input `x` (else it needs only the output `y`,
    /// and the layer keeps no copy of `x`).
    const READS_INPUT: bool;

    /// What the layer is, PyTorch-style: `ReLU()`.
    fn describe(&self) -> String;

    /// `y = f(x)`, element by element; the slices have the same length.
    fn forward(&self, y: &mut [T], x: &[T]);

    /// `dx = dy ⊙ f'(x)`, element by element, from `cached`: the forward's input `x` if
    /// [`Formula::READS_INPUT`], else its output `y`.
    fn backward(&self, dx: &mut [T], dy: &[T], cached: &[T]);
}

/// The layer of an element-wise [`Formula`] `F`: no parameters, its output and `dx` in its own
/// buffers, and the forward's input kept only if the backward reads it.
pub struct Pointwise<T, F> {
    /// The function, with its constants (a slope).
    pub formula: F,
    /// `x: (B, n)`, kept when `F::READS_INPUT`.
    input: Array2<T>,
    /// `y: (B, n)`; `None` before the first forward.
    output: Option<Array2<T>>,
    /// `dx: (B, n)`.
    dinput: Array2<T>,
}

impl<T: Scalar, F: Formula<T>> Pointwise<T, F> {
    /// The layer of `formula`, with nothing cached yet.
    pub fn with(formula: F) -> Pointwise<T, F> {
        Pointwise {
            formula,
            input: Array2::zeros((0, 0)),
            output: None,
            dinput: Array2::zeros((0, 0)),
        }
    }
}

impl<T: Scalar, F: Formula<T> + Default> Pointwise<T, F> {
    /// The layer of a formula without constants, with nothing cached yet: `Relu::new()`.
    pub fn new() -> Pointwise<T, F> {
        Pointwise::with(F::default())
    }
}

impl<T: Scalar, F: Formula<T> + Default> Default for Pointwise<T, F> {
    fn default() -> Self {
        Pointwise::with(F::default())
    }
}

/// The last forward's output, checking that `dy` has its shape.
#[track_caller]
fn cached_output<'a, T: Scalar>(
    describe: &dyn Fn() -> String,
    output: &'a Option<Array2<T>>,
    dy: &ArrayView2<T>,
) -> &'a Array2<T> {
    let Some(output) = output else {
        panic!("{}", no_forward(&describe()));
    };
    check_dy(describe, dy, output.dim());
    output
}

impl<T: Scalar, F: Formula<T>> Layer<T> for Pointwise<T, F> {
    fn describe(&self) -> String {
        self.formula.describe()
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        Some(self)
    }

    /// `y = f(x)`: `x: (B, n) → y: (B, n)`.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let (rows, cols) = x.dim();
        let x = x.as_standard_layout();
        if F::READS_INPUT {
            ensure_shape(&mut self.input, rows, cols);
            elementwise::copy(simd::rung(), elements_mut(&mut self.input), elements(&x));
        }
        let output = self
            .output
            .get_or_insert_with(|| Array2::zeros((rows, cols)));
        ensure_shape(output, rows, cols);
        self.formula.forward(elements_mut(output), elements(&x));
        output.view()
    }

    /// `dx = dy ⊙ f'(x)`: `dy: (B, n) → dx: (B, n)`.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
        let output = cached_output(&|| self.formula.describe(), &self.output, &dy);
        let cached = if F::READS_INPUT { &self.input } else { output };
        let dy = dy.as_standard_layout();
        ensure_shape(&mut self.dinput, dy.nrows(), dy.ncols());
        self.formula.backward(
            elements_mut(&mut self.dinput),
            elements(&dy),
            elements(cached),
        );
        self.dinput.view()
    }

    /// No parameters: nothing to accumulate (the shape is still checked).
    fn backward_params(&mut self, dy: ArrayView2<T>) {
        cached_output(&|| self.formula.describe(), &self.output, &dy);
    }
}

impl<T: Scalar, F: Formula<T>> Parameters<T> for Pointwise<T, F> {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {}
}
