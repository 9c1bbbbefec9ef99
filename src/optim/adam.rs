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
//! One departure, in the stored moments only: a new `m` smaller in magnitude than
//! `2⁻¹²⁵ / min(1 − β₁, β₁·lr)` (twice the smallest normal `f32` over the smallest factor it meets
//! in the next step; 2.6e-35 at lr 1e-3) is stored as 0, and so is a new `v` below `2⁻¹²⁵`.
//! Such values come from dead ReLU units: their gradient is exactly 0, so `m` shrinks by β₁ a
//! step towards the subnormal range and, unflushed, stays there for good. Long before, its
//! products in a step, `(1 − β₁)·m` and `lr_t·m`, are subnormal, and every x86 CPU we measured
//! takes a slow microcode path for each of them (a large share of Adam's time,
//! `benches/README.md`). Flushed at the threshold, no
//! decaying moment ever makes a subnormal. The step that produces such a moment updates `θ`
//! with it unflushed; in later steps the unflushed `m` would have moved `θ` by less than
//! `Σₖ (lr/(1 − β₁ᵗ))·m_k/ε ≤ 10·lr·10·threshold/ε ≈ 2.6e-28` (ε = 1e-8, any lr), below half an
//! ulp of any weight larger than about 5e-21, and `v` that small adds less than 5e-18 to the
//! denominator, below half an ulp of ε. So `θ` differs only if a weight is itself that close to
//! 0, or a dead unit comes back with a gradient below ~1e-27; in the training runs compared
//! (`benches/README.md`) the checkpoints were byte-identical with and without the flush. An
//! observation, not a proof.

pub(crate) mod kernel;

use kernel::{Chunk, Coefficients, update};

use super::{Keyed, Optimizer};
use crate::linalg::{self, Scalar, aligned};
use crate::nn::{ParamMut, Parameters};
use ndarray::Array1;

/// Parameters shorter than this are updated on one thread.
const PARALLEL_MIN_LEN: usize = 1 << 15;

/// The optimizer and its per-parameter moments `m` and `v`. It steps through the
/// [`Optimizer`] trait, so bring that into scope:
///
/// ```
/// use twostage::ndarray::array;
/// use twostage::nn::{Dense, Layer};
/// use twostage::optim::{Adam, Optimizer};
/// let mut layer = Dense::from_weights(array![[1.0_f32, -1.0]], array![0.0]);
/// let mut adam = Adam::new(0.1);
/// layer.forward(array![[1.0, 2.0]].view());
/// layer.backward_params(array![[1.0]].view()); // dW = [1, 2], db = [1]
/// adam.step_and_zero_grad(&mut layer);
/// // The first step moves every parameter by about lr against its gradient's sign.
/// assert!((layer.weight[[0, 0]] - 0.9).abs() < 1e-6 && (layer.bias[0] + 0.1).abs() < 1e-6);
/// ```
///
/// One `Adam` per network: its moments belong to the tensors of its first step, and a step on
/// another network (even with the same parameter names) panics rather than apply them there.
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
    moments: Keyed<(Array1<T>, Array1<T>)>,
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

    fn update_all(&mut self, params: &mut dyn Parameters<T>, zero_grad: bool) {
        self.steps += 1;
        let t = self.steps as f64;
        let bias_correction1 = 1.0 - self.beta1.powf(t);
        let bias_correction2 = 1.0 - self.beta2.powf(t);
        let c = Coefficients::new(
            T::from_f64(1.0 - self.beta1),
            T::from_f64(self.beta2),
            T::from_f64(1.0 - self.beta2),
            T::from_f64(-(self.lr / bias_correction1)),
            T::from_f64(bias_correction2.sqrt()),
            T::from_f64(self.eps),
            Coefficients::m_flush(self.lr, self.beta1),
        );
        let moments = &mut self.moments;
        let mut index = 0;
        params.visit_params(&mut |name,
                                  ParamMut {
                                      mut value,
                                      mut grad,
                                  }| {
            let n = value.len();
            let (m, v) = moments.get(index, name, value.as_ptr(), "Adam", || {
                (aligned::zeros(n), aligned::zeros(n))
            });
            assert_eq!(m.len(), n, "Adam: parameter {name} changed size");
            // Our parameters are always standard-layout arrays (see nn::Dense).
            let rows = value.shape().first().copied().unwrap_or(1);
            let theta = value.as_slice_mut().expect("parameters are contiguous");
            let (m, v) = (
                m.as_slice_mut().expect("moments are contiguous"),
                v.as_slice_mut().expect("moments are contiguous"),
            );
            let g = grad.as_slice_mut().expect("gradients are contiguous");
            if theta.len() < PARALLEL_MIN_LEN {
                update(Chunk { theta, g, m, v }, c, zero_grad);
            } else {
                // One contiguous piece per core, cut where the gradient product cut `dW`: each
                // core then updates rows whose gradient it wrote itself, and which are still in
                // its cache (faster than pieces taken by whichever core comes first,
                // benches/README.md). On a one-thread pool that is one piece, updated here.
                update_split(
                    rows,
                    Chunk { theta, g, m, v },
                    c,
                    zero_grad,
                    linalg::pieces(),
                );
            }
            index += 1;
        });
    }
}

/// [`update`] on `pieces` threads, cut at the rows where [`linalg::gemm`] cuts `dW`
/// ([`linalg::split_point`]), so each thread reads back the gradient rows it accumulated.
fn update_split<T: Scalar>(
    rows: usize,
    chunk: Chunk<'_, T>,
    c: Coefficients<T>,
    zero_grad: bool,
    pieces: usize,
) {
    if pieces <= 1 || rows < 2 {
        update(chunk, c, zero_grad);
        return;
    }
    let left_pieces = pieces / 2;
    let at = linalg::split_point(rows, left_pieces, pieces);
    let cut = at * (chunk.theta.len() / rows);
    let (top, bottom) = chunk.split_at(cut);
    linalg::join(
        || update_split(at, top, c, zero_grad, left_pieces),
        || update_split(rows - at, bottom, c, zero_grad, pieces - left_pieces),
    );
}

/// Adam's [`Optimizer::step`] and, fused into the same pass over memory,
/// [`Optimizer::step_and_zero_grad`]: the update reads every gradient anyway, so clearing it
/// there costs one store, where a separate `zero_grad` walks the gradients again (`cargo bench
/// --bench step_phases` times both). A training loop that uses it starts each step with the
/// gradients already zero.
impl<T: Scalar> Optimizer<T> for Adam<T> {
    fn step(&mut self, params: &mut dyn Parameters<T>) {
        self.update_all(params, false);
    }

    fn step_and_zero_grad(&mut self, params: &mut dyn Parameters<T>) {
        self.update_all(params, true);
    }
}
