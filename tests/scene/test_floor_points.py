"""A camera from floor points (issue 18): `maskdepth calibrate --bg BG --floor-points points.json`.

Synthetic truth: a `camera_from_pitch` camera; floor points are cast from chosen pixels onto its
floor (:meth:`Camera.floor_point`) and written in a floor frame of their own (rotated, shifted,
right- or left-handed), so the fit sees only pixels and metres, as a user would give them.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from maskdepth.cli import main
from maskdepth.errors import MaskDepthError
from maskdepth.scene import camera_from_pitch, fit_camera_from_floor_points, load_camera, parse_floor_points
from maskdepth.scene.calibrate.floor import percentile_interval

SIZE = (640, 480)


def floor_scene(f=600.0, pitch=15.0, height=3.0, roll=0.0, n=8, seed=0, px_sd=0.0, m_sd=0.0, alpha=0.7, mirror=False, size=SIZE):
    """``(camera, px, floor)``: ``n`` points in pairs at ``n/2`` depths between the horizon and the
    bottom of the image (left and right, jittered: a lane's two sides, tiles, a bay), pixels with
    ``px_sd`` px and metres with ``m_sd`` m of Gaussian noise."""
    rng = np.random.default_rng(seed)
    W, H = size
    cam = camera_from_pitch(f, size, pitch, height, roll_deg=roll)
    top = max(float(np.max(cam.horizon_row(np.array([0.0, W - 1.0])))), 0.0)
    v0, v1 = top + 0.15 * (H - 1 - top), top + 0.95 * (H - 1 - top)
    k = n // 2
    u = np.tile([0.2 * W, 0.8 * W], k) + rng.uniform(-0.05 * W, 0.05 * W, 2 * k)
    v = np.repeat(np.linspace(v0, v1, k), 2) + rng.uniform(-0.02, 0.02, 2 * k) * (v1 - v0)
    px = np.stack([u, v], axis=1)
    floor = floor_metres(cam, px, alpha, mirror)
    return cam, px + rng.normal(0, px_sd, px.shape), floor + rng.normal(0, m_sd, floor.shape)


def floor_metres(cam, px, alpha=0.7, mirror=False) -> np.ndarray:
    """float64 ``(n, 2)``: where the pixels ``px`` ``(n, 2)`` meet the camera's floor, in a floor frame
    turned by ``alpha`` radians from the view direction (left-handed with ``mirror``), its origin 2 m
    beyond the first point."""
    P = cam.floor_point(px[:, 0], px[:, 1])
    up, e1 = cam.up_vector(), cam.forward_horizontal()
    e1 = math.cos(alpha) * e1 + math.sin(alpha) * np.cross(up, e1)
    e2 = np.cross(up, e1) * (-1.0 if mirror else 1.0)
    origin = P[0] + 2.0 * e1
    return np.stack([(P - origin) @ e1, (P - origin) @ e2], axis=1)


def points_json(px, floor) -> dict:
    return {"points": [{"px": [float(a), float(b)], "floor_m": [float(x), float(y)]} for (a, b), (x, y) in zip(px, floor)]}


EXACT = [
    dict(),
    dict(pitch=40.0, height=8.0, roll=5.0, mirror=True),
    dict(pitch=-2.0, height=1.2, roll=-3.0, f=300.0, alpha=2.5),
    dict(pitch=70.0, height=12.0, roll=20.0, f=1200.0),
    dict(pitch=8.0, height=1.6, roll=-12.0, f=450.0, size=(320, 240), n=4),
]


@pytest.mark.parametrize("kw", EXACT)
def test_exact_cameras_are_recovered(kw):
    cam, px, floor = floor_scene(**kw)
    fit = fit_camera_from_floor_points(px, floor, cam.image_size, focal_px=cam.focal_px, n_boot=20)
    c = fit.camera
    assert c.source == "floor_points" and c.image_size == cam.image_size
    assert c.horizon_y == pytest.approx(cam.horizon_y, abs=1e-6)
    assert c.camera_height_m == pytest.approx(cam.camera_height_m, rel=1e-9)
    assert c.roll_deg == pytest.approx(cam.roll_deg, abs=1e-7) and c.pitch_deg == pytest.approx(cam.pitch_deg, abs=1e-7)
    assert fit.err_px.max() < 1e-6 and fit.err_m.max() < 1e-6
    # without the focal length: estimated from the homography (the floor is tilted in every case)
    fit = fit_camera_from_floor_points(px, floor, cam.image_size, n_boot=0)
    assert fit.focal_estimated and fit.camera.focal_px == pytest.approx(cam.focal_px, rel=1e-6)
    assert fit.camera.horizon_y == pytest.approx(cam.horizon_y, abs=1e-4)
    assert fit.camera.camera_height_m == pytest.approx(cam.camera_height_m, rel=1e-6)


NOISY = [dict(), dict(pitch=30.0, height=6.0), dict(pitch=5.0, height=1.5, roll=4.0)]


@pytest.mark.parametrize("kw", NOISY)
def test_eight_points_with_1cm_and_1px_noise(kw):
    """Issue 18: 8 floor points with 1 cm and 1 px noise give the horizon within 1 % of the image height
    and the camera height within 3 %, in each of 30 seeded draws."""
    worst_h, worst_c = 0.0, 0.0
    for seed in range(30):
        cam, px, floor = floor_scene(seed=seed, px_sd=1.0, m_sd=0.01, **kw)
        c = fit_camera_from_floor_points(px, floor, cam.image_size, focal_px=cam.focal_px, n_boot=0).camera
        worst_h = max(worst_h, abs(c.horizon_y - cam.horizon_y) / SIZE[1])
        worst_c = max(worst_c, abs(c.camera_height_m / cam.camera_height_m - 1))
    assert worst_h <= 0.01, f"horizon off by {100 * worst_h:.2f} % of the image height"
    assert worst_c <= 0.03, f"camera height off by {100 * worst_c:.2f} %"


def test_interval_coverage_on_synthetic_truth():
    """100 seeded draws of 8 points with 1 cm and 1 px noise: the 95 % intervals of horizon, height,
    pitch and roll each cover the truth in at least 88 of 100 (binomial 95 % lower limit of 0.95 is 0.90),
    the estimate always lies inside its interval, and the intervals are not vacuous (median horizon width
    under 5 % of the image height)."""
    keys = ("horizon_y", "camera_height_m", "pitch_deg", "roll_deg")
    hits, widths = dict.fromkeys(keys, 0), []
    for seed in range(100):
        cam, px, floor = floor_scene(seed=1000 + seed, px_sd=1.0, m_sd=0.01)
        fit = fit_camera_from_floor_points(px, floor, cam.image_size, focal_px=cam.focal_px, n_boot=200, seed=seed)
        c = fit.camera
        ci = {"horizon_y": c.horizon_y_ci95, "camera_height_m": c.camera_height_m_ci95, **fit.ci95}
        truth = {"horizon_y": cam.horizon_y, "camera_height_m": cam.camera_height_m, "pitch_deg": cam.pitch_deg, "roll_deg": cam.roll_deg}
        est = {"horizon_y": c.horizon_y, "camera_height_m": c.camera_height_m, "pitch_deg": c.pitch_deg, "roll_deg": c.roll_deg}
        for k in keys:
            lo, hi = ci[k]
            assert lo <= est[k] <= hi, (k, lo, est[k], hi)
            hits[k] += lo <= truth[k] <= hi
        widths.append(ci["horizon_y"][1] - ci["horizon_y"][0])
    print("coverage of 100:", hits, "median horizon width px:", float(np.median(widths)))
    assert all(h >= 88 for h in hits.values()), hits
    assert np.median(widths) < 0.05 * SIZE[1]


def test_focal_estimated_on_a_tilted_floor():
    """No --focal-px: 8 noisy points on a floor seen at 30 deg give the focal length within 5 % and an
    interval that holds it; the camera is as good as with the focal given."""
    cam, px, floor = floor_scene(pitch=30.0, height=4.0, roll=3.0, seed=7, px_sd=1.0, m_sd=0.01)
    fit = fit_camera_from_floor_points(px, floor, cam.image_size, n_boot=200, seed=1)
    c = fit.camera
    assert fit.focal_estimated and c.focal_px == pytest.approx(cam.focal_px, rel=0.05)
    lo, hi = fit.ci95["focal_px"]
    assert lo <= c.focal_px <= hi and lo <= cam.focal_px <= hi and hi / lo < 1.3
    assert abs(c.horizon_y - cam.horizon_y) <= 0.01 * SIZE[1] and c.camera_height_m == pytest.approx(cam.camera_height_m, rel=0.03)
    j = fit.to_json()
    assert j["focal_estimated"] is True and j["focal_px_ci95"] == [round(lo, 5), round(hi, 5)]


def test_estimated_focal_interval_coverage():
    """40 draws (pitch 10, 30, 50, 70 deg x 10 seeds) of 8 points with 1 cm and 1 px noise, no focal given:
    every draw is fitted, and the focal-length and camera-height intervals each cover the truth at least 36 times."""
    f_hits = h_hits = 0
    for pitch in (10.0, 30.0, 50.0, 70.0):
        for seed in range(10):
            cam, px, floor = floor_scene(pitch=pitch, height=5.0, seed=seed, px_sd=1.0, m_sd=0.01)
            fit = fit_camera_from_floor_points(px, floor, cam.image_size, n_boot=100, seed=seed)
            lo, hi = fit.ci95["focal_px"]
            f_hits += lo <= cam.focal_px <= hi
            lo, hi = fit.camera.camera_height_m_ci95
            h_hits += lo <= cam.camera_height_m <= hi
    print(f"estimated focal: interval coverage of 40: focal {f_hits}, camera height {h_hits}")
    assert f_hits >= 36 and h_hits >= 36, (f_hits, h_hits)


def test_fronto_parallel_floor_cannot_give_the_focal_length():
    """A floor seen face-on (pixels an affine map of the metres): no perspective, so no focal length."""
    floor = np.array([[0, 0], [4, 0], [4, 3], [0, 3], [2, 1.5], [1, 2.2]], float)
    px = 100 + floor @ np.array([[40.0, 5.0], [-5.0, 40.0]])
    with pytest.raises(MaskDepthError, match="cannot estimate the focal length"):
        fit_camera_from_floor_points(px, floor, SIZE, n_boot=0)


def test_weakly_constrained_focal_is_refused():
    """A floor seen from 85 deg with 1 px noise: the perspective barely fixes f (the full fit alone gave
    250 px for 600); most bootstrap resamples cannot fix it, so the command says it cannot."""
    cam, px, floor = floor_scene(pitch=85.0, height=5.0, seed=3, px_sd=1.0, m_sd=0.01)
    with pytest.raises(MaskDepthError, match="cannot estimate the focal length with an interval"):
        fit_camera_from_floor_points(px, floor, cam.image_size, n_boot=200)
    fit = fit_camera_from_floor_points(px, floor, cam.image_size, focal_px=cam.focal_px, n_boot=200)  # with f: fine
    assert abs(fit.camera.pitch_deg - 85.0) < 0.5 and fit.camera.camera_height_m_ci95 is not None  # the horizon row itself is ~-6600


def test_percentile_interval_holds_the_estimate():
    samples = np.r_[np.full(90, 5.0), np.linspace(5, 9, 10)]  # all resamples at or above an estimate of 4
    lo, hi = percentile_interval(samples, 4.0)
    assert lo <= 4.0 <= hi and hi >= 5.0
    lo, hi = percentile_interval(np.linspace(-1, 1, 101), 0.0, factor=2.0)
    assert (lo, hi) == pytest.approx((-1.9, 1.9))


def test_four_points_fit_exactly_but_give_no_interval():
    cam, px, floor = floor_scene(n=4, px_sd=0.5, seed=3)
    fit = fit_camera_from_floor_points(px, floor, cam.image_size, focal_px=cam.focal_px, n_boot=100)
    assert fit.camera.horizon_y_ci95 is None and fit.ci95 == {} and "no interval" in fit.lines()[-1]
    assert "no interval" in fit.to_json()["ci95_includes"]


def test_parse_refuses_unknown_keys_and_outside_pixels():
    good = points_json(*floor_scene()[1:])
    px, floor = parse_floor_points(good, SIZE)
    assert px.shape == floor.shape == (8, 2)
    bad = json.loads(json.dumps(good))
    bad["points"][2]["height"] = 1
    with pytest.raises(MaskDepthError, match="point 3 has unknown key"):
        parse_floor_points(bad, SIZE)
    bad = json.loads(json.dumps(good))
    bad["points"][0]["px"] = [640.0, 10.0]  # the last column's centre is 639; its right edge 639.5
    with pytest.raises(MaskDepthError, match="outside the 640x480 image"):
        parse_floor_points(bad, SIZE)
    bad["points"][0]["px"] = [1.0, True]
    with pytest.raises(MaskDepthError, match="two finite numbers"):
        parse_floor_points(bad, SIZE)


# --------------------------------------------------------------------------- command line


@pytest.fixture
def scene_files(tmp_path):
    cam, px, floor = floor_scene(px_sd=0.5, m_sd=0.005, seed=11)
    Image.fromarray(np.full((SIZE[1], SIZE[0], 3), 120, np.uint8)).save(tmp_path / "bg.png")
    (tmp_path / "points.json").write_text(json.dumps(points_json(px, floor)))
    return tmp_path, cam, px, floor


def calibrate(tmp_path, points, *extra, out="camera.json"):
    return main(["calibrate", "--bg", str(tmp_path / "bg.png"), "--floor-points", str(points), "--out", str(tmp_path / out), *extra])


@pytest.mark.parametrize("focal", [["--focal-px", "600"], ["--fov", str(2 * math.degrees(math.atan(320 / 600)))], []])
def test_cli_writes_a_camera_that_predict_reads(scene_files, capsys, focal):
    tmp_path, cam, *_ = scene_files
    rc = calibrate(tmp_path, tmp_path / "points.json", *focal)
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    j = json.loads((tmp_path / "camera.json").read_text())
    assert j["source"] == "floor_points" and j["n_points"] == 8 and j["focal_estimated"] is (not focal)
    for k in (
        "reprojection_rms_px",
        "floor_rms_m",
        "horizon_y_ci95",
        "camera_height_m_ci95",
        "pitch_deg_ci95",
        "roll_deg_ci95",
        "ci95_includes",
    ):
        assert k in j, k
    got = load_camera(tmp_path / "camera.json")
    assert got.source == "floor_points" and abs(got.horizon_y - cam.horizon_y) <= 0.01 * SIZE[1]
    assert got.camera_height_m == pytest.approx(cam.camera_height_m, rel=0.03)
    assert "reprojection error: RMS" in cap.out and "px" in cap.out and " m (max" in cap.out and "wrote" in cap.out
    assert load_camera(tmp_path / "camera.json", (320, 240)).image_size == (320, 240)  # scales like any camera.json


def test_cli_camera_drives_predict(scene_files, capsys):
    """`maskdepth predict --camera` takes the file (shipped model): the ground-plane depth of the fitted camera."""
    tmp_path, cam, *_ = scene_files
    assert calibrate(tmp_path, tmp_path / "points.json", "--focal-px", "600") == 0
    capsys.readouterr()
    img = np.asarray(Image.open(tmp_path / "bg.png")).copy()
    img[300:420, 300:340] = (200, 40, 40)
    Image.fromarray(img).save(tmp_path / "img.png")
    out = tmp_path / "out"
    args = ["predict", "--bg", str(tmp_path / "bg.png"), "--image", str(tmp_path / "img.png"), "--out", str(out)]
    rc = main([*args, "--camera", str(tmp_path / "camera.json")])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    meta = json.loads((out / "depth.json").read_text())
    assert meta["depth_source"] == "ground_plane" and meta["camera"]["source"] == "floor_points"
    assert meta["camera"]["horizon_y"] == pytest.approx(load_camera(tmp_path / "camera.json").horizon_y, abs=1e-3)


def _collinear(px, floor):
    line = np.linspace(0, 1, 6)[:, None]
    return points_json(np.c_[100 + 300 * line, 200 + 200 * line], np.c_[3 * line, 20 * line])


def _sky(px, floor):
    d = points_json(px, floor)
    d["points"].append({"px": [320.0, 20.0], "floor_m": [0.0, 200.0]})  # the horizon is near row 79
    return d


def _key(px, floor):
    d = points_json(px, floor)
    d["units"] = "m"
    return d


def _point_key(px, floor):
    d = points_json(px, floor)
    d["points"][1]["label"] = "dash 1"
    return d


def _outside(px, floor):
    d = points_json(px, floor)
    d["points"][4]["px"] = [100.0, 480.0]
    return d


BAD = [
    ("three", lambda px, fl: points_json(px[:3], fl[:3]), "at least 4 floor points"),
    ("collinear", _collinear, "collinear"),
    ("sky", _sky, "above the horizon"),
    ("key", _key, "unknown key(s) 'units'"),
    ("point_key", _point_key, "point 2 has unknown key(s) 'label'"),
    ("outside", _outside, "outside the 640x480 image"),
    ("malformed", None, "unreadable"),
    ("not_object", lambda px, fl: [1, 2, 3], "expected a JSON object"),
]


@pytest.mark.parametrize("name,make,match", BAD, ids=[b[0] for b in BAD])
def test_cli_bad_points_one_line_no_file(scene_files, capsys, name, make, match):
    tmp_path, cam, px, floor = scene_files
    p = tmp_path / f"{name}.json"
    p.write_text('{"points": [{"px": [1, 2], ' if make is None else json.dumps(make(px, floor)))
    rc = calibrate(tmp_path, p, "--focal-px", "600")
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("maskdepth: error:") and "\n" not in err and match in err, err
    assert "Traceback" not in err and not (tmp_path / "camera.json").exists()


def test_cli_bad_flags_one_line_no_file(scene_files, capsys):
    tmp_path, *_ = scene_files
    pts = tmp_path / "points.json"
    (tmp_path / "frames").mkdir()
    face_on = tmp_path / "face_on.json"
    floor = np.array([[0, 0], [4, 0], [4, 3], [0, 3], [2, 1.5]], float)
    face_on.write_text(json.dumps(points_json(100 + 40 * floor, floor)))
    cases = [
        ((pts, "--focal-px", "600", "--fov", "60"), "not both"),
        ((pts, "--focal-px", "600", "--frames", str(tmp_path / "frames")), "--frames is not used with floor points"),
        ((pts, "--focal-px", "-5"), "--focal-px must be > 0"),
        ((pts, "--fov", "200"), "within (0, 180)"),
        ((tmp_path / "missing.json",), "not found"),
        ((face_on,), "cannot estimate the focal length"),
    ]
    for args, match in cases:
        rc = calibrate(tmp_path, *args)
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err.startswith("maskdepth: error:") and "\n" not in err and match in err, (args, err)
        assert not (tmp_path / "camera.json").exists()
