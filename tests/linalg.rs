//! `gemm`, the fast product split across threads, against `gemm_naive`, the textbook triple loop:
//! odd shapes, transposed and strided operands, α and β other than 0 and 1, `f32` and `f64`; and
//! the split product against the one-thread `gemm_serial`, bit for bit.

use ndarray::{Array2, ArrayView2, s};
use ndarray_rand::RandomExt;
use ndarray_rand::rand_distr::Uniform;
use ndarray_rand::rand_distr::uniform::SampleUniform;
use twostage::linalg::{PARALLEL_MIN_MACS, Scalar, gemm, gemm_naive, gemm_serial, on_pool};
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;

/// A `(rows, cols)` matrix with entries from `U(−1, 1)`.
fn random<T: Scalar + SampleUniform>(shape: (usize, usize), rng: &mut SmallRng) -> Array2<T> {
    Array2::random_using(shape, Uniform::new(-T::one(), T::one()).unwrap(), rng)
}

/// The product shapes `(m, k, n)` checked: tiny, odd (edges of the 4×4 tiles and 16-float
/// chunks of the `a·bᵀ` kernel), and large enough to be split across threads.
const SHAPES: [(usize, usize, usize); 9] = [
    (1, 1, 1),
    (3, 5, 7),
    (4, 16, 4),
    (5, 17, 6),
    (7, 33, 9),
    (2, 128, 10),
    (33, 784, 257),
    (32, 784, 256),
    (300, 784, 300),
];

/// How `a` and `b` are laid out: as given, or as a transposed view of the other layout.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Standard,
    Transposed,
}

/// An `(rows, cols)` random matrix held in `layout`: either a standard array or the transposed
/// view of a `(cols, rows)` one (column-major strides).
fn operand<T: Scalar + SampleUniform>(
    rows: usize,
    cols: usize,
    layout: Layout,
    rng: &mut SmallRng,
) -> Array2<T> {
    match layout {
        Layout::Standard => random((rows, cols), rng),
        Layout::Transposed => random((cols, rows), rng).reversed_axes(),
    }
}

/// Checks `gemm` against `gemm_naive` for `c = α·a·b + β·c`, element by element, within
/// `tolerance` times the size of the terms summed, `|α|·Σₖ|a||b| + |β·c|` (the scale of the
/// rounding error of any order of summation); returns the worst relative difference.
fn check_against_naive<T: Scalar>(
    what: &str,
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    c: &Array2<T>,
    tolerance: f64,
) -> f64 {
    let mut fast = c.clone();
    gemm(alpha, a, b, beta, fast.view_mut());
    let mut naive = c.clone();
    gemm_naive(alpha, a, b, beta, naive.view_mut());
    // scale = |α|·|a|·|b| + |β|·|c|
    let mut scale = c.mapv(|v| (beta * v).abs());
    gemm_naive(
        alpha.abs(),
        a.mapv(T::abs).view(),
        b.mapv(T::abs).view(),
        T::one(),
        scale.view_mut(),
    );
    let mut worst = 0.0_f64;
    for ((f, n), s) in fast.iter().zip(&naive).zip(&scale) {
        let error = Scalar::to_f64((*f - *n).abs()) / Scalar::to_f64(*s).max(f64::MIN_POSITIVE);
        assert!(
            error <= tolerance,
            "{what}: gemm {f}, naive {n} (relative {error:e})"
        );
        worst = worst.max(error);
    }
    worst
}

/// Every shape, every layout of `a` and `b`, with α = 1, β = 0 and with α = 0.75, β = −1.5.
fn all_shapes_and_layouts<T: Scalar + SampleUniform>(tolerance: f64) {
    let mut rng = SmallRng::seed_from_u64(0);
    let layouts = [Layout::Standard, Layout::Transposed];
    for (m, k, n) in SHAPES {
        let mut worst = 0.0_f64;
        for a_layout in layouts {
            for b_layout in layouts {
                let a = operand::<T>(m, k, a_layout, &mut rng);
                let b = operand::<T>(k, n, b_layout, &mut rng);
                let c = random::<T>((m, n), &mut rng);
                for (alpha, beta) in [(1.0, 0.0), (0.75, -1.5)] {
                    let what = format!(
                        "({m}×{k} {a_layout:?})·({k}×{n} {b_layout:?}), α {alpha}, β {beta}"
                    );
                    let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
                    let error =
                        check_against_naive(&what, alpha, a.view(), b.view(), beta, &c, tolerance);
                    worst = worst.max(error);
                }
            }
        }
        let type_name = std::any::type_name::<T>();
        eprintln!("{type_name} ({m}×{k})·({k}×{n}): worst relative difference {worst:.2e}");
    }
}

#[test]
fn gemm_matches_naive_f32() {
    all_shapes_and_layouts::<f32>(1e-5);
}

#[test]
fn gemm_matches_naive_f64() {
    all_shapes_and_layouts::<f64>(1e-12);
}

#[test]
fn gemm_handles_strided_and_reversed_views() {
    let mut rng = SmallRng::seed_from_u64(1);
    // Every other row and column of a larger matrix, and a matrix with its rows reversed
    // (a negative row stride).
    let big = random::<f64>((2 * 40, 2 * 784), &mut rng);
    let a = big.slice(s![..;2, ..;2]); // (40, 784)
    let b_source = random::<f64>((784, 300), &mut rng);
    let b = b_source.slice(s![..;-1, ..]); // (784, 300)
    let c = random::<f64>((40, 300), &mut rng);
    let worst = check_against_naive("strided a · reversed b", 0.5, a, b, 2.0, &c, 1e-12);
    eprintln!("strided a · reversed b: worst relative difference {worst:.2e}");
}

#[test]
fn gemm_into_transposed_output() {
    // c itself column-major: the transposed view of a (n, m) array.
    let mut rng = SmallRng::seed_from_u64(2);
    let a = random::<f64>((70, 784), &mut rng);
    let b = random::<f64>((784, 65), &mut rng);
    let mut storage = random::<f64>((65, 70), &mut rng);
    let c0 = storage.t().to_owned();
    gemm(
        1.25,
        a.view(),
        b.view(),
        0.5,
        storage.view_mut().reversed_axes(),
    );
    let mut naive = c0.clone();
    gemm_naive(1.25, a.view(), b.view(), 0.5, naive.view_mut());
    let worst = storage
        .t()
        .iter()
        .zip(&naive)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(worst <= 1e-12 * 784.0, "column-major c: off by {worst:e}");
}

/// `β = 0` means "overwrite": whatever `c` held, NaN included, must not leak into the result
/// (`0·NaN` is NaN, so a product that computed `β·c` would fail this).
fn beta_zero_ignores_nan<T: Scalar + SampleUniform>() {
    let mut rng = SmallRng::seed_from_u64(3);
    for (m, k, n) in SHAPES {
        // b as given, and b = Wᵀ (the forward's layout, the a·bᵀ kernel's case).
        for b_layout in [Layout::Standard, Layout::Transposed] {
            let a = random::<T>((m, k), &mut rng);
            let b = operand::<T>(k, n, b_layout, &mut rng);
            let mut c = Array2::from_elem((m, n), T::nan());
            gemm(T::one(), a.view(), b.view(), T::zero(), c.view_mut());
            assert!(
                c.iter().all(|v| v.is_finite()),
                "({m}×{k})·({k}×{n} {b_layout:?}): NaN survived β = 0"
            );
            let mut expected = Array2::zeros((m, n));
            gemm_serial(T::one(), a.view(), b.view(), T::zero(), expected.view_mut());
            assert!(c == expected, "({m}×{k})·({k}×{n} {b_layout:?})");
        }
    }
}

/// The forward's `x·Wᵀ` (the a·bᵀ kernel in f32) into outputs of every layout: column-major,
/// rows reversed (a negative stride), every other column of a wider matrix.
#[test]
fn forward_product_into_strided_outputs() {
    let mut rng = SmallRng::seed_from_u64(6);
    let (m, k, n) = (37, 131, 45);
    let x = random::<f32>((m, k), &mut rng);
    let w = random::<f32>((n, k), &mut rng);
    let c0 = random::<f32>((m, n), &mut rng);
    let mut expected = c0.clone();
    gemm_naive(0.75, x.view(), w.t(), -1.5, expected.view_mut());
    let check = |what: &str, result: ArrayView2<f32>| {
        let worst = result
            .iter()
            .zip(&expected)
            .fold(0.0_f32, |worst, (r, e)| worst.max((r - e).abs()));
        assert!(worst <= 1e-4, "{what}: off by {worst:e}");
    };
    // Column-major: the transposed view of an (n, m) array.
    let mut storage = c0.t().to_owned();
    gemm(
        0.75,
        x.view(),
        w.t(),
        -1.5,
        storage.view_mut().reversed_axes(),
    );
    check("column-major c", storage.t());
    // Rows reversed.
    let mut reversed = c0.slice(s![..;-1, ..]).to_owned();
    gemm(
        0.75,
        x.view(),
        w.t(),
        -1.5,
        reversed.slice_mut(s![..;-1, ..]),
    );
    check("reversed c", reversed.slice(s![..;-1, ..]));
    // Every other column.
    let mut wide = Array2::<f32>::zeros((m, 2 * n));
    wide.slice_mut(s![.., ..;2]).assign(&c0);
    gemm(0.75, x.view(), w.t(), -1.5, wide.slice_mut(s![.., ..;2]));
    check("strided c", wide.slice(s![.., ..;2]));
    assert!(
        wide.slice(s![.., 1..;2]).iter().all(|&v| v == 0.0),
        "wrote between the columns"
    );
}

#[test]
fn beta_zero_ignores_nan_f32() {
    beta_zero_ignores_nan::<f32>();
}

#[test]
fn beta_zero_ignores_nan_f64() {
    beta_zero_ignores_nan::<f64>();
}

/// Runs `gemm` in a pool of `threads` threads and `gemm_serial` on one, and demands identical
/// bits: the split must not change any element's order of summation.
fn split_is_bit_identical<T: Scalar + SampleUniform>(threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut rng = SmallRng::seed_from_u64(4);
    let layouts = [Layout::Standard, Layout::Transposed];
    // The large shapes, plus a wide one and a tall one (the split cuts the longer side of c).
    let shapes = [
        (33, 784, 257),
        (32, 784, 256),
        (300, 784, 300),
        (20, 784, 1000),
        (1000, 784, 20),
        // Sums of 3 blocks of 256, the last short or of 8 (the sum is cut too, in blocks).
        (32, 600, 256),
        (16, 520, 96),
        (32, 1000, 64),
    ];
    for (m, k, n) in shapes {
        assert!(
            m * k * n >= 2 * PARALLEL_MIN_MACS,
            "({m}×{k})·({k}×{n}) is too small to split"
        );
        for (a_layout, b_layout) in [
            (layouts[0], layouts[0]),
            (layouts[1], layouts[0]),
            (layouts[0], layouts[1]),
        ] {
            let a = operand::<T>(m, k, a_layout, &mut rng);
            let b = operand::<T>(k, n, b_layout, &mut rng);
            let c = random::<T>((m, n), &mut rng);
            // α = 1 as the layers call it (and as the `aᵀ·b` kernel takes it), with each β.
            for (alpha, beta) in [(0.75, -1.5), (1.0, 0.0), (1.0, 1.0), (1.0, -1.5)] {
                let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
                let mut split = c.clone();
                pool.install(|| gemm(alpha, a.view(), b.view(), beta, split.view_mut()));
                let mut serial = c.clone();
                gemm_serial(alpha, a.view(), b.view(), beta, serial.view_mut());
                // f32 → f64 is exact, so comparing the f64 bits compares the f32 bits.
                let differing = split
                    .iter()
                    .zip(&serial)
                    .filter(|(x, y)| Scalar::to_f64(**x).to_bits() != Scalar::to_f64(**y).to_bits())
                    .count();
                assert_eq!(
                    differing, 0,
                    "{threads} threads, ({m}×{k} {a_layout:?})·({k}×{n} {b_layout:?}), α {alpha}, β {beta}: {differing} elements differ from gemm_serial"
                );
            }
        }
    }
}

#[test]
fn split_is_bit_identical_2_threads() {
    split_is_bit_identical::<f32>(2);
    split_is_bit_identical::<f64>(2);
}

#[test]
fn split_is_bit_identical_3_threads() {
    split_is_bit_identical::<f32>(3);
    split_is_bit_identical::<f64>(3);
}

/// Several threads outside the pool run `on_pool` at the same moment, as tests running in
/// parallel do: every call finishes with its own answer. A panic inside one is passed on, and
/// later calls still work.
#[test]
fn on_pool_from_many_threads_at_once() {
    let callers: Vec<_> = (0..4_usize)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..200 {
                    let (x, y) = on_pool(|| rayon::join(|| t * 1000 + i, || i));
                    assert_eq!((x, y), (t * 1000 + i, i));
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().expect("an on_pool caller failed");
    }
    let panicked = std::panic::catch_unwind(|| on_pool(|| panic!("inside on_pool")));
    assert!(panicked.is_err(), "the panic was not passed on");
    assert_eq!(on_pool(|| rayon::join(|| 1, || 2)), (1, 2));
}

/// Empty products: no rows writes nothing (and does not panic); `k = 0` is an empty sum.
#[test]
fn empty_products() {
    let a = Array2::<f64>::zeros((0, 5));
    let b = Array2::<f64>::zeros((5, 3));
    let mut c = Array2::<f64>::zeros((0, 3));
    gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
    // k = 0: c = α·(empty sum) + β·c = β·c.
    let a = Array2::<f64>::zeros((2, 0));
    let b = Array2::<f64>::zeros((0, 3));
    let mut c = Array2::from_elem((2, 3), 4.0);
    gemm(1.0, a.view(), b.view(), 0.5, c.view_mut());
    assert_eq!(c, Array2::from_elem((2, 3), 2.0));
}
