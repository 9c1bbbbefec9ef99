//! Times the training stages on real MNIST, epoch by epoch, the way `torch_baseline.py` reports
//! them, so the two can be compared line for line.
//!
//! ```text
//! cargo bench --bench epoch_timing -- /path/to/mnist [autoencoder|placeholder] [e1] [e2] [threads]
//! ```
//! Prints each epoch's loss and seconds, the time to compute the frozen features, the test
//! evaluation, and one RESULT line. Peak memory: run the binary under `/usr/bin/time -v`.

use std::path::PathBuf;
use std::time::Instant;

use twostage::data::mnist::{Mnist, Split};
use twostage::nn::Parameters;
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;
use twostage::train::{self, EpochStats, Observer, Schedule, Stage1Mode};
use twostage::{Dims, TwoStageNetwork};

struct Print;

impl Observer for Print {
    fn epoch_end(&mut self, s: &EpochStats) {
        println!(
            "{} epoch {}: loss {:.4} ({:.3}s)",
            s.stage.name(),
            s.epoch,
            s.loss,
            s.seconds
        );
    }
}

fn main() {
    // `cargo bench` appends `--bench` to a custom harness's arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let dir = PathBuf::from(
        args.first()
            .map(String::as_str)
            .unwrap_or("../shared/mnist"),
    );
    let stage1 = match args.get(1).map(String::as_str).unwrap_or("autoencoder") {
        "autoencoder" => Stage1Mode::Autoencoder,
        "placeholder" | "seed" => Stage1Mode::Seed,
        "none" => Stage1Mode::None,
        other => panic!("unknown stage 1 mode {other:?}"),
    };
    let e1: usize = args.get(2).map_or(1, |s| s.parse().expect("e1"));
    let e2: usize = args.get(3).map_or(1, |s| s.parse().expect("e2"));
    let threads: usize = args.get(4).map_or(2, |s| s.parse().expect("threads"));
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("one global pool");

    let start = Instant::now();
    let train_set = Mnist::load_any(&dir, Split::Train).expect("training set");
    let test_set = Mnist::load_any(&dir, Split::Test).expect("test set");
    let load_s = start.elapsed().as_secs_f64();
    let train = train_set.examples();
    let test = test_set.examples();

    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    let schedule = Schedule {
        stage1,
        stage1_epochs: e1,
        stage2_epochs: 0,
        ..Schedule::default()
    };
    let t = Instant::now();
    train::run(&mut network, train, &schedule, &mut Print).expect("stage 1");
    let stage1_s = t.elapsed().as_secs_f64();

    // Stage 2 the way `run` does it, frozen features once, then the head epochs, timed
    // separately (with its own shuffling seed, so the weights differ from a CLI run's).
    let t = Instant::now();
    let features = train::features_of(&mut network, train);
    let features_s = t.elapsed().as_secs_f64();
    println!("stage2 features: {features_s:.3}s");
    let mut adam = twostage::optim::Adam::new(schedule.lr);
    let mut batches = train::Batches::new(
        schedule.batch_size,
        train::Order::Shuffled {
            seed: schedule.seed + 1,
        },
    );
    let t = Instant::now();
    for epoch in 1..=e2 {
        let te = Instant::now();
        let mut silent = train::Silent;
        let mut loss = train::EpochLoss::new(train::Stage::Stage2, epoch, e2, &mut silent);
        train::head_epoch(
            &mut network,
            &mut adam,
            &features,
            train.labels,
            &mut batches,
            &mut loss,
        )
        .expect("stage 2");
        println!(
            "stage2 epoch {epoch}: loss {:.4} ({:.3}s)",
            loss.finish().loss,
            te.elapsed().as_secs_f64()
        );
    }
    let stage2_s = t.elapsed().as_secs_f64() + features_s;
    let train_s = stage1_s + stage2_s;

    let t = Instant::now();
    let evaluation = train::evaluate(&mut network, test).expect("evaluate");
    let test_s = t.elapsed().as_secs_f64();
    // A fingerprint of every weight's bits: equal fingerprints mean bit-identical training.
    let mut fingerprint = 0u64;
    network.visit_params(&mut |_, p| {
        for x in p.value.iter() {
            fingerprint =
                (fingerprint.rotate_left(5) ^ x.to_bits() as u64).wrapping_mul(0x100000001b3);
        }
    });
    println!(
        "RESULT fingerprint={fingerprint:016x} threads={threads} load_s={load_s:.2} train_s={train_s:.3} test_s={test_s:.3} \
         total_s={:.3} test_acc={:.4}",
        start.elapsed().as_secs_f64(),
        evaluation.accuracy
    );
}
