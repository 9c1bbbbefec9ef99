//! Matrix products and the other heavy arithmetic of a step: the only code in the engine that
//! cares about speed.
//!
//! | file | holds |
//! |---|---|
//! | `products.rs` | the products, named for what they do: [`matmul_into`] `c = a·b`, [`matmul_acc`] `c += a·b`, [`matmul_bias_into`] `c = bias + a·b`, and [`gemm`] `c = α·a·b + β·c` that does them |
//! | `reference.rs` | the textbook triple loop [`gemm_naive`], and [`gemm_matrixmultiply`] |
//! | `parallel.rs` | splitting a product over cores ([`split_point`]), the pool ([`on_pool`], [`usable_cores`]), [`join`] |
//! | `offer.rs` | the hand-off of half a [`join`] to the spinner inside [`on_pool`] |
//! | [`aligned`] | buffers that start on a cache line, for the kernels' whole-register loads |
//! | [`elementwise`] | the element-wise passes of a step (ReLU, its mask, MSE's pieces, bias sums, pixels) |
//! | [`simd`] | the kernel ladder: which instruction set runs ([`simd::rung`], `TWOSTAGE_SIMD`) |
//! | `scalar.rs` | [`Scalar`]: `f32` and `f64`, and the compiled entry points each names |
//! | `kernels/` | the kernels, one module per instruction set (portable, AVX2, AVX-512), and the one dispatch between them |
//!
//! ```
//! use ndarray::array;
//! use twostage::linalg::matmul_acc;
//! let (dy, x) = (array![[1.0_f32], [2.0]], array![[3.0, 4.0], [5.0, 6.0]]);
//! let mut dw = ndarray::Array2::zeros((1, 2));
//! matmul_acc(&mut dw, dy.t(), x.view()); // dW += dyᵀ·x
//! assert_eq!(dw, array![[13.0, 16.0]]);
//! ```

pub mod aligned;
pub mod elementwise;
mod kernels;
mod offer;
mod parallel;
mod products;
mod reference;
mod scalar;
pub mod simd;
mod split_sum;

pub use kernels::Kernels;
pub(crate) use parallel::pieces;
pub use parallel::{PARALLEL_MIN_MACS, join, on_pool, split_point, usable_cores};
pub use products::{gemm, gemm_serial, matmul_acc, matmul_bias_into, matmul_into};
pub use reference::{gemm_matrixmultiply, gemm_naive};
pub use scalar::Scalar;
