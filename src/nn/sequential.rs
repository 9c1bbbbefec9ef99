//! `Sequential`: layers applied one after another, PyTorch's `nn.Sequential`.
//!
//! ```
//! use twostage::ndarray::Array2;
//! use twostage::nn::{Dense, Layer, Relu, Sequential};
//! use twostage::rand::{rngs::SmallRng, SeedableRng};
//! let mut rng = SmallRng::seed_from_u64(0);
//! let mut net = Sequential::<f32>::new(vec![
//!     Box::new(Dense::new(3, 4, &mut rng)),
//!     Box::new(Relu::new()),
//!     Box::new(Dense::new(4, 2, &mut rng)),
//! ]);
//! // Every layer's output, first layer first: (2, 4), (2, 4), (2, 2).
//! let shapes: Vec<_> = net.activations(Array2::zeros((2, 3)).view()).iter().map(|a| a.dim()).collect();
//! assert_eq!(shapes, [(2, 4), (2, 4), (2, 2)]);
//! // A layer back as its own type.
//! let first: &Dense<f32> = net.layer(0).expect("layer 0 is a Dense");
//! assert_eq!(first.outputs(), 4);
//! assert!(net.layer::<Relu<f32>>(0).is_none());
//! ```

use std::any::Any;

use ndarray::{Array2, ArrayView2};

use super::{Layer, ParamMut, Parameters, ensure_shape, with_name};
use crate::linalg::Scalar;

/// A chain of layers; parameter names are the layer's index then its own name (`0.weight`,
/// `2.bias`), exactly as in a PyTorch state dict. An empty chain is the identity.
pub struct Sequential<T> {
    /// The layers, first applied first.
    pub layers: Vec<Box<dyn Layer<T>>>,
    /// An empty chain's output (or `dx`): a copy of its input, so the result borrows the
    /// chain and not its argument.
    identity: Array2<T>,
}

impl<T: Scalar> Sequential<T> {
    /// The chain `layers[n-1](… layers[0](x))`.
    pub fn new(layers: Vec<Box<dyn Layer<T>>>) -> Sequential<T> {
        Sequential {
            layers,
            identity: Array2::zeros((0, 0)),
        }
    }

    /// Layer `index` as its own type `L` (`net.layer::<Dense<f32>>(0)`); `None` if there is no
    /// such layer, it is another type, or it does not offer [`Layer::as_any`].
    pub fn layer<L: Any>(&self, index: usize) -> Option<&L> {
        self.layers.get(index)?.as_any()?.downcast_ref()
    }

    /// [`Sequential::layer`], mutable.
    pub fn layer_mut<L: Any>(&mut self, index: usize) -> Option<&mut L> {
        self.layers.get_mut(index)?.as_any_mut()?.downcast_mut()
    }

    /// The forward pass, returning every layer's output, first layer first (the last one is
    /// what [`Layer::forward`] returns): `x: (B, in) → [h₀: (B, n₀), …, y: (B, out)]`. Each
    /// layer caches as in `forward`, so `backward` may follow.
    pub fn activations(&mut self, x: ArrayView2<T>) -> Vec<ArrayView2<'_, T>> {
        let mut outputs: Vec<ArrayView2<'_, T>> = Vec::with_capacity(self.layers.len());
        let mut layers = self.layers.iter_mut();
        let Some(first) = layers.next() else {
            return outputs;
        };
        outputs.push(first.forward(x));
        for layer in layers {
            let h = *outputs.last().expect("the first layer's output is in");
            outputs.push(layer.forward(h));
        }
        outputs
    }
}

impl<T: Scalar> Layer<T> for Sequential<T> {
    fn describe(&self) -> String {
        let inner: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("Sequential({})", inner.join(", "))
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        Some(self)
    }

    /// `x → layers[n-1](… layers[0](x))`; an empty chain returns a copy of `x`.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let Some((first, rest)) = self.layers.split_first_mut() else {
            return copy_into(&mut self.identity, x);
        };
        let mut h = first.forward(x);
        for layer in rest {
            h = layer.forward(h);
        }
        h
    }

    /// The chain rule, last layer first: each layer's `dx` is the `dy` of the one before it.
    /// An empty chain returns a copy of `dy`.
    ///
    /// # Panics
    /// As [`Layer::backward`] of a layer in the chain.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
        let Some((last, rest)) = self.layers.split_last_mut() else {
            return copy_into(&mut self.identity, dy);
        };
        let mut grad = last.backward(dy);
        for layer in rest.iter_mut().rev() {
            grad = layer.backward(grad);
        }
        grad
    }

    /// The chain rule down to the first layer, which accumulates its parameter gradients only.
    /// An empty chain does nothing.
    fn backward_params(&mut self, dy: ArrayView2<T>) {
        let Some((first, rest)) = self.layers.split_first_mut() else {
            return;
        };
        let Some((last, middle)) = rest.split_last_mut() else {
            first.backward_params(dy);
            return;
        };
        let mut grad = last.backward(dy);
        for layer in middle.iter_mut().rev() {
            grad = layer.backward(grad);
        }
        first.backward_params(grad);
    }
}

/// `buffer ← x`, reshaped if need be; returns a view of it.
fn copy_into<'b, T: Scalar>(buffer: &'b mut Array2<T>, x: ArrayView2<T>) -> ArrayView2<'b, T> {
    ensure_shape(buffer, x.nrows(), x.ncols());
    buffer.assign(&x);
    buffer.view()
}

impl<T: Scalar> Parameters<T> for Sequential<T> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params(&mut |name, p| with_name(format_args!("{i}.{name}"), |n| f(n, p)));
        }
    }
}
