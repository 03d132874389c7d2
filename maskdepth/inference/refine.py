"""Bring the network's coarse mask to the input's own resolution (issue 13, item 4).

The network runs at short side 128 (:func:`maskdepth.inference.predictor.content_size`); its mask logits
must be brought to the input size. Two ways:

``none``
    bilinear upsampling of the logits, then the sigmoid (what ``predict`` always did).
``guided``
    the bilinear result everywhere, except in the *uncertain band* (pixels whose bilinear
    probability lies strictly inside ``(lo, hi)``), where a fast guided filter re-draws the
    boundary from the full-resolution pixels: the coarse pass at low resolution, then only
    the uncertain pixels at full resolution, as in Background Matting V2 (Lin et al., "Real-Time
    High-Resolution Background Matting", CVPR 2021), so the cost scales with the boundary
    length, not the image area.

The guided filter (He, Sun & Tang, "Guided Image Filtering", TPAMI 2013, Alg. 1, with the
colour-guide form of their eq. 19-21) fits, in every ``(2r+1)^2`` window of the low-resolution
grid, a linear model ``p ~ a . I + b`` of the coarse probability ``p`` on the guide ``I``: the
frame's colour ``fg_bg / 255`` (default), or the signed colour difference ``(fg_bg - bg) / 255``
(:attr:`GuidedParams.guide`; the frame won on validation composites, ``results/native_refine.md``).
The low-resolution guide is the area-resized pair the network saw (area resizing is linear, so
it is exactly the area-resized full-resolution guide). The coefficients, averaged over the
windows, are upsampled bilinearly and applied to the full-resolution guide:
``q = A(x) . I_hr(x) + B(x)`` (Wu et al., "Fast End-to-End Trainable Guided Filter", CVPR 2018,
the fast guided filter of He & Sun, arXiv:1505.00996). Confident pixels (outside the band) keep
the bilinear probability bit for bit; refined pixels are clipped to [0, 1].

When the input is not larger than the network's content (``H <= h`` and ``W <= w``: nothing to
upsample), every method returns the bilinear/area result.

numpy + OpenCV only (no torch); used by :mod:`maskdepth.inference.predictor`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import MaskDepthError

__all__ = ["REFINERS", "DEFAULT_REFINER", "GuidedParams", "resolve_refiner", "upsample_logits", "guided_coefficients", "refine_prob"]

REFINERS = ("none", "guided")
# chosen on validation composites (benchmarks/native_refine.py, results/native_refine.md)
DEFAULT_REFINER = "guided"


@dataclass(frozen=True)
class GuidedParams:
    """Settings of the ``guided`` refiner (defaults chosen on validation composites, ``results/native_refine.md``).

    Attributes:
        lo, hi: the uncertain band: bilinear probabilities strictly between them are refined.
        radius: window radius ``r`` of the guided filter, in low-resolution (network) pixels.
        eps: regulariser of the guided filter (in guide units squared; guide in [-1, 1]).
        guide: ``"frame"``: the frame's colour ``fg_bg / 255`` (the classic image-guided filter);
            ``"diff"``: the signed colour difference ``(fg_bg - bg) / 255``.
        smooth: side of the box filter applied to the full-resolution guide before the coefficients are
            (1 = none). The low-resolution fit sees the guide area-averaged, so its per-pixel noise is
            several times lower than at full resolution; unfiltered, ``a`` times that noise speckles the band.
    """

    lo: float = 0.01
    hi: float = 0.99
    radius: int = 3  # round 3: chosen for the shipped model on 704-px validation composites (results/native_refine.md)
    eps: float = 1e-5
    guide: str = "frame"
    smooth: int = 3


def resolve_refiner(name: str) -> str:
    """``"auto"`` -> :data:`DEFAULT_REFINER`; a name of :data:`REFINERS` -> itself.

    Raises: MaskDepthError for an unknown name.
    """
    if name == "auto":
        return DEFAULT_REFINER
    if name not in REFINERS:
        raise MaskDepthError(f"unknown refiner {name!r} (expected auto, {', '.join(REFINERS)})")
    return name


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` of a float32 array, as a new float32 array (cv2.exp: no page-fault-bound numpy temporaries)."""
    t = cv2.exp(-np.asarray(x, dtype=np.float32))
    t += 1.0
    return np.reciprocal(t, out=t)


def upsample_logits(logits: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Bilinear (or area, when shrinking) resize of ``float32 (h, w)`` logits to ``hw``: ``float32 (H, W)``.

    Same pixel grid as :func:`maskdepth.io.resize` (``cv2.resize``; pixel centres at ``(i + 0.5) * in / out - 0.5``).
    """
    h, w = logits.shape
    H, W = hw
    if (h, w) == (H, W):
        return np.ascontiguousarray(logits, dtype=np.float32)
    interp = cv2.INTER_AREA if (H < h and W < w) else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(logits, dtype=np.float32), (W, H), interpolation=interp)


def _box(a: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(a, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)


def guided_coefficients(p: np.ndarray, guide: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Window-averaged guided-filter coefficients (He et al. TPAMI 2013, Alg. 1 / eq. 19-21, colour guide).

    Args:
        p: ``float32 (h, w)`` filtering input (the coarse probability).
        guide: ``float32 (h, w, 3)`` guide image.
        radius: window radius ``r`` in pixels (window ``2r+1`` square, box filter with reflected borders).
        eps: regulariser added to the diagonal of each window's 3x3 guide covariance.
    Returns:
        ``(A, B)``: ``float32 (h, w, 3)`` and ``float32 (h, w)``, the mean over the windows covering
        each pixel of ``a_k = (Sigma_k + eps U)^-1 cov_k(I, p)`` and ``b_k = mean_k(p) - a_k . mean_k(I)``;
        the filter output is ``A . I + B``.
    """
    r = int(radius)
    p = np.ascontiguousarray(p, dtype=np.float32)
    g = np.ascontiguousarray(guide, dtype=np.float32)
    # The window means in float32 (their rounding, ~1e-7, is far below eps), the covariances and the 3x3 algebra in
    # float64: for a near-grey guide (R, G, B nearly equal, as on greyscale or infrared cameras) the covariance is nearly
    # rank 1, det ~ 3 var eps^2, and float32 cofactors cancel to garbage (|a| 20x too large, probabilities off by up to 4,
    # or inf / NaN).
    f64 = lambda a: a.astype(np.float64)  # noqa: E731
    mi, mp = f64(_box(g, r)), f64(_box(p, r))  # (h, w, 3), (h, w)
    cov_ip = f64(_box(g * p[..., None], r)) - mi * mp[..., None]
    # second moments: the 6 distinct entries of the symmetric 3x3 covariance
    prods = np.stack([g[..., 0] * g[..., 0], g[..., 0] * g[..., 1], g[..., 0] * g[..., 2]], -1)
    prods2 = np.stack([g[..., 1] * g[..., 1], g[..., 1] * g[..., 2], g[..., 2] * g[..., 2]], -1)
    m1, m2 = f64(_box(prods, r)), f64(_box(prods2, r))
    s00 = m1[..., 0] - mi[..., 0] * mi[..., 0] + eps
    s01 = m1[..., 1] - mi[..., 0] * mi[..., 1]
    s02 = m1[..., 2] - mi[..., 0] * mi[..., 2]
    s11 = m2[..., 0] - mi[..., 1] * mi[..., 1] + eps
    s12 = m2[..., 1] - mi[..., 1] * mi[..., 2]
    s22 = m2[..., 2] - mi[..., 2] * mi[..., 2] + eps
    # inverse of the symmetric positive definite 3x3 by cofactors
    c00 = s11 * s22 - s12 * s12
    c01 = s02 * s12 - s01 * s22
    c02 = s01 * s12 - s02 * s11
    c11 = s00 * s22 - s02 * s02
    c12 = s01 * s02 - s00 * s12
    c22 = s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    # Sigma + eps U is positive definite, so det >= eps^3 in exact arithmetic: a smaller one is rounding (a safety net;
    # a_k is then 0, the window mean of p, the limit of a flat guide).
    ok = det > 0.5 * eps**3
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    cx, cy, cz = cov_ip[..., 0], cov_ip[..., 1], cov_ip[..., 2]
    a = np.stack(
        [(c00 * cx + c01 * cy + c02 * cz) * inv, (c01 * cx + c11 * cy + c12 * cz) * inv, (c02 * cx + c12 * cy + c22 * cz) * inv], -1
    )
    b = mp - np.einsum("hwc,hwc->hw", a, mi)
    return _box(a.astype(np.float32), r), _box(b.astype(np.float32), r)


def _sample_bilinear(
    a: np.ndarray, ys: np.ndarray, xs: np.ndarray, hw: tuple[int, int], small_hw: tuple[int, int], origin: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """A low-resolution ``(h, w)`` map, of which ``a`` (``float32 (h', w', c)``, ``c <= 4``) is the crop starting at
    ``origin``, bilinearly sampled at the full-resolution pixels ``(ys, xs)`` of a ``hw`` image, on the pixel grid of
    ``cv2.resize`` (centres ``(i + 0.5) * h / H - 0.5``, the crop's edges replicated): ``(N, c)``."""
    h, w = small_hw
    H, W = hw
    fy = (ys.astype(np.float32) + 0.5) * np.float32(h / H) - np.float32(0.5 + origin[0])
    fx = (xs.astype(np.float32) + 0.5) * np.float32(w / W) - np.float32(0.5 + origin[1])
    n = len(ys)
    cols = 4096  # cv2.remap wants maps under 32767 rows and columns: lay the N points out as rows of 4096
    pad = -n % cols
    fx, fy = (np.pad(v, (0, pad)).reshape(-1, cols) for v in (fx, fy))
    out = cv2.remap(a, fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, a.shape[2] if a.ndim == 3 else 1)[:n]


def _guide_at(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, k: int) -> np.ndarray:
    """``float32 (N, 3)``: ``img`` (uint8 ``(H, W, 3)``) at the pixels ``(ys, xs)`` (``ys`` ascending), box-filtered
    ``k x k`` first when ``k > 1`` (reflected image borders; only the box around the pixels is filtered)."""
    if k <= 1:
        return img[ys, xs].astype(np.float32)
    H, W = img.shape[:2]
    m = k // 2
    y0, y1, x0, x1 = max(0, int(ys[0]) - m), min(H, int(ys[-1]) + m + 1), max(0, int(xs.min()) - m), min(W, int(xs.max()) + m + 1)
    crop = cv2.boxFilter(img[y0:y1, x0:x1], cv2.CV_32F, (k, k), normalize=True, borderType=cv2.BORDER_REFLECT_101)
    return crop[ys - y0, xs - x0]


def refine_prob(
    logits: np.ndarray,
    bg: np.ndarray,
    fg_bg: np.ndarray,
    method: str = "auto",
    bg_small: np.ndarray | None = None,
    fg_small: np.ndarray | None = None,
    params: GuidedParams | None = None,
) -> np.ndarray:
    """The foreground probability at the input's resolution from the network's coarse logits.

    Args:
        logits: ``float32 (h, w)`` mask logits of the network over the image content (padding cropped).
        bg, fg_bg: ``uint8 (H, W, 3)`` RGB pair at the input resolution.
        method: ``"auto"`` (:data:`DEFAULT_REFINER`), ``"none"`` (bilinear) or ``"guided"`` (module docstring).
        bg_small, fg_small: optional ``uint8 (h, w, 3)`` area-resized pair (what the network saw); computed when omitted.
        params: :class:`GuidedParams` (default: the validated defaults).
    Returns:
        ``float32 (H, W)`` probability in [0, 1]; equal to the bilinear one outside the uncertain band.
    Raises:
        MaskDepthError: unknown ``method``, or ``bg``/``fg_bg`` not ``uint8 (H, W, 3)`` of the same size.
    """
    method = resolve_refiner(method)
    if bg.shape != fg_bg.shape or fg_bg.ndim != 3 or fg_bg.shape[2] != 3 or fg_bg.dtype != np.uint8 or bg.dtype != np.uint8:
        raise MaskDepthError(
            f"refine: expected two uint8 (H, W, 3) images of one size, got {bg.dtype} {bg.shape} and {fg_bg.dtype} {fg_bg.shape}"
        )
    H, W = fg_bg.shape[:2]
    h, w = logits.shape
    prob = _sigmoid(upsample_logits(logits, (H, W)))
    if method == "none" or (H <= h and W <= w):
        return prob
    prm = params or GuidedParams()
    idx = np.flatnonzero((prob > prm.lo) & (prob < prm.hi))  # the uncertain band: the only pixels touched below
    if idx.size == 0:
        return prob
    ys, xs = np.divmod(idx, W)
    if bg_small is None or bg_small.shape[:2] != (h, w):
        bg_small = cv2.resize(bg, (w, h), interpolation=cv2.INTER_AREA)
    if fg_small is None or fg_small.shape[:2] != (h, w):
        fg_small = cv2.resize(fg_bg, (w, h), interpolation=cv2.INTER_AREA)
    if prm.guide not in ("diff", "frame"):
        raise MaskDepthError(f"unknown guide {prm.guide!r} (expected diff or frame)")
    diff = prm.guide == "diff"
    guide = (fg_small.astype(np.float32) - (bg_small.astype(np.float32) if diff else 0.0)) * np.float32(1.0 / 255.0)
    # the coefficients only on the low-resolution box around the band, with a margin of two windows and the
    # bilinear neighbour: inside it they equal those of the whole image (every box filter reaches r pixels)
    m = 2 * int(prm.radius) + 2
    y0, y1 = max(0, int(ys[0] * h / H) - m), min(h, int(ys[-1] * h / H) + 2 + m)
    x0, x1 = max(0, int(xs.min() * w / W) - m), min(w, int(xs.max() * w / W) + 2 + m)
    p_small = _sigmoid(np.asarray(logits[y0:y1, x0:x1], dtype=np.float32))
    A, B = guided_coefficients(p_small, guide[y0:y1, x0:x1], prm.radius, prm.eps)
    ab = _sample_bilinear(np.concatenate([A, B[..., None]], -1), ys, xs, (H, W), (h, w), (y0, x0))  # (N, 4): A then B
    g_hr = _guide_at(fg_bg, ys, xs, prm.smooth)
    if diff:
        g_hr -= _guide_at(bg, ys, xs, prm.smooth)
    g_hr *= np.float32(1.0 / 255.0)
    q = np.einsum("nc,nc->n", ab[:, :3], g_hr) + ab[:, 3]
    prob.reshape(-1)[idx] = np.clip(q, 0.0, 1.0)
    return prob
