//! `c = a·bᵀ + β·c` for sums at most [`MAX_K`] deep, as an outer product (prototype).

#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, __m512, _MM_HINT_T0, _mm_prefetch, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps,
    _mm256_setzero_ps, _mm256_storeu_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps,
    _mm512_setzero_ps, _mm512_storeu_ps,
};

pub use super::atb::MAX_K;

/// Whether [`sgemm_abt`](super::abt::sgemm_abt) hands `c = α·a·bᵀ + β·c` with sums `k` deep
/// to this kernel: unscaled (`α = 1`, matrixmultiply folds α into its last rounding) and one
/// block deep (`k ≤ MAX_K`), where it is faster than the dot-product tiles (for deeper sums
/// the dot-product tiles are faster at batch 32 and above, `benches/README.md`). Decided by
/// the depth alone, never by the rows of `x` or the columns of a thread's block of `c`, so a
/// row's bits depend neither on the batch it comes in nor on the thread count.
#[inline(always)]
pub(crate) fn takes(alpha: f32, k: usize) -> bool {
    alpha == 1.0 && k <= MAX_K
}

/// Panels of `x` packed together, so each tile's rows of `W` stay in L1 across all of them.
const PANELS: usize = 4;

thread_local! {
    /// Each thread's packing buffer, kept between products.
    static PACKED: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A matrix stored row by row: row `i` starts at `at + i·ld`.
#[derive(Clone, Copy)]
pub(crate) struct Operand {
    pub(crate) at: *const f32,
    pub(crate) ld: usize,
}

/// The output, element `(i, j)` at `at + i·rsc + j·csc`.
#[derive(Clone, Copy)]
pub(crate) struct Out {
    pub(crate) at: *mut f32,
    pub(crate) rsc: isize,
    pub(crate) csc: isize,
}

/// Rows `i0..i0 + rows` of `a`, columns `k0..k0 + depth`, transposed into `packed`: row `p` of
/// it (`P` numbers) holds column `k0 + p`; the rows past `rows` are zero.
///
/// # Safety
/// The rows and columns are inside `a`.
#[inline(always)]
unsafe fn pack<const P: usize>(
    packed: &mut [f32],
    a: Operand,
    (i0, rows): (usize, usize),
    (k0, depth): (usize, usize),
) {
    let packed = &mut packed[..depth * P];
    if rows < P {
        packed.fill(0.0);
    }
    for i in 0..rows {
        // SAFETY: row i0 + i, columns k0..k0 + depth, are inside a.
        let row = unsafe { std::slice::from_raw_parts(a.at.add((i0 + i) * a.ld + k0), depth) };
        for (p, &x) in row.iter().enumerate() {
            packed[p * P + i] = x;
        }
    }
}

/// Stores one tile's sums, `sums[r][i]` for row `j0 + r` of `b` and row `i0 + i` of `a`:
/// `c[i0+i, j0+r] = sums + β·c` (just the sums when β = 0), for the rows and columns inside `c`.
///
/// # Safety
/// `(i0, j0)` inside `c`, which is `m×n`.
#[inline(always)]
unsafe fn store<const R: usize, const P: usize>(
    sums: &[[f32; P]; R],
    (i0, rows): (usize, usize),
    (j0, cols): (usize, usize),
    beta: f32,
    c: Out,
) {
    for i in 0..rows {
        for (r, sums) in sums.iter().enumerate().take(cols) {
            let sum = sums[i];
            let offset = (i0 + i) as isize * c.rsc + (j0 + r) as isize * c.csc;
            // SAFETY: (i0 + i, j0 + r) is inside c.
            let cij = unsafe { &mut *c.at.offset(offset) };
            *cij = if beta == 0.0 { sum } else { *cij * beta + sum };
        }
    }
}

/// [`pack`] for a panel of 32 rows with AVX-512F: whole 16×16 blocks of `a` transposed in
/// registers (16 loads, 64 shuffles, 16 stores instead of 256 scalar moves), the columns past
/// the last whole block and edge panels one number at a time. The same numbers land in the
/// same places, so the sums do not change.
///
/// # Safety
/// AVX-512F; as [`pack`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pack_avx512(
    packed: &mut [f32],
    a: Operand,
    (i0, rows): (usize, usize),
    (k0, depth): (usize, usize),
) {
    const P: usize = 32;
    const L: usize = 16;
    if rows < P {
        return unsafe { pack::<P>(packed, a, (i0, rows), (k0, depth)) };
    }
    let packed = &mut packed[..depth * P];
    let whole = depth / L * L;
    for p0 in (0..whole).step_by(L) {
        for half in 0..P / L {
            // SAFETY: rows i0 + half·16 + r and columns k0 + p0 .. + 16 are inside a.
            let r: [__m512; L] = std::array::from_fn(|r| unsafe {
                _mm512_loadu_ps(a.at.add((i0 + half * L + r) * a.ld + k0 + p0))
            });
            let columns = transpose16(r);
            for (q, column) in columns.iter().enumerate() {
                // SAFETY: (p0 + q)·P + half·16 + 16 ≤ depth·P.
                unsafe {
                    _mm512_storeu_ps(packed.as_mut_ptr().add((p0 + q) * P + half * L), *column)
                };
            }
        }
    }
    for i in 0..P {
        for p in whole..depth {
            // SAFETY: row i0 + i, column k0 + p are inside a.
            packed[p * P + i] = unsafe { *a.at.add((i0 + i) * a.ld + k0 + p) };
        }
    }
}

/// The 16×16 transpose: `out[q]` lane `r` = `rows[r]` lane `q`.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose16(rows: [__m512; 16]) -> [__m512; 16] {
    use std::arch::x86_64::{
        _mm512_castpd_ps, _mm512_castps_pd, _mm512_shuffle_f32x4, _mm512_unpackhi_pd,
        _mm512_unpackhi_ps, _mm512_unpacklo_pd, _mm512_unpacklo_ps,
    };
    // Pairs of rows interleaved, then pairs of pairs: u[4g + c] holds, in 128-bit lane j,
    // column 4j + c of rows 4g .. 4g + 3.
    let t: [__m512; 16] = std::array::from_fn(|i| {
        let (x, y) = (rows[i / 2 * 2], rows[i / 2 * 2 + 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(x, y)
        } else {
            _mm512_unpackhi_ps(x, y)
        }
    });
    let u: [__m512; 16] = std::array::from_fn(|i| {
        let (g, c) = (i / 4, i % 4);
        let (x, y) = (
            _mm512_castps_pd(t[4 * g + c / 2]),
            _mm512_castps_pd(t[4 * g + 2 + c / 2]),
        );
        _mm512_castpd_ps(if c % 2 == 0 {
            _mm512_unpacklo_pd(x, y)
        } else {
            _mm512_unpackhi_pd(x, y)
        })
    });
    let mut out = [u[0]; 16];
    for c in 0..4 {
        // v0: lanes 0, 2 of rows 0–3 and 4–7; v1: lanes 1, 3; v2, v3 the same for rows 8–15.
        let v0 = _mm512_shuffle_f32x4::<0x88>(u[c], u[4 + c]);
        let v1 = _mm512_shuffle_f32x4::<0xdd>(u[c], u[4 + c]);
        let v2 = _mm512_shuffle_f32x4::<0x88>(u[8 + c], u[12 + c]);
        let v3 = _mm512_shuffle_f32x4::<0xdd>(u[8 + c], u[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(v0, v2);
        out[8 + c] = _mm512_shuffle_f32x4::<0xdd>(v0, v2);
        out[4 + c] = _mm512_shuffle_f32x4::<0x88>(v1, v3);
        out[12 + c] = _mm512_shuffle_f32x4::<0xdd>(v1, v3);
    }
    out
}

/// [`pack`] for a panel of 16 rows with AVX2: whole 8×8 blocks transposed in registers, the
/// rest one number at a time, as [`pack_avx512`].
///
/// # Safety
/// AVX2; as [`pack`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_avx2(
    packed: &mut [f32],
    a: Operand,
    (i0, rows): (usize, usize),
    (k0, depth): (usize, usize),
) {
    use std::arch::x86_64::{
        _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };
    const P: usize = 16;
    const L: usize = 8;
    if rows < P {
        return unsafe { pack::<P>(packed, a, (i0, rows), (k0, depth)) };
    }
    let packed = &mut packed[..depth * P];
    let whole = depth / L * L;
    for p0 in (0..whole).step_by(L) {
        for half in 0..P / L {
            // SAFETY: rows i0 + half·8 + r and columns k0 + p0 .. + 8 are inside a.
            let r: [__m256; L] = std::array::from_fn(|r| unsafe {
                _mm256_loadu_ps(a.at.add((i0 + half * L + r) * a.ld + k0 + p0))
            });
            let t: [__m256; L] = std::array::from_fn(|i| {
                let (x, y) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
                if i % 2 == 0 {
                    _mm256_unpacklo_ps(x, y)
                } else {
                    _mm256_unpackhi_ps(x, y)
                }
            });
            // s[4h + c]: in 128-bit lane j, column 4j + c of rows 4h .. 4h + 3.
            let s: [__m256; L] = std::array::from_fn(|i| {
                let (h, c) = (i / 4, i % 4);
                let (x, y) = (t[4 * h + c / 2], t[4 * h + 2 + c / 2]);
                if c % 2 == 0 {
                    _mm256_shuffle_ps::<0x44>(x, y)
                } else {
                    _mm256_shuffle_ps::<0xEE>(x, y)
                }
            });
            for c in 0..4 {
                let low = _mm256_permute2f128_ps::<0x20>(s[c], s[4 + c]);
                let high = _mm256_permute2f128_ps::<0x31>(s[c], s[4 + c]);
                // SAFETY: (p0 + 4 + c)·P + half·8 + 8 ≤ depth·P.
                unsafe {
                    _mm256_storeu_ps(packed.as_mut_ptr().add((p0 + c) * P + half * L), low);
                    _mm256_storeu_ps(packed.as_mut_ptr().add((p0 + 4 + c) * P + half * L), high);
                }
            }
        }
    }
    for i in 0..P {
        for p in whole..depth {
            // SAFETY: row i0 + i, column k0 + p are inside a.
            packed[p * P + i] = unsafe { *a.at.add((i0 + i) * a.ld + k0 + p) };
        }
    }
}

/// One rung's copy of the kernel: the same two functions for AVX2 + FMA (8 lanes, 6 rows of `W`
/// by a panel of 16) and AVX-512F (16 lanes, 12 by 32), differing only in the register type,
/// the intrinsics and the tile.
macro_rules! abt_kernel {
    (
        feature: $feature:literal, register: $v:ty, lanes: $lanes:expr, rows: $r:expr,
        registers_across: $nv:expr, zero: $zero:ident, load: $load:ident, store: $store:ident,
        splat: $splat:ident, fmadd: $fmadd:ident, pack: $pack:ident, names: $top:ident, $tile:ident
    ) => {
        /// [`sgemm_abt`] on this rung: `a` in panels of `P` rows, each packed once per block of
        /// [`MAX_K`] columns and multiplied by every tile of `R` rows of `b`.
        ///
        /// # Safety
        /// The rung's CPU features, and [`sgemm_abt`]'s contract.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        pub(crate) unsafe fn $top(
            m: usize,
            k: usize,
            n: usize,
            a: Operand,
            b: Operand,
            beta: f32,
            c: Out,
        ) -> bool {
            const P: usize = $nv * $lanes;
            const R: usize = $r;
            let depth_max = MAX_K.min(k);
            let mut packed = PACKED.take();
            if packed.len() < depth_max * P * PANELS {
                packed = vec![0.0_f32; depth_max * P * PANELS];
            }
            for i_block in (0..m).step_by(P * PANELS) {
                let panels = (m - i_block).min(P * PANELS).div_ceil(P);
                for (block, k0) in (0..k).step_by(MAX_K).enumerate() {
                    let depth = (k - k0).min(MAX_K);
                    // The first block is added to β·c, each later one to what the ones before left.
                    let beta = if block == 0 { beta } else { 1.0 };
                    for q in 0..panels {
                        let i0 = i_block + q * P;
                        let rows = (m - i0).min(P);
                        // SAFETY: the rows and columns are inside a.
                        unsafe { $pack(&mut packed[q * depth * P..], a, (i0, rows), (k0, depth)) };
                    }
                    for j0 in (0..n).step_by(R) {
                        let cols = (n - j0).min(R);
                        // An edge tile repeats the last row of b; its sums are not stored.
                        let b_rows: [*const f32; R] = std::array::from_fn(|r| unsafe {
                            b.at.add((j0 + r.min(cols - 1)) * b.ld + k0)
                        });
                        for q in 0..panels {
                            let i0 = i_block + q * P;
                            let rows = (m - i0).min(P);
                            let panel = &packed[q * depth * P..(q + 1) * depth * P];
                            // SAFETY: the tile is inside b and c.
                            let sums = unsafe { $tile::<R, { $nv }, P>(panel, depth, b_rows) };
                            unsafe { store::<R, P>(&sums, (i0, rows), (j0, cols), beta, c) };
                        }
                    }
                }
            }
            PACKED.set(packed);
            true
        }

        /// The `R × P` sums `Σₚ b_rows[r][p]·packed[p][i]` over `depth` columns, each in order
        /// `p = 0, 1, …` from 0, one fused multiply-add per `p`.
        ///
        /// # Safety
        /// The rung's CPU features; `packed` holds `depth` rows of `P`, each `b_rows[r]` starts
        /// `depth` readable floats.
        #[cfg(target_arch = "x86_64")]
        #[inline]
        #[target_feature(enable = $feature)]
        unsafe fn $tile<const R: usize, const V: usize, const P: usize>(
            packed: &[f32],
            depth: usize,
            b_rows: [*const f32; R],
        ) -> [[f32; P]; R] {
            const L: usize = $lanes;
            let packed = &packed[..depth * P];
            let mut acc: [[$v; V]; R] = [[$zero(); V]; R];
            for (p, row) in packed.chunks_exact(P).enumerate() {
                if p % 16 == 0 {
                    // The next cache line of each row of `W`: twelve short streams from L3 are
                    // more than the hardware prefetcher follows in time.
                    for &b_row in &b_rows {
                        // (A hint, never a fault: safe under the enabled features.)
                        _mm_prefetch::<_MM_HINT_T0>(b_row.wrapping_add(p + 16).cast::<i8>());
                    }
                }
                // SAFETY: `row` holds P = V·L floats.
                let xv: [$v; V] =
                    std::array::from_fn(|v| unsafe { $load(row.as_ptr().add(v * L)) });
                for (acc_row, &b_row) in acc.iter_mut().zip(&b_rows) {
                    // SAFETY: p < depth.
                    let w = $splat(unsafe { *b_row.add(p) });
                    for (sum, &x) in acc_row.iter_mut().zip(&xv) {
                        *sum = $fmadd(w, x, *sum);
                    }
                }
            }
            let mut sums = [[0.0_f32; P]; R];
            for (out, acc_row) in sums.iter_mut().zip(&acc) {
                for (v, &sum) in acc_row.iter().enumerate() {
                    // SAFETY: V·L = P floats fit in `out`.
                    unsafe { $store(out.as_mut_ptr().add(v * L), sum) };
                }
            }
            sums
        }
    };
}

abt_kernel!(
    feature: "avx2,fma", register: __m256, lanes: 8, rows: 6, registers_across: 2,
    zero: _mm256_setzero_ps, load: _mm256_loadu_ps, store: _mm256_storeu_ps,
    splat: _mm256_set1_ps, fmadd: _mm256_fmadd_ps, pack: pack_avx2, names: outer_avx2, tile_avx2
);
abt_kernel!(
    feature: "avx512f", register: __m512, lanes: 16, rows: 12, registers_across: 2,
    zero: _mm512_setzero_ps, load: _mm512_loadu_ps, store: _mm512_storeu_ps,
    splat: _mm512_set1_ps, fmadd: _mm512_fmadd_ps, pack: pack_avx512, names: outer_avx512, tile_avx512
);

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::super::abt::sgemm_abt;
    use super::*;

    /// `c = a·bᵀ + β·c` by `rung`'s `sgemm_abt`, `a: (m, k)`, `b: (n, k)`, `c: (m, n)` row-major.
    fn abt(
        rung: super::super::Rung,
        (m, k, n): (usize, usize, usize),
        a: &[f32],
        b: &[f32],
        beta: f32,
        c: &mut [f32],
    ) {
        // SAFETY: the buffers are m×k, n×k and m×n, row-major.
        let done = unsafe {
            sgemm_abt(
                rung,
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                k,
                b.as_ptr(),
                k,
                beta,
                c.as_mut_ptr(),
                n as isize,
                1,
            )
        };
        assert!(done, "{rung} kernel ran");
    }

    /// On the shapes it takes, each rung's kernel gives matrixmultiply's `c = a·bᵀ + β·c` bit
    /// for bit, for β = 1 and β = 0 (a `c` full of NaN is only written): the layer shapes at
    /// batch 32, edge tiles and edge panels, more rows than one block of panels; and a row of
    /// `a` alone gets the bits it gets among the others.
    #[test]
    fn every_rung_gives_matrixmultiply_bits() {
        for rung in super::super::rungs_under_test() {
            for (m, k, n) in [
                (32, 256, 128),
                (32, 128, 256),
                (32, 256, 784),
                (32, 128, 64),
                (32, 64, 10),
                (32, 100, 130),
                (64, 250, 24),
                (1, 1, 128),
                (7, 33, 130),
                (13, 256, 129),
                (150, 37, 200),
                (300, 256, 128),
            ] {
                assert!(takes(1.0, k), "{m}×{k}×{n} is this kernel's");
                let a: Vec<f32> = (0..m * k).map(|i| ((i as f32) * 0.37).sin()).collect();
                let b: Vec<f32> = (0..n * k).map(|i| ((i as f32) * 0.11).cos()).collect();
                let c0: Vec<f32> = (0..m * n).map(|i| ((i as f32) * 0.23).sin()).collect();
                let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                for beta in [1.0_f32, 0.0] {
                    let mut expected = c0.clone();
                    // SAFETY: as in `abt`.
                    unsafe {
                        matrixmultiply::sgemm(
                            m,
                            k,
                            n,
                            1.0,
                            a.as_ptr(),
                            k as isize,
                            1,
                            b.as_ptr(),
                            1,
                            k as isize,
                            beta,
                            expected.as_mut_ptr(),
                            n as isize,
                            1,
                        )
                    };
                    let mut got = if beta == 0.0 {
                        vec![f32::NAN; m * n]
                    } else {
                        c0.clone()
                    };
                    abt(rung, (m, k, n), &a, &b, beta, &mut got);
                    assert!(
                        bits(&expected) == bits(&got),
                        "{rung} {m}×{k}×{n}, β = {beta}: differs from matrixmultiply"
                    );
                }
                let last = m - 1;
                let (mut row, mut all) = (vec![0.0_f32; n], vec![0.0_f32; m * n]);
                abt(rung, (1, k, n), &a[last * k..], &b, 0.0, &mut row);
                abt(rung, (m, k, n), &a, &b, 0.0, &mut all);
                assert!(
                    bits(&row) == bits(&all[last * n..]),
                    "{rung}: a row's bits depend on its batch"
                );
            }
        }
    }
}
