"""benchmarks.events_network_depth: an upright person's floor distance is one number while its camera z is not, the
pairs' depth gaps are read per walker, the slope and shares are those of the pairs, and a small clip runs through the
product with the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import events_network_depth as E
from maskdepth.scene import camera_from_pitch

CAM = camera_from_pitch(200.0, (160, 120), 25.0, 2.5)


def _upright_plane_depth(distance_m: float) -> np.ndarray:
    """Camera-z depth of a vertical plane facing the camera ``distance_m`` ahead along the floor, every pixel."""
    uu, vv = np.meshgrid(np.arange(160.0), np.arange(120.0))
    return (distance_m / (CAM.ray(uu, vv) @ CAM.forward_horizontal())).astype(np.float32)


def test_floor_distance_of_an_upright_plane_is_one_number():
    z = _upright_plane_depth(4.0)
    assert np.ptp(z[20:100, 80]) > 0.3  # camera z: the head nearer than the feet when looking down
    np.testing.assert_allclose(E.floor_distance(z, CAM), 4.0, rtol=1e-5)


def _two_walkers(z_near: float, z_far: float) -> tuple[np.ndarray, np.ndarray]:
    """Ids and true depth of two walkers that touch: walker 2 (far) above and beside walker 1 (near)."""
    ids = np.zeros((120, 160), np.int16)
    ids[40:110, 60:90] = 2
    ids[60:115, 70:100] = 1
    depth = np.where(ids == 1, z_near, np.where(ids == 2, z_far, 9.0)).astype(np.float32)
    return ids, depth


def test_pair_gaps_reads_each_walker_on_its_own_pixels():
    ids, true = _two_walkers(3.0, 4.5)
    net = np.where(ids > 0, 3.5, 9.0).astype(np.float32)  # the network gives both one depth
    [(t, n)] = E.pair_gaps(ids, true, net)
    assert t == pytest.approx(np.log(1.5)) and n == pytest.approx(0.0)
    ids[ids == 2] = 0
    assert E.pair_gaps(ids, true, net) == []  # one walker: no pair


def test_pair_summary_slope_and_share_from_known_pairs():
    rng = np.random.default_rng(0)
    clips = []
    for _ in range(12):
        t = rng.uniform(0.0, 0.6, 30)
        clips.append({"pairs": [[float(a), 0.5 * float(a)] for a in t]})
    s = E.pair_summary(clips, n_boot=200)
    assert s["slope"] == pytest.approx(0.5) and s["slope_ci"][0] <= 0.5 <= s["slope_ci"][1]
    t = np.concatenate([[p[0] for p in c["pairs"]] for c in clips])
    far = t > np.log1p(E.GAP)
    assert s["over_cut_if_truly_apart"] == pytest.approx(float((0.5 * t[far] > np.log1p(E.GAP)).mean()), abs=1e-4)
    assert sum(b["pairs"] for b in s["bins"]) == t.size


def test_cut_detections_splits_a_blob_only_where_depth_says_so():
    from maskdepth.scene import label_objects

    ids, true = _two_walkers(3.0, 4.5)
    objs, labels = label_objects(ids > 0, None, CAM)
    assert len(objs) == 1
    assert len(E.cut_detections(objs, labels, true, CAM)) == 2
    assert len(E.cut_detections(objs, labels, np.full_like(true, 3.0), CAM)) == 1
    assert E.cut_detections(objs, labels, None, CAM) == objs


def test_a_small_clip_runs_through_the_product(tmp_path):
    c = E.run_clip(1000, 12, 128, 3)
    assert set(c["identity"]) == set(E.ARMS)
    assert all(len(v) == 3 and min(v) >= 0 for v in c["identity"].values())
    inter, union = c["mask_inter_union"]
    assert 0 < inter <= union
    res = {**{k: 0 for k in ("first_seed", "seconds")}, "clips": [c, {**c, "seed": 1001}], "frames": 12, "size": 128, "walkers": 3}
    res |= {"command": "x", "pairs": E.pair_summary(res["clips"], n_boot=50), "tracker": E.tracker_summary(res["clips"])}
    if res["pairs"]["pairs"]:
        assert "network's depth" in E.markdown(res)


def _clip(rng) -> dict:
    """One synthetic clip of part A: its own slope ~ N(0.27, 0.12) (clips differ), 20-120 pairs, noise 0.05."""
    s, k = rng.normal(0.27, 0.12), int(rng.integers(20, 120))
    t = rng.uniform(0.0, 0.6, k)
    return {"pairs": [[float(a), float(b)] for a, b in zip(t, s * t + rng.normal(0.0, 0.05, k))]}


def test_pair_summary_intervals_cover_the_truth_on_sets_of_40_clips():
    """The cluster bootstrap over clips, on 200 sets of 40 clips from a known population: the slope's and the share's
    intervals hold the population's values (from 20,000 clips) in 185 of 200 sets (92.5 %, a little short of 95 %, as
    the page says); a bootstrap over pairs, ignoring the clips, would hold them far less often."""
    big = [_clip(np.random.default_rng(10_000 + i)) for i in range(20_000)]
    p = np.array([x for c in big for x in c["pairs"]])
    t, n, cut = p[:, 0], p[:, 1], np.log1p(E.GAP)
    slope, share = (t * n).sum() / (t * t).sum(), (n[t > cut] > cut).mean()
    rng, hits = np.random.default_rng(0), np.zeros(2)
    for r in range(200):
        s = E.pair_summary([_clip(rng) for _ in range(40)], n_boot=1000, seed=r)
        hits += [
            s["slope_ci"][0] <= slope <= s["slope_ci"][1],
            s["over_cut_if_truly_apart_ci"][0] <= share <= s["over_cut_if_truly_apart_ci"][1],
        ]
    assert 0.90 <= hits.min() / 200 and hits.max() / 200 <= 0.99, hits
