"""Evaluation: the scores `maskdepth evaluate` writes, and real-pair layouts (the classical_best
oracle and false-positive blobs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import maskdepth.evaluate.run as E
from maskdepth.evaluate import baselines as B
from maskdepth.evaluate import metrics as M


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
            img[y : y + 24, x : x + 20] = np.clip(bg[y : y + 24, x : x + 20].astype(int) + contrast, 0, 255)
            gt[y : y + 24, x : x + 20] = 255
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


def test_cli_evaluate_scores_equal_a_direct_computation(tiny_dataset, tiny_checkpoint, tmp_path):
    """`maskdepth evaluate` on held-out composites writes, per method, the mean of the per-image IoUs
    of that method's masks (recomputed here from the model and the classical baseline directly)."""
    from maskdepth import cli
    from maskdepth.data.dataset import MaskDepthDataset
    from maskdepth.inference.predictor import load_predictor

    out = tmp_path / "ev"
    assert (
        cli.main(
            ["evaluate", "--checkpoint", str(tiny_checkpoint), "--data", str(tiny_dataset), "--limit", "6", "--out", str(out), "--quiet"]
        )
        == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    from maskdepth.io import file_sha256

    assert m["model_sha256"] == file_sha256(tiny_checkpoint)  # which weights these numbers belong to
    predictor = load_predictor(str(tiny_checkpoint))
    ds = MaskDepthDataset(str(tiny_dataset), "test", limit=6)
    keys, ious, obj = [], {"model": [], "classical": []}, {}
    for i in range(len(ds)):
        r = ds.raw(i)
        keys.append(r["meta"]["key"])
        if r["meta"]["depth_kind"] == "metric":
            kind = r["meta"]["bg_kind"]
            e = M.object_depth_errors(predictor.predict(r["bg"], r["fg_bg"]).depth, r["depth"], r["mask"])["object_absrel"]
            obj.setdefault(kind, []).extend([e] if np.isfinite(e) else [])
        ious["model"].append(M.mask_iou(predictor.predict(r["bg"], r["fg_bg"]).mask, r["mask"]))
        ious["classical"].append(M.mask_iou(B.classical_mask(r["bg"], r["fg_bg"]), r["mask"]))
    assert len(keys) == 6 and len(set(ious["classical"])) > 1  # distinct samples, not a constant score
    md = (out / "metrics.md").read_text()
    for method, vals in ious.items():
        s = m["summary"]["composites/all"][method]
        assert s["n"] == 6 and s["iou"] == pytest.approx(float(np.mean(vals)), abs=1e-9)
        lo, hi = s["iou_ci95"]
        assert min(vals) - 1e-9 <= lo <= s["iou"] <= hi <= max(vals) + 1e-9
        rows = m["per_image"][f"composites/all|{method}"]
        assert [r["key"] for r in rows] == keys and [r["iou"] for r in rows] == pytest.approx(vals, abs=1e-12)
        assert f"| composites/all | {method} | 6 | {s['iou']:.3f} [{lo:.3f}, {hi:.3f}] |" in md
    assert m["summary"]["composites/all"]["model"]["ci_unit"].startswith("backgrounds x cutouts")
    assert obj  # the object (foreground) depth error is reported per kind, from the model's metres
    for kind, vals in obj.items():
        s = m["summary"][f"composites/{kind}"]["model"]
        assert s["object_absrel_n"] == len(vals) and s["object_absrel"] == pytest.approx(float(np.mean(vals)), abs=1e-9)
        assert f"| composites/{kind} | model | {len(vals)} | {s['object_absrel']:.3f}" in md
    assert all("bg" in r and "fg" in r for r in m["per_image"]["composites/all|model"])


def _flat_scene(root: Path, name: str, n: int = 4) -> None:
    """A flat grey background and bright boxes: classical differencing is exact, also when the camera shifts."""
    d = root / name
    (d / "frames").mkdir(parents=True)
    (d / "gt").mkdir()
    bg = np.full((64, 80, 3), 100, np.uint8)
    Image.fromarray(bg).save(d / "bg.png")
    for i in range(n):
        img, gt = bg.copy(), np.zeros((64, 80), np.uint8)
        img[10 + i : 40 + i, 20 + 3 * i : 36 + 3 * i] = 240
        gt[10 + i : 40 + i, 20 + 3 * i : 36 + 3 * i] = 255
        gt[0, :] = 85  # an ignored row (CDnet "outside ROI")
        Image.fromarray(img).save(d / "frames" / f"f{i:03d}.png")
        Image.fromarray(gt).save(d / "gt" / f"f{i:03d}.png")


def test_robustness_on_real_pairs(tmp_path):
    """Five frame perturbations for the model and the classical baseline; the camera shift moves the GT
    with the frame (on a flat background classical differencing is then unaffected by the shift)."""
    from maskdepth.evaluate import perturb as P

    _flat_scene(tmp_path / "pairs", "flat")
    col = E._Collector()
    E.eval_pairs(_Pred(), tmp_path / "pairs", col, quiet=True)
    rob = col.robustness()["pairs/flat"]
    assert set(rob) == {"model", "classical"}
    c = rob["classical"]
    assert c["n"] == 4 and c["clean"] > 0.8
    assert set(p.name for p in P.ROBUSTNESS) <= set(c)
    assert c["shift_2px"]["iou"] == pytest.approx(c["clean"], abs=0.02)  # GT shifted with the frame
    assert c["exposure_1.2"]["drop"] == pytest.approx(c["clean"] - c["exposure_1.2"]["iou"])
    assert c["worst_drop"] == max(c[p.name]["drop"] for p in P.ROBUSTNESS) and c["worst"] in c
    assert rob["model"]["clean"] == 0.0 and rob["model"]["worst_drop"] == 0.0  # the stand-in never detects anything
    # the frame really changes: a predictor that thresholds its input sees every perturbation
    seen = []

    class Spy(_Pred):
        def predict(self, bg, img):
            seen.append(img.copy())
            return super().predict(bg, img)

    E.eval_robustness(
        Spy(),
        np.full((64, 80, 3), 100, np.uint8),
        np.full((64, 80, 3), 100, np.uint8),
        np.zeros((64, 80), np.uint8),
        "x/f",
        "s",
        E._Collector(),
    )
    means = [float(x.mean()) for x in seen]
    assert len(seen) == 6 and means[0] == 100 and means[1] == 80 and means[2] == 120
    # written to metrics.json and metrics.md
    out = tmp_path / "ev"
    res = E.evaluate(_Pred(), str(out), realtest_dir=str(tmp_path), quiet=True)
    assert res["robustness"]["pairs/flat"]["classical"]["n"] == 4
    md = (out / "metrics.md").read_text()
    assert "## Robustness (real pairs)" in md and "| pairs/flat | classical | 4 |" in md
    assert json.loads((out / "metrics.json").read_text())["robustness_per_image"]["pairs/flat|model"][0]["key"] == "f000"


def test_n_is_the_count_of_values_averaged():
    rows = [{"key": "a", "iou": 0.5, "aligned_absrel": 0.1}, {"key": "b", "iou": 0.7}, {"key": "c", "iou": float("nan")}]
    s = E._summary(rows, ["iou", "aligned_absrel"])
    assert s["n"] == s["iou_n"] == 2 and s["aligned_absrel_n"] == 1 and s["ci_unit"] == "frames"
    from maskdepth.evaluate.markdown import markdown_table

    md = markdown_table({"x": {"model": s}})
    assert "| x | model | 2 | 0.600" in md and "| x | model | 1 | –" in md
