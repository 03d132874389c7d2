"""Evaluation metrics for foreground masks and depth maps (plain numpy + OpenCV).

Masks: :func:`mask_iou` (Jaccard J), :func:`mask_dice`, :func:`boundary_f`
(DAVIS F), :func:`false_positive_rate`, and :func:`cdnet_gt` to decode raw
CDnet 2014 ground truth. Depth: :func:`align_scale_shift` and
:func:`align_depth` (MiDaS-style per-image alignment), :func:`depth_metrics`
(AbsRel, RMSE, delta1), :func:`ssim`. Statistics: :func:`bootstrap_ci` (independent
values), :func:`cluster_bootstrap_ci` (values clustered by one or two factors, e.g.
composites sharing backgrounds and cutouts), :func:`wilson_ci` (a share of units) and
:func:`count_mean_ci` (the mean of small per-unit counts).

Every function takes an optional boolean ``valid`` map (the pixels to score);
arrays that must have the same (H, W) shape raise ``ValueError`` otherwise.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = [
    "mask_iou",
    "mask_dice",
    "boundary_f",
    "false_positive_rate",
    "cdnet_gt",
    "align_scale_shift",
    "align_depth",
    "depth_metrics",
    "ssim",
    "bootstrap_ci",
    "cluster_bootstrap_ci",
    "paired_pooled_iou_diff_ci",
    "wilson_ci",
    "count_mean_ci",
]

# Aligned values (disparity, or depth in "depth" space) are floored at this
# fraction of the smallest valid ground-truth value so the output stays finite
# and positive: in disparity space depth is at most 10x the farthest GT pixel.
_ALIGN_FLOOR = 0.1
# Predicted depths are clipped to at least this many units before depth_metrics.
_DEPTH_EPS = 1e-6


def _check_2d(name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) array, got shape {a.shape}")
    return a


def _valid_map(shape: tuple[int, ...], valid, **arrays) -> np.ndarray:
    """Check every array in ``arrays`` (and ``valid``) has ``shape``; return valid as bool."""
    for name, a in arrays.items():
        if np.shape(a) != shape:
            raise ValueError(f"shape mismatch: {name} has shape {np.shape(a)}, expected {shape}")
    if valid is None:
        return np.ones(shape, dtype=bool)
    if np.shape(valid) != shape:
        raise ValueError(f"shape mismatch: valid has shape {np.shape(valid)}, expected {shape}")
    return np.asarray(valid, dtype=bool)


def _masks(pred, gt, valid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred = _check_2d("pred", pred).astype(bool)
    gt = np.asarray(gt).astype(bool)
    v = _valid_map(pred.shape, valid, gt=gt)
    return pred & v, gt & v, v


# --------------------------------------------------------------------------- masks


def mask_iou(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Intersection over union (Jaccard index, the DAVIS "J" region measure).

    IoU = |P ∩ G| / |P ∪ G| counted over the ``valid`` pixels only (Jaccard
    1901; used as J in Perazzi et al., CVPR 2016).

    Args:
        pred: bool (H, W) predicted foreground (any dtype; non-zero = foreground).
        gt: bool (H, W) ground-truth foreground.
        valid: optional bool (H, W); pixels where False are ignored. Default: all.

    Returns:
        float in [0, 1]; 1.0 when the union over valid pixels is empty.

    Raises:
        ValueError: ``pred`` is not 2-D, or ``gt``/``valid`` shape differs from ``pred``.
    """
    p, g, _ = _masks(pred, gt, valid)
    union = np.count_nonzero(p | g)
    if union == 0:
        return 1.0
    return np.count_nonzero(p & g) / union


def mask_dice(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Dice coefficient (F1 of pixel classification): 2|P ∩ G| / (|P| + |G|).

    Source: Dice, Ecology 1945 (Sørensen–Dice coefficient). Counted over
    ``valid`` pixels only.

    Args:
        pred: bool (H, W) predicted foreground.
        gt: bool (H, W) ground-truth foreground.
        valid: optional bool (H, W); pixels where False are ignored. Default: all.

    Returns:
        float in [0, 1]; 1.0 when both masks are empty over valid pixels.

    Raises:
        ValueError: ``pred`` is not 2-D, or ``gt``/``valid`` shape differs from ``pred``.
    """
    p, g, _ = _masks(pred, gt, valid)
    total = np.count_nonzero(p) + np.count_nonzero(g)
    if total == 0:
        return 1.0
    return 2.0 * np.count_nonzero(p & g) / total


def _seg2bmap(seg: np.ndarray) -> np.ndarray:
    """1-px boundary map of a bool mask, as ``_seg2bmap`` of the davis2017 toolkit.

    A pixel is a boundary pixel if it differs from its east, south or
    south-east neighbour; the image border itself is not a boundary.
    """
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def _disk(radius: int) -> np.ndarray:
    """uint8 disk structuring element of the given radius (as ``skimage.morphology.disk``)."""
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def boundary_f(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None, tol: float = 0.008) -> float:
    """DAVIS boundary F-measure (the "F" contour measure).

    Source: Perazzi et al., "A Benchmark Dataset and Evaluation Methodology for
    Video Object Segmentation", CVPR 2016; implementation follows
    ``davis2017-evaluation`` ``f_measure``/``_seg2bmap``. Both masks are set to
    background outside ``valid`` (the toolkit's ``void_pixels``), their 1-px
    boundaries are extracted, and a boundary pixel counts as matched if the
    other mask's boundary lies within ``bound_pix`` pixels (dilation with a
    disk of that radius). ``bound_pix = max(1, ceil(tol * hypot(H, W)))``; a
    ``tol >= 1`` is taken as a pixel count directly (as in the toolkit).
    precision = matched pred boundary / pred boundary, recall = matched GT
    boundary / GT boundary, F = 2PR / (P + R).

    Args:
        pred: bool (H, W) predicted foreground.
        gt: bool (H, W) ground-truth foreground.
        valid: optional bool (H, W); False pixels are void (set to background in
            both masks before boundary extraction). Default: all valid.
        tol: boundary tolerance as a fraction of the image diagonal (default
            0.008, the DAVIS value), or a pixel count if >= 1.

    Returns:
        float in [0, 1]; 1.0 if both boundaries are empty, 0.0 if exactly one is.

    Raises:
        ValueError: ``pred`` is not 2-D, shapes differ, or ``tol`` <= 0.
    """
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    p, g, _ = _masks(pred, gt, valid)
    bound_pix = int(math.ceil(tol)) if tol >= 1 else max(1, math.ceil(tol * math.hypot(*p.shape)))
    pb, gb = _seg2bmap(p), _seg2bmap(g)
    n_p, n_g = np.count_nonzero(pb), np.count_nonzero(gb)
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    k = _disk(bound_pix)
    p_dil = cv2.dilate(pb.astype(np.uint8), k).astype(bool)
    g_dil = cv2.dilate(gb.astype(np.uint8), k).astype(bool)
    precision = np.count_nonzero(pb & g_dil) / n_p
    recall = np.count_nonzero(gb & p_dil) / n_g
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def false_positive_blobs(pred: np.ndarray, valid: np.ndarray | None = None, min_area_frac: float = 0.001) -> int:
    """Number of false-positive blobs on a frame whose ground truth is empty: 8-connected
    components of ``pred & valid`` with at least ``min_area_frac`` of the image's pixels
    (default 0.1 %, e.g. 16 px at 128 × 128; smaller specks are noise, not a detection).

    Args:
        pred: bool (H, W) predicted foreground. valid: optional bool (H, W).
    Returns: int ≥ 0.
    Raises: ValueError: ``pred`` is not 2-D or ``valid`` has another shape.
    """
    import cv2

    p = _check_2d("pred", pred).astype(bool) & _valid_map(pred.shape, valid)
    n, _, stats, _ = cv2.connectedComponentsWithStats(p.astype(np.uint8), connectivity=8)
    min_area = max(1, int(np.ceil(min_area_frac * p.size)))
    return int(np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area))


def false_positive_rate(pred: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Fraction of valid pixels predicted foreground, FP / (FP + TN) for an empty GT.

    Meant for frames whose ground truth has no foreground (e.g. CDnet frames
    with only background), where IoU is uninformative.

    Args:
        pred: bool (H, W) predicted foreground.
        valid: optional bool (H, W); pixels where False are ignored. Default: all.

    Returns:
        float in [0, 1]; NaN if there is no valid pixel.

    Raises:
        ValueError: ``pred`` is not 2-D or ``valid`` has another shape.
    """
    p = _check_2d("pred", pred).astype(bool)
    v = _valid_map(p.shape, valid)
    n = np.count_nonzero(v)
    if n == 0:
        return float("nan")
    return np.count_nonzero(p & v) / n


def cdnet_gt(gt_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode a raw CDnet 2014 ground-truth mask into (foreground, valid).

    Source: Wang et al., "CDnet 2014: An Expanded Change Detection Benchmark
    Dataset", CVPRW 2014 (label codes): 0 static, 50 hard shadow, 85 outside
    region of interest, 170 unknown motion, 255 motion.

    255 → foreground; 0 and 50 → background; 85 and 170 → not scored (valid
    False, fg False). Any other value is treated as a plain binary mask:
    >= 128 foreground, else background (so plain 0/255 masks work).

    Args:
        gt_raw: integer (H, W) array, normally uint8.

    Returns:
        (fg, valid): two bool (H, W) arrays.

    Raises:
        ValueError: ``gt_raw`` is not 2-D.
    """
    g = _check_2d("gt_raw", gt_raw)
    valid = (g != 85) & (g != 170)
    fg = (g >= 128) & valid
    return fg, valid


# --------------------------------------------------------------------------- depth


def align_scale_shift(pred: np.ndarray, target: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    """Least-squares scale and shift: argmin_{s,t} Σ (s·pred + t − target)² over valid pixels.

    Source: Ranftl et al., "Towards Robust Monocular Depth Estimation: Mixing
    Datasets for Zero-shot Cross-dataset Transfer" (MiDaS), TPAMI 2020,
    Sec. 5, eq. 4, solved in closed form (normal equations):
    s = cov(pred, target) / var(pred), t = mean(target) − s·mean(pred).
    Computed in float64. Pixels where ``pred`` or ``target`` is not finite are
    left out of the fit.

    Degenerate cases: no usable pixel → (1.0, 0.0) (identity, no information);
    one usable pixel or ``pred`` constant over them → s = 1.0 and the
    least-squares shift t = mean(target − pred).

    Args:
        pred: float (H, W) values to be mapped (any unit).
        target: float (H, W) reference values.
        valid: bool (H, W) pixels used in the fit.

    Returns:
        (s, t) as Python floats; ``s * pred + t`` approximates ``target``.

    Raises:
        ValueError: ``pred`` is not 2-D or shapes differ.
    """
    p = _check_2d("pred", pred)
    v = _valid_map(p.shape, valid, target=target)
    tg = np.asarray(target)
    v = v & np.isfinite(p) & np.isfinite(tg)
    x = p[v].astype(np.float64)
    y = tg[v].astype(np.float64)
    if x.size == 0:
        return 1.0, 0.0
    mx, my = x.mean(), y.mean()
    var = np.mean((x - mx) ** 2)
    if x.size < 2 or var <= 1e-12 * max(mx * mx, 1e-300):
        return 1.0, float(my - mx)
    s = np.mean((x - mx) * (y - my)) / var
    return float(s), float(my - s * mx)


def align_depth(pred_depth: np.ndarray, gt_depth: np.ndarray, valid: np.ndarray, space: str = "disparity") -> np.ndarray:
    """Align a relative depth prediction to metric ground truth, per image.

    Source: the MiDaS evaluation protocol (Ranftl et al., TPAMI 2020): fit a
    scale and shift with :func:`align_scale_shift` on the valid pixels, then
    apply it to the whole image.

    * ``space="disparity"``: fit s, t on 1/pred vs 1/gt, aligned disparity
      d = s/pred + t is floored at 0.1 · min(1/gt) over the fit pixels
      (= 0.1 / farthest GT depth, so the output is at most 10× the farthest GT
      depth and always finite), and 1/d is returned. Pixels where pred is
      <= 0 or NaN get disparity 0 before alignment (i.e. "infinitely far").
    * ``space="depth"``: fit s, t on pred vs gt directly; s·pred + t is floored
      at 0.1 · the nearest valid GT depth so it stays positive.

    Fit pixels: ``valid`` & finite gt > 0 & finite pred > 0. If there is none,
    the prediction is returned unchanged (as float32).

    Args:
        pred_depth: float (H, W) predicted depth (any positive scale).
        gt_depth: float (H, W) ground-truth depth in metres (<= 0 or NaN = missing).
        valid: bool (H, W) pixels usable for the fit.
        space: ``"disparity"`` (default) or ``"depth"``.

    Returns:
        float32 (H, W) aligned depth in metres (the unit of ``gt_depth``).

    Raises:
        ValueError: shapes differ, an array is not 2-D, or ``space`` is unknown.
    """
    if space not in ("disparity", "depth"):
        raise ValueError(f"space must be 'disparity' or 'depth', got {space!r}")
    p = _check_2d("pred_depth", pred_depth).astype(np.float64)
    g = np.asarray(gt_depth, dtype=np.float64)
    v = _valid_map(p.shape, valid, gt_depth=g)
    with np.errstate(invalid="ignore"):
        v = v & np.isfinite(g) & (g > 0) & np.isfinite(p) & (p > 0)
    if not v.any():
        return p.astype(np.float32)
    if space == "depth":
        s, t = align_scale_shift(p, g, v)
        out = np.maximum(s * p + t, _ALIGN_FLOOR * g[v].min())
        return out.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        pd = np.where(p > 0, 1.0 / p, 0.0)
        gd = np.where(v, 1.0 / g, 0.0)
    s, t = align_scale_shift(pd, gd, v)
    d = np.maximum(s * pd + t, _ALIGN_FLOOR * gd[v].min())
    return (1.0 / d).astype(np.float32)


def depth_metrics(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    """Standard monocular depth errors (Eigen et al., NIPS 2014).

    Scored pixels: ``valid`` & finite ``gt`` & ``gt > 0``. ``pred`` is clipped
    to at least 1e-6 there.

    * ``absrel`` = mean(|p − g| / g) (unitless)
    * ``rmse`` = sqrt(mean((p − g)²)) (unit of the inputs, e.g. metres)
    * ``delta1`` = fraction of pixels with max(p/g, g/p) < 1.25

    Args:
        pred: float (H, W) predicted depth (already aligned / metric).
        gt: float (H, W) ground-truth depth, same unit.
        valid: bool (H, W) pixels to score.

    Returns:
        dict with float keys ``absrel``, ``rmse``, ``delta1``; all NaN if no pixel is scored.

    Raises:
        ValueError: shapes differ, ``pred`` is not 2-D, or ``pred`` is NaN/inf at a scored pixel.
    """
    p = _check_2d("pred", pred)
    g = np.asarray(gt)
    v = _valid_map(p.shape, valid, gt=g)
    with np.errstate(invalid="ignore"):
        v = v & np.isfinite(g) & (g > 0)
    if not v.any():
        return {"absrel": float("nan"), "rmse": float("nan"), "delta1": float("nan")}
    pv = p[v].astype(np.float64)
    if not np.isfinite(pv).all():
        raise ValueError("pred holds NaN or inf at scored pixels")
    pv = np.maximum(pv, _DEPTH_EPS)
    gv = g[v].astype(np.float64)
    return {
        "absrel": float(np.mean(np.abs(pv - gv) / gv)),
        "rmse": float(np.sqrt(np.mean((pv - gv) ** 2))),
        "delta1": float(np.mean(np.maximum(pv / gv, gv / pv) < 1.25)),
    }


def object_depth_errors(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Depth errors on one object (the foreground pixels), in the network's metres as they are.

    * ``fg_absrel`` = mean(|p - g| / g) over ``mask`` pixels with ``gt > 0`` (Eigen et al. 2014
      restricted to the object);
    * ``object_absrel`` = |median(p) - median(g)| / median(g) over the same pixels: the relative
      error of the object's distance as this project reports it (``scene.objects``, median depth).

    Args:
        pred, gt: float ``(H, W)`` depth in metres (``gt`` 0 = invalid); mask: bool ``(H, W)`` the
            object (e.g. the ground-truth mask).
    Returns:
        dict with both keys; NaN when fewer than 10 pixels are scored.
    Raises:
        ValueError: shapes differ or ``pred`` is not 2-D.
    """
    p = _check_2d("pred", pred)
    g = np.asarray(gt)
    v = _valid_map(p.shape, mask, gt=g)
    with np.errstate(invalid="ignore"):
        v = v & np.isfinite(g) & (g > 0) & np.isfinite(p)
    if v.sum() < 10:
        return {"fg_absrel": float("nan"), "object_absrel": float("nan")}
    pv, gv = np.maximum(p[v].astype(np.float64), _DEPTH_EPS), g[v].astype(np.float64)
    gm = float(np.median(gv))
    return {"fg_absrel": float(np.mean(np.abs(pv - gv) / gv)), "object_absrel": abs(float(np.median(pv)) - gm) / gm}


def ssim(a: np.ndarray, b: np.ndarray, valid: np.ndarray | None = None, data_range: float | None = None) -> float:
    """Mean structural similarity index (SSIM) of two single-channel images.

    Source: Wang, Bovik, Sheikh, Simoncelli, "Image Quality Assessment: From
    Error Visibility to Structural Similarity", IEEE TIP 2004: Gaussian window
    11×11, σ = 1.5, K1 = 0.01, K2 = 0.03, C1 = (K1·L)², C2 = (K2·L)², population
    (not sample) covariances; borders are reflected (as ``skimage``'s
    ``structural_similarity(gaussian_weights=True)``, whose full SSIM map this
    matches). The map is computed on the whole image after setting the invalid
    pixels of both ``a`` and ``b`` to the mean of ``b`` over valid pixels, and
    averaged over the valid pixels only (no border cropping).

    Args:
        a: float (H, W) image (e.g. predicted depth).
        b: float (H, W) reference image (e.g. ground-truth depth).
        valid: optional bool (H, W) pixels to average over. Default: all.
        data_range: L, the dynamic range; default max(b) − min(b) over valid
            pixels, or 1.0 if that is 0.

    Returns:
        float in [-1, 1]; NaN if no pixel is valid.

    Raises:
        ValueError: ``a`` is not 2-D or shapes differ.
    """
    a = _check_2d("a", a).astype(np.float64)
    b = np.asarray(b, dtype=np.float64)
    v = _valid_map(a.shape, valid, b=b)
    if not v.any():
        return float("nan")
    fill = b[v].mean()
    a = np.where(v, a, fill)
    b = np.where(v, b, fill)
    if data_range is None:
        data_range = float(b[v].max() - b[v].min()) or 1.0
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    s_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(s_map[v].mean())


# --------------------------------------------------------------------------- statistics


def bootstrap_ci(values, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0, stat=np.mean) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (or another ``stat``) of per-image values.

    Source: Efron & Tibshirani, "An Introduction to the Bootstrap", 1993,
    ch. 13 (percentile interval): resample the values with replacement
    ``n_boot`` times, take the alpha/2 and 1 − alpha/2 quantiles of the
    resampled means. Deterministic for a given ``seed``.

    Args:
        values: 1-D array-like of floats (per-image metric values); NaNs are dropped.
        n_boot: number of bootstrap resamples (>= 1).
        alpha: 1 − confidence level (default 0.05 → 95 % CI), in (0, 1).
        seed: seed of ``numpy.random.default_rng``.
        stat: the statistic of each resample, a NumPy reduction taking ``axis`` (``np.mean``, ``np.median``).

    Returns:
        (low, high) floats; (nan, nan) if no non-NaN value remains.

    Raises:
        ValueError: ``n_boot`` < 1 or ``alpha`` not in (0, 1).
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = stat(x[rng.integers(0, x.size, size=(n_boot, x.size))], axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def cluster_bootstrap_ci(values, groups_a, groups_b=None, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of values clustered by one or two factors.

    Values that share a cluster are not independent (composites of one background photo,
    or of one cutout, err together), so resampling the values themselves gives intervals
    that are too narrow. This resamples the *clusters*:

    * one factor (``groups_b`` ``None``): the distinct groups of ``groups_a`` are drawn with
      replacement and every value of a drawn group enters with the group's multiplicity
      (the cluster bootstrap; Davison & Hinkley, "Bootstrap Methods and their Application",
      1997, sec. 3.8);
    * two crossed factors: the distinct ``groups_a`` (e.g. backgrounds) and the distinct
      ``groups_b`` (e.g. cutouts) are drawn with replacement independently, and value ``i``
      enters with weight ``count_a[a_i] * count_b[b_i]`` (kept when both its background and
      its cutout are drawn, with multiplicity): the pigeonhole bootstrap of Owen, "The
      pigeonhole bootstrap", Annals of Applied Statistics 1(2), 2007 (McCullagh 2000).

    Each resample's statistic is the weighted mean ``sum(w x) / sum(w)``; resamples with no
    weight left (possible with two factors and few cells) are drawn again. Deterministic for
    a ``seed``. With every value its own group it is the ordinary bootstrap of
    :func:`bootstrap_ci` up to the random stream.

    Args:
        values: 1-D array-like of floats (per-image metric values); NaNs are dropped with their groups.
        groups_a: 1-D array-like, the same length: the first factor's label of each value (any hashable).
        groups_b: optional 1-D array-like, the same length: the second, crossed factor.
        n_boot: number of resamples (>= 1).
        alpha: 1 - confidence level, in (0, 1).
        seed: seed of ``numpy.random.default_rng``.
    Returns:
        (low, high) floats; (nan, nan) when no non-NaN value remains.
    Raises:
        ValueError: ``n_boot`` < 1, ``alpha`` not in (0, 1), or group arrays of another length than ``values``.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    x = np.asarray(values, dtype=np.float64).ravel()
    factors = [groups_a] + ([] if groups_b is None else [groups_b])
    codes = []
    for g in factors:
        g = np.asarray(g, dtype=object).ravel()
        if g.size != x.size:
            raise ValueError(f"groups have {g.size} labels for {x.size} values")
        codes.append(g)
    keep = ~np.isnan(x)
    x = x[keep]
    if x.size == 0:
        return float("nan"), float("nan")
    idx = [np.unique(g[keep].astype(str), return_inverse=True)[1] for g in codes]
    rng = np.random.default_rng(seed)
    means = np.empty(0)
    while means.size < n_boot:
        w = np.ones((n_boot, x.size))
        for ix in idx:
            w *= cluster_resample_counts(ix, n_boot, rng)
        tot = w.sum(axis=1)
        ok = tot > 0
        means = np.concatenate([means, (w[ok] @ x) / tot[ok]])
    lo, hi = np.quantile(means[:n_boot], [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def cluster_resample_counts(groups, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Multiplicities of a cluster bootstrap: each of ``n_boot`` resamples draws the ``k`` distinct
    groups with replacement, and every value enters with the count of its group (Davison &
    Hinkley, "Bootstrap Methods and their Application", 1997, sec. 3.8; used by
    :func:`cluster_bootstrap_ci` and the camera calibration from tracked people).

    Args:
        groups: int array ``(n,)`` of group codes ``0 .. k-1`` (every code present, e.g. from
            ``np.unique(..., return_inverse=True)``).
        n_boot: number of resamples (>= 1).
        rng: the generator (its stream is consumed: ``rng.multinomial(k, 1/k, n_boot)``).
    Returns:
        int64 ``(n_boot, n)``: the multiplicity of each value in each resample (0 = not drawn).
    """
    ix = np.asarray(groups, np.int64).ravel()
    k = int(ix.max()) + 1
    counts = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)  # k groups drawn with replacement
    return counts[:, ix]


def paired_pooled_iou_diff_ci(
    inter_a, union_a, inter_b, union_b, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float, float]:
    """The difference of two models' pooled IoU on the same samples, with a paired percentile bootstrap interval.

    Pooled IoU is ``sum(inter) / sum(union)`` over the samples (the adaptation's criterion and its robustness table).
    Each resample draws the samples with replacement and recomputes both ratios on the same draw, so what the two models
    share (an easy or hard sample) cancels out (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13,
    percentile interval, applied to a ratio of sums). The samples must be the independent unit: here, composites drawn
    independently from fixed pools.

    Args:
        inter_a, union_a, inter_b, union_b: 1-D array-like of pixel counts ``(n,)`` per sample, model a and model b
            (the same samples in the same order).
        n_boot: resamples (>= 1). alpha: 1 - confidence level, in (0, 1). seed: of ``numpy.random.default_rng``.
    Returns:
        ``(diff, low, high)``: pooled IoU of b minus that of a, and the interval; NaNs when a union sums to 0.
    Raises:
        ValueError: ``n_boot`` < 1, ``alpha`` not in (0, 1), or arrays of different lengths or empty.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    arrs = [np.asarray(v, np.float64).ravel() for v in (inter_a, union_a, inter_b, union_b)]
    n = arrs[0].size
    if n == 0 or any(a.size != n for a in arrs):
        raise ValueError(f"inter and union arrays must be non-empty and of one length, got {[a.size for a in arrs]}")
    ia, ua, ib, ub = arrs
    if ua.sum() == 0 or ub.sum() == 0:
        return float("nan"), float("nan"), float("nan")
    w = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)  # (n_boot, n) counts
    with np.errstate(invalid="ignore", divide="ignore"):
        d = (w @ ib) / (w @ ub) - (w @ ia) / (w @ ua)
    lo, hi = np.nanquantile(d, [alpha / 2, 1 - alpha / 2])
    return float(ib.sum() / ub.sum() - ia.sum() / ua.sum()), float(lo), float(hi)


def wilson_ci(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (e.g. the share of clips whose counts are right).

    Source: E. B. Wilson, "Probable inference, the law of succession, and statistical inference", JASA 22, 1927; see
    Brown, Cai & DasGupta, "Interval estimation for a binomial proportion", Statistical Science 16(2), 2001, who show
    that it holds its level for small ``n`` and near 0 or 1, where the percentile bootstrap of the mean of 0/1 values
    does not (with every one of 20 clips right it gives [1, 1]).

    Args:
        successes: the count, 0 <= successes <= n. n: the trials (>= 1). alpha: 1 - confidence level, in (0, 1).
    Returns:
        ``(low, high)`` in [0, 1].
    Raises:
        ValueError: ``n`` < 1, ``successes`` outside [0, n], or ``alpha`` not in (0, 1).
    """
    from statistics import NormalDist

    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need n >= 1 and 0 <= successes <= n, got {successes} of {n}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    z = NormalDist().inv_cdf(1 - alpha / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def count_mean_ci(counts, alpha: float = 0.05) -> tuple[float, float]:
    """Interval of the mean of small non-negative per-unit counts (e.g. a count's error per clip), quasi-Poisson exact.

    The sum ``S`` of ``n`` counts, divided by the dispersion ``phi = max(1, s^2 / mean)`` (sample variance over mean;
    McCullagh & Nelder, "Generalized Linear Models", 2nd ed. 1989, sec. 6.2, quasi-likelihood), gets Garwood's exact
    Poisson interval ``[chi2(alpha/2; 2S) / 2, chi2(1 - alpha/2; 2S + 2) / 2]`` (F. Garwood, "Fiducial limits for the
    Poisson distribution", Biometrika 28, 1936), scaled back by ``phi / n``. Where most counts are 0 the percentile
    bootstrap of the mean is too short (all zeros give [0, 0]; 0.80-0.94 coverage at 20 clips in
    ``tests/evaluate/test_metrics.py``'s simulation); this one holds 0.95 on Poisson counts and about 0.93 on counts
    overdispersed as a negative binomial of shape 1 (variance ``mu + mu^2``), less (about 0.9) under heavier
    overdispersion. Needs SciPy (installed with the ``track`` extra, as the benchmarks that call it are).

    Args:
        counts: 1-D array-like of non-negative numbers (one per independent unit), at least one.
        alpha: 1 - confidence level, in (0, 1).
    Returns:
        ``(low, high)`` floats, ``0 <= low <= mean <= high``.
    Raises:
        ValueError: no counts, a negative or non-finite count, or ``alpha`` not in (0, 1).
    """
    from scipy.stats import chi2

    x = np.asarray(counts, np.float64).ravel()
    if x.size == 0 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"counts must be one or more finite non-negative numbers, got {x.size} values")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    n, mean = x.size, float(x.mean())
    phi = max(1.0, float(x.var(ddof=1)) / mean) if n > 1 and mean > 0 else 1.0
    s = x.sum() / phi
    lo = 0.0 if s == 0 else float(chi2.ppf(alpha / 2, 2 * s)) / 2
    hi = float(chi2.ppf(1 - alpha / 2, 2 * s + 2)) / 2
    return lo * phi / n, hi * phi / n
