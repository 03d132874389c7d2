"""People in one blob (benchmarks.tracker_variants.VariantByteTracker(split_merged=...), benchmarks.merged_split): with a camera,
a blob clearly wider (or, seen from above, taller) in metres than one person, carrying at most one track and no hidden
track, is split into two people, the second listed in ``hidden`` with ``frames`` 0; nothing else gets an extra track."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.merged_split import PERSON_SIZE_M, SPLIT_MERGED_RULES, blob_size_m, split_boxes, two_people
from maskdepth.errors import MaskDepthError
from maskdepth.events.synthetic import walker_object
from maskdepth.scene import box_iou
from maskdepth.scene.objects import SceneObject

pytest.importorskip("trackers")
from benchmarks.tracker_variants import VariantByteTracker  # noqa: E402
from tests.scene.test_tracking_hidden import CAM, FPS, _passing_behind, _union  # noqa: E402


def _box_object(box) -> SceneObject:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return SceneObject(
        id=0,
        bbox=(x0, y0, x1, y1),
        area_px=(x1 - x0 + 1) * (y1 - y0 + 1),
        centroid=(0.5 * (x0 + x1), 0.5 * (y0 + y1)),
        contact_px=(0.5 * (x0 + x1), float(y1)),
        top_px=None,
    )


def _side_by_side(gap_m: float = 0.4, n: int = 50) -> list[tuple[list, dict]]:
    """Two walkers ``gap_m`` apart (centre to centre, across the view) entering together at 10 m and walking towards the
    camera at 1 m/s: their boxes overlap in every frame, so the detections are one blob, their union."""
    frames = []
    for k in range(n):
        a, b = walker_object(CAM, (-gap_m / 2, 10.0 - k / FPS), 0), walker_object(CAM, (gap_m / 2, 10.0 - k / FPS), 0)
        truth = {"A": a.bbox, "B": b.bbox}
        a.bbox = _union(a.bbox, b.bbox)
        frames.append(([a], truth))
    return frames


def _people(rule, frames, camera=CAM) -> tuple[set, list]:
    """The ids a tracker with ``rule`` gives (the objects' and the listed hidden tracks'), and per frame the output boxes
    ``[(box, id)]`` (the person boxes and the hidden tracks' boxes, as the benchmark scores them)."""
    tr = VariantByteTracker(fps=FPS, camera=camera, split_merged=rule)
    ids, out = set(), []
    for dets, _ in frames:
        objs = tr.update(dets)
        seen = [(tr.person_boxes.get(o.id, o.bbox), o.id) for o in objs if o.id] + [(h.bbox, h.id) for h in tr.hidden]
        ids |= {i for _, i in seen}
        out.append(seen)
    return ids, out


def test_two_walkers_entering_side_by_side_get_two_tracks():
    frames = _side_by_side()
    assert blob_size_m(CAM, frames[0][0][0].bbox)[0] > 1.5 * PERSON_SIZE_M[0]  # one blob, 0.9 m wide
    off, _ = _people("off", frames)
    assert len(off) == 1  # without the rule: one blob, one track
    for rule in ("wide", "wide_tall"):
        ids, out = _people(rule, frames)
        assert len(ids) == 2
        # after the first frames, each walker has its own box (IoU >= 0.5) with a stable id of its own
        matched = {"A": set(), "B": set()}
        for (_, truth), seen in list(zip(frames, out))[3:]:
            for name in ("A", "B"):
                best = max(seen, key=lambda s: box_iou(tuple(int(round(v)) for v in s[0]), truth[name]))
                assert box_iou(tuple(int(round(v)) for v in best[0]), truth[name]) >= 0.5
                matched[name].add(best[1])
        assert len(matched["A"]) == len(matched["B"]) == 1 and matched["A"] != matched["B"]
    ids, _ = _people("tall", frames)  # side by side is not taller than one person
    assert len(ids) == 1


def test_the_default_does_not_split_and_wide_splits_side_by_side():
    assert VariantByteTracker(fps=FPS, camera=CAM).split_merged == "off"  # results/events_split_recheck.md
    assert len(_people(None, _side_by_side())[0]) == 1
    assert len(_people("wide", _side_by_side())[0]) == 2


def test_the_second_person_is_listed_hidden_with_frames_0():
    tr = VariantByteTracker(fps=FPS, camera=CAM, split_merged="wide")
    for dets, _ in _side_by_side():
        objs = tr.update(dets)
    assert [h.frames for h in tr.hidden] == [0] and tr.hidden[0].id != objs[0].id
    assert sorted(tr.person_boxes) == [objs[0].id]  # the blob's object keeps the first person's id and box


def test_a_single_walker_gets_no_extra_track():
    frames = [([walker_object(CAM, (0.3 * np.sin(k / 5), 10.0 - k / FPS), 0)], {}) for k in range(50)]
    for rule in SPLIT_MERGED_RULES:
        ids, _ = _people(rule, frames)
        assert len(ids) == 1, rule


def test_a_walker_broken_into_stacked_pieces_gets_no_extra_track():
    """The mask of one walker at times in 2-3 horizontal bands (each a detection), at times whole."""
    frames = []
    for k in range(60):
        x0, y0, x1, y1 = walker_object(CAM, (0.0, 9.0 - k / FPS), 0).bbox
        if k % 6 < 3:
            cuts = [y0, y0 + 0.35 * (y1 - y0), y0 + 0.7 * (y1 - y0), y1]
            frames.append(([_box_object((x0, a + 2, x1, b - 2)) for a, b in zip(cuts, cuts[1:])], {}))
        else:
            frames.append(([_box_object((x0, y0, x1, y1))], {}))
    off, _ = _people("off", frames)
    for rule in SPLIT_MERGED_RULES:
        ids, _ = _people(rule, frames)
        assert len(ids) == len(off), rule


def test_a_spurious_wide_but_short_blob_gets_no_extra_track():
    """A still blob on the floor 1.2 m wide and 0.5 m tall (a bench, a shadow): wider than a person, not as tall as one."""
    z = float(CAM.floor_depth(320.0, 400.0))
    w, h = 1.2 * CAM.focal_px / z, 0.5 * CAM.focal_px / z
    frames = [([_box_object((320.0 - w / 2, 400.0 - h, 320.0 + w / 2, 400.0))], {}) for _ in range(40)]
    size = blob_size_m(CAM, frames[0][0][0].bbox)
    assert size[0] > 1.5 * PERSON_SIZE_M[0] and two_people("wide_tall", size, PERSON_SIZE_M) is None
    for rule in SPLIT_MERGED_RULES:
        ids, _ = _people(rule, frames)
        assert len(ids) == 1, rule


def test_a_blob_with_a_hidden_track_is_left_to_the_hidden_tracks():
    """Two walkers seen apart, then merged (one passing behind the other): two known tracks, no split."""
    frames = _passing_behind()
    tr_off, tr_on = (
        VariantByteTracker(fps=FPS, camera=CAM, split_merged="off"),
        VariantByteTracker(fps=FPS, camera=CAM, split_merged="wide_tall"),
    )
    for dets, _ in frames:
        a, b = tr_off.update(dets), tr_on.update(dets)
        assert [o.id for o in a] == [o.id for o in b]
        assert tr_off.hidden == tr_on.hidden and tr_off.person_boxes == tr_on.person_boxes


def test_split_boxes_lie_inside_the_blob():
    frames = _side_by_side()
    d = np.asarray(frames[0][0][0].bbox, float)
    for kind in ("wide", "tall"):
        for first_left in (True, False):
            b = split_boxes(CAM, d, kind, PERSON_SIZE_M, first_left)
            assert b.shape == (2, 4)
            assert np.all(b[:, 0] >= d[0] - 1e-9) and np.all(b[:, 2] <= d[2] + 1e-9)
            assert np.all(b[:, 1] >= d[1] - 1e-9) and np.all(b[:, 3] <= d[3] + 1e-9)
            assert np.all(b[:, 2] > b[:, 0]) and np.all(b[:, 3] > b[:, 1])


def test_no_camera_behaviour_is_unchanged():
    frames = _side_by_side()
    assert VariantByteTracker(fps=FPS).split_merged == "off" and VariantByteTracker(fps=FPS).describe()["split_merged"] == "off"
    ids, _ = _people(None, frames, camera=None)
    assert len(ids) == 1  # one blob, one track, as before the rule
    with pytest.raises(MaskDepthError, match=r"^split_merged needs a camera"):
        VariantByteTracker(fps=FPS, split_merged="wide")
    with pytest.raises(MaskDepthError, match=r"^split_merged must be one of "):
        VariantByteTracker(fps=FPS, camera=CAM, split_merged="both")


def test_an_unlisted_walker_in_a_wide_blob_keeps_its_id():
    """B passing behind A, its track never listed (``hidden_min_hits`` 1000): when the blob is as wide as two people the
    split gives B's piece back to B's own track, not to a new one."""
    tr, ids, split = VariantByteTracker(fps=FPS, camera=CAM, hidden_min_hits=1000, hidden_tall_m=None, split_merged="wide"), {}, []
    for dets, truth in _passing_behind():
        objs = tr.update(dets)
        if len(dets) == 2:
            for o in objs:
                ids["A" if box_iou(o.bbox, truth["A"]) > box_iou(o.bbox, truth["B"]) else "B"] = o.id
        split += [h.id for h in tr.hidden if h.frames == 0]
    assert split and set(split) == {ids["B"]}
