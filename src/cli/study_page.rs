//! The study's HTML page: one offline file in the report's style, with accuracy against the
//! label budget on a log axis (a ±std band per method), one panel per noise rate, and two
//! sentences computed from the numbers.

use std::fmt::Write;

use twostage::study::{Method, Protocol, Row, summary};

const STYLE: &str = include_str!("../report/page.css");

/// Colours per method, in [`Method::ALL`] order (matplotlib's tab10).
const COLOURS: [&str; 4] = ["#1f77b4", "#7f7f7f", "#d62728", "#2ca02c"];

fn colour(method: Method) -> &'static str {
    let i = Method::ALL.iter().position(|&m| m == method).unwrap_or(0);
    COLOURS[i]
}

/// `0.2` → `20%`.
pub fn percent_label(p: f64) -> String {
    format!("{}%", (100.0 * p * 100.0).round() / 100.0)
}

/// A panel's geometry: its size, margins and axis ranges (x: log10 of the budget, y: %).
struct Frame {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    lo: f64,
    hi: f64,
    ymin: f64,
    ymax: f64,
}

impl Frame {
    /// The frame of the panel at noise `p`: the budgets across, the bands' extremes up.
    fn of(protocol: &Protocol, rows: &[Row], p: f64) -> Frame {
        let budgets = &protocol.budgets;
        let lo = (*budgets.iter().min().unwrap_or(&1) as f64).log10();
        let hi = (*budgets.iter().max().unwrap_or(&10) as f64).log10();
        let (lo, hi) = if hi - lo < 1e-9 {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo, hi)
        };
        // The y range: the bands' extremes, widened to whole 10 % steps.
        let mut ys = Vec::new();
        for &m in &protocol.methods {
            for &n in budgets {
                if let Some((mean, std)) = summary(rows, m, n, p) {
                    ys.push(100.0 * (mean - std));
                    ys.push(100.0 * (mean + std));
                }
            }
        }
        let ymin = (ys.iter().copied().fold(f64::INFINITY, f64::min) / 10.0).floor() * 10.0;
        let ymax = (ys.iter().copied().fold(f64::NEG_INFINITY, f64::max) / 10.0).ceil() * 10.0;
        let (ymin, ymax) = if ymin.is_finite() && ymax > ymin {
            (ymin.max(0.0), ymax.min(100.0))
        } else {
            (0.0, 100.0)
        };
        let (w, h) = (520.0, 340.0);
        let (left, right, top, bottom) = (56.0, 16.0, 30.0, 44.0);
        Frame {
            w,
            h,
            left,
            right,
            top,
            bottom,
            lo,
            hi,
            ymin,
            ymax,
        }
    }

    /// The x of budget `n`.
    fn x(&self, n: usize) -> f64 {
        self.left
            + ((n as f64).log10() - self.lo) / (self.hi - self.lo)
                * (self.w - self.left - self.right)
    }

    /// The y of accuracy `a` (a fraction).
    fn y(&self, a: f64) -> f64 {
        self.top
            + (self.ymax - 100.0 * a) / (self.ymax - self.ymin) * (self.h - self.top - self.bottom)
    }
}

/// One panel: accuracy (%) against labels (log axis) for every method at noise `p`.
fn panel(protocol: &Protocol, rows: &[Row], p: f64) -> String {
    let f = Frame::of(protocol, rows, p);
    let (w, h) = (f.w, f.h);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         data-noise=\"{p}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\
         <text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">label noise {}</text>",
        w / 2.0,
        percent_label(p)
    );
    grid(&mut svg, &f, &protocol.budgets);
    for &m in &protocol.methods {
        curve(&mut svg, &f, m, rows, &protocol.budgets, p);
    }
    legend(&mut svg, &f, &protocol.methods);
    svg.push_str("</svg>");
    svg
}

/// The grid lines, their labels, the frame and the axis titles.
fn grid(svg: &mut String, f: &Frame, budgets: &[usize]) {
    let (w, h, left, right, top, bottom) = (f.w, f.h, f.left, f.right, f.top, f.bottom);
    let step = if f.ymax - f.ymin > 40.0 { 10.0 } else { 5.0 };
    let mut t = f.ymin;
    while t <= f.ymax + 1e-9 {
        let ty = f.y(t / 100.0);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"#eee\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{t}%</text>",
            w - right,
            left - 6.0,
            ty + 4.0
        );
        t += step;
    }
    for &n in budgets {
        let tx = f.x(n);
        let _ = write!(
            svg,
            "<line x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#eee\"/>\
             <text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{n}</text>",
            h - bottom,
            h - bottom + 16.0
        );
    }
    let _ = write!(
        svg,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">labelled training images (log scale)</text>\
         <text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">test accuracy</text>",
        w - left - right,
        h - top - bottom,
        (left + w - right) / 2.0,
        h - 8.0,
        (top + h - bottom) / 2.0
    );
}

/// Method `m`'s mean curve, its ±std band and its points.
fn curve(svg: &mut String, f: &Frame, m: Method, rows: &[Row], budgets: &[usize], p: f64) {
    let points: Vec<(f64, f64, f64)> = budgets
        .iter()
        .filter_map(|&n| summary(rows, m, n, p).map(|(mean, std)| (f.x(n), mean, std)))
        .collect();
    if points.is_empty() {
        return;
    }
    let c = colour(m);
    let mut band = String::new();
    for &(px, mean, std) in &points {
        let _ = write!(band, "{px:.1},{:.1} ", f.y(mean + std));
    }
    for &(px, mean, std) in points.iter().rev() {
        let _ = write!(band, "{px:.1},{:.1} ", f.y(mean - std));
    }
    let line: String = points
        .iter()
        .map(|&(px, mean, _)| format!("{px:.1},{:.1}", f.y(mean)))
        .collect::<Vec<_>>()
        .join(" ");
    let _ = write!(
        svg,
        "<polygon class=\"band\" points=\"{band}\" fill=\"{c}\" fill-opacity=\"0.18\" stroke=\"none\"/>\
         <polyline class=\"curve\" data-method=\"{}\" points=\"{line}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2.5\"/>",
        m.name()
    );
    for &(px, mean, _) in &points {
        let _ = write!(
            svg,
            "<circle cx=\"{px:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{c}\"/>",
            f.y(mean)
        );
    }
}

/// The legend, bottom right.
fn legend(svg: &mut String, f: &Frame, methods: &[Method]) {
    for (i, &m) in methods.iter().enumerate() {
        let ly = f.h - f.bottom - 12.0 - 18.0 * (methods.len() - 1 - i) as f64;
        let lx = f.w - f.right - 120.0;
        let _ = write!(
            svg,
            "<line x1=\"{lx}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{}\" stroke-width=\"3\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            lx + 20.0,
            colour(m),
            lx + 26.0,
            ly + 4.0,
            m.name()
        );
    }
}

/// The two sentences under the plot, from the numbers: where the autoencoder's features help
/// most against end-to-end training, and what the most labels give each.
pub fn sentences(protocol: &Protocol, rows: &[Row]) -> Vec<String> {
    let mut said = Vec::new();
    let p = protocol.noise[0];
    let fewest = *protocol.budgets.iter().min().unwrap_or(&0);
    let most = *protocol.budgets.iter().max().unwrap_or(&0);
    let (a, s) = (Method::Autoencoder, Method::Supervised);
    if let (Some(af), Some(sf)) = (summary(rows, a, fewest, p), summary(rows, s, fewest, p)) {
        let gain = 100.0 * (af.0 - sf.0);
        // Where the autoencoder's features are ahead of end-to-end training, and where behind.
        let (mut ahead, mut behind) = (Vec::new(), Vec::new());
        for &n in &protocol.budgets {
            if let (Some(x), Some(y)) = (summary(rows, a, n, p), summary(rows, s, n, p)) {
                if x.0 > y.0 {
                    ahead.push(n.to_string());
                } else {
                    behind.push(n.to_string());
                }
            }
        }
        let verdict = match (ahead.is_empty(), behind.is_empty()) {
            (false, true) => "they are ahead at every budget".to_string(),
            (true, _) => "end-to-end training is ahead at every budget".to_string(),
            (false, false) => format!(
                "they are ahead at {} labels and behind at {}",
                ahead.join(", "),
                behind.join(", ")
            ),
        };
        said.push(format!(
            "With {fewest} labels and {} noise, the frozen autoencoder features give {:.1}% ± {:.1} \
             against {:.1}% ± {:.1} for the same network trained end to end ({}{:.1} points); {verdict}.",
            percent_label(p),
            100.0 * af.0,
            100.0 * af.1,
            100.0 * sf.0,
            100.0 * sf.1,
            if gain >= 0.0 { "+" } else { "" },
            gain
        ));
    }
    let at_most: Vec<String> = protocol
        .methods
        .iter()
        .filter_map(|&m| {
            summary(rows, m, most, p).map(|(mean, _)| format!("{} {:.1}%", m.name(), 100.0 * mean))
        })
        .collect();
    if protocol.noise.len() > 1 {
        let worst = *protocol.noise.last().unwrap_or(&p);
        let drop = |m: Method| -> Option<f64> {
            Some(100.0 * (summary(rows, m, fewest, p)?.0 - summary(rows, m, fewest, worst)?.0))
        };
        if let (Some(da), Some(ds)) = (drop(a), drop(s)) {
            said.push(format!(
                "At {fewest} labels, going from {} to {} noise costs the autoencoder features {da:.1} \
                 points and end-to-end training {ds:.1}; with {most} labels and {} noise: {}.",
                percent_label(p),
                percent_label(worst),
                percent_label(p),
                at_most.join(", ")
            ));
            return said;
        }
    }
    if !at_most.is_empty() {
        said.push(format!(
            "With {most} labels and {} noise: {} (mean over {} seeds).",
            percent_label(p),
            at_most.join(", "),
            protocol.seeds.len()
        ));
    }
    said
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The whole page.
pub fn page(protocol: &Protocol, rows: &[Row], table: &str, command: &str) -> String {
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{}\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>twostage study</title><style>{STYLE}</style></head><body>\n\
         <header><h1>Does stage 1 help when labels are few or noisy?</h1>\
         <p><code>{}</code> · {} seeds · batch {} · Adam {} · the same Adam steps for every \
         method at a budget: max({} epochs, {} steps)</p></header>\n\
         <section id=\"curves\"><h2>Test accuracy against labels</h2>\
         <p>Mean over seeds; the band is ± one standard deviation. Every method learns from the \
         same class-balanced labelled subset and is tested on the whole test set.</p>\
         <div class=\"charts\">",
        twostage::report::GENERATOR,
        escape(command),
        protocol.seeds.len(),
        protocol.batch_size,
        protocol.lr,
        protocol.min_epochs,
        protocol.min_steps,
    );
    for &p in &protocol.noise {
        let _ = write!(
            html,
            "<figure class=\"chart\">{}</figure>",
            panel(protocol, rows, p)
        );
    }
    html.push_str("</div>\n<div id=\"findings\">");
    for sentence in sentences(protocol, rows) {
        let _ = write!(html, "<p>{}</p>", escape(&sentence));
    }
    let _ = write!(
        html,
        "</div></section>\n<section id=\"table\"><h2>The numbers</h2><pre>{}</pre></section>\n</body></html>\n",
        escape(table)
    );
    html
}
