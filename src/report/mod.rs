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

pub mod analysis;
pub mod curves;
pub mod draw;
pub mod error;
pub mod image;
pub mod metrics;
pub mod pca;
pub mod plots;
pub mod results;
pub mod stage1;

use std::fmt::Write as _;

use ndarray::Array2;

use crate::data::mnist::{COLS, ROWS};
use crate::model::TwoStageNetwork;
use crate::nn::Parameters;
use crate::train::Examples;
pub use analysis::{
    Analysis, MISTAKES, Mistake, RECONSTRUCTIONS, SELFTEST_IMAGES, analyse, ranked,
};
pub use curves::{baseline, section_curves};
pub use draw::section_draw;
pub use error::ReportError;
use error::ReportError as Error;
use image::{encode_png, png_data_uri};
use metrics::Metrics;
pub use plots::Baseline;
pub use results::section_results;
pub use stage1::{
    filter_grid, section_dead_units, section_features, section_filters, section_reconstructions,
};

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

/// JSON for a `<script>` element: `</` cannot end it early.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace("</", "<\\/")
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
         <a href=\"#dead-units\">dead units</a> \
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
    html.push_str(&section_dead_units(&analysis.dead_units, inputs.test.len()));
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
