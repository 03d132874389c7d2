"""People in one blob told apart by their clothes (issue 21; ``results/events_colour_split.md``, tried and not adopted):
``VariantByteTracker(colour_split=True)`` shares a merged blob's pixels out among the tracks it holds by their colours
(:func:`benchmarks.colour_split.split_by_colour`)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("trackers")

from benchmarks.colour_split import split_by_colour  # noqa: E402
from benchmarks.tracker_variants import VariantByteTracker  # noqa: E402
from maskdepth.errors import MaskDepthError  # noqa: E402
from maskdepth.scene import box_iou, camera_from_pitch, label_objects  # noqa: E402
from maskdepth.scene.appearance import colour_descriptor, object_pixels  # noqa: E402

ADOPTED = {"appearance_w": 1.0, "appearance_rule": "contested_complete", "appearance_relink": 0.8, "appearance_whole": 0.7}


def _tracker(**kw):
    """The product's tracker (its colour settings) as the variant, with ``colour_split`` as given."""
    return VariantByteTracker(**{**ADOPTED, **kw})


H, W = 200, 240
RED, BLUE, GREEN, GREY = (200, 30, 30), (30, 30, 150), (30, 190, 40), (110, 110, 110)


def _paint(img, box, shirt, trousers):
    x0, y0, x1, y1 = box
    mid = (y0 + y1 + 1) // 2
    img[y0:mid, x0 : x1 + 1] = shirt
    img[mid : y1 + 1, x0 : x1 + 1] = trousers


def _frame(people, rng):
    """uint8 frame and bool mask of ``people`` (``[(box, shirt, trousers)]``, drawn in order: the last in front)."""
    img = np.full((H, W, 3), 90, np.float64)
    mask = np.zeros((H, W), bool)
    for box, shirt, trousers in people:
        _paint(img, box, shirt, trousers)
        mask[box[1] : box[3] + 1, box[0] : box[2] + 1] = True
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8), mask


def test_split_by_colour_gives_each_person_their_pixels():
    rng = np.random.default_rng(0)
    front, back = (60, 20, 99, 179), (85, 40, 124, 169)
    img, mask = _frame([(back, GREEN, GREY), (front, RED, BLUE)], rng)
    alone_f, m_f = _frame([(front, RED, BLUE)], rng)
    alone_b, m_b = _frame([(back, GREEN, GREY)], rng)
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


def test_a_person_given_too_few_pixels_gets_no_box_and_bad_input_is_refused():
    rng = np.random.default_rng(1)
    box = (60, 20, 99, 179)
    img, mask = _frame([(box, RED, BLUE)], rng)
    other, m = _frame([(box, GREEN, GREY)], rng)
    people = [(colour_descriptor(img, mask), box, None), (colour_descriptor(other, m), box, None)]
    got = split_by_colour(img, mask, (0, 0), people)
    assert got[1] is None and box_iou(got[0], box) > 0.9
    assert split_by_colour(img, np.zeros_like(mask), (0, 0), people) == [None, None]
    with pytest.raises(ValueError, match="uint8"):
        split_by_colour(img.astype(np.float32), mask, (0, 0), people)
    with pytest.raises(ValueError, match="mask"):
        split_by_colour(img, mask[:-1], (0, 0), people)


def _walk(looks_b=(GREEN, GREY), frames: int = 30):
    """A (red/blue) walks right, B walks left behind it (B's feet 30 px higher); they overlap from frame 12 to 19 (one
    blob), then part. Yields ``(frame, mask, {walker: box})``."""
    rng = np.random.default_rng(2)
    for k in range(frames):
        xa, xb = 20 + 4 * k, 200 - 4 * k
        a, b = (xa, 40, xa + 30, 170), (xb, 20, xb + 30, 140)
        img, mask = _frame([(b, *looks_b), (a, RED, BLUE)], rng)
        yield img, mask, {"A": a, "B": b}


def _run(tracker, with_frames: bool = True, looks_b=(GREEN, GREY)):
    """Per frame: ``(walker boxes, objects with ids, hidden tracks)``; ``with_frames``: the objects bring their pixels
    (``extra["pixels"]``) and the tracker gets the frame."""
    out = []
    for img, mask, boxes in _walk(looks_b):
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
    img, mask = _frame([((10, 10, 29, 59), RED, BLUE), ((50, 10, 69, 59), GREEN, GREY)], np.random.default_rng(3))
    objs, labels = label_objects(mask)
    (x0, y0, crop, m), _ = object_pixels(objs, img, labels)
    assert (x0, y0) == (10, 10) and crop.shape == (50, 20, 3) and m.all()
    assert object_pixels(objs, img)[1][3].all()
    with pytest.raises(ValueError, match="labels"):
        object_pixels(objs, img, labels[:-1])
