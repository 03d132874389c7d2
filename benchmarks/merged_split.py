"""How many people a merged blob holds, from its size in metres (issue 21): the geometry of
:class:`~benchmarks.tracker_variants.VariantByteTracker`'s ``split_merged``.

Where two walkers' silhouettes touch, the mask has one component and a tracker one detection, so one track: the second
walker has no anchor (no zone entries, no line crossings) and IDF1 counts it missed. With a camera the blob's size is
known in metres at the floor distance of its bottom row (the nearer walker's feet): width ``w = (x1 - x0) Z / f`` and
height by :meth:`Camera.upright_height` of its top row above the floor point below its bottom centre. Compared with the
size of one person (the track's own median size when seen alone, else :data:`PERSON_SIZE_M`), a blob

* ``wide``: at least :data:`SPLIT_WIDTH_RATIO` and at most :data:`SPLIT_WIDTH_MAX` person widths wide while as tall as one
  person (:data:`SPLIT_HEIGHT_RANGE`) holds two people side by side;
* ``tall``: at least :data:`SPLIT_TALL_RATIO` and at most :data:`SPLIT_TALL_MAX` person heights tall and at most
  :data:`SPLIT_WIDTH_MAX` widths wide (seen from above, a person standing behind another shows above the nearer one's
  head) holds one behind the other.

:func:`split_boxes` gives such a blob's two person boxes: the first on the blob's bottom row at one end (the nearer
person's feet), the second at the other end, on the bottom row too (side by side) or, for a ``tall`` blob, with its top
at the blob's top and its feet where a person of the reference height standing there has them (the camera's geometry).
The height bounds keep out what is not two people: a piece of a person broken up by the mask (shorter than one), a
spurious blob seen near the horizon (its size in metres, measured as if it stood on the floor, is absurd) or a small
blob stuck to a person (wide but not tall: a person plus a square is not as tall as one person over its whole width,
but its box is; the width range bounds how far that goes).
"""

from __future__ import annotations

import math

import numpy as np

from maskdepth.scene.camera import Camera

__all__ = ["BORDER_PX", "PERSON_SIZE_M", "SPLIT_MERGED_RULES", "blob_size_m", "split_boxes", "two_people"]

SPLIT_MERGED_RULES = ("off", "wide", "tall", "wide_tall")
"""Values of :class:`~benchmarks.tracker_variants.VariantByteTracker`'s ``split_merged``: which blobs are split into two people
(module docstring): ``off`` none (the tracker before this rule; always without a camera), ``wide``, ``tall`` or
``wide_tall`` (either)."""

PERSON_SIZE_M = (0.5, 1.7)
"""Width and height (metres) of one person when the track has not been seen alone often enough to know its own: 0.5 m
(shoulders and arms) and 1.7 m (the calibration's default ``person_height``)."""

SPLIT_WIDTH_RATIO, SPLIT_WIDTH_MAX = 1.5, 2.5
"""A ``wide`` blob is at least ``SPLIT_WIDTH_RATIO`` person widths wide; no blob wider than ``SPLIT_WIDTH_MAX`` is split
(a car, a group, a spurious blob)."""

SPLIT_HEIGHT_RANGE = (0.75, 1.3)
"""A ``wide`` blob is between these multiples of a person's height tall (as tall as one person)."""

BORDER_PX = 1
"""A box within this many pixels of the image's border is not measured (:func:`blob_size_m`)."""

SPLIT_TALL_RATIO, SPLIT_TALL_MAX = 1.15, 1.6
"""A ``tall`` blob is between these multiples of a person's height tall."""


def blob_size_m(camera: Camera, box) -> tuple[float, float] | None:
    """Width and height (metres) of ``box`` as an object standing on the floor below its bottom centre.

    Args:
        camera: the camera (pixels at the boxes' image size).
        box: ``(x0, y0, x1, y1)`` pixels.
    Returns:
        ``(width_m, height_m)``, or ``None`` where the bottom row is at or above the horizon or the box touches the
        image's border (within :data:`BORDER_PX`: the object may go on outside, and a bottom row cut by the image is not
        its feet).
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    W, H = camera.image_size
    if min(x0, y0) <= BORDER_PX or x1 >= W - 1 - BORDER_PX or y1 >= H - 1 - BORDER_PX:
        return None
    u = 0.5 * (x0 + x1)
    z = float(camera.floor_depth(u, y1))
    if not (z > 0 and math.isfinite(z)):
        return None
    h = camera.upright_height(camera.floor_point(u, y1), u, y0)
    return (x1 - x0) * z / camera.focal_px, float(h)


def two_people(rule: str, size_m: tuple[float, float] | None, ref_m: tuple[float, float]) -> str | None:
    """Whether a blob of ``size_m`` (:func:`blob_size_m`) holds two people of size ``ref_m`` (width, height metres)
    under ``rule`` (:data:`SPLIT_MERGED_RULES`): ``"wide"``, ``"tall"`` (the test that holds; ``tall`` first) or
    ``None`` (one person, or not a person)."""
    if rule == "off" or size_m is None or not all(math.isfinite(v) for v in size_m):
        return None
    w, h = size_m[0] / ref_m[0], size_m[1] / ref_m[1]
    if w > SPLIT_WIDTH_MAX:
        return None
    if rule in ("tall", "wide_tall") and SPLIT_TALL_RATIO <= h <= SPLIT_TALL_MAX:
        return "tall"
    if rule in ("wide", "wide_tall") and w >= SPLIT_WIDTH_RATIO and SPLIT_HEIGHT_RANGE[0] <= h <= SPLIT_HEIGHT_RANGE[1]:
        return "wide"
    return None


def split_boxes(camera: Camera, box, kind: str, ref_m: tuple[float, float], first_left: bool) -> np.ndarray:
    """The two person boxes of a blob ``box`` that :func:`two_people` says holds two (``kind``).

    Args:
        camera: the camera.
        box: ``(x0, y0, x1, y1)`` pixels, bottom row below the horizon.
        kind: ``"wide"`` or ``"tall"``.
        ref_m: one person's ``(width, height)`` metres.
        first_left: the first person (on the bottom row) at the blob's left end, else at its right end.
    Returns:
        float64 ``(2, 4)``: the first person's box (width ``ref_m[0]`` at the bottom row's distance, at most the blob's,
        from the bottom row up to the blob's top or a person's height, whichever is lower) and the second's (at the other
        end; ``wide``: the same rows; ``tall``: from the blob's top down to the feet of a person of ``ref_m[1]`` whose head
        is there, its width at that distance), both inside the blob.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    u = 0.5 * (x0 + x1)
    wp = min(ref_m[0] * camera.focal_px / float(camera.floor_depth(u, y1)), x1 - x0)
    top = max(y0, float(camera.top_of(u, y1, ref_m[1])[1])) if kind == "tall" else y0
    first = (x0, top, x0 + wp, y1) if first_left else (x1 - wp, top, x1, y1)
    if kind == "wide":
        second = (x1 - wp, y0, x1, y1) if first_left else (x0, y0, x0 + wp, y1)
        return np.array([first, second], np.float64)
    feet = _feet_below(camera, u, y0, y1, ref_m[1])
    w2 = min(ref_m[0] * camera.focal_px / float(camera.floor_depth(u, feet)), x1 - x0) if camera.floor_depth(u, feet) > 0 else wp
    second = (x1 - w2, y0, x1, feet) if first_left else (x0, y0, x0 + w2, feet)
    return np.array([first, second], np.float64)


def _feet_below(camera: Camera, u: float, top: float, bottom: float, height_m: float) -> float:
    """The row in ``[top, bottom]`` where a person of ``height_m`` standing at column ``u`` has its feet if its head is at
    row ``top`` (bisection: the head row rises with the feet row), or ``bottom``; float pixels."""
    lo, hi = top, bottom
    if not camera.floor_depth(u, hi) > 0 or camera.top_of(u, hi, height_m)[1] <= top:
        return bottom
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        head = float(camera.top_of(u, mid, height_m)[1]) if camera.floor_depth(u, mid) > 0 else -math.inf
        lo, hi = (mid, hi) if head < top else (lo, mid)
    return 0.5 * (lo + hi)
