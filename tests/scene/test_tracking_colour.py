"""The adopted tracker's colour (issue 21; ``results/events_appearance.md``, the fifth experiment): given the frame, the
product's :class:`ByteTracker` keeps two people apart by their clothes where their blob splits, and gives a lost id back;
without the frame it is the tracker without colour."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("trackers")

from maskdepth.errors import MaskDepthError  # noqa: E402
from maskdepth.scene import label_objects  # noqa: E402
from maskdepth.scene.appearance import bhattacharyya, object_colours  # noqa: E402
from maskdepth.scene.tracking import ByteTracker, make_tracker  # noqa: E402

LOOKS = {"A": ((200, 30, 30), (30, 30, 160)), "B": ((120, 120, 120), (40, 40, 40))}
H, W = 200, 260


def _clip(speed: int = 3, stay: int = 5, looks: dict = LOOKS):
    """``[(frame uint8 (H, W, 3), mask bool (H, W), {walker: box})]``: A walks right and B walks left along one row, they
    meet and stand as one blob for ``stay`` frames, then each turns back the way it came (B's coasting prediction has
    moved on towards where A leaves: a tracker without colour swaps them)."""
    rng = np.random.default_rng(3)
    meet = 100
    path = [(meet - speed * (10 - k), meet + 10 + speed * (10 - k)) for k in range(10)] + [(meet, meet + 10)] * stay
    path += [(meet - speed * k, meet + 10 + speed * k) for k in range(1, 15)]
    out = []
    for xa, xb in path:
        img = np.full((H, W, 3), 90, np.float64)
        mask = np.zeros((H, W), bool)
        boxes = {}
        for n, x in (("B", xb), ("A", xa)):  # A in front
            x0, x1 = x - 10, x + 10
            img[100:130, x0 : x1 + 1] = looks[n][0]
            img[130:161, x0 : x1 + 1] = looks[n][1]
            mask[100:161, x0 : x1 + 1] = True
            boxes[n] = (x0, 100, x1, 160)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        out.append((img, mask, boxes))
    return out


def _walker(obj, boxes: dict) -> str | None:
    return next((n for n, b in boxes.items() if tuple(int(v) for v in obj.bbox) == b), None)


def _ids(tracker, with_frames: bool) -> tuple[dict, dict]:
    """Walker -> id at frame 5 and at the last frame where both are seen apart."""
    before = after = {}
    for k, (img, mask, boxes) in enumerate(_clip()):
        objs, labels = label_objects(mask)
        got = tracker.update(objs, image=img if with_frames else None, labels=labels if with_frames else None)
        seen = {_walker(o, boxes): o.id for o in got}
        if k == 5:
            before = seen
        if None not in seen and len(seen) == 2:
            after = seen
    return before, after


def test_colour_from_the_frame_keeps_the_ids_where_people_part():
    before, after = _ids(ByteTracker(fps=10.0), with_frames=True)
    assert before == {"A": 1, "B": 2} and after == before


def test_without_the_frame_it_is_the_tracker_without_colour():
    before, after = _ids(ByteTracker(fps=10.0), with_frames=False)
    assert after == {"A": 2, "B": 1}  # each track followed its prediction onto the other walker
    off = ByteTracker(fps=10.0, appearance_w=0.0, appearance_relink=None)
    assert _ids(off, with_frames=True) == (before, after)  # colour off: the frames change nothing


def test_relinking_is_what_gives_the_parted_walker_its_id_back():
    """Colour in the matching alone stops the swap, but B's coasting track is lost meanwhile: relinking by colour
    gives its id back (``appearance_relink``, on by default)."""
    _, after = _ids(ByteTracker(fps=10.0, appearance_relink=None), with_frames=True)
    assert after["A"] == 1 and after["B"] not in (1, 2)


def test_object_colours_use_each_component_or_its_box():
    img, mask, boxes = _clip()[0]
    objs, labels = label_objects(mask)
    a, b = object_colours(objs, img, labels)
    assert bhattacharyya(a, b) < 0.2 and bhattacharyya(a, a) == pytest.approx(1.0, abs=1e-6)
    assert len(object_colours(objs, img)) == 2  # the boxes' pixels
    with pytest.raises(ValueError, match="labels"):
        object_colours(objs, img, labels[:-1])


def test_colour_settings_are_checked_and_described():
    with pytest.raises(MaskDepthError, match=r"^appearance_w must be a number in \[0, 1\]"):
        ByteTracker(appearance_w=1.5)
    with pytest.raises(MaskDepthError, match="^appearance_relink must be a number"):
        ByteTracker(appearance_relink=0.0)
    d = make_tracker(fps=10.0).describe()
    assert (d["appearance_w"], d["appearance_relink"], d["appearance_whole"], d["appearance_rate"]) == (1.0, 0.8, 0.7, 0.2)
