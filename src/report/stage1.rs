//! What stage 1 learned: reconstructions, the first-layer filters, its dead units and the
//! feature space.

use std::fmt::Write as _;

use ndarray::{Array2, ArrayView2};
use serde_json::json;

use super::analysis::Analysis;
use super::error::ReportError as Error;
use super::image::{class_colour, diverging, encode_png, hex, png_data_uri, to_pixel};
use super::{digit_img, escape, plots, script_json};
use crate::data::mnist::{COLS, ROWS};
use crate::train::{DeadUnits, Examples};

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

/// How many units of each hidden ReLU layer never fire on the `images` test images, and what
/// that means: a unit whose output is 0 on every input gets no gradient and learns nothing.
pub fn section_dead_units(dead_units: &[DeadUnits], images: usize) -> String {
    let mut html = String::from("<section id=\"dead-units\"><h2>Dead units</h2>\n");
    for layer in dead_units {
        let stage = layer
            .layer
            .split('.')
            .next()
            .unwrap_or("")
            .replace("stage", "stage ");
        let dead = layer.dead.len();
        let _ = write!(
            html,
            "<p class=\"dead-units\" data-layer=\"{}\" data-units=\"{}\" data-dead=\"{dead}\">\
             Of the {} units of {stage}'s hidden ReLU layer (<code>{}</code>), <b>{dead}</b> \
             never fire on any of the {images} test images",
            escape(&layer.layer),
            layer.units,
            layer.units,
            escape(&layer.layer),
        );
        if dead == 0 {
            html.push_str(": every unit is positive on at least one image.</p>\n");
        } else if dead <= 32 {
            let list: Vec<String> = layer.dead.iter().map(|u| u.to_string()).collect();
            let _ = writeln!(
                html,
                " (unit{} {}).</p>",
                if dead == 1 { "" } else { "s" },
                list.join(", ")
            );
        } else {
            html.push_str(".</p>\n");
        }
    }
    html.push_str(
        "<p>A unit that never fires outputs 0 for every image, and a ReLU passes no gradient \
         where its output is 0: the unit gets no gradient, its weights never change, and it \
         learns nothing. It is dead, and its layer is that many units narrower than it looks.</p>\n\
         </section>\n",
    );
    html
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
