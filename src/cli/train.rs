//! `twostage train`: stage 1, stage 2, optional fine-tuning; test accuracy; checkpoint.

mod data;
mod hints;
mod outputs;

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use twostage::checkpoint::{self, TensorFile};
use twostage::model::{Dims, TwoStageNetwork};
use twostage::rand::SeedableRng;
use twostage::rand::rngs::SmallRng;
use twostage::train::{self, Examples, Schedule, Stage, Stage1Mode};

use super::common_args::ThreadsArg;
use super::console::{errln, outln};
use super::error::{Error, invalid};
use super::numbers::{at_least, epochs, learning_rate, seed};
use super::output::{Baseline, ConsoleObserver};
use super::paths::{Contents, Output, check_outputs, data_inputs};
use super::{DataSource, DatasetChoice, data_source, sweep_beside};
use data::load_data;
use hints::with_hint;
use outputs::save_outputs;

/// `--stage1` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Stage1Choice {
    /// A real autoencoder: the decoder reconstructs the input under MSE
    Autoencoder,
    /// The reference script's literal MSE(f, f.detach()): zero loss, zero gradient
    Seed,
    /// No stage-1 training
    None,
}

impl From<Stage1Choice> for Stage1Mode {
    fn from(choice: Stage1Choice) -> Stage1Mode {
        match choice {
            Stage1Choice::Autoencoder => Stage1Mode::Autoencoder,
            Stage1Choice::Seed => Stage1Mode::Seed,
            Stage1Choice::None => Stage1Mode::None,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Which known dataset: its files are verified (and downloaded if missing), its classes named
    /// (a classes.txt in --data-dir is ignored, with a warning; --no-verify reads one)
    #[arg(long, value_enum, default_value = "mnist", value_name = "NAME")]
    pub dataset: DatasetChoice,
    /// Where the data is; a known dataset is downloaded there if missing [default: $MNIST_DIR,
    /// else data/mnist; for fashion-mnist $FASHION_MNIST_DIR, else data/fashion-mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Stage-1 pretraining. `seed` runs the reference script's literal MSE(f, f.detach()),
    /// identically zero with zero gradient, so stage 1 keeps its random init
    #[arg(long, value_enum, default_value = "autoencoder")]
    pub stage1: Stage1Choice,
    /// Epochs of stage 1 (ignored with --stage1 none)
    #[arg(long, default_value_t = 5, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = epochs)]
    pub stage1_epochs: usize,
    /// Epochs of stage 2, the classifier on frozen stage-1 features
    #[arg(long, default_value_t = 5, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = epochs)]
    pub stage2_epochs: usize,
    /// Optional third stage: both stages trained end to end on cross-entropy
    #[arg(long, default_value_t = 0, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = epochs)]
    pub finetune_epochs: usize,
    /// Adam learning rate of the fine-tuning stage (1e-3 wrecks the pretrained features)
    #[arg(long, default_value_t = 3e-5, value_name = "F")]
    #[arg(allow_hyphen_values = true, value_parser = learning_rate)]
    pub finetune_lr: f64,
    /// Examples per batch; the last partial batch is kept and averaged over its real size
    #[arg(long, default_value_t = 32, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = at_least::<1>)]
    pub batch_size: usize,
    /// Adam learning rate; each stage starts a fresh Adam
    #[arg(long, default_value_t = 1e-3, value_name = "F")]
    #[arg(allow_hyphen_values = true, value_parser = learning_rate)]
    pub lr: f64,
    /// Seeds init and shuffling: the same seed gives a bit-identical checkpoint, whatever --threads
    #[arg(long, default_value_t = 0, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = seed)]
    pub seed: u64,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// Visit training images in file order [default: shuffled each epoch]
    #[arg(long)]
    pub no_shuffle: bool,
    /// Use only the first N training images [default: all]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = at_least::<1>)]
    pub train_limit: Option<usize>,
    /// Start from a safetensors checkpoint (any subset of the parameters; the rest initialised)
    /// [default: none, a fresh initialisation from --seed]
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,
    /// Where the trained weights go (safetensors, PyTorch state-dict names)
    #[arg(long, default_value = "model.safetensors", value_name = "FILE")]
    pub save: PathBuf,
    /// JSON Lines: one object per epoch, then the test result [default: none]
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Also write the HTML report of the trained network (as `twostage report` does) to FILE
    /// [default: none]
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Read the data as your own IDX set: checksums not verified, nothing downloaded, the number
    /// of classes is the largest label + 1 (names from DIR/classes.txt, one a line, if present)
    /// [default: off, the files must be the --dataset's]
    #[arg(long)]
    pub no_verify: bool,
    /// Hold out the last N training images as a validation set: each classifier epoch then
    /// reports train and validation accuracy [default: 0, none]
    #[arg(long, default_value_t = 0, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = at_least::<0>)]
    pub val_split: usize,
    /// Sanity check: train the classifier end to end on the first N training images until it
    /// gets all of them right (or say it could not), then stop; nothing is saved [default: off]
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = at_least::<1>)]
    pub overfit: Option<usize>,
    /// Replace --save, --metrics and --report even if twostage did not write them [default:
    /// off, only files twostage wrote are replaced]
    #[arg(long)]
    pub overwrite: bool,
}

/// The most epochs `--overfit` tries before it says the network could not learn the images.
const OVERFIT_EPOCHS: usize = 500;

/// `twostage train --overfit N`: CS231n's check that the model and the loop can learn at all.
fn overfit(
    args: &TrainArgs,
    network: &mut TwoStageNetwork<f32>,
    train_examples: twostage::train::Examples,
    schedule: &Schedule,
    init: Option<(&TensorFile, &Path)>,
) -> Result<(), Error> {
    let n = args.overfit.unwrap_or(0).min(train_examples.len());
    let few = train_examples.first(n);
    outln!(
        "Overfitting {n} training images (both stages, end to end, lr {})",
        args.lr
    );
    let mut observer = ConsoleObserver::new(OVERFIT_EPOCHS * n.div_ceil(schedule.batch_size));
    let (epochs, accuracy) = train::overfit(network, few, schedule, OVERFIT_EPOCHS, &mut observer)
        .map_err(|e| with_hint(e, args, init))?;
    if accuracy == 1.0 {
        outln!(
            "Reached 100% training accuracy on {n} images after {epochs} epochs: the model and \
             the training loop can learn. Nothing was saved."
        );
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "after {epochs} epochs the network gets only {:.2}% of {n} training images right: \
             something keeps it from learning (a learning rate too small or too large, a bug)",
            100.0 * accuracy
        )))
    }
}

/// A learning rate must be a positive number that survives the conversion to `f32` as a
/// normal number: `1e39` would train with an infinite rate, `1e-320` with zero.
fn check_lr(flag: &'static str, lr: f64) -> Result<(), Error> {
    if lr > 0.0 && (lr as f32).is_normal() {
        Ok(())
    } else {
        Err(invalid(
            flag,
            format!(
                "{lr:e} is not a usable learning rate: it must be positive and a normal f32 \
                 (between {:e} and {:e})",
                f32::MIN_POSITIVE,
                f32::MAX
            ),
        ))
    }
}

/// What `twostage train` will do, checked before any work: the data, the output files
/// (resolved, never onto an input or each other) and the `--init` checkpoint, read and checked
/// against the network's parameters.
struct Plan {
    source: DataSource,
    /// `--save`, then `--metrics` and `--report` when given, resolved.
    resolved: Vec<PathBuf>,
    /// The index of `--report` in `resolved`.
    report_at: Option<usize>,
    /// The `--init` checkpoint and its path.
    init: Option<(TensorFile, PathBuf)>,
}

impl Plan {
    fn of(args: &TrainArgs) -> Result<Plan, Error> {
        if args.batch_size == 0 {
            return Err(invalid("--batch-size", "must be at least 1"));
        }
        check_lr("--lr", args.lr)?;
        check_lr("--finetune-lr", args.finetune_lr)?;
        if args.train_limit == Some(0) {
            return Err(invalid("--train-limit", "must be at least 1 image"));
        }
        if args.overfit == Some(0) {
            return Err(invalid("--overfit", "must be at least 1 image"));
        }
        let source = data_source(Some(args.dataset), &args.data_dir, args.no_verify, None)?;
        // Outputs go where they can be written, never onto an input or each other, or the run
        // would be lost at the end (or destroy what it read).
        let mut inputs = data_inputs(&source.dir);
        if let Some(init) = &args.init {
            inputs.push(("--init".to_string(), init.clone()));
        }
        let mut outputs = vec![Output::new("--save", &args.save, Contents::Checkpoint)];
        if let Some(metrics) = &args.metrics {
            outputs.push(Output::new("--metrics", metrics, Contents::JsonLines));
        }
        let report_at = args.report.as_ref().map(|path| {
            outputs.push(Output {
                flag: "--report",
                path,
                contents: Contents::Html,
            });
            outputs.len() - 1
        });
        let resolved = check_outputs(&outputs, &inputs, args.overwrite)?;
        let init = match &args.init {
            Some(path) => Some((check_init(path)?, path.clone())),
            None => None,
        };
        Ok(Plan {
            source,
            resolved,
            report_at,
            init,
        })
    }
}

/// Reads an `--init` checkpoint and checks, before any data is read, every tensor's name,
/// dtype and values, and every shape but the head's, which waits for the data's classes.
fn check_init(path: &Path) -> Result<TensorFile, Error> {
    let file = checkpoint::read(path)?;
    let classes = file
        .tensors
        .get("stage2.2.weight")
        .and_then(|t| t.shape.first().copied())
        .unwrap_or(Dims::MNIST.classes);
    let dims = Dims {
        classes,
        ..Dims::MNIST
    };
    let mut probe = TwoStageNetwork::new(dims, &mut SmallRng::seed_from_u64(0));
    checkpoint::load_into(&mut probe, &file, "", &[], path)?;
    Ok(file)
}

/// The network, drawn after the data is read since the data gives the number of classes (the
/// seed alone fixes the draw, so MNIST's network is the same as ever), then `--init` loaded
/// into it. Returns the names of the tensors loaded.
fn network_for(
    args: &TrainArgs,
    classes: usize,
    init: &Option<(TensorFile, PathBuf)>,
) -> Result<(TwoStageNetwork<f32>, Vec<String>), Error> {
    let dims = Dims {
        classes,
        ..Dims::MNIST
    };
    let mut network = TwoStageNetwork::new(dims, &mut SmallRng::seed_from_u64(args.seed));
    let mut loaded = Vec::new();
    if let Some((file, path)) = init {
        loaded = checkpoint::load_into(&mut network, file, "", &[], path)?;
        errln!(
            "initialised {} tensors from {}",
            loaded.len(),
            path.display()
        );
    }
    Ok((network, loaded))
}

/// The training schedule the flags ask for.
fn schedule_of(args: &TrainArgs) -> Schedule {
    Schedule {
        stage1: args.stage1.into(),
        stage1_epochs: args.stage1_epochs,
        stage2_epochs: args.stage2_epochs,
        finetune_epochs: args.finetune_epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        finetune_lr: args.finetune_lr,
        shuffle: !args.no_shuffle,
        seed: args.seed,
    }
}

/// The console observer of a run, with each stage's sanity baseline for its first loss: what
/// a network that learned nothing gets.
fn observer_for(schedule: &Schedule, train_examples: Examples, classes: usize) -> ConsoleObserver {
    let stage1_epochs = if schedule.stage1 == Stage1Mode::None {
        0
    } else {
        schedule.stage1_epochs
    };
    let epochs = stage1_epochs + schedule.stage2_epochs + schedule.finetune_epochs;
    let batches_per_epoch = train_examples.len().div_ceil(schedule.batch_size);
    let mut observer = ConsoleObserver::new(epochs * batches_per_epoch);
    if schedule.stage1 == Stage1Mode::Autoencoder && stage1_epochs > 0 {
        observer.baselines.push((
            Stage::Stage1,
            Baseline {
                loss: train::mean_image_mse(train_examples),
                what: "predicting the mean image".into(),
            },
        ));
    }
    observer.baselines.push((
        Stage::Stage2,
        Baseline {
            loss: (classes as f64).ln(),
            what: format!("ln {classes}, a uniform guess"),
        },
    ));
    observer
}

/// The training images `--train-limit` keeps, split into those trained on and the last
/// `--val-split` held out for validation.
fn held_out<'a>(
    args: &TrainArgs,
    examples: Examples<'a>,
) -> Result<(Examples<'a>, Examples<'a>), Error> {
    let used = examples.first(args.train_limit.unwrap_or(usize::MAX));
    if args.val_split >= used.len() {
        return Err(invalid(
            "--val-split",
            format!(
                "{} leaves no training images: the training set has {} (after --train-limit)",
                args.val_split,
                used.len()
            ),
        ));
    }
    let train_examples = used.first(used.len() - args.val_split);
    let validation = Examples {
        pixels: &used.pixels[train_examples.pixels.len()..],
        labels: &used.labels[train_examples.labels.len()..],
        width: used.width,
    };
    Ok((train_examples, validation))
}

/// `twostage train`.
pub fn run(args: &TrainArgs) -> Result<(), Error> {
    let plan = Plan::of(args)?;
    args.threads.apply()?;
    sweep_beside(&plan.resolved);
    let data = load_data(&plan.source)?;
    let (mut network, loaded) = network_for(args, data.classes, &plan.init)?;
    let init = plan
        .init
        .as_ref()
        .map(|(file, path)| (file, path.as_path()));
    let (train_examples, validation) = held_out(args, data.train.examples())?;
    let mut schedule = schedule_of(args);
    if schedule.batch_size > train_examples.len() {
        // One batch holds the whole set either way; a larger number only overflows below.
        errln!(
            "note: --batch-size {} is more than the {} training images: each batch is the \
             whole set",
            schedule.batch_size,
            train_examples.len()
        );
        schedule.batch_size = train_examples.len();
    }
    if schedule.stage1 == Stage1Mode::Seed && schedule.stage1_epochs > 0 {
        errln!(
            "warning: --stage1 seed runs the reference script's literal loss MSE(f, f.detach()), \
             which is identically zero with a zero gradient: stage 1 keeps its random init"
        );
    }
    if args.overfit.is_some() {
        return overfit(args, &mut network, train_examples, &schedule, init);
    }
    let mut observer = observer_for(&schedule, train_examples, network.dims.classes);
    train::run_with_validation(
        &mut network,
        train_examples,
        validation,
        &schedule,
        &mut observer,
    )
    .map_err(|e| with_hint(e, args, init))?;
    let evaluation = train::evaluate(&mut network, data.test.examples())
        .map_err(|e| with_hint(e, args, init))?;
    outln!("Test Accuracy: {:.2}%", 100.0 * evaluation.accuracy);
    save_outputs(
        args,
        &plan,
        &data,
        &mut network,
        &loaded,
        &observer,
        &evaluation,
    )
}
