"""The camera from floor points in `maskdepth serve` (issue 18): `POST /calibrate/floor-points` (FastAPI
TestClient on the real app) and the page in headless Chromium: click points on the background, type
their metres, fit, download camera.json, use it for Predict.

Synthetic truth as in tests/test_floor_points.py (a `camera_from_pitch` camera, floor points in a
frame of their own). The browser test starts `maskdepth serve` in a subprocess on a free port and
drives the system Chromium with Playwright, like tests/test_serve.py; it is skipped, with the reason,
only when Chromium or Playwright is absent.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.scene.test_floor_points import floor_metres, floor_scene, points_json
from tests.serve.page_helpers import drive_page, serve_client

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def client(tiny_ck):
    with serve_client(tiny_ck) as c:
        yield c


def _body(px, floor, size=(640, 480), **extra):
    return {"image_size": list(size), **points_json(px, floor), **extra}


def test_endpoint_returns_camera_json(client):
    cam, px, floor = floor_scene(px_sd=0.5, m_sd=0.005, seed=2)
    r = client.post("/calibrate/floor-points", json=_body(px, floor, focal_px=600.0, n_boot=100))
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["source"] == "floor_points" and j["image_size"] == [640, 480] and j["focal_estimated"] is False
    assert abs(j["horizon_y"] - cam.horizon_y) <= 0.01 * 480 and j["camera_height_m"] == pytest.approx(3.0, rel=0.03)
    lo, hi = j["camera_height_m_ci95"]
    assert lo <= j["camera_height_m"] <= hi
    from maskdepth.scene import Camera

    assert Camera.from_json(j).source == "floor_points"  # what the page downloads is a valid camera.json
    # the same points with a field of view, and with no focal length (estimated)
    j2 = client.post("/calibrate/floor-points", json=_body(px, floor, fov_deg=2 * np.degrees(np.arctan(320 / 600)), n_boot=0)).json()
    assert j2["focal_px"] == pytest.approx(600.0) and j2["horizon_y"] == pytest.approx(j["horizon_y"], abs=1e-6)
    j3 = client.post("/calibrate/floor-points", json=_body(px, floor, n_boot=50)).json()
    assert j3["focal_estimated"] is True and j3["focal_px"] == pytest.approx(600.0, rel=0.05) and "focal_px_ci95" in j3
    spec = client.get("/openapi.json").json()["paths"]["/calibrate/floor-points"]["post"]
    assert "application/json" in spec["requestBody"]["content"] and "400" in spec["responses"]


def test_endpoint_errors_are_one_line_4xx(client):
    cam, px, floor = floor_scene(seed=2)
    good = _body(px, floor, focal_px=600.0, n_boot=0)
    sky = json.loads(json.dumps(good))
    sky["points"].append({"px": [320.0, 20.0], "floor_m": [0.0, 200.0]})
    outside = json.loads(json.dumps(good))
    outside["points"][0]["px"] = [700.0, 300.0]
    line = np.linspace(0, 1, 5)[:, None]
    face_on = np.array([[0, 0], [4, 0], [4, 3], [0, 3], [2, 1.5]], float)  # pixels an affine map of the metres: no perspective
    cases = [
        (b"{not json", "not valid JSON"),
        (json.dumps([1, 2]).encode(), "expected a JSON object"),
        (json.dumps({**good, "units": "m"}).encode(), "unknown key(s) 'units'"),
        (json.dumps({**good, "image_size": [640]}).encode(), "'image_size' must be [W, H]"),
        (json.dumps({**good, "image_size": [5000, 5000]}).encode(), "at most 2 Mpx"),
        (json.dumps({**good, "fov_deg": 60}).encode(), "not both"),
        (json.dumps({**good, "focal_px": "600"}).encode(), "'focal_px' must be a number"),
        (json.dumps({**good, "n_boot": 10**6}).encode(), "'n_boot'"),
        (json.dumps({**good, "points": good["points"][:3]}).encode(), "at least 4 floor points"),
        (json.dumps(_body(np.c_[100 + 300 * line, 200 + 200 * line], np.c_[3 * line, 20 * line], focal_px=600.0)).encode(), "collinear"),
        (json.dumps(sky).encode(), "above the horizon"),
        (json.dumps(outside).encode(), "outside the 640x480 image"),
        (
            json.dumps({**good, "focal_px": None, "points": points_json(100 + 40 * face_on, face_on)["points"]}).encode(),
            "cannot estimate the focal length",
        ),
    ]
    for data, needle in cases:
        r = client.post("/calibrate/floor-points", content=data, headers={"content-type": "application/json"})
        assert r.status_code == 400, (needle, r.text)
        msg = r.json()["error"]
        assert needle in msg and "\n" not in msg and "Traceback" not in msg, (needle, msg)


def test_page_has_the_floor_points_card(client):
    html = client.get("/").text
    for needle in ('id="fp-canvas"', 'id="fp-points"', 'id="fp-fit-btn"', 'id="fp-download"', 'id="fp-focal-kind"'):
        assert needle in html, needle
    assert "/calibrate/floor-points" in client.get("/static/app.js").text


# --------------------------------------------------------------------------- browser


def _recorded_pixels(page) -> np.ndarray:
    rows = page.eval_on_selector_all("#fp-points tr", "rows => rows.map(r => r.children[1].textContent)")
    return np.array([[float(x) for x in t.split(",")] for t in rows])


def _type_metres(page, floor) -> None:
    xs, ys = page.query_selector_all("#fp-points input.fp-x"), page.query_selector_all("#fp-points input.fp-y")
    for (x, y), ix, iy in zip(floor, xs, ys):
        ix.fill(f"{x:.6f}")
        iy.fill(f"{y:.6f}")


def test_page_floor_points_in_headless_chromium(tiny_ck, tmp_path):
    cam, px, _ = floor_scene(seed=4)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:480, 0:640]
    bg = np.clip(np.stack([70 + xx / 8, 90 + yy / 6, 110 + 0 * xx], -1) + rng.normal(0, 4, (480, 640, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(bg).save(tmp_path / "bg.png")
    drive_page(tiny_ck, tmp_path, "the floor-points card", lambda page, url: _drive_page(page, url, tmp_path, cam, np.round(px)))


def _drive_page(page, url, tmp_path, cam, px):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/")
    assert page.is_hidden("#fp-canvas") and page.is_disabled("#fp-fit-btn")
    page.set_input_files("#bg-input", str(tmp_path / "bg.png"))
    page.wait_for_function("document.getElementById('fp-canvas').width === 640", timeout=10_000)
    scale = page.eval_on_selector("#fp-canvas", "c => c.getBoundingClientRect().width") / 640
    for u, v in px:
        page.click("#fp-canvas", position={"x": (u + 0.5) * scale, "y": (v + 0.5) * scale})
    got = _recorded_pixels(page)
    assert got.shape == (8, 2) and np.abs(got - px).max() <= 1.0, got - px  # the click lands on the pixel clicked
    _type_metres(page, floor_metres(cam, got))
    page.select_option("#fp-focal-kind", "focal_px")
    page.fill("#fp-focal-value", "600")
    page.click("#fp-fit-btn")
    page.wait_for_selector("#fp-links:not([hidden])", timeout=30_000)
    assert "horizon_y" in page.inner_text("#fp-result") and "reprojection error" in page.inner_text("#fp-result")
    with page.expect_download() as dl:
        page.click("#fp-download")
    saved = tmp_path / "camera.json"
    dl.value.save_as(str(saved))
    from maskdepth.scene import load_camera

    c = load_camera(saved)
    assert c.source == "floor_points" and c.horizon_y == pytest.approx(cam.horizon_y, abs=0.5)
    assert c.camera_height_m == pytest.approx(cam.camera_height_m, rel=0.005)
    page.click("#fp-use-btn")
    assert page.eval_on_selector("#camera-input", "i => i.files.length && i.files[0].name") == "camera.json"
    # a point in the sky: one line from the server, shown as an error; removing it fits again
    page.click("#fp-canvas", position={"x": 320.5 * scale, "y": 20.5 * scale})
    page.locator("#fp-points input.fp-x").last.fill("0")
    page.locator("#fp-points input.fp-y").last.fill("200")
    page.click("#fp-fit-btn")
    page.wait_for_function("document.getElementById('fp-status').classList.contains('error')", timeout=30_000)
    assert "above the horizon" in page.inner_text("#fp-status") and page.is_hidden("#fp-links")
    page.locator("#fp-points button.fp-remove").last.click()
    page.select_option("#fp-focal-kind", "estimate")  # no focal length: estimated from the points
    page.click("#fp-fit-btn")
    page.wait_for_selector("#fp-links:not([hidden])", timeout=30_000)
    assert "estimated from the points" in page.inner_text("#fp-result")
    assert not errors, errors
