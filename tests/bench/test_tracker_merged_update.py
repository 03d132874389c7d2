"""The Kalman update of a track on a merged blob (benchmarks.tracker_variants.VariantByteTracker(merged_update=...)): ``blob``
(the default) updates it with the detection's box, ``person`` with its person box (ByteTracker.person_boxes)."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.scene import box_iou

pytest.importorskip("trackers")
from benchmarks.tracker_variants import MERGED_UPDATE_RULES, VariantByteTracker  # noqa: E402
from tests.scene.test_tracking_hidden import CAM, FPS, _passing_behind  # noqa: E402


def _state_ious_of_the_nearer_walker(rule: str) -> list[float]:
    """IoU of the nearer walker's (A's) Kalman box with its true box in the frames where B is hidden in A's blob."""
    tr, ids, out = VariantByteTracker(fps=FPS, camera=CAM, merged_update=rule), {}, []
    for dets, truth in _passing_behind():
        objs = tr.update(dets)
        if len(dets) == 2:
            for o in objs:
                ids["A" if box_iou(o.bbox, truth["A"]) > box_iou(o.bbox, truth["B"]) else "B"] = o.id
        elif tr.hidden:
            lib = {v: k for k, v in tr._public.items()}[ids["A"]]
            box = next(t for t in tr._lib.tracks if int(t.tracker_id) == lib).get_state_bbox()
            out.append(box_iou(tuple(int(round(v)) for v in box), truth["A"]))
    return out


def test_person_update_keeps_the_state_on_its_walker():
    assert VariantByteTracker(camera=CAM).merged_update == "blob"  # the default (results/events.md, 'The Kalman update ...')
    person, blob = _state_ious_of_the_nearer_walker("person"), _state_ious_of_the_nearer_walker("blob")
    assert len(person) == len(blob) >= 5
    assert np.mean(person) > np.mean(blob) + 0.05  # the blob drags the state; the person box does not


def test_blob_update_and_no_camera_unchanged():
    """``person`` without a camera (person box = the blob's) gives the same ids and Kalman states as ``blob``."""
    a, b = VariantByteTracker(fps=FPS), VariantByteTracker(fps=FPS, merged_update="person")
    for dets, _ in _passing_behind():
        assert [o.id for o in a.update(dets)] == [o.id for o in b.update(dets)]
        sa = [t.get_state_bbox() for t in a._lib.tracks]
        sb = [t.get_state_bbox() for t in b._lib.tracks]
        assert len(sa) == len(sb) and all(np.array_equal(x, y) for x, y in zip(sa, sb))


def test_bad_merged_update_names_the_parameter():
    assert MERGED_UPDATE_RULES == ("blob", "person")
    with pytest.raises(MaskDepthError, match=r"^merged_update must be one of "):
        VariantByteTracker(merged_update="union")
    assert VariantByteTracker(fps=FPS, camera=CAM, merged_update="person").describe()["merged_update"] == "person"
