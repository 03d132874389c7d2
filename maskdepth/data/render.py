"""Procedural indoor-scene renderer with exact per-pixel metric depth (pure numpy).

This is the project's embedded default data: a fresh machine has no photos, and
this module gives an unlimited supply of depth-labelled backgrounds
(:func:`render_room`; the synthetic foreground cutouts are in
:mod:`maskdepth.data.procedural`). Nothing here needs OpenGL or a GPU; the renderer
is a vectorised ray caster over a box-shaped room with a few axis-aligned
box-shaped "furniture" solids in it. :func:`render_room` runs three stages: layout
(room, camera, boxes, light), texturing (a texture per surface, lighting parameters)
and raster (depth and labels from exact pixel-centre rays, colour from supersampled rays).

Conventions
-----------
Camera frame
    OpenCV pinhole: x right, y down, z forward (right-handed). A pixel
    ``(u, v)`` (``u`` = column, ``v`` = row, pixel centres at integer
    coordinates) back-projects to the ray ``X = Z * K^-1 [u, v, 1]^T``.
Intrinsics
    ``K = [[f, 0, c], [0, f, c], [0, 0, 1]]`` (float64) with ``fx == fy == f``
    and the principal point at the image centre ``c = (S - 1) / 2``;
    ``f = (S / 2) / tan(hfov / 2)``.
Depth
    The Z coordinate of the first surface hit, in the camera frame, in metres
    (planar depth, NOT the Euclidean length of the ray).
World frame (only used in ``RenderedScene.meta``)
    Right-handed, x right, y forward (into the room), z up, metres. The room
    is ``[-W/2, W/2] x [0, D] x [0, H]``: floor ``z = 0``, ceiling ``z = H``,
    front wall ``y = 0`` (behind the camera), back wall ``y = D``, left wall
    ``x = -W/2``, right wall ``x = W/2``. The camera has no roll.

Labels (``RenderedScene.labels``)
    ``0`` floor, ``1`` ceiling, ``2`` back wall, ``3`` left wall, ``4`` right
    wall, ``5 + i`` box ``i`` (``i`` indexes ``meta["boxes"]``). The front wall
    is never visible (the yaw range guarantees every ray points into the room).

Determinism
    Every random choice is drawn from the ``np.random.Generator`` passed in, so
    the same generator state gives bit-identical outputs.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import cv2
import numpy as np

__all__ = [
    "RenderedScene",
    "RenderRanges",
    "RANGE_PRESETS",
    "parse_render_ranges",
    "render_ranges_from",
    "render_room",
    "FLOOR",
    "CEILING",
    "BACK_WALL",
    "LEFT_WALL",
    "RIGHT_WALL",
    "BOX_BASE",
    "LABEL_NAMES",
    "check_rng",
    "hsv",
]

FLOOR, CEILING, BACK_WALL, LEFT_WALL, RIGHT_WALL, BOX_BASE = 0, 1, 2, 3, 4, 5
LABEL_NAMES = {
    FLOOR: "floor",
    CEILING: "ceiling",
    BACK_WALL: "back_wall",
    LEFT_WALL: "left_wall",
    RIGHT_WALL: "right_wall",
}  # labels >= BOX_BASE are boxes: label - BOX_BASE indexes meta["boxes"]
_FRONT_WALL = 255  # internal sentinel; never visible (see _sample_camera)

# Fixed parameter ranges (metres / degrees); the adjustable ones are RenderRanges.
_YAW_DEG = 10.0  # |yaw| <= 10 deg; a camera whose corner rays would leave the room gets yaw 0
_BOX_DIM = (0.3, 1.2)

_TEX_N = 128  # procedural / photo texture resolution (texels per side)


@dataclass(frozen=True)
class RenderRanges:
    """The ranges :func:`render_room` draws its rooms, cameras, lights and textures from.

    Every range is an inclusive ``(lo, hi)`` pair of floats, drawn uniformly; the defaults are the
    renderer's historical ranges (with them, :func:`render_room` draws exactly what it always did).

    Attributes:
        cam_height: camera centre height above the floor, metres; also capped at ``room height - 0.2``
            per room (so ``cam_height[0] + 0.2 <= room_h[0]`` is required).
        pitch: downward pitch of the optical axis below horizontal, degrees (negative = looking up);
            ``|pitch| + hfov / 2 <= 88`` so every ray points into the room.
        hfov: horizontal (= vertical, square images) field of view, degrees, in [10, 150].
        room_w, room_d, room_h: room width (x), depth (y) and height (z), metres (width and depth >= 2).
        ambient: ambient light level (shading = texture x (ambient + diffuse x Lambert + fill)), >= 0.
        diffuse: intensity of the ceiling point light (Lambert weight), >= 0.
        exposure: global exposure factor, > 0.
        tint_green, tint_blue: reduction of the light's green / blue channel (light colour
            ``(1, 1 - g, 1 - b)``): positive = warmer (lower colour temperature), negative = cooler; in (-1, 1).
        photo_prob: probability that a surface gets a crop of a photo when ``textures`` are given
            (else a procedural texture), in [0, 1]; 1 draws nothing extra.

    Raises:
        ValueError: a range with ``lo > hi``, a non-finite number, or a physically impossible value
            (see above), with a one-line message naming the field.
    """

    cam_height: tuple[float, float] = (1.0, 2.5)
    pitch: tuple[float, float] = (5.0, 35.0)
    hfov: tuple[float, float] = (50.0, 90.0)
    room_w: tuple[float, float] = (3.0, 8.0)
    room_d: tuple[float, float] = (4.0, 12.0)
    room_h: tuple[float, float] = (2.4, 3.5)
    ambient: tuple[float, float] = (0.3, 0.5)
    diffuse: tuple[float, float] = (0.6, 1.0)
    exposure: tuple[float, float] = (0.9, 1.2)
    tint_green: tuple[float, float] = (-0.06, 0.1)
    tint_blue: tuple[float, float] = (-0.1, 0.2)
    photo_prob: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "photo_prob":
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                    raise ValueError(f"photo_prob must be a probability in [0, 1], got {v!r}")
                object.__setattr__(self, f.name, float(v))
                continue
            try:
                lo, hi = (float(x) for x in v)
            except (TypeError, ValueError):
                raise ValueError(f"{f.name} must be a pair (lo, hi) of numbers, got {v!r}") from None
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError(f"{f.name} must be finite, got {lo}:{hi}")
            if lo > hi:
                raise ValueError(f"{f.name}: low {lo:g} > high {hi:g}")
            object.__setattr__(self, f.name, (lo, hi))
        self._check_physical()

    def _check_physical(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(msg)

        need(self.cam_height[0] > 0, f"cam_height must be > 0 m, got {self.cam_height[0]:g}")
        need(10.0 <= self.hfov[0] and self.hfov[1] <= 150.0, f"hfov must lie in [10, 150] degrees, got {self.hfov[0]:g}:{self.hfov[1]:g}")
        need(
            -90.0 < self.pitch[0] and self.pitch[1] < 90.0, f"pitch must lie in (-90, 90) degrees, got {self.pitch[0]:g}:{self.pitch[1]:g}"
        )
        lim = 88.0 - self.hfov[1] / 2.0
        need(
            -lim <= self.pitch[0] and self.pitch[1] <= lim,
            f"|pitch| + hfov/2 must be <= 88 degrees (rays behind the camera), got pitch {self.pitch[0]:g}:{self.pitch[1]:g} "
            f"with hfov up to {self.hfov[1]:g}",
        )
        need(
            self.room_w[0] >= 2.0 and self.room_d[0] >= 2.0, f"room_w and room_d must be >= 2 m, got {self.room_w[0]:g}, {self.room_d[0]:g}"
        )
        need(
            self.cam_height[0] + 0.2 <= self.room_h[0] + 1e-9,
            f"room_h must be at least cam_height + 0.2 m (low {self.room_h[0]:g} < {self.cam_height[0] + 0.2:g})",
        )
        need(self.ambient[0] >= 0 and self.diffuse[0] >= 0, "ambient and diffuse must be >= 0")
        need(self.exposure[0] > 0, f"exposure must be > 0, got {self.exposure[0]:g}")
        for name in ("tint_green", "tint_blue"):
            lo, hi = getattr(self, name)
            need(-1.0 < lo and hi < 1.0, f"{name} must lie in (-1, 1), got {lo:g}:{hi:g}")


# named overrides of RenderRanges (``--render-ranges cctv``)
RANGE_PRESETS: dict[str, dict[str, tuple[float, float]]] = {
    # ceiling-mounted surveillance cameras; rooms tall enough to hold them
    "cctv": {"cam_height": (2.2, 4.0), "pitch": (10.0, 40.0), "room_h": (4.2, 5.0)},
}


def _range_value(name: str, value: Any) -> list[float] | float:
    """One setting's value in canonical form: ``[lo, hi]`` for a range, a float for ``photo_prob``."""
    if isinstance(value, str):
        parts = value.split(":")
        try:
            nums = [float(x) for x in parts]
        except ValueError:
            raise ValueError(f"{name}: expected a number or LOW:HIGH, got {value!r}") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        nums = [float(value)]
    elif isinstance(value, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        nums = [float(x) for x in value]
    else:
        raise ValueError(f"{name}: expected a number or LOW:HIGH, got {value!r}")
    if name == "photo_prob":
        if len(nums) != 1:
            raise ValueError(f"photo_prob: expected one probability, got {value!r}")
        return nums[0]
    if len(nums) == 1:
        nums = nums * 2  # a fixed value
    if len(nums) != 2:
        raise ValueError(f"{name}: expected a number or LOW:HIGH, got {value!r}")
    return nums


def parse_render_ranges(spec: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Canonical overrides ``{name: [lo, hi] | p}`` from a text or mapping spec, checked (``None`` -> ``None``).

    Text: comma-separated items, each a preset name (:data:`RANGE_PRESETS`, e.g. ``cctv``) or
    ``name=LOW:HIGH`` / ``name=VALUE`` with a :class:`RenderRanges` field name, applied left to right
    (``"cctv,hfov=60:80"``). A mapping: ``{name: "LOW:HIGH" | [lo, hi] | value}``, plus an optional
    ``preset: NAME`` applied first. ``photo_prob`` takes one number.

    Raises:
        ValueError: unknown name or preset, malformed number, ``lo > hi`` or a physically impossible
            range (see :class:`RenderRanges`); one line.
    """
    if spec is None:
        return None
    names = [f.name for f in fields(RenderRanges)]
    items: list[tuple[str, Any]] = []
    if isinstance(spec, str):
        for item in (t.strip() for t in spec.split(",")):
            if not item:
                continue
            k, sep, v = item.partition("=")
            items.append((k.strip(), v.strip()) if sep else ("preset", k.strip()))
    elif isinstance(spec, Mapping):
        items = sorted(((str(k), v) for k, v in spec.items()), key=lambda kv: kv[0] != "preset")
    else:
        raise ValueError(f"expected a text NAME=LOW:HIGH,... or a mapping, got {type(spec).__name__}")
    out: dict[str, Any] = {}
    for k, v in items:
        if k == "preset":
            if v not in RANGE_PRESETS:
                raise ValueError(f"unknown preset {v!r}; choose from {', '.join(RANGE_PRESETS)} or give NAME=LOW:HIGH")
            out.update({n: [float(x) for x in r] for n, r in RANGE_PRESETS[v].items()})
        elif k in names:
            out[k] = _range_value(k, v)
        else:
            raise ValueError(f"unknown name {k!r}; names: {', '.join(names)}")
    _ranges_of(out)  # check the combination
    return out


def render_ranges_from(spec: str | Mapping[str, Any] | None) -> RenderRanges:
    """The :class:`RenderRanges` of a spec (see :func:`parse_render_ranges`; ``None`` = the defaults).

    Raises:
        ValueError: as :func:`parse_render_ranges`.
    """
    return RenderRanges() if spec is None else _ranges_of(parse_render_ranges(spec) or {})


def _ranges_of(canonical: Mapping[str, Any]) -> RenderRanges:
    """RenderRanges from canonical overrides (names already checked)."""
    return RenderRanges(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in canonical.items()})


@dataclass
class RenderedScene:
    """One rendered room.

    Attributes:
        rgb: uint8 ``(S, S, 3)`` RGB image.
        depth: float32 ``(S, S)`` planar depth (camera-frame Z) in metres; every
            value is finite and > 0 (the room is closed).
        K: float64 ``(3, 3)`` intrinsics, ``fx == fy``, principal point
            ``((S-1)/2, (S-1)/2)``.
        floor_plane: ``(n, d)`` with ``n`` float64 ``(3,)`` the unit floor normal in
            camera coordinates pointing up (towards the camera side) and ``d`` a
            float (metres) such that the floor is ``{X : n . X + d = 0}``;
            ``d == camera_height > 0``. For this renderer (no roll)
            ``n == (0, -cos(pitch), -sin(pitch))``.
        camera_height: camera centre height above the floor, metres (default ranges 1.0-2.5).
        pitch_deg: downward pitch of the optical axis below horizontal, degrees
            (default ranges 5-35, positive = looking down).
        meta: JSON-serialisable dict: ``size``, ``room_width_m``,
            ``room_depth_m``, ``room_height_m``, ``hfov_deg``, ``yaw_deg``,
            ``focal_px``, ``camera_position_m`` (world frame),
            ``R_world_from_camera`` (3x3 list; world = R @ camera + position),
            ``n_boxes``, ``boxes`` (list of ``{"kind", "min", "max"}`` world
            corners, metres), ``light_position_m``, ``texture_source``
            (``"procedural"``, ``"photo"`` or ``"mixed"``), ``surface_textures`` (texture kind
            per surface) and ``label_names``.
        labels: uint8 ``(S, S)`` surface id per pixel (see module docstring:
            0 floor, 1 ceiling, 2 back wall, 3 left wall, 4 right wall, 5+ boxes).
    """

    rgb: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    floor_plane: tuple[np.ndarray, float]
    camera_height: float
    pitch_deg: float
    meta: dict[str, Any] = field(default_factory=dict)
    labels: np.ndarray | None = None


# --------------------------------------------------------------------------- helpers


def check_rng(rng: Any) -> np.random.Generator:
    """``rng`` itself; raises TypeError unless it is a ``numpy.random.Generator``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def hsv(h: float, s: float, v: float) -> np.ndarray:
    """An RGB colour, float32 (3,) in [0, 1], from hue (wrapped), saturation and value (clipped to [0, 1])."""
    return np.array(colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0)), np.float32)


def _fft_noise(rng: np.random.Generator, n: int, beta: float = 2.0, stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Periodic 1/f^beta noise, float32 (n, n), zero mean, unit std.

    ``stretch = (sy, sx)`` weights the frequencies; ``sx > 1`` smooths along x
    (grain running along x)."""
    w = rng.standard_normal((n, n))
    fy = np.fft.fftfreq(n)[:, None] * stretch[0]
    fx = np.fft.rfftfreq(n)[None, :] * stretch[1]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spec = np.fft.rfft2(w) / f ** (beta / 2.0)
    spec[0, 0] = 0.0
    out = np.fft.irfft2(spec, s=(n, n))
    out /= out.std() + 1e-8
    return out.astype(np.float32)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)[..., None]
    return a * (1.0 - t) + b * t


# --------------------------------------------------------------------------- procedural textures
# Each returns float32 (n, n, 3) in [0, 1]. Texture u runs along image columns.


def _tex_paint(rng, n, col):
    noise = _fft_noise(rng, n, 2.2)
    fine = _fft_noise(rng, n, 0.6)
    img = col[None, None, :] * (1.0 + 0.035 * noise[..., None] + 0.015 * fine[..., None])
    return np.clip(img, 0, 1)


def _tex_noise(rng, n, col_a, col_b):
    noise = _fft_noise(rng, n, rng.uniform(1.6, 2.6))
    fine = _fft_noise(rng, n, 0.8)
    img = _mix(col_a[None, None], col_b[None, None], 0.5 + 0.3 * noise)
    img = img * (1.0 + 0.05 * fine[..., None])
    return np.clip(img, 0, 1)


def _tex_planks(rng, n, col):
    k = int(rng.integers(4, 9))  # planks across the texture
    pw = n / k
    v = np.arange(n)[:, None]
    u = np.arange(n)[None, :]
    idx = np.minimum((v / pw).astype(int), k - 1)
    tone = 1.0 + rng.uniform(-0.12, 0.12, k)[idx]
    joint = rng.uniform(0, n, k)[idx]
    grain = _fft_noise(rng, n, 2.0, (1.0, 10.0))
    img = col[None, None] * (tone * (1.0 + 0.09 * grain))[..., None]
    gap = (np.abs(v % pw) < 1.2) | (np.abs((u - joint) % n) < 1.2)
    img = np.where(gap[..., None], img * 0.45, img)
    return np.clip(img, 0, 1).astype(np.float32)


def _tex_tiles(rng, n, col_a, col_b, checker: bool):
    m = int(rng.choice([2, 3, 4, 4, 6]))
    tw = n / m
    v = np.arange(n)[:, None]
    u = np.arange(n)[None, :]
    iu = (u / tw).astype(int)
    iv = (v / tw).astype(int)
    var = 1.0 + rng.uniform(-0.05, 0.05, (m + 1, m + 1))[iv, iu]
    if checker:
        sel = (iu + iv) % 2 == 0
        img = np.where(sel[..., None], col_a[None, None], col_b[None, None]) * var[..., None]
    else:
        img = col_a[None, None] * var[..., None]
    img = img * (1.0 + 0.03 * _fft_noise(rng, n, 1.2)[..., None])
    g = max(1.0, n / 96.0)
    grout = ((u % tw) < g) | ((v % tw) < g)
    gcol = hsv(0.1, 0.05, rng.uniform(0.25, 0.85))
    img = np.where(grout[..., None], gcol[None, None], img)
    return np.clip(img, 0, 1).astype(np.float32)


def _tex_stripes(rng, n, col):
    k = int(rng.choice([4, 6, 8, 12]))
    u = np.arange(n)[None, :] + np.zeros((n, 1))
    sel = ((u / (n / k)).astype(int) % 2) == 0
    col_b = np.clip(col * rng.uniform(0.82, 0.95), 0, 1)
    img = np.where(sel[..., None], col[None, None], col_b[None, None])
    img = img * (1.0 + 0.02 * _fft_noise(rng, n, 1.5)[..., None])
    return np.clip(img, 0, 1).astype(np.float32)


def _tex_bricks(rng, n, col):
    rows = int(rng.choice([6, 8]))
    bh = n / rows
    bw = 2 * bh
    v = np.arange(n)[:, None] + np.zeros((1, n))
    u = np.arange(n)[None, :] + np.zeros((n, 1))
    r = (v / bh).astype(int)
    uu = u + (r % 2) * bw / 2
    c = (uu / bw).astype(int)
    var = 1.0 + rng.uniform(-0.12, 0.12, (rows + 1, int(n / bw) + 3))[r, c]
    img = col[None, None] * var[..., None] * (1.0 + 0.06 * _fft_noise(rng, n, 1.0)[..., None])
    mortar = ((v % bh) < 1.5) | ((uu % bw) < 1.5)
    img = np.where(mortar[..., None], hsv(0.1, 0.05, 0.75)[None, None], img)
    return np.clip(img, 0, 1).astype(np.float32)


def _wall_colour(rng):
    if rng.random() < 0.75:
        return hsv(rng.random(), rng.uniform(0.0, 0.18), rng.uniform(0.7, 0.95))
    return hsv(rng.random(), rng.uniform(0.2, 0.45), rng.uniform(0.55, 0.9))


def _procedural_texture(rng: np.random.Generator, surface: str, n: int = _TEX_N) -> tuple[np.ndarray, str]:
    """A random texture for ``surface`` in {"floor", "wall", "ceiling", "box"}."""
    if surface == "floor":
        kind = str(rng.choice(["planks", "tiles", "checker", "carpet", "concrete"], p=[0.35, 0.2, 0.1, 0.2, 0.15]))
        if kind == "planks":
            return _tex_planks(rng, n, hsv(rng.uniform(0.04, 0.11), rng.uniform(0.3, 0.7), rng.uniform(0.35, 0.8))), kind
        if kind in ("tiles", "checker"):
            a = hsv(rng.random(), rng.uniform(0.0, 0.3), rng.uniform(0.4, 0.9))
            b = hsv(rng.random(), rng.uniform(0.0, 0.3), rng.uniform(0.15, 0.6))
            return _tex_tiles(rng, n, a, b, checker=(kind == "checker")), kind
        if kind == "carpet":
            a = hsv(rng.random(), rng.uniform(0.15, 0.55), rng.uniform(0.25, 0.55))
            return _tex_noise(rng, n, a, a * rng.uniform(0.7, 0.9)), kind
        a = hsv(0.08, rng.uniform(0.0, 0.08), rng.uniform(0.4, 0.7))
        return _tex_noise(rng, n, a, a * rng.uniform(0.75, 0.95)), kind
    if surface == "wall":
        kind = str(rng.choice(["paint", "stripes", "noise", "bricks", "tiles"], p=[0.5, 0.15, 0.15, 0.1, 0.1]))
        col = _wall_colour(rng)
        if kind == "paint":
            return _tex_paint(rng, n, col), kind
        if kind == "stripes":
            return _tex_stripes(rng, n, col), kind
        if kind == "noise":
            return _tex_noise(rng, n, col, np.clip(col * rng.uniform(0.75, 0.95), 0, 1)), kind
        if kind == "bricks":
            return _tex_bricks(rng, n, hsv(rng.uniform(0.0, 0.08), rng.uniform(0.3, 0.6), rng.uniform(0.45, 0.8))), kind
        return _tex_tiles(rng, n, col, col, checker=False), kind
    if surface == "ceiling":
        kind = str(rng.choice(["paint", "ceiling_tiles"]))
        col = hsv(rng.random(), rng.uniform(0.0, 0.06), rng.uniform(0.8, 0.97))
        if kind == "paint":
            return _tex_paint(rng, n, col), kind
        return _tex_tiles(rng, n, col, col, checker=False), kind
    # box
    kind = str(rng.choice(["paint", "wood", "noise"]))
    if kind == "wood":
        return _tex_planks(rng, n, hsv(rng.uniform(0.03, 0.11), rng.uniform(0.3, 0.75), rng.uniform(0.3, 0.8))), kind
    col = hsv(rng.random(), rng.uniform(0.0, 0.7), rng.uniform(0.2, 0.9))
    if kind == "paint":
        return _tex_paint(rng, n, col), kind
    return _tex_noise(rng, n, col, np.clip(col * rng.uniform(0.6, 0.9), 0, 1)), kind


def _check_textures(textures: Sequence[np.ndarray] | None) -> list[np.ndarray] | None:
    if textures is None:
        return None
    if isinstance(textures, np.ndarray):
        raise ValueError("textures must be a list of uint8 (h, w, 3) images, not a single array")
    out = list(textures)
    for i, t in enumerate(out):
        if not isinstance(t, np.ndarray) or t.dtype != np.uint8 or t.ndim != 3 or t.shape[2] != 3:
            desc = f"{t.dtype} {t.shape}" if isinstance(t, np.ndarray) else type(t).__name__
            raise ValueError(f"textures[{i}] must be a uint8 (h, w, 3) array, got {desc}")
        if min(t.shape[:2]) < 8:
            raise ValueError(f"textures[{i}] is too small ({t.shape[0]}x{t.shape[1]}); need at least 8x8")
    return out or None


def _photo_texture(rng: np.random.Generator, textures: list[np.ndarray], n: int = _TEX_N) -> np.ndarray:
    img = textures[int(rng.integers(len(textures)))]
    h, w = img.shape[:2]
    m = min(h, w)
    c = int(rng.integers(max(8, int(0.15 * m)), max(9, int(0.5 * m)) + 1))
    c = min(c, m)
    y0 = int(rng.integers(0, h - c + 1))
    x0 = int(rng.integers(0, w - c + 1))
    crop = img[y0 : y0 + c, x0 : x0 + c]
    interp = cv2.INTER_AREA if c > n else cv2.INTER_LINEAR
    tex = cv2.resize(crop, (n, n), interpolation=interp).astype(np.float32) / 255.0
    # mild colour jitter so repeated crops of one photo still differ
    tex = tex * rng.uniform(0.85, 1.15, 3).astype(np.float32) * np.float32(rng.uniform(0.85, 1.1))
    return np.clip(tex, 0, 1)


def _mirror(x: np.ndarray) -> np.ndarray:
    """Triangle wave with period 2 mapping R -> [0, 1] (mirrored repeat: seamless tiling)."""
    f = np.mod(x, 2.0)
    return np.where(f > 1.0, 2.0 - f, f)


def _sample_tex(tex: np.ndarray, a: np.ndarray, b: np.ndarray, scale: float, off: tuple[float, float]) -> np.ndarray:
    n0, n1 = tex.shape[:2]
    iu = (_mirror(a / scale + off[0]) * (n1 - 1) + 0.5).astype(np.intp)
    iv = (_mirror(b / scale + off[1]) * (n0 - 1) + 0.5).astype(np.intp)
    return tex[iv, iu]


# --------------------------------------------------------------------------- geometry


def _rot_world_from_camera(pitch: float, yaw: float) -> np.ndarray:
    """Columns = camera x (right), y (down), z (forward) axes in the world frame."""
    cp, sp = math.cos(pitch), math.sin(pitch)
    base = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.0, -sp, cp],
            [0.0, -cp, -sp],
        ]
    )  # columns: right=(1,0,0), down=(0,-sp,-cp), fwd=(0,cp,-sp)
    cy, sy = math.cos(yaw), math.sin(yaw)
    rz = np.array([[cy, sy, 0.0], [-sy, cy, 0.0], [0.0, 0.0, 1.0]])  # positive yaw turns right
    return rz @ base


def _camera_rays(K: np.ndarray, S: int, ss: int, R: np.ndarray, dtype=np.float64):
    """World-frame ray directions for a ``(S*ss) x (S*ss)`` grid of sub-pixel centres.

    The camera-frame direction of every ray has z == 1 (so the ray parameter t of
    a hit IS its camera-frame depth). Returns three flat arrays ``(dx, dy, dz)``,
    row-major over (v, u).
    """
    c = (np.arange(S * ss, dtype=np.float64) + 0.5) / ss - 0.5  # sub-pixel centres in pixel units
    x = ((c - K[0, 2]) / K[0, 0])[None, :]
    y = ((c - K[1, 2]) / K[1, 1])[:, None]
    out = []
    for i in range(3):
        out.append((R[i, 0] * x + R[i, 1] * y + R[i, 2]).astype(dtype).ravel())
    return tuple(out)


def _nz(a: np.ndarray) -> np.ndarray:
    """``a`` with exact zeros replaced by a tiny positive number (safe division)."""
    return np.where(a == 0, a.dtype.type(1e-30), a)


def _cast(C, d, lo, hi, boxes):
    """First hit of the rays ``C + t d`` (t > 0) inside the room ``[lo, hi]`` with solid ``boxes``.

    ``d`` is a tuple of three flat arrays (all of one float dtype). Returns ``t``
    (N,), ``label`` uint8 (N,), ``axis`` int8 (N,) of the hit face's normal and
    ``sign`` (N,) of that normal (+1/-1; normals point towards the viewer).
    """
    dt = d[0].dtype.type
    inv = [1.0 / _nz(di) for di in d]
    pos = [di > 0 for di in d]
    tt = [np.where(pos[i], dt(hi[i] - C[i]), dt(lo[i] - C[i])) * inv[i] for i in range(3)]
    t = tt[0]
    label = np.where(pos[0], np.uint8(RIGHT_WALL), np.uint8(LEFT_WALL))
    axis = np.zeros(t.shape, np.int8)
    m = tt[1] < t
    t = np.where(m, tt[1], t)
    label = np.where(m, np.where(pos[1], np.uint8(BACK_WALL), np.uint8(_FRONT_WALL)), label)
    axis[m] = 1
    m = tt[2] < t
    t = np.where(m, tt[2], t)
    label = np.where(m, np.where(pos[2], np.uint8(CEILING), np.uint8(FLOOR)), label)
    axis[m] = 2
    for i, (blo, bhi) in enumerate(boxes):
        tmin, tmax = [], []
        for a in range(3):
            t1 = dt(blo[a] - C[a]) * inv[a]
            t2 = dt(bhi[a] - C[a]) * inv[a]
            tmin.append(np.minimum(t1, t2))
            tmax.append(np.maximum(t1, t2))
        tnear = np.maximum(np.maximum(tmin[0], tmin[1]), tmin[2])
        tfar = np.minimum(np.minimum(tmax[0], tmax[1]), tmax[2])
        hit = (tnear < tfar) & (tnear > 0) & (tnear < t)
        if hit.any():
            t = np.where(hit, tnear, t)
            label[hit] = BOX_BASE + i
            bax = np.where(tmin[0] == tnear, 0, np.where(tmin[1] == tnear, 1, 2)).astype(np.int8)
            axis[hit] = bax[hit]
    sign = np.where(np.where(axis == 0, pos[0], np.where(axis == 1, pos[1], pos[2])), dt(-1), dt(1))
    return t, label, axis, sign


def _segment_blocked(P, L, boxes) -> np.ndarray:
    """Bool (N,): the segment from the points ``P`` (tuple of 3 arrays) to the point ``L`` crosses a box."""
    if not boxes:
        return np.zeros(P[0].shape, bool)
    dt = P[0].dtype.type
    inv = [1.0 / _nz(dt(L[a]) - P[a]) for a in range(3)]
    out = np.zeros(P[0].shape, bool)
    for blo, bhi in boxes:
        tnear = tfar = None
        for a in range(3):
            t1 = (dt(blo[a]) - P[a]) * inv[a]
            t2 = (dt(bhi[a]) - P[a]) * inv[a]
            lo_, hi_ = np.minimum(t1, t2), np.maximum(t1, t2)
            tnear = lo_ if tnear is None else np.maximum(tnear, lo_)
            tfar = hi_ if tfar is None else np.minimum(tfar, hi_)
        out |= (tnear < tfar) & (tnear > 1e-3) & (tnear < 1.0)
    return out


# --------------------------------------------------------------------------- scene sampling


def _sample_camera(rng: np.random.Generator, size: int, W: float, D: float, H: float, rr: RenderRanges):
    hfov = math.radians(rng.uniform(*rr.hfov))
    f = (size / 2.0) / math.tan(hfov / 2.0)
    c = (size - 1) / 2.0
    K = np.array([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]])
    h = rng.uniform(rr.cam_height[0], min(rr.cam_height[1], H - 0.2))
    pitch = math.radians(rng.uniform(*rr.pitch))
    yaw = math.radians(rng.uniform(-_YAW_DEG, _YAW_DEG))
    cx = rng.uniform(-1.0, 1.0) * 0.5 * (W / 2.0 - 0.4)
    cy = rng.uniform(0.15, 0.8)
    R = _rot_world_from_camera(pitch, yaw)
    # Guard (never triggers with the default ranges): every corner ray must point into the room
    # (RenderRanges keeps |pitch| + hfov/2 <= 88, so yaw 0 always suffices).
    half = (size / 2.0) / f
    corners = np.array([[sx * half, sy * half, 1.0] for sx in (-1, 1) for sy in (-1, 1)])
    if ((corners @ R.T)[:, 1] <= 1e-3).any():
        yaw = 0.0
        R = _rot_world_from_camera(pitch, yaw)
    return K, f, hfov, h, pitch, yaw, np.array([cx, cy, h]), R


_BOX_KINDS = {
    # kind: (width range, depth range, height range) metres, all within _BOX_DIM
    "table": ((0.8, 1.2), (0.5, 1.0), (0.7, 0.8)),
    "cabinet": ((0.4, 1.0), (0.3, 0.6), (0.8, 1.2)),
    "crate": ((0.3, 0.7), (0.3, 0.7), (0.3, 0.7)),
    "sofa": ((0.9, 1.2), (0.6, 0.9), (0.4, 0.6)),
}


def _sample_boxes(rng, n: int, W, D, cam, hfov):
    boxes: list[tuple[np.ndarray, np.ndarray]] = []
    kinds: list[str] = []
    names = list(_BOX_KINDS)
    for _ in range(n):
        kind = names[int(rng.integers(len(names)))]
        wr, dr, hr = _BOX_KINDS[kind]
        w, dd, hh = rng.uniform(*wr), rng.uniform(*dr), rng.uniform(*hr)
        if rng.random() < 0.3:
            w, dd = dd, w
        for _try in range(25):
            y0_min = cam[1] + 1.0
            y0_max = D - dd
            if y0_max <= y0_min:
                break
            y0 = rng.uniform(y0_min, y0_max)
            if rng.random() < 0.25:
                y0 = y0_max  # against the back wall
            # keep the box roughly inside the horizontal field of view
            half_vis = (y0 + dd / 2 - cam[1]) * math.tan(hfov / 2) * 0.9
            xc = cam[0] + rng.uniform(-1.0, 1.0) * half_vis
            x0 = float(np.clip(xc - w / 2, -W / 2, W / 2 - w))
            lo = np.array([x0, y0, 0.0])
            hi = np.array([x0 + w, y0 + dd, hh])
            if hi[0] > W / 2 + 1e-9:
                continue
            clash = any((lo[:2] < bhi[:2] + 0.05).all() and (hi[:2] > blo[:2] - 0.05).all() for blo, bhi in boxes)
            if not clash:
                boxes.append((lo, hi))
                kinds.append(kind)
                break
    return boxes, kinds


# --------------------------------------------------------------------------- layout


@dataclass
class _Layout:
    """Room geometry, camera and light of one scene (world frame, metres)."""

    W: float
    D: float
    H: float
    K: np.ndarray
    f: float
    hfov: float
    h: float
    pitch: float
    yaw: float
    cam: np.ndarray
    R: np.ndarray
    boxes: list
    box_kinds: list
    lo: np.ndarray
    hi: np.ndarray
    light: np.ndarray


def _sample_layout(rng: np.random.Generator, S: int, nb_lo: int, nb_hi: int, rr: RenderRanges) -> _Layout:
    """Room size, camera, boxes and light position (in this order of draws)."""
    W = rng.uniform(*rr.room_w)
    D = rng.uniform(*rr.room_d)
    H = rng.uniform(*rr.room_h)
    K, f, hfov, h, pitch, yaw, cam, R = _sample_camera(rng, S, W, D, H, rr)
    n_draw = int(rng.integers(nb_lo, nb_hi + 1))
    boxes, box_kinds = _sample_boxes(rng, n_draw, W, D, cam, hfov)
    lo = np.array([-W / 2, 0.0, 0.0])
    hi = np.array([W / 2, D, H])
    light = np.array([rng.uniform(-W / 2 + 0.4, W / 2 - 0.4), rng.uniform(0.3 * D, 0.9 * D), H - 0.05])
    return _Layout(W, D, H, K, f, hfov, h, pitch, yaw, cam, R, boxes, box_kinds, lo, hi, light)


# --------------------------------------------------------------------------- texturing


def _texture_surfaces(rng: np.random.Generator, n_boxes: int, tex_list: list[np.ndarray] | None, photo_prob: float = 1.0):
    """Texture, metres per repeat and offset of every surface (floor, ceiling, back, left, right wall, boxes).

    With ``tex_list``, a surface gets a photo crop with probability ``photo_prob`` (one extra draw
    per surface only when ``photo_prob < 1``), else a procedural texture.

    Returns ``(surf_tex, surf_kind)``: a list of ``(texture float32 (n, n, 3), scale, (du, dv))``
    indexed by label, and the texture kind of each.
    """
    surf_tex: list[tuple[np.ndarray, float, tuple[float, float]]] = []
    surf_kind: list[str] = []

    def add_tex(surface: str, scale_rng: tuple[float, float]):
        if tex_list is not None and (photo_prob >= 1.0 or rng.random() < photo_prob):
            surf_tex.append((_photo_texture(rng, tex_list), rng.uniform(*scale_rng), (rng.random(), rng.random())))
            surf_kind.append("photo")
        else:
            tex, kind = _procedural_texture(rng, surface)
            surf_tex.append((tex, rng.uniform(*scale_rng), (rng.random(), rng.random())))
            surf_kind.append(kind)

    add_tex("floor", (1.0, 3.0))
    add_tex("ceiling", (1.0, 3.0))
    add_tex("wall", (1.0, 3.0))  # back wall
    if rng.random() < 0.6:  # side walls share the back wall's paint
        surf_tex += [surf_tex[2], surf_tex[2]]
        surf_kind += [surf_kind[2], surf_kind[2]]
    else:
        add_tex("wall", (1.0, 3.0))
        surf_tex.append(surf_tex[3])
        surf_kind.append(surf_kind[3])
    for _ in range(n_boxes):
        add_tex("box", (0.5, 1.5))
    return surf_tex, surf_kind


def _sample_lighting(rng: np.random.Generator, rr: RenderRanges) -> dict:
    """Light colour, shading weights, sensor noise and exposure of one scene."""
    light_col = np.array([1.0, 1.0 - rng.uniform(*rr.tint_green), 1.0 - rng.uniform(*rr.tint_blue)], np.float32)
    return {
        "light_col": light_col,
        "ambient": rng.uniform(*rr.ambient),
        "diffuse": rng.uniform(*rr.diffuse),
        "r0": rng.uniform(2.5, 5.0),
        "fill": rng.uniform(0.1, 0.3),
        "falloff": rng.uniform(0.01, 0.04),
        "noise_sigma": rng.uniform(0.5, 2.5),
        "exposure": rng.uniform(*rr.exposure),
    }


def _surface_colours(surf_tex, P, lab_s, ax_s) -> np.ndarray:
    """Texture colour (float32 (N, 3) in [0, 1]) of every hit point ``P`` from its surface's plane coordinates."""
    col = np.empty((lab_s.size, 3), np.float32)
    for sid, (tex, scale, off) in enumerate(surf_tex):
        m = lab_s == sid
        if not m.any():
            continue
        px, py, pz = P[0][m], P[1][m], P[2][m]
        if sid in (FLOOR, CEILING):
            a, b = px, py
        elif sid == BACK_WALL:
            a, b = px, -pz
        elif sid in (LEFT_WALL, RIGHT_WALL):
            a, b = py, -pz
        else:  # box: plane coordinates depend on the face
            ax = ax_s[m]
            a = np.where(ax == 0, py, px)
            b = np.where(ax == 2, py, -pz)
        col[m] = _sample_tex(tex, a, b, scale, off)
    return col


# --------------------------------------------------------------------------- raster


def _raster_depth(L: _Layout, S: int) -> tuple[np.ndarray, np.ndarray]:
    """Depth (float32 (S, S), metres) and labels (uint8 (S, S)) from the exact pixel-centre rays, float64."""
    dw = _camera_rays(L.K, S, 1, L.R, np.float64)
    t, label, _, _ = _cast(L.cam, dw, L.lo, L.hi, L.boxes)
    if (label == _FRONT_WALL).any():  # pragma: no cover - excluded by the yaw range
        raise RuntimeError("internal error: a ray hit the front wall")
    return t.reshape(S, S).astype(np.float32), label.reshape(S, S)  # camera-frame rays have z == 1, so t is Z


def _shading(L: _Layout, lt: dict, P, d, ts, lab_s, ax_s, sg_s) -> np.ndarray:
    """Shading factor (float32 (N,)) of every hit: ambient + Lambert from the ceiling light (box shadows)
    + camera-side fill, times corner / contact darkening, exposure and distance falloff."""
    f32 = np.float32
    lo, hi, boxes = L.lo, L.hi, L.boxes
    Lv = tuple(f32(L.light[i]) - P[i] for i in range(3))
    r = np.sqrt(Lv[0] * Lv[0] + Lv[1] * Lv[1] + Lv[2] * Lv[2])
    Ln = np.where(ax_s == 0, Lv[0], np.where(ax_s == 1, Lv[1], Lv[2]))
    ndl = np.maximum(sg_s * Ln / np.maximum(r, f32(1e-6)), 0)
    blocked = _segment_blocked(P, L.light, boxes)
    direct = f32(lt["diffuse"]) * ndl / (1 + (r * f32(1 / lt["r0"])) ** 2) * np.where(blocked, f32(0.25), f32(1))
    dn = np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    camfill = f32(lt["fill"]) * np.abs(np.where(ax_s == 0, d[0], np.where(ax_s == 1, d[1], d[2]))) / dn
    # corner darkening: distance to the room planes other than the hit one (front wall ignored)
    ao = np.ones_like(ts)
    for lab_own, dist in (
        (LEFT_WALL, P[0] - f32(lo[0])),
        (RIGHT_WALL, f32(hi[0]) - P[0]),
        (BACK_WALL, f32(hi[1]) - P[1]),
        (FLOOR, P[2] - f32(lo[2])),
        (CEILING, f32(hi[2]) - P[2]),
    ):
        ao *= np.where(lab_s == lab_own, f32(1), 1 - f32(0.3) * np.exp(dist * f32(-1 / 0.3)))
    # contact darkening of the floor around the boxes
    fl = lab_s == FLOOR
    if boxes and fl.any():
        fx, fy = P[0][fl], P[1][fl]
        aof = np.ones(fx.shape, f32)
        for blo, bhi in boxes:
            ddx = np.maximum(np.maximum(f32(blo[0]) - fx, fx - f32(bhi[0])), 0)
            ddy = np.maximum(np.maximum(f32(blo[1]) - fy, fy - f32(bhi[1])), 0)
            aof *= 1 - f32(0.45) * np.exp(np.sqrt(ddx * ddx + ddy * ddy) * f32(-1 / 0.15))
        ao[fl] *= aof
    # ts is the camera-frame depth of each sub-pixel hit
    return (f32(lt["ambient"]) + direct + camfill) * ao * f32(lt["exposure"]) / (1 + f32(lt["falloff"]) * ts)


def _raster_colour(rng: np.random.Generator, L: _Layout, S: int, surf_tex, lt: dict) -> np.ndarray:
    """The colour image, uint8 (S, S, 3): 2x2 supersampled rays in float32, area-downsampled, plus sensor noise."""
    ss = 2
    f32 = np.float32
    d = _camera_rays(L.K, S, ss, L.R, f32)
    ts, lab_s, ax_s, sg_s = _cast(L.cam.astype(f32), d, L.lo.astype(f32), L.hi.astype(f32), L.boxes)
    P = tuple(f32(L.cam[i]) + ts * d[i] for i in range(3))
    col = _surface_colours(surf_tex, P, lab_s, ax_s)
    shade = _shading(L, lt, P, d, ts, lab_s, ax_s, sg_s)
    img = col * (shade[:, None] * (lt["light_col"] * f32(255))[None, :])
    img = cv2.resize(img.reshape(S * ss, S * ss, 3), (S, S), interpolation=cv2.INTER_AREA)
    img += rng.normal(0.0, lt["noise_sigma"], img.shape).astype(f32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _scene_meta(L: _Layout, S: int, tex_list, surf_kind: list[str]) -> dict:
    return {
        "size": S,
        "room_width_m": float(L.W),
        "room_depth_m": float(L.D),
        "room_height_m": float(L.H),
        "hfov_deg": float(math.degrees(L.hfov)),
        "yaw_deg": float(math.degrees(L.yaw)),
        "focal_px": float(L.f),
        "camera_position_m": [float(v) for v in L.cam],
        "R_world_from_camera": [[float(v) for v in row] for row in L.R],
        "n_boxes": len(L.boxes),
        "boxes": [{"kind": k, "min": [float(v) for v in a], "max": [float(v) for v in b]} for k, (a, b) in zip(L.box_kinds, L.boxes)],
        "light_position_m": [float(v) for v in L.light],
        "texture_source": "procedural" if "photo" not in surf_kind else "photo" if set(surf_kind) == {"photo"} else "mixed",
        "surface_textures": list(surf_kind),
        "label_names": {str(k): v for k, v in LABEL_NAMES.items()} | {"5+": "box (label-5 indexes boxes)"},
    }


# --------------------------------------------------------------------------- main renderer


def _check_room_args(rng, size, n_boxes, ranges) -> tuple[RenderRanges, int, int, int]:
    """``(ranges, S, lo, hi)`` of :func:`render_room`'s arguments (``None`` ranges: the defaults).

    Raises:
        TypeError: ``rng`` not a ``numpy.random.Generator`` or ``ranges`` not a :class:`RenderRanges`.
        ValueError: ``size`` not an int in [16, 4096], ``n_boxes`` not ints with ``0 <= lo <= hi <= 32``.
    """
    check_rng(rng)
    rr = RenderRanges() if ranges is None else ranges
    if not isinstance(rr, RenderRanges):
        raise TypeError(f"ranges must be a RenderRanges, got {type(ranges).__name__}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 16 <= int(size) <= 4096:
        raise ValueError(f"size must be an int in [16, 4096], got {size!r}")
    try:
        nb_lo, nb_hi = (int(v) for v in n_boxes)
    except (TypeError, ValueError):
        raise ValueError(f"n_boxes must be a pair of ints (lo, hi), got {n_boxes!r}") from None
    if not 0 <= nb_lo <= nb_hi <= 32:
        raise ValueError(f"n_boxes must satisfy 0 <= lo <= hi <= 32, got {n_boxes!r}")
    return rr, int(size), nb_lo, nb_hi


def render_room(
    rng: np.random.Generator,
    size: int = 128,
    textures: list[np.ndarray] | None = None,
    n_boxes: tuple[int, int] = (0, 3),
    ranges: RenderRanges | None = None,
) -> RenderedScene:
    """Render a random box-shaped room with exact per-pixel metric depth.

    The room (by default width 3-8 m, depth 4-12 m, height 2.4-3.5 m) has a floor, ceiling,
    back wall and two side walls, plus ``n_boxes`` axis-aligned solid boxes standing
    on the floor (tables, cabinets, crates, sofas; every side 0.3-1.2 m). The
    camera sits inside the room near the front wall at (by default) 1.0-2.5 m height
    (at most 0.2 m below the ceiling), pitched down 5-35 deg, with a horizontal field of
    view of 50-90 deg, |yaw| <= 10 deg and no roll (an office-camera view); ``ranges``
    changes these ranges and the lighting ones. Shading is texture x (ambient + Lambert
    from one ceiling point light with box shadows + a weak camera-side fill) x
    corner / contact darkening x a mild distance falloff; the colour image is
    rendered with 2x2 supersampling (antialiased), while ``depth`` and ``labels``
    are computed from the exact pixel-centre rays.

    Args:
        rng: the random generator; all randomness comes from it, so the same
            state gives bit-identical outputs.
        size: output side ``S`` in pixels (square image), 16 <= S <= 4096.
        textures: optional list of uint8 ``(h, w, 3)`` RGB images (at least 8x8,
            e.g. real background photos). When given (non-empty), every surface
            gets a random square crop of a random image, colour-jittered and
            mapped with mirrored repeat onto the surface's 2D plane coordinates at
            1-3 m per repeat (boxes: 0.5-1.5 m). ``None`` or ``[]``: procedural
            textures (noise, planks, tiles, checker, stripes, bricks, paint).
        n_boxes: inclusive range ``(lo, hi)`` of the number of boxes; the number
            is drawn uniformly. A box that does not fit (after 25 placement
            tries) is dropped, so ``meta["n_boxes"]`` may be smaller than drawn.
            ``0 <= lo <= hi <= 32``.
        ranges: the room / camera / light / texture ranges (:class:`RenderRanges`; ``None`` =
            the defaults, which draw exactly what this function drew before the option existed).

    Returns:
        A :class:`RenderedScene` with ``rgb`` uint8 (S, S, 3), ``depth`` float32
        (S, S) metres (finite, > 0), ``labels`` uint8 (S, S), ``K`` float64 (3, 3),
        ``floor_plane`` ``(n, d)`` in camera coordinates, ``camera_height`` (m),
        ``pitch_deg`` and a JSON-serialisable ``meta``.

    Raises:
        TypeError: ``rng`` is not a ``numpy.random.Generator``.
        ValueError: bad ``size``, ``n_boxes`` or ``textures`` entry.
    """
    rr, S, nb_lo, nb_hi = _check_room_args(rng, size, n_boxes, ranges)
    tex_list = _check_textures(textures)

    layout = _sample_layout(rng, S, nb_lo, nb_hi, rr)
    surf_tex, surf_kind = _texture_surfaces(rng, len(layout.boxes), tex_list, rr.photo_prob)
    lighting = _sample_lighting(rng, rr)
    depth, labels = _raster_depth(layout, S)
    rgb = _raster_colour(rng, layout, S, surf_tex, lighting)

    n_cam = layout.R.T @ np.array([0.0, 0.0, 1.0])  # world up in camera coords == (0, -cos(pitch), -sin(pitch))
    n_cam /= np.linalg.norm(n_cam)
    return RenderedScene(
        rgb=rgb,
        depth=depth,
        K=layout.K,
        floor_plane=(n_cam, float(layout.h)),
        camera_height=float(layout.h),
        pitch_deg=float(math.degrees(layout.pitch)),
        meta=_scene_meta(layout, S, tex_list, surf_kind),
        labels=labels,
    )
