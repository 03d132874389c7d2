"""People in one mask component, told apart by a person detector's boxes.

Where people overlap in the image the foreground mask has one component for all of them, so one object and one track
(results/events.md: the tracker's remaining losses are such merges). A person detector gives each person a box of its
own even where they overlap. :func:`split_component` shares a component's pixels out among the boxes that lie on it:

* a box *lies on* a component when at least :data:`MIN_COVER` of the box's area is that component's pixels (a
  detector's box around a person is about half filled by the silhouette; a box on another blob covers little of it);
* with two or more boxes on it, each pixel goes to the box it lies in; where boxes overlap, to the one whose bottom is
  lowest in the image (the nearer person, who hides the other: the floor's order for an upright camera); a pixel in
  no box to the nearest box (Chebyshev distance to the box, then the lower bottom);
* a part of fewer than ``min_area_px`` pixels goes back to the largest part;
* a part whose lowest pixel lies above its box's bottom by more than :data:`FEET_MARGIN` of the box's height, with
  another part's pixels just below it, has its feet behind that nearer person: its contact point is hidden (nothing
  is guessed, as for a contact behind a nearer thing of the scene, :mod:`maskdepth.scene.objects`).

What a detector would give the tracker on the synthetic walker clips: ``results/events_per_person.md``. The detector
itself: :mod:`maskdepth.inference.detector`.
"""

from __future__ import annotations

import numpy as np

MIN_COVER = 0.25
"""Share of a box's area that a component's pixels must cover for the box to lie on it."""

FEET_MARGIN = 0.05
"""Fraction of a box's height by which a part's lowest pixel may sit above the box's bottom before its feet count as
hidden (a detector's bottom edge is a few per cent off)."""


def boxes_on(comp: np.ndarray, origin: tuple[int, int], boxes: np.ndarray) -> np.ndarray:
    """Indices of the ``boxes`` that lie on a component (see the module docstring).

    Args:
        comp: bool ``(h, w)``: the component's pixels inside its bounding box.
        origin: ``(x, y)`` of ``comp``'s top-left pixel in the frame.
        boxes: float ``(N, 4)`` ``(x0, y0, x1, y1)`` inclusive frame pixels.
    Returns:
        int64 indices into ``boxes``.
    """
    x, y = origin
    h, w = comp.shape
    out = []
    for i, (bx0, by0, bx1, by1) in enumerate(np.rint(np.asarray(boxes, np.float64)).astype(int)):
        area = max(0, bx1 - bx0 + 1) * max(0, by1 - by0 + 1)
        cx0, cy0, cx1, cy1 = max(bx0 - x, 0), max(by0 - y, 0), min(bx1 - x, w - 1), min(by1 - y, h - 1)
        if area and cx0 <= cx1 and cy0 <= cy1 and comp[cy0 : cy1 + 1, cx0 : cx1 + 1].sum() >= MIN_COVER * area:
            out.append(i)
    return np.asarray(out, np.int64)


def split_component(
    comp: np.ndarray, origin: tuple[int, int], boxes: np.ndarray, min_area_px: int
) -> tuple[np.ndarray, list[int], list[bool]]:
    """Share a component's pixels out among person boxes that lie on it.

    Args:
        comp: bool ``(h, w)``: the component's pixels inside its bounding box.
        origin: ``(x, y)`` of ``comp``'s top-left pixel in the frame.
        boxes: float ``(K, 4)`` inclusive frame pixels, the boxes that lie on it (:func:`boxes_on`), ``K >= 2``.
        min_area_px: parts smaller than this go back to the largest part.
    Returns:
        ``(parts, box_of_part, feet_hidden)``: int32 ``(h, w)``, -1 off the component, else the index of the part
        (0..P-1, in the order of their boxes, boxes left without pixels dropped); per part the index of its box in
        ``boxes``; per part whether its feet are hidden behind another part.
    Raises:
        ValueError: fewer than 2 boxes.
    """
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if len(b) < 2:
        raise ValueError(f"need at least 2 boxes to split a component, got {len(b)}")
    ys, xs = np.nonzero(comp)
    px, py = xs[:, None] + origin[0], ys[:, None] + origin[1]
    dx = np.maximum(np.maximum(b[None, :, 0] - px, px - b[None, :, 2]), 0)
    dy = np.maximum(np.maximum(b[None, :, 1] - py, py - b[None, :, 3]), 0)
    cost = np.where((dx == 0) & (dy == 0), -b[None, :, 3], 1e6 + np.maximum(dx, dy) - 1e-3 * b[None, :, 3])
    owner = np.argmin(cost, axis=1)
    counts = np.bincount(owner, minlength=len(b))
    small = (counts > 0) & (counts < min_area_px)
    if small.any() and (~small & (counts > 0)).any():
        owner[small[owner]] = int(np.argmax(np.where(small, -1, counts)))
    kept = [k for k in range(len(b)) if (owner == k).any()]
    parts = np.full(comp.shape, -1, np.int32)
    parts[ys, xs] = np.searchsorted(kept, owner)
    return parts, kept, [_feet_hidden(parts, i, b[k], origin) for i, k in enumerate(kept)]


def _feet_hidden(parts: np.ndarray, i: int, box: np.ndarray, origin: tuple[int, int]) -> bool:
    """Part ``i``'s lowest row sits above its box's bottom by more than :data:`FEET_MARGIN` of the box height and
    another part has pixels in the rows just below it, under its columns."""
    rows, cols = np.nonzero(parts == i)
    low = int(rows.max())
    if box[3] - (low + origin[1]) <= FEET_MARGIN * (box[3] - box[1] + 1):
        return False
    below = parts[low + 1 : low + 4, int(cols.min()) : int(cols.max()) + 1]
    return bool(((below >= 0) & (below != i)).any())
