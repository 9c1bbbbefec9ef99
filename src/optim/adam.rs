//! Adam, step for step as `torch.optim.Adam` (weight_decay 0, no amsgrad) computes it.
//!
//! For each parameter `θ` with gradient `g`, at step `t = 1, 2, …`:
//! ```text
//! m ← m + (1 − β₁)·(g − m)                 (PyTorch's lerp; the same as β₁·m + (1 − β₁)·g)
//! v ← β₂·v + (1 − β₂)·g²
//! θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//! ```
//! ε is added *after* the square root and the bias corrections use the step count, as in
//! PyTorch; the scalar coefficients are computed in `f64` and rounded once, as PyTorch does
//! with Python floats.
//!
//! One departure, in the stored moments only: a new `m` or `v` smaller in magnitude than the
//! type's smallest normal number (2⁻¹²⁶ ≈ 1.2e-38 in `f32`) is stored as 0. Such values come from
//! dead ReLU units: their gradient is exactly 0, so `m` shrinks by 0.9 a step into the subnormal
//! range and, by rounding, stays there for good (after one autoencoder epoch most of the first
//! layer's `m` are subnormal). Arithmetic on subnormals is slow on x86 CPUs, so flushing them
//! makes an autoencoder epoch measurably faster (`benches/README.md`). The step that produces such a moment
//! updates `θ` with it unflushed; in later steps the unflushed `m` would have moved `θ` by at
//! most lr·2⁻¹²⁶/ε ≈ 1e-33 (lr 1e-3), below half an ulp of any weight larger than about 2e-26, and
//! `v` that small vanishes next to ε in the denominator. So `θ` differs only if a weight is itself
//! that close to 0, or a dead unit comes back with a gradient below ~1e-30: in the runs compared
//! (5 + 5 + 3 epochs seed 0, 8 + 1 epochs seed 1) the checkpoints were byte-identical with and
//! without the flush. An observation, not a proof.

use rayon::prelude::*;

use super::Keyed;
use crate::linalg::simd::{self, Rung};
use crate::linalg::{self, Scalar};
use crate::nn::{ParamMut, Parameters};

/// Parameters shorter than this are updated on one thread.
const PARALLEL_MIN_LEN: usize = 1 << 15;
/// Chunk length for the parallel update.
const CHUNK: usize = 1 << 13;

/// The optimizer and its per-parameter moments `m` and `v`.
pub struct Adam<T> {
    /// The learning rate.
    pub lr: f64,
    /// β₁, the decay of the first moment (0.9).
    pub beta1: f64,
    /// β₂, the decay of the second moment (0.999).
    pub beta2: f64,
    /// ε, added to √v̂ (1e-8).
    pub eps: f64,
    /// Steps taken so far (`t` after the update).
    pub steps: u64,
    /// `(m, v)` for each parameter, under its name; allocated at the first step.
    moments: Keyed<(Vec<T>, Vec<T>)>,
}

/// The step's scalar coefficients, already rounded to `T`.
#[derive(Clone, Copy)]
struct Coefficients<T> {
    one_minus_beta1: T,
    beta2: T,
    one_minus_beta2: T,
    neg_step_size: T,
    bias_correction2_sqrt: T,
    eps: T,
}

impl<T: Scalar> Adam<T> {
    /// PyTorch's defaults: β = (0.9, 0.999), ε = 1e-8.
    pub fn new(lr: f64) -> Adam<T> {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            steps: 0,
            moments: Keyed::default(),
        }
    }

    /// One update of every parameter `params` visits, from the gradients they hold.
    /// The same parameters must be visited, in the same order, at every step.
    pub fn step(&mut self, params: &mut dyn Parameters<T>) {
        self.update_all(params, false);
    }

    /// [`Adam::step`], then [`Parameters::zero_grad`], in one pass over memory: the update
    /// reads every gradient anyway, so clearing it there costs one store, where a separate
    /// `zero_grad` walks the autoencoder's 1.9 MB of gradients again (`cargo bench --bench
    /// step_phases` times both). A training loop that uses it starts each step with
    /// the gradients already zero.
    pub fn step_and_zero_grad(&mut self, params: &mut dyn Parameters<T>) {
        self.update_all(params, true);
    }

    fn update_all(&mut self, params: &mut dyn Parameters<T>, zero_grad: bool) {
        self.steps += 1;
        let t = self.steps as f64;
        let bias_correction1 = 1.0 - self.beta1.powf(t);
        let bias_correction2 = 1.0 - self.beta2.powf(t);
        let c = Coefficients {
            one_minus_beta1: T::from_f64(1.0 - self.beta1),
            beta2: T::from_f64(self.beta2),
            one_minus_beta2: T::from_f64(1.0 - self.beta2),
            neg_step_size: T::from_f64(-(self.lr / bias_correction1)),
            bias_correction2_sqrt: T::from_f64(bias_correction2.sqrt()),
            eps: T::from_f64(self.eps),
        };
        let moments = &mut self.moments;
        let mut index = 0;
        params.visit_params(&mut |name,
                                  ParamMut {
                                      mut value,
                                      mut grad,
                                  }| {
            let n = value.len();
            let (m, v) = moments.get(index, name, "Adam", || {
                (vec![T::zero(); n], vec![T::zero(); n])
            });
            assert_eq!(m.len(), n, "Adam: parameter {name} changed size");
            // Our parameters are always standard-layout arrays (see nn::Dense).
            let theta = value.as_slice_mut().expect("parameters are contiguous");
            let g = grad.as_slice_mut().expect("gradients are contiguous");
            // (On a one-thread pool, splitting would only hand the work over to that thread.)
            if theta.len() < PARALLEL_MIN_LEN || rayon::current_num_threads() == 1 {
                update(theta, g, m, v, c, zero_grad);
            } else {
                // A few pieces per core when the pool fits the machine: with exactly one a core,
                // a piece the spinner does not steal at once runs after the other on the same
                // thread (measured: the AE epoch 20 % slower). One a core when the pool is larger
                // than the machine: more would wake sleeping threads to queue behind each other
                // (`--threads 64` twice as slow).
                let cores = linalg::usable_cores();
                let pieces = if rayon::current_num_threads() > cores {
                    cores
                } else {
                    4 * cores
                };
                let chunks_per_piece = theta.len().div_ceil(CHUNK).div_ceil(pieces);
                theta
                    .par_chunks_mut(CHUNK)
                    .zip(g.par_chunks_mut(CHUNK))
                    .zip(m.par_chunks_mut(CHUNK))
                    .zip(v.par_chunks_mut(CHUNK))
                    .with_min_len(chunks_per_piece)
                    .for_each(|(((theta, g), m), v)| update(theta, g, m, v, c, zero_grad));
            }
            index += 1;
        });
    }
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
fn update<T: Scalar>(
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

impl<T: Scalar> super::Optimizer<T> for Adam<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) {
        Adam::step(self, params);
    }

    fn step_and_zero_grad(&mut self, params: &mut dyn Parameters<T>) {
        Adam::step_and_zero_grad(self, params);
    }
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
