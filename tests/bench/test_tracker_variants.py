"""benchmarks.tracker_variants: the rules tried and not adopted live outside the product's tracker, and with every rule
off the variant tracker is the product's, frame for frame (so the tables that compared them compared the product)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("trackers")
from benchmarks import events_synthetic as es  # noqa: E402
from benchmarks.tracker_variants import VARIANT_SETTINGS, VariantByteTracker, make_tracker  # noqa: E402
from maskdepth.errors import MaskDepthError  # noqa: E402
from maskdepth.scene.tracking import ByteTracker  # noqa: E402


def _run(tracker, frames) -> list:
    out = []
    for d in frames:
        ids = [o.id for o in tracker.update(d)]
        out.append((ids, [(h.id, h.bbox, h.frames) for h in tracker.hidden], sorted(tracker.person_boxes.items())))
    return out


@pytest.mark.parametrize("dets", ["masks", "broken"])
def test_every_rule_off_is_the_product_tracker(dets):
    cam = es.CAMERAS["cctv"]
    _, frames = es.clip_frames("cctv", dets, 20)
    product = _run(ByteTracker(fps=es.FPS, camera=cam), frames)
    off = dict(merged_update="blob", split_merged="off", appearance_w=0.0, appearance_relink=None)
    assert _run(VariantByteTracker(fps=es.FPS, camera=cam, **off), frames) == product
    assert any(h for _, h, _ in product)  # the clip has merged blobs: the comparison covers hidden tracks


def test_a_rule_changes_the_tracks():
    """The equality above is not vacuous: the split of blobs (``wide_tall``) and the Kalman update with the person box
    each change what the same clip gives."""
    cam = es.CAMERAS["cctv"]
    _, frames = es.clip_frames("cctv", "masks", 20)
    product = _run(ByteTracker(fps=es.FPS, camera=cam), frames)
    for rule in ({"split_merged": "wide_tall"}, {"merged_update": "person"}):
        assert _run(VariantByteTracker(fps=es.FPS, camera=cam, **rule), frames) != product, rule


def test_make_tracker_routes_only_variant_settings():
    cam = es.CAMERAS["cctv"]
    assert type(make_tracker(fps=10.0, camera=cam, lost_s=5.0)) is ByteTracker
    for name, value in (("split_merged", "wide"), ("merged_update", "person"), ("appearance_w", 0.5)):
        assert name in VARIANT_SETTINGS and type(make_tracker(fps=10.0, camera=cam, **{name: value})) is VariantByteTracker
    with pytest.raises(TypeError):
        ByteTracker(fps=10.0, split_merged="wide")  # the product's tracker has none of them
    with pytest.raises(MaskDepthError, match="^appearance_rule must be one of"):
        make_tracker(fps=10.0, appearance_w=1.0, appearance_rule="sometimes")
    np.testing.assert_equal(make_tracker(fps=10.0, camera=cam, appearance_w=0.5).describe()["appearance_w"], 0.5)
