import numpy as np
import pytest

from maskdepth.evaluate import baselines as B
from maskdepth.evaluate.metrics import mask_iou


def _scene(h=96, w=128, seed=0):
    """Textured background and the same scene with a bright 30x40 square pasted in."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(60, 120, (h, w, 3), dtype=np.uint8)
    fg_bg = bg.copy()
    fg_bg[30:60, 40:80] = (230, 220, 210)
    gt = np.zeros((h, w), bool)
    gt[30:60, 40:80] = True
    return bg, fg_bg, gt


@pytest.mark.parametrize("threshold", [30, None])
def test_classical_mask_finds_square(threshold):
    bg, fg_bg, gt = _scene()
    m = B.classical_mask(bg, fg_bg, threshold=threshold)
    assert m.dtype == bool and m.shape == gt.shape
    assert mask_iou(m, gt) > 0.9


def test_classical_mask_identical_images_empty():
    bg, _, _ = _scene()
    assert not B.classical_mask(bg, bg.copy()).any()
    assert not B.classical_mask(bg, bg.copy(), threshold=None).any()


def test_classical_mask_errors():
    bg, fg_bg, _ = _scene()
    with pytest.raises(ValueError, match="shape"):
        B.classical_mask(bg, fg_bg[:-1])
    with pytest.raises(ValueError):
        B.classical_mask(bg[..., 0], fg_bg[..., 0])
    with pytest.raises(ValueError):
        B.classical_mask(bg, fg_bg, blur=4)


def test_mog2_mask_finds_square():
    bg, fg_bg, gt = _scene()
    m = B.mog2_mask(bg, fg_bg)
    assert m.dtype == bool and m.shape == gt.shape
    assert mask_iou(m, gt) > 0.9
    assert not B.mog2_mask(bg, bg.copy()).any()
    with pytest.raises(ValueError, match="shape"):
        B.mog2_mask(bg, fg_bg[:, :-1])


def test_mog2_mask_shadow_is_background():
    bg, fg_bg, gt = _scene()
    fg_bg[70:90, 10:50] = (bg[70:90, 10:50] * 0.7).astype(np.uint8)  # same colour, darker
    m = B.mog2_mask(bg, fg_bg)
    assert not m[70:90, 10:50].any()
    assert mask_iou(m, gt) > 0.9


def test_ground_plane_depth():
    h, w = 60, 80
    d = B.ground_plane_depth(h, w)
    assert d.shape == (h, w) and d.dtype == np.float32
    assert d.min() >= 0.1 and d.max() <= 10.0
    assert np.all(d == d[:, :1])  # constant along rows
    col = d[:, 0]
    v_h = int(0.4 * h)
    below = col[v_h:]
    assert np.all(np.diff(below) <= 0) and below[-1] < below[0]
    assert np.all(col[:v_h] == 10.0)
    # last row: fy*H / (v + 0.5 - v_h) = 80*1.5/(59.5-24) ≈ 3.38 m
    assert col[-1] == pytest.approx(80 * 1.5 / (59.5 - 24), rel=1e-6)
    with pytest.raises(ValueError):
        B.ground_plane_depth(0, 10)


def test_background_depth_is_copy():
    d = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = B.background_depth(d)
    np.testing.assert_array_equal(out, d)
    out[0, 0] = 99
    assert d[0, 0] == 0


def test_classical_masks_equal_classical_mask_at_each_threshold():
    rng = np.random.default_rng(1)
    bg = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    fg_bg = bg.copy()
    fg_bg[10:30, 15:35] = np.clip(bg[10:30, 15:35].astype(int) + rng.integers(0, 90, (20, 20, 3)), 0, 255)
    thresholds = (10, 30, 45, None)
    masks = B.classical_masks(bg, fg_bg, thresholds)
    assert set(masks) == set(thresholds)
    for t in thresholds:
        assert np.array_equal(masks[t], B.classical_mask(bg, fg_bg, threshold=t))
    assert masks[10].sum() >= masks[45].sum()
