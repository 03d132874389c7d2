// maskdepth page: pick two images (or the example), optionally the scene's depth file and camera.json,
// POST /predict, show the results: mask, depth, overlay with "id - distance" labels, the depth source, the objects.
// A camera.json can also be made here from floor points clicked on the background (POST /calibrate/floor-points),
// and a zones.json from zones and lines drawn on it (POST /zones/check).
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
      if (which === "bg") { floorPoints.setBackground(url); zones.setBackground(url); }
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

  // ---- shared by the two drawing cards: a status line, the background on a canvas, a label beside a point
  function statusLine(id) {
    return (text, isError) => {
      $(id).textContent = text || "";
      $(id).classList.toggle("error", !!isError);
    };
  }

  function paintBackground(canvas, ctx, img) {
    ctx.drawImage(img, 0, 0);
    const r = Math.max(3, canvas.width / 160); // marker radius in pixels of the image
    ctx.font = "bold " + Math.round(3.5 * r) + "px system-ui, sans-serif";
    ctx.lineWidth = Math.max(1.5, r / 2);
    return r;
  }

  function labelAt(ctx, text, u, v, r) {
    ctx.fillStyle = "#ffffff";
    ctx.strokeStyle = "#000000";
    ctx.strokeText(text, u + 1.6 * r, v - 0.6 * r);
    ctx.fillText(text, u + 1.6 * r, v - 0.6 * r);
  }

  // ---- camera from floor points: click points on the background, type their metres, POST /calibrate/floor-points
  function makeFloorPoints() {
    const canvas = $("fp-canvas");
    const ctx = canvas.getContext("2d");
    const img = new Image();
    let points = []; // {u, v, x, y}: pixel (centres at integers) and the typed metres (strings)
    let camBlobUrl = null;
    let camJson = null;

    const fpStatus = statusLine("fp-status");

    function draw() {
      if (!canvas.width) return;
      const r = paintBackground(canvas, ctx, img);
      points.forEach((p, i) => {
        ctx.beginPath();
        ctx.arc(p.u + 0.5, p.v + 0.5, r, 0, 2 * Math.PI);
        ctx.strokeStyle = "#ffffff";
        ctx.stroke();
        ctx.fillStyle = "rgba(47, 111, 237, 0.85)";
        ctx.fill();
        labelAt(ctx, String(i + 1), p.u, p.v, r);
      });
    }

    function resetResult() {
      $("fp-result").hidden = true;
      $("fp-links").hidden = true;
      camJson = null;
    }

    function refresh() {
      const tbody = $("fp-points");
      tbody.textContent = "";
      points.forEach((p, i) => {
        const tr = document.createElement("tr");
        const cell = (node) => { const td = document.createElement("td"); td.appendChild(node); tr.appendChild(td); };
        cell(document.createTextNode(String(i + 1)));
        cell(document.createTextNode(p.u.toFixed(1) + ", " + p.v.toFixed(1)));
        for (const k of ["x", "y"]) {
          const inp = document.createElement("input");
          inp.type = "number";
          inp.step = "any";
          inp.value = p[k];
          inp.className = "fp-" + k;
          inp.setAttribute("aria-label", "point " + (i + 1) + " " + k + " in metres");
          inp.addEventListener("input", () => { p[k] = inp.value; resetResult(); });
          cell(inp);
        }
        const del = document.createElement("button");
        del.type = "button";
        del.className = "small fp-remove";
        del.textContent = "remove";
        del.addEventListener("click", () => { points.splice(i, 1); resetResult(); refresh(); });
        cell(del);
        tbody.appendChild(tr);
      });
      $("fp-fit-btn").disabled = !(canvas.width && points.length >= 4);
      draw();
    }

    img.addEventListener("load", () => {
      const sizeChanged = canvas.width !== img.naturalWidth || canvas.height !== img.naturalHeight;
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      canvas.hidden = false;
      $("fp-hint").hidden = true;
      if (sizeChanged) points = [];
      resetResult();
      refresh();
    });

    canvas.addEventListener("click", (e) => {
      const rect = canvas.getBoundingClientRect();
      const u = (e.clientX - rect.left) * canvas.width / rect.width - 0.5;
      const v = (e.clientY - rect.top) * canvas.height / rect.height - 0.5;
      points.push({ u: Math.round(u * 10) / 10, v: Math.round(v * 10) / 10, x: "", y: "" });
      resetResult();
      refresh();
      const inputs = $("fp-points").querySelectorAll("input.fp-x");
      if (inputs.length) inputs[inputs.length - 1].focus();
    });

    $("fp-clear-btn").addEventListener("click", () => { points = []; resetResult(); fpStatus(""); refresh(); });

    $("fp-focal-kind").addEventListener("change", () => {
      const kind = $("fp-focal-kind").value;
      $("fp-focal-value").disabled = kind === "estimate";
      if (kind === "fov_deg") $("fp-focal-value").value = "60";
      if (kind === "focal_px") $("fp-focal-value").value = String(Math.round(canvas.width * 0.87) || "");
    });

    function ci(cam, key, digits) {
      const v = cam[key + "_ci95"];
      return v ? " (95 % interval " + v[0].toFixed(digits) + " .. " + v[1].toFixed(digits) + ")" : " (no interval)";
    }

    function summary(cam) {
      const lines = [
        "horizon_y " + cam.horizon_y.toFixed(1) + " px" + ci(cam, "horizon_y", 1),
        "camera height " + cam.camera_height_m.toFixed(3) + " m" + ci(cam, "camera_height_m", 3),
        "pitch " + cam.pitch_deg.toFixed(2) + " deg" + ci(cam, "pitch_deg", 2) + ", roll " + cam.roll_deg.toFixed(2) + " deg" + ci(cam, "roll_deg", 2),
        "focal " + cam.focal_px.toFixed(1) + " px" + (cam.focal_estimated ? " estimated from the points" + ci(cam, "focal_px", 1) : " (given)"),
        "reprojection error: RMS " + cam.reprojection_rms_px.toFixed(2) + " px (max " + cam.reprojection_max_px.toFixed(2) + "), on the floor RMS " +
          cam.floor_rms_m.toFixed(3) + " m (max " + cam.floor_max_m.toFixed(3) + ")",
        "intervals: " + cam.ci95_includes,
      ];
      for (const w of cam.warnings || []) lines.push("warning: " + w);
      return lines.join("\n");
    }

    function request() {
      const body = { image_size: [canvas.width, canvas.height], points: [] };
      for (let i = 0; i < points.length; i++) {
        const x = parseFloat(points[i].x), y = parseFloat(points[i].y);
        if (!Number.isFinite(x) || !Number.isFinite(y)) throw new Error("point " + (i + 1) + ": type its x and y on the floor in metres");
        body.points.push({ px: [points[i].u, points[i].v], floor_m: [x, y] });
      }
      const kind = $("fp-focal-kind").value;
      if (kind !== "estimate") {
        const f = parseFloat($("fp-focal-value").value);
        if (!Number.isFinite(f) || f <= 0) throw new Error("type the focal length (or choose: estimate from the points)");
        body[kind] = f;
      }
      return body;
    }

    $("fp-fit-btn").addEventListener("click", async () => {
      resetResult();
      let body;
      try {
        body = request();
      } catch (e) {
        fpStatus(e.message, true);
        return;
      }
      $("fp-fit-btn").disabled = true;
      fpStatus("Fitting…");
      try {
        const r = await fetch("/calibrate/floor-points", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        if (!r.ok) throw new Error(await errorText(r));
        camJson = await r.json();
        $("fp-result").textContent = summary(camJson);
        $("fp-result").hidden = false;
        if (camBlobUrl) URL.revokeObjectURL(camBlobUrl);
        camBlobUrl = URL.createObjectURL(new Blob([JSON.stringify(camJson, null, 2) + "\n"], { type: "application/json" }));
        $("fp-download").href = camBlobUrl;
        $("fp-links").hidden = false;
        fpStatus("Done: download camera.json, or use it for Predict.");
      } catch (e) {
        fpStatus(e.message, true);
      } finally {
        refresh();
      }
    });

    $("fp-use-btn").addEventListener("click", () => {
      if (!camJson) return;
      const dt = new DataTransfer();
      dt.items.add(new File([JSON.stringify(camJson, null, 2) + "\n"], "camera.json", { type: "application/json" }));
      $("camera-input").files = dt.files;
      fpStatus("camera.json is set as the camera for Predict.");
    });

    return { setBackground: (url) => { img.src = url; } };
  }
  const floorPoints = makeFloorPoints();

  // ---- zones and lines: click polygons and directed segments on the background, POST /zones/check, download zones.json
  function makeZones() {
    const canvas = $("zn-canvas");
    const ctx = canvas.getContext("2d");
    const img = new Image();
    let shapes = []; // {kind: "zone" | "line", name, pts: [[u, v], ...]}
    let draft = []; // the points of the shape being drawn
    let blobUrl = null;

    const znStatus = statusLine("zn-status");

    function path(pts, close) {
      ctx.beginPath();
      pts.forEach(([u, v], i) => (i ? ctx.lineTo(u + 0.5, v + 0.5) : ctx.moveTo(u + 0.5, v + 0.5)));
      if (close) ctx.closePath();
    }

    function arrowHead(a, b, r) {
      const ang = Math.atan2(b[1] - a[1], b[0] - a[0]);
      ctx.beginPath();
      ctx.moveTo(b[0] + 0.5, b[1] + 0.5);
      for (const s of [-1, 1]) ctx.lineTo(b[0] + 0.5 - 3 * r * Math.cos(ang + s * 0.45), b[1] + 0.5 - 3 * r * Math.sin(ang + s * 0.45));
      ctx.closePath();
      ctx.fill();
    }

    function drawShape(sh, colour, r) {
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      path(sh.pts, sh.kind === "zone");
      if (sh.kind === "zone") {
        ctx.globalAlpha = 0.25;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
      ctx.stroke();
      if (sh.kind === "line" && sh.pts.length === 2) arrowHead(sh.pts[0], sh.pts[1], r);
      if (sh.name) {
        labelAt(ctx, sh.name, sh.pts[0][0], sh.pts[0][1], r);
      }
    }

    function draw() {
      if (!canvas.width) return;
      const r = paintBackground(canvas, ctx, img);
      shapes.forEach((sh) => drawShape(sh, sh.kind === "zone" ? "#2f6fed" : "#e8590c", r));
      if (draft.length) drawShape({ kind: $("zn-kind").value, name: "", pts: draft }, "#ffd43b", r);
      for (const [u, v] of draft) {
        ctx.beginPath();
        ctx.arc(u + 0.5, v + 0.5, r, 0, 2 * Math.PI);
        ctx.fillStyle = "#ffd43b";
        ctx.fill();
      }
    }

    function resetResult() {
      $("zn-result").hidden = true;
      $("zn-links").hidden = true;
    }

    function needed() {
      return $("zn-kind").value === "zone" ? draft.length >= 3 : draft.length === 2;
    }

    function refresh() {
      const list = $("zn-list");
      list.textContent = "";
      shapes.forEach((sh, i) => {
        const li = document.createElement("li");
        li.className = "zn-item";
        li.appendChild(document.createTextNode(sh.kind + " '" + sh.name + "': " + sh.pts.map(([u, v]) => "(" + u + ", " + v + ")").join(" ") + " "));
        const del = document.createElement("button");
        del.type = "button";
        del.className = "small zn-remove";
        del.textContent = "remove";
        del.addEventListener("click", () => { shapes.splice(i, 1); resetResult(); refresh(); });
        li.appendChild(del);
        list.appendChild(li);
      });
      $("zn-add-btn").disabled = !(canvas.width && needed() && $("zn-name").value.trim());
      $("zn-check-btn").disabled = !(canvas.width && shapes.length);
      draw();
    }

    function nextName(kind) {
      let k = 1;
      while (shapes.some((s) => s.name === kind + " " + k)) k++;
      return kind + " " + k;
    }

    img.addEventListener("load", () => {
      const sizeChanged = canvas.width !== img.naturalWidth || canvas.height !== img.naturalHeight;
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      canvas.hidden = false;
      $("zn-hint").hidden = true;
      if (sizeChanged) { shapes = []; draft = []; }
      resetResult();
      refresh();
    });

    canvas.addEventListener("click", (e) => {
      const rect = canvas.getBoundingClientRect();
      const u = Math.round((e.clientX - rect.left) * canvas.width / rect.width - 0.5);
      const v = Math.round((e.clientY - rect.top) * canvas.height / rect.height - 0.5);
      if ($("zn-kind").value === "line" && draft.length === 2) draft = [];
      draft.push([u, v]);
      resetResult();
      refresh();
    });

    $("zn-kind").addEventListener("change", () => { draft = []; $("zn-name").value = nextName($("zn-kind").value); refresh(); });
    $("zn-name").addEventListener("input", refresh);
    $("zn-undo-btn").addEventListener("click", () => { draft.pop(); refresh(); });
    $("zn-clear-btn").addEventListener("click", () => { shapes = []; draft = []; resetResult(); znStatus(""); refresh(); });

    $("zn-add-btn").addEventListener("click", () => {
      const name = $("zn-name").value.trim();
      if (shapes.some((s) => s.kind === $("zn-kind").value && s.name === name)) {
        znStatus("a " + $("zn-kind").value + " is already named '" + name + "'", true);
        return;
      }
      shapes.push({ kind: $("zn-kind").value, name: name, pts: draft });
      draft = [];
      $("zn-name").value = nextName($("zn-kind").value);
      znStatus("");
      resetResult();
      refresh();
    });

    function zonesJson() {
      const out = { image_size: [canvas.width, canvas.height], zones: [], lines: [] };
      for (const sh of shapes) {
        if (sh.kind === "zone") out.zones.push({ name: sh.name, polygon_px: sh.pts });
        else out.lines.push({ name: sh.name, px: sh.pts });
      }
      return out;
    }

    $("zn-check-btn").addEventListener("click", async () => {
      resetResult();
      const body = JSON.stringify(zonesJson(), null, 2) + "\n";
      znStatus("Checking…");
      try {
        const r = await fetch("/zones/check", { method: "POST", headers: { "Content-Type": "application/json" }, body: body });
        if (!r.ok) throw new Error(await errorText(r));
        const j = await r.json();
        $("zn-result").textContent = body;
        $("zn-result").hidden = false;
        if (blobUrl) URL.revokeObjectURL(blobUrl);
        blobUrl = URL.createObjectURL(new Blob([body], { type: "application/json" }));
        $("zn-download").href = blobUrl;
        $("zn-links").hidden = false;
        znStatus("Valid: " + j.zones.length + " zone(s), " + j.lines.length + " line(s). Download zones.json.");
      } catch (e) {
        znStatus(e.message, true);
      }
    });

    return { setBackground: (url) => { img.src = url; } };
  }
  const zones = makeZones();

  fetch("/health").then((r) => r.json()).then((h) => {
    maxUploadMb = h.max_upload_mb;
    $("limits").textContent = "PNG, JPEG, WebP, BMP or TIFF, up to " + h.max_upload_mb + " MB per request. Both photos from the same fixed camera.";
    $("model-info").textContent = "maskdepth " + h.version + " · model " + h.model + " (" + h.backend + ", " + h.input_short_side + " px)";
  }).catch(() => {});
})();
