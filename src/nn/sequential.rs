//! `Sequential`: layers applied one after another, PyTorch's `nn.Sequential`.

use ndarray::ArrayView2;

use super::{Layer, ParamMut, Parameters, with_name};
use crate::linalg::Scalar;

/// A chain of layers; parameter names are the layer's index then its own name (`0.weight`,
/// `2.bias`), exactly as in a PyTorch state dict.
pub struct Sequential<T> {
    /// The layers, first applied first.
    pub layers: Vec<Box<dyn Layer<T>>>,
}

impl<T: Scalar> Sequential<T> {
    /// The chain `layers[n-1](… layers[0](x))`.
    pub fn new(layers: Vec<Box<dyn Layer<T>>>) -> Sequential<T> {
        Sequential { layers }
    }
}

impl<T: Scalar> Layer<T> for Sequential<T> {
    fn describe(&self) -> String {
        let inner: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("Sequential({})", inner.join(", "))
    }

    /// `x → layers[n-1](… layers[0](x))`.
    fn forward<'a>(&'a mut self, x: ArrayView2<'a, T>) -> ArrayView2<'a, T> {
        let mut h = x;
        for layer in self.layers.iter_mut() {
            h = layer.forward(h);
        }
        h
    }

    /// The chain rule, last layer first: each layer's `dx` is the `dy` of the one before it.
    ///
    /// # Panics
    /// If the chain is empty, or as [`Layer::backward`].
    fn backward<'a>(&'a mut self, dy: ArrayView2<'a, T>) -> ArrayView2<'a, T> {
        let mut grad = dy;
        for layer in self.layers.iter_mut().rev() {
            grad = layer.backward(grad);
        }
        grad
    }

    /// The chain rule down to the first layer, which accumulates its parameter gradients only.
    fn backward_params(&mut self, dy: ArrayView2<T>) {
        let Some((first, rest)) = self.layers.split_first_mut() else {
            return;
        };
        let mut grad = dy;
        for layer in rest.iter_mut().rev() {
            grad = layer.backward(grad);
        }
        first.backward_params(grad);
    }
}

impl<T: Scalar> Parameters<T> for Sequential<T> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params(&mut |name, p| with_name(format_args!("{i}.{name}"), |n| f(n, p)));
        }
    }
}
