//! `Dense`, PyTorch's `nn.Linear`: `y = x·Wᵀ + b`, with `W` stored `(out, in)` like PyTorch so
//! checkpoints carry over unchanged.

use ndarray::{Array1, Array2, ArrayView2};
use ndarray_rand::rand::Rng;

use super::{Layer, ParamMut, Parameters, check_dy, ensure_shape, init, no_forward};
use crate::linalg::{Scalar, aligned, elementwise, matmul_acc, matmul_bias_into, matmul_into};

/// A fully connected layer.
pub struct Dense<T> {
    /// `W: (out, in)`.
    pub weight: Array2<T>,
    /// `b: (out,)`.
    pub bias: Array1<T>,
    /// `dL/dW: (out, in)`, accumulated by `backward`.
    pub dweight: Array2<T>,
    /// `dL/db: (out,)`, accumulated by `backward`.
    pub dbias: Array1<T>,
    /// The forward input `x: (B, in)`, kept for `dW` and `dx`; `None` before the first forward.
    input: Option<Array2<T>>,
    /// `y: (B, out)`.
    output: Array2<T>,
    /// `dx: (B, in)`.
    dinput: Array2<T>,
}

impl<T: Scalar> Dense<T> {
    /// A layer with PyTorch's default initialisation, `W, b ~ U(−1/√in, 1/√in)`.
    pub fn new(inputs: usize, outputs: usize, rng: &mut impl Rng) -> Dense<T> {
        let (weight, bias) = init::linear_default(inputs, outputs, rng);
        Dense::from_weights(weight, bias)
    }

    /// A layer with the given `W: (out, in)` and `b: (out,)`.
    ///
    /// Panics if `b` does not have one entry per row of `W`.
    pub fn from_weights(weight: Array2<T>, bias: Array1<T>) -> Dense<T> {
        let (outputs, inputs) = weight.dim();
        assert_eq!(
            bias.len(),
            outputs,
            "Dense: bias length must equal W's rows"
        );
        Dense {
            weight: {
                let mut aligned = aligned::zeros((outputs, inputs));
                aligned.assign(&weight);
                aligned
            },
            bias,
            dweight: aligned::zeros((outputs, inputs)),
            dbias: aligned::zeros(outputs),
            input: None,
            output: Array2::zeros((0, outputs)),
            dinput: Array2::zeros((0, inputs)),
        }
    }

    /// Input width, `in`.
    pub fn inputs(&self) -> usize {
        self.weight.ncols()
    }

    /// Output width, `out`.
    pub fn outputs(&self) -> usize {
        self.weight.nrows()
    }
}

impl<T: Scalar> Layer<T> for Dense<T> {
    fn describe(&self) -> String {
        format!("Linear({}, {})", self.inputs(), self.outputs())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    /// `y = x·Wᵀ + b`: `x: (B, in) → y: (B, out)`.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let (batch, inputs, outputs) = (x.nrows(), self.inputs(), self.outputs());
        assert_eq!(
            x.ncols(),
            inputs,
            "{}: input has width {}, expected {inputs}",
            self.describe(),
            x.ncols()
        );
        let input = self.input.get_or_insert_with(|| aligned::zeros(x.dim()));
        ensure_shape(input, batch, inputs);
        elementwise::assign_rows(input, x);
        ensure_shape(&mut self.output, batch, outputs);
        // y: (B, out) = b: (out,) broadcast over rows, then += x: (B, in) · Wᵀ: (in, out), the
        // same two steps as PyTorch's addmm.
        matmul_bias_into(
            &mut self.output,
            input.view(),
            self.weight.t(),
            self.bias.view(),
        );
        self.output.view()
    }

    /// `dW += dyᵀ·x`, `db += Σ_b dy`, `dx = dy·W`: `dy: (B, out) → dx: (B, in)`.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
        self.backward_params(dy);
        ensure_shape(&mut self.dinput, dy.nrows(), self.weight.ncols());
        // dx: (B, in) = dy: (B, out) · W: (out, in)
        matmul_into(&mut self.dinput, dy, self.weight.view());
        self.dinput.view()
    }

    /// `dW += dyᵀ·x`, `db += Σ_b dy`.
    fn backward_params(&mut self, dy: ArrayView2<T>) {
        let describe = || format!("Linear({}, {})", self.weight.ncols(), self.weight.nrows());
        let Some(x) = &self.input else {
            panic!("{}", no_forward(&describe()));
        };
        check_dy(&describe, &dy, (x.nrows(), self.weight.nrows()));
        // dW: (out, in) += dyᵀ: (out, B) · x: (B, in)
        matmul_acc(&mut self.dweight, dy.t(), x.view());
        // db: (out,) += Σ over the batch of dy: (B, out)
        elementwise::add_row_sums(&mut self.dbias, dy);
    }
}

impl<T: Scalar> Parameters<T> for Dense<T> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {
        f(
            "weight",
            ParamMut {
                value: self.weight.view_mut().into_dyn(),
                grad: self.dweight.view_mut().into_dyn(),
            },
        );
        f(
            "bias",
            ParamMut {
                value: self.bias.view_mut().into_dyn(),
                grad: self.dbias.view_mut().into_dyn(),
            },
        );
    }
}
