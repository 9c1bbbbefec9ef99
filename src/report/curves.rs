//! The training-curves section: a loss chart per stage, the accuracy chart and the epoch table,
//! from the metrics file.

use std::fmt::Write as _;

use super::error::ReportError as Error;
use super::escape;
use super::metrics::Metrics;
use super::plots::{self, Baseline};

/// The baseline of a stage's loss: the mean-image MSE for stage 1 (an autoencoder), ln C for
/// the classifier stages.
pub fn baseline(stage: &str, mean_image_mse: f64, classes: usize) -> Baseline {
    if stage == "stage1" {
        Baseline {
            what: "MSE of the mean image".into(),
            loss: mean_image_mse,
        }
    } else {
        Baseline {
            what: format!("ln {classes} (uniform guess)"),
            loss: (classes as f64).ln(),
        }
    }
}

/// Training curves from the metrics file: one chart per stage, the accuracy when the file has
/// it, and the epoch losses as a table.
pub fn section_curves(
    metrics: Option<&Metrics>,
    mean_image_mse: f64,
    classes: usize,
) -> Result<String, Error> {
    let mut html = String::from("<section id=\"curves\"><h2>Training curves</h2>\n");
    let Some(metrics) = metrics else {
        html.push_str(
            "<p class=\"note\">No metrics file: train with <code>--metrics run.jsonl</code>, \
             then pass <code>--metrics run.jsonl</code> to <code>twostage report</code>.</p></section>\n",
        );
        return Ok(html);
    };
    html.push_str(
        "<p>Each stage's loss: the sampled per-batch losses (faint), their exponential moving \
         average, the mean of each epoch, and a dashed baseline that a network that learned \
         nothing would reach: for the autoencoder, the MSE of always predicting the mean test \
         image; for the classifier, ln C, the cross-entropy of a uniform guess.</p>\n<div class=\"charts\">",
    );
    for stage in metrics.stages() {
        let b = baseline(&stage, mean_image_mse, classes);
        let _ = write!(
            html,
            "<figure class=\"chart\" data-stage=\"{}\" data-baseline=\"{}\">{}</figure>",
            escape(&stage),
            b.loss,
            plots::loss_chart(metrics, &stage, Some(&b))?
        );
    }
    if let Some(svg) = plots::accuracy_chart(metrics)? {
        let _ = write!(
            html,
            "<figure class=\"chart\" id=\"accuracy-chart\">{svg}</figure>"
        );
    }
    html.push_str("</div>\n<table id=\"epoch-losses\" class=\"numbers\"><tr><th>stage</th><th>epoch</th><th>mean loss</th><th>train acc.</th><th>val. acc.</th></tr>\n");
    let cell = |v: Option<f64>| v.map_or("—".to_string(), |a| format!("{:.2}%", 100.0 * a));
    for e in &metrics.epochs {
        let _ = writeln!(
            html,
            "<tr data-stage=\"{}\" data-epoch=\"{}\" data-loss=\"{}\"><td>{}</td><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td></tr>",
            escape(&e.stage),
            e.epoch,
            e.loss,
            escape(&e.stage),
            e.epoch,
            e.loss,
            cell(e.train_accuracy),
            cell(e.val_accuracy)
        );
    }
    html.push_str("</table>\n");
    if let Some((accuracy, loss)) = metrics.test {
        let _ = writeln!(
            html,
            "<p>Test result recorded by the run: accuracy {:.2}%, loss {loss:.4}.</p>",
            100.0 * accuracy
        );
    }
    html.push_str("</section>\n");
    Ok(html)
}
