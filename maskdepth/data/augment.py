"""Realism augmentations of composites: contact shadow, exposure, misalignment, sensor noise, JPEG.

A pasted cutout is too clean: no shadow, the same exposure and pixel grid as the
background, no noise of its own. Real pairs (a background shot, later a shot with
someone in it) differ in all of these, and a model trained on clean composites learns
to look for exactly-equal pixels. Each augmentation below is applied to a sample with
its own probability (``--aug name=p,...``), with parameters drawn from the sample's own
augmentation generator and recorded in the sample's JSON (``aug``):

``shadow`` (default p = 0.5)
    A soft contact shadow: the foreground's alpha projected on the floor (squashed to
    ``squash`` of its height about the contact row, sheared sideways, behind the
    foreground with p = 0.7, else in front of it), plus a dark blob at the feet,
    Gaussian-blurred (sigma = ``blur`` x the foreground's height) and multiplied into
    the *background* before the foreground is blended on top. Changes ``fg_bg`` only:
    mask and depth are unchanged. Pixels whose depth is nearer than the foreground
    (occluders) are not darkened.
``exposure`` (p = 0.5)
    Camera auto-exposure / white balance between the two shots, on ``fg_bg`` as a whole:
    ``y = 255 * gain * wb_c * (x / 255) ** gamma + bias`` per channel ``c``, with
    ``gain`` log-uniform in [0.8, 1.25], ``gamma`` in [0.85, 1.15], ``bias`` in [-10, 10]
    (0-255 units), ``wb_c`` in [0.96, 1.04].
``misalign`` (p = 0.3)
    The camera moved a little between the shots. The stored background stays as it is;
    ``fg_bg`` *and its labels* (mask, depth) are warped by the same small rigid motion:
    a rotation of up to +-1 deg about the image centre and a shift of up to
    +-max(2, 0.016 S) pixels per axis (S = image size; +-2.05 px at 128, +-3.6 px at 224;
    before issue 13 +-max(0.5, 0.012 S), 1.5 px at 128, short of the evaluation's 2-px shift). The image is resampled
    bilinearly, mask and depth with nearest neighbour at the same positions (so the
    depth on the mask is still the foreground's), borders reflected. The 2x3 matrix
    (``cv2.warpAffine`` convention, destination <- source) is recorded, so the
    placement's ``contact_uv`` (given in the un-warped frame) can be mapped.
``noise`` (p = 0.3)
    Sensor noise of the second shot: zero-mean Gaussian, sigma in [1, 8] (0-255 units; [1, 4]
    before issue 13, below the evaluation's sigma 6), added to ``fg_bg``. The noise is a window of a fixed bank of normal deviates (the
    same in every worker process, drawn from the dataset seed) at an offset and sign
    drawn per sample: generating fresh deviates cost more than the rest of a composite.
``jpeg`` (p = 0.5)
    ``fg_bg`` is stored at a JPEG quality drawn uniformly from [25, 95] ([60, 95] before issue 13,
    above the evaluation's quality 30) instead of the dataset's ``jpeg_quality`` (95 by
    default); backgrounds are stored losslessly.

Strengths against the robustness evaluation (:data:`maskdepth.evaluate.perturb.ROBUSTNESS`: exposure
x0.8 / x1.2, a 2-px camera shift, JPEG quality 30, noise sigma 6): the exposure gain range
[0.8, 1.25] covers both exposures, the shift, noise and JPEG ranges above cover the others at
the training size. The exposure and noise arithmetic is :mod:`maskdepth.evaluate.perturb`'s.

Determinism and independence: every sample draws, in a fixed order, one uniform number
and the full parameter set of *every* augmentation from its augmentation generator
(``numpy.random.default_rng([seed, split, index, 1])``, separate from the generator that
places the foreground), whether or not the augmentation is applied. So the placement is
the same with and without augmentation (``--no-aug`` gives the same composites minus the
augmentations), and changing one probability does not change the others' draws.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import MaskDepthError
from ..evaluate import perturb as P

AUG_NAMES = ("shadow", "exposure", "misalign", "noise", "jpeg")
# Default probabilities for new datasets (moderate; see the module docstring).
DEFAULT_AUG: dict[str, float] = {"shadow": 0.5, "exposure": 0.5, "misalign": 0.3, "noise": 0.3, "jpeg": 0.5}
JPEG_QUALITY_RANGE = (25, 95)
NOISE_SIGMA_RANGE = (1.0, 8.0)
EXPOSURE_GAIN_RANGE = (0.8, 1.25)
MISALIGN_SHIFT_PX = (2.0, 0.016)  # +-max(a, b * size) pixels per axis


def parse_aug(text: str | None, base: dict | None = None) -> dict:
    """Parse the ``aug`` setting's text (``--aug`` on the command line) into probabilities.

    Args:
        text: ``"name=p,name=p"`` with names from :data:`AUG_NAMES` and ``p`` in [0, 1];
            names not mentioned keep their value in ``base``; ``"none"``/``"off"`` turns all off.
        base: starting probabilities (default :data:`DEFAULT_AUG`).
    Returns:
        ``{name: p}`` for the names with ``p > 0`` (``{}`` = no augmentation).
    Raises:
        MaskDepthError (``param="aug"``): unknown name, malformed item or probability outside [0, 1].
    """
    probs = dict(DEFAULT_AUG if base is None else base)
    if text is not None:
        t = text.strip().lower()
        if t in ("none", "off", "0", ""):
            return {}
        for item in t.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, val = item.partition("=")
            name = name.strip()
            if not sep or name not in AUG_NAMES:
                raise MaskDepthError(f"items must be name=probability with a name from {', '.join(AUG_NAMES)}; got {item!r}", param="aug")
            try:
                p = float(val)
            except ValueError:
                raise MaskDepthError(f"probability of {name} is not a number: {val!r}", param="aug") from None
            if not 0.0 <= p <= 1.0:
                raise MaskDepthError(f"probability of {name} must be in [0, 1], got {p}", param="aug")
            probs[name] = p
    return {k: float(probs[k]) for k in AUG_NAMES if probs.get(k, 0.0) > 0.0}


def _r(x: float, nd: int = 5) -> float:
    return round(float(x), nd)


def draw(rng: np.random.Generator, probs: dict, size: int) -> dict:
    """Draw which augmentations apply to one sample, and their parameters.

    Args:
        rng: the sample's augmentation generator.
        probs: ``{name: probability}`` (see :func:`parse_aug`).
        size: image side in pixels (scales the misalignment shift).
    Returns:
        ``{name: params}`` for the applied augmentations only (JSON-serialisable; floats
        rounded to 5 decimals and used as rounded). Always consumes the same number of
        draws from ``rng``.
    """
    out: dict = {}
    # shadow
    u = rng.random()
    behind = rng.random() < 0.7
    p = {
        "opacity": _r(rng.uniform(0.25, 0.6)),
        "squash": _r(rng.uniform(0.12, 0.35) * (1 if behind else -0.6)),
        "shear": _r(rng.uniform(-0.8, 0.8)),
        "blur": _r(rng.uniform(0.02, 0.06)),
        "contact_opacity": _r(rng.uniform(0.3, 0.7)),
    }
    if u < probs.get("shadow", 0.0):
        out["shadow"] = p
    # exposure
    u = rng.random()
    p = {
        "gain": _r(math.exp(rng.uniform(math.log(EXPOSURE_GAIN_RANGE[0]), math.log(EXPOSURE_GAIN_RANGE[1])))),
        "gamma": _r(rng.uniform(0.85, 1.15)),
        "bias": _r(rng.uniform(-10.0, 10.0), 3),
        "wb": [_r(x) for x in rng.uniform(0.96, 1.04, size=3)],
    }
    if u < probs.get("exposure", 0.0):
        out["exposure"] = p
    # misalign
    u = rng.random()
    r = max(MISALIGN_SHIFT_PX[0], MISALIGN_SHIFT_PX[1] * size)
    p = {"dx": _r(rng.uniform(-r, r), 4), "dy": _r(rng.uniform(-r, r), 4), "rot_deg": _r(rng.uniform(-1.0, 1.0), 4)}
    if u < probs.get("misalign", 0.0):
        out["misalign"] = p
    # noise
    u = rng.random()
    p = {
        "sigma": _r(rng.uniform(*NOISE_SIGMA_RANGE), 4),
        "ox": int(rng.integers(0, size + 1)),
        "oy": int(rng.integers(0, size + 1)),
        "sign": int(rng.choice((-1, 1))),
    }
    if u < probs.get("noise", 0.0):
        out["noise"] = p
    # jpeg
    u = rng.random()
    q = int(rng.integers(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1))
    if u < probs.get("jpeg", 0.0):
        out["jpeg"] = {"quality": q}
    return out


# ----------------------------------------------------------------------------- shadow


def contact_shadow(
    bg_rgb: np.ndarray,
    cutout_alpha: np.ndarray,
    x0: int,
    y0: int,
    params: dict,
    bg_depth: np.ndarray | None = None,
    fg_depth: float | None = None,
    larger_is_nearer: bool = False,
) -> np.ndarray:
    """Darken ``bg_rgb`` with a soft contact shadow of a foreground about to be pasted.

    Args:
        bg_rgb: ``uint8 (H, W, 3)`` background (not modified).
        cutout_alpha: ``float32 (h, w)`` the resized cutout's alpha in [0, 1] (flipped as pasted).
        x0, y0: top-left corner of the cutout in the image (its bottom row is the contact row).
        params: the ``shadow`` entry of :func:`draw` (opacity, squash, shear, blur, contact_opacity).
        bg_depth: ``float32 (H, W)`` depth/disparity label; pixels nearer than ``fg_depth``
            (occluders in front of the foreground) are left undarkened. ``None``: no test.
        fg_depth: the foreground's contact depth (same units as ``bg_depth``).
        larger_is_nearer: ``bg_depth`` is a disparity.
    Returns:
        ``uint8 (H, W, 3)``: a darkened copy of ``bg_rgb`` (only a window around the shadow changes).
    """
    import cv2

    H, W = bg_rgb.shape[:2]
    h, w = cutout_alpha.shape
    sq = float(params["squash"])
    sh = float(params["shear"])
    sigma = max(0.8, float(params["blur"]) * h)
    # cutout (x, y) -> image: y' = yc + (y - (h-1)) * sq ; x' = x0 + x + sh * ((h-1) - y) * |sq|
    yc = y0 + h - 1
    pad = int(math.ceil(3 * sigma)) + 2
    ext_x = abs(sh) * (h - 1) * abs(sq)
    ys = sorted([yc, yc - (h - 1) * sq])
    bx0 = int(math.floor(x0 - ext_x)) - pad
    bx1 = int(math.ceil(x0 + w + ext_x)) + pad
    by0 = int(math.floor(ys[0] - 0.06 * h)) - pad
    by1 = int(math.ceil(ys[1] + 0.06 * h)) + pad
    cx0, cy0, cx1, cy1 = max(bx0, 0), max(by0, 0), min(bx1, W), min(by1, H)
    out = bg_rgb.copy()
    if cx1 <= cx0 or cy1 <= cy0:
        return out
    rw, rh = bx1 - bx0, by1 - by0
    # affine map cutout -> local window (origin at bx0, by0)
    M = np.array(
        [[1.0, -sh * abs(sq), x0 + sh * (h - 1) * abs(sq) - bx0], [0.0, sq, yc - (h - 1) * sq - by0]],
        np.float64,
    )
    a = np.ascontiguousarray(cutout_alpha, np.float32)
    proj = cv2.warpAffine(a, M, (rw, rh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    matte = proj * np.float32(params["opacity"])
    # contact blob at the feet: an ellipse as wide as the bottom third of the silhouette
    cols = np.flatnonzero(a[int(h * 2 / 3) :].max(axis=0) >= 0.5)
    if cols.size:
        ucx = x0 + 0.5 * (cols[0] + cols[-1]) - bx0
        half = max(1.0, 0.55 * (cols[-1] - cols[0] + 1))
        blob = np.zeros((rh, rw), np.float32)
        cv2.ellipse(blob, (int(round(ucx)), int(round(yc - by0))), (int(round(half)), max(1, int(round(0.035 * h)))), 0, 0, 360, 1.0, -1)
        matte = np.maximum(matte, blob * np.float32(params["contact_opacity"]))
    matte = cv2.GaussianBlur(matte, (0, 0), sigma)
    matte = matte[cy0 - by0 : cy1 - by0, cx0 - bx0 : cx1 - bx0]
    if bg_depth is not None and fg_depth is not None:
        bd = bg_depth[cy0:cy1, cx0:cx1]
        fd = float(fg_depth)
        occluder = (bd > fd * 1.1) if larger_is_nearer else ((bd > 0) & (bd < fd * 0.9))
        matte = np.where(occluder, np.float32(0.0), matte)
    reg = bg_rgb[cy0:cy1, cx0:cx1].astype(np.float32) * (1.0 - np.clip(matte, 0.0, 1.0))[..., None]
    out[cy0:cy1, cx0:cx1] = np.clip(np.rint(reg), 0, 255).astype(np.uint8)
    return out


# ----------------------------------------------------------------------------- photometric


def exposure(fg_bg: np.ndarray, params: dict) -> np.ndarray:
    """Apply gain / gamma / bias / white balance (see the module docstring) to ``uint8 (H, W, 3)``; returns a new array
    (:func:`maskdepth.evaluate.perturb.exposure`)."""
    return P.exposure(fg_bg, params["gain"], params["gamma"], params["bias"], params["wb"])


def noise_bank(seed: int, size: int) -> np.ndarray:
    """The fixed bank of standard normal deviates noise windows are cut from.

    Returns ``float32 (2 size, 2 size, 3)``, drawn from ``default_rng([seed, 0x5EED])``:
    identical in every process for a seed.
    """
    return np.random.default_rng([int(seed), 0x5EED]).standard_normal((2 * size, 2 * size, 3), dtype=np.float32)


def add_noise(fg_bg: np.ndarray, params: dict, bank: np.ndarray) -> np.ndarray:
    """Add Gaussian noise (sigma in 0-255 units) from a window of ``bank``; returns a new ``uint8`` array."""
    H, W = fg_bg.shape[:2]
    oy, ox = int(params["oy"]), int(params["ox"])
    win = bank[oy : oy + H, ox : ox + W]
    if win.shape[:2] != (H, W):
        raise ValueError(f"noise bank {bank.shape} too small for a {H}x{W} window at ({oy}, {ox})")
    return P.add_noise(fg_bg, win, float(params["sigma"]) * int(params["sign"]))


# ----------------------------------------------------------------------------- geometric


def misalign_matrix(params: dict, size_hw: tuple[int, int]) -> np.ndarray:
    """2x3 float64 affine (``cv2.warpAffine``: destination <- source) of a misalignment."""
    import cv2

    H, W = size_hw
    M = cv2.getRotationMatrix2D(((W - 1) / 2.0, (H - 1) / 2.0), float(params["rot_deg"]), 1.0)
    M[0, 2] += float(params["dx"])
    M[1, 2] += float(params["dy"])
    return M


def misalign(
    fg_bg: np.ndarray, mask: np.ndarray, depth: np.ndarray | None, params: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list]:
    """Warp ``fg_bg`` and its labels by the same small rigid motion.

    Args:
        fg_bg: ``uint8 (H, W, 3)``; mask: ``bool (H, W)``; depth: ``float32 (H, W)`` or ``None``.
        params: the ``misalign`` entry of :func:`draw`.
    Returns:
        ``(fg_bg, mask, depth, matrix)``: image resampled bilinearly, mask and depth with
        nearest neighbour (borders reflected), and the 2x3 matrix as nested lists.
    """
    import cv2

    H, W = mask.shape
    M = misalign_matrix(params, (H, W))
    img = cv2.warpAffine(np.ascontiguousarray(fg_bg), M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    m = cv2.warpAffine(mask.astype(np.uint8), M, (W, H), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101) > 0
    d = None
    if depth is not None:
        d = cv2.warpAffine(np.ascontiguousarray(depth, np.float32), M, (W, H), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
    return img, m, d, [[round(float(v), 6) for v in row] for row in M]
