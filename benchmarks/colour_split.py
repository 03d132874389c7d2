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
coefficient below :data:`SPLIT_DISTINCT_B`) is replaced by one box per track from its pixels (:func:`split_by_colour`),
where the boxes are apart (:data:`SPLIT_MAX_IOU`). After the frame (:func:`after_split`) the detection's object takes
the id of its nearest person (:data:`SPLIT_NEAR_MARGIN`) and the others are listed in ``hidden`` at their boxes
(``frames`` 0), so the events engine places every one of them.

Not adopted (``results/events_colour_split.md``): on seeds 20-59 it raised IDF1 on every arm (CCTV mean +0.032) but
the count errors too (112 -> 135), which its criterion does not allow. The objects must bring their pixels
(``extra["pixels"]``: :func:`~maskdepth.scene.appearance.object_pixels`, e.g. :class:`benchmarks.events_colour_split.PixelPainter`).
"""

from __future__ import annotations

import numpy as np

from maskdepth.scene.appearance import HIST_BINS, MIN_PIXELS, bhattacharyya
from maskdepth.scene.tracker import box_iou
from maskdepth.scene.tracking import HiddenTrack, covered_matrix


def colour_bins(rgb: np.ndarray) -> np.ndarray:
    """Per pixel the index of its bin in one half of :func:`~maskdepth.scene.appearance.colour_descriptor` (:data:`HIST_BINS`, OpenCV's ``calcHist``
    ranges: hue 0-179, saturation and value 0-255, equal bins).

    Args:
        rgb: uint8 ``(H, W, 3)`` RGB.
    Returns:
        int64 ``(H, W)`` in ``[0, prod(HIST_BINS))``.
    """
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV).astype(np.int64)
    nh, ns, nv = HIST_BINS
    h = np.minimum(hsv[..., 0] * nh // 180, nh - 1)
    s = np.minimum(hsv[..., 1] * ns // 256, ns - 1)
    v = np.minimum(hsv[..., 2] * nv // 256, nv - 1)
    return (h * ns + s) * nv + v


SPLIT_SETTINGS = {"min_share": 0.1, "x_sigma": 0.5, "occluded": 0.8}
""":func:`split_by_colour`'s settings, fixed before they were first measured (not tuned): a person gets a box only from
at least ``min_share`` of the blob's pixels (and at least ``2 * MIN_PIXELS``); a pixel's weight for a person falls off
as a Gaussian of its column about the centre column of the person's last box, of ``x_sigma`` box widths; a box shorter
than ``occluded`` of the person's median height seen alone is taken as cut by a nearer person and extended down to
that height (within the blob), one narrower than ``occluded`` of its median width is extended to that width on the
side where another person's columns are."""


def split_by_colour(rgb: np.ndarray, mask: np.ndarray, origin: tuple[int, int], people: list) -> list:
    """The boxes of the people of one blob, from its pixels and their colours.

    Each pixel of ``mask`` goes to the person ``t`` of highest ``p_t * g_t``: ``p_t`` the frequency of the pixel's colour
    bin (:func:`colour_bins`) in the half (upper or lower, cut at the middle row of the person's last box) of the person's
    descriptor, doubled (each half sums to 0.5); ``g_t`` a Gaussian of the pixel's column about the centre column of
    that box (:data:`SPLIT_SETTINGS` ``x_sigma``). A pixel whose colour is no more frequent than in a uniform histogram
    for every person stays unassigned (background, in a box detection). Each column belongs to the person with most
    pixels in it; a person's box spans the longest run of its columns (gaps of up to 2 columns bridged) and the 1st to
    99th percentiles of the rows of its pixels there (people stand upright: a few pixels of one person's colours on
    another do not stretch its box across both).

    Args:
        rgb: uint8 ``(h, w, 3)`` RGB crop of the frame at the blob's box.
        mask: bool ``(h, w)`` the blob's pixels in the crop.
        origin: ``(x0, y0)`` the crop's top-left pixel in the frame.
        people: ``[(descriptor, box, size)]``: each person's colour descriptor (float ``(DESCRIPTOR_SIZE,)``,
            :func:`~maskdepth.scene.appearance.colour_descriptor`), last box ``(x0, y0, x1, y1)`` in frame pixels, and median ``(width, height)``
            seen alone in pixels (``None``: unknown; see ``occluded``).
    Returns:
        One box ``(x0, y0, x1, y1)`` (float frame pixels) or ``None`` per person, in order; ``None`` for a person given
        too few pixels (``min_share``).
    Raises:
        ValueError: ``rgb`` not uint8 ``(h, w, 3)`` or ``mask`` of another size.
    """
    rgb, mask = np.asarray(rgb), np.asarray(mask, bool)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or mask.shape != rgb.shape[:2]:
        raise ValueError(f"rgb must be uint8 (h, w, 3) and mask (h, w) of its size, got {rgb.dtype} {rgb.shape}, {mask.shape}")
    st = SPLIT_SETTINGS
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return [None] * len(people)
    bins = colour_bins(rgb)[ys, xs]
    X, Y = xs + origin[0], ys + origin[1]
    n_half = int(np.prod(HIST_BINS))
    score = np.zeros((len(people), len(ys)))
    for k, (desc, box, _) in enumerate(people):
        x0, y0, x1, y1 = (float(v) for v in box)
        p = 2.0 * np.where(Y >= 0.5 * (y0 + y1), desc[n_half + bins], desc[bins])
        g = np.exp(-0.5 * ((X - 0.5 * (x0 + x1)) / max(st["x_sigma"] * (x1 - x0), 1.0)) ** 2)
        score[k] = np.where(p > 1.0 / n_half, p * g, 0.0)
    best, assigned = np.argmax(score, axis=0), score.max(axis=0) > 0
    counts = np.zeros((len(people), mask.shape[1]), np.int64)  # per person and column: its pixels there
    np.add.at(counts, (best[assigned], xs[assigned]), 1)
    owner = np.where(counts.max(axis=0) > 0, np.argmax(counts, axis=0), -1)
    out = []
    for k, (_, _, size) in enumerate(people):
        run = _longest_run(owner == k)
        sel = assigned & (best == k) & (xs >= run[0]) & (xs <= run[1]) if run is not None else np.zeros(len(ys), bool)
        if sel.sum() < max(2 * MIN_PIXELS, st["min_share"] * len(ys)):
            out.append(None)
            continue
        c0, c1 = run
        by0, by1 = (float(v) for v in np.percentile(Y[sel], [1, 99]))
        if size is not None and c1 - c0 < st["occluded"] * size[0]:  # cut at the side where another person's columns are
            other_left = c0 > 0 and owner[c0 - 1] not in (-1, k)
            c0, c1 = (c1 - size[0], c1) if other_left else (c0, c0 + size[0])
        if size is not None and by1 - by0 < st["occluded"] * size[1]:
            by1 = min(by0 + size[1], float(origin[1] + mask.shape[0] - 1))
        out.append((float(origin[0] + c0), by0, float(origin[0] + c1), by1))
    return out


def _longest_run(cols: np.ndarray, gap: int = 2) -> tuple[int, int] | None:
    """First and last index of the longest run of ``True`` in the bool ``(w,)`` ``cols``, gaps of at most ``gap``
    ``False`` bridged; ``None`` when none is ``True``."""
    idx = np.flatnonzero(cols)
    if idx.size == 0:
        return None
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts, ends = np.r_[0, breaks + 1], np.r_[breaks, idx.size - 1]
    k = int(np.argmax(idx[ends] - idx[starts]))
    return int(idx[starts[k]]), int(idx[ends[k]])


SPLIT_DISTINCT_B = 0.8
"""``colour_split`` shares a blob out only among tracks whose colour descriptors differ: every two with a Bhattacharyya
coefficient below this (the relinking threshold's value: above it two people look alike and colour cannot tell their
pixels apart)."""

SPLIT_MAX_IOU = 0.3
"""``colour_split`` keeps a blob whole unless every two of its people boxes have an IoU of at most this."""

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
        sizes = tracker._size.get(lib)
        out.append((desc, box, tuple(float(v) for v in np.median(np.asarray(sizes, np.float64), axis=0)) if sizes else None))
    return out


def colour_pieces(tracker, xyxy: np.ndarray, pixels: list) -> tuple[np.ndarray, list[int]]:
    """``colour_split``'s pieces: the detections ``xyxy`` (float ``(N, 4)`` pixels) with each one that holds two or more
    tracks (:func:`blob_people`) whose descriptors all differ (Bhattacharyya coefficient below :data:`SPLIT_DISTINCT_B`)
    replaced by the boxes :func:`split_by_colour` gives them from its pixels (``pixels[i]``:
    ``(x0, y0, rgb crop, mask crop)``), where two or more get one: ``(pieces (P, 4), owner)``, ``owner[j]`` the detection
    of piece ``j`` (ascending)."""
    pieces, owner = [], []
    for i, d in enumerate(xyxy):
        people = blob_people(tracker, d)
        boxes = None
        descs = [p[0] for p in people]
        if len(people) >= 2 and all(bhattacharyya(a, b) < SPLIT_DISTINCT_B for k, a in enumerate(descs) for b in descs[k + 1 :]):
            x0, y0, rgb, mask = pixels[i]
            boxes = [b for b in split_by_colour(rgb, mask, (x0, y0), people) if b is not None]
            boxes = boxes if len(boxes) >= 2 and _apart(boxes) else None
        for box in boxes or [d]:
            pieces.append(box)
            owner.append(i)
    return np.array(pieces, np.float64).reshape(-1, 4), owner


def _apart(boxes: list) -> bool:
    """Whether a blob's people boxes from :func:`split_by_colour` are apart enough to be
    trusted: every two with an IoU of at most :data:`SPLIT_MAX_IOU` (a box that spans the blob holds the other's
    pixels: colour did not tell them apart)."""
    return all(box_iou(a, b) <= SPLIT_MAX_IOU for k, a in enumerate(boxes) for b in boxes[k + 1 :])


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
