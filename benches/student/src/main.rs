//! A student's spiral: three 2-D spirals, a 2→64→64→3 ReLU net, Adam, 2000 full-batch steps.
use std::time::Instant;
use twostage::ndarray::Array2;
use twostage::nn::{Dense, Layer, Relu, Sequential, SoftmaxCrossEntropy};
use twostage::optim::{Adam, Optimizer};
use twostage::rand::{SeedableRng, rngs::SmallRng};

fn main() -> Result<(), twostage::Error> {
    let (points, classes) = (300, 3);
    let n = points * classes;
    let mut x = Array2::<f32>::zeros((n, 2));
    let mut labels = vec![0usize; n];
    for c in 0..classes {
        for i in 0..points {
            let r = i as f32 / points as f32;
            let t = c as f32 * 4.0 + 4.0 * r + ((i * 7919 + c * 31) % 100) as f32 * 0.002;
            let row = c * points + i;
            x[[row, 0]] = r * t.sin();
            x[[row, 1]] = r * t.cos();
            labels[row] = c;
        }
    }
    let mut rng = SmallRng::seed_from_u64(0);
    let mut net = Sequential::new(vec![
        Box::new(Dense::<f32>::new(2, 64, &mut rng)) as Box<dyn Layer<f32>>,
        Box::new(Relu::new()),
        Box::new(Dense::new(64, 64, &mut rng)),
        Box::new(Relu::new()),
        Box::new(Dense::new(64, classes, &mut rng)),
    ]);
    let (mut loss_fn, mut adam) = (SoftmaxCrossEntropy::new(), Adam::new(1e-2));
    let (start, mut loss) = (Instant::now(), 0.0);
    for _ in 0..2000 {
        let logits = net.forward(x.view());
        loss = loss_fn.forward(logits, &labels)?;
        net.backward(loss_fn.backward());
        adam.step_and_zero_grad(&mut net);
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("loss {loss:.4}  train time {seconds:.3} s");
    Ok(())
}
