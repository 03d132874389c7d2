"""Evaluation on real-pair layouts: the classical_best oracle and false-positive blobs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import maskdepth.evaluate as E
from maskdepth import baselines as B
from maskdepth import metrics as M


class _Pred:
    """Stand-in predictor: an empty mask (nothing ever detected) and 2 m everywhere."""

    threshold, size = 0.5, 64

    def predict(self, bg, img):
        class R:
            pass

        r = R()
        r.mask = np.zeros(bg.shape[:2], bool)
        r.depth = np.full(bg.shape[:2], 2.0, np.float32)
        return r


def _scene(root: Path, name: str, contrast: int, seed: int, n: int = 3, empty: int = 1) -> None:
    rng = np.random.default_rng(seed)
    d = root / name
    (d / "frames").mkdir(parents=True)
    (d / "gt").mkdir()
    bg = rng.integers(90, 110, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(bg).save(d / "bg.png")
    for i in range(n + empty):
        img = np.clip(bg.astype(int) + rng.integers(-6, 7, bg.shape), 0, 255).astype(np.uint8)
        gt = np.zeros((64, 64), np.uint8)
        if i < n:
            y, x = rng.integers(5, 35, 2)
            img[y:y + 24, x:x + 20] = np.clip(bg[y:y + 24, x:x + 20].astype(int) + contrast, 0, 255)
            gt[y:y + 24, x:x + 20] = 255
        Image.fromarray(img).save(d / "frames" / f"f{i:03d}.png")
        Image.fromarray(gt).save(d / "gt" / f"f{i:03d}.png")


def test_classical_best_is_one_threshold_at_least_as_good_as_the_default(tmp_path):
    _scene(tmp_path, "a_low_contrast", 25, 0)  # threshold 30 misses this object
    _scene(tmp_path, "b_high_contrast", 120, 1)
    col = E._Collector()
    best = E.eval_pairs(_Pred(), tmp_path, col, quiet=True)
    assert best in E.CLASSICAL_SWEEP and best < 30
    s = col.summary()
    for scene in ("pairs/a_low_contrast", "pairs/b_high_contrast"):
        assert s[scene]["model"]["iou"] == 0.0
        assert s[scene]["classical"]["n"] == s[scene]["classical_best"]["n"] == 3
    mean = lambda m: np.mean([s[f"pairs/{x}"][m]["iou"] for x in ("a_low_contrast", "b_high_contrast")])  # noqa: E731
    assert mean("classical_best") >= mean("classical")
    assert s["pairs/a_low_contrast"]["classical_best"]["iou"] > s["pairs/a_low_contrast"]["classical"]["iou"] + 0.2
    # the chosen threshold's masks are exactly the classical baseline at that threshold
    bg = np.asarray(Image.open(tmp_path / "a_low_contrast" / "bg.png"))
    img = np.asarray(Image.open(tmp_path / "a_low_contrast" / "frames" / "f000.png"))
    fg, valid = M.cdnet_gt(np.asarray(Image.open(tmp_path / "a_low_contrast" / "gt" / "f000.png")))
    row = next(r for r in col.rows[("pairs/a_low_contrast", "classical_best")] if r["key"] == "f000")
    assert row["iou"] == M.mask_iou(B.classical_mask(bg, img, threshold=best), fg, valid)
    # empty frames: FP rate and FP blobs for every method
    for m in ("model", "classical", "classical_best", "mog2"):
        e = s["pairs/a_low_contrast/empty"][m]
        assert e["n"] == 1 and "fp_blobs" in e and "fpr" in e
    assert s["pairs/a_low_contrast/empty"]["model"]["fp_blobs"] == 0


def test_no_scenes_no_threshold(tmp_path):
    assert E.eval_pairs(_Pred(), tmp_path, E._Collector(), quiet=True) is None
