//! Liveness with far more pool threads than cores (issue 9, item 8): `linalg::on_pool` used to
//! run a spinner on every other pool thread for a whole epoch, so with 512 threads on a few
//! cores the training thread got a sliver of a core and an epoch never finished. This test owns
//! its process's global pool (one test per binary), so it lives in a file of its own.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use twostage::optim::Adam;
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};
use twostage::train::{Batches, EpochLoss, Examples, Observer, Order, Stage, autoencoder_epoch};

/// Counts the batches an epoch trains.
struct Count(usize);
impl Observer for Count {
    fn batch_end(&mut self, _: Stage, _: usize, _: usize, _: f32) {
        self.0 += 1;
    }
}
use twostage::{Dims, TwoStageNetwork};

/// A generous deadline for 40 autoencoder steps (about 0.2 s of work on one core): a liveness
/// check, not a speed assertion.
const DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn an_epoch_on_a_512_thread_pool_finishes() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(512)
        .build_global()
        .expect("this test binary builds the global pool first");
    let images = 1280;
    let mut rng = SmallRng::seed_from_u64(3);
    let pixels: Vec<u8> = (0..images * 784).map(|_| rng.random()).collect();
    let labels: Vec<u8> = (0..images).map(|i| (i % 10) as u8).collect();

    let (sender, receiver) = mpsc::channel();
    let start = Instant::now();
    // On a thread of its own, so a hang fails the test at the deadline instead of hanging it.
    std::thread::spawn(move || {
        let train = Examples {
            pixels: &pixels,
            labels: &labels,
            width: 784,
        };
        let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
        let mut adam = Adam::new(1e-3);
        let mut batches = Batches::new(32, Order::Shuffled { seed: 1 });
        let mut counted = Count(0);
        let mut loss = EpochLoss::new(Stage::Stage1, 1, 1, &mut counted);
        let result = autoencoder_epoch(&mut network, &mut adam, train, &mut batches, &mut loss)
            .map_err(|e| e.to_string());
        let result = result.map(|()| counted.0);
        let _ = sender.send(result);
    });
    match receiver.recv_timeout(DEADLINE) {
        Ok(result) => assert_eq!(result, Ok(images / 32), "every batch trained"),
        Err(_) => panic!(
            "40 training steps on a 512-thread pool did not finish in {:?}",
            start.elapsed()
        ),
    }
    assert_eq!(rayon::current_num_threads(), 512);
}
