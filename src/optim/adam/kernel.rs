//! The fused Adam update of one chunk of a parameter, and its copies per rung of the kernel
//! ladder (`linalg/simd.rs`): the formula in one loop, compiled again for AVX2 and AVX-512
//! and picked at run time. [`super::Adam`] cuts each parameter into chunks and calls [`update`].

use crate::linalg::Scalar;
use crate::linalg::simd::{self, Rung};

/// The step's scalar coefficients, already rounded to `T`.
#[derive(Clone, Copy)]
pub(super) struct Coefficients<T> {
    pub(super) one_minus_beta1: T,
    pub(super) beta2: T,
    pub(super) one_minus_beta2: T,
    pub(super) neg_step_size: T,
    pub(super) bias_correction2_sqrt: T,
    pub(super) eps: T,
}

/// The update of one chunk, written as the formula reads: one pass over `θ, g, m, v` instead of
/// PyTorch's four, each operation in PyTorch's order so the rounding matches.
/// ```text
/// m ← m + (1 − β₁)·(g − m);  v ← β₂·v + (1 − β₂)·g·g;  θ ← θ − lr_t·m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
/// and, with `zero_grad`, `g ← 0` once it is used. `θ` is updated with the new `m` and `v`
/// as computed; they are stored with subnormals flushed to 0 (module docs).
#[inline(always)]
fn update_loop<T: Scalar>(
    theta: &mut [T],
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    c: Coefficients<T>,
    zero_grad: bool,
) {
    let n = theta.len();
    let (g, m, v) = (&mut g[..n], &mut m[..n], &mut v[..n]);
    // A subnormal moment is stored as 0 (module docs).
    let flush = |x: T| {
        if x.abs() < T::min_positive_value() {
            T::zero()
        } else {
            x
        }
    };
    for i in 0..n {
        let m_new = m[i] + c.one_minus_beta1 * (g[i] - m[i]);
        let v_new = v[i] * c.beta2 + c.one_minus_beta2 * g[i] * g[i];
        let denom = v_new.sqrt() / c.bias_correction2_sqrt + c.eps;
        theta[i] += c.neg_step_size * m_new / denom;
        m[i] = flush(m_new);
        v[i] = flush(v_new);
        if zero_grad {
            g[i] = T::zero();
        }
    }
}

/// [`update_loop`], dispatched on the rung (`linalg/simd.rs`): the loop is compiled again for
/// AVX2 and for AVX-512 and picked at run time: the same IEEE operations (add, multiply, divide,
/// square root; never fused multiply-add, which Rust does not introduce on its own), eight or
/// sixteen lanes at a time instead of four, so the results are bit-identical on every rung
/// (tested below).
pub(super) fn update<T: Scalar>(
    theta: &mut [T],
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    c: Coefficients<T>,
    zero_grad: bool,
) {
    update_on(simd::rung(), theta, g, m, v, c, zero_grad)
}

fn update_on<T: Scalar>(
    rung: Rung,
    theta: &mut [T],
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    c: Coefficients<T>,
    zero_grad: bool,
) {
    #[cfg(target_arch = "x86_64")]
    match rung {
        Rung::Avx512 if rung.supported() => {
            // SAFETY: the CPU has AVX-512F, the only feature `update_avx512` is compiled for.
            return unsafe { update_avx512(theta, g, m, v, c, zero_grad) };
        }
        Rung::Avx2 if rung.supported() => {
            // SAFETY: the CPU has AVX2 and FMA, the features `update_avx2` is compiled for.
            return unsafe { update_avx2(theta, g, m, v, c, zero_grad) };
        }
        _ => {}
    }
    let _ = rung;
    update_loop(theta, g, m, v, c, zero_grad)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update_avx512<T: Scalar>(
    theta: &mut [T],
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    c: Coefficients<T>,
    zero_grad: bool,
) {
    update_loop(theta, g, m, v, c, zero_grad)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update_avx2<T: Scalar>(
    theta: &mut [T],
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    c: Coefficients<T>,
    zero_grad: bool,
) {
    update_loop(theta, g, m, v, c, zero_grad)
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
        let c = Coefficients {
            one_minus_beta1: 0.1_f32,
            beta2: 0.999,
            one_minus_beta2: 0.001,
            neg_step_size: -0.003,
            bias_correction2_sqrt: 0.05,
            eps: 1e-8,
        };
        let (mut t1, mut g1, mut m1, mut v1) = (theta0.clone(), g.clone(), m0.clone(), v0.clone());
        update_loop(&mut t1, &mut g1, &mut m1, &mut v1, c, false);
        assert!(g1 == g, "without zero_grad the gradient is left alone");
        assert!(t1 != theta0, "the update moved θ");
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for rung in Rung::supported_rungs() {
            for zero_grad in [false, true] {
                let (mut t2, mut g2, mut m2, mut v2) =
                    (theta0.clone(), g.clone(), m0.clone(), v0.clone());
                update_on(rung, &mut t2, &mut g2, &mut m2, &mut v2, c, zero_grad);
                assert!(
                    bits(&t1) == bits(&t2) && bits(&m1) == bits(&m2) && bits(&v1) == bits(&v2),
                    "{rung}, zero_grad {zero_grad}"
                );
                let expected_g = if zero_grad { vec![0.0; n] } else { g.clone() };
                assert_eq!(g2, expected_g, "{rung}, zero_grad {zero_grad}");
            }
        }
    }

    /// A moment that decays into the subnormal range is stored as 0, and `θ` comes out
    /// bit-identical to the unflushed formula's.
    #[test]
    fn subnormal_moments_are_flushed_without_changing_theta() {
        let c = Coefficients {
            one_minus_beta1: 0.1_f32,
            beta2: 0.999,
            one_minus_beta2: 0.001,
            neg_step_size: -0.001,
            bias_correction2_sqrt: 1.0,
            eps: 1e-8,
        };
        // A dead unit's weight: gradient 0, m decaying from a small normal value.
        let (mut theta, mut g, mut m, mut v) = ([0.37_f32], [0.0_f32], [1e-36_f32], [1e-12_f32]);
        let (mut theta_ref, mut m_ref, mut v_ref) = (0.37_f32, 1e-36_f32, 1e-12_f32);
        let mut saw_subnormal = false;
        for _ in 0..200 {
            update_loop(&mut theta, &mut g, &mut m, &mut v, c, false);
            // The formula as written, never flushed.
            m_ref += c.one_minus_beta1 * (0.0 - m_ref);
            v_ref = v_ref * c.beta2 + c.one_minus_beta2 * 0.0 * 0.0;
            theta_ref += c.neg_step_size * m_ref / (v_ref.sqrt() / c.bias_correction2_sqrt + c.eps);
            assert_eq!(theta[0].to_bits(), theta_ref.to_bits());
            assert!(m[0] == 0.0 || m[0].is_normal(), "stored m {:e}", m[0]);
            saw_subnormal |= m_ref.is_subnormal();
        }
        assert!(
            saw_subnormal,
            "the unflushed m never became subnormal: the test tests nothing"
        );
        assert_eq!(m[0], 0.0);
        assert!(m_ref != 0.0, "unflushed, m sticks at a subnormal value");
    }
}
