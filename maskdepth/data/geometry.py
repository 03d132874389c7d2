"""Supporting-plane geometry on measured depth: back-projection and a RANSAC plane fit.

A foreground pasted on an RGB-D background must stand on something: the floor, or
another surface whose normal is roughly the camera's *up* direction. This module finds
that surface in the background's own depth map, once per background:

1. **Back-projection.** Pixel ``(u, v)`` (OpenCV convention: x right, y down, z forward,
   pixel centres at integer coordinates) with depth ``Z`` (metres, planar) is the point
   ``X = Z * (x_n, y_n, 1)`` where ``(x_n, y_n)`` are its normalised image coordinates,
   ``K^-1 [u, v, 1]`` for a pinhole camera, or the result of
   ``cv2.undistortPoints`` when the frame is not undistorted (TUM fr1 keeps its
   Kinect lens distortion; its coefficients are in ``meta.json``). Distortion works on
   normalised coordinates, so a centre crop + resize only changes ``K``.
2. **RANSAC** (Fischler & Bolles, CACM 1981): planes through random point triplets,
   kept when their upward normal is within ``max_angle_deg`` of the camera's up axis
   ``(0, -1, 0)`` and the camera is above them (``min_height_m < d < max_height_m``), so
   ceilings are rejected. The default limit is 60 deg, not the 30-35 deg of a level
   camera: the floor normal of a camera pitched down by ``p`` is ``p`` from its up axis,
   and the TUM cameras look down steeply. Measured on every 8th TUM frame at 128 px with
   a 75 deg limit: the best plane of ``tum_fr1_rpy`` lies within 35 deg on 26 of 91 frames,
   within 60 deg on 68 (no plane on 11), and all 8 ``tum_fr3_cabinet`` floors lie at
   35-45 deg; with a 35 deg limit RANSAC settles for thin slanted bands through the desk
   clutter instead of the desk top. Walls stay out for cameras without strong roll: a
   wall's normal is horizontal, at ``90 + p`` deg (facing the camera) or 90 deg (side
   walls) from the up axis.
   Inlier threshold grows with range like structured-light noise,
   ``tau(Z) = min(0.01 + 0.006 Z^2, 0.08)`` metres (Khoshelham & Elberink, Sensors
   2012: sigma_Z ~ 1.4 mm * Z^2). Each hypothesis scores the sum over its inliers of
   ``0.5 + v / H``: the *largest* acceptable plane wins, and among similar ones the one
   *lower in the image* (the floor rather than a table top).
3. **Refinement.** Three rounds of iteratively reweighted least squares over all valid
   pixels (weights ``1 / tau(Z)^2`` times Tukey's biweight of ``residual / tau(Z)``, so
   points of a wall near the floor edge barely pull the fit), then the inlier mask is cleaned (3x3 opening,
   connected components smaller than 0.5 % of the image dropped). That mask is the
   ``support``: contact points of pasted foregrounds are drawn from it.
4. **Fallback.** When no plane qualifies (fewer than ``min_support_frac`` of the pixels)
   :func:`fit_support_plane` returns ``method="fallback_lower60"`` with no plane: the
   generator then draws contact points among valid pixels of the lower 60 % of the image
   (the heuristic used before plane fitting), and records that it did.

Plane convention (the same as :class:`maskdepth.data.render.RenderedScene.floor_plane`):
``{X : n . X + d = 0}`` with ``n`` the unit normal pointing up (towards the camera side)
and ``d > 0`` the camera's height above the plane in metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

UP_CAM = np.array([0.0, -1.0, 0.0])  # camera up axis in OpenCV camera coordinates (y points down)


@dataclass
class PlaneFit:
    """Result of :func:`fit_support_plane`.

    Attributes:
        method: ``"ransac_plane"`` (a plane qualified) or ``"fallback_lower60"`` (none did).
        normal: float64 ``(3,)`` unit normal in camera coordinates pointing up, or ``None``.
        d: plane offset in metres (``n . X + d = 0``; = camera height above the plane), or ``None``.
        support: bool ``(H, W)`` the plane's cleaned inliers, or ``None`` for the fallback.
        inlier_fraction: support pixels / valid-depth pixels (0 for the fallback).
        angle_to_up_deg: angle between ``normal`` and the camera's up axis, degrees, or ``None``.
        valid_fraction: valid-depth pixels / all pixels.
    """

    method: str
    normal: np.ndarray | None
    d: float | None
    support: np.ndarray | None
    inlier_fraction: float
    angle_to_up_deg: float | None
    valid_fraction: float

    def to_json(self) -> dict:
        """JSON-serialisable summary (no mask)."""
        return {
            "method": self.method,
            "normal": None if self.normal is None else [round(float(x), 6) for x in self.normal],
            "d_m": None if self.d is None else round(float(self.d), 5),
            "inlier_fraction": round(float(self.inlier_fraction), 5),
            "support_fraction": 0.0 if self.support is None else round(float(self.support.mean()), 5),
            "angle_to_up_deg": None if self.angle_to_up_deg is None else round(float(self.angle_to_up_deg), 3),
            "valid_fraction": round(float(self.valid_fraction), 5),
        }


def pixel_rays(K: np.ndarray, hw: tuple[int, int], distortion: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Normalised image coordinates ``(x_n, y_n)`` of every pixel centre.

    Args:
        K: ``(3, 3)`` intrinsics in pixels at resolution ``hw``.
        hw: ``(H, W)``.
        distortion: OpenCV coefficients ``(k1, k2, p1, p2[, k3])`` of the image, or ``None``
            / all zeros for an undistorted (pinhole) image.
    Returns:
        Two float64 ``(H, W)`` arrays; a point at depth ``Z`` is ``(Z x_n, Z y_n, Z)``.
    """
    H, W = hw
    K = np.asarray(K, np.float64)
    u = np.arange(W, dtype=np.float64)
    v = np.arange(H, dtype=np.float64)
    if distortion is None or not np.any(np.asarray(distortion, np.float64)):
        xn = np.broadcast_to(((u - K[0, 2]) / K[0, 0])[None, :], (H, W))
        yn = np.broadcast_to(((v - K[1, 2]) / K[1, 1])[:, None], (H, W))
        return np.ascontiguousarray(xn), np.ascontiguousarray(yn)
    import cv2

    uu, vv = np.meshgrid(u, v)
    pts = np.stack([uu.ravel(), vv.ravel()], axis=1).reshape(-1, 1, 2)
    und = cv2.undistortPoints(pts, K, np.asarray(distortion, np.float64)).reshape(H, W, 2)
    return und[..., 0].astype(np.float64), und[..., 1].astype(np.float64)


def backproject(depth: np.ndarray, K: np.ndarray, distortion: Sequence[float] | None = None) -> np.ndarray:
    """Camera-frame 3-D points of a depth map.

    Args:
        depth: float ``(H, W)`` planar depth in metres, 0 (or non-finite) = invalid.
        K: ``(3, 3)`` intrinsics at the depth map's resolution.
        distortion: optional OpenCV distortion coefficients (see :func:`pixel_rays`).
    Returns:
        float64 ``(H, W, 3)`` points ``(X, Y, Z)`` in metres (invalid pixels keep Z = 0).
    """
    z = np.nan_to_num(np.asarray(depth, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    xn, yn = pixel_rays(K, z.shape, distortion)
    return np.stack([z * xn, z * yn, z], axis=-1)


def inlier_threshold(z: np.ndarray) -> np.ndarray:
    """RANSAC inlier distance in metres for points at depth ``z``: ``min(0.01 + 0.006 z^2, 0.08)``."""
    return np.minimum(0.01 + 0.006 * z * z, 0.08)


def _orient(n: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.where(n @ UP_CAM < 0, -1.0, 1.0)
    return n * s[..., None], d * s


def _weighted_plane(P: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    c = (P * w[:, None]).sum(0) / w.sum()
    Q = (P - c) * np.sqrt(w)[:, None]
    _, _, vt = np.linalg.svd(Q, full_matrices=False)
    n = vt[-1]
    d = -float(n @ c)
    n2, d2 = _orient(n[None], np.array([d]))
    return n2[0], float(d2[0])


def fit_support_plane(
    depth: np.ndarray,
    K: np.ndarray,
    rng: np.random.Generator | None = None,
    distortion: Sequence[float] | None = None,
    max_angle_deg: float = 60.0,
    min_height_m: float = 0.1,
    max_height_m: float = 6.0,
    iterations: int = 512,
    max_points: int = 6000,
    min_support_frac: float = 0.02,
) -> PlaneFit:
    """Find the plane foregrounds can stand on in a measured depth map (see the module docstring).

    Args:
        depth: float ``(H, W)`` metres, 0 = invalid.
        K: ``(3, 3)`` intrinsics at ``depth``'s resolution.
        rng: random generator (deterministic results for a given state); default seed 0.
        distortion: OpenCV distortion coefficients of the image, if it is not undistorted.
        max_angle_deg: largest angle between the plane normal and the camera's up axis
            (degrees; see the module docstring for why the default is 60).
        min_height_m, max_height_m: admissible camera heights above the plane (metres).
        iterations: RANSAC hypotheses (vectorised; ~20-40 ms at 224 px).
        max_points: points sampled for hypothesis scoring.
        min_support_frac: the cleaned support must cover at least this fraction of the image.
    Returns:
        :class:`PlaneFit`; ``method == "fallback_lower60"`` when no plane qualifies.
    Raises:
        ValueError: ``depth`` is not 2-D or ``K`` not 3x3.
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {depth.shape}")
    K = np.asarray(K, np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"K must be 3x3, got shape {K.shape}")
    rng = rng if rng is not None else np.random.default_rng(0)
    H, W = depth.shape
    z = np.nan_to_num(depth.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    valid = z > 0
    n_valid = int(valid.sum())
    vfrac = n_valid / float(H * W)
    fallback = PlaneFit("fallback_lower60", None, None, None, 0.0, None, vfrac)
    if n_valid < 50:
        return fallback
    xn, yn = pixel_rays(K, (H, W), distortion)
    P_all = np.stack([z * xn, z * yn, z], axis=-1).reshape(-1, 3)  # (H * W, 3)
    idx = np.flatnonzero(valid)
    hyp = _ransac_plane(rng, P_all, idx, (H, W), max_angle_deg, (min_height_m, max_height_m), iterations, max_points)
    if hyp is None:
        return fallback
    Pv = P_all[idx]
    tau_v = inlier_threshold(Pv[:, 2])
    refined = _refine_plane(Pv, tau_v, *hyp)
    if refined is None:
        return fallback
    nb, db = refined
    angle = float(np.degrees(np.arccos(np.clip(nb @ UP_CAM, -1.0, 1.0))))
    if angle > max_angle_deg or not (min_height_m < db < max_height_m):
        return fallback
    support = _support_mask(idx[np.abs(Pv @ nb + db) < tau_v], (H, W))
    if support.sum() < max(min_support_frac * H * W, 20):
        return fallback
    return PlaneFit("ransac_plane", nb, db, support, float(support.sum()) / n_valid, angle, vfrac)


def _ransac_plane(
    rng, P_all: np.ndarray, idx: np.ndarray, hw: tuple[int, int], max_angle_deg: float, heights, iterations: int, max_points: int
):
    """The best RANSAC hypothesis ``(n, d)`` over (at most ``max_points`` of) the valid points ``P_all[idx]``,
    or ``None`` when no triplet gives an admissible plane (tilt and camera height; see the module docstring)."""
    H, W = hw
    min_height_m, max_height_m = heights
    sub = idx if idx.size <= max_points else np.sort(rng.choice(idx, size=max_points, replace=False))
    P = P_all[sub]
    tau = inlier_threshold(P[:, 2])
    wrow = 0.5 + (sub // W) / float(H)  # prefer lower-in-image
    tri = rng.integers(0, P.shape[0], size=(iterations, 3))
    a, b, c = P[tri[:, 0]], P[tri[:, 1]], P[tri[:, 2]]
    n = np.cross(b - a, c - a)
    norm = np.linalg.norm(n, axis=1)
    ok = norm > 1e-9
    n = n[ok] / norm[ok, None]
    d = -np.einsum("ij,ij->i", n, a[ok])
    n, d = _orient(n, d)
    cos_max = np.cos(np.radians(max_angle_deg))
    keep = (n @ UP_CAM >= cos_max) & (d > min_height_m) & (d < max_height_m)
    n, d = n[keep], d[keep]
    if n.shape[0] == 0:
        return None
    dist = np.abs(P @ n.T + d[None, :])  # (N, M)
    inl = dist < tau[:, None]
    score = wrow @ inl
    best = int(np.argmax(score))
    return n[best], float(d[best])


def _refine_plane(Pv: np.ndarray, tau_v: np.ndarray, nb: np.ndarray, db: float):
    """Three IRLS steps with Tukey's biweight (points near the threshold count little): ``(n, d)``, or ``None``
    when fewer than 3 points stay inliers."""
    w_v = 1.0 / tau_v**2
    for _ in range(3):
        r = np.abs(Pv @ nb + db) / tau_v
        m = r < 1.0
        if m.sum() < 3:
            return None
        nb, db = _weighted_plane(Pv[m], w_v[m] * (1.0 - r[m] ** 2) ** 2)
    return nb, db


def _support_mask(inliers: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """``bool (H, W)`` support from the inlier pixel indices: opened (3x3), components under 0.5 % of the image dropped."""
    import cv2

    H, W = hw
    support = np.zeros(H * W, np.uint8)
    support[inliers] = 1
    support = cv2.morphologyEx(support.reshape(H, W), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    ncomp, lab, st, _ = cv2.connectedComponentsWithStats(support, connectivity=8)
    min_area = max(1, int(0.005 * H * W))
    good = np.zeros(ncomp, bool)
    good[1:] = st[1:, cv2.CC_STAT_AREA] >= min_area
    return good[lab]
