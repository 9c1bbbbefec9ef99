//! The layer kit: every forward pass with its backward pass right under it.
//!
//! A layer owns the buffers it writes (its output, its `dx`, its parameter gradients) and the
//! cache its backward needs, so a training step allocates nothing once the batch size is known.
//! The conventions, the same in every file:
//! - `forward(x)` copies what backward needs into the layer's own buffers and returns a view of
//!   the layer's output, borrowing only the layer (so `layer.forward(Array2::zeros(..).view())`
//!   works);
//! - `backward(dy)` *accumulates* into the parameter gradients (`dW += …`) and returns `dx`;
//!   `backward_params(dy)` does only the first part, for a network's first layer, whose `dx`
//!   nobody needs;
//! - `zero_grad()` clears the parameter gradients.
//!
//! Misuse — a shape that does not fit, `backward` before any `forward` — is a bug in the
//! calling code, not a condition to handle, so every layer and loss **panics** on it with a
//! message naming the layer (see each method's `# Panics`). What can go wrong with good code
//! and bad data, a label that is not a class, is an [`Error`].
//!
//! | file | layer | forward |
//! |---|---|---|
//! | [`dense`] | [`Dense`] | `y = x·Wᵀ + b` |
//! | [`relu`] | [`Relu`] | `y = max(x, 0)` |
//! | [`leaky_relu`] | [`LeakyRelu`] | `y = x` if `x > 0`, else `α·x` |
//! | [`tanh`] | [`Tanh`] | `y = tanh(x)` |
//! | [`sigmoid`] | [`Sigmoid`] | `y = 1 / (1 + e^{−x})` |
//! | [`pointwise`] | [`Pointwise`] | `y = f(x)` for a [`Formula`] `f`: the plumbing the four above share |
//! | [`sequential`] | [`Sequential`] | `layers[n-1](… layers[0](x))` |
//! | [`loss`] | [`MseLoss`], [`SoftmaxCrossEntropy`], the [`Loss`] trait, [`softmax`] | |
//!
//! ```
//! use ndarray::array;
//! use twostage::nn::{Dense, Layer, Parameters};
//! let mut layer = Dense::<f64>::from_weights(array![[1.0, 2.0]], array![0.5]); // y = x·Wᵀ + b
//! let y = layer.forward(array![[3.0, 4.0]].view()).to_owned();
//! assert_eq!(y, array![[11.5]]);
//! let dy = array![[1.0]];
//! let dx = layer.backward(dy.view()); // dW += dyᵀ·x, db += Σdy, dx = dy·W
//! assert_eq!(dx, array![[1.0, 2.0]]);
//! layer.backward_params(dy.view()); // accumulates, no dx
//! assert_eq!(layer.dweight, array![[6.0, 8.0]]);
//! layer.zero_grad();
//! assert_eq!(layer.dweight, array![[0.0, 0.0]]);
//! ```

pub mod dense;
pub mod init;
pub mod leaky_relu;
pub mod loss;
pub mod pointwise;
pub mod relu;
pub mod sequential;
pub mod sigmoid;
pub mod tanh;

use std::any::Any;

use ndarray::{Array2, ArrayBase, ArrayView2, ArrayViewMutD, Data, DataMut, Ix2};

#[allow(unused_imports)] // named by the docs
use crate::error::Error;
use crate::linalg::Scalar;

pub use dense::Dense;
pub use leaky_relu::LeakyRelu;
pub use loss::{InputAsTarget, Loss, MseLoss, SoftmaxCrossEntropy, softmax};
pub use pointwise::{Formula, Pointwise};
pub use relu::Relu;
pub use sequential::Sequential;
pub use sigmoid::Sigmoid;
pub use tanh::Tanh;

/// One trainable tensor and its gradient, as the optimizer, the checkpoint code and the
/// gradient checker see it.
pub struct ParamMut<'a, T> {
    /// The tensor's values, e.g. `W: (out, in)`.
    pub value: ArrayViewMutD<'a, T>,
    /// Its gradient, the same shape: `dW`.
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
///
/// Both passes return views of buffers the layer owns: they borrow the layer, never their
/// argument, so an input may be a temporary.
pub trait Layer<T: Scalar>: Parameters<T> + Send {
    /// What the layer is, PyTorch-style: `Linear(784, 256)`, `ReLU()`.
    fn describe(&self) -> String;

    /// `x: (B, in) → y: (B, out)`; copies what `backward` needs into the layer.
    ///
    /// # Panics
    /// If `x` is not as wide as the layer's input.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T>;

    /// `dy: (B, out) → dx: (B, in)`; accumulates the parameter gradients on the way.
    ///
    /// # Panics
    /// If no forward pass is cached, or `dy` is not the shape of the last forward's output.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T>;

    /// The parameter gradients of `backward` without `dx`: for a network's first layer, whose
    /// `dx` nobody needs (for `Linear(784, 256)` it is the largest product of the step).
    ///
    /// # Panics
    /// As [`Layer::backward`].
    fn backward_params(&mut self, dy: ArrayView2<T>) {
        self.backward(dy);
    }

    /// The layer as [`Any`], so [`Sequential::layer`] can hand it back as its own type. The
    /// engine's layers return `Some(self)`; a layer of yours does too by overriding this with
    /// `Some(self)` (the default, `None`, suits layers that borrow, which `Any` cannot hold).
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }

    /// [`Layer::as_any`], mutable.
    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        None
    }
}

/// Makes a pointer to a layer a layer, handing every call to the layer it points to:
/// `Box<dyn Layer<T>>` and `&mut dyn Layer<T>` go wherever a layer does.
macro_rules! layer_behind_pointer {
    ($($pointer:ty),*) => {$(
        impl<T: Scalar, L: Layer<T> + ?Sized> Layer<T> for $pointer {
            fn describe(&self) -> String {
                (**self).describe()
            }
            fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
                (**self).forward(x)
            }
            fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
                (**self).backward(dy)
            }
            fn backward_params(&mut self, dy: ArrayView2<T>) {
                (**self).backward_params(dy)
            }
            fn as_any(&self) -> Option<&dyn Any> {
                (**self).as_any()
            }
            fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
                (**self).as_any_mut()
            }
        }

        impl<T: Scalar, L: Parameters<T> + ?Sized> Parameters<T> for $pointer {
            fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {
                (**self).visit_params(f)
            }
        }
    )*};
}

layer_behind_pointer!(Box<L>, &mut L);

/// The panic message of a `backward` without a cached forward, naming the layer.
pub(crate) fn no_forward(layer: &str) -> String {
    format!("{layer}: backward called before forward (no input cached)")
}

/// Panics unless `dy` has the shape of the output of the cached forward.
#[track_caller]
pub(crate) fn check_dy<T>(layer: &dyn Fn() -> String, dy: &ArrayView2<T>, output: (usize, usize)) {
    assert!(
        dy.dim() == output,
        "{} backward: dy has shape {:?}, the last forward's output {:?}",
        layer(),
        dy.dim(),
        output
    );
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
        *buffer = crate::linalg::aligned::zeros((rows, cols));
    }
}

/// A matrix stored row by row (a layer's own buffer, made by [`ensure_shape`], or a view after
/// `as_standard_layout`) as one slice, for the kernels.
pub(crate) fn elements<T, S: Data<Elem = T>>(matrix: &ArrayBase<S, Ix2>) -> &[T] {
    matrix.as_slice().expect("a matrix stored row by row")
}

/// [`elements`], mutable.
pub(crate) fn elements_mut<T, S: DataMut<Elem = T>>(matrix: &mut ArrayBase<S, Ix2>) -> &mut [T] {
    matrix.as_slice_mut().expect("a matrix stored row by row")
}
