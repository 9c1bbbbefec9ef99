//! Every kernel as plain Rust, compiled for the target's baseline: the element-wise passes of a
//! step and Adam's update, each the textbook loop. `avx2` and `avx512` compile these same
//! bodies again with wider vectors enabled; nothing in them depends on the vector width (the
//! sum of squares fixes its own eight running sums), so every rung gives the same bits.
//!
//! Slices are cut to a common length first (`&x[..n]`) so the loops carry no bounds checks and
//! vectorise.
//!
//! `x·Wᵀ` and `dyᵀ·x` have no portable kernel: these decline, and matrixmultiply does the
//! product.

use crate::linalg::Scalar;
use crate::optim::adam::kernel::{Chunk, Coefficients, update_loop};

/// `y = max(x, 0)`, with `max(NaN, 0) = 0`.
#[inline(always)]
pub fn relu<T: Scalar>(y: &mut [T], x: &[T]) {
    let n = y.len().min(x.len());
    let (y, x) = (&mut y[..n], &x[..n]);
    for i in 0..n {
        y[i] = if x[i] > T::zero() { x[i] } else { T::zero() };
    }
}

/// `dx = dy` where `y > 0`, else 0 (ReLU's backward from its output).
#[inline(always)]
pub fn relu_mask<T: Scalar>(dx: &mut [T], dy: &[T], y: &[T]) {
    let n = dx.len().min(dy.len()).min(y.len());
    let (dx, dy, y) = (&mut dx[..n], &dy[..n], &y[..n]);
    for i in 0..n {
        dx[i] = if y[i] > T::zero() { dy[i] } else { T::zero() };
    }
}

/// `y = x`.
#[inline(always)]
pub fn copy<T: Scalar>(y: &mut [T], x: &[T]) {
    let n = y.len().min(x.len());
    y[..n].copy_from_slice(&x[..n]);
}

/// Every row of `y` (rows as long as `row`) `= row`: a bias broadcast over a batch.
#[inline(always)]
pub fn fill_rows<T: Scalar>(y: &mut [T], row: &[T]) {
    if row.is_empty() {
        return;
    }
    for y in y.chunks_exact_mut(row.len()) {
        y.copy_from_slice(row);
    }
}

/// `acc += x[r]` for each row `r` of `x` (rows as long as `acc`), in row order: a bias
/// gradient summed over a batch.
#[inline(always)]
pub fn add_rows<T: Scalar>(acc: &mut [T], x: &[T]) {
    if acc.is_empty() {
        return;
    }
    for row in x.chunks_exact(acc.len()) {
        add_assign(acc, row);
    }
}

/// `d = p − t`.
#[inline(always)]
pub fn difference<T: Scalar>(d: &mut [T], p: &[T], t: &[T]) {
    let n = d.len().min(p.len()).min(t.len());
    let (d, p, t) = (&mut d[..n], &p[..n], &t[..n]);
    for i in 0..n {
        d[i] = p[i] - t[i];
    }
}

/// `g = s·d`.
#[inline(always)]
pub fn scaled<T: Scalar>(g: &mut [T], s: T, d: &[T]) {
    let n = g.len().min(d.len());
    let (g, d) = (&mut g[..n], &d[..n]);
    for i in 0..n {
        g[i] = s * d[i];
    }
}

/// `acc += x`.
#[inline(always)]
pub fn add_assign<T: Scalar>(acc: &mut [T], x: &[T]) {
    let n = acc.len().min(x.len());
    let (acc, x) = (&mut acc[..n], &x[..n]);
    for i in 0..n {
        acc[i] += x[i];
    }
}

/// `Σ x²`, each square rounded in `T`, accumulated in `f64` in eight running sums (lane `l`
/// takes the elements at `i ≡ l mod 8` of the leading multiple of 8, in order), added up lane 0
/// to 7, then the remainder: one sum would make every addition wait for the one before it (a
/// 25k-long chain per autoencoder batch).
#[inline(always)]
pub fn sum_of_squares<T: Scalar>(values: &[T]) -> f64 {
    let mut lanes = [0.0_f64; 8];
    let chunks = values.chunks_exact(8);
    let rest: f64 = chunks.remainder().iter().map(|&v| (v * v).to_f64()).sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += (v * v).to_f64();
        }
    }
    lanes.iter().sum::<f64>() + rest
}

/// `x = (p/255 − 0.5)/0.5` for each pixel, in `f32` in that order, as the reference script's
/// `ToTensor()` + `Normalize((0.5,), (0.5,))` do.
#[inline(always)]
pub fn normalise_pixels(x: &mut [f32], pixels: &[u8]) {
    let n = x.len().min(pixels.len());
    let (x, pixels) = (&mut x[..n], &pixels[..n]);
    for i in 0..n {
        x[i] = (pixels[i] as f32 / 255.0 - 0.5) / 0.5;
    }
}

/// Adam's fused update of one chunk, dividing `√v` by the bias correction as written (on
/// SSE2 the conversions to `f64` that [`Scalar::div_by_constant`] needs cost more than the
/// division; the bits are the same).
#[inline(always)]
pub fn adam_update<T: Scalar>(chunk: Chunk<'_, T>, c: Coefficients<T>, zero_grad: bool) {
    update_loop::<T, false>(chunk, c, zero_grad)
}

/// Declines `x·Wᵀ`: matrixmultiply does it.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_abt(
    _m: usize,
    _k: usize,
    _n: usize,
    _alpha: f32,
    _a: *const f32,
    _lda: usize,
    _b: *const f32,
    _ldb: usize,
    _beta: f32,
    _c: *mut f32,
    _rsc: isize,
    _csc: isize,
    _bias: *const f32,
) -> bool {
    false
}

/// Declines `dyᵀ·x` and `dy·W`: matrixmultiply does them.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_atb(
    _m: usize,
    _k: usize,
    _n: usize,
    _a: *const f32,
    _sa: (usize, usize),
    _b: *const f32,
    _ldb: usize,
    _beta: f32,
    _c: *mut f32,
    _ldc: usize,
) -> bool {
    false
}

/// `f64` has no packing-free `a·bᵀ` kernel on any rung.
///
/// # Safety
/// None needed: it touches nothing (`unsafe` only to fit [`super::RawAbt`]).
#[allow(clippy::too_many_arguments)]
pub unsafe fn declines_abt(
    _rung: crate::linalg::simd::Rung,
    _m: usize,
    _k: usize,
    _n: usize,
    _alpha: f64,
    _a: *const f64,
    _lda: usize,
    _b: *const f64,
    _ldb: usize,
    _beta: f64,
    _c: *mut f64,
    _rsc: isize,
    _csc: isize,
    _bias: *const f64,
) -> bool {
    false
}

/// On no rung: `f64`'s [`declines_atb`] never does a product.
pub fn never(_rung: crate::linalg::simd::Rung) -> bool {
    false
}

/// `f64` has no packing-free `aᵀ·b` kernel on any rung.
///
/// # Safety
/// None needed: it touches nothing (`unsafe` only to fit [`super::RawAtb`]).
#[allow(clippy::too_many_arguments)]
pub unsafe fn declines_atb(
    _rung: crate::linalg::simd::Rung,
    _m: usize,
    _k: usize,
    _n: usize,
    _a: *const f64,
    _sa: (usize, usize),
    _b: *const f64,
    _ldb: usize,
    _beta: f64,
    _c: *mut f64,
    _ldc: usize,
) -> bool {
    false
}
