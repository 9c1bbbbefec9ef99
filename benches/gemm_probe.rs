//! Probes behind the numbers in `linalg`'s comments: minimum of 300 runs per product, so other
//! load on the machine matters less than in criterion's means.
//!
//! ```text
//! cargo bench --bench gemm_probe [-- rungs]
//! ```
//! - rungs: the forward `x·Wᵀ` and Adam on each rung of the ladder the CPU has (`rungs` alone
//!   stops after this part);
//! - `floor`, `ceiling`, `cold`, `hot`, `divisors` alone: the per-shape floor of an autoencoder step,
//!   the fastest two-thread epoch its parts allow, the layer products with cold caches and hot, Adam's
//!   division by its bias correction checked (each function's docs);
//! - layouts: each layer product as `Dense` calls it, against the same product with operands
//!   laid out the way matrixmultiply packs fastest (a column-major, b row-major);
//! - threshold: one thread against a split over a 2-thread pool, from inside the pool;
//! - Adam: one update of `Linear(784, 256)` on 1 and 2 threads.

use std::time::Instant;

use ndarray::{Array2, ArrayView2, ShapeBuilder};
use twostage::linalg::simd::{Rung, set_rung};
use twostage::linalg::{gemm, gemm_matrixmultiply, gemm_serial, on_pool};
use twostage::nn::{Dense, Parameters};
use twostage::optim::{Adam, Optimizer};
use twostage::rand::{SeedableRng, rngs::SmallRng};
use twostage::{Dims, Part, TwoStageNetwork};

/// `x` column-major and `wᵀ` row-major: the layout in which matrixmultiply does `x·wᵀ` best,
/// to compare the kernels against.
fn best_layout(x: &Array2<f32>, w: &Array2<f32>) -> (Array2<f32>, Array2<f32>) {
    let mut x_good = Array2::<f32>::zeros(x.dim().f());
    x_good.assign(x);
    let mut wt_good = Array2::<f32>::zeros(w.t().dim());
    wt_good.assign(&w.t());
    (x_good, wt_good)
}
fn min_micros(mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..300 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best * 1e6
}

/// Deterministic values in [-0.5, 0.5).
fn filled(rows: usize, cols: usize) -> Array2<f32> {
    let mut s = 1u32;
    Array2::from_shape_fn((rows, cols), |_| {
        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
        (s >> 8) as f32 / 16777216.0 - 0.5
    })
}

fn layouts(name: &str, a: ArrayView2<f32>, b: ArrayView2<f32>) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let mut c = Array2::<f32>::zeros((m, n));
    let gflops = |micros: f64| 2.0 * (m * k * n) as f64 / micros / 1e3;
    let as_is = min_micros(|| gemm_serial(1.0, a, b, 0.0, c.view_mut()));
    let mut a_good = Array2::<f32>::zeros((m, k).f());
    a_good.assign(&a);
    let mut b_good = Array2::<f32>::zeros((k, n));
    b_good.assign(&b);
    let good =
        min_micros(|| gemm_matrixmultiply(1.0, a_good.view(), b_good.view(), 0.0, c.view_mut()));
    println!(
        "{name:22} {m:4}x{k:4}x{n:4}: as called {as_is:6.1} us ({:5.1} GFLOP/s), \
         best layout {good:6.1} us ({:5.1} GFLOP/s)",
        gflops(as_is),
        gflops(good)
    );
}

/// Each rung's forward `x·Wᵀ` on the layer shapes at batch 32, one thread, beside
/// matrixmultiply's sgemm on the same shapes in its fastest layout (the "best layout" product
/// of [`layouts`]), and each rung's Adam update of `Linear(784, 256)`.
fn rungs() {
    let rungs = Rung::supported_rungs();
    // The rung TWOSTAGE_SIMD chose, for the sections after this one.
    let chosen = twostage::linalg::simd::rung();
    println!("## forward x·Wᵀ per rung, batch 32, one thread, GFLOP/s (min of 300 runs)");
    for (i, o) in [(784, 256), (256, 128), (128, 256), (256, 784)] {
        let (x, w) = (filled(32, i), filled(o, i));
        let mut c = Array2::<f32>::zeros((32, o));
        let gflops = |micros: f64| 2.0 * (32 * i * o) as f64 / micros / 1e3;
        let mut line = format!("{i:4}->{o:4}:");
        for &rung in &rungs {
            set_rung(rung).expect("a supported rung");
            let t = min_micros(|| gemm_serial(1.0, x.view(), w.t(), 0.0, c.view_mut()));
            line += &format!(" {rung} {:5.1}", gflops(t));
        }
        let (x_good, wt_good) = best_layout(&x, &w);
        let t = min_micros(|| {
            gemm_matrixmultiply(1.0, x_good.view(), wt_good.view(), 0.0, c.view_mut())
        });
        line += &format!(" | matrixmultiply, best layout {:5.1}", gflops(t));
        println!("{line}");
    }
    println!("## Adam, Linear(784, 256), one thread, per rung");
    let mut rng = <twostage::rand::rngs::SmallRng as twostage::rand::SeedableRng>::seed_from_u64(0);
    let mut layer = Dense::<f32>::new(784, 256, &mut rng);
    let mut adam = Adam::new(1e-3);
    let params = layer.num_params() as f64;
    for &rung in &rungs {
        set_rung(rung).expect("a supported rung");
        let t = min_micros(|| {
            layer.dweight.fill(0.01);
            adam.step(&mut layer)
        });
        println!("{rung}: {t:.1} us = {:.3} ns/param", t * 1e3 / params);
    }
    set_rung(chosen).expect("the rung chosen at start");
}

/// The minimum over 100 runs of `f`, each after the caches were filled with other data (a
/// 64 MB buffer written), as inside a training step, where the 7.5 MB of weights, gradients and
/// moments of the autoencoder pass through between two uses of any one matrix.
fn cold_micros(mut f: impl FnMut()) -> f64 {
    let mut junk = vec![0u8; 64 << 20];
    let mut best = f64::INFINITY;
    for round in 0..100 {
        junk.iter_mut().step_by(64).for_each(|b| *b = round as u8);
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(&junk);
    best * 1e6
}

/// Each layer product of an autoencoder step with cold caches (`cold`) or hot ones (`hot`,
/// the minimum of 300 runs): the forward on each rung, and matrixmultiply's on the same shapes
/// in its best layout, then `dW` and `dx` on the chosen rung.
fn products(cold: bool) {
    let time = |f: &mut dyn FnMut()| if cold { cold_micros(f) } else { min_micros(f) };
    println!(
        "## {} caches: forward x·Wᵀ per rung and matrixmultiply best layout, batch 32, one thread, GFLOP/s",
        if cold { "cold" } else { "hot" }
    );
    for (i, o) in [
        (784, 256),
        (256, 128),
        (128, 256),
        (256, 784),
        (128, 64),
        (64, 10),
    ] {
        let (x, w) = (filled(32, i), filled(o, i));
        let mut c = Array2::<f32>::zeros((32, o));
        let gflops = |micros: f64| 2.0 * (32 * i * o) as f64 / micros / 1e3;
        let mut line = format!("{i:4}->{o:4}:");
        let chosen = twostage::linalg::simd::rung();
        for rung in Rung::supported_rungs() {
            set_rung(rung).expect("a supported rung");
            let t = time(&mut || gemm_serial(1.0, x.view(), w.t(), 0.0, c.view_mut()));
            line += &format!(" {rung} {:5.1}", gflops(t));
        }
        set_rung(chosen).expect("the rung chosen at start");
        let (x_good, wt_good) = best_layout(&x, &w);
        let t = time(&mut || {
            gemm_matrixmultiply(1.0, x_good.view(), wt_good.view(), 0.0, c.view_mut())
        });
        line += &format!(" | mm best layout {:5.1}", gflops(t));
        let dy = filled(32, o);
        let mut dw = Array2::<f32>::zeros((o, i));
        let t = time(&mut || gemm_serial(1.0, dy.t(), x.view(), 1.0, dw.view_mut()));
        line += &format!(" | dW {:5.1}", gflops(t));
        let mut dx = Array2::<f32>::zeros((32, i));
        let t = time(&mut || gemm_serial(1.0, dy.view(), w.view(), 0.0, dx.view_mut()));
        line += &format!(" | dx {:5.1}", gflops(t));
        println!("{line}");
    }
}

/// Adam divides `√v` by `√(1 − β₂ᵗ)` with a multiply by its `f64` reciprocal
/// (`Scalar::div_by_constant`): checks it against the division on every significand of `√v`
/// (one binade covers them all) for the divisor of every step up to 20 000 at β₂ = 0.999, the
/// distinct ones, on the rayon pool.
fn divisors() {
    use rayon::prelude::*;
    use twostage::linalg::Scalar;
    let mut cs: Vec<f32> = (1..=20_000)
        .map(|t| (1.0 - 0.999_f64.powf(t as f64)).sqrt() as f32)
        .collect();
    cs.dedup();
    let start = Instant::now();
    let wrong: usize = cs
        .par_iter()
        .map(|&c| {
            let reciprocal = 1.0 / c as f64;
            (1.0_f32.to_bits()..2.0_f32.to_bits())
                .filter(|&bits| {
                    let x = f32::from_bits(bits);
                    (x / c).to_bits() != x.div_by_constant(c, reciprocal).to_bits()
                })
                .count()
        })
        .sum();
    println!(
        "## divisors: {} distinct divisors × 2^23 significands, {wrong} differ from the division ({:.0} s)",
        cs.len(),
        start.elapsed().as_secs_f64()
    );
}

/// Times each of the eleven products of an autoencoder step (four forward, four `dW`, three
/// `dx`: the first layer needs none), one thread, hot in cache, minimum of 300 runs: returns
/// `(m, k, n)` with matrixmultiply's time in the operand layout it packs fastest and
/// `gemm_serial`'s as `Dense` calls it (our kernels), in µs.
fn step_products() -> Vec<((usize, usize, usize), f64, f64)> {
    let mut timed = Vec::new();
    for (i, o) in [(784, 256), (256, 128), (128, 256), (256, 784)] {
        let (x, w, dy) = (filled(32, i), filled(o, i), filled(32, o));
        let mut products = vec![(x.view(), w.t()), (dy.t(), x.view())];
        if i != 784 {
            products.push((dy.view(), w.view()));
        }
        for (a, b) in products {
            let ((m, k), n) = (a.dim(), b.ncols());
            let mut a_good = Array2::<f32>::zeros((m, k).f());
            a_good.assign(&a);
            let mut b_good = Array2::<f32>::zeros((k, n));
            b_good.assign(&b);
            let mut c = Array2::<f32>::zeros((m, n));
            let matrixmultiply = min_micros(|| {
                gemm_matrixmultiply(1.0, a_good.view(), b_good.view(), 0.0, c.view_mut())
            });
            let ours = min_micros(|| gemm_serial(1.0, a, b, 0.0, c.view_mut()));
            timed.push(((m, k, n), matrixmultiply, ours));
        }
    }
    timed
}

/// The per-shape floor of issue 14: matrixmultiply's one-thread time for each of the eleven
/// products of a step ([`step_products`]), summed, and scaled to the 1 875 steps of an epoch.
/// An epoch that takes `floor / 0.6` runs at 60 % of matrixmultiply's throughput on its own
/// shapes.
fn floor() {
    let timed = step_products();
    let micros: f64 = timed
        .iter()
        .map(|&(_, matrixmultiply, _)| matrixmultiply)
        .sum();
    let flops: f64 = timed
        .iter()
        .map(|&((m, k, n), ..)| 2.0 * (m * k * n) as f64)
        .sum();
    println!(
        "floor: {micros:.1} us per step = {:.3} s per epoch of 1875 steps, {:.1} GFLOP/s; 60 % of it is an epoch of {:.3} s",
        micros * 1875.0 / 1e6,
        flops / micros / 1e3,
        micros * 1875.0 / 1e6 / 0.6
    );
}

/// The fastest two-thread autoencoder epoch this machine allows from its parts, a bound that
/// decides whether a speed target is reachable at all before anyone tunes for it:
/// - each of the eleven products of a step ([`step_products`]) at the faster of matrixmultiply
///   and our kernels; summed and halved, as if two cores split every product perfectly;
/// - plus Adam over the whole autoencoder on a two-thread pool, hot, minimum of 300 steps
///   (`step`, without training's write of zeros into the gradients): it moves 28 bytes a
///   parameter and is bound by what the two cores together get from their caches;
/// - everything else (loss, bias, ReLU, the batch gather, waiting) counted as free.
///
/// A real epoch is slower: products in a step find `W` in L3, not L1/L2, and scale by
/// 1.5–1.9× on two cores, not 2× (`benches/README.md`).
fn ceiling() {
    let products: f64 = step_products()
        .iter()
        .map(|&(_, matrixmultiply, ours)| matrixmultiply.min(ours))
        .sum();
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    const TRAINED: &[Part] = &[Part::Stage1, Part::Decoder];
    let mut params = 0;
    network.parts(TRAINED).visit_params(&mut |_, mut p| {
        params += p.value.len();
        p.grad.fill(0.01);
    });
    let mut optimizer = Adam::new(1e-3);
    // As training runs it: the global pool of two threads, inside one `on_pool`, whose spinner
    // keeps the second core awake between steps (a sleeping one costs a wake-up a step).
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .expect("the global pool, built once");
    // `step` leaves the gradients in place, so every timed step does the same arithmetic, and
    // it does less than training's `step_and_zero_grad` (no write of the zeros): a lower bound.
    let adam = on_pool(|| min_micros(|| optimizer.step(&mut network.parts(TRAINED))));
    let step = products / 2.0 + adam;
    println!(
        "ceiling: products {products:.1} us one thread (faster of matrixmultiply and ours, hot), \
         half of it {:.1} us; Adam over {params} parameters on 2 threads {adam:.1} us; best two-thread step {step:.1} us = {:.3} s per epoch of 1875 steps",
        products / 2.0,
        step * 1875.0 / 1e6
    );
}

/// Each of the eleven products of an autoencoder step as `Dense` calls it (`gemm`, accumulating
/// into `c` as training does), hot, minimum of 300 runs, on a one-thread pool and on a
/// two-thread pool inside `on_pool` (its spinner keeps the second core awake): how well each
/// product splits over two cores.
fn split() {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let (mut sum1, mut sum2) = (0.0, 0.0);
    for (i, o) in [(784, 256), (256, 128), (128, 256), (256, 784)] {
        let (x, w, dy) = (filled(32, i), filled(o, i), filled(32, o));
        let mut products = vec![("x·Wᵀ", x.view(), w.t()), ("dyᵀ·x", dy.t(), x.view())];
        if i != 784 {
            products.push(("dy·W", dy.view(), w.view()));
        }
        for (name, a, b) in products {
            let ((m, k), n) = (a.dim(), b.ncols());
            let mut c = Array2::<f32>::zeros((m, n));
            let mut time = |pool: &rayon::ThreadPool| {
                pool.install(|| on_pool(|| min_micros(|| gemm(1.0, a, b, 1.0, c.view_mut()))))
            };
            let (t1, t2) = (time(&one), time(&two));
            let gflop = 2.0 * (m * k * n) as f64 / 1e3;
            println!(
                "{i:3}->{o:3} {name:6} {m:4}x{k:4}x{n:4}: 1 thread {t1:6.1} us ({:5.1} GFLOP/s), \
                 2 threads {t2:6.1} us ({:5.1} GFLOP/s), speed-up {:.2}",
                gflop / t1,
                gflop / t2,
                t1 / t2
            );
            (sum1, sum2) = (sum1 + t1, sum2 + t2);
        }
    }
    println!(
        "all eleven: 1 thread {sum1:.1} us, 2 threads {sum2:.1} us, speed-up {:.2}",
        sum1 / sum2
    );
}

fn main() {
    if std::env::args().any(|a| a == "split") {
        split();
        return;
    }
    if std::env::args().any(|a| a == "floor") {
        floor();
        return;
    }
    if std::env::args().any(|a| a == "ceiling") {
        ceiling();
        return;
    }
    if std::env::args().any(|a| a == "divisors") {
        divisors();
        return;
    }
    for mode in ["cold", "hot"] {
        if std::env::args().any(|a| a == mode) {
            products(mode == "cold");
            return;
        }
    }
    rungs();
    if std::env::args().any(|a| a == "rungs") {
        return;
    }
    println!("## layouts, batch 32, one thread");
    for (i, o) in [(784, 256), (256, 128), (128, 256), (256, 784), (128, 64)] {
        let (x, w, dy) = (filled(32, i), filled(o, i), filled(32, o));
        layouts(&format!("{i}->{o} forward x·Wᵀ"), x.view(), w.t());
        layouts(&format!("{i}->{o} dW dyᵀ·x"), dy.t(), x.view());
        layouts(&format!("{i}->{o} dx dy·W"), dy.view(), w.view());
    }
    println!("## forward x·Wᵀ at larger batches (evaluation, features), one thread");
    for rows in [64, 128, 256, 512, 1000] {
        let (x, w) = (filled(rows, 784), filled(256, 784));
        layouts("784->256 forward x·Wᵀ", x.view(), w.t());
    }

    println!("## threshold: gemm on a 1-thread pool vs a 2-thread pool");
    println!("(run with PARALLEL_MIN_MACS temporarily 1 to see every size split)");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for (m, k, n) in [
        (32, 64, 10),
        (32, 32, 64),
        (32, 64, 64),
        (32, 128, 64),
        (64, 32, 128),
        (32, 64, 128),
        (32, 128, 128),
        (32, 256, 128),
    ] {
        let (a, b) = (filled(m, k), filled(n, k));
        let mut c = Array2::<f32>::zeros((m, n));
        let mut time = |pool: &rayon::ThreadPool| {
            pool.install(|| min_micros(|| gemm(1.0, a.view(), b.t(), 0.0, c.view_mut())))
        };
        let (t1, t2) = (time(&one), time(&two));
        println!(
            "{m}x{k}x{n} = {:7} MACs: 1 thread {t1:6.2} us, 2 threads {t2:6.2} us, speed-up {:.2}",
            m * k * n,
            t1 / t2
        );
    }

    println!("## Adam, Linear(784, 256)");
    let mut rng = <twostage::rand::rngs::SmallRng as twostage::rand::SeedableRng>::seed_from_u64(0);
    let mut layer = Dense::<f32>::new(784, 256, &mut rng);
    layer.dweight.fill(0.01);
    layer.dbias.fill(0.01);
    let mut adam = Adam::new(1e-3);
    let params = layer.num_params() as f64;
    for (threads, pool) in [(1, &one), (2, &two)] {
        let t = pool.install(|| min_micros(|| adam.step(&mut layer)));
        println!(
            "{threads} thread(s): {t:.1} us = {:.3} ns/param",
            t * 1e3 / params
        );
    }
}
