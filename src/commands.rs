//! The command-line commands: each validates its arguments before any work, then calls the
//! library. `main.rs` only parses.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::checkpoint::{self, TensorFile};
use crate::data::download::{DownloadOptions, default_data_dir, download_mnist, ensure_mnist};
use crate::data::mnist::{CLASSES, Mnist, PIXELS, Split};
use crate::error::Error;
use crate::model::{Dims, Part, TwoStageNetwork};
use crate::rand::SeedableRng;
use crate::rand::rngs::SmallRng;
use crate::report::{self, ConsoleObserver};
use crate::train::{self, Examples, Schedule, Stage1Mode};

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
    /// Where MNIST is; downloaded there if missing [default: $MNIST_DIR, else data/mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Stage-1 pretraining. `seed` runs the reference script's literal MSE(f, f.detach()),
    /// identically zero with zero gradient, so stage 1 keeps its random init
    #[arg(long, value_enum, default_value = "autoencoder")]
    pub stage1: Stage1Choice,
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub stage1_epochs: usize,
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub stage2_epochs: usize,
    /// Optional third stage: both stages trained end to end on cross-entropy
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub finetune_epochs: usize,
    /// Adam learning rate of the fine-tuning stage (1e-3 wrecks the pretrained features)
    #[arg(
        long,
        default_value_t = 3e-5,
        value_name = "F",
        allow_negative_numbers = true
    )]
    pub finetune_lr: f64,
    /// Examples per batch; the last partial batch is kept and averaged over its real size
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub batch_size: usize,
    /// Adam learning rate; each stage starts a fresh Adam
    #[arg(
        long,
        default_value_t = 1e-3,
        value_name = "F",
        allow_negative_numbers = true
    )]
    pub lr: f64,
    /// Seeds init and shuffling: the same seed gives a bit-identical checkpoint, whatever --threads
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Size of the thread pool [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Visit training images in file order
    #[arg(long)]
    pub no_shuffle: bool,
    /// Use only the first N training images
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Start from a safetensors checkpoint (any subset of the parameters; the rest initialised)
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,
    /// Where the trained weights go (safetensors, PyTorch state-dict names)
    #[arg(long, default_value = "model.safetensors", value_name = "FILE")]
    pub save: PathBuf,
    /// JSON Lines: one object per epoch, then the test result
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Accept MNIST files whose checksums differ from the published ones (your own IDX data)
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// A checkpoint written by `twostage train` (or by PyTorch with the same names)
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Size of the thread pool [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which of the 10000 test images
    #[arg(long, value_name = "N")]
    pub index: usize,
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DownloadArgs {
    /// Where to put the files [default: $MNIST_DIR, else data/mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A mirror base URL, tried in the order given (repeatable); replaces the default list
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
    /// Seconds to wait for a connection
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub connect_timeout: f64,
    /// Seconds to wait for data before giving up on a mirror
    #[arg(
        long,
        default_value_t = 30.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub read_timeout: f64,
}

fn invalid(flag: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidArgument {
        flag,
        message: message.into(),
    }
}

/// A learning rate must be a positive, finite number.
fn check_lr(flag: &'static str, lr: f64) -> Result<(), Error> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            flag,
            format!("{lr} is not a positive, finite learning rate"),
        ))
    }
}

/// An output file must be creatable where it goes: checked by creating and removing the
/// temporary file the atomic write will use, so a finished run is never lost to a bad path.
fn check_output_path(flag: &'static str, path: &Path) -> Result<(), Error> {
    if path.is_dir() {
        return Err(invalid(
            flag,
            format!("{} is a directory, not a file", path.display()),
        ));
    }
    let probe = crate::temp_files::sibling(path, crate::temp_files::Kind::Write)
        .ok_or_else(|| invalid(flag, format!("{} is not a file path", path.display())))?;
    std::fs::File::create(&probe)
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| invalid(flag, format!("cannot write {}: {e}", path.display())))
}

/// Sizes the global thread pool (`None`: all cores).
fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    let Some(n) = threads else {
        return Ok(());
    };
    if n == 0 {
        return Err(invalid("--threads", "must be at least 1"));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| invalid("--threads", e.to_string()))
}

fn data_dir(dir: &Option<PathBuf>) -> PathBuf {
    dir.clone().unwrap_or_else(default_data_dir)
}

/// Loads a split, downloading MNIST first if any file is missing.
fn load_mnist(dir: &Path, split: Split, verify: bool) -> Result<Mnist, Error> {
    let options = DownloadOptions {
        progress: std::io::stderr().is_terminal(),
        ..DownloadOptions::default()
    };
    if verify {
        ensure_mnist(dir, &split.file_names(), &options)?;
    }
    Ok(Mnist::load(dir, split, verify)?)
}

fn examples(mnist: &Mnist) -> Examples<'_> {
    Examples {
        pixels: &mnist.images,
        labels: &mnist.labels,
        width: PIXELS,
    }
}

/// A network from a checkpoint that must hold at least stage 1 and stage 2.
fn load_classifier(path: &Path) -> Result<TwoStageNetwork<f32>, Error> {
    let file = checkpoint::read(path)?;
    let mut network = TwoStageNetwork::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    checkpoint::load_into(&mut network, &file, "", &[Part::Stage1, Part::Stage2], path)?;
    Ok(network)
}

/// `twostage train`.
pub fn train(args: &TrainArgs) -> Result<(), Error> {
    // Every argument is checked before any work.
    if args.batch_size == 0 {
        return Err(invalid("--batch-size", "must be at least 1"));
    }
    check_lr("--lr", args.lr)?;
    check_lr("--finetune-lr", args.finetune_lr)?;
    if args.train_limit == Some(0) {
        return Err(invalid("--train-limit", "must be at least 1 image"));
    }
    // Outputs go where they can be written, or training would be lost at the end.
    check_output_path("--save", &args.save)?;
    if let Some(metrics) = &args.metrics {
        check_output_path("--metrics", metrics)?;
    }
    let init: Option<TensorFile> = match &args.init {
        Some(path) => Some(checkpoint::read(path)?),
        None => None,
    };
    set_threads(args.threads)?;

    let mut network = TwoStageNetwork::new(Dims::MNIST, &mut SmallRng::seed_from_u64(args.seed));
    let mut loaded = Vec::new();
    if let (Some(file), Some(path)) = (&init, &args.init) {
        loaded = checkpoint::load_into(&mut network, file, "", &[], path)?;
        eprintln!(
            "initialised {} tensors from {}",
            loaded.len(),
            path.display()
        );
    }

    let dir = data_dir(&args.data_dir);
    let verify = !args.no_verify;
    let train_set = load_mnist(&dir, Split::Train, verify)?;
    let test_set = load_mnist(&dir, Split::Test, verify)?;
    let train_examples = examples(&train_set).first(args.train_limit.unwrap_or(usize::MAX));

    let schedule = Schedule {
        stage1: args.stage1.into(),
        stage1_epochs: args.stage1_epochs,
        stage2_epochs: args.stage2_epochs,
        finetune_epochs: args.finetune_epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        finetune_lr: args.finetune_lr,
        shuffle: !args.no_shuffle,
        seed: args.seed,
    };
    if schedule.stage1 == Stage1Mode::Seed && schedule.stage1_epochs > 0 {
        eprintln!(
            "warning: --stage1 seed runs the reference script's literal loss MSE(f, f.detach()), \
             which is identically zero with a zero gradient: stage 1 keeps its random init"
        );
    }
    let mut observer = ConsoleObserver::new();
    train::run(&mut network, train_examples, &schedule, &mut observer)?;

    let evaluation = train::evaluate(&mut network, examples(&test_set), 1000)?;
    println!("Test Accuracy: {:.2}%", 100.0 * evaluation.accuracy);

    // The decoder is saved when it was trained here or came with --init.
    let decoder_trained = schedule.stage1 == Stage1Mode::Autoencoder && schedule.stage1_epochs > 0;
    let decoder_loaded = loaded.iter().any(|n| n.starts_with("decoder."));
    let parts: &[Part] = if decoder_trained || decoder_loaded {
        &Part::ALL
    } else {
        &[Part::Stage1, Part::Stage2]
    };
    // A single metadata key: safetensors writes the metadata map in hash order, so one key
    // keeps same-seed checkpoints byte-identical.
    let metadata = HashMap::from([(
        "twostage".to_string(),
        format!(
            "stage1={} seed={} test_accuracy={:.4}",
            format!("{:?}", args.stage1).to_lowercase(),
            args.seed,
            evaluation.accuracy
        ),
    )]);
    checkpoint::save(&mut network, parts, metadata, &args.save)?;
    println!("Saved {}", args.save.display());
    if let Some(path) = &args.metrics {
        let text = report::metrics_jsonl(&observer.epochs, &evaluation);
        checkpoint::write_atomically(path, text.as_bytes())?;
    }
    Ok(())
}

/// `twostage eval`.
pub fn eval(args: &EvalArgs) -> Result<(), Error> {
    set_threads(args.threads)?;
    let mut network = load_classifier(&args.model)?;
    let test_set = load_mnist(&data_dir(&args.data_dir), Split::Test, !args.no_verify)?;
    let evaluation = train::evaluate(&mut network, examples(&test_set), 1000)?;
    print!("{}", report::evaluation_table(&evaluation));
    Ok(())
}

/// `twostage predict`.
pub fn predict(args: &PredictArgs) -> Result<(), Error> {
    let mut network = load_classifier(&args.model)?;
    let test_set = load_mnist(&data_dir(&args.data_dir), Split::Test, !args.no_verify)?;
    if args.index >= test_set.len() {
        return Err(invalid(
            "--index",
            format!(
                "{} is out of range: the test set has {} images (0..{})",
                args.index,
                test_set.len(),
                test_set.len()
            ),
        ));
    }
    let probabilities = train::probabilities(&mut network, test_set.image(args.index));
    let predicted = train::argmax(probabilities.iter().copied());
    print!("{}", report::ascii_digit(test_set.image(args.index), 28));
    println!(
        "test image {}: true label {}, predicted {}",
        args.index,
        test_set.label(args.index),
        predicted
    );
    for (digit, p) in probabilities.iter().enumerate().take(CLASSES) {
        let bar = "#".repeat((p * 40.0).round() as usize);
        println!("  {digit}: {p:.4} {bar}");
    }
    Ok(())
}

/// `twostage download`.
pub fn download(args: &DownloadArgs) -> Result<(), Error> {
    let seconds = |flag, s: f64| {
        if s.is_finite() && s > 0.0 {
            Duration::try_from_secs_f64(s).map_err(|e| invalid(flag, format!("{s}: {e}")))
        } else {
            Err(invalid(
                flag,
                format!("{s} is not a positive number of seconds"),
            ))
        }
    };
    let defaults = DownloadOptions::default();
    let options = DownloadOptions {
        mirrors: if args.mirrors.is_empty() {
            defaults.mirrors
        } else {
            args.mirrors.clone()
        },
        connect_timeout: seconds("--connect-timeout", args.connect_timeout)?,
        read_timeout: seconds("--read-timeout", args.read_timeout)?,
        file_deadline: defaults.file_deadline,
        progress: std::io::stderr().is_terminal(),
    };
    let dir = data_dir(&args.data_dir);
    download_mnist(&dir, false, &options)?;
    println!("MNIST is in {}", dir.display());
    Ok(())
}

/// `twostage inspect`.
pub fn inspect(path: &Path) -> Result<(), Error> {
    print!("{}", crate::data::inspect(path)?);
    Ok(())
}
