"""Tests for maskdepth.data.render: exact geometry, determinism, textures, foregrounds, speed."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from maskdepth.data.procedural import procedural_foreground
from maskdepth.data.render import (
    BACK_WALL,
    BOX_BASE,
    CEILING,
    FLOOR,
    LEFT_WALL,
    RIGHT_WALL,
    RenderedScene,
    render_room,
)

SEEDS = [0, 1, 2, 3, 7, 11]


def _scene(seed: int, size: int = 64, **kw) -> RenderedScene:
    return render_room(np.random.default_rng(seed), size, **kw)


def _pixel_rays(K: np.ndarray, S: int) -> np.ndarray:
    """Camera-frame rays K^-1 [u, v, 1] for every pixel, (S, S, 3), z == 1."""
    v, u = np.mgrid[0:S, 0:S].astype(np.float64)
    pix = np.stack([u, v, np.ones_like(u)], -1)
    return pix @ np.linalg.inv(K).T


def _plane_depth(rays: np.ndarray, n: np.ndarray, d: float) -> np.ndarray:
    """Z of the intersection of each z==1 ray with the plane n.X + d = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -d / (rays @ n)


@pytest.mark.parametrize("seed", SEEDS)
def test_shapes_dtypes_and_depth_valid(seed):
    sc = _scene(seed, 48)
    assert sc.rgb.shape == (48, 48, 3) and sc.rgb.dtype == np.uint8
    assert sc.depth.shape == (48, 48) and sc.depth.dtype == np.float32
    assert sc.labels.shape == (48, 48) and sc.labels.dtype == np.uint8
    assert sc.K.shape == (3, 3) and sc.K.dtype == np.float64
    assert np.isfinite(sc.depth).all() and (sc.depth > 0).all()
    K = sc.K
    assert K[0, 0] == K[1, 1] > 0
    assert K[0, 2] == K[1, 2] == pytest.approx((48 - 1) / 2)
    assert K[2, 2] == 1 and K[0, 1] == K[1, 0] == K[2, 0] == K[2, 1] == 0
    hfov = math.degrees(2 * math.atan((48 / 2) / K[0, 0]))
    assert 50 - 1e-6 <= hfov <= 90 + 1e-6
    assert 1.0 <= sc.camera_height <= 2.5
    assert 5.0 <= sc.pitch_deg <= 35.0
    assert set(np.unique(sc.labels)) <= {FLOOR, CEILING, BACK_WALL, LEFT_WALL, RIGHT_WALL} | set(
        range(BOX_BASE, BOX_BASE + sc.meta["n_boxes"])
    )
    m = sc.meta
    assert 3 <= m["room_width_m"] <= 8 and 4 <= m["room_depth_m"] <= 12 and 2.4 <= m["room_height_m"] <= 3.5
    json.dumps(m)  # JSON-serialisable


@pytest.mark.parametrize("seed", SEEDS)
def test_floor_depth_is_analytic(seed):
    sc = _scene(seed, 64, n_boxes=(2, 3))
    n, d = sc.floor_plane
    floor = sc.labels == FLOOR
    assert floor.sum() > 100  # pitched down: the floor is always in view
    z = _plane_depth(_pixel_rays(sc.K, 64), n, d)
    np.testing.assert_allclose(sc.depth[floor], z[floor], rtol=1e-4)
    # every non-floor pixel is in front of (or off) the floor plane along its ray
    other = ~floor & (z > 0)
    assert (sc.depth[other] <= z[other] * (1 + 1e-4)).all()
    # the floor is in the lower part of the image: bottom-row pixels are floor or boxes
    assert np.isin(sc.labels[-1], [FLOOR, BACK_WALL] + list(range(BOX_BASE, 256))).all()


def test_floor_plane_matches_pitch():
    for seed in SEEDS:
        sc = _scene(seed, 32)
        n, d = sc.floor_plane
        assert n.shape == (3,) and n.dtype == np.float64
        assert np.linalg.norm(n) == pytest.approx(1.0, abs=1e-12)
        p = math.radians(sc.pitch_deg)
        # camera up (0, -1, 0) rotated by the downward pitch about the camera x axis
        np.testing.assert_allclose(n, [0.0, -math.cos(p), -math.sin(p)], atol=1e-9)
        assert d == pytest.approx(sc.camera_height) and d > 0  # camera (origin) on the up side


@pytest.mark.parametrize("seed", SEEDS)
def test_walls_and_boxes_consistent_with_meta(seed):
    """All pixels, back-projected with their depth, lie on the labelled surface."""
    S = 64
    sc = _scene(seed, S, n_boxes=(1, 3))
    m = sc.meta
    R = np.array(m["R_world_from_camera"])
    C = np.array(m["camera_position_m"])
    assert np.allclose(R.T @ R, np.eye(3)) and np.linalg.det(R) == pytest.approx(1.0)
    Xc = _pixel_rays(sc.K, S) * sc.depth.astype(np.float64)[..., None]
    Xw = Xc @ R.T + C
    W, D, H = m["room_width_m"], m["room_depth_m"], m["room_height_m"]
    tol = 1e-3
    expect = {
        FLOOR: (2, 0.0),
        CEILING: (2, H),
        BACK_WALL: (1, D),
        LEFT_WALL: (0, -W / 2),
        RIGHT_WALL: (0, W / 2),
    }
    for lab, (axis, value) in expect.items():
        sel = sc.labels == lab
        if sel.any():
            np.testing.assert_allclose(Xw[sel][:, axis], value, atol=tol * max(1.0, abs(value)))
    # everything is inside the room
    assert (Xw[..., 0] > -W / 2 - tol).all() and (Xw[..., 0] < W / 2 + tol).all()
    assert (Xw[..., 1] > 0).all() and (Xw[..., 1] < D + tol).all()
    assert (Xw[..., 2] > -tol).all() and (Xw[..., 2] < H + tol).all()
    for i, box in enumerate(m["boxes"]):
        lo, hi = np.array(box["min"]), np.array(box["max"])
        assert lo[2] == 0.0  # standing on the floor
        assert ((hi - lo) >= 0.3 - 1e-9).all() and ((hi - lo) <= 1.2 + 1e-9).all()
        pts = Xw[sc.labels == BOX_BASE + i]
        if len(pts):
            assert (pts > lo - 1e-3).all() and (pts < hi + 1e-3).all()
            on_face = (np.abs(pts - lo) < 1e-3) | (np.abs(pts - hi) < 1e-3)
            assert on_face.any(axis=1).all()
    # the camera is inside the room, at the reported height, near the front wall
    assert C[2] == pytest.approx(sc.camera_height)
    assert -W / 2 < C[0] < W / 2 and 0 < C[1] < 1.0


def _reference_cast(sc: RenderedScene):
    """Independent brute-force ray caster (float64): Z depth and label of every pixel."""
    m = sc.meta
    R = np.array(m["R_world_from_camera"])
    C = np.array(m["camera_position_m"])
    S = sc.depth.shape[0]
    d = (_pixel_rays(sc.K, S) @ R.T).reshape(-1, 3)
    W, D, H = m["room_width_m"], m["room_depth_m"], m["room_height_m"]
    planes = [  # (label, axis, value)
        (FLOOR, 2, 0.0),
        (CEILING, 2, H),
        (BACK_WALL, 1, D),
        (LEFT_WALL, 0, -W / 2),
        (RIGHT_WALL, 0, W / 2),
    ]
    best = np.full(len(d), np.inf)
    lab = np.full(len(d), 255)
    with np.errstate(divide="ignore", invalid="ignore"):
        for label, axis, value in planes:
            t = (value - C[axis]) / d[:, axis]
            ok = (t > 0) & (t < best)
            best[ok], lab[ok] = t[ok], label
        for i, box in enumerate(m["boxes"]):
            lo, hi = np.array(box["min"]), np.array(box["max"])
            t1, t2 = (lo - C) / d, (hi - C) / d
            tn = np.minimum(t1, t2).max(1)
            tf = np.maximum(t1, t2).min(1)
            ok = (tn < tf) & (tn > 0) & (tn < best)
            best[ok], lab[ok] = tn[ok], BOX_BASE + i
    return best.reshape(S, S), lab.reshape(S, S)


@pytest.mark.parametrize("seed", SEEDS + [21, 33])
def test_matches_reference_ray_caster(seed):
    sc = _scene(seed, 48, n_boxes=(3, 3))
    z, lab = _reference_cast(sc)
    np.testing.assert_allclose(sc.depth, z, rtol=1e-5)
    # labels may differ only on exact ties (edges / corners)
    assert (sc.labels != lab).mean() < 0.002


def test_boxes_count_range():
    counts = [_scene(s, 32, n_boxes=(0, 0)).meta["n_boxes"] for s in range(4)]
    assert counts == [0, 0, 0, 0]
    seen = {_scene(s, 32, n_boxes=(0, 3)).meta["n_boxes"] for s in range(30)}
    assert seen <= {0, 1, 2, 3} and len(seen) >= 3
    with pytest.raises(ValueError):
        _scene(0, 32, n_boxes=(3, 1))
    with pytest.raises(ValueError):
        _scene(0, 8)


def test_deterministic():
    a, b = _scene(5, 64), _scene(5, 64)
    for f in ("rgb", "depth", "labels", "K"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    assert a.meta == b.meta
    c = _scene(6, 64)
    assert not np.array_equal(a.rgb, c.rgb)
    assert not np.array_equal(a.depth, c.depth)


def test_textures_option_used():
    rng = np.random.default_rng(123)
    photo = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    photo[:, :80] = (200, 30, 30)  # strongly red half: easy to spot
    a = _scene(9, 64)
    b = _scene(9, 64, textures=[photo])
    assert b.meta["texture_source"] == "photo" and a.meta["texture_source"] == "procedural"
    assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).mean() > 5
    np.testing.assert_array_equal(a.depth, b.depth)  # same geometry: textures only change colours
    with pytest.raises(ValueError):
        _scene(9, 64, textures=[photo.astype(np.float32)])
    with pytest.raises(ValueError):
        _scene(9, 64, textures=[photo[..., 0]])


def test_image_not_flat():
    sc = _scene(2, 96)
    assert sc.rgb.std() > 5
    # different surfaces are distinguishable: per-label means are not all equal
    means = [sc.rgb[sc.labels == lab].mean() for lab in np.unique(sc.labels)]
    assert max(means) - min(means) > 3


@pytest.mark.parametrize("kind", ["person", "object"])
def test_procedural_foreground(kind):
    for seed in range(6):
        a = procedural_foreground(np.random.default_rng(seed), kind, 96)
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[0] == 96 and a.shape[2] == 4
        alpha = a[..., 3]
        assert alpha[0].max() == 0 and alpha[:, 0].max() == 0 and alpha[:, -1].max() == 0
        assert alpha[-1].max() > 0  # stands on the last row
        assert (alpha == 255).sum() > 0.15 * alpha.size  # opaque core
        assert ((alpha > 0) & (alpha < 255)).any()  # antialiased edge
        assert (a[..., :3][alpha == 0] == 0).all()
        if kind == "person":
            rows = np.flatnonzero(alpha.max(1) > 0)
            cols = np.flatnonzero(alpha.max(0) > 0)
            assert rows[-1] - rows[0] > 2 * (cols[-1] - cols[0])  # taller than wide
            assert alpha[a.shape[0] // 2, a.shape[1] // 2] == 255  # torso centre opaque
    x = procedural_foreground(np.random.default_rng(1), kind, 64)
    y = procedural_foreground(np.random.default_rng(1), kind, 64)
    assert np.array_equal(x, y)


def test_procedural_foreground_errors():
    with pytest.raises(ValueError):
        procedural_foreground(np.random.default_rng(0), "dragon")
    with pytest.raises(ValueError):
        procedural_foreground(np.random.default_rng(0), "person", 4)
    with pytest.raises(TypeError):
        procedural_foreground(0, "person")


def test_render_speed():
    render_room(np.random.default_rng(0), 128)  # warm-up
    best = min(_timed(lambda s=s: render_room(np.random.default_rng(s), 128)) for s in range(3))
    assert best < 0.2


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# --------------------------------------------------------------------------- RenderRanges (issue 13)
from maskdepth.data.render import RANGE_PRESETS, RenderRanges, parse_render_ranges, render_ranges_from  # noqa: E402

# sha256 of rgb + depth + labels bytes of render_room(default_rng(seed), 40, textures, n_boxes=(1, 3)) as rendered
# by the code before RenderRanges existed (git HEAD at the time): the default ranges must draw exactly the same.
_HEAD_SHA = {
    (0, False): "7981376ffe5b93409d82144659506800677a36b065ef16a5edff847875188025",
    (0, True): "80e2e652c0e4581948533540c1f25dbba74cadfbbb9e201f95b15a1d391aab80",
    (5, False): "1db309f1e5c604481df409ae590ef430c1bf158eacf59fe94171d13e2c32c24e",
    (5, True): "6631d4506a669932aa41ba03c92babde1c22db00ee92dfe2b2e49ebc2d2d823c",
    (9, False): "f33b55c8c300e7721337a7a50a5b8624c7c8641a46aaca44b8352d4e8fb5b746",
    (9, True): "a5f29573bc415a26ef85bd81a42eddb6d9ae86c533b404a5cd6da84925ab1fd9",
}


def _sha(sc: RenderedScene) -> str:
    import hashlib

    h = hashlib.sha256()
    for a in (sc.rgb, sc.depth, sc.labels):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("seed,photo", sorted(_HEAD_SHA))
def test_default_ranges_render_the_same_bytes_as_before(seed, photo):
    tex = [np.arange(24 * 30 * 3, dtype=np.uint8).reshape(24, 30, 3)] if photo else None
    for ranges in (None, RenderRanges(), render_ranges_from(None), render_ranges_from({})):
        sc = render_room(np.random.default_rng(seed), 40, textures=tex, n_boxes=(1, 3), ranges=ranges)
        assert _sha(sc) == _HEAD_SHA[(seed, photo)]


def test_render_ranges_parse_and_validate():
    assert parse_render_ranges(None) is None
    got = parse_render_ranges("cctv,hfov=60:80,photo_prob=0.5,exposure=1")
    assert got == {
        "cam_height": [2.2, 4.0],
        "pitch": [10.0, 40.0],
        "room_h": [4.2, 5.0],
        "hfov": [60.0, 80.0],
        "photo_prob": 0.5,
        "exposure": [1.0, 1.0],
    }
    assert parse_render_ranges({"preset": "cctv", "pitch": [15, 20]})["pitch"] == [15.0, 20.0]  # preset first, then overrides
    assert parse_render_ranges({"pitch": "15:20"}) == {"pitch": [15.0, 20.0]}
    rr = render_ranges_from("cctv")
    assert rr.cam_height == RANGE_PRESETS["cctv"]["cam_height"] == (2.2, 4.0) and rr.pitch == (10.0, 40.0)
    assert rr.hfov == RenderRanges().hfov  # unnamed ranges keep their default
    for bad, msg in [
        ("foo=1:2", "unknown name 'foo'"),
        ("cctvx", "unknown preset"),
        ("pitch=a:b", "expected a number"),
        ("pitch=1:2:3", "expected a number"),
        ("pitch=30:20", "low 30 > high 20"),
        ("pitch=10:90", r"pitch must lie in \(-90, 90\)"),
        ("pitch=10:80", r"\|pitch\| \+ hfov/2"),
        ("cam_height=0:1", "cam_height must be > 0"),
        ("cam_height=3:4", "room_h must be at least cam_height"),
        ("hfov=5:60", "hfov must lie in"),
        ("photo_prob=1.5", "probability"),
        ("photo_prob=0:1", "one probability"),
        ("room_w=nan:3", "finite"),
    ]:
        with pytest.raises(ValueError, match=msg):
            parse_render_ranges(bad)
    with pytest.raises(ValueError, match="low 4 > high 2"):
        RenderRanges(cam_height=(4.0, 2.0))
    with pytest.raises(TypeError, match="RenderRanges"):
        render_room(np.random.default_rng(0), 32, ranges={"pitch": (1, 2)})


def _world_pose(sc: RenderedScene) -> tuple[np.ndarray, np.ndarray]:
    return np.array(sc.meta["R_world_from_camera"]), np.array(sc.meta["camera_position_m"])


def test_rendered_cameras_respect_the_ranges():
    rr = RenderRanges(cam_height=(2.2, 4.0), pitch=(30.0, 32.0), hfov=(60.0, 62.0), room_h=(4.2, 5.0), room_w=(5.0, 6.0), room_d=(6.0, 7.0))
    heights, pitches = [], []
    for seed in range(10):
        sc = render_room(np.random.default_rng([seed, 1]), 32, n_boxes=(0, 1), ranges=rr)
        R, cam = _world_pose(sc)
        # measured from the scene's camera: height = camera z, pitch = angle of the optical axis below horizontal
        h = cam[2]
        pitch = math.degrees(-math.asin(R[2, 2]))
        hfov = math.degrees(2 * math.atan((32 / 2) / sc.K[0, 0]))
        assert h == pytest.approx(sc.camera_height) and pitch == pytest.approx(sc.pitch_deg)
        assert 2.2 <= h <= 4.0 and h <= sc.meta["room_height_m"] - 0.2 + 1e-9
        assert 30.0 <= pitch <= 32.0
        assert 60.0 - 1e-9 <= hfov <= 62.0 + 1e-9
        assert 4.2 <= sc.meta["room_height_m"] <= 5.0 and 5.0 <= sc.meta["room_width_m"] <= 6.0 and 6.0 <= sc.meta["room_depth_m"] <= 7.0
        assert np.isfinite(sc.depth).all() and (sc.depth > 0).all()
        heights.append(h)
        pitches.append(pitch)
    assert max(heights) > 2.5  # above the default range: the option really reaches the renderer
    assert np.ptp(heights) > 0.3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cctv_floor_depth_matches_ray_plane_intersection(seed):
    S = 64
    sc = render_room(np.random.default_rng([seed, 2]), S, n_boxes=(0, 2), ranges=render_ranges_from("cctv"))
    R, cam = _world_pose(sc)
    assert 2.2 <= cam[2] <= 4.0 and 10.0 <= sc.pitch_deg <= 40.0
    floor = sc.labels == FLOOR
    assert floor.mean() > 0.1  # a pitched-down CCTV camera sees plenty of floor
    rays = _pixel_rays(sc.K, S)  # camera frame, z == 1
    dz_world = rays @ R[2]  # world z component of each ray
    with np.errstate(divide="ignore"):
        z = -cam[2] / dz_world  # ray parameter at the floor z = 0 == camera-frame depth (z == 1 rays)
    np.testing.assert_allclose(sc.depth[floor], z[floor], rtol=1e-5)
    # the same through floor_plane (n . X + d = 0 in camera coordinates)
    n, d = sc.floor_plane
    np.testing.assert_allclose(sc.depth[floor], _plane_depth(rays, n, d)[floor], rtol=1e-5)


def test_photo_probability_and_lighting_ranges():
    tex = [np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)]
    kinds = set()
    for seed in range(6):
        sc = render_room(np.random.default_rng(seed), 32, textures=tex, ranges=RenderRanges(photo_prob=0.0))
        assert sc.meta["texture_source"] == "procedural" and "photo" not in sc.meta["surface_textures"]
        sc = render_room(np.random.default_rng(seed), 32, textures=tex, ranges=RenderRanges(photo_prob=0.5))
        kinds.add(sc.meta["texture_source"])
    assert "mixed" in kinds
    dark = render_room(np.random.default_rng(4), 32, ranges=RenderRanges(exposure=(0.4, 0.4), ambient=(0.2, 0.2), diffuse=(0.3, 0.3)))
    bright = render_room(np.random.default_rng(4), 32, ranges=RenderRanges(exposure=(1.6, 1.6), ambient=(0.5, 0.5), diffuse=(1.0, 1.0)))
    assert bright.rgb.mean() > 1.5 * dark.rgb.mean()
    np.testing.assert_array_equal(bright.depth, dark.depth)  # lighting draws come after the geometry
    warm = render_room(np.random.default_rng(4), 32, ranges=RenderRanges(tint_green=(0.1, 0.1), tint_blue=(0.4, 0.4)))
    cool = render_room(np.random.default_rng(4), 32, ranges=RenderRanges(tint_green=(-0.05, -0.05), tint_blue=(-0.2, -0.2)))
    rb = lambda im: im[..., 0].mean() / max(im[..., 2].mean(), 1.0)  # noqa: E731
    assert rb(warm.rgb) > rb(cool.rgb) * 1.2
