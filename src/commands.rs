//! The command-line commands: each validates its arguments before any work, then calls the
//! library. `main.rs` only parses.

use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::checkpoint::{self, TensorFile, file_kind};
use crate::console::{errln, out, outln};
use crate::data::download::{DownloadOptions, default_data_dir, download_mnist, ensure_mnist};
use crate::data::mnist::{CLASSES, FILE_NAMES, Mnist, PIXELS, Split, find_file};
use crate::error::Error;
use crate::model::{Dims, Part, TwoStageNetwork};
use crate::rand::SeedableRng;
use crate::rand::rngs::SmallRng;
use crate::report::{self, ConsoleObserver};
use crate::temp_files::{self, Kind, TempFile};
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
    /// Epochs of stage 1 (ignored with --stage1 none)
    #[arg(
        long,
        default_value_t = 5,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub stage1_epochs: usize,
    /// Epochs of stage 2, the classifier on frozen stage-1 features
    #[arg(
        long,
        default_value_t = 5,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub stage2_epochs: usize,
    /// Optional third stage: both stages trained end to end on cross-entropy
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub finetune_epochs: usize,
    /// Adam learning rate of the fine-tuning stage (1e-3 wrecks the pretrained features)
    #[arg(
        long,
        default_value_t = 3e-5,
        value_name = "F",
        allow_hyphen_values = true
    )]
    pub finetune_lr: f64,
    /// Examples per batch; the last partial batch is kept and averaged over its real size
    #[arg(
        long,
        default_value_t = 32,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub batch_size: usize,
    /// Adam learning rate; each stage starts a fresh Adam
    #[arg(
        long,
        default_value_t = 1e-3,
        value_name = "F",
        allow_hyphen_values = true
    )]
    pub lr: f64,
    /// Seeds init and shuffling: the same seed gives a bit-identical checkpoint, whatever --threads
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub seed: u64,
    /// Size of the thread pool [default: all cores]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Visit training images in file order
    #[arg(long)]
    pub no_shuffle: bool,
    /// Use only the first N training images
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
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
    /// Where the MNIST test files are; downloaded there if missing [default: $MNIST_DIR, else data/mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Size of the thread pool [default: all cores]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Accept test files whose checksums differ from the published MNIST ones (your own IDX data)
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// A checkpoint written by `twostage train` (or by PyTorch with the same names)
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which of the 10000 test images
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub index: usize,
    /// Where the MNIST test files are; downloaded there if missing [default: $MNIST_DIR, else data/mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Accept test files whose checksums differ from the published MNIST ones (your own IDX data)
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
        allow_hyphen_values = true
    )]
    pub connect_timeout: f64,
    /// Seconds to wait for data before giving up on a mirror
    #[arg(
        long,
        default_value_t = 30.0,
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub read_timeout: f64,
    /// Replace files in DIR that are present but are not MNIST (never done without this flag)
    #[arg(long)]
    pub force: bool,
}

fn invalid(flag: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidArgument {
        flag,
        message: message.into(),
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

/// What an output file holds, so an existing file of another kind is never replaced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Contents {
    Checkpoint,
    JsonLines,
}

/// An output file a command will write: its flag, the path as given and what it holds.
struct Output<'a> {
    flag: &'static str,
    path: &'a Path,
    contents: Contents,
}

/// The canonical path of an existing file, or of a file to be created in an existing directory.
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(c) = std::fs::canonicalize(path) {
        return Some(c);
    }
    let parent = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(path.file_name()?))
}

/// Where an output really goes, checked before any work so a finished run is never lost at the
/// end: a file name (not `dir/`), in an existing directory we can write to, not a directory,
/// FIFO or device, and through a symbolic link to its target.
fn resolve_output(output: &Output) -> Result<PathBuf, Error> {
    let (flag, path) = (output.flag, output.path);
    let shown = path.display();
    let text = path.as_os_str().to_string_lossy();
    if text.ends_with(std::path::MAIN_SEPARATOR)
        || text.ends_with('/')
        || path.file_name().is_none()
    {
        return Err(invalid(
            flag,
            format!(
                "{shown} names a directory, not a file: give a file name, e.g. {}",
                Path::new(text.trim_end_matches('/'))
                    .join("model.safetensors")
                    .display()
            ),
        ));
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(|_| {
            let to = std::fs::read_link(path).unwrap_or_default();
            invalid(
                flag,
                format!(
                    "{shown} is a symbolic link to {}, which does not exist",
                    to.display()
                ),
            )
        })?,
        _ => path.to_path_buf(),
    };
    match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => {
            return Err(invalid(
                flag,
                format!(
                    "{shown} is {}, not a regular file: refusing to replace it",
                    file_kind(&m)
                ),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(invalid(flag, format!("cannot use {shown}: {e}"))),
    }
    let directory = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&directory) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(invalid(
                flag,
                format!("{} is not a directory", directory.display()),
            ));
        }
        Err(_) => {
            return Err(invalid(
                flag,
                format!(
                    "directory {} does not exist: create it first",
                    directory.display()
                ),
            ));
        }
    }
    let resolved = canonical(&target)
        .ok_or_else(|| invalid(flag, format!("{shown} is not a usable file path")))?;
    // The write goes through a temporary sibling and a rename: try creating that sibling now.
    let probe = temp_files::sibling(&resolved, Kind::Write)
        .ok_or_else(|| invalid(flag, format!("{shown} is not a usable file path")))?;
    TempFile::create(probe).map_err(|e| {
        invalid(
            flag,
            format!("cannot write in {}: {e}", directory.display()),
        )
    })?;
    Ok(resolved)
}

/// Whether the existing file at `path` holds `contents`, judged by its first bytes.
fn holds(path: &Path, contents: Contents) -> bool {
    let mut start = [0u8; 9];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut start)) else {
        return false;
    };
    match contents {
        // An 8-byte little-endian header length, then the JSON header.
        Contents::Checkpoint => n == 9 && start[8] == b'{',
        Contents::JsonLines => n > 0 && start[0] == b'{',
    }
}

/// Resolves every output and refuses, before any work, an output that is another output or an
/// input (compared as canonical paths, so `./m`, `dir/../m` and symlinks are caught).
fn check_outputs(outputs: &[Output], inputs: &[(String, PathBuf)]) -> Result<Vec<PathBuf>, Error> {
    let inputs: Vec<(&str, PathBuf)> = inputs
        .iter()
        .filter_map(|(what, path)| Some((what.as_str(), std::fs::canonicalize(path).ok()?)))
        .collect();
    let mut resolved: Vec<PathBuf> = Vec::new();
    for output in outputs {
        let path = resolve_output(output)?;
        if let Some(j) = resolved.iter().position(|p| *p == path) {
            return Err(invalid(
                output.flag,
                format!(
                    "{} is also the {} file: two outputs cannot share a path",
                    output.path.display(),
                    outputs[j].flag
                ),
            ));
        }
        if let Some((what, _)) = inputs.iter().find(|(_, p)| *p == path) {
            return Err(invalid(
                output.flag,
                format!(
                    "{} is an input of this run ({what}): refusing to write over it",
                    output.path.display()
                ),
            ));
        }
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) && !holds(&path, output.contents) {
            let what = match output.contents {
                Contents::Checkpoint => "a safetensors checkpoint",
                Contents::JsonLines => "a JSON Lines metrics file",
            };
            return Err(invalid(
                output.flag,
                format!(
                    "{} exists and is not {what}: refusing to replace it (choose another \
                     path, or remove the file yourself)",
                    output.path.display()
                ),
            ));
        }
        resolved.push(path);
    }
    Ok(resolved)
}

/// The data files a run may read from `dir`, plain and `.gz`, as inputs outputs must not hit.
fn data_inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    FILE_NAMES
        .iter()
        .flat_map(|name| [format!("{name}.gz"), name.to_string()])
        .map(|file| (format!("data file {file}"), dir.join(file)))
        .collect()
}

/// Removes temporary files that killed runs left in `directory`, saying so.
fn sweep_stale(directory: &Path) {
    for path in temp_files::remove_stale(directory) {
        errln!(
            "removed {}, left by an earlier run that was killed",
            path.display()
        );
    }
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

/// The data directory (`--data-dir`, else the default); an existing non-directory is an error.
fn data_dir(dir: &Option<PathBuf>) -> Result<PathBuf, Error> {
    let dir = dir.clone().unwrap_or_else(default_data_dir);
    match std::fs::metadata(&dir) {
        Ok(m) if !m.is_dir() => Err(invalid(
            "--data-dir",
            format!("{} is {}, not a directory", dir.display(), file_kind(&m)),
        )),
        _ => Ok(dir),
    }
}

/// Loads a split. When verifying, missing MNIST files are downloaded first (only ever into a
/// directory that holds nothing but MNIST); under `--no-verify` a missing file is an error.
fn load_split(dir: &Path, split: Split, verify: bool) -> Result<Mnist, Error> {
    if verify {
        let options = DownloadOptions {
            progress: std::io::stderr().is_terminal(),
            ..DownloadOptions::default()
        };
        ensure_mnist(dir, &options)?;
    }
    let set = Mnist::load(dir, split, verify)?;
    if set.is_empty() {
        let file =
            find_file(dir, split.images_name()).unwrap_or_else(|| dir.join(split.images_name()));
        let purpose = match split {
            Split::Train => "nothing to train on",
            Split::Test => "nothing to evaluate on",
        };
        return Err(Error::Data(crate::data::DataError::Io {
            file,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("holds no images: {purpose}"),
            ),
        }));
    }
    Ok(set)
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

/// Adds to a training failure what the user can do about it, in the command line's words.
fn with_hint(error: Error, args: &TrainArgs) -> Error {
    let init = args
        .init
        .as_ref()
        .map(|p| format!(" loaded by --init {}", p.display()));
    let hint = match &error {
        Error::Diverged {
            stage,
            epoch: 1,
            batch: 1,
            ..
        } => {
            // The first loss of a stage comes before its first update: its learning rate
            // cannot be the cause.
            let source = match (*stage, &init) {
                ("stage1" | "finetune", Some(init)) | ("stage2", Some(init))
                    if args.stage1_epochs == 0 || *stage != "stage2" =>
                {
                    format!("the weights{init}")
                }
                ("stage2" | "finetune", _) => {
                    "the weights stage 1 ended with (try a smaller --lr for stage 1)".into()
                }
                _ => "the initial weights".into(),
            };
            format!(
                "the loss was not finite before the stage's first update, so its learning rate \
                 is not the cause: {source} overflow"
            )
        }
        Error::Diverged { stage, .. } | Error::NonFiniteParameter { stage, .. } => {
            let (flag, lr) = if *stage == "finetune" {
                ("--finetune-lr", args.finetune_lr)
            } else {
                ("--lr", args.lr)
            };
            format!("the {stage} learning rate is {flag} {lr}: try a smaller {flag}")
        }
        Error::NonFiniteOutput { .. } => match &init {
            Some(init) => format!("check the weights{init}, or train with a smaller --lr"),
            None => "train with a smaller --lr".into(),
        },
        _ => return error,
    };
    Error::Hinted {
        error: Box::new(error),
        hint,
    }
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
    let dir = data_dir(&args.data_dir)?;
    // Outputs go where they can be written, never onto an input or each other, or the run
    // would be lost at the end (or destroy what it read).
    let mut inputs = data_inputs(&dir);
    if let Some(init) = &args.init {
        inputs.push(("--init".to_string(), init.clone()));
    }
    let mut outputs = vec![Output {
        flag: "--save",
        path: &args.save,
        contents: Contents::Checkpoint,
    }];
    if let Some(metrics) = &args.metrics {
        outputs.push(Output {
            flag: "--metrics",
            path: metrics,
            contents: Contents::JsonLines,
        });
    }
    let resolved = check_outputs(&outputs, &inputs)?;
    let init: Option<TensorFile> = match &args.init {
        Some(path) => Some(checkpoint::read(path)?),
        None => None,
    };
    set_threads(args.threads)?;
    for path in &resolved {
        if let Some(directory) = path.parent() {
            sweep_stale(directory);
        }
    }

    let mut network = TwoStageNetwork::new(Dims::MNIST, &mut SmallRng::seed_from_u64(args.seed));
    let mut loaded = Vec::new();
    if let (Some(file), Some(path)) = (&init, &args.init) {
        loaded = checkpoint::load_into(&mut network, file, "", &[], path)?;
        errln!(
            "initialised {} tensors from {}",
            loaded.len(),
            path.display()
        );
    }

    let verify = !args.no_verify;
    let train_set = load_split(&dir, Split::Train, verify)?;
    let test_set = load_split(&dir, Split::Test, verify)?;
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
        errln!(
            "warning: --stage1 seed runs the reference script's literal loss MSE(f, f.detach()), \
             which is identically zero with a zero gradient: stage 1 keeps its random init"
        );
    }
    let mut observer = ConsoleObserver::new();
    train::run(&mut network, train_examples, &schedule, &mut observer)
        .map_err(|e| with_hint(e, args))?;

    let evaluation =
        train::evaluate(&mut network, examples(&test_set), 1000).map_err(|e| with_hint(e, args))?;
    outln!("Test Accuracy: {:.2}%", 100.0 * evaluation.accuracy);

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
    checkpoint::save(&mut network, parts, metadata, &resolved[0])?;
    outln!("Saved {}", args.save.display());
    if let Some(path) = resolved.get(1) {
        let text = report::metrics_jsonl(&observer.epochs, &evaluation);
        checkpoint::write_atomically(path, text.as_bytes())?;
    }
    Ok(())
}

/// `twostage eval`.
pub fn eval(args: &EvalArgs) -> Result<(), Error> {
    let dir = data_dir(&args.data_dir)?;
    set_threads(args.threads)?;
    let mut network = load_classifier(&args.model)?;
    let test_set = load_split(&dir, Split::Test, !args.no_verify)?;
    let evaluation = train::evaluate(&mut network, examples(&test_set), 1000)?;
    out!("{}", report::evaluation_table(&evaluation));
    Ok(())
}

/// `twostage predict`.
pub fn predict(args: &PredictArgs) -> Result<(), Error> {
    let dir = data_dir(&args.data_dir)?;
    let mut network = load_classifier(&args.model)?;
    let test_set = load_split(&dir, Split::Test, !args.no_verify)?;
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
    let probabilities =
        train::probabilities(&mut network, test_set.image(args.index)).map_err(|e| match e {
            Error::NonFiniteOutput {
                what,
                value,
                tensor,
                largest,
                ..
            } => Error::NonFiniteOutput {
                what,
                example: args.index,
                value,
                tensor,
                largest,
            },
            other => other,
        })?;
    let predicted = train::argmax(probabilities.iter().copied());
    out!("{}", report::ascii_digit(test_set.image(args.index), 28));
    outln!(
        "test image {}: true label {}, predicted {}",
        args.index,
        test_set.label(args.index),
        predicted
    );
    for (digit, p) in probabilities.iter().enumerate().take(CLASSES) {
        let bar = "#".repeat((p * 40.0).round() as usize);
        outln!("  {digit}: {p:.4} {bar}");
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
        progress: std::io::stderr().is_terminal(),
    };
    let dir = data_dir(&args.data_dir)?;
    download_mnist(&dir, &options)?;
    outln!("MNIST is in {}", dir.display());
    Ok(())
}

/// `twostage inspect`.
pub fn inspect(path: &Path) -> Result<(), Error> {
    out!("{}", crate::data::inspect(path)?);
    Ok(())
}
