//! `twostage explain`: one training step of a tiny network, printed so that every number can
//! be checked with a pencil. The numbers are the engine's own (its `Dense`, `Relu`, losses and
//! optimizers, in `f64`); beside every gradient stands its centered finite difference.

mod update;

use clap::{Args, ValueEnum};
use ndarray::{Array1, Array2, ArrayView2, Axis, array};
use twostage::gradcheck::{numerical_gradient, rel_error};
use twostage::nn::{Dense, Layer, MseLoss, Parameters, Relu, SoftmaxCrossEntropy};
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};

use super::console::out;
use super::error::{Error, invalid};
use super::numbers::{count, seed};
use update::Update;

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
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = seed)]
    pub seed: Option<u64>,
    /// Examples in the batch: with 2 or more, the gradients show the sum over the batch and
    /// the loss's 1/B
    #[arg(long, default_value_t = 1, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = count::<1, 8>)]
    pub batch: usize,
    /// Training steps shown: the second and later show the optimizer's state carried over
    /// (Adam's m and v, SGD's momentum)
    #[arg(long, default_value_t = 1, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = count::<1, 10>)]
    pub steps: usize,
}

/// The learning rate of the explained step: large, so the update shows in 5 decimals.
const LR: f64 = 0.1;
/// The finite-difference step.
const H: f64 = 1e-6;

/// The tiny network and its batch.
struct Setup {
    first: Dense<f64>,
    relu: Relu<f64>,
    second: Dense<f64>,
    x: Array2<f64>,
    labels: Vec<usize>,
    target: Array2<f64>,
}

/// The network and a batch of `batch` examples: the first as [`one_example`], the others drawn
/// from the seed (0 when there is none).
fn setup(seed: Option<u64>, batch: usize) -> Setup {
    let mut s = one_example(seed);
    let mut rng = SmallRng::seed_from_u64(seed.unwrap_or(0).wrapping_add(1));
    for b in 1..batch {
        let x: Vec<f64> = (0..3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let target: Vec<f64> = (0..2).map(|_| rng.random_range(-1.0..1.0)).collect();
        // Rows are pushed onto arrays of the right width: cannot fail.
        let _ = s.x.push_row(ndarray::ArrayView1::from(&x));
        let _ = s.target.push_row(ndarray::ArrayView1::from(&target));
        s.labels.push((s.labels[0] + b) % 2);
    }
    s
}

fn one_example(seed: Option<u64>) -> Setup {
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
            labels: vec![1],
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
                labels: vec![(seed % 2) as usize],
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
            .forward(z2.view(), &s.labels)
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
    let mut s = setup(args.seed, args.batch.max(1));
    let mut t = String::new();
    let loss_name = match args.loss {
        LossChoice::Ce => "softmax\ncross-entropy",
        LossChoice::Mse => "mean squared\nerror",
    };
    let what = if args.steps > 1 {
        format!("{} training steps", args.steps)
    } else {
        "One training step".to_string()
    };
    t.push_str(&format!(
        "{what} of Linear(3,4) -> ReLU -> Linear(4,2) with {loss_name}, \
         worked through by the engine's own layers in f64. Beside each\n\
         gradient: its centered finite difference (L(θ+h) - L(θ-h)) / 2h, h = {H:e}.\n\n"
    ));
    let mut optimizer = Update::new(args.optimizer);
    let mut all_ok = true;
    for step in 1..=args.steps.max(1) {
        if args.steps > 1 {
            t.push_str(&format!("STEP {step} of {}\n", args.steps));
        }
        let (z1, dz2) = forward(&mut t, &mut s, args.loss);
        all_ok &= backward(&mut t, &mut s, args.loss, z1, dz2);
        all_ok &= optimizer.step(&mut t, &mut s, step);
        if step < args.steps {
            t.push('\n');
        }
    }
    (t, all_ok)
}

/// Prints the forward pass and the loss; returns `z1` and `dL/dz2`.
fn forward(t: &mut String, s: &mut Setup, loss: LossChoice) -> (Array2<f64>, Array2<f64>) {
    let batch = s.x.nrows();
    if batch == 1 {
        t.push_str("FORWARD (one example, B = 1)\n");
    } else {
        t.push_str(&format!(
            "FORWARD (a batch of B = {batch} examples, one a row)\n"
        ));
    }
    matrix(t, "x  = ", s.x.view(), "");
    match loss {
        LossChoice::Ce if batch == 1 => {
            t.push_str(&format!("  y  = {}    the label\n", s.labels[0]))
        }
        LossChoice::Ce => t.push_str(&format!("  y  = {:?}    the labels\n", s.labels)),
        LossChoice::Mse => matrix(t, "t  = ", s.target.view(), "    the target"),
    }
    matrix(t, "W1 = ", s.first.weight.view(), "   (4, 3)");
    matrix(t, "b1 = ", s.first.bias.view().insert_axis(Axis(0)), "");
    let z1 = s.first.forward(s.x.view()).to_owned();
    matrix(t, "z1 = x·W1ᵀ + b1 = ", z1.view(), "");
    let h = s.relu.forward(z1.view()).to_owned();
    matrix(t, "h  = max(z1, 0) = ", h.view(), "");
    matrix(t, "W2 = ", s.second.weight.view(), "   (2, 4)");
    matrix(t, "b2 = ", s.second.bias.view().insert_axis(Axis(0)), "");
    let z2 = s.second.forward(h.view()).to_owned();
    matrix(t, "z2 = h·W2ᵀ + b2 = ", z2.view(), "");
    let dz2 = match loss {
        LossChoice::Ce => {
            let mut ce = SoftmaxCrossEntropy::new();
            let value = ce.forward(z2.view(), &s.labels).unwrap_or(f64::NAN);
            let p = ce.probabilities().map(|p| p.to_owned()).unwrap_or_default();
            matrix(t, "p  = softmax(z2) = ", p.view(), "");
            if batch == 1 {
                t.push_str(&format!("  L  = -log p[y] = {value:.5}\n\n"));
            } else {
                let terms: Vec<String> = (0..batch)
                    .map(|b| format!("{:.5}", -p[[b, s.labels[b]]].ln()))
                    .collect();
                t.push_str(&format!(
                    "  L  = (1/B) Σ_b -log p_b[y_b] = (1/{batch})({}) = {value:.5}\n\n",
                    terms.join(" + ")
                ));
            }
            ce.backward().to_owned()
        }
        LossChoice::Mse => {
            let mut mse = MseLoss::new();
            let value = mse.forward(z2.view(), s.target.view());
            if batch == 1 {
                t.push_str(&format!("  L  = mean((z2 - t)²) = {value:.5}\n\n"));
            } else {
                t.push_str(&format!(
                    "  L  = mean((z2 - t)²) over all B·2 = {} entries = {value:.5}\n\n",
                    batch * 2
                ));
            }
            mse.backward().to_owned()
        }
    };
    (z1, dz2)
}

/// Prints the backward pass, each gradient above its finite differences; false if one differs.
fn backward(
    t: &mut String,
    s: &mut Setup,
    loss: LossChoice,
    z1: Array2<f64>,
    dz2: Array2<f64>,
) -> bool {
    let batch = s.x.nrows();
    let mut all_ok = true;
    t.push_str("BACKWARD (the chain rule, last layer first)\n");
    let formula = match loss {
        LossChoice::Ce => "dz2 = (p - onehot(y)) / B = ",
        LossChoice::Mse => "dz2 = 2(z2 - t) / (B·2)   = ",
    };
    matrix(t, formula, dz2.view(), "");
    if batch > 1 {
        t.push_str(&format!(
            "  (the 1/B = 1/{batch} is in dz2: each parameter gradient below sums its {batch} \
             rows)\n"
        ));
    }
    s.first.zero_grad();
    s.second.zero_grad();
    let dh = s.second.backward(dz2.view()).to_owned();
    let numeric_w2 = numeric_param(s, loss, 2);
    let numeric_b2 = numeric_param(s, loss, 3);
    // The finite differences ran forward passes: run this step's forward again, so the
    // layers' caches hold this batch (the gradients above are already accumulated).
    let z1_again = s.first.forward(s.x.view()).to_owned();
    s.relu.forward(z1_again.view());
    all_ok &= dense_gradients(t, &s.second, (2, "h"), batch, [&numeric_w2, &numeric_b2]);
    matrix(t, "dh  = dz2·W2  = ", dh.view(), "");
    let mask = z1.mapv(|z| if z > 0.0 { 1.0 } else { 0.0 });
    matrix(t, "[z1 > 0]      = ", mask.view(), "   ReLU lets through");
    let dz1 = s.relu.backward(dh.view()).to_owned();
    matrix(t, "dz1 = dh ⊙ [z1 > 0] = ", dz1.view(), "");
    let dx = s.first.backward(dz1.view()).to_owned();
    let numeric_w1 = numeric_param(s, loss, 0);
    let numeric_b1 = numeric_param(s, loss, 1);
    all_ok &= dense_gradients(t, &s.first, (1, "x"), batch, [&numeric_w1, &numeric_b1]);
    matrix(t, "dx  = dz1·W1  = ", dx.view(), "");
    let mut x_flat: Vec<f64> = s.x.iter().copied().collect();
    let shape = s.x.dim();
    let numeric_dx = numerical_gradient(&mut x_flat, H, |v| {
        let x = Array2::from_shape_vec(shape, v.to_vec()).unwrap_or_default();
        loss_of(s, loss, x.view())
    });
    all_ok &= check(t, dx.view(), &numeric_dx);
    t.push('\n');
    all_ok
}

/// Prints the weight and bias gradients of Dense layer `k` (its input named `input`), each
/// above its finite differences `numeric`; false if one differs.
fn dense_gradients(
    t: &mut String,
    layer: &Dense<f64>,
    (k, input): (usize, &str),
    batch: usize,
    numeric: [&[f64]; 2],
) -> bool {
    let (dw, db) = if batch == 1 {
        (
            format!("dW{k} = dz{k}ᵀ·{input}  = "),
            format!("db{k} = Σ dz{k}   = "),
        )
    } else {
        (
            format!("dW{k} = Σ_b dz{k}_bᵀ·{input}_b = "),
            format!("db{k} = Σ_b dz{k}_b      = "),
        )
    };
    matrix(t, &dw, layer.dweight.view(), "");
    let weight_ok = check(t, layer.dweight.view(), numeric[0]);
    let dbias = layer.dbias.view().insert_axis(Axis(0)).to_owned();
    matrix(t, &db, dbias.view(), "");
    let bias_ok = check(t, dbias.view(), numeric[1]);
    weight_ok && bias_ok
}

/// `twostage explain`.
pub fn run(args: &ExplainArgs) -> Result<(), Error> {
    for (flag, n, most) in [("--batch", args.batch, 8), ("--steps", args.steps, 10)] {
        if !(1..=most).contains(&n) {
            return Err(invalid(
                flag,
                format!("{n}: give 1 to {most}, a size whose every number can still be read"),
            ));
        }
    }
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
