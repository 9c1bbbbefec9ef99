//! One stage-2 (head) training step at batch 32, phase by phase, on the real loop's pieces:
//! forward + cross-entropy, backward, then Adam joined (as `train::train_epoch` does) with
//! gathering the next batch from a `(60000, 128)` feature matrix on the other core; and, for
//! comparison, the same step with the gather first on this core, as the loop did before. Where
//! the stage-2 epoch's time goes (its products are below `linalg::PARALLEL_MIN_MACS`, so the
//! step itself runs on one thread).
//!
//! ```text
//! cargo bench --bench head_phases -- [threads]
//! ```
//! Means over 20000 steps after 2000 warm-up steps, inside one `on_pool`, as in training.

use std::time::Instant;

use ndarray::Array2;
use twostage::batches::{Batch, Batches, Classification, Dataset, Order};
use twostage::linalg::{join, on_pool};
use twostage::model::Route;
use twostage::nn::{Layer, Loss, SoftmaxCrossEntropy};
use twostage::optim::{Adam, Optimizer};
use twostage::rand::{SeedableRng, rngs::SmallRng};
use twostage::{Dims, TwoStageNetwork};

fn main() {
    let threads: usize = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .map_or(2, |s| s.parse().expect("threads"));
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("one global pool");
    const WARM_UP: usize = 2000;
    const STEPS: usize = 20000;
    const N: usize = 60000;
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    let mut adam = Adam::new(1e-3);
    let mut loss = SoftmaxCrossEntropy::new();
    let mut s = 1u32;
    let mut next = move || {
        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
        s >> 8
    };
    let features = Array2::from_shape_fn((N, 128), |_| next() as f32 / 16777216.0 - 0.5);
    let labels: Vec<u8> = (0..N).map(|_| (next() % 10) as u8).collect();
    let data = Classification {
        inputs: features.view(),
        labels: &labels,
    };
    let mut batches = Batches::new(32, Order::Shuffled { seed: 0 });
    let (mut batch, mut next) = (Batch::default(), Batch::<f32, Vec<usize>>::default());
    // [gather, forward + loss, backward, Adam (step_and_zero_grad)]: the serial loop, then the
    // joined one (gather 0, Adam the join of Adam and the next gather).
    let mut seconds = [[0.0_f64; 4]; 2];
    let mut route = network.route(Route::Head);
    on_pool(|| {
        for (joined, seconds) in [false, true].into_iter().zip(&mut seconds) {
            let mut step = 0;
            while step < WARM_UP + STEPS {
                batches.start_epoch(data.len());
                let mut more = batches.next(&data, &mut batch).is_some();
                while more && step < WARM_UP + STEPS {
                    let t0 = Instant::now();
                    if !joined {
                        more = batches.next(&data, &mut next).is_some();
                        std::mem::swap(&mut batch, &mut next);
                    }
                    let t1 = Instant::now();
                    let logits = route.forward(batch.x.view());
                    Loss::forward(&mut loss, logits, &batch).expect("labels are classes");
                    let t2 = Instant::now();
                    route.backward_params(Loss::<f32, Vec<usize>>::backward(&mut loss));
                    let t3 = Instant::now();
                    if joined {
                        (_, more) = join(
                            || adam.step_and_zero_grad(&mut route),
                            || batches.next(&data, &mut next).is_some(),
                        );
                        std::mem::swap(&mut batch, &mut next);
                    } else {
                        adam.step_and_zero_grad(&mut route);
                    }
                    let t4 = Instant::now();
                    if step >= WARM_UP {
                        let phases = [(t0, t1), (t1, t2), (t2, t3), (t3, t4)];
                        for (total, (start, end)) in seconds.iter_mut().zip(phases) {
                            *total += (end - start).as_secs_f64();
                        }
                    }
                    step += 1;
                }
            }
        }
    });
    for (seconds, how) in seconds
        .iter()
        .zip(["gather, then the step", "Adam ‖ next gather"])
    {
        let [gather, forward, backward, adam] = seconds.map(|s| s / STEPS as f64 * 1e6);
        println!(
            "threads {threads}, {how}: gather {gather:.2} us, forward+loss {forward:.2} us, \
             backward {backward:.2} us, Adam with zero_grad {adam:.2} us, step {:.2} us",
            gather + forward + backward + adam
        );
    }
}
