//! `Dense`, PyTorch's `nn.Linear`: `y = x·Wᵀ + b`, with `W` stored `(out, in)` like PyTorch so
//! checkpoints carry over unchanged.

use crate::rand::Rng;
use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::{Layer, ParamMut, Parameters, ensure_shape, init};
use crate::error::Error;
use crate::linalg::{Scalar, elementwise, gemm, simd};

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
    pub fn new(inputs: usize, outputs: usize, rng: &mut impl Rng) -> Dense<T>
    where
        T: crate::rand::distr::uniform::SampleUniform,
    {
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
            weight: weight.as_standard_layout().into_owned(),
            bias,
            dweight: Array2::zeros((outputs, inputs)),
            dbias: Array1::zeros(outputs),
            input: None,
            output: Array2::zeros((0, outputs)),
            dinput: Array2::zeros((0, inputs)),
        }
    }

    pub fn inputs(&self) -> usize {
        self.weight.ncols()
    }

    pub fn outputs(&self) -> usize {
        self.weight.nrows()
    }
}

impl<T: Scalar> Layer<T> for Dense<T> {
    fn describe(&self) -> String {
        format!("Linear({}, {})", self.inputs(), self.outputs())
    }

    /// `y = x·Wᵀ + b`: `x: (B, in) → y: (B, out)`.
    fn forward<'a>(&'a mut self, x: ArrayView2<'a, T>) -> ArrayView2<'a, T> {
        let (batch, inputs, outputs) = (x.nrows(), self.inputs(), self.outputs());
        assert_eq!(x.ncols(), inputs, "{}: input width", self.describe());
        let input = self.input.get_or_insert_with(|| Array2::zeros(x.dim()));
        ensure_shape(input, batch, inputs);
        input.assign(&x);
        // y = b (broadcast over rows), then y += x·Wᵀ: the same two steps as PyTorch's addmm.
        ensure_shape(&mut self.output, batch, outputs);
        for mut row in self.output.rows_mut() {
            row.assign(&self.bias);
        }
        gemm(
            T::one(),
            input.view(),
            self.weight.t(),
            T::one(),
            self.output.view_mut(),
        );
        self.output.view()
    }

    /// `dW += dyᵀ·x`, `db += Σ_b dy`, and `dx = dy·W`: `dy: (B, out) → dx: (B, in)`.
    fn backward<'a>(
        &'a mut self,
        dy: ArrayView2<'a, T>,
        need_dx: bool,
    ) -> Result<Option<ArrayView2<'a, T>>, Error> {
        // The layer's name is formatted on the error paths only: a step allocates nothing.
        let Some(input) = &self.input else {
            return Err(Error::BackwardBeforeForward {
                layer: self.describe(),
            });
        };
        let batch = input.nrows();
        if dy.dim() != (batch, self.outputs()) {
            return Err(Error::Shape {
                what: format!("{} backward: dy", self.describe()),
                expected: vec![batch, self.outputs()],
                found: dy.shape().to_vec(),
            });
        }
        // dW: (out, in) += dyᵀ: (out, B) · x: (B, in)
        gemm(
            T::one(),
            dy.t(),
            input.view(),
            T::one(),
            self.dweight.view_mut(),
        );
        // db: (out,) += Σ over the batch of dy: (B, out)
        let rung = simd::rung();
        for row in dy.axis_iter(Axis(0)) {
            match (self.dbias.as_slice_mut(), row.as_slice()) {
                (Some(db), Some(row)) => elementwise::add_assign(rung, db, row),
                _ => self.dbias += &row,
            }
        }
        if !need_dx {
            return Ok(None);
        }
        // dx: (B, in) = dy: (B, out) · W: (out, in)
        let inputs = self.inputs();
        ensure_shape(&mut self.dinput, batch, inputs);
        gemm(
            T::one(),
            dy,
            self.weight.view(),
            T::zero(),
            self.dinput.view_mut(),
        );
        Ok(Some(self.dinput.view()))
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
