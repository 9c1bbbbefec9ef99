//! Counts heap allocations in steady-state training steps: after a warm-up step has sized every
//! buffer, an autoencoder step allocates nothing on the AVX2 and AVX-512 rungs, on one thread
//! or two (the two-core `dx` product keeps its partial sums in a buffer each thread keeps,
//! `linalg/split_sum.rs`). On the portable rung what remains is matrixmultiply's packing
//! buffer, one per product it does (per half of a split product): 11 a step on one thread,
//! 22 on two.
//!
//! ```text
//! cargo bench --bench alloc_count
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array2;
use twostage::linalg::on_pool;
use twostage::nn::MseLoss;
use twostage::optim::{Adam, Optimizer};
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};
use twostage::{Dims, Part, TwoStageNetwork};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let mut rng = SmallRng::seed_from_u64(0);
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut rng);
    let inputs = Array2::from_shape_fn((32, 784), |_| rng.random_range(-1.0..1.0));
    let (mut mse, mut adam) = (MseLoss::new(), Adam::new(1e-3));
    let steps = 100;
    // One `on_pool` around all the steps, as the training loops wrap an epoch: `on_pool` itself
    // allocates (rayon's scope and its spinner jobs), once per epoch.
    let n = on_pool(|| {
        let mut step = || {
            let reconstruction = network.reconstruction(inputs.view());
            let loss = mse.forward(reconstruction, inputs.view());
            network.reconstruction_backward(mse.backward());
            adam.step_and_zero_grad(&mut network.parts(&[Part::Stage1, Part::Decoder]));
            loss
        };
        for _ in 0..3 {
            step(); // warm-up: buffers, Adam's moments
        }
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..steps {
            step();
        }
        ALLOCATIONS.load(Ordering::Relaxed) - before
    });
    println!(
        "{n} allocations in {steps} autoencoder steps ({:.1} per step)",
        n as f64 / steps as f64
    );
}
