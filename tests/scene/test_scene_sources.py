"""maskdepth.scene.depth_sources: --bg-depth formats, resizing, ground-plane / teacher scene depth, cache."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.scene import SceneDepth, SceneDepthCache, camera_from_pitch, ground_plane_scene_depth, load_bg_depth, teacher_to_metric


def _scene(h=60, w=80):
    d = np.tile(np.linspace(1.0, 6.0, h, dtype=np.float32)[:, None], (1, w))
    d[5:15, 10:30] = 0.0  # unknown region
    return d


def test_png_mm_round_trip(tmp_path):
    d = _scene()
    p = tmp_path / "d.png"
    cv2.imwrite(str(p), np.round(d * 1000).astype(np.uint16))
    sd = load_bg_depth(p, (60, 80))
    assert sd.source == "measured" and sd.unit == "m" and sd.depth.dtype == np.float32
    np.testing.assert_allclose(sd.depth, d, atol=6e-4)
    assert np.all(sd.depth[5:15, 10:30] == 0)  # unknown stays unknown
    assert any("unknown" in n for n in sd.notes)


def test_float_tiff_and_npy_round_trip(tmp_path):
    d = _scene()
    d[0, 0], d[0, 1], d[0, 2] = np.nan, np.inf, -2.0
    pt, pn = tmp_path / "d.tiff", tmp_path / "d.npy"
    assert cv2.imwrite(str(pt), d)
    np.save(pn, d.astype(np.float64))
    for p in (pt, pn):
        sd = load_bg_depth(p, (60, 80))
        assert sd.depth.dtype == np.float32
        assert np.all(sd.depth[0, :3] == 0)  # NaN, inf, negative -> unknown
        np.testing.assert_array_equal(sd.depth[1:], d[1:])


def test_nearest_exact_resize_keeps_edges_and_values(tmp_path):
    d = np.full((40, 64), 2.0, np.float32)
    d[:, 24:] = 5.0  # a step edge at column 24 of 64 -> 0.375 of the width
    p = tmp_path / "d.npy"
    np.save(p, d)
    for W in (160, 32, 96):  # up, down, non-integer
        H = W * 40 // 64
        sd = load_bg_depth(p, (H, W))
        assert sd.depth.shape == (H, W)
        assert set(np.unique(sd.depth)) <= {2.0, 5.0}  # no value invented
        row = sd.depth[H // 2]
        edge = int(np.argmax(row == 5.0))  # first column of the right side
        assert abs(edge - 0.375 * W) <= 0.1, (W, edge)
        assert np.all(row[:edge] == 2.0) and np.all(row[edge:] == 5.0)
        assert "nearest-exact" in sd.notes[0]


def test_wrong_aspect_all_zero_and_bad_files(tmp_path):
    p = tmp_path / "d.npy"
    np.save(p, np.ones((60, 80), np.float32))
    with pytest.raises(MaskDepthError) as e:
        load_bg_depth(p, (60, 60))
    msg = str(e.value)
    assert "80x60" in msg and "60x60" in msg and "aspect" in msg and "\n" not in msg
    z = tmp_path / "z.png"
    cv2.imwrite(str(z), np.zeros((60, 80), np.uint16))
    with pytest.raises(MaskDepthError, match="no known pixel"):
        load_bg_depth(z, (60, 80))
    rgb = tmp_path / "rgb.png"
    cv2.imwrite(str(rgb), np.zeros((60, 80, 3), np.uint8))
    with pytest.raises(MaskDepthError, match="16-bit"):
        load_bg_depth(rgb)
    (tmp_path / "d.exr").write_bytes(b"x")
    with pytest.raises(MaskDepthError, match="unsupported"):
        load_bg_depth(tmp_path / "d.exr")
    with pytest.raises(MaskDepthError, match="not found"):
        load_bg_depth(tmp_path / "missing.png")


def _room(cam):
    """True scene: the floor, with a wall at 6 m (camera z) in the upper part of the image."""
    W, H = cam.image_size
    F = cam.floor_depth_map().astype(np.float64)
    true = np.where((F > 0) & (F < 6.0), F, 6.0)
    return F, true


def test_ground_plane_scene_depth_floor_exact_rest_scaled():
    cam = camera_from_pitch(120.0, (96, 72), 18.0, 2.6)
    F, true = _room(cam)
    learned = 0.37 * true * (1 + 0.02 * np.random.default_rng(0).standard_normal(true.shape))  # wrong scale, noisy
    sd = ground_plane_scene_depth(cam, learned)
    assert sd.source == "ground_plane" and sd.depth.dtype == np.float32
    floor = (F > 0) & (F < 5.0)
    np.testing.assert_allclose(sd.depth[floor], F[floor], rtol=1e-5)  # exact floor depth
    wall = true < F - 0.5
    assert wall.mean() > 0.3
    assert np.median(np.abs(sd.depth[wall] / true[wall] - 1)) < 0.03  # learned, scaled to the floor
    assert sd.params["learned_scale"] == pytest.approx(1 / 0.37, rel=0.03)
    only = ground_plane_scene_depth(cam)
    np.testing.assert_allclose(only.depth, F, rtol=1e-6)  # every pixel sees the floor here
    high = camera_from_pitch(120.0, (96, 72), 2.0, 2.6)  # the horizon inside the image
    F2 = high.floor_depth_map()
    only = ground_plane_scene_depth(high)
    assert (F2 == 0).any() and np.all(only.depth[F2 == 0] == 0)


def test_teacher_alignment_in_disparity_space():
    cam = camera_from_pitch(120.0, (96, 72), 18.0, 2.6)
    F, true = _room(cam)
    disp = 3.0 / true + 0.2  # affine-invariant disparity of the true scene
    sd = teacher_to_metric(disp, cam)
    assert sd.source == "teacher" and sd.unit == "m"
    # wall pixels within 2 % of the floor join the fit, and those within the final tolerance take the floor's depth
    np.testing.assert_allclose(sd.depth, true, rtol=5e-3)
    floor = true == F
    assert np.mean(sd.depth[floor] == F.astype(np.float32)[floor]) > 0.99  # the camera's exact floor
    rel = teacher_to_metric(disp, None)
    assert rel.unit == "relative_disparity" and not rel.metric
    with pytest.raises(MaskDepthError, match="96x72"):
        teacher_to_metric(disp[:, :50], cam)


def test_scene_depth_cache(tmp_path):
    bg = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    cache = SceneDepthCache(tmp_path / "cache")
    calls = []

    def compute():
        calls.append(1)
        return SceneDepth(np.ones((30, 40), np.float32), "measured", notes=["n"], params={"file": "d.png"})

    a = cache.get_or_compute(bg, "measured", {"file": "d.png"}, compute)
    b = cache.get_or_compute(bg, "measured", {"file": "d.png"}, compute)
    assert len(calls) == 1 and b.source == "measured" and b.notes == ["n"]
    np.testing.assert_array_equal(a.depth, b.depth)
    assert cache.get(bg, "measured", {"file": "other.png"}) is None
    bg2 = bg.copy()
    bg2[0, 0, 0] ^= 1
    assert cache.get(bg2, "measured", {"file": "d.png"}) is None
    assert not list((tmp_path / "cache").glob("*.tmp"))
    with pytest.raises(MaskDepthError, match="unknown scene depth source"):
        SceneDepth(np.ones((2, 2), np.float32), "guess")
