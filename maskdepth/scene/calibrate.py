"""Camera horizon and height from the people it sees, or from a measured depth of the empty scene.

From people (Hoiem, Efros & Hebert, "Putting Objects in Perspective", CVPR 2006;
Criminisi, Reid & Zisserman, "Single View Metrology", IJCV 2000)
-------------------------------------------------------------------------------
Each observation is a person standing upright on the floor: foot pixel ``(u_f, v_f)`` and
head row ``v_h``. With the camera of :mod:`maskdepth.scene.camera` (roll 0, known focal
``f`` and principal point), pitch ``th`` from the horizon row ``y0``
(``tan th = (cy - y0) / f``) and camera height ``Hc``, the foot is the floor point
``P = Z_f r_f`` with ``Z_f = Hc / (cos th y_f + sin th)``, ``y_f = (v_f - cy)/f``, and a
person of height ``h`` has the head row (exact projection of ``P + h up``)::

    v_h = cy + f (Z_f y_f - h cos th) / (Z_f - h sin th)

(at pitch 0 this is Hoiem et al.'s ``v_f - v_h = h (v_f - y0) / Hc``). When the head
column ``u_h`` is observed too, ``u_h = cx + (u_f - cx) Z_f / (Z_f - h sin th)`` adds the
lean of off-centre people towards the vertical vanishing point (Criminisi et al.), which
measures the pitch independently of people's heights (noise ``head_u_sd`` pixels plus
``lean_sd`` times the pixel height for pose). The unknowns
``(y0, log Hc)`` are fitted by robust nonlinear least squares on the head rows, every
person assumed ``person_height`` tall:

* residuals are normalised by ``sigma_i^2 = 2 sigma_px^2 + (dv_h/dh * height_sd)^2`` (pixel
  noise on foot and head, plus the spread of people's heights);
* initial values by a profile search: for each horizon on a grid of pitches every person
  implies a camera height (the head equation solved for ``Hc``); the horizon whose implied
  heights agree best (least median of absolute log deviations) starts the fit;
* Gauss-Newton with step halving, first with Huber weights (c = 1.345), then Tukey's
  biweight (c = 4.685) with the scale ``max(1, 1.4826 MAD)`` of the normalised residuals
  (Huber, "Robust Statistics", 1981; Beaton & Tukey, Technometrics 1974). People with a
  zero final weight are outliers (seated, occluded feet, a wrong detection); people whose
  head touches the top border or whose feet touch the bottom border are dropped first
  ("cut by the frame border").
* 95 % intervals: percentile bootstrap over observations (Efron & Tibshirani, "An
  Introduction to the Bootstrap", 1993), ``n_boot`` resamples (default 200, seeded), each
  refitted from the full-data estimate; the percentile interval is expanded about the
  estimate by :func:`small_sample_factor` (``sqrt(n/(n-2)) t_{n-2}/z``, 1.13 at n = 20,
  1.05 at n = 50), the camera height's in log space.

Honesty rules: with fewer than ``min_obs`` (5) usable people, or when their feet all lie
within 5 % of the image height (one distance: horizon and height trade off along a
curve), the intervals are ``[null, null]`` (unbounded) and ``warning`` says so; when more than 2.5 % of the
resamples fail or land outside the plausible range the corresponding bound is null; when
the interval is wider than 50 % of the height (or 25 % of the image height for the
horizon) ``warning`` says the data constrain the value weakly. Heights scale exactly
with the assumed person height (the horizon does not depend on it): a population whose
mean height is off by ``x`` % gives a camera height off by ``x`` %; the intervals do not
include that systematic error.

From a measured depth of the empty scene
---------------------------------------
:func:`fit_camera_from_depth` fits the floor plane ``{X : n . X + d = 0}`` by RANSAC
(:func:`maskdepth.data.geometry.fit_support_plane`, Fischler & Bolles, CACM 1981):
``camera_height_m = d``, the horizon (points at infinity of the plane,
``n . (x, y, 1) = 0`` at ``x = 0``) ``horizon_y = cy - f n_z / n_y``, and the roll
``atan2(n_x, -n_y)``.
"""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import MaskDepthError
from .camera import Camera

HUBER_C = 1.345
TUKEY_C = 4.685


@dataclass
class CalibrationResult:
    """Result of a calibration.

    Attributes:
        camera: the fitted :class:`Camera` (with ``horizon_y_ci95`` / ``camera_height_m_ci95``
            for the people fit; ``None`` inside an interval = unbounded).
        method: ``"people"`` or ``"depth_plane"``.
        n_obs: observations given.
        n_used: observations inside the frame (not cut by a border).
        n_inliers: observations kept by the robust fit.
        inliers: bool ``(n_obs,)`` (people fit) or ``None``.
        residual_rms_px: RMS head-row residual of the inliers (pixels), or plane RMS (metres) for depth.
        warning: why the values or intervals are weak, else ``None``.
        details: extra numbers (bootstrap failures, plane fit summary, ...).
    """

    camera: Camera
    method: str
    n_obs: int
    n_used: int
    n_inliers: int
    inliers: np.ndarray | None
    residual_rms_px: float | None
    warning: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        """JSON summary (camera.json keys plus the fit's figures)."""
        return {
            "camera": self.camera.to_json(),
            "method": self.method,
            "n_obs": self.n_obs,
            "n_used": self.n_used,
            "n_inliers": self.n_inliers,
            "residual_rms": None if self.residual_rms_px is None else round(float(self.residual_rms_px), 4),
            "warning": self.warning,
            "details": self.details,
        }


# --------------------------------------------------------------------------- model
def _pitch_terms(y0, v_f, f: float, cy: float):
    """``cos th, sin th`` of the pitch implied by horizon row ``y0`` (th = atan((cy - y0) / f)) and the
    foot term ``den = cos th (v_f - cy) / f + sin th`` (> 0 below the horizon), float64, broadcast."""
    th = np.arctan((cy - np.asarray(y0, np.float64)) / f)
    c, s = np.cos(th), np.sin(th)
    return c, s, c * (np.asarray(v_f, np.float64) - cy) / f + s


def head_rows(y0, Hc, v_f, h, f: float, cy: float):
    """Predicted head row(s) of upright people (exact projection, roll 0; module docstring).

    Args:
        y0: horizon row(s) at ``cx`` (pixels), broadcastable.
        Hc: camera height(s) in metres.
        v_f: foot row(s) (pixels).
        h: person height(s) in metres.
        f, cy: focal length and principal-point row (pixels).
    Returns:
        ``(v_h, valid)``: float64 head rows and a bool array, False where the foot is at or
        above the horizon or the head would be behind the camera (``v_h`` is then NaN).
    """
    Hc = np.asarray(Hc, np.float64)
    c, s, den = _pitch_terms(y0, v_f, f, cy)
    yf = (np.asarray(v_f, np.float64) - cy) / f
    num_y = Hc * yf - h * c * den
    num_z = Hc - h * s * den
    valid = (den > 1e-9) & (num_z > 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        vh = np.where(valid, cy + f * num_y / np.where(valid, num_z, 1.0), np.nan)
    return vh, valid


def head_pixels(y0, Hc, u_f, v_f, h, f: float, cx: float, cy: float):
    """Predicted head pixel ``(u_h, v_h)`` of upright people (exact projection, roll 0).

    ``v_h`` as :func:`head_rows`; ``u_h = cx + (u_f - cx) Z_f / (Z_f - h sin th)``: off-centre
    people lean towards the vertical vanishing point when the camera looks down, which
    measures the pitch independently of people's heights.

    Returns:
        ``(u_h, v_h, valid)`` float64 / bool arrays (NaN where invalid).
    """
    vh, valid = head_rows(y0, Hc, v_f, h, f, cy)
    c, s, den = _pitch_terms(y0, v_f, f, cy)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.asarray(Hc, np.float64) / (np.asarray(Hc, np.float64) - h * s * den)
    uh = np.where(valid, cx + (np.asarray(u_f, np.float64) - cx) * ratio, np.nan)
    return uh, vh, valid


def _resid(p, D):
    """Normalised residuals ``(B, n, k)`` (head row, and head column when given: 0 where it
    is not observed) and validity ``(B, n)``."""
    y0 = p[:, 0:1]
    Hc = np.exp(p[:, 1:2])
    h, dh = D["h"], 0.01
    if D["uh"] is None:
        vh_p, ok = head_rows(y0, Hc, D["vf"], h, D["f"], D["cy"])
        vh_2, ok2 = head_rows(y0, Hc, D["vf"], h + dh, D["f"], D["cy"])
    else:
        uh_p, vh_p, ok = head_pixels(y0, Hc, D["uf"], D["vf"], h, D["f"], D["cx"], D["cy"])
        uh_2, vh_2, ok2 = head_pixels(y0, Hc, D["uf"], D["vf"], h + dh, D["f"], D["cx"], D["cy"])
    ok = ok & ok2
    sv = np.sqrt(2 * D["spx"] ** 2 + (np.nan_to_num((vh_2 - vh_p) / dh) * D["hsd"]) ** 2)
    ev = np.where(ok, (D["vh"] - vh_p) / sv, 1e3)
    if D["uh"] is None:
        return ev[..., None], ok
    else:
        pix = np.abs(D["vf"] - D["vh"])
        su = np.sqrt(D["usd"] ** 2 + D["spx"] ** 2 + (D["lean"] * pix) ** 2 + (np.nan_to_num((uh_2 - uh_p) / dh) * D["hsd"]) ** 2)
        eu = np.where(ok & D["has_u"], (D["uh"] - uh_p) / su, 0.0)
        eu = np.where(ok | ~D["has_u"], eu, 1e3)
    return np.stack([ev, eu], axis=-1), ok


def _weights(e, kind: str, scale):
    """Per-person robust weights from the norm of the person's normalised residuals."""
    r = np.sqrt(np.sum(e * e, axis=-1)) / scale
    if kind == "huber":
        return np.where(r <= HUBER_C, 1.0, HUBER_C / np.maximum(r, 1e-12))
    return np.where(r < TUKEY_C, (1 - (r / TUKEY_C) ** 2) ** 2, 0.0)


def _rho(e, kind: str, scale):
    r = np.sqrt(np.sum(e * e, axis=-1)) / scale
    if kind == "huber":
        return np.where(r <= HUBER_C, 0.5 * r**2, HUBER_C * r - 0.5 * HUBER_C**2)
    c2 = TUKEY_C**2 / 6
    return np.where(r < TUKEY_C, c2 * (1 - (1 - (r / TUKEY_C) ** 2) ** 3), c2)


def _gn(p, D, H, iters_huber=12, iters_tukey=15):
    """Batched robust Gauss-Newton (IRLS). ``p``: ``(B, 2)`` ``[y0, log Hc]``; arrays of ``D``: ``(B, n)``."""
    p = p.copy()
    B = p.shape[0]
    eps = np.array([0.05, 1e-4])
    scale = np.ones((B, 1))
    for it in range(iters_huber + iters_tukey):
        kind = "huber" if it < iters_huber else "tukey"
        e, ok = _resid(p, D)
        if kind == "tukey":
            mad = 1.4826 * np.median(np.where(ok, np.abs(e[..., 0]), np.nan), axis=1, keepdims=True)
            scale = np.maximum(1.0, np.nan_to_num(mad, nan=1.0))
        w = _weights(e, kind, scale) * ok
        J = np.empty(e.shape + (2,))
        for k in range(2):
            dp = np.zeros(2)
            dp[k] = eps[k]
            e2, ok2 = _resid(p + dp, D)
            J[..., k] = np.where((ok & ok2)[..., None], (e2 - e) / eps[k], 0.0)
        A = np.einsum("bn,bnri,bnrj->bij", w, J, J)
        g = np.einsum("bn,bnri,bnr->bi", w, J, e)
        A[:, 0, 0] += 1e-9 + 1e-6 * A[:, 0, 0]
        A[:, 1, 1] += 1e-9 + 1e-6 * A[:, 1, 1]
        det = A[:, 0, 0] * A[:, 1, 1] - A[:, 0, 1] * A[:, 1, 0]
        det = np.where(np.abs(det) < 1e-30, 1e-30, det)
        step = -np.stack([(A[:, 1, 1] * g[:, 0] - A[:, 0, 1] * g[:, 1]) / det, (A[:, 0, 0] * g[:, 1] - A[:, 1, 0] * g[:, 0]) / det], axis=1)
        step[:, 0] = np.clip(step[:, 0], -0.25 * H, 0.25 * H)
        step[:, 1] = np.clip(step[:, 1], -0.5, 0.5)
        step = np.nan_to_num(step)
        cost0 = _rho(e, kind, scale).sum(1)
        t = np.ones(B)
        for _ in range(6):
            e_new, _ = _resid(p + step * t[:, None], D)
            worse = _rho(e_new, kind, scale).sum(1) > cost0 + 1e-12
            if not worse.any():
                break
            t = np.where(worse, t * 0.5, t)
        t = np.where(t < 0.03, 0.0, t)
        p = p + step * t[:, None]
        if np.all(np.abs(step * t[:, None]) < np.array([1e-4, 1e-7])):
            break
    e, ok = _resid(p, D)
    return p, e, ok, scale


def implied_heights(y0, v_f, v_h, h, f: float, cy: float):
    """Camera height implied by each person for a given horizon row (inverse of :func:`head_rows`):
    ``Hc = h den (f cos th - (v_h - cy) sin th) / (v_f - v_h)``, ``den = cos th y_f + sin th``.

    Returns float64 arrays broadcast over ``y0`` and the observations (NaN where invalid)."""
    c, s, den = _pitch_terms(y0, v_f, f, cy)
    with np.errstate(divide="ignore", invalid="ignore"):
        hc = h * den * (f * c - (np.asarray(v_h, np.float64) - cy) * s) / (np.asarray(v_f) - np.asarray(v_h))
    return np.where((den > 1e-9) & (hc > 0), hc, np.nan)


def _profile_init(vf, vh, h, f, cy, H):
    """Robust start: for horizons on a grid of pitches (-30..85 deg, 0.25 deg), every person
    implies a camera height (:func:`implied_heights`); keep the horizon whose implied heights
    agree best (smallest median absolute log deviation, a least-median criterion), and
    their median height."""
    pitches = np.radians(np.arange(-30.0, 85.0, 0.25))
    y0s = cy - f * np.tan(pitches)
    y0s = y0s[y0s < H - 2]
    hc = implied_heights(y0s[:, None], vf[None, :], vh[None, :], h, f, cy)
    lh = np.log(hc)
    okc = np.isfinite(lh)
    cnt = okc.sum(1)
    with np.errstate(all="ignore"), _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(np.where(okc, lh, np.nan), axis=1)
    dev = np.abs(lh - med[:, None])
    # invalid people (foot above that horizon) count as large deviations
    dev = np.where(okc, dev, 10.0)
    score = np.median(dev, axis=1)
    score = np.where(cnt >= max(2, vf.size // 2), score, np.inf)
    if not np.isfinite(score).any():
        return float(np.median(vh)), float(h)
    k = int(np.argmin(score))
    return float(y0s[k]), float(np.clip(np.exp(med[k]), 0.05, 100.0))


def small_sample_factor(n: int, p: int = 2) -> float:
    """Expansion of a percentile-bootstrap interval for ``n`` observations and ``p`` parameters:
    ``sqrt(n / (n - p)) * t_{n-p, 0.975} / z_{0.975}`` (the percentile bootstrap is too
    narrow for small samples; Hesterberg, "What Teachers Should Know About the Bootstrap",
    Am. Stat. 2015, Sec. 3). ``t`` by the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5)."""
    nu = max(n - p, 1)
    z = 1.959963984540054
    t = (
        z
        + (z**3 + z) / (4 * nu)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * nu**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * nu**3)
    )
    return float(math.sqrt(n / nu) * t / z)


def fit_camera_from_people(
    observations,
    focal_px: float,
    cx: float,
    cy: float,
    image_size: Sequence[int],
    person_height: float = 1.7,
    height_sd: float = 0.07,
    pixel_sd: float = 1.0,
    n_boot: int = 200,
    seed: int = 0,
    min_obs: int = 5,
    border_px: float = 0.5,
    head_u_sd: float = 2.0,
    lean_sd: float = 0.03,
) -> CalibrationResult:
    """Horizon and camera height from upright people (module docstring for the method).

    Args:
        observations: float ``(n, 3)`` rows ``(u_foot, v_foot, v_head)`` in pixels at
            ``image_size``, or ``(n, 4)`` rows with the head column ``u_head`` as well (NaN
            = not observed): the lean of off-centre people towards the vertical vanishing
            point then also measures the pitch (:func:`head_pixels`), which helps most for
            steep cameras whose horizon lies far above the image.
        focal_px, cx, cy: intrinsics in pixels (square pixels).
        image_size: ``(W, H)``.
        person_height: assumed mean height of people, metres (default 1.7).
        height_sd: spread of people's heights, metres (default 0.07).
        pixel_sd: detection noise of foot and head rows, pixels (default 1).
        n_boot: bootstrap resamples for the 95 % intervals (0 = none: intervals null).
        seed: bootstrap seed.
        min_obs: fewer usable observations give null intervals and a warning.
        border_px: heads within this many pixels of row 0 and feet within it of the last
            row are cut by the frame and dropped.
        head_u_sd: detection noise of the head column, pixels (default 2).
        lean_sd: people's lean / pose spread of the head column, as a fraction of their
            pixel height (default 0.03).
    Returns:
        :class:`CalibrationResult` (``method="people"``, roll 0).
    Raises:
        MaskDepthError: malformed observations, fewer than 2 usable ones, non-positive
        focal length or person height, or a fit whose horizon lies at/below the last row.
    """
    W, H = int(image_size[0]), int(image_size[1])
    obs = np.asarray(observations, np.float64)
    if obs.ndim != 2 or obs.shape[1] not in (3, 4):
        raise MaskDepthError(
            f"people observations must be (n, 3) rows (u_foot, v_foot, v_head) or (n, 4) with u_head, got shape {obs.shape}"
        )
    if focal_px <= 0 or person_height <= 0:
        raise MaskDepthError("focal_px and person_height must be positive")
    n_obs = obs.shape[0]
    finite = np.all(np.isfinite(obs[:, :3]), axis=1)
    inside = finite & (obs[:, 2] > border_px) & (obs[:, 1] < H - 1 - border_px) & (obs[:, 1] > obs[:, 2])
    idx_used = np.flatnonzero(inside)
    n_used = idx_used.size
    if n_used < 2:
        raise MaskDepthError(f"calibration needs at least 2 people seen whole (feet and head inside the frame), got {n_used} of {n_obs}")
    uf, vf, vh = obs[idx_used, 0], obs[idx_used, 1], obs[idx_used, 2]
    uh = obs[idx_used, 3] if obs.shape[1] == 4 else None
    has_u = None if uh is None else np.isfinite(uh)
    if uh is not None and not has_u.any():
        uh = has_u = None
    y0i, Hci = _profile_init(vf, vh, person_height, focal_px, cy, H)
    p0 = np.array([[y0i, math.log(Hci)]])

    def data(idx=None):
        sel = (lambda a: a[None]) if idx is None else (lambda a: a[idx])
        return {
            "uf": sel(uf),
            "vf": sel(vf),
            "vh": sel(vh),
            "uh": None if uh is None else np.nan_to_num(sel(uh)),
            "has_u": None if uh is None else sel(has_u),
            "h": person_height,
            "hsd": height_sd,
            "spx": pixel_sd,
            "usd": head_u_sd,
            "lean": lean_sd,
            "f": focal_px,
            "cx": cx,
            "cy": cy,
        }

    p, e, ok, scale = _gn(p0, data(), H)
    w = _weights(e, "tukey", scale) * ok
    inl_used = w[0] > 0
    y0, Hc = float(p[0, 0]), float(math.exp(p[0, 1]))
    pred, _ = head_rows(y0, Hc, vf, person_height, focal_px, cy)
    rms = float(np.sqrt(np.mean((vh - pred)[inl_used] ** 2))) if inl_used.any() else float("nan")
    inliers = np.zeros(n_obs, bool)
    inliers[idx_used[inl_used]] = True
    n_inl = int(inl_used.sum())
    warnings: list[str] = []
    details: dict[str, Any] = {
        "person_height_m": person_height,
        "height_sd_m": height_sd,
        "n_boot": n_boot,
        "cut_by_border": int(n_obs - n_used),
        "init": [round(y0i, 3), round(Hci, 4)],
        "head_columns_used": 0 if has_u is None else int(has_u.sum()),
    }
    hci: tuple = (None, None)
    cci: tuple = (None, None)
    spread_used = float(np.percentile(vf, 90) - np.percentile(vf, 10))
    if n_used < min_obs:
        warnings.append(f"only {n_used} people seen whole (need {min_obs}): horizon and height are unconstrained, intervals unbounded")
    elif n_inl < min_obs:
        why = (
            f"their feet all lie within {spread_used:.0f} px rows (one distance), so horizon and height cannot be separated"
            if spread_used < 0.05 * H
            else "check the focal length and the detections"
        )
        warnings.append(f"only {n_inl} of {n_used} people fit one upright-person model: {why}; intervals unbounded")
    elif n_boot > 0:
        rng = np.random.default_rng(seed)
        bi = rng.integers(0, n_used, size=(n_boot, n_used))
        pb = np.repeat(p, n_boot, axis=0)
        pb, eb, okb, _ = _gn(pb, data(bi), H, iters_huber=6, iters_tukey=12)
        yb, hb = pb[:, 0], np.exp(pb[:, 1])
        bad = ~np.isfinite(yb) | ~np.isfinite(hb) | (hb < 0.05) | (hb > 100) | (yb >= H - 1) | (yb < -20 * H)
        nb = int(bad.sum())
        details["bootstrap_failed"] = nb
        ys = np.sort(np.where(bad, np.nan, yb))
        hs = np.sort(np.where(bad, np.inf, hb))
        lo_q, hi_q = 0.025, 0.975
        if nb > lo_q * n_boot:
            hci = (None, None)
            cci = (float(np.quantile(hs[np.isfinite(hs)], lo_q)) if np.isfinite(hs).sum() > 0 else None, None)
            warnings.append(f"{nb} of {n_boot} bootstrap refits failed: the data constrain the camera weakly, intervals unbounded")
        else:
            hci = (float(np.nanquantile(ys, lo_q)), float(np.nanquantile(ys, hi_q)))
            cci = (float(np.quantile(hs[np.isfinite(hs)], lo_q)), float(np.quantile(hs[np.isfinite(hs)], hi_q)))
            # the point estimate must lie inside its interval; small-sample expansion
            k = small_sample_factor(n_inl)
            hci = (y0 - k * max(y0 - hci[0], 0.0), y0 + k * max(hci[1] - y0, 0.0))
            lc, hc_ = math.log(Hc), (math.log(cci[0]), math.log(cci[1]))
            cci = (math.exp(lc - k * max(lc - hc_[0], 0.0)), math.exp(lc + k * max(hc_[1] - lc, 0.0)))
            details["ci_expansion"] = round(k, 4)
            if (cci[1] - cci[0]) > 0.5 * Hc:
                warnings.append(f"camera height weakly constrained by these people: 95 % interval {cci[0]:.2f}-{cci[1]:.2f} m")
            if (hci[1] - hci[0]) > 0.25 * H:
                warnings.append(f"horizon weakly constrained by these people: 95 % interval rows {hci[0]:.0f}-{hci[1]:.0f}")
    if n_inl >= min_obs and spread_used < 0.05 * H:
        hci, cci = (None, None), (None, None)
        warnings.append(
            f"the people's feet all lie within {spread_used:.0f} px rows (one distance): horizon and height "
            "cannot be separated, intervals unbounded"
        )
    if n_inl >= min_obs and n_inl < 0.5 * n_used:
        warnings.append(f"only {n_inl} of {n_used} people fit the upright model: check the focal length and the detections")
    spread = float(np.percentile(vf[inl_used], 90) - np.percentile(vf[inl_used], 10)) if n_inl >= 2 else 0.0
    details["foot_row_spread_px"] = round(spread, 2)
    if y0 >= H - 1:
        raise MaskDepthError(
            f"the fitted horizon (row {y0:.0f}) lies below the image ({H} rows): the people observations are inconsistent with an upright model"
        )
    has_ci = n_boot > 0 or n_inl < min_obs
    cam = Camera(focal_px, cx, cy, y0, Hc, (W, H), 0.0, hci if has_ci else None, cci if has_ci else None, source="people")
    return CalibrationResult(cam, "people", n_obs, int(n_used), n_inl, inliers, rms, "; ".join(warnings) if warnings else None, details)


def observations_from_objects(objects) -> np.ndarray:
    """People observations for :func:`fit_camera_from_people` from extracted objects
    (:func:`maskdepth.scene.objects.extract_objects`, typically gathered over many frames).

    Objects without a contact point are skipped. Rows ``(u_foot, v_foot, v_head, u_head)``
    with ``v_foot`` = the contact pixel's bottom edge (row + 0.5) and ``v_head`` = the top
    pixel's top edge (row - 0.5): with pixel-centre or 50 %-coverage masks these are the
    unbiased estimates of the silhouette's extent.

    Returns:
        float64 ``(n, 4)``.
    """
    rows = [
        (o.contact_point[0], o.contact_point[1], o.top_px[1] - 0.5, o.top_px[0])
        for o in objects
        if o.contact_px is not None and o.top_px is not None
    ]
    return np.asarray(rows, np.float64).reshape(-1, 4)


def fit_camera_from_depth(bg_depth: np.ndarray, K, rng: np.random.Generator | None = None, **plane_kw) -> CalibrationResult:
    """Camera height, horizon and roll from a measured depth of the empty scene.

    Args:
        bg_depth: float ``(H, W)`` metres, 0 = unknown (e.g. :func:`~maskdepth.scene.sources.load_bg_depth`'s ``.depth``).
        K: ``(3, 3)`` intrinsics at the depth's size (``fx`` is used as the focal length).
        rng: RANSAC generator (default seed 0).
        **plane_kw: passed to :func:`maskdepth.data.geometry.fit_support_plane`.
    Returns:
        :class:`CalibrationResult` (``method="depth_plane"``; ``residual_rms_px`` is the RMS
        point-to-plane distance of the support in metres).
    Raises:
        MaskDepthError: no floor plane found, or the plane's horizon is at/below the last row.
    """
    from ..data.geometry import backproject, fit_support_plane

    d = np.asarray(bg_depth, np.float64)
    if d.ndim != 2:
        raise MaskDepthError(f"background depth must be (H, W), got shape {d.shape}")
    K = np.asarray(K, np.float64)
    H, W = d.shape
    fit = fit_support_plane(d, K, rng=rng, **plane_kw)
    if fit.method != "ransac_plane" or fit.normal is None:
        raise MaskDepthError("no floor plane found in the background depth (RANSAC): give --camera or calibrate from people")
    n, dist = fit.normal, float(fit.d)
    if abs(n[1]) < 1e-6:
        raise MaskDepthError("the fitted floor plane is vertical in the image: cannot derive a horizon")
    f, cx, cy = float(K[0, 0]), float(K[0, 2]), float(K[1, 2])
    hy = cy - f * n[2] / n[1]
    roll = math.degrees(math.atan2(n[0], -n[1]))
    P = backproject(d, K)[fit.support]
    rms = float(np.sqrt(np.mean((P @ n + dist) ** 2))) if P.size else None
    cam = Camera(f, cx, cy, hy, dist, (W, H), roll_deg=roll, source="depth_plane")
    return CalibrationResult(cam, "depth_plane", 0, 0, int(fit.support.sum()), None, rms, None, {"plane": fit.to_json()})


def synthetic_people(
    camera: Camera,
    n: int,
    rng: np.random.Generator,
    heights: tuple[float, float] = (1.55, 1.85),
    outlier_frac: float = 0.1,
    pixel_sd: float = 1.0,
    margin_frac: float = 0.04,
    with_head_u: bool = False,
    head_u_sd: float = 2.0,
    lean_sd: float = 0.03,
):
    """People observations ``(u_foot, v_foot, v_head)`` seen by a known camera, for tests and benchmarks.

    Inliers: heights uniform in ``heights`` (metres), foot pixels uniform over the image
    columns 5-95 % and the rows from ``margin_frac * H`` below the horizon to the last but
    one row; people whose head would leave the frame are redrawn. Outliers
    (``round(outlier_frac * n)``): 70 % seated (head at 55-75 % of the standing height),
    30 % with occluded feet (foot row raised by 10-25 % of the pixel height). Gaussian
    noise of ``pixel_sd`` pixels on all three coordinates. With ``with_head_u`` a fourth
    column ``u_head`` (the projected head column plus Gaussian noise of ``head_u_sd`` pixels
    and a lean of ``lean_sd`` times the pixel height).

    Returns:
        ``(obs, info)``: float64 ``(n, 3)`` (or ``(n, 4)``) and ``{"height_m": (n,), "outlier": bool (n,), "kind": list[str]}``.
    Raises:
        MaskDepthError: the camera sees too little floor to place people.
    """
    W, H = camera.image_size
    v_lo = max(camera.horizon_y + margin_frac * H, 0.0)
    if v_lo >= H - 2:
        raise MaskDepthError("the camera sees too little floor to place synthetic people")
    n_out = int(round(outlier_frac * n))
    kinds = ["seated" if k < int(round(0.7 * n_out)) else "feet_occluded" for k in range(n_out)] + ["ok"] * (n - n_out)
    rng.shuffle(kinds)
    obs = np.zeros((n, 4))
    hs = np.zeros(n)
    for i, kind in enumerate(kinds):
        for _ in range(1000):
            u = rng.uniform(0.05 * W, 0.95 * W)
            v = rng.uniform(v_lo, H - 2)
            h = rng.uniform(*heights)
            h_eff = h * rng.uniform(0.55, 0.75) if kind == "seated" else h
            top = camera.top_of(u, v, h_eff)
            if np.all(np.isfinite(top)) and top[1] >= 2:
                break
        else:
            raise MaskDepthError("could not place a synthetic person inside the frame")
        vf = v
        if kind == "feet_occluded":
            vf = v - rng.uniform(0.10, 0.25) * (v - top[1])
        obs[i] = (u, vf, top[1], top[0] + rng.normal(0.0, head_u_sd) + rng.normal(0.0, lean_sd) * (v - top[1]))
        hs[i] = h
    obs[:, :3] += rng.normal(0.0, pixel_sd, (n, 3))
    obs = obs if with_head_u else obs[:, :3].copy()
    return obs, {"height_m": hs, "outlier": np.array([k != "ok" for k in kinds]), "kind": kinds}
