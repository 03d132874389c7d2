"""benchmarks/events_per_person: the simulated person detector's occlusion rule, jitter and page."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import events_per_person as pp
from benchmarks import events_synthetic as es


def test_visible_fraction_counts_the_pixels_no_nearer_box_covers():
    assert pp.visible_fraction((0, 0, 9, 9), []) == 1.0
    assert pp.visible_fraction((0, 0, 9, 9), [(5, 0, 20, 20)]) == pytest.approx(0.5)
    assert pp.visible_fraction((0, 0, 9, 9), [(0, 0, 9, 4), (0, 0, 4, 9)]) == pytest.approx(0.25)  # overlaps once
    assert pp.visible_fraction((0, 0, 9, 9), [(-5, -5, 30, 30)]) == 0.0


def _two_walkers(dx: float):
    """Two walkers standing at 7 m and 8 m on the CCTV camera's floor, ``dx`` metres apart sideways, for all 40 s."""
    return [([(0.0, 0.0, 7.0), (es.SECONDS, 0.0, 7.0)], 1.0), ([(0.0, dx, 8.0), (es.SECONDS, dx, 8.0)], 1.0)]


def test_the_split_arm_keeps_the_clips_masks_and_splits_merged_blobs():
    """``split_masks``: the detector draws from its own stream, so with a detector that finds nobody (min visible > 1)
    the frames are the product's masks clip's; with one that finds everyone, merged blobs become one object each."""
    _, none = pp.split_masks("cctv", 20, 1.01, 0.0)
    ref = es.simulate_masks(es.CAMERAS["cctv"], *_clip_rng(20))
    assert [[o.bbox for o in f] for f in none] == [[o.bbox for o in f] for f in ref]
    _, every = pp.split_masks("cctv", 20, 0.0, 0.0)
    merged = sum(o.extra["merged"] for f in none for o in f)
    assert merged > 0 and sum(len(f) for f in every) > sum(len(f) for f in none)


def _clip_rng(seed):
    rng = np.random.default_rng(1000 * seed + 7)
    return [es.make_path(rng) for _ in range(es.WALKERS)], rng


def test_a_walker_mostly_hidden_by_a_nearer_one_is_missed_and_one_apart_is_found():
    cam = es.CAMERAS["cctv"]
    behind = pp.simulate_persons(cam, _two_walkers(0.0), np.random.default_rng(0), 0.5, 0.0)
    assert {o.extra["truth"] for f in behind for o in f} == {0}  # the far walker is behind the near one
    assert 0.9 < sum(len(f) for f in behind) / len(behind) <= 1.0  # the near one, 3 % missed at random
    apart = pp.simulate_persons(cam, _two_walkers(2.0), np.random.default_rng(0), 0.5, 0.0)
    assert {o.extra["truth"] for f in apart for o in f} == {0, 1}
    assert np.median([o.extra["iou"] for f in apart for o in f]) > 0.85  # 1.5 px edge noise only
    jit = pp.simulate_persons(cam, _two_walkers(2.0), np.random.default_rng(0), 0.5, 0.05)
    assert np.median([o.extra["iou"] for f in jit for o in f]) < np.median([o.extra["iou"] for f in apart for o in f])


def test_the_page_states_what_reached_the_target_from_its_numbers():
    cell = {"median_iou": 0.85, "detected_fraction": 0.9, "count_err_sum": 1, "within_one_fraction": 1.0, "ceiling_IDF1": 0.9}
    arms = {"masks": {**cell, "IDF1": 0.80, "median_iou": None}, "0.5/0.02": {**cell, "IDF1": 0.90}, "0.7/0.05": {**cell, "IDF1": 0.6}}
    arms["split 0.5/0.03"] = {**cell, "IDF1": 0.88, "median_iou": None, "count_err_sum": 2}
    md = pp.markdown({"first_seed": 20, "clips": 40, "wall_min": 3.0, "cameras": {"cctv": arms}})
    assert "--first-seed 20 --clips 40" in md and "| the detector's boxes: min visible 0.5 / jitter 0.02 | 0.900 |" in md
    assert "| mask components split by the detector's boxes: min visible 0.5 / jitter 0.03 | 0.880 |" in md
    assert "boxes alone reach 0.85 in 1 of 2 cells (those cells: jitter at most 0.02" in md
    assert "split by its boxes: 0.880 (2 count errors) at 0.5/0.03" in md
