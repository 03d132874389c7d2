"""Colour maps, overlays and sample grids (uint8 RGB images for files, reports and TensorBoard)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .io import resize

_LUTS: dict[str, np.ndarray] = {}


def _lut(name: str) -> np.ndarray:
    if name not in _LUTS:
        import matplotlib

        _LUTS[name] = (matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    return _LUTS[name]


def colorize_depth(depth: np.ndarray, vmin: Optional[float] = None, vmax: Optional[float] = None, cmap: str = "magma_r", valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Colour-map a depth (or disparity) map.

    Args:
        depth: ``float (H, W)``; pixels with ``valid`` False (default: depth <= 0 or
            non-finite) are drawn black.
        vmin, vmax: range mapped onto the colour map (default: 2nd/98th percentile of valid pixels).
        cmap: a perceptually uniform matplotlib map; the default ``magma_r`` draws
            near as bright and far as dark.
    Returns:
        ``uint8 (H, W, 3)``.
    """
    d = np.asarray(depth, np.float32)
    if valid is None:
        valid = np.isfinite(d) & (d > 0)
    if not valid.any():
        return np.zeros(d.shape + (3,), np.uint8)
    if vmin is None or vmax is None:
        lo, hi = np.percentile(d[valid], [2, 98])
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    t = np.clip((d - vmin) / max(vmax - vmin, 1e-6), 0, 1)
    idx = np.where(valid, (t * 255).round(), 0).astype(np.uint8)
    rgb = _lut(cmap)[idx]
    rgb[~valid] = 0
    return rgb


def overlay(image: np.ndarray, mask: np.ndarray, color=(0, 200, 255), alpha: float = 0.5) -> np.ndarray:
    """Tint ``mask`` pixels of ``image`` (uint8 (H,W,3)) with ``color`` and outline nothing; returns uint8 (H,W,3)."""
    out = image.astype(np.float32).copy()
    m = mask.astype(bool)
    out[m] = (1 - alpha) * out[m] + alpha * np.asarray(color, np.float32)
    return out.round().astype(np.uint8)


def gray_to_rgb(a: np.ndarray) -> np.ndarray:
    """bool/uint8 (H,W) → uint8 (H,W,3) (bool True → 255)."""
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    return np.repeat(a[..., None], 3, axis=2).astype(np.uint8)


def grid(rows: Sequence[Sequence[np.ndarray]], cell: int = 128, pad: int = 2, titles: Optional[Sequence[str]] = None) -> np.ndarray:
    """Tile images (each uint8 (h,w,3), resized to ``cell``×``cell``) into one uint8 RGB image.

    ``titles`` (one per column) are drawn above the first row with OpenCV's Hershey font.
    """
    import cv2

    nr = len(rows)
    nc = max(len(r) for r in rows)
    top = 18 if titles else 0
    H = top + nr * (cell + pad) + pad
    W = nc * (cell + pad) + pad
    canvas = np.full((H, W, 3), 255, np.uint8)
    for i, r in enumerate(rows):
        for j, im in enumerate(r):
            y, x = top + pad + i * (cell + pad), pad + j * (cell + pad)
            canvas[y : y + cell, x : x + cell] = resize(np.asarray(im, np.uint8), (cell, cell))
    if titles:
        for j, t in enumerate(titles):
            cv2.putText(canvas, str(t)[:18], (pad + j * (cell + pad) + 2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas
