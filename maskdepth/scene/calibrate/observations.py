"""People observations of a frame's mask for the calibration from people (``maskdepth calibrate``).

Each connected component of the mask becomes an object (:func:`maskdepth.scene.extract_objects`,
no depth: only pixels are needed), every component is tracked (:class:`maskdepth.scene.Tracker`),
and the objects seen whole become person observations (foot row and column, head row and column;
:func:`~maskdepth.scene.calibrate.people.observations_from_objects`). Components cut by the frame
border (touching the first or last row or column) are skipped: their feet or head are not seen.
Components wider than :data:`~.warnings.WIDE_ASPECT` times their height are counted (vehicles or
groups, :func:`~.warnings.wide_warning`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..objects import extract_objects
from ..tracker import Tracker
from .people import observations_from_objects
from .warnings import is_wide


def cut_by_border(bbox, W: int, H: int) -> bool:
    """Whether a bounding box ``(x0, y0, x1, y1)`` (inclusive pixels) touches the border of a ``W x H`` frame."""
    x0, y0, x1, y1 = bbox
    return x0 <= 0 or y0 <= 0 or x1 >= W - 1 or y1 >= H - 1


@dataclass
class FramePeople:
    """The people of one frame: ``obs`` float64 ``(n, 4)`` (as :func:`people_observations`), ``track_ids`` int
    ``(n,)`` (the tracker's id; 0 = a fragment of a tracked object, or no tracker), ``n_objects``, ``n_cut``
    (components cut by the border) and ``n_wide`` (components seen whole wider than ``WIDE_ASPECT`` x their height)."""

    obs: np.ndarray
    track_ids: np.ndarray
    n_objects: int
    n_cut: int
    n_wide: int


def frame_people(mask: np.ndarray, tracker: Tracker | None = None) -> FramePeople:
    """Person observations of one frame's mask with the track of each (see :class:`FramePeople`).

    Every component is tracked (``tracker.update``; the border-cut ones too, so the tracks stay
    whole), then the components seen whole with a contact and a top pixel become observations.

    Args:
        mask: bool ``(H, W)`` foreground.
        tracker: the clip's tracker (state carried over frames), or None (ids 0).
    """
    H, W = mask.shape
    objs = extract_objects(mask, None, None)
    if tracker is not None:
        objs = tracker.update(objs)
    whole = [o for o in objs if not cut_by_border(o.bbox, W, H)]
    wide = sum(is_wide(o.bbox) for o in whole)
    seen = [o for o in whole if o.contact_px is not None and o.top_px is not None]
    ids = np.array([o.id if tracker is not None else 0 for o in seen], np.int64)
    return FramePeople(observations_from_objects(seen), ids, len(objs), len(objs) - len(whole), int(wide))


def people_observations(mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Person observations of one frame's mask.

    Args:
        mask: bool ``(H, W)`` foreground.
    Returns:
        ``(obs, n_objects, n_cut)``: float64 ``(n, 4)`` rows ``(u_foot, v_foot, v_head, u_head)``
        (pixels; :func:`~maskdepth.scene.calibrate.people.observations_from_objects`) of the components seen
        whole, the number of components, and how many were cut by the frame border.
    """
    fp = frame_people(mask)
    return fp.obs, fp.n_objects, fp.n_cut
