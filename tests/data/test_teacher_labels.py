"""Teacher disparity labels stay valid after the uint16 coding (issue 13, fix 3).

0 means *invalid* in every depth label; the normalisation clips to the 2nd/98th
percentiles, so about 2 % of every image sits at the far end and must not decode to 0.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from maskdepth.data.dataset import MaskDepthDataset
from maskdepth.data.format import decode_depth, depth_to_u16
from maskdepth.data.teacher import OnnxTeacher, normalise_disparity
from tests.helpers import generate_dataset


def test_normalised_disparity_is_positive_after_encoding():
    rng = np.random.default_rng(0)
    d = rng.gamma(2.0, 1.0, (64, 80)).astype(np.float32)  # far tail: the farthest 2 % hit the clip
    n = normalise_disparity(d)
    assert n.dtype == np.float32 and n.max() == 1.0
    u16 = depth_to_u16(n, "teacher")
    assert (u16 > 0).all(), f"{int((u16 == 0).sum())} valid pixels decode to 0 (= invalid)"
    back = decode_depth(u16, "teacher")
    assert back.min() == pytest.approx(1 / 65535)
    far = d <= np.percentile(d, 2)
    assert far.sum() >= 0.015 * d.size and (back[far] == back.min()).all()  # the clipped far end is the smallest valid value
    order = np.argsort(d.ravel())  # monotone: nearer (larger disparity) never decodes smaller
    assert (np.diff(back.ravel()[order]) >= 0).all()


def test_non_finite_or_flat_teacher_output_is_invalid():
    d = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    d[0, 0] = np.nan
    n = normalise_disparity(d)
    assert n[0, 0] == 0 and (n.ravel()[1:] > 0).all()
    assert (normalise_disparity(np.full((5, 5), 3.0, np.float32)) == 0).all()  # no spread: no information


@pytest.fixture(scope="module")
def ramp_teacher(tmp_path_factory) -> Path:
    """An ONNX 'teacher' whose disparity grows down the image (a floor) plus the image's red channel."""

    class Teacher(torch.nn.Module):
        def forward(self, x):
            rows = torch.linspace(0.1, 2.0, x.shape[2]).view(1, 1, -1, 1)
            return rows + 0.1 * x[:, :1]

    path = tmp_path_factory.mktemp("teacher") / "ramp.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Teacher(), torch.rand(1, 3, 64, 64), str(path), dynamo=False, opset_version=17, input_names=["image"])
    return path


def test_teacher_labels_have_no_zero_inside_valid_pixels(ramp_teacher, bg_dir, fg_dir, tmp_path):
    t = OnnxTeacher(str(ramp_teacher))
    rgb = np.random.default_rng(1).integers(0, 256, (48, 72, 3), dtype=np.uint8)
    assert (depth_to_u16(t.disparity(rgb), "teacher") > 0).all()
    # end to end: backgrounds and composites of a per-background teacher dataset
    out = tmp_path / "ds"
    generate_dataset(out, bg_dir=str(bg_dir), fg_dir=str(fg_dir), teacher=str(ramp_teacher), n_samples=12, size=64, shard_size=12)
    seen = 0
    for split in ("train", "val", "test"):
        ds = MaskDepthDataset(out, split)
        for i in range(len(ds)):
            r = ds.raw(i)
            assert r["meta"]["depth_kind"] == "teacher"
            assert (r["depth"] > 0).all(), f"{r['meta']['key']}: a teacher label holds 0 (invalid) pixels"
            assert (ds.background(r["meta"]["bg_id"])["depth"] > 0).all()
            seen += 1
    assert seen == 12
