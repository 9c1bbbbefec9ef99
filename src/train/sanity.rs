//! Sanity checks, CS231n's: can the model and the loop learn a few examples by heart
//! ([`overfit`]); what does a network that learned nothing score ([`mean_image_mse`]); and is
//! every weight still a number ([`ensure_finite`]).

use crate::batches::{Batches, Examples};
use crate::error::Error;
use crate::linalg::Scalar;
use crate::model::{Route, TwoStageNetwork};
use crate::nn::{Parameters, SoftmaxCrossEntropy};
use crate::optim::Adam;

use super::evaluate::evaluate;
use super::fit::train_epoch;
use super::observer::{EpochLoss, Observer, Stage};
use super::stages::Schedule;

/// CS231n's sanity check that the model and the loop can learn at all: trains the classifier
/// end to end (both stages, cross-entropy, Adam at `schedule.lr`) on `examples` until it gets
/// every one of them right, for at most `max_epochs`. Returns the epochs run and the final
/// training accuracy (1.0 when it succeeded).
///
/// # Errors
/// [`Error::Empty`] for no examples; as [`train_epoch`]; [`Error::NonFiniteParameter`].
pub fn overfit(
    network: &mut TwoStageNetwork<f32>,
    examples: Examples,
    schedule: &Schedule,
    max_epochs: usize,
    observer: &mut dyn Observer,
) -> Result<(usize, f64), Error> {
    if examples.is_empty() {
        return Err(Error::Empty {
            what: "overfitting set",
            purpose: "train on",
        });
    }
    let mut batches = Batches::new(schedule.batch_size, schedule.order());
    let (mut adam, mut cross_entropy) = (Adam::new(schedule.lr), SoftmaxCrossEntropy::new());
    let per_epoch = batches.per_epoch(examples.len());
    observer.stage_start(Stage::Finetune, max_epochs, per_epoch);
    let mut accuracy = 0.0;
    for epoch in 1..=max_epochs {
        let mut loss = EpochLoss::new(Stage::Finetune, epoch, max_epochs, observer);
        let mut classifier = network.route(Route::Classifier);
        train_epoch(
            &mut classifier,
            &mut cross_entropy,
            &mut adam,
            &examples,
            &mut batches,
            &mut loss,
        )?;
        accuracy = evaluate(network, examples)?.accuracy;
        loss.finish_with_accuracy(Some(accuracy), None);
        if accuracy == 1.0 {
            return Ok((epoch, accuracy));
        }
    }
    ensure_finite(network, Stage::Finetune)?;
    Ok((max_epochs, accuracy))
}

/// The mean squared error of the best constant guess, the mean image: the autoencoder's
/// sanity baseline (a reconstruction loss above it has learned nothing). In normalised pixels,
/// `Σ_i Σ_j (x_ij − x̄_j)² / (N·784)`.
///
/// Computed from how many images have each of the 256 values at each pixel, counted in one
/// pass over the bytes: the two sums over `i` then take 256 terms a pixel instead of `N` (the
/// two passes in `f64` over 47 million pixels took ~2.5 % of a 1 + 1 run, `benches/README.md`).
/// The counts are exact, so this is the formula above with fewer roundings.
pub fn mean_image_mse(examples: Examples) -> f64 {
    let (n, width) = (examples.len(), examples.width);
    if n == 0 || width == 0 {
        return 0.0;
    }
    // counts[p·width + j]: images with value p at pixel j. Value-major, so the common value
    // (0, the background) walks one row of the table in order; an IDX file holds at most
    // 2³² − 1 images, so a u32 cannot overflow.
    let mut counts = vec![0_u32; 256 * width];
    for image in examples.pixels.chunks_exact(width) {
        for (j, &p) in image.iter().enumerate() {
            counts[usize::from(p) * width + j] += 1;
        }
    }
    let value: [f64; 256] = std::array::from_fn(|p| f64::from(crate::batches::normalise(p as u8)));
    let mut sum = 0.0;
    for j in 0..width {
        let weighted = |f: &dyn Fn(f64) -> f64| {
            (0..256)
                .map(|p| (counts[p * width + j], value[p]))
                .filter(|&(k, _)| k > 0)
                .map(|(k, x)| f64::from(k) * f(x))
                .sum::<f64>()
        };
        let mean = weighted(&|x| x) / n as f64;
        sum += weighted(&|x| (x - mean) * (x - mean));
    }
    sum / (n * width) as f64
}

/// Every parameter must be finite after a stage. The loss check inside an epoch runs before
/// each update, so the last update of a stage (a one-batch stage, a rate that overflows) could
/// otherwise leave NaN or ∞ in weights that would then be saved.
///
/// # Errors
/// [`Error::NonFiniteParameter`] naming the first such entry.
pub fn ensure_finite<T: Scalar>(
    params: &mut (impl Parameters<T> + ?Sized),
    after: Stage,
) -> Result<(), Error> {
    let mut first = None;
    params.visit_params(&mut |name, p| {
        if first.is_none()
            && let Some((index, &value)) = p.value.iter().enumerate().find(|(_, v)| !v.is_finite())
        {
            first = Some((name.to_string(), index, value.to_f64() as f32));
        }
    });
    match first {
        None => Ok(()),
        Some((tensor, index, value)) => Err(Error::NonFiniteParameter {
            stage: after,
            tensor,
            index,
            value,
        }),
    }
}

/// The parameter with the largest magnitude: (name, |w|), for messages about overflow.
pub(crate) fn largest_weight(network: &mut TwoStageNetwork<f32>) -> (String, f32) {
    let mut largest = (String::new(), 0.0_f32);
    network.visit_params(&mut |name, p| {
        let m = p.value.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        if m > largest.1 {
            largest = (name.to_string(), m);
        }
    });
    largest
}

/// An error for logits that overflowed on `example`.
pub(crate) fn non_finite_output(
    network: &mut TwoStageNetwork<f32>,
    example: usize,
    value: f32,
) -> Error {
    let (tensor, largest) = largest_weight(network);
    Error::NonFiniteOutput {
        what: "logits",
        example,
        value,
        tensor,
        largest,
    }
}
