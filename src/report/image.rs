//! Pictures for the report: PNG encoding, data URIs, colour maps, and the preprocessing that
//! turns any drawing or photo of a digit into a 28×28 MNIST-like image (the page's JavaScript
//! does the same steps, in the same order, for the canvas).

use base64::Engine as _;

use crate::data::mnist::{COLS, ROWS};

/// An 8-bit RGB colour.
pub type Rgb = [u8; 3];

/// `bytes` as standard base64.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Encodes `width × height` pixels as a PNG: `channels` 1 (grey) or 3 (RGB), 8 bits each.
pub fn encode_png(pixels: &[u8], width: usize, height: usize, channels: usize) -> Vec<u8> {
    assert_eq!(pixels.len(), width * height * channels, "pixel buffer size");
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
    encoder.set_color(if channels == 1 {
        png::ColorType::Grayscale
    } else {
        png::ColorType::Rgb
    });
    encoder.set_depth(png::BitDepth::Eight);
    // The filter grid is ~0.7 MB of noisy weights: spend the encoding time to shrink it.
    encoder.set_compression(png::Compression::High);
    // Writing into a Vec cannot fail, and the size was checked above.
    let mut writer = encoder.write_header().expect("PNG header into memory");
    writer
        .write_image_data(pixels)
        .expect("PNG data into memory");
    writer.finish().expect("PNG end into memory");
    out
}

/// A PNG as a `data:` URI, for an `<img src>` that needs no other file.
pub fn png_data_uri(png: &[u8]) -> String {
    format!("data:image/png;base64,{}", base64(png))
}

/// A decoded image: 8-bit channels, row-major.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
    pub channels: usize,
    /// `width × height × channels` bytes.
    pub pixels: Vec<u8>,
}

/// Decodes a PNG of any colour type and bit depth into 8-bit channels.
pub fn decode_png(bytes: &[u8]) -> Result<Decoded, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // Palettes and low bit depths expanded, 16 bits cut to 8.
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    // The canvas the header declares, checked before any pixel is decoded.
    let (width, height) = (reader.info().width, reader.info().height);
    if u64::from(width) * u64::from(height) > MOST_PIXELS {
        return Err(format!(
            "it declares {width}×{height} pixels, more than the {MOST_PIXELS} this tool decodes"
        ));
    }
    let size = reader
        .output_buffer_size()
        .ok_or("the image is too large to decode")?;
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels).map_err(|e| e.to_string())?;
    pixels.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("an indexed PNG was not expanded".into()),
    };
    Ok(Decoded {
        width: info.width as usize,
        height: info.height as usize,
        channels,
        pixels,
    })
}

/// A diverging colour for `t` in [-1, 1]: blue for negative, white at 0, red for positive
/// (the ends of ColorBrewer's RdBu). Values outside are clamped.
pub fn diverging(t: f32) -> Rgb {
    const NEGATIVE: [f32; 3] = [33.0, 102.0, 172.0];
    const POSITIVE: [f32; 3] = [178.0, 24.0, 43.0];
    let t = if t.is_nan() { 0.0 } else { t.clamp(-1.0, 1.0) };
    let end = if t < 0.0 { NEGATIVE } else { POSITIVE };
    let a = t.abs();
    end.map(|c| (255.0 + (c - 255.0) * a).round() as u8)
}

/// A sequential colour for `t` in [0, 1]: white to dark blue, for heat maps.
pub fn sequential(t: f64) -> Rgb {
    const END: [f64; 3] = [8.0, 48.0, 107.0];
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    END.map(|c| (255.0 + (c - 255.0) * t).round() as u8)
}

/// One colour per class: Tableau's ten, then evenly spaced hues for more classes.
pub fn class_colour(class: usize, classes: usize) -> Rgb {
    const TABLEAU: [Rgb; 10] = [
        [31, 119, 180],
        [255, 127, 14],
        [44, 160, 44],
        [214, 39, 40],
        [148, 103, 189],
        [140, 86, 75],
        [227, 119, 194],
        [127, 127, 127],
        [188, 189, 34],
        [23, 190, 207],
    ];
    if classes <= TABLEAU.len() {
        return TABLEAU[class % TABLEAU.len()];
    }
    hsv(class as f64 / classes as f64, 0.75, 0.85)
}

fn hsv(h: f64, s: f64, v: f64) -> Rgb {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    let (r, g, b) = match i as i64 % 6 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    [r, g, b].map(|c| (c * 255.0).round() as u8)
}

/// `#rrggbb`.
pub fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// A network output in normalised units (`(p/255 − 0.5)/0.5`) back to a pixel, clamped.
pub fn to_pixel(x: f32) -> u8 {
    ((x * 0.5 + 0.5) * 255.0).round().clamp(0.0, 255.0) as u8
}

/// The least difference, as a fraction of full scale, between the background and the strongest
/// ink (or between the least and most opaque alpha) for a picture to hold a stroke.
pub const MIN_CONTRAST: f32 = 0.1;

/// The most pixels a PNG may declare (`predict --image`): 8192 × 8192, far past any drawing.
pub const MOST_PIXELS: u64 = 8192 * 8192;

/// Ink in [0, 1] (0 background, 1 stroke) of a decoded image of any colour type, whichever way
/// round it was drawn. With a non-opaque alpha channel the ink is the alpha (strokes on a
/// transparent sheet); otherwise the grey level, inverted when the border is mostly light
/// (dark-on-light), then stretched so the border's level is 0 and the strongest ink 1.
pub fn ink(image: &Decoded) -> Vec<f32> {
    let (w, h, ch) = (image.width, image.height, image.channels);
    let px = |i: usize| &image.pixels[i * ch..(i + 1) * ch];
    let has_alpha = ch == 2 || ch == 4;
    if has_alpha && (0..w * h).any(|i| px(i)[ch - 1] < 250) {
        let alpha: Vec<f32> = (0..w * h).map(|i| px(i)[ch - 1] as f32 / 255.0).collect();
        let (low, high) = alpha
            .iter()
            .fold((1.0_f32, 0.0_f32), |(l, h), &a| (l.min(a), h.max(a)));
        if high - low < MIN_CONTRAST {
            return vec![0.0; w * h];
        }
        return alpha;
    }
    let grey: Vec<f32> = (0..w * h)
        .map(|i| {
            let p = px(i);
            if ch >= 3 {
                (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0
            } else {
                p[0] as f32 / 255.0
            }
        })
        .collect();
    let border: Vec<f32> = (0..w * h)
        .filter(|i| {
            let (x, y) = (i % w, i / w);
            x == 0 || y == 0 || x + 1 == w || y + 1 == h
        })
        .map(|i| grey[i])
        .collect();
    let border_mean = border.iter().sum::<f32>() / border.len().max(1) as f32;
    let inverted = border_mean > 0.5;
    let ink: Vec<f32> = grey
        .iter()
        .map(|&g| if inverted { 1.0 - g } else { g })
        .collect();
    let background = if inverted {
        1.0 - border_mean
    } else {
        border_mean
    };
    let strongest = ink.iter().copied().fold(0.0_f32, f32::max);
    let range = strongest - background;
    // No stroke stands out from the background: a flat or nearly flat picture (grey 0x80,
    // faint noise) has nothing to read, and stretching it would invent a digit.
    if range < MIN_CONTRAST {
        return vec![0.0; w * h];
    }
    ink.iter()
        .map(|&v| ((v - background) / range).clamp(0.0, 1.0))
        .collect()
}

/// Where MNIST puts a digit's centre of mass, in both axes, with pixel centres at i + 0.5.
pub const CENTRE: f64 = 14.5;

/// Slack when rounding the centring shift (see [`mnist_like`]).
const TIE: f64 = 1e-9;

/// Ink above this counts for the bounding box.
pub const INK_THRESHOLD: f32 = 0.1;

/// MNIST's preprocessing of a `width × height` ink image (see [`ink`]): the bounding box of the
/// ink, scaled (area averaging, aspect kept) to fit 20×20, placed in a 28×28 image so that its
/// centre of mass falls on pixel 14 ([`CENTRE`]), as 8-bit pixels. An image with no ink gives all zeros.
/// The page's JavaScript (`preprocess` in `page.js`) is this function, step for step.
pub fn mnist_like(ink: &[f32], width: usize, height: usize) -> Vec<u8> {
    let mut out = vec![0u8; ROWS * COLS];
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if ink[y * width + x] > INK_THRESHOLD {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    if x0 == usize::MAX {
        return out;
    }
    let (bw, bh) = ((x1 - x0) as f64, (y1 - y0) as f64);
    let scale = 20.0 / bw.max(bh);
    let tw = ((bw * scale + 0.5).floor() as usize).clamp(1, 20);
    let th = ((bh * scale + 0.5).floor() as usize).clamp(1, 20);
    // Area averaging: each target pixel is the mean of the source rectangle it covers.
    let mut patch = vec![0.0_f64; tw * th];
    for ty in 0..th {
        let (sy0, sy1) = (
            y0 as f64 + ty as f64 * bh / th as f64,
            y0 as f64 + (ty + 1) as f64 * bh / th as f64,
        );
        for tx in 0..tw {
            let (sx0, sx1) = (
                x0 as f64 + tx as f64 * bw / tw as f64,
                x0 as f64 + (tx + 1) as f64 * bw / tw as f64,
            );
            let mut sum = 0.0;
            let mut y = sy0.floor() as usize;
            while (y as f64) < sy1 && y < height {
                let wy = (sy1.min(y as f64 + 1.0) - sy0.max(y as f64)).max(0.0);
                let mut x = sx0.floor() as usize;
                while (x as f64) < sx1 && x < width {
                    let wx = (sx1.min(x as f64 + 1.0) - sx0.max(x as f64)).max(0.0);
                    sum += wx * wy * ink[y * width + x] as f64;
                    x += 1;
                }
                y += 1;
            }
            patch[ty * tw + tx] = sum / ((sx1 - sx0) * (sy1 - sy0));
        }
    }
    // The centre of mass of the patch, pixel centres at i + 0.5.
    let (mut mass, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for ty in 0..th {
        for tx in 0..tw {
            let v = patch[ty * tw + tx];
            mass += v;
            cx += v * (tx as f64 + 0.5);
            cy += v * (ty as f64 + 0.5);
        }
    }
    let (cx, cy) = if mass > 0.0 {
        (cx / mass, cy / mass)
    } else {
        (tw as f64 / 2.0, th as f64 / 2.0)
    };
    // MNIST's digits have their centre of mass on pixel 14 (its centre at 14.5: the mean over
    // the test set is 14.50, 14.49 with pixel centres at i + 0.5), not on the image's centre 14.0.
    // Rounded half up, with a little slack: a symmetric stroke puts its mass exactly on a
    // half pixel, and the last bits of the sum (which differ between a drawing and its
    // negative) must not move it a whole pixel.
    let ox = ((CENTRE - cx + 0.5 + TIE).floor() as i64).clamp(0, (COLS - tw) as i64) as usize;
    let oy = ((CENTRE - cy + 0.5 + TIE).floor() as i64).clamp(0, (ROWS - th) as i64) as usize;
    for ty in 0..th {
        for tx in 0..tw {
            let v = (patch[ty * tw + tx] * 255.0 + 0.5)
                .floor()
                .clamp(0.0, 255.0);
            out[(oy + ty) * COLS + ox + tx] = v as u8;
        }
    }
    out
}
