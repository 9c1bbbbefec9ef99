#![cfg(feature = "cli")]
//! `twostage predict --image`: your own digit, any size, either polarity, colour or grey,
//! preprocessed as MNIST was before the network sees it.

mod common;

use twostage::data::mnist::{Mnist, Split};
use twostage::report::image::{Decoded, encode_png, ink, mnist_like};

use common::{s, stderr, stdout, train_args, twostage};

/// A 28×28 image scaled up `k` times (nearest neighbour) and drawn dark on light in RGB,
/// as a person would save a drawing.
fn upscaled_inverted_rgb(image: &[u8], k: usize) -> (Vec<u8>, usize) {
    let side = 28 * k;
    let mut rgb = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        for x in 0..side {
            let p = 255 - image[(y / k) * 28 + x / k];
            rgb.extend([p, p, p]);
        }
    }
    (rgb, side)
}

/// Mean absolute difference of two images, in grey levels.
fn mean_diff(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y) as f64)
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn an_upscaled_inverted_test_image_comes_back_close_to_the_original() {
    let Some(dir) = common::mnist_dir() else { return };
    let test = Mnist::load(&dir, Split::Test).expect("MNIST");
    for i in 0..20 {
        let (rgb, side) = upscaled_inverted_rgb(test.image(i), 5);
        let decoded = Decoded {
            width: side,
            height: side,
            channels: 3,
            pixels: rgb,
        };
        let seen = mnist_like(&ink(&decoded), side, side);
        // MNIST's digits already sit in a 20×20 box with their mass centred: undoing the
        // upscaling and the inversion gives back nearly the same image (measured: at most 0.16
        // grey levels on average over the first 20).
        let d = mean_diff(&seen, test.image(i));
        assert!(d < 1.0, "image {i}: mean difference {d} grey levels");
    }
}

#[test]
fn polarity_colour_and_alpha_do_not_change_what_the_network_sees() {
    // A thick "1"-like stroke with a soft edge on a 90×120 sheet.
    let (w, h) = (90, 120);
    let level = |x: usize, y: usize| -> u8 {
        let d = (x as f64 - 45.0).abs();
        if (15..105).contains(&y) && d < 10.0 {
            (255.0 * (1.0 - d / 10.0)).round() as u8
        } else {
            0
        }
    };
    let light_on_dark: Vec<u8> = (0..w * h).map(|i| level(i % w, i / w)).collect();
    let grey = Decoded {
        width: w,
        height: h,
        channels: 1,
        pixels: light_on_dark.clone(),
    };
    let reference = mnist_like(&ink(&grey), w, h);
    assert!(reference.iter().filter(|&&p| p > 0).count() > 20);
    let variants = [
        (
            "dark on light grey",
            Decoded {
                width: w,
                height: h,
                channels: 1,
                pixels: light_on_dark.iter().map(|p| 255 - p).collect(),
            },
        ),
        (
            "blue ink on white RGB",
            Decoded {
                width: w,
                height: h,
                channels: 3,
                pixels: light_on_dark
                    .iter()
                    .flat_map(|&p| [255 - p, 255 - p, 255])
                    .collect(),
            },
        ),
        (
            "black strokes on a transparent sheet",
            Decoded {
                width: w,
                height: h,
                channels: 4,
                pixels: light_on_dark.iter().flat_map(|&p| [0, 0, 0, p]).collect(),
            },
        ),
    ];
    for (what, image) in variants {
        let seen = mnist_like(&ink(&image), w, h);
        let d = mean_diff(&seen, &reference);
        assert!(d < 1.0, "{what}: differs by {d} grey levels on average");
    }
}

#[test]
fn predict_image_reads_a_drawn_digit_like_the_test_image_it_came_from() {
    let Some(data) = common::mnist_dir() else { return };
    let dir = common::temp_dir("predict-image");
    let model = dir.join("m.safetensors");
    let limit = ["--train-limit", "3000"];
    let out = twostage(&train_args(&data, ["1", "3"], &model, &limit));
    assert!(out.status.success(), "train: {}", stderr(&out));
    let test = Mnist::load(&data, Split::Test).expect("MNIST");
    let (rgb, side) = upscaled_inverted_rgb(test.image(0), 4);
    let png = dir.join("digit.png");
    std::fs::write(&png, encode_png(&rgb, side, side, 3)).unwrap();

    let out = twostage(&["predict", "--model", s(&model), "--image", s(&png)]);
    assert!(out.status.success(), "predict: {}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("(112×112)"), "{printed}");
    assert!(
        printed
            .trim_end()
            .ends_with(&format!("predicted {}", test.label(0))),
        "{printed}"
    );
    // The ASCII view is 28 rows of 56 characters with ink in the middle, none at the edges.
    let rows: Vec<&str> = printed.lines().skip(1).take(28).collect();
    assert!(rows.iter().all(|r| r.chars().count() == 56), "{printed}");
    assert!(rows[0].trim().is_empty() && rows[27].trim().is_empty());
    assert!(
        rows[14].contains('@') || rows[14].contains('%'),
        "{printed}"
    );
    let p7: f64 = printed
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("7: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("a probability for 7");
    assert!(p7 > 0.5, "{printed}");

    // A blank sheet and a file that is not a PNG are refused, naming the flag.
    let blank = dir.join("blank.png");
    std::fs::write(&blank, encode_png(&vec![255; 40 * 30], 40, 30, 1)).unwrap();
    let not_png = dir.join("digit.jpg");
    std::fs::write(&not_png, b"\xff\xd8\xff\xe0 not a png").unwrap();
    for (file, says) in [(&blank, "no stroke"), (&not_png, "not a PNG")] {
        let out = twostage(&["predict", "--model", s(&model), "--image", s(file)]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("--image") && err.contains(says), "{err}");
    }
    let out = twostage(&["predict", "--model", s(&model)]);
    assert!(!out.status.success(), "--index or --image is required");
    let _ = std::fs::remove_dir_all(&dir);
}
