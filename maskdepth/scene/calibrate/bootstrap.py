"""The 95 % intervals of the camera calibrations: a cluster bootstrap over people, expanded for few people.

* a cluster bootstrap over people (Davison & Hinkley, "Bootstrap Methods and their Application",
  1997, sec. 3.8): the observations of one person (track) are resampled together, ``n_boot``
  seeded resamples (:func:`cluster_refits`); each resample is refitted by the caller's ``refit``
  from the full-data estimate with the resample's multiplicities;
* the deviations of the refits from the estimate are expanded by :func:`small_sample_factor`
  (``sqrt(n/(n-p)) t_{n-p}/z``; Hesterberg, Am. Stat. 2015) and, when the estimate lies outside
  or on the end of its bootstrap distribution, reflected about it (:func:`centred`): an estimate
  always lies inside its interval;
* the camera height's deviations are taken in log space and each replicate is also scaled by
  ``mu / person_height``, ``mu ~ N(person_height, mean_height_sd)`` (the prior on the people's mean
  height, which the images cannot measure; :func:`people_intervals`).

The floor-points fit (:mod:`.floor`) uses :func:`small_sample_factor` too.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .warnings import HEIGHT_RANGE_M


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


def cluster_refits(
    refit: Callable[[np.ndarray, np.ndarray], np.ndarray], p: np.ndarray, clusters: np.ndarray, n_boot: int, seed: int, H: int
):
    """Cluster-bootstrap refits of the people fit.

    Args:
        refit: ``refit(p0 (B, 2), mult (B, n)) -> (B, 2)`` ``[y0, log Hc]``: the fit from ``p0`` with observation
            ``i`` counted ``mult[b, i]`` times.
        p: ``(1, 2)`` the full-data estimate ``[y0 (px), log Hc (m)]``, every refit's start.
        clusters: int ``(n,)`` person codes (:func:`maskdepth.evaluate.metrics.cluster_resample_counts`).
        n_boot, seed: resamples and their seed; H: image rows.
    Returns:
        ``(y0 (B,), Hc (B,), bad bool (B,))``; bad: failed, stuck at the start or outside the plausible range
        (:data:`~.warnings.HEIGHT_RANGE_M`, horizon below the image or beyond 20 image heights above it).
    """
    from ...evaluate.metrics import cluster_resample_counts

    m = cluster_resample_counts(clusters, n_boot, np.random.default_rng(seed))
    pb = refit(np.repeat(p, n_boot, axis=0), m)
    yb, hb = pb[:, 0], np.exp(pb[:, 1])
    bad = ~np.isfinite(yb) | ~np.isfinite(hb) | (hb < HEIGHT_RANGE_M[0]) | (hb > HEIGHT_RANGE_M[1]) | (yb >= H - 1) | (yb < -20 * H)
    bad |= np.all(pb == p, axis=1)  # did not move at all from the start: the line search is stuck there
    return yb, hb, bad


def centred(d: np.ndarray) -> tuple[np.ndarray, bool]:
    """Bootstrap deviations ``d`` from the estimate, reflected about 0 (``[d, -d]``) when the estimate lies outside their
    2.5-97.5 % range or on its end (an off-centre bootstrap distribution: the interval then stays symmetric about the estimate).
    Returns ``(deviations, reflected)``."""
    lo, hi = np.quantile(d, [0.025, 0.975])
    if lo < 0 < hi:
        return d, False
    return np.concatenate([d, -d]), True


def people_intervals(y0, Hc, yb, hb, k: float, person_height: float, mean_height_sd: float, seed: int):
    """95 % intervals of the horizon (rows) and the camera height (m) from good bootstrap refits ``yb, hb``: deviations
    from the estimate ``(y0, Hc)`` expanded by ``k`` (:func:`small_sample_factor`); the camera height's in log space,
    each replicate also scaled by ``mu / person_height`` with ``mu ~ N(person_height, mean_height_sd)`` (the prior on
    the population's mean height, truncated at 0.5 ``person_height``; seeded by ``[seed, 1]``).
    Returns ``(hci, cci, off_centre)``."""
    dy, off_y = centred(yb - y0)
    dl, off_h = centred(np.log(hb) - math.log(Hc))
    dl = k * dl
    if mean_height_sd > 0:
        mu = np.random.default_rng([seed, 1]).normal(person_height, mean_height_sd, dl.size)
        dl = dl + np.log(np.maximum(mu, 0.5 * person_height) / person_height)
    qy, ql = np.quantile(k * dy, [0.025, 0.975]), np.quantile(dl, [0.025, 0.975])
    hci = (float(y0 + min(qy[0], 0.0)), float(y0 + max(qy[1], 0.0)))
    cci = (float(Hc * math.exp(min(ql[0], 0.0))), float(Hc * math.exp(max(ql[1], 0.0))))
    return hci, cci, off_y or off_h
