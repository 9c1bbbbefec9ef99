//! The optimizer's step of `twostage explain`, worked by hand with the state it carries from
//! step to step, beside the engine's own optimizer run on the same gradients.

use ndarray::{Array2, Axis};
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
        let grads: Vec<(&str, Array2<f64>)> = vec![
            ("W1", s.first.dweight.clone()),
            ("b1", s.first.dbias.clone().insert_axis(Axis(0))),
            ("W2", s.second.dweight.clone()),
            ("b2", s.second.dbias.clone().insert_axis(Axis(0))),
        ];
        let before: Vec<Array2<f64>> = vec![
            s.first.weight.clone(),
            s.first.bias.clone().insert_axis(Axis(0)),
            s.second.weight.clone(),
            s.second.bias.clone().insert_axis(Axis(0)),
        ];
        if self.state.is_empty() {
            self.state = grads
                .iter()
                .map(|(_, g)| (Array2::zeros(g.dim()), Array2::zeros(g.dim())))
                .collect();
        }
        let after = match self.choice {
            OptimizerChoice::Adam => self.adam_by_hand(t, &grads, &before, step),
            OptimizerChoice::Sgd => self.sgd_by_hand(t, &grads, &before, step),
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

    fn adam_by_hand(
        &mut self,
        t: &mut String,
        grads: &[(&str, Array2<f64>)],
        before: &[Array2<f64>],
        step: usize,
    ) -> Vec<Array2<f64>> {
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
        for (((name, g), theta), (m, v)) in grads.iter().zip(before).zip(&mut self.state) {
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

    fn sgd_by_hand(
        &mut self,
        t: &mut String,
        grads: &[(&str, Array2<f64>)],
        before: &[Array2<f64>],
        step: usize,
    ) -> Vec<Array2<f64>> {
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
        for (((name, g), theta), (b, _)) in grads.iter().zip(before).zip(&mut self.state) {
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
