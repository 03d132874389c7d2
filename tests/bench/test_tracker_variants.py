"""benchmarks.tracker_variants: the rules tried and not adopted live outside the product's tracker, and with every rule
off the variant tracker is the product's, frame for frame (so the tables that compared them compared the product)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("trackers")
from benchmarks import events_synthetic as es  # noqa: E402
from benchmarks.tracker_variants import VARIANT_SETTINGS, VariantByteTracker, VariantEventEngine, make_engine, make_tracker  # noqa: E402
from maskdepth.errors import MaskDepthError  # noqa: E402
from maskdepth.events import EventEngine, parse_zones  # noqa: E402
from maskdepth.scene.tracking import ByteTracker  # noqa: E402
from tests.events.test_events_engine import FPS, ZONES, kinds, obj, run  # noqa: E402


def _run(tracker, frames) -> list:
    out = []
    for d in frames:
        ids = [o.id for o in tracker.update(d)]
        out.append((ids, [(h.id, h.bbox, h.frames) for h in tracker.hidden], sorted(tracker.person_boxes.items())))
    return out


@pytest.mark.parametrize("dets", ["masks", "broken"])
def test_every_rule_off_is_the_product_tracker(dets):
    cam = es.CAMERAS["cctv"]
    _, frames = es.clip_frames("cctv", dets, 20)
    product = _run(ByteTracker(fps=es.FPS, camera=cam), frames)
    off = dict(merged_update="blob", split_merged="off", appearance_w=0.0, appearance_relink=None)
    assert _run(VariantByteTracker(fps=es.FPS, camera=cam, **off), frames) == product
    assert any(h for _, h, _ in product)  # the clip has merged blobs: the comparison covers hidden tracks


def test_a_rule_changes_the_tracks():
    """The equality above is not vacuous: the split of blobs (``wide_tall``) and the Kalman update with the person box
    each change what the same clip gives."""
    cam = es.CAMERAS["cctv"]
    _, frames = es.clip_frames("cctv", "masks", 21)  # (seed 20: the Kalman rule changes nothing since the hidden tracks of 2026-12-07)
    product = _run(ByteTracker(fps=es.FPS, camera=cam), frames)
    for rule in ({"split_merged": "wide_tall"}, {"merged_update": "person"}):
        assert _run(VariantByteTracker(fps=es.FPS, camera=cam, **rule), frames) != product, rule


def test_make_tracker_routes_only_variant_settings():
    cam = es.CAMERAS["cctv"]
    assert type(make_tracker(fps=10.0, camera=cam, lost_s=5.0)) is ByteTracker
    for name, value in (("split_merged", "wide"), ("merged_update", "person"), ("appearance_w", 0.5)):
        assert name in VARIANT_SETTINGS and type(make_tracker(fps=10.0, camera=cam, **{name: value})) is VariantByteTracker
    with pytest.raises(TypeError):
        ByteTracker(fps=10.0, split_merged="wide")  # the product's tracker has none of them
    with pytest.raises(MaskDepthError, match="^appearance_rule must be one of"):
        make_tracker(fps=10.0, appearance_w=1.0, appearance_rule="sometimes")
    np.testing.assert_equal(make_tracker(fps=10.0, camera=cam, appearance_w=0.5).describe()["appearance_w"], 0.5)


# ------------------------------------------------- the zone handover (VariantEventEngine)


def _new_id_inside_the_zone(hidden: bool) -> list[list]:
    """Track 1 walks into the zone and stands there; then it is only the tracker's prediction of a hidden track
    (``hidden``) or unseen, and track 2 is born next to it, inside the zone, and stays: the same person with a new id."""
    frames = [[obj(1, 60 + 8 * k, 150)] for k in range(12)]  # enters the zone at x = 100 (frame 5)
    for _ in range(8):
        frames.append([obj(1, 150, 150)])
    for k in range(15):
        ghost = obj(1, 150, 150)
        ghost.reason, ghost.depth_source = "hidden", "predicted"
        frames.append(([ghost] if hidden and k < 10 else []) + [obj(2, 155, 152)])
    return frames


@pytest.mark.parametrize("hidden", [True, False])
def test_zone_handover_counts_a_new_id_inside_the_zone_once(hidden):
    active = [{1} for _ in range(20)] + [{1, 2} for _ in range(15)]
    for handover, entries in ((None, 2), (2.0, 1)):
        eng = make_engine(parse_zones(ZONES), zone_handover_s=handover, born_still_s=None)
        ev = []
        for k, objs in enumerate(_new_id_inside_the_zone(hidden)):
            ev += eng.update(objs, k / FPS, k, active_ids=active[k])
        ev += eng.update([obj(2, 155, 152)], 3.5, 35, active_ids={2})  # track 1 retired
        ev += eng.close(3.6, 36)
        assert len(kinds(ev, "zone_enter")) == entries
        assert len(kinds(ev, "zone_exit")) == entries  # the one taken over leaves no zone_exit behind
    out = kinds(ev, "zone_exit")[0]
    assert out["id"] == 2 and out["dwell_s"] == pytest.approx(3.6 - 0.7, abs=0.11)  # from track 1's entry


def test_zone_handover_needs_the_other_track_unseen_and_near():
    """Two people really seen at once are two: a track born in the zone while the one there is detected counts."""
    frames = [[obj(1, 60 + 8 * k, 150)] for k in range(12)] + [[obj(1, 150, 150)]] * 8
    frames += [[obj(1, 150, 150), obj(2, 155, 152)]] * 10
    ev = run(make_engine(parse_zones(ZONES), zone_handover_s=2.0, born_still_s=None), frames)
    assert len(kinds(ev, "zone_enter")) == 2
    far = [[obj(1, 60 + 8 * k, 150)] for k in range(12)] + [[obj(1, 110, 150)]] * 8 + [[obj(2, 190, 190)]] * 10
    ev = run(make_engine(parse_zones(ZONES), zone_handover_s=2.0, born_still_s=None), far)
    assert len(kinds(ev, "zone_enter")) == 2  # 80 px away: farther than the newcomer's box height (40 px)


def test_make_engine_gives_the_products_engine_without_the_handover():
    """Without the handover asked for, the benchmarks' engine is the product's (the tables measure the product)."""
    assert type(make_engine(parse_zones(ZONES), epoch0=0.0)) is EventEngine
    assert type(make_engine(parse_zones(ZONES), zone_handover_s=None)) is EventEngine
    assert isinstance(make_engine(parse_zones(ZONES), zone_handover_s=2.0), VariantEventEngine)
