//! The fused Adam update of one chunk of a parameter: the formula in one loop
//! ([`update_loop`]), which the kernel modules of `linalg/kernels/` compile once per rung of
//! the ladder (`linalg/simd.rs`) and `on_rung!` picks at run time. [`super::Adam`] cuts each
//! parameter into chunks and calls [`update`].

use crate::linalg::Scalar;
use crate::linalg::simd::{self, Rung};

/// The step's scalar coefficients, already rounded to `T`.
#[derive(Clone, Copy)]
pub(crate) struct Coefficients<T> {
    pub(crate) one_minus_beta1: T,
    pub(crate) beta2: T,
    pub(crate) one_minus_beta2: T,
    pub(crate) neg_step_size: T,
    pub(crate) bias_correction2_sqrt: T,
    /// `1 / bias_correction2_sqrt` in `f64`, for [`Scalar::div_by_constant`].
    pub(crate) bias_correction2_sqrt_reciprocal: f64,
    /// Whether the AVX2 and AVX-512 copies of the loop divide by `bias_correction2_sqrt`
    /// through its reciprocal (the same bits; which is faster depends on the CPU,
    /// [`simd::reciprocal_pays`]). The portable copy always divides.
    pub(crate) by_reciprocal: bool,
    pub(crate) eps: T,
    /// A new `m` smaller in magnitude than this is stored as 0; a new `v`, below twice the
    /// smallest normal number (module docs of `optim::adam`).
    pub(crate) m_flush: T,
}

/// One chunk of a parameter with its gradient and Adam's two moments: element `i` of each
/// slice belongs to the same weight (`g`, `m` and `v` at least as long as `theta`).
pub(crate) struct Chunk<'a, T> {
    pub(crate) theta: &'a mut [T],
    pub(crate) g: &'a mut [T],
    pub(crate) m: &'a mut [T],
    pub(crate) v: &'a mut [T],
}

impl<'a, T> Chunk<'a, T> {
    /// The weights `theta` with their gradient `g` and moments `m`, `v`.
    pub(crate) fn new(theta: &'a mut [T], g: &'a mut [T], m: &'a mut [T], v: &'a mut [T]) -> Self {
        Chunk { theta, g, m, v }
    }

    /// The elements before `cut` and those from `cut` on, each with its gradient and moments.
    pub(crate) fn split_at(self, cut: usize) -> (Chunk<'a, T>, Chunk<'a, T>) {
        let (theta1, theta2) = self.theta.split_at_mut(cut);
        let (g1, g2) = self.g.split_at_mut(cut);
        let (m1, m2) = self.m.split_at_mut(cut);
        let (v1, v2) = self.v.split_at_mut(cut);
        (
            Chunk::new(theta1, g1, m1, v1),
            Chunk::new(theta2, g2, m2, v2),
        )
    }
}

impl<T: Scalar> Coefficients<T> {
    /// The coefficients with `reciprocal` filled in from the others.
    pub(crate) fn new(
        one_minus_beta1: T,
        beta2: T,
        one_minus_beta2: T,
        neg_step_size: T,
        bias_correction2_sqrt: T,
        eps: T,
        m_flush: T,
    ) -> Self {
        Coefficients {
            one_minus_beta1,
            beta2,
            one_minus_beta2,
            neg_step_size,
            bias_correction2_sqrt,
            bias_correction2_sqrt_reciprocal: 1.0 / bias_correction2_sqrt.to_f64(),
            by_reciprocal: simd::reciprocal_pays(),
            eps,
            m_flush,
        }
    }

    /// The smallest `|m|` Adam stores (module docs of `optim::adam`): twice the smallest normal
    /// number over the smallest factor a stored `m` meets in the next step, `1 − β₁` in the
    /// lerp and `β₁·lr_t ≥ β₁·lr` in the update; at most 2⁻⁶⁰.
    pub(crate) fn m_flush(lr: f64, beta1: f64) -> T {
        let tiny = T::min_positive_value().to_f64();
        let smallest_factor = [1.0 - beta1, beta1 * lr]
            .into_iter()
            .filter(|&f| f > 0.0)
            .fold(1.0, f64::min);
        T::from_f64((2.0 * tiny / smallest_factor).min(2f64.powi(-60)))
    }
}

/// The update of one chunk, written as the formula reads: one pass over `θ, g, m, v` instead of
/// PyTorch's four, each operation in PyTorch's order so the rounding matches.
/// ```text
/// m ← m + (1 − β₁)·(g − m);  v ← β₂·v + (1 − β₂)·g·g;  θ ← θ − lr_t·m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
/// and, with `zero_grad`, `g ← 0` once it is used. `θ` is updated with the new `m` and `v`
/// as computed; they are stored with the tiniest values flushed to 0 (module docs).
///
/// `RECIPROCAL` picks how `√v` is divided by the constant `√(1 − β₂ᵗ)`: by a multiply with its
/// `f64` reciprocal ([`Scalar::div_by_constant`]: on the AVX2 and AVX-512 rungs of CPUs where
/// that frees a divider that limits the loop, [`simd::reciprocal_pays`]), or by the division
/// (portable, where the SSE2 conversions to `f64` cost more than they save, and CPUs whose
/// divider keeps up). The bits are the same either way.
#[inline(always)]
pub(crate) fn update_loop<T: Scalar, const RECIPROCAL: bool>(
    chunk: Chunk<'_, T>,
    c: Coefficients<T>,
    zero_grad: bool,
) {
    let Chunk { theta, g, m, v } = chunk;
    let n = theta.len();
    let (g, m, v) = (&mut g[..n], &mut m[..n], &mut v[..n]);
    // Moments too small to matter are stored as 0, before they make the next step's products
    // subnormal (module docs).
    let v_flush = T::min_positive_value() + T::min_positive_value();
    let flush = |x: T, below: T| if x.abs() < below { T::zero() } else { x };
    for i in 0..n {
        let m_new = m[i] + c.one_minus_beta1 * (g[i] - m[i]);
        let v_new = v[i] * c.beta2 + c.one_minus_beta2 * g[i] * g[i];
        let denom = if RECIPROCAL {
            v_new
                .sqrt()
                .div_by_constant(c.bias_correction2_sqrt, c.bias_correction2_sqrt_reciprocal)
        } else {
            v_new.sqrt() / c.bias_correction2_sqrt
        } + c.eps;
        theta[i] += c.neg_step_size * m_new / denom;
        m[i] = flush(m_new, c.m_flush);
        v[i] = flush(v_new, v_flush);
        if zero_grad {
            g[i] = T::zero();
        }
    }
}

/// [`update_loop`] on the current rung: through `T`'s entry point ([`Scalar::KERNELS`],
/// compiled in this crate) to the rung's copy of the loop (`linalg/kernels/`): the same IEEE
/// operations (add, multiply, divide, square root; never fused multiply-add, which Rust does
/// not introduce on its own), eight or sixteen lanes at a time instead of four, and one
/// division replaced by a multiply that gives its bits, so the results are bit-identical on
/// every rung (tested below).
pub(super) fn update<T: Scalar>(chunk: Chunk<'_, T>, c: Coefficients<T>, zero_grad: bool) {
    update_on(simd::rung(), chunk, c, zero_grad)
}

fn update_on<T: Scalar>(rung: Rung, chunk: Chunk<'_, T>, c: Coefficients<T>, zero_grad: bool) {
    (T::KERNELS.adam_update)(rung, chunk, c, zero_grad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rung's copy of the loop gives the same bits as the portable one, and clearing the
    /// gradient on the way changes nothing else.
    #[test]
    fn every_rung_updates_bit_identically() {
        let n = 1003;
        let wave = |k: f32| (0..n).map(|i| ((i as f32) * k).sin()).collect::<Vec<f32>>();
        let (g, m0, theta0) = (wave(0.37), wave(0.11), wave(0.29));
        let v0: Vec<f32> = wave(0.05).iter().map(|x| x.abs()).collect();
        let c = Coefficients::new(0.1_f32, 0.999, 0.001, -0.003, 0.05, 1e-8, 1e-30);
        let (mut t1, mut g1, mut m1, mut v1) = (theta0.clone(), g.clone(), m0.clone(), v0.clone());
        let chunk = Chunk::new(&mut t1, &mut g1, &mut m1, &mut v1);
        update_loop::<f32, false>(chunk, c, false);
        assert!(g1 == g, "without zero_grad the gradient is left alone");
        assert!(t1 != theta0, "the update moved θ");
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        // Each rung with the division by the bias correction done either way, whichever this
        // CPU would pick.
        for (rung, by_reciprocal) in Rung::supported_rungs()
            .into_iter()
            .flat_map(|rung| [(rung, false), (rung, true)])
        {
            let c = Coefficients { by_reciprocal, ..c };
            for zero_grad in [false, true] {
                let (mut t2, mut g2, mut m2, mut v2) =
                    (theta0.clone(), g.clone(), m0.clone(), v0.clone());
                let chunk = Chunk::new(&mut t2, &mut g2, &mut m2, &mut v2);
                update_on(rung, chunk, c, zero_grad);
                let what = format!("{rung}, by reciprocal {by_reciprocal}, zero_grad {zero_grad}");
                assert!(
                    bits(&t1) == bits(&t2) && bits(&m1) == bits(&m2) && bits(&v1) == bits(&v2),
                    "{what}"
                );
                let expected_g = if zero_grad { vec![0.0; n] } else { g.clone() };
                assert_eq!(g2, expected_g, "{what}");
            }
        }
    }

    /// `√v / √(1 − β₂ᵗ)` by [`Scalar::div_by_constant`] gives the division's bits: for the
    /// divisors of Adam's first 48 steps and of 48 later ones up to step 20 000 (β₂ = 0.999,
    /// as `Adam::update_all` rounds them), on every one of the 2²³ significands of `x`, in the
    /// binades [1, 2) and [2⁻⁴⁰, 2⁻³⁹) (the quotient's bits depend on the significands alone,
    /// barring underflow, which √v ≥ 2⁻⁷⁵ and a divisor ≤ 1 rule out). `cargo bench --bench
    /// gemm_probe -- divisors` checks every step up to 20 000 (benches/README.md).
    #[test]
    fn division_by_the_bias_correction_is_bit_identical() {
        let steps = (1..=48).chain((1..=48).map(|i| 48 + i * 415));
        for t in steps {
            let c = (1.0 - 0.999_f64.powf(t as f64)).sqrt() as f32;
            let reciprocal = 1.0 / c as f64;
            for binade in [1.0_f32, 2f32.powi(-40)] {
                let first = binade.to_bits();
                for bits in first..first + (1 << 23) {
                    let x = f32::from_bits(bits);
                    let (divided, multiplied) = (x / c, x.div_by_constant(c, reciprocal));
                    assert!(
                        divided.to_bits() == multiplied.to_bits(),
                        "step {t}: {x:e} / {c:e} = {divided:e}, by the reciprocal {multiplied:e}"
                    );
                }
            }
        }
        // The special values: 0 / c, ∞ / c, NaN / c, and x / 0.
        let c = 0.05_f32;
        assert_eq!(0.0_f32.div_by_constant(c, 1.0 / c as f64), 0.0);
        assert_eq!(
            f32::INFINITY.div_by_constant(c, 1.0 / c as f64),
            f32::INFINITY
        );
        assert!(f32::NAN.div_by_constant(c, 1.0 / c as f64).is_nan());
        assert_eq!(1.0_f32.div_by_constant(0.0, f64::INFINITY), f32::INFINITY);
        assert!(0.0_f32.div_by_constant(0.0, f64::INFINITY).is_nan());
    }

    /// A dead unit's `m` (gradient 0) shrinks by β₁ a step; once below the threshold it is
    /// stored as 0, before `(1 − β₁)·m` or `lr_t·m` would be subnormal (slow on x86), and `θ`
    /// stays bit-identical to the unflushed formula's, whose products do go subnormal.
    #[test]
    fn tiny_moments_are_flushed_without_changing_theta() {
        let m_flush = Coefficients::<f32>::m_flush(1e-3, 0.9);
        assert!(m_flush > 1e-36 && m_flush < 1e-33, "threshold {m_flush:e}");
        let c = Coefficients::new(0.1_f32, 0.999, 0.001, -0.001, 1.0, 1e-8, m_flush);
        // A dead unit's weight: gradient 0, m decaying from a small normal value.
        let (mut theta, mut g, mut m, mut v) = ([0.37_f32], [0.0_f32], [1e-30_f32], [1e-12_f32]);
        let (mut theta_ref, mut m_ref, mut v_ref) = (0.37_f32, 1e-30_f32, 1e-12_f32);
        let mut reference_went_subnormal = false;
        for _ in 0..800 {
            let stored = m[0];
            let chunk = Chunk::new(&mut theta, &mut g, &mut m, &mut v);
            update_loop::<f32, false>(chunk, c, false);
            // The products of a step on a stored m are never subnormal.
            let decayed = stored * (1.0 - c.one_minus_beta1);
            for product in [c.one_minus_beta1 * stored, c.neg_step_size * decayed] {
                assert!(!product.is_subnormal(), "from m = {stored:e}: {product:e}");
            }
            // The formula as written, never flushed.
            let lerp = c.one_minus_beta1 * (0.0 - m_ref);
            m_ref += lerp;
            v_ref = v_ref * c.beta2 + c.one_minus_beta2 * 0.0 * 0.0;
            let step = c.neg_step_size * m_ref;
            theta_ref += step / (v_ref.sqrt() / c.bias_correction2_sqrt + c.eps);
            reference_went_subnormal |= lerp.is_subnormal() || step.is_subnormal();
            assert_eq!(theta[0].to_bits(), theta_ref.to_bits());
            assert!(m[0] == 0.0 || m[0].abs() >= m_flush, "stored m {:e}", m[0]);
        }
        assert!(
            reference_went_subnormal,
            "the unflushed products never became subnormal: the test tests nothing"
        );
        assert_eq!(m[0], 0.0);
        assert!(m_ref != 0.0, "unflushed, m sticks at a subnormal value");
    }
}
