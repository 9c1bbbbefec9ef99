//! Every kernel compiled for AVX2 + FMA (8 `f32` lanes): the portable bodies again, which the
//! auto-vectoriser now fills wider registers with, and the hand-written `x·Wᵀ` and `dyᵀ·x`
//! kernels of [`super::abt`] and [`super::atb`].
//!
//! Each function may run only on a CPU with these instructions; [`super::on_rung`] checks.

use super::portable;
use crate::linalg::Scalar;
use crate::optim::adam::kernel::{Coefficients, update_loop};

#[target_feature(enable = "avx2,fma")]
pub fn relu<T: Scalar>(y: &mut [T], x: &[T]) {
    portable::relu(y, x)
}

#[target_feature(enable = "avx2,fma")]
pub fn relu_mask<T: Scalar>(dx: &mut [T], dy: &[T], y: &[T]) {
    portable::relu_mask(dx, dy, y)
}

#[target_feature(enable = "avx2,fma")]
pub fn copy<T: Scalar>(y: &mut [T], x: &[T]) {
    portable::copy(y, x)
}

#[target_feature(enable = "avx2,fma")]
pub fn fill_rows<T: Scalar>(y: &mut [T], row: &[T]) {
    portable::fill_rows(y, row)
}

#[target_feature(enable = "avx2,fma")]
pub fn add_rows<T: Scalar>(acc: &mut [T], x: &[T]) {
    portable::add_rows(acc, x)
}

#[target_feature(enable = "avx2,fma")]
pub fn difference<T: Scalar>(d: &mut [T], p: &[T], t: &[T]) {
    portable::difference(d, p, t)
}

#[target_feature(enable = "avx2,fma")]
pub fn scaled<T: Scalar>(g: &mut [T], s: T, d: &[T]) {
    portable::scaled(g, s, d)
}

#[target_feature(enable = "avx2,fma")]
pub fn add_assign<T: Scalar>(acc: &mut [T], x: &[T]) {
    portable::add_assign(acc, x)
}

#[target_feature(enable = "avx2,fma")]
pub fn sum_of_squares<T: Scalar>(values: &[T]) -> f64 {
    portable::sum_of_squares(values)
}

#[target_feature(enable = "avx2,fma")]
pub fn normalise_pixels(x: &mut [f32], pixels: &[u8]) {
    portable::normalise_pixels(x, pixels)
}

/// Adam's update, dividing `√v` by the bias correction through its reciprocal
/// ([`Scalar::div_by_constant`], same bits), which frees the divider.
#[target_feature(enable = "avx2,fma")]
pub fn adam_update<T: Scalar>(
    theta: &mut [T],
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    c: Coefficients<T>,
    zero_grad: bool,
) {
    update_loop::<T, true>(theta, g, m, v, c, zero_grad)
}

/// [`super::abt::sgemm_abt_avx2`]; `true`: it did the product.
///
/// # Safety
/// As [`super::abt::sgemm_abt_avx2`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sgemm_abt(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) -> bool {
    // SAFETY: the caller's contract, this function's features.
    unsafe { super::abt::sgemm_abt_avx2(m, k, n, alpha, a, lda, b, ldb, beta, c, rsc, csc) };
    true
}

/// [`super::atb`]'s kernel for this rung; `true`: it did the product.
///
/// # Safety
/// As [`super::atb::sgemm_atb`], on a CPU with these instructions.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sgemm_atb(
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    ldc: usize,
) -> bool {
    // SAFETY: the caller's contract, this function's features.
    unsafe { super::atb::sgemm_atb_avx2(m, k, n, a, lda, b, ldb, beta, c, ldc) };
    true
}
