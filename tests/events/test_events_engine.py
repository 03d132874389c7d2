"""EventEngine on synthetic tracks built directly (lists of SceneObject per frame): every event type,
inertia, hysteresis on a flickering line, dwell, floor-metre zones with a camera, speeds in metres."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.events import EventEngine, floor_to_px, floor_xy, parse_zones
from maskdepth.events.synthetic import walk
from maskdepth.scene import SceneObject, camera_from_pitch

FPS = 10.0


def obj(oid: int, x: float, y: float, h: int = 40, contact: bool = True) -> SceneObject:
    """A box of height ``h`` whose bottom centre (and contact point) is at ``(x, y)``."""
    box = (int(round(x - 8)), int(round(y - h + 1)), int(round(x + 8)), int(round(y)))
    return SceneObject(oid, box, 17 * h, (x, y - h / 2), (x, y) if contact else None, (x, y - h + 1))


def run(engine: EventEngine, frames: list, fps: float = FPS, close: bool = True) -> list[dict]:
    ev = []
    for k, objs in enumerate(frames):
        ev += engine.update(objs, k / fps, k)
    if close:
        ev += engine.close(len(frames) / fps, len(frames))
    return ev


def kinds(ev, t):
    return [e for e in ev if e["type"] == t]


ZONES = {
    "zones": [{"name": "box", "polygon_px": [[100, 100], [200, 100], [200, 200], [100, 200]]}],
    "lines": [{"name": "door", "px": [[300, 0], [300, 200]]}],
}


def test_enter_and_exit_with_dwell_and_required_fields():
    frames = [[obj(0, 50, 50)]] * 2 + [[obj(1, 50, 50)]] * 20 + [[]] * 15
    ev = run(EventEngine(), frames, close=False)
    assert [e["type"] for e in ev] == ["enter", "exit"]
    ent, ex = ev
    assert ent["frame"] == 2 and ent["id"] == 1 and ent["t_s"] == pytest.approx(0.2)
    assert ex["dwell_s"] == pytest.approx(1.9)  # first seen 0.2 s, last seen 2.1 s
    assert ex["frame"] == 21 + 12  # unseen for more than exit_after_frames = 11
    for e in ev:
        assert {"type", "time", "t_s", "frame", "id", "bbox", "contact_px", "depth_source"} <= set(e)
        assert e["time"].endswith("Z") and len(e["time"]) == len("2026-01-01T00:00:00.000Z")


def test_exit_follows_the_trackers_live_ids():
    eng = EventEngine()
    assert [e["type"] for e in eng.update([obj(3, 10, 10)], 0.0, 0, active_ids={3})] == ["enter"]
    assert eng.update([], 0.1, 1, active_ids={3}) == []  # merged / coasting: still alive
    assert [e["type"] for e in eng.update([], 0.2, 2, active_ids=set())] == ["exit"]


def test_zone_enter_exit_dwell_and_inertia():
    path = [150 if 10 <= k < 40 else 50 for k in range(60)]
    path[20] = path[21] = 50  # two frames of box flicker outside: shorter than the inertia (3)
    path[45] = 150  # one flicker frame inside after leaving
    frames = [[obj(1, x, 150)] for x in path]
    ev = run(EventEngine(zones=parse_zones(ZONES)), frames)
    zin, zout = kinds(ev, "zone_enter"), kinds(ev, "zone_exit")
    assert len(zin) == 1 and len(zout) == 1
    assert zin[0]["zone"] == "box" and zin[0]["frame"] == 12  # confirmed on the 3rd inside frame
    assert zout[0]["dwell_s"] == pytest.approx(3.0)  # first inside frame 10 -> first outside frame 40
    assert zout[0]["frame"] == 42


def test_zone_exit_when_the_track_exits_inside():
    frames = [[obj(1, 150, 150)]] * 30
    ev = run(EventEngine(zones=parse_zones(ZONES)), frames)
    assert [e["type"] for e in ev] == ["enter", "zone_enter", "zone_exit", "exit"]
    assert ev[2]["dwell_s"] == pytest.approx(2.9) and ev[2]["reason"] == "end of stream"


@pytest.mark.parametrize("direction", [1, -1])
def test_line_cross_counts_once_with_the_side_seen_in_the_image(direction):
    xs = np.linspace(250, 350, 40)[::direction]
    ev = run(EventEngine(zones=parse_zones(ZONES)), [[obj(1, x, 100)] for x in xs])
    cr = kinds(ev, "line_cross")
    assert len(cr) == 1 and cr[0]["line"] == "door"
    # p0 (300, 0) -> p1 (300, 200) points down the image: seen from p0, the image's left (x < 300)
    # is on the walker's right-hand side... for a y-down image the cross product's positive side is x < 300
    assert cr[0]["from_side"] == ("right" if direction == 1 else "left")


def flicker_xs(rng, n: int = 200) -> list[float]:
    """An anchor standing on the line x = 300: box flicker of up to 3.9 px (inside the band of a 40 px box), and
    excursions of 8 px to either side lasting 1 or 2 frames (shorter than min_crossing_frames = 3)."""
    xs = []
    while len(xs) < n:
        xs += list(300 + rng.uniform(-3.9, 3.9, rng.integers(1, 4)))
        xs += [300 + rng.choice([-8, 8])] * int(rng.integers(1, 3))
    return xs[:n]


def test_flicker_on_the_line_never_counts_twice():
    rng = np.random.default_rng(0)
    for _ in range(5):
        # walk up to the line, flicker on it, go on across: exactly one crossing
        xs = list(np.linspace(240, 300, 15)) + flicker_xs(rng) + list(np.linspace(300, 360, 15))
        ev = run(EventEngine(zones=parse_zones(ZONES)), [[obj(1, x, 100)] for x in xs])
        assert len(kinds(ev, "line_cross")) == 1
        # flicker, then back where it came from: none
        ev = run(EventEngine(zones=parse_zones(ZONES)), [[obj(1, x, 100)] for x in list(np.linspace(240, 300, 15)) + flicker_xs(rng)])
        assert len(kinds(ev, "line_cross")) <= 1
    # without hysteresis (no band, counts at once) the same flicker counts many times: the test can fail
    one = dict(ZONES, lines=[{"name": "door", "px": [[300, 0], [300, 200]], "min_crossing_frames": 1}])
    ev1 = run(EventEngine(zones=parse_zones(one), line_margin_frac=0.0, line_margin_px=0.0), [[obj(1, x, 100)] for x in flicker_xs(rng)])
    assert len(kinds(ev1, "line_cross")) > 10


def test_jitter_inside_the_band_says_nothing():
    xs = [300 + (3.5 if k % 2 else -3.5) for k in range(100)]  # inside the band of a 40 px box (4 px)
    ev = run(EventEngine(zones=parse_zones(ZONES)), [[obj(1, 280, 100)]] * 5 + [[obj(1, x, 100)] for x in xs] + [[obj(1, 280, 100)]] * 5)
    assert kinds(ev, "line_cross") == []


def test_path_round_the_end_of_the_segment_does_not_count():
    # the segment spans y in [0, 200]; walking across x = 300 at y = 260 passes beyond its end
    ev = run(EventEngine(zones=parse_zones(ZONES)), [[obj(1, x, 260)] for x in np.linspace(250, 350, 30)])
    assert kinds(ev, "line_cross") == []


def test_stationary_once_per_stop():
    xs = [50 + 2 * k for k in range(10)] + [70] * 40 + [70 + 5 * k for k in range(10)] + [120] * 40
    ev = run(EventEngine(stationary_after=3.0), [[obj(1, x, 100)] for x in xs])
    st = kinds(ev, "stationary")
    assert [e["frame"] for e in st] == [40, 90]  # still from frames 10 and 60 and st[0]["still_s"] == pytest.approx(3.0)
    assert kinds(run(EventEngine(stationary_after=None), [[obj(1, x, 100)] for x in xs]), "stationary") == []


def test_pixel_zones_scale_to_another_frame_size():
    z = parse_zones(dict(ZONES, image_size=[400, 300]))
    eng = EventEngine(zones=z, image_size=(800, 600), born_still_s=None)  # a still box born in the zone: counted at once
    ev = run(eng, [[obj(1, 300, 300)]] * 5)  # (150, 150) at 400x300
    assert len(kinds(ev, "zone_enter")) == 1


CAM = camera_from_pitch(600.0, (640, 480), 25.0, 3.0)


def test_floor_coordinates_round_trip_and_axes():
    for xy in [(0.0, 5.0), (1.5, 8.0), (-2.0, 4.0)]:
        u, v = floor_to_px(CAM, xy)
        assert floor_xy(CAM, u, v) == pytest.approx(xy, abs=1e-6)
    u0, _ = floor_to_px(CAM, (0.0, 6.0))
    u1, _ = floor_to_px(CAM, (1.0, 6.0))
    _, v_near = floor_to_px(CAM, (0.0, 4.0))
    _, v_far = floor_to_px(CAM, (0.0, 8.0))
    assert u1 > u0 and v_far < v_near  # x to the right, y forward = up the image


def test_floor_metre_zone_and_line_with_a_camera_and_speed():
    zones = parse_zones(
        {
            "zones": [{"name": "mat", "polygon_floor_m": [[-1, 5], [1, 5], [1, 7], [-1, 7]]}],
            "lines": [{"name": "y6", "floor_m": [[-3, 6], [3, 6]]}],
        },
        camera=CAM,
    )
    # a walker going forward (away from the camera) at 1.2 m/s along x = 0.3, from y = 3 to y = 9
    frames = walk(CAM, {1: lambda t: (0.3, 3.0 + 1.2 * t)}, 50, FPS)
    eng = EventEngine(zones=zones, camera=CAM)
    ev = run(eng, frames, close=False)
    zin, zout, cr = kinds(ev, "zone_enter"), kinds(ev, "zone_exit"), kinds(ev, "line_cross")
    assert len(zin) == 1 and len(zout) == 1 and len(cr) == 1
    assert zout[0]["dwell_s"] == pytest.approx(2.0 / 1.2, abs=0.15)
    # moving up the image across p0 (-3, 6) -> p1 (3, 6) (left to right): it came from below = the right-hand side
    assert cr[0]["from_side"] == "right"
    assert cr[0]["speed_m_s"] == pytest.approx(1.2, rel=0.05) and 6.0 < cr[0]["floor_xy_m"][1] < 7.2  # confirmed 3 frames past the band
    assert cr[0]["heading_deg"] == pytest.approx(0.0, abs=5)
    rec = eng.object_record(frames[-1][0])
    assert rec["speed_m_s"] == pytest.approx(1.2, rel=0.05) and rec["floor_xy_m"][0] == pytest.approx(0.3, abs=0.05)


def test_speed_is_null_until_enough_frames_and_robust_to_flicker():
    rng = np.random.default_rng(1)
    frames = walk(CAM, {1: lambda t: (-2.0 + 1.0 * t, 6.0)}, 40, 25.0, noise_px=1.0, rng=rng)
    eng = EventEngine(camera=CAM)
    speeds = []
    for k, objs in enumerate(frames):
        eng.update(objs, k / 25.0, k)
        speeds.append(eng.object_record(objs[0])["speed_m_s"])
    assert speeds[0] is None and speeds[5] is None
    assert np.median(speeds[30:]) == pytest.approx(1.0, rel=0.1)


def test_unconfirmed_objects_make_no_events_and_null_motion():
    eng = EventEngine(camera=CAM)
    o = walk(CAM, {0: lambda t: (0.0, 5.0)}, 1, FPS)[0][0]
    assert eng.update([o], 0.0, 0) == []
    rec = eng.object_record(o)
    assert rec["speed_m_s"] is None and rec["floor_xy_m"] is not None and not math.isnan(rec["floor_xy_m"][0])


def test_floor_line_band_is_in_metres_for_a_low_camera():
    """At head height a walk in depth moves the feet a few pixels per metre: a band of 10 % of the box height
    would hide a turn 0.5 m past the line; the floor line's band is 0.15 m, so both crossings count."""
    cam = camera_from_pitch(600.0, (640, 480), 5.0, 1.6)
    zones = parse_zones({"lines": [{"name": "door", "floor_m": [[-4, 6.5], [4, 6.5]]}]}, camera=cam)

    def path(t):  # 4.5 -> 7.0 m at 1 m/s, then back
        return (0.0, 4.5 + t if t < 2.5 else 7.0 - (t - 2.5))

    ev = run(EventEngine(zones=zones, camera=cam), walk(cam, {1: path}, 50, FPS))
    assert [e["from_side"] for e in kinds(ev, "line_cross")] == ["right", "left"]


def test_floor_line_behind_the_camera_is_refused():
    from maskdepth.errors import MaskDepthError

    zones = parse_zones({"lines": [{"name": "back", "floor_m": [[-1, -2], [1, -2]]}]}, camera=CAM)
    with pytest.raises(MaskDepthError, match="behind the camera"):
        EventEngine(zones=zones, camera=CAM)


def test_standing_on_a_line_keeps_memory_bounded_and_still_counts():
    eng = EventEngine(zones=parse_zones(ZONES))
    frames = [[obj(1, 280, 100)]] * 5 + [[obj(1, 300, 100)]] * 2000 + [[obj(1, 330, 100)]] * 5
    ev = run(eng, frames, close=False)
    assert len(eng.tracks[1].lines["door"].path) <= 256 and len(kinds(ev, "line_cross")) == 1


def test_floor_position_uses_the_contact_points_bottom_edge():
    """The floor position of an object is read at its contact point (v + 0.5, the project's one convention),
    not at the centre of the contact pixel: far away half a pixel is metres."""
    from maskdepth.events.motion import object_floor_xy

    v = int(CAM.horizon_y) + 3  # a few rows below the horizon: far, where half a pixel matters
    o = SceneObject(id=1, bbox=(100, v - 10, 104, v), area_px=40, centroid=(102.0, v - 5.0), contact_px=(102.0, float(v)), top_px=None)
    assert object_floor_xy(o, CAM) == pytest.approx(floor_xy(CAM, 102.0, v + 0.5), rel=1e-9)
    assert object_floor_xy(o, CAM)[1] < floor_xy(CAM, 102.0, float(v))[1]


def test_born_still_s_holds_the_entry_of_a_still_blob_born_in_a_zone():
    """``born_still_s``: a still blob born inside the zone that lasts 1 s never enters it; one that lasts 3 s (a bag put
    down) enters at 2 s with its dwell from its first frame; one born inside that moves enters as before; a track that
    walks in from outside is not held."""
    zones = parse_zones(ZONES)
    blip = [[obj(1, 150, 150)]] * 10 + [[]] * 15
    assert EventEngine().born_still_s == 2.0  # on by default
    assert len(kinds(run(EventEngine(zones=zones, born_still_s=None), blip), "zone_enter")) == 1  # without it: counted
    assert kinds(run(EventEngine(zones=zones, born_still_s=2.0), blip), "zone_enter") == []
    bag = run(EventEngine(zones=zones, born_still_s=2.0), [[obj(2, 150, 150)]] * 30)
    (zin,), (zout,) = kinds(bag, "zone_enter"), kinds(bag, "zone_exit")
    assert zin["t_s"] == pytest.approx(2.0) and zout["dwell_s"] == pytest.approx(2.9)  # from its first frame
    mover = run(EventEngine(zones=zones, born_still_s=2.0), [[obj(3, 120 + 4 * k, 150)] for k in range(15)])
    assert kinds(mover, "zone_enter")[0]["frame"] == 3  # moved 12 px > 0.2 x 40 px by frame 3: counted then
    walk_in = [[obj(4, 60 + 10 * k, 150)] for k in range(12)]
    ref = [e["frame"] for e in kinds(run(EventEngine(zones=zones, born_still_s=None), walk_in), "zone_enter")]
    assert [e["frame"] for e in kinds(run(EventEngine(zones=zones, born_still_s=2.0), walk_in), "zone_enter")] == ref == [6]
    with pytest.raises(MaskDepthError, match="born_still_s"):
        EventEngine(born_still_s=0)


def test_born_still_max_height_m_lets_a_person_tall_object_enter_at_once():
    """``born_still_max_height_m``: a still object born inside that measures person-tall by the camera enters at once
    (after the inertia); one shorter, or whose height only the network's depth gave, still waits; bad values raise."""
    from dataclasses import replace

    zones = parse_zones(ZONES)

    def still(height_m, source):
        return [[replace(obj(1, 150, 150), height_m=height_m, depth_source=source)]] * 10 + [[]] * 15

    def entries(frames, **kw):
        return [e["frame"] for e in kinds(run(EventEngine(zones=zones, **kw), frames), "zone_enter")]

    assert EventEngine().born_still_max_height_m == 1.2  # the default
    assert entries(still(1.7, "ground_plane"), born_still_max_height_m=None) == []  # without it the person waits too
    assert entries(still(1.7, "ground_plane"), born_still_max_height_m=1.2) == [2]
    assert entries(still(1.7, "measured"), born_still_max_height_m=1.2) == [2]
    assert entries(still(0.5, "ground_plane"), born_still_max_height_m=1.2) == []  # a bag or mask noise
    assert entries(still(1.7, "learned"), born_still_max_height_m=1.2) == []  # the network's height is not trusted
    assert entries(still(None, "ground_plane"), born_still_max_height_m=1.2) == []
    for bad in (0, -1.0, True, "1.2", math.inf):
        with pytest.raises(MaskDepthError, match="born_still_max_height_m"):
            EventEngine(born_still_max_height_m=bad)


def test_a_zones_own_born_still_s_overrides_the_engines():
    """zones.json's ``born_still_s`` per zone: 0 counts a still blob born inside at once (after the inertia), a longer
    wait holds it longer; a bad value is one line naming the zone."""
    blip = [[obj(1, 150, 150)]] * 10 + [[]] * 15
    at_once = dict(ZONES, zones=[dict(ZONES["zones"][0], born_still_s=0)])
    assert kinds(run(EventEngine(zones=parse_zones(at_once)), blip), "zone_enter")[0]["frame"] == 2
    longer = dict(ZONES, zones=[dict(ZONES["zones"][0], born_still_s=5)])
    bag = run(EventEngine(zones=parse_zones(longer)), [[obj(2, 150, 150)]] * 60)
    assert kinds(bag, "zone_enter")[0]["t_s"] == pytest.approx(5.0)
    with pytest.raises(MaskDepthError, match="born_still_s.*seconds >= 0"):
        parse_zones(dict(ZONES, zones=[dict(ZONES["zones"][0], born_still_s=-1)]))
