"""``maskdepth serve``: the JSON API (FastAPI TestClient) and the page in headless Chromium.

The browser test starts ``maskdepth serve`` (uvicorn) on 127.0.0.1 on a free port in a
subprocess and drives the page with Playwright on the system Chromium (never a downloaded
browser). It is skipped, with the reason shown, only when Chromium is absent. Its
screenshot goes to ``results/serve_screenshot.png`` when ``MASKDEPTH_SAVE_SCREENSHOT=1``,
else to the test's temporary folder. ``MASKDEPTH_SERVE_CHECKPOINT=PATH`` serves that model instead of
the untrained tiny one (whose mask is everything and whose depth is a constant 2 m).
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from benchmarks.common import stop_process
from tests.helpers import REPO, SHARED, chromium_or_skip, free_port

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

REAL_PAIR = SHARED / "data" / "realtest" / "pairs" / "cdnet_pedestrians"


def png(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    Image.fromarray(a).save(b, format="PNG")
    return b.getvalue()


def jpeg(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    Image.fromarray(a).save(b, format="JPEG", quality=90)
    return b.getvalue()


def synthetic_pair(h: int = 72, w: int = 96) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.stack([60 + xx * 1.5, 90 + yy, 140 + 0 * xx], -1) + rng.normal(0, 3, (h, w, 3))
    bg = np.clip(bg, 0, 255).astype(np.uint8)
    img = bg.copy()
    img[h // 4 : h - 6, w // 3 : w // 3 + 20] = (230, 60, 40)
    return bg, img


def real_or_synthetic_pair() -> tuple[np.ndarray, np.ndarray, str]:
    """A real bg/frame pair from ../shared when present (the frame with the most GT foreground), else synthetic."""
    if (REAL_PAIR / "bg.png").exists() and (REAL_PAIR / "gt").is_dir():
        from maskdepth.io import load_mask, load_rgb

        gts = sorted((REAL_PAIR / "gt").glob("*.png"))
        best = max(gts, key=lambda p: int((load_mask(p) == 255).sum()))
        return load_rgb(REAL_PAIR / "bg.png"), load_rgb(REAL_PAIR / "frames" / best.name), "real"
    bg, img = synthetic_pair(240, 320)
    return bg, img, "synthetic"


def b64img(s: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(s))))


def _client(app):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette >= 1.x notice about TestClient on httpx
        from fastapi.testclient import TestClient
    return TestClient(app)


@pytest.fixture(scope="module")
def client(tiny_ck):
    from maskdepth.inference.predictor import load_predictor
    from maskdepth.serve.app import create_app

    app = create_app(load_predictor(str(tiny_ck)), model_name="tiny-test", max_upload_mb=1.0, max_pixels=2_000_000)
    with _client(app) as c:
        yield c


def _files(bg: bytes, img: bytes, bg_type="image/png", img_type="image/png"):
    return {"bg": ("bg.png", bg, bg_type), "image": ("image.png", img, img_type)}


def _assert_error(r, status: int, text: str):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    msg = r.json()["error"]
    assert text in msg, msg
    assert "\n" not in msg and "Traceback" not in msg


# --------------------------------------------------------------------------- API


def test_page_health_docs(client):
    r = client.get("/")
    assert r.status_code == 200 and 'id="predict-btn"' in r.text and "/static/app.js" in r.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["model"] == "tiny-test" and h["workers"] == 1 and h["max_upload_mb"] == 1.0
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/predict"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"200", "400", "413", "415", "503"} <= set(post["responses"])
    assert client.get("/docs").status_code == 200


def test_example_pair(client):
    bg = np.asarray(Image.open(io.BytesIO(client.get("/example/bg.png").content)))
    img = np.asarray(Image.open(io.BytesIO(client.get("/example/image.png").content)))
    assert bg.shape == img.shape == (320, 320, 3)
    changed = np.abs(bg.astype(int) - img.astype(int)).max(axis=2) > 0
    assert 0.01 < changed.mean() < 0.5  # a person was pasted in
    _assert_error(client.get("/example/other.png"), 404, "no such example")


def test_predict_good_pair(client):
    bg, img = synthetic_pair()
    r = client.post("/predict", files=_files(png(bg), jpeg(img), img_type="image/jpeg"))
    assert r.status_code == 200, r.text
    j = r.json()
    mask = b64img(j["mask_png"])
    assert mask.shape == (72, 96) and set(np.unique(mask)) <= {0, 255}
    assert b64img(j["depth_color_png"]).shape == (72, 96, 3)
    assert b64img(j["overlay_png"]).shape == (72, 96, 3)
    mm = b64img(j["depth_mm_png"])
    assert mm.dtype == np.uint16 and mm.shape == (72, 96) and (mm > 0).all()
    s = j["stats"]
    assert (s["width"], s["height"]) == (96, 72) and s["depth_unit"] == "m" and s["model"] == "tiny-test"
    assert 0 < s["depth_min_m"] <= s["depth_median_m"] <= s["depth_max_m"]
    assert s["depth_color_min_m"] < s["depth_color_max_m"] and s["bg_resized"] is False and j["warnings"] == []
    assert abs(mm.astype(float).mean() / 1000 - s["depth_median_m"]) < 0.5 * s["depth_max_m"]


def test_predict_resizes_same_aspect_bg(client):
    bg, img = synthetic_pair()
    big = np.asarray(Image.fromarray(bg).resize((192, 144)))
    r = client.post("/predict", files=_files(png(big), png(img)))
    assert r.status_code == 200, r.text
    assert r.json()["stats"]["bg_resized"] is True and any("resizing bg" in w for w in r.json()["warnings"])


def test_predict_errors(client):
    bg, img = synthetic_pair()
    good = png(img)
    _assert_error(client.post("/predict", files=_files(b"just text", good, bg_type="text/plain")), 415, "not an image")
    _assert_error(client.post("/predict", files=_files(b"\x89PNG but not really an image", good)), 400, "bg: not a readable image")
    _assert_error(client.post("/predict", files=_files(png(bg), good[: len(good) // 2])), 400, "truncated")
    _assert_error(client.post("/predict", files=_files(png(bg), jpeg(img)[:600], img_type="image/jpeg")), 400, "image")
    _assert_error(client.post("/predict", files=_files(b"", good)), 400, "empty")
    wide = np.zeros((72, 200, 3), np.uint8)
    _assert_error(client.post("/predict", files=_files(png(wide), good)), 400, "different framing")
    _assert_error(client.post("/predict", files={"image": ("i.png", good, "image/png")}), 400, "missing form field(s): bg")
    _assert_error(client.post("/predict", json={"bg": "x"}), 415, "multipart/form-data")
    _assert_error(client.get("/no/such/page"), 404, "Not Found")
    _assert_error(client.get("/predict"), 405, "Method Not Allowed")


def test_upload_limits(client):
    bg, img = synthetic_pair()
    noise = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)  # ~1.5 MB PNG > 1 MB limit
    _assert_error(client.post("/predict", files=_files(png(noise), png(img))), 413, "upload too large")

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(12):
            yield b"x" * 100_000

    r = client.post("/predict", content=chunks(), headers={"content-type": "multipart/form-data; boundary=zz"})
    _assert_error(r, 413, "upload too large")
    flat = np.zeros((1500, 1500, 3), np.uint8)  # small file, 2.25 Mpx > max_pixels
    _assert_error(client.post("/predict", files=_files(png(flat), png(flat))), 413, "Mpx")
    assert client.get("/health").json()["status"] == "ok"  # still serving


def test_queue_full_gives_503(tiny_ck):
    """One worker, no queue: while a request runs, the next gets 503 at once."""
    from maskdepth.inference.predictor import load_predictor
    from maskdepth.serve.app import create_app

    release, started = threading.Event(), threading.Event()

    class Slow:
        def __init__(self, inner):
            self.inner, self.threshold, self.size, self.backend = inner, inner.threshold, inner.size, inner.backend

        def predict(self, bg, img, bg_small=None):
            started.set()
            release.wait(20)
            return self.inner.predict(bg, img, bg_small=bg_small)

    app = create_app(Slow(load_predictor(str(tiny_ck))), model_name="slow", queue_limit=0)
    bg, img = synthetic_pair()
    results = {}
    with _client(app) as c:
        t = threading.Thread(target=lambda: results.setdefault("first", c.post("/predict", files=_files(png(bg), png(img)))))
        t.start()
        assert started.wait(20)
        r = c.post("/predict", files=_files(png(bg), png(img)))
        _assert_error(r, 503, "busy")
        assert r.headers.get("retry-after") == "2"
        assert c.get("/health").json()["in_flight"] == 1
        release.set()
        t.join(30)
    assert results["first"].status_code == 200


def test_cli_serve_options(tiny_ck, tmp_path, capsys):
    from maskdepth.cli import main

    assert main(["serve", "--workers-note"]) == 0
    assert "503" in capsys.readouterr().out
    assert main(["serve", "--checkpoint", str(tmp_path / "missing.pt")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and len(err.strip().splitlines()) == 1
    with socket.socket() as s:  # a port in use: one line, exit 2
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        assert main(["serve", "--checkpoint", str(tiny_ck), "--port", str(s.getsockname()[1])]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_serve_config_declared_once(tmp_path, capsys):
    """ServeConfig is the one source of the flags, the YAML keys and `config show serve`; its checks name
    the setting (the command line shows the flag), never a flag in the library's message."""
    from maskdepth.cli import main
    from maskdepth.errors import MaskDepthError
    from maskdepth.serve.config import ServeConfig

    p = tmp_path / "serve.yaml"
    p.write_text("serve: {queue: 5, timeout: 2.5}\n")
    assert main(["config", "show", "serve", "--config", str(p), "--port", "8123"]) == 0
    out = capsys.readouterr().out
    assert "queue: 5" in out and "timeout: 2.5" in out and "port: 8123" in out and "host: 127.0.0.1" in out
    for bad, param in ((dict(port=0), "port"), (dict(workers=0), "workers"), (dict(queue=-1), "queue"), (dict(timeout=0.0), "timeout")):
        with pytest.raises(MaskDepthError) as e:
            ServeConfig(**bad).check()
        assert e.value.param == param and "--" not in Exception.__str__(e.value)
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("maskdepth: error: --port ") and len(err.strip().splitlines()) == 1, err


# --------------------------------------------------------------------------- fixed camera: bg_depth, camera, objects

GEO_CAM = {"focal_px": 80.0, "pitch_deg": 20.0, "height_m": 2.5}


def geo_camera():
    from maskdepth.scene import camera_from_pitch

    return camera_from_pitch(GEO_CAM["focal_px"], (96, 72), GEO_CAM["pitch_deg"], GEO_CAM["height_m"])


class FloorPredictor:
    """Stand-in predictor for ``synthetic_pair``: mask = max-channel |image - bg| > 60; depth = 0.6 x
    the floor's true depth of :func:`geo_camera` (30 m above the horizon): right shape, wrong scale."""

    threshold, size, backend = 0.5, 0, "fake"

    def predict(self, bg, img, bg_small=None):
        from maskdepth.inference.predictor import Prediction

        m = np.abs(img.astype(np.int16) - bg.astype(np.int16)).max(axis=2) > 60
        f = geo_camera().scaled_to(img.shape[1], img.shape[0]).floor_depth_map()
        d = (0.6 * np.where(f > 0, f, 30.0)).astype(np.float32)
        return Prediction(mask=m, prob=m.astype(np.float32), log_depth=np.log(d))


@pytest.fixture(scope="module")
def geo_client():
    from maskdepth.serve.app import create_app

    with _client(create_app(FloorPredictor(), model_name="floor-fake", max_upload_mb=1.0, max_pixels=2_000_000)) as c:
        yield c


def _depth_png_mm(d: np.ndarray) -> bytes:
    return png(np.round(d * 1000).astype(np.uint16))


def _geo_files(bg, img, **extra):
    f = _files(png(bg), png(img))
    for k, (name, data) in extra.items():
        f[k] = (name, data, "application/octet-stream")
    return f


def test_predict_with_camera_and_bg_depth(geo_client):
    import cv2

    from maskdepth.viz import overlay

    bg, img = synthetic_pair()  # a red box, rows 18..65, columns 32..51, standing on the floor at row 65
    cam = geo_camera()
    floor = cam.floor_depth_map()
    truth = float(cam.floor_depth(41.5, 65))
    cam_json = json.dumps(cam.to_json()).encode()
    # camera only: ground plane
    r = geo_client.post("/predict", files=_geo_files(bg, img, camera=("camera.json", cam_json)))
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["depth_source"] == "ground_plane" and j["camera"]["camera_height_m"] == pytest.approx(2.5)
    (o,) = j["objects"]
    assert o["id"] == 1 and o["bbox"] == [32, 18, 51, 65] and o["contact_px"][1] == 65 and o["depth_source"] == "ground_plane"
    assert o["distance_m"] == pytest.approx(truth, rel=0.01) and o["height_m"] > 0
    mask = b64img(j["mask_png"]) > 0
    assert not np.array_equal(b64img(j["overlay_png"]), overlay(img, mask))  # the label is drawn server-side
    # measured depth as a uint16 PNG in mm (0 above the horizon): measured, unknown stays 0
    r = geo_client.post("/predict", files=_geo_files(bg, img, bg_depth=("bg_depth.png", _depth_png_mm(floor))))
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["depth_source"] == "measured" and j["camera"] is None and j["scene"]["source"] == "measured"
    assert j["objects"][0]["distance_m"] == pytest.approx(truth, rel=0.01) and j["objects"][0]["depth_source"] == "measured"
    mm = b64img(j["depth_mm_png"])
    unknown = (floor == 0) & ~(b64img(j["mask_png"]) > 0)
    assert unknown.any() and (mm[unknown] == 0).all() and j["stats"]["depth_known_fraction"] < 1
    # float32 TIFF in metres with the camera: measured scene, the camera reported
    ok, tif = cv2.imencode(".tiff", floor.astype(np.float32))
    r = geo_client.post("/predict", files=_geo_files(bg, img, bg_depth=("d.tiff", tif.tobytes()), camera=("camera.json", cam_json)))
    assert r.status_code == 200, r.text
    assert r.json()["depth_source"] == "measured" and r.json()["camera"] is not None
    # .npy in metres at twice the size (same aspect): resized nearest-exact, no name needed
    big = cv2.resize(floor, (192, 144), interpolation=cv2.INTER_NEAREST)
    b = io.BytesIO()
    np.save(b, big)
    r = geo_client.post("/predict", files=_geo_files(bg, img, bg_depth=("blob", b.getvalue())))
    assert r.status_code == 200, r.text
    assert r.json()["objects"][0]["distance_m"] == pytest.approx(truth, rel=0.02)
    # nothing given: the learned fallback, labelled as such
    j = geo_client.post("/predict", files=_files(png(bg), png(img))).json()
    assert j["depth_source"] == "learned" and j["objects"][0]["depth_source"] == "learned"


def test_predict_bad_scene_files(geo_client):
    bg, img = synthetic_pair()
    cam = geo_camera().to_json()
    floor = geo_camera().floor_depth_map()
    npy = io.BytesIO()
    np.save(npy, np.ones(7, np.float32))
    cases = [
        ({"camera": ("c.json", json.dumps(cam | {"horizon_y": 80}).encode())}, "horizon"),
        ({"camera": ("c.json", b"{not json")}, "camera: not valid JSON"),
        ({"camera": ("c.json", json.dumps({"focal_px": 80}).encode())}, "missing key"),
        ({"camera": ("c.json", json.dumps(cam | {"image_size": [96, 96]}).encode())}, "aspect"),
        ({"camera": ("c.json", b"")}, "empty"),
        ({"bg_depth": ("d.png", _depth_png_mm(np.zeros_like(floor)))}, "no known pixel"),
        ({"bg_depth": ("d.png", _depth_png_mm(np.ones((72, 200), np.float32)))}, "aspect"),
        ({"bg_depth": ("d.png", png(np.zeros((72, 96, 3), np.uint8) + 9))}, "16-bit"),
        ({"bg_depth": ("d.png", _depth_png_mm(floor)[:200])}, "bg_depth"),
        ({"bg_depth": ("d.txt", b"depth as text")}, "unsupported file"),
        ({"bg_depth": ("d.npy", npy.getvalue())}, "bg_depth"),
        ({"bg_depth": ("d.png", b"")}, "empty"),
    ]
    for extra, needle in cases:
        r = geo_client.post("/predict", files=_geo_files(bg, img, **extra))
        _assert_error(r, 400, needle)
        assert "/tmp" not in r.json()["error"]  # no server paths in messages


def test_page_has_scene_inputs(geo_client):
    html = geo_client.get("/").text
    for needle in ('id="bg-depth-input"', 'name="bg_depth"', 'id="camera-input"', 'name="camera"', 'id="depth-source"', 'id="objects"'):
        assert needle in html, needle
    js = geo_client.get("/static/app.js").text
    assert "depth_source" in js and "the network's own estimate" in js and "form.append(field" in js
    body = geo_client.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]
    schema = body["schema"]
    if "$ref" in schema:
        schema = geo_client.get("/openapi.json").json()["components"]["schemas"][schema["$ref"].split("/")[-1]]
    assert {"bg", "image", "bg_depth", "camera"} <= set(schema["properties"]) and set(schema["required"]) == {"bg", "image"}
    resp = geo_client.get("/openapi.json").json()["components"]["schemas"]["PredictResponse"]["properties"]
    assert {"objects", "depth_source", "camera", "scene"} <= set(resp)


# --------------------------------------------------------------------------- browser


def test_page_in_headless_chromium(tiny_ck, tmp_path):
    exe = chromium_or_skip("the page")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed (pip install playwright)")
    bg, img, kind = real_or_synthetic_pair()
    Image.fromarray(bg).save(tmp_path / "bg.png")
    Image.fromarray(img).save(tmp_path / "image.png")
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "server.log", "w+")
    ck = os.environ.get("MASKDEPTH_SERVE_CHECKPOINT") or str(tiny_ck)  # e.g. a trained model, for a telling screenshot
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maskdepth.cli",
            "serve",
            "--checkpoint",
            ck,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=str(REPO),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import urllib.request

        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 40
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                pytest.fail(f"server did not start: {log.read()[-2000:]}")
            time.sleep(0.25)
        profile = tmp_path / "chromium-profile"
        args = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        with sync_api.sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                str(profile), executable_path=exe, headless=True, args=args, viewport={"width": 1200, "height": 900}
            )
            try:
                page = ctx.new_page()
                console_errors = []
                page.on("pageerror", lambda e: console_errors.append(str(e)))
                page.goto(url + "/")
                assert page.is_disabled("#predict-btn")
                page.set_input_files("#bg-input", str(tmp_path / "bg.png"))
                page.set_input_files("#image-input", str(tmp_path / "image.png"))
                page.wait_for_function("!document.getElementById('predict-btn').disabled", timeout=10_000)
                page.click("#predict-btn")
                page.wait_for_selector("#result:not([hidden])", timeout=60_000)
                for sel in ("#out-mask", "#out-depth", "#out-overlay"):
                    page.wait_for_function(f"document.querySelector('{sel}').naturalWidth > 0", timeout=10_000)
                    assert page.eval_on_selector(sel, "e => e.naturalWidth") == img.shape[1]
                assert page.get_attribute("#dl-mask", "href").startswith("data:image/png;base64,")
                assert page.inner_text("#scale-min").endswith(" m") and page.inner_text("#scale-max").endswith(" m")
                assert "foreground" in page.inner_text("#stats")
                assert "error" not in (page.get_attribute("#status", "class") or "")
                if os.environ.get("MASKDEPTH_SAVE_SCREENSHOT") == "1":
                    shot = REPO / "results" / "serve_screenshot.png"
                    shot.parent.mkdir(exist_ok=True)
                else:
                    shot = tmp_path / "serve_screenshot.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
                print(f"screenshot ({kind} pair): {shot}")
                # the bundled example goes through the same path
                page.click("#example-btn")
                page.wait_for_function("document.getElementById('image-name').textContent.startsWith('example_image')", timeout=20_000)
                page.click("#predict-btn")
                page.wait_for_function("document.getElementById('out-mask').naturalWidth === 320", timeout=60_000)
                assert not console_errors, console_errors
            finally:
                ctx.close()
    finally:
        stop_process(proc)
        log.close()


def test_scene_reused_across_requests():
    """The same bg and uploads reuse one FixedCamera: the network's depth of the empty scene is
    predicted once for the camera, not once per request; another camera upload builds another."""
    from maskdepth.serve.app import create_app

    class Counting(FloorPredictor):
        calls = 0

        def predict(self, bg, img, bg_small=None):
            Counting.calls += 1
            return super().predict(bg, img)

    bg, img = synthetic_pair()
    cam_json = json.dumps(geo_camera().to_json()).encode()
    with _client(create_app(Counting(), model_name="counting")) as c:
        for _ in range(3):
            assert c.post("/predict", files=_geo_files(bg, img, camera=("camera.json", cam_json))).status_code == 200
        assert Counting.calls == 3 + 1  # three pairs, the empty scene once
        assert c.post("/predict", files=_geo_files(bg, img, camera=("camera.json", cam_json + b" "))).status_code == 200
        assert Counting.calls == 4 + 2  # new uploads: a new camera, its empty scene predicted again
