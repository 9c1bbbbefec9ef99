//! The study's runner: stage 1 pretrained once per seed, then every method trained on every
//! budget and noise rate for a fixed number of steps, and measured on the test set.

use std::time::Instant;

use ndarray::{Array2, ArrayView2, ArrayViewD, Axis};
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand::rngs::SmallRng;

use super::events::Forward;
use super::{Event, Method, Protocol, Row, Subsets};
use crate::batches::{Batch, Batches, Classification, Dataset, Examples, Order};
use crate::error::Error;
use crate::linalg::on_pool;
use crate::model::{Dims, Route, TwoStageNetwork};
use crate::nn::{Layer, Parameters, SoftmaxCrossEntropy};
use crate::optim::{Adam, Optimizer};
use crate::train::{
    CHUNK_ROWS, EpochLoss, Schedule, Stage, Stage1Mode, argmax, ensure_finite, evaluate,
    features_of,
};

/// Runs the study `protocol` describes on `train` and `test` with a network of `dims`,
/// telling `on_event` of every pretraining epoch and run. Returns one row per run, in the
/// order of [`Protocol::runs`].
///
/// # Errors
/// [`Error::Schedule`] from [`Protocol::check`]; what training reports ([`Error::Diverged`],
/// [`Error::NonFiniteParameter`], [`Error::Label`]) or evaluation.
pub fn run(
    protocol: &Protocol,
    train: Examples,
    test: Examples,
    dims: Dims,
    on_event: &mut (dyn FnMut(Event) + Send),
) -> Result<Vec<Row>, Error> {
    protocol.check(train.len(), dims.classes)?;
    if test.is_empty() {
        return Err(Error::Empty {
            what: "test set",
            purpose: "evaluate on",
        });
    }
    let mut rows = Vec::new();
    for &seed in &protocol.seeds {
        let seed_runs = SeedRuns::prepare(protocol, train, test, dims, seed, on_event)?;
        for &p in &protocol.noise {
            for &n in &protocol.budgets {
                for &method in &protocol.methods {
                    let row = seed_runs.run(method, n, p)?;
                    on_event(Event::Run(&row));
                    rows.push(row);
                }
            }
        }
    }
    Ok(rows)
}

/// Frozen features of the training and test images.
struct Features {
    train: Array2<f32>,
    test: Array2<f32>,
}

impl Features {
    fn of(network: &mut TwoStageNetwork<f32>, train: Examples, test: Examples) -> Features {
        Features {
            train: features_of(network, train),
            test: features_of(network, test),
        }
    }
}

/// What every run of one seed shares: its subsets, its pretrained stage 1, the features of
/// both stage 1s.
struct SeedRuns<'a> {
    protocol: &'a Protocol,
    train: Examples<'a>,
    test: Examples<'a>,
    dims: Dims,
    seed: u64,
    subsets: Subsets,
    /// Stage 1 after the autoencoder, as tensors in visiting order.
    pretrained: Option<Vec<ndarray::ArrayD<f32>>>,
    autoencoder: Option<Features>,
    random: Option<Features>,
}

impl<'a> SeedRuns<'a> {
    fn prepare(
        protocol: &'a Protocol,
        train: Examples<'a>,
        test: Examples<'a>,
        dims: Dims,
        seed: u64,
        on_event: &mut (dyn FnMut(Event) + Send),
    ) -> Result<SeedRuns<'a>, Error> {
        let subsets = Subsets::new(train.labels, dims.classes, seed);
        let needs = |m: Method| protocol.methods.contains(&m);
        let random =
            needs(Method::Random).then(|| Features::of(&mut init(dims, seed), train, test));
        let (mut pretrained, mut autoencoder) = (None, None);
        if needs(Method::Autoencoder) || needs(Method::Finetune) {
            let mut network = init(dims, seed);
            let schedule = Schedule {
                stage1: Stage1Mode::Autoencoder,
                stage1_epochs: protocol.pretrain_epochs,
                stage2_epochs: 0,
                finetune_epochs: 0,
                batch_size: protocol.batch_size,
                lr: protocol.lr,
                finetune_lr: protocol.finetune_lr,
                shuffle: true,
                seed,
            };
            let mut observer = Forward { seed, on_event };
            crate::train::run(&mut network, train, &schedule, &mut observer)?;
            autoencoder = Some(Features::of(&mut network, train, test));
            let mut tensors = Vec::new();
            network
                .stage1
                .visit_params(&mut |_, p| tensors.push(p.value.to_owned()));
            pretrained = Some(tensors);
        }
        Ok(SeedRuns {
            protocol,
            train,
            test,
            dims,
            seed,
            subsets,
            pretrained,
            autoencoder,
            random,
        })
    }

    /// One run: `method` on the budget of `n` at noise `p`.
    fn run(&self, method: Method, n: usize, p: f64) -> Result<Row, Error> {
        let start = Instant::now();
        let protocol = self.protocol;
        let steps = protocol.steps(n);
        let (indices, labels) = self.subsets.take(n, p);
        let mut network = init(self.dims, self.seed);
        let mut batches = Batches::new(protocol.batch_size, Order::Shuffled { seed: self.seed });
        let (taken, (accuracy, loss)) = match method {
            Method::Autoencoder | Method::Random => {
                let features = match method {
                    Method::Autoencoder => self.autoencoder.as_ref(),
                    _ => self.random.as_ref(),
                }
                .expect("prepared for every method asked for");
                let taken = self.head(
                    &mut network,
                    features,
                    indices,
                    &labels,
                    steps,
                    &mut batches,
                )?;
                let measured =
                    head_evaluation(&mut network, features.test.view(), self.test.labels)?;
                (taken, measured)
            }
            Method::Supervised => {
                let images = Images::gather(self.train, indices, labels);
                let mut adam = Adam::new(protocol.lr);
                let mut route = network.route(Route::Classifier);
                let taken = train_steps(
                    &mut route,
                    &mut adam,
                    &images.examples(),
                    &mut batches,
                    steps,
                )?;
                (taken, full_evaluation(&mut network, self.test)?)
            }
            Method::Finetune => {
                let features = self.autoencoder.as_ref().expect("pretrained");
                let tensors = self.pretrained.as_ref().expect("pretrained");
                set_stage1(&mut network, tensors);
                let head_steps = steps / 2;
                let head = self.head(
                    &mut network,
                    features,
                    indices,
                    &labels,
                    head_steps,
                    &mut batches,
                )?;
                let images = Images::gather(self.train, indices, labels);
                let mut adam = Adam::new(protocol.finetune_lr);
                let mut route = network.route(Route::Classifier);
                let rest = steps - head_steps;
                let end_to_end = train_steps(
                    &mut route,
                    &mut adam,
                    &images.examples(),
                    &mut batches,
                    rest,
                )?;
                (head + end_to_end, full_evaluation(&mut network, self.test)?)
            }
        };
        ensure_finite(&mut network, Stage::Fit)?;
        Ok(Row {
            method,
            labels: n,
            noise: p,
            seed: self.seed,
            steps: taken,
            accuracy,
            loss,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// `steps` steps of stage 2 on the frozen features of the subset `indices`.
    fn head(
        &self,
        network: &mut TwoStageNetwork<f32>,
        features: &Features,
        indices: &[usize],
        labels: &[u8],
        steps: usize,
        batches: &mut Batches,
    ) -> Result<usize, Error> {
        let subset = features.train.select(Axis(0), indices); // (N, 128)
        let data = Classification {
            inputs: subset.view(),
            labels,
        };
        let mut adam = Adam::new(self.protocol.lr);
        let mut route = network.route(Route::Head);
        train_steps(&mut route, &mut adam, &data, batches, steps)
    }
}

/// The network `seed` draws, as `train --seed` draws it.
fn init(dims: Dims, seed: u64) -> TwoStageNetwork<f32> {
    TwoStageNetwork::new(dims, &mut SmallRng::seed_from_u64(seed))
}

/// Copies stage 1's tensors (in visiting order) into `network`.
fn set_stage1(network: &mut TwoStageNetwork<f32>, tensors: &[ndarray::ArrayD<f32>]) {
    let mut next = tensors.iter();
    network.stage1.visit_params(&mut |_, mut p| {
        let value: ArrayViewD<f32> = next.next().expect("same network").view();
        p.value.assign(&value);
    });
}

/// A subset's images, gathered into one contiguous block, with their (noisy) labels.
struct Images {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    width: usize,
}

impl Images {
    fn gather(train: Examples, indices: &[usize], labels: Vec<u8>) -> Images {
        let width = train.width;
        let mut pixels = Vec::with_capacity(indices.len() * width);
        for &i in indices {
            pixels.extend_from_slice(&train.pixels[i * width..(i + 1) * width]);
        }
        Images {
            pixels,
            labels,
            width,
        }
    }

    fn examples(&self) -> Examples<'_> {
        Examples {
            pixels: &self.pixels,
            labels: &self.labels,
            width: self.width,
        }
    }
}

/// Exactly `steps` Adam steps of softmax cross-entropy over `data`, epoch after epoch in the
/// order `batches` draws (the last epoch stops part-way): the loop of
/// [`crate::train::train_epoch`], counted in steps rather than epochs.
///
/// Returns the steps taken (`steps`, counted as they happen).
///
/// # Errors
/// [`Error::Diverged`], [`Error::Label`].
pub fn train_steps<N, D>(
    network: &mut N,
    optimizer: &mut (dyn Optimizer<f32> + Send),
    data: &D,
    batches: &mut Batches,
    steps: usize,
) -> Result<usize, Error>
where
    N: Layer<f32>,
    D: Dataset<f32, Targets = Vec<usize>>,
{
    if data.is_empty() {
        return Err(Error::Empty {
            what: "training set",
            purpose: "train on",
        });
    }
    let mut loss = SoftmaxCrossEntropy::new();
    let mut buffer = Batch::<f32, Vec<usize>>::default();
    let mut silent = crate::train::Silent;
    let (mut taken, mut epoch) = (0, 0);
    network.zero_grad();
    on_pool(|| {
        while taken < steps {
            epoch += 1;
            let mut running = EpochLoss::new(Stage::Fit, epoch, 0, &mut silent);
            batches.start_epoch(data.len());
            while taken < steps
                && let Some(batch) = batches.next(data, &mut buffer)
            {
                let logits = network.forward(batch.x.view()); // x: (B, in) → logits: (B, C)
                running.add(loss.forward(logits, &batch.targets)?)?; // L = CE(logits, y)
                network.backward_params(loss.backward()); // dlogits → every dW, db
                optimizer.step_and_zero_grad(network);
                taken += 1;
            }
        }
        Ok(taken)
    })
}

/// Test accuracy and mean cross-entropy of stage 2 on precomputed `features: (N, 128)`.
fn head_evaluation(
    network: &mut TwoStageNetwork<f32>,
    features: ArrayView2<f32>,
    labels: &[u8],
) -> Result<(f64, f64), Error> {
    let mut cross_entropy = SoftmaxCrossEntropy::new();
    let (mut correct, mut loss_sum) = (0usize, 0.0);
    for (c, chunk) in features.axis_chunks_iter(Axis(0), CHUNK_ROWS).enumerate() {
        let rows = c * CHUNK_ROWS..c * CHUNK_ROWS + chunk.nrows();
        let chunk_labels: Vec<usize> = labels[rows].iter().map(|&l| usize::from(l)).collect();
        let logits = network.stage2.forward(chunk); // f: (rows, 128) → z: (rows, C)
        for (row, &label) in logits.rows().into_iter().zip(&chunk_labels) {
            correct += usize::from(argmax(row.iter().copied()) == label);
        }
        loss_sum += cross_entropy.forward(logits, &chunk_labels)? as f64 * chunk.nrows() as f64;
    }
    let n = labels.len().max(1) as f64;
    Ok((correct as f64 / n, loss_sum / n))
}

/// Test accuracy and mean cross-entropy of the whole network.
fn full_evaluation(
    network: &mut TwoStageNetwork<f32>,
    test: Examples,
) -> Result<(f64, f64), Error> {
    let evaluation = evaluate(network, test)?;
    Ok((evaluation.accuracy, evaluation.loss))
}
