"""``person_bbox`` in the objects.jsonl records (maskdepth.events.pipeline.object_records): where two walkers merge into
one blob, the record of the blob's track carries the tracker's box of its own person (ByteTracker.person_boxes), inside the
blob's ``bbox`` and different from it; a walker seen alone has none. The overlay draws it."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.events.pipeline import EventStream, objects_line, open_events, person_bbox
from maskdepth.events.synthetic import walker_object
from maskdepth.scene import SceneObject, box_iou
from maskdepth.viz import draw_hidden, draw_objects

pytest.importorskip("trackers")
from maskdepth.scene.tracking import ByteTracker  # noqa: E402
from tests.scene.test_tracking_hidden import CAM, FPS, _passing_behind  # noqa: E402


class _ObjectsSink:
    """A sink that keeps what the objects topic would publish (as :class:`maskdepth.events.sinks.MqttSink` does)."""

    def __init__(self):
        self.published: list[dict] = []

    def emit(self, events):
        pass

    def objects(self, record):
        self.published.append(record)

    def stats(self):
        return {}

    def close(self):
        pass


def _run(frames: list[list], camera=CAM) -> tuple[list, list[list[dict]], list[bool], _ObjectsSink]:
    """Track ``frames`` (each a list of detections) through an event stream; per frame its tracked objects, records and
    whether a hidden track lay in a detection; and the objects sink."""
    tr, sink = ByteTracker(fps=FPS, camera=camera), _ObjectsSink()
    base = open_events(None, camera=CAM, image_size=(640, 480), fps=FPS)
    ev = EventStream(base.engine, [sink], fps=FPS)
    objs, records, merged = [], [], []
    for i, dets in enumerate(frames):
        o = tr.update(dets)
        records.append(ev.step(o, i, tracker=tr)[1])
        objs.append(o)
        merged.append(len(dets) == 1 and bool(tr.hidden))
    return objs, records, merged, sink


def test_the_merged_blobs_record_has_its_persons_box_inside_the_blob():
    clip = _passing_behind()
    objs, records, merged, sink = _run([dets for dets, _ in clip])
    assert sum(merged) >= 5  # the clip merges for a while with B hidden in A's blob
    with_box = []
    for k, (os_, rs) in enumerate(zip(objs, records)):
        for o, r in zip(os_, rs):
            assert r["bbox"] == list(o.bbox) and r["id"] == o.id  # the blob's box and the ids are unchanged
            if not merged[k]:
                assert "person_bbox" not in r  # two walkers apart: each box is its person's
            elif "person_bbox" in r:  # (absent where B lies mostly behind A: the blob's box is mostly A's)
                pb, (x0, y0, x1, y1) = r["person_bbox"], r["bbox"]
                assert pb != r["bbox"] and all(isinstance(v, int) for v in pb)
                assert x0 <= pb[0] <= pb[2] <= x1 and y0 <= pb[1] <= pb[3] <= y1 and pb[3] == y1  # on the blob's bottom row
                with_box.append(box_iou(tuple(pb), clip[k][1]["A"]))
    assert len(with_box) >= 2 and min(with_box) >= 0.8  # where the blob starts and ends: the nearer walker A's own box
    assert [p["objects"] for p in sink.published] == records  # the objects topic publishes the same records


def test_a_lone_walker_has_no_person_bbox():
    frames = [[o] for o in (walker_object(CAM, (-3.0 + k / FPS, 5.0), 0) for k in range(60)) if o is not None]
    objs, records, merged, _ = _run(frames)
    assert len(records) >= 30 and not any(merged)
    assert all(r["id"] for r in records[-1]) and not any("person_bbox" in r for rs in records for r in rs)


def test_without_a_camera_or_a_person_box_there_is_none():
    frames = [dets for dets, _ in _passing_behind()]
    _, records, merged, _ = _run(frames, camera=None)  # without a camera the blob's box is its track's person box
    assert any(merged) and not any("person_bbox" in r for rs in records for r in rs)
    o = SceneObject(2, (10, 10, 40, 90), 100, (25, 50), (25, 90), (25, 10))
    assert person_bbox(o, None) is None and person_bbox(o, object()) is None  # no tracker / one without person boxes


def test_the_overlay_draws_the_person_box():
    o = SceneObject(1, (10, 10, 90, 90), 100, (50, 50), None, (50, 10))
    img = np.zeros((120, 120, 3), np.uint8)
    a, b = draw_objects(img, [o], person_boxes=[[10, 40, 40, 90]]), draw_objects(img, [o], person_boxes=[None])
    assert a[60, 40].any() and not b[60, 40].any()  # the person box's inner side, inside the blob
    assert (draw_objects(img, [o]) == b).all()


def test_the_engine_gets_the_hidden_tracks_and_they_are_recorded_apart():
    """EventStream.step (the one path of predict --video and watch) hands the tracker's hidden tracks to the engine, so
    zones and lines keep counting a walker hidden in another's blob; the objects' records list only what was seen, and
    the hidden walkers have records of their own (objects.jsonl's ``hidden``), published with the objects."""
    tr = ByteTracker(fps=FPS, camera=CAM)
    base = open_events(None, camera=CAM, image_size=(640, 480), fps=FPS)
    seen: list[list[int]] = []
    update = base.engine.update
    base.engine.update = lambda objects, *a, **k: seen.append([o.id for o in objects]) or update(objects, *a, **k)
    sink = _ObjectsSink()
    ev, hidden_frames = EventStream(base.engine, [sink], fps=FPS), 0
    for i, (dets, _) in enumerate(_passing_behind()):
        objs = tr.update(dets)
        _, records, hidden_records = ev.step(objs, i, tracker=tr)
        hidden = [h.id for h in tr.hidden]
        hidden_frames += bool(hidden)
        assert seen[-1] == [o.id for o in objs] + hidden
        assert [r["id"] for r in records] == [o.id for o in objs]
        assert [r["id"] for r in hidden_records] == hidden
        for r, h in zip(hidden_records, tr.hidden):
            assert r["bbox"] == [int(round(v)) for v in h.bbox] and r["note"] == "hidden" and r["depth_source"] == "predicted"
            assert r["floor_xy_m"] is not None and r["distance_m"] is None  # placed on the floor from its predicted feet
        assert sink.published[-1].get("hidden", []) == hidden_records and sink.published[-1]["objects"] == records
    assert hidden_frames >= 3


def test_an_objects_line_lists_hidden_people_only_when_there_are_any():
    rec = [{"id": 1, "bbox": [0, 0, 9, 9]}]
    assert objects_line(3, 0.123456, rec) == {"frame": 3, "time_s": 0.1235, "objects": rec}
    assert objects_line(3, 0.1, rec, []) == {"frame": 3, "time_s": 0.1, "objects": rec}
    hid = [{"id": 2, "bbox": [5, 0, 12, 9], "note": "hidden"}]
    assert objects_line(3, 0.1, rec, hid, time_key="t_s") == {"frame": 3, "t_s": 0.1, "objects": rec, "hidden": hid}


def test_the_overlay_draws_hidden_people_dashed():
    img = np.zeros((120, 120, 3), np.uint8)
    out = draw_hidden(img, [{"id": 4, "bbox": [10, 10, 70, 100], "note": "hidden"}], dash=6)
    top = out[10, 10:71].any(axis=1)
    assert top[:6].all() and not top[7:11].any() and top[12:18].all()  # dashes and gaps along the top edge
    assert out[10:100, 10].any() and out[10:100, 70].any() and out[100, 10:71].any()  # all four sides
    assert not out[40:60, 25:55].any()  # the box's inside is left as it was
    assert out[85:98, 11:60].any()  # the label "4 hidden", inside at the bottom
    assert draw_hidden(img, []) is img


def test_the_hidden_records_carry_the_hidden_persons_colour_box():
    """With ``hidden_colour_boxes``, a hidden walker's record keeps the predicted ``bbox`` the engine followed and adds the
    box of its share of the blob found by colour (``person_bbox``), which the objects topic publishes too."""
    from maskdepth.scene import label_objects
    from tests.scene.test_blob_people import crossing_walkers

    tr, sink = ByteTracker(fps=10.0), _ObjectsSink()  # hidden_colour_boxes on by default
    base = open_events(None, image_size=(240, 200), fps=10.0)
    ev, with_box = EventStream(base.engine, [sink], fps=10.0), 0
    for i, (img, mask, boxes) in enumerate(crossing_walkers()):
        objs, labels = label_objects(mask)
        hidden = ev.step(tr.update(objs, image=img, labels=labels), i, tracker=tr).hidden
        for r, h in zip(hidden, tr.hidden):
            assert r["bbox"] == [int(round(v)) for v in h.bbox]  # what the engine followed
            if h.person_bbox is None:
                assert "person_bbox" not in r
                continue
            with_box += 1
            assert r["person_bbox"] == [int(round(v)) for v in h.person_bbox] and box_iou(r["person_bbox"], boxes["B"]) > 0.85
        assert sink.published[-1].get("hidden", []) == hidden
    assert with_box >= 3


def test_the_overlay_draws_a_hidden_persons_colour_box_where_there_is_one():
    img = np.zeros((120, 120, 3), np.uint8)
    out = draw_hidden(img, [{"id": 4, "bbox": [10, 10, 70, 100], "person_bbox": [30, 20, 90, 110], "note": "hidden"}])
    assert out[20, 30:36].any() and out[20:110, 90].any()  # the colour box
    assert not out[10, 10:30].any() and not out[40:60, 70].any()  # not the predicted box
