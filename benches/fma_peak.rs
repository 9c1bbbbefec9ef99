//! This CPU's fused-multiply-add peak, measured: the physical limit the products of an epoch are
//! held against (issue 21: "% of the machine").
//!
//! ```text
//! cargo bench --bench fma_peak            # every vector width this CPU has, 1 and 2 threads
//! ```
//! Each thread runs a loop of `ACCUMULATORS` independent FMA chains on registers (no memory
//! traffic): enough chains to cover the FMA latency (4–5 cycles) on every port (2 on Zen 3 and
//! Zen 5, 2 on Emerald Rapids), so the loop retires as many FMAs per cycle as the core can. A
//! lane's FMA is 2 flops. Printed: GFLOP/s per width and thread count (best of 5), and what the
//! AE epoch's 144 GFLOP would take at that peak, the floor no implementation can beat.

use std::time::Instant;

/// Independent chains per thread: 12 × (4–5 cycles latency) covers 2 ports with room.
const ACCUMULATORS: usize = 12;
/// Loop trips per timing: ~0.2 s at 100 GFLOP/s for AVX-512.
const TRIPS: u64 = 20_000_000 / 8;
/// The AE epoch's floating-point work: 1875 steps of 2·B·in·out flops for each product of the
/// four layers (`x·Wᵀ`, `dyᵀ·x`, and `dy·W` for all but the first): 76.8 MFLOP a step.
const EPOCH_GFLOP: f64 = 144.0;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{ACCUMULATORS, TRIPS};
    use std::arch::x86_64::*;

    /// `fma_loop!(name, "features", set1, fmadd, add, reduce)` writes `name`: `TRIPS ×
    /// ACCUMULATORS` FMAs of one vector width, returning a value that depends on all of them
    /// (one loop, instantiated per ISA, as the kernels are).
    macro_rules! fma_loop {
        ($name:ident, $features:literal, $set1:ident, $fmadd:ident, $add:ident, $reduce:expr) => {
            #[target_feature(enable = $features)]
            pub unsafe fn $name() -> f32 {
                let mut acc = [$set1(0.0); ACCUMULATORS];
                let (a, b) = ($set1(0.999_999), $set1(1e-7));
                for _ in 0..TRIPS {
                    for x in acc.iter_mut() {
                        *x = $fmadd(*x, a, b);
                    }
                }
                $reduce(acc.iter().fold($set1(0.0), |s, &x| $add(s, x)))
            }
        };
    }

    fma_loop!(
        avx2,
        "avx2,fma",
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        |sum| {
            let mut out = [0.0f32; 8];
            // SAFETY: `out` has room for the 8 lanes of `sum`.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
            out.iter().sum::<f32>()
        }
    );
    fma_loop!(
        avx512,
        "avx512f",
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        |sum| { _mm512_reduce_add_ps(sum) }
    );
}

/// GFLOP/s of `kernel` (of `lanes` lanes) on `threads` threads at once, best of 5.
fn measure(lanes: usize, threads: usize, kernel: fn() -> f32) -> f64 {
    let flops = (TRIPS * ACCUMULATORS as u64 * lanes as u64 * 2) as f64 * threads as f64;
    (0..5)
        .map(|_| {
            let start = Instant::now();
            let sink: f32 = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|_| scope.spawn(kernel)).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("probe thread"))
                    .sum()
            });
            std::hint::black_box(sink);
            flops / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

fn report(name: &str, lanes: usize, kernel: fn() -> f32) {
    for threads in [1, 2] {
        let peak = measure(lanes, threads, kernel);
        println!(
            "{name:<7} {threads} thread{}: {peak:6.1} GFLOP/s  → the AE epoch ({EPOCH_GFLOP} GFLOP) in ≥ {:.2} s",
            if threads == 1 { " " } else { "s" },
            EPOCH_GFLOP / peak
        );
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            report("avx2", 8, || unsafe { x86::avx2() });
        }
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            report("avx512", 16, || unsafe { x86::avx512() });
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    println!("fma_peak measures x86-64 vector units only");
}
