"""Hidden tracks of the adopted tracker (maskdepth.scene.tracking.ByteTracker.hidden): a walker inside another's
merged blob keeps its id and a predicted box; the events engine gets it (maskdepth.events.pipeline.hidden_objects)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.events.synthetic import walker_object
from maskdepth.scene import Tracker, box_iou, camera_from_pitch

pytest.importorskip("trackers")
from maskdepth.events.pipeline import hidden_objects  # noqa: E402
from maskdepth.scene.tracking import ByteTracker, HiddenTrack, covered_fraction, hidden_object, make_tracker  # noqa: E402

CAM = camera_from_pitch(600.0, (640, 480), 25.0, 3.0)  # CCTV-like: 3 m high, pitch 25 deg
FPS = 10.0


def _union(a, b):
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _passing_behind(n: int = 80) -> list[tuple[list, dict]]:
    """A (nearer, 5 m, walking right) and B (farther, 6 m, walking left) at 1 m/s: while their boxes overlap the
    detections have one box, their union (as one mask component). Per frame ``(detections, {name: exact box, "xB":
    B's floor x})``."""
    frames = []
    for k in range(n):
        x = -4.0 + k / FPS
        a, b = walker_object(CAM, (x, 5.0), 0), walker_object(CAM, (-x, 6.0), 0)
        if a is None or b is None:
            continue
        truth = {"A": a.bbox, "B": b.bbox, "xB": -x}
        if a.bbox[0] <= b.bbox[2] and b.bbox[0] <= a.bbox[2]:
            a.bbox = _union(a.bbox, b.bbox)
            frames.append(([a], truth))
        else:
            frames.append(([a, b], truth))
    return frames


def test_a_walker_hidden_in_a_merged_blob_is_listed_at_its_predicted_box():
    frames = _passing_behind()
    merged = [k for k, (dets, _) in enumerate(frames) if len(dets) == 1]
    assert len(merged) >= 5  # the clip does merge for a while
    tr = ByteTracker(fps=FPS, camera=CAM)
    ids, hidden_iou = {}, []
    for k, (dets, truth) in enumerate(frames):
        out = tr.update(dets)
        if k < merged[0]:  # before the merge: each walker is seen; remember its id
            for o in out:
                ids["A" if box_iou(o.bbox, truth["A"]) > box_iou(o.bbox, truth["B"]) else "B"] = o.id
            assert tr.hidden == []
        elif k in merged:
            assert [h.id for h in tr.hidden] == [ids["B"]]  # the farther walker, never the one the blob follows
            assert out[0].id == ids["A"]
            hidden_iou.append(box_iou(tuple(int(round(v)) for v in tr.hidden[0].bbox), truth["B"]))
        elif k > merged[-1] + 1:  # after the split: B is seen again with its own id
            assert tr.hidden == [] and sorted(o.id for o in out) == sorted(ids.values())
    assert min(hidden_iou) >= 0.5, hidden_iou  # the constant-velocity prediction follows the hidden walker


def test_hidden_s_zero_lists_none_and_ids_are_unchanged():
    frames = _passing_behind()
    a, b = ByteTracker(fps=FPS, camera=CAM), ByteTracker(fps=FPS, camera=CAM, hidden_s=0.0)
    for dets, _ in frames:
        assert [o.id for o in a.update(dets)] == [o.id for o in b.update(dets)]  # listing changes no association
        assert b.hidden == []


def test_a_missed_frame_coasts_for_coast_frames_only():
    frames = _passing_behind()
    tr = ByteTracker(fps=FPS, camera=CAM)
    for dets, _ in frames[:10]:
        tr.update(dets)
    tr.update([frames[10][0][0]])  # B's detection missed, far from A's: not hidden, but coasting one frame
    assert len(tr.hidden) == 1 and tr.hidden[0].frames == 1
    tr.update([frames[11][0][0]])  # a second missed frame: no longer listed (coast_frames = 1)
    assert tr.hidden == []
    tr0 = ByteTracker(fps=FPS, camera=CAM, coast_frames=0)
    for dets, _ in frames[:10]:
        tr0.update(dets)
    tr0.update([frames[10][0][0]])
    assert tr0.hidden == []


def test_covered_fraction_and_hidden_object():
    boxes = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [100, 100, 110, 110]], float)
    np.testing.assert_allclose(covered_fraction(boxes, np.array([[0, 0, 10, 10]], float)), [1.0, 0.25, 0.0])
    assert covered_fraction(boxes, np.empty((0, 4))).tolist() == [0.0, 0.0, 0.0]
    o = hidden_object(HiddenTrack(7, (10.4, 20.0, 30.6, 80.2), 3))
    assert o.id == 7 and o.bbox == (10, 20, 31, 80) and o.contact_px == (20.5, 80.0)
    assert o.reason == "hidden" and o.depth_source == "predicted" and o.distance_m is None


def test_hidden_objects_for_the_engine():
    assert hidden_objects(None) == [] and hidden_objects(Tracker()) == []  # trackers without hidden tracks
    tr = ByteTracker(fps=FPS, camera=CAM)
    frames = _passing_behind()
    merged = next(k for k, (dets, _) in enumerate(frames) if len(dets) == 1)
    for dets, _ in frames[: merged + 2]:
        tr.update(dets)
    objs = hidden_objects(tr)
    assert [o.id for o in objs] == [h.id for h in tr.hidden] and len(objs) == 1


def test_bad_hidden_settings_name_the_parameter():
    with pytest.raises(MaskDepthError, match=r"^hidden_cover must be a number in \(0, 1\]"):
        ByteTracker(hidden_cover=0.0)
    with pytest.raises(MaskDepthError, match=r"^hidden_s must be a number in \[0, inf\]"):
        ByteTracker(hidden_s=-1.0)
    with pytest.raises(MaskDepthError, match=r"^coast_frames must be an integer >= 0"):
        ByteTracker(coast_frames=-1)


def test_without_a_camera_pairs_need_a_larger_overlap():
    d = make_tracker("bytetrack", camera=None).describe()
    assert d["min_similarity"] == 0.3 and d["lost_s"] == 3.0 and d["hidden_s"] == 2.0 and d["coast_frames"] == 1


def test_a_zone_entered_while_hidden_counts_in_the_event_stream():
    from maskdepth.events.pipeline import open_events
    from maskdepth.events.zones import parse_zones

    frames = _passing_behind()
    xs = [truth["xB"] for dets, truth in frames if len(dets) == 1]  # B's floor x while merged (hidden)
    lo, hi = min(xs) + 0.05, max(xs) - 0.05
    assert hi - lo >= 0.25  # at least 3 frames inside: the zone's inertia
    zones = parse_zones({"zones": [{"name": "nook", "polygon_floor_m": [[lo, 5.7], [hi, 5.7], [hi, 6.3], [lo, 6.3]]}]}, camera=CAM)
    entered = {}
    for hidden_s in (2.0, 0.0):  # hidden tracks go to the engine; with none listed, B never stands in the zone
        tr, ev = ByteTracker(fps=FPS, camera=CAM, hidden_s=hidden_s), open_events(None, zones=zones, camera=CAM, fps=FPS)
        events = []
        for k, (dets, _) in enumerate(frames):
            out = tr.update(dets)
            events += ev.step(out, k, tracker=tr)[0]
        ev.close()
        entered[hidden_s] = [e["id"] for e in events if e["type"] == "zone_enter"]
    assert len(entered[2.0]) == 1 and entered[0.0] == []


def _broken_walker(split: range, n: int = 40) -> list[list]:
    """One walker (5 m away, walking right at 1 m/s) whose detection is two pieces (the upper third of its box and the
    rest, 4 rows apart, as a broken-up mask) in the frames of ``split`` and one box elsewhere."""
    frames = []
    for k in range(n):
        o = walker_object(CAM, (-1.5 + k / FPS, 5.0), 0)
        if k in split:
            x0, y0, x1, y1 = o.bbox
            mid = y0 + (y1 - y0) // 3
            top, bottom = copy.copy(o), o
            top.bbox, bottom.bbox = (x0, y0, x1, mid - 2), (x0, mid + 2, x1, y1)
            full = o.height_m  # each piece measures its own height, as extract_objects does (about 0.5 m and 1.1 m)
            top.height_m, bottom.height_m = (full * (b[3] - b[1]) / (y1 - y0) for b in (top.bbox, bottom.bbox))
            frames.append([bottom, top])
        else:
            frames.append([o])
    return frames


@pytest.mark.parametrize("camera", [CAM, None])
def test_a_fragment_inside_its_persons_blob_is_not_listed(camera):
    frames = _broken_walker(range(15, 19))  # split for 4 frames: the upper piece gets a track of its own
    listed = {}
    for min_hits in (None, 0):  # the default rule, and listing any confirmed track (the previous default)
        tr = ByteTracker(fps=FPS, camera=camera) if min_hits is None else ByteTracker(fps=FPS, camera=camera, hidden_min_hits=0)
        listed[min_hits], ids = [], set()
        for dets in frames:
            ids |= {o.id for o in tr.update(dets) if o.id}
            listed[min_hits] += [h.id for h in tr.hidden]
        assert len(ids) == 2  # the upper piece was confirmed as a second track
    assert listed[0]  # the scenario lists the fragment without the rule: after the split it lies inside the whole blob
    assert listed[None] == []  # with it, nobody is invented where one person is


def test_hidden_min_hits_keeps_a_walker_hidden_by_another():
    tr = ByteTracker(fps=FPS, camera=CAM)
    assert tr.hidden_min_hits == 10  # B is seen for more frames than that before A's blob hides it
    listed = []
    for dets, _ in _passing_behind():
        tr.update(dets)
        listed += [h.id for h in tr.hidden]
    assert listed and len(set(listed)) == 1
    late = ByteTracker(fps=FPS, camera=CAM, hidden_min_hits=1000, hidden_tall_m=None)  # the rule does act on this clip
    for dets, _ in _passing_behind():
        late.update(dets)
        assert late.hidden == []


def test_without_a_camera_a_detection_overlapping_a_lost_track_by_iou_0_27_starts_a_new_track():
    """The no-camera gate (0.3, chosen by ``--no-camera-settings``): a still box that jumps to IoU 0.27 with its track's
    predicted box is not taken by the track; with the previous gate (0.2) it is."""

    def last_id(**settings):
        tr = make_tracker("bytetrack", fps=FPS, camera=None, **settings)
        still = copy.deepcopy(walker_object(CAM, (0.0, 5.0), 0))
        still.bbox = (100, 100, 199, 199)
        for _ in range(6):
            first = tr.update([copy.deepcopy(still)])[0].id
        jumped = copy.deepcopy(still)
        jumped.bbox = (135, 135, 234, 234)  # inclusive boxes: 65 x 65 overlap, IoU 4225 / 15775 = 0.27
        assert 0.25 < box_iou(still.bbox, jumped.bbox) < 0.3
        return first, tr.update([jumped])[0].id

    first, now = last_id()
    assert first > 0 and now != first
    first, now = last_id(min_similarity=0.2)
    assert first > 0 and now == first


def _recently_seen(frames: list, seen: int, height_m: float | None) -> list:
    """``frames`` from ``seen`` frames before the first merge (so B is confirmed but matched fewer than 10 times), each
    detection's ``height_m`` set to ``height_m`` (a merged blob's to 2.3 m)."""
    first = next(k for k, (dets, _) in enumerate(frames) if len(dets) == 1)
    out = []
    for dets, truth in frames[first - seen :]:
        dets = [copy.copy(o) for o in dets]
        for o in dets:
            o.height_m = 2.3 if len(dets) == 1 else height_m
        out.append((dets, truth))
    return out


def test_hidden_tall_m_lists_a_person_tall_track_seen_for_fewer_than_hidden_min_hits_frames():
    def hidden_frames(frames, **settings) -> int:
        tr = ByteTracker(fps=FPS, camera=CAM, **settings)
        return sum(bool(tr.update(dets) is not None and tr.hidden) for dets, _ in frames)

    tall, piece = _recently_seen(_passing_behind(), 5, 1.7), _recently_seen(_passing_behind(), 5, 0.8)
    assert hidden_frames(tall, hidden_tall_m=None) == 0  # matched 5 times: not listed without it (hidden_min_hits 10)
    assert hidden_frames(tall) >= 3  # on by default (1.5 m)
    assert hidden_frames(tall, hidden_tall_m=1.5) >= 3  # person-tall: listed
    assert hidden_frames(piece, hidden_tall_m=1.5) == 0  # 0.8 m: a piece of a broken-up mask, not listed
    assert hidden_frames(tall, hidden_tall_min_hits=5) >= 3 and hidden_frames(tall, hidden_tall_min_hits=6) == 0  # seen 5 times
    assert hidden_frames(_recently_seen(_passing_behind(), 5, None), hidden_tall_m=1.5) == 0  # no heights: as before
    assert hidden_frames(tall, hidden_tall_max_width_m=1.0) >= 3  # a walker 0.5 m wide: still listed
    assert hidden_frames(tall, hidden_tall_max_width_m=0.3) == 0  # ... but not where a person must be narrower
    learned = _recently_seen(_passing_behind(), 5, 1.7)
    for dets, _ in learned:
        for o in dets:
            o.depth_source = "learned"
    assert hidden_frames(learned, hidden_tall_m=1.5) == 0  # heights from the network's depth are not trusted
    assert ByteTracker().describe()["hidden_tall_m"] == 1.5 and ByteTracker(hidden_tall_m=None).describe()["hidden_tall_m"] is None
    with pytest.raises(MaskDepthError, match="hidden_tall_m"):
        ByteTracker(hidden_tall_m=0.0)


def test_hidden_tall_max_width_m_does_not_list_a_blob_as_wide_as_tall():
    """A still square that measures person-tall (a far spurious blob) is as wide as tall in metres: with
    ``hidden_tall_max_width_m`` it is not a person, so a track seen on it for a few frames is not listed hidden."""

    def squared(frames):
        out = []
        for dets, truth in frames:
            dets = [copy.copy(o) for o in dets]
            for o in dets:
                if len(dets) == 2 and o.bbox == dets[1].bbox:  # B, seen alone: its box made square about its bottom
                    x0, y0, x1, y1 = o.bbox
                    c, h = (x0 + x1) // 2, y1 - y0
                    o.bbox = (c - h // 2, y0, c - h // 2 + h, y1)
            out.append((dets, truth))
        return out

    def hidden_frames(frames, **settings) -> int:
        tr = ByteTracker(fps=FPS, camera=CAM, **settings)
        return sum(bool(tr.update(dets) is not None and tr.hidden) for dets, _ in frames)

    square = squared(_recently_seen(_passing_behind(), 5, 1.7))
    assert hidden_frames(square, hidden_tall_max_width_m=None) >= 2  # height alone lists it
    assert hidden_frames(square, hidden_tall_max_width_m=1.0) == 0  # 1.7 m wide: not a person
    with pytest.raises(MaskDepthError, match="hidden_tall_max_width_m"):
        ByteTracker(hidden_tall_max_width_m=0.0)
    with pytest.raises(MaskDepthError, match="hidden_tall_min_hits"):
        ByteTracker(hidden_tall_min_hits=-1)
