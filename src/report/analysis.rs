//! Every number the report page shows, computed once from the network and its test set.

use ndarray::{Array2, ArrayView2};

use super::error::ReportError as Error;
use super::pca::Pca;
use crate::batches::gather_normalised;
use crate::model::TwoStageNetwork;
use crate::train::{self, DeadUnits, Evaluation, Examples};

/// How many test images the reconstruction section shows.
pub const RECONSTRUCTIONS: usize = 16;
/// How many of the most confident mistakes the results section shows.
pub const MISTAKES: usize = 24;
/// How many test images the page's self-test runs through its JavaScript forward.
pub const SELFTEST_IMAGES: usize = 100;

/// A test image the network got wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Mistake {
    /// Its index in the test set.
    pub index: usize,
    /// Its true class.
    pub label: usize,
    /// The class the network gave it.
    pub predicted: usize,
    /// The three most probable classes and their probabilities, most probable first.
    pub top3: Vec<(usize, f32)>,
}

/// Every number the page shows, computed once.
pub struct Analysis {
    /// The test-set evaluation, by the same function as `twostage eval`.
    pub evaluation: Evaluation,
    /// `(N, C)` class probabilities of every test image.
    pub probabilities: Array2<f32>,
    /// `(N, 128)` stage-1 features of every test image.
    pub features: Array2<f32>,
    /// The principal axes of the features.
    pub pca: Pca,
    /// Every test image's coordinates on the first two axes.
    pub projection: Vec<(f64, f64)>,
    /// The [`MISTAKES`] wrong predictions with the highest predicted probability, highest first.
    pub mistakes: Vec<Mistake>,
    /// `(RECONSTRUCTIONS, 784)` decoder outputs for the first test images, when there is a decoder.
    pub reconstructions: Option<Array2<f32>>,
    /// The mean squared error of predicting the mean test image, in normalised units: the
    /// loss an autoencoder that learned nothing would have.
    pub mean_image_mse: f64,
    /// The ReLU units of stage 1 and stage 2 that never fire on the test images.
    pub dead_units: Vec<DeadUnits>,
    /// The Rust probabilities of the first [`SELFTEST_IMAGES`] test images, one image at a time
    /// (as `twostage predict` computes them).
    pub selftest: Vec<Vec<f32>>,
}

/// Indices sorted by decreasing value.
pub fn ranked(values: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order
}

/// Computes everything the page shows about `network` on `test`.
pub fn analyse(
    network: &mut TwoStageNetwork<f32>,
    test: Examples,
    has_decoder: bool,
) -> Result<Analysis, Error> {
    let evaluation = train::evaluate(network, test)?;
    let probabilities = probabilities_of(network, test);
    let features = train::features_of(network, test);
    let pca = Pca::fit(features.view());
    let projection = features
        .rows()
        .into_iter()
        .map(|row| {
            let p = pca.project(&row.to_vec(), 2);
            (p[0], p[1])
        })
        .collect();
    let reconstructions = if has_decoder {
        let k = RECONSTRUCTIONS.min(test.len());
        let mut input = Array2::zeros((0, 0));
        gather_normalised(
            test.pixels,
            test.width,
            &(0..k).collect::<Vec<_>>(),
            &mut input,
        );
        Some(network.reconstruction(input.view()).to_owned())
    } else {
        None
    };
    let width = test.width;
    let selftest = (0..SELFTEST_IMAGES.min(test.len()))
        .map(|i| train::probabilities(network, &test.pixels[i * width..(i + 1) * width]))
        .collect::<Result<Vec<_>, crate::Error>>()?;
    Ok(Analysis {
        evaluation,
        mistakes: most_confident_mistakes(probabilities.view(), test.labels),
        probabilities,
        features,
        pca,
        projection,
        reconstructions,
        mean_image_mse: train::mean_image_mse(test),
        dead_units: train::dead_relu_units(network, test),
        selftest,
    })
}

/// `(N, C)` class probabilities of every test image, a thousand images at a time.
fn probabilities_of(network: &mut TwoStageNetwork<f32>, test: Examples) -> Array2<f32> {
    let mut probabilities = Array2::zeros((test.len(), network.dims.classes));
    let mut input = Array2::zeros((0, 0));
    let all: Vec<usize> = (0..test.len()).collect();
    for (c, indices) in all.chunks(1000).enumerate() {
        gather_normalised(test.pixels, test.width, indices, &mut input);
        let logits = network.logits(input.view());
        for (r, row) in logits.rows().into_iter().enumerate() {
            let p = crate::nn::softmax(&row.to_vec());
            probabilities
                .row_mut(c * 1000 + r)
                .assign(&ndarray::ArrayView1::from(&p));
        }
    }
    probabilities
}

/// The [`MISTAKES`] wrong predictions with the highest predicted probability, highest first.
fn most_confident_mistakes(probabilities: ArrayView2<f32>, labels: &[u8]) -> Vec<Mistake> {
    let mut wrong: Vec<Mistake> = (0..labels.len())
        .filter_map(|i| {
            let row = probabilities.row(i).to_vec();
            let order = ranked(&row);
            let label = labels[i] as usize;
            (order[0] != label).then(|| Mistake {
                index: i,
                label,
                predicted: order[0],
                top3: order.iter().take(3).map(|&c| (c, row[c])).collect(),
            })
        })
        .collect();
    // Most confident first; ties by index, so the page is the same from run to run.
    wrong.sort_by(|a, b| {
        b.top3[0]
            .1
            .total_cmp(&a.top3[0].1)
            .then(a.index.cmp(&b.index))
    });
    wrong.truncate(MISTAKES);
    wrong
}
