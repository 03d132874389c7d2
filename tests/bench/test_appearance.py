"""Colour descriptors (benchmarks.appearance) and the tracker's colour term (VariantByteTracker(appearance_w=...))."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.appearance import DESCRIPTOR_SIZE, add_appearance, bhattacharyya, blend, colour_descriptor
from maskdepth.errors import MaskDepthError
from maskdepth.scene import SceneObject, label_objects


def _person(h: int, w: int, shirt, trousers, rng, noise: float = 6.0) -> np.ndarray:
    img = np.empty((h, w, 3), np.float64)
    img[: h // 2] = shirt
    img[h // 2 :] = trousers
    return np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)


def test_descriptor_shape_sum_and_similarity():
    rng = np.random.default_rng(0)
    red_blue = _person(60, 20, (200, 30, 30), (30, 30, 160), rng)
    red_blue_2 = _person(80, 26, (190, 35, 30), (35, 30, 150), rng)  # the same clothes, larger and noisier
    grey = _person(60, 20, (120, 120, 120), (40, 40, 40), rng)
    m = lambda a: np.ones(a.shape[:2], bool)  # noqa: E731
    a, b, c = (colour_descriptor(x, m(x)) for x in (red_blue, red_blue_2, grey))
    assert a.shape == (DESCRIPTOR_SIZE,) and a.dtype == np.float32
    assert abs(a[: DESCRIPTOR_SIZE // 2].sum() - 0.5) < 1e-6 and abs(a.sum() - 1.0) < 1e-6
    assert bhattacharyya(a, a) == pytest.approx(1.0, abs=1e-6)
    assert bhattacharyya(a, b) > 0.8
    assert bhattacharyya(a, c) < 0.2
    # the halves are kept apart: the same colours upside down are another person
    swapped = _person(60, 20, (30, 30, 160), (200, 30, 30), rng)
    assert bhattacharyya(a, colour_descriptor(swapped, m(swapped))) < 0.2


def test_descriptor_of_too_few_pixels_and_bad_input():
    img = np.zeros((40, 40, 3), np.uint8)
    mask = np.zeros((40, 40), bool)
    assert colour_descriptor(img, mask) is None
    mask[10:13, 10:15] = True  # 15 pixels: halves under MIN_PIXELS
    assert colour_descriptor(img, mask) is None
    with pytest.raises(ValueError, match="uint8"):
        colour_descriptor(img.astype(np.float32), mask)
    with pytest.raises(ValueError, match="size"):
        colour_descriptor(img, mask[:-1])


def test_add_appearance_uses_each_component_only():
    rng = np.random.default_rng(1)
    img = np.full((100, 120, 3), 128, np.uint8)
    img[10:70, 10:30] = _person(60, 20, (200, 30, 30), (30, 30, 160), rng)
    img[20:80, 60:80] = _person(60, 20, (30, 160, 30), (160, 160, 30), rng)
    mask = np.zeros((100, 120), bool)
    mask[10:70, 10:30] = mask[20:80, 60:80] = True
    objs, labels = label_objects(mask)
    add_appearance(objs, img, labels)
    a, b = (o.extra["appearance"] for o in objs)
    assert bhattacharyya(a, b) < 0.1
    alone = colour_descriptor(img[10:70, 10:30], np.ones((60, 20), bool))
    assert bhattacharyya(a, alone) > 0.99
    with pytest.raises(ValueError, match="labels"):
        add_appearance(objs, img, labels[:-1])


def test_blend_is_a_running_mean():
    p, q = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    assert blend(None, p, 0.2) is not p and np.array_equal(blend(None, p, 0.2), p)
    assert np.allclose(blend(p, q, 0.2), [0.8, 0.2])
    assert blend(p, None, 0.2) is p


# ----------------------------------------------------------------------------- the tracker's colour term

pytest.importorskip("trackers")
from benchmarks.tracker_variants import VariantByteTracker  # noqa: E402

LOOKS = {"A": ((200, 30, 30), (30, 30, 160)), "B": ((120, 120, 120), (40, 40, 40))}


def _meet_and_turn_back(speed: int = 3, stay: int = 5) -> list[list[SceneObject]]:
    """A walks right and B walks left along one row at ``speed`` px per frame, B 10 px behind A's path; they meet and
    stand together (one blob, A's track takes it, B's coasts on) for ``stay`` frames, then each turns back the way it
    came: B's coasting prediction has moved on towards where A leaves. Overlapping boxes are one detection (their
    union, with both colour descriptors mixed); each other detection carries its walker's."""
    rng = np.random.default_rng(3)
    look = {k: colour_descriptor(_person(60, 20, *v, rng), np.ones((60, 20), bool)) for k, v in LOOKS.items()}
    meet = 100
    path = [(meet - speed * (10 - k), meet + 10 + speed * (10 - k)) for k in range(10)] + [(meet, meet + 10)] * stay
    path += [(meet - speed * k, meet + 10 + speed * k) for k in range(1, 15)]
    out = []
    for xa, xb in path:
        boxes = {"A": (xa - 10, 100, xa + 10, 160), "B": (xb - 10, 100, xb + 10, 160)}
        if boxes["A"][2] >= boxes["B"][0]:
            union = (boxes["A"][0], 100, boxes["B"][2], 160)
            parts = [(union, None, 0.5 * (look["A"] + look["B"]))]
        else:
            parts = [(boxes[n], n, look[n]) for n in "AB"]
        objs = []
        for box, n, app in parts:
            x = 0.5 * (box[0] + box[2])
            o = SceneObject(id=0, bbox=box, area_px=61 * (box[2] - box[0] + 1), centroid=(x, 130), contact_px=(x, 160), top_px=(x, 100))
            o.extra.update(appearance=app, walker=n)
            objs.append(o)
        out.append(objs)
    return out


def _ids_after(**settings) -> tuple[dict, dict]:
    """Walker -> id before the meeting and after the last frame where both are seen apart."""
    tr = VariantByteTracker(fps=10.0, **settings)
    before = after = {}
    for k, dets in enumerate(_meet_and_turn_back()):
        objs = tr.update(dets)
        if k == 5:
            before = {o.extra["walker"]: o.id for o in objs}
        after = {o.extra["walker"]: o.id for o in objs} if len(objs) == 2 else after
    return before, after


def test_without_colour_the_ids_swap():
    before, after = _ids_after()
    assert before == {"A": 1, "B": 2}
    assert after == {"A": 2, "B": 1}  # each track followed its prediction onto the other walker


def test_colour_in_the_matching_stops_the_swap_and_relinking_gives_the_id_back():
    before, after = _ids_after(appearance_w=1.0)
    assert after["A"] == before["A"] and after["B"] not in before.values()  # no swap, but B's coasting track is lost
    before, after = _ids_after(appearance_w=1.0, appearance_relink=0.8)
    assert after == before  # B's new track takes its lost track's id back by its colours
    _, after = _ids_after(appearance_relink=0.8)
    assert after == {"A": 2, "B": 1}  # relinking alone cannot undo a swap made in the matching


def test_relinking_needs_matching_colours():
    """Where B's lost track was, someone in other clothes leaves the blob: a new person, no relink."""
    tr = VariantByteTracker(fps=10.0, appearance_w=1.0, appearance_relink=0.8)
    stranger = colour_descriptor(*_stranger())
    ids, blob_seen = [], False
    for frame in _meet_and_turn_back():
        blob_seen |= len(frame) == 1
        for o in frame:
            if o.extra["walker"] == "B" and blob_seen:  # B seen apart after the blob: a stranger
                o.extra["appearance"] = stranger
        ids.append({o.extra["walker"]: o.id for o in tr.update(frame)})
    assert ids[5] == {"A": 1, "B": 2} and ids[-1]["A"] == 1
    assert ids[-1]["B"] not in (1, 2)


def _stranger() -> tuple[np.ndarray, np.ndarray]:
    img = _person(60, 20, (30, 160, 30), (160, 160, 30), np.random.default_rng(5))
    return img, np.ones(img.shape[:2], bool)


def test_colour_off_is_the_tracker_unchanged():
    """``appearance_w=0`` (the default) gives the same ids as the product's tracker, which never sees the descriptors."""
    from maskdepth.scene.tracking import ByteTracker

    a, b = ByteTracker(fps=10.0), VariantByteTracker(fps=10.0, appearance_w=0.0)
    for dets in _meet_and_turn_back():
        bare = [SceneObject(**{**o.__dict__, "extra": {}}) for o in dets]
        assert [o.id for o in a.update(bare)] == [o.id for o in b.update(dets)]


def test_bad_appearance_settings_name_the_parameter():
    with pytest.raises(MaskDepthError, match=r"^appearance_w must be a number in \[0, 1\]"):
        VariantByteTracker(appearance_w=1.5)
    with pytest.raises(MaskDepthError, match=r"^appearance_rate must be a number in \(0, 1\]"):
        VariantByteTracker(appearance_rate=0.0)
    d = VariantByteTracker(appearance_w=0.5).describe()
    assert d["appearance_w"] == 0.5 and d["appearance_rate"] == 0.2


def test_contested_colour_reorders_admissible_pairs_only():
    """``appearance_rule="contested"``: a track alone near a detection keeps its similarity whatever the colours; where
    two tracks compete for two detections, colour decides, and every admissible pair stays admissible."""
    from benchmarks.tracker_variants import with_colour

    tr = VariantByteTracker(fps=10.0, appearance_w=1.0, appearance_rule="contested")
    tr._lib.tracks = [type("T", (), {"maskdepth_appearance": np.array([1.0, 0.0], np.float32)})() for _ in range(3)]
    tr._lib.tracks[1].maskdepth_appearance = np.array([0.0, 1.0], np.float32)
    tr._det_appearance = [np.array([0.0, 1.0], np.float32), np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)]
    sim = np.array([[0.9, 0.5, 0.0], [0.5, 0.9, 0.0], [0.0, 0.0, 0.6]])  # tracks 0, 1 compete; track 2 alone
    out = with_colour(tr, sim)
    assert out[2, 2] == sim[2, 2]  # alone: unchanged, although its colours do not match at all
    assert out[0, 1] > out[0, 0] and out[1, 0] > out[1, 1]  # the colours decide the contested pairs
    assert (out[sim >= tr.min_similarity] >= tr.min_similarity).all() and (
        out[sim < tr.min_similarity] == sim[sim < tr.min_similarity]
    ).all()


def test_whole_people_only():
    """``appearance_whole``: colour compares a track only with detections about as tall as the track seen alone."""
    from maskdepth.scene.tracking import _whole

    tr = VariantByteTracker(fps=10.0, appearance_w=1.0, appearance_whole=0.7)
    tr._size[5] = [(20.0, 60.0)] * 4 + [(20.0, 20.0)]  # mostly whole, once a piece
    assert _whole(tr, 5, 45.0) and not _whole(tr, 5, 40.0)  # 0.7 x the median height 60
    assert not _whole(tr, 6, 60.0)  # a track never seen alone: no colour
    assert _whole(VariantByteTracker(fps=10.0, appearance_w=1.0), 6, 1.0)  # without the setting: every detection
    with pytest.raises(MaskDepthError, match="^appearance_whole must be a number"):
        VariantByteTracker(appearance_whole=0.0)
    _, after = _ids_after(appearance_w=1.0, appearance_relink=0.8, appearance_rule="contested", appearance_whole=0.7)
    assert after == {"A": 1, "B": 2}


def test_contested_complete_leaves_contests_with_a_blind_contender():
    """``contested_complete``: a contest where one contender has no colours (a piece) is left as it was."""
    from benchmarks.tracker_variants import with_colour

    tr = VariantByteTracker(fps=10.0, appearance_w=1.0, appearance_rule="contested_complete")
    tr._lib.tracks = [type("T", (), {"maskdepth_appearance": np.array([1.0, 0.0], np.float32)})() for _ in range(2)]
    tr._lib.tracks[1].maskdepth_appearance = np.array([0.0, 1.0], np.float32)
    tr._det_appearance = [np.array([0.0, 1.0], np.float32), np.array([1.0, 0.0], np.float32), None]
    sim = np.array([[0.9, 0.5, 0.0], [0.5, 0.9, 0.0]])
    out = with_colour(tr, sim)
    assert out[0, 1] > out[0, 0] and out[1, 0] > out[1, 1]  # every contender has colours: colour decides
    sim2 = np.array([[0.9, 0.0, 0.8], [0.0, 0.9, 0.0]])  # track 0: a whole person and a piece without colours
    assert np.array_equal(with_colour(tr, sim2), sim2)
    tr.appearance_rule = "contested"
    assert with_colour(tr, sim2)[0, 0] < sim2[0, 0]  # "contested" rescores the whole person's pair alone
