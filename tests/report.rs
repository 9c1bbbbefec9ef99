#![cfg(feature = "cli")]
//! `twostage report` and `train --report`: every section's numbers checked against the engine
//! (the confusion matrix against `eval`, reconstructions against the decoder, the PCA axes, the
//! mistakes, the curves against the metrics file), the page offline and small, and the page's
//! own JavaScript forward run in headless Chromium against the Rust probabilities.

mod common;

use std::path::{Path, PathBuf};

use ndarray::{Array2, array};
use twostage::checkpoint;
use twostage::data::mnist::{Mnist, Split};
use twostage::model::{Dims, Part, TwoStageNetwork};
use twostage::rand::rngs::SmallRng;
use twostage::rand::{Rng, SeedableRng};
use twostage::report::image::{decode_png, diverging, to_pixel};
use twostage::report::metrics::{self, smooth};
use twostage::report::pca::Pca;
use twostage::report::{self, filter_grid};
use twostage::train::{self, Examples};

use common::{
    chromium, data_args, model_args, run_chromium, s, stderr, stdout, train_args, twostage,
};

/// The value of every `name="…"` attribute, in page order.
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let key = format!(" {name}=\"");
    html.match_indices(&key)
        .map(|(i, _)| {
            let rest = &html[i + key.len()..];
            &rest[..rest.find('"').expect("closed attribute")]
        })
        .collect()
}

/// The values of every `name="…"` attribute in `html`, parsed.
fn parsed<T: std::str::FromStr>(html: &str, name: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    attributes(html, name)
        .iter()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|e| panic!("{name}=\"{v}\": {e:?}"))
        })
        .collect()
}

/// The text of the element that starts with `start` (e.g. `<script … id="pca-data">`).
fn element_text<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the page"))
        + start.len();
    &html[i..i + html[i..].find(end).expect("element closed")]
}

/// The grey pixels of an `<img … {attribute} src="data:image/png;base64,…">`.
fn img_pixels(html: &str, attribute: &str) -> Vec<u8> {
    let i = html
        .find(attribute)
        .unwrap_or_else(|| panic!("no {attribute}"));
    let src = &html[i..];
    let b64 = element_text(src, "src=\"data:image/png;base64,", "\"");
    let bytes = base64_decode(b64);
    let image = decode_png(&bytes).expect("a valid PNG");
    image.pixels
}

fn base64_decode(b64: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("valid base64")
}

// ---- sections checked on made-up data (no MNIST needed) ----

#[test]
fn pca_axes_are_orthonormal_ordered_by_variance_and_find_the_known_directions() {
    // 3-D points with standard deviations 5, 2, 0.5 along a rotated frame.
    let mut rng = SmallRng::seed_from_u64(7);
    let (c, s_) = (0.6_f64, 0.8_f64);
    let frame = array![[c, s_, 0.0], [-s_, c, 0.0], [0.0, 0.0, 1.0]];
    let n = 20_000;
    let mut rows = Array2::<f32>::zeros((n, 3));
    for i in 0..n {
        // Sum of uniforms: zero-mean with variance k/12 per unit scale; scaled to the target sd.
        let z: Vec<f64> = (0..3)
            .map(|_| (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0)
            .collect();
        let scaled = [5.0 * z[0], 2.0 * z[1], 0.5 * z[2]];
        for j in 0..3 {
            let v: f64 = (0..3).map(|k| scaled[k] * frame[[k, j]]).sum();
            rows[[i, j]] = (v + 10.0 * j as f64) as f32;
        }
    }
    let pca = Pca::fit(rows.view());
    for a in 0..3 {
        for b in 0..3 {
            let dot: f64 = pca.axes.row(a).dot(&pca.axes.row(b));
            let expected = if a == b { 1.0 } else { 0.0 };
            assert!((dot - expected).abs() < 1e-9, "axes {a}·{b} = {dot}");
        }
    }
    assert!(
        pca.variances.windows(2).all(|w| w[0] >= w[1]),
        "{:?}",
        pca.variances
    );
    for (k, sd) in [5.0_f64, 2.0, 0.5].iter().enumerate() {
        let relative = (pca.variances[k] / (sd * sd) - 1.0).abs();
        assert!(
            relative < 0.05,
            "variance {k}: {} vs {}",
            pca.variances[k],
            sd * sd
        );
        let alignment = pca.axes.row(k).dot(&frame.row(k)).abs();
        assert!(alignment > 0.999, "axis {k} alignment {alignment}");
    }
    // The projection is (x − mean)·axis.
    let row = rows.row(3).to_vec();
    let p = pca.project(&row, 2);
    let by_hand: f64 = (0..3)
        .map(|j| (row[j] as f64 - pca.mean[j]) * pca.axes[[0, j]])
        .sum();
    assert!((p[0] - by_hand).abs() < 1e-9);
}

#[test]
fn jacobi_solves_the_eigen_equation() {
    let a = array![[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 1.0]];
    let (values, vectors) = report::pca::jacobi_eigen(a.clone());
    for (k, &value) in values.iter().enumerate() {
        let v = vectors.column(k);
        let av = a.dot(&v);
        for i in 0..3 {
            assert!((av[i] - value * v[i]).abs() < 1e-10, "A v = λ v for {k}");
        }
    }
    let trace: f64 = values.iter().sum();
    assert!((trace - 8.0).abs() < 1e-10);
}

#[test]
fn filter_tiles_show_each_weight_with_zero_white() {
    let mut weights = Array2::<f32>::zeros((20, 784));
    weights[[0, 0]] = 2.0;
    weights[[0, 1]] = -1.0;
    weights[[17, 28 * 5 + 3]] = -0.5; // tile 17: row 1, column 1 of the grid
    let (pixels, w, h) = filter_grid(weights.view());
    assert_eq!((w, h), (16 * 29 + 1, 2 * 29 + 1));
    let at = |x: usize, y: usize| [0, 1, 2].map(|c| pixels[(y * w + x) * 3 + c]);
    assert_eq!(
        at(1, 1),
        diverging(1.0),
        "the tile's largest weight at full red"
    );
    assert_eq!(at(2, 1), diverging(-0.5), "−1 of a tile scaled by 2");
    assert_eq!(at(3, 1), [255, 255, 255], "zero is white");
    assert_eq!(
        at(1 + 29 + 3, 1 + 29 + 5),
        diverging(-1.0),
        "tile 17, pixel (5, 3)"
    );
    assert_eq!(diverging(0.0), [255, 255, 255]);
    assert!(diverging(1.0)[0] > diverging(1.0)[2] && diverging(-1.0)[2] > diverging(-1.0)[0]);
}

#[test]
fn metrics_rows_parse_and_smoothing_is_a_debiased_average() {
    let text = "{\"stage\":\"stage1\",\"epoch\":1,\"batch\":10,\"loss\":0.5}\n\
                {\"stage\":\"stage1\",\"epoch\":1,\"loss\":0.4,\"seconds\":1.0}\n\
                {\"stage\":\"stage2\",\"epoch\":1,\"loss\":null,\"train_accuracy\":0.9,\"val_accuracy\":0.85}\n\
                {\"event\":\"test\",\"accuracy\":0.97,\"loss\":0.1}\n";
    let m = metrics::parse(text, Path::new("run.jsonl")).expect("parses");
    assert_eq!(m.batches.len(), 1);
    assert_eq!((m.batches[0].epoch, m.batches[0].batch), (1, 10));
    assert_eq!(m.epochs.len(), 2);
    assert_eq!(m.epochs[0].loss, 0.4);
    assert!(m.epochs[1].loss.is_nan());
    assert_eq!(m.epochs[1].val_accuracy, Some(0.85));
    assert_eq!(m.test, Some((0.97, 0.1)));
    assert_eq!(m.stages(), ["stage1", "stage2"]);
    let accuracy = twostage::report::plots::accuracy_chart(&m).expect("draws");
    assert!(accuracy.is_some_and(|svg| svg.contains("validation")));

    let bad = metrics::parse(
        "{\"stage\":\"stage1\",\"epoch\":1,\"loss\":0.4}\nnot json\n",
        Path::new("x.jsonl"),
    )
    .expect_err("line 2 is not JSON");
    assert!(
        bad.to_string().contains("x.jsonl") && bad.to_string().contains("line 2"),
        "{bad}"
    );

    let flat = smooth(&[3.0; 5], 0.9);
    assert!(
        flat.iter().all(|v| (v - 3.0).abs() < 1e-12),
        "a constant stays constant: {flat:?}"
    );
    let steps = smooth(&[1.0, 2.0], 0.5);
    assert_eq!(steps[0], 1.0, "debiased: the first value is itself");
    assert!((steps[1] - (0.25 + 1.0) / 0.75).abs() < 1e-12);
}

#[test]
fn preprocessing_fits_the_ink_in_20x20_and_centres_its_mass() {
    // A bar 60 wide and 150 tall, off-centre in a 300×200 image.
    let (w, h) = (300, 200);
    let mut ink = vec![0.0_f32; w * h];
    for y in 20..170 {
        for x in 200..260 {
            ink[y * w + x] = 1.0;
        }
    }
    let out = report::image::mnist_like(&ink, w, h);
    let (mut x0, mut x1, mut y0, mut y1) = (28, 0, 28, 0);
    let (mut mass, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for (i, &p) in out.iter().enumerate() {
        if p > 0 {
            let (x, y) = (i % 28, i / 28);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x + 1), y0.min(y), y1.max(y + 1));
            mass += p as f64;
            cx += p as f64 * (x as f64 + 0.5);
            cy += p as f64 * (y as f64 + 0.5);
        }
    }
    assert_eq!((x1 - x0, y1 - y0), (8, 20), "150 tall → 20, 60 wide → 8");
    assert!((cx / mass - 14.5).abs() <= 0.5 && (cy / mass - 14.5).abs() <= 0.5);
    assert!(
        report::image::mnist_like(&vec![0.0; 100], 10, 10)
            .iter()
            .all(|&p| p == 0)
    );
}

// ---- the page of a real run ----

/// A short real run, trained with `--metrics` and `--report`: (dir, model, metrics, page).
fn short_run(dir: &Path, data: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (model, metrics, page) = (
        dir.join("m.safetensors"),
        dir.join("run.jsonl"),
        dir.join("train.html"),
    );
    let extra = [
        "--train-limit",
        "3000",
        "--metrics",
        s(&metrics),
        "--report",
        s(&page),
    ];
    let out = twostage(&train_args(data, ["2", "2"], &model, &extra));
    assert!(out.status.success(), "train: {}", stderr(&out));
    assert!(stdout(&out).contains(&format!("Wrote {}", page.display())));
    (model, metrics, page)
}

fn load(model: &Path) -> TwoStageNetwork<f32> {
    let file = checkpoint::read(model).expect("readable");
    let mut network = TwoStageNetwork::new(Dims::MNIST, &mut SmallRng::seed_from_u64(0));
    checkpoint::load_into(&mut network, &file, "", &Part::ALL, model).expect("all parts");
    network
}

/// The confusion matrix `twostage eval` prints.
fn eval_confusion(model: &Path, data: &Path) -> Vec<Vec<u64>> {
    let out = twostage(&model_args("eval", model, data, &[]));
    assert!(out.status.success(), "eval: {}", stderr(&out));
    stdout(&out)
        .lines()
        .skip_while(|l| !l.starts_with("Confusion"))
        .skip(2)
        .take(10)
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(10)
                .map(|n| n.parse().expect("a count"))
                .collect()
        })
        .collect()
}

#[test]
fn every_section_of_the_page_shows_the_engines_numbers() {
    let Some(data) = common::mnist_dir() else { return };
    let dir = common::temp_dir("report-sections");
    let (model, metrics_file, train_page) = short_run(&dir, &data);
    let page = dir.join("report.html");
    let extra = ["--metrics", s(&metrics_file), "--out", s(&page)];
    let out = twostage(&model_args("report", &model, &data, &extra));
    assert!(out.status.success(), "report: {}", stderr(&out));
    let html = std::fs::read_to_string(&page).expect("the page");
    let from_train = std::fs::read_to_string(&train_page).expect("train's page");
    assert_eq!(
        attributes(&html, "data-count"),
        attributes(&from_train, "data-count"),
        "train --report and report agree"
    );

    // Offline and small.
    assert!(html.len() < 5_000_000, "{} bytes", html.len());
    for remote in [
        "src=\"http",
        "href=\"http",
        "fetch(",
        "<link",
        "XMLHttpRequest",
        "import(",
    ] {
        assert!(
            !html.contains(remote),
            "the page must work offline: found {remote}"
        );
    }
    for id in [
        "curves",
        "reconstructions",
        "filters",
        "features",
        "results",
        "draw",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\"")),
            "section {id}"
        );
    }

    // Results: the confusion matrix is eval's, the accuracies follow from it.
    let confusion = eval_confusion(&model, &data);
    let counts: Vec<u64> = parsed(&html, "data-count");
    assert_eq!(counts, confusion.concat(), "confusion matrix = eval's");
    let per_class: Vec<f64> = parsed(&html, "data-class-accuracy");
    for (c, row) in confusion.iter().enumerate() {
        let expected = row[c] as f64 / row.iter().sum::<u64>() as f64;
        assert!((per_class[c] - expected).abs() < 1e-12, "class {c}");
    }

    let test_set = Mnist::load(&data, Split::Test).expect("MNIST");
    let test = Examples {
        pixels: &test_set.images,
        labels: &test_set.labels,
        width: 784,
    };
    let mut network = load(&model);

    // Dead units: per hidden ReLU layer, the count the engine makes on the same test images,
    // and the sentence that says what it means.
    assert!(
        html.contains("never fire"),
        "the page says how many units never fire"
    );
    let counted: Vec<usize> = train::dead_relu_units(&mut network, test)
        .iter()
        .map(|layer| layer.dead.len())
        .collect();
    assert_eq!(
        parsed::<usize>(&html, "data-dead"),
        counted,
        "dead units as the engine counts them"
    );
    assert_eq!(attributes(&html, "data-units"), ["256", "64"]);

    // The mistakes: really wrong, top-3 as the engine says, most confident first, and no
    // mistake left out that was more confident than the last shown.
    let probabilities: Vec<Vec<f32>> = (0..test.len())
        .map(|i| train::probabilities(&mut network, test_set.image(i)).unwrap())
        .collect();
    let shown: Vec<usize> = parsed(&html, "data-index");
    let predicted: Vec<usize> = parsed(&html, "data-predicted");
    let truth: Vec<usize> = parsed(&html, "data-true");
    let p_shown: Vec<f32> = parsed(&html, "data-p");
    assert_eq!(shown.len(), 24);
    assert_eq!(p_shown.len(), 72, "three probabilities each");
    let confidence = |i: usize| probabilities[i].iter().copied().fold(0.0_f32, f32::max);
    for (k, &i) in shown.iter().enumerate() {
        let p = &probabilities[i];
        assert_eq!(truth[k], test_set.label(i) as usize);
        assert_eq!(predicted[k], train::argmax(p.iter().copied()), "image {i}");
        assert_ne!(predicted[k], truth[k], "image {i} is a mistake");
        assert!(
            (p_shown[3 * k] - confidence(i)).abs() < 1e-6,
            "top-1 of {i}"
        );
        let third = p_shown[3 * k + 2];
        assert_eq!(
            p.iter().filter(|&&q| q > third + 1e-6).count(),
            2,
            "third of {i}"
        );
    }
    assert!(
        shown
            .windows(2)
            .all(|w| confidence(w[0]) >= confidence(w[1]) - 1e-6)
    );
    let last = confidence(shown[23]);
    let missed = (0..test.len()).filter(|&i| {
        !shown.contains(&i)
            && train::argmax(probabilities[i].iter().copied()) != test_set.label(i) as usize
            && confidence(i) > last + 1e-6
    });
    assert_eq!(missed.count(), 0, "no more confident mistake left out");

    // Reconstructions: each is the decoder's output for that image; each original is the image.
    let mut input = Array2::zeros((1, 784));
    for i in [0usize, 7, 15] {
        assert_eq!(
            img_pixels(&html, &format!("data-original=\"{i}\"")),
            test_set.image(i)
        );
        twostage::batches::gather_normalised(test.pixels, 784, &[i], &mut input);
        let decoded: Vec<u8> = network
            .reconstruction(input.view())
            .iter()
            .map(|&x| to_pixel(x))
            .collect();
        let shown = img_pixels(&html, &format!("data-reconstruction=\"{i}\""));
        let worst = decoded
            .iter()
            .zip(&shown)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(
            worst <= 1,
            "reconstruction {i} differs by {worst} grey levels"
        );
        assert!(
            decoded.iter().any(|&p| p > 128),
            "a real reconstruction has ink"
        );
    }

    // Filters: the grid is stage1.0.weight.
    let grid_b64 = element_text(&html, "id=\"filter-grid\"", "\" alt");
    let grid = decode_png(&base64_decode(grid_b64.rsplit("base64,").next().unwrap())).unwrap();
    let weight = network.stage1_weight();
    let (expected, w, h) = filter_grid(weight.view());
    assert_eq!((grid.width, grid.height, grid.channels), (w, h, 3));
    assert_eq!(grid.pixels, expected);
    assert_eq!(attributes(&html, "data-filters"), ["256"]);

    // The feature space: the page's axes are the PCA of the test features, orthonormal, ordered.
    let features = train::features_of(&mut network, test);
    let pca = Pca::fit(features.view());
    let json: serde_json::Value =
        serde_json::from_str(element_text(&html, "id=\"pca-data\">", "</script>")).unwrap();
    let axes: Vec<Vec<f64>> = serde_json::from_value(json["axes"].clone()).unwrap();
    let variances: Vec<f64> = serde_json::from_value(json["variances"].clone()).unwrap();
    assert_eq!(axes.len(), 2);
    for a in 0..2 {
        for b in 0..2 {
            let dot: f64 = axes[a].iter().zip(&axes[b]).map(|(x, y)| x * y).sum();
            assert!((dot - if a == b { 1.0 } else { 0.0 }).abs() < 1e-9);
        }
        let same: f64 = axes[a]
            .iter()
            .zip(pca.axes.row(a))
            .map(|(x, y)| x * y)
            .sum();
        assert!(same > 1.0 - 1e-9, "axis {a} is the test features' PCA axis");
    }
    assert!(variances.windows(2).all(|w| w[0] >= w[1]));
    // The first axis holds the largest variance: more than any feature's own, and equal to
    // the variance of the projections on it.
    let projections: Vec<f64> = features
        .rows()
        .into_iter()
        .map(|r| pca.project(&r.to_vec(), 1)[0])
        .collect();
    let var = projections.iter().map(|p| p * p).sum::<f64>() / (projections.len() - 1) as f64;
    assert!(
        (var / variances[0] - 1.0).abs() < 1e-6,
        "{var} vs {}",
        variances[0]
    );
    let widest_feature = (0..features.ncols())
        .map(|j| features.column(j).var(1.0) as f64)
        .fold(0.0, f64::max);
    assert!(variances[0] >= widest_feature * (1.0 - 1e-6));
    assert_eq!(
        attributes(&html, "data-class").len(),
        10 + 72,
        "legend + top-3 entries"
    );

    // Curves: the epoch table is the metrics file's epochs; baselines are ln 10 and the
    // mean-image MSE.
    let m = metrics::parse(
        &std::fs::read_to_string(&metrics_file).unwrap(),
        &metrics_file,
    )
    .unwrap();
    let losses: Vec<f64> = parsed(&html, "data-loss");
    assert_eq!(losses, m.epochs.iter().map(|e| e.loss).collect::<Vec<_>>());
    assert_eq!(m.epochs.len(), 4);
    assert!(m.batches.len() > 10, "the run logged batch losses");
    let baselines: Vec<f64> = parsed(&html, "data-baseline");
    let normalised: Vec<f64> = test
        .pixels
        .iter()
        .map(|&p| twostage::batches::normalise(p) as f64)
        .collect();
    let mut mean = vec![0.0; 784];
    for image in normalised.chunks(784) {
        for (m, x) in mean.iter_mut().zip(image) {
            *m += x / test.len() as f64;
        }
    }
    let mse = normalised
        .chunks(784)
        .flat_map(|im| im.iter().zip(&mean).map(|(x, m)| (x - m) * (x - m)))
        .sum::<f64>()
        / normalised.len() as f64;
    assert!(
        (baselines[0] - mse).abs() < 1e-9,
        "stage1 baseline {} vs {mse}",
        baselines[0]
    );
    assert!((baselines[1] - 10f64.ln()).abs() < 1e-12);
    assert!(html.contains("<svg"), "charts are inline SVG");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Adds `stage1_weight` to the network for the filter check.
trait Stage1Weight {
    fn stage1_weight(&mut self) -> Array2<f32>;
}
impl Stage1Weight for TwoStageNetwork<f32> {
    fn stage1_weight(&mut self) -> Array2<f32> {
        use twostage::nn::Parameters;
        let mut weight = None;
        self.visit_params(&mut |name, p| {
            if name == "stage1.0.weight" {
                weight = Some(p.value.view().into_dimensionality().unwrap().to_owned());
            }
        });
        weight.expect("stage1.0.weight")
    }
}

#[test]
fn the_pages_javascript_forward_matches_rust_in_headless_chromium() {
    let Some(data) = common::mnist_dir() else { return };
    let Some(binary) = chromium() else {
        assert!(
            !common::in_ci(),
            "CI=true but no Chromium: apt-get install chromium-headless-shell"
        );
        eprintln!("skipping: no Chromium (apt-get install chromium-headless-shell)");
        return;
    };
    let dir = common::temp_dir("report-chromium");
    let (_, _, page) = short_run(&dir, &data);
    let url = format!("file://{}", page.canonicalize().unwrap().display());

    let out = run_chromium(&binary, &dir, &["--dump-dom"], &format!("{url}#selftest"));
    let dom = stdout(&out);
    let result = element_text(&dom, "<pre id=\"selftest\">", "</pre>");
    eprintln!("self-test: {result}");
    let diff: f64 = result
        .strip_prefix("max_abs_diff=")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no self-test result in the DOM: {result:?}; stderr {}",
                stderr(&out)
            )
        });
    assert!(diff <= 1e-5, "JS and Rust probabilities differ by {diff}");
    assert!(result.ends_with("agree=100/100"), "{result}");
    let preprocess = element_text(&dom, "<pre id=\"selftest-preprocess\">", "</pre>");
    assert_eq!(
        preprocess, "preprocess_differing_pixels=0",
        "the page's preprocessing is mnist_like's"
    );

    let shot = dir.join("shot.png");
    let out = run_chromium(
        &binary,
        &dir,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,4000",
        ],
        &url,
    );
    let (image, colours) = common::screenshot(&shot, &out);
    assert_eq!((image.width, image.height), (1200, 4000));
    assert!(colours > 200, "a blank page: {colours} colours");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_refuses_outputs_it_must_not_write() {
    let dir = common::temp_dir("report-outputs");
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "my notes").unwrap();
    let model = dir.join("m.safetensors");
    std::fs::write(&model, b"not a checkpoint").unwrap();
    let report_to =
        |page: &Path| twostage(&model_args("report", &model, &dir, &["--out", s(page)]));
    let out = report_to(&notes);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--out") && err.contains("twostage did not write"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");
    let out = report_to(&model);
    assert!(
        stderr(&out).contains("--out") && stderr(&out).contains("input"),
        "{}",
        stderr(&out)
    );
    // A page twostage wrote (its generator mark) is replaced.
    let old = dir.join("old.html");
    std::fs::write(
        &old,
        format!(
            "<!DOCTYPE html>\n<html><head>{}</head>old</html>",
            twostage::report::GENERATOR
        ),
    )
    .unwrap();
    let out = report_to(&old);
    let err = stderr(&out);
    assert!(
        !err.contains("--out"),
        "an HTML page may be replaced: {err}"
    );
    assert!(
        err.contains("m.safetensors"),
        "the bad checkpoint is named: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_checkpoint_without_a_decoder_gets_a_page_without_reconstructions() {
    let Some(data) = common::mnist_dir() else { return };
    let dir = common::temp_dir("report-no-decoder");
    let (model, page) = (dir.join("m.safetensors"), dir.join("p.html"));
    let mut train = data_args(
        "train",
        &data,
        &["--train-limit", "2000", "--save", s(&model)],
    );
    // Stage 1 "none": no autoencoder, so no decoder in the checkpoint.
    train.extend(["--stage1", "none", "--stage2-epochs", "1"]);
    let out = twostage(&train);
    assert!(out.status.success(), "train: {}", stderr(&out));
    let out = twostage(&model_args("report", &model, &data, &["--out", s(&page)]));
    assert!(out.status.success(), "report: {}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("has no decoder"));
    assert!(!html.contains("data-reconstruction="));
    assert!(
        !html.contains("\"decoder.0.weight\""),
        "no decoder weights embedded"
    );
    assert!(html.contains("\"has_decoder\":false"));
    assert!(
        html.contains("No metrics file"),
        "the curves section says what to pass"
    );
    assert_eq!(attributes(&html, "data-count").len(), 100);
    let _ = std::fs::remove_dir_all(&dir);
}
