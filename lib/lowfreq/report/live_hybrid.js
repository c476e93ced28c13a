/* lowfreq: the live hybrid-image explorer (Fig 3), run in the reader's browser.
 *
 * Inlined by lowfreq.report.widgets.live_hybrid_explorer into the page, once per explorer, with __ID__
 * replaced by the explorer's element id. The explorer's data (ONNX models as base64, the shipped image
 * pairs as base64 uint8, class names, the f_mix grid, the book's Python curves) is the JSON of
 * <script class="lfl-data">. The runtime is the site's vendored onnxruntime-web (WebAssembly backend,
 * one thread), loaded from <site>/_vendor/onnxruntime-web/. Where it cannot load (file://, no
 * WebAssembly), the element says so in one line and the precomputed explorer stays the one to use.
 *
 * The hybrid is the paper's FFT mask exactly as lowfreq.methods.hybrid.hybrid_images computes it: the
 * 2-D DFT (float64, separable) of each channel, the components with |f| <= 0.5 * f_mix cycles/pixel on
 * the unshifted fftfreq grid from the low image and the rest from the high image, the real part of the
 * inverse, clipped to [0, 1] and rounded to float32. f_rev: the zero crossing of p_low - p_high (top-1
 * rates), with the isotonic fit of lowfreq.methods.hybrid.reversal_frequency when it is not monotone.
 *
 * For tests and the curious: element.lowfreqLive = {ready (a Promise), setModel(name), setPair(i),
 * setFMix(f), setImages(lowFloat32, highFloat32), update() -> Promise({hybrid, logits, probs}),
 * curve() -> Promise({f_mix, p_low, p_high, f_rev, ms})}; data-lfl-state is "loading", "ready" or
 * "fallback".
 */
(function () {
  "use strict";
  var root = document.getElementById("__ID__");
  if (!root || root.getAttribute("data-lfl-init") === "1") { return; }
  root.setAttribute("data-lfl-init", "1");
  var data = JSON.parse(root.querySelector("script.lfl-data").textContent);
  var C = data.shape[0], H = data.shape[1], W = data.shape[2], HW = H * W, CHW = C * HW;
  var $ = function (sel) { return root.querySelector(sel); };
  var state = { model: data.models.length ? data.models[0].name : null, pair: 0, fmix: data.initial_f_mix,
                own: null, sessions: {} };

  function b64bytes(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  // the shipped pairs: uint8 (k / 255) or little-endian float32 values
  function pixels(s) {
    var b = b64bytes(s);
    return data.pairs.dtype === "uint8" ? b : new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  }
  var lowU8 = pixels(data.pairs.low), highU8 = pixels(data.pairs.high), SCALE = data.pairs.dtype === "uint8" ? 255 : 1;
  var P = data.pairs.low_labels.length;
  function pairImage(u8, i) {
    var x = new Float64Array(CHW);
    for (var k = 0; k < CHW; k++) { x[k] = u8[i * CHW + k] / SCALE; }
    return x;
  }

  // ------------------------------------------------------------------ the DFT and the paper's mask
  function twiddles(n) {
    var c = new Float64Array(n * n), s = new Float64Array(n * n);
    for (var k = 0; k < n; k++) {
      for (var j = 0; j < n; j++) {
        var a = -2 * Math.PI * ((k * j) % n) / n;
        c[k * n + j] = Math.cos(a); s[k * n + j] = Math.sin(a);
      }
    }
    return { c: c, s: s };
  }
  var TH = twiddles(H), TW = twiddles(W);
  // one channel (H*W, re/im) -> its 2-D DFT; inverse: conjugate twiddles and 1/(H*W)
  function dft2(re, im, inverse) {
    var sg = inverse ? -1 : 1, tr = new Float64Array(HW), ti = new Float64Array(HW);
    var oR = new Float64Array(HW), oI = new Float64Array(HW), y, x, j, k, c, s, ar, ai;
    for (y = 0; y < H; y++) {          // along rows (x)
      for (k = 0; k < W; k++) {
        ar = 0; ai = 0;
        for (j = 0; j < W; j++) {
          c = TW.c[k * W + j]; s = sg * TW.s[k * W + j];
          ar += re[y * W + j] * c - im[y * W + j] * s;
          ai += re[y * W + j] * s + im[y * W + j] * c;
        }
        tr[y * W + k] = ar; ti[y * W + k] = ai;
      }
    }
    for (x = 0; x < W; x++) {          // along columns (y)
      for (k = 0; k < H; k++) {
        ar = 0; ai = 0;
        for (j = 0; j < H; j++) {
          c = TH.c[k * H + j]; s = sg * TH.s[k * H + j];
          ar += tr[j * W + x] * c - ti[j * W + x] * s;
          ai += tr[j * W + x] * s + ti[j * W + x] * c;
        }
        oR[k * W + x] = ar; oI[k * W + x] = ai;
      }
    }
    if (inverse) { for (k = 0; k < HW; k++) { oR[k] /= HW; oI[k] /= HW; } }
    return { re: oR, im: oI };
  }
  function fftfreq(n, k) { return (k < Math.ceil(n / 2) ? k : k - n) / n; }
  var RADIUS = new Float64Array(HW);
  for (var yy = 0; yy < H; yy++) {
    for (var xx = 0; xx < W; xx++) {
      var fy = fftfreq(H, yy), fx = fftfreq(W, xx);
      RADIUS[yy * W + xx] = Math.sqrt(fy * fy + fx * fx);
    }
  }
  function spectra(img) {               // per channel DFT of one (C, H, W) float64 image
    var out = [];
    for (var ch = 0; ch < C; ch++) {
      out.push(dft2(img.subarray(ch * HW, (ch + 1) * HW), new Float64Array(HW), false));
    }
    return out;
  }
  function hybridFromSpectra(sLow, sHigh, fmix, out, offset) {
    var cut = 0.5 * fmix + 1e-12;
    for (var ch = 0; ch < C; ch++) {
      var re = new Float64Array(HW), im = new Float64Array(HW);
      for (var k = 0; k < HW; k++) {
        var src = RADIUS[k] <= cut ? sLow[ch] : sHigh[ch];
        re[k] = src.re[k]; im[k] = src.im[k];
      }
      var r = dft2(re, im, true).re;
      for (k = 0; k < HW; k++) {
        out[offset + ch * HW + k] = Math.fround(Math.min(1, Math.max(0, r[k])));
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ f_rev (as reversal_frequency)
  function isotonic(y) {
    var vals = [], sizes = [];
    for (var i = 0; i < y.length; i++) {
      vals.push(y[i]); sizes.push(1);
      while (vals.length > 1 && vals[vals.length - 2] > vals[vals.length - 1]) {
        var a = vals.length - 2, s = sizes[a] + sizes[a + 1];
        vals[a] = (vals[a] * sizes[a] + vals[a + 1] * sizes[a + 1]) / s; sizes[a] = s;
        vals.pop(); sizes.pop();
      }
    }
    var out = [];
    for (i = 0; i < vals.length; i++) { for (var j = 0; j < sizes[i]; j++) { out.push(vals[i]); } }
    return out;
  }
  function reversal(f, d) {
    var mono = true, i;
    for (i = 1; i < d.length; i++) { if (d[i] < d[i - 1]) { mono = false; } }
    var g = mono ? d.slice() : isotonic(d), n = g.length;
    if (g[0] > 0 || g[n - 1] < 0 || (g[0] === 0 && g[n - 1] === 0)) { return NaN; }
    var zero = [];
    for (i = 0; i < n; i++) { if (g[i] === 0) { zero.push(i); } }
    if (zero.length) { return (f[zero[0]] + f[zero[zero.length - 1]]) / 2; }
    for (i = 0; i < n - 1; i++) {
      if (g[i] < 0 && g[i + 1] > 0) { return f[i] + (0 - g[i]) * (f[i + 1] - f[i]) / (g[i + 1] - g[i]); }
    }
    return NaN;
  }

  // ------------------------------------------------------------------ drawing
  var esc = function (s) { var d = document.createElement("div"); d.textContent = String(s); return d.innerHTML; };
  function draw(canvas, img) {
    canvas.width = W; canvas.height = H;
    var ctx = canvas.getContext("2d"), id = ctx.createImageData(W, H);
    for (var k = 0; k < HW; k++) {
      for (var ch = 0; ch < 3; ch++) {
        id.data[4 * k + ch] = Math.round(255 * Math.min(1, Math.max(0, img[(C === 3 ? ch : 0) * HW + k])));
      }
      id.data[4 * k + 3] = 255;
    }
    ctx.putImageData(id, 0, 0);
  }
  function softmax(z) {
    var m = -Infinity, i, s = 0, p = [];
    for (i = 0; i < z.length; i++) { m = Math.max(m, z[i]); }
    for (i = 0; i < z.length; i++) { p.push(Math.exp(z[i] - m)); s += p[i]; }
    return p.map(function (v) { return v / s; });
  }
  function argmax(a) { var b = 0; for (var i = 1; i < a.length; i++) { if (a[i] > a[b]) { b = i; } } return b; }
  function className(k) { return data.class_names[k] !== undefined ? data.class_names[k] : "class " + k; }

  // ------------------------------------------------------------------ the runtime
  var fallback = $(".lfl-fallback");
  function fail(why) {
    root.setAttribute("data-lfl-state", "fallback");
    fallback.textContent = "The live explorer cannot run here (" + why + "): it needs WebAssembly and a page served " +
      "over http:// (make book-serve); the precomputed explorer below shows the same models on a fixed f_mix grid.";
    fallback.style.display = "block";
    $(".lfl-body").style.display = "none";
  }
  function siteRoot() {
    var r = document.documentElement.getAttribute("data-content_root");
    if (r !== null) { return new URL(r, document.baseURI).href; }
    var s = document.querySelector('script[src*="_static/"]');
    if (s) { return s.src.split("_static/")[0]; }
    return new URL("./", document.baseURI).href;
  }
  function loadOrt() {
    if (window.ort && window.ort.InferenceSession) { return Promise.resolve(window.ort); }
    if (window.__lowfreqOrt) { return window.__lowfreqOrt; }
    window.__lowfreqOrt = new Promise(function (resolve, reject) {
      var el = document.createElement("script");
      el.src = siteRoot() + "_vendor/onnxruntime-web/ort.wasm.min.js";
      el.onload = function () {
        if (!window.ort) { reject(new Error("onnxruntime-web did not load")); return; }
        window.ort.env.wasm.numThreads = 1;  // no SharedArrayBuffer needed (no cross-origin isolation)
        window.ort.env.wasm.proxy = false;
        window.ort.env.wasm.wasmPaths = siteRoot() + "_vendor/onnxruntime-web/";
        resolve(window.ort);
      };
      el.onerror = function () { reject(new Error("cannot load " + el.src)); };
      document.head.appendChild(el);
    });
    return window.__lowfreqOrt;
  }
  function session(name) {
    if (!state.sessions[name]) {
      var m = data.models.filter(function (x) { return x.name === name; })[0];
      state.sessions[name] = loadOrt().then(function (ort) {
        return ort.InferenceSession.create(b64bytes(m.onnx), { executionProviders: ["wasm"] });
      });
    }
    return state.sessions[name];
  }
  function run(name, batch, n) {
    return session(name).then(function (s) {
      var t = new window.ort.Tensor("float32", batch, [n, C, H, W]);
      return s.run({ images: t }).then(function (out) {
        var y = out.logits, k = y.dims[1], rows = [];
        for (var i = 0; i < n; i++) { rows.push(Array.prototype.slice.call(y.data, i * k, (i + 1) * k)); }
        return rows;
      });
    });
  }

  // ------------------------------------------------------------------ the explorer
  function currentPair() {
    if (state.own) { return { low: state.own.low, high: state.own.high, yl: null, yh: null }; }
    return { low: pairImage(lowU8, state.pair), high: pairImage(highU8, state.pair),
             yl: data.pairs.low_labels[state.pair], yh: data.pairs.high_labels[state.pair] };
  }
  var busy = Promise.resolve();
  function update() {
    busy = busy.catch(function () {}).then(function () {
      var pr = currentPair(), hyb = new Float32Array(CHW);
      hybridFromSpectra(spectra(pr.low), spectra(pr.high), state.fmix, hyb, 0);
      draw($(".lfl-low"), pr.low); draw($(".lfl-hyb"), hyb); draw($(".lfl-high"), pr.high);
      $(".lfl-fval").textContent = state.fmix.toFixed(3);
      var batch = new Float32Array(3 * CHW);
      batch.set(hyb, 0); batch.set(Float32Array.from(pr.low), CHW); batch.set(Float32Array.from(pr.high), 2 * CHW);
      return run(state.model, batch, 3).then(function (rows) {
        var probs = softmax(rows[0]);
        // an uploaded pair has no labels: its "classes" are the model's predictions on the two images themselves
        var yl = pr.yl !== null ? pr.yl : argmax(rows[1]), yh = pr.yh !== null ? pr.yh : argmax(rows[2]);
        var pred = argmax(probs), bars = "";
        for (var k = 0; k < probs.length; k++) {
          var col = k === yl ? "#2166ac" : k === yh ? "#e66101" : "#bbbbbb";
          bars += '<div class="lfl-bar"><span class="lfl-name">' + esc(className(k)) + '</span><span class="lfl-track">' +
            '<span style="width:' + (100 * probs[k]).toFixed(1) + '%;background:' + col + '"></span></span>' +
            '<span class="lfl-num">' + probs[k].toFixed(3) + "</span></div>";
        }
        var which = pred === yl ? " (the low image's class)" : pred === yh ? " (the high image's class)" : "";
        $(".lfl-preds").innerHTML = "<div><b>" + esc(state.model) + "</b> predicts <b>" + esc(className(pred)) + "</b>" +
          which + ": p<sub>low</sub> = <b class=\"lfl-plow\">" + probs[yl].toFixed(3) + "</b> (" + esc(className(yl)) +
          "), p<sub>high</sub> = <b class=\"lfl-phigh\">" + probs[yh].toFixed(3) + "</b> (" + esc(className(yh)) + ")" +
          (state.own ? " <i>(your images: their classes are the model's predictions on each)</i>" : "") + "</div>" + bars;
        root.setAttribute("data-lfl-fmix", String(state.fmix));
        return { hybrid: Array.from(hyb), logits: rows[0], probs: probs, low_class: yl, high_class: yh };
      });
    });
    return busy;
  }

  function curve() {
    busy = busy.catch(function () {}).then(function () {
      var t0 = performance.now(), f = data.f_mix_grid, pl = [], ph = [], sp = [];
      for (var i = 0; i < P; i++) { sp.push([spectra(pairImage(lowU8, i)), spectra(pairImage(highU8, i))]); }
      var chain = Promise.resolve();
      f.forEach(function (fm) {
        chain = chain.then(function () {
          var batch = new Float32Array(P * CHW);
          for (var i = 0; i < P; i++) { hybridFromSpectra(sp[i][0], sp[i][1], fm, batch, i * CHW); }
          return run(state.model, batch, P).then(function (rows) {
            var lo = 0, hi = 0;
            for (var i = 0; i < P; i++) {
              var a = argmax(rows[i]);
              if (a === data.pairs.low_labels[i]) { lo++; }
              if (a === data.pairs.high_labels[i]) { hi++; }
            }
            pl.push(lo / P); ph.push(hi / P);
          });
        });
      });
      return chain.then(function () {
        var d = pl.map(function (v, i) { return v - ph[i]; }), fr = reversal(f, d), ms = performance.now() - t0;
        var book = data.book_curves[state.model] || null;
        plot(f, d, book);
        $(".lfl-curve-text").innerHTML = "Live, on the " + P + " shipped pairs: f<sub>rev</sub> = <b class=\"lfl-frev\">" +
          (isFinite(fr) ? fr.toFixed(3) : "no crossing") + "</b> (" + (ms / 1000).toFixed(2) + " s in this browser)" +
          (book ? "; the book's Python curve (" + book.n_images + " images x " + book.n_seeds + " pairing seeds): f<sub>rev</sub> = " +
                  (isFinite(book.f_rev) ? book.f_rev.toFixed(3) : "no crossing") : "; no Python curve of this model at this tier") + ".";
        root.setAttribute("data-lfl-frev", String(fr));
        return { f_mix: f, p_low: pl, p_high: ph, f_rev: fr, ms: ms };
      });
    });
    return busy;
  }

  function plot(f, d, book) {
    var w = 320, h = 180, L = 34, B = 24, T = 8, R = 8;
    var X = function (v) { return L + v * (w - L - R); }, Y = function (v) { return T + (1 - v) / 2 * (h - T - B); };
    var path = function (xs, ys) { return xs.map(function (x, i) { return (i ? "L" : "M") + X(x).toFixed(1) + "," + Y(ys[i]).toFixed(1); }).join(""); };
    var s = '<svg viewBox="0 0 ' + w + " " + h + '" role="img" aria-label="p_low - p_high against f_mix">' +
      '<line x1="' + L + '" x2="' + (w - R) + '" y1="' + Y(0) + '" y2="' + Y(0) + '" stroke="#999" stroke-dasharray="3,3"/>' +
      '<line x1="' + L + '" x2="' + L + '" y1="' + T + '" y2="' + (h - B) + '" stroke="#444"/>' +
      '<line x1="' + L + '" x2="' + (w - R) + '" y1="' + (h - B) + '" y2="' + (h - B) + '" stroke="#444"/>';
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      s += '<text x="' + X(v) + '" y="' + (h - B + 14) + '" font-size="10" text-anchor="middle">' + v + "</text>";
    });
    [-1, 0, 1].forEach(function (v) {
      s += '<text x="' + (L - 4) + '" y="' + (Y(v) + 3) + '" font-size="10" text-anchor="end">' + v + "</text>";
    });
    if (book) { s += '<path d="' + path(book.f_mix, book.diff) + '" fill="none" stroke="#777" stroke-width="1.5"/>'; }
    s += '<path d="' + path(f, d) + '" fill="none" stroke="#d6604d" stroke-width="2"/>';
    f.forEach(function (x, i) { s += '<circle cx="' + X(x).toFixed(1) + '" cy="' + Y(d[i]).toFixed(1) + '" r="2.5" fill="#d6604d"/>'; });
    s += "</svg>";
    s += '<div class="lfl-legend"><span style="color:#d6604d">&#9644; live (this browser, shipped pairs)</span> ' +
      (book ? '<span style="color:#777">&#9644; the book (Python)</span>' : "") + " &middot; x: f<sub>mix</sub> (fraction of Nyquist), " +
      "y: p<sub>low</sub> &minus; p<sub>high</sub></div>";
    $(".lfl-plot").innerHTML = s;
  }

  // ------------------------------------------------------------------ your own images
  function readImage(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file), im = new Image();
      im.onload = function () {
        // resize and centre-crop to the model's input: the largest centred crop of the model's aspect ratio
        var cv = document.createElement("canvas"); cv.width = W; cv.height = H;
        var ctx = cv.getContext("2d"), sc = Math.min(im.naturalWidth / W, im.naturalHeight / H);
        var sw = W * sc, sh = H * sc, sx = (im.naturalWidth - sw) / 2, sy = (im.naturalHeight - sh) / 2;
        ctx.imageSmoothingEnabled = true; ctx.imageSmoothingQuality = "high";
        ctx.drawImage(im, sx, sy, sw, sh, 0, 0, W, H);
        var px = ctx.getImageData(0, 0, W, H).data, x = new Float64Array(CHW);
        for (var k = 0; k < HW; k++) {
          if (C === 3) { for (var ch = 0; ch < 3; ch++) { x[ch * HW + k] = px[4 * k + ch] / 255; } }
          else { x[k] = (0.299 * px[4 * k] + 0.587 * px[4 * k + 1] + 0.114 * px[4 * k + 2]) / 255; }
        }
        URL.revokeObjectURL(url);
        resolve(x);
      };
      im.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not an image: " + file.name)); };
      im.src = url;
    });
  }
  function onUpload() {
    var a = $(".lfl-up-low").files[0], b = $(".lfl-up-high").files[0];
    if (!a || !b) { $(".lfl-up-note").textContent = "Pick two images: one for the low frequencies, one for the high."; return; }
    Promise.all([readImage(a), readImage(b)]).then(function (xs) {
      state.own = { low: xs[0], high: xs[1] };
      $(".lfl-pair").value = "own";
      $(".lfl-up-note").textContent = "Your images, resized and centre-cropped to " + W + " x " + H + " pixels (the model's input).";
      root.setAttribute("data-lfl-own", "1");
      return update();
    }).catch(function (e) { $(".lfl-up-note").textContent = String(e.message || e); });
  }

  // ------------------------------------------------------------------ wiring
  var api = {
    setModel: function (n) { state.model = n; $(".lfl-model").value = n; },
    setPair: function (i) { state.pair = Number(i); state.own = null; $(".lfl-pair").value = String(i); },
    setFMix: function (f) { state.fmix = Number(f); $(".lfl-slider").value = String(f); },
    setImages: function (lo, hi) { state.own = { low: Float64Array.from(lo), high: Float64Array.from(hi) }; },
    update: update, curve: curve
  };
  root.lowfreqLive = api;
  $(".lfl-model").addEventListener("change", function (e) { state.model = e.target.value; update(); });
  $(".lfl-pair").addEventListener("change", function (e) {
    if (e.target.value === "own") { if (!state.own) { onUpload(); } else { update(); } return; }
    state.pair = Number(e.target.value); state.own = null; update();
  });
  var queued = false;  // while dragging: one update after the running one, with the latest f_mix
  $(".lfl-slider").addEventListener("input", function (e) {
    state.fmix = Number(e.target.value);
    if (queued) { return; }
    queued = true;
    busy.catch(function () {}).then(function () { queued = false; update(); });
  });
  $(".lfl-upload").addEventListener("click", onUpload);
  $(".lfl-run-curve").addEventListener("click", function () { curve(); });

  if (!data.models.length) { api.ready = Promise.reject(new Error("no models")); fail("no model was exported at this tier"); return; }
  if (location.protocol === "file:") { api.ready = Promise.reject(new Error("file://")); fail("the page was opened from file://"); return; }
  if (typeof WebAssembly !== "object") { api.ready = Promise.reject(new Error("no WebAssembly")); fail("this browser has no WebAssembly"); return; }
  root.setAttribute("data-lfl-state", "loading");
  api.ready = session(state.model).then(function () { return update(); }).then(function () {
    root.setAttribute("data-lfl-state", "ready");
    $(".lfl-status").textContent = "";
  }, function (e) { fail(String(e && e.message ? e.message : e).slice(0, 160)); throw e; });
  api.ready.catch(function () {});
})();
