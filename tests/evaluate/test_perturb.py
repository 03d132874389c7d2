"""The frame perturbations of the robustness evaluation (maskdepth.evaluate.perturb)."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.evaluate import perturb as P


def _img(seed=0, h=40, w=56):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_exposure_is_a_clipped_gain():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2)
    for g in (0.8, 1.2):
        np.testing.assert_array_equal(P.exposure(x, g), np.clip(np.rint(x.astype(np.float64) * g), 0, 255).astype(np.uint8))
    np.testing.assert_array_equal(P.exposure(x, 1.0), x)


def test_shift_moves_frame_and_labels_together_with_edge_padding():
    img = _img()
    out = P.shift(img, 2, 1)
    np.testing.assert_array_equal(out[1:, 2:], img[:-1, :-2])  # whole-pixel shifts are exact
    np.testing.assert_array_equal(out[0, 2:], img[0, :-2])  # the uncovered top row repeats the edge
    np.testing.assert_array_equal(out[1:, 0], img[:-1, 0])
    gt = np.zeros((40, 56), np.uint8)
    gt[10:20, 30:40] = 255
    gt[0:3, :] = 85  # CDnet "outside ROI" codes stay codes
    g2 = P.shift_labels(gt, 2, 1)
    assert g2.dtype == np.uint8 and set(np.unique(g2)) == {0, 85, 255}
    np.testing.assert_array_equal(g2[11:21, 32:42], 255)
    assert g2[10:21, 30:42].sum() == 255 * 100
    m = P.shift_labels(gt == 255, 2, 1)
    assert m.dtype == bool and m.sum() == 100


def test_jpeg_and_noise():
    img = _img(1)
    q30, q95 = P.jpeg(img, 30), P.jpeg(img, 95)
    assert q30.shape == img.shape and q30.dtype == np.uint8
    err = lambda a: np.abs(a.astype(int) - img).mean()  # noqa: E731
    assert err(q30) > err(q95) > 0
    with pytest.raises(ValueError):
        P.jpeg(img, 0)
    flat = np.full((200, 200, 3), 128, np.uint8)
    n1 = P.gaussian_noise(flat, 6.0, np.random.default_rng(3))
    assert abs(n1.astype(float).std() - 6.0) < 0.2 and abs(n1.astype(float).mean() - 128) < 0.1
    np.testing.assert_array_equal(n1, P.gaussian_noise(flat, 6.0, np.random.default_rng(3)))  # seeded
    assert not np.array_equal(n1, P.gaussian_noise(flat, 6.0, np.random.default_rng(4)))


def test_robustness_set():
    names = [p.name for p in P.ROBUSTNESS]
    assert names == ["exposure_0.8", "exposure_1.2", "shift_2px", "jpeg_30", "noise_6"]
    img = _img(2)
    for p in P.ROBUSTNESS:
        out = p.apply(img, np.random.default_rng(0))
        assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)
        assert (p.shift is not None) == (p.name == "shift_2px")
