"""People in one blob, told apart by their clothes: a merged blob's pixels shared out among the tracks it holds.

Where two walkers' silhouettes touch, the mask has one component for both. The adopted tracker keeps the walker it
hides on its Kalman prediction (``ByteTracker.hidden``), and the labelling of the blobs caps what any tracker that only
labels them can score (``results/events.md``, the ``ceiling`` rows). With the walkers' colours known from the frames
where each was seen alone, the blob's pixels can be given to the walker whose colours explain them best, so each walker
gets a box measured in this frame: the classical segmentation of a group of people by colour models (McKenna, Jabri,
Duric, Rosenfeld and Wechsler, "Tracking groups of people", CVIU 2000; Elgammal and Davis, "Probabilistic framework
for segmenting people under occlusion", ICCV 2001), here with the tracker's own colour descriptor
(:mod:`maskdepth.scene.appearance`: HSV histograms of the upper and lower halves of a person).

:func:`colour_pieces` (``VariantByteTracker(colour_split=True)``): before ByteTrack matches a frame, each detection
that holds two or more confirmed tracks with colours (see :data:`SPLIT_SETTINGS`) is replaced by one box per such track
(:func:`split_by_colour`), so each walker is matched on its own box; the blob's object takes the id of its nearest
person (:func:`nearest_first`: the blob's contact point is that person's feet) and the others are listed with the hidden
tracks at their boxes (``frames`` 0), as the tried split of ``benchmarks.merged_split`` did.

The experiment that compared it: ``benchmarks/events_colour_split.py``.
"""

from __future__ import annotations

import numpy as np

from maskdepth.scene.appearance import HIST_BINS, bhattacharyya
from maskdepth.scene.tracking import covered_matrix

SPLIT_SETTINGS = {"cover": 0.5, "distinct_b": 0.8, "min_share": 0.1, "x_sigma": 0.5, "occluded": 0.8}
"""The split's settings, fixed before any run (not tuned): a track is in a blob when at least ``cover`` of its last box
lies inside the blob's box (the tracker's ``hidden_cover``); the blob is split only where every two of its tracks' colour
descriptors have a Bhattacharyya coefficient below ``distinct_b`` (the relinking threshold: above it two people look
alike and colour cannot tell their pixels apart); a track gets a box only from at least ``min_share`` of the blob's
pixels (and at least ``2 * MIN_PIXELS``); a pixel's weight for a track falls off across the track's last box as a
Gaussian of ``x_sigma`` box widths from its centre column; a box shorter than ``occluded`` of the track's median height
seen alone is taken as cut by the nearer walker and extended down to that height (within the blob)."""


def _bins(rgb: np.ndarray) -> np.ndarray:
    """Per pixel the index of its HSV bin in one half of :func:`~maskdepth.scene.appearance.colour_descriptor`
    (:data:`HIST_BINS`, OpenCV's ``calcHist`` ranges): int ``(H, W)`` for uint8 ``(H, W, 3)`` RGB."""
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV).astype(np.int64)
    nh, ns, nv = HIST_BINS
    h = np.minimum(hsv[..., 0] * nh // 180, nh - 1)
    s = np.minimum(hsv[..., 1] * ns // 256, ns - 1)
    v = np.minimum(hsv[..., 2] * nv // 256, nv - 1)
    return (h * ns + s) * nv + v


def split_by_colour(rgb: np.ndarray, mask: np.ndarray, origin: tuple[int, int], tracks: list, settings: dict | None = None) -> list:
    """The boxes of the people of one blob, from its pixels and its tracks' colours.

    Each pixel of ``mask`` goes to the track ``t`` of highest ``p_t * g_t``: ``p_t`` the frequency of the pixel's colour
    bin in the half (upper or lower, cut at the middle row of the track's box) of the track's descriptor, ``g_t`` a
    Gaussian of the pixel's column about the centre column of the track's box (``x_sigma`` box widths); pixels whose
    colour is less frequent than a uniform histogram's for every track stay unassigned (background in a box detection).

    Args:
        rgb: uint8 ``(h, w, 3)`` RGB crop of the frame at the blob's box.
        mask: bool ``(h, w)`` the blob's pixels in the crop.
        origin: ``(x0, y0)`` the crop's top-left pixel in the frame.
        tracks: ``[(descriptor, box, median_height)]``: each track's running colour descriptor (float ``(DESCRIPTOR_SIZE,)``,
            :func:`~maskdepth.scene.appearance.colour_descriptor`), its last box ``(x0, y0, x1, y1)`` in frame pixels, and
            its median height seen alone in pixels (``None``: unknown).
        settings: :data:`SPLIT_SETTINGS` (the defaults) or a dict with the same keys.
    Returns:
        One box ``(x0, y0, x1, y1)`` (float frame pixels) or ``None`` per track, in order; ``None`` for a track given too
        few pixels (``min_share``).
    """
    from maskdepth.scene.appearance import MIN_PIXELS

    st = {**SPLIT_SETTINGS, **(settings or {})}
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return [None] * len(tracks)
    bins = _bins(rgb)[ys, xs]
    X, Y = xs + origin[0], ys + origin[1]
    n_half = int(np.prod(HIST_BINS))
    score = np.zeros((len(tracks), len(ys)))
    for k, (desc, box, _) in enumerate(tracks):
        x0, y0, x1, y1 = (float(v) for v in box)
        lower = Y >= 0.5 * (y0 + y1)
        p = 2.0 * np.where(lower, desc[n_half + bins], desc[bins])
        g = np.exp(-0.5 * ((X - 0.5 * (x0 + x1)) / max(st["x_sigma"] * (x1 - x0), 1.0)) ** 2)
        score[k] = np.where(p > 1.0 / n_half, p * g, 0.0)
    best = np.argmax(score, axis=0)
    assigned = score.max(axis=0) > 0
    out = []
    for k, (_, _, height) in enumerate(tracks):
        sel = assigned & (best == k)
        if sel.sum() < max(2 * MIN_PIXELS, st["min_share"] * len(ys)):
            out.append(None)
            continue
        bx0, bx1 = np.percentile(X[sel], [1, 99])
        by0, by1 = np.percentile(Y[sel], [1, 99])
        if height is not None and by1 - by0 < st["occluded"] * height:
            by1 = min(by0 + height, float(origin[1] + mask.shape[0] - 1))
        out.append((float(bx0), float(by0), float(bx1), float(by1)))
    return out


def blob_tracks(tracker, d: np.ndarray) -> list:
    """The tracks of ``tracker`` (a ``ByteTracker``) a detection box ``d`` holds, for :func:`split_by_colour`:
    ``[(library track, descriptor, last box, median height)]`` of the confirmed tracks matched in at least
    ``hidden_min_hits`` frames, lost for at most ``hidden_s``, with a colour descriptor, at least ``cover`` of whose last
    box lies inside ``d``."""
    st, out = SPLIT_SETTINGS, []
    for t in tracker._lib.tracks:
        lib = int(t.tracker_id)
        desc = getattr(t, "maskdepth_appearance", None)
        if lib not in tracker._public or desc is None or tracker._hits.get(lib, 0) < tracker.hidden_min_hits:
            continue
        if t.time_since_update > tracker.hidden_s * tracker.fps:
            continue
        box = np.asarray(t.get_state_bbox(), np.float64)
        if covered_matrix(box[None], d[None])[0, 0] < st["cover"]:
            continue
        sizes = tracker._size.get(lib)
        out.append((t, desc, box, float(np.median([h for _, h in sizes])) if sizes else None))
    return out


def colour_pieces(tracker, objects: list, xyxy: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """``VariantByteTracker(colour_split=True)``'s pieces: the detections ``xyxy`` (float ``(N, 4)`` pixels) with each
    blob that holds two or more distinct-looking tracks (:func:`blob_tracks`; every two descriptors' Bhattacharyya
    coefficient below ``distinct_b``) replaced by the boxes :func:`split_by_colour` gives them from the blob's pixels
    (``objects[i].extra["pixels"]``: ``(x0, y0, rgb crop, mask crop)``), where two or more tracks get one; ``(pieces
    (P, 4), owner)``, ``owner[j]`` the detection of piece ``j`` (ascending)."""
    pieces, owner = [], []
    for i, d in enumerate(xyxy):
        boxes = _split_boxes(tracker, getattr(objects[i], "extra", {}).get("pixels"), d)
        for box in boxes or [d]:
            pieces.append(box)
            owner.append(i)
    return np.array(pieces, np.float64).reshape(-1, 4), owner


def _split_boxes(tracker, pixels, d: np.ndarray) -> list | None:
    """The boxes of blob ``d``'s people (two or more), or ``None`` (the blob stays whole)."""
    if pixels is None:
        return None
    inside = blob_tracks(tracker, d)
    if len(inside) < 2:
        return None
    descs = [desc for _, desc, _, _ in inside]
    if any(bhattacharyya(a, b) >= SPLIT_SETTINGS["distinct_b"] for k, a in enumerate(descs) for b in descs[k + 1 :]):
        return None
    x0, y0, rgb, mask = pixels
    boxes = split_by_colour(rgb, mask, (x0, y0), [(desc, box, h) for _, desc, box, h in inside])
    boxes = [b for b in boxes if b is not None]
    return boxes if len(boxes) >= 2 else None


def nearest_first(tracker, pieces: np.ndarray, owner: list[int], matched: list[int], first: list[int]) -> None:
    """After a frame with :func:`colour_pieces`: each split blob's object takes the id of its nearest person, the
    confirmed track matched to the piece with the lowest bottom row (the blob's contact point is that person's feet, so
    the events engine, given the blob's object, places it right), instead of the track matched most often. Changes
    ``first`` (per detection, its piece whose track is the object's: ``ByteTracker.update``'s list) in place."""
    for i in range(len(first)):
        mine = [j for j, o in enumerate(owner) if o == i and matched[j] in tracker._public]
        if len(mine) > 1:
            first[i] = max(mine, key=lambda j: pieces[j, 3])
