//! What the command line shows: epoch lines in the reference script's format, progress bars,
//! metrics as JSON Lines, the confusion matrix and digits drawn in ASCII.

use std::fmt::Write as _;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::console::outln;

use twostage::train::{EpochStats, Evaluation, Observer, Stage};

/// The heading the reference script prints before each stage.
pub fn stage_heading(stage: Stage) -> &'static str {
    match stage {
        Stage::Stage1 => "Training Stage 1 (Feature Extraction)",
        Stage::Stage2 => "Training Stage 2 (Classification)",
        Stage::Finetune => "Fine-tuning (both stages, end to end)",
        _ => "Training",
    }
}

/// `Epoch [1/5], Loss: 0.7860`, as the reference script prints it; with a validation set,
/// `, Train Acc: 95.12%, Val Acc: 94.80%` after it.
pub fn epoch_line(stats: &EpochStats) -> String {
    let mut line = format!(
        "Epoch [{}/{}], Loss: {:.4}",
        stats.epoch, stats.epochs, stats.loss
    );
    if let Some(train) = stats.train_accuracy {
        line.push_str(&format!(", Train Acc: {:.2}%", 100.0 * train));
    }
    if let Some(validation) = stats.validation_accuracy {
        line.push_str(&format!(", Val Acc: {:.2}%", 100.0 * validation));
    }
    line
}

/// The sanity baseline of a stage's first loss (CS231n): the loss of a network that has
/// learned nothing yet, and how to say it; the report draws the same kind of line.
pub use twostage::report::Baseline;

/// `  first batch loss 2.3107 (ln 10, a uniform guess over 10 classes: 2.3026)`.
pub fn baseline_line(first: f32, baseline: &Baseline) -> String {
    format!(
        "  first batch loss {first:.4} ({}: {:.4})",
        baseline.what, baseline.loss
    )
}

/// The loss of one batch, kept for the metrics file's training curve.
#[derive(Clone, Debug)]
pub struct BatchLoss {
    /// The stage.
    pub stage: Stage,
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based batch within the epoch.
    pub batch: usize,
    /// That batch's loss.
    pub loss: f32,
}

/// The most batch rows a metrics file gets: a default run (18 750 batches) keeps every 10th.
pub const MAX_BATCH_ROWS: usize = 2000;

/// Prints stage headings and epoch lines to stdout, with a progress bar per epoch on stderr
/// when stderr is a terminal; collects the epochs, and every `batch_every`-th batch loss, for
/// the metrics file.
pub struct ConsoleObserver {
    bar: Option<ProgressBar>,
    batches_per_epoch: usize,
    interactive: bool,
    batch_every: usize,
    /// The baselines to print beside each stage's first batch loss.
    pub baselines: Vec<(Stage, Baseline)>,
    /// Every epoch, in order.
    pub epochs: Vec<EpochStats>,
    /// Every `batch_every`-th batch of each epoch, and its last.
    pub batches: Vec<BatchLoss>,
}

impl ConsoleObserver {
    /// An observer for a run of `total_batches` batches in all, keeping at most
    /// [`MAX_BATCH_ROWS`] batch losses (plus each epoch's last).
    pub fn new(total_batches: usize) -> ConsoleObserver {
        ConsoleObserver {
            bar: None,
            batches_per_epoch: 0,
            interactive: std::io::stderr().is_terminal(),
            batch_every: total_batches.div_ceil(MAX_BATCH_ROWS).max(1),
            baselines: Vec::new(),
            epochs: Vec::new(),
            batches: Vec::new(),
        }
    }
}

impl Observer for ConsoleObserver {
    fn stage_start(&mut self, stage: Stage, _epochs: usize, batches_per_epoch: usize) {
        outln!("{}", stage_heading(stage));
        self.batches_per_epoch = batches_per_epoch;
    }

    fn batch_end(&mut self, stage: Stage, epoch: usize, batch: usize, loss: f32) {
        if epoch == 1 && batch == 1 {
            for (_, baseline) in self.baselines.iter().filter(|(s, _)| *s == stage) {
                outln!("{}", baseline_line(loss, baseline));
            }
        }
        if batch.is_multiple_of(self.batch_every) {
            self.batches.push(BatchLoss {
                stage,
                epoch,
                batch,
                loss,
            });
        }
        if !self.interactive {
            return;
        }
        let total = self.batches_per_epoch as u64;
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "  epoch {prefix} {bar:30} {pos}/{len} batches, loss {msg} ({eta})",
            )
            .expect("the template is valid");
            bar.set_style(style);
            bar.set_prefix(epoch.to_string());
            bar
        });
        if batch.is_multiple_of(16) || batch as u64 == total {
            bar.set_position(batch as u64);
            bar.set_message(format!("{loss:.4}"));
        }
    }

    fn epoch_end(&mut self, stats: &EpochStats) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        outln!("{}", epoch_line(stats));
        self.epochs.push(stats.clone());
    }
}

/// One JSON object per line: the sampled batch losses and every epoch, in the order they
/// happened, then the test result.
pub fn metrics_jsonl(epochs: &[EpochStats], batches: &[BatchLoss], test: &Evaluation) -> String {
    let mut out = String::new();
    let mut batches = batches.iter().peekable();
    for e in epochs {
        while let Some(b) = batches.next_if(|b| b.stage == e.stage && b.epoch == e.epoch) {
            let _ = writeln!(
                out,
                "{{\"stage\":\"{}\",\"epoch\":{},\"batch\":{},\"loss\":{}}}",
                b.stage.name(),
                b.epoch,
                b.batch,
                json_number(b.loss as f64)
            );
        }
        let accuracy = match (e.train_accuracy, e.validation_accuracy) {
            (Some(t), Some(v)) => format!(
                ",\"train_accuracy\":{},\"val_accuracy\":{}",
                json_number(t),
                json_number(v)
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{{\"stage\":\"{}\",\"epoch\":{},\"loss\":{},\"seconds\":{:.3}{accuracy}}}",
            e.stage.name(),
            e.epoch,
            json_number(e.loss),
            e.seconds
        );
    }
    let _ = writeln!(
        out,
        "{{\"event\":\"test\",\"accuracy\":{},\"loss\":{}}}",
        json_number(test.accuracy),
        json_number(test.loss)
    );
    out
}

/// JSON has no NaN or infinity; write `null` for them.
fn json_number(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".to_string()
    }
}

/// True when the names are the label numbers themselves (MNIST's digits, or a custom set
/// without `classes.txt`): they are then shown once.
fn numbered(names: &[String]) -> bool {
    names.iter().enumerate().all(|(i, n)| *n == i.to_string())
}

/// `9 (Ankle boot)`, or `9` when the class's name is its number.
pub fn class_label(class: usize, names: &[String]) -> String {
    match names.get(class) {
        Some(name) if *name != class.to_string() => format!("{class} ({name})"),
        _ => class.to_string(),
    }
}

/// The width of the name column: 0 when the names are the numbers.
pub fn name_width(names: &[String]) -> usize {
    if numbered(names) {
        0
    } else {
        names.iter().map(|n| n.chars().count()).max().unwrap_or(0)
    }
}

/// The class number, then its name padded to `width` (nothing more when `width` is 0).
pub fn class_column(class: usize, names: &[String], width: usize) -> String {
    if width == 0 {
        return class.to_string();
    }
    let name = names.get(class).map_or("", String::as_str);
    format!("{class} {name:<width$}")
}

/// Accuracy, per-class accuracy and the confusion matrix, for a terminal; rows are named by
/// `names` (one per class) unless they are the label numbers.
pub fn evaluation_table(evaluation: &Evaluation, names: &[String]) -> String {
    let mut out = String::new();
    let total: u64 = evaluation.confusion.iter().flatten().sum();
    let _ = writeln!(
        out,
        "Test accuracy: {:.2}% ({} images), mean loss {:.4}\n",
        100.0 * evaluation.accuracy,
        total,
        evaluation.loss
    );
    let width = name_width(names);
    let (rows, pad) = if width == 0 {
        ("digit", String::new())
    } else {
        ("class", " ".repeat(width + 1))
    };
    let _ = writeln!(
        out,
        "Confusion matrix (rows: true {rows}, columns: predicted)"
    );
    let _ = write!(out, "       {pad}");
    for c in 0..evaluation.confusion.len() {
        let _ = write!(out, "{c:>6}");
    }
    let _ = writeln!(out, "   accuracy");
    for (class, (row, accuracy)) in evaluation
        .confusion
        .iter()
        .zip(evaluation.per_class_accuracy())
        .enumerate()
    {
        let _ = write!(out, "  {class:>3}  ");
        if width > 0 {
            let name = names.get(class).map_or("", String::as_str);
            let _ = write!(out, "{name:<width$} ");
        }
        for count in row {
            let _ = write!(out, "{count:>6}");
        }
        let _ = writeln!(out, "   {:>6.2}%", 100.0 * accuracy);
    }
    out
}

/// A 28×28 image as ASCII art, darker characters for brighter pixels.
pub fn ascii_digit(pixels: &[u8], width: usize) -> String {
    const RAMP: &[u8] = b" .:-=+*#%@";
    let mut out = String::new();
    for row in pixels.chunks(width) {
        for &p in row {
            let c = RAMP[p as usize * (RAMP.len() - 1) / 255] as char;
            out.push(c);
            out.push(c);
        }
        out.push('\n');
    }
    out
}
