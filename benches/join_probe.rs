//! How much a `rayon::join` costs after the other pool thread has been idle for a while: the
//! measurement behind the spinners of `linalg::on_pool`.
//!
//! ```text
//! cargo bench --bench join_probe
//! ```
//! Two threads; each round does `gap` µs of serial work, then joins two 10 µs halves. Printed:
//! the join's time, and how many joins ran both halves on the same thread (nobody stole the
//! second half). Run once as rayon leaves it, once inside `on_pool`.

use std::time::Instant;

use twostage::linalg::on_pool;

fn spin(micros: f64) {
    let start = Instant::now();
    while start.elapsed().as_secs_f64() * 1e6 < micros {
        std::hint::spin_loop();
    }
}

fn rounds(label: &str) {
    for gap in [0.0, 2.0, 5.0, 10.0, 20.0, 40.0] {
        let n = 2000;
        let mut same_thread = 0;
        let start = Instant::now();
        for _ in 0..n {
            spin(gap);
            let (a, b) = rayon::join(
                || {
                    spin(10.0);
                    rayon::current_thread_index()
                },
                || {
                    spin(10.0);
                    rayon::current_thread_index()
                },
            );
            same_thread += usize::from(a == b);
        }
        let join = start.elapsed().as_secs_f64() * 1e6 / n as f64 - gap;
        println!(
            "{label:16} serial gap {gap:4.0} us: join of 2 x 10 us took {join:5.1} us, \
             both halves on one thread {same_thread}/{n}"
        );
    }
}

fn main() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .expect("one global pool");
    let start = Instant::now();
    for _ in 0..1000 {
        std::thread::yield_now();
    }
    println!(
        "std::thread::yield_now: {:.2} us",
        start.elapsed().as_secs_f64() * 1e3
    );
    rayon::scope(|_| rounds("plain rayon"));
    on_pool(|| rounds("on_pool"));
}
