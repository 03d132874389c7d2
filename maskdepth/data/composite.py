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

Relief (optional, ``Placement.relief_m``, default 0): a billboard is flat, a person is
not. With ``relief_m = r`` each foreground pixel gets depth ``Z - r * e`` where ``e`` in
[0, 1] is its distance to the silhouette edge divided by the largest such distance, so
the middle of a person is up to ``r`` metres nearer than its outline; occlusion is still
decided per pixel. Relief applies to metric labels only (metres mean nothing on a
relative disparity).

Upright billboards (optional, ``Placement.billboard == "upright"``): a constant-depth
billboard is parallel to the image plane, so when the camera looks down by ``p`` it leans
back, and its top is labelled ``H sin p`` too far (0.85 m for a 1.7 m person at
p = 30 deg) and can be hidden by the wall it stands in front of. Given the support
plane's up normal ``n`` (rendered floor, RANSAC plane), the upright mode puts the figure on
the vertical plane through the contact point ``P0`` facing the camera (normal
``m = P0 - (P0 . n) n``): pixel ray ``r = K^-1 [u, v, 1]`` gets depth
``Z = (m . P0) / (m . r)``, and the pixel height is the projection of ``P0 + H n``.
The figure is still drawn upright in the image (no keystone or roll).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io import resize

# Physical heights in metres drawn uniformly per class (people: 1.5-1.9 m, issue #3).
CLASS_HEIGHTS_M: dict[str, tuple[float, float]] = {
    "person": (1.5, 1.9),
    "object": (0.45, 1.2),
}

# Pixel height of a pasted foreground, as a fraction of the image height.
MIN_FG_FRAC, MAX_FG_FRAC = 0.15, 0.95
# a metric placement may be taller than the frame (a person near the camera, head cut off at the top),
# as real fixed cameras see them; its size still follows h = f H / Z exactly
MAX_METRIC_FG_FRAC = 1.6


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
        relief_m: per-pixel relief in metres (see the module docstring); 0 = flat billboard.
        billboard: ``"fronto"`` (constant contact depth) or ``"upright"`` (vertical plane
            through the contact point; see the module docstring).
    """

    x0: int
    y0: int
    height_px: int
    width_px: int
    flip: bool
    contact_uv: tuple[int, int]
    fg_depth: float | None
    height_m: float | None
    method: str
    relief_m: float = 0.0
    billboard: str = "fronto"

    def to_json(self) -> dict:
        """JSON-serialisable dict of every field (``contact_uv`` as a list)."""
        return {
            "x0": self.x0,
            "y0": self.y0,
            "height_px": self.height_px,
            "width_px": self.width_px,
            "flip": self.flip,
            "contact_uv": list(self.contact_uv),
            "fg_depth": self.fg_depth,
            "height_m": self.height_m,
            "method": self.method,
            "relief_m": self.relief_m,
            "billboard": self.billboard,
        }


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
    depth: np.ndarray | None
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


def prepare_cutout(fg_rgba: np.ndarray) -> np.ndarray:
    """Premultiplied float form of a cutout, computed once per cutout and reused by :func:`resize_premultiplied`.

    Args:
        fg_rgba: ``uint8 (h, w, 4)``.
    Returns:
        ``float32 (h, w, 4)``: RGB x alpha in 0..255 and alpha in [0, 1].
    """
    f = fg_rgba.astype(np.float32)
    a = f[..., 3:] / 255.0
    return np.concatenate([f[..., :3] * a, a], axis=2)


def resize_premultiplied(pre: np.ndarray, height_px: int, flip: bool) -> np.ndarray:
    """Resize a premultiplied cutout (:func:`prepare_cutout`) to ``height_px`` rows, keeping it premultiplied.

    Returns ``float32 (height_px, w, 4)``: RGB x alpha in 0..255 and alpha in [0, 1]
    (what :func:`paste` takes as ``cutout``), mirrored horizontally when ``flip``.
    Linear/area interpolation of premultiplied values keeps ``0 <= rgb <= 255 alpha``.
    """
    h, w = pre.shape[:2]
    height_px = max(1, int(height_px))
    width_px = max(1, int(round(w * height_px / h)))
    out = resize(pre, (height_px, width_px))
    if out.ndim == 2:  # a 1-pixel-wide resize drops the channel axis in OpenCV
        out = out.reshape(height_px, width_px, 4)
    return out[:, ::-1] if flip else out


def resize_cutout(fg_rgba: np.ndarray, height_px: int, flip: bool) -> np.ndarray:
    """Resize a cutout to ``height_px`` rows keeping its aspect ratio, optionally mirrored.

    Colour is resized premultiplied by alpha (so no dark fringes appear at the border).
    Returns ``float32 (height_px, w, 4)``: straight (un-premultiplied) RGB in 0..255, alpha in [0, 1].
    """
    pre = resize_premultiplied(prepare_cutout(fg_rgba), height_px, flip)
    alpha = np.clip(pre[..., 3:], 0.0, 1.0)
    rgb = np.where(alpha > 1e-4, pre[..., :3] / np.maximum(alpha, 1e-4), 0.0)
    return np.concatenate([np.clip(rgb, 0, 255), alpha], axis=2)


def edge_distance(alpha: np.ndarray) -> np.ndarray:
    """Normalised distance to the silhouette edge, for relief.

    Args:
        alpha: ``float (h, w)`` in [0, 1] (a resized cutout's alpha).
    Returns:
        ``float32 (h, w)`` in [0, 1]: Euclidean distance (OpenCV ``DIST_L2``, 3x3 mask) of
        each pixel with alpha >= 0.5 to the nearest pixel below 0.5 (or outside the
        cutout), divided by the largest such distance; 0 outside the silhouette.
    """
    import cv2

    m = np.zeros((alpha.shape[0] + 2, alpha.shape[1] + 2), np.uint8)
    m[1:-1, 1:-1] = alpha >= 0.5
    d = cv2.distanceTransform(m, cv2.DIST_L2, 3)[1:-1, 1:-1]
    mx = float(d.max())
    return (d / mx).astype(np.float32) if mx > 0 else d.astype(np.float32)


def paste(
    bg_rgb: np.ndarray,
    fg_rgba: np.ndarray | None,
    placement: Placement,
    bg_depth: np.ndarray | None = None,
    larger_is_nearer: bool = False,
    cutout: np.ndarray | None = None,
    relief_map: np.ndarray | None = None,
    fg_depth_map: np.ndarray | None = None,
    ground: np.ndarray | None = None,
) -> Composite:
    """Paste ``fg_rgba`` (already cropped to its alpha) on ``bg_rgb`` at ``placement``.

    Args:
        bg_rgb: ``uint8 (H, W, 3)``.
        fg_rgba: ``uint8 (h, w, 4)``, cropped with :func:`crop_to_alpha`; may be ``None``
            when ``cutout`` is given.
        placement: where, how large, flipped or not, the foreground depth and relief.
        bg_depth: ``float32 (H, W)`` background depth label, 0 = invalid; metres,
            or a relative disparity when ``larger_is_nearer`` (teacher labels).
            ``None``: no depth label (the composite gets none).
        larger_is_nearer: the label is a disparity (nearer = larger); relief is ignored.
        cutout: the cutout already resized for ``placement``, *premultiplied*
            (``float32 (h, w, 4)`` from :func:`resize_premultiplied`, flipped if
            ``placement.flip``), to skip the resize (the generator caches them).
        relief_map: :func:`edge_distance` of ``cutout``'s alpha, when ``placement.relief_m > 0``
            (computed here when ``None``).
        fg_depth_map: ``float32 (h, w)`` per-pixel foreground depth over the whole resized
            cutout (e.g. :func:`upright_depth`), used instead of the constant
            ``placement.fg_depth`` (metric labels only; relief is subtracted from it).
        ground: ``bool (H, W)`` pixels of the surface the foreground stands on (the support
            plane): they never hide it. An upright billboard's bottom row is an image row,
            while the line where its vertical plane meets the floor is slanted for an
            off-centre contact, so without this the floor would hide the feet on one side
            (an artefact of the billboard, not what a camera sees). ``None``: every valid
            background pixel nearer than the foreground hides it.

    Returns:
        :class:`Composite`. Where the background is valid and nearer than the
        foreground's depth (per pixel), the foreground is hidden (occlusion); the mask
        is the visible part at alpha >= 0.5; the depth label is the foreground depth on
        the mask and the background depth elsewhere. Colour is blended premultiplied,
        ``fg_bg = (rgb x alpha) + (1 - alpha) bg`` (Porter & Duff "over"), only inside
        the cutout's bounding box.
    Raises:
        ValueError: neither ``fg_rgba`` nor ``cutout`` given.
    """
    H, W = bg_rgb.shape[:2]
    if cutout is not None:
        fg = cutout
    elif fg_rgba is not None:
        fg = resize_premultiplied(prepare_cutout(fg_rgba), placement.height_px, placement.flip)
    else:
        raise ValueError("paste needs fg_rgba or cutout")
    alpha = np.zeros((H, W), np.float32)
    mask = np.zeros((H, W), bool)
    fg_bg = bg_rgb.copy()
    labelled = bg_depth is not None and placement.fg_depth is not None
    depth = np.array(bg_depth, np.float32, copy=True) if labelled else None
    overlap = _overlap(placement.x0, placement.y0, fg.shape[:2], (H, W))
    if overlap is not None:
        box, cut = overlap
        sub = fg[cut]
        a = np.array(sub[..., 3], np.float32, copy=True)
        pre_rgb = sub[..., :3]
        if labelled:
            fgd = _fg_depth(placement, fg, cut, fg_depth_map, relief_map, larger_is_nearer)
            hidden = _hidden(bg_depth[box], fgd, larger_is_nearer, None if ground is None else ground[box])
            if hidden.any():
                a[hidden] = 0.0
                pre_rgb = np.where(hidden[..., None], np.float32(0.0), pre_rgb)
        alpha[box] = a
        m = a >= 0.5
        mask[box] = m
        if labelled:
            dreg = depth[box]
            dreg[m] = fgd[m] if np.ndim(fgd) else fgd
        fg_bg[box] = _over(bg_rgb[box], a, pre_rgb)
    return Composite(fg_bg=fg_bg, mask=mask, depth=depth, alpha=alpha)


def _overlap(x0: int, y0: int, hw: tuple[int, int], HW: tuple[int, int]):
    """The part of an ``(h, w)`` cutout at ``(x0, y0)`` inside an ``(H, W)`` image: ``(box, cut)``, the same
    pixels as slices of the image and of the cutout, or ``None`` when the cutout lies outside."""
    (h, w), (H, W) = hw, HW
    ax0, ay0 = max(x0, 0), max(y0, 0)
    ax1, ay1 = min(x0 + w, W), min(y0 + h, H)
    if not (ax1 > ax0 and ay1 > ay0):
        return None
    return np.s_[ay0:ay1, ax0:ax1], np.s_[ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]


def _fg_depth(placement: Placement, fg: np.ndarray, cut, fg_depth_map, relief_map, larger_is_nearer: bool):
    """The foreground's depth over the cutout's pixels ``cut``: ``placement.fg_depth`` (a scalar) or
    ``fg_depth_map`` (metric labels), minus the relief (metric labels)."""
    fgd = np.float32(placement.fg_depth)
    if fg_depth_map is not None and not larger_is_nearer:
        fgd = fg_depth_map[cut].astype(np.float32)
    relief = float(placement.relief_m or 0.0)
    if relief > 0 and not larger_is_nearer:
        rm = edge_distance(fg[..., 3]) if relief_map is None else relief_map
        fgd = fgd - np.float32(relief) * rm[cut]
    return fgd


def _hidden(bd: np.ndarray, fgd, larger_is_nearer: bool, ground: np.ndarray | None) -> np.ndarray:
    """Pixels where the valid background ``bd`` is nearer than the foreground depth ``fgd`` (not on ``ground``)."""
    nearer = (bd > fgd) if larger_is_nearer else (bd < fgd)
    hidden = (bd > 0) & nearer
    if ground is not None:
        hidden &= ~ground
    return hidden


def _over(bg: np.ndarray, a: np.ndarray, pre_rgb: np.ndarray) -> np.ndarray:
    """Porter-Duff "over" of premultiplied ``pre_rgb`` with alpha ``a`` on ``uint8`` ``bg``, rounded to ``uint8``."""
    blend = bg.astype(np.float32)
    blend *= (1.0 - a)[..., None]
    blend += pre_rgb
    np.rint(blend, out=blend)
    return np.clip(blend, 0, 255).astype(np.uint8)


def upright_depth(
    K: np.ndarray, contact_uv: tuple[int, int], fg_depth: float, up: np.ndarray, x0: int, y0: int, hw: tuple[int, int]
) -> np.ndarray:
    """Depth of an upright billboard (see the module docstring) over a pixel box.

    Args:
        K: ``(3, 3)`` intrinsics; contact_uv: contact pixel; fg_depth: its depth (metres).
        up: ``(3,)`` unit up normal of the support plane in camera coordinates.
        x0, y0, hw: the box (top-left pixel and ``(h, w)``), e.g. the resized cutout's.
    Returns:
        ``float32 (h, w)`` planar depth in metres of the vertical plane through the contact
        point facing the camera (``fg_depth`` where the contact's vertical line is).
    """
    K = np.asarray(K, np.float64)
    n = np.asarray(up, np.float64)
    u, v = contact_uv
    P0 = fg_depth * np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0])
    m = P0 - (P0 @ n) * n
    if np.linalg.norm(m) < 1e-9:  # looking straight down: no upright plane, keep the contact depth
        return np.full(hw, np.float32(fg_depth))
    h, w = hw
    xs = (np.arange(x0, x0 + w, dtype=np.float64) - K[0, 2]) / K[0, 0]
    ys = (np.arange(y0, y0 + h, dtype=np.float64) - K[1, 2]) / K[1, 1]
    den = m[0] * xs[None, :] + m[1] * ys[:, None] + m[2]
    z = (m @ P0) / np.where(den > 1e-9, den, np.nan)
    z = np.where(np.isfinite(z) & (z > 0), z, 1e4)
    return z.astype(np.float32)


def place_at(
    contact_uv, height_px, fg_shape, flip, fg_depth, height_m, method, relief_m: float = 0.0, billboard: str = "fronto"
) -> Placement:
    """The :class:`Placement` of a cutout of shape ``fg_shape`` scaled to ``height_px`` rows (aspect kept)
    whose bottom-centre pixel stands on ``contact_uv = (u, v)``.

    ``fg_depth`` (metres, or normalised disparity) and ``height_m`` may be ``None`` (no depth);
    ``method`` is recorded (``"metric"``, ``"ground_prior"``).
    """
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
        relief_m=float(relief_m),
        billboard=billboard,
    )


def contact_candidates(bg_depth: np.ndarray, support: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixels a foreground may stand on: valid-depth ``support`` pixels, or (no support, or
    none of it valid) valid pixels of the lower 60 % of the image, or any valid pixel.

    Returns ``(vs, us)``: int64 row and column indices (row-major order).
    """
    H = bg_depth.shape[0]
    cand = bg_depth > 0
    if support is not None and (support & cand).any():
        cand = support & cand
    else:
        lower = np.zeros_like(cand)
        lower[int(0.4 * H) :] = True
        if (cand & lower).any():
            cand = cand & lower
    return np.nonzero(cand)


def sample_placement_metric(
    rng: np.random.Generator,
    bg_depth: np.ndarray,
    K: np.ndarray,
    fg_shape: tuple[int, ...],
    height_m: float,
    support: np.ndarray | None = None,
    tries: int = 30,
    flip: bool | None = None,
    relief_m: float = 0.0,
    candidates: tuple[np.ndarray, np.ndarray] | None = None,
    min_visible: float = 0.75,
    up_normal: np.ndarray | None = None,
) -> Placement | None:
    """Place a foreground on a background with measured depth, at its physical size, or refuse.

    The contact point is drawn among pixels of ``support`` (e.g. the fitted floor
    plane's inliers) or, when ``support`` is ``None`` or empty, among valid pixels
    in the lower 60 % of the image. Its depth ``Z`` fixes the size
    ``h = fy * height_m / Z`` (perspective). Points whose size falls outside
    [MIN_FG_FRAC, MAX_METRIC_FG_FRAC] of the image height, or whose figure would stick out
    of the top of the image by more than ``1 - min_visible`` of its height (a person
    standing on a desk near the top of a TUM frame), are redrawn, ``tries`` times.
    Then every candidate is scored at once and one is drawn uniformly among those of
    admissible size that are visible enough, else the first draw of admissible size that
    sticks out of the top, else any of admissible size. When no candidate gives an
    admissible size (a near-range frame: on the TUM frames at 128 px about a third admit
    no standing adult), the answer is ``None``: the size is never clipped and the height
    never relabelled (issue 13: a shrunk person with its depth label kept teaches a wrong
    size-to-depth cue). The caller decides what to do instead (the generator pastes the
    cutout without a depth label). Deterministic for a given ``rng`` state.

    Args:
        bg_depth: ``float32 (H, W)`` metres, 0 = invalid.
        K: ``(3, 3)`` intrinsics at the resolution of ``bg_depth``.
        fg_shape: shape of the cropped cutout ``(h, w, 4)``.
        height_m: physical height of the foreground, metres (kept as is in the placement).
        support: optional ``bool (H, W)`` allowed contact pixels.
        flip: mirror the cutout; ``None`` draws it (p = 0.5) from ``rng``.
        relief_m: per-pixel relief in metres, recorded in the placement.
        candidates: ``(vs, us)`` from :func:`contact_candidates` for this background, to
            skip recomputing them (the generator caches them per background).
        min_visible: fraction of the figure's height that should lie inside the image.
        up_normal: the support plane's unit up normal (camera coordinates) for an upright
            billboard: the size is then the projection of ``P0 + height_m * n`` (``P0``
            the contact point) instead of ``fy * height_m / Z``. ``None``: fronto-parallel billboard.
    Returns:
        :class:`Placement` with ``height_m`` unchanged and ``height_px = round(h)``, or
        ``None`` when no candidate contact point gives a size in [MIN_FG_FRAC, MAX_METRIC_FG_FRAC]·H.
    Raises:
        ValueError: the background has no valid depth pixel.
    """
    H, W = bg_depth.shape
    vs, us = candidates if candidates is not None else contact_candidates(bg_depth, support)
    if vs.size == 0:
        raise ValueError("background has no valid depth pixel to stand on")
    flip = bool(rng.random() < 0.5) if flip is None else bool(flip)
    lo, hi = MIN_FG_FRAC * H, MAX_METRIC_FG_FRAC * H
    bb = "fronto" if up_normal is None else "upright"
    found, sized = _draw_contact(rng, bg_depth, K, vs, us, height_m, up_normal, (lo, hi), tries, min_visible)
    if found is None:
        found = _scored_contact(rng, bg_depth, K, vs, us, height_m, up_normal, (lo, hi), min_visible, sized)
    if found is None:
        return None
    u, v, z, h = found
    return place_at((u, v), int(round(h)), fg_shape, flip, z, height_m, "metric", relief_m, bb)


def _draw_contact(rng, bg_depth, K, vs, us, height_m, up_normal, size_range, tries: int, min_visible: float):
    """Up to ``tries`` random candidates: ``(found, sized)``, ``found`` the first ``(u, v, z, h)`` of admissible
    size visible enough (else ``None``), ``sized`` the first of admissible size that sticks out of the top."""
    lo, hi = size_range
    sized = None
    for _ in range(tries):
        i = int(rng.integers(vs.size))
        v, u = int(vs[i]), int(us[i])
        z = float(bg_depth[v, u])
        h = float(pixel_height(K, u, v, z, height_m, up_normal))
        if lo <= h <= hi:
            if v + 1 >= min_visible * round(h):
                return (u, v, z, h), sized
            if sized is None:
                sized = (u, v, z, h)
    return None, sized


def _scored_contact(rng, bg_depth, K, vs, us, height_m, up_normal, size_range, min_visible: float, sized):
    """Every candidate scored at once (the random draws found none visible enough): one ``(u, v, z, h)`` drawn
    among those of admissible size visible enough, else ``sized``, else any of admissible size, else ``None``."""
    lo, hi = size_range
    zs = bg_depth[vs, us].astype(np.float64)
    hs = pixel_height(K, us, vs, zs, height_m, up_normal)
    ok = (hs >= lo) & (hs <= hi)
    good = ok & (vs + 1 >= min_visible * np.round(np.where(ok, hs, 0.0)))
    if sized is not None and not good.any():
        return sized
    pool = np.flatnonzero(good if good.any() else ok)
    if pool.size == 0:
        return None
    i = int(pool[int(rng.integers(pool.size))])
    return int(us[i]), int(vs[i]), float(zs[i]), float(hs[i])


def pixel_height(K: np.ndarray, u, v, z, height_m: float, up_normal: np.ndarray | None = None):
    """Pixel height of an object of ``height_m`` metres standing on contact pixel(s) ``(u, v)`` at depth ``z`` metres.

    Fronto-parallel (``up_normal`` ``None``): ``fy * height_m / z``. Upright: ``v`` minus the image
    row of ``P0 + height_m * n`` (``P0`` the back-projected contact point, ``n`` the unit up
    normal in camera coordinates); ``inf`` when that top point is behind the camera.
    Scalars or arrays (broadcast); returns float64 of the broadcast shape.
    """
    K = np.asarray(K, np.float64)
    u, v, z = (np.asarray(a, np.float64) for a in (u, v, z))
    fy, cy = K[1, 1], K[1, 2]
    if up_normal is None:
        return fy * height_m / z
    n = np.asarray(up_normal, np.float64)
    y1 = z * (v - cy) / fy + height_m * n[1]  # the top point's row does not depend on its x
    z1 = z + height_m * n[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(z1 > 1e-3, v - (fy * y1 / np.where(z1 > 1e-3, z1, 1.0) + cy), np.inf)


def sample_placement_ground_prior(
    rng: np.random.Generator,
    image_hw: tuple[int, int],
    fg_shape: tuple[int, ...],
    height_m: float,
    flip: bool | None = None,
) -> Placement:
    """Place a foreground on a photo with no depth, using a ground-plane prior.

    A level camera at height ``Hc`` ~ U(1.2, 2.5) m with its horizon at
    ``v_h`` ~ U(0.25, 0.45)·H: the contact row ``v`` ~ U(0.55, 0.98)·H and the
    size ``h = (v - v_h) * height_m / Hc`` (flat-floor pinhole geometry), clipped
    to [MIN_FG_FRAC, MAX_FG_FRAC]·H. No depth is assigned (``fg_depth=None``).
    ``flip``: mirror the cutout; ``None`` draws it (p = 0.5) from ``rng``.
    """
    H, W = image_hw
    flip = bool(rng.random() < 0.5) if flip is None else bool(flip)
    cam_h = rng.uniform(1.2, 2.5)
    v_h = rng.uniform(0.25, 0.45) * H
    v = int(rng.uniform(0.55, 0.98) * H)
    h = (v - v_h) * height_m / cam_h
    h = float(np.clip(h, MIN_FG_FRAC * H, MAX_FG_FRAC * H))
    u = int(rng.uniform(0.1, 0.9) * W)
    return place_at((u, v), int(round(h)), fg_shape, flip, None, None, "ground_prior")
