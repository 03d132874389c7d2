"""People in one blob told apart by their clothes (:mod:`maskdepth.scene.blob_people`) and the tracker's
``colour_boxes``: the box a track on a merged blob reports from its share of the blob's pixels."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.scene import box_iou, label_objects
from maskdepth.scene.appearance import colour_descriptor, object_colours, object_pixels
from maskdepth.scene.blob_people import boxes_apart, distinct_colours, split_by_colour

H, W = 200, 240
RED, BLUE, GREEN, GREY = (200, 30, 30), (30, 30, 150), (30, 190, 40), (110, 110, 110)


def _paint(img, box, shirt, trousers):
    x0, y0, x1, y1 = box
    mid = (y0 + y1 + 1) // 2
    img[y0:mid, x0 : x1 + 1] = shirt
    img[mid : y1 + 1, x0 : x1 + 1] = trousers


def clothed_frame(people, rng):
    """uint8 frame and bool mask of ``people`` (``[(box, shirt, trousers)]``, drawn in order: the last in front)."""
    img = np.full((H, W, 3), 90, np.float64)
    mask = np.zeros((H, W), bool)
    for box, shirt, trousers in people:
        _paint(img, box, shirt, trousers)
        mask[box[1] : box[3] + 1, box[0] : box[2] + 1] = True
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8), mask


def crossing_walkers(looks_b=(GREEN, GREY), frames: int = 30):
    """A (red/blue) walks right, B walks left behind it (B's feet 30 px higher); they overlap from frame 12 to 19 (one
    blob), then part. Yields ``(frame, mask, {walker: box})``."""
    rng = np.random.default_rng(2)
    for k in range(frames):
        xa, xb = 20 + 4 * k, 200 - 4 * k
        a, b = (xa, 40, xa + 30, 170), (xb, 20, xb + 30, 140)
        img, mask = clothed_frame([(b, *looks_b), (a, RED, BLUE)], rng)
        yield img, mask, {"A": a, "B": b}


def test_split_by_colour_gives_each_person_their_pixels():
    rng = np.random.default_rng(0)
    front, back = (60, 20, 99, 179), (85, 40, 124, 169)
    img, mask = clothed_frame([(back, GREEN, GREY), (front, RED, BLUE)], rng)
    alone_f, m_f = clothed_frame([(front, RED, BLUE)], rng)
    alone_b, m_b = clothed_frame([(back, GREEN, GREY)], rng)
    people = [(colour_descriptor(alone_f, m_f), front, (40.0, 160.0)), (colour_descriptor(alone_b, m_b), back, (40.0, 130.0))]
    got_f, got_b = split_by_colour(img, mask, (0, 0), people)
    assert box_iou(got_f, front) > 0.9
    assert box_iou(got_b, back) > 0.85  # what shows of the one behind, widened to its width seen alone on the cut side
    narrow = split_by_colour(img, mask, (0, 0), [(d, box, None) for d, box, _ in people])[1]
    assert narrow[0] >= 98 and box_iou(narrow, (100, 40, 124, 169)) > 0.85  # its size unknown: what shows
    # a crop at an offset gives the same boxes, shifted
    x0, y0 = 50, 10
    shifted = split_by_colour(img[y0:, x0:], mask[y0:, x0:], (x0, y0), people)
    assert np.allclose(shifted[0], got_f) and np.allclose(shifted[1], got_b)
    assert boxes_apart([got_f, got_b]) and not boxes_apart([got_f, front])
    assert distinct_colours([p[0] for p in people]) and not distinct_colours([people[0][0], people[0][0]])


def test_a_person_given_too_few_pixels_gets_no_box_and_bad_input_is_refused():
    rng = np.random.default_rng(1)
    box = (60, 20, 99, 179)
    img, mask = clothed_frame([(box, RED, BLUE)], rng)
    other, m = clothed_frame([(box, GREEN, GREY)], rng)
    people = [(colour_descriptor(img, mask), box, None), (colour_descriptor(other, m), box, None)]
    got = split_by_colour(img, mask, (0, 0), people)
    assert got[1] is None and box_iou(got[0], box) > 0.9
    assert split_by_colour(img, np.zeros_like(mask), (0, 0), people) == [None, None]
    with pytest.raises(ValueError, match="uint8"):
        split_by_colour(img.astype(np.float32), mask, (0, 0), people)
    with pytest.raises(ValueError, match="mask"):
        split_by_colour(img, mask[:-1], (0, 0), people)


def _track(tracker, with_frames: bool = True, looks_b=(GREEN, GREY), bring_pixels: bool = False):
    """Per frame ``(walker boxes, objects with ids, hidden tracks, person boxes)``; ``with_frames``: the tracker gets the
    frame and its labels; ``bring_pixels``: the objects bring their pixels and colours instead (``extra``)."""
    out = []
    for img, mask, boxes in crossing_walkers(looks_b):
        objs, labels = label_objects(mask)
        if bring_pixels:
            for o, px, c in zip(objs, object_pixels(objs, img, labels), object_colours(objs, img, labels)):
                o.extra.update(pixels=px, appearance=c)
        got = tracker.update(objs, image=img if with_frames else None, labels=labels if with_frames else None)
        out.append((boxes, got, list(tracker.hidden), dict(tracker.person_boxes)))
    return out


def _ids(run) -> list:
    return [([o.id for o in objs], [(h.id, h.bbox, h.frames) for h in hidden]) for _, objs, hidden, _ in run]


def test_colour_boxes_give_the_track_on_a_blob_its_own_box_and_change_nothing_else():
    pytest.importorskip("trackers")
    from maskdepth.scene.tracking import ByteTracker

    plain, coloured = _track(ByteTracker(fps=10.0, colour_boxes=False)), _track(ByteTracker(fps=10.0))  # on by default
    assert _ids(plain) == _ids(coloured)  # output only: the ids and the hidden tracks are the same
    a_id = next(o.id for o in plain[5][1] if box_iou(o.bbox, plain[5][0]["A"]) > 0.9)
    measured = 0
    for (boxes, objs, hidden, before), (_, _, _, after) in zip(plain, coloured):
        if len(objs) != 1 or not hidden or objs[0].id != a_id:  # A's track on the blob that hides B's
            continue
        assert box_iou(before[a_id], boxes["A"]) < 0.8  # without a camera: the blob's box
        if after[a_id] != before[a_id]:
            measured += 1
            assert box_iou(after[a_id], boxes["A"]) > 0.85
    assert measured >= 3
    assert _ids(_track(ByteTracker(fps=10.0), with_frames=False, bring_pixels=True)) == _ids(plain)
    assert [p for *_, p in _track(ByteTracker(fps=10.0), with_frames=False, bring_pixels=True)] == [
        p for *_, p in coloured
    ]  # the pixels the objects bring are the frame's


def test_no_colour_boxes_without_pixels_or_colour_or_for_look_alikes():
    pytest.importorskip("trackers")
    from maskdepth.scene.tracking import ByteTracker

    assert [p for *_, p in _track(ByteTracker(fps=10.0), with_frames=False)] == [
        p for *_, p in _track(ByteTracker(fps=10.0, colour_boxes=False), with_frames=False)
    ]
    same = [p for *_, p in _track(ByteTracker(fps=10.0), looks_b=(RED, BLUE))]
    assert same == [p for *_, p in _track(ByteTracker(fps=10.0, colour_boxes=False), looks_b=(RED, BLUE))]  # colour cannot tell them apart
    off = ByteTracker(fps=10.0, appearance_w=0.0, appearance_relink=None)  # no colour: no colour boxes
    assert off.describe()["colour_boxes"] is False
    assert [p for *_, p in _track(off)] == [
        p for *_, p in _track(ByteTracker(fps=10.0, appearance_w=0.0, appearance_relink=None, colour_boxes=False))
    ]
    assert ByteTracker().describe()["colour_boxes"] is True and ByteTracker(colour_boxes=False).describe()["colour_boxes"] is False
    with pytest.raises(MaskDepthError, match="true or false"):
        ByteTracker(colour_boxes="yes")


def test_hidden_colour_boxes_give_the_hidden_person_its_share_of_the_blob_and_change_nothing_else():
    pytest.importorskip("trackers")
    from maskdepth.scene.tracking import ByteTracker, hidden_object

    plain, coloured = _track(ByteTracker(fps=10.0, hidden_colour_boxes=False)), _track(ByteTracker(fps=10.0))  # on by default
    assert _ids(plain) == _ids(coloured)  # output only: ids, hidden tracks and their predicted boxes are the same
    assert [p for *_, p in plain] == [p for *_, p in coloured]  # and the person boxes of the matched tracks
    assert all(h.person_bbox is None for _, _, hidden, _ in plain for h in hidden)  # off: none
    b_id = next(o.id for o in plain[5][1] if box_iou(o.bbox, plain[5][0]["B"]) > 0.9)
    measured = 0
    for boxes, _, hidden, _ in coloured:
        for h in hidden:
            assert h.id == b_id  # B, behind A, is the one hidden
            if h.person_bbox is not None:
                measured += 1
                assert box_iou(h.person_bbox, boxes["B"]) > 0.85  # (walking straight, its Kalman box is as good here)
                o = hidden_object(h)
                assert o.bbox == tuple(int(round(v)) for v in h.bbox) and o.extra["person_bbox"] == h.person_bbox
    assert measured >= 3
    assert ByteTracker(hidden_colour_boxes=True).describe()["hidden_colour_boxes"] is True
    assert ByteTracker(hidden_colour_boxes=True, colour_boxes=False).describe()["hidden_colour_boxes"] is False
    with pytest.raises(MaskDepthError, match="true or false"):
        ByteTracker(hidden_colour_boxes=1)
