"""Photometric and geometric perturbations of a frame: exposure, camera shift, JPEG, sensor noise.

One implementation for the two places that change a frame on purpose: the robustness part of
``maskdepth evaluate`` (:data:`ROBUSTNESS`, applied to the real pairs' frames) and the
generator's realism augmentations (:mod:`maskdepth.data.augment` builds its exposure and noise
on :func:`exposure_lut` / :func:`add_noise`). Plain numpy + OpenCV; every function returns a
new ``uint8 (H, W, 3)`` RGB array and leaves its input alone -- but for the depth-sensor model at
the end (:func:`kinect_depth`), which turns a clean depth map into a Kinect-like measurement of it
(the depth benchmark gives the product that, and scores against the clean map).

The evaluation's five perturbations (issue 13), each a camera change between the background
shot and the frame, so they apply to the frame only (the background stays as it was shot):

``exposure_0.8``, ``exposure_1.2``
    auto-exposure: ``y = clip(round(x * gain))`` per channel, gain 0.8 / 1.2;
``shift_2px``
    the camera was nudged: the whole frame (people included) moves by ``(dx, dy) = (2, 1)`` px,
    the uncovered border repeats the edge pixels; the ground truth moves with it
    (:func:`shift_labels`);
``jpeg_30``
    the frame is saved as JPEG at quality 30 (OpenCV / libjpeg, its default 4:2:0 chroma
    subsampling, as cameras save) and decoded;
``noise_6``
    sensor noise: zero-mean Gaussian, sigma 6 (0-255 units), rounded and clipped, drawn from
    the generator the caller seeds (the evaluation seeds it per frame name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Perturbation",
    "ROBUSTNESS",
    "exposure",
    "exposure_lut",
    "shift",
    "shift_labels",
    "jpeg",
    "add_noise",
    "gaussian_noise",
    "kinect_sigma",
    "kinect_depth",
]


def exposure_lut(gain: float, gamma: float = 1.0, bias: float = 0.0, wb=(1.0, 1.0, 1.0)) -> np.ndarray:
    """The ``uint8 (1, 256, 3)`` lookup table of ``y_c = clip(round(255 * gain * wb_c * (x / 255) ** gamma + bias))``.

    Args:
        gain: exposure factor (1 = unchanged); gamma: tone curve exponent; bias: offset in 0-255 units;
        wb: per-channel (R, G, B) white-balance factors.
    """
    x = np.arange(256, dtype=np.float64) / 255.0
    base = 255.0 * float(gain) * x ** float(gamma)
    lut = np.stack([base * float(w) + float(bias) for w in wb], axis=1)
    return np.clip(np.rint(lut), 0, 255).astype(np.uint8).reshape(1, 256, 3)


def exposure(rgb: np.ndarray, gain: float, gamma: float = 1.0, bias: float = 0.0, wb=(1.0, 1.0, 1.0)) -> np.ndarray:
    """Exposure / tone / white-balance change of ``uint8 (H, W, 3)`` RGB through :func:`exposure_lut`."""
    import cv2

    return cv2.LUT(np.ascontiguousarray(rgb), exposure_lut(gain, gamma, bias, wb))


def _translate(a: np.ndarray, dx: float, dy: float, nearest: bool) -> np.ndarray:
    import cv2

    H, W = a.shape[:2]
    M = np.array([[1.0, 0.0, float(dx)], [0.0, 1.0, float(dy)]])
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.warpAffine(np.ascontiguousarray(a), M, (W, H), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def shift(rgb: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The frame translated by ``(dx, dy)`` pixels (content moves right / down for positive values):
    ``out[y, x] = rgb[y - dy, x - dx]``, bilinear for fractional shifts (exact for whole pixels),
    border pixels repeated. ``uint8 (H, W, 3)`` in and out."""
    return _translate(rgb, dx, dy, nearest=False)


def shift_labels(labels: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """A label map (``bool`` / integer ``(H, W)``, e.g. CDnet ground truth) moved like :func:`shift`
    (nearest neighbour, so codes never blend; border labels repeated). Same dtype out."""
    a = np.asarray(labels)
    out = _translate(a.astype(np.uint8) if a.dtype == bool else a, dx, dy, nearest=True)
    return out.astype(bool) if a.dtype == bool else out


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB after a JPEG round trip at ``quality`` (1-100; OpenCV's encoder, 4:2:0 chroma).

    Raises:
        ValueError: ``quality`` outside 1-100.
    """
    import cv2

    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in 1-100, got {quality}")
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover
        raise ValueError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def add_noise(rgb: np.ndarray, deviates: np.ndarray, sigma: float) -> np.ndarray:
    """``clip(round(rgb + sigma * deviates))`` as uint8: additive noise of given standard normal
    ``deviates`` (``float (H, W, 3)``, e.g. a window of a fixed bank) scaled by ``sigma`` (0-255 units)."""
    out = rgb.astype(np.float32)
    out += np.float32(sigma) * deviates
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def gaussian_noise(rgb: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean Gaussian noise of standard deviation ``sigma`` (0-255 units) from ``rng`` (:func:`add_noise`)."""
    return add_noise(rgb, rng.standard_normal(rgb.shape, dtype=np.float32), sigma)


@dataclass(frozen=True)
class Perturbation:
    """One named change of a frame: ``apply(frame, rng) -> frame``; ``shift``: the ``(dx, dy)``
    the ground truth moves by with it (``None``: the labels stay)."""

    name: str
    apply: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    shift: tuple[float, float] | None = None
    doc: str = ""


ROBUSTNESS: tuple[Perturbation, ...] = (
    Perturbation("exposure_0.8", lambda x, rng: exposure(x, 0.8), doc="exposure x0.8"),
    Perturbation("exposure_1.2", lambda x, rng: exposure(x, 1.2), doc="exposure x1.2"),
    Perturbation("shift_2px", lambda x, rng: shift(x, 2, 1), (2.0, 1.0), doc="camera shift (2, 1) px, frame and GT"),
    Perturbation("jpeg_30", lambda x, rng: jpeg(x, 30), doc="JPEG quality 30"),
    Perturbation("noise_6", lambda x, rng: gaussian_noise(x, 6.0, rng), doc="Gaussian noise sigma 6"),
)
"""The evaluation's perturbations of a real pair's frame (see the module docstring), in report order."""


# --------------------------------------------------------------------------- depth sensor noise
def kinect_sigma(z) -> np.ndarray:
    """Axial noise (standard deviation, metres) of a Kinect-like structured-light sensor at depth ``z`` metres:
    ``0.0012 + 0.0019 (z - 0.4)^2`` (Nguyen, Izadi & Lovell, "Modeling Kinect Sensor Noise for Improved 3D
    Reconstruction and Tracking", 3DIMPVT 2012, eq. 2, surfaces facing the sensor within 60 deg).
    ``z``: float array-like (metres); returns float64 of the same shape."""
    z = np.asarray(z, np.float64)
    return 0.0012 + 0.0019 * (z - 0.4) ** 2


def kinect_depth(
    depth: np.ndarray,
    rng: np.random.Generator,
    shift: tuple[int, int] = (1, 0),
    hole_fraction: float = 0.02,
    blob_px: float = 3.0,
    edge_rel: float = 0.05,
) -> np.ndarray:
    """A Kinect-like *measurement* of a clean depth map, for evaluations that must not hand the product its own truth.

    In order: (1) holes at depth edges: a pixel whose 3x3 neighbourhood spans more than
    ``edge_rel`` relative depth (``max/min - 1``) is lost (mixed pixels and the projector's shadow);
    (2) holes in blobs: a Gaussian-smoothed white-noise field (sigma ``blob_px``) thresholded at its
    ``1 - hole_fraction`` quantile over the known pixels, so ``hole_fraction`` of them fall in blobs
    (dark or specular patches); (3) axial Gaussian noise of :func:`kinect_sigma`; (4) misregistration
    of the depth to the colour image: the map moves by ``shift = (dx, dy)`` whole pixels
    (``out[y, x] = noisy[y - dy, x - dx]``), the uncovered border is unknown.

    Args:
        depth: float ``(H, W)`` metres, 0 (or non-finite) = unknown.
        rng: the generator of the noise and the blobs.
        shift: integer ``(dx, dy)`` pixels.
        hole_fraction: fraction of the known pixels lost in blobs, in [0, 1).
        blob_px: spatial scale of the blobs, pixels (> 0).
        edge_rel: relative depth jump that makes an edge hole (> 0; ``inf`` = no edge holes).
    Returns:
        float32 ``(H, W)`` metres, 0 = unknown (every pixel unknown in ``depth`` stays unknown, moved by ``shift``).
    Raises:
        ValueError: ``depth`` not 2-D, ``hole_fraction`` outside [0, 1), ``blob_px`` or ``edge_rel`` not positive.
    """
    import cv2

    d = np.asarray(depth, np.float64)
    if d.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {d.shape}")
    if not 0 <= hole_fraction < 1 or not blob_px > 0 or not edge_rel > 0:
        raise ValueError(f"need 0 <= hole_fraction < 1, blob_px > 0, edge_rel > 0; got {hole_fraction}, {blob_px}, {edge_rel}")
    known = np.isfinite(d) & (d > 0)
    d = np.where(known, d, 0.0)
    k3 = np.ones((3, 3), np.uint8)
    hi = cv2.dilate(d.astype(np.float32), k3)
    lo = cv2.erode(np.where(known, d, np.inf).astype(np.float32), k3)
    keep = known & (hi <= lo.astype(np.float64) * (1.0 + edge_rel))  # float64: the border value of erode is FLT_MAX
    if hole_fraction > 0 and known.any():
        field = cv2.GaussianBlur(rng.standard_normal(d.shape).astype(np.float32), (0, 0), float(blob_px))
        keep &= field < np.quantile(field[known], 1.0 - hole_fraction)
    noisy = d + kinect_sigma(d) * rng.standard_normal(d.shape)
    noisy = np.where(keep & (noisy > 0), noisy, 0.0)
    dx, dy = int(shift[0]), int(shift[1])
    H, W = d.shape
    out = np.zeros_like(noisy)
    out[max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = noisy[max(-dy, 0) : H - max(dy, 0), max(-dx, 0) : W - max(dx, 0)]
    return out.astype(np.float32)
