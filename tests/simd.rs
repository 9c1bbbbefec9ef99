#![cfg(feature = "cli")]
//! The kernel ladder (`linalg::simd`): every rung the CPU has trains the same weights, bit for
//! bit, on one and two threads; a bad `TWOSTAGE_SIMD` falls back, and `simd::parse_request` says
//! why. (That each rung's kernels run when it is chosen, and give matrixmultiply's bits, is
//! tested beside the kernels: `linalg::kernels::abt`, `atb`, `optim::adam`.)
//!
//! Only one test here switches the rung ([`simd::set_rung`] is process-wide), and the others
//! run the binary in a process of its own.

mod common;

use std::process::Command;

use twostage::linalg::simd::{self, Rung};
use twostage::nn::Parameters;
use twostage::optim::Adam;
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};
use twostage::train::{Batches, EpochLoss, Examples, Order, Silent, Stage, autoencoder_epoch};
use twostage::{Dims, TwoStageNetwork};

/// Two autoencoder epochs over 320 random images on a pool of `threads`: every weight's bits.
fn trained_bits(threads: usize) -> Vec<u32> {
    let images = 320;
    let mut rng = SmallRng::seed_from_u64(7);
    let pixels: Vec<u8> = (0..images * 784).map(|_| rng.random()).collect();
    let labels = vec![0_u8; images];
    let train = Examples {
        pixels: &pixels,
        labels: &labels,
        width: 784,
    };
    let pool = common::pool(threads);
    pool.install(|| {
        let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
        let mut adam = Adam::new(1e-3);
        let mut batches = Batches::new(32, Order::Shuffled { seed: 1 });
        for epoch in 1..=2 {
            autoencoder_epoch(
                &mut network,
                &mut adam,
                train,
                &mut batches,
                &mut EpochLoss::new(Stage::Stage1, epoch, 2, &mut Silent),
            )
            .expect("training on finite data");
        }
        let mut bits = Vec::new();
        network.visit_params(&mut |_, p| bits.extend(p.value.iter().map(|v| v.to_bits())));
        bits
    })
}

#[test]
fn every_rung_trains_the_same_weights_on_any_thread_count() {
    let rungs = Rung::supported_rungs();
    let mut results: Vec<(Rung, Vec<u32>)> = Vec::new();
    for &rung in &rungs {
        simd::set_rung(rung).expect("a supported rung");
        let one = trained_bits(1);
        let two = trained_bits(2);
        assert!(one == two, "{rung}: 1 and 2 threads disagree");
        results.push((rung, one));
    }
    simd::set_rung(Rung::best()).expect("the best rung");
    // Every product sums in matrixmultiply's order on every rung, and the element-wise passes
    // and Adam compute the same arithmetic, so the rungs differ in speed only.
    for (a, bits_a) in &results[1..] {
        let (b, bits_b) = &results[0];
        let differing = bits_a.iter().zip(bits_b).filter(|(x, y)| x != y).count();
        assert!(
            differing == 0,
            "{a} and {b} disagree on {differing} weights"
        );
    }
    assert!(results.len() == rungs.len() && rungs.contains(&Rung::Portable));
    for rung in Rung::ALL {
        let accepted = simd::set_rung(rung).is_ok();
        assert!(
            !accepted || simd::rung() == rung,
            "set_rung({rung}) did not switch"
        );
        assert!(
            accepted == rung.supported(),
            "set_rung({rung}) must refuse exactly the rungs the CPU lacks"
        );
    }
    simd::set_rung(Rung::best()).expect("the best rung");
}

/// Runs a tiny training through the binary with `TWOSTAGE_SIMD=value`; returns its stderr.
fn train_with(value: &str) -> Option<String> {
    let mnist = common::mnist_dir()?;
    let save = common::temp_dir(&format!("simd-{value}")).join("m.safetensors");
    let out = Command::new(env!("CARGO_BIN_EXE_twostage"))
        .env(simd::ENV, value)
        .args(["train", "--data-dir"])
        .arg(&mnist)
        .args([
            "--train-limit",
            "64",
            "--stage1-epochs",
            "1",
            "--stage2-epochs",
            "1",
        ])
        .arg("--save")
        .arg(&save)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "TWOSTAGE_SIMD={value}: {stderr}");
    Some(stderr)
}

/// A bad value is not fatal: the library falls back to the best rung, silently (it never
/// prints), and says what was wrong through `simd::env_problem`, for the command line to warn.
#[test]
fn a_bad_rung_name_trains_on_the_best_rung_and_says_why() {
    let problem = simd::parse_request("avx9000").expect_err("not a rung");
    assert!(
        problem.contains("TWOSTAGE_SIMD=\"avx9000\" is not a rung"),
        "{problem}"
    );
    let Some(stderr) = train_with("avx9000") else { return };
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_supported_rung_trains_without_a_warning() {
    for rung in Rung::supported_rungs() {
        assert_eq!(simd::parse_request(rung.name()), Ok(Some(rung)));
        let Some(stderr) = train_with(rung.name()) else { return };
        assert!(!stderr.contains("TWOSTAGE_SIMD"), "{rung}: {stderr}");
    }
}

#[test]
fn a_rung_the_cpu_lacks_is_refused_with_a_reason() {
    let Some(&missing) = Rung::ALL.iter().find(|r| !r.supported()) else {
        eprintln!("not testing a missing rung: this CPU has every rung");
        return;
    };
    let problem = simd::parse_request(missing.name()).expect_err("a rung the CPU lacks");
    assert!(
        problem.contains("asks for instructions this CPU lacks"),
        "{problem}"
    );
    assert!(train_with(missing.name()).is_none_or(|stderr| !stderr.contains("panicked")));
}
