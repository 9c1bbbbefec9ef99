//! The kernels, one module per instruction set, and the one way a rung picks among them.
//!
//! | module | compiled for | holds |
//! |---|---|---|
//! | [`portable`] | the target's baseline (SSE2 on x86-64) | every loop as written: the element-wise passes, Adam's update; `x·Wᵀ`, `dyᵀ·x` and `dy·W` decline (matrixmultiply does them) |
//! | `avx2` | AVX2 + FMA | the same loops recompiled, 8 lanes; the hand-written `x·Wᵀ` ([`abt`]) and `dyᵀ·x`, `dy·W` ([`atb`]) kernels |
//! | `avx512` | AVX-512F | the same, 16 lanes |
//!
//! Every module has a function of the same name and signature for each kernel, and
//! [`on_rung!`] is the only place that chooses between them: `on_rung!(rung, relu(y, x))` runs
//! `avx512::relu(y, x)`, `avx2::relu(y, x)` or `portable::relu(y, x)`, the first whose rung is
//! `rung` and whose instructions this CPU has (`portable` otherwise).
//!
//! The rest of the engine reaches the kernels through [`Kernels`], a table of plain function
//! pointers per scalar type that [`crate::linalg::Scalar`] names (`f32::KERNELS`,
//! `f64::KERNELS`). Its entries are non-generic functions of this crate, so their code is
//! compiled with this crate's optimisation level: a user's debug build that depends on twostage
//! (with `[profile.dev.package."*"] opt-level = 3`) runs the products, the element-wise passes
//! and Adam optimised, although the generic code that calls them is compiled unoptimised in the
//! user's crate.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};

use crate::linalg::simd::Rung;
use crate::optim::adam::kernel::{Chunk, Coefficients};

/// `rung_module!("avx2,fma")` writes, in the module it stands in, every element-wise kernel
/// and Adam's update as a function compiled for those CPU features, each calling the
/// [`portable`] body (`#[inline(always)]`, so the body is compiled again with the wider
/// vectors enabled; nothing in it depends on the vector width, so the bits are the same).
///
/// Why a macro: the `avx2` and `avx512` modules are the same list of wrappers with another
/// `#[target_feature]`, as the gemm crate instantiates one micro-kernel macro per ISA; written
/// once here, a kernel added to [`portable`] is added to every rung in one place.
///
/// Each function it writes may run only on a CPU with these features; [`on_rung!`] checks.
#[cfg(target_arch = "x86_64")]
macro_rules! rung_module {
    ($features:literal) => {
        use crate::linalg::Scalar;
        use crate::linalg::kernels::portable;
        use crate::optim::adam::kernel::{Chunk, Coefficients, update_loop};

        rung_module!(@element_wise $features,
            relu(y: &mut [T], x: &[T]);
            relu_mask(dx: &mut [T], dy: &[T], y: &[T]);
            copy(y: &mut [T], x: &[T]);
            fill_rows(y: &mut [T], row: &[T]);
            add_rows(acc: &mut [T], x: &[T]);
            difference(d: &mut [T], p: &[T], t: &[T]);
            scaled(g: &mut [T], s: T, d: &[T]);
            add_assign(acc: &mut [T], x: &[T]);
        );

        #[target_feature(enable = $features)]
        pub fn sum_of_squares<T: Scalar>(values: &[T]) -> f64 {
            portable::sum_of_squares(values)
        }

        #[target_feature(enable = $features)]
        pub fn normalise_pixels(x: &mut [f32], pixels: &[u8]) {
            portable::normalise_pixels(x, pixels)
        }

        /// Adam's update, dividing `√v` by the bias correction through its reciprocal
        /// ([`Scalar::div_by_constant`], same bits) where that frees a divider that limits the
        /// loop (`c.by_reciprocal`), else by the division.
        #[target_feature(enable = $features)]
        pub fn adam_update<T: Scalar>(chunk: Chunk<'_, T>, c: Coefficients<T>, zero_grad: bool) {
            if c.by_reciprocal {
                update_loop::<T, true>(chunk, c, zero_grad)
            } else {
                update_loop::<T, false>(chunk, c, zero_grad)
            }
        }
    };
    // The kernels that return nothing: `name(argument: type, …)` becomes
    // `pub fn name<T: Scalar>(…) { portable::name(…) }` with the features enabled.
    (@element_wise $features:literal, $($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            #[target_feature(enable = $features)]
            pub fn $name<T: Scalar>($($arg: $ty),*) {
                portable::$name($($arg),*)
            }
        )*
    };
}

pub(crate) mod abt;
pub(crate) mod atb;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
pub(crate) mod portable;

/// `on_rung!(rung, kernel(arg, …))`: calls `kernel` from the module of `rung` ([`portable`],
/// `avx2` or `avx512`) if this CPU has that rung's instructions, else from [`portable`]. The
/// arguments are plain variables, evaluated by the caller.
///
/// The only dispatch between rungs in the crate. The `unsafe` it contains is for the
/// instruction sets, checked right there; a kernel with a contract of its own (raw pointers:
/// [`abt`], [`atb`]) is called through it only from an `unsafe fn` whose contract is the
/// kernel's.
macro_rules! on_rung {
    ($rung:expr, $kernel:ident($($arg:ident),* $(,)?)) => {{
        let rung: $crate::linalg::simd::Rung = $rung;
        match rung {
            #[cfg(target_arch = "x86_64")]
            $crate::linalg::simd::Rung::Avx512 if rung.supported() => {
                // SAFETY: the CPU has AVX-512F (checked just above), the feature `avx512` is
                // compiled for; any other contract is the caller's (see the macro's docs).
                unsafe { $crate::linalg::kernels::avx512::$kernel($($arg),*) }
            }
            #[cfg(target_arch = "x86_64")]
            $crate::linalg::simd::Rung::Avx2 if rung.supported() => {
                // SAFETY: the CPU has AVX2 and FMA (checked just above), the features `avx2`
                // is compiled for; any other contract is the caller's (see the macro's docs).
                unsafe { $crate::linalg::kernels::avx2::$kernel($($arg),*) }
            }
            _ => $crate::linalg::kernels::portable::$kernel($($arg),*),
        }
    }};
}
pub(crate) use on_rung;

/// A product `c = α·a·b + β·c` on views.
pub(crate) type Product<T> = fn(T, ArrayView2<'_, T>, ArrayView2<'_, T>, T, ArrayViewMut2<'_, T>);

/// A product with a bias row, `c = bias + a·b` ([`crate::linalg::matmul_bias_into`]).
pub(crate) type BiasProduct<T> =
    fn(ArrayView2<'_, T>, ArrayView2<'_, T>, ArrayView1<'_, T>, ArrayViewMut2<'_, T>);
/// `c = α·a·b + β·c` on raw strided storage (matrixmultiply's `sgemm`/`dgemm` signature).
pub(crate) type RawProduct<T> = unsafe fn(
    usize,
    usize,
    usize,
    T,
    *const T,
    isize,
    isize,
    *const T,
    isize,
    isize,
    T,
    *mut T,
    isize,
    isize,
);

/// `c = α·a·bᵀ + β·c`, or `bias + a·bᵀ` when the last pointer is not null, by the
/// outer-product kernel ([`abt::sgemm_abt`]'s signature); `false` if it declined.
pub(crate) type RawAbt<T> = unsafe fn(
    Rung,
    usize,
    usize,
    usize,
    T,
    *const T,
    usize,
    *const T,
    usize,
    T,
    *mut T,
    isize,
    isize,
    *const T,
) -> bool;

/// `c = aᵀ·b + β·c` by a packing-free kernel ([`atb::sgemm_atb`]'s signature); `false` if it
/// declined.
pub(crate) type RawAtb<T> = unsafe fn(
    Rung,
    usize,
    usize,
    usize,
    *const T,
    (usize, usize),
    *const T,
    usize,
    T,
    *mut T,
    usize,
) -> bool;

/// The compiled entry points of one scalar type: what [`crate::linalg::Scalar`] hands the
/// generic code, so that the work runs in code compiled inside this crate. Opaque outside it.
pub struct Kernels<T: 'static> {
    /// [`crate::linalg::gemm`]: split across the pool.
    pub(crate) gemm: Product<T>,
    /// [`crate::linalg::matmul_bias_into`]: split across the pool, the bias written per block.
    pub(crate) gemm_bias: BiasProduct<T>,
    /// [`crate::linalg::gemm_serial`]: on the calling thread.
    pub(crate) gemm_serial: Product<T>,
    /// matrixmultiply's product for this type.
    pub(crate) raw_gemm: RawProduct<T>,
    /// The packing-free `a·bᵀ` kernel, or one that always declines.
    pub(crate) raw_abt: RawAbt<T>,
    /// The packing-free `aᵀ·b` kernel, or one that always declines.
    pub(crate) raw_atb: RawAtb<T>,
    /// Whether `raw_atb` does products on a rung (rather than decline); its sums then run in
    /// blocks of `atb::MAX_K`.
    pub(crate) atb_on: fn(Rung) -> bool,
    pub(crate) relu: fn(Rung, &mut [T], &[T]),
    pub(crate) relu_mask: fn(Rung, &mut [T], &[T], &[T]),
    pub(crate) copy: fn(Rung, &mut [T], &[T]),
    pub(crate) fill_rows: fn(Rung, &mut [T], &[T]),
    pub(crate) add_rows: fn(Rung, &mut [T], &[T]),
    pub(crate) difference: fn(Rung, &mut [T], &[T], &[T]),
    pub(crate) scaled: fn(Rung, &mut [T], T, &[T]),
    pub(crate) add_assign: fn(Rung, &mut [T], &[T]),
    pub(crate) sum_of_squares: fn(Rung, &[T]) -> f64,
    /// Adam's fused update of one chunk (`optim/adam/kernel.rs`).
    pub(crate) adam_update: fn(Rung, Chunk<'_, T>, Coefficients<T>, bool),
    /// Softmax cross-entropy's rows, forward and backward (`nn/loss.rs`): one pass per row
    /// with `exp` and `ln`, the same on every rung.
    pub(crate) cross_entropy: fn(&mut [T], &[T], &[usize], usize) -> f64,
    pub(crate) cross_entropy_backward: fn(&mut [T], &[T], &[usize], T),
}

/// Writes the entry points of one scalar type as non-generic functions of this crate, and the
/// [`Kernels`] table of them.
macro_rules! entry_points {
    (
        $module:ident, $t:ty, raw_gemm: $raw:path, raw_abt: $abt:path, raw_atb: $atb:path,
        atb_on: $atb_on:path
    ) => {
        pub(crate) mod $module {
            use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};

            use super::Kernels;
            use crate::linalg::simd::Rung;
            use crate::optim::adam::kernel::{Chunk, Coefficients};

            type T = $t;

            #[inline(never)]
            fn gemm(alpha: T, a: ArrayView2<T>, b: ArrayView2<T>, beta: T, c: ArrayViewMut2<T>) {
                crate::linalg::parallel::gemm_on_cores(alpha, a, b, beta, c)
            }
            #[inline(never)]
            fn gemm_bias(
                a: ArrayView2<T>,
                b: ArrayView2<T>,
                bias: ArrayView1<T>,
                c: ArrayViewMut2<T>,
            ) {
                crate::linalg::parallel::gemm_bias_on_cores(a, b, bias, c)
            }
            #[inline(never)]
            fn gemm_serial(
                alpha: T,
                a: ArrayView2<T>,
                b: ArrayView2<T>,
                beta: T,
                c: ArrayViewMut2<T>,
            ) {
                crate::linalg::products::serial(alpha, a, b, beta, c)
            }
            #[inline(never)]
            fn relu(rung: Rung, y: &mut [T], x: &[T]) {
                on_rung!(rung, relu(y, x))
            }
            #[inline(never)]
            fn relu_mask(rung: Rung, dx: &mut [T], dy: &[T], y: &[T]) {
                on_rung!(rung, relu_mask(dx, dy, y))
            }
            #[inline(never)]
            fn copy(rung: Rung, y: &mut [T], x: &[T]) {
                on_rung!(rung, copy(y, x))
            }
            #[inline(never)]
            fn fill_rows(rung: Rung, y: &mut [T], row: &[T]) {
                on_rung!(rung, fill_rows(y, row))
            }
            #[inline(never)]
            fn add_rows(rung: Rung, acc: &mut [T], x: &[T]) {
                on_rung!(rung, add_rows(acc, x))
            }
            #[inline(never)]
            fn difference(rung: Rung, d: &mut [T], p: &[T], t: &[T]) {
                on_rung!(rung, difference(d, p, t))
            }
            #[inline(never)]
            fn scaled(rung: Rung, g: &mut [T], s: T, d: &[T]) {
                on_rung!(rung, scaled(g, s, d))
            }
            #[inline(never)]
            fn add_assign(rung: Rung, acc: &mut [T], x: &[T]) {
                on_rung!(rung, add_assign(acc, x))
            }
            #[inline(never)]
            fn sum_of_squares(rung: Rung, values: &[T]) -> f64 {
                on_rung!(rung, sum_of_squares(values))
            }
            #[inline(never)]
            fn adam_update(rung: Rung, chunk: Chunk<'_, T>, c: Coefficients<T>, zero_grad: bool) {
                on_rung!(rung, adam_update(chunk, c, zero_grad))
            }
            #[inline(never)]
            fn cross_entropy(p: &mut [T], z: &[T], labels: &[usize], classes: usize) -> f64 {
                crate::nn::loss::cross_entropy_rows(p, z, labels, classes)
            }
            #[inline(never)]
            fn cross_entropy_backward(dz: &mut [T], p: &[T], labels: &[usize], inv_batch: T) {
                crate::nn::loss::cross_entropy_backward_rows(dz, p, labels, inv_batch)
            }

            /// The table [`crate::linalg::Scalar::KERNELS`] holds for this type.
            pub(crate) const KERNELS: Kernels<T> = Kernels {
                gemm,
                gemm_bias,
                gemm_serial,
                raw_gemm: $raw,
                raw_abt: $abt,
                raw_atb: $atb,
                atb_on: $atb_on,
                relu,
                relu_mask,
                copy,
                fill_rows,
                add_rows,
                difference,
                scaled,
                add_assign,
                sum_of_squares,
                adam_update,
                cross_entropy,
                cross_entropy_backward,
            };
        }
    };
}

entry_points!(
    for_f32,
    f32,
    raw_gemm: matrixmultiply::sgemm,
    raw_abt: super::abt::sgemm_abt,
    raw_atb: super::atb::sgemm_atb,
    atb_on: super::atb::sgemm_atb_on
);
entry_points!(
    for_f64,
    f64,
    raw_gemm: matrixmultiply::dgemm,
    raw_abt: super::portable::declines_abt,
    raw_atb: super::portable::declines_atb,
    atb_on: super::portable::never
);

/// The rungs with kernels of their own (AVX2, AVX-512) that this CPU has, for tests to run
/// each one; says on stderr which it must leave out.
#[cfg(test)]
pub(crate) fn rungs_under_test() -> Vec<Rung> {
    let mut rungs = Vec::new();
    for rung in [Rung::Avx2, Rung::Avx512] {
        if rung.supported() {
            rungs.push(rung);
        } else {
            eprintln!("not testing {rung}: this CPU lacks it");
        }
    }
    rungs
}
