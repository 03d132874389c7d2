"""A fixed camera from a few points on the floor whose positions in metres are known.

The user marks ``n >= 4`` points on the floor of the background image (pixel ``(u, v)``,
pixel centres at integer coordinates, at the background's size) and gives their
coordinates ``(x, y)`` in metres in **any** frame on the floor (a measured rectangle, floor
tiles, a parking bay, lane marks): ``points.json``::

    {"points": [{"px": [u, v], "floor_m": [x, y]}, ...]}

Model (Zhang, "A flexible new technique for camera calibration", IEEE PAMI 22(11), 2000,
Sec. 2-3): the floor ``z = 0`` of the user's frame maps to the image by the homography
``s (u, v, 1)^T = K [r1 r2 t] (x, y, 1)^T`` with ``K = [[f, 0, cx], [0, f, cy], [0, 0, 1]]``
(square pixels, principal point at the image centre ``((W-1)/2, (H-1)/2)`` as in
``maskdepth calibrate``) and the pose ``(R, t)`` of the floor frame in camera coordinates.

* Known focal length: the pose is solved by planar PnP, OpenCV's ``SOLVEPNP_IPPE``
  (Collins & Bartoli, "Infinitesimal Plane-based Pose Estimation", IJCV 2014), then
  refined by Levenberg-Marquardt on the reprojection error (``solvePnPRefineLM``).
* The floor normal in camera coordinates is ``r3 = r1 x r2``; the camera height is the
  distance of the optical centre to the plane, ``Hc = |r3 . t|``, and world *up* is the
  normal pointing to the camera's side, ``up = -sign(r3 . t) r3``. With the convention of
  :mod:`maskdepth.scene.camera` (``up = (sin phi cos th, -cos phi cos th, -sin th)``) the pitch
  is ``th = asin(-up_z)``, the roll ``phi = atan2(up_x, -up_y)`` and the horizon row at
  ``cx`` is ``horizon_y = cy - f tan(th) / cos(phi)``. The floor frame may be right- or
  left-handed seen from above: only ``r3``'s side changes.
* Unknown focal length: Zhang's two constraints on the image of the absolute conic,
  ``h1^T B h2 = 0`` and ``h1^T B h1 = h2^T B h2`` with ``B = K^-T K^-1``, reduce with square
  pixels and a known principal point to two linear equations in ``w = 1/f^2``
  (:func:`focal_from_homography`), solved by least squares from the homography of
  ``cv2.findHomography``; ``(pose, f)`` are then refined together by Levenberg-Marquardt on
  the reprojection error. A floor seen face-on (fronto-parallel) leaves ``f`` free (``w = 0``):
  the fit then says it cannot.
* 95 % intervals: percentile bootstrap over the points (Efron & Tibshirani, "An
  Introduction to the Bootstrap", 1993): ``n_boot`` resamples of the points with
  replacement, each refitted (the focal length from the full-data estimate). A resample needs
  4 distinct points, 5 when the focal length is refitted (2 residual degrees of freedom,
  ``2k - 6`` or ``2k - 7``), and a layout :func:`check_layout` accepts; others are skipped and
  counted. The points are the independent unit: each carries its own pixel and measurement
  error, so the interval includes both (as seen in the residuals); a given focal length is
  taken as exact. The percentile interval is widened about the estimate by the small-sample
  factor of :func:`maskdepth.scene.calibrate.bootstrap.small_sample_factor` (``2n`` equations, 6 or 7
  parameters), and an estimate outside its percentile interval (a skewed bootstrap
  distribution) widens the interval to include it. No interval (no ``_ci95`` keys, said in
  ``ci95_includes``) when fewer than half of the resamples are usable (4 or 5 points) or more
  than 2.5 % of the usable ones fail to fit (a bound would be unbounded). Estimating the focal
  length is refused in those two cases (the points do not fix it with an interval; about 8
  points are needed).
* Reprojection error: pixels (floor points projected by the fitted camera vs. the marked
  pixels) and metres (marked pixels cast onto the fitted floor vs. the given coordinates).

Bad input raises :class:`~maskdepth.errors.MaskDepthError` with one line: malformed JSON,
unknown or missing keys, non-numbers, fewer than 4 points, pixels outside the image,
collinear points (or a layout that does not fix the floor's perspective), and a marked
pixel at or above the fitted horizon (its ray does not meet the floor in front of the camera).
When the fit fails or a point misses its projection by more than ``max(10 px, 1 % of the
diagonal)``, the point whose removal lets the others fit best is named: an error when its
pixel lies above the horizon the others give, else a warning (``warnings`` in camera.json).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ...errors import MaskDepthError
from ...io import atomic_write_json, read_json
from ..camera import Camera
from .bootstrap import small_sample_factor

POINT_KEYS = ("px", "floor_m")
MIN_POINTS = 4
COLLINEAR_RATIO = 0.01  # smallest / largest spread of the points about their centre (singular values)


# --------------------------------------------------------------------------- input


def _pair(v: Any, where: str) -> tuple[float, float]:
    ok = isinstance(v, (list, tuple)) and len(v) == 2
    ok = ok and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)
    if not ok:
        raise MaskDepthError(f"{where} must be two finite numbers [a, b], got {v!r}")
    return float(v[0]), float(v[1])


def parse_floor_points(d: Any, image_size: Sequence[int], where: str = "points.json") -> tuple[np.ndarray, np.ndarray]:
    """Validate a ``points.json`` dictionary.

    Args:
        d: ``{"points": [{"px": [u, v], "floor_m": [x, y]}, ...]}`` (parsed JSON).
        image_size: ``(W, H)`` of the background the pixels refer to.
        where: name used in messages.
    Returns:
        ``(px, floor)``: float64 ``(n, 2)`` pixels ``(u, v)`` and float64 ``(n, 2)`` floor
        coordinates in metres.
    Raises:
        MaskDepthError: not an object, unknown or missing keys, values that are not two finite
        numbers, fewer than 4 points, or a pixel outside the image (``-0.5 <= u <= W - 0.5``,
        ``-0.5 <= v <= H - 0.5``).
    """
    if not isinstance(d, dict):
        raise MaskDepthError(f'{where}: expected a JSON object {{"points": [...]}}, got {type(d).__name__}')
    extra = sorted(set(d) - {"points"})
    if extra:
        raise MaskDepthError(f"{where}: unknown key(s) {', '.join(map(repr, extra))} (expected only 'points')")
    pts = d.get("points")
    if not isinstance(pts, list):
        raise MaskDepthError(f'{where}: \'points\' must be a list of {{"px": [u, v], "floor_m": [x, y]}}, got {type(pts).__name__}')
    W, H = int(image_size[0]), int(image_size[1])
    px, floor = [], []
    for i, p in enumerate(pts, 1):
        if not isinstance(p, dict):
            raise MaskDepthError(f"{where}: point {i} must be an object with 'px' and 'floor_m', got {type(p).__name__}")
        bad = sorted(set(p) - set(POINT_KEYS))
        if bad:
            raise MaskDepthError(f"{where}: point {i} has unknown key(s) {', '.join(map(repr, bad))} (expected 'px' and 'floor_m')")
        missing = [k for k in POINT_KEYS if k not in p]
        if missing:
            raise MaskDepthError(f"{where}: point {i} lacks {', '.join(map(repr, missing))}")
        u, v = _pair(p["px"], f"{where}: point {i} 'px'")
        if not (-0.5 <= u <= W - 0.5 and -0.5 <= v <= H - 0.5):
            raise MaskDepthError(f"{where}: point {i} pixel ({u:g}, {v:g}) is outside the {W}x{H} image")
        px.append((u, v))
        floor.append(_pair(p["floor_m"], f"{where}: point {i} 'floor_m'"))
    if len(px) < MIN_POINTS:
        raise MaskDepthError(f"{where}: {len(px)} point(s); at least {MIN_POINTS} floor points are needed, not all on one line")
    return np.array(px, np.float64), np.array(floor, np.float64)


def load_floor_points(path: str | os.PathLike, image_size: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate ``points.json`` (:func:`parse_floor_points`).

    Raises: MaskDepthError: missing or malformed file, or bad content (one line).
    """
    return parse_floor_points(read_json(path, "floor points file"), image_size, where=str(path))


def _spread_ratio(a: np.ndarray) -> float:
    s = np.linalg.svd(a - a.mean(axis=0), compute_uv=False)
    return float(s[1] / s[0]) if s[0] > 0 else 0.0


def _normalise(a: np.ndarray) -> np.ndarray:
    """Hartley normalisation: centred, mean distance sqrt(2); ``(n, 2)`` → ``(n, 3)`` homogeneous."""
    c = a - a.mean(axis=0)
    s = math.sqrt(2) / max(float(np.mean(np.linalg.norm(c, axis=1))), 1e-300)
    return np.c_[c * s, np.ones(len(a))]


def check_layout(px: np.ndarray, floor: np.ndarray) -> None:
    """Refuse point sets that cannot fix the floor's perspective.

    Collinear floor points or pixels (the smaller spread under ``COLLINEAR_RATIO`` = 1 % of the
    larger), and layouts whose normalised DLT system (Hartley & Zisserman, "Multiple View
    Geometry", 2nd ed., Alg. 4.2) has more than one null direction (e.g. 4 points with 3 on a line).

    Raises: MaskDepthError naming the problem.
    """
    if _spread_ratio(floor) < COLLINEAR_RATIO:
        raise MaskDepthError("the floor points are collinear (or nearly): mark points that span an area, e.g. both sides of a lane")
    if _spread_ratio(px) < COLLINEAR_RATIO:
        raise MaskDepthError("the marked pixels are collinear (or nearly): mark points that span an area of the floor")
    X, x = _normalise(floor), _normalise(px)
    A = np.zeros((2 * len(X), 9))
    A[0::2, 3:6], A[0::2, 6:9] = -X, X * x[:, 1:2]
    A[1::2, 0:3], A[1::2, 6:9] = X, -X * x[:, 0:1]
    s = np.linalg.svd(A, compute_uv=False)
    if s[7] < 1e-6 * s[0]:
        raise MaskDepthError(
            "the points do not fix the floor's perspective (3 of 4 on a line, or repeated points): "
            "mark at least 4 points with no 3 on one line"
        )


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class FloorPose:
    """One fit: the camera and the pose of the user's floor frame.

    Attributes:
        camera: the fitted :class:`Camera` (no intervals).
        R: float64 ``(3, 3)`` rotation floor frame → camera; t: float64 ``(3,)`` metres.
        rms_px: RMS reprojection error of the fitted points, pixels.
    """

    camera: Camera
    R: np.ndarray
    t: np.ndarray
    rms_px: float


def camera_from_pose(R: np.ndarray, t: np.ndarray, focal_px: float, image_size: Sequence[int], where: str = "floor points") -> Camera:
    """The :class:`Camera` of a floor pose (see the module docstring for the formulas).

    Args:
        R: float64 ``(3, 3)`` rotation of the floor frame (floor = its ``z = 0`` plane) into camera axes.
        t: float64 ``(3,)`` the floor frame's origin in camera coordinates, metres.
        focal_px: focal length in pixels; the principal point is the image centre.
        image_size: ``(W, H)``.
    Raises: MaskDepthError: the camera is not valid (e.g. the horizon below the image, |roll| >= 45 deg).
    """
    W, H = int(image_size[0]), int(image_size[1])
    r3 = np.asarray(R, np.float64)[:, 2]
    d = float(r3 @ np.asarray(t, np.float64))
    up = -math.copysign(1.0, d) * r3 / np.linalg.norm(r3)
    th = math.asin(max(-1.0, min(1.0, -up[2])))
    ph = math.atan2(up[0], -up[1])
    cx, cy = (W - 1) / 2, (H - 1) / 2
    if math.cos(th) < 1e-9:
        raise MaskDepthError(f"{where}: the camera looks straight down at the floor: its horizon is at infinity")
    hy = cy - focal_px * math.tan(th) / math.cos(ph)
    return Camera(focal_px, cx, cy, hy, abs(d), (W, H), roll_deg=math.degrees(ph), source="floor_points", where=where)


def _project(R: np.ndarray, t: np.ndarray, K: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``(n, 2)`` and depths ``(n,)`` of floor points under pose ``(R, t)``."""
    P = floor @ R[:, :2].T + t
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (P @ K.T)[:, :2] / P[:, 2:3]
    return uv, P[:, 2]


def _solve_pose(px: np.ndarray, floor: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Planar PnP (IPPE + LM refinement): of IPPE's two solutions (the planar ambiguity) the one with every point
    in front and the lowest refined error (the second is refined only when its IPPE error is within 2x + 0.5 px).

    Returns ``(R, t, rms_px)``. Raises: MaskDepthError: no solution puts the points in front of the camera.
    """
    obj = np.c_[floor, np.zeros(len(floor))].astype(np.float64)
    img = px.astype(np.float64)
    n, rvecs, tvecs, errs = cv2.solvePnPGeneric(obj, img, K, None, flags=cv2.SOLVEPNP_IPPE)
    errs = np.asarray(errs, np.float64).ravel()[:n]
    best = None
    for rvec, tvec, e in zip(rvecs[:n], tvecs[:n], errs):
        if best is not None and e > 2 * errs.min() + 0.5:  # the other planar solution fits far worse: not refined
            continue
        rvec, tvec = cv2.solvePnPRefineLM(obj, img, K, None, rvec.copy(), tvec.copy())
        R, t = cv2.Rodrigues(rvec)[0], tvec.reshape(3)
        uv, z = _project(R, t, K, floor)
        if not (z > 0).all():
            continue
        rms = float(np.sqrt(np.mean(np.sum((uv - px) ** 2, axis=1))))
        if best is None or rms < best[2]:
            best = (R, t, rms)
    if best is None:
        raise MaskDepthError("no camera pose puts every floor point in front of the camera: check the pixels and metres")
    return best


def fit_pose(px: np.ndarray, floor: np.ndarray, focal_px: float, image_size: Sequence[int]) -> FloorPose:
    """Camera and floor pose from points with a known focal length (planar PnP).

    Args:
        px: float64 ``(n, 2)`` marked pixels; floor: float64 ``(n, 2)`` metres; n >= 4.
        focal_px: focal length in pixels (> 0); principal point at the image centre.
        image_size: ``(W, H)``.
    Returns: :class:`FloorPose`.
    Raises:
        MaskDepthError: no pose puts the points in front of the camera, a marked pixel at or above
        the fitted horizon (its ray does not meet the floor in front), or an invalid camera.
    """
    W, H = int(image_size[0]), int(image_size[1])
    K = np.array([[focal_px, 0, (W - 1) / 2], [0, focal_px, (H - 1) / 2], [0, 0, 1.0]])
    R, t, rms = _solve_pose(px, floor, K)
    cam = camera_from_pose(R, t, focal_px, (W, H))
    above = np.flatnonzero(cam.floor_depth(px[:, 0], px[:, 1]) <= 0)
    if above.size:
        i = int(above[0])
        u, v = px[i]
        raise MaskDepthError(
            f"floor point {i + 1} at pixel ({u:g}, {v:g}) is at or above the fitted horizon "
            f"(row {float(cam.horizon_row(u)):.1f} there): its ray does not meet the floor in front of the camera"
        )
    return FloorPose(cam, R, t, rms)


def focal_from_homography(Hm: np.ndarray, cx: float, cy: float) -> float | None:
    """Focal length (pixels) from a floor-to-image homography, square pixels and a known principal point.

    Zhang (PAMI 2000), Sec. 3.1: with ``G = T Hm`` (``T`` moves the principal point to the
    origin), columns ``h1, h2`` and ``B = diag(w, w, 1)``, ``w = 1/f^2``::

        w (h1x h2x + h1y h2y)             = -h1z h2z
        w (h1x^2 + h1y^2 - h2x^2 - h2y^2) = h2z^2 - h1z^2

    solved for ``w`` by least squares (the pair is invariant, as a set, to the floor frame's
    rotation and origin).

    Args:
        Hm: float64 ``(3, 3)`` mapping floor ``(x, y, 1)`` in metres to pixels ``(u, v, 1)``.
        cx, cy: principal point, pixels.
    Returns: ``f`` in pixels, or ``None`` when the equations do not fix it (``w <= 0``: e.g. a
    floor seen face-on, whose image has no perspective).
    """
    T = np.array([[1.0, 0, -cx], [0, 1.0, -cy], [0, 0, 1.0]])
    G = T @ np.asarray(Hm, np.float64)
    G = G / np.linalg.norm(G)
    h1, h2 = G[:, 0], G[:, 1]
    a = np.array([h1[0] * h2[0] + h1[1] * h2[1], h1[0] ** 2 + h1[1] ** 2 - h2[0] ** 2 - h2[1] ** 2])
    b = np.array([-h1[2] * h2[2], h2[2] ** 2 - h1[2] ** 2])
    den = float(a @ a)
    if den <= 0:
        return None
    w = float(a @ b) / den
    if not w > 0 or not math.isfinite(w):
        return None
    return 1.0 / math.sqrt(w)


def _lm_focal(px: np.ndarray, floor: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray, iters: int = 50) -> float:
    """Levenberg-Marquardt on ``(rvec, t, f)`` minimising the reprojection error, from pose ``(R, t)`` at ``K``;
    analytic Jacobians from ``cv2.projectPoints`` (``d/df = d/dfx + d/dfy``). Returns the refined ``f``."""
    obj = np.c_[floor, np.zeros(len(floor))].astype(np.float64)
    p = np.r_[cv2.Rodrigues(R)[0].ravel(), t, K[0, 0]]

    def resid(q):
        Kq = K.copy()
        Kq[0, 0] = Kq[1, 1] = q[6]
        uv, J = cv2.projectPoints(obj, q[:3], q[3:6], Kq, np.zeros(4))
        return (uv.reshape(-1, 2) - px).ravel(), np.c_[J[:, :6], J[:, 6] + J[:, 7]]

    r, J = resid(p)
    cost, lam = float(r @ r), 1e-3
    for _ in range(iters):
        A, g = J.T @ J, J.T @ r
        step = -np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-12), g)
        q = p + step
        if not q[6] > 0:
            lam *= 10
            continue
        r2, J2 = resid(q)
        c2 = float(r2 @ r2)
        if c2 < cost:
            done = abs(step[6]) < 1e-9 * p[6] or cost - c2 < 1e-14 * max(cost, 1e-300)
            p, r, J, cost, lam = q, r2, J2, c2, max(lam / 10, 1e-9)
            if done:
                break
        else:
            lam *= 10
            if lam > 1e12:
                break
    return float(p[6])


def fit_pose_and_focal(
    px: np.ndarray, floor: np.ndarray, image_size: Sequence[int], span: float = 4.0, f_init: float | None = None
) -> FloorPose:
    """Camera, pose and focal length from floor points (no focal given).

    The focal length starts at :func:`focal_from_homography` of ``cv2.findHomography`` (all
    points, least squares), or at ``f_init`` when given (a bootstrap refit starts at the full-data
    estimate), the pose at :func:`fit_pose` there; ``(pose, f)`` are then refined
    together by Levenberg-Marquardt on the reprojection error, and the pose refitted at the final ``f``.

    Returns: :class:`FloorPose`.
    Raises: MaskDepthError: the points do not fix the focal length (no ``f0``, or the refined ``f`` more
    than ``span`` times away from it), or :func:`fit_pose`'s errors.
    """
    W, H = int(image_size[0]), int(image_size[1])
    if f_init is not None:
        f0 = f_init
    else:
        Hm, _ = cv2.findHomography(floor.astype(np.float64), px.astype(np.float64), 0)
        f0 = None if Hm is None else focal_from_homography(Hm, (W - 1) / 2, (H - 1) / 2)
    if f0 is None or not 1e-2 * max(W, H) < f0 < 1e2 * max(W, H):
        raise MaskDepthError(_NO_FOCAL)
    K0 = np.array([[f0, 0, (W - 1) / 2], [0, f0, (H - 1) / 2], [0, 0, 1.0]])
    R, t, _ = _solve_pose(px, floor, K0)
    f = _lm_focal(px, floor, K0, R, t)
    if not f0 / span < f < f0 * span:
        raise MaskDepthError(_NO_FOCAL)
    return fit_pose(px, floor, f, (W, H))


_NO_FOCAL = (
    "cannot estimate the focal length from these floor points (the floor is seen nearly face-on, "
    "or the points span too little perspective): give the focal length or the field of view"
)


def floor_errors(pose: FloorPose, px: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-point reprojection errors of a fit.

    Returns:
        ``(err_px, err_m)``: float64 ``(n,)`` distances in pixels between the projected floor points
        and the marked pixels, and in metres between the marked pixels cast onto the fitted
        floor and the given floor coordinates.
    """
    cam = pose.camera
    uv, _ = _project(pose.R, pose.t, cam.K, floor)
    P = cam.floor_point(px[:, 0], px[:, 1])  # camera frame
    back = (P - pose.t) @ pose.R  # floor frame (R^T (P - t)), rows
    return np.linalg.norm(uv - px, axis=1), np.linalg.norm(back[:, :2] - floor, axis=1)


# --------------------------------------------------------------------------- fit with intervals

_VALUES = ("horizon_y", "camera_height_m", "roll_deg", "pitch_deg", "focal_px")


def _values(cam: Camera) -> np.ndarray:
    return np.array([cam.horizon_y, cam.camera_height_m, cam.roll_deg, cam.pitch_deg, cam.focal_px])


def _bootstrap(px, floor, image_size, focal_px, n_boot: int, seed: int, f_init: float | None = None) -> tuple[np.ndarray, int]:
    """Refit ``n_boot`` resamples of the points (with replacement); with ``focal_px`` ``None`` the focal
    length is refitted too, starting at ``f_init`` (the full-data estimate).

    Returns: float64 ``(k, 5)`` rows of ``_VALUES`` of the resamples that fit, and the number of
    resamples whose layout allowed a fit (at least 4 distinct points, 5 when the focal length is
    refitted, so that 2 residual degrees of freedom remain; :func:`check_layout`); the
    difference is the number of failed fits (e.g. a focal length the resample does not fix).
    """
    rng = np.random.default_rng(seed)
    n, rows, usable = len(px), [], 0
    min_distinct = MIN_POINTS if focal_px else MIN_POINTS + 1  # >= 2 residual degrees of freedom: 2k - 6 or 2k - 7
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        try:
            if np.unique(idx).size < min_distinct:
                continue
            check_layout(px[idx], floor[idx])
        except MaskDepthError:
            continue
        usable += 1
        try:
            rows.append(_values(_fit(px[idx], floor[idx], image_size, focal_px, f_init).camera))
        except MaskDepthError:
            continue
    return np.array(rows, np.float64).reshape(-1, len(_VALUES)), usable


def percentile_interval(samples: np.ndarray, estimate: float, factor: float = 1.0) -> tuple[float, float]:
    """95 % percentile interval of bootstrap ``samples`` (float ``(k,)``), widened about ``estimate``
    by ``factor`` (>= 1) and made to contain the estimate.

    Returns ``(low, high)`` with ``low <= estimate <= high``.
    """
    lo, hi = (float(x) for x in np.percentile(samples, [2.5, 97.5]))
    lo, hi = min(lo, estimate), max(hi, estimate)
    return estimate - factor * (estimate - lo), estimate + factor * (hi - estimate)


@dataclass
class FloorPointsFit:
    """A camera fitted from floor points, with its intervals and errors.

    Attributes:
        camera: the fitted :class:`Camera` (``source = "floor_points"``, ``horizon_y_ci95`` and
            ``camera_height_m_ci95`` set unless too few resamples were usable).
        pose: the full-data :class:`FloorPose`.
        focal_estimated: the focal length came from the points (none was given).
        ci95: ``{"roll_deg": (lo, hi), "pitch_deg": ..., "focal_px": ...}`` (``focal_px`` only when
            estimated); empty when there is no interval.
        err_px, err_m: float64 ``(n,)`` per-point reprojection errors (pixels, metres).
        n_boot, n_boot_used: resamples drawn, and refitted (at least 4 distinct points, a usable layout).
        notes: warnings (e.g. a point that misses its projection).
        no_interval: why there is no interval, else ``None``.
    """

    camera: Camera
    pose: FloorPose
    focal_estimated: bool
    ci95: dict[str, tuple[float, float]]
    err_px: np.ndarray
    err_m: np.ndarray
    n_boot: int
    n_boot_used: int
    notes: list[str] = field(default_factory=list)
    no_interval: str | None = None

    @property
    def n_points(self) -> int:
        """Number of floor points."""
        return int(self.err_px.size)

    def interval_text(self) -> str:
        """What the 95 % intervals include (written to ``camera.json`` and printed)."""
        if self.camera.horizon_y_ci95 is None:
            return f"no interval: {self.no_interval or 'no bootstrap (n_boot = 0)'}"
        focal = "the focal length estimated from the points" if self.focal_estimated else "the given focal length taken as exact"
        return (
            f"95 % percentile bootstrap over the {self.n_points} floor points ({self.n_boot_used} of {self.n_boot} resamples usable), "
            f"widened for the small sample; includes the pixel and floor-measurement errors seen in the residuals; {focal}"
        )

    def to_json(self) -> dict:
        """The ``camera.json`` dictionary: :meth:`Camera.to_json` plus the fit's figures (read back by
        :func:`maskdepth.scene.load_camera`, which ignores the extra keys)."""
        d = self.camera.to_json()
        d["pitch_deg"] = round(self.camera.pitch_deg, 4) + 0.0  # + 0.0: no "-0.0"
        d["roll_deg"] = round(self.camera.roll_deg, 4) + 0.0
        for k, (lo, hi) in self.ci95.items():
            d[f"{k}_ci95"] = [round(lo, 5) + 0.0, round(hi, 5) + 0.0]
        d["focal_estimated"] = self.focal_estimated
        d["n_points"] = self.n_points
        d["reprojection_rms_px"] = round(float(np.sqrt(np.mean(self.err_px**2))), 4)
        d["reprojection_max_px"] = round(float(self.err_px.max()), 4)
        d["floor_rms_m"] = round(float(np.sqrt(np.mean(self.err_m**2))), 5)
        d["floor_max_m"] = round(float(self.err_m.max()), 5)
        d["ci95_includes"] = self.interval_text()
        if self.notes:
            d["warnings"] = list(self.notes)
        return d

    def lines(self) -> list[str]:
        """Human-readable summary: values with 95 % intervals, reprojection errors, notes."""
        c, j = self.camera, self.to_json()

        def ci(key, fmt):
            v = j.get(f"{key}_ci95")
            return "no interval" if v is None else f"95 % interval {fmt.format(v[0])} .. {fmt.format(v[1])}"

        out = [
            f"from {self.n_points} floor points: horizon_y {c.horizon_y:.1f} px ({ci('horizon_y', '{:.1f}')}), "
            f"camera_height_m {c.camera_height_m:.3f} m ({ci('camera_height_m', '{:.3f}')})",
            f"pitch {c.pitch_deg:.2f} deg ({ci('pitch_deg', '{:.2f}')}), roll {c.roll_deg:.2f} deg ({ci('roll_deg', '{:.2f}')}), "
            f"focal {c.focal_px:.1f} px"
            + (f" estimated from the points ({ci('focal_px', '{:.1f}')})" if self.focal_estimated else " (given)"),
            f"reprojection error: RMS {j['reprojection_rms_px']:.2f} px (max {j['reprojection_max_px']:.2f}), "
            f"on the floor RMS {j['floor_rms_m']:.3f} m (max {j['floor_max_m']:.3f})",
            f"intervals: {self.interval_text()}",
        ]
        return out + [f"warning: {n}" for n in self.notes]

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_json` atomically. Raises: MaskDepthError: the folder is not writable."""
        atomic_write_json(path, self.to_json())


def fit_camera_from_floor_points(
    px: np.ndarray, floor: np.ndarray, image_size: Sequence[int], focal_px: float | None = None, n_boot: int = 200, seed: int = 0
) -> FloorPointsFit:
    """Fit a fixed camera from floor points, with 95 % bootstrap intervals (see the module docstring).

    Args:
        px: float64 ``(n, 2)`` marked pixels ``(u, v)`` at ``image_size``; floor: float64 ``(n, 2)``
            their floor coordinates in metres (any frame on the floor); n >= 4.
        image_size: ``(W, H)`` of the background.
        focal_px: focal length in pixels, or ``None`` to estimate it from the points.
        n_boot: bootstrap resamples (>= 0; 0 = no interval); seed: their seed.
    Returns: :class:`FloorPointsFit`.
    Raises:
        MaskDepthError: collinear / degenerate points, a marked pixel at or above the fitted horizon,
        a focal length the points cannot fix, or an invalid camera (one line each).
    """
    if focal_px is not None and not focal_px > 0:
        raise MaskDepthError(f"must be > 0 pixels, got {focal_px:g}", param="focal_px")
    if n_boot < 0:
        raise MaskDepthError(f"must be >= 0, got {n_boot}", param="n_boot")
    px, floor = np.asarray(px, np.float64), np.asarray(floor, np.float64)
    check_layout(px, floor)
    pose, notes = _fit_checked(px, floor, image_size, focal_px)
    boots, usable = _bootstrap(px, floor, image_size, focal_px, n_boot, seed, pose.camera.focal_px)
    failed = usable - len(boots)
    if focal_px is None and n_boot and (failed > 0.025 * usable or usable < n_boot / 2):
        raise MaskDepthError(
            f"cannot estimate the focal length with an interval from these {len(px)} floor points: {failed} of {usable} "
            f"bootstrap resamples do not fix it, {n_boot - usable} of {n_boot} have too few distinct points "
            "(the floor is seen nearly face-on, or too few points): give the focal length or the field of view"
        )
    est = _values(pose.camera)
    n, ci = len(px), {}
    cam = pose.camera
    no_interval = None
    if n_boot and failed > 0.025 * usable:
        no_interval = f"{failed} of {usable} bootstrap resamples could not be fitted (the points disagree)"
    elif n_boot and usable < n_boot / 2:
        no_interval = f"only {usable} of {n_boot} bootstrap resamples were usable with {n} points (give 6 or more points)"
    elif n_boot:
        k = small_sample_factor(2 * n, 6 if focal_px else 7)
        for j, key in enumerate(_VALUES):
            if key != "focal_px" or not focal_px:
                ci[key] = percentile_interval(boots[:, j], float(est[j]), k)
        lo, hi = ci.pop("camera_height_m")
        cam = Camera(**{**_camera_fields(cam), "horizon_y_ci95": ci.pop("horizon_y"), "camera_height_m_ci95": (max(lo, 0.0), hi)})
    err_px, err_m = floor_errors(pose, px, floor)
    return FloorPointsFit(cam, pose, focal_px is None, ci, err_px, err_m, n_boot, usable, notes, no_interval)


def _fit(px: np.ndarray, floor: np.ndarray, image_size: Sequence[int], focal_px: float | None, f_init: float | None = None) -> FloorPose:
    return fit_pose(px, floor, focal_px, image_size) if focal_px else fit_pose_and_focal(px, floor, image_size, f_init=f_init)


def _fit_checked(px: np.ndarray, floor: np.ndarray, image_size: Sequence[int], focal_px: float | None) -> tuple[FloorPose, list[str]]:
    """:func:`_fit` that names a point in the sky: when the fit fails, or a point misses its projection by more
    than ``max(10 px, 1 % of the image diagonal)``, the point whose removal fits the others best (leave one out,
    n >= 5) is checked against the horizon of the camera the others give.

    Returns: ``(pose, notes)``: notes name a point that misses its projection.
    Raises: MaskDepthError: that point's pixel is at or above the others' horizon, or the fit's own errors.
    """
    try:
        pose = _fit(px, floor, image_size, focal_px)
    except MaskDepthError as e:
        i = _odd_point_out(px, floor, image_size, focal_px)
        if i is None:
            raise
        raise MaskDepthError(f"{e}; without floor point {i + 1} the others fit one camera: check its pixel and metres") from None
    err = floor_errors(pose, px, floor)[0]
    if err.max() <= max(10.0, 0.01 * math.hypot(*image_size)):
        return pose, []
    i = _odd_point_out(px, floor, image_size, focal_px)
    i = int(np.argmax(err)) if i is None else i
    return pose, [
        f"floor point {i + 1} misses its projection by {err[i]:.1f} px (RMS of all {np.sqrt(np.mean(err**2)):.1f} px): check its pixel and metres"
    ]


def _odd_point_out(px: np.ndarray, floor: np.ndarray, image_size: Sequence[int], focal_px: float | None) -> int | None:
    """Index of the point whose removal leaves the best-fitting others (lowest RMS px), or ``None``
    (n < 5, or no leave-one-out fit succeeds).

    Raises: MaskDepthError: that point's pixel is at or above the horizon of the camera the others give.
    """
    n, best = len(px), None
    for i in range(n if n > MIN_POINTS else 0):
        keep = np.arange(n) != i
        try:
            check_layout(px[keep], floor[keep])
            pose = _fit(px[keep], floor[keep], image_size, focal_px)
        except MaskDepthError:
            continue
        if best is None or pose.rms_px < best[1].rms_px:
            best = (i, pose)
    if best is None:
        return None
    i, cam = best[0], best[1].camera
    u, v = px[i]
    if cam.floor_depth(u, v) <= 0:
        raise MaskDepthError(
            f"floor point {i + 1} at pixel ({u:g}, {v:g}) is at or above the horizon (row {float(cam.horizon_row(u)):.1f} "
            "there) of the camera the other points give: its ray does not meet the floor in front of the camera"
        )
    return i


def _camera_fields(cam: Camera) -> dict:
    return {k: getattr(cam, k) for k in ("focal_px", "cx", "cy", "horizon_y", "camera_height_m", "image_size", "roll_deg", "source")}


def run_floor_points(
    points: str | os.PathLike,
    image_size: Sequence[int],
    out: str | os.PathLike,
    focal_px: float | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> FloorPointsFit:
    """Read ``points.json``, fit (:func:`fit_camera_from_floor_points`) and write ``camera.json`` atomically.

    Raises: MaskDepthError for bad input (one line); nothing is written then.
    """
    px, floor = load_floor_points(points, image_size)
    fit = fit_camera_from_floor_points(px, floor, image_size, focal_px=focal_px, n_boot=n_boot, seed=seed)
    fit.save(out)
    return fit
