"""The tracker rules tried on the synthetic walker clips and not adopted (issue 21): :class:`VariantByteTracker`, the
product's :class:`~maskdepth.scene.tracking.ByteTracker` with them, so that every results table that compared them can be
made again; :func:`make_tracker` (the benchmarks' tracker factory) and :func:`make_engine` (the events engine, with the
zone handover) route to them only where a rule is asked for.

* **People in one blob** (``split_merged``, :mod:`benchmarks.merged_split`; with a camera only): a detection that carries
  at most one track and no hidden track but is clearly wider (side by side) or, seen from above, taller (one behind the
  other) in metres than one person (the track's own size when seen alone, else 0.5 x 1.7 m) is split into two person
  boxes before matching, so the second person gets a track of its own (listed in ``hidden`` with ``frames`` 0 at its
  box; the blob's object keeps the first person's id). ``wide`` was the product's default with a camera, chosen on seeds
  0-19, until decided again on seeds that look like typical clips (``results/events_split_recheck.md``: it failed its
  test on seeds 20-59 and on fresh seeds 300-339); ``tall`` and ``wide_tall`` were tried and not adopted
  (``results/events.md``, 'People in one blob').
* **Kalman update on a merged blob** (``merged_update``): ``"person"`` updates a track whose ``person_boxes`` entry
  differs from its detection's box (a merged blob that hides another track, with a camera) with that person box, so the
  blob does not drag its position and velocity (matching unchanged); ``"blob"`` is the product's update. Not adopted: on
  seeds 0-19 it lowered the CCTV mean IDF1 from 0.857 to 0.847, more id changes (``--merged-update`` in
  ``results/events.md``, 'The Kalman update of a track on a merged blob').
* **Colour rules** (``appearance_rule``; the product's tracker has only ``"contested_complete"``): the detections' colour
  descriptors (``extra["appearance"]``, set by the benchmark from the frame: :func:`benchmarks.appearance.add_appearance`)
  change the similarity of each (track, detection) pair as ``appearance_rule`` says (:func:`with_colour`). Here the
  colour settings default to off (``appearance_w`` 0, no relinking, every detection compared), as they were when the
  tables of ``results/events_appearance.md`` were made; the product adopted ``complete1.0+relink0.8+whole0.7`` (its
  fifth experiment) and turns it on by default.
* **Zone handover** (``zone_handover_s``, ``zone_handover_m`` of :class:`VariantEventEngine`): see its docstring; not
  adopted (``results/events_handover.md``).

With none of these rules asked for, :func:`make_tracker` and :func:`make_engine` give the product's classes, so every
other table measures the product itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from benchmarks.colour_split import after_split, brought_pixels, colour_pieces, list_split_people
from benchmarks.merged_split import PERSON_SIZE_M, SPLIT_MERGED_RULES, blob_size_m, split_boxes, two_people
from maskdepth.errors import MaskDepthError
from maskdepth.events import EventEngine
from maskdepth.scene.camera import Camera
from maskdepth.scene.tracking import SIZE_FRAMES, ByteTracker, colour_coefficients, colour_contests, covered_matrix
from maskdepth.scene.tracking import make_tracker as product_tracker

MERGED_UPDATE_RULES = ("blob", "person")
"""Values of ``merged_update``: the box a matched track's Kalman filter is updated with, ``blob`` (its detection's box,
the product's) or ``person`` (its ``person_boxes`` box, which differs from the detection's only on a merged blob that
hides another track under a ``merged_box`` rule other than ``blob``)."""

APPEARANCE_RULES = ("scale", "contested", "contested_complete")
"""Values of ``appearance_rule``: how colour enters the matching (:func:`with_colour`)."""

VARIANT_SETTINGS = (
    "merged_update",
    "split_merged",
    "appearance_w",
    "appearance_rate",
    "appearance_relink",
    "appearance_rule",
    "appearance_whole",
    "colour_split",
)
"""The settings :class:`VariantByteTracker` adds to the product's :class:`ByteTracker`."""


def make_tracker(kind: str = "bytetrack", fps: float = 10.0, camera: Camera | None = None, **settings):
    """The benchmarks' tracker: :func:`maskdepth.scene.tracking.make_tracker` (the product's), or a
    :class:`VariantByteTracker` where ``settings`` name one of :data:`VARIANT_SETTINGS`."""
    if kind == "bytetrack" and any(k in VARIANT_SETTINGS for k in settings):
        return VariantByteTracker(fps=fps, camera=camera, **settings)
    return product_tracker(kind, fps=fps, camera=camera, **settings)


class VariantByteTracker(ByteTracker):
    """:class:`~maskdepth.scene.tracking.ByteTracker` with the rules tried and not adopted (the module docstring).

    Args:
        fps, camera, settings: as :class:`ByteTracker`.
        merged_update: one of :data:`MERGED_UPDATE_RULES` (default ``"blob"``, the product's).
        split_merged: one of :data:`~benchmarks.merged_split.SPLIT_MERGED_RULES` (needs a camera; default ``"off"``): which
            detections that carry at most one track and no hidden track are split into two people before matching (a
            blob clearly wider or taller in metres than one person); the second person's track is listed in ``hidden``
            (``frames`` 0) at its box. ``None``: ``"off"``.
        appearance_w: weight of colour in the matching, in [0, 1] (default 0 here; the product's 1): where a track and a detection both have
            colour descriptors (the objects' ``extra["appearance"]``, :func:`benchmarks.appearance.add_appearance`),
            their similarity is changed by the Bhattacharyya coefficient ``B`` of the track's running descriptor and the
            detection's as ``appearance_rule`` says (:func:`with_colour`). A track's descriptor learns only from
            detections that are its alone (no other track's predicted box inside).
        appearance_rate: the running descriptor's rate, in (0, 1] (default 0.2: each sight counts a fifth).
        appearance_relink: a newly confirmed track takes the id of a lost track nearby whose colours match it with
            ``B`` at least this, in (0, 1] (:func:`maskdepth.scene.tracking._relink`); ``None`` (default here): never.
        appearance_rule: one of :data:`APPEARANCE_RULES` (default ``"scale"``).
        appearance_whole: colour compares a track only with detections at least this fraction, in (0, 1], of its median
            height seen alone (not with a piece of a broken-up person), and learns and relinks only from them; ``None``
            (default here): every detection.
        colour_split: share a blob that holds two or more tracks of different colours out among them by their pixels
            before matching (:mod:`benchmarks.colour_split`; the objects must bring their pixels, ``extra["pixels"]``,
            :class:`benchmarks.events_colour_split.PixelPainter`, and colour must be on); default ``False``.
    Raises:
        MaskDepthError: a setting out of range (naming it), or ``split_merged`` other than ``"off"`` without a camera.
    """

    def __init__(
        self,
        fps: float = 10.0,
        camera: Camera | None = None,
        merged_update: str = "blob",
        split_merged: str | None = "off",
        appearance_w: float = 0.0,
        appearance_rate: float = 0.2,
        appearance_relink: float | None = None,
        appearance_rule: str = "scale",
        appearance_whole: float | None = None,
        colour_split: bool = False,
        **settings,
    ):
        split_merged = "off" if split_merged is None else split_merged
        for name, v, allowed in (
            ("merged_update", merged_update, MERGED_UPDATE_RULES),
            ("appearance_rule", appearance_rule, APPEARANCE_RULES),
            ("split_merged", split_merged, SPLIT_MERGED_RULES),
        ):
            if v not in allowed:
                raise MaskDepthError(f"must be one of {', '.join(allowed)} (got {v!r})", param=name)
        if split_merged != "off" and camera is None:
            raise MaskDepthError(
                f"needs a camera (got {split_merged!r} without one; 'off' is the only rule without a camera)", param="split_merged"
            )
        self.merged_update, self.split_merged, self.appearance_rule = merged_update, split_merged, appearance_rule
        if colour_split and split_merged != "off":
            raise MaskDepthError("goes with split_merged 'off' only (one split rule at a time)", param="colour_split")
        self.colour_split = bool(colour_split)
        super().__init__(
            fps=fps,
            camera=camera,
            appearance_w=appearance_w,
            appearance_rate=appearance_rate,
            appearance_relink=appearance_relink,
            appearance_whole=appearance_whole,
            **settings,
        )

    def reset(self) -> None:
        """Forget all tracks (ids restart at 1)."""
        super().reset()
        self._size_m: dict[int, list[tuple[float, float]]] = {}  # library id -> (width, height) m, last frames seen alone
        self._split: set[int] = set()  # library ids matched to a piece of a split blob in the last frame
        self._saved: dict = {}

    def describe(self) -> dict:
        """The product's settings and this class's."""
        out = super().describe()
        out.update(
            merged_update=self.merged_update,
            split_merged=self.split_merged,
            appearance_rule=self.appearance_rule if self.appearance_w > 0 else None,
            colour_split=self.colour_split and self.uses_appearance,
        )
        return out

    # the hooks of ByteTracker.update

    def _with_colour(self, sim: np.ndarray) -> np.ndarray:
        return with_colour(self, sim)

    def _moved(self, old: int, new: int) -> None:
        super()._moved(old, new)
        if old in self._size_m:
            self._size_m[new] = self._size_m.pop(old)

    def _pieces(self, objects: list, xyxy: np.ndarray) -> tuple[np.ndarray, list[int]]:
        if self.colour_split and self.uses_appearance and (pixels := brought_pixels(objects)) is not None:
            return colour_pieces(self, xyxy, pixels)
        return _split_pieces(self, xyxy) if self.split_merged != "off" else super()._pieces(objects, xyxy)

    def _library_update(self, det, t_s: float | None):
        wrapped = list(self._lib.tracks) if self.merged_update == "person" else []
        self._saved = _record_updates(wrapped)
        try:
            return super()._library_update(det, t_s)
        finally:
            for t in wrapped:
                t.state_estimator.__dict__.pop("update", None)

    def _after_frame(self, xyxy: np.ndarray, pieces: np.ndarray, owner: list[int], matched: list[int], first: list[int]) -> None:
        alive = {int(t.tracker_id) for t in self._lib.tracks}
        self._size_m = {k: v for k, v in self._size_m.items() if k in alive}
        if self._saved:
            _update_with_person_boxes(self, pieces, matched, self._saved)
        if self.colour_split:
            after_split(self, pieces, owner, matched, first)
        if self.split_merged != "off":
            _second_people(self, xyxy, pieces, owner, matched, first)


def with_colour(tracker: ByteTracker, sim: np.ndarray) -> np.ndarray:
    """The similarity ``sim`` (tracks x detections, in [0, 1]) with colour, by ``appearance_rule``:

    * ``"scale"``: every pair times ``(1 - w) + w * B`` (``w`` = ``appearance_w``, ``B``: :func:`colour_coefficients`);
    * ``"contested"``: only the admissible pairs (``sim >= min_similarity`` = ``m``) of a track with two admissible
      detections or of a detection with two admissible tracks (where people meet or part) change, to
      ``m + (1 - m) ((1 - w) (sim - m) / (1 - m) + w B)``: they stay admissible (colour never drops a match, as it would
      for a piece of a broken-up mask) and are ranked by colour as much as ``w`` says;
    * ``"contested_complete"``: as ``"contested"``, only where every admissible pair of the track's row and of the
      detection's column has ``B`` (a rescored pair is never ranked against one left as it was).

    Pairs without ``B`` keep ``sim``. Returns float64, the shape of ``sim``."""
    if tracker.appearance_rule == "contested_complete":  # the product's (only contests whose every contender has colours)
        return colour_contests(tracker, sim)
    B = colour_coefficients(tracker, sim.shape)
    known, w = np.isfinite(B), tracker.appearance_w
    out = np.asarray(sim, np.float64).copy()
    if tracker.appearance_rule == "scale":
        out[known] *= (1.0 - w) + w * B[known]
        return out
    m = tracker.min_similarity
    ok = out >= m
    contested = ok & known & ((ok.sum(axis=1, keepdims=True) > 1) | (ok.sum(axis=0, keepdims=True) > 1))
    out[contested] = m + (1.0 - m) * ((1.0 - w) * (out[contested] - m) / max(1.0 - m, 1e-9) + w * B[contested])
    return out


def _split_pieces(tracker: ByteTracker, xyxy: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """``split_merged``: the detections ``xyxy`` (float ``(N, 4)`` pixels) with each blob that holds two people
    (:func:`~benchmarks.merged_split.two_people`) replaced by its two person boxes
    (:func:`~benchmarks.merged_split.split_boxes`): ``(pieces (P, 4), owner)``, ``owner[j]`` the detection of piece
    ``j`` (ascending). A blob is split only where no hidden track of the last frame (``frames`` >= 1) and at most one
    track matched in the last frame, not counting the tracks of the pieces it was split into then, lie at least
    ``hidden_cover`` inside it (a blob with two known tracks is left to :attr:`ByteTracker.hidden`)."""
    prev = {int(t.tracker_id): np.asarray(t.get_state_bbox(), np.float64) for t in tracker._lib.tracks if t.time_since_update == 0}
    keys = list(prev)
    on = covered_matrix(np.array([prev[k] for k in keys], np.float64).reshape(-1, 4), xyxy) >= tracker.hidden_cover
    hid = np.array([h.bbox for h in tracker.hidden if h.frames > 0], np.float64).reshape(-1, 4)
    hidden_in = covered_matrix(hid, xyxy) >= tracker.hidden_cover
    pieces, owner = [], []
    for i, d in enumerate(xyxy):
        inside = [keys[t] for t in np.flatnonzero(on[:, i])]
        two = None
        if not hidden_in[:, i].any() and len([k for k in inside if k not in tracker._split]) <= 1:
            two = _two_people_boxes(tracker, d, inside, prev)
        for box in [d] if two is None else two:
            pieces.append(box)
            owner.append(i)
    return np.array(pieces, np.float64).reshape(-1, 4), owner


def _two_people_boxes(tracker: ByteTracker, d: np.ndarray, inside: list[int], prev: dict) -> np.ndarray | None:
    """The two person boxes (float ``(2, 4)``) of blob ``d`` if it holds two people by ``tracker.split_merged``, else
    ``None``; one person's size is the median size in metres of the track of ``inside`` (library ids, boxes ``prev``)
    matched most often, over its last frames seen alone (at least half of :data:`SIZE_FRAMES`), else
    :data:`~benchmarks.merged_split.PERSON_SIZE_M`; the first box at the blob's end nearer that track's box."""
    lib = max(inside, key=lambda k: tracker._hits.get(k, 0), default=None)
    own = tracker._size_m.get(lib, []) if lib is not None else []
    ref = tuple(float(v) for v in np.median(np.asarray(own), axis=0)) if len(own) >= SIZE_FRAMES // 2 else PERSON_SIZE_M
    kind = two_people(tracker.split_merged, blob_size_m(tracker.camera, d), ref)
    if kind is None:
        return None
    first_left = lib is None or prev[lib][0] + prev[lib][2] <= d[0] + d[2]
    return split_boxes(tracker.camera, d, kind, ref, first_left)


def _second_people(
    tracker: ByteTracker, xyxy: np.ndarray, pieces: np.ndarray, owner: list[int], matched: list[int], first: list[int]
) -> None:
    """After a frame with ``split_merged``: list each split blob's second person's confirmed track in
    :attr:`ByteTracker.hidden` at its piece's box (``frames`` 0; its person box then is not in
    :attr:`ByteTracker.person_boxes`), remember the pieces' tracks (``tracker._split``) and record, per track matched to
    a whole detection that hides no listed track, its size in metres (``tracker._size_m``)."""
    tracker._split = set()
    hid = np.array([h.bbox for h in tracker.hidden], np.float64).reshape(-1, 4)
    hidden_in = covered_matrix(hid, xyxy) >= tracker.hidden_cover
    for j, i in enumerate(owner):
        lib_id = matched[j]
        whole = owner.count(i) == 1
        if not whole and lib_id >= 0:
            tracker._split.add(lib_id)
        if whole and lib_id >= 0 and not hidden_in[:, i].any():
            size = blob_size_m(tracker.camera, xyxy[i])
            if size is not None and all(math.isfinite(v) for v in size):
                tracker._size_m[lib_id] = (tracker._size_m.get(lib_id, []) + [size])[-SIZE_FRAMES:]
    list_split_people(tracker, pieces, owner, matched, first)


def _record_updates(tracks: list) -> dict:
    """Wrap each library track's Kalman update (for one ``ByteTrackTracker.update``; the caller removes the wrappers)
    so that it first records the filter's predicted state; filled as the library updates the tracks:
    ``{id(track): (state, state covariance)}`` (a track spawned this frame is not updated and has no entry)."""
    saved: dict = {}
    for t in tracks:
        est = t.state_estimator

        def update(bbox, est=est, key=id(t)):
            saved[key] = (est.kf.state.copy(), est.kf.state_covariance.copy())
            type(est).update(est, bbox)

        est.update = update
    return saved


def _update_with_person_boxes(tracker: ByteTracker, xyxy: np.ndarray, matched: list[int], saved: dict) -> None:
    """``merged_update="person"``: redo the Kalman update of each track matched to detection ``i`` (library id
    ``matched[i]``) whose :attr:`ByteTracker.person_boxes` box differs from ``xyxy[i]``, from its predicted state
    ``saved[id(track)]`` (:func:`_record_updates`), with the person box."""
    tracks = {int(t.tracker_id): t for t in tracker._lib.tracks}
    for i, lib_id in enumerate(matched):
        if lib_id < 0 or lib_id not in tracks or id(tracks[lib_id]) not in saved:
            continue
        box = np.asarray(tracker.person_boxes[tracker._public[lib_id]], np.float64)
        if np.array_equal(box, xyxy[i]):
            continue
        kf = tracks[lib_id].state_estimator.kf
        kf.state, kf.state_covariance = (a.copy() for a in saved[id(tracks[lib_id])])
        tracks[lib_id].state_estimator.update(box)


def make_engine(zones, camera: Camera | None = None, **settings) -> EventEngine:
    """The benchmarks' events engine: the product's :class:`~maskdepth.events.EventEngine`, or a
    :class:`VariantEventEngine` where ``settings`` name ``zone_handover_s`` (not None) or ``zone_handover_m``."""
    if settings.get("zone_handover_s") is not None or "zone_handover_m" in settings:
        return VariantEventEngine(zones, camera, **settings)
    settings.pop("zone_handover_s", None)
    return EventEngine(zones, camera, **settings)


@dataclass
class VariantEventEngine(EventEngine):
    """:class:`~maskdepth.events.EventEngine` with the zone handover (tried and not adopted: ``results/events_handover.md``).

    Attributes:
        zone_handover_s: a track *born* in a zone (inside it since its first frame) takes over the presence of a track
            that was in the zone, is still alive but without a detection of its own (unseen, or only the tracker's
            prediction of a hidden track) for at most this many seconds, and was last seen near the newcomer's first
            anchor (within ``zone_handover_m`` metres on the floor, or the newcomer's box height for pixel zones): no
            second ``zone_enter`` (the newcomer's dwell counts from the first one's entry) and no ``zone_exit`` for the
            one it takes over, whose zone state stays frozen until it has a detection of its own again; a tracker's new
            id for a person inside a zone (after two people meet there) then does not count the person again.
            ``None`` (default): off.
        zone_handover_m: see ``zone_handover_s`` (default 1.0 m).
    """

    zone_handover_s: float | None = None
    zone_handover_m: float = 1.0
    # the zone states taken over, by id() (the value keeps the state alive, so its id() is not reused)
    _given: dict = field(default_factory=dict, init=False, repr=False)

    def _zone_frozen(self, st, zs) -> bool:
        """A zone state taken over (in ``_given``) stays frozen until its track has a detection of its own."""
        if id(zs) in self._given and getattr(st.obj, "reason", None) != "hidden":
            del self._given[id(zs)]
        return id(zs) in self._given

    def _zone_taken_over(self, z, st, zs, t_s: float) -> bool:
        donor = self._handover_donor(z, st, zs, t_s) if not zs.inside and zs.run_t == st.first_t else None
        if donor is None:
            return False
        zs.inside, zs.count, zs.entered_t = True, 0, donor.entered_t  # a new id for someone already in the zone
        donor.inside, donor.count = False, 0
        self._given[id(donor)] = donor
        return True

    def _handover_donor(self, z, st, zs, t_s: float):
        """The zone state of the track whose presence in ``z`` a track born in it (``st``) takes over, or ``None``: the
        nearest alive track inside ``z`` without a detection of its own now (unseen, or only the tracker's prediction of
        a hidden track: ``reason`` ``"hidden"``), last detected at most ``zone_handover_s`` seconds before the
        newcomer's first frame, its latest anchor within the distance of the newcomer's first anchor in the zone."""
        if self.zone_handover_s is None:
            return None
        radius = self.zone_handover_m if z.space != "px" else float(st.obj.bbox[3] - st.obj.bbox[1] + 1)
        best, best_d = None, radius
        for other in self.tracks.values():
            ozs = other.zones.get(z.name)
            if other is st or ozs is None or not ozs.inside or other.seen_t >= t_s or st.first_t - other.seen_t > self.zone_handover_s:
                continue
            last = self._anchor(other, z.space)
            if last is None:
                continue
            d = math.hypot(last[0] - zs.run_anchor[0], last[1] - zs.run_anchor[1])
            if d <= best_d:
                best, best_d = ozs, d
        return best
