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


def _pair_gap(a: np.ndarray, b: np.ndarray, camera: Camera | None, gap_m: float, gap_frac: float, max_height_m: float):
    """The rows between boxes ``a`` and ``b`` (inclusive ``x0, y0, x1, y1``; stacked with their columns overlapping,
    :func:`_stacked`) when they are pieces of one body (module docstring), else ``None``."""
    if a[1] > b[1]:
        a, b = b, a
    gap = b[1] - a[3] - 1
    top, bottom = min(a[1], b[1]), max(a[3], b[3])
    if camera is None:
        return gap if gap <= gap_frac * (bottom - top + 1) else None
    u = 0.5 * (b[0] + b[2])
    z = float(camera.floor_depth(u, bottom + 0.5))
    if z <= 0 or gap * z / camera.focal_px > gap_m:
        return None
    height = camera.upright_height(camera.ray(u, bottom + 0.5) * z, u, top - 0.5)
    return gap if np.isfinite(height) and height <= max_height_m else None


def _stacked(b: np.ndarray, boxes: np.ndarray, overlap: float) -> np.ndarray:
    """bool ``(M,)``: which of ``boxes`` (``(M, 4)``) lie wholly above or below box ``b`` with their columns overlapping by
    at least ``overlap`` of the narrower width: the first two tests of the module docstring, for many pairs at once."""
    upper_b = b[1] <= boxes[:, 1]  # the box with the smaller top row is the upper one (b on a tie, as _pair_gap)
    gap = np.where(upper_b, boxes[:, 1] - b[3], b[1] - boxes[:, 3]) - 1
    cols = np.minimum(b[2], boxes[:, 2]) - np.maximum(b[0], boxes[:, 0]) + 1
    return (gap >= 0) & (cols >= overlap * np.minimum(b[2] - b[0] + 1, boxes[:, 2] - boxes[:, 0] + 1))


def piece_groups(
    boxes,
    camera: Camera | None = None,
    gap_m: float = GAP_M,
    gap_frac: float = GAP_FRAC,
    max_height_m: float = MAX_HEIGHT_M,
    overlap: float = OVERLAP,
) -> list[list[int]]:
    """The boxes that are pieces of one upright body, grouped (module docstring).

    Each pair is tested once, and again only when one of its groups grows: the cheap tests (stacked, columns
    overlapping) for a whole row of pairs at once, the camera's only where they pass, so a frame of many components
    costs about as many tests as pairs.

    Args:
        boxes: ``(N, 4)`` inclusive pixel boxes ``x0, y0, x1, y1`` (any numeric type).
        camera: the camera at the boxes' image size, or ``None`` (the rule in pixels).
        gap_m, gap_frac, max_height_m, overlap: the rule's thresholds (metres, fraction, metres, fraction).
    Returns:
        ``list[list[int]]``: every index once, in groups sorted by their first index, each group sorted.
    """
    box = np.asarray(boxes, np.float64).reshape(-1, 4).copy()
    groups = {i: [i] for i in range(len(box))}  # a group keeps the index of its first member's place
    gaps: dict[tuple[int, int], float] = {}  # passing pairs (i < j) -> their gap

    def test_row(i: int, others: list[int]) -> None:
        for k in np.asarray(others)[_stacked(box[i], box[others], overlap)] if others else ():
            g = _pair_gap(box[i], box[k], camera, gap_m, gap_frac, max_height_m)
            if g is not None:
                gaps[(min(i, int(k)), max(i, int(k)))] = g

    for i in range(len(box)):
        test_row(i, list(range(i + 1, len(box))))
    while gaps:
        i, j = min(gaps, key=lambda p: (gaps[p], p))  # the smallest gap; ties in index order
        box[i] = [min(box[i, 0], box[j, 0]), min(box[i, 1], box[j, 1]), max(box[i, 2], box[j, 2]), max(box[i, 3], box[j, 3])]
        groups[i] += groups.pop(j)
        for p in [p for p in gaps if i in p or j in p]:
            del gaps[p]
        test_row(i, [k for k in groups if k != i])
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])
