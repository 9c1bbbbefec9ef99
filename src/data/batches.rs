//! Mini-batches: the epoch's visiting order, and the gather of a batch's pixels into a reused
//! `f32` buffer, normalised on the way.

use ndarray::Array2;

use crate::linalg::{elementwise, simd};

use crate::rand::Rng;
use crate::rand::seq::SliceRandom;

/// `(p/255 − 0.5)/0.5`, computed in `f32` in that order, as the reference script's
/// `ToTensor()` + `Normalize((0.5,), (0.5,))` do.
#[inline]
pub fn normalise(p: u8) -> f32 {
    (p as f32 / 255.0 - 0.5) / 0.5
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
/// width)`, [`normalise`]d on the way. Reallocates `batch` only when the batch size changes.
pub fn gather_normalised(pixels: &[u8], width: usize, indices: &[usize], batch: &mut Array2<f32>) {
    if batch.dim() != (indices.len(), width) {
        *batch = Array2::zeros((indices.len(), width));
    }
    // Plain slices, so the conversion and the two divisions vectorise (on the widest rung the
    // CPU has, `linalg::simd`); the same arithmetic as `normalise`, so the same bits.
    let rows = batch
        .as_slice_mut()
        .expect("batch buffers are standard layout");
    let rung = simd::rung();
    for (row, &i) in rows.chunks_exact_mut(width.max(1)).zip(indices) {
        elementwise::normalise_pixels(rung, row, &pixels[i * width..(i + 1) * width]);
    }
}

/// Asks the CPU to start loading rows `indices` of `data: (N, width)` into its L2 cache and
/// goes on without waiting. Called with the *next* batch's rows while this one trains, so its
/// gather then reads from cache: a shuffled batch is 32 rows scattered over 47 MB of images,
/// and gathering them straight from memory was 2.4 % of an autoencoder epoch's time, all of it
/// waiting on loads (perf). A hint only: no effect on any value, and none off x86-64.
pub fn prefetch_rows<T>(data: &[T], width: usize, indices: &[usize]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        const LINE: usize = 64;
        let row_bytes = width * size_of::<T>();
        for &i in indices {
            let Some(row) = data.get(i * width..(i + 1) * width) else {
                continue;
            };
            if row_bytes == 0 {
                continue;
            }
            // Every cache line the row touches, from the one holding its first byte.
            let start = row.as_ptr().cast::<i8>();
            let skew = start as usize % LINE;
            let first_line = start.wrapping_sub(skew);
            for line in 0..(skew + row_bytes).div_ceil(LINE) {
                // SAFETY: a prefetch only hints; it never faults, reads or writes anything.
                unsafe { _mm_prefetch::<_MM_HINT_T1>(first_line.wrapping_add(line * LINE)) };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, width, indices);
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
