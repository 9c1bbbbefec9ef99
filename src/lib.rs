//! # twostage
//!
//! A two-stage neural network for MNIST-shaped data, written from scratch: every forward and backward pass
//! by hand, checked by finite differences and against PyTorch.
//!
//! Stage 1, a feature extractor `Linear(784,256) → ReLU → Linear(256,128)`, is pretrained
//! without labels as an autoencoder (a decoder `Linear(128,256) → ReLU → Linear(256,784)`
//! reconstructs the input under MSE). Stage 2, a classifier `Linear(128,64) → ReLU →
//! Linear(64,C)`, then learns the C classes from the frozen 128 features, under softmax
//! cross-entropy. Both train with Adam.
//!
//! ## Map
//! The engine (always built; it needs only ndarray, ndarray-rand, rayon and matrixmultiply):
//!
//! | module | holds |
//! |---|---|
//! | [`linalg`] | the products, named for what they do ([`linalg::matmul_into`] `c = a·b`, [`linalg::matmul_acc`] `c += a·b`), split across cores, with the naive reference beside them; the kernel ladder (`linalg::simd`: AVX-512 ▸ AVX2+FMA ▸ portable, `TWOSTAGE_SIMD`) for `x·Wᵀ`, Adam and the element-wise passes (`linalg::elementwise`) |
//! | [`nn`] | `Dense`, `Relu`, `LeakyRelu`, `Tanh`, `Sigmoid`, `Sequential`, the losses, `softmax`, PyTorch's init: each forward beside its backward |
//! | [`optim`] | `Adam`, as PyTorch computes it |
//! | [`gradcheck`] | finite-difference checks of parameter and input gradients, in `f64`, with a pass/fail [`gradcheck::Report`] |
//! | [`model`] | `TwoStageNetwork`, its PyTorch parameter names, and `Route`s through it to train as one layer |
//! | [`batches`] | data sets in memory (u8 images, float regression or classification) and the batches of an epoch |
//! | [`train`] | one training loop for any network ([`train::fit`]), the two-stage stages built on it, evaluation and sanity checks |
//! | [`guide`] | a tour by example: the life of one batch, your own layer, SGD vs Adam, loading a checkpoint |
//! | [`error`] | `Error`: what went wrong and where, in the engine's words (never a command-line flag) |
//!
//! With the `data` feature (on by default): `data` (IDX files, MNIST, and with `download` the
//! downloader), `checkpoint` (safetensors in and out, written atomically, and
//! `TwoStageNetwork::load`/`save`) and `temp_files`. The `cli` feature builds the `twostage`
//! command. Depend on the engine alone with `twostage = { default-features = false }`.
//!
//! ## A tiny network, trained
//! ```
//! use twostage::ndarray::array;
//! use twostage::nn::{Dense, Layer, MseLoss, Parameters};
//! use twostage::optim::{Adam, Optimizer};
//! use twostage::rand::{rngs::SmallRng, SeedableRng};
//!
//! // Learn y = 2x − 1 with one Dense layer.
//! let mut rng = SmallRng::seed_from_u64(0);
//! let mut layer = Dense::<f32>::new(1, 1, &mut rng);
//! let (x, y) = (array![[0.0_f32], [1.0], [2.0]], array![[-1.0_f32], [1.0], [3.0]]);
//! let (mut mse, mut adam) = (MseLoss::new(), Adam::new(0.05));
//! let mut loss = f32::INFINITY;
//! for _ in 0..500 {
//!     let prediction = layer.forward(x.view()); // ŷ = x·Wᵀ + b
//!     loss = mse.forward(prediction, y.view()); // L = mean((ŷ − y)²)
//!     layer.backward_params(mse.backward()); // dW += dŷᵀ·x, db += Σ dŷ
//!     adam.step(&mut layer);
//!     layer.zero_grad();
//! }
//! assert!(loss < 1e-4, "loss {loss}");
//! ```

// docs.rs builds with `--cfg docsrs` on nightly: each feature-gated module's page then says
// which feature it needs ("Available on crate feature data only").
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod batches;
#[cfg(feature = "data")]
#[cfg_attr(docsrs, doc(cfg(feature = "data")))]
pub mod checkpoint;
#[cfg(feature = "data")]
#[cfg_attr(docsrs, doc(cfg(feature = "data")))]
pub mod data;
pub mod error;
pub mod gradcheck;
pub mod guide;
pub mod linalg;
pub mod model;
pub mod nn;
pub mod optim;
#[cfg(feature = "report")]
#[cfg_attr(docsrs, doc(cfg(feature = "report")))]
pub mod report;
pub mod study;
#[cfg(feature = "data")]
#[cfg_attr(docsrs, doc(cfg(feature = "data")))]
pub mod temp_files;
pub mod train;

pub use error::Error;
pub use model::{Dims, Part, Stage1Grad, TwoStageNetwork};
/// The array crate every layer takes and returns (`ArrayView2<f32>` and friends).
pub use ndarray;
/// The random number generator crate the engine draws from (re-exported from `ndarray-rand`).
pub use ndarray_rand::rand;
