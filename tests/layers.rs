//! The layer kit's semantics, beyond the gradient values the gradient checks cover: gradients
//! accumulate, `zero_grad` clears them, every misuse (a shape that does not fit, `backward`
//! before `forward`) panics naming the layer while bad data (a label that is not a class) is an
//! `Error`, ReLU's convention at 0, the frozen stage 1, Adam's update, PyTorch's init and parameter names.

mod common;

use ndarray::{Array1, Array2, array};
use twostage::nn::{
    Dense, Layer, MseLoss, ParamMut, Parameters, Relu, Sequential, SoftmaxCrossEntropy,
};
use twostage::optim::{Adam, Optimizer, Sgd, TextbookAdam};
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;

use common::{SMALL, dense_case, panic_message, random};
use twostage::{Dims, Error, Stage1Grad, TwoStageNetwork};

/// Every `(name, gradient)` of `params`, in visiting order.
fn grads<T: twostage::linalg::Scalar>(params: &mut dyn Parameters<T>) -> Vec<(String, Vec<T>)> {
    let mut grads = Vec::new();
    params.visit_params(&mut |name, p| {
        grads.push((name.to_string(), p.grad.iter().copied().collect()))
    });
    grads
}

/// Every `(name, value)` of `params`, in visiting order.
fn values<T: twostage::linalg::Scalar>(params: &mut dyn Parameters<T>) -> Vec<(String, Vec<T>)> {
    let mut values = Vec::new();
    params.visit_params(&mut |name, p| {
        values.push((name.to_string(), p.value.iter().copied().collect()))
    });
    values
}

/// The small network of the gradient checks.
fn small_network(seed: u64) -> TwoStageNetwork<f64> {
    let dims = SMALL;
    TwoStageNetwork::new(dims, &mut SmallRng::seed_from_u64(seed))
}

// ---------------------------------------------------------------------------------------------
// Accumulation and zero_grad

#[test]
fn dense_backward_twice_accumulates_twice() {
    // Small integers: every product and sum is exact, so "twice" can be checked with ==.
    let mut layer = Dense::<f64>::from_weights(
        array![[1.0, -2.0, 3.0], [0.0, 4.0, -1.0]],
        array![0.5, -0.5],
    );
    let x = array![[1.0, 2.0, -1.0], [3.0, 0.0, 2.0]]; // (B=2, in=3)
    let dy = array![[1.0, -1.0], [2.0, 3.0]]; // (B=2, out=2)
    layer.forward(x.view());
    layer.backward_params(dy.view());
    // dW = dyᵀ·x, db = Σ_b dy
    assert_eq!(layer.dweight, array![[7.0, 2.0, 3.0], [8.0, -2.0, 7.0]]);
    assert_eq!(layer.dbias, array![3.0, 2.0]);
    layer.backward_params(dy.view());
    assert_eq!(layer.dweight, array![[14.0, 4.0, 6.0], [16.0, -4.0, 14.0]]);
    assert_eq!(layer.dbias, array![6.0, 4.0]);
    layer.zero_grad();
    assert!(layer.dweight.iter().chain(&layer.dbias).all(|&g| g == 0.0));
}

/// The classifier's and the autoencoder's backward, run twice from one forward, give every
/// tensor of the network twice the gradient of one run.
#[test]
fn network_backward_twice_accumulates_twice() {
    let mut rng = SmallRng::seed_from_u64(10);
    let mut network = small_network(10);
    let x = random((5, 12), &mut rng);
    let labels = [3, 0, 1, 3, 2];
    let mut ce = SoftmaxCrossEntropy::new();
    let mut mse = MseLoss::new();
    let logits = network.logits(x.view());
    ce.forward(logits, &labels).unwrap();
    let reconstruction = network.reconstruction(x.view()).to_owned();
    mse.forward(reconstruction.view(), x.view());
    // The caches now hold the autoencoder's forward for stage 1 and the decoder, and the
    // classifier's for stage 2 (stage 1's forward is the same in both).
    let backward = |network: &mut TwoStageNetwork<f64>,
                    ce: &mut SoftmaxCrossEntropy<f64>,
                    mse: &mut MseLoss<f64>| {
        network.logits_backward(ce.backward(), Stage1Grad::Trainable);
        network.reconstruction_backward(mse.backward());
    };
    network.zero_grad();
    backward(&mut network, &mut ce, &mut mse);
    let once = grads(&mut network);
    backward(&mut network, &mut ce, &mut mse);
    let twice = grads(&mut network);
    for ((name, once), (_, twice)) in once.iter().zip(&twice) {
        assert!(once.iter().any(|&g| g != 0.0), "{name}: no gradient");
        let scale = once.iter().fold(0.0_f64, |m, g| m.max(g.abs()));
        for (a, b) in once.iter().zip(twice) {
            // Weights accumulate through gemm's β = 1, one rounding of an exact doubling; a
            // bias adds the batch's rows one at a time onto what is there, so its sum is rounded
            // in a different order the second time: equal up to a few ulps.
            assert!(
                (b - 2.0 * a).abs() <= 1e-14 * scale,
                "{name}: {b} is not twice {a}"
            );
        }
    }
    network.zero_grad();
    assert!(
        grads(&mut network)
            .iter()
            .all(|(_, g)| g.iter().all(|&g| g == 0.0))
    );
}

// ---------------------------------------------------------------------------------------------
// Misuse panics, naming the layer; bad data is an error

#[test]
fn backward_before_forward_panics_naming_the_layer() {
    let mut rng = SmallRng::seed_from_u64(11);
    let dy = Array2::<f64>::zeros((2, 2));
    let mut dense = Dense::<f64>::new(3, 2, &mut rng);
    let message = panic_message(|| {
        dense.backward(dy.view());
    });
    assert!(
        message.contains("Linear(3, 2)") && message.contains("before forward"),
        "{message}"
    );
    let message = panic_message(|| dense.backward_params(dy.view()));
    assert!(message.contains("Linear(3, 2)"), "{message}");
    let mut relu = Relu::<f64>::new();
    let message = panic_message(|| {
        relu.backward(dy.view());
    });
    assert!(message.contains("ReLU()"), "{message}");
    // Sequential fails at its last layer, the first to run backward.
    let mut sequential = Sequential::new(vec![
        Box::new(Dense::<f64>::new(3, 4, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Dense::new(4, 2, &mut rng)),
    ]);
    let message = panic_message(|| {
        sequential.backward(dy.view());
    });
    assert!(message.contains("Linear(4, 2)"), "{message}");
}

#[test]
fn shape_misuse_panics_in_forward_and_backward() {
    let mut rng = SmallRng::seed_from_u64(15);
    let mut dense = Dense::<f64>::new(3, 2, &mut rng);
    let message = panic_message(|| {
        dense.forward(Array2::zeros((2, 4)).view());
    });
    assert!(
        message.contains("Linear(3, 2)") && message.contains("width"),
        "{message}"
    );
    dense.forward(Array2::zeros((2, 3)).view());
    let message = panic_message(|| {
        dense.backward(Array2::zeros((2, 5)).view());
    });
    assert!(
        message.contains("Linear(3, 2)") && message.contains("dy"),
        "{message}"
    );
    let mut mse = MseLoss::<f64>::new();
    let message = panic_message(|| {
        mse.forward(Array2::zeros((2, 3)).view(), Array2::zeros((3, 2)).view());
    });
    assert!(message.contains("MSELoss"), "{message}");
    let mut ce = SoftmaxCrossEntropy::<f64>::new();
    let message = panic_message(|| {
        let _ = ce.forward(Array2::zeros((2, 3)).view(), &[0]);
    });
    assert!(message.contains("CrossEntropyLoss"), "{message}");
}

#[test]
fn loss_backward_before_forward_panics() {
    let mut mse = MseLoss::<f64>::new();
    assert!(
        panic_message(|| {
            mse.backward();
        })
        .contains("MSELoss")
    );
    let mut ce = SoftmaxCrossEntropy::<f64>::new();
    assert!(
        panic_message(|| {
            ce.backward();
        })
        .contains("CrossEntropyLoss")
    );
    assert!(ce.probabilities().is_none());
}

#[test]
fn cross_entropy_rejects_bad_labels() {
    let logits = Array2::<f64>::zeros((2, 3)); // (B=2, classes=3)
    let mut ce = SoftmaxCrossEntropy::new();
    match ce.forward(logits.view(), &[0, 3]) {
        Err(Error::Label {
            label,
            row,
            classes,
        }) => assert_eq!((label, row, classes), (3, 1, 3)),
        other => panic!("expected a label error, got {other:?}"),
    }
    // A rejected forward caches nothing: backward still has no forward to work from.
    assert!(
        panic_message(|| {
            ce.backward();
        })
        .contains("before forward")
    );
}

// ---------------------------------------------------------------------------------------------
// ReLU and Dense conventions

#[test]
fn relu_gradient_at_zero_is_zero() {
    // PyTorch's convention: the gradient passes only where the output is positive.
    let mut relu = Relu::<f64>::new();
    let x = array![[-1.0, 0.0, -0.0, 2.0, 1e-300]];
    let y = relu.forward(x.view()).to_owned();
    assert_eq!(y, array![[0.0, 0.0, 0.0, 2.0, 1e-300]]);
    let dy = array![[5.0, 5.0, 5.0, 5.0, 5.0]];
    let dx = relu.backward(dy.view()).to_owned();
    assert_eq!(dx, array![[0.0, 0.0, 0.0, 5.0, 5.0]]);
}

#[test]
fn dense_backward_params_accumulates_what_backward_does() {
    let (mut layer, x, dy, _) = dense_case(12, (4, 3, 2));
    layer.forward(x.view());
    layer.backward_params(dy.view());
    let (dw, db) = (layer.dweight.clone(), layer.dbias.clone());
    assert!(dw.iter().chain(&db).all(|&g| g != 0.0));
    layer.zero_grad();
    let dx = layer.backward(dy.view()).to_owned();
    assert_eq!(dx.dim(), (4, 3));
    assert_eq!((layer.dweight.clone(), layer.dbias.clone()), (dw, db));
}

// ---------------------------------------------------------------------------------------------
// The frozen stage 1

#[test]
fn frozen_stage1_gets_no_gradient() {
    let mut rng = SmallRng::seed_from_u64(13);
    let mut network = small_network(13);
    let x = random((5, 12), &mut rng);
    let mut ce = SoftmaxCrossEntropy::new();
    let logits = network.logits(x.view());
    ce.forward(logits, &[3, 0, 1, 3, 2]).unwrap();
    network.zero_grad();
    network.logits_backward(ce.backward(), Stage1Grad::Frozen);
    for (name, grad) in grads(&mut network) {
        let nonzero = grad.iter().any(|&g| g != 0.0);
        assert_eq!(nonzero, name.starts_with("stage2."), "{name}");
    }
}

#[test]
fn frozen_stage1_backward_never_runs() {
    // Stage 2 alone has run forward; stage 1 has no cache, so running its backward would fail.
    let mut rng = SmallRng::seed_from_u64(14);
    let mut network = small_network(14);
    let features = random((5, 8), &mut rng);
    network.stage2.forward(features.view());
    let dlogits = random((5, 4), &mut rng);
    network.logits_backward(dlogits.view(), Stage1Grad::Frozen);
    let message = panic_message(|| network.logits_backward(dlogits.view(), Stage1Grad::Trainable));
    assert!(
        message.contains("Linear(10, 8)"),
        "stage 1 has no forward: {message}"
    );
}

// ---------------------------------------------------------------------------------------------
// Adam

/// One bare tensor: the smallest thing Adam can update.
struct Tensor {
    value: Array1<f64>,
    grad: Array1<f64>,
}

impl Parameters<f64> for Tensor {
    fn visit_params(&mut self, f: &mut dyn FnMut(&str, ParamMut<'_, f64>)) {
        f(
            "tensor",
            ParamMut {
                value: self.value.view_mut().into_dyn(),
                grad: self.grad.view_mut().into_dyn(),
            },
        );
    }
}

#[test]
fn adam_matches_the_formula() {
    let lr = 0.1;
    let mut tensor = Tensor {
        value: array![0.0, 0.0, 0.0],
        grad: array![1.0, -2.0, 0.5],
    };
    let mut adam = Adam::new(lr);
    adam.step(&mut tensor);
    assert_eq!(adam.steps, 1);
    // At step 1, m̂ = g and v̂ = g², so θ₁ = −lr·g / (|g| + ε): a step of almost exactly lr
    // against the sign of every gradient, whatever its size.
    let expected = [
        -0.1 / (1.0 + 1e-8),
        0.2 / (2.0 + 1e-8),
        -0.05 / (0.5 + 1e-8),
    ];
    for (theta, e) in tensor.value.iter().zip(expected) {
        assert!(
            (theta - e).abs() <= 1e-12,
            "θ = {}, expected {expected:?}",
            tensor.value
        );
    }
    // Later steps, against the textbook formulas.
    let mut textbook = TextbookAdam::new(lr);
    let mut reference = Tensor {
        value: array![0.0, 0.0, 0.0],
        grad: array![1.0, -2.0, 0.5],
    };
    Optimizer::step(&mut textbook, &mut reference);
    for g in [[0.3, 0.1, -4.0], [0.0, -1.0, 2.0], [-0.7, 0.0, 0.25]] {
        tensor.grad = Array1::from(g.to_vec());
        reference.grad = Array1::from(g.to_vec());
        adam.step(&mut tensor);
        Optimizer::step(&mut textbook, &mut reference);
        for (a, b) in tensor.value.iter().zip(&reference.value) {
            assert!(
                (a - b).abs() <= 1e-12,
                "step {}: θ = {}, textbook {}",
                adam.steps,
                tensor.value,
                reference.value
            );
        }
    }
}

#[test]
fn adam_large_tensor_matches_the_formula() {
    // 784·64 = 50176 weights: updated in parallel chunks, on a 2-thread pool whatever the machine.
    let pool = common::pool(2);
    pool.install(adam_large_tensor_check);
}

fn adam_large_tensor_check() {
    let mut rng = SmallRng::seed_from_u64(15);
    let mut layer = Dense::<f64>::new(784, 64, &mut rng);
    let mut reference = Dense::from_weights(layer.weight.clone(), layer.bias.clone());
    let (mut adam, mut textbook) = (Adam::new(1e-3), TextbookAdam::new(1e-3));
    for _ in 0..3 {
        layer.dweight = random((64, 784), &mut rng);
        layer.dbias = random((1, 64), &mut rng).into_shape_with_order(64).unwrap();
        reference.dweight = layer.dweight.clone();
        reference.dbias = layer.dbias.clone();
        adam.step(&mut layer);
        Optimizer::step(&mut textbook, &mut reference);
        for ((name, value), (_, theta)) in values(&mut layer).iter().zip(values(&mut reference)) {
            let worst = value
                .iter()
                .zip(&theta)
                .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst <= 1e-12, "{name}: off by {worst:e}");
        }
    }
}

/// The fused f32 Adam against the textbook one in f32: the same update up to rounding (the
/// fused one follows PyTorch's operation order), over 20 steps of a real layer's shapes.
#[test]
fn fused_and_textbook_adam_agree_in_f32() {
    let mut rng = SmallRng::seed_from_u64(18);
    let mut fused = Dense::<f32>::new(128, 64, &mut rng);
    let mut textbook_layer = Dense::from_weights(fused.weight.clone(), fused.bias.clone());
    let (mut adam, mut textbook) = (Adam::new(1e-3), TextbookAdam::new(1e-3));
    for _ in 0..20 {
        fused.dweight = random((64, 128), &mut rng).mapv(|v| v as f32);
        fused.dbias = random((1, 64), &mut rng)
            .mapv(|v| v as f32)
            .into_shape_with_order(64)
            .unwrap();
        textbook_layer.dweight = fused.dweight.clone();
        textbook_layer.dbias = fused.dbias.clone();
        adam.step_and_zero_grad(&mut fused);
        textbook.step_and_zero_grad(&mut textbook_layer);
    }
    let worst = fused
        .weight
        .iter()
        .zip(&textbook_layer.weight)
        .fold(0.0_f32, |m, (a, b)| m.max((a - b).abs()));
    // 20 steps of at most lr = 1e-3 each: agreement to 1e-6 is a few f32 ulps of the step.
    assert!(worst <= 1e-6, "fused and textbook Adam differ by {worst:e}");
    assert!(
        fused.dweight.iter().all(|&g| g == 0.0),
        "step_and_zero_grad clears"
    );
}

#[test]
fn sgd_with_momentum_follows_pytorch() {
    let mut tensor = Tensor {
        value: array![1.0, -1.0],
        grad: array![0.5, -2.0],
    };
    let mut sgd = Sgd::new(0.1, 0.9);
    sgd.step(&mut tensor); // b = g; θ = θ − 0.1·g
    assert_eq!(tensor.value, array![1.0 - 0.05, -1.0 + 0.2]);
    sgd.step(&mut tensor); // b = 0.9·g + g = 1.9·g
    let expected = [0.95 - 0.1 * 1.9 * 0.5, -0.8 + 0.1 * 1.9 * 2.0];
    for (a, e) in tensor.value.iter().zip(expected) {
        assert!((a - e).abs() < 1e-12, "{} vs {expected:?}", tensor.value);
    }
    // Plain SGD: θ ← θ − lr·g, every step.
    let mut plain = Sgd::new(0.5, 0.0);
    plain.step(&mut tensor);
    plain.step(&mut tensor);
    for (a, e) in tensor.value.iter().zip(expected) {
        assert!((a - (e - 2.0 * 0.5 * [0.5, -2.0][(e < 0.0) as usize])).abs() < 1e-12);
    }
}

#[test]
fn an_optimizer_refuses_parameters_it_does_not_know() {
    let mut rng = SmallRng::seed_from_u64(19);
    let mut a = Dense::<f64>::new(3, 2, &mut rng);
    let mut b = Sequential::new(vec![Box::new(Dense::<f64>::new(3, 2, &mut rng))]);
    for optimizer in [
        &mut Adam::new(1e-3) as &mut dyn Optimizer<f64>,
        &mut Sgd::new(1e-3, 0.9),
        &mut TextbookAdam::new(1e-3),
    ] {
        optimizer.step(&mut a);
        let message = panic_message(|| optimizer.step(&mut b));
        assert!(
            message.contains("\"0.weight\"") && message.contains("\"weight\""),
            "{message}"
        );
    }
}

#[test]
fn adam_with_zero_gradient_changes_nothing() {
    // m and v stay 0, so every update is 0 / (0 + ε) = 0: on the one-thread path (the bias) and
    // the parallel one (the 200704 weights).
    let mut layer = Dense::<f32>::new(784, 256, &mut SmallRng::seed_from_u64(16));
    let before = values(&mut layer);
    let mut adam = Adam::new(0.1);
    for _ in 0..3 {
        layer.zero_grad();
        adam.step(&mut layer);
    }
    assert!(
        values(&mut layer) == before,
        "weights moved under zero gradients"
    );
}

#[test]
fn adam_step_and_zero_grad_is_step_then_zero_grad() {
    // Two identical layers and optimizers, on a 2-thread pool so the 200704 weights take the
    // parallel path: `step_and_zero_grad` must give the same bits as `step` then `zero_grad`,
    // and leave every gradient zero.
    let pool = common::pool(2);
    pool.install(|| {
        let mut rng = SmallRng::seed_from_u64(17);
        let mut fused = Dense::<f32>::new(784, 256, &mut rng);
        let mut separate = Dense::from_weights(fused.weight.clone(), fused.bias.clone());
        let (mut adam_fused, mut adam_separate) = (Adam::new(1e-3), Adam::new(1e-3));
        for _ in 0..3 {
            let x = random((8, 784), &mut rng).mapv(|v| v as f32);
            let dy = random((8, 256), &mut rng).mapv(|v| v as f32);
            for (layer, adam, fuse) in [
                (&mut fused, &mut adam_fused, true),
                (&mut separate, &mut adam_separate, false),
            ] {
                layer.forward(x.view());
                layer.backward_params(dy.view());
                if fuse {
                    adam.step_and_zero_grad(layer);
                } else {
                    adam.step(layer);
                    layer.zero_grad();
                }
            }
            assert!(values(&mut fused) == values(&mut separate));
            assert!(
                grads(&mut fused)
                    .iter()
                    .all(|(_, g)| g.iter().all(|&v| v == 0.0)),
                "a gradient was left non-zero"
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Initialisation and names

#[test]
fn dense_init_is_pytorch_default() {
    let mut layer = Dense::<f64>::new(784, 256, &mut SmallRng::seed_from_u64(17));
    let bound = 1.0 / 784.0_f64.sqrt(); // 1/28
    for (name, value) in values(&mut layer) {
        let largest = value.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let mean = value.iter().sum::<f64>() / value.len() as f64;
        assert!(largest <= bound, "{name}: {largest} outside ±{bound}");
        // Filling the whole interval, centred on 0 (not, say, U(0, bound) or a narrower range).
        assert!(
            largest > 0.95 * bound,
            "{name}: largest entry only {largest}"
        );
        assert!(mean.abs() < 0.1 * bound, "{name}: mean {mean}");
        assert!(value.iter().any(|&v| v < 0.0) && value.iter().any(|&v| v > 0.0));
    }
    // The same bound in f32.
    let mut layer = Dense::<f32>::new(784, 256, &mut SmallRng::seed_from_u64(17));
    let bound = (1.0 / 784.0_f64.sqrt()) as f32;
    assert!(
        values(&mut layer)
            .iter()
            .all(|(_, v)| v.iter().all(|w| w.abs() <= bound))
    );
}

#[test]
fn dense_init_depends_on_the_seed_only() {
    let draw = |seed| {
        values(&mut Dense::<f32>::new(
            784,
            256,
            &mut SmallRng::seed_from_u64(seed),
        ))
    };
    assert!(draw(18) == draw(18), "the same seed gave different weights");
    let (a, b) = (draw(18), draw(19));
    for ((name, a), (_, b)) in a.iter().zip(&b) {
        assert!(a != b, "{name}: different seeds gave the same values");
    }
}

#[test]
fn network_parameter_names_are_pytorch_state_dict_keys() {
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(20));
    let mut found: Vec<(String, Vec<usize>)> = Vec::new();
    network.visit_params(&mut |name, p| found.push((name.to_string(), p.value.shape().to_vec())));
    let expected: Vec<(String, Vec<usize>)> = [
        ("stage1.0.weight", vec![256, 784]),
        ("stage1.0.bias", vec![256]),
        ("stage1.2.weight", vec![128, 256]),
        ("stage1.2.bias", vec![128]),
        ("stage2.0.weight", vec![64, 128]),
        ("stage2.0.bias", vec![64]),
        ("stage2.2.weight", vec![10, 64]),
        ("stage2.2.bias", vec![10]),
        ("decoder.0.weight", vec![256, 128]),
        ("decoder.0.bias", vec![256]),
        ("decoder.2.weight", vec![784, 256]),
        ("decoder.2.bias", vec![784]),
    ]
    .into_iter()
    .map(|(name, shape)| (name.to_string(), shape))
    .collect();
    assert_eq!(found, expected);
    // Gradients have their tensor's shape.
    network.visit_params(&mut |name, p| assert_eq!(p.grad.shape(), p.value.shape(), "{name}"));
    assert_eq!(
        network.num_params(),
        784 * 256
            + 256
            + 256 * 128
            + 128
            + 128 * 64
            + 64
            + 64 * 10
            + 10
            + 128 * 256
            + 256
            + 256 * 784
            + 784
    );
}
