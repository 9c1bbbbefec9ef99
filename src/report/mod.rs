//! `twostage report`: one self-contained HTML page that shows what a trained network learned.
//!
//! Every section is a function from the model, the metrics and the test set to an HTML
//! fragment; [`build`] puts them together. The page needs no other file and no network: plots
//! are inline SVG (drawn by `plotters`), pictures are PNG `data:` URIs, and the weights ride
//! along as base64 `f32` for the "draw a digit" canvas, whose forward pass runs in the page's
//! JavaScript (`page.js`). Opened as `report.html#selftest`, the page runs that JavaScript
//! forward on the first test images and writes `max_abs_diff=<x> agree=<n>/<N>` into
//! `id="selftest"`, against the probabilities computed here.
//!
//! | module | holds |
//! |---|---|
//! | [`image`] | PNG encoding and decoding, colour maps, MNIST-like preprocessing of any image |
//! | [`pca`] | principal components by our own Jacobi eigen-solver |
//! | [`metrics`] | the metrics file read back, and the smoothing of its batch losses |
//! | [`plots`] | the charts, as SVG |

pub mod error;
pub mod image;
pub mod metrics;
pub mod pca;
pub mod plots;

use std::fmt::Write as _;

use ndarray::{Array2, ArrayView2};
use serde_json::json;

use crate::batches::gather_normalised;
use crate::data::mnist::{COLS, ROWS};
use crate::model::TwoStageNetwork;
use crate::nn::Parameters;
use crate::train::{self, Evaluation, Examples};
pub use error::ReportError;
use error::ReportError as Error;
use image::{base64, class_colour, diverging, encode_png, hex, png_data_uri, sequential, to_pixel};
use metrics::Metrics;
use pca::Pca;
pub use plots::Baseline;

/// How many test images the reconstruction section shows.
pub const RECONSTRUCTIONS: usize = 16;
/// How many of the most confident mistakes the results section shows.
pub const MISTAKES: usize = 24;
/// How many test images the page's self-test runs through its JavaScript forward.
pub const SELFTEST_IMAGES: usize = 100;

/// What the page is made from, besides the network.
pub struct Inputs<'a> {
    /// Shown as the page's subject, e.g. the checkpoint's path.
    pub title: &'a str,
    /// Whether the network's decoder holds trained weights (the checkpoint had them).
    pub has_decoder: bool,
    /// The test set.
    pub test: Examples<'a>,
    /// One name per class; the network's class count.
    pub class_names: &'a [String],
    /// The training run's metrics, when known.
    pub metrics: Option<&'a Metrics>,
}

/// A test image the network got wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Mistake {
    /// Its index in the test set.
    pub index: usize,
    /// Its true class.
    pub label: usize,
    /// The class the network gave it.
    pub predicted: usize,
    /// The three most probable classes and their probabilities, most probable first.
    pub top3: Vec<(usize, f32)>,
}

/// Every number the page shows, computed once.
pub struct Analysis {
    /// The test-set evaluation, by the same function as `twostage eval`.
    pub evaluation: Evaluation,
    /// `(N, C)` class probabilities of every test image.
    pub probabilities: Array2<f32>,
    /// `(N, 128)` stage-1 features of every test image.
    pub features: Array2<f32>,
    /// The principal axes of the features.
    pub pca: Pca,
    /// Every test image's coordinates on the first two axes.
    pub projection: Vec<(f64, f64)>,
    /// The [`MISTAKES`] wrong predictions with the highest predicted probability, highest first.
    pub mistakes: Vec<Mistake>,
    /// `(RECONSTRUCTIONS, 784)` decoder outputs for the first test images, when there is a decoder.
    pub reconstructions: Option<Array2<f32>>,
    /// The mean squared error of predicting the mean test image, in normalised units: the
    /// loss an autoencoder that learned nothing would have.
    pub mean_image_mse: f64,
    /// The Rust probabilities of the first [`SELFTEST_IMAGES`] test images, one image at a time
    /// (as `twostage predict` computes them).
    pub selftest: Vec<Vec<f32>>,
}

/// Indices sorted by decreasing value.
pub fn ranked(values: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order
}

/// Computes everything the page shows about `network` on `test`.
pub fn analyse(
    network: &mut TwoStageNetwork<f32>,
    test: Examples,
    has_decoder: bool,
) -> Result<Analysis, Error> {
    let evaluation = train::evaluate(network, test)?;
    let (n, width, classes) = (test.len(), test.width, network.dims.classes);
    let mut probabilities = Array2::zeros((n, classes));
    let mut input = Array2::zeros((0, 0));
    let all: Vec<usize> = (0..n).collect();
    for (c, indices) in all.chunks(1000).enumerate() {
        gather_normalised(test.pixels, width, indices, &mut input);
        let logits = network.logits(input.view());
        for (r, row) in logits.rows().into_iter().enumerate() {
            let p = crate::nn::softmax(&row.to_vec());
            probabilities
                .row_mut(c * 1000 + r)
                .assign(&ndarray::ArrayView1::from(&p));
        }
    }
    let features = train::features_of(network, test);
    let pca = Pca::fit(features.view());
    let projection = features
        .rows()
        .into_iter()
        .map(|row| {
            let p = pca.project(&row.to_vec(), 2);
            (p[0], p[1])
        })
        .collect();
    let mut wrong: Vec<Mistake> = (0..n)
        .filter_map(|i| {
            let row = probabilities.row(i).to_vec();
            let order = ranked(&row);
            let label = test.labels[i] as usize;
            (order[0] != label).then(|| Mistake {
                index: i,
                label,
                predicted: order[0],
                top3: order.iter().take(3).map(|&c| (c, row[c])).collect(),
            })
        })
        .collect();
    // Most confident first; ties by index, so the page is the same from run to run.
    wrong.sort_by(|a, b| {
        b.top3[0]
            .1
            .total_cmp(&a.top3[0].1)
            .then(a.index.cmp(&b.index))
    });
    wrong.truncate(MISTAKES);
    let reconstructions = if has_decoder {
        let k = RECONSTRUCTIONS.min(n);
        gather_normalised(test.pixels, width, &(0..k).collect::<Vec<_>>(), &mut input);
        Some(network.reconstruction(input.view()).to_owned())
    } else {
        None
    };
    let mean_image_mse = train::mean_image_mse(test);
    let selftest = (0..SELFTEST_IMAGES.min(n))
        .map(|i| train::probabilities(network, &test.pixels[i * width..(i + 1) * width]))
        .collect::<Result<Vec<_>, crate::Error>>()?;
    Ok(Analysis {
        evaluation,
        probabilities,
        features,
        pca,
        projection,
        mistakes: wrong,
        reconstructions,
        mean_image_mse,
        selftest,
    })
}

/// Text made safe for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A 28×28 grey image as an `<img>` shown at `size` pixels.
fn digit_img(pixels: &[u8], size: usize, attributes: &str) -> String {
    let uri = png_data_uri(&encode_png(pixels, COLS, ROWS, 1));
    format!(
        "<img class=\"digit\" width=\"{size}\" height=\"{size}\" {attributes} src=\"{uri}\" alt=\"\">"
    )
}

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

/// The first test images beside the decoder's reconstruction of each.
pub fn section_reconstructions(test: Examples, reconstructions: Option<&Array2<f32>>) -> String {
    let mut html = String::from("<section id=\"reconstructions\"><h2>Reconstructions</h2>\n");
    let Some(reconstructions) = reconstructions else {
        html.push_str(
            "<p class=\"note\">This checkpoint has no decoder (stage 1 was not trained as an \
             autoencoder), so there is nothing to reconstruct with.</p></section>\n",
        );
        return html;
    };
    html.push_str(
        "<p>Test images (left of each pair) and what the autoencoder makes of them after \
         squeezing them through the 128 features of stage 1 (right).</p>\n<div class=\"pairs\">",
    );
    for (i, row) in reconstructions.rows().into_iter().enumerate() {
        let original = &test.pixels[i * test.width..(i + 1) * test.width];
        let rebuilt: Vec<u8> = row.iter().map(|&x| to_pixel(x)).collect();
        let _ = write!(
            html,
            "<div class=\"pair\">{}{}<div class=\"caption\">#{i}</div></div>",
            digit_img(original, 56, &format!("data-original=\"{i}\"")),
            digit_img(&rebuilt, 56, &format!("data-reconstruction=\"{i}\""))
        );
    }
    html.push_str("</div></section>\n");
    html
}

/// Tiles of `(n, 784)` first-layer weights: 28×28 each, 1-pixel gaps, 16 to a row, each
/// tile coloured by [`diverging`] with its own scale (its largest |w| at full colour), so 0 is
/// white everywhere. Returns (RGB pixels, width, height).
pub fn filter_grid(weights: ArrayView2<f32>) -> (Vec<u8>, usize, usize) {
    const PER_ROW: usize = 16;
    let n = weights.nrows();
    let rows = n.div_ceil(PER_ROW).max(1);
    let (w, h) = (PER_ROW * (COLS + 1) + 1, rows * (ROWS + 1) + 1);
    let mut pixels = vec![255u8; w * h * 3];
    for (k, filter) in weights.rows().into_iter().enumerate() {
        let scale = filter.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        let (ox, oy) = (
            1 + (k % PER_ROW) * (COLS + 1),
            1 + (k / PER_ROW) * (ROWS + 1),
        );
        for (i, &v) in filter.iter().enumerate() {
            let c = diverging(if scale > 0.0 { v / scale } else { 0.0 });
            let at = ((oy + i / COLS) * w + ox + i % COLS) * 3;
            pixels[at..at + 3].copy_from_slice(&c);
        }
    }
    (pixels, w, h)
}

/// The 256 filters of the first layer (`stage1.0.weight`) as 28×28 tiles.
pub fn section_filters(weights: ArrayView2<f32>) -> String {
    let (pixels, w, h) = filter_grid(weights);
    let uri = png_data_uri(&encode_png(&pixels, w, h, 3));
    let legend: String = (0..=20)
        .map(|i| {
            let t = i as f32 / 10.0 - 1.0;
            format!("<span style=\"background:{}\"></span>", hex(diverging(t)))
        })
        .collect();
    format!(
        "<section id=\"filters\"><h2>First-layer filters</h2>\n<p>Each tile is one row of \
         <code>stage1.0.weight</code>: the 784 weights one hidden unit gives the pixels, laid \
         out as the image. Red pixels push the unit up when they are bright, blue ones down; \
         white is zero. Each tile has its own scale (its largest |weight| at full colour). Tiles \
         that look like static are units whose weights stayed close to their random start: \
         the pixel-shaped strokes are what the autoencoder taught.</p>\n\
         <div class=\"colourbar\">−max {legend} +max</div>\n\
         <img id=\"filter-grid\" class=\"pixelated\" width=\"{}\" height=\"{}\" data-filters=\"{}\" src=\"{uri}\" alt=\"first-layer filters\">\n</section>\n",
        w * 3 / 2,
        h * 3 / 2,
        weights.nrows()
    )
}

/// The stage-1 features of the test set on their first two principal axes.
pub fn section_features(
    analysis: &Analysis,
    labels: &[u8],
    class_names: &[String],
) -> Result<String, Error> {
    let explained = analysis.pca.explained();
    let labels: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let svg = plots::scatter(
        &analysis.projection,
        &labels,
        class_names.len(),
        (
            &format!("PC 1 ({:.1}% of the variance)", 100.0 * explained[0]),
            &format!(
                "PC 2 ({:.1}%)",
                100.0 * explained.get(1).copied().unwrap_or(0.0)
            ),
        ),
    )?;
    let legend: String = class_names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            format!(
                "<li data-class=\"{c}\"><span style=\"background:{}\"></span>{}</li>",
                hex(class_colour(c, class_names.len())),
                escape(name)
            )
        })
        .collect();
    let data = json!({
        "axes": [analysis.pca.axes.row(0).to_vec(), analysis.pca.axes.row(1).to_vec()],
        "variances": analysis.pca.variances,
        "mean": analysis.pca.mean,
    });
    Ok(format!(
        "<section id=\"features\"><h2>The feature space</h2>\n<p>The {} test images' {}-d \
         stage-1 features, projected on their first two principal axes (PCA of the features' \
         covariance; together {:.1}% of the variance). Each dot is an image, coloured by its \
         true class.</p>\n<div class=\"scatter\"><figure class=\"chart\">{svg}</figure>\
         <ul id=\"legend\">{legend}</ul></div>\n<script type=\"application/json\" id=\"pca-data\">{}</script>\n</section>\n",
        labels.len(),
        analysis.features.ncols(),
        100.0 * (explained[0] + explained.get(1).copied().unwrap_or(0.0)),
        script_json(&data)
    ))
}

/// JSON for a `<script>` element: `</` cannot end it early.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace("</", "<\\/")
}

/// The confusion matrix as a heat map (each row coloured by its share of the true class),
/// per-class accuracy, and the most confident mistakes.
pub fn section_results(analysis: &Analysis, test: Examples, class_names: &[String]) -> String {
    let e = &analysis.evaluation;
    let mut html = format!(
        "<section id=\"results\"><h2>Results</h2>\n<p id=\"accuracy\" data-accuracy=\"{}\">Test \
         accuracy <b>{:.2}%</b> on {} images, mean cross-entropy {:.4}.</p>\n\
         <h3>Confusion matrix</h3><p>Rows: true class; columns: predicted. A cell's colour is its \
         share of its row.</p>\n<table id=\"confusion\" class=\"heat\"><tr><th></th>",
        e.accuracy,
        100.0 * e.accuracy,
        test.len(),
        e.loss
    );
    for name in class_names {
        let _ = write!(html, "<th>{}</th>", escape(name));
    }
    html.push_str("<th>accuracy</th></tr>\n");
    let per_class = e.per_class_accuracy();
    for (t, row) in e.confusion.iter().enumerate() {
        let total = row.iter().sum::<u64>().max(1) as f64;
        let _ = write!(html, "<tr><th>{}</th>", escape(&class_names[t]));
        for &count in row {
            let share = count as f64 / total;
            let text = if share > 0.5 { "#fff" } else { "#000" };
            let _ = write!(
                html,
                "<td data-count=\"{count}\" style=\"background:{};color:{text}\">{count}</td>",
                hex(sequential(share.sqrt()))
            );
        }
        let _ = writeln!(
            html,
            "<td class=\"acc\" data-class-accuracy=\"{}\">{:.2}%</td></tr>",
            per_class[t],
            100.0 * per_class[t]
        );
    }
    html.push_str("</table>\n");
    let _ = write!(
        html,
        "<h3>The {} most confident mistakes</h3><p>Test images the network got wrong, most \
         confident first, with its three most probable classes.</p>\n<div class=\"mistakes\">",
        analysis.mistakes.len()
    );
    for m in &analysis.mistakes {
        let image = &test.pixels[m.index * test.width..(m.index + 1) * test.width];
        let top3: String = m
            .top3
            .iter()
            .map(|&(c, p)| {
                format!(
                    "<li data-class=\"{c}\" data-p=\"{p}\">{}: {:.1}%</li>",
                    escape(&class_names[c]),
                    100.0 * p
                )
            })
            .collect();
        let _ = write!(
            html,
            "<div class=\"mistake\" data-index=\"{}\" data-true=\"{}\" data-predicted=\"{}\">{}\
             <div>#{}: true <b>{}</b>, predicted <b>{}</b></div><ol>{top3}</ol></div>",
            m.index,
            m.label,
            m.predicted,
            digit_img(image, 56, ""),
            m.index,
            escape(&class_names[m.label]),
            escape(&class_names[m.predicted])
        );
    }
    html.push_str("</div></section>\n");
    html
}

/// The weights as the page's JavaScript reads them: name → {shape, base64 little-endian f32}.
fn weights_json(network: &mut TwoStageNetwork<f32>, has_decoder: bool) -> serde_json::Value {
    let mut weights = serde_json::Map::new();
    network.visit_params(&mut |name, p| {
        if !has_decoder && name.starts_with("decoder.") {
            return;
        }
        let bytes: Vec<u8> = p.value.iter().flat_map(|v| v.to_le_bytes()).collect();
        weights.insert(
            name.to_string(),
            json!({"shape": p.value.shape(), "data": base64(&bytes)}),
        );
    });
    serde_json::Value::Object(weights)
}

/// The canvas where the reader draws a digit, and the data its JavaScript needs: the weights,
/// the class names, and the self-test's images and Rust probabilities.
pub fn section_draw(
    network: &mut TwoStageNetwork<f32>,
    analysis: &Analysis,
    test: Examples,
    class_names: &[String],
    has_decoder: bool,
) -> String {
    let n = analysis.selftest.len();
    let probs: Vec<u8> = analysis
        .selftest
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    // A check of the page's preprocessing: a test image drawn larger, off-centre, on a wider
    // sheet, and what `mnist_like` makes of it; the self-test compares the page's result.
    let (sheet_w, sheet_h) = (130, 100);
    let mut sheet = vec![0u8; sheet_w * sheet_h];
    if n > 1 {
        for y in 0..84 {
            for x in 0..84 {
                sheet[(y + 10) * sheet_w + x + 40] =
                    test.pixels[test.width + (y / 3) * COLS + x / 3];
            }
        }
    }
    let ink: Vec<f32> = sheet.iter().map(|&p| p as f32 / 255.0).collect();
    let expected = image::mnist_like(&ink, sheet_w, sheet_h);
    let data = json!({
        "preprocess": {
            "width": sheet_w,
            "height": sheet_h,
            "levels": base64(&sheet),
            "expected": base64(&expected),
        },
        "classes": class_names,
        "has_decoder": has_decoder,
        "weights": weights_json(network, has_decoder),
        "selftest": {
            "n": n,
            "images": base64(&test.pixels[..n * test.width]),
            "probs": base64(&probs),
        },
    });
    let recon = if has_decoder {
        "<div><div class=\"label\">decoder's reconstruction</div><canvas id=\"recon\" width=\"28\" height=\"28\"></canvas></div>"
    } else {
        ""
    };
    format!(
        "<section id=\"draw\"><h2>Draw a digit</h2>\n<p>Draw with the mouse or a finger. On each \
         stroke the page does what MNIST's makers did (the ink's bounding box scaled to fit \
         20×20, its centre of mass moved to the centre of 28×28, pixels normalised to \
         (p/255 − 0.5)/0.5) and runs the network in this page's JavaScript, from the weights \
         stored in it. <code>twostage predict --image</code> does the same to a PNG.</p>\n\
         <div class=\"drawing\"><div><canvas id=\"pad\" width=\"280\" height=\"280\"></canvas>\
         <br><button id=\"clear\">clear</button></div>\
         <div><div class=\"label\">what the network sees</div><canvas id=\"seen\" width=\"28\" height=\"28\"></canvas></div>\
         {recon}<div id=\"bars\"></div></div>\n\
         <pre id=\"selftest\"></pre><pre id=\"selftest-preprocess\"></pre>\n\
         <script type=\"application/json\" id=\"model-data\">{}</script>\n</section>\n",
        script_json(&data)
    )
}

/// The mark in every page's head that says twostage wrote it: a page carrying it may be
/// replaced by the next report; one without it is the user's.
pub const GENERATOR: &str = "<meta name=\"generator\" content=\"twostage\">";
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The whole page, from an [`analyse`]d network.
pub fn page(
    network: &mut TwoStageNetwork<f32>,
    inputs: &Inputs,
    analysis: &Analysis,
) -> Result<String, Error> {
    let classes = inputs.class_names.len();
    if classes != network.dims.classes {
        return Err(Error::ClassNames {
            names: classes,
            classes: network.dims.classes,
        });
    }
    let filters = {
        let mut weight = None;
        network.visit_params(&mut |name, p| {
            if name == "stage1.0.weight" {
                weight = p
                    .value
                    .view()
                    .into_dimensionality::<ndarray::Ix2>()
                    .ok()
                    .map(|w| w.to_owned());
            }
        });
        weight.unwrap_or_else(|| Array2::zeros((0, COLS * ROWS)))
    };
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{GENERATOR}\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>twostage report: {title}</title><style>{STYLE}</style></head><body>\n\
         <header><h1>What the network learned</h1><p>{title} · test accuracy <b>{:.2}%</b> · \
         {} test images · {} classes</p><nav><a href=\"#curves\">curves</a> \
         <a href=\"#reconstructions\">reconstructions</a> <a href=\"#filters\">filters</a> \
         <a href=\"#features\">feature space</a> <a href=\"#results\">results</a> \
         <a href=\"#draw\">draw a digit</a></nav></header>\n",
        100.0 * analysis.evaluation.accuracy,
        inputs.test.len(),
        classes,
        title = escape(inputs.title),
    );
    html.push_str(&section_curves(
        inputs.metrics,
        analysis.mean_image_mse,
        classes,
    )?);
    html.push_str(&section_reconstructions(
        inputs.test,
        analysis.reconstructions.as_ref(),
    ));
    html.push_str(&section_filters(filters.view()));
    html.push_str(&section_features(
        analysis,
        inputs.test.labels,
        inputs.class_names,
    )?);
    html.push_str(&section_results(analysis, inputs.test, inputs.class_names));
    html.push_str(&section_draw(
        network,
        analysis,
        inputs.test,
        inputs.class_names,
        inputs.has_decoder,
    ));
    let _ = write!(html, "<script>{SCRIPT}</script>\n</body></html>\n");
    Ok(html)
}

/// Analyses `network` on the test set and returns the page.
pub fn build(network: &mut TwoStageNetwork<f32>, inputs: &Inputs) -> Result<String, Error> {
    let analysis = analyse(network, inputs.test, inputs.has_decoder)?;
    page(network, inputs, &analysis)
}
