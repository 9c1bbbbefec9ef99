// The page's own forward pass, preprocessing and drawing pad. No network access, no library:
// everything it reads is in the #model-data element.
(function () {
  "use strict";
  var M = JSON.parse(document.getElementById("model-data").textContent);
  // CENTRE: where MNIST's digits have their centre of mass (pixel 14, centre at 14.5).
  var SIDE = 28, PIXELS = 784, INK_THRESHOLD = 0.1, CENTRE = 14.5, TIE = 1e-9;

  function bytes(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function floats(b64) {
    var b = bytes(b64), view = new DataView(b.buffer), n = b.length / 4, out = new Float64Array(n);
    for (var i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  var W = {};
  Object.keys(M.weights).forEach(function (k) {
    W[k] = { shape: M.weights[k].shape, data: floats(M.weights[k].data) };
  });

  // y = x·Wᵀ + b, W stored (out, in) as PyTorch does; accumulated in double precision.
  function dense(x, name, relu) {
    var w = W[name + ".weight"], b = W[name + ".bias"].data;
    var o = w.shape[0], n = w.shape[1], d = w.data, y = new Float64Array(o);
    for (var r = 0; r < o; r++) {
      var s = 0, off = r * n;
      for (var c = 0; c < n; c++) s += d[off + c] * x[c];
      s += b[r];
      y[r] = relu && s < 0 ? 0 : s;
    }
    return y;
  }
  function features(x) { return dense(dense(x, "stage1.0", true), "stage1.2", false); }
  function probabilities(f) {
    var z = dense(dense(f, "stage2.0", true), "stage2.2", false);
    var max = -Infinity, sum = 0, p = new Float64Array(z.length), i;
    for (i = 0; i < z.length; i++) max = Math.max(max, z[i]);
    for (i = 0; i < z.length; i++) { p[i] = Math.exp(z[i] - max); sum += p[i]; }
    for (i = 0; i < z.length; i++) p[i] /= sum;
    return p;
  }
  function reconstruction(f) { return dense(dense(f, "decoder.0", true), "decoder.2", false); }
  // (p/255 − 0.5)/0.5 in f32, as the Rust side computes it.
  function normalise(pixels) {
    var x = new Float64Array(pixels.length);
    for (var i = 0; i < pixels.length; i++) x[i] = Math.fround(Math.fround(Math.fround(pixels[i] / 255) - 0.5) / 0.5);
    return x;
  }
  function argmax(p) { var best = 0; for (var i = 1; i < p.length; i++) if (p[i] > p[best]) best = i; return best; }

  // MNIST's preprocessing, step for step as report::image::mnist_like in Rust: the ink's
  // bounding box scaled (area averaging) to fit 20×20, centre of mass moved to the centre.
  function preprocess(ink, width, height) {
    var out = new Uint8Array(PIXELS), x, y, x0 = Infinity, y0 = Infinity, x1 = 0, y1 = 0;
    for (y = 0; y < height; y++) for (x = 0; x < width; x++) if (ink[y * width + x] > INK_THRESHOLD) {
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1);
    }
    if (x0 === Infinity) return out;
    var bw = x1 - x0, bh = y1 - y0, scale = 20 / Math.max(bw, bh);
    var tw = Math.min(20, Math.max(1, Math.floor(bw * scale + 0.5)));
    var th = Math.min(20, Math.max(1, Math.floor(bh * scale + 0.5)));
    var patch = new Float64Array(tw * th), tx, ty;
    for (ty = 0; ty < th; ty++) {
      var sy0 = y0 + ty * bh / th, sy1 = y0 + (ty + 1) * bh / th;
      for (tx = 0; tx < tw; tx++) {
        var sx0 = x0 + tx * bw / tw, sx1 = x0 + (tx + 1) * bw / tw, sum = 0;
        for (y = Math.floor(sy0); y < sy1 && y < height; y++) {
          var wy = Math.max(0, Math.min(sy1, y + 1) - Math.max(sy0, y));
          for (x = Math.floor(sx0); x < sx1 && x < width; x++) {
            var wx = Math.max(0, Math.min(sx1, x + 1) - Math.max(sx0, x));
            sum += wx * wy * ink[y * width + x];
          }
        }
        patch[ty * tw + tx] = sum / ((sx1 - sx0) * (sy1 - sy0));
      }
    }
    var mass = 0, cx = 0, cy = 0;
    for (ty = 0; ty < th; ty++) for (tx = 0; tx < tw; tx++) {
      var v = patch[ty * tw + tx]; mass += v; cx += v * (tx + 0.5); cy += v * (ty + 0.5);
    }
    if (mass > 0) { cx /= mass; cy /= mass; } else { cx = tw / 2; cy = th / 2; }
    var ox = Math.min(Math.max(Math.floor(CENTRE - cx + 0.5 + TIE), 0), SIDE - tw);
    var oy = Math.min(Math.max(Math.floor(CENTRE - cy + 0.5 + TIE), 0), SIDE - th);
    for (ty = 0; ty < th; ty++) for (tx = 0; tx < tw; tx++)
      out[(oy + ty) * SIDE + ox + tx] = Math.min(255, Math.max(0, Math.floor(patch[ty * tw + tx] * 255 + 0.5)));
    return out;
  }

  function show(canvas, pixels) {
    var ctx = canvas.getContext("2d"), img = ctx.createImageData(SIDE, SIDE);
    for (var i = 0; i < PIXELS; i++) {
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = pixels[i];
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
  function bars(p) {
    var top = argmax(p), html = "";
    for (var i = 0; i < p.length; i++) {
      html += '<div class="bar' + (i === top ? " top" : "") + '"><span class="name">' +
        String(M.classes[i]).replace(/[&<>"]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }) +
        '</span><span class="fill" style="width:' + (240 * p[i]).toFixed(1) + 'px"></span><span>' +
        (100 * p[i]).toFixed(1) + "%</span></div>";
    }
    document.getElementById("bars").innerHTML = html;
  }
  function classify(pixels) {
    var blank = true;
    for (var j = 0; j < PIXELS; j++) if (pixels[j] > 0) { blank = false; break; }
    if (blank) {
      // The network's answer for an empty sheet means nothing: say what to do instead.
      show(document.getElementById("seen"), pixels);
      if (M.has_decoder) show(document.getElementById("recon"), pixels);
      document.getElementById("bars").innerHTML = '<p class="note">Draw a digit in the black square.</p>';
      return;
    }
    var f = features(normalise(pixels));
    show(document.getElementById("seen"), pixels);
    bars(probabilities(f));
    if (M.has_decoder) {
      var r = reconstruction(f), out = new Uint8Array(PIXELS);
      for (var i = 0; i < PIXELS; i++) out[i] = Math.min(255, Math.max(0, Math.round((r[i] * 0.5 + 0.5) * 255)));
      show(document.getElementById("recon"), out);
    }
  }

  var pad = document.getElementById("pad"), ctx = pad.getContext("2d");
  function clear() {
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height);
    classify(new Uint8Array(PIXELS));
  }
  function update() {
    var data = ctx.getImageData(0, 0, pad.width, pad.height).data, ink = new Float64Array(pad.width * pad.height);
    var strongest = 0;
    for (var i = 0; i < ink.length; i++) { ink[i] = data[4 * i] / 255; strongest = Math.max(strongest, ink[i]); }
    // As report::image::ink: a stroke fainter than a tenth of full scale is no stroke.
    if (strongest < 0.1) { classify(new Uint8Array(PIXELS)); return; }
    classify(preprocess(ink, pad.width, pad.height));
  }
  var drawing = false, last = null, pending = false;
  function point(e) {
    var r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
  }
  function stroke(to) {
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(to[0], to[1]); ctx.stroke();
    last = to;
    if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; update(); }); }
  }
  pad.addEventListener("pointerdown", function (e) { drawing = true; last = point(e); pad.setPointerCapture(e.pointerId); stroke(point(e)); e.preventDefault(); });
  pad.addEventListener("pointermove", function (e) { if (drawing) { stroke(point(e)); e.preventDefault(); } });
  ["pointerup", "pointercancel"].forEach(function (t) { pad.addEventListener(t, function () { if (drawing) { drawing = false; update(); } }); });
  document.getElementById("clear").addEventListener("click", clear);
  clear();
  // report.html#demo: the first test image drawn on the pad, as if by hand.
  if (location.hash === "#demo" && M.selftest.n > 0) {
    var first = document.createElement("canvas");
    first.width = first.height = SIDE;
    show(first, bytes(M.selftest.images).subarray(0, PIXELS));
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(first, 30, 30, 220, 220);
    update();
  }

  // report.html#selftest: this forward against the Rust probabilities on the first test images.
  if (location.hash === "#selftest") {
    var n = M.selftest.n, images = bytes(M.selftest.images), rust = floats(M.selftest.probs);
    var classes = M.classes.length, maxDiff = 0, agree = 0;
    for (var k = 0; k < n; k++) {
      var p = probabilities(features(normalise(images.subarray(k * PIXELS, (k + 1) * PIXELS))));
      var q = rust.subarray(k * classes, (k + 1) * classes);
      for (var c = 0; c < classes; c++) maxDiff = Math.max(maxDiff, Math.abs(p[c] - q[c]));
      if (argmax(p) === argmax(q)) agree++;
    }
    var pre = M.preprocess, levels = bytes(pre.levels), sheet = new Float64Array(levels.length);
    for (var j = 0; j < levels.length; j++) sheet[j] = Math.fround(levels[j] / 255);
    var mine = preprocess(sheet, pre.width, pre.height), theirs = bytes(pre.expected), differ = 0;
    for (var q = 0; q < PIXELS; q++) if (mine[q] !== theirs[q]) differ++;
    document.getElementById("selftest-preprocess").textContent = "preprocess_differing_pixels=" + differ;
    document.getElementById("selftest").textContent = "max_abs_diff=" + maxDiff.toExponential(3) + " agree=" + agree + "/" + n;
  }
})();
