//! A study's results: one [`Row`] per run, and their mean and spread per cell.

use super::Method;

/// One classifier's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// How it was trained.
    pub method: Method,
    /// Its label budget `N`.
    pub labels: usize,
    /// Its label-noise rate.
    pub noise: f64,
    /// Its seed.
    pub seed: u64,
    /// The Adam steps it took on the labels, counted as they were taken.
    pub steps: usize,
    /// Fraction of the test set it gets right.
    pub accuracy: f64,
    /// Its mean cross-entropy on the test set.
    pub loss: f64,
    /// Wall-clock seconds of its training and test (the pretraining not included).
    pub seconds: f64,
}

/// Mean and sample standard deviation (0 for one value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// The rows of one method, budget and rate, over the seeds.
pub fn cell(rows: &[Row], method: Method, labels: usize, noise: f64) -> Vec<&Row> {
    rows.iter()
        .filter(|r| r.method == method && r.labels == labels && r.noise == noise)
        .collect()
}

/// A method's test accuracies at one budget and rate over the seeds: mean and std, if it ran.
pub fn summary(rows: &[Row], method: Method, labels: usize, noise: f64) -> Option<(f64, f64)> {
    let accuracies: Vec<f64> = cell(rows, method, labels, noise)
        .iter()
        .map(|r| r.accuracy)
        .collect();
    (!accuracies.is_empty()).then(|| mean_std(&accuracies))
}
