"""People in one blob, told apart by their clothes: each person's box inside a merged mask component, from its pixels.

Where two walkers' silhouettes touch, the mask has one component for both. With each walker's colours known from
the frames where it was seen alone (a track's running colour descriptor, :mod:`maskdepth.scene.appearance`), the
blob's pixels can be given to the walker whose colours explain them best, so each walker gets a box measured in this
frame: the segmentation of a group of people by colour models (McKenna, Jabri, Duric, Rosenfeld and Wechsler,
"Tracking groups of people", CVIU 2000; Elgammal and Davis, "Probabilistic framework for segmenting people under
occlusion", ICCV 2001), here with the tracker's own colour descriptor.

:func:`split_by_colour` gives the boxes; :func:`boxes_apart` says whether a split can be trusted;
:func:`distinct_colours` whether colour can tell the people apart at all. The tracker uses them for the box a track on
a merged blob reports (:class:`~maskdepth.scene.tracking.ByteTracker` ``colour_boxes``); the settings were fixed before
they were first measured (``results/events_colour_split.md``) and are not tuned.
"""

from __future__ import annotations

import numpy as np

from .appearance import HIST_BINS, MIN_PIXELS, bhattacharyya
from .tracker import box_iou

__all__ = ["SPLIT_SETTINGS", "DISTINCT_B", "MAX_IOU", "colour_bins", "split_by_colour", "boxes_apart", "distinct_colours"]


def colour_bins(rgb: np.ndarray) -> np.ndarray:
    """Per pixel the index of its bin in one half of :func:`~maskdepth.scene.appearance.colour_descriptor`
    (:data:`~maskdepth.scene.appearance.HIST_BINS`, OpenCV's ``calcHist`` ranges: hue 0-179, saturation and value
    0-255, equal bins).

    Args:
        rgb: uint8 ``(H, W, 3)`` RGB.
    Returns:
        int64 ``(H, W)`` in ``[0, prod(HIST_BINS))``.
    """
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV).astype(np.int64)
    nh, ns, nv = HIST_BINS
    h = np.minimum(hsv[..., 0] * nh // 180, nh - 1)
    s = np.minimum(hsv[..., 1] * ns // 256, ns - 1)
    v = np.minimum(hsv[..., 2] * nv // 256, nv - 1)
    return (h * ns + s) * nv + v


SPLIT_SETTINGS = {"min_share": 0.1, "x_sigma": 0.5, "occluded": 0.8}
""":func:`split_by_colour`'s settings, fixed before they were first measured (not tuned): a person gets a box only from
at least ``min_share`` of the blob's pixels (and at least ``2 * MIN_PIXELS``); a pixel's weight for a person falls off
as a Gaussian of its column about the centre column of the person's last box, of ``x_sigma`` box widths; a box shorter
than ``occluded`` of the person's median height seen alone is taken as cut by a nearer person and extended down to
that height (within the blob), one narrower than ``occluded`` of its median width is extended to that width on the
side where another person's columns are."""

DISTINCT_B = 0.8
"""A blob is shared out only among people whose colour descriptors differ: every two with a Bhattacharyya coefficient
below this (the tracker's relinking threshold: above it two people look alike and colour cannot tell their pixels
apart)."""

MAX_IOU = 0.3
"""A split is trusted only where every two of its people boxes have an IoU of at most this (:func:`boxes_apart`)."""


def split_by_colour(rgb: np.ndarray, mask: np.ndarray, origin: tuple[int, int], people: list) -> list:
    """The boxes of the people of one blob, from its pixels and their colours.

    Each pixel of ``mask`` goes to the person ``t`` of highest ``p_t * g_t``: ``p_t`` the frequency of the pixel's colour
    bin (:func:`colour_bins`) in the half (upper or lower, cut at the middle row of the person's last box) of the person's
    descriptor, doubled (each half sums to 0.5); ``g_t`` a Gaussian of the pixel's column about the centre column of
    that box (:data:`SPLIT_SETTINGS` ``x_sigma``). A pixel whose colour is no more frequent than in a uniform histogram
    for every person stays unassigned (background, in a box detection). Each column belongs to the person with most
    pixels in it; a person's box spans the longest run of its columns (gaps of up to 2 columns bridged) and the 1st to
    99th percentiles of the rows of its pixels there (people stand upright: a few pixels of one person's colours on
    another do not stretch its box across both), widened and lengthened to its size seen alone where cut
    (:data:`SPLIT_SETTINGS` ``occluded``).

    Args:
        rgb: uint8 ``(h, w, 3)`` RGB crop of the frame at the blob's box.
        mask: bool ``(h, w)`` the blob's pixels in the crop.
        origin: ``(x0, y0)`` the crop's top-left pixel in the frame.
        people: ``[(descriptor, box, size)]``: each person's colour descriptor (float ``(DESCRIPTOR_SIZE,)``,
            :func:`~maskdepth.scene.appearance.colour_descriptor`), last box ``(x0, y0, x1, y1)`` in frame pixels, and
            median ``(width, height)`` seen alone in pixels (``None``: unknown; see ``occluded``).
    Returns:
        One box ``(x0, y0, x1, y1)`` (float frame pixels) or ``None`` per person, in order; ``None`` for a person given
        too few pixels (``min_share``).
    Raises:
        ValueError: ``rgb`` not uint8 ``(h, w, 3)`` or ``mask`` of another size.
    """
    rgb, mask = np.asarray(rgb), np.asarray(mask, bool)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or mask.shape != rgb.shape[:2]:
        raise ValueError(f"rgb must be uint8 (h, w, 3) and mask (h, w) of its size, got {rgb.dtype} {rgb.shape}, {mask.shape}")
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return [None] * len(people)
    best, assigned = _pixel_owners(colour_bins(rgb)[ys, xs], xs + origin[0], ys + origin[1], people)
    counts = np.zeros((len(people), mask.shape[1]), np.int64)  # per person and column: its pixels there
    np.add.at(counts, (best[assigned], xs[assigned]), 1)
    owner = np.where(counts.max(axis=0) > 0, np.argmax(counts, axis=0), -1)
    return [_person_box(k, size, owner, xs, ys + origin[1], best, assigned, origin, mask.shape) for k, (_, _, size) in enumerate(people)]


def _pixel_owners(bins: np.ndarray, X: np.ndarray, Y: np.ndarray, people: list) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel (colour bin ``bins``, frame column ``X`` and row ``Y``, int ``(n,)``) the index of its person and
    whether it has one (:func:`split_by_colour`)."""
    n_half = int(np.prod(HIST_BINS))
    score = np.zeros((len(people), len(bins)))
    for k, (desc, box, _) in enumerate(people):
        x0, y0, x1, y1 = (float(v) for v in box)
        p = 2.0 * np.where(Y >= 0.5 * (y0 + y1), desc[n_half + bins], desc[bins])
        g = np.exp(-0.5 * ((X - 0.5 * (x0 + x1)) / max(SPLIT_SETTINGS["x_sigma"] * (x1 - x0), 1.0)) ** 2)
        score[k] = np.where(p > 1.0 / n_half, p * g, 0.0)
    return np.argmax(score, axis=0), score.max(axis=0) > 0


def _person_box(k: int, size, owner: np.ndarray, xs, Y, best, assigned, origin, shape) -> tuple | None:
    """Person ``k``'s box from the columns it owns (``owner``, crop columns) and its pixels there (:func:`split_by_colour`)."""
    st = SPLIT_SETTINGS
    run = _longest_run(owner == k)
    sel = assigned & (best == k) & (xs >= run[0]) & (xs <= run[1]) if run is not None else np.zeros(len(xs), bool)
    if sel.sum() < max(2 * MIN_PIXELS, st["min_share"] * len(xs)):
        return None
    c0, c1 = run
    by0, by1 = (float(v) for v in np.percentile(Y[sel], [1, 99]))
    if size is not None and c1 - c0 < st["occluded"] * size[0]:  # cut at the side where another person's columns are
        other_left = c0 > 0 and owner[c0 - 1] not in (-1, k)
        c0, c1 = (c1 - size[0], c1) if other_left else (c0, c0 + size[0])
    if size is not None and by1 - by0 < st["occluded"] * size[1]:
        by1 = min(by0 + size[1], float(origin[1] + shape[0] - 1))
    return (float(origin[0] + c0), by0, float(origin[0] + c1), by1)


def _longest_run(cols: np.ndarray, gap: int = 2) -> tuple[int, int] | None:
    """First and last index of the longest run of ``True`` in the bool ``(w,)`` ``cols``, gaps of at most ``gap``
    ``False`` bridged; ``None`` when none is ``True``."""
    idx = np.flatnonzero(cols)
    if idx.size == 0:
        return None
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts, ends = np.r_[0, breaks + 1], np.r_[breaks, idx.size - 1]
    k = int(np.argmax(idx[ends] - idx[starts]))
    return int(idx[starts[k]]), int(idx[ends[k]])


def boxes_apart(boxes: list) -> bool:
    """Whether the people boxes of one blob (``[(x0, y0, x1, y1)]`` pixels) are apart enough to be trusted: every two
    with an IoU of at most :data:`MAX_IOU` (a box that spans the blob holds the other's pixels: colour did not tell
    them apart)."""
    return all(box_iou(a, b) <= MAX_IOU for k, a in enumerate(boxes) for b in boxes[k + 1 :])


def distinct_colours(descriptors: list) -> bool:
    """Whether every two colour descriptors (float ``(DESCRIPTOR_SIZE,)``) differ: a Bhattacharyya coefficient below
    :data:`DISTINCT_B`."""
    return all(bhattacharyya(a, b) < DISTINCT_B for k, a in enumerate(descriptors) for b in descriptors[k + 1 :])
