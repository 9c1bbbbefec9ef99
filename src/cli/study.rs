//! `twostage study`: does stage 1 help when labels are few or noisy? Every method, budget,
//! noise rate and seed trained and tested; a table on stdout, JSON Lines rows, an HTML page.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use twostage::model::Dims;
use twostage::study::{self, Event, Method, Protocol, Row, summary};

use super::common_args::ThreadsArg;
use super::console::{errln, out};
use super::error::{Error, invalid};
use super::numbers::{at_least, count, epochs};
use super::paths::{Contents, Output, check_outputs, data_inputs};
use super::{DatasetChoice, data_source, load_both, sweep_beside};

#[derive(Args, Debug, Clone)]
pub struct StudyArgs {
    /// Which known dataset: its files are verified (and downloaded if missing)
    #[arg(long, value_enum, default_value = "mnist", value_name = "NAME")]
    pub dataset: DatasetChoice,
    /// Where the data is [default: $MNIST_DIR, else data/mnist; for fashion-mnist
    /// $FASHION_MNIST_DIR, else data/fashion-mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Read the data as your own IDX set (checksums not verified, nothing downloaded)
    #[arg(long)]
    pub no_verify: bool,
    /// Label budgets N, comma-separated: each a multiple of the number of classes, at most the
    /// training set's size; the labelled subsets are class-balanced and nested
    #[arg(
        long,
        default_value = "100,300,1000,3000,10000,60000",
        value_name = "N,…"
    )]
    pub labels: String,
    /// Label-noise rates in [0, 1), comma-separated: round(p·N) labels replaced by another class
    #[arg(
        long,
        default_value = "0",
        value_name = "P,…",
        allow_hyphen_values = true
    )]
    pub noise: String,
    /// Seeds 0, 1, …, S−1: one run of every method, budget and rate each
    #[arg(long, default_value_t = 3, value_name = "S")]
    #[arg(allow_hyphen_values = true, value_parser = count::<1, 100>)]
    pub seeds: usize,
    /// Methods, comma-separated: autoencoder, random, supervised, finetune
    #[arg(
        long,
        default_value = "autoencoder,random,supervised,finetune",
        value_name = "M,…"
    )]
    pub methods: String,
    /// Epochs of the autoencoder on all training images (once per seed)
    #[arg(long, default_value_t = 5, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = epochs)]
    pub pretrain_epochs: usize,
    /// The step rule: every classifier takes max(--min-epochs epochs, --min-steps) Adam steps
    #[arg(long, default_value_t = 5, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = epochs)]
    pub min_epochs: usize,
    /// The step rule's floor in steps (see --min-epochs)
    #[arg(long, default_value_t = 3000, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = count::<1, 100000>)]
    pub min_steps: usize,
    /// Examples per batch
    #[arg(long, default_value_t = 32, value_name = "N")]
    #[arg(allow_hyphen_values = true, value_parser = at_least::<1>)]
    pub batch_size: usize,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// JSON Lines: one object per run (method, labels, noise, seed, steps, accuracy, loss,
    /// seconds) [default: none]
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// The HTML page: accuracy against labels, one panel per noise rate
    #[arg(long, default_value = "study.html", value_name = "FILE")]
    pub out: PathBuf,
    /// Replace --out and --metrics even if twostage did not write them [default: off, only
    /// files twostage wrote are replaced]
    #[arg(long)]
    pub overwrite: bool,
}

/// Parses a comma-separated list for `flag`.
fn list<T>(
    flag: &'static str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, Error> {
    let values: Vec<T> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).map_err(|why| invalid(flag, format!("{s:?}: {why}"))))
        .collect::<Result<_, _>>()?;
    if values.is_empty() {
        return Err(invalid(flag, "give at least one value"));
    }
    Ok(values)
}

/// What `twostage study` will do, checked before any work.
struct Plan {
    protocol: Protocol,
    source: super::DataSource,
    /// `--out`, then `--metrics` when given, resolved.
    resolved: Vec<PathBuf>,
}

impl Plan {
    fn of(args: &StudyArgs) -> Result<Plan, Error> {
        let budgets = list("--labels", &args.labels, |s| {
            let n: usize = s.parse().map_err(|_| "not a whole number".to_string())?;
            if n == 0 {
                return Err(
                    "a budget of 0 labels trains nothing: give at least one per class".into(),
                );
            }
            Ok(n)
        })?;
        let noise = list("--noise", &args.noise, |s| {
            let p: f64 = s.parse().map_err(|_| "not a number".to_string())?;
            if !(0.0..1.0).contains(&p) {
                return Err(
                    "a noise rate must be in [0, 1): 0 is clean labels, 0.2 a fifth wrong".into(),
                );
            }
            Ok(p)
        })?;
        let mut methods = list("--methods", &args.methods, |s| {
            Method::from_name(s).ok_or_else(|| {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
                format!("unknown method; choose from {}", names.join(", "))
            })
        })?;
        methods.dedup();
        if args.seeds == 0 {
            return Err(invalid("--seeds", "must be at least 1"));
        }
        if args.batch_size == 0 {
            return Err(invalid("--batch-size", "must be at least 1"));
        }
        if args.min_epochs == 0 && args.min_steps == 0 {
            return Err(invalid(
                "--min-steps",
                "with --min-epochs 0 the classifiers would take no steps",
            ));
        }
        let source = data_source(Some(args.dataset), &args.data_dir, args.no_verify, None)?;
        let mut outputs = vec![Output::new("--out", &args.out, Contents::Html)];
        if let Some(metrics) = &args.metrics {
            outputs.push(Output::new("--metrics", metrics, Contents::JsonLines));
        }
        let resolved = check_outputs(&outputs, &data_inputs(&source.dir), args.overwrite)?;
        let protocol = Protocol {
            budgets,
            noise,
            seeds: (0..args.seeds as u64).collect(),
            methods,
            batch_size: args.batch_size,
            pretrain_epochs: args.pretrain_epochs,
            min_epochs: args.min_epochs,
            min_steps: args.min_steps,
            ..Protocol::default()
        };
        Ok(Plan {
            protocol,
            source,
            resolved,
        })
    }
}

/// The run's cost in the progress bar's units (about one end-to-end step each), so its
/// estimate of the time left weighs a full-network run above a head-only one.
fn cost(protocol: &Protocol, method: Method, n: usize) -> u64 {
    let steps = protocol.steps(n) as u64;
    let evaluation = 300;
    match method {
        Method::Autoencoder | Method::Random => steps / 20 + evaluation,
        Method::Supervised | Method::Finetune => steps + evaluation,
    }
}

/// One autoencoder epoch over `train_len` images, in the same units (its decoder doubles a step).
fn pretrain_cost(protocol: &Protocol, train_len: usize) -> u64 {
    2 * train_len.div_ceil(protocol.batch_size) as u64
}

/// `12.34 ± 0.56`.
fn cell(summary: Option<(f64, f64)>) -> String {
    match summary {
        Some((mean, std)) => format!("{:6.2} ± {:4.2}", 100.0 * mean, 100.0 * std),
        None => "—".to_string(),
    }
}

/// The table: test accuracy (%) mean ± std over seeds per method × budget, one block per
/// noise rate, with the autoencoder's gain over supervised training in points.
pub fn table(protocol: &Protocol, rows: &[Row]) -> String {
    let mut text = String::new();
    let gain = protocol.methods.contains(&Method::Autoencoder)
        && protocol.methods.contains(&Method::Supervised);
    for &p in &protocol.noise {
        let _ = writeln!(
            text,
            "Test accuracy (%), mean ± std over {} seeds, label noise {}",
            protocol.seeds.len(),
            super::study_page::percent_label(p)
        );
        let _ = write!(text, "{:>7} {:>6}", "labels", "steps");
        for m in &protocol.methods {
            let _ = write!(text, "  {:>15}", m.name());
        }
        if gain {
            let _ = write!(text, "  {:>12}", "ae − sup");
        }
        text.push('\n');
        for &n in &protocol.budgets {
            let _ = write!(text, "{n:>7} {:>6}", protocol.steps(n));
            for &m in &protocol.methods {
                let _ = write!(text, "  {:>15}", cell(summary(rows, m, n, p)));
            }
            if gain
                && let (Some(a), Some(s)) = (
                    summary(rows, Method::Autoencoder, n, p),
                    summary(rows, Method::Supervised, n, p),
                )
            {
                let _ = write!(text, "  {:>+12.2}", 100.0 * (a.0 - s.0));
            }
            text.push('\n');
        }
        text.push('\n');
    }
    text
}

/// One JSON object per run.
pub fn metrics_jsonl(rows: &[Row]) -> String {
    let mut text = String::new();
    for r in rows {
        // The field order; Rust's `{}` of an f64 is its shortest round-trip form.
        let row = format!(
            "{{\"method\":\"{}\",\"labels\":{},\"noise\":{},\"seed\":{},\"steps\":{},\
             \"accuracy\":{},\"loss\":{},\"seconds\":{}}}",
            r.method.name(),
            r.labels,
            r.noise,
            r.seed,
            r.steps,
            r.accuracy,
            r.loss,
            r.seconds
        );
        let _ = writeln!(text, "{row}");
    }
    text
}

/// Refuses a budget larger than the training set or not a multiple of the classes.
fn check_budgets(protocol: &Protocol, train_len: usize, classes: usize) -> Result<(), Error> {
    for &n in &protocol.budgets {
        if n > train_len {
            return Err(invalid(
                "--labels",
                format!("{n} is more than the {train_len} labelled training images"),
            ));
        }
        if n % classes != 0 {
            return Err(invalid(
                "--labels",
                format!(
                    "{n} is not a multiple of the {classes} classes: the subsets are \
                     class-balanced, N/{classes} images of each class"
                ),
            ));
        }
    }
    Ok(())
}

/// Says what the study will run and returns its progress bar, sized in [`cost`] units.
fn progress_bar(protocol: &Protocol, train_len: usize) -> ProgressBar {
    let runs = protocol.runs();
    let pretrain = if protocol.pretrains() {
        protocol.pretrain_epochs as u64 * pretrain_cost(protocol, train_len)
    } else {
        0
    };
    let total: u64 = runs
        .iter()
        .map(|&(_, _, n, m)| cost(protocol, m, n))
        .sum::<u64>()
        + pretrain * protocol.seeds.len() as u64;
    errln!(
        "study: {} runs ({} methods × {} budgets × {} noise rates × {} seeds), stage 1 \
         pretrained once per seed",
        runs.len(),
        protocol.methods.len(),
        protocol.budgets.len(),
        protocol.noise.len(),
        protocol.seeds.len()
    );
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{wide_bar} {percent:>3}% {msg} · elapsed {elapsed} · eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Writes the page (`--out`) and, when asked for, the rows (`--metrics`).
fn write_outputs(args: &StudyArgs, plan: &Plan, rows: &[Row], table: &str) -> Result<(), Error> {
    let command = format!(
        "twostage study --labels {} --noise {} --seeds {} --methods {}",
        args.labels, args.noise, args.seeds, args.methods
    );
    let page = super::study_page::page(&plan.protocol, rows, table, &command);
    twostage::checkpoint::write_atomically(&plan.resolved[0], page.as_bytes())?;
    errln!("wrote {}", args.out.display());
    if let Some(metrics) = &args.metrics {
        twostage::checkpoint::write_atomically(&plan.resolved[1], metrics_jsonl(rows).as_bytes())?;
        errln!("wrote {}", metrics.display());
    }
    Ok(())
}

/// `twostage study`.
pub fn run(args: &StudyArgs) -> Result<(), Error> {
    let plan = Plan::of(args)?;
    args.threads.apply()?;
    sweep_beside(&plan.resolved);
    let (train, test) = load_both(&plan.source)?;
    let classes = match plan.source.verify {
        Some(dataset) => dataset.class_count(),
        None => train.class_count().max(test.class_count()),
    };
    let protocol = &plan.protocol;
    let train_len = train.examples().len();
    check_budgets(protocol, train_len, classes)?;
    let dims = Dims {
        classes,
        ..Dims::MNIST
    };
    let bar = progress_bar(protocol, train_len);
    let start = Instant::now();
    let (epoch_cost, mut done_runs) = (pretrain_cost(protocol, train_len), 0);
    let run_count = protocol.runs().len();
    let rows = study::run(
        protocol,
        train.examples(),
        test.examples(),
        dims,
        &mut |event| match event {
            Event::PretrainEpoch { seed, stats } => {
                bar.inc(epoch_cost);
                bar.set_message(format!(
                    "seed {seed}: autoencoder epoch {}/{}",
                    stats.epoch, stats.epochs
                ));
            }
            Event::Run(row) => {
                done_runs += 1;
                bar.inc(cost(protocol, row.method, row.labels));
                bar.set_message(format!(
                    "{done_runs}/{run_count} runs · {} N={} seed {}: {:.2}%",
                    row.method.name(),
                    row.labels,
                    row.seed,
                    100.0 * row.accuracy
                ));
            }
        },
    )?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let table = table(protocol, &rows);
    out!("{table}");
    errln!("study: {} runs in {seconds:.1} s", rows.len());
    write_outputs(args, &plan, &rows, &table)
}
