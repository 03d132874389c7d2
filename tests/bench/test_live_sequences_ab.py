"""``benchmarks/live_sequences.py --no-camera-gate``: the A/B reaches the tracker of every watch run through its
configuration, not by changing the product's module constant."""

from __future__ import annotations

import pytest

pytest.importorskip("trackers")
from benchmarks.live_sequences import _tracker_config  # noqa: E402
from maskdepth.live.config import WatchConfig  # noqa: E402
from maskdepth.scene import tracking  # noqa: E402


def test_the_gate_goes_to_the_tracker_and_leaves_the_product_alone(tmp_path):
    before = tracking.NO_CAMERA_MIN_SIMILARITY
    cfg = _tracker_config({"min_similarity": 0.2})(source=str(tmp_path), out=str(tmp_path / "out"))
    assert isinstance(cfg, WatchConfig)
    settings = cfg.tracker_settings()
    assert settings == {**WatchConfig(source=str(tmp_path), out=str(tmp_path / "out")).tracker_settings(), "min_similarity": 0.2}
    assert tracking.make_tracker(fps=25.0, camera=None, **settings).min_similarity == 0.2
    assert tracking.make_tracker(fps=25.0, camera=None).min_similarity == before == tracking.NO_CAMERA_MIN_SIMILARITY
