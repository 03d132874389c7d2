"""What an object looks like: a colour descriptor of its pixels, for telling people apart after they meet.

A tracker that only uses boxes and positions confuses two people when their blob splits after a merge
(``results/events.md``, 'Where the IDF1 goes': every id change is at a merge). The descriptor here is the
classical one of colour-based tracking and re-identification: a normalised hue-saturation-value histogram
(Comaniciu, Ramesh and Meer, "Kernel-based object tracking", IEEE TPAMI 2003; the upper and lower halves
separately, as the stripes of colour re-identification, Gray and Tao, ECCV 2008), compared with the
Bhattacharyya coefficient. Histograms by OpenCV (``cv2.calcHist``). The tracker's use of it:
:class:`maskdepth.scene.tracking.ByteTracker` (``appearance_w``, ``appearance_relink``, ``appearance_whole``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["DESCRIPTOR_SIZE", "HIST_BINS", "MIN_PIXELS", "bhattacharyya", "blend", "colour_descriptor", "object_colours", "object_pixels"]

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
    return [colour_descriptor(crop, m) if crop.size else None for _, _, crop, m in object_pixels(objects, image, labels)]


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


def blend(track: np.ndarray | None, seen: np.ndarray | None, rate: float) -> np.ndarray | None:
    """A track's running descriptor after one more sight: ``(1 - rate) * track + rate * seen`` (the first sight
    as it is; ``None`` seen leaves it). ``rate`` in (0, 1]."""
    if seen is None:
        return track
    return seen.copy() if track is None else ((1.0 - rate) * track + rate * seen).astype(np.float32)
