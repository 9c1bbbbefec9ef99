//! `linalg::join` inside `on_pool`, where the training loop calls it: the second half runs on
//! the other core at once (handed to the spinner directly, not through rayon's queues), nested
//! joins work, and a panic in either half reaches the caller only after the other half is done,
//! leaving the pool usable. One test, so no other `on_pool` of this binary competes for the
//! spinners while it runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use twostage::linalg::{join, on_pool, usable_cores};

/// Spins until `flag` is set or `limit` has passed; whether it was set.
fn wait_for(flag: &AtomicBool, limit: Duration) -> bool {
    let since = Instant::now();
    while !flag.load(Ordering::Acquire) && since.elapsed() < limit {
        std::hint::spin_loop();
    }
    flag.load(Ordering::Acquire)
}

#[test]
fn join_inside_on_pool() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .expect("the only global pool of this binary");
    let cores = usable_cores();
    assert!(
        cores >= 2 || std::env::var_os("CI").is_none(),
        "CI runs this on two cores; here there is {cores}"
    );
    on_pool(|| {
        // The second half runs on another thread while the first is still running: the first
        // waits for a flag only the second sets.
        if cores >= 2 {
            for round in 0..200 {
                let flag = AtomicBool::new(false);
                let (seen, other) = join(
                    || wait_for(&flag, Duration::from_secs(10)),
                    || {
                        flag.store(true, Ordering::Release);
                        thread::current().id()
                    },
                );
                assert!(seen, "round {round}: the second half did not run meanwhile");
                assert_ne!(other, thread::current().id(), "round {round}");
            }
        }

        // Results come back in their places, nested joins included, on either side.
        let (a, (b, c)) = join(|| 1, || join(|| 2, || 3));
        let ((d, e), f) = join(|| join(|| 4, || 5), || 6);
        assert_eq!((a, b, c, d, e, f), (1, 2, 3, 4, 5, 6));
        let sums: Vec<usize> = (0..1000)
            .map(|i| {
                let (x, y) = join(|| i * 2, || i * 3);
                x + y
            })
            .collect();
        assert!(sums.iter().enumerate().all(|(i, &s)| s == 5 * i));

        // A panic in the second half reaches the caller, with its message.
        let caught = catch_unwind(AssertUnwindSafe(|| {
            join(|| 1, || -> i32 { panic!("in b") })
        }));
        let message = caught.expect_err("the panic in b was lost");
        assert_eq!(message.downcast_ref::<&str>(), Some(&"in b"));

        // A panic in the first half waits for the second to finish before it unwinds (the
        // second half borrows from this frame).
        let finished = AtomicUsize::new(0);
        for _ in 0..20 {
            let caught = catch_unwind(AssertUnwindSafe(|| {
                join(
                    || -> () { panic!("in a") },
                    || {
                        thread::sleep(Duration::from_millis(2));
                        finished.fetch_add(1, Ordering::AcqRel);
                    },
                )
            }));
            assert!(caught.is_err(), "the panic in a was lost");
        }
        assert_eq!(
            finished.load(Ordering::Acquire),
            20,
            "a join unwound before its b ended"
        );

        // And the pool still splits after the panics.
        if cores >= 2 {
            let flag = AtomicBool::new(false);
            let (seen, ()) = join(
                || wait_for(&flag, Duration::from_secs(10)),
                || flag.store(true, Ordering::Release),
            );
            assert!(
                seen,
                "after the panics, the second half no longer runs meanwhile"
            );
        }
    });
}
