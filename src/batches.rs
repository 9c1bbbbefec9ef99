//! Examples and mini-batches: data sets in memory ([`Dataset`]: labelled u8 images
//! ([`Examples`]), float inputs with regression targets ([`Regression`]) or class labels
//! ([`Classification`])), an epoch's visiting order ([`Batches`], [`Order`]), and the gather
//! of each batch into a reused buffer ([`Batch`]).
//!
//! ```
//! use twostage::batches::{Batch, Batches, Examples, Order};
//! let pixels = [0u8, 255, 128, 64, 32, 16]; // three "images" of two pixels
//! let examples = Examples { pixels: &pixels, labels: &[0, 1, 0], width: 2 };
//! let mut batches = Batches::new(2, Order::AsGiven);
//! let mut batch = Batch::default(); // the buffers, reused from batch to batch
//! batches.start_epoch(examples.len());
//! let b = batches.next(&examples, &mut batch).unwrap();
//! assert_eq!(b.x.dim(), (2, 2));
//! assert_eq!(b.x[[0, 1]], 1.0); // (255/255 − 0.5)/0.5
//! assert_eq!(b.targets, [0, 1]);
//! assert_eq!(batches.next(&examples, &mut batch).unwrap().x.dim(), (1, 2)); // the partial last batch
//! assert!(batches.next(&examples, &mut batch).is_none());
//! ```
//!
//! Labels: a data set stores them as it likes (`u8`, one byte a label, as IDX files do;
//! `usize`), and a batch holds them as `usize` class indices, the one type the loss
//! ([`crate::nn::SoftmaxCrossEntropy`]) takes: an index is what a label is used as.

use std::ops::Range;

use ndarray::{Array2, ArrayView2};

use crate::linalg::{Scalar, elementwise, simd};
use crate::nn::InputAsTarget;

use ndarray_rand::rand::rngs::SmallRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::{Rng, SeedableRng};

/// Labelled images: `pixels` is `(len, width)` u8, row-major. As a [`Dataset`], its inputs are
/// the pixels [`normalise`]d to `[−1, 1]` and its targets the labels.
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

/// A training set in memory, as the loop ([`crate::train::fit()`]) draws batches from it: inputs
/// and targets gathered by example index into buffers reused from batch to batch.
pub trait Dataset<T: Scalar>: Sync {
    /// A batch's targets: `Vec<usize>` class labels, `Array2<T>` regression targets, or
    /// [`InputAsTarget`] (the inputs themselves).
    type Targets: Default + Send + Sync;

    /// Number of examples.
    fn len(&self) -> usize;

    /// True if there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `x ← inputs[indices]: (indices.len(), width)`, reshaped only when the batch size changes.
    fn gather_inputs(&self, indices: &[usize], x: &mut Array2<T>);

    /// `targets ← targets[indices]`.
    fn gather_targets(&self, indices: &[usize], targets: &mut Self::Targets);

    /// A hint that `indices` come next, so their rows can be on their way into cache.
    fn prefetch(&self, _indices: &[usize]) {}
}

impl Dataset<f32> for Examples<'_> {
    type Targets = Vec<usize>;
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn gather_inputs(&self, indices: &[usize], x: &mut Array2<f32>) {
        gather_normalised(self.pixels, self.width, indices, x);
    }
    fn gather_targets(&self, indices: &[usize], targets: &mut Vec<usize>) {
        gather_labels(self.labels, indices, targets);
    }
    fn prefetch(&self, indices: &[usize]) {
        prefetch_rows(self.pixels, self.width, indices);
    }
}

/// Float inputs with float targets, for regression: `inputs: (N, in)`, `targets: (N, out)`.
#[derive(Clone, Copy)]
pub struct Regression<'a, T> {
    /// `x: (N, in)`.
    pub inputs: ArrayView2<'a, T>,
    /// `y: (N, out)`.
    pub targets: ArrayView2<'a, T>,
}

impl<T: Scalar + Default> Dataset<T> for Regression<'_, T> {
    type Targets = Array2<T>;
    fn len(&self) -> usize {
        self.inputs.nrows()
    }
    fn gather_inputs(&self, indices: &[usize], x: &mut Array2<T>) {
        gather_rows(self.inputs, indices, x);
    }
    fn gather_targets(&self, indices: &[usize], targets: &mut Array2<T>) {
        gather_rows(self.targets, indices, targets);
    }
}

/// Float inputs with class labels: `inputs: (N, in)`, `labels: (N,)`, stored as `u8` or
/// `usize` (anything that converts to a class index).
#[derive(Clone, Copy)]
pub struct Classification<'a, T, L = usize> {
    /// `x: (N, in)`.
    pub inputs: ArrayView2<'a, T>,
    /// `N` class labels.
    pub labels: &'a [L],
}

impl<T: Scalar, L: Copy + Into<usize> + Sync> Dataset<T> for Classification<'_, T, L> {
    type Targets = Vec<usize>;
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn gather_inputs(&self, indices: &[usize], x: &mut Array2<T>) {
        gather_rows(self.inputs, indices, x);
    }
    fn gather_targets(&self, indices: &[usize], targets: &mut Vec<usize>) {
        gather_labels(self.labels, indices, targets);
    }
    fn prefetch(&self, indices: &[usize]) {
        if let Some(inputs) = self.inputs.as_slice() {
            prefetch_rows(inputs, self.inputs.ncols(), indices);
        }
    }
}

/// A data set's inputs alone, each its own target: what an autoencoder learns to reconstruct.
#[derive(Clone, Copy)]
pub struct Reconstruct<D>(pub D);

impl<T: Scalar, D: Dataset<T>> Dataset<T> for Reconstruct<D> {
    type Targets = InputAsTarget;
    fn len(&self) -> usize {
        self.0.len()
    }
    fn gather_inputs(&self, indices: &[usize], x: &mut Array2<T>) {
        self.0.gather_inputs(indices, x);
    }
    fn gather_targets(&self, _indices: &[usize], _targets: &mut InputAsTarget) {}
    fn prefetch(&self, indices: &[usize]) {
        self.0.prefetch(indices);
    }
}

/// One mini-batch, `x: (B, in)` and its targets: buffers filled by [`Batches::next`] and
/// reused from batch to batch.
pub struct Batch<T, Y> {
    /// The inputs `(B, in)`: normalised pixels `(B, 784)`, or stage-1 features `(B, 128)`.
    pub x: Array2<T>,
    /// The `B` targets.
    pub targets: Y,
}

impl<T: Scalar, Y: Default> Default for Batch<T, Y> {
    /// Empty buffers, shaped by the first batch.
    fn default() -> Self {
        Batch {
            x: Array2::zeros((0, 0)),
            targets: Y::default(),
        }
    }
}

/// In which order an epoch visits the examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// A new random order each epoch, drawn from a generator seeded once with `seed`.
    Shuffled {
        /// Seeds the generator.
        seed: u64,
    },
    /// `0, 1, …, n−1`, every epoch.
    AsGiven,
}

/// The batches of an epoch: its visiting order (shuffled by a seeded RNG that carries on from
/// epoch to epoch and stage to stage) and where the next batch starts. Read an epoch as
/// `batches.start_epoch(n); while let Some(batch) = batches.next(&data, &mut buffer) { … }`.
pub struct Batches {
    order: Vec<usize>,
    rng: SmallRng,
    batch_size: usize,
    shuffle: bool,
    /// Where the next batch starts in `order`.
    position: usize,
}

impl Batches {
    /// Batches of `batch_size` (the last one may be smaller), visited in `order`.
    pub fn new(batch_size: usize, order: Order) -> Batches {
        let (shuffle, seed) = match order {
            Order::Shuffled { seed } => (true, seed),
            Order::AsGiven => (false, 0),
        };
        Batches {
            order: Vec::new(),
            rng: SmallRng::seed_from_u64(seed),
            batch_size: batch_size.max(1),
            shuffle,
            position: 0,
        }
    }

    /// Examples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
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
        // Saturating: a batch size near usize::MAX means one batch of everything.
        let end = start.saturating_add(self.batch_size).min(self.order.len());
        let after = end.saturating_add(self.batch_size).min(self.order.len());
        self.position = end;
        Some((start..end, end..after))
    }

    /// The next batch of `data` gathered into `batch`, or `None` when the epoch is done. The
    /// batch after it is prefetched meanwhile.
    pub fn next<'b, T: Scalar, D: Dataset<T>>(
        &mut self,
        data: &D,
        batch: &'b mut Batch<T, D::Targets>,
    ) -> Option<&'b Batch<T, D::Targets>> {
        let (this, next) = self.advance()?;
        let (indices, next) = (&self.order[this], &self.order[next]);
        data.gather_inputs(indices, &mut batch.x);
        data.gather_targets(indices, &mut batch.targets);
        data.prefetch(next);
        Some(batch)
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
        *batch = crate::linalg::aligned::zeros((indices.len(), width));
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
pub fn gather_rows<T: Scalar>(features: ArrayView2<T>, indices: &[usize], batch: &mut Array2<T>) {
    let width = features.ncols();
    if batch.dim() != (indices.len(), width) {
        *batch = crate::linalg::aligned::zeros((indices.len(), width));
    }
    for (mut row, &i) in batch.rows_mut().into_iter().zip(indices) {
        row.assign(&features.row(i));
    }
}

/// Labels of `indices`, as class indices.
pub fn gather_labels<L: Copy + Into<usize>>(
    labels: &[L],
    indices: &[usize],
    batch: &mut Vec<usize>,
) {
    batch.clear();
    batch.extend(indices.iter().map(|&i| labels[i].into()));
}
