"""benchmarks.events_appearance: the colour frames leave the clips as they were, and the criterion's arithmetic."""

from __future__ import annotations

import numpy as np

from benchmarks import events_appearance as ea
from benchmarks.appearance import bhattacharyya
from benchmarks.events_synthetic import clip_frames


def test_painted_clip_is_the_same_clip_with_colours():
    ways, plain = clip_frames("cctv", "masks", 900)
    ways_p, painted = clip_frames("cctv", "masks", 900, ea.painter)
    assert ways_p == ways and len(painted) == len(plain)
    assert all([o.bbox for o in a] == [o.bbox for o in b] for a, b in zip(plain, painted))
    assert not any("appearance" in o.extra for f in plain for o in f)
    alone = [o for f in painted for o in f if not o.extra["merged"] and o.extra["appearance"] is not None]
    assert len(alone) > 80
    by = {}
    for o in alone:
        by.setdefault(o.extra["truth"], []).append(o.extra["appearance"])
    same = [bhattacharyya(a, b) for v in by.values() for a, b in zip(v[::5], v[2::5])]
    keys = sorted(by)
    other = [bhattacharyya(a, b) for i in keys for j in keys if i < j for a, b in zip(by[i][::5], by[j][::5])]
    assert np.mean(same) > np.mean(other) + 0.2  # a walker looks like itself more than like the others


def _result(cctv: float, head: float, err: int) -> dict:
    arms = ("camera/cctv/masks", "camera/cctv/boxes", "camera/head_height/masks", "camera/head_height/boxes")
    idf1 = {a: {"off": 0.8, "cand": 0.8 + (cctv if "cctv" in a else head)} for a in arms}
    counts = {a: {"off": {"abs_err_sum": 5}, "cand": {"abs_err_sum": 5 + (err if a == arms[0] else 0)}} for a in arms}
    return {"idf1": idf1, "counts": counts}


def test_criterion_arithmetic():
    assert ea.choice(_result(0.006, 0.0, 0))[0] == "cand"
    assert ea.choice(_result(0.004, 0.0, 0))[0] == "off"  # too small a gain on CCTV
    assert ea.choice(_result(0.02, -0.006, 0))[0] == "off"  # an arm lower by more than 0.005
    assert ea.choice(_result(0.02, 0.0, 1))[0] == "off"  # more count errors
    assert ea.confirmed(_result(0.0, -0.1, 0), "cand") and not ea.confirmed(_result(-0.001, 0.0, 0), "cand")
