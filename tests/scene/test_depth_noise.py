"""The Kinect-like depth measurement of maskdepth.evaluate.perturb (kinect_sigma, kinect_depth) used by the depth benchmark."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from maskdepth.evaluate.perturb import kinect_depth, kinect_sigma


def test_sigma_law_nguyen_2012():
    # 0.0012 + 0.0019 (z - 0.4)^2: 1.2 mm at 0.4 m, about 1.9 mm at 1 m, 5.1 mm at 2 m, 25.4 mm at 4 m
    np.testing.assert_allclose(kinect_sigma([0.4, 1.0, 2.0, 4.0]), [0.0012, 0.001884, 0.006064, 0.025824], rtol=1e-9)


@pytest.mark.parametrize("z", [1.0, 2.0, 4.0])
def test_flat_wall_noise_meets_the_law(z):
    wall = np.full((300, 400), z, np.float32)
    out = kinect_depth(wall, np.random.default_rng(1), hole_fraction=0.0)
    ok = out > 0
    assert ok[:, 1:].all() and not ok[:, 0].any()  # only the uncovered column (shift dx = 1) is unknown
    e = out[ok].astype(np.float64) - z
    n = e.size
    assert abs(e.std() / kinect_sigma(z) - 1) < 0.02  # 120k samples: the SD's standard error is 0.2 %
    assert abs(e.mean()) < 4 * kinect_sigma(z) / np.sqrt(n)  # unbiased


def test_holes_come_in_blobs_at_the_asked_fraction():
    wall = np.full((240, 320), 2.0, np.float32)
    out = kinect_depth(wall, np.random.default_rng(2), shift=(0, 0), hole_fraction=0.04, blob_px=3.0)
    holes = out == 0
    assert abs(holes.mean() - 0.04) < 0.002
    _, n = ndimage.label(holes)
    assert holes.sum() / n > 8  # blobs, not salt-and-pepper pixels


def test_depth_edges_are_lost_and_unknown_stays_unknown():
    d = np.full((60, 80), 1.0, np.float32)
    d[:, 40:] = 3.0  # a step of 2 m at column 40
    d[:5, :10] = 0.0  # unknown in the truth
    out = kinect_depth(d, np.random.default_rng(3), shift=(0, 0), hole_fraction=0.0)
    assert (out[:, 39:41] == 0).all()  # both sides of the step
    assert (out[10:, 2:38] > 0).all() and (out[:, 42:] > 0).all()
    assert (out[:5, :10] == 0).all()


def test_misregistration_moves_the_map_by_whole_pixels():
    d = np.full((60, 80), 1.0, np.float32)
    d[:, 40:] = 3.0
    kw = dict(hole_fraction=0.0, edge_rel=np.inf)
    a = kinect_depth(d, np.random.default_rng(4), shift=(0, 0), **kw)
    b = kinect_depth(d, np.random.default_rng(4), shift=(1, 0), **kw)
    c = kinect_depth(d, np.random.default_rng(4), shift=(-2, 1), **kw)
    np.testing.assert_array_equal(b[:, 1:], a[:, :-1])
    assert (b[:, 0] == 0).all()
    np.testing.assert_array_equal(c[1:, :-2], a[:-1, 2:])
    assert (c[0] == 0).all() and (c[:, -2:] == 0).all()
    assert np.argmax(b[30] > 2) == 41  # the step moved one column right


def test_bad_arguments():
    with pytest.raises(ValueError):
        kinect_depth(np.ones((4, 4, 1)), np.random.default_rng(0))
    with pytest.raises(ValueError):
        kinect_depth(np.ones((4, 4)), np.random.default_rng(0), hole_fraction=1.0)
