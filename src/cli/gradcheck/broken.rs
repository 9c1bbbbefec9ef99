//! The deliberately wrong backwards `--break` plants, defined here and only here (teaching
//! code, never on the training path), and why each spoils exactly the gradients it does.

use ndarray::{Array2, ArrayView2, Axis};
use twostage::model::{Dims, TwoStageNetwork};
use twostage::nn::{
    Dense, Layer, MseLoss, ParamMut, Parameters, Relu, Sequential, SoftmaxCrossEntropy,
};
use twostage::rand::rngs::SmallRng;

use super::Break;

/// ReLU without its mask: the bug `--break relu` plants.
pub struct MasklessRelu {
    inner: Relu<f64>,
    dx: Array2<f64>,
}

impl MasklessRelu {
    pub fn new() -> MasklessRelu {
        MasklessRelu {
            inner: Relu::new(),
            dx: Array2::zeros((0, 0)),
        }
    }
}

impl Parameters<f64> for MasklessRelu {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, ParamMut<'_, f64>)) {}
}

impl Layer<f64> for MasklessRelu {
    fn describe(&self) -> String {
        "ReLU() [broken]".into()
    }
    fn forward(&mut self, x: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.inner.forward(x)
    }
    fn backward(&mut self, dy: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.dx = dy.to_owned(); // WRONG: dx = dy ⊙ [y > 0]
        self.dx.view()
    }
}

/// Dense whose `db` takes only the first example: the bug `--break dense` plants.
pub struct FirstRowBiasDense {
    pub inner: Dense<f64>,
}

impl Parameters<f64> for FirstRowBiasDense {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, f64>)) {
        self.inner.visit_params(f)
    }
}

impl Layer<f64> for FirstRowBiasDense {
    fn describe(&self) -> String {
        format!("{} [broken]", self.inner.describe())
    }
    fn forward(&mut self, x: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.inner.forward(x)
    }
    fn backward(&mut self, dy: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.break_bias(dy);
        self.inner.backward(dy)
    }
    fn backward_params(&mut self, dy: ArrayView2<f64>) {
        self.break_bias(dy);
        self.inner.backward_params(dy);
    }
}

impl FirstRowBiasDense {
    /// Cancels the rows after the first of what the correct backward will add to `db`.
    fn break_bias(&mut self, dy: ArrayView2<f64>) {
        for row in dy.axis_iter(Axis(0)).skip(1) {
            self.inner.dbias -= &row; // WRONG: db = Σ_b dy
        }
    }
}

/// The loss of the checks, correct or with `--break mse|ce` applied to its gradient.
#[derive(Clone, Copy)]
pub enum Loss {
    Mse,
    Ce,
}

/// `(L, dL/dprediction)`, with the planted bug when `broken` names this loss.
pub fn loss_and_gradient(
    loss: Loss,
    prediction: ArrayView2<f64>,
    target: ArrayView2<f64>,
    labels: &[usize],
    broken: Option<Break>,
) -> (f64, Array2<f64>) {
    match loss {
        Loss::Mse => {
            let mut mse = MseLoss::new();
            let value = mse.forward(prediction, target);
            let mut d = mse.backward().to_owned();
            if broken == Some(Break::Mse) {
                d /= 2.0; // WRONG: dL/dŷ = 2(ŷ − y)/N
            }
            (value, d)
        }
        Loss::Ce => {
            let mut ce = SoftmaxCrossEntropy::new();
            let value = ce.forward(prediction, labels).unwrap_or(f64::NAN);
            let mut d = ce.backward().to_owned();
            if broken == Some(Break::Ce) {
                d *= labels.len() as f64; // WRONG: dL/dz = (p − onehot(y)) / B
            }
            (value, d)
        }
    }
}

pub fn loss_value(
    loss: Loss,
    prediction: ArrayView2<f64>,
    target: ArrayView2<f64>,
    labels: &[usize],
) -> f64 {
    loss_and_gradient(loss, prediction, target, labels, None).0
}

/// The MNIST-sized network, with the bug of `--break relu|dense` planted in it.
pub fn broken_network(broken: Option<Break>, rng: &mut SmallRng) -> TwoStageNetwork<f64> {
    let mut network = TwoStageNetwork::<f64>::new(Dims::MNIST, rng);
    match broken {
        Some(Break::Relu) => {
            for part in [
                &mut network.stage1,
                &mut network.stage2,
                &mut network.decoder,
            ] {
                part.layers[1] = Box::new(MasklessRelu::new());
            }
        }
        Some(Break::Dense) => {
            let dense = dense_of(&mut network.stage2, 2);
            network.stage2.layers[2] = Box::new(FirstRowBiasDense { inner: dense });
        }
        _ => {}
    }
    network
}

/// A copy of the `Dense` layer at `index` of `part`, rebuilt from its parameters.
fn dense_of(part: &mut Sequential<f64>, index: usize) -> Dense<f64> {
    let (mut weight, mut bias) = (Array2::zeros((0, 0)), ndarray::Array1::zeros(0));
    let (weight_name, bias_name) = (format!("{index}.weight"), format!("{index}.bias"));
    part.visit_params(&mut |name, p| {
        if name == weight_name {
            let shape = (p.value.shape()[0], p.value.shape()[1]);
            weight = Array2::from_shape_vec(shape, p.value.iter().copied().collect())
                .unwrap_or_default();
        } else if name == bias_name {
            bias = p.value.iter().copied().collect();
        }
    });
    Dense::from_weights(weight, bias)
}

/// Why the tensors a planted bug does not reach stay correct: backpropagation computes each
/// gradient from the ones after it, so a bug spoils exactly the gradients computed from it.
pub fn why_the_rest_is_correct(broken: Break) -> &'static str {
    match broken {
        Break::Relu => {
            "why the rest is ok: the backward pass runs from the loss towards the input, so a\n\
             \x20 layer after the last ReLU gets its gradient before any broken ReLU has passed\n\
             \x20 dy back unmasked: it stays correct; every tensor the gradient reaches through\n\
             \x20 a ReLU is WRONG"
        }
        Break::Dense => {
            "why the rest is ok: db is a dead end of the backward pass (dx = dy·W does not use\n\
             \x20 it), so the wrong bias gradient flows into no other tensor: only the bias is\n\
             \x20 WRONG"
        }
        Break::Mse => {
            "why the rest is ok: dL/dx̂ is the first gradient of the autoencoder's backward\n\
             \x20 pass and every later one is computed from it, so all of the autoencoder is\n\
             \x20 WRONG by the same factor; the classifier does not use MSE and stays correct"
        }
        Break::Ce => {
            "why the rest is ok: dL/dlogits is the first gradient of the classifier's backward\n\
             \x20 pass and every later one is computed from it, so all of the classifier is\n\
             \x20 WRONG by the same factor B; the autoencoder does not use cross-entropy and\n\
             \x20 stays correct"
        }
    }
}
