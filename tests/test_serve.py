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
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import stop_process
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("multipart")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_PAIR = SHARED / "data" / "realtest" / "pairs" / "cdnet_pedestrians"
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


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
    from maskdepth.predict import load_predictor
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
    from maskdepth.predict import load_predictor
    from maskdepth.serve.app import create_app

    release, started = threading.Event(), threading.Event()

    class Slow:
        def __init__(self, inner):
            self.inner, self.threshold, self.size, self.backend = inner, inner.threshold, inner.size, inner.backend

        def predict(self, bg, img):
            started.set()
            release.wait(20)
            return self.inner.predict(bg, img)

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


# --------------------------------------------------------------------------- browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str | None:
    for p in CHROMIUM_PATHS:
        if Path(p).exists():
            return p
    return shutil.which("chromium")


def test_page_in_headless_chromium(tiny_ck, tmp_path):
    exe = _chromium()
    if exe is None:
        reason = "Chromium is not installed (apt-get install -y chromium): browser test of the page skipped"
        warnings.warn(reason, stacklevel=2)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed (pip install playwright)")
    bg, img, kind = real_or_synthetic_pair()
    Image.fromarray(bg).save(tmp_path / "bg.png")
    Image.fromarray(img).save(tmp_path / "image.png")
    port = _free_port()
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
