//! # A guide to the engine, by example
//!
//! Every example below is a doctest: `cargo test` compiles and runs it, so the guide cannot
//! drift from the code. Read it top to bottom, or jump to what you need:
//!
//! 1. [The life of one batch](#1-the-life-of-one-batch)
//! 2. [Writing a layer of your own](#2-writing-a-layer-of-your-own-tanh)
//! 3. [Swapping Adam for SGD](#3-swapping-adam-for-sgd)
//! 4. [Loading a checkpoint and classifying an image](#4-loading-a-checkpoint-and-classifying-an-image)
//! 5. [Using twostage from your own crate](#5-using-twostage-from-your-own-crate)
//!
//! To watch one step with every number printed, run `twostage explain`; to see the gradient
//! checks pass (and, with `--break relu`, fail), `twostage gradcheck`.
//!
//! ## 1. The life of one batch
//!
//! One autoencoder step, as [`crate::train::fit`] runs it for each batch (stage 1 is that loop
//! over [`crate::model::Route::Autoencoder`]), spelled out. Shapes are in the comments; `B` is
//! the batch size.
//!
//! ```
//! use twostage::batches::{Batch, Batches, Examples, Order, Reconstruct};
//! use twostage::model::{Dims, Route, TwoStageNetwork};
//! use twostage::nn::{Layer, MseLoss, Parameters};
//! use twostage::optim::{Adam, Optimizer};
//! use twostage::rand::{rngs::SmallRng, SeedableRng};
//!
//! // Four 784-pixel "images" (u8, as MNIST stores them) and their labels.
//! let pixels: Vec<u8> = (0..4 * 784).map(|i| (i * 7 % 256) as u8).collect();
//! let examples = Examples { pixels: &pixels, labels: &[3, 1, 4, 1], width: 784 };
//!
//! let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
//! let mut batches = Batches::new(2, Order::Shuffled { seed: 0 }); // B = 2
//! let mut buffer = Batch::default(); // reused from batch to batch
//! let (mut mse, mut adam) = (MseLoss::new(), Adam::new(1e-3));
//! let mut autoencoder = network.route(Route::Autoencoder); // stage 1 → decoder, as one layer
//!
//! batches.start_epoch(examples.len());
//! let batch = batches.next(&Reconstruct(examples), &mut buffer).unwrap();
//! // 1. The batch: pixels gathered and normalised, (p/255 − 0.5)/0.5 ∈ [−1, 1].
//! assert_eq!(batch.x.dim(), (2, 784)); // x: (B, 784)
//! // 2. Forward: stage 1 then the decoder; each layer caches what its backward needs.
//! let reconstruction = autoencoder.forward(batch.x.view()); // x̂: (B, 784)
//! // 3. The loss, and the gradient it starts the chain rule with.
//! let loss = mse.forward(reconstruction, batch.x.view()); // L = mean((x̂ − x)²)
//! let dreconstruction = mse.backward(); // dL/dx̂ = 2(x̂ − x)/(B·784)
//! // 4. Backward: decoder, then stage 1, last layer first; every dW += dyᵀ·x.
//! autoencoder.backward_params(dreconstruction);
//! // 5. The update, which also clears the gradients for the next batch.
//! adam.step_and_zero_grad(&mut autoencoder);
//! assert!(loss > 0.0 && loss.is_finite());
//! ```
//!
//! ## 2. Writing a layer of your own: Tanh
//!
//! ([`crate::nn::Tanh`] exists; this is how it is built.) A layer copies in `forward` what
//! `backward` needs into buffers of its own (here its output, since
//! `d tanh(x)/dx = 1 − tanh²(x)`) and returns `dx` from `backward`. Then check it: the
//! gradient checker compares `dx` (and any parameter gradients) with finite differences.
//!
//! ```
//! use twostage::gradcheck::{check_layer, CheckOptions};
//! use twostage::ndarray::{array, Array2, ArrayView2, Zip};
//! use twostage::nn::{Layer, ParamMut, Parameters};
//!
//! /// `y = tanh(x)`, element-wise.
//! #[derive(Default)]
//! struct Tanh {
//!     output: Array2<f64>, // y: (B, n), the cache
//!     dx: Array2<f64>,     // dx: (B, n)
//! }
//!
//! impl Parameters<f64> for Tanh {
//!     fn visit_params(&mut self, _f: &mut dyn FnMut(&str, ParamMut<'_, f64>)) {} // none
//! }
//!
//! impl Layer<f64> for Tanh {
//!     fn describe(&self) -> String {
//!         "Tanh()".into()
//!     }
//!     /// `y = tanh(x)`: `x: (B, n) → y: (B, n)`.
//!     fn forward(&mut self, x: ArrayView2<f64>) -> ArrayView2<'_, f64> {
//!         self.output = x.mapv(f64::tanh);
//!         self.output.view()
//!     }
//!     /// `dx = dy ⊙ (1 − y²)`: `dy: (B, n) → dx: (B, n)`.
//!     fn backward(&mut self, dy: ArrayView2<f64>) -> ArrayView2<'_, f64> {
//!         assert_eq!(dy.dim(), self.output.dim(), "Tanh(): backward before forward");
//!         self.dx = Zip::from(&dy).and(&self.output).map_collect(|&dy, &y| dy * (1.0 - y * y));
//!         self.dx.view()
//!     }
//! }
//!
//! let x = array![[0.5, -1.0, 2.0], [0.0, 0.3, -0.7]];
//! let dy = array![[1.0, -0.5, 0.25], [0.7, 0.1, -1.2]]; // any upstream gradient
//! let report = check_layer(&mut Tanh::default(), x.view(), dy.view(), &CheckOptions::default());
//! assert_eq!(report.len(), 1); // no parameters: dx is the whole check
//! assert!(report.passed(), "{report}");
//! ```
//!
//! A layer with parameters hands each tensor and its gradient to `visit_params` under
//! PyTorch's name (`weight`, `bias`); `check_layer` then checks those too, and any optimizer
//! can update them. See `nn/dense.rs`: its backward is the three lines `dW += dyᵀ·x`,
//! `db += Σ dy`, `dx = dy·W`.
//!
//! ## 3. Swapping Adam for SGD
//!
//! Every optimizer implements [`crate::optim::Optimizer`]; the training loop
//! ([`crate::train::fit`]) takes any of them. Here the same regression is fit with each, by
//! hand:
//!
//! ```
//! use twostage::ndarray::array;
//! use twostage::nn::{Dense, Layer, MseLoss};
//! use twostage::optim::{Adam, Optimizer, Sgd};
//!
//! fn fit(optimizer: &mut dyn Optimizer<f64>) -> f64 {
//!     // y = 2x − 1, from a layer that starts at y = 0.
//!     let mut layer = Dense::from_weights(array![[0.0]], array![0.0]);
//!     let (x, y) = (array![[0.0], [1.0], [2.0]], array![[-1.0], [1.0], [3.0]]);
//!     let mut mse = MseLoss::new();
//!     let mut loss = f64::INFINITY;
//!     for _ in 0..300 {
//!         loss = mse.forward(layer.forward(x.view()), y.view());
//!         layer.backward_params(mse.backward());
//!         optimizer.step_and_zero_grad(&mut layer);
//!     }
//!     loss
//! }
//! let adam = fit(&mut Adam::new(0.05));
//! let sgd = fit(&mut Sgd::new(0.05, 0.0));
//! let momentum = fit(&mut Sgd::new(0.05, 0.9));
//! assert!(adam < 1e-3 && sgd < 1e-3 && momentum < 1e-3, "{adam} {sgd} {momentum}");
//! ```
//!
//! ## 4. Loading a checkpoint and classifying an image
//!
//! `twostage train` saves safetensors under PyTorch's names; [`crate::TwoStageNetwork`]`::load`
//! reads them back (with the `data` feature, on by default), and
//! [`crate::train::probabilities`] classifies raw 28×28 u8 pixels.
//!
//! ```
//! # #[cfg(feature = "data")] {
//! use twostage::model::{Dims, TwoStageNetwork};
//! use twostage::rand::{rngs::SmallRng, SeedableRng};
//!
//! // A checkpoint to load (from `twostage train --save model.safetensors` in real use).
//! let path = std::env::temp_dir().join(format!("guide-{}.safetensors", std::process::id()));
//! let mut trained = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(1));
//! trained.save(&path)?;
//!
//! let mut network = TwoStageNetwork::load(&path)?;
//! let image = [0u8; 784]; // row-major 28×28, 0 = black, as in MNIST
//! let probabilities = twostage::train::probabilities(&mut network, &image)?;
//! assert_eq!(probabilities.len(), 10);
//! assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
//! let predicted = twostage::train::argmax(probabilities.iter().copied());
//! assert!(predicted < 10);
//! std::fs::remove_file(&path)?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 5. Training on MNIST from code
//!
//! What `twostage train` does, in a few library calls: load the two splits
//! ([`crate::data::mnist::Mnist`], with the `data` feature), view them as
//! [`crate::train::Examples`], train the stages of a [`crate::train::Schedule`], evaluate.
//! Here on the first 6000 training images for one epoch each, to stay quick.
//!
//! ```
//! # #[cfg(feature = "data")] {
//! use twostage::data::mnist::{Mnist, Split};
//! use twostage::model::{Dims, TwoStageNetwork};
//! use twostage::rand::{rngs::SmallRng, SeedableRng};
//! use twostage::train::{self, Schedule, Silent};
//!
//! // The four MNIST files (`twostage download` fetches them); CI sets MNIST_DIR.
//! let Some(dir) = std::env::var_os("MNIST_DIR") else {
//!     assert!(std::env::var("CI").is_err(), "CI=true: MNIST_DIR must name the MNIST files");
//!     return Ok(()); // no data here: nothing to train on
//! };
//! // Checked to be the canonical MNIST (by SHA-256); your own IDX set: `Mnist::load_any`.
//! let train_set = Mnist::load(&dir, Split::Train)?;
//! let test_set = Mnist::load(&dir, Split::Test)?;
//!
//! let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
//! let schedule = Schedule { stage1_epochs: 1, stage2_epochs: 1, ..Schedule::default() };
//! let epochs = train::run(&mut network, train_set.examples().first(6000), &schedule, &mut Silent)?;
//! assert_eq!(epochs.len(), 2);
//! let evaluation = train::evaluate(&mut network, test_set.examples())?;
//! assert!(evaluation.accuracy > 0.8, "test accuracy {}", evaluation.accuracy); // chance: 0.1
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 6. Using twostage from your own crate
//!
//! The engine alone (layers, optimizers, gradient checks, the model, the training loop) is
//! `default-features = false`: about 24 crates instead of about 160. Add `data` for MNIST
//! files and checkpoints. The products, the element-wise passes, the softmax cross-entropy and
//! Adam are compiled inside twostage as plain f32/f64 functions, so they run optimised in your
//! debug build; with the dependencies optimised too (ndarray), a debug build trains within 2×
//! of a release one (the README's spiral: 1.8×, 14.7× before the redesign). Your Cargo.toml:
//!
//! ```toml
//! [dependencies]
//! twostage = { path = "../twostage", default-features = false, features = ["data"] }
//!
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
