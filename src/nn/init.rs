//! PyTorch's default initialisation for `nn.Linear`.
//!
//! `reset_parameters` draws `W` by `kaiming_uniform_(a=√5)`, whose bound works out to
//! `gain·√(3/fan_in)` with `gain = √(2/(1+5))`, that is `1/√fan_in`; then `b ~ U(±1/√fan_in)`.
//! Both come from a seeded generator, so the same seed gives the same network (not the same
//! numbers as PyTorch's generator: to start from PyTorch's draw, load its weights).

use ndarray::{Array1, Array2};
use ndarray_rand::RandomExt;
use ndarray_rand::rand_distr::Uniform;

use crate::linalg::Scalar;
use ndarray_rand::rand::Rng;

/// `(W: (outputs, inputs), b: (outputs,))`, every entry from `U(−1/√inputs, 1/√inputs)`.
pub fn linear_default<T: Scalar>(
    inputs: usize,
    outputs: usize,
    rng: &mut impl Rng,
) -> (Array2<T>, Array1<T>) {
    let bound = T::from_f64(1.0 / (inputs.max(1) as f64).sqrt());
    let uniform = || Uniform::new(-bound, bound).expect("the bound is finite and positive");
    let weight = Array2::random_using((outputs, inputs), uniform(), rng);
    let bias = Array1::random_using(outputs, uniform(), rng);
    (weight, bias)
}
