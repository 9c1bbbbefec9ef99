//! The metrics file (`train --metrics`, JSON Lines) read back for the training curves.

use std::path::Path;

use serde_json::Value;

use super::error::ReportError as Error;

/// One epoch of one stage.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRow {
    /// `stage1`, `stage2`, `finetune`.
    pub stage: String,
    /// 1-based.
    pub epoch: usize,
    /// The mean of the epoch's batch losses.
    pub loss: f64,
    /// Training accuracy, when the file has it (`train_accuracy`).
    pub train_accuracy: Option<f64>,
    /// Validation accuracy, when the file has it (`val_accuracy`, `validation_accuracy`).
    pub val_accuracy: Option<f64>,
}

/// One sampled batch loss.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchRow {
    /// `stage1`, `stage2`, `finetune`.
    pub stage: String,
    /// 1-based.
    pub epoch: usize,
    /// 1-based, within the epoch.
    pub batch: usize,
    /// That batch's loss.
    pub loss: f64,
}

/// What a metrics file holds; rows of other kinds are ignored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Every epoch row, in file order.
    pub epochs: Vec<EpochRow>,
    /// Every sampled batch row, in file order.
    pub batches: Vec<BatchRow>,
    /// `{"event":"test","accuracy":…,"loss":…}`: (accuracy, loss).
    pub test: Option<(f64, f64)>,
}

impl Metrics {
    /// The stages in the order they first appear.
    pub fn stages(&self) -> Vec<String> {
        let mut stages: Vec<String> = Vec::new();
        let names = self.epochs.iter().map(|e| &e.stage);
        for s in names.chain(self.batches.iter().map(|b| &b.stage)) {
            if !stages.contains(s) {
                stages.push(s.clone());
            }
        }
        stages
    }
}

fn bad(file: &Path, line: usize, message: impl std::fmt::Display) -> Error {
    Error::Metrics {
        file: file.to_path_buf(),
        line,
        message: message.to_string(),
    }
}

/// Parses the JSON Lines of a metrics file; `file` names it in errors. A `null` loss (a
/// non-finite one) becomes NaN and is left out of the plots.
pub fn parse(text: &str, file: &Path) -> Result<Metrics, Error> {
    let mut metrics = Metrics::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| bad(file, line_no, e))?;
        let Some(row) = value.as_object() else {
            return Err(bad(file, line_no, "not a JSON object"));
        };
        let number = |key: &str| row.get(key).map(|v| v.as_f64().unwrap_or(f64::NAN));
        let count = |key: &str| -> Result<Option<usize>, Error> {
            match row.get(key) {
                None => Ok(None),
                Some(v) => match v.as_u64() {
                    Some(n) if n >= 1 => Ok(Some(n as usize)),
                    _ => Err(bad(
                        file,
                        line_no,
                        format!("{key:?} must be a positive integer"),
                    )),
                },
            }
        };
        if row.get("event").and_then(Value::as_str) == Some("test") {
            metrics.test = Some((
                number("accuracy").unwrap_or(f64::NAN),
                number("loss").unwrap_or(f64::NAN),
            ));
            continue;
        }
        let (Some(stage), Some(epoch)) =
            (row.get("stage").and_then(Value::as_str), count("epoch")?)
        else {
            continue;
        };
        let Some(loss) = number("loss") else {
            return Err(bad(file, line_no, "a stage row without \"loss\""));
        };
        match count("batch")? {
            Some(batch) => metrics.batches.push(BatchRow {
                stage: stage.to_string(),
                epoch,
                batch,
                loss,
            }),
            None => metrics.epochs.push(EpochRow {
                stage: stage.to_string(),
                epoch,
                loss,
                train_accuracy: number("train_accuracy"),
                val_accuracy: number("val_accuracy").or_else(|| number("validation_accuracy")),
            }),
        }
    }
    Ok(metrics)
}

/// An exponential moving average with weight `w` on the past, debiased at the start as
/// TensorBoard's smoothing is: `m_i = w·m_{i−1} + (1−w)·y_i`, shown as `m_i / (1 − w^(i+1))`.
/// Non-finite values are skipped (the average carries over them).
pub fn smooth(values: &[f64], w: f64) -> Vec<f64> {
    let mut m = 0.0;
    let mut seen = 0;
    values
        .iter()
        .map(|&y| {
            if y.is_finite() {
                m = w * m + (1.0 - w) * y;
                seen += 1;
            }
            if seen == 0 {
                f64::NAN
            } else {
                m / (1.0 - w.powi(seen))
            }
        })
        .collect()
}
