//! The layer kit: every forward pass with its backward pass right under it.
//!
//! A layer owns the buffers it writes (its output, its `dx`, its parameter gradients) and the
//! cache its backward needs, so a training step allocates nothing once the batch size is known.
//! The conventions, the same in every file:
//! - `forward(x)` caches what backward needs and returns a view of the layer's output;
//! - `backward(dy)` *accumulates* into the parameter gradients (`dw += …`), returns `dx` only
//!   when asked (nobody needs the `dx` of a network's first layer), and fails with
//!   [`Error::BackwardBeforeForward`] when there is no cached forward;
//! - `zero_grad()` clears the parameter gradients.
//!
//! ```
//! use ndarray::array;
//! use twostage::nn::{Dense, Layer, Parameters};
//! let mut layer = Dense::<f64>::from_weights(array![[1.0, 2.0]], array![0.5]); // y = x·Wᵀ + b
//! let y = layer.forward(array![[3.0, 4.0]].view()).to_owned();
//! assert_eq!(y, array![[11.5]]);
//! layer.backward(array![[1.0]].view(), false).unwrap(); // dW += dyᵀ·x
//! layer.backward(array![[1.0]].view(), false).unwrap(); // accumulates
//! assert_eq!(layer.dweight, array![[6.0, 8.0]]);
//! layer.zero_grad();
//! assert_eq!(layer.dweight, array![[0.0, 0.0]]);
//! ```

pub mod dense;
pub mod init;
pub mod loss;
pub mod relu;
pub mod sequential;

use ndarray::{Array2, ArrayView2, ArrayViewMutD};

use crate::error::Error;
use crate::linalg::Scalar;

pub use dense::Dense;
pub use loss::{MseLoss, SoftmaxCrossEntropy};
pub use relu::Relu;
pub use sequential::Sequential;

/// One trainable tensor and its gradient, as the optimizer, the checkpoint code and the
/// gradient checker see it.
pub struct ParamMut<'a, T> {
    pub value: ArrayViewMutD<'a, T>,
    pub grad: ArrayViewMutD<'a, T>,
}

/// Anything that holds trainable tensors.
pub trait Parameters<T: Scalar> {
    /// Hands every tensor to `f` with its name, PyTorch's state-dict key relative to this module
    /// (`weight`, `0.bias`, `stage1.2.weight`), always in the same order.
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, T>));

    /// Sets every gradient to zero.
    fn zero_grad(&mut self) {
        self.visit_params(&mut |_, mut p| p.grad.fill(T::zero()));
    }

    /// The number of scalars in all tensors.
    fn num_params(&mut self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, p| n += p.value.len());
        n
    }
}

/// A differentiable map from a batch of row vectors to another.
pub trait Layer<T: Scalar>: Parameters<T> + Send {
    /// What the layer is, PyTorch-style: `Linear(784, 256)`, `ReLU()`.
    fn describe(&self) -> String;

    /// `x: (B, in) → (B, out)`; caches what `backward` needs.
    fn forward<'a>(&'a mut self, x: ArrayView2<'a, T>) -> ArrayView2<'a, T>;

    /// `dy: (B, out) → dx: (B, in)`, computed only when `need_dx`. Accumulates parameter
    /// gradients. Errors when no forward pass is cached.
    fn backward<'a>(
        &'a mut self,
        dy: ArrayView2<'a, T>,
        need_dx: bool,
    ) -> Result<Option<ArrayView2<'a, T>>, Error>;
}

/// Calls `f` with the name `args` formats to, written into a stack buffer: the per-step
/// `visit_params` calls (zero_grad, Adam) build names like `0.weight` without allocating.
pub(crate) fn with_name<R>(args: std::fmt::Arguments, f: impl FnOnce(&str) -> R) -> R {
    use std::io::Write;
    let mut buffer = [0u8; 128];
    let mut rest = &mut buffer[..];
    if rest.write_fmt(args).is_err() {
        return f(&args.to_string()); // a name longer than the buffer: allocate after all
    }
    let len = 128 - rest.len();
    f(std::str::from_utf8(&buffer[..len]).expect("formatted from strs and integers"))
}

/// Makes `buffer` `(rows, cols)`, reallocating only when the shape changes (a new batch size);
/// the contents are unspecified afterwards.
pub(crate) fn ensure_shape<T: Scalar>(buffer: &mut Array2<T>, rows: usize, cols: usize) {
    if buffer.dim() != (rows, cols) {
        *buffer = Array2::zeros((rows, cols));
    }
}
