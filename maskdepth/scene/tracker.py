"""Stable object ids across video frames, and the id-switch metric.

:class:`Tracker` is a deliberately simple tracker (in the spirit of SORT, Bewley et al.,
"Simple Online and Realtime Tracking", ICIP 2016, without the Kalman filter):

1. Each track keeps its last box, a constant-velocity estimate of its centroid (an
   exponential moving average of frame-to-frame displacement, weight ``velocity_alpha``)
   and the number of frames it has been missed. Its **predicted box** is the last box
   shifted by ``velocity * (missed + 1)``.
2. **IoU pass**: all (track, detection) pairs with IoU(predicted box, box) >= ``iou_min``
   are matched greedily by decreasing IoU.
3. **Centroid fallback**: remaining pairs whose centroid distance is within the gate
   ``max(gate_px, gate_scale * sqrt(track area))`` are matched greedily by increasing
   distance (small or fast objects whose boxes no longer overlap).
4. Unmatched detections start new tracks (ids 1, 2, ... never reused); a track missed for
   more than ``max_missed`` consecutive frames retires.

Two walkers whose masks merge while they cross give one detection: it goes to one track,
the other coasts on its velocity and is picked up again when they separate.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two inclusive pixel boxes ``(x0, y0, x1, y1)``, in [0, 1]."""
    ix = min(a[2], b[2]) - max(a[0], b[0]) + 1
    iy = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return float(inter / (area(a) + area(b) - inter))


def _center(b) -> tuple[float, float]:
    return (0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3]))


@dataclass
class _Track:
    id: int
    bbox: tuple[float, float, float, float]
    vx: float = 0.0
    vy: float = 0.0
    missed: int = 0
    age: int = 1

    def predicted(self) -> tuple[float, float, float, float]:
        k = self.missed + 1
        dx, dy = self.vx * k, self.vy * k
        b = self.bbox
        return (b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy)


@dataclass
class Tracker:
    """Greedy IoU tracker with a centroid-distance fallback (see the module docstring).

    Attributes:
        iou_min: smallest IoU for an IoU match (default 0.3).
        gate_px: smallest centroid gate in pixels (default 20).
        gate_scale: gate as a multiple of ``sqrt(track box area)`` (default 1.0).
        max_missed: frames a track may go unmatched before it retires (default 10).
        velocity_alpha: EMA weight of the newest displacement (default 0.5).
    """

    iou_min: float = 0.3
    gate_px: float = 20.0
    gate_scale: float = 1.0
    max_missed: int = 10
    velocity_alpha: float = 0.5
    tracks: list = field(default_factory=list)
    next_id: int = 1

    def reset(self) -> None:
        """Forget all tracks (ids restart at 1)."""
        self.tracks.clear()
        self.next_id = 1

    def _greedy(self, pairs: list, used_t: set, assign: dict) -> None:
        """Greedy matching: best cost first, each track and each detection at most once (updates in place)."""
        for _, ti, di in sorted(pairs):
            if ti in used_t or di in assign:
                continue
            used_t.add(ti)
            assign[di] = self.tracks[ti]

    def update(self, objects: list) -> list:
        """Assign stable ids to one frame's objects.

        Args:
            objects: objects with a ``bbox`` ``(x0, y0, x1, y1)`` attribute (e.g.
                :class:`~maskdepth.scene.objects.SceneObject`), in any order.
        Returns:
            Shallow copies of ``objects`` in the same order with ``id`` set to the track id.
        """
        boxes = [tuple(float(x) for x in o.bbox) for o in objects]
        assign: dict[int, _Track] = {}
        preds = [t.predicted() for t in self.tracks]
        pairs = []
        for ti, pb in enumerate(preds):
            for di, b in enumerate(boxes):
                iou = box_iou(pb, b)
                if iou >= self.iou_min:
                    pairs.append((-iou, ti, di))
        used_t: set[int] = set()
        self._greedy(pairs, used_t, assign)
        pairs = []
        for ti, pb in enumerate(preds):
            if ti in used_t:
                continue
            t = self.tracks[ti]
            w, h = t.bbox[2] - t.bbox[0] + 1, t.bbox[3] - t.bbox[1] + 1
            gate = max(self.gate_px, self.gate_scale * math.sqrt(max(w * h, 1.0)))
            pc = _center(pb)
            for di, b in enumerate(boxes):
                if di in assign:
                    continue
                c = _center(b)
                dist = math.hypot(c[0] - pc[0], c[1] - pc[1])
                if dist <= gate:
                    pairs.append((dist, ti, di))
        self._greedy(pairs, used_t, assign)
        out = []
        for di, o in enumerate(objects):
            t = assign.get(di)
            b = boxes[di]
            if t is None:
                t = _Track(self.next_id, b)
                self.next_id += 1
                self.tracks.append(t)
                used_t.add(len(self.tracks) - 1)
            else:
                c0, c1 = _center(t.bbox), _center(b)
                k = t.missed + 1
                a = self.velocity_alpha
                t.vx = (1 - a) * t.vx + a * (c1[0] - c0[0]) / k
                t.vy = (1 - a) * t.vy + a * (c1[1] - c0[1]) / k
                t.bbox, t.missed = b, 0
                t.age += 1
            o2 = copy.copy(o)
            o2.id = t.id
            out.append(o2)
        matched_ids = {o.id for o in out}
        alive = []
        for t in self.tracks:
            if t.id not in matched_ids:
                t.missed += 1
            if t.missed <= self.max_missed:
                alive.append(t)
        self.tracks = alive
        return out


def id_switches(track_ids_per_frame: Sequence[Sequence[int | None]], truth_ids_per_frame: Sequence[Sequence[int | None]]) -> dict:
    """Identity switches as in CLEAR-MOT (Bernardin & Stiefelhagen, "Evaluating Multiple
    Object Tracking Performance: The CLEAR MOT Metrics", EURASIP JIVP 2008).

    Frame ``k`` lists its matched pairs: ``track_ids_per_frame[k][i]`` is the hypothesis
    id matched to the ground-truth object ``truth_ids_per_frame[k][i]`` (``None`` on either
    side = unmatched, ignored). A switch is counted when a truth object is matched to a
    different hypothesis id than at its previous matched frame.

    Returns:
        ``{"id_switches": int, "frames": int, "per_100_frames": float}``.
    Raises:
        ValueError: the two sequences (or a frame's two lists) differ in length.
    """
    if len(track_ids_per_frame) != len(truth_ids_per_frame):
        raise ValueError("track and truth sequences must have the same number of frames")
    last: dict = {}
    sw = 0
    for hyp, tru in zip(track_ids_per_frame, truth_ids_per_frame):
        if len(hyp) != len(tru):
            raise ValueError("each frame must list as many track ids as truth ids")
        for h, t in zip(hyp, tru):
            if h is None or t is None:
                continue
            if t in last and last[t] != h:
                sw += 1
            last[t] = h
    n = len(truth_ids_per_frame)
    return {"id_switches": sw, "frames": n, "per_100_frames": (100.0 * sw / n) if n else 0.0}
