"""Non-learned baselines for the evaluation table.

Masks: :func:`classical_mask` (frame differencing against the background
photo) and :func:`mog2_mask` (OpenCV MOG2 trained on the background photo).
Depth: :func:`ground_plane_depth` (depth from image row) and
:func:`background_depth` (the background's depth, i.e. "no foreground").
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["CLASSICAL_THRESHOLD", "classical_mask", "classical_masks", "mog2_mask", "ground_plane_depth", "background_depth"]


def _check_pair(bg: np.ndarray, fg_bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bg, fg_bg = np.asarray(bg), np.asarray(fg_bg)
    for name, a in (("bg", bg), ("fg_bg", fg_bg)):
        if a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"{name} must be an (H, W, 3) image, got shape {a.shape}")
        if a.dtype != np.uint8:
            raise ValueError(f"{name} must be uint8, got {a.dtype}")
    if bg.shape != fg_bg.shape:
        raise ValueError(f"shape mismatch: bg has shape {bg.shape}, fg_bg has shape {fg_bg.shape}")
    return bg, fg_bg


def _open_close(mask: np.ndarray, open_px: int, close_px: int) -> np.ndarray:
    """Morphological opening then closing with elliptical kernels (skipped if size <= 1)."""
    m = mask.astype(np.uint8)
    for op, k in ((cv2.MORPH_OPEN, open_px), (cv2.MORPH_CLOSE, close_px)):
        if k > 1:
            m = cv2.morphologyEx(m, op, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return m.astype(bool)


CLASSICAL_THRESHOLD = 30
"""Default threshold of :func:`classical_mask` (grey levels of the max-over-channels difference)."""


def classical_mask(
    bg: np.ndarray, fg_bg: np.ndarray, threshold: float | None = CLASSICAL_THRESHOLD, blur: int = 3, open_px: int = 3, close_px: int = 5
) -> np.ndarray:
    """Foreground mask by frame differencing against the background photo.

    Source: classic background subtraction by frame differencing, e.g.
    Piccardi, "Background subtraction techniques: a review", IEEE SMC 2004.
    Steps: D = max over channels of |fg_bg − bg| (int16, 0..255); Gaussian
    blur of D with a ``blur``×``blur`` kernel (skipped if ``blur`` <= 1);
    foreground = D > ``threshold`` (Otsu's threshold on D if ``threshold`` is
    None — Otsu, IEEE SMC 1979; note Otsu always splits, so it finds noise
    when there is no foreground); then opening with an ``open_px`` and closing
    with a ``close_px`` elliptical kernel (each skipped if <= 1). No hole
    filling.

    Args:
        bg: uint8 (H, W, 3) background photo.
        fg_bg: uint8 (H, W, 3) photo of the same scene with a foreground.
        threshold: difference threshold in grey levels (0..255), or None for Otsu.
        blur: odd Gaussian kernel size in pixels; <= 1 disables blurring.
        open_px, close_px: elliptical kernel diameters in pixels.

    Returns:
        bool (H, W) foreground mask.

    Raises:
        ValueError: bad shape/dtype, shapes differ, or ``blur`` > 1 is even.
    """
    return classical_masks(bg, fg_bg, (threshold,), blur, open_px, close_px)[threshold]


def classical_masks(
    bg: np.ndarray, fg_bg: np.ndarray, thresholds: Sequence[float | None], blur: int = 3, open_px: int = 3, close_px: int = 5
) -> dict:
    """:func:`classical_mask` at several thresholds, computing the difference image once.

    Returns ``{threshold: bool (H, W) mask}`` for each of ``thresholds`` (None = Otsu).
    Raises: as :func:`classical_mask`.
    """
    bg, fg_bg = _check_pair(bg, fg_bg)
    d = np.abs(fg_bg.astype(np.int16) - bg.astype(np.int16)).max(axis=2).astype(np.uint8)
    if blur > 1:
        if blur % 2 == 0:
            raise ValueError(f"blur must be odd, got {blur}")
        d = cv2.GaussianBlur(d, (blur, blur), 0)
    out = {}
    for t in thresholds:
        level = cv2.threshold(d, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0] if t is None else t
        out[t] = _open_close(d > level, open_px, close_px)
    return out


def mog2_mask(
    bg: np.ndarray, fg_bg: np.ndarray, history: int = 50, var_threshold: float = 16, open_px: int = 3, close_px: int = 5
) -> np.ndarray:
    """Foreground mask from OpenCV's MOG2 model learnt on the background photo.

    Source: Zivkovic, "Improved adaptive Gaussian mixture model for background
    subtraction", ICPR 2004 (OpenCV ``createBackgroundSubtractorMOG2``). The
    model (``detectShadows=True``) is fed ``bg`` ``history`` times with
    learning rate 1/k at the k-th frame (a running average, as MOG2's own
    schedule), then ``fg_bg`` once with learning rate 0. Foreground = output
    255; detected shadows (127) count as background. Then the same opening and
    closing as :func:`classical_mask`.

    Args:
        bg: uint8 (H, W, 3) background photo.
        fg_bg: uint8 (H, W, 3) photo of the same scene with a foreground.
        history: number of times ``bg`` is fed (>= 1), also MOG2's ``history``.
        var_threshold: MOG2 ``varThreshold`` (squared Mahalanobis distance).
        open_px, close_px: elliptical kernel diameters in pixels.

    Returns:
        bool (H, W) foreground mask.

    Raises:
        ValueError: bad shape/dtype, shapes differ, or ``history`` < 1.
    """
    bg, fg_bg = _check_pair(bg, fg_bg)
    if history < 1:
        raise ValueError(f"history must be >= 1, got {history}")
    mog = cv2.createBackgroundSubtractorMOG2(history=history, varThreshold=var_threshold, detectShadows=True)
    for k in range(1, history + 1):
        mog.apply(bg, learningRate=1.0 / k)
    out = mog.apply(fg_bg, learningRate=0)
    return _open_close(out == 255, open_px, close_px)


def ground_plane_depth(h: int, w: int, horizon: float = 0.4, camera_height: float = 1.5, fy: float | None = None) -> np.ndarray:
    """Depth prior from the image row only: a flat ground plane seen by a level camera.

    Source: pinhole ground-plane geometry as in Hoiem, Efros, Hebert, "Putting
    Objects in Perspective", CVPR 2006: a ground point imaged at row centre
    v + 0.5, below the horizon row v_h = ``horizon``·h, lies at depth
    Z = fy·camera_height / (v + 0.5 − v_h). Rows whose centre is at or above
    the horizon (no ground there) get the depth of the first row below it,
    i.e. the far limit. Everything is clipped to [0.1, 10] m. ``fy`` defaults
    to ``w`` pixels (a horizontal field of view of 2·atan(0.5) ≈ 53°).

    Args:
        h, w: image height and width in pixels (>= 1).
        horizon: horizon row as a fraction of the height (0 = top), in [0, 1].
        camera_height: camera height above the ground in metres (> 0).
        fy: vertical focal length in pixels (> 0); default ``w``.

    Returns:
        float32 (h, w) depth in metres, constant along each row, in [0.1, 10],
        non-increasing from top to bottom.

    Raises:
        ValueError: a size, ``camera_height`` or ``fy`` is not positive, or
            ``horizon`` is outside [0, 1].
    """
    fy = float(w) if fy is None else float(fy)
    if h < 1 or w < 1:
        raise ValueError(f"h and w must be >= 1, got {h}x{w}")
    if not 0 <= horizon <= 1:
        raise ValueError(f"horizon must be in [0, 1], got {horizon}")
    if camera_height <= 0 or fy <= 0:
        raise ValueError(f"camera_height and fy must be > 0, got {camera_height}, {fy}")
    y = np.arange(h, dtype=np.float64) + 0.5 - horizon * h
    below = y > 0
    z = np.full(h, 10.0)
    if below.any():
        z[below] = fy * camera_height / y[below]
        z[~below] = z[below][0]
    z = np.clip(z, 0.1, 10.0).astype(np.float32)
    return np.repeat(z[:, None], w, axis=1)


def background_depth(bg_depth: np.ndarray) -> np.ndarray:
    """The "background depth only" baseline: predict the scene without its foreground.

    Returns a copy of the background's depth map unchanged (same shape, dtype
    and unit, e.g. float32 (H, W) metres); named so that it has a row in the
    evaluation table.
    """
    return np.array(bg_depth, copy=True)
