"""Pieces of one upright body: mask components stacked one above the other with a small gap, to be joined.

A foreground mask often breaks one person into bands where their clothes match the scene behind them (the classical
difference does; so may the network): two or three components, one above the other, a few rows apart. Each piece
then becomes an object of its own, whose contact point (the bottom of the upper piece) stands on the floor far behind
the person, so a tracker gives it a track and the events engine counts it crossing lines and entering zones.

:func:`piece_groups` finds such pieces from their boxes alone. Two boxes ``a`` above ``b`` are pieces of one body when

* their columns overlap by at least ``overlap`` (0.5) of the narrower one's width;
* the rows between them (``gap``, at least 0: boxes sharing rows lie side by side and are never joined) are few: with
  a camera, at most ``gap_m`` metres (0.25 m) on a vertical plane at the lower box's feet
  (``gap * Z / f``, ``Z`` the floor depth below the lower box's bottom centre); without one, at most ``gap_frac``
  (0.1) of the joined box's height;
* with a camera, the joined box is no taller than ``max_height_m`` (2.2 m) standing at the lower box's feet
  (:meth:`Camera.upright_height`): two people one behind the other, seen from above with a gap between them, make a
  joined box of 3 m and more and stay apart.

Groups grow greedily, the pair of current groups with the smallest gap first, each test made on the groups' joined
boxes, until no pair passes. Single-view metrology after Criminisi, Reid & Zisserman, IJCV 2000 (heights from a
ground plane); the rule itself is this project's.
"""

from __future__ import annotations

import numpy as np

from .camera import Camera

GAP_M, GAP_FRAC, MAX_HEIGHT_M, OVERLAP = 0.25, 0.1, 2.2, 0.5
"""Defaults of :func:`piece_groups` (module docstring)."""


def _pair_gap(a: np.ndarray, b: np.ndarray, camera: Camera | None, gap_m: float, gap_frac: float, max_height_m: float, overlap: float):
    """The rows between boxes ``a`` and ``b`` (inclusive ``x0, y0, x1, y1``) when they are pieces of one body (module
    docstring), else ``None``."""
    if a[1] > b[1]:
        a, b = b, a
    gap = b[1] - a[3] - 1
    cols = min(a[2], b[2]) - max(a[0], b[0]) + 1
    if gap < 0 or cols < overlap * min(a[2] - a[0] + 1, b[2] - b[0] + 1):
        return None
    top, bottom = min(a[1], b[1]), max(a[3], b[3])
    if camera is None:
        return gap if gap <= gap_frac * (bottom - top + 1) else None
    u = 0.5 * (b[0] + b[2])
    z = float(camera.floor_depth(u, bottom + 0.5))
    if z <= 0 or gap * z / camera.focal_px > gap_m:
        return None
    height = camera.upright_height(camera.ray(u, bottom + 0.5) * z, u, top - 0.5)
    return gap if np.isfinite(height) and height <= max_height_m else None


def piece_groups(
    boxes,
    camera: Camera | None = None,
    gap_m: float = GAP_M,
    gap_frac: float = GAP_FRAC,
    max_height_m: float = MAX_HEIGHT_M,
    overlap: float = OVERLAP,
) -> list[list[int]]:
    """The boxes that are pieces of one upright body, grouped (module docstring).

    Args:
        boxes: ``(N, 4)`` inclusive pixel boxes ``x0, y0, x1, y1`` (any numeric type).
        camera: the camera at the boxes' image size, or ``None`` (the rule in pixels).
        gap_m, gap_frac, max_height_m, overlap: the rule's thresholds (metres, fraction, metres, fraction).
    Returns:
        ``list[list[int]]``: every index once, in groups sorted by their first index, each group sorted.
    """
    groups = [[i] for i in range(len(boxes))]
    box = [np.asarray(b, np.float64) for b in boxes]
    while True:
        best = None
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                g = _pair_gap(box[i], box[j], camera, gap_m, gap_frac, max_height_m, overlap)
                if g is not None and (best is None or g < best[0]):
                    best = (g, i, j)
        if best is None:
            return sorted((sorted(g) for g in groups), key=lambda g: g[0])
        _, i, j = best
        a, b = box[i], box[j]
        box[i] = np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])])
        groups[i] += groups.pop(j)
        box.pop(j)
