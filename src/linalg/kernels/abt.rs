//! `c = α·a·bᵀ + β·c` when `a: (m, k)` and `b: (n, k)` are both stored row by row: a layer's
//! forward product `x·Wᵀ`, with `W` kept `(out, in)` like PyTorch.
//!
//! Why a kernel of its own: matrixmultiply first copies ("packs") `bᵀ` into panels sixteen
//! columns wide. For `Wᵀ` those columns are `W`'s rows, so the copy gathers one float at a time
//! from sixteen rows, and at batch 32 that gather costs about as much as the multiply-adds it
//! feeds (`benches/README.md`). Here every output is a dot product of two contiguous rows, so
//! nothing needs packing: a 4×4 tile of outputs keeps sixteen running sums of sixteen lanes
//! each, walks the four rows of `a` and the four rows of `b` once, sixteen floats at a time, and
//! adds up the lanes at the end.
//!
//! Each output's sum runs in the same order wherever its tile sits (lane `l` adds the products at
//! `k ≡ l mod 16` in order, then the lanes are added in a fixed tree), so cutting `c` into blocks
//! across threads leaves every bit unchanged, as it does for matrixmultiply.
//!
//! Two copies, one per rung of the ladder (`linalg/simd.rs`; `kernels/avx512.rs` and
//! `kernels/avx2.rs` name them for the dispatch): AVX-512F, 4×4 tiles of 16-lane sums (4×6
//! for sums 512 or more deep, same bits); AVX2 + FMA, 8-lane sums in tiles of 4 rows of `a` by
//! 3 rows of `b` (its 16 registers hold 12 running sums, the 3 rows of `b` and one row of `a`
//! at a time; a 4×4 tile would spill). On the portable rung the caller uses matrixmultiply. The two copies add the products
//! in different orders, so their results differ in the last bits; each is deterministic.

// Off x86-64 only `sgemm_abt` (always false) is compiled in.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m128, __m256, __m512, _MM_HINT_T0, _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps,
    _mm_prefetch, _mm_shuffle_ps, _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps,
    _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps, _mm256_permute2f128_ps, _mm256_set_epi32,
    _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm512_add_ps, _mm512_fmadd_ps,
    _mm512_loadu_ps, _mm512_maskz_loadu_ps, _mm512_setzero_ps, _mm512_shuffle_f32x4,
    _mm512_shuffle_ps, _mm512_storeu_ps,
};

use crate::linalg::simd::Rung;

/// Rows of `a` in one AVX-512 tile.
const TILE: usize = 4;
/// `f32` lanes in one AVX-512 register.
const LANES: usize = 16;
/// Rows of `a` in one AVX2 tile.
const MR2: usize = 4;
/// Rows of `b` in one AVX2 tile.
const NR2: usize = 3;
/// `f32` lanes in one AVX2 register.
const LANES2: usize = 8;
/// Rows of `a` the kernels run through each tile column before moving on.
const ROW_BLOCK: usize = 64;

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
) -> bool {
    // (The macro checks the CPU; the pointers are this function's contract.)
    super::on_rung!(
        rung,
        sgemm_abt(m, k, n, alpha, a, lda, b, ldb, beta, c, rsc, csc)
    )
}

/// Stores one tile's sums: `c[i0+i, j0+j] = α·sums[i][j] + β·c[…]` for the rows and columns
/// inside `c` (an edge tile's repeated rows are dropped).
///
/// # Safety
/// `(i0, j0)` inside `c`, which is `m×n` with strides `rsc`, `csc`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn store_tile<const R: usize, const C: usize>(
    sums: [[f32; C]; R],
    (i0, j0): (usize, usize),
    (m, n): (usize, usize),
    alpha: f32,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) {
    for (i, row) in sums.iter().enumerate().take(m - i0) {
        for (j, &sum) in row.iter().enumerate().take(n - j0) {
            let offset = (i0 + i) as isize * rsc + (j0 + j) as isize * csc;
            // SAFETY: (i0 + i, j0 + j) is inside c.
            let cij = unsafe { &mut *c.offset(offset) };
            *cij = if beta == 0.0 {
                alpha * sum
            } else {
                alpha * sum + beta * *cij
            };
        }
    }
}

/// `c[i,j] = α·Σₚ a[i,p]·b[j,p] + β·c[i,j]` for `a: (m, k)` with row stride `lda`, `b: (n, k)`
/// with row stride `ldb` (both contiguous along `k`) and `c: (m, n)` with any strides. With
/// `β = 0`, `c` is only written, never read (it may hold NaN).
/// Returns `true`: it did the product (the portable rung's `sgemm_abt` declines, `false`).
///
/// # Safety
/// The CPU must have AVX-512F; the pointers and strides must describe valid matrices, with
/// `m, n, k ≥ 1`; `c` must not alias `a` or `b`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub unsafe fn sgemm_abt_avx512(
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
    if super::abt_outer::takes(alpha, k) {
        let (a, b, c) = (
            super::abt_outer::Operand { at: a, ld: lda },
            super::abt_outer::Operand { at: b, ld: ldb },
            super::abt_outer::Out { at: c, rsc, csc },
        );
        return unsafe { super::abt_outer::outer_avx512(m, k, n, a, b, beta, c) };
    }
    // Deep sums (784→256) take 4×6 tiles: 10 loads feed 24 multiply-adds instead of 8 feeding
    // 16, and the extra lane sums (two rounds of `transpose_sum` for 24 registers) are few
    // against 49 steps of `p`. Shallow ones (k ≤ 256) keep 4×4 tiles, whose lane sums are one
    // round for 16 registers (`benches/README.md`, fourth session). Every output is summed
    // the same way in either, so the bits do not depend on the tile.
    if k >= 512 {
        unsafe { abt_tiles::<6>(m, k, n, alpha, a, lda, b, ldb, beta, c, rsc, csc) }
    } else {
        unsafe { abt_tiles::<4>(m, k, n, alpha, a, lda, b, ldb, beta, c, rsc, csc) }
    }
    true
}

/// [`sgemm_abt_avx512`] in tiles of 4 rows of `a` by `NB` rows of `b`.
///
/// # Safety
/// As [`sgemm_abt_avx512`].
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn abt_tiles<const NB: usize>(
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
) {
    // Tile columns outer: one tile's rows of `b` stay in L1 while the rows of `a` stream past
    // them from L1/L2, so `W` is read from L2 or memory once per block of `ROW_BLOCK` rows of
    // `a` (once for a training batch), not once per four rows (`gemm_probe`: 256→784 89 → 75
    // µs, fourth session).
    for i_block in (0..m).step_by(ROW_BLOCK) {
        let i_end = (i_block + ROW_BLOCK).min(m);
        for j0 in (0..n).step_by(NB) {
            // An edge tile repeats its last row to fill all of its rows; the repeated sums are
            // not stored.
            // SAFETY (all pointer arithmetic below): indices stay below m, n and k.
            let b_rows: [*const f32; NB] =
                std::array::from_fn(|j| unsafe { b.add((j0 + j).min(n - 1) * ldb) });
            // The rows of `b` of the tile after next, fetched while the first tile of this
            // column runs, as the AVX2 kernel does: `W` comes from L3 in a training step.
            let next_rows: [*const f32; NB] =
                std::array::from_fn(|j| unsafe { b.add((j0 + 2 * NB + j).min(n - 1) * ldb) });
            for i0 in (i_block..i_end).step_by(TILE) {
                let a_rows: [*const f32; TILE] =
                    std::array::from_fn(|i| unsafe { a.add((i0 + i).min(i_end - 1) * lda) });
                // SAFETY: each row holds k floats.
                let sums = if i0 == i_block {
                    unsafe { tile_sums::<NB, true>(k, a_rows, b_rows, next_rows) }
                } else {
                    unsafe { tile_sums::<NB, false>(k, a_rows, b_rows, next_rows) }
                };
                // SAFETY: (i0, j0) is inside c.
                unsafe { store_tile(sums, (i0, j0), (i_end, n), alpha, beta, c, rsc, csc) };
            }
        }
    }
}

/// The `4·NB` dot products `a_rows[i] · b_rows[j]` over `k` floats.
///
/// # Safety
/// AVX-512F; each pointer starts `k` readable floats.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile_sums<const NB: usize, const PREFETCH: bool>(
    k: usize,
    a_rows: [*const f32; TILE],
    b_rows: [*const f32; NB],
    next_rows: [*const f32; NB],
) -> [[f32; NB]; TILE] {
    let mut acc: [[__m512; NB]; TILE] = [[_mm512_setzero_ps(); NB]; TILE];
    let mut p = 0;
    while p + LANES <= k {
        if PREFETCH {
            for row in next_rows {
                // SAFETY: a hint, never a fault; the address is inside the row anyway.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(row.add(p).cast::<i8>()) };
            }
        }
        // SAFETY: p + 16 ≤ k.
        let av: [__m512; TILE] =
            std::array::from_fn(|i| unsafe { _mm512_loadu_ps(a_rows[i].add(p)) });
        let bv: [__m512; NB] =
            std::array::from_fn(|j| unsafe { _mm512_loadu_ps(b_rows[j].add(p)) });
        for i in 0..TILE {
            for j in 0..NB {
                acc[i][j] = _mm512_fmadd_ps(av[i], bv[j], acc[i][j]);
            }
        }
        p += LANES;
    }
    if p < k {
        // The last k − p < 16 floats: a masked load reads only those and zeroes the other lanes.
        let mask = ((1u32 << (k - p)) - 1) as u16;
        // SAFETY: the mask keeps the loads inside the k floats.
        let bv: [__m512; NB] =
            std::array::from_fn(|j| unsafe { _mm512_maskz_loadu_ps(mask, b_rows[j].add(p)) });
        for i in 0..TILE {
            // SAFETY: the mask keeps the load inside the k floats.
            let av = unsafe { _mm512_maskz_loadu_ps(mask, a_rows[i].add(p)) };
            for j in 0..NB {
                acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
            }
        }
    }
    // Sixteen registers at a time (the last group padded with zeros, whose sums are dropped):
    // register r = NB·i + j is acc[i][j].
    let regs = TILE * NB;
    // (At most two groups: NB ≤ 8.)
    let mut sums = [[0.0; 16]; 2];
    for (g, group) in sums.iter_mut().enumerate().take(regs.div_ceil(16)) {
        let v: [__m512; 16] = std::array::from_fn(|q| {
            let r = 16 * g + q;
            if r < regs {
                acc[r / NB][r % NB]
            } else {
                _mm512_setzero_ps()
            }
        });
        *group = transpose_sum(v);
    }
    // transpose_sum leaves register q's sum in lane 4·(q mod 4) + q div 4.
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let r = NB * i + j;
            let q = r % 16;
            sums[r / 16][4 * (q % 4) + q / 4]
        })
    })
}

/// Adds up the sixteen lanes of each of the sixteen registers `v[q]` at once, in four
/// rounds of "shuffle two registers, add": 45 instructions where reducing each register on its
/// own takes about 130. Returns the sixteen sums, `v[q]`'s at index `4·(q mod 4) + q div 4`.
///
/// Each round halves the lanes holding a register's partial sums and doubles the registers
/// sharing one vector: 16 registers × 16 lanes → 8 × (2 × 8) → 4 × (4 × 4) → 2 × (8 × 2) →
/// 1 × (16 × 1). Lane `l` of a register always meets lane `l + 8`, then `l + 4`, `l + 2`,
/// `l + 1`: the same tree for every output.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose_sum(v: [__m512; 16]) -> [f32; 16] {
    // Round 1, 128-bit blocks 0,1 + 2,3: w[q] holds 8 lanes of v[2q] (blocks 0,1), of v[2q+1] (2,3).
    let w: [__m512; 8] = std::array::from_fn(|q| {
        let (a, b) = (v[2 * q], v[2 * q + 1]);
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x44>(a, b),
            _mm512_shuffle_f32x4::<0xEE>(a, b),
        )
    });
    // Round 2, blocks 0 + 1 of each: y[p]'s block k holds 4 lanes of v[4p + k].
    let y: [__m512; 4] = std::array::from_fn(|p| {
        let (a, b) = (w[2 * p], w[2 * p + 1]);
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x88>(a, b),
            _mm512_shuffle_f32x4::<0xDD>(a, b),
        )
    });
    // Round 3, lanes 0,1 + 2,3 within each block: u[r]'s block k holds 2 lanes of v[8r + k]
    // (lanes 0, 1) and of v[8r + 4 + k] (lanes 2, 3).
    let u: [__m512; 2] = std::array::from_fn(|r| {
        let (a, b) = (y[2 * r], y[2 * r + 1]);
        _mm512_add_ps(
            _mm512_shuffle_ps::<0x44>(a, b),
            _mm512_shuffle_ps::<0xEE>(a, b),
        )
    });
    // Round 4, lanes 0 + 1 and 2 + 3: block k holds the sums of v[k], v[4 + k], v[8 + k],
    // v[12 + k], so lane 4k + t holds v[4t + k]'s, which is acc[t][k]'s.
    let (a, b) = (u[0], u[1]);
    let s = _mm512_add_ps(
        _mm512_shuffle_ps::<0x88>(a, b),
        _mm512_shuffle_ps::<0xDD>(a, b),
    );
    let mut sums = [0.0; 16];
    // SAFETY: `sums` holds sixteen floats.
    unsafe { _mm512_storeu_ps(sums.as_mut_ptr(), s) };
    sums
}

/// [`sgemm_abt_avx512`] for AVX2 + FMA: tiles of 4 rows of `a` by 3 rows of `b`, 8-lane sums.
/// Each output's sum runs in the same order wherever its tile sits: lane `l` adds the products
/// at `k ≡ l mod 8` in order, then [`lane_sum`] adds the lanes in a fixed tree.
///
/// # Safety
/// The CPU must have AVX2 and FMA; otherwise as [`sgemm_abt_avx512`].
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sgemm_abt_avx2(
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
    if super::abt_outer::takes(alpha, k) {
        let (a, b, c) = (
            super::abt_outer::Operand { at: a, ld: lda },
            super::abt_outer::Operand { at: b, ld: ldb },
            super::abt_outer::Out { at: c, rsc, csc },
        );
        return unsafe { super::abt_outer::outer_avx2(m, k, n, a, b, beta, c) };
    }
    // Tile columns outer: one tile's rows of `b` (3 rows of `W`, 9 KB at k = 784) stay in L1
    // while the rows of `a` stream past them, so `W` is read from memory once per block of
    // rows of `a`; with the rows of `a` outer, all of `W` (800 KB for 784→256, more than a
    // Zen 3 L2) would be read again for every four rows of `a`. Blocks of `ROW_BLOCK` rows keep
    // the rows of `a` in L2 for large products (evaluation, features: 1024 rows of 784 floats
    // are 3.2 MB); a training batch is one block.
    for i_block in (0..m).step_by(ROW_BLOCK) {
        let i_end = (i_block + ROW_BLOCK).min(m);
        for j0 in (0..n).step_by(NR2) {
            // An edge tile repeats its last row; the repeated sums are not stored.
            // SAFETY (all pointer arithmetic below): indices stay below m, n and k.
            let b_rows: [*const f32; NR2] =
                std::array::from_fn(|j| unsafe { b.add((j0 + j).min(n - 1) * ldb) });
            // The rows of `b` of the tile after next, fetched while the first tile of this
            // column runs (the next one was fetched during the previous column):
            // `W` comes from L3 in a training step, and three short rows are too little for
            // the hardware prefetcher to find in time (`gemm_probe -- cold`).
            let next_rows: [*const f32; NR2] =
                std::array::from_fn(|j| unsafe { b.add((j0 + 2 * NR2 + j).min(n - 1) * ldb) });
            for i0 in (i_block..i_end).step_by(MR2) {
                let a_rows: [*const f32; MR2] =
                    std::array::from_fn(|i| unsafe { a.add((i0 + i).min(i_end - 1) * lda) });
                // SAFETY: each row holds k floats.
                let sums = if i0 == i_block {
                    unsafe { tile_sums_avx2::<true>(k, a_rows, b_rows, next_rows) }
                } else {
                    unsafe { tile_sums_avx2::<false>(k, a_rows, b_rows, next_rows) }
                };
                // SAFETY: (i0, j0) is inside c.
                unsafe { store_tile(sums, (i0, j0), (i_end, n), alpha, beta, c, rsc, csc) };
            }
        }
    }
    true
}

/// The twelve dot products `a_rows[i] · b_rows[j]` over `k` floats, 8 lanes at a time: 12
/// running sums, the 3 rows of `b` and one row of `a` at a time fill the 16 registers.
///
/// # Safety
/// AVX2 + FMA; each pointer starts `k` readable floats.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_sums_avx2<const PREFETCH: bool>(
    k: usize,
    a_rows: [*const f32; MR2],
    b_rows: [*const f32; NR2],
    next_rows: [*const f32; NR2],
) -> [[f32; NR2]; MR2] {
    const MR: usize = MR2;
    const NR: usize = NR2;
    let mut acc: [[__m256; NR]; MR] = [[_mm256_setzero_ps(); NR]; MR];
    let mut p = 0;
    while p + LANES2 <= k {
        if PREFETCH {
            for row in next_rows {
                // SAFETY: a hint, never a fault; the address is inside the row anyway.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(row.add(p).cast::<i8>()) };
            }
        }
        // SAFETY: p + 8 ≤ k.
        let bv: [__m256; NR] =
            std::array::from_fn(|j| unsafe { _mm256_loadu_ps(b_rows[j].add(p)) });
        for i in 0..MR {
            // SAFETY: p + 8 ≤ k.
            let av = unsafe { _mm256_loadu_ps(a_rows[i].add(p)) };
            for j in 0..NR {
                acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
            }
        }
        p += LANES2;
    }
    if p < k {
        // The last k − p < 8 floats: a masked load reads only those (lanes whose mask word has
        // its top bit set) and zeroes the others.
        let left = (k - p) as i32;
        let on = |l: i32| if l < left { -1 } else { 0 };
        let mask = _mm256_set_epi32(on(7), on(6), on(5), on(4), on(3), on(2), on(1), on(0));
        // SAFETY: the mask keeps the loads inside the k floats.
        let bv: [__m256; NR] =
            std::array::from_fn(|j| unsafe { _mm256_maskload_ps(b_rows[j].add(p), mask) });
        for i in 0..MR {
            // SAFETY: as above.
            let av = unsafe { _mm256_maskload_ps(a_rows[i].add(p), mask) };
            for j in 0..NR {
                acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
            }
        }
    }
    // The twelve lane sums, eight and four at a time (`lane_sums8`), as `lane_sum` adds them.
    let [r0, r1, r2, r3] = acc;
    let zero = _mm256_setzero_ps();
    let mut sums = [0.0_f32; 16];
    // SAFETY: 16 floats hold both stores.
    unsafe {
        _mm256_storeu_ps(
            sums.as_mut_ptr(),
            lane_sums8([r0[0], r0[1], r0[2], r1[0], r1[1], r1[2], r2[0], r2[1]]),
        );
        _mm256_storeu_ps(
            sums.as_mut_ptr().add(8),
            lane_sums8([r2[2], r3[0], r3[1], r3[2], zero, zero, zero, zero]),
        );
    }
    // `lane_sums8` gives register r's sum in lane LANE_OF[r].
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let r = i * NR + j;
            sums[(r / 8) * 8 + LANE_OF[r % 8]]
        })
    })
}

/// Where [`lane_sums8`] puts the sum of its `r`-th register.
const LANE_OF: [usize; 8] = [0, 4, 1, 5, 2, 6, 3, 7];

/// The lane sums of eight registers at once, each added in exactly [`lane_sum`]'s tree (lane
/// `l` meets `l + 4`, then `l + 2`, then `l + 1`), so the bits are the same; the sum of
/// register `r` lands in lane `LANE_OF[r]`. Seven additions and fourteen shuffles instead of
/// eight separate trees (about fifty instructions): at `k` = 128 or 256 a tile is only 16 or 32
/// steps long, so the reduction outside the inner loop is a large share of the kernel's time
/// (`benches/README.md`).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lane_sums8(v: [__m256; 8]) -> __m256 {
    // q = lane l + lane l+4, for two registers in one vector: [q(a) | q(b)]
    let q = |a: __m256, b: __m256| {
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(a, b),
            _mm256_permute2f128_ps::<0x31>(a, b),
        )
    };
    let (qab, qcd, qef, qgh) = (q(v[0], v[1]), q(v[2], v[3]), q(v[4], v[5]), q(v[6], v[7]));
    // p = q0 + q2, q1 + q3: [pa0 pa1 pc0 pc1 | pb0 pb1 pd0 pd1]
    let p = |x: __m256, y: __m256| {
        _mm256_add_ps(
            _mm256_shuffle_ps::<0b01_00_01_00>(x, y),
            _mm256_shuffle_ps::<0b11_10_11_10>(x, y),
        )
    };
    let (pabcd, pefgh) = (p(qab, qcd), p(qef, qgh));
    // p0 + p1: [a c e g | b d f h]
    _mm256_add_ps(
        _mm256_shuffle_ps::<0b10_00_10_00>(pabcd, pefgh),
        _mm256_shuffle_ps::<0b11_01_11_01>(pabcd, pefgh),
    )
}

/// The sum of a register's eight lanes, always in the same tree: lane `l` meets `l + 4`, then
/// `l + 2`, then `l + 1`. The reference for [`lane_sums8`], which the kernel uses (tested
/// against this one bit for bit).
#[cfg_attr(not(test), allow(dead_code))]
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lane_sum(v: __m256) -> f32 {
    let quad: __m128 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    let one = _mm_add_ss(pair, _mm_shuffle_ps::<0b01>(pair, pair));
    _mm_cvtss_f32(one)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// Each rung's kernel against the textbook sum, in `f64`, on shapes with edge tiles in
    /// both directions and `k` with and without a tail; and the same bits wherever a row sits.
    #[test]
    fn every_rung_matches_the_textbook_product() {
        for rung in super::super::rungs_under_test() {
            for (m, k, n) in [
                (1, 1, 1),
                (5, 7, 6),
                (7, 33, 9),
                (32, 784, 19),
                (13, 130, 4),
                // More rows than the AVX2 kernel's block of 64, ending inside a tile.
                (150, 37, 10),
            ] {
                let a: Vec<f32> = (0..m * k).map(|i| ((i as f32) * 0.37).sin()).collect();
                let b: Vec<f32> = (0..n * k).map(|i| ((i as f32) * 0.11).cos()).collect();
                let mut c = vec![f32::NAN; m * n];
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
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                };
                assert!(done, "{rung} kernel ran");
                for i in 0..m {
                    for j in 0..n {
                        let exact: f64 = (0..k)
                            .map(|p| a[i * k + p] as f64 * b[j * k + p] as f64)
                            .sum();
                        let err = (c[i * n + j] as f64 - exact).abs();
                        assert!(
                            err <= 1e-5 * k as f64,
                            "{rung} {m}×{k}×{n} at ({i},{j}): {err}"
                        );
                    }
                }
                // One row of a alone gives the same bits as inside its tile.
                let last = m - 1;
                let mut row = vec![0.0_f32; n];
                // SAFETY: one row of a, as above.
                unsafe {
                    sgemm_abt(
                        rung,
                        1,
                        k,
                        n,
                        1.0,
                        a[last * k..].as_ptr(),
                        k,
                        b.as_ptr(),
                        k,
                        0.0,
                        row.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                };
                assert!(
                    row == c[last * n..],
                    "{rung}: a row's bits depend on its tile"
                );
            }
        }
        // SAFETY: nothing is read or written on the portable rung.
        let done = unsafe {
            sgemm_abt(
                Rung::Portable,
                1,
                1,
                1,
                1.0,
                [1.0].as_ptr(),
                1,
                [1.0].as_ptr(),
                1,
                0.0,
                [0.0_f32].as_mut_ptr(),
                1,
                1,
            )
        };
        assert!(!done, "the portable rung leaves x·Wᵀ to matrixmultiply");
    }

    /// The AVX-512 kernel's 4×6 tiles (deep sums) give the bits of its 4×4 tiles: every output
    /// is summed the same way in either, so the tile chosen for `k` never shows in the bits.
    #[test]
    fn avx512_tiles_of_either_width_give_the_same_bits() {
        if !Rung::Avx512.supported() {
            eprintln!("not testing the AVX-512 tiles: this CPU lacks AVX-512F");
            return;
        }
        for (m, k, n) in [(32, 784, 19), (7, 600, 13), (33, 512, 6), (4, 17, 25)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i as f32) * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n * k).map(|i| ((i as f32) * 0.11).cos()).collect();
            let run = |wide: bool| {
                let mut c = vec![f32::NAN; m * n];
                let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
                // SAFETY: AVX-512F checked above; the buffers are m×k, n×k and m×n, row-major.
                unsafe {
                    if wide {
                        abt_tiles::<6>(m, k, n, 1.0, pa, k, pb, k, 0.0, pc, n as isize, 1)
                    } else {
                        abt_tiles::<4>(m, k, n, 1.0, pa, k, pb, k, 0.0, pc, n as isize, 1)
                    }
                }
                c.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            };
            assert!(
                run(true) == run(false),
                "{m}×{k}×{n}: 4×6 and 4×4 tiles differ"
            );
        }
    }

    /// Eight lane sums at once give the bits of eight [`lane_sum`]s, with large, tiny, signed
    /// and cancelling lanes (where the order of additions shows).
    #[test]
    fn lane_sums8_adds_as_lane_sum_does() {
        if !Rung::Avx2.supported() {
            eprintln!("not testing lane_sums8: this CPU lacks AVX2");
            return;
        }
        let mut s = 3_u32;
        let mut next = move || {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            let x = (s >> 8) as f32 / 16777216.0 - 0.5;
            x * [1.0, 1e8, 1e-8, 3.0][(s % 4) as usize]
        };
        for _ in 0..1000 {
            let lanes: [[f32; 8]; 8] = std::array::from_fn(|_| std::array::from_fn(|_| next()));
            // SAFETY: AVX2 is present (checked above); each array holds 8 floats.
            let (joint, one_by_one) = unsafe {
                let v: [__m256; 8] = std::array::from_fn(|r| _mm256_loadu_ps(lanes[r].as_ptr()));
                let mut joint = [0.0_f32; 8];
                _mm256_storeu_ps(joint.as_mut_ptr(), lane_sums8(v));
                (joint, v.map(|r| lane_sum(r)))
            };
            for r in 0..8 {
                assert_eq!(
                    joint[LANE_OF[r]].to_bits(),
                    one_by_one[r].to_bits(),
                    "{lanes:?}"
                );
            }
        }
    }
}
