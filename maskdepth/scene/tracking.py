"""The adopted tracker (issue 21): ByteTrack from roboflow ``trackers``, associating on the floor; :func:`make_tracker`.

:class:`ByteTracker` has the interface of :class:`~maskdepth.scene.tracker.Tracker` (``update(objects)`` returns
copies with ``id`` set, 0 = not yet confirmed; ``tracks`` lists the live tracks with their ``id``; ``next_id``;
``reset()``), so the video, watch and calibrate steps take either.

* **ByteTrack** (Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection Box", ECCV 2022)
  as implemented by roboflow ``trackers`` (``ByteTrackTracker``, Apache-2.0): a constant-velocity Kalman filter on
  the box corners, Hungarian matching of predicted boxes and detections on a similarity, tracks kept ``lost_s``
  seconds after their last match. Every detection gets confidence 1 (a mask has no detector score), so the
  low-score stage never runs.
* **Similarity on the floor** (with a camera): ``w_iou * IoU + (1 - w_iou) * exp(-d^2 / (2 sigma_m^2))``, ``d`` the
  distance in metres between the floor points below the two boxes' bottom centres (the feet:
  :meth:`Camera.floor_point`). Where two walkers' silhouettes touch, their mask component is one box whose
  bottom is the nearer walker's feet: the floor term gives that blob to the nearer walker's track, while the farther
  one coasts on its Kalman prediction until the blob splits; IoU alone favours whichever box is larger. Without a
  camera the similarity is IoU, as in the library.

* **Hidden tracks** (:attr:`ByteTracker.hidden`): a confirmed track matched in at least ``hidden_min_hits`` (10)
  frames that got no detection while its Kalman prediction lies inside another detection (a merged blob hides its
  walker), or that missed a single frame, is listed with its predicted box for up to ``hidden_s`` seconds; the
  track itself lives on in ByteTrack and takes the walker back when the blob splits (the floor term). Callers that
  count or draw tracks (the events engine, :func:`maskdepth.events.pipeline.hidden_objects`, and ``objects.jsonl``'s
  ``hidden`` records, :func:`maskdepth.events.pipeline.hidden_records`) keep the walker where the mask shows none; :meth:`update`'s result is unchanged by it. The 10 frames keep out the short tracks of a
  person's mask broken into pieces: once the mask is whole again, a piece's lost track lies inside its person's
  blob, and listing it would invent a person (chosen on synthetic clips with broken-up detections, with and without
  a camera). A track whose detections were person-tall (median ``height_m`` >= ``hidden_tall_m``, 1.5 m, from a camera
  or a measured depth) is a whole person, not a piece, and is listed after fewer frames (a walker hidden soon after it
  arrived); where the colour split of the blob that hides it finds the hidden person (``hidden_colour_boxes``), its
  box from its share of the blob's pixels is reported too (:attr:`HiddenTrack.person_bbox`, output only). Both adopted
  together on fresh synthetic seeds 520-559 (``results/events_hidden_combined.md``).
* **Person boxes** (:attr:`ByteTracker.person_boxes`): per confirmed track matched this frame, the box of its
  person. A detection that hides another track (a merged blob: at least ``hidden_cover`` of a listed hidden track's
  predicted box inside it) is the union of two or more people, so with a camera (``merged_box="own_size_rows"``) the
  matched track's person is given its median size over its last 10 frames seen alone (at most the blob's), standing on
  the blob's bottom row (the nearer walker's feet: the floor term gives the blob to the nearer walker's track, which
  IoU alone does not, so without a camera the blob's box is kept) at the end of the blob away from the hidden tracks'
  predicted boxes, where not every hidden box lies at least half inside that box and one of them shares at least half
  the rows of the shorter of the two (a person beside or behind; the pieces of one broken-up person lie one above the
  other);
  elsewhere the detection's box. Where the tracker has the frame's pixels and colours (``colour_boxes``), the matched
  track's person is instead the box of its share of the blob's pixels by colour
  (:func:`~maskdepth.scene.blob_people.split_by_colour`; McKenna et al., "Tracking groups of people", CVIU 2000), where
  the people's colours differ and the split gives boxes apart, with or without a camera (chosen on rendered synthetic
  clips, seeds 20-59, confirmed on fresh seeds 480-519: ``results/events_colour_boxes.md``).
  Output only: association, :meth:`update`'s result and :attr:`hidden` do not change.
  Chosen on synthetic clips (seeds 0-19, ``--merged-box`` in ``results/events.md``) over the other rules of
  :data:`MERGED_BOX_RULES`.
* **Colour** (where :meth:`ByteTracker.update` is given the frame, or the objects carry ``extra["appearance"]``): each
  detection's colour descriptor (:func:`maskdepth.scene.appearance.colour_descriptor` of its mask component's pixels)
  decides the contests where people meet or part: a pair of an admissible track-detection match whose track has two
  admissible detections, or whose detection has two admissible tracks, and whose every contender has colours, is
  rescored ``m + (1 - m) ((1 - w) (sim - m) / (1 - m) + w B)`` (``m`` = ``min_similarity``, ``w`` = ``appearance_w``,
  ``B`` the Bhattacharyya coefficient of the track's running descriptor and the detection's); a newly confirmed track
  takes the id of a lost track nearby whose colours match (``appearance_relink``; the re-identification step of
  DeepSORT, Wojke et al., ICIP 2017, with a colour descriptor); colour compares, learns from and relinks only
  detections at least ``appearance_whole`` of the track's median height seen alone (a piece of a broken-up mask has
  other colours than the whole person), and a track learns only from detections that are its alone. Chosen on
  rendered synthetic clips (seeds 20-59, confirmed on fresh seeds 440-479: ``results/events_appearance.md``, the fifth
  experiment); without the frame nothing changes.
* **Extension points**: :meth:`ByteTracker.update` calls ``_pieces`` (the detections as matched; a subclass may
  split one into several), ``_library_update``, ``_new_id``, ``_own_similarity`` / ``_similarity_matrix`` /
  ``_with_colour``, ``_moved`` and ``_after_frame``, so that the rules tried and not adopted (the split of a blob
  holding two people, the Kalman update with the person box, other colour rules) live with the benchmarks that
  compared them (``benchmarks/tracker_variants.py``) and their tables can be made again.

Settings chosen on synthetic 3-walker clips of seeds 0-19 (``benchmarks/events_synthetic.py``), reported on seeds
200-239 in ``results/events.md`` ("Tracker metrics on the same detections"). Relinking a new track to a lost
one by its constant-velocity prediction (tried on seeds 0-19) lowered IDF1 and was dropped: new tracks were
mostly new walkers.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ..errors import MaskDepthError
from .appearance import bhattacharyya, blend, object_colours, object_pixels
from .blob_people import boxes_apart, distinct_colours, split_by_colour
from .camera import Camera
from .tracker import Tracker

__all__ = [
    "ByteTracker",
    "HiddenTrack",
    "MERGED_BOX_RULES",
    "TRACKER_KINDS",
    "check_number",
    "covered_fraction",
    "covered_matrix",
    "hidden_object",
    "make_tracker",
]

MERGED_BOX_RULES = ("own_size", "own_size_median", "own_size_beside", "own_size_rows", "own_size_side", "blob")
"""Values of :class:`ByteTracker`'s ``merged_box``: the box :attr:`ByteTracker.person_boxes` gives a track matched to
a blob that hides another track: ``own_size`` (its size when last seen alone, on the blob's bottom row at the blob's end
away from the hidden tracks), ``own_size_median`` (the median size of its last :data:`SIZE_FRAMES` frames seen alone),
``own_size_beside`` (that, unless every hidden box lies at least half inside it), ``own_size_rows`` (that, only where a
hidden box also shares half the rows: the default with a camera), ``own_size_side`` (that, only where such a box's
centre is also left or right of it) or ``blob`` (the detection's box: the default without a camera); compared in
``results/events.md`` ('The box of a track on a merged blob')."""

TRACKER_KINDS = ("bytetrack", "maskdepth")
"""Kinds :func:`make_tracker` knows: ``bytetrack`` (:class:`ByteTracker`, the default) and ``maskdepth``
(:class:`~maskdepth.scene.tracker.Tracker`, the project's merge-aware SORT-like tracker)."""

TRACKERS_INSTALL = "pip install 'maskdepth[track]' && pip install --no-deps trackers==2.6.1"


def feet_floor_points(camera: Camera, boxes: np.ndarray) -> np.ndarray:
    """Floor points (metres, camera coordinates) below the bottom centres of ``boxes``.

    Args:
        camera: the camera the boxes are seen with.
        boxes: float ``(N, 4)`` ``(x0, y0, x1, y1)`` pixels.
    Returns:
        float64 ``(N, 3)``; NaN for a bottom at or above the horizon.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return camera.floor_point(0.5 * (boxes[:, 0] + boxes[:, 2]), boxes[:, 3])


def floor_similarity(camera: Camera, boxes_1: np.ndarray, boxes_2: np.ndarray, sigma_m: float, w_iou: float) -> np.ndarray:
    """``w_iou * IoU + (1 - w_iou) * exp(-d^2 / (2 sigma_m^2))`` of every pair, ``d`` = metres between their feet
    (:func:`feet_floor_points`; a pair with a foot above the horizon has only its IoU term).

    Args:
        boxes_1, boxes_2: float ``(N, 4)``, ``(M, 4)`` boxes ``(x0, y0, x1, y1)`` pixels.
        sigma_m: the floor distance scale (metres, > 0).
        w_iou: weight of the IoU term, in [0, 1].
    Returns:
        float64 ``(N, M)`` in [0, 1].
    """
    import supervision as sv

    iou = sv.box_iou_batch(np.asarray(boxes_1, np.float64), np.asarray(boxes_2, np.float64))
    d = np.linalg.norm(feet_floor_points(camera, boxes_1)[:, None, :] - feet_floor_points(camera, boxes_2)[None, :, :], axis=-1)
    near = np.nan_to_num(np.exp(-0.5 * (d / sigma_m) ** 2), nan=0.0)
    return w_iou * iou + (1.0 - w_iou) * near


@dataclass
class _LiveTrack:
    """A track alive in ByteTrack, as :attr:`ByteTracker.tracks` lists it (``id`` 0 until confirmed)."""

    id: int


@dataclass
class HiddenTrack:
    """A confirmed track (matched in at least ``hidden_min_hits`` frames) that got no detection this frame while
    its predicted box lies inside a detection of another track (a merged blob hides it), or that missed at most
    ``coast_frames`` frames, as :attr:`ByteTracker.hidden` lists it.

    Attributes:
        id: the public track id (>= 1).
        bbox: the predicted box ``(x0, y0, x1, y1)``, float pixels.
        frames: consecutive frames the track has gone without a detection (>= 1); 0 for a track matched to a piece
            of a detection that is not the detection's own (a subclass's ``_pieces``: the box is that piece).
        person_bbox: with ``hidden_colour_boxes``, the box ``(x0, y0, x1, y1)`` (float pixels) of its share of the
            pixels of the blob that hides it, by colour (as the blob's own track's in :attr:`ByteTracker.person_boxes`),
            where the split found it this frame; else ``None``. Output only: the events engine keeps ``bbox``.
    """

    id: int
    bbox: tuple[float, float, float, float]
    frames: int
    person_bbox: tuple[float, float, float, float] | None = None


def hidden_object(hidden: HiddenTrack):
    """A :class:`~maskdepth.scene.objects.SceneObject` for a hidden track: its predicted box rounded to pixels,
    ``area_px`` that box's area (a hidden track has no pixels of its own), contact pixel at the box's bottom centre,
    no distance or height, ``depth_source`` ``"predicted"``, ``reason`` ``"hidden"`` (an events engine given it keeps
    the track's zones, lines and dwell going);
    ``extra["person_bbox"]``: its :attr:`HiddenTrack.person_bbox` where it has one.

    Args:
        hidden: an entry of :attr:`ByteTracker.hidden`.
    Returns:
        the object, ``id`` = the track's.
    """
    from .objects import SceneObject

    x0, y0, x1, y1 = (int(round(v)) for v in hidden.bbox)
    x1, y1 = max(x1, x0), max(y1, y0)
    return SceneObject(
        id=hidden.id,
        bbox=(x0, y0, x1, y1),
        area_px=(x1 - x0 + 1) * (y1 - y0 + 1),
        centroid=(0.5 * (x0 + x1), 0.5 * (y0 + y1)),
        contact_px=(0.5 * (hidden.bbox[0] + hidden.bbox[2]), float(y1)),
        top_px=None,
        depth_source="predicted",
        reason="hidden",
        extra={} if hidden.person_bbox is None else {"person_bbox": hidden.person_bbox},
    )


def covered_fraction(boxes: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """Fraction of each box's area inside the best-covering box of ``cover``.

    Args:
        boxes: float ``(N, 4)`` ``(x0, y0, x1, y1)`` pixels.
        cover: float ``(M, 4)`` boxes, same convention.
    Returns:
        float64 ``(N,)`` in [0, 1]; 0 where ``cover`` is empty or a box has no area.
    """
    m = covered_matrix(boxes, cover)
    return m.max(axis=1) if m.shape[1] else np.zeros(m.shape[0])


def covered_matrix(boxes, cover) -> np.ndarray:
    """The fraction of each box inside each box of ``cover``.

    Args:
        boxes: float ``(N, 4)`` ``(x0, y0, x1, y1)`` pixels.
        cover: float ``(M, 4)`` boxes, same convention.
    Returns:
        float64 ``(N, M)`` in [0, 1]: entry ``(i, j)`` the fraction of box ``i``'s area inside box ``j``; 0 for a box
        with no area.
    """
    a = np.asarray(boxes, np.float64).reshape(-1, 1, 4)
    b = np.asarray(cover, np.float64).reshape(1, -1, 4)
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    area = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    return np.where(area > 0, w * h / np.where(area > 0, area, 1.0), 0.0)


def check_number(name: str, v, lo: float, hi: float, closed: bool) -> None:
    """Check a tracker setting: ``v`` must be a finite number in ``[lo, hi]`` (``closed``) or ``(lo, hi]``.

    Raises:
        MaskDepthError: naming ``name`` (``param``), with the interval and the value given.
    """
    ok = isinstance(v, (int, float)) and math.isfinite(v) and (lo <= v if closed else lo < v) and v <= hi
    if not ok:
        raise MaskDepthError(f"must be a number in {'[' if closed else '('}{lo:g}, {hi:g}] (got {v!r})", param=name)


NO_CAMERA_MIN_SIMILARITY = 0.3
"""The IoU gate of :class:`ByteTracker` without a camera (was 0.2 until the broken-up detections were compared)."""


class ByteTracker:
    """ByteTrack (roboflow ``trackers``) with a similarity on the floor when the camera is known; the interface of
    :class:`Tracker` (see the module docstring).

    Args:
        fps: the clip's frame rate (frames/s, > 0): converts ``lost_s`` to frames.
        camera: the camera (pixels at the frames' size), or ``None``: IoU alone.
        lost_s: seconds a track may go unmatched before it is dropped (default 3.0, >= 0).
        min_hits: consecutive matches before a track is confirmed and gets an id (default 2, >= 1); as in SORT
            and :class:`Tracker`, the tracks started in the first ``min_hits`` frames after a reset are
            confirmed at once, so a clip's first frames have ids.
        min_similarity: a pair less similar than this is not matched (default 0.3 with a camera; also 0.3 without,
            three times the library's IoU threshold: a track lost for up to ``lost_s`` must overlap its predicted box
            more before it takes a detection; chosen with ``lost_s`` on synthetic clips without a camera, masks, boxes
            and broken-up detections: ``--no-camera-settings`` in ``results/events.md``), in [0, 1).
        sigma_m: the floor distance scale of the similarity (metres, default 0.3, > 0).
        w_iou: weight of IoU in the similarity (default 0.5, in [0, 1]).
        hidden_cover: a confirmed track without a detection is listed in :attr:`hidden` while at least this
            fraction of its predicted box lies inside one of the frame's detections (default 0.5, in (0, 1]).
        hidden_s: ... for at most this many seconds (default 2.0, >= 0; 0 lists none).
        coast_frames: a confirmed track that missed at most this many frames in a row is listed in :attr:`hidden`
            even outside any detection (default 1: a detection missing for a frame; 0: only hidden ones), within
            ``hidden_s``.
        hidden_min_hits: only a track matched to a detection in at least this many frames since it was
            confirmed (in all, not necessarily in a row) is listed in :attr:`hidden` (default 10, >= 0; 0: any confirmed track): the track
            of a piece of a person broken up by the mask lives a few frames, a walker seen before another hides it
            lives longer (chosen on synthetic clips with broken-up detections, ``results/events.md``).
        hidden_own_max: a track whose predicted box lies in a detection matched to another confirmed track is
            listed only while less than this fraction of its box lies inside that track's own box of the
            previous frame (the blob must show more than its matched track: a fragment inside its person's blob
            does not), in (0, 1]; ``None`` (default): no such test.
        merged_box: one of :data:`MERGED_BOX_RULES`: the box :attr:`person_boxes` gives a track matched to a blob that
            hides another track (the module docstring); ``None`` (default): ``"own_size_rows"`` with a camera,
            ``"blob"`` (the detection's box) without.
        appearance_w: weight of colour in the contests where people meet or part, in [0, 1] (default 1.0; 0: colour
            never enters the matching; the module docstring).
        appearance_rate: rate of a track's running colour descriptor, in (0, 1] (default 0.2: each sight counts a
            fifth).
        appearance_relink: a newly confirmed track takes the id of a lost track nearby (its centre within
            ``h (0.5 + dt)`` pixels of the lost track's last box, ``h`` that box's height, ``dt`` the seconds since)
            whose colours match it with a Bhattacharyya coefficient of at least this, in (0, 1] (default 0.8); ``None``:
            never.
        appearance_whole: colour compares a track only with detections at least this fraction, in (0, 1], of its
            median height seen alone, and learns and relinks only from them (default 0.7); ``None``: every detection.
        colour_boxes: where colour is on and the frame's pixels are known, a track matched to a blob that hides other
            tracks reports, in :attr:`person_boxes`, the box of its share of the blob's pixels by colour
            (:func:`~maskdepth.scene.blob_people.split_by_colour`; the module docstring), where the people's colours
            differ and the split gives boxes apart; elsewhere ``merged_box``'s box (default ``True``: chosen on rendered
            synthetic clips, seeds 20-59, confirmed on fresh seeds 480-519, ``results/events_colour_boxes.md``; it
            changes boxes only, never ids or :attr:`hidden`).
        hidden_tall_m: a confirmed track whose matched detections' median height (their ``height_m``, metres, where
            their ``depth_source`` is ``"ground_plane"`` or ``"measured"``: a camera or a measured depth, not the
            network's; the last :data:`SIZE_FRAMES`) is at least this is listed in :attr:`hidden` after fewer than
            ``hidden_min_hits`` frames: a person-tall detection is a whole person, not a piece of a broken-up mask
            (default 1.5, about the 5th percentile of adult height, set before any run; ``None``: no exception; > 0).
            Adopted with ``hidden_colour_boxes`` on fresh synthetic seeds 520-559 (``results/events_hidden_combined.md``;
            alone, on seeds 20-59, CCTV IDF1 +0.0044, ``results/events_hidden_tall.md``).
        hidden_tall_min_hits: ... if it was also matched in at least this many frames (default 0: any confirmed track;
            an integer >= 0; a candidate against far spurious blobs that measure person-tall, not adopted: 5 frames fixed
            the broken-up CCTV counts but lowered IDF1 on 10 of 12 arms, ``results/events_hidden_tall_hits.md``).
        hidden_tall_max_width_m: ... if its matched detections' median width (metres, ``height_m`` times the box's
            width over its height: one distance for both, fronto-parallel) is also at most this: a person seen alone is
            narrower than a metre, a still far blob that measures person-tall is about as wide as tall (default
            ``None``: any width; > 0; a candidate, not adopted: 1.0 m passed on seeds 20-59 but on fresh seeds 560-599
            the broken-up count errors rose 152 -> 154, ``results/events_hidden_tall_width.md``).
        hidden_colour_boxes: with ``colour_boxes``, a hidden track inside such a blob also gets the box of its share
            of the blob's pixels, as :attr:`HiddenTrack.person_bbox` (default ``True``: adopted with ``hidden_tall_m`` on
            fresh synthetic seeds 520-559, ``results/events_hidden_combined.md``; alone, on seeds 20-59, every arm's
            IDF1 rose but the CCTV mean by only +0.0033, ``results/events_hidden_colour.md``); its ``bbox``, the Kalman
            prediction the events engine follows, is unchanged.
    Raises:
        MaskDepthError: a setting out of range (naming it), or ``trackers`` not installed.
    """

    def __init__(
        self,
        fps: float = 10.0,
        camera: Camera | None = None,
        lost_s: float = 3.0,
        min_hits: int = 2,
        min_similarity: float | None = None,
        sigma_m: float = 0.3,
        w_iou: float = 0.5,
        hidden_cover: float = 0.5,
        hidden_s: float = 2.0,
        coast_frames: int = 1,
        hidden_min_hits: int = 10,
        hidden_own_max: float | None = None,
        merged_box: str | None = None,
        appearance_w: float = 1.0,
        appearance_rate: float = 0.2,
        appearance_relink: float | None = 0.8,
        appearance_whole: float | None = 0.7,
        colour_boxes: bool = True,
        hidden_colour_boxes: bool = True,
        hidden_tall_m: float | None = 1.5,
        hidden_tall_min_hits: int = 0,
        hidden_tall_max_width_m: float | None = None,
    ):
        checks = (("fps", fps, 0.0, math.inf, False), ("lost_s", lost_s, 0.0, math.inf, True), ("sigma_m", sigma_m, 0.0, math.inf, False))
        checks += (
            ("w_iou", w_iou, 0.0, 1.0, True),
            ("hidden_cover", hidden_cover, 0.0, 1.0, False),
            ("hidden_s", hidden_s, 0.0, math.inf, True),
        )
        if min_similarity is not None:
            checks += (("min_similarity", min_similarity, 0.0, 1.0, True),)
        if hidden_own_max is not None:
            checks += (("hidden_own_max", hidden_own_max, 0.0, 1.0, False),)
        if hidden_tall_m is not None:
            checks += (("hidden_tall_m", hidden_tall_m, 0.0, math.inf, False),)
        if hidden_tall_max_width_m is not None:
            checks += (("hidden_tall_max_width_m", hidden_tall_max_width_m, 0.0, math.inf, False),)
        checks += (("appearance_w", appearance_w, 0.0, 1.0, True), ("appearance_rate", appearance_rate, 0.0, 1.0, False))
        for name, v in (("appearance_relink", appearance_relink), ("appearance_whole", appearance_whole)):
            if v is not None:
                checks += ((name, v, 0.0, 1.0, False),)
        for name, v, lo, hi, closed in checks:
            check_number(name, v, lo, hi, closed)
        ints = (("min_hits", min_hits, 1), ("coast_frames", coast_frames, 0), ("hidden_min_hits", hidden_min_hits, 0))
        for name, v, lo in ints + (("hidden_tall_min_hits", hidden_tall_min_hits, 0),):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise MaskDepthError(f"must be an integer >= {lo} (got {v!r})", param=name)
        self.fps, self.camera, self.lost_s, self.min_hits = float(fps), camera, float(lost_s), int(min_hits)
        self.min_similarity = float(
            min_similarity if min_similarity is not None else (0.3 if camera is not None else NO_CAMERA_MIN_SIMILARITY)
        )
        self.sigma_m, self.w_iou = float(sigma_m), float(w_iou)
        self.hidden_cover, self.hidden_s, self.coast_frames = float(hidden_cover), float(hidden_s), int(coast_frames)
        self.hidden_min_hits = int(hidden_min_hits)
        self.hidden_own_max = None if hidden_own_max is None else float(hidden_own_max)
        self.hidden_tall_m = None if hidden_tall_m is None else float(hidden_tall_m)
        self.hidden_tall_min_hits = int(hidden_tall_min_hits)
        self.hidden_tall_max_width_m = None if hidden_tall_max_width_m is None else float(hidden_tall_max_width_m)
        merged_box = merged_box if merged_box is not None else ("own_size_rows" if camera is not None else "blob")
        if merged_box not in MERGED_BOX_RULES:
            raise MaskDepthError(f"must be one of {', '.join(MERGED_BOX_RULES)} (got {merged_box!r})", param="merged_box")
        self.merged_box = merged_box
        self.appearance_w, self.appearance_rate = float(appearance_w), float(appearance_rate)
        self.appearance_relink = None if appearance_relink is None else float(appearance_relink)
        self.appearance_whole = None if appearance_whole is None else float(appearance_whole)
        for name, v in (("colour_boxes", colour_boxes), ("hidden_colour_boxes", hidden_colour_boxes)):
            if not isinstance(v, (bool, np.bool_)):
                raise MaskDepthError(f"must be true or false (got {v!r})", param=name)
        self.colour_boxes, self.hidden_colour_boxes = bool(colour_boxes), bool(hidden_colour_boxes)
        self._lib = self._library_tracker()
        self.reset()

    def _library_tracker(self):
        try:
            from trackers import ByteTrackTracker
        except ImportError as e:
            raise MaskDepthError(f"the ByteTrack tracker needs roboflow trackers: {TRACKERS_INSTALL} ({e})") from None
        return ByteTrackTracker(
            lost_track_buffer=round(30.0 * self.lost_s),  # the library counts it in frames at 30 frames/s
            frame_rate=self.fps,
            minimum_consecutive_frames=self.min_hits,
            minimum_iou_threshold=self.min_similarity,
            track_activation_threshold=0.5,
            high_conf_det_threshold=0.5,
            iou=_similarity(self),
        )

    def reset(self) -> None:
        """Forget all tracks (ids restart at 1)."""
        self._lib.reset()
        self._public: dict[int, int] = {}
        self.next_id, self.frame, self._early = 1, 0, 0
        self._hits: dict[int, int] = {}  # library id -> frames matched to a detection
        self._size: dict[int, list[tuple[float, float]]] = {}  # library id -> (width, height) px, last frames matched alone
        # library id -> (height_m, width_m) of its last matched detections (hidden_tall_m)
        self._tall: dict[int, list[tuple[float, float]]] = {}
        self._last_seen: dict[int, tuple[np.ndarray, int]] = {}  # library id -> (box, frame) of its last match
        self._det_appearance: list = []  # per detection piece of this frame: its colour descriptor or None
        self._det_heights: np.ndarray = np.zeros(0)  # per detection piece: its height in pixels
        self._colour_box: dict[int, np.ndarray] = {}  # library id -> its box from colour_boxes in the last frame
        self.person_boxes: dict[int, tuple[float, float, float, float]] = {}
        """Per public id of a confirmed track matched in the last frame, the box ``(x0, y0, x1, y1)`` (float pixels)
        of its person: the detection's box, or inside a blob that hides another track its box by colour
        (``colour_boxes``) or else the box of ``merged_box``."""
        self.hidden: list[HiddenTrack] = []
        """The confirmed tracks hidden inside another track's detection in the last frame (see ``hidden_cover``),
        with their predicted boxes: where a merged blob hides a walker, a caller that draws or scores the tracks can
        keep it (the ids of :meth:`update`'s result never include them). With a subclass's ``_pieces``, also the second person
        of each blob split into two this frame, at its box (``frames`` 0)."""

    @property
    def tracks(self) -> list[_LiveTrack]:
        """The tracks alive in ByteTrack (coasting ones included), each with its public ``id`` (0 = not confirmed)."""
        return [_LiveTrack(self._public.get(int(t.tracker_id), 0)) for t in self._lib.tracks]

    def describe(self) -> dict:
        """The method and settings, for a run's JSON."""
        return {
            "method": "ByteTrack (roboflow trackers 2.6.1), similarity "
            + ("IoU and feet distance on the floor" if self.camera is not None else "IoU")
            + " (maskdepth.scene.tracking.ByteTracker)",
            "fps": self.fps,
            "lost_s": self.lost_s,
            "max_missed": int(self._lib.maximum_frames_without_update),  # lost_s in frames at fps
            "min_hits": self.min_hits,
            "min_similarity": self.min_similarity,
            "sigma_m": self.sigma_m if self.camera is not None else None,
            "w_iou": self.w_iou if self.camera is not None else None,
            "hidden_cover": self.hidden_cover,
            "hidden_s": self.hidden_s,
            "coast_frames": self.coast_frames,
            "hidden_min_hits": self.hidden_min_hits,
            "hidden_own_max": self.hidden_own_max,
            "hidden_tall_m": self.hidden_tall_m,
            "hidden_tall_min_hits": self.hidden_tall_min_hits,
            "hidden_tall_max_width_m": self.hidden_tall_max_width_m,
            "merged_box": self.merged_box,
            "appearance_w": self.appearance_w,
            "appearance_rate": self.appearance_rate if self.uses_appearance else None,
            "appearance_relink": self.appearance_relink,
            "appearance_whole": self.appearance_whole if self.uses_appearance else None,
            "colour_boxes": self.colour_boxes and self.uses_appearance,
            "hidden_colour_boxes": self.hidden_colour_boxes and self.colour_boxes and self.uses_appearance,
        }

    @property
    def uses_appearance(self) -> bool:
        """Whether colour enters the tracking (``appearance_w`` > 0 or ``appearance_relink`` set)."""
        return self.appearance_w > 0.0 or self.appearance_relink is not None

    def _confirm_at_once(self, spawned: list, tracker_ids: np.ndarray) -> None:
        """Confirm the tracks ByteTrack started this frame (``spawned``, in order), giving them library ids of their
        own (from 10**9, above the library's counter); ``tracker_ids`` (the result's, modified in place) ends with
        their rows, in the same order (``ByteTrackTracker.update`` appends the new tracks' rows last)."""
        rows = range(len(tracker_ids) - len(spawned), len(tracker_ids))
        for t, r in zip(spawned, rows):
            t.tracker_id = tracker_ids[r] = 10**9 + self._early
            self._early += 1

    def update(self, objects: list, t_s: float | None = None, image: np.ndarray | None = None, labels: np.ndarray | None = None) -> list:
        """Assign stable ids to one frame's objects.

        Args:
            objects: objects with a ``bbox`` ``(x0, y0, x1, y1)`` attribute (inclusive pixels; e.g.
                :class:`~maskdepth.scene.objects.SceneObject`), in any order. An object whose ``extra`` holds
                ``"appearance"`` (a colour descriptor or ``None``) brings its own colours.
            t_s: the frame's time in seconds, for a source whose frames are not evenly spaced (a live camera that
                drops frames): the Kalman prediction and ``lost_s`` then count seconds; ``None`` (give it for every
                frame or for none): frames ``1 / fps`` apart.
            image: the frame, uint8 ``(H, W, 3)`` RGB, for the objects' colours (the module docstring); ``None``:
                no colours (but those the objects bring).
            labels: int ``(H, W)`` the component labels the objects' ``label`` refers to
                (:class:`~maskdepth.scene.fixed_camera.FrameObjects`): each object's colours are its component's
                pixels; ``None``: its box's.
        Returns:
            Shallow copies of ``objects`` in the same order with ``id`` set to the public track id (1, 2, ... in
            order of confirmation, never reused), or 0 for an object whose track is not yet confirmed (``min_hits``).
        """
        import supervision as sv

        xyxy = np.array([o.bbox for o in objects], np.float64).reshape(-1, 4)
        colours = self._object_colours(objects, image, labels)
        pieces, owner = self._pieces(objects, xyxy)
        self._det_appearance = _piece_appearance(colours, owner) if self.uses_appearance else []
        self._det_heights = pieces[:, 3] - pieces[:, 1]
        det = sv.Detections(xyxy=pieces, confidence=np.ones(len(pieces)), data={"index": np.arange(len(pieces))})
        before = {id(t) for t in self._lib.tracks}
        own = {int(t.tracker_id): np.asarray(t.get_state_bbox(), np.float64) for t in self._lib.tracks if int(t.tracker_id) >= 0}
        res = self._library_update(det, t_s)
        self.frame += 1
        if self.frame <= self.min_hits:
            self._confirm_at_once([t for t in self._lib.tracks if id(t) not in before], res.tracker_id)
        ids, matched = [0] * len(pieces), [-1] * len(pieces)
        for i, lib_id in zip(res.data.get("index", ()), res.tracker_id):  # an empty result has no data
            if int(lib_id) < 0:
                continue
            if int(lib_id) not in self._public:
                self._public[int(lib_id)] = self._new_id(int(lib_id), int(i), pieces)
            ids[int(i)], matched[int(i)] = self._public[int(lib_id)], int(lib_id)
            self._hits[int(lib_id)] = self._hits.get(int(lib_id), 0) + 1
        alive = {int(t.tracker_id) for t in self._lib.tracks}
        self._public = {k: v for k, v in self._public.items() if k in alive}
        self._hits = {k: v for k, v in self._hits.items() if k in alive}
        self._size = {k: v for k, v in self._size.items() if k in alive}
        self._tall = {k: v for k, v in self._tall.items() if k in alive}
        if self.hidden_tall_m is not None and len(pieces) == len(objects):
            _record_heights(self, objects, matched)
        first = _first_pieces(self, owner, matched, len(objects))
        self.hidden = _hidden_tracks(self, xyxy, [own.get(matched[j]) for j in first])
        self.person_boxes = _person_boxes(self, pieces, matched)
        if self.colour_boxes and self.uses_appearance and len(pieces) == len(objects):
            _colour_person_boxes(self, objects, matched, own, image, labels)
        self._last_seen = {k: v for k, v in self._last_seen.items() if k in alive}
        self._last_seen.update({lib_id: (pieces[j].copy(), self.frame) for j, lib_id in enumerate(matched) if lib_id >= 0})
        if self.uses_appearance:
            _learn_appearance(self, pieces, matched)
        self._after_frame(xyxy, pieces, owner, matched, first)
        out = []
        for i, o in enumerate(objects):
            o2 = copy.copy(o)
            o2.id = ids[first[i]]
            out.append(o2)
        return out

    # extension points (module docstring): the product's behaviour; benchmarks/tracker_variants.py overrides them

    def _pieces(self, objects: list, xyxy: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """The detections as ByteTrack matches them, ``(pieces (P, 4) float pixels, owner)``, ``owner[j]`` the index
        into ``objects`` (ascending) of piece ``j``: here the objects' boxes ``xyxy`` themselves."""
        return xyxy, list(range(len(objects)))

    def _library_update(self, det, t_s: float | None):
        """ByteTrack's update on the pieces ``det`` (``supervision.Detections``): its result."""
        return self._lib.update(det, timestamp=t_s)

    def _object_colours(self, objects: list, image: np.ndarray | None, labels: np.ndarray | None) -> list:
        """Per object its colour descriptor or ``None``: the one it brings (``extra["appearance"]``), else from
        ``image`` (:func:`~maskdepth.scene.appearance.object_colours`); all ``None`` when colour is off."""
        if not self.uses_appearance:
            return [None] * len(objects)
        brought = [getattr(o, "extra", None) or {} for o in objects]
        made = None
        if image is not None and not all("appearance" in e for e in brought):
            made = object_colours(objects, image, _component_labels(objects, labels))
        return [e["appearance"] if "appearance" in e else (made[k] if made is not None else None) for k, e in enumerate(brought)]

    def _new_id(self, lib_id: int, i: int, pieces: np.ndarray) -> int:
        """The public id of library track ``lib_id``, confirmed this frame on piece ``i``: a lost track's whose colours
        match (``appearance_relink``, :func:`_relink`), else the next one."""
        old = _relink(self, lib_id, i, pieces) if self.appearance_relink is not None else None
        if old is not None:
            return old
        self.next_id += 1
        return self.next_id - 1

    def _moved(self, old: int, new: int) -> None:
        """Library track ``old``'s records now belong to ``new`` (a relink): its frames matched and sizes."""
        self._hits[new] = self._hits.pop(old, 0)
        if old in self._size:
            self._size[new] = self._size.pop(old)
        if old in self._tall:
            self._tall[new] = self._tall.pop(old)

    def _own_similarity(self) -> bool:
        """Whether ByteTrack matches on :meth:`_similarity_matrix` (else on the library's IoU): with a camera, or
        with colour in the matching."""
        return self.camera is not None or self.appearance_w > 0.0

    def _similarity_matrix(self, boxes_1: np.ndarray, boxes_2: np.ndarray) -> np.ndarray:
        """The similarity of every (track, detection) pair: :func:`floor_similarity` with a camera, else IoU, then
        :meth:`_with_colour`; float64 ``(N, M)`` in [0, 1] for ``(N, 4)`` and ``(M, 4)`` boxes."""
        if self.camera is not None:
            sim = floor_similarity(self.camera, boxes_1, boxes_2, self.sigma_m, self.w_iou)
        else:
            from trackers import IoU

            sim = IoU().compute(boxes_1, boxes_2)
        return self._with_colour(sim) if self.appearance_w > 0.0 else sim

    def _with_colour(self, sim: np.ndarray) -> np.ndarray:
        """The similarity ``sim`` (the library's live tracks x this frame's detection pieces) with colour deciding the
        contests (:func:`colour_contests`)."""
        return colour_contests(self, sim)

    def _after_frame(self, xyxy: np.ndarray, pieces: np.ndarray, owner: list[int], matched: list[int], first: list[int]) -> None:
        """Called last in :meth:`update` (``matched[j]``: the library id matched to piece ``j``, -1 none; ``first[i]``:
        the piece of detection ``i`` whose id it gets): nothing here."""


def _similarity(tracker: ByteTracker):
    """The ``trackers`` similarity (a ``BaseIoU``) of ``tracker``: its ``_similarity_matrix``, or ``None`` (the library's
    default IoU) where it has no similarity of its own (``_own_similarity``)."""
    from trackers import BaseIoU

    if not tracker._own_similarity():
        return None

    class Similarity(BaseIoU):
        def _compute(self, boxes_1: np.ndarray, boxes_2: np.ndarray) -> np.ndarray:
            return tracker._similarity_matrix(boxes_1, boxes_2)

    return Similarity()


def colour_coefficients(tracker: ByteTracker, shape: tuple[int, int]) -> np.ndarray:
    """The Bhattacharyya coefficient ``B`` of every (track, detection) pair of ByteTrack's matching, from the track's
    running colour descriptor and the detection's: float64 ``shape`` in [0, 1], NaN where either has none or the
    detection is not whole for the track (``appearance_whole``, :func:`_whole`), all NaN when ``shape`` is not (the
    library's live tracks, this frame's detection pieces) (the low-score stage, which never runs here)."""
    out = np.full(shape, np.nan)
    tracks, dets = tracker._lib.tracks, tracker._det_appearance
    if shape != (len(tracks), len(dets)):
        return out
    for r, t in enumerate(tracks):
        a = getattr(t, "maskdepth_appearance", None)
        for c, d in enumerate(dets):
            whole = tracker.appearance_whole is None or _whole(tracker, int(t.tracker_id), float(tracker._det_heights[c]))
            if a is not None and d is not None and whole:
                out[r, c] = bhattacharyya(a, d)
    return out


def colour_contests(tracker: ByteTracker, sim: np.ndarray) -> np.ndarray:
    """``sim`` (tracks x detections, in [0, 1]) with colour deciding the contests: the admissible pairs
    (``sim >= min_similarity`` = ``m``) of a track with two admissible detections or of a detection with two admissible
    tracks (where people meet or part), where every admissible pair of the track's row and of the detection's column
    has a colour coefficient ``B`` (:func:`colour_coefficients`; a rescored pair is never ranked against one left as it
    was), become ``m + (1 - m) ((1 - w) (sim - m) / (1 - m) + w B)`` (``w`` = ``appearance_w``): they stay admissible
    (colour never drops a match, as it would for a piece of a broken-up mask) and are ranked by colour as much as ``w``
    says. Other pairs keep ``sim``. Returns float64, the shape of ``sim``."""
    B = colour_coefficients(tracker, sim.shape)
    known, w, m = np.isfinite(B), tracker.appearance_w, tracker.min_similarity
    out = np.asarray(sim, np.float64).copy()
    ok = out >= m
    contested = ok & known & ((ok.sum(axis=1, keepdims=True) > 1) | (ok.sum(axis=0, keepdims=True) > 1))
    blind = ok & ~known
    contested &= ~blind.any(axis=1, keepdims=True) & ~blind.any(axis=0, keepdims=True)
    out[contested] = m + (1.0 - m) * ((1.0 - w) * (out[contested] - m) / max(1.0 - m, 1e-9) + w * B[contested])
    return out


def _whole(tracker: ByteTracker, lib_id: int, height: float) -> bool:
    """Whether a detection ``height`` pixels tall may be compared by colour with track ``lib_id``: always without
    ``appearance_whole``; with it, only when it is at least that fraction of the median height of the track's last
    :data:`SIZE_FRAMES` detections seen alone (a piece of a broken-up mask has other colours than the whole person)."""
    if tracker.appearance_whole is None:
        return True
    sizes = tracker._size.get(lib_id)
    return bool(sizes) and height >= tracker.appearance_whole * float(np.median([h for _, h in sizes]))


def _piece_appearance(colours: list, owner: list[int]) -> list:
    """Per detection piece, its object's colour descriptor (``colours[owner[j]]``; ``None`` for the pieces of a blob
    split into several, whose colours are the blob's)."""
    n = np.bincount(np.asarray(owner, int), minlength=len(colours)) if len(owner) else np.zeros(len(colours), int)
    return [None if n[j] > 1 else colours[j] for j in owner]


def _relink(tracker: ByteTracker, lib_id: int, i: int, xyxy: np.ndarray) -> int | None:
    """The public id a track confirmed this frame (library id ``lib_id``, matched to detection piece ``i`` of ``xyxy``)
    takes over from a lost confirmed track, or ``None`` (a new id). A lost track (unmatched this frame) qualifies when its
    running colour descriptor and the detection's have a Bhattacharyya coefficient of at least ``appearance_relink``,
    the detection is whole for it (:func:`_whole`) and the detection's centre lies within ``h (0.5 + dt)`` pixels of the
    centre of the lost track's last matched box (``h`` that box's height, ``dt`` the seconds since: about a person's
    height per second of walking); the most similar one is taken, and removed from ByteTrack (its id lives on in the new
    track)."""
    seen = tracker._det_appearance[i] if i < len(tracker._det_appearance) else None
    if seen is None:
        return None
    c = 0.5 * (xyxy[i, :2] + xyxy[i, 2:])
    best, best_b = None, tracker.appearance_relink
    for t in tracker._lib.tracks:
        old = int(t.tracker_id)
        a, last = getattr(t, "maskdepth_appearance", None), tracker._last_seen.get(old)
        if old == lib_id or old not in tracker._public or t.time_since_update < 1 or a is None or last is None:
            continue
        if not _whole(tracker, old, float(xyxy[i, 3] - xyxy[i, 1])):
            continue
        box, frame = last
        gate = (box[3] - box[1]) * (0.5 + (tracker.frame - frame) / tracker.fps)
        if float(np.hypot(*(c - 0.5 * (box[:2] + box[2:])))) > gate:
            continue
        b = bhattacharyya(a, seen)
        if b >= best_b:
            best, best_b = t, b
    if best is None:
        return None
    old = int(best.tracker_id)
    tracker._lib.tracks = [t for t in tracker._lib.tracks if t is not best]
    tracker._moved(old, lib_id)
    new = next(t for t in tracker._lib.tracks if int(t.tracker_id) == lib_id)
    new.maskdepth_appearance = best.maskdepth_appearance
    return tracker._public.pop(old)


def _learn_appearance(tracker: ByteTracker, xyxy: np.ndarray, matched: list[int]) -> None:
    """Blend each matched track's running colour descriptor with its detection's (``appearance_rate``), only where the
    detection is whole for it (:func:`_whole`) and its alone: no other live track's predicted box lies at least
    ``hidden_cover`` inside it (a merged blob's colours are two people's)."""
    by_id = {int(t.tracker_id): t for t in tracker._lib.tracks}
    boxes = np.array([t.get_state_bbox() for t in tracker._lib.tracks], np.float64).reshape(-1, 4)
    inside = covered_matrix(boxes, xyxy) >= tracker.hidden_cover  # (tracks, detections)
    for i, lib_id in enumerate(matched):
        t = by_id.get(lib_id)
        seen = tracker._det_appearance[i] if i < len(tracker._det_appearance) else None
        if t is None or seen is None or not _whole(tracker, lib_id, float(xyxy[i, 3] - xyxy[i, 1])):
            continue
        others = [k for k, u in enumerate(tracker._lib.tracks) if u is not t and inside[k, i]]
        if not others:
            t.maskdepth_appearance = blend(getattr(t, "maskdepth_appearance", None), seen, tracker.appearance_rate)


def _first_pieces(tracker: ByteTracker, owner: list[int], matched: list[int], n: int) -> list[int]:
    """Per detection, the piece (index into ``owner``) whose track is the detection's own (its ``id`` in
    :meth:`ByteTracker.update`'s result): its only piece, or of a split blob's pieces the one matched to the confirmed
    track matched most often (the first piece if none is confirmed)."""
    out = [-1] * n
    for j, i in enumerate(owner):
        if out[i] < 0 or _track_rank(tracker, matched[j]) > _track_rank(tracker, matched[out[i]]):
            out[i] = j
    return out


def _record_heights(tracker: ByteTracker, objects: list, matched: list[int]) -> None:
    """``hidden_tall_m``: each matched track remembers its detection's ``height_m`` and width in metres (``height_m``
    times the box's width over its height, pixels ``x1 - x0 + 1`` and ``y1 - y0 + 1``) (the last :data:`SIZE_FRAMES`)
    where a camera or a measured depth gave the height (:data:`TALL_SOURCES`)."""
    for o, lib_id in zip(objects, matched):
        h = getattr(o, "height_m", None)
        if lib_id >= 0 and h is not None and getattr(o, "depth_source", None) in TALL_SOURCES:
            x0, y0, x1, y1 = o.bbox
            size = (float(h), float(h) * (x1 - x0 + 1) / (y1 - y0 + 1))
            tracker._tall[lib_id] = (tracker._tall.get(lib_id, []) + [size])[-SIZE_FRAMES:]


TALL_SOURCES = ("ground_plane", "measured")
"""The ``depth_source`` values whose ``height_m`` ``hidden_tall_m`` trusts: the floor of a known camera or a measured
depth (not the network's learned depth, whose scale may be off)."""


def _person_tall(tracker: ByteTracker, lib_id: int) -> bool:
    """``hidden_tall_m``: the median height of the track's matched detections is at least that (metres), it was
    matched in at least ``hidden_tall_min_hits`` frames and, with ``hidden_tall_max_width_m``, their median width is at
    most that (metres)."""
    sizes = tracker._tall.get(lib_id)
    if tracker.hidden_tall_m is None or not sizes or tracker._hits.get(lib_id, 0) < tracker.hidden_tall_min_hits:
        return False
    height, width = np.median(np.asarray(sizes, np.float64), axis=0)
    wide = tracker.hidden_tall_max_width_m is not None and width > tracker.hidden_tall_max_width_m
    return bool(height >= tracker.hidden_tall_m and not wide)


def _track_rank(tracker: ByteTracker, lib_id: int) -> tuple[bool, int]:
    """Confirmed first, then frames matched: how a split blob's pieces choose the track of the blob's object."""
    return lib_id in tracker._public, tracker._hits.get(lib_id, 0)


def _hidden_tracks(tracker: ByteTracker, xyxy: np.ndarray, own: list) -> list[HiddenTrack]:
    """:attr:`ByteTracker.hidden` after a frame whose detections are ``xyxy`` (float ``(N, 4)`` pixels): the
    confirmed tracks unmatched for 1 to ``hidden_s`` seconds, matched in at least ``hidden_min_hits`` frames, whose
    predicted box (the library's Kalman state) is covered by a detection for at least ``hidden_cover``, or that have
    missed at most ``coast_frames`` frames; with ``hidden_own_max``, none whose box lies at least that much inside
    ``own[j]``, the previous-frame box of the track matched to its best-covering detection ``j`` (``None``: no track)."""
    max_frames = tracker.hidden_s * tracker.fps
    lost = [t for t in tracker._lib.tracks if int(t.tracker_id) in tracker._public and 0 < t.time_since_update <= max_frames + 1e-9]
    out = []
    for t in lost:
        if tracker._hits.get(int(t.tracker_id), 0) < tracker.hidden_min_hits and not _person_tall(tracker, int(t.tracker_id)):
            continue
        box = np.asarray(t.get_state_bbox(), np.float64)
        cover = _covered_each(box, xyxy)
        j = int(np.argmax(cover)) if len(cover) else -1
        covered = j >= 0 and cover[j] >= tracker.hidden_cover
        if covered and tracker.hidden_own_max is not None and own[j] is not None:
            if _covered_each(box, own[j][None])[0] >= tracker.hidden_own_max:
                continue  # the blob is its matched track's own: not listed, even as a one-frame miss
        if not covered and t.time_since_update > tracker.coast_frames:
            continue
        out.append(HiddenTrack(tracker._public[int(t.tracker_id)], tuple(float(x) for x in box), int(t.time_since_update)))
    return out


def _person_boxes(tracker: ByteTracker, xyxy: np.ndarray, matched: list[int]) -> dict:
    """:attr:`ByteTracker.person_boxes` after a frame whose detections are ``xyxy`` (float ``(N, 4)`` pixels) and
    ``matched[i]`` the library id of the confirmed track matched to detection ``i`` (-1: none); records the tracks'
    sizes when seen alone (``tracker._size``, the last :data:`SIZE_FRAMES`)."""
    hidden = np.array([h.bbox for h in tracker.hidden], np.float64).reshape(-1, 4)
    inside = covered_matrix(hidden, xyxy) >= tracker.hidden_cover  # (H, N): hidden track h lies in detection i
    out = {}
    for i, lib_id in enumerate(matched):
        if lib_id < 0:
            continue
        d = xyxy[i]
        hid = hidden[inside[:, i]]
        if len(hid) == 0:
            tracker._size[lib_id] = (tracker._size.get(lib_id, []) + [(float(d[2] - d[0]), float(d[3] - d[1]))])[-SIZE_FRAMES:]
        box = None
        if len(hid) and tracker.merged_box != "blob" and lib_id in tracker._size:
            box = _own_size_box(tracker.merged_box, tracker._size[lib_id], d, hid)
        out[tracker._public[lib_id]] = tuple(float(v) for v in (d if box is None else box))
    return out


def _colour_person_boxes(tracker: ByteTracker, objects: list, matched: list[int], prior: dict, image, labels) -> None:
    """``colour_boxes``: each track matched to a detection (``objects[j]``, whose box is piece ``j``) that holds listed
    hidden tracks (at least ``hidden_cover`` of their predicted box inside it) gets, in :attr:`ByteTracker.person_boxes`,
    the box of its share of the detection's pixels (:func:`~maskdepth.scene.blob_people.split_by_colour`), where every
    one of them has a running colour descriptor, the descriptors differ (:func:`~maskdepth.scene.blob_people.distinct_colours`)
    and two or more people get boxes that lie apart (:func:`~maskdepth.scene.blob_people.boxes_apart`). Each person's
    last box is its box from the split of the previous frame, else ``prior`` (library id -> its Kalman box before this
    frame's update); the boxes found are remembered for the next frame."""
    if not tracker.hidden:  # the common frame: no blob hides anyone
        tracker._colour_box = {}
        return
    lib_of = {pid: lib for lib, pid in tracker._public.items()}
    hidden = [(lib_of[h.id], np.asarray(h.bbox, np.float64)) for h in tracker.hidden if h.id in lib_of]
    descs = {int(t.tracker_id): getattr(t, "maskdepth_appearance", None) for t in tracker._lib.tracks}
    last = {**prior, **tracker._colour_box}
    measured, pixels = {}, None
    for j, lib in enumerate(matched):
        d = np.asarray(objects[j].bbox, np.float64)
        people = [lib] + [k for k, box in hidden if lib >= 0 and _covered_each(box, d[None])[0] >= tracker.hidden_cover]
        if len(people) < 2 or any(descs.get(k) is None or k not in last for k in people):
            continue
        if not distinct_colours([descs[k] for k in people]):
            continue
        pixels = pixels or _frame_pixels(objects, image, labels)
        if pixels is None:
            break
        x0, y0, rgb, mask = pixels[j]
        boxes = split_by_colour(rgb, mask, (x0, y0), [(descs[k], last[k], _median_size(tracker, k)) for k in people])
        found = [b for b in boxes if b is not None]
        if boxes[0] is None or len(found) < 2 or not boxes_apart(found):
            continue
        tracker.person_boxes[tracker._public[lib]] = boxes[0]
        measured.update({k: np.asarray(b, np.float64) for k, b in zip(people, boxes) if b is not None})
    tracker._colour_box = measured
    if tracker.hidden_colour_boxes:
        for h in tracker.hidden:
            box = measured.get(lib_of.get(h.id, -1))
            h.person_bbox = None if box is None else tuple(float(v) for v in box)


def _frame_pixels(objects: list, image, labels) -> list | None:
    """Per object its pixels ``(x0, y0, rgb crop, mask crop)``: those it brings (``extra["pixels"]``), else from the
    frame (:func:`~maskdepth.scene.appearance.object_pixels`, its component's pixels where ``labels`` is given);
    ``None`` without either."""
    brought = [(getattr(o, "extra", None) or {}).get("pixels") for o in objects]
    if all(p is not None for p in brought):
        return brought
    if image is None:
        return None
    return object_pixels(objects, image, _component_labels(objects, labels))


def _component_labels(objects: list, labels):
    """``labels`` (int ``(H, W)`` component labels) where every object says which component is its (``label``), else
    ``None`` (each object's pixels are then its box's)."""
    return labels if labels is not None and all(hasattr(o, "label") for o in objects) else None


def _median_size(tracker: ByteTracker, lib_id: int) -> tuple[float, float] | None:
    """The median ``(width, height)`` in pixels of track ``lib_id``'s last detections seen alone, or ``None``."""
    sizes = tracker._size.get(lib_id)
    return tuple(float(v) for v in np.median(np.asarray(sizes, np.float64), axis=0)) if sizes else None


SIZE_FRAMES = 10
"""Frames of a track seen alone whose sizes :attr:`ByteTracker.person_boxes` remembers (every ``merged_box`` rule but
``own_size``, which takes the last, takes their median)."""


def _own_size_box(rule: str, sizes: list, d: np.ndarray, hid: np.ndarray) -> np.ndarray | None:
    """The box of ``rule`` (:data:`MERGED_BOX_RULES`) of a track seen alone at ``sizes`` (``[(w, h)]`` px, oldest first)
    matched to the blob ``d`` (float ``(4,)``) that hides the tracks of predicted boxes ``hid`` (float ``(H, 4)``): at the
    track's size (at most the blob's), on the blob's bottom row, at the blob's end away from the hidden boxes' mean
    centre; ``None`` (the blob's box) for ``own_size_beside`` and ``own_size_rows`` when every hidden box lies at least half
    inside it, and for ``own_size_rows`` and ``own_size_side`` also when no hidden box shares at least half the rows of the
    shorter of it and the track's box (people standing near each other share rows; the pieces of one broken-up person lie one above the other),
    and for ``own_size_side`` when no such hidden box also has its centre left or right of the track's box (a person
    beside the track's: where one stands behind the other, the blob's box is mostly the nearer one's)."""
    w, h = sizes[-1] if rule == "own_size" else np.median(np.asarray(sizes, np.float64), axis=0)
    w, h = min(w, d[2] - d[0]), min(h, d[3] - d[1])
    hidden_right = 0.5 * float(np.mean(hid[:, 0] + hid[:, 2])) > 0.5 * (d[0] + d[2])
    x0 = d[0] if hidden_right else d[2] - w
    box = np.array([x0, d[3] - h, x0 + w, d[3]], np.float64)
    if rule in ("own_size_beside", "own_size_rows", "own_size_side") and bool(np.all(covered_matrix(hid, box[None])[:, 0] >= 0.5)):
        return None
    if rule in ("own_size_rows", "own_size_side"):
        rows = np.minimum(hid[:, 3], box[3]) - np.maximum(hid[:, 1], box[1])
        person = rows >= 0.5 * np.minimum(hid[:, 3] - hid[:, 1], box[3] - box[1])
        if rule == "own_size_side":
            cx = 0.5 * (hid[:, 0] + hid[:, 2])
            person &= (cx < box[0]) | (cx > box[2])
        if not bool(np.any(person)):
            return None
    return box


def _covered_each(box: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """Fraction of ``box`` (float ``(4,)``) inside each box of ``cover`` (float ``(M, 4)``): float64 ``(M,)``."""
    return covered_matrix(box[None], cover)[0]


def make_tracker(kind: str = "bytetrack", fps: float = 10.0, camera: Camera | None = None, **settings):
    """The tracker of ``kind``: ``"bytetrack"`` (:class:`ByteTracker`, the default) or ``"maskdepth"``
    (:class:`~maskdepth.scene.tracker.Tracker`, which takes neither the frame rate nor the camera).

    Args:
        kind: one of :data:`TRACKER_KINDS`.
        fps: the clip's frame rate (frames/s), used by ``bytetrack``.
        camera: the camera, or ``None``; ``bytetrack`` associates on the floor with it.
        **settings: passed to the tracker's constructor (e.g. ``min_hits=1``).
    Raises:
        MaskDepthError: an unknown ``kind`` (naming ``kind``), or what the tracker's constructor raises.
    """
    if kind == "bytetrack":
        return ByteTracker(fps=fps, camera=camera, **settings)
    if kind == "maskdepth":
        return Tracker(**settings)
    raise MaskDepthError(f"must be one of {', '.join(TRACKER_KINDS)} (got {kind!r})", param="kind")
