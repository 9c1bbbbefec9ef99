//! Mini-batches: the epoch's visiting order, and the gather of a batch's pixels into a reused
//! `f32` buffer, normalised on the way.

use ndarray::Array2;

use crate::rand::Rng;
use crate::rand::seq::SliceRandom;

/// `(p/255 − 0.5)/0.5` for every byte value, computed in `f32` in that order, as the reference
/// script's `ToTensor()` + `Normalize((0.5,), (0.5,))` do. A table lookup per pixel.
pub fn normalisation_table() -> [f32; 256] {
    std::array::from_fn(|p| (p as f32 / 255.0 - 0.5) / 0.5)
}

/// The order in which an epoch visits `n` examples: shuffled by `rng`, or `0..n`.
pub fn epoch_order(order: &mut Vec<usize>, n: usize, shuffle: bool, rng: &mut impl Rng) {
    order.clear();
    order.extend(0..n);
    if shuffle {
        order.shuffle(rng);
    }
}

/// Copies rows `indices` of `pixels` (`(N, width)` u8, row-major) into `batch: (indices.len(),
/// width)`, normalised through `table`. Reallocates `batch` only when the batch size changes.
pub fn gather_normalised(
    pixels: &[u8],
    width: usize,
    indices: &[usize],
    table: &[f32; 256],
    batch: &mut Array2<f32>,
) {
    if batch.dim() != (indices.len(), width) {
        *batch = Array2::zeros((indices.len(), width));
    }
    for (mut row, &i) in batch.rows_mut().into_iter().zip(indices) {
        let source = &pixels[i * width..(i + 1) * width];
        for (x, &p) in row.iter_mut().zip(source) {
            *x = table[p as usize];
        }
    }
}

/// Copies rows `indices` of `features: (N, width)` into `batch: (indices.len(), width)`.
pub fn gather_rows(features: &Array2<f32>, indices: &[usize], batch: &mut Array2<f32>) {
    let width = features.ncols();
    if batch.dim() != (indices.len(), width) {
        *batch = Array2::zeros((indices.len(), width));
    }
    for (mut row, &i) in batch.rows_mut().into_iter().zip(indices) {
        row.assign(&features.row(i));
    }
}

/// Labels of `indices`, as class indices.
pub fn gather_labels(labels: &[u8], indices: &[usize], batch: &mut Vec<usize>) {
    batch.clear();
    batch.extend(indices.iter().map(|&i| labels[i] as usize));
}
