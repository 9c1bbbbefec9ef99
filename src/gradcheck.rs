//! Gradient checking: compare an analytic gradient with centered finite differences, in `f64`.
//!
//! For each scalar `θᵢ`, `∂L/∂θᵢ ≈ (L(θᵢ + h) − L(θᵢ − h)) / 2h`, whose error is `O(h²)`.
//! The comparison is CS231n's relative error. Entry by entry ([`rel_error`]),
//! `|a − n| / max(1e-8, |a| + |n|)` is the right test for a single layer, whose gradient
//! entries are all of one scale. In a whole network some entries are tiny (1e-7) next to the
//! rest (1e-2), and there the difference quotient's own rounding (the loss's last bit divided
//! by `h`, about 1e-11 in `f64`) is no longer small relative to the entry, whatever the backward
//! does. So for each tensor [`TensorCheck`] reports both the entry-wise worst case and the error
//! relative to the tensor's scale, `max|a − n| / max(1e-8, max|a| + max|n|)` ([`scaled_rel_error`]).
//! In `f64` a correct backward gives 1e-9 or better on the scaled measure; a wrong one, 1e-2 or
//! worse. Stay away from ReLU's kink: an input within `h` of 0 makes any difference quotient wrong.
//!
//! [`check_layer`] does the usual thing for one layer: with `L = Σ layer(x) ⊙ dy` for a fixed
//! random `dy` (so `dL/dy = dy`, "the upstream gradient"), it checks every parameter gradient
//! and the input gradient `dx`. Each check returns a [`Report`]: every tensor's errors and a
//! verdict, [`Report::passed`] (every tensor's scaled error within [`CheckOptions::tolerance`]),
//! naming the worst tensor when printed.
//!
//! ```
//! use ndarray::array;
//! use twostage::gradcheck::{check_layer, CheckOptions};
//! use twostage::nn::{Dense, Layer, Relu};
//! let mut layer = Dense::<f64>::from_weights(array![[0.3, -0.2], [0.1, 0.4]], array![0.05, -0.1]);
//! let x = array![[1.0, 2.0], [-0.5, 0.25]];
//! let dy = array![[0.7, -1.3], [0.2, 0.9]];
//! let report = check_layer(&mut layer, x.view(), dy.view(), &CheckOptions::default());
//! let names: Vec<&str> = report.iter().map(|t| t.name.as_str()).collect();
//! assert_eq!(names, ["weight", "bias", "dx"]);
//! assert!(report.passed(), "{report}");
//! // Boxed and borrowed layers are checked the same way.
//! let mut boxed: Box<dyn Layer<f64>> = Box::new(Relu::new());
//! assert!(check_layer(&mut boxed, x.view(), dy.view(), &CheckOptions::default()).passed());
//! ```

use std::fmt;
use std::ops::Deref;

use ndarray::{Array2, ArrayView2};

use crate::error::Error;
use crate::nn::{Layer, Parameters};
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand::rngs::SmallRng;
use ndarray_rand::rand::seq::index::sample;

/// CS231n's `rel_error`: `max_i |aᵢ − bᵢ| / max(1e-8, |aᵢ| + |bᵢ|)`.
pub fn rel_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "rel_error: lengths differ");
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs() / (a.abs() + b.abs()).max(1e-8))
        .fold(0.0, f64::max)
}

/// The error relative to the tensor's scale: `max|aᵢ − bᵢ| / max(1e-8, max|aᵢ| + max|bᵢ|)`.
pub fn scaled_rel_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "scaled_rel_error: lengths differ");
    let largest = |v: &[f64]| v.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let worst = a
        .iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    worst / (largest(a) + largest(b)).max(1e-8)
}

/// How to check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The finite-difference step.
    pub h: f64,
    /// Check at most this many entries per tensor, chosen at random (`None`: every entry).
    pub samples_per_tensor: Option<usize>,
    /// Seed for choosing the entries.
    pub seed: u64,
    /// The largest scaled error ([`scaled_rel_error`]) a tensor may show and pass: a correct
    /// backward shows ~1e-9 in `f64`, a wrong one 1e-2 or worse.
    pub tolerance: f64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            h: 1e-5,
            samples_per_tensor: None,
            seed: 0,
            tolerance: 1e-6,
        }
    }
}

/// The outcome of a gradient check: every tensor's errors, and a verdict.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// One entry per tensor checked, in visiting order (`dx` last when checked).
    pub tensors: Vec<TensorCheck>,
    /// The largest scaled error a tensor may show and pass.
    pub tolerance: f64,
}

impl Report {
    /// True if every tensor's scaled error is within the tolerance (and one was checked).
    pub fn passed(&self) -> bool {
        !self.tensors.is_empty() && self.failures().next().is_none()
    }

    /// The tensors whose scaled error exceeds the tolerance (or is NaN).
    pub fn failures(&self) -> impl Iterator<Item = &TensorCheck> {
        self.tensors
            .iter()
            .filter(|t| t.scaled_rel_error.is_nan() || t.scaled_rel_error > self.tolerance)
    }

    /// The tensor with the largest scaled error (a NaN counts as the largest).
    pub fn worst(&self) -> Option<&TensorCheck> {
        self.tensors.iter().max_by(|a, b| {
            let key = |t: &TensorCheck| match t.scaled_rel_error {
                e if e.is_nan() => f64::INFINITY,
                e => e,
            };
            key(a).total_cmp(&key(b))
        })
    }

    /// Appends another check's tensors (the tolerance stays).
    pub fn push(&mut self, tensor: TensorCheck) {
        self.tensors.push(tensor);
    }
}

/// `passed: worst dx 3.1e-10 ≤ 1e-6 (3 tensors)`, or `FAILED: …` naming the worst tensor.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        match self.worst() {
            None => write!(f, "{verdict}: no tensor was checked"),
            Some(worst) => write!(
                f,
                "{verdict}: worst {} {:.1e} (tolerance {:.0e}; {} tensors)",
                worst.name,
                worst.scaled_rel_error,
                self.tolerance,
                self.tensors.len()
            ),
        }
    }
}

impl Deref for Report {
    type Target = [TensorCheck];
    fn deref(&self) -> &[TensorCheck] {
        &self.tensors
    }
}

impl IntoIterator for Report {
    type Item = TensorCheck;
    type IntoIter = std::vec::IntoIter<TensorCheck>;
    fn into_iter(self) -> Self::IntoIter {
        self.tensors.into_iter()
    }
}

impl<'r> IntoIterator for &'r Report {
    type Item = &'r TensorCheck;
    type IntoIter = std::slice::Iter<'r, TensorCheck>;
    fn into_iter(self) -> Self::IntoIter {
        self.tensors.iter()
    }
}

/// The outcome for one tensor.
#[derive(Clone, Debug)]
pub struct TensorCheck {
    /// The tensor: a parameter's state-dict name, or `dx`.
    pub name: String,
    /// Worst entry-wise relative error ([`rel_error`]) over the checked entries.
    pub max_rel_error: f64,
    /// Worst difference relative to the tensor's scale ([`scaled_rel_error`]).
    pub scaled_rel_error: f64,
    /// Worst absolute difference over the checked entries.
    pub max_abs_error: f64,
    /// How many entries were checked.
    pub checked: usize,
}

/// Checks every parameter tensor of `model`.
///
/// `loss(model)` runs a forward pass and returns the scalar; `backward(model)` runs forward and
/// backward, accumulating into the gradients (they are zeroed first).
///
/// # Errors
/// [`Error::NothingToCheck`] if `model` has no parameters: an empty report would pass.
pub fn check_parameters<M: Parameters<f64> + ?Sized>(
    model: &mut M,
    mut loss: impl FnMut(&mut M) -> f64,
    mut backward: impl FnMut(&mut M),
    options: &CheckOptions,
) -> Result<Report, Error> {
    if model.num_params() == 0 {
        return Err(Error::NothingToCheck {
            what: "the model".to_string(),
        });
    }
    model.zero_grad();
    backward(model);
    let mut analytic: Vec<(String, Vec<f64>)> = Vec::new();
    model.visit_params(&mut |name, p| {
        analytic.push((name.to_string(), p.grad.iter().copied().collect()))
    });

    let mut rng = SmallRng::seed_from_u64(options.seed);
    let mut report = Report {
        tensors: Vec::new(),
        tolerance: options.tolerance,
    };
    for (tensor, (name, grad)) in analytic.iter().enumerate() {
        let entries: Vec<usize> = match options.samples_per_tensor {
            Some(k) if k < grad.len() => sample(&mut rng, grad.len(), k).into_vec(),
            _ => (0..grad.len()).collect(),
        };
        let mut numeric = Vec::with_capacity(entries.len());
        let mut exact = Vec::with_capacity(entries.len());
        for &i in &entries {
            let original = nudge(model, tensor, i, |_| {});
            nudge(model, tensor, i, |v| *v = original + options.h);
            let plus = loss(model);
            nudge(model, tensor, i, |v| *v = original - options.h);
            let minus = loss(model);
            nudge(model, tensor, i, |v| *v = original);
            numeric.push((plus - minus) / (2.0 * options.h));
            exact.push(grad[i]);
        }
        report.push(TensorCheck::compare(name, &exact, &numeric));
    }
    Ok(report)
}

impl TensorCheck {
    /// The comparison of analytic values `exact` with difference quotients `numeric`.
    pub fn compare(name: &str, exact: &[f64], numeric: &[f64]) -> TensorCheck {
        let max_abs_error = exact
            .iter()
            .zip(numeric)
            .map(|(a, n)| (a - n).abs())
            .fold(0.0, f64::max);
        TensorCheck {
            name: name.to_string(),
            max_rel_error: rel_error(exact, numeric),
            scaled_rel_error: scaled_rel_error(exact, numeric),
            max_abs_error,
            checked: exact.len(),
        }
    }
}

/// Checks a layer's input gradient: `dx` from `backward(dy)` against centered differences of
/// `L(x) = Σ layer(x) ⊙ dy`, whose gradient with respect to the output is exactly `dy`.
/// Named `dx` in the report.
pub fn check_input_gradient<L: Layer<f64> + ?Sized>(
    layer: &mut L,
    x: ArrayView2<f64>,
    dy: ArrayView2<f64>,
    options: &CheckOptions,
) -> TensorCheck {
    layer.forward(x);
    let dx: Vec<f64> = layer.backward(dy).iter().copied().collect();
    let sum = |y: ArrayView2<f64>| (&y * &dy).sum(); // L = Σ y ⊙ dy
    let mut nudged: Array2<f64> = x.to_owned();
    let mut rng = SmallRng::seed_from_u64(options.seed);
    let entries: Vec<usize> = match options.samples_per_tensor {
        Some(k) if k < dx.len() => sample(&mut rng, dx.len(), k).into_vec(),
        _ => (0..dx.len()).collect(),
    };
    let cols = x.ncols().max(1);
    let mut numeric = Vec::with_capacity(entries.len());
    let mut exact = Vec::with_capacity(entries.len());
    for &i in &entries {
        let at = [i / cols, i % cols];
        let original = nudged[at];
        nudged[at] = original + options.h;
        let plus = sum(layer.forward(nudged.view()));
        nudged[at] = original - options.h;
        let minus = sum(layer.forward(nudged.view()));
        nudged[at] = original;
        numeric.push((plus - minus) / (2.0 * options.h));
        exact.push(dx[i]);
    }
    TensorCheck::compare("dx", &exact, &numeric)
}

/// Checks a whole layer with `L = Σ layer(x) ⊙ dy`: every parameter gradient (none, for a
/// layer without parameters), then the input gradient `dx`. Any layer: a `Dense`, a
/// `&mut dyn Layer<f64>`, a `Box<dyn Layer<f64>>`.
pub fn check_layer<L: Layer<f64> + ?Sized>(
    layer: &mut L,
    x: ArrayView2<f64>,
    dy: ArrayView2<f64>,
    options: &CheckOptions,
) -> Report {
    // No parameters (an error for check_parameters): the input gradient is the whole check.
    let mut report = check_parameters(
        layer,
        |l| (&l.forward(x) * &dy).sum(),
        |l| {
            l.forward(x);
            l.backward_params(dy);
        },
        options,
    )
    .unwrap_or_else(|_| Report {
        tensors: Vec::new(),
        tolerance: options.tolerance,
    });
    report.push(check_input_gradient(layer, x, dy, options));
    report
}

/// Centered-difference gradient of `f` with respect to every entry of `x`, restoring `x`.
pub fn numerical_gradient(x: &mut [f64], h: f64, mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let original = x[i];
            x[i] = original + h;
            let plus = f(x);
            x[i] = original - h;
            let minus = f(x);
            x[i] = original;
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// Applies `edit` to entry `i` (in memory order) of the `tensor`-th parameter and returns its
/// value afterwards.
fn nudge<M: Parameters<f64> + ?Sized>(
    model: &mut M,
    tensor: usize,
    i: usize,
    edit: impl Fn(&mut f64),
) -> f64 {
    let mut index = 0;
    let mut value = f64::NAN;
    model.visit_params(&mut |_, mut p| {
        if index == tensor {
            let entry = p
                .value
                .iter_mut()
                .nth(i)
                .expect("entry index within the tensor");
            edit(entry);
            value = *entry;
        }
        index += 1;
    });
    value
}
