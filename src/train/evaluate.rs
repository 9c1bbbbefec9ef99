//! Evaluation: accuracy, loss and confusion on a data set; the class probabilities of one
//! image; stage 1's features of every example; ReLU units that never fire.

use std::convert::Infallible;
use std::ops::Range;

use ndarray::{Array2, ArrayView2, Axis, s};

use crate::batches::{Examples, gather_normalised};
use crate::error::Error;
use crate::linalg::on_pool;
use crate::model::TwoStageNetwork;
use crate::nn::{Layer, Relu, Sequential, SoftmaxCrossEntropy, softmax};

use super::CHUNK_ROWS;
use super::sanity::non_finite_output;

/// Test-set results.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Fraction correct.
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

impl Evaluation {
    /// Accuracy per true class (NaN for a class with no examples).
    pub fn per_class_accuracy(&self) -> Vec<f64> {
        self.confusion
            .iter()
            .enumerate()
            .map(|(c, row)| row[c] as f64 / row.iter().sum::<u64>() as f64)
            .collect()
    }
}

/// Runs `f(rows, x)` on consecutive chunks of [`CHUNK_ROWS`] examples: `rows` the chunk's index
/// range and `x: (rows.len(), width)` its normalised pixels. On the rayon pool, so each
/// chunk's products split across the cores without waking the calling thread.
fn for_each_chunk<E: Send>(
    examples: Examples,
    mut f: impl FnMut(Range<usize>, ArrayView2<f32>) -> Result<(), E> + Send,
) -> Result<(), E> {
    let mut inputs = Array2::zeros((0, 0));
    let all: Vec<usize> = (0..examples.len()).collect();
    on_pool(|| {
        for (c, indices) in all.chunks(CHUNK_ROWS).enumerate() {
            gather_normalised(examples.pixels, examples.width, indices, &mut inputs);
            f(
                c * CHUNK_ROWS..c * CHUNK_ROWS + indices.len(),
                inputs.view(),
            )?;
        }
        Ok(())
    })
}

/// Stage 1's features of every example, `(N, features)`.
pub fn features_of(network: &mut TwoStageNetwork<f32>, examples: Examples) -> Array2<f32> {
    let mut features = Array2::zeros((examples.len(), network.dims.features));
    let done: Result<(), Infallible> = for_each_chunk(examples, |rows, x| {
        // x: (rows, 784) → features: (rows, 128)
        features
            .slice_mut(s![rows, ..])
            .assign(&network.features(x));
        Ok(())
    });
    let Ok(()) = done;
    features
}

/// The fraction of `labels` stage 2 gets right from precomputed `features: (N, 128)`.
pub(crate) fn head_accuracy(
    network: &mut TwoStageNetwork<f32>,
    features: ArrayView2<f32>,
    labels: &[u8],
) -> f64 {
    let mut correct = 0usize;
    for (c, chunk) in features.axis_chunks_iter(Axis(0), CHUNK_ROWS).enumerate() {
        let logits = network.stage2.forward(chunk); // f: (rows, 128) → z: (rows, C)
        for (i, row) in logits.rows().into_iter().enumerate() {
            let label = usize::from(labels[c * CHUNK_ROWS + i]);
            correct += usize::from(argmax(row.iter().copied()) == label);
        }
    }
    correct as f64 / labels.len().max(1) as f64
}

/// Classifies every example, [`CHUNK_ROWS`] at a time (each product spread across the cores).
///
/// # Errors
/// [`Error::Empty`] for no examples, [`Error::Label`] for a label that is not a class,
/// [`Error::NonFiniteOutput`] when the logits overflow.
pub fn evaluate(
    network: &mut TwoStageNetwork<f32>,
    examples: Examples,
) -> Result<Evaluation, Error> {
    if examples.is_empty() {
        return Err(Error::Empty {
            what: "test set",
            purpose: "evaluate on",
        });
    }
    let classes = network.dims.classes;
    let mut labels = Vec::new();
    let mut overflow = None;
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    let mut confusion = vec![vec![0u64; classes]; classes];
    let mut loss_sum = 0.0;
    for_each_chunk(examples, |rows, x| -> Result<(), Error> {
        if overflow.is_some() {
            return Ok(());
        }
        labels.clear();
        labels.extend(examples.labels[rows.clone()].iter().map(|&l| l as usize));
        let logits = network.logits(x); // x: (rows, 784) → logits: (rows, 10)
        if let Some((i, &value)) = logits.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            overflow = Some((rows.start + i / logits.ncols(), value));
            return Ok(());
        }
        // The loss first: it rejects a label that is not a class index.
        loss_sum += cross_entropy.forward(logits, &labels)? as f64 * labels.len() as f64;
        for (row, &label) in logits.rows().into_iter().zip(&labels) {
            confusion[label][argmax(row.iter().copied())] += 1;
        }
        Ok(())
    })?;
    if let Some((example, value)) = overflow {
        return Err(non_finite_output(network, example, value));
    }
    let n = examples.len() as f64;
    let correct: u64 = (0..classes).map(|c| confusion[c][c]).sum();
    Ok(Evaluation {
        accuracy: correct as f64 / n,
        loss: loss_sum / n,
        confusion,
    })
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: impl Iterator<Item = f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// The class probabilities for one image of raw pixels.
///
/// # Errors
/// [`Error::NonFiniteOutput`] if the logits overflow.
pub fn probabilities(network: &mut TwoStageNetwork<f32>, pixels: &[u8]) -> Result<Vec<f32>, Error> {
    let mut input = Array2::zeros((0, 0));
    gather_normalised(pixels, pixels.len(), &[0], &mut input);
    let logits: Vec<f32> = network.logits(input.view()).iter().copied().collect();
    if let Some(&value) = logits.iter().find(|v| !v.is_finite()) {
        return Err(non_finite_output(network, 0, value));
    }
    Ok(softmax(&logits))
}

/// The ReLU units of one layer that never fire (output 0 on every example of a data set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadUnits {
    /// The ReLU, by its place in the state dict: `stage1.1`.
    pub layer: String,
    /// Its width.
    pub units: usize,
    /// The units that never fired, in increasing order.
    pub dead: Vec<usize>,
}

/// Which units of each ReLU in a [`Sequential`] have fired so far.
struct Fired {
    /// `(layer index, fired[unit])` for every ReLU; `fired` sized at the first batch.
    relus: Vec<(usize, Vec<bool>)>,
}

impl Fired {
    fn new(chain: &Sequential<f32>) -> Fired {
        let relus = (0..chain.layers.len())
            .filter(|&i| chain.layer::<Relu<f32>>(i).is_some())
            .map(|i| (i, Vec::new()))
            .collect();
        Fired { relus }
    }

    /// Records the activations of one batch, `[h₀: (B, n₀), …]`.
    fn record(&mut self, activations: &[ArrayView2<f32>]) {
        for (i, fired) in &mut self.relus {
            let h = activations[*i];
            fired.resize(h.ncols(), false);
            for row in h.rows() {
                for (f, &v) in fired.iter_mut().zip(row) {
                    *f |= v > 0.0;
                }
            }
        }
    }

    fn dead(self, prefix: &str) -> impl Iterator<Item = DeadUnits> + '_ {
        self.relus.into_iter().map(move |(i, fired)| DeadUnits {
            layer: format!("{prefix}.{i}"),
            units: fired.len(),
            dead: (0..fired.len()).filter(|&u| !fired[u]).collect(),
        })
    }
}

/// The ReLU units of stage 1 and stage 2 that never fire on any of `examples` (stage 2 on
/// their stage-1 features): dead units, which no gradient reaches any more.
pub fn dead_relu_units(network: &mut TwoStageNetwork<f32>, examples: Examples) -> Vec<DeadUnits> {
    let (mut stage1, mut stage2) = (Fired::new(&network.stage1), Fired::new(&network.stage2));
    let done: Result<(), Infallible> = for_each_chunk(examples, |_, x| {
        let TwoStageNetwork {
            stage1: s1,
            stage2: s2,
            ..
        } = &mut *network;
        let hidden1 = s1.activations(x); // x: (rows, 784) → [(rows, 256), (rows, 256), (rows, 128)]
        stage1.record(&hidden1);
        if let Some(&features) = hidden1.last() {
            stage2.record(&s2.activations(features)); // features → [(rows, 64), (rows, 64), (rows, C)]
        }
        Ok(())
    });
    let Ok(()) = done;
    let mut all: Vec<DeadUnits> = stage1.dead("stage1").collect();
    all.extend(stage2.dead("stage2"));
    all
}
