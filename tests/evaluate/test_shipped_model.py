"""Regression tests of the shipped weights (issue 13, item 7): the numbers the README and
``results/quality.md`` quote must still come out of ``maskdepth/weights`` with today's code.

* CDnet pedestrians (real pairs): mean IoU within 0.02 of ``results/quality.json``.
* A fixed batch of composites (generated here with a fixed seed from ``../shared/data``): mean
  IoU within 0.02 of ``tests/fixtures/shipped_regression.json``, recorded together with the sha256
  of the weights it was measured on. New weights must come with a new record:
  ``python tests/test_shipped_model.py --record`` (prints the values and writes the file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO

SHARED = REPO.parent / "shared" / "data"
RECORD = REPO / "tests" / "fixtures" / "shipped_regression.json"
QUALITY = REPO / "results" / "quality.json"
BATCH = {"n_samples": 60, "size": 128, "seed": 123, "rgbd_every": 40, "render": 8}

needs_shared = pytest.mark.skipif(not (SHARED / "realtest").is_dir(), reason=f"shared data not found at {SHARED}")


def _weights_sha() -> str:
    from maskdepth.inference.runtime import DEFAULT_ONNX
    from maskdepth.io import file_sha256

    return file_sha256(DEFAULT_ONNX)


def _cdnet_iou(tmp: Path) -> float:
    from maskdepth.evaluate.run import evaluate
    from maskdepth.inference.predictor import load_predictor

    rt = tmp / "realtest" / "pairs"
    rt.mkdir(parents=True)
    (rt / "cdnet_pedestrians").symlink_to(SHARED / "realtest" / "pairs" / "cdnet_pedestrians")
    res = evaluate(load_predictor(), str(tmp / "eval"), realtest_dir=str(tmp / "realtest"), quiet=True)
    return float(res["summary"]["pairs/cdnet_pedestrians"]["model"]["iou"])


def _batch_iou(tmp: Path) -> float:
    from maskdepth.data.dataset import MaskDepthDataset
    from maskdepth.data.generate import generate
    from maskdepth.data.generate_config import GenerateConfig
    from maskdepth.evaluate import metrics
    from maskdepth.inference.predictor import load_predictor

    cfg = GenerateConfig(
        out_dir=str(tmp / "batch"),
        bg_dir=str(SHARED / "real" / "bg"),
        fg_dir=str(SHARED / "real" / "fg"),
        rgbd_dir=str(SHARED / "rgbd" / "tum_rgbd"),
        **BATCH,
    )
    generate(cfg, workers=1, quiet=True)
    predictor = load_predictor()
    ious = []
    for split in ("val", "test"):
        ds = MaskDepthDataset(cfg.out_dir, split)
        for i in range(len(ds)):
            r = ds.raw(i)
            ious.append(metrics.mask_iou(predictor.predict(r["bg"], r["fg_bg"]).mask, r["mask"]))
    return float(np.mean(ious))


@needs_shared
def test_cdnet_iou_matches_results_quality(tmp_path):
    js = json.loads(QUALITY.read_text())
    ours = js["models"][js.get("headline", "ours (small)")]  # round 3: the model chosen on validation; round 2: "ours (small)"
    quoted = ours["pairs/cdnet_pedestrians"]["model"]["iou"]
    assert _cdnet_iou(tmp_path) == pytest.approx(quoted, abs=0.02)


@needs_shared
def test_fixed_batch_of_composites_matches_the_record(tmp_path):
    rec = json.loads(RECORD.read_text())
    assert rec["weights_sha256"] == _weights_sha(), (
        "the shipped weights changed: re-measure with `python tests/test_shipped_model.py --record` and commit the record"
    )
    assert rec["batch"] == BATCH
    assert _batch_iou(tmp_path) == pytest.approx(rec["composites_iou"], abs=0.02)


if __name__ == "__main__" and "--record" in sys.argv:
    import tempfile

    from maskdepth.io import atomic_write_json

    with tempfile.TemporaryDirectory() as d:
        value = _batch_iou(Path(d))
    atomic_write_json(RECORD, {"weights_sha256": _weights_sha(), "batch": BATCH, "composites_iou": round(value, 4)})
    print(f"composites IoU {value:.4f} -> {RECORD}")
