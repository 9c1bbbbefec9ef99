//! Gradient checks: every hand-written backward pass against centered finite differences, in
//! `f64`, at fixed seeds.
//!
//! A layer's backward takes an upstream gradient `dy`, so the scalar checked is
//! `L = Σ y ⊙ r` for a fixed random `r`: then `dL/dy = r`, a random upstream gradient, and every
//! entry of the backward is exercised. The losses are checked on their own scalar. Every check
//! must reach a worst relative error of 1e-7 (a correct backward in `f64` does far better; a wrong
//! one is off by 1e-2 or more). Run with `--nocapture` to see the errors measured.

mod common;

use ndarray::{Array2, ArrayView2};
use twostage::gradcheck::{
    CheckOptions, TensorCheck, check_layer, check_parameters, numerical_gradient, rel_error,
};
use twostage::linalg::Scalar;
use twostage::nn::{Dense, Layer, MseLoss, Parameters, Relu, Sequential, SoftmaxCrossEntropy};
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;

use common::assert_matches;
use common::{SMALL, dense_case, random};
use twostage::{Stage1Grad, TwoStageNetwork};

/// The worst relative error any check may show.
const TOLERANCE: f64 = 1e-7;

/// The finite-difference step, the same as `CheckOptions::default()`.
const H: f64 = 1e-5;

/// Prints every tensor's errors and fails on the first whose entry-wise relative error (CS231n's
/// `rel_error`) is above [`TOLERANCE`]: the test for a single layer.
fn assert_checks(what: &str, report: &[TensorCheck]) {
    assert_within_tolerance(what, report, "max rel error", |check| check.max_rel_error);
}

/// Like [`assert_checks`], for a whole network: the error is taken relative to each tensor's
/// scale, because some entries of a network's gradient are so small (1e-7) that the difference
/// quotient's own rounding (about 1e-11 in f64) dominates them (see `twostage::gradcheck`).
fn assert_network_checks(what: &str, report: &[TensorCheck]) {
    assert_within_tolerance(what, report, "scaled rel error", |check| {
        check.scaled_rel_error
    });
}

/// Prints every tensor's errors and fails on the first whose `error` is above [`TOLERANCE`].
fn assert_within_tolerance(
    what: &str,
    report: &[TensorCheck],
    measure: &str,
    error: fn(&TensorCheck) -> f64,
) {
    print_checks(what, report);
    for check in report {
        assert!(
            error(check) <= TOLERANCE,
            "{what} {}: {measure} {:.3e} > {TOLERANCE:e}",
            check.name,
            error(check)
        );
    }
}

fn print_checks(what: &str, report: &[TensorCheck]) {
    for check in report {
        eprintln!(
            "{what} {}: rel error {:.2e} scaled, {:.2e} worst entry (max abs {:.2e}, {} entries)",
            check.name,
            check.scaled_rel_error,
            check.max_rel_error,
            check.max_abs_error,
            check.checked
        );
    }
}

/// Compares an analytic gradient with a numerical one, prints and asserts the error.
fn assert_close(what: &str, analytic: &Array2<f64>, numeric: &[f64]) {
    let analytic: Vec<f64> = analytic.iter().copied().collect();
    let error = rel_error(&analytic, numeric);
    eprintln!(
        "{what}: max rel error {error:.2e} ({} entries)",
        numeric.len()
    );
    assert!(
        error <= TOLERANCE,
        "{what}: max rel error {error:.3e} > {TOLERANCE:e}"
    );
}

/// `Σ layer(x) ⊙ r`: the scalar whose gradient with respect to `layer(x)` is `r`.
fn weighted_sum(layer: &mut dyn Layer<f64>, x: ArrayView2<f64>, r: &Array2<f64>) -> f64 {
    (&layer.forward(x) * r).sum()
}

/// Checks `dx` of `layer` at `x` with upstream gradient `r`.
fn check_input_gradient(what: &str, layer: &mut dyn Layer<f64>, x: &Array2<f64>, r: &Array2<f64>) {
    layer.zero_grad();
    layer.forward(x.view());
    let dx = layer.backward(r.view()).to_owned();
    // x: (B, in), flattened in row-major order like `dx.iter()`.
    let mut flat: Vec<f64> = x.iter().copied().collect();
    let numeric = numerical_gradient(&mut flat, H, |flat| {
        let x = ArrayView2::from_shape(x.dim(), flat).unwrap();
        weighted_sum(layer, x, r)
    });
    assert_close(what, &dx, &numeric);
}

/// Checks every parameter gradient of `layer` at `x` with upstream gradient `r`.
fn check_layer_parameters<L: Layer<f64>>(
    what: &str,
    layer: &mut L,
    x: &Array2<f64>,
    r: &Array2<f64>,
) {
    let report = check_parameters(
        layer,
        |l| weighted_sum(l, x.view(), r),
        |l| {
            l.forward(x.view());
            l.backward_params(r.view());
        },
        &CheckOptions::default(),
    )
    .expect("the layer has parameters");
    assert_checks(what, &report);
}

/// The smallest `|pre-activation|` of any ReLU in `layers` for the input `x`, and the output.
///
/// ReLU has a kink at 0, where it is not differentiable: a centered difference whose two points
/// straddle the kink measures the average of the two slopes, which matches neither of them, and
/// the check fails on an entry whose backward is right. The nudges of a check move
/// pre-activations by about `h`, so a check is only meaningful when this is far above `h`.
fn closest_to_kink(layers: &mut Sequential<f64>, x: ArrayView2<f64>) -> (f64, Array2<f64>) {
    let mut closest = f64::INFINITY;
    let mut h = x.to_owned();
    for layer in layers.layers.iter_mut() {
        if layer.describe() == "ReLU()" {
            closest = h.iter().fold(closest, |m, v| m.min(v.abs()));
        }
        h = layer.forward(h.view()).to_owned();
    }
    (closest, h)
}

#[test]
fn dense_gradients() {
    let (mut layer, x, r, _) = dense_case(1, (3, 5, 4));
    check_input_gradient("Dense dx", &mut layer, &x, &r);
    check_layer_parameters("Dense", &mut layer, &x, &r);
}

#[test]
fn relu_input_gradient() {
    let mut rng = SmallRng::seed_from_u64(2);
    let (batch, width) = (4, 7);
    // Push every entry at least 0.1 away from the kink at 0 (see `closest_to_kink`): a nudge of
    // h = 1e-5 then never crosses it, and the centered difference sees one straight line.
    let mut x = random((batch, width), &mut rng);
    x.mapv_inplace(|v| v + 0.1 * v.signum());
    assert!(x.iter().all(|v| v.abs() >= 0.1));
    assert!(x.iter().any(|&v| v < 0.0) && x.iter().any(|&v| v > 0.0));
    let r = random((batch, width), &mut rng);
    check_input_gradient("ReLU dx", &mut Relu::<f64>::new(), &x, &r);
}

#[test]
fn mse_gradient() {
    let mut rng = SmallRng::seed_from_u64(3);
    let (batch, width) = (3, 4);
    let prediction = random((batch, width), &mut rng);
    let target = random((batch, width), &mut rng);
    let mut mse = MseLoss::new();
    mse.forward(prediction.view(), target.view());
    let dprediction = mse.backward().to_owned();
    let mut flat: Vec<f64> = prediction.iter().copied().collect();
    let numeric = numerical_gradient(&mut flat, H, |flat| {
        let prediction = ArrayView2::from_shape((batch, width), flat).unwrap();
        mse.forward(prediction, target.view())
    });
    assert_close("MSELoss dprediction", &dprediction, &numeric);
}

#[test]
fn softmax_cross_entropy_gradient() {
    let mut rng = SmallRng::seed_from_u64(4);
    let (batch, classes) = (5, 4);
    let logits = 3.0 * random((batch, classes), &mut rng);
    let labels = [2, 0, 3, 3, 1];
    let mut ce = SoftmaxCrossEntropy::new();
    ce.forward(logits.view(), &labels).unwrap();
    let dlogits = ce.backward().to_owned();
    let mut flat: Vec<f64> = logits.iter().copied().collect();
    let numeric = numerical_gradient(&mut flat, H, |flat| {
        let logits = ArrayView2::from_shape((batch, classes), flat).unwrap();
        ce.forward(logits, &labels).unwrap()
    });
    assert_close("CrossEntropyLoss dlogits", &dlogits, &numeric);
}

/// Logits of ±1e4, where `e^z` overflows (or underflows to 0 in every term), give the exact loss
/// and gradient: each case is `(logits, label, loss, dlogits)`, forwarded as a batch of one.
fn softmax_cross_entropy_extreme_logits<T: Scalar>(tolerance: f64) {
    let ln2 = std::f64::consts::LN_2;
    let ln3 = 3.0_f64.ln();
    let cases: [([f64; 3], usize, f64, [f64; 3]); 6] = [
        // One dominant logit, the label: softmax is exactly one-hot.
        ([1e4, 0.0, -1e4], 0, 0.0, [0.0, 0.0, 0.0]),
        // One dominant logit, another label: the loss is the gap.
        ([1e4, 0.0, -1e4], 2, 2e4, [1.0, 0.0, -1.0]),
        ([-1e4, 0.0, 1e4], 1, 1e4, [0.0, -1.0, 1.0]),
        // Two tied maxima far from 0.
        ([1e4, 1e4, 0.0], 0, ln2, [-0.5, 0.5, 0.0]),
        ([-1e4, 0.0, 0.0], 1, ln2, [0.0, -0.5, 0.5]),
        // All logits −1e4: every e^z underflows unless the maximum is subtracted first.
        (
            [-1e4, -1e4, -1e4],
            0,
            ln3,
            [-2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
        ),
    ];
    for (logits, label, expected_loss, expected_grad) in cases {
        let logits = Array2::from_shape_fn((1, 3), |(_, j)| T::from_f64(logits[j]));
        let mut ce = SoftmaxCrossEntropy::<T>::new();
        let loss = Scalar::to_f64(ce.forward(logits.view(), &[label]).unwrap());
        let dlogits = ce.backward().to_owned();
        let what = format!("logits {logits}, label {label}");
        assert!(loss.is_finite(), "{what}: loss {loss}");
        assert!(
            dlogits.iter().all(|g| g.is_finite()),
            "{what}: dlogits {dlogits}"
        );
        let loss_error = (loss - expected_loss).abs() / expected_loss.abs().max(1.0);
        eprintln!("{what}: loss {loss} (expected {expected_loss}, rel error {loss_error:.2e})");
        assert!(
            loss_error <= tolerance,
            "{what}: loss {loss}, expected {expected_loss} (rel error {loss_error:.3e} > {tolerance:e})"
        );
        for (g, e) in dlogits.iter().zip(expected_grad) {
            assert!(
                (Scalar::to_f64(*g) - e).abs() <= tolerance,
                "{what}: dlogits {dlogits}, expected {expected_grad:?}"
            );
        }
    }
}

#[test]
fn softmax_cross_entropy_extreme_logits_f32() {
    // A few f32 ulps: ln 2 itself rounds to f32 with relative error 3e-8.
    softmax_cross_entropy_extreme_logits::<f32>(1e-6);
}

#[test]
fn softmax_cross_entropy_extreme_logits_f64() {
    softmax_cross_entropy_extreme_logits::<f64>(1e-12);
}

#[test]
fn sequential_gradients() {
    let mut rng = SmallRng::seed_from_u64(5);
    let batch = 3;
    // Dense(5→7) → ReLU → Dense(7→6) → ReLU → Dense(6→4)
    let mut net = Sequential::new(vec![
        Box::new(Dense::<f64>::new(5, 7, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Dense::new(7, 6, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Dense::new(6, 4, &mut rng)),
    ]);
    let x = random((batch, 5), &mut rng);
    let r = random((batch, 4), &mut rng);
    let (closest, _) = closest_to_kink(&mut net, x.view());
    eprintln!("Sequential: closest pre-activation to a ReLU kink {closest:.2e}");
    assert!(
        closest > 1e-3,
        "pick another seed: a ReLU input is {closest:e} from 0"
    );
    check_input_gradient("Sequential dx", &mut net, &x, &r);
    check_layer_parameters("Sequential", &mut net, &x, &r);
}

/// A small network, an input batch, labels, and a check that no ReLU input is near its kink.
fn small_network(seed: u64) -> (TwoStageNetwork<f64>, Array2<f64>, Vec<usize>) {
    let dims = SMALL;
    let batch = 5;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut network = TwoStageNetwork::new(dims, &mut rng);
    let x = random((batch, dims.input), &mut rng);
    let labels = vec![3, 0, 1, 3, 2];
    let (stage1, features) = closest_to_kink(&mut network.stage1, x.view());
    let (stage2, _) = closest_to_kink(&mut network.stage2, features.view());
    let (decoder, _) = closest_to_kink(&mut network.decoder, features.view());
    let closest = stage1.min(stage2).min(decoder);
    eprintln!("TwoStageNetwork: closest pre-activation to a ReLU kink {closest:.2e}");
    assert!(
        closest > 1e-3,
        "pick another seed: a ReLU input is {closest:e} from 0"
    );
    (network, x, labels)
}

/// The checks of the tensors whose names start with one of `prefixes`.
fn parts(report: &[TensorCheck], prefixes: &[&str]) -> Vec<TensorCheck> {
    report
        .iter()
        .filter(|c| prefixes.iter().any(|p| c.name.starts_with(p)))
        .cloned()
        .collect()
}

/// Every gradient of the tensors whose names start with `prefix`.
fn grads(network: &mut TwoStageNetwork<f64>, prefix: &str) -> Vec<f64> {
    let mut grads = Vec::new();
    network.visit_params(&mut |name, p| {
        if name.starts_with(prefix) {
            grads.extend(p.grad.iter().copied());
        }
    });
    grads
}

/// Asserts that the loss does not depend on the part at all and that backward left its
/// gradients at zero: both the numeric and the analytic gradient are exactly 0.
fn assert_untouched(what: &str, report: &[TensorCheck]) {
    for check in report {
        assert_eq!(check.max_abs_error, 0.0, "{what} {}", check.name);
    }
}

#[test]
fn network_autoencoder_gradients() {
    let (mut network, x, _) = small_network(6);
    // L = MSE(decoder(stage1(x)), x)
    let report = check_parameters(
        &mut network,
        |n| {
            let reconstruction = n.reconstruction(x.view());
            MseLoss::new().forward(reconstruction, x.view())
        },
        |n| {
            let mut mse = MseLoss::new();
            let reconstruction = n.reconstruction(x.view());
            mse.forward(reconstruction, x.view());
            n.reconstruction_backward(mse.backward());
        },
        &CheckOptions::default(),
    )
    .expect("the network has parameters");
    assert_network_checks("autoencoder", &parts(&report, &["stage1.", "decoder."]));
    assert_untouched("autoencoder", &parts(&report, &["stage2."]));
}

/// Checks the classifier's gradients under `stage1`; returns the report and stage 1's gradients.
fn classifier_check(stage1: Stage1Grad) -> (Vec<TensorCheck>, Vec<f64>, Vec<f64>) {
    let (mut network, x, labels) = small_network(7);
    // L = CE(stage2(stage1(x)), labels)
    let report = check_parameters(
        &mut network,
        |n| {
            let logits = n.logits(x.view());
            SoftmaxCrossEntropy::new().forward(logits, &labels).unwrap()
        },
        |n| {
            let mut ce = SoftmaxCrossEntropy::new();
            let logits = n.logits(x.view());
            ce.forward(logits, &labels).unwrap();
            n.logits_backward(ce.backward(), stage1);
        },
        &CheckOptions::default(),
    )
    .expect("the network has parameters");
    // check_parameters leaves the analytic gradients in place.
    let stage1_grads = grads(&mut network, "stage1.");
    let stage2_grads = grads(&mut network, "stage2.");
    (report.tensors, stage1_grads, stage2_grads)
}

#[test]
fn network_classifier_gradients_frozen_stage1() {
    let (report, stage1_grads, stage2_grads) = classifier_check(Stage1Grad::Frozen);
    assert_network_checks("classifier (frozen)", &parts(&report, &["stage2."]));
    assert_untouched("classifier (frozen)", &parts(&report, &["decoder."]));
    // The loss does depend on stage 1 (its numeric gradient is not zero), but a frozen stage 1
    // receives no gradient at all.
    assert!(
        parts(&report, &["stage1."])
            .iter()
            .all(|c| c.max_abs_error > 0.0)
    );
    assert!(
        stage1_grads.iter().all(|&g| g == 0.0),
        "frozen stage 1 got a gradient"
    );
    assert!(stage2_grads.iter().any(|&g| g != 0.0));
}

#[test]
fn network_classifier_gradients_trainable_stage1() {
    let (report, stage1_grads, _) = classifier_check(Stage1Grad::Trainable);
    assert_network_checks(
        "classifier (trainable)",
        &parts(&report, &["stage1.", "stage2."]),
    );
    assert_untouched("classifier (trainable)", &parts(&report, &["decoder."]));
    assert!(stage1_grads.iter().any(|&g| g != 0.0));
}

/// The library's own whole-layer check agrees: parameters and `dx` of a Dense layer, `dx` only
/// for ReLU (no parameters), and a parameter check of a parameter-free layer is an error, not an
/// empty pass.
#[test]
fn check_layer_covers_parameters_and_input_gradient() {
    let (mut dense, x, r, mut rng) = dense_case(8, (2, 4, 3));
    let report = check_layer(&mut dense, x.view(), r.view(), &CheckOptions::default());
    let names: Vec<&str> = report.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["weight", "bias", "dx"]);
    assert_checks("check_layer Dense", &report);

    let mut x = random((2, 5), &mut rng);
    x.mapv_inplace(|v| v + 0.1 * v.signum());
    let r = random((2, 5), &mut rng);
    let mut relu = Relu::<f64>::new();
    let report = check_layer(&mut relu, x.view(), r.view(), &CheckOptions::default());
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].name, "dx");
    assert_eq!(report[0].checked, 10);
    assert_checks("check_layer ReLU", &report);

    let empty = check_parameters(&mut relu, |_| 0.0, |_| {}, &CheckOptions::default());
    assert_matches!(empty => Err(twostage::Error::NothingToCheck { .. }));
}

/// ReLU with a wrong backward, for the checks to catch: `dx = dy` everywhere, the mask
/// forgotten.
struct NoMask(Relu<f64>, Array2<f64>);

impl NoMask {
    fn new() -> NoMask {
        NoMask(Relu::new(), Array2::zeros((0, 0)))
    }
}

impl twostage::nn::Parameters<f64> for NoMask {
    fn visit_params(&mut self, _f: &mut dyn FnMut(&str, twostage::nn::ParamMut<'_, f64>)) {}
}

impl Layer<f64> for NoMask {
    fn describe(&self) -> String {
        "NoMask()".into()
    }
    fn forward(&mut self, x: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.0.forward(x)
    }
    fn backward(&mut self, dy: ArrayView2<f64>) -> ArrayView2<'_, f64> {
        self.1 = dy.to_owned(); // forgets the mask
        self.1.view()
    }
}

/// A wrong backward fails the input-gradient check: ReLU's mask applied to the input side of
/// the kink (`dx = dy` everywhere) is caught.
#[test]
fn check_input_gradient_catches_a_wrong_backward() {
    let mut rng = SmallRng::seed_from_u64(9);
    let mut x = random((3, 4), &mut rng);
    x.mapv_inplace(|v| v + 0.1 * v.signum());
    let r = random((3, 4), &mut rng);
    let mut wrong = NoMask::new();
    let check = twostage::gradcheck::check_input_gradient(
        &mut wrong,
        x.view(),
        r.view(),
        &CheckOptions::default(),
    );
    assert!(check.max_rel_error > 0.5, "{check:?}");
}

/// Pushes every entry of `x` at least 0.1 away from 0, where a kink (ReLU's, LeakyReLU's)
/// would make a centered difference wrong.
fn away_from_zero(mut x: Array2<f64>) -> Array2<f64> {
    x.mapv_inplace(|v| v + 0.1 * v.signum());
    x
}

#[test]
fn tanh_sigmoid_and_leaky_relu_gradients() {
    use twostage::nn::{LeakyRelu, Sigmoid, Tanh};
    let mut rng = SmallRng::seed_from_u64(21);
    let x = away_from_zero(random((4, 6), &mut rng) * 3.0);
    let r = random((4, 6), &mut rng);
    check_input_gradient("Tanh dx", &mut Tanh::<f64>::new(), &x, &r);
    check_input_gradient("Sigmoid dx", &mut Sigmoid::<f64>::new(), &x, &r);
    check_input_gradient("LeakyReLU dx", &mut LeakyRelu::<f64>::new(0.1), &x, &r);
    for (what, mut layer) in [
        ("Tanh", Box::new(Tanh::<f64>::new()) as Box<dyn Layer<f64>>),
        ("Sigmoid", Box::new(Sigmoid::new())),
        ("LeakyReLU", Box::new(LeakyRelu::default())),
    ] {
        let report = check_layer(&mut layer, x.view(), r.view(), &CheckOptions::default());
        assert!(report.passed(), "{what}: {report}");
    }
}

#[test]
fn activations_compute_their_formulas() {
    use twostage::nn::{LeakyRelu, Sigmoid, Tanh};
    let x = ndarray::array![[-2.0_f64, 0.0, 3.0]];
    let y = Sigmoid::new().forward(x.view()).to_owned();
    assert_eq!(y, x.mapv(|v| 1.0 / (1.0 + (-v).exp())));
    assert_eq!(Tanh::new().forward(x.view()), x.mapv(f64::tanh));
    assert_eq!(
        LeakyRelu::new(0.5).forward(x.view()),
        ndarray::array![[-1.0, 0.0, 3.0]]
    );
    // f32 too, like every layer.
    let x32 = x.mapv(|v| v as f32);
    assert_eq!(Tanh::<f32>::new().forward(x32.view()).dim(), (1, 3));
}

#[test]
fn a_report_gives_a_verdict_naming_the_worst_tensor() {
    let (mut dense, x, r, mut rng) = dense_case(22, (2, 3, 2));
    let good = check_layer(&mut dense, x.view(), r.view(), &CheckOptions::default());
    assert!(good.passed(), "{good}");
    assert!(good.to_string().starts_with("passed: worst "), "{good}");
    // A borrowed trait object works as well.
    let borrowed: &mut dyn Layer<f64> = &mut dense;
    assert!(check_layer(borrowed, x.view(), r.view(), &CheckOptions::default()).passed());

    let x = away_from_zero(random((3, 4), &mut rng));
    let r = random((3, 4), &mut rng);
    let bad = check_layer(
        &mut NoMask::new(),
        x.view(),
        r.view(),
        &CheckOptions::default(),
    );
    assert!(!bad.passed());
    assert_eq!(bad.worst().map(|t| t.name.as_str()), Some("dx"));
    assert_eq!(bad.failures().count(), 1);
    assert!(bad.to_string().starts_with("FAILED: worst dx"), "{bad}");
}
