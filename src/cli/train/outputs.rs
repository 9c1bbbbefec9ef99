//! What a training run leaves: the checkpoint with its metadata, the metrics file, the report.

use std::collections::HashMap;

use twostage::checkpoint::{self, METADATA_KEY, encode_list, metadata_value};
use twostage::model::{Part, TwoStageNetwork};
use twostage::train;

use super::data::Data;
use super::{Plan, Stage1Choice, TrainArgs};
use crate::cli::console::outln;
use crate::cli::error::Error;
use crate::cli::output::{self, ConsoleObserver};
use crate::cli::report;

/// Writes the checkpoint, and the metrics file and the report when asked for.
pub fn save_outputs(
    args: &TrainArgs,
    plan: &Plan,
    data: &Data,
    network: &mut TwoStageNetwork<f32>,
    loaded: &[String],
    observer: &ConsoleObserver,
    evaluation: &train::Evaluation,
) -> Result<(), Error> {
    // The decoder is saved when it was trained here or came with --init.
    let decoder_trained = args.stage1 == Stage1Choice::Autoencoder && args.stage1_epochs > 0;
    let decoder_loaded = loaded.iter().any(|n| n.starts_with("decoder."));
    let parts: &[Part] = if decoder_trained || decoder_loaded {
        &Part::ALL
    } else {
        &[Part::Stage1, Part::Stage2]
    };
    // A single metadata key: safetensors writes the metadata map in hash order, so one key
    // keeps same-seed checkpoints byte-identical. The data is recorded so that eval and
    // predict can find it, and refuse other data.
    let metadata = HashMap::from([(
        METADATA_KEY.to_string(),
        metadata_value(&[
            ("stage1", format!("{:?}", args.stage1).to_lowercase()),
            ("seed", args.seed.to_string()),
            ("test_accuracy", format!("{:.4}", evaluation.accuracy)),
            ("dataset", data.identity.id().unwrap_or_default()),
            ("classes", data.classes.to_string()),
            ("class_names", encode_list(&data.class_names)),
        ]),
    )]);
    checkpoint::save(network, parts, metadata, &plan.resolved[0])?;
    outln!("Saved {}", args.save.display());
    let text = output::metrics_jsonl(&observer.epochs, &observer.batches, evaluation);
    if args.metrics.is_some() {
        checkpoint::write_atomically(&plan.resolved[1], text.as_bytes())?;
    }
    if let (Some(at), Some(report)) = (plan.report_at, &args.report) {
        // The page reads the same rows the metrics file holds.
        let metrics = twostage::report::metrics::parse(&text, report)?;
        let title = args.save.display().to_string();
        report::write_report(
            network,
            parts.contains(&Part::Decoder),
            &data.test,
            Some(&metrics),
            &data.class_names,
            &title,
            &plan.resolved[at],
        )?;
        outln!("Wrote {}", report.display());
    }
    Ok(())
}
