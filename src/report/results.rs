//! The results section: the confusion matrix, per-class accuracy and the most confident mistakes.

use std::fmt::Write as _;

use super::analysis::Analysis;
use super::image::{hex, sequential};
use super::{digit_img, escape};
use crate::train::Examples;

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
