//! One autoencoder training step at batch 32, timed phase by phase (forward + loss, backward,
//! Adam), on synthetic inputs: where a step's time goes. Also the cost of clearing the
//! gradients in a pass of its own (`zero_grad`), which the training loops fold into Adam's
//! pass (`step_and_zero_grad`).
//!
//! ```text
//! cargo bench --bench step_phases -- [threads]
//! ```
//! Means over 2500 steps after 500 warm-up steps, all inside one `on_pool`, as in training.

use std::time::Instant;

use ndarray::Array2;
use twostage::linalg::on_pool;
use twostage::nn::{MseLoss, Parameters};
use twostage::optim::{Adam, Optimizer};
use twostage::rand::{SeedableRng, rngs::SmallRng};
use twostage::{Dims, Part, TwoStageNetwork};

fn main() {
    let threads: usize = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .map_or(2, |s| s.parse().expect("threads"));
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("one global pool");
    const TRAINED: &[Part] = &[Part::Stage1, Part::Decoder];
    const WARM_UP: usize = 500;
    const STEPS: usize = 2500;
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    let mut adam = Adam::new(1e-3);
    let mut mse = MseLoss::new();
    let mut s = 1u32;
    let x = Array2::from_shape_fn((32, 784), |_| {
        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
        (s >> 8) as f32 / 16777216.0 - 0.5
    });
    // forward + loss, backward, Adam (step_and_zero_grad), a separate zero_grad
    let mut seconds = [0.0_f64; 4];
    on_pool(|| {
        for step in 0..WARM_UP + STEPS {
            let t1 = Instant::now();
            let reconstruction = network.reconstruction(x.view());
            mse.forward(reconstruction, x.view());
            let t2 = Instant::now();
            let dreconstruction = mse.backward();
            network.reconstruction_backward(dreconstruction);
            let t3 = Instant::now();
            adam.step_and_zero_grad(&mut network.parts(TRAINED));
            let t4 = Instant::now();
            network.parts(TRAINED).zero_grad();
            let t5 = Instant::now();
            if step >= WARM_UP {
                let phases = [(t1, t2), (t2, t3), (t3, t4), (t4, t5)];
                for (total, (start, end)) in seconds.iter_mut().zip(phases) {
                    *total += (end - start).as_secs_f64();
                }
            }
        }
    });
    let [forward, backward, adam, zero] = seconds.map(|s| s / STEPS as f64 * 1e6);
    println!(
        "threads {threads}: forward+loss {forward:.1} us, backward {backward:.1} us, \
         Adam with zero_grad {adam:.1} us, step {:.1} us; a separate zero_grad {zero:.1} us",
        forward + backward + adam
    );
}
