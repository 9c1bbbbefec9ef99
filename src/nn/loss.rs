//! Losses, each a `forward` that returns the scalar and caches what its `backward` needs,
//! and a `backward` that returns the gradient with respect to the prediction.

use ndarray::{Array2, ArrayView2, Axis, Zip};

use super::ensure_shape;
use crate::error::Error;
use crate::linalg::{Scalar, elementwise, simd};

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
        match (
            diff.as_slice_mut(),
            prediction.as_slice(),
            target.as_slice(),
        ) {
            (Some(d), Some(p), Some(t)) => elementwise::difference(simd::rung(), d, p, t),
            _ => Zip::from(&mut *diff)
                .and(&prediction)
                .and(&target)
                .for_each(|d, &p, &t| *d = p - t),
        }
        let sum_sq = elementwise::sum_of_squares(
            simd::rung(),
            diff.as_slice()
                .expect("diff is a fresh standard-layout array"),
        );
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
        match (self.dprediction.as_slice_mut(), diff.as_slice()) {
            (Some(g), Some(d)) => elementwise::scaled(simd::rung(), g, scale, d),
            _ => Zip::from(&mut self.dprediction)
                .and(diff)
                .for_each(|g, &d| *g = scale * d),
        }
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
        if let Some((row, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
            return Err(Error::Label {
                label,
                row,
                classes,
            });
        }
        let probabilities = self
            .probabilities
            .get_or_insert_with(|| Array2::zeros(logits.dim()));
        ensure_shape(probabilities, batch, classes);
        let mut total = 0.0_f64;
        for ((z, mut p), &label) in logits
            .axis_iter(Axis(0))
            .zip(probabilities.axis_iter_mut(Axis(0)))
            .zip(labels)
        {
            let max = z.fold(T::neg_infinity(), |m, &v| m.max(v));
            // p = e^{z − max}, then normalised; log Σ e^{z} = max + log Σ e^{z − max}.
            Zip::from(&mut p)
                .and(&z)
                .for_each(|p, &z| *p = (z - max).exp());
            let sum: T = p.iter().copied().sum();
            p.mapv_inplace(|e| e / sum);
            // −log p_y = log Σ e^{z − max} − (z_y − max), in PyTorch's log_softmax order: when
            // z_y is the maximum, z_y − max is exactly 0 and no precision is lost to `max`.
            total += (sum.ln() - (z[label] - max)).to_f64();
        }
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
        Zip::from(&mut self.dlogits)
            .and(probabilities)
            .for_each(|g, &p| *g = p * inv_batch);
        for (b, &label) in self.labels.iter().enumerate() {
            self.dlogits[[b, label]] = (probabilities[[b, label]] - T::one()) * inv_batch;
        }
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
