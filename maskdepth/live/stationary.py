"""Which tracked objects stand still, for how long, and which may be absorbed into the background.

The rules of issue 20 ("a still person stays foreground; a bag left behind is absorbed"), in the
spirit of Frigate's stationary objects (an object that came in moving keeps its id and is re-checked,
never learned into the background):

* an object that **came in moving** -- its box centre has ever left the disc of radius
  ``move_tol`` around the centre where its track was born -- is *never* absorbed, however long it
  then stands still (a person who stops);
* an object **born still** (a bag left behind, a moved chair: its track appears where it stays) whose
  box has not moved for ``stationary_after_s`` seconds is reported once as ``stationary``, and
  after ``absorb_after_s`` seconds of stillness it is reported as ``absorbed``: the caller copies
  its pixels into the background, so it stops being foreground;
* a new id whose box covers (IoU >= ``rebirth_iou``) the last seen box of an object that came in moving
  is that object (the tracker swaps ids when blobs merge) and is never absorbed either; so is a new id
  whose box covers the place such an object's id *jumped away from* (its box moved by more than a box in
  one frame: a passer-by merged with a still person and took their id when they parted; without this the
  person's new id would come in moving only if some lost record's box happened to cover it);
* a track lost and re-born in the same place (a passer-by hid it for longer than the tracker's
  patience) keeps the clock of the lost one (box IoU >= ``rebirth_iou`` with a record lost less than
  ``forget_after_s`` seconds ago), so occlusions do not restart the count.

The separation between a still object and a static *background change* is the dual-background idea
of Porikli, Ivanov and Haga ("Robust abandoned object detection using dual foregrounds", EURASIP
JASP 2008): the long-term background keeps the object as foreground while the short-term one has
already taken it in; here the tracker's history decides instead of a pixel-wise evidence counter,
so a person who stops keeps the id they walked in with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["StillRecord", "StillObjects"]


def _centre(b) -> tuple[float, float]:
    return 0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3])


def _area(b) -> float:
    return float(max(1, b[2] - b[0] + 1) * max(1, b[3] - b[1] + 1))


def _iou(a, b) -> float:
    ix = min(a[2], b[2]) - max(a[0], b[0]) + 1
    iy = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    area = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter
    return inter / area


@dataclass
class StillRecord:
    """What is known about one tracked id.

    Attributes:
        id: the tracker's public id (> 0).
        born_bbox: box ``(x0, y0, x1, y1)`` (inclusive pixels) when the track was first seen.
        bbox: latest box.
        moved: True once the centre left the birth disc (then never absorbed).
        still_since: ``t_s`` (seconds) since which the box has stayed put.
        last_seen: ``t_s`` of the latest frame the id was seen.
        stationary: the ``stationary`` event was sent.
        absorbed: the ``absorbed`` event was sent (or it was relearnt as a ghost).
        checked: the ghost test was made (:meth:`maskdepth.live.background.BackgroundModel.update`).
        seen_bbox: the latest box as seen, merges included (what a reset must protect).
        vacated: for an object that came in moving, the box its id last jumped away from (IoU < ``rebirth_iou``
            with the box before), or None: a new id there within ``vacated_s`` is that object (module docstring).
        vacated_t: ``t_s`` of that jump.
    """

    id: int
    born_bbox: tuple
    bbox: tuple
    moved: bool
    still_since: float
    last_seen: float
    stationary: bool = False
    absorbed: bool = False
    checked: bool = False
    seen_bbox: tuple | None = None
    vacated: tuple | None = None
    vacated_t: float = 0.0

    def to_json(self) -> dict:
        """JSON-able dict (for the saved state)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_json(cls, d: dict) -> StillRecord:
        """Inverse of :meth:`to_json`. Raises KeyError/TypeError on a malformed dict."""
        d = dict(d)
        d["born_bbox"], d["bbox"] = tuple(d["born_bbox"]), tuple(d["bbox"])
        d["seen_bbox"] = tuple(d["seen_bbox"]) if d.get("seen_bbox") else None
        d["vacated"] = tuple(d["vacated"]) if d.get("vacated") else None  # absent in states saved before it existed
        return cls(**d)


@dataclass
class StillObjects:
    """The per-id records and the rules above.

    Attributes:
        stationary_after_s: seconds of stillness before the ``stationary`` event (> 0).
        absorb_after_s: seconds of stillness before the ``absorbed`` event (>= stationary_after_s).
        move_tol_px: smallest centre displacement, in pixels, that counts as moving; the tolerance
            is ``max(move_tol_px, move_tol_frac * sqrt(box area))`` (masks jitter by a few pixels).
        move_tol_frac: see ``move_tol_px``.
        rebirth_iou: box IoU that makes a new id the continuation of a lost still record.
        forget_after_s: a record not seen for this long is dropped.
        merge_area: a box whose area differs from the birth box's by more than this factor (a passer-by merged
            with a bag, an object half hidden) is not used to judge motion.
        vacated_s: seconds during which the place an id jumped away from is claimed for that object (the tracker
            confirms the new id there within a frame or two).
    """

    stationary_after_s: float = 30.0
    absorb_after_s: float = 600.0
    move_tol_px: float = 6.0
    move_tol_frac: float = 0.25
    rebirth_iou: float = 0.5
    forget_after_s: float = 60.0
    merge_area: float = 2.0
    vacated_s: float = 2.0
    records: dict = field(default_factory=dict)

    def _tol(self, b) -> float:
        return max(self.move_tol_px, self.move_tol_frac * math.sqrt(max(1.0, (b[2] - b[0] + 1) * (b[3] - b[1] + 1))))

    def _left_from(self, r: StillRecord, box: tuple, t_s: float) -> bool:
        """True when ``box`` covers (IoU >= ``rebirth_iou``) where ``r``'s object was last seen before it was lost, or
        the place its id jumped away from in the last ``vacated_s`` seconds (module docstring)."""
        if r.last_seen < t_s and _iou(r.seen_bbox or r.bbox, box) >= self.rebirth_iou:
            return True
        return r.vacated is not None and t_s - r.vacated_t <= self.vacated_s and _iou(r.vacated, box) >= self.rebirth_iou

    def _new(self, oid: int, box: tuple, t_s: float) -> StillRecord:
        """A record for a new id, inheriting the clock of a lost still record in the same place."""
        was_moving = [r for r in self.records.values() if r.moved and self._left_from(r, box, t_s)]
        if was_moving:  # the tracker gave a new id to someone who came in moving (an id swap at a merge)
            return StillRecord(oid, box, box, True, t_s, t_s, seen_bbox=box)
        lost = [r for r in self.records.values() if r.last_seen < t_s and not r.moved and _iou(r.bbox, box) >= self.rebirth_iou]
        if lost:
            old = max(lost, key=lambda r: _iou(r.bbox, box))
            del self.records[old.id]
            return StillRecord(oid, old.born_bbox, box, False, old.still_since, t_s, old.stationary, old.absorbed, old.checked)
        return StillRecord(oid, box, box, False, t_s, t_s)

    def update(self, objects: list, t_s: float) -> tuple[list[dict], list[StillRecord]]:
        """Advance the records with one frame's tracked objects.

        Args:
            objects: objects with ``id`` (0 = not yet confirmed: ignored) and ``bbox`` ``(x0, y0, x1, y1)``.
            t_s: the frame's time in seconds (non-decreasing).
        Returns:
            ``(events, to_absorb)``: ``stationary`` events (dicts without time) and the records whose
            pixels must be absorbed now (their ``absorbed`` event is sent by the caller, who knows
            whether the copy happened).
        """
        events, absorb = [], []
        for o in objects:
            oid = int(o.id)
            if oid <= 0:
                continue
            box = tuple(int(x) for x in o.bbox)
            r = self.records.get(oid)
            if r is None:
                r = self.records[oid] = self._new(oid, box, t_s)
            if r.moved and r.seen_bbox is not None and _iou(r.seen_bbox, box) < self.rebirth_iou:
                r.vacated, r.vacated_t = r.seen_bbox, t_s  # the id jumped: whoever appears there next is this object (module docstring)
            r.seen_bbox = box
            if not 1 / self.merge_area <= _area(box) / _area(r.born_bbox) <= self.merge_area:
                r.last_seen = t_s  # merged with a passer-by or half hidden: the box says nothing about its motion
                continue
            (cx, cy), (bx, by) = _centre(box), _centre(r.born_bbox)
            if math.hypot(cx - bx, cy - by) > self._tol(r.born_bbox):
                r.moved = True
            (px, py) = _centre(r.bbox)
            if math.hypot(cx - px, cy - py) > self._tol(r.bbox):
                r.still_since = t_s  # it moved since the last frame: the clock restarts
            r.bbox, r.last_seen = box, t_s
            if r.moved or r.absorbed:
                continue
            still = t_s - r.still_since
            if not r.stationary and still >= self.stationary_after_s:
                r.stationary = True
                events.append({"type": "stationary", "id": oid, "bbox": list(box), "still_s": round(still, 3)})
            if still >= self.absorb_after_s:
                absorb.append(r)
        self.records = {k: r for k, r in self.records.items() if t_s - r.last_seen <= self.forget_after_s}
        return events, absorb

    def clear(self) -> None:
        """Forget every record (after a background reset)."""
        self.records.clear()
