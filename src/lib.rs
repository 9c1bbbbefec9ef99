//! # twostage
//!
//! A two-stage neural network for MNIST, written from scratch: every forward and backward pass
//! by hand, checked by finite differences and against PyTorch.
//!
//! Stage 1, a feature extractor `Linear(784,256) → ReLU → Linear(256,128)`, is pretrained
//! without labels as an autoencoder (a decoder `Linear(128,256) → ReLU → Linear(256,784)`
//! reconstructs the input under MSE). Stage 2, a classifier `Linear(128,64) → ReLU →
//! Linear(64,10)`, then learns the digits from the frozen 128 features, under softmax
//! cross-entropy. Both train with Adam.
//!
//! ## Map
//! | module | holds |
//! |---|---|
//! | [`linalg`] | `gemm`: every matrix product (matrixmultiply, or a packing-free AVX-512 kernel for `x·Wᵀ`), split across cores; the naive reference |
//! | [`nn`] | `Dense`, `Relu`, `Sequential`, the losses, PyTorch's init: each forward beside its backward |
//! | [`optim`] | `Adam`, as PyTorch computes it |
//! | [`model`] | `TwoStageNetwork` and its PyTorch parameter names |
//! | [`gradcheck`] | finite-difference checks for any layer, loss or network |
//! | [`data`] | IDX files, MNIST, the downloader, batches |
//! | [`train`] | the training stages and evaluation, where the core and the data meet |
//! | [`checkpoint`] | safetensors in and out, written atomically |
//! | [`temp_files`] | temporary files removed on drop, on SIGINT/SIGTERM, and when stale |
//! | [`error`] | `Error`, naming the file, tensor or flag at fault (wraps the data layer's `DataError`) |
//!
//! The numeric core (`linalg`, `nn`, `optim`, `model`, `gradcheck`) does no I/O.
//!
//! ## A tiny network, trained
//! ```
//! use ndarray::array;
//! use twostage::nn::{Dense, Layer, MseLoss, Parameters};
//! use twostage::optim::Adam;
//! use twostage::rand::{rngs::SmallRng, SeedableRng};
//!
//! // Learn y = 2x − 1 with one Dense layer.
//! let mut rng = SmallRng::seed_from_u64(0);
//! let mut layer = Dense::<f32>::new(1, 1, &mut rng);
//! let (x, y) = (array![[0.0_f32], [1.0], [2.0]], array![[-1.0_f32], [1.0], [3.0]]);
//! let (mut mse, mut adam) = (MseLoss::new(), Adam::new(0.05));
//! let mut loss = f32::INFINITY;
//! for _ in 0..500 {
//!     layer.zero_grad();
//!     loss = mse.forward(layer.forward(x.view()), y.view()).unwrap();
//!     let dprediction = mse.backward().unwrap();
//!     layer.backward(dprediction, false).unwrap();
//!     adam.step(&mut layer);
//! }
//! assert!(loss < 1e-4, "loss {loss}");
//! ```

pub mod checkpoint;
pub mod data;
pub mod error;
pub mod gradcheck;
pub mod linalg;
pub mod model;
pub mod nn;
pub mod optim;
pub mod report;
pub mod temp_files;
pub mod train;

pub use error::Error;
pub use model::{Dims, Part, Stage1Grad, TwoStageNetwork};
/// The random number generator crate the engine draws from (re-exported from `ndarray-rand`).
pub use ndarray_rand::rand;
