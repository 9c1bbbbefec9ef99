//! The element-wise passes of a training step, on plain slices, on every rung of the ladder
//! (`linalg/simd.rs`): ReLU and its mask, the MSE's difference, scale and sum of squares, the
//! bias gradient's row sums, and the pixel normalisation.
//!
//! Each body is the textbook loop (`linalg/kernels/portable.rs`); the AVX2 and AVX-512 modules
//! compile it again so the auto-vectoriser fills wider registers, and `rung` picks the copy.
//! Nothing here depends on the vector width (the sum of squares fixes its own eight running
//! sums), so every rung gives the same bits, which the tests below check against the formulas
//! written out element by element.
//!
//! Each function hands its slices to the entry point of `T` ([`Scalar::KERNELS`]), compiled in
//! this crate, so the loops run optimised even when the caller is a debug build.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::Scalar;
use super::kernels::on_rung;
use super::simd::{self, Rung};

/// `y = max(x, 0)`, with `max(NaN, 0) = 0`.
pub fn relu<T: Scalar>(rung: Rung, y: &mut [T], x: &[T]) {
    (T::KERNELS.relu)(rung, y, x)
}

/// `dx = dy` where `y > 0`, else 0 (ReLU's backward from its output).
pub fn relu_mask<T: Scalar>(rung: Rung, dx: &mut [T], dy: &[T], y: &[T]) {
    (T::KERNELS.relu_mask)(rung, dx, dy, y)
}

/// `y = x` (a layer caching its input, a bias broadcast over rows): a copy that runs optimised
/// even in a caller's debug build, where ndarray's generic `assign` would not.
pub fn copy<T: Scalar>(rung: Rung, y: &mut [T], x: &[T]) {
    (T::KERNELS.copy)(rung, y, x)
}

/// Every row of `y` (a `(B, n)` matrix stored row by row, `n = row.len()`) `= row`: a bias
/// broadcast over a batch, in one call rather than one per row.
pub fn fill_rows<T: Scalar>(rung: Rung, y: &mut [T], row: &[T]) {
    (T::KERNELS.fill_rows)(rung, y, row)
}

/// `acc += x[r]` for each row `r` of `x` (a `(B, n)` matrix stored row by row,
/// `n = acc.len()`), in row order: a bias gradient `db += Σ_b dy`, the same bits as one
/// [`add_assign`] per row.
pub fn add_rows<T: Scalar>(rung: Rung, acc: &mut [T], x: &[T]) {
    (T::KERNELS.add_rows)(rung, acc, x)
}

/// `d = p − t`.
pub fn difference<T: Scalar>(rung: Rung, d: &mut [T], p: &[T], t: &[T]) {
    (T::KERNELS.difference)(rung, d, p, t)
}

/// `g = s·d`.
pub fn scaled<T: Scalar>(rung: Rung, g: &mut [T], s: T, d: &[T]) {
    (T::KERNELS.scaled)(rung, g, s, d)
}

/// `acc += x`.
pub fn add_assign<T: Scalar>(rung: Rung, acc: &mut [T], x: &[T]) {
    (T::KERNELS.add_assign)(rung, acc, x)
}

/// `Σ x²`, each square rounded in `T`, accumulated in `f64` in eight running sums (lane `l`
/// takes the elements at `i ≡ l mod 8` of the leading multiple of 8, in order), added up lane 0
/// to 7, then the remainder.
pub fn sum_of_squares<T: Scalar>(rung: Rung, values: &[T]) -> f64 {
    (T::KERNELS.sum_of_squares)(rung, values)
}

/// `x = (p/255 − 0.5)/0.5` for each pixel, in `f32` in that order, as the reference script's
/// `ToTensor()` + `Normalize((0.5,), (0.5,))` do.
#[inline(never)]
pub fn normalise_pixels(rung: Rung, x: &mut [f32], pixels: &[u8]) {
    on_rung!(rung, normalise_pixels(x, pixels))
}

/// `y = x` for same-shaped matrices, on the current rung: [`copy`] when both are stored row by
/// row, ndarray's `assign` otherwise (a transposed or strided view).
pub fn assign_rows<T: Scalar>(y: &mut Array2<T>, x: ArrayView2<T>) {
    match (y.as_slice_mut(), x.as_slice()) {
        (Some(y), Some(x)) => copy(simd::rung(), y, x),
        _ => y.assign(&x),
    }
}

/// Every row of `y: (B, n)` `= row: (n,)` (a bias broadcast), on the current rung.
pub fn broadcast_rows<T: Scalar>(y: &mut Array2<T>, row: &Array1<T>) {
    match (y.as_slice_mut(), row.as_slice()) {
        (Some(y), Some(row)) => fill_rows(simd::rung(), y, row),
        _ => y.rows_mut().into_iter().for_each(|mut r| r.assign(row)),
    }
}

/// `acc: (n,) += Σ_b x[b]` over the rows of `x: (B, n)` in row order (a bias gradient), on the
/// current rung; the same bits whichever way `x` is stored.
pub fn add_row_sums<T: Scalar>(acc: &mut Array1<T>, x: ArrayView2<T>) {
    match (acc.as_slice_mut(), x.as_slice()) {
        (Some(acc), Some(x)) => add_rows(simd::rung(), acc, x),
        _ => x.axis_iter(Axis(0)).for_each(|row| *acc += &row),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Awkward lengths: empty, shorter than a vector, not a multiple of 8 or 16.
    const LENGTHS: [usize; 6] = [0, 1, 7, 16, 37, 1000];

    fn wave(n: usize, k: f32) -> Vec<f32> {
        // Values of both signs, exact zeros every 5th element, and a NaN.
        let mut v: Vec<f32> = (0..n)
            .map(|i| {
                if i % 5 == 0 {
                    0.0
                } else {
                    ((i as f32) * k).sin() * 3.0
                }
            })
            .collect();
        if n > 3 {
            v[3] = f32::NAN;
        }
        v
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn every_pass_matches_its_formula_on_every_rung() {
        let rungs = Rung::supported_rungs();
        assert!(rungs.contains(&Rung::Portable));
        for rung in rungs {
            for n in LENGTHS {
                let (x, dy) = (wave(n, 0.37), wave(n, 0.11));
                let mut out = vec![7.0_f32; n];

                relu(rung, &mut out, &x);
                let want: Vec<f32> = x.iter().map(|&x| if x > 0.0 { x } else { 0.0 }).collect();
                assert_eq!(bits(&out), bits(&want), "relu {rung} n={n}");
                assert!(n < 5 || out.iter().any(|&v| v > 0.0) && out.contains(&0.0));

                let y = want;
                relu_mask(rung, &mut out, &dy, &y);
                let want: Vec<f32> = (0..n)
                    .map(|i| if y[i] > 0.0 { dy[i] } else { 0.0 })
                    .collect();
                assert_eq!(bits(&out), bits(&want), "relu_mask {rung} n={n}");

                copy(rung, &mut out, &dy);
                assert_eq!(bits(&out), bits(&dy), "copy {rung} n={n}");

                // Rows of 4 (the leading multiple of 4 of n), the textbook way and in one call.
                let (width, rows) = (4, n / 4);
                let row: Vec<f32> = x.iter().copied().take(width).collect();
                if row.len() == width {
                    let mut filled = vec![0.0_f32; rows * width];
                    fill_rows(rung, &mut filled, &row);
                    let want: Vec<f32> = (0..rows * width).map(|i| row[i % width]).collect();
                    assert_eq!(bits(&filled), bits(&want), "fill_rows {rung} n={n}");
                    let (mut acc, mut want) = (row.clone(), row.clone());
                    add_rows(rung, &mut acc, &dy[..rows * width]);
                    for r in 0..rows {
                        for j in 0..width {
                            want[j] += dy[r * width + j];
                        }
                    }
                    assert_eq!(bits(&acc), bits(&want), "add_rows {rung} n={n}");
                }

                difference(rung, &mut out, &x, &dy);
                let want: Vec<f32> = (0..n).map(|i| x[i] - dy[i]).collect();
                assert_eq!(bits(&out), bits(&want), "difference {rung} n={n}");

                scaled(rung, &mut out, 0.3, &x);
                let want: Vec<f32> = x.iter().map(|&x| 0.3 * x).collect();
                assert_eq!(bits(&out), bits(&want), "scaled {rung} n={n}");

                let mut acc = dy.clone();
                add_assign(rung, &mut acc, &x);
                let want: Vec<f32> = (0..n).map(|i| dy[i] + x[i]).collect();
                assert_eq!(bits(&acc), bits(&want), "add_assign {rung} n={n}");

                let finite: Vec<f32> = x
                    .iter()
                    .map(|&v| if v.is_nan() { 1.5 } else { v })
                    .collect();
                let mut lanes = [0.0_f64; 8];
                let whole = n / 8 * 8;
                for (i, &v) in finite[..whole].iter().enumerate() {
                    lanes[i % 8] += (v * v) as f64;
                }
                let mut want = 0.0;
                for lane in lanes {
                    want += lane;
                }
                let mut rest = 0.0;
                for &v in &finite[whole..] {
                    rest += (v * v) as f64;
                }
                want += rest;
                let got = sum_of_squares(rung, &finite);
                assert_eq!(got.to_bits(), want.to_bits(), "sum_of_squares {rung} n={n}");

                let pixels: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
                normalise_pixels(rung, &mut out, &pixels);
                let want: Vec<f32> = pixels
                    .iter()
                    .map(|&p| (p as f32 / 255.0 - 0.5) / 0.5)
                    .collect();
                assert_eq!(bits(&out), bits(&want), "normalise_pixels {rung} n={n}");
            }
        }
    }

    #[test]
    fn normalisation_spans_minus_one_to_one() {
        let mut out = [0.0_f32; 2];
        normalise_pixels(super::super::simd::rung(), &mut out, &[0, 255]);
        assert_eq!(out, [-1.0, 1.0]);
    }
}
