//! The engine's speed: matmul throughput on the network's layer shapes, one training step of
//! each stage, and (with `MNIST_DIR` set) one full epoch of each stage on real MNIST.
//!
//! ```text
//! cargo bench --bench train                  # everything, a few minutes
//! cargo bench --bench train -- matmul        # GFLOP/s of every layer product, 1 and 2 threads,
//!                                            # forward and dW on each rung the CPU has, and
//!                                            # the per-shape floor of an AE step
//! cargo bench --bench train -- step          # one training step per stage, batch 32 and 256
//! MNIST_DIR=… cargo bench --bench train -- epoch
//! ```
//! Matmul throughput is reported as elements per second with one element per floating-point
//! operation (`2·m·k·n` per product), so criterion's `Gelem/s` reads as GFLOP/s.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use ndarray::{Array2, ArrayView2, ShapeBuilder};
use twostage::batches::gather_normalised;
use twostage::data::mnist::{Mnist, Split};
use twostage::linalg::simd::{Rung, set_rung};
use twostage::linalg::{gemm, gemm_matrixmultiply, on_pool};
use twostage::nn::{Layer, MseLoss, SoftmaxCrossEntropy};
use twostage::optim::{Adam, Optimizer};
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};
use twostage::train::{self, Batches, EpochLoss, Examples, Order, Silent, Stage};
use twostage::{Dims, Part, Stage1Grad, TwoStageNetwork};

/// The time `iters` runs of `step` take, on the calling thread.
fn time_steps(iters: u64, mut step: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        step();
    }
    start.elapsed()
}

/// [`time_steps`] inside one `on_pool`, as an epoch runs its steps.
fn time_steps_on_pool(iters: u64, step: impl FnMut() + Send) -> Duration {
    on_pool(|| time_steps(iters, step))
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

fn random(rows: usize, cols: usize, rng: &mut SmallRng) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
}

/// A named product `out = a·b`.
type Product<'a> = (
    &'a str,
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
    &'a mut Array2<f32>,
);

/// The three products of one `Linear(inputs, outputs)` at batch `b`, in the layouts `Dense`
/// uses: forward `x·Wᵀ`, `dW = dyᵀ·x`, `dx = dy·W`.
fn bench_layer_products(c: &mut Criterion, b: usize, inputs: usize, outputs: usize) {
    let mut rng = SmallRng::seed_from_u64(0);
    let x = random(b, inputs, &mut rng);
    let w = random(outputs, inputs, &mut rng);
    let dy = random(b, outputs, &mut rng);
    let mut y = Array2::zeros((b, outputs));
    let mut dw = Array2::zeros((outputs, inputs));
    let mut dx = Array2::zeros((b, inputs));
    let flops = (2 * b * inputs * outputs) as u64;

    let mut group = c.benchmark_group(format!("matmul/{inputs}x{outputs}/b{b}"));
    group
        .throughput(Throughput::Elements(flops))
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let products: [Product; 3] = [
        // y: (B, out) = x: (B, in) · Wᵀ: (in, out)
        ("forward", x.view(), w.t(), &mut y),
        // dW: (out, in) = dyᵀ: (out, B) · x: (B, in)
        ("dW", dy.t(), x.view(), &mut dw),
        // dx: (B, in) = dy: (B, out) · W: (out, in)
        ("dx", dy.view(), w.view(), &mut dx),
    ];
    // The rung TWOSTAGE_SIMD chose, restored for the benches after these.
    let chosen = twostage::linalg::simd::rung();
    for (name, a, bm, out) in products {
        // The forward product runs a different kernel on each rung, dW its own on the AVX2 and
        // AVX-512 rungs (linalg/atb.rs); dx is matrixmultiply's on every rung, measured once.
        let per_rung = name != "dx";
        let rungs = if per_rung {
            Rung::supported_rungs()
        } else {
            vec![Rung::best()]
        };
        for rung in rungs {
            set_rung(rung).expect("a supported rung");
            let id = if per_rung {
                format!("{name}/{rung}")
            } else {
                name.to_string()
            };
            for threads in [1, 2] {
                let pool = pool(threads);
                group.bench_function(BenchmarkId::new(&id, format!("{threads}t")), |bencher| {
                    pool.install(|| bencher.iter(|| gemm(1.0, a, bm, 0.0, out.view_mut())))
                });
            }
        }
        set_rung(chosen).expect("the rung chosen at start");
    }
    // The forward product by matrixmultiply with its operands in the layout it packs fastest
    // (x column-major, Wᵀ row-major, copied once outside the timing): what the forward would cost
    // if `Wᵀ` needed no gather, the per-shape reference the kernels are compared with.
    let mut x_cm = Array2::<f32>::zeros((b, inputs).f());
    x_cm.assign(&x);
    let wt = w.t().as_standard_layout().into_owned();
    group.bench_function(
        BenchmarkId::new("forward/matrixmultiply-best-layout", "1t"),
        |bencher| {
            bencher.iter(|| gemm_matrixmultiply(1.0, x_cm.view(), wt.view(), 0.0, y.view_mut()))
        },
    );
    group.finish();
}

fn matmul(c: &mut Criterion) {
    for b in [32, 256] {
        for (inputs, outputs) in [(784, 256), (256, 128), (128, 256), (256, 784), (128, 64)] {
            bench_layer_products(c, b, inputs, outputs);
        }
    }
    // The engine's ceiling: a large square product.
    let mut rng = SmallRng::seed_from_u64(1);
    let (a, b) = (random(1024, 1024, &mut rng), random(1024, 1024, &mut rng));
    let mut out = Array2::zeros((1024, 1024));
    let mut group = c.benchmark_group("matmul/1024cubed");
    group
        .throughput(Throughput::Elements(2 * 1024 * 1024 * 1024))
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    for threads in [1, 2] {
        let pool = pool(threads);
        group.bench_function(format!("{threads}t"), |bencher| {
            pool.install(|| bencher.iter(|| gemm(1.0, a.view(), b.view(), 0.0, out.view_mut())))
        });
    }
    group.finish();
    ae_step_floor(c);
}

/// The per-shape floor of issue 14: the eleven products of one autoencoder step at batch 32
/// (four forward, four `dW`, three `dx`), each by matrixmultiply with its operands in the layout
/// it packs fastest, on one thread, hot in cache. An AE epoch is 1 875 such steps; how close an
/// epoch comes to 1 875 times this is the share of matrixmultiply's throughput it reaches
/// (`gemm_probe -- floor` prints the same sum from minima, for alternating with epochs).
fn ae_step_floor(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(2);
    let mut products = Vec::new();
    let mut flops = 0;
    for (i, o) in [(784, 256), (256, 128), (128, 256), (256, 784)] {
        let (x, w, dy) = (
            random(32, i, &mut rng),
            random(o, i, &mut rng),
            random(32, o, &mut rng),
        );
        let mut shapes = vec![
            (x.view().to_owned(), w.t().to_owned()),
            (dy.t().to_owned(), x.clone()),
        ];
        if i != 784 {
            shapes.push((dy.clone(), w.clone()));
        }
        for (a, b) in shapes {
            let mut a_best = Array2::<f32>::zeros(a.dim().f());
            a_best.assign(&a);
            let b_best = b.as_standard_layout().into_owned();
            flops += 2 * a.nrows() * a.ncols() * b.ncols();
            let out = Array2::<f32>::zeros((a.nrows(), b.ncols()));
            products.push((a_best, b_best, out));
        }
    }
    let mut group = c.benchmark_group("matmul/ae-step-floor/b32");
    group
        .throughput(Throughput::Elements(flops as u64))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("matrixmultiply-best-layouts/1t", |bencher| {
        bencher.iter(|| {
            for (a, b, out) in products.iter_mut() {
                gemm_matrixmultiply(1.0, a.view(), b.view(), 0.0, out.view_mut());
            }
        })
    });
    group.finish();
}

/// A network and one batch of random pixels and labels.
struct StepFixture {
    network: TwoStageNetwork<f32>,
    inputs: Array2<f32>,
    features: Array2<f32>,
    labels: Vec<usize>,
}

impl StepFixture {
    fn new(batch: usize) -> StepFixture {
        let mut rng = SmallRng::seed_from_u64(0);
        let mut network = TwoStageNetwork::new(Dims::MNIST, &mut rng);
        let pixels: Vec<u8> = (0..batch * 784).map(|_| rng.random()).collect();
        let indices: Vec<usize> = (0..batch).collect();
        let mut inputs = Array2::zeros((0, 0));
        gather_normalised(&pixels, 784, &indices, &mut inputs);
        let labels = (0..batch).map(|_| rng.random_range(0..10)).collect();
        let features = network.features(inputs.view()).to_owned();
        StepFixture {
            network,
            inputs,
            features,
            labels,
        }
    }
}

/// Where a step bench runs its steps.
#[derive(Clone, Copy)]
enum Thread {
    /// All steps of a measurement inside one `on_pool`, as an epoch runs them.
    Pool,
    /// On the calling thread.
    Caller,
}

impl StepFixture {
    /// Benches `step` on this fixture under `name`, on `thread`.
    fn bench<R>(
        mut self,
        group: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        thread: Thread,
        mut step: impl FnMut(&mut StepFixture) -> R + Send,
    ) {
        group.bench_function(name, |bencher| {
            bencher.iter_custom(|iters| {
                let one = || {
                    black_box(step(&mut self));
                };
                match thread {
                    Thread::Pool => time_steps_on_pool(iters, one),
                    Thread::Caller => time_steps(iters, one),
                }
            })
        });
    }
}

/// One training step of each stage, exactly as the epoch loops in `train` run it (all steps of
/// a measurement inside one `on_pool`, as an epoch's are, except the stage-2 head's, which
/// trains on the calling thread; without the gather of the batch).
fn step(c: &mut Criterion) {
    for batch in [32, 256] {
        let mut group = c.benchmark_group(format!("step/b{batch}"));
        group
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));

        let (mut mse, mut adam) = (MseLoss::new(), Adam::new(1e-3));
        StepFixture::new(batch).bench(&mut group, "autoencoder", Thread::Pool, |f| {
            let reconstruction = f.network.reconstruction(f.inputs.view());
            let loss = mse.forward(reconstruction, f.inputs.view());
            f.network.reconstruction_backward(mse.backward());
            adam.step_and_zero_grad(&mut f.network.parts(&[Part::Stage1, Part::Decoder]));
            loss
        });

        let (mut mse, mut adam) = (MseLoss::new(), Adam::new(1e-3));
        StepFixture::new(batch).bench(&mut group, "seed", Thread::Pool, |f| {
            let features = f.network.features(f.inputs.view());
            let loss = mse.forward(features, features);
            f.network.stage1.backward_params(mse.backward());
            adam.step_and_zero_grad(&mut f.network.stage1);
            loss
        });

        // On the calling thread: none of the head's products is large enough to split.
        let (mut ce, mut adam) = (SoftmaxCrossEntropy::new(), Adam::new(1e-3));
        StepFixture::new(batch).bench(&mut group, "stage2_head", Thread::Caller, |f| {
            let logits = f.network.stage2.forward(f.features.view());
            let loss = ce.forward(logits, &f.labels).unwrap();
            f.network.stage2.backward_params(ce.backward());
            adam.step_and_zero_grad(&mut f.network.stage2);
            loss
        });

        let (mut ce, mut adam) = (SoftmaxCrossEntropy::new(), Adam::new(3e-5));
        StepFixture::new(batch).bench(&mut group, "finetune", Thread::Pool, |f| {
            let logits = f.network.logits(f.inputs.view());
            let loss = ce.forward(logits, &f.labels).unwrap();
            f.network
                .logits_backward(ce.backward(), Stage1Grad::Trainable);
            adam.step_and_zero_grad(&mut f.network.parts(&[Part::Stage1, Part::Stage2]));
            loss
        });
        group.finish();
    }
}

/// The network every epoch bench starts from.
fn fresh_network() -> TwoStageNetwork<f32> {
    TwoStageNetwork::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0))
}

/// The batches every epoch bench draws: 32 examples, shuffled from seed 0.
fn shuffled_batches() -> Batches {
    Batches::new(32, Order::Shuffled { seed: 0 })
}

/// A stage's epoch on the whole network (`train::autoencoder_epoch`, `seed_epoch`,
/// `finetune_epoch`).
type StageEpoch = fn(
    &mut TwoStageNetwork<f32>,
    &mut (dyn Optimizer<f32> + Send),
    Examples,
    &mut Batches,
    &mut EpochLoss,
) -> Result<(), twostage::Error>;

/// Benches one `epoch` of `stage` over `train_set` under `name`, from a fresh network with
/// Adam at `lr`; returns the network as the bench left it.
fn bench_stage_epoch(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    (stage, epoch): (Stage, StageEpoch),
    lr: f64,
    train_set: Examples,
) -> TwoStageNetwork<f32> {
    let (mut network, mut batches) = (fresh_network(), shuffled_batches());
    let mut adam = Adam::new(lr);
    group.bench_function(name, |b| {
        b.iter(|| {
            let mut silent = Silent;
            let mut loss = EpochLoss::new(stage, 1, 1, &mut silent);
            epoch(&mut network, &mut adam, train_set, &mut batches, &mut loss).unwrap()
        })
    });
    network
}

/// One full epoch of each stage on the 60 000 MNIST training images, batch 32.
fn epoch(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("MNIST_DIR").map(PathBuf::from) else {
        eprintln!("epoch benches skipped: set MNIST_DIR to a folder holding the MNIST files");
        return;
    };
    let mnist = Mnist::load_any(&dir, Split::Train).expect("MNIST training set");
    let test = Mnist::load_any(&dir, Split::Test).expect("MNIST test set");
    let train_set = mnist.examples();
    let test_set = test.examples();

    let mut group = c.benchmark_group("epoch");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));

    let stage1: [(&str, StageEpoch); 2] = [
        ("autoencoder", train::autoencoder_epoch),
        ("seed", train::seed_epoch),
    ];
    for (name, epoch) in stage1 {
        bench_stage_epoch(&mut group, name, (Stage::Stage1, epoch), 1e-3, train_set);
    }

    let (mut network, mut batches) = (fresh_network(), shuffled_batches());
    group.bench_function("stage2_features", |b| {
        b.iter(|| train::features_of(&mut network, train_set))
    });
    let features = train::features_of(&mut network, train_set);
    let mut adam = Adam::new(1e-3);
    group.bench_function("stage2_head", |b| {
        b.iter(|| {
            train::head_epoch(
                &mut network,
                &mut adam,
                &features,
                train_set.labels,
                &mut batches,
                &mut EpochLoss::new(Stage::Stage2, 1, 1, &mut Silent),
            )
            .unwrap()
        })
    });

    let mut network = bench_stage_epoch(
        &mut group,
        "finetune",
        (Stage::Finetune, train::finetune_epoch),
        3e-5,
        train_set,
    );

    group.bench_function("evaluate_test", |b| {
        b.iter(|| train::evaluate(&mut network, test_set).unwrap())
    });
    group.finish();
}

criterion_group!(benches, matmul, step, epoch);
criterion_main!(benches);
