//! `c = α·a·bᵀ + β·c` when `a: (m, k)` and `b: (n, k)` are both stored row by row: a layer's
//! forward product `x·Wᵀ`, with `W` kept `(out, in)` like PyTorch.
//!
//! Why a kernel of its own: matrixmultiply first copies ("packs") `bᵀ` into panels sixteen
//! columns wide. For `Wᵀ` those columns are `W`'s rows, so the copy gathers one float at a time
//! from sixteen rows of all of `W` (up to 800 KB, from L3 in a training step), and at batch 32
//! that gather costs about as much as the multiply-adds it feeds (`benches/README.md`). Here
//! the small operand is packed instead: a panel of `P` rows of `x` (32 on AVX-512, 16 on AVX2),
//! transposed into `k` short rows of `P` numbers (at most 32 KB: L1) by 16×16 (8×8) transposes
//! in registers, and `W` is read as it is stored. A tile of `R` rows of `W` by the panel keeps
//! `R·P` running sums in registers; for each `p` it loads row `p` of the packed panel and
//! broadcasts `W[j, p]` for its `R` rows — an outer product, so no sums are added up across
//! lanes at the end, and the tile goes back to `c` transposed in registers, one masked store
//! per row of `c`. Up to four panels are packed together and every tile of `W` runs over all of
//! them while its rows are in L1 (evaluation and features: many rows of `x`).
//!
//! Each element's sum is matrixmultiply's, bit for bit: it starts at 0 and takes up to 256
//! fused multiply-adds in order `p = 0, 1, …` ([`MAX_K`], matrixmultiply's `S_KC`), is added
//! to `β·c`, and deeper sums are cut into blocks of 256, each added to what the ones before left.
//! So the bits do not depend on where a row sits (a training batch, a chunk of frozen features,
//! one row) nor on how `c` is cut across threads, and they are the portable rung's, where
//! matrixmultiply does the product (tested below, bit for bit): every rung trains the same
//! weights.
//!
//! Two copies, one per rung of the ladder (`linalg/simd.rs`; `kernels/avx512.rs` and
//! `kernels/avx2.rs` name them for the dispatch), one macro instantiated per instruction set:
//! AVX-512F, 12 rows of `W` by a panel of 32 (24 sums and 2 registers of the panel: 26 of its
//! 32 registers, the broadcasts folded into the multiply-adds); AVX2 + FMA, 6 rows by 16 (12
//! sums, 2 panel registers and one broadcast: 15 of its 16). Both decline `α ≠ 1`
//! (matrixmultiply folds α into its last rounding; the layers never scale), and so does the
//! portable rung, always: matrixmultiply does those.

// Off x86-64 only `sgemm_abt` (always false) is compiled in.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, __m512, _MM_HINT_T0, _mm_prefetch, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps, _mm512_add_ps,
    _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

pub use super::atb::MAX_K;
#[cfg(target_arch = "x86_64")]
use crate::linalg::aligned;
use crate::linalg::simd::Rung;

/// `c = α·a·bᵀ + β·c` by the kernel of `rung` ([`super::on_rung`]), as [`sgemm_abt_avx512`]
/// describes; returns `false`, having done nothing, on the portable rung or if the CPU lacks
/// `rung`.
///
/// # Safety
/// As [`sgemm_abt_avx512`], less the CPU requirement.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_abt(
    rung: Rung,
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
    bias: *const f32,
) -> bool {
    // (The macro checks the CPU; the pointers are this function's contract.)
    super::on_rung!(
        rung,
        sgemm_abt(m, k, n, alpha, a, lda, b, ldb, beta, c, rsc, csc, bias)
    )
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

/// The output, element `(i, j)` at `at + i·rsc + j·csc`; with a `bias` (not null, `n`
/// numbers), the first block of the sum is stored as `bias[j] + sum` instead of `sum + β·c`.
#[derive(Clone, Copy)]
pub(crate) struct Out {
    pub(crate) at: *mut f32,
    pub(crate) rsc: isize,
    pub(crate) csc: isize,
    pub(crate) bias: *const f32,
}

macro_rules! entry {
    ($feature:literal, $name:ident, $kernel:ident) => {
        /// `c[i,j] = Σₚ a[i,p]·b[j,p] + β·c[i,j]` for `a: (m, k)` with row stride `lda`,
        /// `b: (n, k)` with row stride `ldb` (both contiguous along `k`) and `c: (m, n)` with
        /// any strides, on this rung, as the module docs describe. With `β = 0`, `c` is only
        /// written, never read (it may hold NaN). With a `bias` (`n` numbers; null for none),
        /// `c[i,j] = bias[j] + Σₚ a[i,p]·b[j,p]` instead, the bits of `c` set to the bias
        /// and then the product added with β = 1 (`c` is only written). Returns `true` when
        /// it did the product, `false` (having done nothing) for `α ≠ 1`.
        ///
        /// # Safety
        /// The CPU must have the rung's features; the pointers and strides must describe valid
        /// matrices, with `m, n, k ≥ 1`; `c` must not alias `a` or `b`.
        #[cfg(target_arch = "x86_64")]
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = $feature)]
        pub unsafe fn $name(
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
            bias: *const f32,
        ) -> bool {
            if alpha != 1.0 {
                return false;
            }
            let (a, b, c) = (
                Operand { at: a, ld: lda },
                Operand { at: b, ld: ldb },
                Out {
                    at: c,
                    rsc,
                    csc,
                    bias,
                },
            );
            // SAFETY: this function's contract.
            unsafe { $kernel(m, k, n, a, b, beta, c) }
        }
    };
}
entry!("avx512f", sgemm_abt_avx512, outer_avx512);
entry!("avx2,fma", sgemm_abt_avx2, outer_avx2);

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
            *cij = if !c.bias.is_null() {
                // SAFETY: the bias holds n numbers.
                unsafe { *c.bias.add(j0 + r) + sum }
            } else if beta == 0.0 {
                sum
            } else {
                *cij * beta + sum
            };
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

/// The 8×8 transpose: `out[q]` lane `r` = `rows[r]` lane `q`.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn transpose8(rows: [__m256; 8]) -> [__m256; 8] {
    use std::arch::x86_64::{
        _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };
    let t: [__m256; 8] = std::array::from_fn(|i| {
        let (x, y) = (rows[i / 2 * 2], rows[i / 2 * 2 + 1]);
        if i % 2 == 0 {
            _mm256_unpacklo_ps(x, y)
        } else {
            _mm256_unpackhi_ps(x, y)
        }
    });
    // s[4h + c]: in 128-bit lane j, column 4j + c of rows 4h .. 4h + 3.
    let s: [__m256; 8] = std::array::from_fn(|i| {
        let (h, c) = (i / 4, i % 4);
        let (x, y) = (t[4 * h + c / 2], t[4 * h + 2 + c / 2]);
        if c % 2 == 0 {
            _mm256_shuffle_ps::<0x44>(x, y)
        } else {
            _mm256_shuffle_ps::<0xEE>(x, y)
        }
    });
    let mut out = [s[0]; 8];
    for c in 0..4 {
        out[c] = _mm256_permute2f128_ps::<0x20>(s[c], s[4 + c]);
        out[4 + c] = _mm256_permute2f128_ps::<0x31>(s[c], s[4 + c]);
    }
    out
}

/// The first `cols` lanes of a 16-lane register, as an AVX-512 mask.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn cols16(cols: usize) -> u16 {
    ((1_u32 << cols) - 1) as u16
}

/// The first lanes `mask` picks, loaded from `at` (the others 0).
///
/// # Safety
/// AVX-512F; the picked lanes readable.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn load16(at: *const f32, mask: u16) -> __m512 {
    unsafe { std::arch::x86_64::_mm512_maskz_loadu_ps(mask, at) }
}

/// The lanes `mask` picks, stored to `at`.
///
/// # Safety
/// AVX-512F; the picked lanes writable.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store16(at: *mut f32, mask: u16, v: __m512) {
    unsafe { std::arch::x86_64::_mm512_mask_storeu_ps(at, mask, v) }
}

/// The first `cols` lanes of an 8-lane register, as an AVX2 mask.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn cols8(cols: usize) -> std::arch::x86_64::__m256i {
    let on = |r: usize| if r < cols { -1 } else { 0 };
    std::arch::x86_64::_mm256_set_epi32(on(7), on(6), on(5), on(4), on(3), on(2), on(1), on(0))
}

/// [`load16`] for AVX2.
///
/// # Safety
/// AVX2; the picked lanes readable.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn load8(at: *const f32, mask: std::arch::x86_64::__m256i) -> __m256 {
    unsafe { std::arch::x86_64::_mm256_maskload_ps(at, mask) }
}

/// [`store16`] for AVX2.
///
/// # Safety
/// AVX2; the picked lanes writable.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store8(at: *mut f32, mask: std::arch::x86_64::__m256i, v: __m256) {
    unsafe { std::arch::x86_64::_mm256_maskstore_ps(at, mask, v) }
}

/// One rung's copy of the kernel: the same four functions (product, tile, pack, store) for
/// AVX2 + FMA (8 lanes, 6 rows of `W` by a panel of 16) and AVX-512F (16 lanes, 12 by 32),
/// differing only in the register type, the intrinsics and the tile.
macro_rules! abt_kernel {
    (
        feature: $feature:literal, register: $v:ty, lanes: $lanes:expr, rows: $r:expr,
        registers_across: $nv:expr, zero: $zero:ident, load: $load:ident,
        splat: $splat:ident, fmadd: $fmadd:ident, storeu: $storeu:ident, add: $add:ident,
        mul: $mul:ident, transpose: $transpose:ident, cols: $cols:ident, mload: $mload:ident,
        mstore: $mstore:ident, names: $top:ident, $tile:ident, $pack:ident, $store_tile:ident
    ) => {
        /// The product on this rung: `a` in blocks of [`PANELS`] panels of `P` rows, each block
        /// packed once per [`MAX_K`] columns, then every tile of `R` rows of `b` over all its
        /// panels.
        ///
        /// # Safety
        /// The rung's CPU features, and [`sgemm_abt`]'s contract (α = 1 here).
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $top(
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
            let mut packed_vec = PACKED.take();
            let pad = aligned::padding::<f32>();
            if packed_vec.len() < depth_max * P * PANELS + pad {
                packed_vec = vec![0.0_f32; depth_max * P * PANELS + pad];
            }
            // The panel starts on a cache line, so no load of a packed row splits across two
            // (on a Xeon the forward product gained 4–9 %, `benches/README.md`).
            let skip = aligned::to_line(packed_vec.as_ptr());
            let packed = &mut packed_vec[skip..];
            for i_block in (0..m).step_by(P * PANELS) {
                let panels = (m - i_block).min(P * PANELS).div_ceil(P);
                for (block, k0) in (0..k).step_by(MAX_K).enumerate() {
                    let depth = (k - k0).min(MAX_K);
                    // The first block is added to β·c (or the bias), each later one to what the
                    // ones before left.
                    let (beta, c) = if block == 0 {
                        (beta, c)
                    } else {
                        (
                            1.0,
                            Out {
                                bias: std::ptr::null(),
                                ..c
                            },
                        )
                    };
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
                            unsafe { $store_tile(&sums, (i0, rows), (j0, cols), beta, c) };
                        }
                    }
                }
            }
            PACKED.set(packed_vec);
            true
        }

        /// Stores a tile, `acc[r][v]` lane `l` the sum for row `j0 + r` of `b` and row
        /// `i0 + L·v + l` of `a`: `c[i, j] = sum + β·c[i, j]` ([`store`]'s arithmetic, so its
        /// bits). When `c`'s rows are contiguous, each register column of the tile is
        /// transposed in registers and every row of `c` gets one masked load and store of its
        /// `cols` numbers instead of `cols` scalar ones; otherwise [`store`].
        ///
        /// # Safety
        /// The rung's CPU features; as [`store`].
        // `v` picks a register of each row of `acc` and the rows of `c` it becomes.
        #[allow(clippy::needless_range_loop)]
        #[cfg(target_arch = "x86_64")]
        #[inline]
        #[target_feature(enable = $feature)]
        unsafe fn $store_tile(
            acc: &[[$v; $nv]; $r],
            (i0, rows): (usize, usize),
            (j0, cols): (usize, usize),
            beta: f32,
            c: Out,
        ) {
            const L: usize = $lanes;
            const P: usize = $nv * $lanes;
            const R: usize = $r;
            if c.csc != 1 {
                let mut sums = [[0.0_f32; P]; R];
                for (out, acc_row) in sums.iter_mut().zip(acc) {
                    for (v, &sum) in acc_row.iter().enumerate() {
                        // SAFETY: P floats fit in `out`.
                        unsafe { $storeu(out.as_mut_ptr().add(v * L), sum) };
                    }
                }
                return unsafe { store::<R, P>(&sums, (i0, rows), (j0, cols), beta, c) };
            }
            let mask = $cols(cols);
            // SAFETY: the bias holds n numbers, j0 + cols ≤ n (the mask).
            let bias = (!c.bias.is_null()).then(|| unsafe { $mload(c.bias.add(j0), mask) });
            for v in 0..$nv {
                // R ≤ L rows of W, padded to a square.
                let part: [$v; L] =
                    std::array::from_fn(|r| if r < R { acc[r][v] } else { $zero() });
                for (q, &sums) in $transpose(part).iter().enumerate() {
                    let i = L * v + q;
                    if i >= rows {
                        return;
                    }
                    // SAFETY: row i0 + i of c, columns j0 .. j0 + cols (the mask), are inside c.
                    unsafe {
                        let at = c.at.offset((i0 + i) as isize * c.rsc + j0 as isize);
                        let out = if let Some(bias) = bias {
                            $add(bias, sums)
                        } else if beta == 0.0 {
                            sums
                        } else {
                            $add($mul($mload(at, mask), $splat(beta)), sums)
                        };
                        $mstore(at, mask, out);
                    }
                }
            }
        }

        /// [`pack`] for a whole panel on this rung: each `L × L` block of `a` transposed in
        /// registers (`L` loads, the transpose's shuffles, `L` stores instead of `L²` scalar
        /// moves), the columns past the last whole block and edge panels one number at a time.
        /// The same numbers land in the same places, so the sums do not change.
        ///
        /// # Safety
        /// The rung's CPU features; as [`pack`].
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $pack(
            packed: &mut [f32],
            a: Operand,
            (i0, rows): (usize, usize),
            (k0, depth): (usize, usize),
        ) {
            const P: usize = $nv * $lanes;
            const L: usize = $lanes;
            if rows < P {
                return unsafe { pack::<P>(packed, a, (i0, rows), (k0, depth)) };
            }
            let packed = &mut packed[..depth * P];
            let whole = depth / L * L;
            for p0 in (0..whole).step_by(L) {
                for part in 0..P / L {
                    // SAFETY: rows i0 + part·L + r, columns k0 + p0 .. + L are inside a.
                    let r: [$v; L] = std::array::from_fn(|r| unsafe {
                        $load(a.at.add((i0 + part * L + r) * a.ld + k0 + p0))
                    });
                    for (q, &column) in $transpose(r).iter().enumerate() {
                        // SAFETY: (p0 + q)·P + part·L + L ≤ depth·P.
                        unsafe {
                            $storeu(packed.as_mut_ptr().add((p0 + q) * P + part * L), column)
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
        ) -> [[$v; V]; R] {
            const L: usize = $lanes;
            let packed = &packed[..depth * P];
            let mut acc: [[$v; V]; R] = [[$zero(); V]; R];
            // One step of the outer product: the sums += `W[rows, p]` ⊗ packed row `p`.
            let step = |acc: &mut [[$v; V]; R], p: usize| {
                // SAFETY: p < depth: row p of `packed` holds P = V·L floats, each row of `W`
                // p + 1.
                let xv: [$v; V] =
                    std::array::from_fn(|v| unsafe { $load(packed.as_ptr().add(p * P + v * L)) });
                for (acc_row, &b_row) in acc.iter_mut().zip(&b_rows) {
                    let w = $splat(unsafe { *b_row.add(p) });
                    for (sum, &x) in acc_row.iter_mut().zip(&xv) {
                        *sum = $fmadd(w, x, *sum);
                    }
                }
            };
            // Sixteen steps at a time (a cache line of each row of `W`), the prefetches before
            // them: with no `p % 16` test inside, all twelve row pointers stay in registers
            // (the old loop reloaded five of them from the stack every step).
            let whole = depth / 16 * 16;
            for p0 in (0..whole).step_by(16) {
                // The next cache line of each row of `W`: twelve short streams from L3 are
                // more than the hardware prefetcher follows in time.
                for &b_row in &b_rows {
                    // (A hint, never a fault: safe under the enabled features.)
                    _mm_prefetch::<_MM_HINT_T0>(b_row.wrapping_add(p0 + 16).cast::<i8>());
                }
                for p in p0..p0 + 16 {
                    // SAFETY: p < depth, so row p of `packed` holds P = V·L floats.
                    step(&mut acc, p);
                }
            }
            for p in whole..depth {
                // SAFETY: as above.
                step(&mut acc, p);
            }
            acc
        }
    };
}

abt_kernel!(
    feature: "avx2,fma", register: __m256, lanes: 8, rows: 6, registers_across: 2,
    zero: _mm256_setzero_ps, load: _mm256_loadu_ps,
    splat: _mm256_set1_ps, fmadd: _mm256_fmadd_ps, storeu: _mm256_storeu_ps, add: _mm256_add_ps,
    mul: _mm256_mul_ps, transpose: transpose8, cols: cols8, mload: load8, mstore: store8,
    names: outer_avx2, tile_avx2, pack_avx2, store_avx2
);
abt_kernel!(
    feature: "avx512f", register: __m512, lanes: 16, rows: 12, registers_across: 2,
    zero: _mm512_setzero_ps, load: _mm512_loadu_ps,
    splat: _mm512_set1_ps, fmadd: _mm512_fmadd_ps, storeu: _mm512_storeu_ps, add: _mm512_add_ps,
    mul: _mm512_mul_ps, transpose: transpose16, cols: cols16, mload: load16, mstore: store16,
    names: outer_avx512, tile_avx512, pack_avx512, store_avx512
);

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// Deterministic values.
    fn values(len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|i| ((i as f32) * scale).sin()).collect()
    }

    /// `c = α·a·bᵀ + β·c` for `a: (m, k)`, `b: (n, k)` row-major and `c` at strides
    /// `(rsc, csc)`: by matrixmultiply (`None` for `rung`) or by `rung`'s `sgemm_abt`, which
    /// returns whether it did the product.
    #[allow(clippy::too_many_arguments)]
    fn product(
        rung: Option<Rung>,
        (m, k, n): (usize, usize, usize),
        alpha: f32,
        a: &[f32],
        b: &[f32],
        beta: f32,
        c: &mut [f32],
        (rsc, csc): (isize, isize),
    ) -> bool {
        assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
        let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        // SAFETY: the buffers hold m×k, n×k and m×n numbers at these strides.
        unsafe {
            match rung {
                None => {
                    let (ki, one) = (k as isize, 1);
                    matrixmultiply::sgemm(
                        m, k, n, alpha, ap, ki, one, bp, one, ki, beta, cp, rsc, csc,
                    );
                    true
                }
                Some(rung) => sgemm_abt(
                    rung,
                    m,
                    k,
                    n,
                    alpha,
                    ap,
                    k,
                    bp,
                    k,
                    beta,
                    cp,
                    rsc,
                    csc,
                    std::ptr::null(),
                ),
            }
        }
    }

    fn bits(x: &[f32]) -> Vec<u32> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    /// Each rung's kernel gives matrixmultiply's `c = a·bᵀ + β·c` bit for bit, for β = 1 and
    /// β = 0 (a `c` full of NaN is only written), with `c` row-major and column-major: the layer
    /// shapes at batch 32 (784 deep: blocks of 256), edge tiles, edge panels, sums that are not
    /// a whole number of transposed blocks, more rows than one block of panels; and a row of
    /// `a` alone gets the bits it gets among the others.
    #[test]
    fn every_rung_gives_matrixmultiply_bits() {
        for rung in super::super::rungs_under_test() {
            for (m, k, n) in [
                (32, 784, 256),
                (32, 256, 128),
                (32, 128, 256),
                (32, 256, 784),
                (32, 128, 64),
                (32, 64, 10),
                (32, 100, 130),
                (64, 250, 24),
                (1, 1, 1),
                (7, 33, 130),
                (13, 600, 25),
                (150, 37, 200),
                (300, 256, 128),
            ] {
                let (a, b, c0) = (
                    values(m * k, 0.37),
                    values(n * k, 0.11),
                    values(m * n, 0.23),
                );
                for (rsc, csc) in [(n as isize, 1), (1, m as isize)] {
                    for beta in [1.0_f32, 0.0] {
                        let mut expected = c0.clone();
                        product(
                            None,
                            (m, k, n),
                            1.0,
                            &a,
                            &b,
                            beta,
                            &mut expected,
                            (rsc, csc),
                        );
                        let mut got = if beta == 0.0 {
                            vec![f32::NAN; m * n]
                        } else {
                            c0.clone()
                        };
                        let done = product(
                            Some(rung),
                            (m, k, n),
                            1.0,
                            &a,
                            &b,
                            beta,
                            &mut got,
                            (rsc, csc),
                        );
                        assert!(done, "{rung} kernel ran");
                        assert!(
                            bits(&expected) == bits(&got),
                            "{rung} {m}×{k}×{n}, β = {beta}, strides ({rsc}, {csc}): differs from matrixmultiply"
                        );
                    }
                }
                let last = m - 1;
                let (mut row, mut all) = (vec![0.0_f32; n], vec![0.0_f32; m * n]);
                let row_major = (n as isize, 1);
                product(
                    Some(rung),
                    (1, k, n),
                    1.0,
                    &a[last * k..],
                    &b,
                    0.0,
                    &mut row,
                    row_major,
                );
                product(Some(rung), (m, k, n), 1.0, &a, &b, 0.0, &mut all, row_major);
                assert!(
                    bits(&row) == bits(&all[last * n..]),
                    "{rung} {m}×{k}×{n}: a row's bits depend on its batch"
                );
            }
        }
    }

    /// With a bias, `c = bias + a·bᵀ` has the bits of `c` filled with the bias row and then
    /// matrixmultiply's `c = a·bᵀ + 1·c`, for `c` row-major and column-major (the scalar store),
    /// on the layer shapes and ragged ones; `c` is only written (it starts as NaN).
    #[test]
    fn a_bias_gives_the_bits_of_a_filled_c() {
        for rung in super::super::rungs_under_test() {
            for (m, k, n) in [
                (32, 784, 256),
                (32, 256, 784),
                (32, 128, 64),
                (3, 37, 29),
                (1, 1, 1),
            ] {
                let (a, b, bias) = (values(m * k, 0.9), values(n * k, 0.4), values(n, 2.5));
                for (rsc, csc) in [(n as isize, 1), (1, m as isize)] {
                    let mut expected = vec![0.0_f32; m * n];
                    for i in 0..m {
                        for j in 0..n {
                            expected[i * rsc as usize + j * csc as usize] = bias[j];
                        }
                    }
                    product(None, (m, k, n), 1.0, &a, &b, 1.0, &mut expected, (rsc, csc));
                    let mut got = vec![f32::NAN; m * n];
                    let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), got.as_mut_ptr());
                    // SAFETY: the buffers hold m×k, n×k, m×n and n numbers at these strides.
                    let done = unsafe {
                        sgemm_abt(
                            rung,
                            m,
                            k,
                            n,
                            1.0,
                            ap,
                            k,
                            bp,
                            k,
                            0.0,
                            cp,
                            rsc,
                            csc,
                            bias.as_ptr(),
                        )
                    };
                    assert!(done, "{rung} declined a bias product");
                    assert_eq!(
                        bits(&got),
                        bits(&expected),
                        "{rung} {m}×{k}×{n} with bias, strides ({rsc}, {csc})"
                    );
                }
            }
        }
    }

    /// `α ≠ 1` is declined on every rung, and the portable rung declines everything: those go
    /// to matrixmultiply. A declined product leaves `c` as it was.
    #[test]
    fn scaled_products_and_the_portable_rung_decline() {
        let (a, b) = (values(4 * 3, 0.3), values(5 * 3, 0.7));
        for rung in super::super::rungs_under_test() {
            let mut c = vec![1.5_f32; 20];
            assert!(!product(
                Some(rung),
                (4, 3, 5),
                2.0,
                &a,
                &b,
                1.0,
                &mut c,
                (5, 1)
            ));
            assert!(c.iter().all(|&x| x == 1.5), "{rung} wrote c");
        }
        let mut c = vec![1.5_f32; 20];
        assert!(!product(
            Some(Rung::Portable),
            (4, 3, 5),
            1.0,
            &a,
            &b,
            1.0,
            &mut c,
            (5, 1)
        ));
        assert!(c.iter().all(|&x| x == 1.5), "the portable rung wrote c");
    }
}
