"""What an object looks like: a colour descriptor of its pixels, for telling people apart after they meet.

A tracker that only uses boxes and positions confuses two people when their blob splits after a merge
(``results/events.md``, 'Where the IDF1 goes': every id change is at a merge). The descriptor here is the
classical one of colour-based tracking and re-identification: a normalised hue-saturation-value histogram
(Comaniciu, Ramesh and Meer, "Kernel-based object tracking", IEEE TPAMI 2003; the upper and lower halves
separately, as the stripes of colour re-identification, Gray and Tao, ECCV 2008), compared with the
Bhattacharyya coefficient. Histograms by OpenCV (``cv2.calcHist``). The tracker's use of it:
:class:`maskdepth.scene.tracking.ByteTracker` (``appearance_w``, ``appearance_relink``, ``appearance_whole``,
``colour_split``).

Where people touch, the mask has one component for all of them; with each person's descriptor known from frames where
they were seen alone, :func:`split_by_colour` gives the component's pixels to the person whose colours explain them
best and so a box per person: the segmentation of a group of people by colour models (McKenna, Jabri, Duric, Rosenfeld
and Wechsler, "Tracking groups of people", CVIU 2000; Elgammal and Davis, "Probabilistic framework for segmenting
people under occlusion", ICCV 2001).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "DESCRIPTOR_SIZE",
    "HIST_BINS",
    "MIN_PIXELS",
    "SPLIT_SETTINGS",
    "bhattacharyya",
    "blend",
    "colour_bins",
    "colour_descriptor",
    "object_colours",
    "object_pixels",
    "split_by_colour",
]

HIST_BINS = (8, 4, 4)
"""Hue x saturation x value bins of each half's histogram (OpenCV's 8-bit HSV: hue 0-179, the others 0-255)."""

DESCRIPTOR_SIZE = 2 * int(np.prod(HIST_BINS))
"""Length of :func:`colour_descriptor` (the upper half's histogram, then the lower half's)."""

MIN_PIXELS = 20
"""A half with fewer pixels than this gives no descriptor (too few to describe a colour)."""


def colour_descriptor(image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """The colour descriptor of the pixels of ``mask`` in ``image``.

    Args:
        image: uint8 ``(H, W, 3)`` RGB.
        mask: bool ``(H, W)`` the object's pixels (or a crop of both, the same size).
    Returns:
        float32 ``(DESCRIPTOR_SIZE,)``: the HSV histograms (:data:`HIST_BINS`) of the mask's upper and lower halves
        (split at the middle row of its pixels), each summing to 0.5; ``None`` when a half has fewer than
        :data:`MIN_PIXELS` pixels.
    Raises:
        ValueError: ``image`` not uint8 ``(H, W, 3)``, or ``mask`` of another size.
    """
    import cv2

    image, mask = np.asarray(image), np.asarray(mask, bool)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} must have the image's size {image.shape[:2]}")
    rows = np.nonzero(mask.any(axis=1))[0]
    if rows.size == 0:
        return None
    cut = int((rows[0] + rows[-1] + 1) // 2)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    halves = []
    for part in (slice(0, cut), slice(cut, None)):
        m = mask[part]
        if int(m.sum()) < MIN_PIXELS:
            return None
        h = cv2.calcHist([hsv[part]], [0, 1, 2], m.astype(np.uint8), list(HIST_BINS), [0, 180, 0, 256, 0, 256])
        halves.append(0.5 * h.ravel() / float(h.sum()))
    return np.concatenate(halves).astype(np.float32)


def bhattacharyya(p: np.ndarray, q: np.ndarray) -> float:
    """The Bhattacharyya coefficient ``sum(sqrt(p * q))`` of two :func:`colour_descriptor` results, in [0, 1]
    (1: the same colours in the same proportions)."""
    return float(np.sqrt(np.clip(p, 0, None) * np.clip(q, 0, None)).sum())


def object_colours(objects: Sequence, image: np.ndarray, labels: np.ndarray | None = None) -> list[np.ndarray | None]:
    """The :func:`colour_descriptor` of each object (``None`` where it has too few pixels).

    Args:
        objects: objects with ``bbox`` ``(x0, y0, x1, y1)`` (inclusive pixels) and ``label``
            (:class:`~maskdepth.scene.objects.SceneObject`).
        image: uint8 ``(H, W, 3)`` RGB frame the objects were found in.
        labels: int ``(H, W)`` the component labels the objects' ``label`` refers to
            (:func:`~maskdepth.scene.objects.label_objects`); ``None``: the whole box is the object's.
    Returns: one float32 ``(DESCRIPTOR_SIZE,)`` array or ``None`` per object, in order.
    Raises:
        ValueError: as :func:`colour_descriptor`, or ``labels`` of another size than ``image``.
    """
    image = np.asarray(image)
    if labels is not None and labels.shape != image.shape[:2]:
        raise ValueError(f"labels {labels.shape} must have the image's size {image.shape[:2]}")
    out = []
    for o in objects:
        x0, y0, x1, y1 = (int(v) for v in o.bbox)
        crop = image[y0 : y1 + 1, x0 : x1 + 1]
        m = np.ones(crop.shape[:2], bool) if labels is None else labels[y0 : y1 + 1, x0 : x1 + 1] == o.label
        out.append(colour_descriptor(crop, m) if crop.size else None)
    return out


def blend(track: np.ndarray | None, seen: np.ndarray | None, rate: float) -> np.ndarray | None:
    """A track's running descriptor after one more sight: ``(1 - rate) * track + rate * seen`` (the first sight
    as it is; ``None`` seen leaves it). ``rate`` in (0, 1]."""
    if seen is None:
        return track
    return seen.copy() if track is None else ((1.0 - rate) * track + rate * seen).astype(np.float32)


def object_pixels(objects: Sequence, image: np.ndarray, labels: np.ndarray | None = None) -> list[tuple]:
    """Each object's pixels: ``(x0, y0, rgb, mask)``, the top-left pixel of its box, the uint8 ``(h, w, 3)`` RGB crop of
    ``image`` at its box and the bool ``(h, w)`` mask of its component's pixels there (``labels`` ``None``: the whole box).

    Args: as :func:`object_colours`.
    Returns: one tuple per object, in order (the crops are views of ``image``).
    Raises:
        ValueError: ``labels`` of another size than ``image``.
    """
    image = np.asarray(image)
    if labels is not None and labels.shape != image.shape[:2]:
        raise ValueError(f"labels {labels.shape} must have the image's size {image.shape[:2]}")
    out = []
    for o in objects:
        x0, y0, x1, y1 = (int(v) for v in o.bbox)
        crop = image[y0 : y1 + 1, x0 : x1 + 1]
        m = np.ones(crop.shape[:2], bool) if labels is None else labels[y0 : y1 + 1, x0 : x1 + 1] == o.label
        out.append((x0, y0, crop, m))
    return out


def colour_bins(rgb: np.ndarray) -> np.ndarray:
    """Per pixel the index of its bin in one half of :func:`colour_descriptor` (:data:`HIST_BINS`, OpenCV's ``calcHist``
    ranges: hue 0-179, saturation and value 0-255, equal bins).

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


def split_by_colour(rgb: np.ndarray, mask: np.ndarray, origin: tuple[int, int], people: list) -> list:
    """The boxes of the people of one blob, from its pixels and their colours.

    Each pixel of ``mask`` goes to the person ``t`` of highest ``p_t * g_t``: ``p_t`` the frequency of the pixel's colour
    bin (:func:`colour_bins`) in the half (upper or lower, cut at the middle row of the person's last box) of the person's
    descriptor, doubled (each half sums to 0.5); ``g_t`` a Gaussian of the pixel's column about the centre column of
    that box (:data:`SPLIT_SETTINGS` ``x_sigma``). A pixel whose colour is no more frequent than in a uniform histogram
    for every person stays unassigned (background, in a box detection). Each column belongs to the person with most
    pixels in it; a person's box spans the longest run of its columns (gaps of up to 2 columns bridged) and the 1st to
    99th percentiles of the rows of its pixels there (people stand upright: a few pixels of one person's colours on
    another do not stretch its box across both).

    Args:
        rgb: uint8 ``(h, w, 3)`` RGB crop of the frame at the blob's box.
        mask: bool ``(h, w)`` the blob's pixels in the crop.
        origin: ``(x0, y0)`` the crop's top-left pixel in the frame.
        people: ``[(descriptor, box, size)]``: each person's colour descriptor (float ``(DESCRIPTOR_SIZE,)``,
            :func:`colour_descriptor`), last box ``(x0, y0, x1, y1)`` in frame pixels, and median ``(width, height)``
            seen alone in pixels (``None``: unknown; see ``occluded``).
    Returns:
        One box ``(x0, y0, x1, y1)`` (float frame pixels) or ``None`` per person, in order; ``None`` for a person given
        too few pixels (``min_share``).
    Raises:
        ValueError: ``rgb`` not uint8 ``(h, w, 3)`` or ``mask`` of another size.
    """
    rgb, mask = np.asarray(rgb), np.asarray(mask, bool)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or mask.shape != rgb.shape[:2]:
        raise ValueError(f"rgb must be uint8 (h, w, 3) and mask (h, w) of its size, got {rgb.dtype} {rgb.shape}, {mask.shape}")
    st = SPLIT_SETTINGS
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return [None] * len(people)
    bins = colour_bins(rgb)[ys, xs]
    X, Y = xs + origin[0], ys + origin[1]
    n_half = int(np.prod(HIST_BINS))
    score = np.zeros((len(people), len(ys)))
    for k, (desc, box, _) in enumerate(people):
        x0, y0, x1, y1 = (float(v) for v in box)
        p = 2.0 * np.where(Y >= 0.5 * (y0 + y1), desc[n_half + bins], desc[bins])
        g = np.exp(-0.5 * ((X - 0.5 * (x0 + x1)) / max(st["x_sigma"] * (x1 - x0), 1.0)) ** 2)
        score[k] = np.where(p > 1.0 / n_half, p * g, 0.0)
    best, assigned = np.argmax(score, axis=0), score.max(axis=0) > 0
    counts = np.zeros((len(people), mask.shape[1]), np.int64)  # per person and column: its pixels there
    np.add.at(counts, (best[assigned], xs[assigned]), 1)
    owner = np.where(counts.max(axis=0) > 0, np.argmax(counts, axis=0), -1)
    out = []
    for k, (_, _, size) in enumerate(people):
        run = _longest_run(owner == k)
        sel = assigned & (best == k) & (xs >= run[0]) & (xs <= run[1]) if run is not None else np.zeros(len(ys), bool)
        if sel.sum() < max(2 * MIN_PIXELS, st["min_share"] * len(ys)):
            out.append(None)
            continue
        c0, c1 = run
        by0, by1 = (float(v) for v in np.percentile(Y[sel], [1, 99]))
        if size is not None and c1 - c0 < st["occluded"] * size[0]:  # cut at the side where another person's columns are
            other_left = c0 > 0 and owner[c0 - 1] not in (-1, k)
            c0, c1 = (c1 - size[0], c1) if other_left else (c0, c0 + size[0])
        if size is not None and by1 - by0 < st["occluded"] * size[1]:
            by1 = min(by0 + size[1], float(origin[1] + mask.shape[0] - 1))
        out.append((float(origin[0] + c0), by0, float(origin[0] + c1), by1))
    return out


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
