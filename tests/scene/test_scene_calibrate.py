"""maskdepth.scene.calibrate.people: horizon and camera height from people (robust fit, bootstrap
intervals, honest warnings) and from a measured depth (RANSAC floor plane)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.scene import camera_from_pitch, fit_camera_from_depth, fit_camera_from_people, head_rows, synthetic_people
from maskdepth.scene.calibrate.people import PeopleFitSettings

W, H, F = 640, 480, 500.0


def _fit(cam, obs, **kw):
    return fit_camera_from_people(obs, F, cam.cx, cam.cy, (W, H), PeopleFitSettings(**kw))


def _covers(ci, x):
    lo, hi = ci
    return (lo is None or lo <= x) and (hi is None or x <= hi)


def test_head_rows_model_matches_projection():
    cam = camera_from_pitch(F, (W, H), 27.0, 3.3)
    u, v = np.array([100.0, 300.0, 600.0]), np.array([200.0, 300.0, 470.0])
    vh, ok = head_rows(cam.horizon_y, 3.3, v, 1.8, F, cam.cy)
    assert ok.all()
    np.testing.assert_allclose(vh, cam.top_of(u, v, 1.8)[:, 1], atol=1e-9)


def test_one_camera_with_outliers():
    cam = camera_from_pitch(F, (W, H), 22.0, 3.0)
    obs, info = synthetic_people(cam, 40, np.random.default_rng(3), outlier_frac=0.15)
    r = _fit(cam, obs)
    c = r.camera
    assert abs(c.horizon_y - cam.horizon_y) <= 0.02 * H
    assert abs(c.camera_height_m - 3.0) <= 0.05 * 3.0
    assert _covers(c.horizon_y_ci95, cam.horizon_y) and _covers(c.camera_height_m_ci95, 3.0)
    assert r.warning is None and r.method == "people" and c.source == "people"
    # seated people are rejected when their heads are clearly low (the Tukey cut lies at 4.685 x the fitted scale,
    # here 1.3, of the normalised residual: about 0.5 m below the assumed 1.7 m; higher heads pass and bias little)
    seated = np.array([k == "seated" for k in info["kind"]]) & (info["top_m"] < 1.1)
    assert seated.any() and not r.inliers[seated].any()
    assert r.inliers[~info["outlier"]].mean() > 0.9


def test_monte_carlo_accuracy_and_coverage():
    """20 seeded cameras (height 2.2-4 m, pitch 10-40 deg, 20-50 people with heights 1.55-1.85 m
    and 10 % outliers). Measured on 200 trials (see the package report): camera height within
    5 % in 100 %, horizon within 2 % of H in ~85 % (the misses are pitches > 28 deg, where the
    horizon lies far above the image). Coverage on 100 such cameras (issue 18 fit): horizon 90 %, height
    96 % without the prior on the mean height (``mean_height_sd=0``: these people's mean is the assumed
    1.7 m) and 100 % with the default 0.05 m prior, which covers a population whose mean is not known."""
    rng = np.random.default_rng(2024)
    eh, ec, cov_h, cov_c = [], [], [], []
    for k in range(20):
        Hc, pitch, n = rng.uniform(2.2, 4.0), rng.uniform(10, 40), int(rng.integers(20, 51))
        cam = camera_from_pitch(F, (W, H), pitch, Hc)
        obs, _ = synthetic_people(cam, n, rng)
        c = _fit(cam, obs, n_boot=200, seed=k).camera
        eh.append(abs(c.horizon_y - cam.horizon_y) / H)
        ec.append(abs(c.camera_height_m - Hc) / Hc)
        cov_h.append(_covers(c.horizon_y_ci95, cam.horizon_y))
        cov_c.append(_covers(c.camera_height_m_ci95, Hc))
    eh, ec = np.array(eh), np.array(ec)
    assert np.all(ec <= 0.05)
    assert np.median(eh) <= 0.01 and np.mean(eh <= 0.02) >= 0.7
    assert np.mean(cov_h) >= 0.85 and np.mean(cov_c) >= 0.85


def test_camera_at_head_height_is_well_constrained_and_honest():
    """A level camera at head height sees every head near the horizon: the horizon is then
    pinned by the heads, and ``v_f - v_h = h (v_f - y0) / Hc`` makes the slope ~0, which the
    spread of foot rows measures well. Measured on 60 such cameras: height error <= 4.9 %,
    intervals 7 % wide (median), covering 93-95 %. So the fit is accurate and its interval
    honest without being made artificially wide (the brief expected a wide interval here;
    the genuinely undetermined cases are in the next test)."""
    rng = np.random.default_rng(11)
    ec, cov, width = [], [], []
    for k in range(10):
        cam = camera_from_pitch(F, (W, H), 0.0, 1.7)
        obs, _ = synthetic_people(cam, int(rng.integers(20, 51)), rng)
        r = _fit(cam, obs, seed=k)
        c = r.camera
        ec.append(abs(c.camera_height_m - 1.7) / 1.7)
        cov.append(_covers(c.camera_height_m_ci95, 1.7) and _covers(c.horizon_y_ci95, cam.horizon_y))
        lo, hi = c.camera_height_m_ci95
        width.append((hi - lo) / 1.7)
    assert max(ec) <= 0.05
    assert np.mean(cov) >= 0.8
    assert max(width) < 0.25


def test_undetermined_cases_give_unbounded_intervals_and_a_warning():
    cam = camera_from_pitch(F, (W, H), 20.0, 3.0)
    rng = np.random.default_rng(1)
    # everyone at the same distance: horizon and height trade off along a curve
    obs, info = synthetic_people(cam, 30, rng, outlier_frac=0.0)
    obs[:, 1] = 300 + rng.normal(0, 1, 30)
    obs[:, 2] = [cam.top_of(u, 300.0, h)[1] for u, h in zip(obs[:, 0], info["height_m"])] + rng.normal(0, 1, 30)
    r = _fit(cam, obs)
    assert r.warning and "one distance" in r.warning
    assert r.camera.camera_height_m_ci95[1] is None and r.camera.horizon_y_ci95 == (None, None)
    # too few people
    obs, _ = synthetic_people(cam, 3, rng, outlier_frac=0.0)
    r = _fit(cam, obs)
    assert "only 3 people" in r.warning
    assert r.camera.camera_height_m_ci95 == (None, None) and r.camera.horizon_y_ci95 == (None, None)


def test_people_cut_by_the_border_are_dropped_and_bad_input():
    cam = camera_from_pitch(F, (W, H), 20.0, 3.0)
    obs, _ = synthetic_people(cam, 25, np.random.default_rng(5), outlier_frac=0.0)
    obs[:4, 2] = 0.0  # heads cut at the top border
    r = _fit(cam, obs)
    assert r.n_used == 21 and not r.inliers[:4].any() and r.details["cut_by_border"] == 4
    with pytest.raises(MaskDepthError, match=r"\(n, 3\)"):
        _fit(cam, obs[:, :2])
    with pytest.raises(MaskDepthError, match="at least 2 people"):
        _fit(cam, obs[:1])


@pytest.mark.parametrize("pitch,roll", [(25.0, 0.0), (12.0, 4.0)])
def test_fit_camera_from_depth_recovers_height_and_horizon(pitch, roll):
    cam = camera_from_pitch(150.0, (160, 120), pitch, 2.4, roll_deg=roll)
    d = cam.floor_depth_map().astype(np.float64)
    d = np.where((d > 0) & (d < 7.0), d, 7.0)  # a wall at 7 m
    d *= 1 + 0.003 * np.random.default_rng(0).standard_normal(d.shape)
    r = fit_camera_from_depth(d, cam.K)
    c = r.camera
    assert r.method == "depth_plane"
    assert c.camera_height_m == pytest.approx(2.4, rel=0.02)
    assert c.horizon_y == pytest.approx(cam.horizon_y, abs=0.01 * 120)
    assert c.roll_deg == pytest.approx(roll, abs=0.5)
    with pytest.raises(MaskDepthError, match="no floor plane"):
        fit_camera_from_depth(np.zeros((120, 160)), cam.K)


def test_head_column_pins_the_horizon_of_steep_cameras():
    """With the head column (people lean towards the vertical vanishing point) steep cameras'
    horizons are found well: 10 seeded cameras at pitch 30-40 deg."""
    rng = np.random.default_rng(77)
    eh, cov = [], []
    for k in range(10):
        Hc, pitch, n = rng.uniform(2.2, 4.0), rng.uniform(30, 40), int(rng.integers(20, 51))
        cam = camera_from_pitch(F, (W, H), pitch, Hc)
        obs, _ = synthetic_people(cam, n, rng, with_head_u=True)
        assert obs.shape == (n, 4)
        c = _fit(cam, obs, seed=k).camera
        eh.append(abs(c.horizon_y - cam.horizon_y) / H)
        cov.append(_covers(c.horizon_y_ci95, cam.horizon_y) and _covers(c.camera_height_m_ci95, Hc))
    assert np.median(eh) <= 0.015 and np.mean(cov) >= 0.8


def test_observations_from_extracted_people():
    from maskdepth.scene import extract_objects, observations_from_objects

    cam = camera_from_pitch(F, (W, H), 25.0, 3.0)
    rng = np.random.default_rng(4)
    mask = np.zeros((H, W), bool)
    rows = []
    for _ in range(30):
        mask[:] = False
        u, v, h = rng.uniform(60, 580), rng.uniform(120, 470), rng.uniform(1.6, 1.8)
        top = cam.top_of(u, v, h)
        half = 0.25 * F / float(cam.floor_depth(u, v))
        for r in range(int(math.ceil(top[1])), int(math.floor(v)) + 1):  # a leaning box (pixel centres inside)
            x = top[0] + (u - top[0]) * (r - top[1]) / (v - top[1])
            mask[r, int(math.ceil(x - half)) : int(math.floor(x + half)) + 1] = True
        rows.append(observations_from_objects(extract_objects(mask, None, cam)))
    obs = np.concatenate(rows)
    assert obs.shape == (30, 4)
    r = _fit(cam, obs)
    assert abs(r.camera.horizon_y - cam.horizon_y) <= 0.02 * H
    assert abs(r.camera.camera_height_m - 3.0) <= 0.05 * 3.0
