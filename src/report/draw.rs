//! The "draw a digit" section: the canvas, and the weights and self-test data its JavaScript reads.

use serde_json::json;

use super::analysis::Analysis;
use super::image::{self, base64};
use super::script_json;
use crate::data::mnist::COLS;
use crate::model::TwoStageNetwork;
use crate::nn::Parameters;
use crate::train::Examples;

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
