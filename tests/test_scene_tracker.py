"""maskdepth.scene.tracker: stable ids on a synthetic clip, the id-switch metric."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from maskdepth.scene import Tracker, box_iou, camera_from_pitch, extract_objects, id_switches

W, H = 320, 240


def _walker_box(cam, u, v, height=1.75, width_m=0.5):
    top = cam.top_of(u, v, height)
    half = 0.5 * width_m * cam.focal_px / float(cam.floor_depth(u, v))
    return (int(round(u - half)), int(math.ceil(top[1])), int(round(u + half)), int(v))


def _match_truth(objs, truth_boxes):
    """Greedy IoU (>= 0.3) between detections and truth boxes -> (track ids, truth ids)."""
    pairs = sorted(((-box_iou(o.bbox, b), i, k) for i, o in enumerate(objs) for k, b in truth_boxes.items()), key=lambda p: p[0])
    hyp, tru, used_o, used_t = [], [], set(), set()
    for neg, i, k in pairs:
        if -neg < 0.3 or i in used_o or k in used_t:
            continue
        used_o.add(i)
        used_t.add(k)
        hyp.append(objs[i].id)
        tru.append(k)
    return hyp, tru


@pytest.mark.parametrize("seed", [0, 1])
def test_two_walkers_crossing_keep_their_ids(seed):
    cam = camera_from_pitch(300.0, (W, H), 15.0, 3.0)
    rng = np.random.default_rng(seed)
    tr = Tracker()
    hyps, trus, n_ids = [], [], set()
    n = 60
    for k in range(n):
        a = 30 + k * (260 / (n - 1))  # near walker, left to right
        b = 290 - k * (260 / (n - 1))  # far walker, right to left
        boxes = {"A": _walker_box(cam, a, 205.0), "B": _walker_box(cam, b, 150.0)}
        mask = np.zeros((H, W), bool)
        for x0, y0, x1, y1 in boxes.values():
            mask[y0 : y1 + 1, x0 : x1 + 1] = True
        mask ^= rng.random((H, W)) < 0.002  # salt noise (removed by the minimum area)
        objs = tr.update(extract_objects(mask, None, cam))
        n_ids.update(o.id for o in objs)
        h, t = _match_truth(objs, boxes)
        hyps.append(h)
        trus.append(t)
    res = id_switches(hyps, trus)
    assert res["frames"] == n
    assert res["id_switches"] <= 1, res
    assert len(n_ids) <= 3


def test_id_switch_metric_and_retirement():
    assert id_switches([[1, 2], [1, 2], [2, 1]], [["a", "b"], ["a", "b"], ["a", "b"]])["id_switches"] == 2
    r = id_switches([[1], [None], [1], [3]], [["a"], ["a"], ["a"], ["a"]])
    assert r["id_switches"] == 1 and r["per_100_frames"] == pytest.approx(25.0)
    with pytest.raises(ValueError):
        id_switches([[1]], [])
    tr = Tracker(max_missed=2)
    o = SimpleNamespace(id=0, bbox=(10, 10, 30, 60))
    assert tr.update([o])[0].id == 1
    for _ in range(3):
        tr.update([])
    assert tr.update([o])[0].id == 2  # the old track retired after 2 missed frames
    # a fast object whose boxes no longer overlap is matched by its centroid
    tr = Tracker()
    ids = [tr.update([SimpleNamespace(id=0, bbox=(10 + 25 * k, 10, 30 + 25 * k, 60))])[0].id for k in range(5)]
    assert ids == [1] * 5
