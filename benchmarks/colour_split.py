"""People in one blob, told apart by their clothes: ``VariantByteTracker(colour_split=True)``, tried and not adopted.

Where two walkers' silhouettes touch, the mask has one component for both, and the adopted tracker keeps the walker it
hides on its Kalman prediction. With the walkers' colours known from the frames where each was seen alone, the blob's
pixels can be given to the walker whose colours explain them best, so each walker gets a box measured in this frame:
the segmentation of a group of people by colour models (McKenna, Jabri, Duric, Rosenfeld and Wechsler, "Tracking groups
of people", CVIU 2000; Elgammal and Davis, "Probabilistic framework for segmenting people under occlusion", ICCV 2001),
here with the tracker's own colour descriptor (:mod:`maskdepth.scene.appearance`).

:func:`colour_pieces` (the variant's ``_pieces``): before ByteTrack matches a frame, a detection that holds two or more
confirmed tracks (matched in at least ``hidden_min_hits`` frames, lost for at most ``hidden_s``, at least
``hidden_cover`` of their last box inside it) whose colour descriptors all differ (every two with a Bhattacharyya
coefficient below :data:`~maskdepth.scene.blob_people.DISTINCT_B`) is replaced by one box per track from its pixels (:func:`~maskdepth.scene.blob_people.split_by_colour`),
where the boxes are apart (:data:`~maskdepth.scene.blob_people.MAX_IOU`). After the frame (:func:`after_split`) the detection's object takes
the id of its nearest person (:data:`SPLIT_NEAR_MARGIN`) and the others are listed in ``hidden`` at their boxes
(``frames`` 0), so the events engine places every one of them.

Not adopted (``results/events_colour_split.md``): on seeds 20-59 it raised IDF1 on every arm (CCTV mean +0.032) but
the count errors too (112 -> 135), which its criterion does not allow. The objects must bring their pixels
(``extra["pixels"]``: :func:`~maskdepth.scene.appearance.object_pixels`, e.g. :class:`benchmarks.events_colour_split.PixelPainter`).
"""

from __future__ import annotations

import numpy as np

from maskdepth.scene.blob_people import boxes_apart, distinct_colours, split_by_colour
from maskdepth.scene.tracking import HiddenTrack, _median_size, covered_matrix

SPLIT_NEAR_MARGIN = 0.1
"""``colour_split`` gives a split blob's object the id of its nearest person only where that person's feet lie more than
this fraction of a person's height below those of the person of the track matched most often (else that track keeps it)."""


def blob_people(tracker, d: np.ndarray) -> list:
    """The tracks a detection box ``d`` (float ``(4,)`` pixels) holds, for ``colour_split``: ``[(descriptor, last box,
    median (width, height) seen alone or None)]`` of the confirmed tracks matched in at least ``hidden_min_hits`` frames, lost for
    at most ``hidden_s``, with a running colour descriptor, at least ``hidden_cover`` of whose last box (the library's
    Kalman state) lies inside ``d``."""
    out = []
    for t in tracker._lib.tracks:
        lib = int(t.tracker_id)
        desc = getattr(t, "maskdepth_appearance", None)
        if lib not in tracker._public or desc is None or tracker._hits.get(lib, 0) < tracker.hidden_min_hits:
            continue
        if t.time_since_update > tracker.hidden_s * tracker.fps:
            continue
        box = np.asarray(t.get_state_bbox(), np.float64)
        if covered_matrix(box[None], d[None])[0, 0] < tracker.hidden_cover:
            continue
        out.append((desc, box, _median_size(tracker, lib)))
    return out


def colour_pieces(tracker, xyxy: np.ndarray, pixels: list) -> tuple[np.ndarray, list[int]]:
    """``colour_split``'s pieces: the detections ``xyxy`` (float ``(N, 4)`` pixels) with each one that holds two or more
    tracks (:func:`blob_people`) whose descriptors all differ (Bhattacharyya coefficient below :data:`~maskdepth.scene.blob_people.DISTINCT_B`)
    replaced by the boxes :func:`~maskdepth.scene.blob_people.split_by_colour` gives them from its pixels (``pixels[i]``:
    ``(x0, y0, rgb crop, mask crop)``), where two or more get one: ``(pieces (P, 4), owner)``, ``owner[j]`` the detection
    of piece ``j`` (ascending)."""
    pieces, owner = [], []
    for i, d in enumerate(xyxy):
        people = blob_people(tracker, d)
        boxes = None
        if len(people) >= 2 and distinct_colours([p[0] for p in people]):
            x0, y0, rgb, mask = pixels[i]
            boxes = [b for b in split_by_colour(rgb, mask, (x0, y0), people) if b is not None]
            boxes = boxes if len(boxes) >= 2 and boxes_apart(boxes) else None
        for box in boxes or [d]:
            pieces.append(box)
            owner.append(i)
    return np.array(pieces, np.float64).reshape(-1, 4), owner


def _nearest_first(tracker, pieces: np.ndarray, owner: list[int], matched: list[int], first: list[int]) -> None:
    """Each detection split into pieces takes the id of its nearest person: ``first[i]`` (changed in place) becomes the
    piece of detection ``i`` with the lowest bottom row among those matched to a confirmed track (the blob's contact
    point is that person's feet, so the events engine, given the detection's object, places it right), where that
    bottom lies more than :data:`SPLIT_NEAR_MARGIN` of its height below the bottom of ``first[i]``'s piece (people at
    about one distance keep the object's id from switching between them frame to frame)."""
    for i in range(len(first)):
        mine = [j for j, o in enumerate(owner) if o == i and matched[j] in tracker._public]
        if len(mine) > 1:
            near, j0 = max(mine, key=lambda j: pieces[j, 3]), first[i]
            if j0 not in mine or pieces[near, 3] - pieces[j0, 3] > SPLIT_NEAR_MARGIN * (pieces[j0, 3] - pieces[j0, 1]):
                first[i] = near


def list_split_people(tracker, pieces: np.ndarray, owner: list[int], matched: list[int], first: list[int]) -> None:
    """After a frame with split detections (``colour_split``, or the ``split_merged`` rules of
    :mod:`benchmarks.tracker_variants`): list each piece's confirmed track other than its detection's own (``first``) in
    :attr:`ByteTracker.hidden` at the piece's box (``frames`` 0), out of :attr:`ByteTracker.person_boxes`."""
    counts = np.bincount(np.asarray(owner, int), minlength=len(first))
    for j, i in enumerate(owner):
        lib_id = matched[j]
        if counts[i] > 1 and j != first[i] and lib_id in tracker._public:
            pid = tracker._public[lib_id]
            tracker.person_boxes.pop(pid, None)
            tracker.hidden.append(HiddenTrack(pid, tuple(float(v) for v in pieces[j]), 0))


def after_split(tracker, pieces: np.ndarray, owner: list[int], matched: list[int], first: list[int]) -> None:
    """The variant's end of a frame with :func:`colour_pieces`: where a detection was split, its object takes its nearest
    person's id (:func:`_nearest_first`) and the others are listed in ``hidden`` (:func:`list_split_people`)."""
    if len(pieces) > len(first):
        _nearest_first(tracker, pieces, owner, matched, first)
        list_split_people(tracker, pieces, owner, matched, first)


def brought_pixels(objects: list) -> list | None:
    """Per object the pixels it brings (``extra["pixels"]``), or ``None`` where one has none (no split this frame)."""
    px = [(getattr(o, "extra", None) or {}).get("pixels") for o in objects]
    return px if all(p is not None for p in px) else None
