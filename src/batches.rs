//! Examples and mini-batches: labelled images in memory, an epoch's visiting order, and the
//! gather of each batch's pixels into a reused `f32` buffer, normalised on the way.
//!
//! ```
//! use twostage::batches::{Batches, Examples};
//! let pixels = [0u8, 255, 128, 64, 32, 16]; // three "images" of two pixels
//! let examples = Examples { pixels: &pixels, labels: &[0, 1, 0], width: 2 };
//! let mut batches = Batches::new(2, false, 0);
//! batches.start_epoch(examples.len());
//! let batch = batches.next_images(examples).unwrap();
//! assert_eq!(batch.x.dim(), (2, 2));
//! assert_eq!(batch.x[[0, 1]], 1.0); // (255/255 − 0.5)/0.5
//! assert_eq!(batch.labels, &[0, 1]);
//! assert_eq!(batches.next_images(examples).unwrap().x.dim(), (1, 2)); // the partial last batch
//! assert!(batches.next_images(examples).is_none());
//! ```

use std::ops::Range;

use ndarray::{Array2, ArrayView2};

use crate::linalg::{elementwise, simd};

use ndarray_rand::rand::rngs::SmallRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::{Rng, SeedableRng};

/// Labelled images: `pixels` is `(len, width)` u8, row-major.
#[derive(Clone, Copy)]
pub struct Examples<'a> {
    /// `(len, width)` u8 pixels, row-major, one example after another.
    pub pixels: &'a [u8],
    /// `len` class labels.
    pub labels: &'a [u8],
    /// Pixels per example (784).
    pub width: usize,
}

impl<'a> Examples<'a> {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` examples (all of them if there are fewer).
    pub fn first(&self, n: usize) -> Examples<'a> {
        let n = n.min(self.len());
        Examples {
            pixels: &self.pixels[..n * self.width],
            labels: &self.labels[..n],
            width: self.width,
        }
    }
}

/// One mini-batch: `x: (B, width)` inputs and their class labels.
pub struct Batch<'a> {
    /// Normalised pixels `(B, 784)`, or stage-1 features `(B, 128)` in stage 2.
    pub x: ArrayView2<'a, f32>,
    /// `B` class indices.
    pub labels: &'a [usize],
}

/// The batches of an epoch: its visiting order (shuffled by a seeded RNG that carries on from
/// epoch to epoch and stage to stage) and the buffers each batch is gathered into, reused from
/// batch to batch. Read an epoch as `batches.start_epoch(n); while let Some(batch) =
/// batches.next_images(examples) { … }`.
pub struct Batches {
    order: Vec<usize>,
    rng: SmallRng,
    batch_size: usize,
    shuffle: bool,
    /// Where the next batch starts in `order`.
    position: usize,
    inputs: Array2<f32>,
    labels: Vec<usize>,
}

impl Batches {
    /// Batches of `batch_size` (the last one may be smaller), shuffled by `seed` if `shuffle`.
    pub fn new(batch_size: usize, shuffle: bool, seed: u64) -> Batches {
        Batches {
            order: Vec::new(),
            rng: SmallRng::seed_from_u64(seed),
            batch_size: batch_size.max(1),
            shuffle,
            position: 0,
            inputs: Array2::zeros((0, 0)),
            labels: Vec::new(),
        }
    }

    /// Batches in an epoch over `n` examples.
    pub fn per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.batch_size)
    }

    /// Begins an epoch over `n` examples: a new visiting order.
    pub fn start_epoch(&mut self, n: usize) {
        epoch_order(&mut self.order, n, self.shuffle, &mut self.rng);
        self.position = 0;
    }

    /// Where, in the visiting order, the next batch and the one after it are (the latter
    /// empty at the end); moves past the next batch.
    fn advance(&mut self) -> Option<(Range<usize>, Range<usize>)> {
        let start = self.position;
        if start >= self.order.len() {
            return None;
        }
        let end = (start + self.batch_size).min(self.order.len());
        let after = (end + self.batch_size).min(self.order.len());
        self.position = end;
        Some((start..end, end..after))
    }

    /// The next batch of `examples`, pixels normalised, or `None` when the epoch is done. The
    /// next batch's pixels are requested into cache meanwhile.
    pub fn next_images(&mut self, examples: Examples) -> Option<Batch<'_>> {
        let (this, next) = self.advance()?;
        let (indices, next) = (&self.order[this], &self.order[next]);
        gather_normalised(examples.pixels, examples.width, indices, &mut self.inputs);
        gather_labels(examples.labels, indices, &mut self.labels);
        prefetch_rows(examples.pixels, examples.width, next);
        Some(Batch {
            x: self.inputs.view(),
            labels: &self.labels,
        })
    }

    /// The next batch of rows of `features: (N, width)` and their `labels`, or `None` when the
    /// epoch is done.
    pub fn next_rows(&mut self, features: &Array2<f32>, labels: &[u8]) -> Option<Batch<'_>> {
        let (this, next) = self.advance()?;
        let (indices, next) = (&self.order[this], &self.order[next]);
        gather_rows(features, indices, &mut self.inputs);
        gather_labels(labels, indices, &mut self.labels);
        if let Some(features_slice) = features.as_slice() {
            prefetch_rows(features_slice, features.ncols(), next);
        }
        Some(Batch {
            x: self.inputs.view(),
            labels: &self.labels,
        })
    }
}

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
/// and gathering them straight from memory showed in `perf` as a share of the epoch spent
/// waiting on loads. A hint only: no effect on any value, and none off x86-64.
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
