// maskdepth page: pick two images (or the example), optionally the scene's depth file and camera.json,
// POST /predict, show the results: mask, depth, overlay with "id - distance" labels, the depth source, the objects.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const files = { bg: null, image: null };
  const sceneFiles = { bg_depth: "bg-depth-input", camera: "camera-input" }; // optional form fields -> input ids
  const SOURCE_LABELS = {
    measured: "measured (the background depth file)",
    ground_plane: "ground plane (camera.json over a flat floor)",
    teacher: "teacher (a monocular-depth model run on the background)",
    learned: "learned (the network's own estimate)",
  };
  let maxUploadMb = 20;
  let busy = false;

  function setStatus(text, isError) {
    const s = $("status");
    s.textContent = text || "";
    s.classList.toggle("error", !!isError);
  }

  function refreshButton() {
    $("predict-btn").disabled = busy || !(files.bg && files.image);
  }

  function setFile(which, file) {
    files[which] = file;
    const img = $(which + "-preview");
    if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
    if (file) {
      const url = URL.createObjectURL(file);
      img.dataset.url = url;
      img.src = url;
      img.hidden = false;
      $(which + "-hint").hidden = true;
      $(which + "-name").textContent = file.name + " · " + (file.size / 1e6).toFixed(2) + " MB";
    } else {
      img.hidden = true;
      $(which + "-hint").hidden = false;
      $(which + "-name").textContent = "no file chosen";
    }
    refreshButton();
  }

  for (const which of ["bg", "image"]) {
    const input = $(which + "-input");
    input.addEventListener("change", () => setFile(which, input.files[0] || null));
    const drop = $(which + "-picker").querySelector(".drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("dragover"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("dragover"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("dragover");
      if (e.dataTransfer.files.length) setFile(which, e.dataTransfer.files[0]);
    });
  }

  async function errorText(resp) {
    try {
      const j = await resp.json();
      if (j && j.error) return j.error;
    } catch (e) { /* not JSON */ }
    return "HTTP " + resp.status;
  }

  $("example-btn").addEventListener("click", async () => {
    setStatus("Loading the example…");
    try {
      for (const which of ["bg", "image"]) {
        const r = await fetch("/example/" + which + ".png");
        if (!r.ok) throw new Error(await errorText(r));
        const blob = await r.blob();
        setFile(which, new File([blob], "example_" + which + ".png", { type: "image/png" }));
      }
      setStatus("Example loaded: a rendered room, and the same room with a person. Press Predict.");
    } catch (e) {
      setStatus("Could not load the example: " + e.message, true);
    }
  });

  const fmtM = (v) => (v >= 10 ? v.toFixed(1) : v.toFixed(2)) + " m";

  $("clear-scene-btn").addEventListener("click", () => {
    for (const id of Object.values(sceneFiles)) $(id).value = "";
  });

  function showObjects(res) {
    const src = res.depth_source;
    $("depth-source").textContent = "depth source: " + (SOURCE_LABELS[src] || src || "–");
    const ul = $("objects");
    ul.textContent = "";
    const objs = res.objects || [];
    if (!objs.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "no object found in the mask";
      ul.appendChild(li);
      return;
    }
    for (const o of objs) {
      const li = document.createElement("li");
      let text = o.id + " · " + (o.distance_m == null ? "distance unknown" : o.distance_m.toFixed(1) + " m");
      if (o.height_m != null) text += " · " + o.height_m.toFixed(2) + " m tall";
      text += " · " + o.area_px + " px";
      if (o.distance_m != null && o.depth_source && o.depth_source !== src) text += " · from " + (SOURCE_LABELS[o.depth_source] || o.depth_source);
      if (o.note) text += " · " + o.note;
      li.textContent = text;
      ul.appendChild(li);
    }
  }

  function show(res) {
    const png = (b64) => "data:image/png;base64," + b64;
    const set = (imgId, linkId, b64) => { $(imgId).src = png(b64); $(linkId).href = png(b64); };
    set("out-mask", "dl-mask", res.mask_png);
    set("out-depth", "dl-depth", res.depth_color_png);
    set("out-overlay", "dl-overlay", res.overlay_png);
    $("dl-depth-mm").href = png(res.depth_mm_png);
    const s = res.stats;
    $("scale-min").textContent = fmtM(s.depth_color_min_m);
    $("scale-max").textContent = fmtM(s.depth_color_max_m);
    let text = s.width + "×" + s.height + " px · foreground " + (100 * s.mask_fraction).toFixed(1) + " % of the image · depth " +
      fmtM(s.depth_min_m) + " to " + fmtM(s.depth_max_m) + " (median " + fmtM(s.depth_median_m) + ") · " + Math.round(s.elapsed_ms) + " ms";
    if (s.depth_known_fraction < 1) text += " · depth known on " + (100 * s.depth_known_fraction).toFixed(1) + " % (unknown = black)";
    if (res.warnings && res.warnings.length) text += " · note: " + res.warnings.join("; ");
    $("stats").textContent = text;
    showObjects(res);
    $("result").hidden = false;
  }

  $("predict-btn").addEventListener("click", async () => {
    if (!(files.bg && files.image)) return;
    const extra = Object.entries(sceneFiles).map(([field, id]) => [field, $(id).files[0]]).filter(([, f]) => f);
    const total = (files.bg.size + files.image.size + extra.reduce((n, [, f]) => n + f.size, 0)) / 1e6;
    if (total > maxUploadMb) {
      setStatus("The files are " + total.toFixed(1) + " MB together; the limit is " + maxUploadMb + " MB.", true);
      return;
    }
    busy = true;
    refreshButton();
    setStatus("Predicting…");
    const form = new FormData();
    form.append("bg", files.bg, files.bg.name);
    form.append("image", files.image, files.image.name);
    for (const [field, f] of extra) form.append(field, f, f.name);
    try {
      const r = await fetch("/predict", { method: "POST", body: form });
      if (!r.ok) throw new Error(await errorText(r));
      const res = await r.json();
      show(res);
      setStatus("Done.");
    } catch (e) {
      setStatus(e.message, true);
    } finally {
      busy = false;
      refreshButton();
    }
  });

  fetch("/health").then((r) => r.json()).then((h) => {
    maxUploadMb = h.max_upload_mb;
    $("limits").textContent = "PNG, JPEG, WebP, BMP or TIFF, up to " + h.max_upload_mb + " MB per request. Both photos from the same fixed camera.";
    $("model-info").textContent = "maskdepth " + h.version + " · model " + h.model + " (" + h.backend + ", " + h.input_short_side + " px)";
  }).catch(() => {});
})();
