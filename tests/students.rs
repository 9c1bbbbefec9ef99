//! Programs a student writes against the library (`twostage = { default-features = false }`),
//! each as short as the task allows, with `?` on every library result and nothing from the
//! engine's insides: a network of one's own, trained with the one loop, looked into and
//! gradient-checked. The spiral is the trial's own program (2 → 64 → 64 → 3, Adam, full batch),
//! rewritten for the generic loop; the README times it in a debug and a release build.

use twostage::batches::{Batches, Classification, Order};
use twostage::gradcheck::{CheckOptions, check_layer};
use twostage::linalg::Scalar;
use twostage::ndarray::{Array2, Axis};
use twostage::nn::{Dense, Layer, Relu, Sequential, SoftmaxCrossEntropy, Tanh};
use twostage::optim::Adam;
use twostage::rand::{SeedableRng, rngs::SmallRng};
use twostage::train::{Silent, argmax, fit};

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

/// Three interleaved spirals of `points` each: `x: (3·points, 2)` and the arm of each point.
fn spiral(points: usize) -> (Array2<f32>, Vec<usize>) {
    let n = 3 * points;
    let labels: Vec<usize> = (0..n).map(|row| row / points).collect();
    let x = Array2::from_shape_fn((n, 2), |(row, j)| {
        let (c, i) = (row / points, row % points);
        let r = i as f32 / points as f32;
        let t = c as f32 * 4.0 + 4.0 * r + ((i * 7919 + c * 31) % 100) as f32 * 0.002;
        if j == 0 { r * t.sin() } else { r * t.cos() }
    });
    (x, labels)
}

/// `Dense → activation → Dense → … → Dense` through `sizes`.
fn mlp<T: Scalar>(
    sizes: &[usize],
    activation: fn() -> Box<dyn Layer<T>>,
    rng: &mut SmallRng,
) -> Sequential<T> {
    let mut layers: Vec<Box<dyn Layer<T>>> = Vec::new();
    for (i, pair) in sizes.windows(2).enumerate() {
        if i > 0 {
            layers.push(activation());
        }
        layers.push(Box::new(Dense::new(pair[0], pair[1], rng)));
    }
    Sequential::new(layers)
}

fn relu() -> Box<dyn Layer<f32>> {
    Box::new(Relu::new())
}

#[test]
fn spiral_classifier_fits_its_three_arms() -> Result {
    let (x, labels) = spiral(300);
    let mut net = mlp(&[2, 64, 64, 3], relu, &mut SmallRng::seed_from_u64(0));
    let data = Classification {
        inputs: x.view(),
        labels: &labels,
    };
    let mut full_batch = Batches::new(labels.len(), Order::AsGiven);
    let mut adam = Adam::new(1e-2);
    let epochs = fit(
        &mut net,
        &mut SoftmaxCrossEntropy::new(),
        &mut adam,
        &data,
        &mut full_batch,
        500,
        &mut Silent,
    )?;
    let logits = net.forward(x.view());
    let right = logits
        .axis_iter(Axis(0))
        .zip(&labels)
        .filter(|(z, y)| argmax(z.iter().copied()) == **y);
    let accuracy = right.count() as f64 / labels.len() as f64;
    assert!(
        accuracy > 0.95,
        "train accuracy {accuracy}, losses {epochs:?}"
    );
    Ok(())
}

#[test]
fn looking_inside_a_trained_network() -> Result {
    let (x, labels) = spiral(100);
    let mut net = mlp(&[2, 32, 3], relu, &mut SmallRng::seed_from_u64(1));
    let data = Classification {
        inputs: x.view(),
        labels: &labels,
    };
    let mut batches = Batches::new(30, Order::Shuffled { seed: 0 });
    fit(
        &mut net,
        &mut SoftmaxCrossEntropy::new(),
        &mut Adam::new(1e-2),
        &data,
        &mut batches,
        50,
        &mut Silent,
    )?;
    // Every layer's output: Dense, ReLU, Dense.
    let shapes: Vec<_> = net.activations(x.view()).iter().map(|a| a.dim()).collect();
    assert_eq!(shapes, [(300, 32), (300, 32), (300, 3)]);
    // Dead units: hidden ReLUs that output 0 for every point.
    let hidden = net.activations(x.view())[1].to_owned();
    let dead = hidden
        .axis_iter(Axis(1))
        .filter(|unit| unit.iter().all(|&y| y == 0.0))
        .count();
    assert!(dead < 32, "{dead} of 32 hidden units never fire");
    // The first layer back as a Dense, weights (out, in) as PyTorch stores them.
    let first = net.layer::<Dense<f32>>(0).ok_or("layer 0 is not a Dense")?;
    assert_eq!(first.weight.dim(), (32, 2));
    assert!(net.layer::<Dense<f32>>(1).is_none(), "layer 1 is the ReLU");
    Ok(())
}

#[test]
fn a_students_network_passes_its_gradient_check() {
    let tanh = || -> Box<dyn Layer<f64>> { Box::new(Tanh::new()) };
    let mut net = mlp(&[3, 5, 2], tanh, &mut SmallRng::seed_from_u64(2));
    let x = Array2::from_shape_fn((4, 3), |(i, j)| (i as f64 - 1.5) * 0.3 + j as f64 * 0.2);
    let dy = Array2::from_shape_fn((4, 2), |(i, j)| ((i + 2 * j) % 3) as f64 - 1.0);
    let report = check_layer(&mut net, x.view(), dy.view(), &CheckOptions::default());
    assert!(report.passed(), "{report}");
    assert_eq!(
        report.tensors.len(),
        5,
        "four parameter tensors and dx: {report}"
    );
}
