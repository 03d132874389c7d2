"""Camera horizon and height from the people it sees, or from a measured depth of the empty scene.

This module holds the people model (:func:`head_rows`, :func:`head_pixels`, :class:`PeopleData`), its
robust Gauss-Newton fit (:func:`fit_camera_from_people`, settings :class:`PeopleFitSettings`) and the
depth-plane fit; the intervals are :mod:`.bootstrap`'s, the warnings :mod:`.warnings`'.

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
* the Huber phase hands over to the Tukey phase once converged (it used to end the whole fit
  there, while the bootstrap refits went on to Tukey's: the estimate then sat on its interval's
  end); the Tukey phase runs until the steps are below 1e-4 px (60 steps at most).
* 95 % intervals: a cluster bootstrap over people (Davison & Hinkley, "Bootstrap Methods and
  their Application", 1997, sec. 3.8): ``track_ids`` say which observations are one person
  (a video sees each person in many frames, and they are not independent: one person's height
  error is in all of them); ``n_boot`` resamples (default 200, seeded) draw whole people with
  replacement, each refitted from the full-data estimate with the resample's multiplicities.
  The deviations of the refits from the estimate are expanded by :func:`.bootstrap.small_sample_factor`
  of the number of people (``sqrt(n/(n-2)) t_{n-2}/z``, 1.44 at 8 people, 1.13 at 20), the
  camera height's in log space, and percentiles taken (when the estimate lies outside or on
  the end of its bootstrap distribution, the deviations are reflected about it and a warning
  says the fit is unstable: an estimate always lies inside its interval).
* the people's heights: ``person_height`` is the assumed *mean* of the population the people
  come from, ``height_sd`` its spread. A person's height scales the camera height that person
  implies, so the spread of the people seen enters the interval through the bootstrap over
  people; the uncertainty of the mean itself (``mean_height_sd``, default 0.05 m: adult
  means differ by sex and country by about that, and shoes add 2-3 cm) cannot be measured
  from the images, so each replicate's camera height is also multiplied by ``mu / h`` with
  ``mu ~ N(person_height, mean_height_sd)`` (a prior; 0 = the mean is known). The horizon
  does not depend on the assumed height.

Honesty rules: with fewer than ``min_obs`` (5) usable people (distinct tracks), or when their
feet all lie within 5 % of the image height (one distance: horizon and height trade off along
a curve), the intervals are ``[null, null]`` (unbounded) and ``warning`` says so; when more
than 2.5 % of the resamples fail, get stuck at their start or land outside the plausible
range the corresponding bound is null; a full-data estimate at the edge of the search range
(pitch -30..85 deg, height 0.05..100 m) or not converged is ``details["at_bound"]`` with
unbounded intervals and a warning, never a confident number; fewer than ``min_people`` (10)
people, a camera within 0.3 m of the people's height (people in line hide one another) and
intervals wider than 50 % of the height (or 25 % of the image height for the horizon) are
warned about.

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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...errors import MaskDepthError
from ..camera import Camera
from .bootstrap import cluster_refits, people_intervals, small_sample_factor
from .warnings import (
    at_bound,
    at_bound_warning,
    bootstrap_failed_warning,
    few_people_warnings,
    interval_warnings,
    weak_fit_warnings,
)

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


@dataclass(frozen=True)
class PeopleData:
    """The people fit's observations and constants (the model of :func:`head_rows` / :func:`head_pixels`).

    Attributes:
        u_foot, v_foot, v_head: float64 ``(1, n)`` (or ``(B, n)``) foot column, foot row and head row, pixels.
        u_head: float64 ``(1, n)`` head column (0 where not observed), or None when no head column is observed.
        has_u_head: bool ``(1, n)`` where ``u_head`` is observed, or None (as ``u_head``).
        person_height: the people's assumed height ``h``, metres.
        height_sd: spread of people's heights, metres (weights the residuals).
        pixel_sd, head_u_sd: detection noise of the rows and of the head column, pixels.
        lean_sd: lean / pose spread of the head column, fraction of the pixel height.
        focal_px, cx, cy: intrinsics, pixels.
        mult: optional float ``(B, n)`` multiplicities of the observations (a bootstrap resample; None = 1 each).
    """

    u_foot: np.ndarray
    v_foot: np.ndarray
    v_head: np.ndarray
    u_head: np.ndarray | None
    has_u_head: np.ndarray | None
    person_height: float
    height_sd: float
    pixel_sd: float
    head_u_sd: float
    lean_sd: float
    focal_px: float
    cx: float
    cy: float
    mult: np.ndarray | None = None

    @classmethod
    def from_observations(cls, obs: np.ndarray, idx_used: np.ndarray, intrinsics, settings: PeopleFitSettings) -> PeopleData:
        """The usable observations ``obs[idx_used]`` (``(n, 3)`` or ``(n, 4)`` rows, see :func:`fit_camera_from_people`)
        as ``(1, n)`` arrays; ``intrinsics``: ``(focal_px, cx, cy)``. A head column never observed counts as absent."""
        uh = obs[idx_used, 3] if obs.shape[1] == 4 else None
        has_u = None if uh is None else np.isfinite(uh)
        if uh is not None and not has_u.any():
            uh = has_u = None
        s = settings
        return cls(
            obs[idx_used, 0][None],
            obs[idx_used, 1][None],
            obs[idx_used, 2][None],
            None if uh is None else np.nan_to_num(uh)[None],
            None if uh is None else has_u[None],
            s.person_height,
            s.height_sd,
            s.pixel_sd,
            s.head_u_sd,
            s.lean_sd,
            *intrinsics,
        )


def _resid(p, D: PeopleData):
    """Normalised residuals ``(B, n, k)`` (head row, and head column when given: 0 where it
    is not observed) and validity ``(B, n)``."""
    y0 = p[:, 0:1]
    Hc = np.exp(p[:, 1:2])
    h, dh = D.person_height, 0.01
    if D.u_head is None:
        vh_p, ok = head_rows(y0, Hc, D.v_foot, h, D.focal_px, D.cy)
        vh_2, ok2 = head_rows(y0, Hc, D.v_foot, h + dh, D.focal_px, D.cy)
    else:
        uh_p, vh_p, ok = head_pixels(y0, Hc, D.u_foot, D.v_foot, h, D.focal_px, D.cx, D.cy)
        uh_2, vh_2, ok2 = head_pixels(y0, Hc, D.u_foot, D.v_foot, h + dh, D.focal_px, D.cx, D.cy)
    ok = ok & ok2
    sv = np.sqrt(2 * D.pixel_sd**2 + (np.nan_to_num((vh_2 - vh_p) / dh) * D.height_sd) ** 2)
    ev = np.where(ok, (D.v_head - vh_p) / sv, 1e3)
    if D.u_head is None:
        return ev[..., None], ok
    pix = np.abs(D.v_foot - D.v_head)
    su = np.sqrt(D.head_u_sd**2 + D.pixel_sd**2 + (D.lean_sd * pix) ** 2 + (np.nan_to_num((uh_2 - uh_p) / dh) * D.height_sd) ** 2)
    eu = np.where(ok & D.has_u_head, (D.u_head - uh_p) / su, 0.0)
    eu = np.where(ok | ~D.has_u_head, eu, 1e3)
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


def _wmedian(x, w):
    """Weighted median along axis 1 of ``(B, n)`` values ``x`` with weights ``w >= 0``; ``(B, 1)``, NaN where no weight."""
    x = np.where(w > 0, x, np.inf)
    o = np.argsort(x, axis=1)
    xs, ws = np.take_along_axis(x, o, 1), np.take_along_axis(np.broadcast_to(w, x.shape), o, 1)
    c = np.cumsum(ws, axis=1)
    k = np.argmax(c >= 0.5 * c[:, -1:], axis=1)
    return np.where(c[:, -1] > 0, xs[np.arange(x.shape[0]), k], np.nan)[:, None]


def _gn(p, D: PeopleData, H, iters_huber=12, iters_tukey=15, tol=(1e-4, 1e-7)):
    """Batched robust Gauss-Newton (IRLS). ``p``: ``(B, 2)`` ``[y0, log Hc]``; arrays of ``D``: ``(1, n)`` or ``(B, n)``;
    ``D.mult``: optional ``(B, n)`` multiplicities of the observations (a bootstrap resample; None = 1 each).

    A Huber phase (at most ``iters_huber`` steps, ended early once every row has converged)
    starts the Tukey phase, which always runs (at most ``iters_tukey`` steps, ended once every
    row has converged). Returns ``(p, e, ok, scale, converged)``; ``converged`` bool ``(B,)``:
    the row's last Tukey step was below the tolerance ``tol`` (pixels of ``y0``, ``log Hc``).
    """
    p = p.copy()
    B = p.shape[0]
    eps, tol = np.array([0.05, 1e-4]), np.asarray(tol, np.float64)
    m = D.mult
    mult = np.ones((B, 1)) if m is None else np.asarray(m, np.float64)
    scale = np.ones((B, 1))
    moving = np.ones(B, bool)
    e, ok = _resid(p, D)
    for kind, iters in (("huber", iters_huber), ("tukey", iters_tukey)):
        moving = np.ones(B, bool)
        for _ in range(iters):
            if kind == "tukey":
                mad = 1.4826 * _wmedian(np.abs(e[..., 0]), ok * mult)
                scale = np.maximum(1.0, np.nan_to_num(mad, nan=1.0))
            step = _gn_step(p, e, ok, _weights(e, kind, scale) * ok * mult, D, eps, H)
            cost0 = (_rho(e, kind, scale) * mult).sum(1)
            t = np.ones(B)
            for _ in range(6):
                e_new, ok_new = _resid(p + step * t[:, None], D)
                worse = (_rho(e_new, kind, scale) * mult).sum(1) > cost0 + 1e-12
                if not worse.any():
                    break
                t = np.where(worse, t * 0.5, t)
            t = np.where(t < 0.03, 0.0, t)
            p = p + step * t[:, None]
            # the residuals at the new p: the last line-search evaluation where a step was taken (a row still
            # worse after the last halving has t < 0.03 -> 0 and keeps its residuals)
            e, ok = np.where((t > 0)[:, None, None], e_new, e), np.where((t > 0)[:, None], ok_new, ok)
            moving = np.any(np.abs(step * t[:, None]) >= tol, axis=1)
            if not moving.any():
                break
    return p, e, ok, scale, ~moving


def _gn_step(p, e, ok, w, D: PeopleData, eps, H):
    """One weighted Gauss-Newton step ``(B, 2)`` (forward-difference Jacobian, tiny Levenberg damping, clipped
    to a quarter of the image height in ``y0`` and 0.5 in ``log Hc``)."""
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
    return np.nan_to_num(step)


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


def _usable(obs: np.ndarray, H: int, border_px: float) -> np.ndarray:
    """Indices of the observations seen whole: finite, head below row ``border_px``, feet above the last row
    minus ``border_px``, feet below the head."""
    finite = np.all(np.isfinite(obs[:, :3]), axis=1)
    with np.errstate(invalid="ignore"):
        inside = finite & (obs[:, 2] > border_px) & (obs[:, 1] < H - 1 - border_px) & (obs[:, 1] > obs[:, 2])
    return np.flatnonzero(inside)


def _check_people_input(obs, focal_px, s: PeopleFitSettings, track_ids) -> np.ndarray | None:
    """Validate :func:`fit_camera_from_people`'s inputs; return the track ids as an array (or None).
    Raises MaskDepthError with one line."""
    if obs.ndim != 2 or obs.shape[1] not in (3, 4):
        raise MaskDepthError(
            f"people observations must be (n, 3) rows (u_foot, v_foot, v_head) or (n, 4) with u_head, got shape {obs.shape}"
        )
    if not (focal_px > 0 and s.person_height > 0):
        raise MaskDepthError("focal_px and person_height must be positive")
    if not (s.height_sd >= 0 and s.mean_height_sd >= 0):
        raise MaskDepthError(f"the person-height SDs must be >= 0 metres, got {s.height_sd:g} and {s.mean_height_sd:g}")
    if track_ids is None:
        return None
    t = np.asarray(track_ids).ravel()
    if t.size != obs.shape[0]:
        raise MaskDepthError(f"track_ids has {t.size} entries for {obs.shape[0]} observations")
    return t


def _people_counts(track: np.ndarray | None, idx_used: np.ndarray, inl_used: np.ndarray):
    """Cluster codes of the usable observations (one per person / track), the number of people seen
    whole, and the number with at least one inlier observation."""
    if track is None:
        codes = np.arange(idx_used.size)
    else:
        codes = np.unique(track[idx_used].astype(str), return_inverse=True)[1].ravel()
    n_people = int(codes.max()) + 1 if codes.size else 0
    return codes, n_people, int(np.unique(codes[inl_used]).size)


@dataclass(frozen=True)
class PeopleFitSettings:
    """Settings of :func:`fit_camera_from_people` (module docstring for the method).

    Attributes:
        person_height: the assumed mean height of the population the people come from, metres (default 1.7).
        height_sd: spread (SD) of people's heights around it, metres (default 0.08): weights the residuals;
            its effect on the intervals is measured by the bootstrap over people.
        mean_height_sd: uncertainty (SD, metres) of ``person_height`` as the population's mean, propagated
            into the camera-height interval (default 0.05; 0 = the mean is known exactly).
        pixel_sd: detection noise of foot and head rows, pixels (default 1).
        head_u_sd: detection noise of the head column, pixels (default 2).
        lean_sd: people's lean / pose spread of the head column, as a fraction of their pixel height (default 0.03).
        border_px: heads within this many pixels of row 0 and feet within it of the last row are cut by the
            frame and dropped (default 0.5).
        n_boot: bootstrap resamples for the 95 % intervals (default 200; 0 = none: intervals null).
        seed: bootstrap seed (default 0).
        min_obs: fewer usable people (distinct tracks) give null intervals and a warning (default 5).
        min_people: fewer distinct people fitted give a warning (default 10).
    """

    person_height: float = 1.7
    height_sd: float = 0.08
    mean_height_sd: float = 0.05
    pixel_sd: float = 1.0
    head_u_sd: float = 2.0
    lean_sd: float = 0.03
    border_px: float = 0.5
    n_boot: int = 200
    seed: int = 0
    min_obs: int = 5
    min_people: int = 10


def fit_camera_from_people(
    observations,
    focal_px: float,
    cx: float,
    cy: float,
    image_size: Sequence[int],
    settings: PeopleFitSettings | None = None,
    track_ids=None,
) -> CalibrationResult:
    """Horizon and camera height from upright people (module docstring for the method and the intervals).

    Args:
        observations: float ``(n, 3)`` rows ``(u_foot, v_foot, v_head)`` in pixels at
            ``image_size``, or ``(n, 4)`` rows with the head column ``u_head`` as well (NaN
            = not observed): the lean of off-centre people towards the vertical vanishing
            point then also measures the pitch (:func:`head_pixels`), which helps most for
            steep cameras whose horizon lies far above the image.
        focal_px, cx, cy: intrinsics in pixels (square pixels).
        image_size: ``(W, H)``.
        settings: :class:`PeopleFitSettings` (default: its defaults).
        track_ids: optional ``(n,)`` person (track) of each observation, any hashable values: the
            observations of one person are resampled together (cluster bootstrap). None = every
            observation is a different person.
    Returns:
        :class:`CalibrationResult` (``method="people"``, roll 0); ``details`` holds ``n_people``,
        ``interval`` (what the intervals include) and ``at_bound`` (the estimate is not determined).
    Raises:
        MaskDepthError: malformed observations or track ids, fewer than 2 usable ones, non-positive
        focal length or person height, negative SDs, or a fit whose horizon lies at/below the last row.
    """
    s = settings if settings is not None else PeopleFitSettings()
    W, H = int(image_size[0]), int(image_size[1])
    obs = np.asarray(observations, np.float64)
    track = _check_people_input(obs, focal_px, s, track_ids)
    n_obs = obs.shape[0]
    idx_used = _usable(obs, H, s.border_px)
    n_used = idx_used.size
    if n_used < 2:
        raise MaskDepthError(f"calibration needs at least 2 people seen whole (feet and head inside the frame), got {n_used} of {n_obs}")
    D = PeopleData.from_observations(obs, idx_used, (focal_px, cx, cy), s)
    vf, vh = D.v_foot[0], D.v_head[0]
    y0i, Hci = _profile_init(vf, vh, s.person_height, focal_px, cy, H)
    p, e, ok, scale, conv = _gn(np.array([[y0i, math.log(Hci)]]), D, H, iters_tukey=60)
    y0, Hc = float(p[0, 0]), float(math.exp(p[0, 1]))
    if y0 >= H - 1:
        raise MaskDepthError(
            f"the fitted horizon (row {y0:.0f}) lies below the image ({H} rows): the people observations are inconsistent with an upright model"
        )
    inl_used = (_weights(e, "tukey", scale) * ok)[0] > 0
    pred, _ = head_rows(y0, Hc, vf, s.person_height, focal_px, cy)
    rms = float(np.sqrt(np.mean((vh - pred)[inl_used] ** 2))) if inl_used.any() else float("nan")
    inliers = np.zeros(n_obs, bool)
    inliers[idx_used[inl_used]] = True
    codes, n_people, n_people_inl = _people_counts(track, idx_used, inl_used)
    details: dict[str, Any] = {
        "person_height_m": s.person_height,
        "height_sd_m": s.height_sd,
        "mean_height_sd_m": s.mean_height_sd,
        "n_boot": s.n_boot,
        "cut_by_border": int(n_obs - n_used),
        "n_people": n_people,
        "n_people_inliers": n_people_inl,
        "init": [round(y0i, 3), round(Hci, 4)],
        "head_columns_used": 0 if D.has_u_head is None else int(D.has_u_head.sum()),
    }
    fit = _PeopleFit(p, D, codes, inl_used, n_people, n_people_inl, at_bound(y0, Hc, bool(conv[0]), focal_px, cy, H))
    hci, cci, warns = _people_intervals(fit, H, s, details)
    has_ci = s.n_boot > 0 or n_people_inl < s.min_obs or bool(details["at_bound"])
    cam = Camera(focal_px, cx, cy, y0, Hc, (W, H), 0.0, hci if has_ci else None, cci if has_ci else None, source="people")
    n_inl = int(inl_used.sum())
    return CalibrationResult(cam, "people", n_obs, int(n_used), n_inl, inliers, rms, "; ".join(warns) if warns else None, details)


@dataclass(frozen=True)
class _PeopleFit:
    """The full-data fit handed to the intervals: ``p`` ``(1, 2)`` ``[y0, log Hc]``, its data, the person code of each
    usable observation, which are inliers, the number of people (all / with an inlier) and :func:`at_bound`'s reasons."""

    p: np.ndarray
    data: PeopleData
    codes: np.ndarray
    inl_used: np.ndarray
    n_people: int
    n_people_inl: int
    bound: list[str]


def _people_intervals(fit: _PeopleFit, H: int, s: PeopleFitSettings, details: dict):
    """The 95 % intervals of :func:`fit_camera_from_people` and its warnings; fills ``details``.
    Returns ``(hci, cci, warnings)`` (``(None, None)`` = unbounded)."""
    y0, Hc = float(fit.p[0, 0]), float(math.exp(fit.p[0, 1]))
    vf, inl_used = fit.data.v_foot[0], fit.inl_used
    warns: list[str] = []
    none = (None, None)
    details["at_bound"] = bool(fit.bound)
    if fit.bound:
        details["at_bound_why"] = "; ".join(fit.bound)
        warns.append(at_bound_warning(fit.bound))
    spread_used = float(np.percentile(vf, 90) - np.percentile(vf, 10))
    spread = float(np.percentile(vf[inl_used], 90) - np.percentile(vf[inl_used], 10)) if inl_used.sum() >= 2 else 0.0
    details["foot_row_spread_px"] = round(spread, 2)
    unbounded = few_people_warnings(fit.n_people, fit.n_people_inl, spread_used, H, s.min_obs)
    if unbounded:
        return none, none, warns + unbounded
    warns += weak_fit_warnings(fit.n_people, fit.n_people_inl, s.min_people, Hc, s.person_height)
    if fit.bound or s.n_boot <= 0:
        return none, none, warns
    k = small_sample_factor(fit.n_people_inl)
    details["ci_expansion"] = round(k, 4)
    details["interval"] = (
        f"95 % cluster bootstrap over {fit.n_people} people (each person's observations resampled together), "
        f"expanded x{k:.2f} for few people; the camera height's also includes the uncertainty of the people's mean height "
        f"({s.person_height:g} +- {s.mean_height_sd:g} m)"
    )

    def refit(p0, mult):  # Tukey steps only: the start is the full data's robust fit
        return _gn(p0, replace(fit.data, mult=mult), H, iters_huber=0, iters_tukey=20, tol=(1e-3, 1e-6))[0]

    yb, hb, bad = cluster_refits(refit, fit.p, fit.codes, s.n_boot, s.seed, H)
    nb = int(bad.sum())
    details["bootstrap_failed"] = nb
    if nb > 0.025 * s.n_boot:
        hs = np.sort(hb[~bad])
        warns.append(bootstrap_failed_warning(nb, s.n_boot))
        return none, ((float(np.quantile(hs, 0.025)) if hs.size else None), None), warns
    hci, cci, off = people_intervals(y0, Hc, yb[~bad], hb[~bad], k, s.person_height, s.mean_height_sd, s.seed)
    return hci, cci, warns + interval_warnings(hci, cci, Hc, H, off)


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
        bg_depth: float ``(H, W)`` metres, 0 = unknown (e.g. :func:`~maskdepth.scene.depth_sources.load_bg_depth`'s ``.depth``).
        K: ``(3, 3)`` intrinsics at the depth's size (``fx`` is used as the focal length).
        rng: RANSAC generator (default seed 0).
        **plane_kw: passed to :func:`maskdepth.data.geometry.fit_support_plane`.
    Returns:
        :class:`CalibrationResult` (``method="depth_plane"``; ``residual_rms_px`` is the RMS
        point-to-plane distance of the support in metres).
    Raises:
        MaskDepthError: no floor plane found, or the plane's horizon is at/below the last row.
    """
    from ...data.geometry import backproject, fit_support_plane

    d = np.asarray(bg_depth, np.float64)
    if d.ndim != 2:
        raise MaskDepthError(f"background depth must be (H, W), got shape {d.shape}")
    K = np.asarray(K, np.float64)
    H, W = d.shape
    fit = fit_support_plane(d, K, rng=rng, **plane_kw)
    if fit.method != "ransac_plane" or fit.normal is None:
        raise MaskDepthError(
            "no floor plane found in the background depth (RANSAC): give a camera file (camera.json) or calibrate from people"
        )
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
    frames_per_person: int = 1,
    height_normal: tuple[float, float] | None = None,
):
    """People observations ``(u_foot, v_foot, v_head)`` seen by a known camera, for tests and benchmarks.

    Inliers: heights uniform in ``heights`` (metres), or normal ``height_normal = (mean, sd)``
    (metres; e.g. an adult population), foot pixels uniform over the image columns 5-95 %
    and the rows from ``margin_frac * H`` below the horizon to the last but one row; people
    whose head would leave the frame are redrawn. Outliers (``round(outlier_frac * n)``
    people): 70 % seated (head at 55-75 % of the standing height), 30 % with occluded feet
    (foot row raised by 10-25 % of the pixel height). Gaussian noise of ``pixel_sd`` pixels on
    all three coordinates. With ``with_head_u`` a fourth column ``u_head`` (the projected head
    column plus Gaussian noise of ``head_u_sd`` pixels and a lean of ``lean_sd`` times the
    pixel height).

    With ``frames_per_person = k > 1`` each person is seen in ``k`` frames of a straight walk
    between two such foot pixels (evenly spaced floor points; a line on the floor is a line
    in the image, so every foot stays inside the region): one height, one kind and one
    seating / occlusion fraction per person, independent pixel noise, lean and head-column
    noise per frame (video of a few people, whose observations are not independent).

    Returns:
        ``(obs, info)``: float64 ``(n k, 3)`` (or ``(n k, 4)``), person by person, and
        ``{"height_m": (n k,), "top_m": (n k,) the head's height above the floor (seated: lower), "outlier": bool (n k,),
        "kind": list[str] (n k), "person": int (n k,)}``.
    Raises:
        MaskDepthError: the camera sees too little floor to place people, or ``frames_per_person < 1``.
    """
    W, H = camera.image_size
    v_lo = max(camera.horizon_y + margin_frac * H, 0.0)
    if v_lo >= H - 2:
        raise MaskDepthError("the camera sees too little floor to place synthetic people")
    k_f = int(frames_per_person)
    if k_f < 1:
        raise MaskDepthError(f"frames_per_person must be >= 1, got {frames_per_person}")
    n_out = int(round(outlier_frac * n))
    kinds = ["seated" if k < int(round(0.7 * n_out)) else "feet_occluded" for k in range(n_out)] + ["ok"] * (n - n_out)
    rng.shuffle(kinds)
    obs = np.zeros((n * k_f, 4))
    hs = np.zeros(n * k_f)
    tops = np.zeros(n * k_f)
    for i, kind in enumerate(kinds):
        h, h_eff, occl, uv, top = _place_person(
            camera, kind, rng, k_f, v_lo, heights if height_normal is None else height_normal, height_normal is not None
        )
        u, v = uv[:, 0], uv[:, 1]
        sl = slice(i * k_f, (i + 1) * k_f)
        vf = v - occl * (v - top[:, 1])
        u_h = top[:, 0] + rng.normal(0.0, head_u_sd, k_f) + rng.normal(0.0, lean_sd, k_f) * (v - top[:, 1])
        obs[sl] = np.stack([u, vf, top[:, 1], u_h], axis=1)
        hs[sl], tops[sl] = h, h_eff
    obs[:, :3] += rng.normal(0.0, pixel_sd, (n * k_f, 3))
    obs = obs if with_head_u else obs[:, :3].copy()
    rep = lambda a: [x for x in a for _ in range(k_f)]  # noqa: E731
    info = {
        "height_m": hs,
        "top_m": tops,
        "outlier": np.array(rep([k != "ok" for k in kinds])),
        "kind": rep(kinds),
        "person": np.repeat(np.arange(n), k_f),
    }
    return obs, info


def _place_person(camera: Camera, kind: str, rng: np.random.Generator, k_f: int, v_lo: float, heights, normal: bool):
    """One synthetic person of ``kind`` (``"ok"``, ``"seated"``, ``"feet_occluded"``) for :func:`synthetic_people`:
    ``(h, h_eff, occl, uv (k_f, 2), top (k_f, 2))`` with the height ``h`` drawn from ``heights`` (normal ``(mean, sd)``
    when ``normal``, else uniform ``(lo, hi)``), the seated height ``h_eff``, the feet's occluded fraction ``occl``, the
    foot pixels (a straight walk for ``k_f > 1``) from row ``v_lo`` down and the head pixels, every head inside the frame.
    Raises: MaskDepthError after 1000 tries."""
    W, H = camera.image_size
    for _ in range(1000):
        h = rng.normal(*heights) if normal else rng.uniform(*heights)
        h_eff = h * rng.uniform(0.55, 0.75) if kind == "seated" else h
        occl = rng.uniform(0.10, 0.25) if kind == "feet_occluded" else 0.0
        ends = [(rng.uniform(0.05 * W, 0.95 * W), rng.uniform(v_lo, H - 2)) for _ in range(2 if k_f > 1 else 1)]
        if k_f > 1:
            P = camera.floor_point(np.array([e[0] for e in ends]), np.array([e[1] for e in ends]))
            uv = camera.project(P[0] + np.linspace(0.0, 1.0, k_f)[:, None] * (P[1] - P[0]))
        else:
            uv = np.array(ends)
        top = camera.top_of(uv[:, 0], uv[:, 1], h_eff)
        if h > 0 and np.all(np.isfinite(top)) and np.all(np.isfinite(uv)) and np.all(top[:, 1] >= 2):
            return h, h_eff, occl, uv, top
    raise MaskDepthError("could not place a synthetic person inside the frame")
