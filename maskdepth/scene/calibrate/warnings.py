"""The warnings of the camera calibration from people: why its values or intervals are weak.

* ``at_bound``: the full-data estimate sits at the edge of the fit's search box (pitch
  :data:`PITCH_RANGE_DEG`, camera height :data:`HEIGHT_RANGE_M`) or did not converge: the
  values are not determined by the people, the intervals are unbounded (:func:`at_bound`).
* too few people (``min_obs``: intervals unbounded; ``min_people``: a warning), people whose
  feet all lie at one distance (horizon and height trade off along a curve), most people
  outside the upright model (:func:`few_people_warnings`, :func:`weak_fit_warnings`);
* a camera at about head height (within :data:`HEAD_HEIGHT_M` of the people's height):
  people in line hide one another (:func:`head_height_warning`);
* wide intervals, failed bootstrap refits (:func:`interval_warnings`);
* vehicles or groups instead of upright people: most components seen whole are wider than
  :data:`WIDE_ASPECT` times their height (:func:`wide_warning`). Measured on the real clips of
  ``../shared/data/sequences`` (true masks): people's width/height median 0.35-0.41 (CAVIAR1,
  IBMtest2, HumanBody2; 90 % below 0.65, merged groups above), the cars of HighwayI median 0.91
  (84 % above 0.8; seen from the front, few are wider than tall).

Every function returns the warning lines (plain strings naming no command-line flag except
the floor-points alternative of :func:`wide_warning`, which names the calibration method).
"""

from __future__ import annotations

import math

# search box of the fit (the profile grid's pitches and the plausible heights): an estimate at its edge is
# not determined by the data (reported as ``at_bound``)
PITCH_RANGE_DEG = (-30.0, 85.0)
HEIGHT_RANGE_M = (0.05, 100.0)

# a camera at head height (within HEAD_HEIGHT_M of the people's): the warning of :func:`head_height_warning`
HEAD_HEIGHT_M = 0.3
_HEAD_HEIGHT = (
    "the camera is at about head height ({hc:.2f} m, people {h:g} m): the horizon passes through the heads, so people "
    "in line hide one another and merge into one component (such blobs are rejected, or bias the fit when they are not) "
    "and the height rests on how the heads' rows drift from the horizon; check it against a measured mounting height"
)

# a component wider than this times its height is not one standing person (module docstring: measured aspects)
WIDE_ASPECT = 0.75


def at_bound(y0: float, Hc: float, converged: bool, f: float, cy: float, H: int) -> list[str]:
    """Why the full-data estimate (horizon row ``y0`` px, camera height ``Hc`` m) is not determined: stuck at
    the search box or not converged (empty = fine). ``f``, ``cy``: focal length and principal row (px); ``H``: rows."""
    why = []
    pitch = math.degrees(math.atan((cy - y0) / f))
    if not PITCH_RANGE_DEG[0] + 0.5 < pitch < PITCH_RANGE_DEG[1] - 0.5 or y0 < -20 * H:
        why.append(f"the pitch ({pitch:.1f} deg) is at the edge of the search range {PITCH_RANGE_DEG[0]:g}..{PITCH_RANGE_DEG[1]:g} deg")
    if not 1.02 * HEIGHT_RANGE_M[0] < Hc < 0.98 * HEIGHT_RANGE_M[1]:
        why.append(f"the camera height ({Hc:.3g} m) is at the edge of the search range {HEIGHT_RANGE_M[0]:g}..{HEIGHT_RANGE_M[1]:g} m")
    if not converged:
        why.append("the fit did not converge")
    return why


def at_bound_warning(why: list[str]) -> str:
    """The warning of an estimate at the search box's edge (``why``: :func:`at_bound`'s reasons, non-empty)."""
    return f"the estimate is not determined by these people ({'; '.join(why)}): the values are not to be trusted, intervals unbounded"


def few_people_warnings(n_people: int, n_people_inl: int, spread_used: float, H: int, min_obs: int) -> list[str]:
    """The warning that makes the intervals unbounded, or an empty list.

    Args:
        n_people: distinct people (tracks) seen whole; n_people_inl: those with an inlier observation.
        spread_used: 10-90 % range of the usable people's foot rows (px); under 5 % of ``H`` rows they are at one distance.
        min_obs: fewer people (seen whole, or fitting the model) leave horizon and height unconstrained.
    """
    one_distance = spread_used < 0.05 * H
    if n_people < min_obs:
        return [f"only {n_people} people seen whole (need {min_obs}): horizon and height are unconstrained, intervals unbounded"]
    if n_people_inl < min_obs:
        why = (
            f"their feet all lie within {spread_used:.0f} px rows (one distance), so horizon and height cannot be separated"
            if one_distance
            else "check the focal length and the detections"
        )
        return [f"only {n_people_inl} of {n_people} people fit one upright-person model: {why}; intervals unbounded"]
    if one_distance:
        return [
            f"the people's feet all lie within {spread_used:.0f} px rows (one distance): horizon and height cannot be separated, "
            "intervals unbounded"
        ]
    return []


def weak_fit_warnings(n_people: int, n_people_inl: int, min_people: int, Hc: float, person_height: float) -> list[str]:
    """Warnings of a fit with bounded intervals: most people outside the upright model, fewer than
    ``min_people`` people fitting, a camera at head height (:func:`head_height_warning`)."""
    out = []
    if n_people_inl < 0.5 * n_people:
        out.append(f"only {n_people_inl} of {n_people} people fit the upright model: check the focal length and the detections")
    if n_people_inl < min_people:
        out.append(
            f"only {n_people_inl} distinct people (tracks) fit: the intervals rest on few people (want {min_people} or more walking through)"
        )
    head = head_height_warning(Hc, person_height)
    return out + ([head] if head else [])


def head_height_warning(Hc: float, person_height: float) -> str | None:
    """The warning for a camera within :data:`HEAD_HEIGHT_M` of the people's height (metres), else None."""
    return _HEAD_HEIGHT.format(hc=Hc, h=person_height) if abs(Hc - person_height) < HEAD_HEIGHT_M else None


def bootstrap_failed_warning(n_failed: int, n_boot: int) -> str:
    """The warning when more than 2.5 % of ``n_boot`` bootstrap refits failed (intervals unbounded)."""
    return f"{n_failed} of {n_boot} bootstrap refits failed: the data constrain the camera weakly, intervals unbounded"


def interval_warnings(hci, cci, Hc: float, H: int, off_centre: bool) -> list[str]:
    """Warnings about bounded 95 % intervals: the estimate outside its bootstrap distribution (``off_centre``), a
    camera-height interval ``cci`` (m) wider than 50 % of ``Hc``, a horizon interval ``hci`` (rows) wider than 25 % of ``H``."""
    out = []
    if off_centre:
        out.append("the estimate lies outside its bootstrap distribution (an unstable fit): interval made symmetric about it")
    if (cci[1] - cci[0]) > 0.5 * Hc:
        out.append(f"camera height weakly constrained by these people: 95 % interval {cci[0]:.2f}-{cci[1]:.2f} m")
    if (hci[1] - hci[0]) > 0.25 * H:
        out.append(f"horizon weakly constrained by these people: 95 % interval rows {hci[0]:.0f}-{hci[1]:.0f}")
    return out


def is_wide(bbox) -> bool:
    """Whether a component's bounding box ``(x0, y0, x1, y1)`` (inclusive pixels) is wider than :data:`WIDE_ASPECT`
    times its height (not one standing person)."""
    return (bbox[2] - bbox[0] + 1) > WIDE_ASPECT * (bbox[3] - bbox[1] + 1)


def wide_warning(n_wide: int, n_whole: int) -> str | None:
    """The warning when most of the ``n_whole`` components seen whole are wide for a person (``n_wide``), else None:
    the people model assumes upright people (a car taken for a 1.7 m person gives a wrong camera)."""
    if not n_whole or n_wide <= 0.5 * n_whole:
        return None
    return (
        f"{n_wide} of {n_whole} components seen whole are wider than {WIDE_ASPECT:g} x their height (a standing person: about 0.35): "
        "these look like vehicles or groups, not upright "
        "people, and the people model does not apply; calibrate from points on the floor instead (--floor-points)"
    )
