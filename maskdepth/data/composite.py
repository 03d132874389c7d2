"""Paste one RGBA foreground cutout onto one background: ``fg_bg``, ``mask`` and ``depth``.

Pure numpy (OpenCV only to resize); knows nothing of torch or of files.

Geometry (the method of DESIGN.md, "composite depth without re-running a model"):
a standing person or object touches the supporting surface at the bottom row
of its alpha (the *contact point*). With a pinhole camera of focal length
``f`` pixels, an object of physical height ``H`` metres whose contact point is
at depth ``Z`` metres spans ``h = f * H / Z`` pixels. The foreground takes the
contact depth ``Z`` at every pixel (a fronto-parallel billboard), and where the
background is nearer than ``Z`` the background occludes it; the mask is the
visible part. On photos with no depth the same formula is used through a
ground-plane prior: for a camera at height ``Hc`` above a flat floor, an object
of height ``H`` whose contact point is ``dv`` pixels below the horizon spans
``h = dv * H / Hc`` pixels (independent of ``f``), so size falls toward the
horizon.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from ..io import resize

# Physical heights in metres drawn uniformly per class (people: 1.5-1.9 m, issue #3).
CLASS_HEIGHTS_M: dict[str, tuple[float, float]] = {
    "person": (1.5, 1.9),
    "object": (0.45, 1.2),
}

# Pixel height of a pasted foreground, as a fraction of the image height.
MIN_FG_FRAC, MAX_FG_FRAC = 0.15, 0.95


@dataclass
class Placement:
    """Where and how big one foreground is pasted.

    Attributes:
        x0, y0: top-left corner of the resized cutout in the output image, pixels
            (may be negative or run past the border: the cutout is clipped).
        height_px, width_px: size of the resized cutout, pixels.
        flip: mirror the cutout horizontally.
        contact_uv: (u, v) pixel of the contact point (bottom-centre of the cutout).
        fg_depth: depth in metres given to every foreground pixel, or ``None``
            when the background has no depth label.
        height_m: physical height the size corresponds to (metres), or ``None``
            when not defined.
        method: ``"metric"`` (sized by measured depth and intrinsics) or
            ``"ground_prior"`` (sized by the ground-plane prior).
    """

    x0: int
    y0: int
    height_px: int
    width_px: int
    flip: bool
    contact_uv: tuple[int, int]
    fg_depth: Optional[float]
    height_m: Optional[float]
    method: str

    def to_json(self) -> dict:
        d = asdict(self)
        d["contact_uv"] = list(self.contact_uv)
        return d


@dataclass
class Composite:
    """One composite.

    Attributes:
        fg_bg: ``uint8 (H, W, 3)`` the background with the foreground blended in by its
            (visible) alpha.
        mask: ``bool (H, W)`` visible foreground, alpha >= 0.5 after occlusion.
        depth: ``float32 (H, W)`` metres (0 = unknown) or ``None`` when the
            background has no depth: foreground depth where ``mask``, background depth elsewhere.
        alpha: ``float32 (H, W)`` visible soft alpha in [0, 1].
    """

    fg_bg: np.ndarray
    mask: np.ndarray
    depth: Optional[np.ndarray]
    alpha: np.ndarray


def crop_to_alpha(fg_rgba: np.ndarray) -> np.ndarray:
    """Crop an RGBA cutout to the bounding box of its non-zero alpha.

    Args:
        fg_rgba: ``uint8 (h, w, 4)``.
    Returns:
        ``uint8 (h', w', 4)``: the last row holds the contact point (bottom of the alpha).
    Raises:
        ValueError: the alpha channel is empty.
    """
    a = fg_rgba[..., 3]
    rows = np.flatnonzero(a.max(axis=1) > 0)
    cols = np.flatnonzero(a.max(axis=0) > 0)
    if rows.size == 0:
        raise ValueError("foreground alpha is empty")
    return fg_rgba[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def resize_cutout(fg_rgba: np.ndarray, height_px: int, flip: bool) -> np.ndarray:
    """Resize a cutout to ``height_px`` rows keeping its aspect ratio, optionally mirrored.

    Colour is resized premultiplied by alpha (so no dark fringes appear at the border).
    Returns ``float32 (height_px, w, 4)``: RGB in 0..255, alpha in [0, 1].
    """
    h, w = fg_rgba.shape[:2]
    height_px = max(1, int(height_px))
    width_px = max(1, int(round(w * height_px / h)))
    f = fg_rgba.astype(np.float32)
    a = f[..., 3:] / 255.0
    pre = np.concatenate([f[..., :3] * a, a], axis=2)
    pre = resize(pre, (height_px, width_px))
    if pre.ndim == 2:  # a 1-pixel-wide resize drops the channel axis in OpenCV
        pre = pre.reshape(height_px, width_px, 4)
    alpha = np.clip(pre[..., 3:], 0.0, 1.0)
    rgb = np.where(alpha > 1e-4, pre[..., :3] / np.maximum(alpha, 1e-4), 0.0)
    out = np.concatenate([np.clip(rgb, 0, 255), alpha], axis=2)
    return out[:, ::-1] if flip else out


def paste(
    bg_rgb: np.ndarray,
    fg_rgba: np.ndarray,
    placement: Placement,
    bg_depth: Optional[np.ndarray] = None,
    larger_is_nearer: bool = False,
) -> Composite:
    """Paste ``fg_rgba`` (already cropped to its alpha) on ``bg_rgb`` at ``placement``.

    Args:
        bg_rgb: ``uint8 (H, W, 3)``.
        fg_rgba: ``uint8 (h, w, 4)``, cropped with :func:`crop_to_alpha`.
        placement: where, how large, flipped or not, and the foreground depth.
        bg_depth: ``float32 (H, W)`` background depth label, 0 = invalid; metres,
            or a relative disparity when ``larger_is_nearer`` (teacher labels).
            ``None``: no depth label (the composite gets none).
        larger_is_nearer: the label is a disparity (nearer = larger).

    Returns:
        :class:`Composite`. Where the background is valid and nearer than the
        foreground's depth, the foreground is hidden (occlusion); the mask is
        the visible part at alpha >= 0.5; the depth label is the foreground
        depth on the mask and the background depth elsewhere.
    """
    H, W = bg_rgb.shape[:2]
    fg = resize_cutout(fg_rgba, placement.height_px, placement.flip)
    h, w = fg.shape[:2]
    x0, y0 = placement.x0, placement.y0
    # clip the cutout to the image
    ax0, ay0 = max(x0, 0), max(y0, 0)
    ax1, ay1 = min(x0 + w, W), min(y0 + h, H)
    alpha = np.zeros((H, W), np.float32)
    fg_rgb = np.zeros((H, W, 3), np.float32)
    if ax1 > ax0 and ay1 > ay0:
        sub = fg[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
        alpha[ay0:ay1, ax0:ax1] = sub[..., 3]
        fg_rgb[ay0:ay1, ax0:ax1] = sub[..., :3]

    depth = None
    if bg_depth is not None and placement.fg_depth is not None:
        d = float(placement.fg_depth)
        valid = bg_depth > 0
        nearer = (bg_depth > d) if larger_is_nearer else (bg_depth < d)
        alpha = np.where(valid & nearer, 0.0, alpha).astype(np.float32)
    mask = alpha >= 0.5
    if bg_depth is not None and placement.fg_depth is not None:
        depth = np.where(mask, np.float32(placement.fg_depth), bg_depth).astype(np.float32)

    a3 = alpha[..., None]
    fg_bg = a3 * fg_rgb + (1.0 - a3) * bg_rgb.astype(np.float32)
    fg_bg = np.clip(np.rint(fg_bg), 0, 255).astype(np.uint8)
    return Composite(fg_bg=fg_bg, mask=mask, depth=depth, alpha=alpha)


def _place_at(contact_uv, height_px, fg_shape, flip, fg_depth, height_m, method) -> Placement:
    h, w = fg_shape[:2]
    width_px = max(1, int(round(w * height_px / h)))
    u, v = contact_uv
    return Placement(
        x0=int(u - width_px // 2),
        y0=int(v - height_px + 1),
        height_px=int(height_px),
        width_px=width_px,
        flip=bool(flip),
        contact_uv=(int(u), int(v)),
        fg_depth=None if fg_depth is None else float(fg_depth),
        height_m=None if height_m is None else float(height_m),
        method=method,
    )


def sample_placement_metric(
    rng: np.random.Generator,
    bg_depth: np.ndarray,
    K: np.ndarray,
    fg_shape: tuple[int, ...],
    height_m: float,
    support: Optional[np.ndarray] = None,
    tries: int = 30,
) -> Placement:
    """Place a foreground on a background with measured depth.

    The contact point is drawn among pixels of ``support`` (e.g. the fitted floor
    plane's inliers) or, when ``support`` is ``None`` or empty, among valid pixels
    in the lower 60 % of the image. Its depth ``Z`` fixes the size
    ``h = fy * height_m / Z`` (perspective). Points whose size falls outside
    [MIN_FG_FRAC, MAX_FG_FRAC] of the image height are redrawn; after ``tries``
    the nearest admissible size is used and ``height_m`` is rescaled to stay
    consistent (``height_m = h * Z / fy``), so the label never contradicts the geometry.

    Args:
        bg_depth: ``float32 (H, W)`` metres, 0 = invalid.
        K: ``(3, 3)`` intrinsics at the resolution of ``bg_depth``.
        fg_shape: shape of the cropped cutout ``(h, w, 4)``.
        height_m: physical height of the foreground, metres.
        support: optional ``bool (H, W)`` allowed contact pixels.
    Raises:
        ValueError: the background has no valid depth pixel.
    """
    H, W = bg_depth.shape
    fy = float(K[1, 1])
    cand = bg_depth > 0
    if support is not None and (support & cand).any():
        cand = support & cand
    else:
        lower = np.zeros_like(cand)
        lower[int(0.4 * H) :] = True
        if (cand & lower).any():
            cand = cand & lower
    vs, us = np.nonzero(cand)
    if vs.size == 0:
        raise ValueError("background has no valid depth pixel to stand on")
    flip = bool(rng.random() < 0.5)
    lo, hi = MIN_FG_FRAC * H, MAX_FG_FRAC * H
    best = None
    for _ in range(tries):
        i = int(rng.integers(vs.size))
        v, u = int(vs[i]), int(us[i])
        z = float(bg_depth[v, u])
        h = fy * height_m / z
        if lo <= h <= hi:
            return _place_at((u, v), int(round(h)), fg_shape, flip, z, height_m, "metric")
        if best is None:
            best = (u, v, z, h)
    u, v, z, h = best
    h = float(np.clip(h, lo, hi))
    return _place_at((u, v), int(round(h)), fg_shape, flip, z, h * z / fy, "metric")


def sample_placement_ground_prior(
    rng: np.random.Generator,
    image_hw: tuple[int, int],
    fg_shape: tuple[int, ...],
    height_m: float,
) -> Placement:
    """Place a foreground on a photo with no depth, using a ground-plane prior.

    A level camera at height ``Hc`` ~ U(1.2, 2.5) m with its horizon at
    ``v_h`` ~ U(0.25, 0.45)·H: the contact row ``v`` ~ U(0.55, 0.98)·H and the
    size ``h = (v - v_h) * height_m / Hc`` (flat-floor pinhole geometry), clipped
    to [MIN_FG_FRAC, MAX_FG_FRAC]·H. No depth is assigned (``fg_depth=None``).
    """
    H, W = image_hw
    flip = bool(rng.random() < 0.5)
    cam_h = rng.uniform(1.2, 2.5)
    v_h = rng.uniform(0.25, 0.45) * H
    v = int(rng.uniform(0.55, 0.98) * H)
    h = (v - v_h) * height_m / cam_h
    h = float(np.clip(h, MIN_FG_FRAC * H, MAX_FG_FRAC * H))
    u = int(rng.uniform(0.1, 0.9) * W)
    return _place_at((u, v), int(round(h)), fg_shape, flip, None, None, "ground_prior")
