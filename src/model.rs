//! `TwoStageNetwork`: the feature extractor, the classifier head and the autoencoder's decoder.
//!
//! ```text
//! stage1:  x (B, 784) → Linear(784,256) → ReLU → Linear(256,128) → features (B, 128)
//! stage2:  features   → Linear(128,64)  → ReLU → Linear(64,C)    → logits   (B, C), C = 10 for MNIST
//! decoder: features   → Linear(128,256) → ReLU → Linear(256,784) → reconstruction (B, 784)
//! ```
//! Parameter names are PyTorch's state-dict keys (`stage1.0.weight`, …, `decoder.2.bias`), so a
//! checkpoint loads straight into the reference script's module.

use ndarray::ArrayView2;

use crate::linalg::Scalar;
use crate::nn::{Dense, Layer, ParamMut, Parameters, Relu, Sequential, with_name};
use ndarray_rand::rand::Rng;

/// Layer widths; [`Dims::MNIST`] is the network of the reference script. Tests use small ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    /// Pixels per image (784).
    pub input: usize,
    /// Stage 1's hidden width (256), also the decoder's.
    pub hidden1: usize,
    /// Width of the features stage 1 hands stage 2 (128).
    pub features: usize,
    /// Stage 2's hidden width (64).
    pub hidden2: usize,
    /// Number of classes, the width of the logits (10).
    pub classes: usize,
}

impl Dims {
    /// The reference script's network: 784 → 256 → 128 → 64 → 10.
    pub const MNIST: Dims = Dims {
        input: 784,
        hidden1: 256,
        features: 128,
        hidden2: 64,
        classes: 10,
    };
}

/// The three parts of the network, in the order their parameters are visited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The feature extractor, `stage1.*`.
    Stage1,
    /// The classifier head, `stage2.*`.
    Stage2,
    /// The autoencoder's decoder, `decoder.*`.
    Decoder,
}

impl Part {
    /// All three, in visiting order.
    pub const ALL: [Part; 3] = [Part::Stage1, Part::Stage2, Part::Decoder];

    /// The state-dict prefix: `stage1`, `stage2`, `decoder`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Stage1 => "stage1",
            Part::Stage2 => "stage2",
            Part::Decoder => "decoder",
        }
    }
}

/// Whether the classifier's gradient flows into stage 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage1Grad {
    /// A stop-gradient boundary (PyTorch's `.detach()`): stage 2's backward does not even
    /// compute `dfeatures`, and stage 1's backward never runs.
    Frozen,
    /// End to end: `dfeatures` flows back through stage 1.
    Trainable,
}

/// The whole network: stage 1, stage 2 and the decoder, each a [`Sequential`] of
/// `Dense → ReLU → Dense`.
pub struct TwoStageNetwork<T> {
    /// The layer widths.
    pub dims: Dims,
    /// `x: (B, input) → features: (B, features)`.
    pub stage1: Sequential<T>,
    /// `features: (B, features) → logits: (B, classes)`.
    pub stage2: Sequential<T>,
    /// `features: (B, features) → reconstruction: (B, input)`.
    pub decoder: Sequential<T>,
}

/// `Linear(a, b) → ReLU → Linear(b, c)`.
fn mlp<T: Scalar>(a: usize, b: usize, c: usize, rng: &mut impl Rng) -> Sequential<T> {
    Sequential::new(vec![
        Box::new(Dense::new(a, b, rng)),
        Box::new(Relu::new()),
        Box::new(Dense::new(b, c, rng)),
    ])
}

impl<T: Scalar> TwoStageNetwork<T> {
    /// A freshly initialised network (PyTorch's default init), drawn from `rng` in the
    /// reference script's order: stage 1, stage 2, decoder.
    pub fn new(dims: Dims, rng: &mut impl Rng) -> TwoStageNetwork<T> {
        let stage1 = mlp(dims.input, dims.hidden1, dims.features, rng);
        let stage2 = mlp(dims.features, dims.hidden2, dims.classes, rng);
        let decoder = mlp(dims.features, dims.hidden1, dims.input, rng);
        TwoStageNetwork {
            dims,
            stage1,
            stage2,
            decoder,
        }
    }
}

impl<T: Scalar> TwoStageNetwork<T> {
    /// One part, to train or inspect on its own.
    pub fn part_mut(&mut self, part: Part) -> &mut Sequential<T> {
        match part {
            Part::Stage1 => &mut self.stage1,
            Part::Stage2 => &mut self.stage2,
            Part::Decoder => &mut self.decoder,
        }
    }

    /// The parameters of some parts only, e.g. what one training stage's Adam updates.
    pub fn parts<'a>(&'a mut self, parts: &'a [Part]) -> PartsMut<'a, T> {
        PartsMut {
            network: self,
            parts,
        }
    }

    /// A path through the network as one [`Layer`], to train with [`crate::train::fit()`]: its
    /// forward and backward run the path, its parameters are those of the parts on it, under
    /// their full state-dict names.
    pub fn route(&mut self, route: Route) -> RouteMut<'_, T> {
        RouteMut {
            network: self,
            route,
        }
    }

    /// `x: (B, input) → features: (B, features)`.
    pub fn features(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        self.stage1.forward(x)
    }

    /// `x: (B, input) → logits: (B, classes)`, through stage 1 and stage 2.
    pub fn logits(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let features = self.stage1.forward(x);
        self.stage2.forward(features)
    }

    /// `dlogits: (B, classes)` back through stage 2 and, when `Trainable`, stage 1.
    /// Accumulates into the gradients of the parts it reaches.
    ///
    /// # Panics
    /// If the forward pass was not [`TwoStageNetwork::logits`] on a batch of this shape.
    pub fn logits_backward(&mut self, dlogits: ArrayView2<T>, stage1: Stage1Grad) {
        match stage1 {
            Stage1Grad::Frozen => self.stage2.backward_params(dlogits),
            Stage1Grad::Trainable => {
                let dfeatures = self.stage2.backward(dlogits);
                self.stage1.backward_params(dfeatures);
            }
        }
    }

    /// `x: (B, input) → reconstruction: (B, input)`, through stage 1 and the decoder.
    pub fn reconstruction(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let features = self.stage1.forward(x);
        self.decoder.forward(features)
    }

    /// `dreconstruction: (B, input)` back through the decoder and stage 1.
    ///
    /// # Panics
    /// If the forward pass was not [`TwoStageNetwork::reconstruction`] on a batch of this shape.
    pub fn reconstruction_backward(&mut self, dreconstruction: ArrayView2<T>) {
        let dfeatures = self.decoder.backward(dreconstruction);
        self.stage1.backward_params(dfeatures);
    }
}

impl<T: Scalar> Parameters<T> for TwoStageNetwork<T> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {
        self.parts(&Part::ALL).visit_params(f)
    }
}

/// A view of some of the network's parts, named with their full state-dict keys.
pub struct PartsMut<'a, T> {
    network: &'a mut TwoStageNetwork<T>,
    parts: &'a [Part],
}

impl<T: Scalar> Parameters<T> for PartsMut<'_, T> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {
        for &part in self.parts {
            let prefix = part.name();
            self.network.part_mut(part).visit_params(&mut |name, p| {
                with_name(format_args!("{prefix}.{name}"), |n| f(n, p))
            });
        }
    }
}

/// A path through the network, trained as one layer (see [`TwoStageNetwork::route`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `x → stage1 → decoder → reconstruction`: the autoencoder, over stage1 + decoder.
    Autoencoder,
    /// `x → stage1 → features`, over stage1.
    Features,
    /// `features → stage2 → logits`, over stage2: the classifier on frozen features.
    Head,
    /// `x → stage1 → stage2 → logits`, over stage1 + stage2: the classifier end to end.
    Classifier,
}

impl Route {
    /// The parts on the path, first applied first.
    pub fn parts(self) -> &'static [Part] {
        match self {
            Route::Autoencoder => &[Part::Stage1, Part::Decoder],
            Route::Features => &[Part::Stage1],
            Route::Head => &[Part::Stage2],
            Route::Classifier => &[Part::Stage1, Part::Stage2],
        }
    }
}

/// A [`Route`] through a network, borrowed as one [`Layer`].
pub struct RouteMut<'a, T> {
    network: &'a mut TwoStageNetwork<T>,
    route: Route,
}

impl<T: Scalar> Layer<T> for RouteMut<'_, T> {
    fn describe(&self) -> String {
        let parts: Vec<&str> = self.route.parts().iter().map(|p| p.name()).collect();
        parts.join(" → ")
    }

    /// The parts' forwards in turn: `x: (B, in) → y: (B, out)`.
    fn forward(&mut self, x: ArrayView2<T>) -> ArrayView2<'_, T> {
        let network = &mut *self.network;
        match self.route {
            Route::Autoencoder => network.reconstruction(x),
            Route::Features => network.stage1.forward(x),
            Route::Head => network.stage2.forward(x),
            Route::Classifier => network.logits(x),
        }
    }

    /// The parts' backwards, last part first: `dy: (B, out) → dx: (B, in)`.
    fn backward(&mut self, dy: ArrayView2<T>) -> ArrayView2<'_, T> {
        let network = &mut *self.network;
        match self.route {
            Route::Autoencoder => {
                let dfeatures = network.decoder.backward(dy);
                network.stage1.backward(dfeatures)
            }
            Route::Features => network.stage1.backward(dy),
            Route::Head => network.stage2.backward(dy),
            Route::Classifier => {
                let dfeatures = network.stage2.backward(dy);
                network.stage1.backward(dfeatures)
            }
        }
    }

    /// The parameter gradients only: stage 1's `dx` (the largest product) is never computed.
    fn backward_params(&mut self, dy: ArrayView2<T>) {
        let network = &mut *self.network;
        match self.route {
            Route::Autoencoder => network.reconstruction_backward(dy),
            Route::Features => network.stage1.backward_params(dy),
            Route::Head => network.stage2.backward_params(dy),
            Route::Classifier => network.logits_backward(dy, Stage1Grad::Trainable),
        }
    }
}

impl<T: Scalar> Parameters<T> for RouteMut<'_, T> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, T>)) {
        self.network.parts(self.route.parts()).visit_params(f)
    }
}
