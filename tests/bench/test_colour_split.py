"""People in one blob told apart by their clothes (issue 21; ``results/events_colour_split.md``, tried and not adopted):
``VariantByteTracker(colour_split=True)`` shares a merged blob's pixels out among the tracks it holds by their colours
(:func:`maskdepth.scene.blob_people.split_by_colour`)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("trackers")

from benchmarks.tracker_variants import VariantByteTracker  # noqa: E402
from maskdepth.errors import MaskDepthError  # noqa: E402
from maskdepth.scene import box_iou, camera_from_pitch, label_objects  # noqa: E402
from maskdepth.scene.appearance import object_pixels  # noqa: E402
from tests.scene.test_blob_people import BLUE, GREEN, GREY, RED, clothed_frame, crossing_walkers  # noqa: E402

ADOPTED = {"appearance_w": 1.0, "appearance_rule": "contested_complete", "appearance_relink": 0.8, "appearance_whole": 0.7}


def _tracker(**kw):
    """The product's tracker (its colour settings) as the variant, with ``colour_split`` as given."""
    return VariantByteTracker(**{**ADOPTED, **kw})


def _run(tracker, with_frames: bool = True, looks_b=(GREEN, GREY)):
    """Per frame: ``(walker boxes, objects with ids, hidden tracks)``; ``with_frames``: the objects bring their pixels
    (``extra["pixels"]``) and the tracker gets the frame."""
    out = []
    for img, mask, boxes in crossing_walkers(looks_b):
        objs, labels = label_objects(mask)
        if with_frames:
            for o, px in zip(objs, object_pixels(objs, img, labels)):
                o.extra["pixels"] = px
        got = tracker.update(objs, image=img if with_frames else None, labels=labels if with_frames else None)
        out.append((boxes, got, list(tracker.hidden)))
    return out


def test_a_blob_of_two_is_shared_out_between_their_tracks():
    frames = _run(_tracker(fps=10.0, colour_split=True))
    ids = {n: next(o.id for o in frames[5][1] if box_iou(o.bbox, b) > 0.9) for n, b in frames[5][0].items()}
    merged = [f for f in frames if len(f[1]) == 1]
    assert len(merged) >= 5
    measured = 0
    for boxes, objs, hidden in merged:
        listed = [h for h in hidden if h.id == ids["B"]]
        if not listed or listed[0].frames > 0:  # where too little of B shows, it coasts as without the split
            continue
        measured += 1
        assert objs[0].id == ids["A"]  # the blob stands on A's feet (the nearer): its object is A's
        (x0, y0, x1, y1), (bx0, by0, bx1, by1), ax1 = listed[0].bbox, boxes["B"], boxes["A"][2]
        assert bx0 - 1 <= x0 and x1 <= bx1 + 1 and abs(y0 - by0) <= 2 and abs(y1 - by1) <= 2  # inside B's box
        assert x1 - x0 >= (bx1 - max(bx0, ax1 + 1)) - 2  # at least what shows of B beside A
    assert measured >= 3  # the frames where enough of B shows (0 without colour_split)
    boxes, objs, _ = frames[-1]
    assert {n: next(o.id for o in objs if box_iou(o.bbox, b) > 0.9) for n, b in boxes.items()} == ids


def test_no_split_without_the_frame_or_with_it_off_or_for_look_alikes():
    for tracker, with_frames, looks in (
        (_tracker(fps=10.0, colour_split=True), False, (GREEN, GREY)),
        (_tracker(fps=10.0), True, (GREEN, GREY)),  # off by default
        (_tracker(fps=10.0, colour_split=True), True, (RED, BLUE)),  # B dressed as A: colour cannot tell them apart
    ):
        assert all(h.frames > 0 for _, _, hidden in _run(tracker, with_frames, looks) for h in hidden)
    with pytest.raises(MaskDepthError, match="^colour_split goes with split_merged 'off' only"):
        _tracker(colour_split=True, split_merged="wide", camera=camera_from_pitch(600.0, (640, 480), 25.0, 3.0))
    assert _tracker().describe()["colour_split"] is False and _tracker(colour_split=True).describe()["colour_split"] is True
    assert _tracker(appearance_w=0.0, appearance_relink=None, colour_split=True).describe()["colour_split"] is False  # needs colour


def test_object_pixels_are_each_components_or_its_box():
    img, mask = clothed_frame([((10, 10, 29, 59), RED, BLUE), ((50, 10, 69, 59), GREEN, GREY)], np.random.default_rng(3))
    objs, labels = label_objects(mask)
    (x0, y0, crop, m), _ = object_pixels(objs, img, labels)
    assert (x0, y0) == (10, 10) and crop.shape == (50, 20, 3) and m.all()
    assert object_pixels(objs, img)[1][3].all()
    with pytest.raises(ValueError, match="labels"):
        object_pixels(objs, img, labels[:-1])
