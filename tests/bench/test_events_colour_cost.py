"""``benchmarks/events_colour_cost.py``: the frames it times with are the clips' own, and its page renders."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("trackers")

from benchmarks.events_colour_cost import clip, markdown  # noqa: E402
from benchmarks.events_synthetic import CAMERAS, clip_frames  # noqa: E402


def test_the_timed_clip_is_the_events_pages_clip_with_its_frames():
    dets, pictures = clip("cctv", 200)
    _, same = clip_frames("cctv", "masks", 200)
    assert [[o.bbox for o in f] for f in dets] == [[o.bbox for o in f] for f in same]
    W, H = CAMERAS["cctv"].image_size
    assert len(pictures) == len(dets) and pictures[0][0].shape == (H, W, 3) and pictures[0][0].dtype == np.uint8
    k = next(i for i, f in enumerate(dets) if f)
    o = dets[k][0]
    assert (pictures[k][1] == o.label).any()  # the labels are the frame's components


def test_page():
    res = {"cameras": {"cctv": {"frames": 10, "ms_per_frame_plain": 1.0, "ms_per_frame_colour": 1.5}}, "command": "x"}
    md = markdown(res, "x")
    assert "| cctv | 10 | 1.00 | 1.50 | +0.50 |" in md and "Command: `x`" in md
