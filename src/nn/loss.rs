//! Losses, each a `forward` that returns the scalar and caches what its `backward` needs,
//! and a `backward` that returns the gradient with respect to the prediction; [`Loss`], the
//! same two as the training loop ([`crate::train::fit()`]) calls them, against a batch's targets.

use ndarray::{Array2, ArrayView2};

use super::{elements, elements_mut, ensure_shape};
use crate::batches::Batch;
use crate::error::Error;
use crate::linalg::{Scalar, elementwise, simd};

/// A loss as the training loop sees it: the prediction against the targets of a [`Batch`],
/// whose type `Y` says what the targets are (`Vec<usize>` class labels, `Array2<T>`
/// regression targets, or [`InputAsTarget`], the batch's own inputs).
pub trait Loss<T: Scalar, Y> {
    /// `prediction: (B, n)` against `batch`'s targets → the mean loss; caches for `backward`.
    ///
    /// # Errors
    /// When the targets are bad data, e.g. a label that is not a class ([`Error::Label`]).
    fn forward(&mut self, prediction: ArrayView2<T>, batch: &Batch<T, Y>) -> Result<T, Error>;

    /// `dL/dprediction: (B, n)` of the last forward.
    fn backward(&mut self) -> ArrayView2<'_, T>;
}

/// The targets of an autoencoder: the batch's inputs themselves (nothing is gathered twice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputAsTarget;

/// Targets an [`MseLoss`] compares against: a batch's regression targets (`Array2<T>`), or its
/// inputs ([`InputAsTarget`]).
pub trait RegressionTargets<T>: Sized {
    /// `y: (B, n)` of `batch`.
    fn of(batch: &Batch<T, Self>) -> ArrayView2<'_, T>;
}

impl<T: Scalar> RegressionTargets<T> for Array2<T> {
    fn of(batch: &Batch<T, Self>) -> ArrayView2<'_, T> {
        batch.targets.view()
    }
}

impl<T: Scalar> RegressionTargets<T> for InputAsTarget {
    fn of(batch: &Batch<T, Self>) -> ArrayView2<'_, T> {
        batch.x.view()
    }
}

impl<T: Scalar, Y: RegressionTargets<T>> Loss<T, Y> for MseLoss<T> {
    fn forward(&mut self, prediction: ArrayView2<T>, batch: &Batch<T, Y>) -> Result<T, Error> {
        Ok(MseLoss::forward(self, prediction, Y::of(batch)))
    }
    fn backward(&mut self) -> ArrayView2<'_, T> {
        MseLoss::backward(self)
    }
}

impl<T: Scalar> Loss<T, Vec<usize>> for SoftmaxCrossEntropy<T> {
    fn forward(
        &mut self,
        prediction: ArrayView2<T>,
        batch: &Batch<T, Vec<usize>>,
    ) -> Result<T, Error> {
        SoftmaxCrossEntropy::forward(self, prediction, &batch.targets)
    }
    fn backward(&mut self) -> ArrayView2<'_, T> {
        SoftmaxCrossEntropy::backward(self)
    }
}

/// `p_j = e^{z_j − max z} / Σ_k e^{z_k − max z}`: one row of logits → its class probabilities,
/// exactly as [`SoftmaxCrossEntropy`] computes them (subtracting the maximum keeps every
/// exponential finite).
///
/// ```
/// let p = twostage::nn::softmax(&[1.0_f32, 1.0]);
/// assert_eq!(p, [0.5, 0.5]);
/// ```
pub fn softmax<T: Scalar>(logits: &[T]) -> Vec<T> {
    let mut p = vec![T::zero(); logits.len()];
    softmax_into(&mut p, logits);
    p
}

/// `p ← softmax(z)` for one row; returns `(max z, Σ e^{z − max z})`, from which
/// `log Σ e^{z}` follows.
fn softmax_into<T: Scalar>(p: &mut [T], z: &[T]) -> (T, T) {
    let max = z.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
    for (p, &z) in p.iter_mut().zip(z) {
        *p = (z - max).exp();
    }
    let sum: T = p.iter().copied().sum();
    for p in p.iter_mut() {
        *p /= sum;
    }
    (max, sum)
}

/// [`SoftmaxCrossEntropy::forward`]'s rows, compiled in this crate for each type
/// (`linalg/kernels/mod.rs`, so that a debug build of the caller runs them optimised):
/// `probabilities, logits: (B, classes)` stored row by row, every label already checked to be
/// a class → `Σ_b −log p_b,y_b`, summed in `f64` in row order.
pub(crate) fn cross_entropy_rows<T: Scalar>(
    probabilities: &mut [T],
    logits: &[T],
    labels: &[usize],
    classes: usize,
) -> f64 {
    if classes == 0 {
        return 0.0; // no rows either: a label would not have been a class
    }
    let rows = logits
        .chunks_exact(classes)
        .zip(probabilities.chunks_exact_mut(classes));
    let mut total = 0.0_f64;
    for ((z, p), &label) in rows.zip(labels) {
        // log Σ e^{z} = max + log Σ e^{z − max}.
        let (max, sum) = softmax_into(p, z);
        // −log p_y = log Σ e^{z − max} − (z_y − max), in PyTorch's log_softmax order: when
        // z_y is the maximum, z_y − max is exactly 0 and no precision is lost to `max`.
        total += (sum.ln() - (z[label] - max)).to_f64();
    }
    total
}

/// [`SoftmaxCrossEntropy::backward`]'s rows, compiled in this crate like
/// [`cross_entropy_rows`]: `dz = (p − onehot(y)) / B`, with `inv_batch = 1/B`.
pub(crate) fn cross_entropy_backward_rows<T: Scalar>(
    dlogits: &mut [T],
    probabilities: &[T],
    labels: &[usize],
    inv_batch: T,
) {
    for (g, &p) in dlogits.iter_mut().zip(probabilities) {
        *g = p * inv_batch;
    }
    let classes = probabilities.len() / labels.len().max(1);
    for (b, &label) in labels.iter().enumerate() {
        let i = b * classes + label;
        dlogits[i] = (probabilities[i] - T::one()) * inv_batch;
    }
}

/// The first row whose label is not a class (`≥ classes`), if any.
#[inline(never)]
fn first_bad_label(labels: &[usize], classes: usize) -> Option<usize> {
    labels.iter().position(|&l| l >= classes)
}

/// Mean squared error over all elements, PyTorch's `MSELoss(reduction='mean')`:
/// `L = Σ (ŷ − y)² / N` with `N = B·n`.
pub struct MseLoss<T> {
    /// `ŷ − y: (B, n)`; `None` before the first forward.
    diff: Option<Array2<T>>,
    /// `dL/dŷ: (B, n)`.
    dprediction: Array2<T>,
}

impl<T: Scalar> MseLoss<T> {
    /// A loss with nothing cached yet.
    pub fn new() -> MseLoss<T> {
        MseLoss {
            diff: None,
            dprediction: Array2::zeros((0, 0)),
        }
    }

    /// `L = Σ (ŷ − y)² / N`: `prediction, target: (B, n) → scalar`.
    ///
    /// # Panics
    /// If `prediction` and `target` differ in shape.
    pub fn forward(&mut self, prediction: ArrayView2<T>, target: ArrayView2<T>) -> T {
        assert!(
            prediction.dim() == target.dim(),
            "MSELoss: prediction {:?} and target {:?} differ in shape",
            prediction.dim(),
            target.dim()
        );
        let diff = self
            .diff
            .get_or_insert_with(|| Array2::zeros(prediction.dim()));
        ensure_shape(diff, prediction.nrows(), prediction.ncols());
        let (prediction, target) = (prediction.as_standard_layout(), target.as_standard_layout());
        let rung = simd::rung();
        elementwise::difference(
            rung,
            elements_mut(diff),
            elements(&prediction),
            elements(&target),
        );
        let sum_sq = elementwise::sum_of_squares(rung, elements(diff));
        T::from_f64(sum_sq / diff.len().max(1) as f64)
    }

    /// `dL/dŷ = 2·(ŷ − y) / N`: `→ (B, n)`.
    ///
    /// # Panics
    /// If no forward pass came first.
    pub fn backward(&mut self) -> ArrayView2<'_, T> {
        let Some(diff) = &self.diff else {
            panic!("MSELoss: backward called before forward");
        };
        let scale = T::from_f64(2.0 / diff.len().max(1) as f64);
        ensure_shape(&mut self.dprediction, diff.nrows(), diff.ncols());
        elementwise::scaled(
            simd::rung(),
            elements_mut(&mut self.dprediction),
            scale,
            elements(diff),
        );
        self.dprediction.view()
    }
}

impl<T: Scalar> Default for MseLoss<T> {
    fn default() -> Self {
        MseLoss::new()
    }
}

/// Softmax followed by cross-entropy against class labels, averaged over the batch, fused
/// (PyTorch's `CrossEntropyLoss`): `L = (1/B) Σ_b [log Σ_j e^{z_bj} − z_b,y_b]`.
///
/// Fusing the two makes the gradient the famously simple `(softmax(z) − onehot(y)) / B`, and
/// subtracting each row's maximum before exponentiating keeps it finite for any logits
/// (`e^{10000}` would overflow; `e^{10000 − 10000}` does not).
pub struct SoftmaxCrossEntropy<T> {
    /// `softmax(z): (B, classes)`; `None` before the first forward.
    probabilities: Option<Array2<T>>,
    /// The labels of the cached forward.
    labels: Vec<usize>,
    /// `dL/dz: (B, classes)`.
    dlogits: Array2<T>,
}

impl<T: Scalar> SoftmaxCrossEntropy<T> {
    /// A loss with nothing cached yet.
    pub fn new() -> SoftmaxCrossEntropy<T> {
        SoftmaxCrossEntropy {
            probabilities: None,
            labels: Vec::new(),
            dlogits: Array2::zeros((0, 0)),
        }
    }

    /// `logits: (B, classes)`, `labels: (B,)` → mean cross-entropy.
    ///
    /// # Errors
    /// [`Error::Label`] if a label is not a class index (`≥ classes`): bad data.
    ///
    /// # Panics
    /// If there is not one label per row of `logits`.
    pub fn forward(&mut self, logits: ArrayView2<T>, labels: &[usize]) -> Result<T, Error> {
        let (batch, classes) = logits.dim();
        assert!(
            labels.len() == batch,
            "CrossEntropyLoss: {} labels for {batch} rows of logits",
            labels.len()
        );
        if let Some(row) = first_bad_label(labels, classes) {
            return Err(Error::Label {
                label: labels[row],
                row,
                classes,
            });
        }
        let probabilities = self
            .probabilities
            .get_or_insert_with(|| Array2::zeros(logits.dim()));
        ensure_shape(probabilities, batch, classes);
        let logits = logits.as_standard_layout();
        let total = (T::KERNELS.cross_entropy)(
            elements_mut(probabilities),
            elements(&logits),
            labels,
            classes,
        );
        self.labels.clear();
        self.labels.extend_from_slice(labels);
        Ok(T::from_f64(total / batch.max(1) as f64))
    }

    /// `dL/dz = (softmax(z) − onehot(y)) / B`: `→ (B, classes)`.
    ///
    /// # Panics
    /// If no forward pass came first.
    pub fn backward(&mut self) -> ArrayView2<'_, T> {
        let Some(probabilities) = &self.probabilities else {
            panic!("CrossEntropyLoss: backward called before forward");
        };
        let (batch, classes) = probabilities.dim();
        let inv_batch = T::from_f64(1.0 / batch.max(1) as f64);
        ensure_shape(&mut self.dlogits, batch, classes);
        (T::KERNELS.cross_entropy_backward)(
            elements_mut(&mut self.dlogits),
            elements(probabilities),
            &self.labels,
            inv_batch,
        );
        self.dlogits.view()
    }

    /// The softmax of the last forward: `(B, classes)`.
    pub fn probabilities(&self) -> Option<ArrayView2<'_, T>> {
        self.probabilities.as_ref().map(|p| p.view())
    }
}

impl<T: Scalar> Default for SoftmaxCrossEntropy<T> {
    fn default() -> Self {
        SoftmaxCrossEntropy::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Axis;

    /// The rows kernel gives the bits of the textbook per-row softmax and cross-entropy on
    /// ndarray rows, forward and backward, in `f32` and `f64`.
    fn rows_match_the_textbook<T: Scalar>() {
        let (batch, classes) = (37, 5);
        let logits = Array2::from_shape_fn((batch, classes), |(b, j)| {
            T::from_f64(((b * classes + j) as f64 * 0.731).sin() * 9.0)
        });
        let labels: Vec<usize> = (0..batch).map(|b| b * 3 % classes).collect();
        let (mut want_p, mut want_total) = (Array2::<T>::zeros((batch, classes)), 0.0_f64);
        for ((z, mut p), &label) in logits
            .axis_iter(Axis(0))
            .zip(want_p.axis_iter_mut(Axis(0)))
            .zip(&labels)
        {
            let max = z.fold(T::neg_infinity(), |m, &v| m.max(v));
            p.assign(&z.mapv(|z| (z - max).exp()));
            let sum: T = p.iter().copied().sum();
            p.mapv_inplace(|e| e / sum);
            want_total += (sum.ln() - (z[label] - max)).to_f64();
        }
        let inv_batch = T::from_f64(1.0 / batch as f64);
        let mut want_dz = want_p.mapv(|p| p * inv_batch);
        for (b, &label) in labels.iter().enumerate() {
            want_dz[[b, label]] = (want_p[[b, label]] - T::one()) * inv_batch;
        }

        let mut ce = SoftmaxCrossEntropy::new();
        let loss = ce.forward(logits.view(), &labels).expect("good labels");
        assert_eq!(loss, T::from_f64(want_total / batch as f64));
        assert_eq!(ce.probabilities().expect("cached"), want_p);
        assert_eq!(ce.backward(), want_dz);
        // A transposed copy of the logits, as a strided view, gives the same.
        let transposed = logits.t().to_owned();
        assert_eq!(
            ce.forward(transposed.t(), &labels).expect("good labels"),
            loss
        );
    }

    #[test]
    fn cross_entropy_rows_match_the_textbook() {
        rows_match_the_textbook::<f32>();
        rows_match_the_textbook::<f64>();
    }
}
