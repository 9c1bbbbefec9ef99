//! `c = aᵀ·b + β·c` with `b: (k, n)` and `c` stored row by row and `a: (k, m)` stored any way:
//! a layer's weight gradient `dW += dyᵀ·x` (`a = dy: (B, out)`, `b = x: (B, in)`, a sum over the
//! batch) and its input gradient `dx = dy·W` (`a = dyᵀ`, `b = W: (out, in)`, a sum over `out`).
//!
//! Why a kernel of its own: for `dW` the sum runs over only `B = 32` products, so for
//! matrixmultiply each 8×8 tile is a short burst of 32 multiply-adds between packing `dy` and
//! `x` and a read-modify-write of eight rows of `dW` that sit a whole row (1–3 KB) apart; for
//! `dx` it packs all of `W` (up to 800 KB, from L3 in a training step) on every call. Here
//! nothing is packed: a tile of `R` rows of `c` by `V` registers keeps `R·V` running sums, and
//! for each `p` broadcasts `R` numbers of `a` (one at a time, so `a`'s layout does not matter)
//! and loads `V` registers of row `p` of `b`, which is contiguous. Tiles run along the rows of
//! `c`; in a training step `dW` (and `W`, the `b` of `dx`) come from L3, in runs of at most 12
//! cache lines a row, too short for the hardware prefetcher, so the kernel prefetches the rows
//! of `c` two tiles ahead and, for `dx`, the row of `W` eight sums ahead (a two-thread backward
//! on an AVX-512 Xeon: 402–422 → 297–310 µs, `benches/README.md`, sixth session).
//!
//! The sums are matrixmultiply's, bit for bit: each element starts at 0 and takes up to 256
//! fused multiply-adds in order `p = 0, 1, …`, and is then added to `β·c`; deeper sums are cut
//! into blocks of 256 ([`MAX_K`], matrixmultiply's `S_KC`), each added to what the ones before
//! left, as matrixmultiply does. So switching kernels moves no answer, and the tests below check
//! it bit for bit against matrixmultiply.
//! Two copies, one per rung of the ladder (`linalg/simd.rs`): AVX2 + FMA with 6×16 tiles (12
//! sums, 2 registers of `b`, one broadcast: 15 of its 16 registers; a 4×24 tile needs all 16
//! and the compiler spilled one every step, at half the speed, `benches/README.md`), and
//! AVX-512F with 4×64 tiles for `dW` and 8×48 for `dx` ([`sgemm_atb_avx512`]). Both give matrixmultiply's bits, so the rungs agree; on the
//! portable rung matrixmultiply does the product.

#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, __m512, _MM_HINT_T0, _mm_prefetch, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps, _mm512_add_ps,
    _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

use crate::linalg::simd::Rung;

/// The deepest sum matrixmultiply does in one pass (its `S_KC`); deeper ones it cuts into
/// blocks of this many, and so does this kernel.
pub const MAX_K: usize = 256;
/// Columns of `c` done top to bottom before the next ones: 32 rows of `b` that wide are 24 KB.
const COLUMN_BLOCK: usize = 192;
/// How many rows of `b` ahead the `dx` kernel prefetches `W`.
const PREFETCH_B_ROWS: usize = 8;

/// `c = aᵀ·b + β·c` on the AVX2 and AVX-512 rungs, as the module docs describe, for
/// `a: (k, m)` with element `a[p, i]` at `p·sa.0 + i·sa.1` (any strides: its numbers are
/// broadcast one at a time), `b: (k, n)` with row stride `ldb`, contiguous along its rows, and
/// `c: (m, n)` with row stride `ldc`, contiguous along its rows; returns `false`, having done
/// nothing, on the portable rung or if the CPU lacks the rung. Sums deeper than [`MAX_K`] are
/// cut into blocks of that many, each added to `c` in turn, as matrixmultiply cuts them.
///
/// # Safety
/// The pointers must describe valid matrices of those shapes, with `c` aliasing neither.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_atb(
    rung: Rung,
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    sa: (usize, usize),
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    ldc: usize,
) -> bool {
    if k == 0 {
        return false;
    }
    // (The macro checks the CPU; the pointers are this function's contract.)
    super::on_rung!(rung, sgemm_atb(m, k, n, a, sa, b, ldb, beta, c, ldc))
}

/// Whether [`sgemm_atb`] does products on `rung`, rather than decline: on the AVX2 and AVX-512
/// rungs when the CPU has them.
pub fn sgemm_atb_on(rung: Rung) -> bool {
    cfg!(target_arch = "x86_64") && rung != Rung::Portable && rung.supported()
}

/// Where the whole tiles of `mr` rows of an `m`-row `c` end, and the rows after them as at most
/// two shorter tiles. A tile of few rows keeps few sums, each a chain of multiply-adds that
/// waits on its own last one: the 1-row tiles of AVX2's 6-row kernel (2 sums) ran at a quarter
/// of its speed, and `dx` has 32 rows, 2 past five whole tiles. So the rows left over join the
/// last whole tile and the two are cut into halves (32 = 4·6 + 4 + 4), at most `mr` rows each.
/// Every element's sum is the same in any tile, so this moves no bit.
fn tail_tiles(m: usize, mr: usize) -> (usize, [usize; 2]) {
    let left = m % mr;
    if left == 0 {
        (m, [0, 0])
    } else if m < mr {
        (0, [m, 0])
    } else {
        let rows = mr + left;
        (m - rows, [rows.div_ceil(2), rows / 2])
    }
}

/// A rung's row of tiles (the second function of `atb_kernel!`) for one tile height.
type RowFn = unsafe fn(
    usize,
    usize,
    usize,
    *const f32,
    (usize, usize),
    *const f32,
    usize,
    f32,
    *mut f32,
    usize,
    bool,
);

/// One rung's copy of the kernel: the same three functions for AVX2 + FMA (8 lanes, tiles of
/// 6×16) and AVX-512F (16 lanes, 4×64), differing only in the register type, the intrinsics and the tile.
macro_rules! atb_kernel {
    (
        feature: $feature:literal, register: $v:ty, lanes: $lanes:expr, rows: $mr:expr,
        registers_across: $nv:expr, prefetch_b: $prefetch_b:expr,
        zero: $zero:ident, load: $load:ident, store: $store:ident, splat: $splat:ident,
        fmadd: $fmadd:ident, add: $add:ident, mul: $mul:ident,
        names: $top:ident, $row:ident, $tile:ident
    ) => {
        /// [`sgemm_atb`] on this rung: `dW` in blocks of [`COLUMN_BLOCK`] columns, each walked
        /// row after row. Returns `true` (it did the product), where the portable rung's
        /// `sgemm_atb` declines.
        ///
        /// # Safety
        /// The rung's CPU features, and [`sgemm_atb`]'s contract.
        #[cfg(target_arch = "x86_64")]
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = $feature)]
        pub(crate) unsafe fn $top(
            m: usize,
            k: usize,
            n: usize,
            a: *const f32,
            sa: (usize, usize),
            b: *const f32,
            ldb: usize,
            beta: f32,
            c: *mut f32,
            ldc: usize,
        ) -> bool {
            const MR: usize = $mr;
            let (full_rows, tail) = tail_tiles(m, MR);
            // Prefetch rows of b when b is `W` (dx: c short), not when it is a batch (dW).
            let prefetch_b: bool = ($prefetch_b)(m);
            // Blocks of at most MAX_K along the sum, the first added to β·c, each later one to
            // the c the ones before left, as matrixmultiply does: the same bits for any k.
            for (block, k0) in (0..k).step_by(MAX_K).enumerate() {
                let k = (k - k0).min(MAX_K);
                let beta = if block == 0 { beta } else { 1.0 };
                // SAFETY: rows k0.. of a and b are inside them.
                let (a, b) = unsafe { (a.add(k0 * sa.0), b.add(k0 * ldb)) };
                for j_block in (0..n).step_by(COLUMN_BLOCK) {
                    let width = (n - j_block).min(COLUMN_BLOCK);
                    // SAFETY (all calls): every tile lies inside c, and reads rows i0..i0+R of aᵀ
                    // and columns of b inside a and b.
                    unsafe {
                        let (b, c) = (b.add(j_block), c.add(j_block));
                        for i0 in (0..full_rows).step_by(MR) {
                            // The rows of c two tiles down, from L3 in a training step (dW is
                            // 0.1–0.8 MB): each row is a run of at most 12 cache lines, too
                            // short for the hardware prefetcher to follow in time.
                            for i in i0 + 2 * MR..(i0 + 3 * MR).min(m) {
                                for j in (0..width).step_by(16) {
                                    // (A hint, never a fault.)
                                    _mm_prefetch::<_MM_HINT_T0>(
                                        c.wrapping_add(i * ldc + j).cast::<i8>(),
                                    );
                                }
                            }
                            $row::<MR>(i0, k, width, a, sa, b, ldb, beta, c, ldc, prefetch_b);
                        }
                        // A copy of the row function for each height a tail tile can have.
                        let tail_rows: [RowFn; 8] = [
                            $row::<1>, $row::<2>, $row::<3>, $row::<4>, $row::<5>, $row::<6>,
                            $row::<7>, $row::<8>,
                        ];
                        let mut i0 = full_rows;
                        for rows in tail.into_iter().filter(|&rows| rows > 0) {
                            tail_rows[rows - 1](
                                i0, k, width, a, sa, b, ldb, beta, c, ldc, prefetch_b,
                            );
                            i0 += rows;
                        }
                    }
                }
            }
            true
        }

        /// The tiles of rows `i0..i0+R` of `c`, left to right: the widest tiles, then two or one
        /// registers wide, then the last columns one by one.
        ///
        /// # Safety
        /// As the caller's, with `i0 + R ≤ m`.
        #[cfg(target_arch = "x86_64")]
        #[allow(clippy::too_many_arguments)]
        #[inline]
        #[target_feature(enable = $feature)]
        unsafe fn $row<const R: usize>(
            i0: usize,
            k: usize,
            n: usize,
            a: *const f32,
            sa: (usize, usize),
            b: *const f32,
            ldb: usize,
            beta: f32,
            c: *mut f32,
            ldc: usize,
            prefetch_b: bool,
        ) {
            const L: usize = $lanes;
            let mut j0 = 0;
            // SAFETY: as the caller's; each tile ends at or before column n.
            unsafe {
                while j0 + $nv * L <= n {
                    $tile::<R, { $nv }>(i0, j0, k, a, sa, b, ldb, beta, c, ldc, prefetch_b);
                    j0 += $nv * L;
                }
                if j0 + 2 * L <= n {
                    $tile::<R, 2>(i0, j0, k, a, sa, b, ldb, beta, c, ldc, prefetch_b);
                    j0 += 2 * L;
                }
                if j0 + L <= n {
                    $tile::<R, 1>(i0, j0, k, a, sa, b, ldb, beta, c, ldc, prefetch_b);
                    j0 += L;
                }
                for j in j0..n {
                    for i in i0..i0 + R {
                        // cᵢⱼ = Σₚ a[p, i]·b[p, j] + β·cᵢⱼ, one fused multiply-add per p in order.
                        let mut sum = 0.0_f32;
                        for p in 0..k {
                            sum = (*a.add(p * sa.0 + i * sa.1)).mul_add(*b.add(p * ldb + j), sum);
                        }
                        let cij = &mut *c.add(i * ldc + j);
                        *cij = if beta == 0.0 { sum } else { *cij * beta + sum };
                    }
                }
            }
        }

        /// One `R × V·lanes` tile: `c[i0.., j0..] = Σₚ a[p, i0..]ᵀ·b[p, j0..] + β·c[i0.., j0..]`.
        ///
        /// # Safety
        /// As the caller's, with `j0 + V·lanes ≤ n`.
        #[cfg(target_arch = "x86_64")]
        #[allow(clippy::too_many_arguments)]
        #[inline]
        #[target_feature(enable = $feature)]
        unsafe fn $tile<const R: usize, const V: usize>(
            i0: usize,
            j0: usize,
            k: usize,
            a: *const f32,
            sa: (usize, usize),
            b: *const f32,
            ldb: usize,
            beta: f32,
            c: *mut f32,
            ldc: usize,
            prefetch_b: bool,
        ) {
            const L: usize = $lanes;
            let mut acc: [[$v; V]; R] = [[$zero(); V]; R];
            // SAFETY: the caller's contract.
            unsafe {
                for p in 0..k {
                    // b[p, j0..j0+V·L]: (V·L,)
                    let b_row = b.add(p * ldb + j0);
                    if prefetch_b {
                        // `W` for dx, rows from L3 that are too short a run for the hardware
                        // prefetcher: the row a few sums ahead.
                        for v in 0..V {
                            _mm_prefetch::<_MM_HINT_T0>(
                                b_row
                                    .wrapping_add(PREFETCH_B_ROWS * ldb + v * L)
                                    .cast::<i8>(),
                            );
                        }
                    }
                    let bv: [$v; V] = std::array::from_fn(|v| $load(b_row.add(v * L)));
                    // a[p, i0..i0+R]: (R,), one broadcast each
                    let a_row = a.add(p * sa.0 + i0 * sa.1);
                    for (i, acc_row) in acc.iter_mut().enumerate() {
                        let av = $splat(*a_row.add(i * sa.1));
                        for (sum, &bv) in acc_row.iter_mut().zip(&bv) {
                            *sum = $fmadd(av, bv, *sum);
                        }
                    }
                }
                let betav = $splat(beta);
                for (i, acc_row) in acc.iter().enumerate() {
                    let c_row = c.add((i0 + i) * ldc + j0);
                    for (v, &sum) in acc_row.iter().enumerate() {
                        // (β = 1, a gradient accumulated: c·1 is c, so the multiply is left out.)
                        let out = if beta == 0.0 {
                            sum
                        } else if beta == 1.0 {
                            $add($load(c_row.add(v * L)), sum)
                        } else {
                            $add($mul($load(c_row.add(v * L)), betav), sum)
                        };
                        $store(c_row.add(v * L), out);
                    }
                }
            }
        }
    };
}

atb_kernel!(
    feature: "avx2,fma", register: __m256, lanes: 8, rows: 6, registers_across: 2, prefetch_b: |m| m < 128,
    zero: _mm256_setzero_ps, load: _mm256_loadu_ps, store: _mm256_storeu_ps,
    splat: _mm256_set1_ps, fmadd: _mm256_fmadd_ps, add: _mm256_add_ps, mul: _mm256_mul_ps,
    names: sgemm_atb_avx2, row_of_tiles_avx2, tile_avx2
);
atb_kernel!(
    feature: "avx512f", register: __m512, lanes: 16, rows: 4, registers_across: 4, prefetch_b: |_| false,
    zero: _mm512_setzero_ps, load: _mm512_loadu_ps, store: _mm512_storeu_ps,
    splat: _mm512_set1_ps, fmadd: _mm512_fmadd_ps, add: _mm512_add_ps, mul: _mm512_mul_ps,
    names: atb_tall_avx512, row_of_tiles_avx512, tile_avx512
);
atb_kernel!(
    feature: "avx512f", register: __m512, lanes: 16, rows: 8, registers_across: 3, prefetch_b: |_| true,
    zero: _mm512_setzero_ps, load: _mm512_loadu_ps, store: _mm512_storeu_ps,
    splat: _mm512_set1_ps, fmadd: _mm512_fmadd_ps, add: _mm512_add_ps, mul: _mm512_mul_ps,
    names: atb_short_avx512, row_of_short_tiles_avx512, short_tile_avx512
);

/// The AVX-512 kernel: 4×64 tiles for a tall `c` (a weight gradient `dW: (out, in)`, `m ≥ 128`),
/// 8×48 tiles for a short one (an input gradient `dx: (B, in)`): each row of `b` (`W`) loaded
/// into registers then feeds 8 rows of `c` instead of 4, so `W`, 0.8 MB from L2 and L3, is read
/// from L2 four times for a batch of 32 instead of eight (`dx` of 256→784, one thread: 62–71 →
/// 55–61 µs; `dW` is faster in the wide tiles, `benches/README.md`, fifth session). Every
/// element's sum is the same in either, so the choice moves no bit.
///
/// # Safety
/// AVX-512F, and [`sgemm_atb`]'s contract.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn sgemm_atb_avx512(
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    sa: (usize, usize),
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    ldc: usize,
) -> bool {
    // SAFETY: this function's contract.
    unsafe {
        if m < 128 {
            atb_short_avx512(m, k, n, a, sa, b, ldb, beta, c, ldc)
        } else {
            atb_tall_avx512(m, k, n, a, sa, b, ldb, beta, c, ldc)
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Bit for bit matrixmultiply's `c = 1·aᵀ·b + β·c`, on the shapes of the autoencoder's and the
    /// head's gradients `dW = dyᵀ·x` (`a = dy` as stored, row by row) and `dx = dy·W` (`aᵀ = dy`
    /// row by row, sums up to 784 deep, cut in blocks of 256 as matrixmultiply cuts them), and
    /// on ragged ones (every edge path: 1–3 leftover rows, 16, 8 and 1–7 leftover columns), for
    /// β = 1 and β = 0, on every rung that uses the kernel.
    #[test]
    fn matches_matrixmultiply_bit_for_bit() {
        let mut s = 7_u32;
        let mut next = move || {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / 16777216.0 - 0.5
        };
        // (m, k, n, aᵀ stored row by row: a `dy·W`)
        let shapes = [
            (784, 32, 256, false),
            (256, 32, 784, false),
            (128, 32, 256, false),
            (64, 32, 128, false),
            (10, 32, 64, false),
            (7, 5, 47, false),
            (3, 1, 9, false),
            (13, 256, 21, false),
            (32, 784, 256, true),
            (32, 256, 128, true),
            (32, 128, 256, true),
            (32, 10, 64, true),
            (5, 300, 19, true),
            (9, 513, 40, false),
        ];
        for rung in Rung::supported_rungs() {
            for &(m, k, n, transposed) in &shapes {
                // a: (k, m), stored as is or as its transpose (m, k).
                let stored =
                    Array2::from_shape_fn(if transposed { (m, k) } else { (k, m) }, |_| next());
                let (rsa, csa) = if transposed { (1, k) } else { (m, 1) };
                let b = Array2::from_shape_fn((k, n), |_| next());
                let c0 = Array2::from_shape_fn((m, n), |_| next());
                for beta in [1.0_f32, 0.0] {
                    let mut expected = c0.clone();
                    let mut got = c0.clone();
                    // SAFETY: the arrays are standard layout, of the shapes given; matrixmultiply
                    // takes aᵀ: (m, k) with strides (csa, rsa) of a.
                    let used = unsafe {
                        matrixmultiply::sgemm(
                            m,
                            k,
                            n,
                            1.0,
                            stored.as_ptr(),
                            csa as isize,
                            rsa as isize,
                            b.as_ptr(),
                            n as isize,
                            1,
                            beta,
                            expected.as_mut_ptr(),
                            n as isize,
                            1,
                        );
                        sgemm_atb(
                            rung,
                            m,
                            k,
                            n,
                            stored.as_ptr(),
                            (rsa, csa),
                            b.as_ptr(),
                            n,
                            beta,
                            got.as_mut_ptr(),
                            n,
                        )
                    };
                    if !used {
                        assert_eq!(rung, Rung::Portable, "{rung} should use the kernel");
                        continue;
                    }
                    let bits = |x: &Array2<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert!(
                        bits(&expected) == bits(&got),
                        "{rung}: ({m}, {k}, {n}), aᵀ stored: {transposed}, β = {beta}: differs \
                         from matrixmultiply"
                    );
                }
            }
        }
    }
}
