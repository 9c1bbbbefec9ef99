//! Adam's update alone on weights of growing size, one thread: time per weight. If memory were
//! the limit, weights that fit in L1 (64×64: 64 KB of weights, gradients and moments) would be
//! updated much faster than ones streamed from L3 (784×256: 3.2 MB); they are not, so the
//! update is bound by its arithmetic (one square root and one division per weight).
//!
//! ```text
//! cargo bench --bench adam_size_probe            (TWOSTAGE_SIMD picks the rung)
//! ```

use std::time::Instant;

use twostage::nn::Dense;
use twostage::optim::{Adam, Optimizer};
use twostage::rand::{SeedableRng, rngs::SmallRng};

fn main() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("one global pool");
    for (inputs, outputs) in [(64, 64), (128, 128), (256, 128), (256, 256), (784, 256)] {
        let mut layer = Dense::<f32>::new(inputs, outputs, &mut SmallRng::seed_from_u64(0));
        layer.dweight.fill(0.001);
        let mut adam = Adam::new(1e-3);
        let reps = (4_000_000 / (inputs * outputs)).max(50);
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..reps {
                adam.step(&mut layer);
            }
            best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        }
        let n = (inputs * outputs + outputs) as f64;
        println!(
            "{inputs}x{outputs}: {:.1} us, {:.3} ns/param, {:.1} GB/s at 32 B/param",
            best * 1e6,
            best * 1e9 / n,
            32.0 * n / best / 1e9
        );
    }
}
