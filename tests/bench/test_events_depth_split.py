"""benchmarks.events_depth_split: the floor row at a depth inverts the camera's floor depth, and a merged blob is cut
only between walkers at different depths (by their measured and their true depths), the walker behind getting its feet
from its depth."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import events_synthetic as es
from benchmarks.events_depth_split import DepthSplitter, foot_row
from maskdepth.events.synthetic import walker_object
from maskdepth.scene import box_iou, label_objects

CAM = es.CAMERAS["cctv"]


@pytest.mark.parametrize("v", [300.0, 377.5, 460.0])
def test_foot_row_inverts_floor_depth(v):
    z = float(CAM.floor_depth(320.0, v))
    assert foot_row(CAM, 320.0, z) == pytest.approx(v, abs=0.05)
    assert foot_row(CAM, 320.0, 1e6) is None  # beyond the floor in view


def _frame(spots):
    """One frame of walkers at floor points ``spots``: ``(seen, objects, labels)`` as simulate_masks gives the painter."""
    seen = [(w, xy, walker_object(CAM, xy, 0).bbox) for w, xy in enumerate(spots)]
    mask = np.zeros(CAM.image_size[::-1], bool)
    for _, _, (x0, y0, x1, y1) in seen:
        mask[y0 : y1 + 1, x0 : x1 + 1] = True
    objs, labels = label_objects(mask, camera=CAM)
    return seen, objs, labels


def test_a_walker_behind_another_is_cut_out_with_its_feet():
    seen, objs, labels = _frame([(0.0, 4.0), (0.1, 5.5)])  # one behind the other: one blob
    assert len(objs) == 1
    DepthSplitter("cctv", 0, noise=0.0, gap=0.15)(0.0, seen, objs, labels)
    assert len(objs) == 2
    for _, _, truth in seen:  # each part is its walker's whole box, the hidden feet included
        assert max(box_iou(o.bbox, truth) for o in objs) > 0.9


def test_walkers_at_one_depth_stay_one_blob_whatever_the_noise():
    seen, objs, labels = _frame([(-0.2, 4.0), (0.2, 4.05)])  # side by side, touching
    assert len(objs) == 1
    for seed in range(20):  # noise may hide an edge, never make one
        o2 = list(objs)
        DepthSplitter("cctv", seed, noise=0.3, gap=0.15)(0.0, seen, o2, labels)
        assert len(o2) == 1


def _two_depths(z_left: float, z_right: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """A 60 x 80 blob, its left half at ``z_left`` metres and its right at ``z_right``, the edge blurred over a few pixels,
    2 % noise per pixel: ``(blob, log depth)``."""
    comp = np.zeros((100, 120), bool)
    comp[20:80, 20:100] = True
    ramp = np.clip((np.arange(120) - 57) / 6.0, 0, 1)  # 6 px of edge
    depth = z_left + (z_right - z_left) * ramp[None, :] * np.ones((100, 1))
    return comp, np.log(depth * np.exp(rng.normal(0, 0.02, depth.shape)))


def test_cut_by_depth_cuts_a_depth_edge_and_nothing_flat():
    from benchmarks.events_depth_split import cut_by_depth

    rng = np.random.default_rng(0)
    comp, logd = _two_depths(4.0, 5.5, rng)
    parts = cut_by_depth(comp, logd, gap=0.15)
    assert len(parts) == 2 and all(abs(int(p.sum()) - 2400) < 300 for p in parts)
    comp, logd = _two_depths(4.0, 4.2, rng)  # 5 %: under the gap
    assert len(cut_by_depth(comp, logd, gap=0.15)) == 1


def test_gain_ci_is_the_idf1_difference_with_a_paired_interval():
    from benchmarks.events_depth_split import gain_ci

    rng = np.random.default_rng(1)
    base = [[int(t), int(f), int(f)] for t, f in zip(rng.integers(150, 250, 40), rng.integers(20, 80, 40))]
    d, lo, hi = gain_ci(base, base)
    assert d == 0.0 and lo == hi == 0.0
    better = [[t + 20, max(f - 20, 0), max(p - 20, 0)] for t, f, p in base]
    d, lo, hi = gain_ci(base, better)
    idf1 = lambda a: sum(x[0] for x in a) / sum(x[0] + 0.5 * (x[1] + x[2]) for x in a)  # noqa: E731
    assert d == pytest.approx(idf1(better) - idf1(base)) and 0 < lo < d < hi


def _clip_population(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Per-clip ``[IDTP, IDFN, IDFP]`` of the blobs and of the cut on ``n`` clips: 200-900 walker-frames each, a
    skewed share of them wrong (merges), the cut mending some of it where there is most to mend, making it worse on some."""
    frames = rng.integers(200, 900, n)
    err_a = rng.beta(2, 6, n)
    err_b = np.clip(err_a - 3 * err_a * np.clip(rng.normal(0.06, 0.08, n), -0.3, 0.6), 0, 1)
    counts = lambda e: np.stack([frames * (1 - e), frames * e, frames * e], 1).round()  # noqa: E731
    return counts(err_a), counts(err_b)


def test_gain_ci_covers_the_truth_on_sets_of_40_clips():
    """The page's intervals are over 40 clips: on sets of 40 drawn from a known population the interval holds the
    population's IDF1 difference about 95 % of the time (a percentile bootstrap on few units runs a little short: 187
    of these 200 sets, 93.5 %, when this was written; the page quotes it)."""
    from benchmarks.events_depth_split import gain_ci

    rng = np.random.default_rng(0)
    a, b = _clip_population(200_000, rng)
    idf1 = lambda x: x[:, 0].sum() / (x[:, 0] + 0.5 * (x[:, 1] + x[:, 2])).sum()  # noqa: E731
    truth = idf1(b) - idf1(a)
    hits = 0
    for _ in range(200):
        ix = rng.integers(0, len(a), 40)
        _, lo, hi = gain_ci(a[ix].tolist(), b[ix].tolist())
        hits += lo <= truth <= hi
    assert hits >= 180, hits  # nominal 95 %: 190 of 200 expected
