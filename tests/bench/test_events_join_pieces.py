"""benchmarks.events_join_pieces: the painter joins a broken-up walker's bands on the masks arms and the boxes arm,
leaves whole walkers alone, and the decision applies its written criterion."""

from __future__ import annotations

import numpy as np

from benchmarks import events_synthetic as es
from benchmarks.events_join_pieces import CRITERION, JoinFactory, decision, join_boxes
from maskdepth.events.synthetic import walker_object
from maskdepth.scene import label_objects

CAM = es.CAMERAS["cctv"]


def _broken_frame():
    """A mask with one walker in three bands and one whole walker beside it: ``(objects, labels, whole boxes)``."""
    a, b = walker_object(CAM, (-1.0, 5.0), 0).bbox, walker_object(CAM, (1.0, 6.0), 0).bbox
    mask = np.zeros(CAM.image_size[::-1], bool)
    x0, y0, x1, y1 = a
    for r0, r1 in ((y0, y0 + 40), (y0 + 43, y0 + 90), (y0 + 93, y1)):
        mask[r0 : r1 + 1, x0 : x1 + 1] = True
    mask[b[1] : b[3] + 1, b[0] : b[2] + 1] = True
    objs, labels = label_objects(mask, camera=CAM, join_pieces=False)  # the components, as the arms made them before the join
    return objs, labels, [a, b]


def test_the_painter_joins_the_bands_with_and_without_a_camera():
    for with_camera in (True, False):
        objs, labels, whole = _broken_frame()
        assert len(objs) == 4
        JoinFactory(with_camera)("cctv", 0)(0.0, [], objs, labels)
        assert sorted(o.bbox for o in objs) == sorted(whole)
    assert JoinFactory(True) == JoinFactory(True) and hash(JoinFactory(True)) == hash(JoinFactory(True))  # clip_frames' cache key


def test_join_boxes_keeps_the_lowest_piece_with_the_group_box():
    objs, labels, whole = _broken_frame()
    for i, o in enumerate(objs):
        o.extra["truth"] = i
    out = join_boxes(objs, CAM)
    assert sorted(o.bbox for o in out) == sorted(whole)
    joined = next(o for o in out if o.bbox == whole[0])
    low = max((o for o in objs if o.bbox[0] == whole[0][0]), key=lambda o: o.bbox[3])
    assert joined.contact_px == low.contact_px and joined.extra["truth"] == low.extra["truth"]
    assert low.bbox != whole[0]  # the originals are untouched


def _res(broken_off, broken_join, clean_off, clean_join, idf1_change):
    arms = ["camera/cctv/masks", "camera/cctv/broken", "no_camera/cctv/masks", "no_camera/cctv/broken"]
    off = {"idf1": {a: 0.8 for a in arms}, "counts": {}}
    join = {"idf1": {a: 0.8 + idf1_change.get(a, 0.0) for a in arms}, "counts": {}}
    for r, b, c in ((off, broken_off, clean_off), (join, broken_join, clean_join)):
        r["counts"] = {"camera/cctv/broken": {"abs_err_sum": b}, "camera/cctv/masks": {"abs_err_sum": c}}
    return {"off": off, "join": join}


def test_decision_follows_the_criterion():
    d = decision(_res(50, 40, 10, 10, {"no_camera/cctv/broken": 0.01}))
    assert d["camera"] and d["no_camera"]
    assert not decision(_res(50, 41, 10, 10, {}))["camera"]  # a fall of 18 %: short of 20 %
    assert not decision(_res(50, 30, 10, 11, {}))["camera"]  # the clean arms' errors rose
    assert not decision(_res(50, 30, 10, 10, {"camera/cctv/masks": -0.006}))["camera"]
    assert not decision(_res(50, 30, 10, 10, {"no_camera/cctv/broken": 0.004}))["no_camera"]
    assert CRITERION["broken_err_drop"] == 0.20


def test_the_off_painter_keeps_the_components_as_they_are():
    objs, labels, _ = _broken_frame()
    before = [o.bbox for o in objs]
    JoinFactory(None)("cctv", 0)(0.0, [], objs, labels)
    assert [o.bbox for o in objs] == before
    boxes = list(objs)
    JoinFactory(None)("cctv", 0)(0.0, [], boxes, None)
    assert boxes == objs  # the boxes arm: untouched
