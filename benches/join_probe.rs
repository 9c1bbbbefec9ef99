//! How much a `rayon::join` costs after the other pool thread has been idle for a while: the
//! measurement behind the spinners of `linalg::on_pool`.
//!
//! ```text
//! cargo bench --bench join_probe
//! ```
//! Two threads; each round does `gap` µs of serial work, then joins two 10 µs halves. Printed:
//! the join's time, and how many joins ran both halves on the same thread (nobody stole the
//! second half). Run once as rayon leaves it, once inside `on_pool`. Then, inside `on_pool`,
//! joins of uneven halves (the left one, run by the joining thread, shorter), by `rayon::join`
//! and by `linalg::join`, which spins while the other thread finishes: the time over the
//! longer half.

use std::time::Instant;

use twostage::linalg::{join, on_pool};

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

/// Joins of a `left`-µs and a `right`-µs half, 5 µs of serial work apart.
fn uneven() {
    for (left, right) in [
        (40.0, 40.0),
        (44.0, 57.0),
        (57.0, 44.0),
        (10.0, 30.0),
        (5.0, 80.0),
    ] {
        let n = 2000;
        let time = |joined: &dyn Fn()| {
            let mut total = 0.0;
            for _ in 0..n {
                let start = Instant::now();
                joined();
                total += start.elapsed().as_secs_f64() * 1e6;
                spin(5.0);
            }
            total / n as f64 - f64::max(left, right)
        };
        let plain = time(&|| {
            rayon::join(|| spin(left), || spin(right));
        });
        let spinning = time(&|| {
            join(|| spin(left), || spin(right));
        });
        println!(
            "halves {left:2.0} + {right:2.0} us: over the longer half, rayon::join {plain:5.1} us, \
             linalg::join {spinning:5.1} us"
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
    on_pool(uneven);
}
