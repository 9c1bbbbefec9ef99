//! The optimizer's step of `twostage explain`, worked by hand with the state it carries from
//! step to step, beside the engine's own optimizer run on the same gradients.

use ndarray::{Array1, Array2, Axis};
use twostage::nn::Parameters;
use twostage::optim::{Optimizer, Sgd, TextbookAdam};

use super::{LR, OptimizerChoice, Setup, matrix, tensor};

/// The update by hand, with the state it carries from step to step, beside the engine's
/// optimizer run on the same gradients.
pub struct Update {
    choice: OptimizerChoice,
    /// Adam's `(m, v)` or SGD's momentum buffer `(b, _)`, per tensor, after the last step.
    state: Vec<(Array2<f64>, Array2<f64>)>,
    adam: TextbookAdam<f64>,
    sgd: Sgd<f64>,
}

impl Update {
    pub fn new(choice: OptimizerChoice) -> Update {
        Update {
            choice,
            state: Vec::new(),
            adam: TextbookAdam::new(LR),
            sgd: Sgd::new(LR, 0.9),
        }
    }

    /// Prints step `step` of the update and applies the engine's; false if the two differ.
    pub fn step(&mut self, t: &mut String, s: &mut Setup, step: usize) -> bool {
        let tensors = tensors(s);
        if self.state.is_empty() {
            self.state = tensors
                .iter()
                .map(|p| (Array2::zeros(p.grad.dim()), Array2::zeros(p.grad.dim())))
                .collect();
        }
        let after = match self.choice {
            OptimizerChoice::Adam => self.adam_step(t, &tensors, step),
            OptimizerChoice::Sgd => self.sgd_step(t, &tensors, step),
        };
        // The engine's own optimizer on the same gradients must give the weights printed above.
        let mut network = TinyNetwork(s);
        match self.choice {
            OptimizerChoice::Adam => self.adam.step(&mut network),
            OptimizerChoice::Sgd => self.sgd.step(&mut network),
        }
        let worst = (0..4)
            .map(|i| {
                tensor(network.0, i)
                    .iter()
                    .zip(after[i].iter())
                    .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()))
            })
            .fold(0.0_f64, f64::max);
        let agrees = worst < 1e-12;
        t.push_str(&format!(
            "  The engine's optimizer, run on the same gradients, gives these weights: {}\n",
            if agrees { "yes" } else { "NO" }
        ));
        agrees
    }

    /// Prints Adam's step by hand; returns the updated tensors.
    fn adam_step(&mut self, t: &mut String, tensors: &[Tensor], step: usize) -> Vec<Array2<f64>> {
        let (beta1, beta2, eps) = (0.9_f64, 0.999_f64, 1e-8_f64);
        let power = i32::try_from(step).unwrap_or(i32::MAX);
        let (c1, c2) = (1.0 - beta1.powi(power), 1.0 - beta2.powi(power));
        if step == 1 {
            t.push_str(&format!(
                "ADAM, step t = 1: lr {LR}, β1 {beta1}, β2 {beta2}, ε {eps:e}; m = v = 0 before\n\
                 \x20 m = β1·m + (1-β1)·g          v = β2·v + (1-β2)·g²\n\
                 \x20 m̂ = m / (1-β1ᵗ) = m / {c1:.3}    v̂ = v / (1-β2ᵗ) = v / {c2:.3}\n\
                 \x20 θ ← θ - lr·m̂ / (√v̂ + ε)      (at t = 1: m̂ = g, v̂ = g², a step of ±lr)\n"
            ));
        } else {
            t.push_str(&format!(
                "ADAM, step t = {step}: m and v carry over from step {}\n\
                 \x20 m = β1·m + (1-β1)·g          v = β2·v + (1-β2)·g²\n\
                 \x20 m̂ = m / (1-β1ᵗ) = m / {c1:.3}    v̂ = v / (1-β2ᵗ) = v / {c2:.4}\n\
                 \x20 θ ← θ - lr·m̂ / (√v̂ + ε)      (no longer ±lr: m̂, v̂ mix {step} gradients)\n",
                step - 1
            ));
        }
        let mut after = Vec::new();
        for (p, (m, v)) in tensors.iter().zip(&mut self.state) {
            let (name, g, theta) = (&p.name, &p.grad, &p.before);
            *m = m.mapv(|m| beta1 * m) + g.mapv(|g| (1.0 - beta1) * g);
            *v = v.mapv(|v| beta2 * v) + g.mapv(|g| (1.0 - beta2) * g * g);
            let m_hat = m.mapv(|m| m / c1);
            let v_hat = v.mapv(|v| v / c2);
            let new = theta - &(LR * &m_hat / &(v_hat.mapv(f64::sqrt) + eps));
            matrix(t, &format!("{name}: m  = "), m.view(), "");
            matrix(t, "    v  = ", v.view(), "");
            matrix(t, "    θ' = ", new.view(), "");
            after.push(new);
        }
        after
    }

    /// Prints SGD's step by hand; returns the updated tensors.
    fn sgd_step(&mut self, t: &mut String, tensors: &[Tensor], step: usize) -> Vec<Array2<f64>> {
        if step == 1 {
            t.push_str(&format!(
                "SGD WITH MOMENTUM, step 1: lr {LR}, μ 0.9\n\
                 \x20 b = μ·b + g (b = g at the first step)     θ ← θ - lr·b\n"
            ));
        } else {
            t.push_str(&format!(
                "SGD WITH MOMENTUM, step {step}: b carries over from step {}\n\
                 \x20 b = μ·b + g     θ ← θ - lr·b\n",
                step - 1
            ));
        }
        let mut after = Vec::new();
        for (p, (b, _)) in tensors.iter().zip(&mut self.state) {
            let (name, g, theta) = (&p.name, &p.grad, &p.before);
            *b = if step == 1 {
                g.clone()
            } else {
                b.mapv(|b| 0.9 * b) + g
            };
            let new = theta - &(LR * &*b);
            matrix(t, &format!("{name}: b  = "), b.view(), "");
            matrix(t, "    θ' = ", new.view(), "");
            after.push(new);
        }
        after
    }
}

/// One parameter tensor at a step: its name, its gradient, its value before the update.
struct Tensor {
    name: String,
    grad: Array2<f64>,
    before: Array2<f64>,
}

/// The network's four tensors, `W1 b1 W2 b2`, biases as one-row matrices.
fn tensors(s: &Setup) -> Vec<Tensor> {
    let mut tensors = Vec::new();
    for (k, layer) in [(1, &s.first), (2, &s.second)] {
        let row = |b: &Array1<f64>| b.clone().insert_axis(Axis(0));
        tensors.push(Tensor {
            name: format!("W{k}"),
            grad: layer.dweight.clone(),
            before: layer.weight.clone(),
        });
        tensors.push(Tensor {
            name: format!("b{k}"),
            grad: row(&layer.dbias),
            before: row(&layer.bias),
        });
    }
    tensors
}

/// The two Dense layers as one set of parameters for the optimizer.
struct TinyNetwork<'a>(&'a mut Setup);

impl Parameters<f64> for TinyNetwork<'_> {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, twostage::nn::ParamMut<'_, f64>)) {
        self.0
            .first
            .visit_params(&mut |name, p| f(&format!("0.{name}"), p));
        self.0
            .second
            .visit_params(&mut |name, p| f(&format!("2.{name}"), p));
    }
}
