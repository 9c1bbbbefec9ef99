//! The floating-point types the engine runs in.

use ndarray::NdFloat;

use super::kernels::{Kernels, for_f32, for_f64};

/// The floating-point types the engine runs in: `f32` to train, `f64` to check gradients.
///
/// Implemented for `f32` and `f64` only: each names its [`Kernels`], the entry points compiled
/// in this crate that the generic layers, products and optimizers hand their work to.
/// `SampleUniform` is here so that generic code can initialise layers (`Dense::<T>::new`) with
/// no bound beyond `T: Scalar`.
pub trait Scalar:
    NdFloat + Send + Sync + std::iter::Sum + ndarray_rand::rand::distr::uniform::SampleUniform
{
    /// This type's compiled entry points (products, element-wise passes, Adam's update).
    const KERNELS: Kernels<Self>;

    /// Converts an `f64` constant (a learning rate, `1/N`) to this type.
    fn from_f64(x: f64) -> Self;
    /// Widens to `f64` (for summing losses).
    fn to_f64(self) -> f64;

    /// `self / divisor`, correctly rounded like the division, given `reciprocal`, which must
    /// be `1.0 / divisor.to_f64()` (computed once for many divisions by the same number).
    ///
    /// For `f64` this is the division. For `f32` it is `self · reciprocal` in `f64`, rounded
    /// once to `f32`, which is bit-identical to the `f32` division whenever the quotient is a
    /// normal `f32`, 0, ±∞ or NaN, and costs a multiply instead of the divider (a large part
    /// of a fused Adam step, `benches/README.md`). Why the bits agree: with `x = X·2ᵃ` and
    /// `c = C·2ᵇ` (`X`, `C` 24-bit integers) and `m` a midpoint between two `f32` next to
    /// `x/c`, `x − c·m` is a nonzero multiple of `2ᵃ⁻²⁵` (it cannot be 0: `m`'s odd numerator
    /// exceeds 2²⁴), so `x/c` lies at least `2⁻⁴⁹·x/c` from every midpoint, while the two
    /// `f64` roundings move it by less than `2⁻⁵²·x/c`. Both therefore round to the same `f32`.
    /// (`tests` in `optim/adam/kernel.rs` check it against the division on every significand
    /// of `x` for the divisors Adam uses.)
    #[inline(always)]
    fn div_by_constant(self, divisor: Self, reciprocal: f64) -> Self {
        let _ = reciprocal;
        self / divisor
    }
}

impl Scalar for f32 {
    const KERNELS: Kernels<f32> = for_f32::KERNELS;
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn div_by_constant(self, _divisor: f32, reciprocal: f64) -> f32 {
        (self as f64 * reciprocal) as f32
    }
}

impl Scalar for f64 {
    const KERNELS: Kernels<f64> = for_f64::KERNELS;
    fn from_f64(x: f64) -> f64 {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}
