"""adapt's choice of the size the written model runs at (maskdepth/adapt/infer_size.py)."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.adapt.camera import Camera, Look
from maskdepth.adapt.infer_size import candidate_sizes, choose_size, native_held_out, score_sizes


def test_candidate_sizes():
    assert candidate_sizes(128, (240, 320), 320) == [128, 192, 240]  # the frames' own short side on top
    assert candidate_sizes(128, (288, 384), 256) == [128, 192, 256]  # capped, rounded down to a multiple of 32
    assert candidate_sizes(128, (720, 1280), 300) == [128, 192, 288]  # 300 -> 288; the mean 208 is 6.5 x 32: rounds half to even
    assert candidate_sizes(128, (96, 128), 320) == [128]  # frames smaller than the training size: nothing to choose
    assert candidate_sizes(128, (240, 320), 128) == [128]  # the cap at the training size turns the choice off
    assert candidate_sizes(64, (96, 128), 320) == [64, 96]


def test_choose_size_needs_the_gain():
    f = lambda *v: {s: {"f": x, "ms_per_frame": 1.0} for s, x in zip((128, 192, 240), v)}  # noqa: E731
    assert choose_size(f(0.960, 0.961, 0.9615)) == 128  # +0.0015 is not enough
    assert choose_size(f(0.960, 0.963, 0.964)) == 192  # 240 adds only 0.001 over 192
    assert choose_size(f(0.960, 0.958, 0.971)) == 240  # compared with the chosen one, not the neighbour
    assert choose_size(f(0.960, 0.950, 0.940)) == 128


def _camera(h=60, w=80, look_full=Look((1.0, 1.0), 3.0, None)) -> Camera:
    rng = np.random.default_rng(0)
    bg_full = rng.integers(60, 200, (h, w, 3)).astype(np.uint8)
    small = bg_full[::2, ::2].copy()
    return Camera(bg=small, frames=np.zeros((0, *small.shape), np.uint8), full_hw=(h, w), bg_source="test", bg_full=bg_full,
                  blob_heights=[12, 20], look=Look((1.0, 1.0), 1.0, None), look_full=look_full)  # fmt: skip


def test_native_held_out_composites_at_the_frames_size():
    cam = _camera()
    a = native_held_out(cam, None, 12, seed=3)
    b = native_held_out(cam, None, 12, seed=3)
    assert len(a) == 12 and all(f.shape == (60, 80, 3) and f.dtype == np.uint8 and m.shape == (60, 80) and m.dtype == bool for f, m in a)
    assert all((fa == fb).all() and (ma == mb).all() for (fa, ma), (fb, mb) in zip(a, b))  # deterministic
    assert sum(m.any() for _, m in a) >= 6  # most hold something (0-3 objects each)
    heights = [np.ptp(np.nonzero(m.any(axis=1))[0]) + 1 for _, m in a if m.any()]
    assert 8 <= np.median(heights) <= 40  # the blobs' heights, scaled from content size (12, 20 x2 x0.7-1.3) to the frames'
    for f, m in a:  # the look of the frames' size: noise sigma 3 on the background where nothing was pasted
        if not m.any():  # the background itself (not blurred by the 2x round trip) plus the noise
            assert 2.5 < np.std(f.astype(float) - cam.bg_full) < 3.5
    gains = [f.mean() / cam.bg_full.mean() for f, m in native_held_out(_camera(look_full=Look((0.8, 1.2), 0.0, None)), None, 12, 3)]
    assert all(0.78 < g < 1.22 for g in gains) and np.std(gains) > 0.02  # the look's exposure spread is applied
    with pytest.raises(ValueError):
        native_held_out(Camera(bg=cam.bg, frames=cam.frames, full_hw=(60, 80), bg_source="x"), None, 2, 0)


class _Thresh:
    """A stand-in predictor whose mask is ``|fg_bg - bg| > t`` (t from the size): scores move with the size."""

    def __init__(self, t):
        self.t = t

    def predict(self, bg, fg_bg):
        class P:
            mask = np.abs(fg_bg.astype(int) - bg).max(axis=2) > self.t

        return P()


def test_score_sizes_pools_f_over_samples():
    bg = np.zeros((10, 10, 3), np.uint8)
    fg = bg.copy()
    fg[2:6, 2:6] = 100  # 16 px object
    fg[8, 8] = 30  # a faint pixel that is not the object
    mask = np.zeros((10, 10), bool)
    mask[2:6, 2:6] = True
    s = score_sizes(lambda size: _Thresh({1: 10, 2: 50}[size]), bg, [(fg, mask)] * 3, [1, 2])
    assert s[2]["f"] == 1.0 and s[1]["f"] == pytest.approx(2 * 48 / (2 * 48 + 3), abs=1e-5) and s[1]["ms_per_frame"] >= 0
