"""Synthetic walkers on a known camera's floor: per-frame :class:`SceneObject` lists with exact truth.

A walker is an upright box of ``height_m`` x ``width_m`` standing at floor point ``xy(t)`` (metres,
floor coordinates of :mod:`maskdepth.events.motion`); its contact pixel is the floor point's
projection, its box spans the projected top (:meth:`Camera.top_of`) and its width at that depth
(``f w / Z``). Optional Gaussian pixel noise on the box edges imitates mask flicker. Used by the
tests and ``benchmarks/events_synthetic.py``; no images are rendered.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..scene.camera import Camera
from ..scene.objects import SceneObject
from .motion import floor_to_px


def walker_object(
    camera: Camera, xy, oid: int, height_m: float = 1.7, width_m: float = 0.5, noise_px: float = 0.0, rng=None
) -> SceneObject | None:
    """The :class:`SceneObject` of an upright walker at floor point ``xy`` (metres), or ``None`` when it is out of view.

    Args:
        camera: the camera (pixels at its ``image_size``).
        xy: ``(x, y)`` floor metres.
        oid: the id to report (a tracker id; 0 = unconfirmed).
        height_m, width_m: the walker's size in metres.
        noise_px: standard deviation (pixels) of independent noise on each box edge (the contact row follows
            the bottom edge).
        rng: ``numpy.random.Generator`` for the noise.
    """
    u, v = floor_to_px(camera, xy)
    if not (np.isfinite(u) and np.isfinite(v)):
        return None
    Z = float(camera.floor_depth(u, v))
    if Z <= 0:
        return None
    top = camera.top_of(u, v, height_m)
    half = 0.5 * camera.focal_px * width_m / Z
    n = rng.normal(0, noise_px, 4) if (noise_px and rng is not None) else np.zeros(4)
    x0, x1 = u - half + n[0], u + half + n[1]
    y0, y1 = float(top[1]) + n[2], v + n[3]
    W, H = camera.image_size
    if x1 < 0 or x0 > W - 1 or y1 < 0 or y0 > H - 2:
        return None
    box = (int(round(max(0, x0))), int(round(max(0, y0))), int(round(min(W - 1, x1))), int(round(min(H - 2, y1))))
    return SceneObject(
        id=oid,
        bbox=box,
        area_px=int((box[2] - box[0] + 1) * (box[3] - box[1] + 1)),
        centroid=(0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])),
        contact_px=(float(u + 0.5 * (n[0] + n[1])), float(box[3])),
        top_px=(float(u), float(box[1])),
        distance_m=Z,
        height_m=height_m,
        depth_source="ground_plane",
    )


def walk(
    camera: Camera, paths: dict[int, Callable[[float], tuple[float, float] | None]], n_frames: int, fps: float, **kw
) -> list[list[SceneObject]]:
    """Per-frame object lists of several walkers.

    Args:
        paths: ``id -> xy(t)`` (floor metres at time ``t`` seconds, or ``None`` while the walker is absent).
        n_frames, fps: the clip's length and rate (frame ``k`` is at ``t = k / fps``).
        **kw: passed to :func:`walker_object` (``noise_px``, ``rng``, sizes).
    Returns:
        ``n_frames`` lists of :class:`SceneObject`.
    """
    out = []
    for k in range(n_frames):
        t = k / fps
        objs = []
        for oid, f in paths.items():
            xy = f(t)
            o = walker_object(camera, xy, oid, **kw) if xy is not None else None
            if o is not None:
                objs.append(o)
        out.append(objs)
    return out
