//! `c = α·a·bᵀ + β·c` when `a: (m, k)` and `b: (n, k)` are both stored row by row: a layer's
//! forward product `x·Wᵀ`, with `W` kept `(out, in)` like PyTorch.
//!
//! Why a kernel of its own: matrixmultiply first copies ("packs") `bᵀ` into panels sixteen
//! columns wide. For `Wᵀ` those columns are `W`'s rows, so the copy gathers one float at a time
//! from sixteen rows, and at batch 32 that gather costs as much as the multiply-adds it
//! feeds (README, Performance). Here every output is a dot product of two contiguous rows, so
//! nothing needs packing: a 4×4 tile of outputs keeps sixteen running sums of sixteen lanes
//! each, walks the four rows of `a` and the four rows of `b` once, sixteen floats at a time, and
//! adds up the lanes at the end.
//!
//! Each output's sum runs in the same order wherever its tile sits (lane `l` adds the products at
//! `k ≡ l mod 16` in order, then the lanes are added in a fixed tree), so cutting `c` into blocks
//! across threads leaves every bit unchanged, as it does for matrixmultiply.
//!
//! AVX-512F only, checked at run time; elsewhere the caller falls back to matrixmultiply.

// Off x86-64 only `available` (always false) is compiled in.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
    _mm512_setzero_ps, _mm512_shuffle_f32x4, _mm512_shuffle_ps, _mm512_storeu_ps,
};

/// Rows of `a` (and of `b`) in one tile.
const TILE: usize = 4;
/// `f32` lanes in one AVX-512 register.
const LANES: usize = 16;

/// Whether this CPU can run [`sgemm_abt`].
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `c[i,j] = α·Σₚ a[i,p]·b[j,p] + β·c[i,j]` for `a: (m, k)` with row stride `lda`, `b: (n, k)`
/// with row stride `ldb` (both contiguous along `k`) and `c: (m, n)` with any strides. With
/// `β = 0`, `c` is only written, never read (it may hold NaN).
///
/// # Safety
/// [`available`] must be true; the pointers and strides must describe valid matrices, with
/// `m, n, k ≥ 1`; `c` must not alias `a` or `b`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
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
) {
    for i0 in (0..m).step_by(TILE) {
        // An edge tile repeats its last row to fill all four; the repeated sums are not stored.
        // SAFETY (all pointer arithmetic below): indices stay below m, n and k.
        let a_rows: [*const f32; TILE] =
            std::array::from_fn(|i| unsafe { a.add((i0 + i).min(m - 1) * lda) });
        for j0 in (0..n).step_by(TILE) {
            let b_rows: [*const f32; TILE] =
                std::array::from_fn(|j| unsafe { b.add((j0 + j).min(n - 1) * ldb) });
            // SAFETY: each row holds k floats.
            let sums = unsafe { tile_sums(k, a_rows, b_rows) };
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
    }
}

/// The sixteen dot products `a_rows[i] · b_rows[j]` over `k` floats.
///
/// # Safety
/// AVX-512F; each pointer starts `k` readable floats.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile_sums(
    k: usize,
    a_rows: [*const f32; TILE],
    b_rows: [*const f32; TILE],
) -> [[f32; TILE]; TILE] {
    let mut acc: [[__m512; TILE]; TILE] = [[_mm512_setzero_ps(); TILE]; TILE];
    let mut p = 0;
    while p + LANES <= k {
        // SAFETY: p + 16 ≤ k.
        let av: [__m512; TILE] =
            std::array::from_fn(|i| unsafe { _mm512_loadu_ps(a_rows[i].add(p)) });
        let bv: [__m512; TILE] =
            std::array::from_fn(|j| unsafe { _mm512_loadu_ps(b_rows[j].add(p)) });
        for i in 0..TILE {
            for j in 0..TILE {
                acc[i][j] = _mm512_fmadd_ps(av[i], bv[j], acc[i][j]);
            }
        }
        p += LANES;
    }
    if p < k {
        // The last k − p < 16 floats: a masked load reads only those and zeroes the other lanes.
        let mask = ((1u32 << (k - p)) - 1) as u16;
        // SAFETY: the mask keeps the loads inside the k floats.
        let av: [__m512; TILE] =
            std::array::from_fn(|i| unsafe { _mm512_maskz_loadu_ps(mask, a_rows[i].add(p)) });
        let bv: [__m512; TILE] =
            std::array::from_fn(|j| unsafe { _mm512_maskz_loadu_ps(mask, b_rows[j].add(p)) });
        for i in 0..TILE {
            for j in 0..TILE {
                acc[i][j] = _mm512_fmadd_ps(av[i], bv[j], acc[i][j]);
            }
        }
    }
    let sums = transpose_sum(acc);
    std::array::from_fn(|i| std::array::from_fn(|j| sums[TILE * j + i]))
}

/// Adds up the sixteen lanes of each of the sixteen registers `acc[i][j]` at once, in four
/// rounds of "shuffle two registers, add": 45 instructions where reducing each register on its
/// own takes about 130. Returns the sixteen sums, `acc[i][j]`'s at index `4j + i`.
///
/// Each round halves the lanes holding a register's partial sums and doubles the registers
/// sharing one vector: 16 registers × 16 lanes → 8 × (2 × 8) → 4 × (4 × 4) → 2 × (8 × 2) →
/// 1 × (16 × 1). Lane `l` of a register always meets lane `l + 8`, then `l + 4`, `l + 2`,
/// `l + 1`: the same tree for every output.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose_sum(acc: [[__m512; TILE]; TILE]) -> [f32; TILE * TILE] {
    // Registers in the order r = 4i + j.
    let v: [__m512; 16] = std::array::from_fn(|r| acc[r / TILE][r % TILE]);
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
    let mut sums = [0.0; TILE * TILE];
    // SAFETY: `sums` holds sixteen floats.
    unsafe { _mm512_storeu_ps(sums.as_mut_ptr(), s) };
    sums
}
