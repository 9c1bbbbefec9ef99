//! The generic training loop (`train::fit`, `train::train_epoch`) on networks of the user's
//! own, the two-stage stages built on it, and what one can see inside a network.

use ndarray::{Array2, array};
use twostage::Error;
use twostage::batches::{Batches, Classification, Dataset, Examples, Order, Regression};
use twostage::model::{Dims, TwoStageNetwork};
use twostage::nn::{Dense, Layer, Loss, MseLoss, Relu, Sequential, SoftmaxCrossEntropy, Tanh};
use twostage::optim::{Adam, Sgd};
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;
use twostage::train::{self, EpochStats, Silent, Stage};

fn mlp(rng: &mut SmallRng, inputs: usize, hidden: usize, outputs: usize) -> Sequential<f32> {
    Sequential::new(vec![
        Box::new(Dense::new(inputs, hidden, rng)),
        Box::new(Tanh::new()),
        Box::new(Dense::new(hidden, outputs, rng)),
    ])
}

/// `epochs` of Adam at `lr` over `data` as given, in batches of `batch`, quietly: the fits the
/// error tests provoke.
fn fit_as_given<D, L>(
    net: &mut Sequential<f32>,
    mut loss: L,
    lr: f64,
    data: &D,
    batch: usize,
    epochs: usize,
) -> Result<Vec<EpochStats>, Error>
where
    D: Dataset<f32>,
    L: Loss<f32, D::Targets> + Send,
{
    let mut batches = Batches::new(batch, Order::AsGiven);
    let mut adam = Adam::new(lr);
    train::fit(
        net,
        &mut loss,
        &mut adam,
        data,
        &mut batches,
        epochs,
        &mut Silent,
    )
}

#[test]
fn fit_learns_a_regression_with_any_optimizer() {
    let x = Array2::from_shape_fn((50, 2), |(i, j)| ((i * (j + 3)) % 17) as f32 / 8.0 - 1.0);
    let y = Array2::from_shape_fn((50, 1), |(i, _)| x[[i, 0]] - 0.5 * x[[i, 1]]);
    let data = Regression {
        inputs: x.view(),
        targets: y.view(),
    };
    for seed in 0..2 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut net = mlp(&mut rng, 2, 16, 1);
        let mut batches = Batches::new(10, Order::Shuffled { seed });
        let stats = if seed == 0 {
            train::fit(
                &mut net,
                &mut MseLoss::new(),
                &mut Adam::new(0.01),
                &data,
                &mut batches,
                200,
                &mut Silent,
            )
        } else {
            train::fit(
                &mut net,
                &mut MseLoss::new(),
                &mut Sgd::new(0.05, 0.9),
                &data,
                &mut batches,
                200,
                &mut Silent,
            )
        }
        .expect("trains");
        assert_eq!(stats.len(), 200);
        assert!(stats.iter().all(|s| s.stage == Stage::Fit));
        let (first, last) = (stats[0].loss, stats[199].loss);
        assert!(last < first / 20.0, "seed {seed}: {first} → {last}");
    }
}

#[test]
fn fit_learns_class_labels_of_either_integer_type() {
    let x = Array2::from_shape_fn(
        (40, 2),
        |(i, j)| if (i % 2 == 0) == (j == 0) { 1.0 } else { -1.0 },
    );
    let small: Vec<u8> = (0..40).map(|i| (i % 2) as u8).collect();
    let wide: Vec<usize> = small.iter().map(|&l| l as usize).collect();
    /// The last epoch's loss of one run over `data`.
    fn last_loss<L: Copy + Into<usize> + Sync>(data: &Classification<f32, L>) -> f64 {
        let mut net = mlp(&mut SmallRng::seed_from_u64(3), 2, 8, 2);
        let stats = train::fit(
            &mut net,
            &mut SoftmaxCrossEntropy::new(),
            &mut Adam::new(0.05),
            data,
            &mut Batches::new(8, Order::AsGiven),
            30,
            &mut Silent,
        )
        .unwrap();
        stats.last().unwrap().loss
    }
    let narrow = last_loss(&Classification {
        inputs: x.view(),
        labels: &small[..],
    });
    let wide = last_loss(&Classification {
        inputs: x.view(),
        labels: &wide[..],
    });
    // u8 and usize labels are the same labels: the same run, to the bit.
    assert_eq!(narrow.to_bits(), wide.to_bits());
    assert!(narrow < 0.05, "{narrow}");
}

#[test]
fn fit_reports_bad_labels_and_empty_data_as_errors() {
    let x = Array2::<f32>::zeros((4, 2));
    let labels = [0usize, 1, 7, 0];
    let data = Classification {
        inputs: x.view(),
        labels: &labels[..],
    };
    let mut net = mlp(&mut SmallRng::seed_from_u64(0), 2, 4, 2);
    let result = fit_as_given(&mut net, SoftmaxCrossEntropy::new(), 0.01, &data, 4, 1);
    assert!(
        matches!(
            result,
            Err(Error::Label {
                label: 7,
                row: 2,
                classes: 2
            })
        ),
        "{result:?}"
    );
    let none = Classification {
        inputs: x.slice(ndarray::s![..0, ..]),
        labels: &labels[..0],
    };
    let result = fit_as_given(&mut net, SoftmaxCrossEntropy::new(), 0.01, &none, 4, 1);
    assert!(matches!(result, Err(Error::Empty { .. })), "{result:?}");
}

#[test]
fn a_diverging_fit_names_its_stage() {
    let x = array![[1.0_f32, 2.0], [3.0, 4.0]];
    let y = array![[1e30_f32], [-1e30]];
    let data = Regression {
        inputs: x.view(),
        targets: y.view(),
    };
    let mut net = mlp(&mut SmallRng::seed_from_u64(0), 2, 4, 1);
    let result = fit_as_given(&mut net, MseLoss::new(), 0.1, &data, 2, 3);
    match result {
        Err(Error::Diverged {
            stage: Stage::Fit,
            epoch: 1,
            batch: 1,
            ..
        }) => {}
        other => panic!("expected a divergence at the first batch, got {other:?}"),
    }
}

#[test]
fn forward_takes_a_temporary_and_an_empty_chain_is_the_identity() {
    let mut net = mlp(&mut SmallRng::seed_from_u64(0), 3, 4, 2);
    let y = net.forward(Array2::zeros((5, 3)).view()).to_owned();
    assert_eq!(y.dim(), (5, 2));
    let mut empty = Sequential::<f32>::new(vec![]);
    let x = array![[1.0_f32, -2.0]];
    assert_eq!(empty.forward(x.view()), x);
    assert_eq!(
        empty.backward(array![[3.0_f32, 4.0]].view()),
        array![[3.0_f32, 4.0]]
    );
    empty.backward_params(x.view()); // nothing to accumulate, no panic
}

#[test]
fn activations_and_typed_layers() {
    let mut rng = SmallRng::seed_from_u64(1);
    let mut net = Sequential::<f32>::new(vec![
        Box::new(Dense::new(3, 5, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Dense::new(5, 2, &mut rng)),
    ]);
    let x = Array2::from_shape_fn((4, 3), |(i, j)| (i + j) as f32 - 2.0);
    let last = net
        .activations(x.view())
        .iter()
        .map(|a| a.to_owned())
        .collect::<Vec<_>>();
    assert_eq!(last.len(), 3);
    assert!(last[1].iter().all(|&v| v >= 0.0));
    assert_eq!(last[2], net.forward(x.view()));
    assert_eq!(net.layer::<Dense<f32>>(2).map(|d| d.inputs()), Some(5));
    assert!(net.layer::<Dense<f32>>(1).is_none());
    assert!(net.layer::<Relu<f32>>(9).is_none());
    net.layer_mut::<Dense<f32>>(0).unwrap().bias.fill(0.0);
}

/// [`synthetic`]'s pixels and labels as examples of 16 pixels.
fn as_examples((pixels, labels): &(Vec<u8>, Vec<u8>)) -> Examples<'_> {
    Examples {
        pixels,
        labels,
        width: 16,
    }
}

/// Synthetic 16-pixel images in two classes, with their labels.
fn synthetic(n: usize) -> (Vec<u8>, Vec<u8>) {
    let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    let pixels = labels
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| {
            (0..16).map(move |j| {
                if (l == 1) == (j < 8) {
                    200 + (i % 50) as u8
                } else {
                    (i * j % 60) as u8
                }
            })
        })
        .collect();
    (pixels, labels)
}

const SMALL: Dims = Dims {
    input: 16,
    hidden1: 12,
    features: 6,
    hidden2: 5,
    classes: 2,
};

#[test]
fn dead_relu_units_are_counted_per_layer() {
    let data = synthetic(64);
    let examples = as_examples(&data);
    let mut network = TwoStageNetwork::<f32>::new(SMALL, &mut SmallRng::seed_from_u64(0));
    // Kill stage 1's hidden unit 3: a bias no input can overcome.
    network.stage1.layer_mut::<Dense<f32>>(0).unwrap().bias[3] = -1e3;
    let dead = train::dead_relu_units(&mut network, examples);
    let layers: Vec<&str> = dead.iter().map(|d| d.layer.as_str()).collect();
    assert_eq!(layers, ["stage1.1", "stage2.1"]);
    assert_eq!((dead[0].units, dead[1].units), (12, 5));
    assert!(dead[0].dead.contains(&3), "{dead:?}");
}

#[test]
fn the_stage_functions_are_the_generic_loop() {
    // `run` with only fine-tuning equals `fit` over the classifier route, to the bit.
    let data = synthetic(40);
    let examples = as_examples(&data);
    let schedule = train::Schedule {
        stage1_epochs: 0,
        stage2_epochs: 0,
        finetune_epochs: 2,
        finetune_lr: 1e-2,
        batch_size: 8,
        ..Default::default()
    };
    let mut a = TwoStageNetwork::<f32>::new(SMALL, &mut SmallRng::seed_from_u64(4));
    let mut b = TwoStageNetwork::<f32>::new(SMALL, &mut SmallRng::seed_from_u64(4));
    let ran = train::run(&mut a, examples, &schedule, &mut Silent).unwrap();
    let mut route = b.route(twostage::model::Route::Classifier);
    let fitted = train::fit(
        &mut route,
        &mut SoftmaxCrossEntropy::new(),
        &mut Adam::new(1e-2),
        &examples,
        &mut Batches::new(8, schedule.order()),
        2,
        &mut Silent,
    )
    .unwrap();
    let bits = |s: &[train::EpochStats]| s.iter().map(|e| e.loss.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&ran), bits(&fitted));
    let (ea, eb) = (
        train::evaluate(&mut a, examples).unwrap(),
        train::evaluate(&mut b, examples).unwrap(),
    );
    assert_eq!(ea.loss.to_bits(), eb.loss.to_bits());
}

/// The default run (`twostage train` from seed 0) gives the reference checkpoint's tensors,
/// bit for bit. Slow (a full MNIST run): `BASELINE_CHECKPOINT=… cargo test --test train_loop
/// -- --ignored`.
#[cfg(feature = "data")]
#[test]
#[ignore]
fn the_default_run_matches_the_baseline_checkpoint() {
    let (Ok(dir), Ok(baseline)) = (
        std::env::var("MNIST_DIR"),
        std::env::var("BASELINE_CHECKPOINT"),
    ) else {
        panic!("set MNIST_DIR and BASELINE_CHECKPOINT");
    };
    use twostage::data::mnist::{Mnist, Split};
    let mnist = Mnist::load_any(std::path::Path::new(&dir), Split::Train).expect("MNIST loads");
    let examples = mnist.examples();
    let mut network = TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    train::run(
        &mut network,
        examples,
        &train::Schedule::default(),
        &mut Silent,
    )
    .expect("trains");
    let file = twostage::checkpoint::read(std::path::Path::new(&baseline)).expect("baseline reads");
    let mut compared = 0;
    use twostage::nn::Parameters;
    network.visit_params(&mut |name, p| {
        let ours: Vec<u32> = p.value.iter().map(|v| v.to_bits()).collect();
        let theirs: Vec<u32> = file.tensors[name]
            .data
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert!(ours == theirs, "{name} differs from the baseline");
        compared += 1;
    });
    assert_eq!(compared, file.tensors.len());
    eprintln!("{compared} tensors bit-identical to {baseline}");
}

#[test]
fn the_stages_give_the_same_bits_on_one_thread_and_on_four() {
    let n = 600;
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let pixels: Vec<u8> = (0..n * 784)
        .map(|i| ((i as u64).wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let examples = Examples {
        pixels: &pixels,
        labels: &labels,
        width: 784,
    };
    let schedule = train::Schedule {
        stage1_epochs: 1,
        stage2_epochs: 1,
        finetune_epochs: 1,
        batch_size: 256,
        ..Default::default()
    };
    let weights = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut network =
                TwoStageNetwork::<f32>::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
            train::run(&mut network, examples, &schedule, &mut Silent).unwrap();
            let mut bits = Vec::new();
            twostage::nn::Parameters::visit_params(&mut network, &mut |_, p| {
                bits.extend(p.value.iter().map(|v| v.to_bits()))
            });
            bits
        })
    };
    assert!(
        weights(1) == weights(4),
        "the weights differ between 1 and 4 threads"
    );
}
