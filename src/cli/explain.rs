//! `twostage explain`: one training step of a tiny network, printed so that every number can
//! be checked with a pencil. The numbers are the engine's own (its `Dense`, `Relu`, losses and
//! optimizers, in `f64`); beside every gradient stands its centered finite difference.

use clap::{Args, ValueEnum};
use ndarray::{Array1, Array2, ArrayView2, Axis, array};
use twostage::gradcheck::{numerical_gradient, rel_error};
use twostage::nn::{Dense, Layer, MseLoss, Parameters, Relu, SoftmaxCrossEntropy};
use twostage::optim::{Optimizer, Sgd, TextbookAdam};
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};

use super::console::out;
use super::error::{Error, invalid};

/// `--loss` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossChoice {
    /// Softmax cross-entropy against a class label (stage 2's loss)
    Ce,
    /// Mean squared error against a target vector (the autoencoder's loss)
    Mse,
}

/// `--optimizer` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerChoice {
    /// Adam, lr 0.1 here so the step is visible (training uses 1e-3)
    Adam,
    /// SGD with momentum 0.9, lr 0.1
    Sgd,
}

#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    /// The loss to explain
    #[arg(long, value_enum, default_value = "ce")]
    pub loss: LossChoice,
    /// The update to explain
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerChoice,
    /// Draw the weights, the input and the label from this seed instead of the fixed ones
    /// [default: none, the fixed small weights]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<u64>,
}

/// The learning rate of the explained step: large, so the update shows in 5 decimals.
const LR: f64 = 0.1;
/// The finite-difference step.
const H: f64 = 1e-6;

/// The tiny network and its one example.
struct Setup {
    first: Dense<f64>,
    relu: Relu<f64>,
    second: Dense<f64>,
    x: Array2<f64>,
    label: usize,
    target: Array2<f64>,
}

fn setup(seed: Option<u64>) -> Setup {
    match seed {
        None => Setup {
            first: Dense::from_weights(
                array![
                    [0.2, -0.1, -0.4],
                    [0.3, 0.5, 0.1],
                    [0.6, 0.2, -0.5],
                    [-0.2, -0.4, 0.3]
                ],
                array![0.1, 0.0, -0.1, 0.2],
            ),
            relu: Relu::new(),
            second: Dense::from_weights(
                array![[0.3, -0.6, 0.2, 0.5], [-0.4, 0.1, 0.7, -0.3]],
                array![0.05, -0.05],
            ),
            x: array![[1.0, 0.5, -1.0]],
            label: 1,
            target: array![[0.5, -0.5]],
        },
        Some(seed) => {
            let mut rng = SmallRng::seed_from_u64(seed);
            let first = Dense::new(3, 4, &mut rng);
            let second = Dense::new(4, 2, &mut rng);
            let x = Array2::from_shape_fn((1, 3), |_| rng.random_range(-1.0..1.0));
            let target = Array2::from_shape_fn((1, 2), |_| rng.random_range(-1.0..1.0));
            Setup {
                first,
                relu: Relu::new(),
                second,
                x,
                label: (seed % 2) as usize,
                target,
            }
        }
    }
}

/// One number in 8 columns: `-0.12345`, or `8.8e-5` when five decimals would hide it.
fn cell(v: f64) -> String {
    if v != 0.0 && v.abs() < 5e-4 {
        format!("{v:8.1e}")
    } else if v.abs() < 5e-6 {
        format!("{:8.5}", 0.0) // no "-0.00000"
    } else {
        format!("{v:8.5}")
    }
}

/// Numbers in a fixed width, so columns line up: ` 0.12345`, `-1.00000`.
fn row(values: impl IntoIterator<Item = f64>) -> String {
    let cells: Vec<String> = values.into_iter().map(cell).collect();
    format!(
        "[{} ]",
        cells.iter().map(|c| format!(" {c}")).collect::<String>()
    )
}

/// A matrix, one row a line, the first line after `label`, the others aligned under it.
fn matrix(text: &mut String, label: &str, m: ArrayView2<f64>, note: &str) {
    let pad = " ".repeat(label.chars().count());
    for (i, r) in m.rows().into_iter().enumerate() {
        let head = if i == 0 { label } else { &pad };
        let tail = if i == 0 { note } else { "" };
        text.push_str(&format!("  {head}{}{tail}\n", row(r.iter().copied())));
    }
}

/// The loss of the whole network at `x` (the forward pass only).
fn loss_of(s: &mut Setup, loss: LossChoice, x: ArrayView2<f64>) -> f64 {
    let z1 = s.first.forward(x).to_owned();
    let h = s.relu.forward(z1.view()).to_owned();
    let z2 = s.second.forward(h.view()).to_owned();
    match loss {
        LossChoice::Ce => SoftmaxCrossEntropy::new()
            .forward(z2.view(), &[s.label])
            .unwrap_or(f64::NAN),
        LossChoice::Mse => MseLoss::new().forward(z2.view(), s.target.view()),
    }
}

/// Centered differences of the loss with respect to every entry of one parameter tensor
/// (`which`: 0 W1, 1 b1, 2 W2, 3 b2), the tensor restored afterwards.
fn numeric_param(s: &mut Setup, loss: LossChoice, which: usize) -> Vec<f64> {
    let original = tensor(s, which).to_vec();
    let mut values = original.clone();
    let x = s.x.clone();
    let numeric = numerical_gradient(&mut values, H, |v| {
        set_tensor(s, which, v);
        loss_of(s, loss, x.view())
    });
    set_tensor(s, which, &original);
    numeric
}

fn tensor(s: &Setup, which: usize) -> Array1<f64> {
    match which {
        0 => s.first.weight.iter().copied().collect(),
        1 => s.first.bias.clone(),
        2 => s.second.weight.iter().copied().collect(),
        _ => s.second.bias.clone(),
    }
}

fn set_tensor(s: &mut Setup, which: usize, values: &[f64]) {
    let target: Vec<&mut f64> = match which {
        0 => s.first.weight.iter_mut().collect(),
        1 => s.first.bias.iter_mut().collect(),
        2 => s.second.weight.iter_mut().collect(),
        _ => s.second.bias.iter_mut().collect(),
    };
    for (t, &v) in target.into_iter().zip(values) {
        *t = v;
    }
}

/// The finite differences under a gradient, in its shape, and their worst relative error.
fn check(text: &mut String, analytic: ArrayView2<f64>, numeric: &[f64]) -> bool {
    let numeric_matrix =
        Array2::from_shape_vec(analytic.dim(), numeric.to_vec()).unwrap_or_default();
    matrix(text, "  finite diff.  ", numeric_matrix.view(), "");
    let exact: Vec<f64> = analytic.iter().copied().collect();
    let error = rel_error(&exact, numeric);
    let ok = error < 1e-6;
    text.push_str(&format!(
        "                  rel error {error:.1e}  {}\n",
        if ok { "ok" } else { "WRONG" }
    ));
    ok
}

/// The explanation, as text: pure, so tests can compare it with a golden file.
pub fn explanation(args: &ExplainArgs) -> (String, bool) {
    let mut s = setup(args.seed);
    let mut t = String::new();
    let mut all_ok = true;
    let loss_name = match args.loss {
        LossChoice::Ce => "softmax\ncross-entropy",
        LossChoice::Mse => "mean squared\nerror",
    };
    t.push_str(&format!(
        "One training step of Linear(3,4) -> ReLU -> Linear(4,2) with {loss_name}, \
         worked through by the engine's own layers in f64. Beside each\n\
         gradient: its centered finite difference (L(θ+h) - L(θ-h)) / 2h, h = {H:e}.\n\n"
    ));

    // Forward
    t.push_str("FORWARD (one example, B = 1)\n");
    matrix(&mut t, "x  = ", s.x.view(), "");
    match args.loss {
        LossChoice::Ce => t.push_str(&format!("  y  = {}    the label\n", s.label)),
        LossChoice::Mse => matrix(&mut t, "t  = ", s.target.view(), "    the target"),
    }
    matrix(&mut t, "W1 = ", s.first.weight.view(), "   (4, 3)");
    matrix(
        &mut t,
        "b1 = ",
        s.first.bias.view().insert_axis(Axis(0)),
        "",
    );
    let z1 = s.first.forward(s.x.view()).to_owned();
    matrix(&mut t, "z1 = x·W1ᵀ + b1 = ", z1.view(), "");
    let h = s.relu.forward(z1.view()).to_owned();
    matrix(&mut t, "h  = max(z1, 0) = ", h.view(), "");
    matrix(&mut t, "W2 = ", s.second.weight.view(), "   (2, 4)");
    matrix(
        &mut t,
        "b2 = ",
        s.second.bias.view().insert_axis(Axis(0)),
        "",
    );
    let z2 = s.second.forward(h.view()).to_owned();
    matrix(&mut t, "z2 = h·W2ᵀ + b2 = ", z2.view(), "");
    let mut ce = SoftmaxCrossEntropy::new();
    let mut mse = MseLoss::new();
    let (loss, dz2) = match args.loss {
        LossChoice::Ce => {
            let loss = ce.forward(z2.view(), &[s.label]).unwrap_or(f64::NAN);
            let p = ce.probabilities().map(|p| p.to_owned()).unwrap_or_default();
            matrix(&mut t, "p  = softmax(z2) = ", p.view(), "");
            t.push_str(&format!("  L  = -log p[y] = {loss:.5}\n\n"));
            (loss, ce.backward().to_owned())
        }
        LossChoice::Mse => {
            let loss = mse.forward(z2.view(), s.target.view());
            t.push_str(&format!("  L  = mean((z2 - t)²) = {loss:.5}\n\n"));
            (loss, mse.backward().to_owned())
        }
    };
    let _ = loss;

    // Backward
    t.push_str("BACKWARD (the chain rule, last layer first)\n");
    let formula = match args.loss {
        LossChoice::Ce => "dz2 = (p - onehot(y)) / B = ",
        LossChoice::Mse => "dz2 = 2(z2 - t) / (B·2)   = ",
    };
    matrix(&mut t, formula, dz2.view(), "");
    s.first.zero_grad();
    s.second.zero_grad();
    let dh = s.second.backward(dz2.view()).to_owned();
    let numeric_w2 = numeric_param(&mut s, args.loss, 2);
    let numeric_b2 = numeric_param(&mut s, args.loss, 3);
    // The finite differences ran forward passes: run this step's forward again, so the
    // layers' caches hold this example (the gradients above are already accumulated).
    let z1_again = s.first.forward(s.x.view()).to_owned();
    s.relu.forward(z1_again.view());
    matrix(&mut t, "dW2 = dz2ᵀ·h  = ", s.second.dweight.view(), "");
    all_ok &= check(&mut t, s.second.dweight.view(), &numeric_w2);
    matrix(
        &mut t,
        "db2 = Σ dz2   = ",
        s.second.dbias.view().insert_axis(Axis(0)),
        "",
    );
    all_ok &= check(
        &mut t,
        s.second.dbias.view().insert_axis(Axis(0)),
        &numeric_b2,
    );
    matrix(&mut t, "dh  = dz2·W2  = ", dh.view(), "");
    let mask = z1.mapv(|z| if z > 0.0 { 1.0 } else { 0.0 });
    matrix(
        &mut t,
        "[z1 > 0]      = ",
        mask.view(),
        "   ReLU lets through",
    );
    let dz1 = s.relu.backward(dh.view()).to_owned();
    matrix(&mut t, "dz1 = dh ⊙ [z1 > 0] = ", dz1.view(), "");
    let dx = s.first.backward(dz1.view()).to_owned();
    let numeric_w1 = numeric_param(&mut s, args.loss, 0);
    let numeric_b1 = numeric_param(&mut s, args.loss, 1);
    matrix(&mut t, "dW1 = dz1ᵀ·x  = ", s.first.dweight.view(), "");
    all_ok &= check(&mut t, s.first.dweight.view(), &numeric_w1);
    matrix(
        &mut t,
        "db1 = Σ dz1   = ",
        s.first.dbias.view().insert_axis(Axis(0)),
        "",
    );
    all_ok &= check(
        &mut t,
        s.first.dbias.view().insert_axis(Axis(0)),
        &numeric_b1,
    );
    matrix(&mut t, "dx  = dz1·W1  = ", dx.view(), "");
    let mut x_flat: Vec<f64> = s.x.iter().copied().collect();
    let numeric_dx = numerical_gradient(&mut x_flat, H, |v| {
        let x = Array2::from_shape_vec((1, 3), v.to_vec()).unwrap_or_default();
        loss_of(&mut s, args.loss, x.view())
    });
    all_ok &= check(&mut t, dx.view(), &numeric_dx);
    t.push('\n');

    // Update
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
    let mut after = Vec::new();
    match args.optimizer {
        OptimizerChoice::Adam => {
            let (beta1, beta2, eps) = (0.9_f64, 0.999_f64, 1e-8_f64);
            let (c1, c2) = (1.0 - beta1, 1.0 - beta2);
            t.push_str(&format!(
                "ADAM, step t = 1: lr {LR}, β1 {beta1}, β2 {beta2}, ε {eps:e}; m = v = 0 before\n\
                 \x20 m = β1·m + (1-β1)·g          v = β2·v + (1-β2)·g²\n\
                 \x20 m̂ = m / (1-β1ᵗ) = m / {c1:.3}    v̂ = v / (1-β2ᵗ) = v / {c2:.3}\n\
                 \x20 θ ← θ - lr·m̂ / (√v̂ + ε)      (at t = 1: m̂ = g, v̂ = g², a step of ±lr)\n"
            ));
            for ((name, g), theta) in grads.iter().zip(&before) {
                let m = g.mapv(|g| (1.0 - beta1) * g);
                let v = g.mapv(|g| (1.0 - beta2) * g * g);
                let m_hat = m.mapv(|m| m / c1);
                let v_hat = v.mapv(|v| v / c2);
                let new = theta - &(LR * &m_hat / &(v_hat.mapv(f64::sqrt) + eps));
                matrix(&mut t, &format!("{name}: m  = "), m.view(), "");
                matrix(&mut t, "    v  = ", v.view(), "");
                matrix(&mut t, "    θ' = ", new.view(), "");
                after.push(new);
            }
        }
        OptimizerChoice::Sgd => {
            t.push_str(&format!(
                "SGD WITH MOMENTUM, step 1: lr {LR}, μ 0.9\n\
                 \x20 b = μ·b + g (b = g at the first step)     θ ← θ - lr·b\n"
            ));
            for ((name, g), theta) in grads.iter().zip(&before) {
                let new = theta - &(LR * g);
                matrix(&mut t, &format!("{name}: b  = "), g.view(), "");
                matrix(&mut t, "    θ' = ", new.view(), "");
                after.push(new);
            }
        }
    }
    // The engine's own optimizer on the same gradients must give the weights printed above.
    let mut network = TinyNetwork(&mut s);
    match args.optimizer {
        OptimizerChoice::Adam => TextbookAdam::new(LR).step(&mut network),
        OptimizerChoice::Sgd => Sgd::new(LR, 0.9).step(&mut network),
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
    all_ok &= agrees;
    t.push_str(&format!(
        "  The engine's optimizer, run on the same gradients, gives these weights: {}\n",
        if agrees { "yes" } else { "NO" }
    ));
    (t, all_ok)
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

/// `twostage explain`.
pub fn run(args: &ExplainArgs) -> Result<(), Error> {
    let (text, ok) = explanation(args);
    out!("{text}");
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "--seed",
            "a gradient did not match its finite difference: this draw puts a ReLU input \
             within h of 0, where the derivative is not defined; try another seed",
        ))
    }
}
