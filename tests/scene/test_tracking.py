"""The adopted tracker (maskdepth.scene.tracking): ids kept through a crossing, the factory's kinds."""

from __future__ import annotations

import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.events.synthetic import walker_object
from maskdepth.scene import camera_from_pitch

pytest.importorskip("trackers")
from maskdepth.scene.tracking import ByteTracker, make_tracker  # noqa: E402

CAM = camera_from_pitch(600.0, (640, 480), 25.0, 3.0)  # CCTV-like: 3 m high, pitch 25 deg
FPS = 10.0


def _union(a, b):
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _crossing(merge: bool) -> list[list]:
    """Two walkers crossing in the image, 1 m apart in depth (A nearer, walking right; B walking left), 1 m/s at
    10 frames/s; with ``merge``, overlapping boxes become one detection (their union, truth = the nearer walker),
    as one mask component would be."""
    frames = []
    for k in range(60):
        x = -3.0 + k / FPS
        a = walker_object(CAM, (x, 5.0), 0)
        b = walker_object(CAM, (-x, 6.0), 0)
        a.extra["truth"], b.extra["truth"] = "A", "B"
        ab = a.bbox, b.bbox
        if merge and ab[0][0] <= ab[1][2] and ab[1][0] <= ab[0][2]:
            a.bbox = _union(*ab)
            frames.append([a])
        else:
            frames.append([a, b])
    return frames


@pytest.mark.parametrize("merge", [False, True])
def test_ids_kept_through_a_crossing(merge):
    frames = _crossing(merge)
    assert sum(len(f) == 1 for f in frames) >= (5 if merge else 0)  # the merged variant does merge for a while
    tr = ByteTracker(fps=FPS, camera=CAM)
    seen: dict[str, set] = {"A": set(), "B": set()}
    for dets in frames:
        out = tr.update(dets)
        assert [o.bbox for o in out] == [o.bbox for o in dets]  # same objects, same order
        for o in out:
            if o.id:
                seen[o.extra["truth"]].add(o.id)
    # each walker keeps one id from its confirmation to the end, and the two never swap
    assert len(seen["A"]) == 1 and len(seen["B"]) == 1 and seen["A"] != seen["B"], seen
    assert {t.id for t in tr.tracks} == seen["A"] | seen["B"]


def test_frame_times_evenly_spaced_give_the_same_ids():
    frames = _crossing(True)
    a, b = ByteTracker(fps=FPS, camera=CAM), ByteTracker(fps=FPS, camera=CAM)
    for k, dets in enumerate(frames):
        assert [o.id for o in a.update(dets)] == [o.id for o in b.update(dets, t_s=12.5 + k / FPS)]


def test_first_frames_confirm_at_once_later_tracks_after_min_hits():
    tr = make_tracker("bytetrack", fps=FPS, camera=None)
    tr.next_id = 7  # e.g. continuing a previous run's ids
    frames = _crossing(False)
    assert sorted(o.id for o in tr.update(frames[0])) == [7, 8]  # as in SORT: the first frames confirm at once
    for k in range(1, 5):
        assert sorted(o.id for o in tr.update(frames[k])) == [7, 8]
    late = walker_object(CAM, (0.0, 9.0), 0)  # a third walker appears: unconfirmed on its first frame (min_hits = 2)
    assert sorted(o.id for o in tr.update([*frames[5], late])) == [0, 7, 8]
    assert sorted(o.id for o in tr.update([*frames[6], late])) == [7, 8, 9]


def test_factory_kinds_and_bad_settings():
    assert type(make_tracker("maskdepth")).__name__ == "Tracker" and isinstance(make_tracker(), ByteTracker)
    with pytest.raises(MaskDepthError, match=r"^kind must be one of bytetrack, maskdepth \(got 'sort'\)$"):
        make_tracker("sort")
    with pytest.raises(MaskDepthError, match=r"^fps must be a number in \(0, inf\]"):
        make_tracker("bytetrack", fps=0)


def test_describe_names_the_method_and_settings():
    old, new = make_tracker("maskdepth").describe(), make_tracker("bytetrack", camera=CAM).describe()
    assert "maskdepth.scene.Tracker" in old["method"] and old["min_hits"] == 3 and old["max_missed"] == 10
    assert (
        "ByteTrack" in new["method"]
        and new["lost_s"] == 3.0
        and new["max_missed"] == 30
        and new["sigma_m"] == 0.3
        and new["min_similarity"] == 0.3
    )
