//! The report's charts, drawn by `plotters` into SVG strings.

use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::error::ReportError as Error;
use super::image::{Rgb, class_colour};
use super::metrics::{EpochRow, Metrics, smooth};

/// Smoothing weight of the per-batch loss line.
pub const SMOOTHING: f64 = 0.9;

fn plot_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Plot {
        what: what.to_string(),
        message: e.to_string(),
    }
}

fn colour(c: Rgb) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// The x position of a sampled batch: `epoch − 1 + batch / batches_per_epoch`, where an epoch's
/// length is the largest batch number the stage logged (the file does not store it).
pub fn batch_positions(metrics: &Metrics, stage: &str) -> Vec<(f64, f64)> {
    let rows: Vec<_> = metrics
        .batches
        .iter()
        .filter(|b| b.stage == stage)
        .collect();
    let per_epoch = rows.iter().map(|b| b.batch).max().unwrap_or(1) as f64;
    rows.iter()
        .map(|b| ((b.epoch - 1) as f64 + b.batch as f64 / per_epoch, b.loss))
        .collect()
}

/// What a network that learned nothing gets on a stage's loss: the console prints it beside
/// the first batch loss, the report draws it as a dashed line.
#[derive(Clone, Debug)]
pub struct Baseline {
    /// What it is, e.g. `ln 10, a uniform guess`: the chart's legend, the console's note.
    pub what: String,
    /// Its value, in the loss's units.
    pub loss: f64,
}

/// One stage's loss: the sampled batch losses (faint), their smoothed line, the epoch means
/// (points at each epoch's middle: the mean is over the whole epoch) and the baseline (dashed).
pub fn loss_chart(
    metrics: &Metrics,
    stage: &str,
    baseline: Option<&Baseline>,
) -> Result<String, Error> {
    let batches = batch_positions(metrics, stage);
    let smoothed: Vec<(f64, f64)> = batches
        .iter()
        .map(|p| p.0)
        .zip(smooth(
            &batches.iter().map(|p| p.1).collect::<Vec<_>>(),
            SMOOTHING,
        ))
        .collect();
    let epochs: Vec<(f64, f64)> = metrics
        .epochs
        .iter()
        .filter(|e| e.stage == stage && e.loss.is_finite())
        .map(|e| (e.epoch as f64 - 0.5, e.loss))
        .collect();
    let finite = |v: &f64| v.is_finite();
    let ys: Vec<f64> = batches
        .iter()
        .chain(&epochs)
        .map(|p| p.1)
        .chain(baseline.map(|b| b.loss))
        .filter(finite)
        .collect();
    let x_max = batches
        .iter()
        .chain(&epochs)
        .map(|p| p.0)
        .fold(1.0_f64, f64::max);
    let y_max = ys.iter().copied().fold(0.0_f64, f64::max) * 1.08;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let frame = Frame {
        what: stage,
        caption: format!("{stage} loss"),
        x: 0.0..x_max,
        y: 0.0..y_max,
        axes: ("epoch", "loss"),
        legend: SeriesLabelPosition::UpperRight,
    };
    frame.draw(|chart| {
        let blue = RGBColor(31, 119, 180);
        if !batches.is_empty() {
            let faint = batches.iter().copied().filter(|p| p.1.is_finite());
            frame.line(chart, faint, blue.mix(0.25).into(), "batch loss".into())?;
            let smooth = smoothed.iter().copied().filter(|p| p.1.is_finite());
            let label = format!("smoothed (EMA {SMOOTHING})");
            frame.line(chart, smooth, blue.stroke_width(2), label)?;
        }
        let orange = RGBColor(255, 127, 14);
        if !epochs.is_empty() {
            let means = epochs.iter().copied();
            frame.line(chart, means, orange.stroke_width(2), "epoch mean".into())?;
            chart
                .draw_series(epochs.iter().map(|&p| Circle::new(p, 4, orange.filled())))
                .map_err(|e| plot_error(stage, e))?;
        }
        if let Some(b) = baseline.filter(|b| b.loss.is_finite()) {
            frame.dashed(chart, b.loss, format!("{} = {:.4}", b.what, b.loss))?;
        }
        Ok(())
    })
}

/// Accuracy per epoch (train and validation, whichever the file has), with the test accuracy
/// dashed. `None` when the file has no per-epoch accuracy.
pub fn accuracy_chart(metrics: &Metrics) -> Result<Option<String>, Error> {
    let series: Vec<(&str, Vec<(f64, f64)>)> = [
        (
            "train",
            (|e| e.train_accuracy) as fn(&EpochRow) -> Option<f64>,
        ),
        ("validation", |e| e.val_accuracy),
    ]
    .into_iter()
    .map(|(name, get)| {
        // Epochs counted across stages, in file order.
        let points = metrics
            .epochs
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                get(e)
                    .filter(|a| a.is_finite())
                    .map(|a| ((i + 1) as f64, a))
            })
            .collect();
        (name, points)
    })
    .filter(|(_, p): &(&str, Vec<(f64, f64)>)| !p.is_empty())
    .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let x_max = metrics.epochs.len().max(2) as f64;
    let ys = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1));
    let y_min = ys.chain(metrics.test.map(|t| t.0)).fold(1.0_f64, f64::min);
    let frame = Frame {
        what: "accuracy",
        caption: "accuracy".into(),
        x: 1.0..x_max,
        y: (y_min - 0.02).max(0.0)..1.0,
        axes: ("epoch (all stages)", "accuracy"),
        legend: SeriesLabelPosition::LowerRight,
    };
    let svg = frame.draw(|chart| {
        for (k, (name, points)) in series.iter().enumerate() {
            let c = colour(class_colour(k, 10));
            frame.line(
                chart,
                points.iter().copied(),
                c.stroke_width(2),
                name.to_string(),
            )?;
        }
        if let Some((test, _)) = metrics.test.filter(|t| t.0.is_finite()) {
            frame.dashed(chart, test, format!("test = {test:.4}"))?;
        }
        Ok(())
    })?;
    Ok(Some(svg))
}

/// The line charts' coordinates: `f64` on both axes, drawn into an SVG string.
type Lines<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// What the line charts share: a 560×320 SVG with a caption, a light grid, named axes and a
/// legend of the series drawn in it.
struct Frame<'a> {
    /// Names the chart in errors, e.g. `stage1`.
    what: &'a str,
    caption: String,
    x: Range<f64>,
    y: Range<f64>,
    /// The names of the x and y axes.
    axes: (&'a str, &'a str),
    /// Where the legend goes.
    legend: SeriesLabelPosition,
}

impl Frame<'_> {
    /// The frame with what `series` draws in it, and the legend on top.
    fn draw(&self, series: impl FnOnce(&mut Lines) -> Result<(), Error>) -> Result<String, Error> {
        let fail = |e| plot_error(self.what, e);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
            root.fill(&WHITE).map_err(fail)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(&self.caption, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(self.x.clone(), self.y.clone())
                .map_err(fail)?;
            chart
                .configure_mesh()
                .x_desc(self.axes.0)
                .y_desc(self.axes.1)
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(fail)?;
            series(&mut chart)?;
            chart
                .configure_series_labels()
                .position(self.legend.clone())
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(fail)?;
            root.present().map_err(fail)?;
        }
        Ok(svg)
    }

    /// A line through `points` in `style`, with its `label` in the legend.
    fn line(
        &self,
        chart: &mut Lines,
        points: impl IntoIterator<Item = (f64, f64)>,
        style: ShapeStyle,
        label: String,
    ) -> Result<(), Error> {
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(|e| plot_error(self.what, e))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        Ok(())
    }

    /// A grey dashed reference line at height `y` across the chart, with its `label`.
    fn dashed(&self, chart: &mut Lines, y: f64, label: String) -> Result<(), Error> {
        let grey: ShapeStyle = RGBColor(90, 90, 90).into();
        let across = [(self.x.start, y), (self.x.end, y)];
        chart
            .draw_series(DashedLineSeries::new(across, 8, 5, grey))
            .map_err(|e| plot_error(self.what, e))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey));
        Ok(())
    }
}

/// A scatter of 2-D points coloured by class (`classes` of them; the page draws the legend).
pub fn scatter(
    points: &[(f64, f64)],
    labels: &[usize],
    classes: usize,
    axis_names: (&str, &str),
) -> Result<String, Error> {
    let range = |f: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = points
            .iter()
            .map(f)
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if lo < hi {
            let pad = (hi - lo) * 0.04;
            (lo - pad)..(hi + pad)
        } else {
            -1.0..1.0
        }
    };
    let (xr, yr) = (range(|p| p.0), range(|p| p.1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (700, 600)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_error("feature space", e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(xr, yr)
            .map_err(|e| plot_error("feature space", e))?;
        chart
            .configure_mesh()
            .x_desc(axis_names.0)
            .y_desc(axis_names.1)
            .light_line_style(RGBColor(240, 240, 240))
            .draw()
            .map_err(|e| plot_error("feature space", e))?;
        // One series per class, so a class's dots are drawn together; the legend is the page's.
        for class in 0..classes {
            let c = colour(class_colour(class, classes));
            chart
                .draw_series(
                    points
                        .iter()
                        .zip(labels)
                        .filter(|(p, l)| **l == class && p.0.is_finite() && p.1.is_finite())
                        .map(|(&p, _)| Circle::new(p, 1.6, c.mix(0.55).filled())),
                )
                .map_err(|e| plot_error("feature space", e))?;
        }
        root.present().map_err(|e| plot_error("feature space", e))?;
    }
    // plotters writes every dot's style in full (~55 bytes); ten thousand dots share ten
    // styles, so name them as CSS classes instead: the page is ~0.5 MB smaller.
    let mut css = String::from("<style>");
    for class in 0..classes {
        let c = class_colour(class, classes);
        let style = format!(
            " opacity=\"0.55\" fill=\"#{:02X}{:02X}{:02X}\" stroke=\"none\" stroke-width=\"1\"/>",
            c[0], c[1], c[2]
        );
        svg = svg.replace(&style, &format!(" class=\"k{class}\"/>"));
        css.push_str(&format!(
            ".k{class}{{fill:#{:02x}{:02x}{:02x};opacity:.55}}",
            c[0], c[1], c[2]
        ));
    }
    css.push_str("</style>");
    Ok(match svg.find('>') {
        Some(end) => format!("{}{css}{}", &svg[..=end], &svg[end + 1..]),
        None => svg,
    })
}
