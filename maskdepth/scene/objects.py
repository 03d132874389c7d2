"""Objects that entered the scene: connected components of the mask, where they stand, how far.

Each foreground component is taken to stand upright on the floor (or whatever surface the
scene depth shows) at its **contact point**: the bottom edge of its robust lowest pixel,
``(u_c, v_c + 0.5)`` in pixel coordinates whose pixel ``v`` spans ``[v - 0.5, v + 0.5]``
(the point where a silhouette drawn with 50 %-coverage or pixel-centre sampling meets the
floor, unbiased to half a pixel; :attr:`SceneObject.contact_point`). Every reader of the
contact uses that point: the distance, the object's plane in :func:`compose_depth` and
:func:`maskdepth.scene.calibrate.people.observations_from_objects`. Its distance is the
scene's depth at that point (the empty background's depth there is the surface under the
feet); its depth map is a vertical plane through that point, facing the camera
(:func:`compose_depth`), and where the empty scene is nearer than that plane the scene
wins (occlusion). Single-view metrology after Criminisi, Reid & Zisserman, IJCV 2000 and
Hoiem, Efros & Hebert, CVPR 2006.

Contact point rule (robust to a few noise pixels and thin spurs):
    * row counts ``n(r)`` of the component's pixels; the contact row is the lowest row
      with ``n(r) >= max(2, 0.15 * median_r n(r))`` (1 for components at most 2 px wide);
    * the contact column is the median column of the pixels in the band of rows
      ``[v_c - b, v_c]``, ``b = max(1, round(0.03 * component height))``;
    * the top row is found the same way from above; the height runs to its top edge ``v_t - 0.5``.
Components stacked one above the other with a small gap, the pieces of one upright body that the mask broke into
bands, are joined into one object first (:mod:`maskdepth.scene.pieces`; ``join_pieces=False`` keeps every component).
A component touching the last image row has its feet outside the frame: ``contact_px`` is
``None`` and ``reason = "contact outside the frame"``; one whose lowest pixel lies on an
occlusion edge of the scene depth (the scene just below is markedly nearer) has its feet
hidden: ``reason = "contact hidden behind a nearer object"``. A component touching the first
image row has its head outside the frame: ``height_m`` is ``None`` with
``reason = "head outside the frame: no height"`` (its distance stands). Nothing is guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import MaskDepthError
from .camera import Camera

REASON_OUTSIDE = "contact outside the frame"
REASON_NO_DEPTH = "no scene depth at the contact point and it is not on the camera's floor"
REASON_HIDDEN = "contact hidden behind a nearer object"
REASON_ABOVE_HORIZON = "contact point at or above the horizon"
REASON_HEAD_OUTSIDE = "head outside the frame: no height"

OCCLUSION_TOL_M = 0.005
"""Metres by which the empty scene must be nearer than an object's plane to occlude it (:func:`compose_depth`).
The scene depth is float32 and the plane float64: at the contact row the floor and the plane tie, and a strict
``scene < plane`` flipped with the rounding (and with the numpy/OpenCV build). 5 mm is far above float32
rounding (6e-6 m at 100 m) and below any occluder worth the name."""


@dataclass
class SceneObject:
    """One foreground component.

    Attributes:
        id: integer id (component order, or the tracker's stable id).
        bbox: ``(x0, y0, x1, y1)`` inclusive pixel bounds.
        area_px: pixel count.
        centroid: ``(x, y)`` pixels.
        contact_px: ``(x, y)`` the robust lowest foreground pixel (row ``y`` an integer, column
            ``x`` may be fractional) or ``None``. The contact point proper is its bottom edge,
            :attr:`contact_point` ``= (x, y + 0.5)``: the one convention for distances, planes and calibration.
        top_px: ``(x, y)`` robust top pixel (the height runs to its top edge ``y - 0.5``).
        distance_m: camera-z depth (metres) of the contact point :attr:`contact_point`, or ``None``.
        height_m: upright height (metres) or ``None`` (also when the head is outside the frame).
        depth_source: ``"measured" | "ground_plane" | "teacher" | "learned"`` -- what gave
            ``distance_m`` (and the object's depth).
        reason: why ``contact_px`` / ``distance_m`` / ``height_m`` is missing, else ``None``.
        label: the component's label in :attr:`labels` of :func:`extract_objects`'s result.
    """

    id: int
    bbox: tuple[int, int, int, int]
    area_px: int
    centroid: tuple[float, float]
    contact_px: tuple[float, float] | None
    top_px: tuple[float, float] | None
    distance_m: float | None = None
    height_m: float | None = None
    depth_source: str = "learned"
    reason: str | None = None
    label: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def contact_point(self) -> tuple[float, float] | None:
        """``(x, y + 0.5)``: the bottom edge of the contact pixel :attr:`contact_px`, where the object meets
        the floor (pixel ``v`` spans rows ``[v - 0.5, v + 0.5]``), or ``None``."""
        if self.contact_px is None:
            return None
        return (float(self.contact_px[0]), float(self.contact_px[1]) + 0.5)

    def to_json(self) -> dict:
        """The object's entry of ``objects.json`` (issue 12 schema, plus ``note`` when set, and ``person_box``
        ``[x0, y0, x1, y1]``, float pixels rounded to 0.1, where a person detector's box split it from a blob that held
        several people: :func:`extract_objects` ``person_boxes``)."""
        d = {
            "id": int(self.id),
            "bbox": [int(x) for x in self.bbox],
            "area_px": int(self.area_px),
            "contact_px": None if self.contact_px is None else [round(float(self.contact_px[0]), 1), round(float(self.contact_px[1]), 1)],
            "distance_m": None if self.distance_m is None else round(float(self.distance_m), 3),
            "height_m": None if self.height_m is None else round(float(self.height_m), 3),
            "depth_source": self.depth_source,
        }
        if self.reason:
            d["note"] = self.reason
        if "person_box" in self.extra:
            d["person_box"] = [round(float(v), 1) for v in self.extra["person_box"]]
        return d


def _robust_row(rows: np.ndarray, counts: np.ndarray, from_bottom: bool) -> int:
    nz = counts > 0
    med = float(np.median(counts[nz]))
    thr = 1 if med <= 2 else max(2.0, 0.15 * med)
    ok = np.flatnonzero(counts >= thr)
    if ok.size == 0:
        ok = np.flatnonzero(nz)
    return int(rows[ok[-1]] if from_bottom else rows[ok[0]])


def _sample_depth(depth: np.ndarray | None, x: float, y: float, r: int = 2) -> float | None:
    """Median of the known depth (> 0, finite) in the window of ``2r + 1`` columns around ``x`` and the
    rows whose centres lie within ``r`` of ``y`` (``y`` may be a pixel edge ``v + 0.5``: rows
    ``v - r + 1 .. v + r``, symmetric about it), or ``None`` when none is known."""
    if depth is None:
        return None
    H, W = depth.shape
    xi = int(round(x))
    y0, y1 = max(0, int(math.ceil(y - r))), min(H, int(math.floor(y + r)) + 1)
    x0, x1 = max(0, xi - r), min(W, xi + r + 1)
    win = depth[y0:y1, x0:x1]
    v = win[(win > 0) & np.isfinite(win)]
    return float(np.median(v)) if v.size else None


def _window_depth(depth: np.ndarray, x: float, r0: int, r1: int, half: int = 2) -> float | None:
    H, W = depth.shape
    xi = int(round(x))
    win = depth[max(0, r0) : min(H, r1 + 1), max(0, xi - half) : min(W, xi + half + 1)]
    v = win[(win > 0) & np.isfinite(win)]
    return float(np.median(v)) if v.size else None


def _hidden_contact(depth: np.ndarray, camera: Camera | None, u: float, v: int, ratio: float) -> bool:
    """True when the scene just below the lowest pixel (rows v+1..v+3) is markedly nearer than
    at it (rows v-2..v): the object's bottom edge is an occlusion edge of the empty scene, so its
    feet are hidden behind a nearer thing. "Markedly": below/at < ratio times what the floor
    itself would give over those rows (the camera's floor ratio, 1 without a camera)."""
    z_at = _window_depth(depth, u, v - 2, v)
    z_below = _window_depth(depth, u, v + 1, v + 3)
    if z_at is None or z_below is None:
        return False
    expect = 1.0
    if camera is not None:
        fa, fb = float(camera.floor_depth(u, v - 1)), float(camera.floor_depth(u, v + 2))
        if fa > 0 and fb > 0:
            expect = fb / fa
    return z_below / z_at < ratio * expect


def _measure(o: SceneObject, depth, src: str, camera: Camera | None, f: float | None, v_t: int, head_cut: bool) -> None:
    """Fill ``o.distance_m``, ``o.height_m``, ``o.depth_source`` and ``o.reason`` from its contact point
    (:attr:`SceneObject.contact_point`, the bottom edge of the contact pixel) and its top row ``v_t``."""
    u, v = o.contact_point
    # the contact point is on the floor: with a camera and no measured scene, the floor's exact depth there
    # beats a scene estimate that was only scaled or aligned to it (the network's, the teacher's)
    Z = None if (camera is not None and src in ("ground_plane", "learned", "teacher")) else _sample_depth(depth, u, v)
    if Z is None and camera is not None:
        zf = float(camera.floor_depth(u, v))
        if zf > 0:
            Z, o.depth_source = zf, "ground_plane"
        else:
            o.reason = REASON_ABOVE_HORIZON
    elif Z is None:
        o.reason = REASON_NO_DEPTH if depth is not None else "no scene depth"
    o.distance_m = Z
    if Z is None:
        return
    if head_cut:
        o.reason = REASON_HEAD_OUTSIDE
    elif camera is not None:
        hm = camera.upright_height(camera.ray(u, v) * Z, o.top_px[0], v_t - 0.5)
        o.height_m = hm if math.isfinite(hm) else None
    elif f:
        o.height_m = Z * (v - (v_t - 0.5)) / f


def extract_objects(
    mask: np.ndarray,
    scene_depth=None,
    camera: Camera | None = None,
    min_area_px: int | None = None,
    focal_px: float | None = None,
    scene_source: str | None = None,
    hidden_ratio: float = 0.85,
    join_pieces: bool = True,
    person_boxes=None,
) -> list[SceneObject]:
    """Connected foreground components with their contact point, distance and height.

    Args:
        mask: ``(H, W)`` bool or uint8 (> 0 or >= 128 for 0/255 masks counts as foreground).
        scene_depth: :class:`~maskdepth.scene.depth_sources.SceneDepth` or float ``(H, W)``
            metres of the empty scene (0 = unknown), or ``None``.
        camera: optional camera at the mask's size (scaled to it when its aspect agrees).
        min_area_px: smallest kept component (8-connectivity); default
            ``max(20, 0.0005 * H * W)``.
        focal_px: focal length for heights without a camera (``Z * pixel height / f``).
        scene_source: the depth source name when ``scene_depth`` is a bare array
            (default ``"measured"``).
        hidden_ratio: the contact is *hidden* when the scene depth just below the lowest
            pixel is less than ``hidden_ratio`` times the depth at it (times the floor's own
            ratio over those rows when a camera is given): the bottom edge is an occluder's
            edge (a crate, a car in front), ``contact_px`` is then ``None`` with
            ``reason = "contact hidden behind a nearer object"``.
        join_pieces: components stacked one above the other with a small gap (the pieces of one upright body that
            the mask broke into bands, :func:`maskdepth.scene.pieces.piece_groups`, with the camera's metres when
            given) are one object, their pixels one label (default; adopted on synthetic walker clips,
            ``results/events_join_pieces.md``); ``False``: every component an object.
        person_boxes: optional float ``(N, 4)`` ``(x0, y0, x1, y1)`` boxes of people in the frame (a person detector's,
            :mod:`maskdepth.inference.detector`): a component that two or more of them lie on is split into one object per
            person (:mod:`maskdepth.scene.person_boxes`; each part's ``extra["person_box"]`` is its box; a part whose feet
            are behind a nearer part has ``reason = "contact hidden behind a nearer object"``).
    Returns:
        ``list[SceneObject]`` sorted by label (ids 1..n) (:func:`label_objects` also gives the label image).
        ``distance_m``, read at the contact point ``(u_c, v_c + 0.5)`` (the bottom edge of the
        contact pixel): with a camera and a ``"ground_plane"``, ``"teacher"`` or ``"learned"``
        scene, the camera's exact floor depth there (the object stands on the floor, and those
        scenes were only scaled or aligned to that floor; source ``"ground_plane"``); otherwise
        the median of known scene depth in the window of 5 columns and the 4 rows ``v_c - 1 ..
        v_c + 2`` (symmetric about the edge), and where that is unknown and a camera is given,
        the floor depth (source ``"ground_plane"``); otherwise ``None`` with a ``reason``.
        ``height_m``: with a camera, the upright height through the contact point
        (:meth:`Camera.upright_height`, to the top edge ``v_top - 0.5`` of the top pixel); else with
        ``focal_px`` (or the camera's), ``Z (v_c + 0.5 - (v_top - 0.5)) / f`` (fronto-parallel); else
        ``None``; also ``None`` with ``reason = "head outside the frame: no height"`` when the
        component touches the first image row.
    Raises:
        MaskDepthError: ``mask`` is not 2-D, or the depth's shape differs from the mask's.
    """
    return _label(mask, scene_depth, camera, min_area_px, focal_px, scene_source, hidden_ratio, join_pieces, person_boxes)[0]


def label_objects(mask: np.ndarray, scene_depth=None, camera: Camera | None = None, **options) -> tuple[list[SceneObject], np.ndarray]:
    """:func:`extract_objects` and the int32 ``(H, W)`` label image of the components (0 = background;
    ``SceneObject.label`` indexes it; what :func:`compose_depth` needs). ``options``: ``min_area_px``,
    ``focal_px``, ``scene_source``, ``hidden_ratio``, ``join_pieces``, ``person_boxes`` as in :func:`extract_objects`;
    same errors."""
    return _label(mask, scene_depth, camera, **options)


def _label(
    mask: np.ndarray,
    scene_depth,
    camera: Camera | None,
    min_area_px: int | None = None,
    focal_px: float | None = None,
    scene_source: str | None = None,
    hidden_ratio: float = 0.85,
    join_pieces: bool = True,
    person_boxes=None,
) -> tuple[list[SceneObject], np.ndarray]:
    import cv2

    fg = _foreground(mask)
    H, W = fg.shape
    depth, src = _scene_array(scene_depth, scene_source, (H, W))
    if camera is not None:
        camera = camera.scaled_to(W, H)
    f = focal_px if focal_px is not None else (camera.focal_px if camera is not None else None)
    if min_area_px is None:
        min_area_px = max(20, int(0.0005 * H * W))
    # Grana's block-based labelling (BBDT): the same labels, stats and centroids as the default (Spaghetti) on
    # OpenCV 4.x, about 3 times faster when the stats are asked for (~6 -> ~2 ms at 1280x720, results/live_speed.md)
    n, labels, stats, cents = cv2.connectedComponentsWithStatsWithAlgorithm(fg.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_GRANA)
    kept = [lab for lab in range(1, n) if stats[lab, 4] >= min_area_px]
    boxes = None if person_boxes is None else np.asarray(person_boxes, np.float64).reshape(-1, 4)
    objs: list[SceneObject] = []
    for group in _groups(kept, stats, camera, join_pieces):
        for lab, stat, cent, box, feet_hidden in _people(*_joined(group, labels, stats, cents), labels, boxes, min_area_px):
            x, y, w, h, _ = (int(v) for v in stat)
            comp = labels[y : y + h, x : x + w] == lab
            o = _component(comp, lab, stat, cent, len(objs) + 1, src)
            if box is not None:
                o.extra["person_box"] = tuple(float(v) for v in box)
            if feet_hidden:
                o.reason = REASON_HIDDEN
            else:
                _locate(o, comp, depth, src, camera, f, hidden_ratio, H)
            objs.append(o)
    return objs, labels.astype(np.int32, copy=False)


def _people(lab: int, stat, cent, labels: np.ndarray, boxes: np.ndarray | None, min_area_px: int) -> list[tuple]:
    """``[(label, stat, centroid, person box or None, feet hidden)]``: the component ``lab`` whole, or one entry per
    person when two or more of ``boxes`` lie on it (:mod:`maskdepth.scene.person_boxes`; the parts take new labels in
    ``labels``, changed in place)."""
    if boxes is None or len(boxes) < 2:
        return [(lab, stat, cent, None, False)]
    from .person_boxes import boxes_on, split_component

    x, y, w, h, _ = (int(v) for v in stat)
    comp = labels[y : y + h, x : x + w] == lab
    on = boxes_on(comp, (x, y), boxes)
    if len(on) < 2:
        return [(lab, stat, cent, None, False)]
    parts, box_of_part, hidden = split_component(comp, (x, y), boxes[on], min_area_px)
    if len(box_of_part) < 2:  # every pixel went to one person (the other box's person is wholly behind)
        return [(lab, stat, cent, None, False)]
    out, next_lab, sub = [], int(labels.max()) + 1, labels[y : y + h, x : x + w]
    for i, (k, feet_hidden) in enumerate(zip(box_of_part, hidden)):
        ys, xs = np.nonzero(parts == i)
        new = lab if i == 0 else next_lab + i - 1
        sub[ys, xs] = new
        st = np.array([x + xs.min(), y + ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1, len(xs)])
        box = boxes[on[k]]
        out.append((new, st, np.array([x + xs.mean(), y + ys.mean()]), box, feet_hidden))
    return out


def _groups(kept: list[int], stats: np.ndarray, camera: Camera | None, join_pieces: bool) -> list[list[int]]:
    """The labels of the kept components in groups: each alone, or the pieces of one body together
    (:func:`maskdepth.scene.pieces.piece_groups` on their boxes) when ``join_pieces``."""
    if not join_pieces or len(kept) < 2:
        return [[lab] for lab in kept]
    from .pieces import piece_groups

    st = stats[kept]
    boxes = np.stack([st[:, 0], st[:, 1], st[:, 0] + st[:, 2] - 1, st[:, 1] + st[:, 3] - 1], axis=1)
    return [[kept[i] for i in g] for g in piece_groups(boxes, camera)]


def _joined(group: list[int], labels: np.ndarray, stats: np.ndarray, cents: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``(label, stat (x, y, w, h, area), centroid)`` of a group of components: its first label, which its other
    components' pixels take in ``labels`` (changed in place), with their joint box, area and centroid."""
    lab = group[0]
    if len(group) == 1:
        return lab, stats[lab], cents[lab]
    st, area = stats[group], stats[group, 4].astype(np.float64)
    x0, y0 = st[:, 0].min(), st[:, 1].min()
    x1, y1 = (st[:, 0] + st[:, 2]).max(), (st[:, 1] + st[:, 3]).max()
    sub = labels[y0:y1, x0:x1]
    sub[np.isin(sub, group[1:])] = lab
    cent = (cents[group] * area[:, None]).sum(axis=0) / area.sum()
    return lab, np.array([x0, y0, x1 - x0, y1 - y0, int(area.sum())]), cent


def _foreground(mask: np.ndarray) -> np.ndarray:
    """bool ``(H, W)``: ``mask`` > 0 (>= 128 for a 0/255 uint8 mask). Raises MaskDepthError unless 2-D."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise MaskDepthError(f"mask must be (H, W), got shape {m.shape}")
    if m.dtype == bool:
        return np.ascontiguousarray(m)
    if m.dtype == np.uint8 and m.max(initial=0) > 1:
        return m >= 128
    return m > 0


def _scene_array(scene_depth, scene_source: str | None, hw: tuple[int, int]) -> tuple[np.ndarray | None, str]:
    """``(depth float32 (H, W) metres or None, source name)`` of :func:`extract_objects`'s ``scene_depth``."""
    if scene_depth is None:
        depth, src = None, scene_source or "learned"
    elif hasattr(scene_depth, "depth"):
        depth, src = (scene_depth.depth if scene_depth.metric else None), scene_depth.source
    else:
        depth, src = np.asarray(scene_depth, np.float32), scene_source or "measured"
    if depth is not None and depth.shape != hw:
        raise MaskDepthError(f"scene depth is {depth.shape[1]}x{depth.shape[0]} but the mask is {hw[1]}x{hw[0]}")
    return depth, src


def _component(comp: np.ndarray, lab: int, stat, cent, oid: int, src: str) -> SceneObject:
    """The :class:`SceneObject` of component ``lab`` (``comp``: its bool pixels inside its box) with its box,
    area, centroid and robust top pixel."""
    x, y, w, h, area = (int(v) for v in stat)
    o = SceneObject(
        id=oid,
        bbox=(x, y, x + w - 1, y + h - 1),
        area_px=area,
        centroid=(float(cent[0]), float(cent[1])),
        contact_px=None,
        top_px=None,
        depth_source=src,
        label=lab,
    )
    v_t = _robust_row(np.arange(y, y + h), comp.sum(axis=1), False)
    xs = np.nonzero(comp[v_t - y : v_t - y + _band(h) + 1])[1]  # the rows v_t .. v_t + band
    o.top_px = (float(np.median(xs + x)), float(v_t))
    return o


def _band(h: int) -> int:
    """Rows (3 % of the component's height, >= 1) whose pixels give the robust top and contact columns."""
    return max(1, int(round(0.03 * h)))


def _locate(o: SceneObject, comp: np.ndarray, depth, src: str, camera, f, hidden_ratio: float, H: int) -> None:
    """The contact point, distance and height of ``o`` (or its ``reason``; ``comp``: its bool pixels inside its
    box): see :func:`extract_objects`."""
    x0, y, x1, y1 = o.bbox
    if y1 >= H - 1:
        o.reason = REASON_OUTSIDE
        return
    v_c = _robust_row(np.arange(y, y1 + 1), comp.sum(axis=1), True)
    xs = np.nonzero(comp[max(0, v_c - _band(y1 - y + 1) - y) : v_c - y + 1])[1]  # the rows v_c - band .. v_c
    u_c = float(np.median(xs + x0))
    if depth is not None and _hidden_contact(depth, camera, u_c, v_c, hidden_ratio):
        o.reason = REASON_HIDDEN
        return
    o.contact_px = (u_c, float(v_c))
    _measure(o, depth, src, camera, f, int(o.top_px[1]), head_cut=y == 0)


def compose_depth(
    scene_depth,
    mask: np.ndarray,
    objects: list,
    camera: Camera | None = None,
    labels: np.ndarray | None = None,
    fallback_depth: np.ndarray | None = None,
) -> np.ndarray:
    """Depth of a frame: the empty scene's depth with each foreground object on top of it.

    Each object with a distance stands on a vertical plane through its contact point
    ``P = Z r_c`` (:attr:`SceneObject.contact_point`, the bottom edge of the contact pixel), facing the camera: the plane's normal is the optical axis projected on the
    floor, ``n`` (:meth:`Camera.forward_horizontal`), so the depth of pixel ``(u, v)`` of the
    object is ``Z(u, v) = (n . P) / (n . r(u, v))``; with roll 0 that is
    ``Z_c (cos th - sin th y_c) / (cos th - sin th y)`` and the top of an upright object of
    height ``H`` is at ``Z_c - H sin th`` (nearer than the feet when looking down, equal at
    pitch 0). Without a camera the plane is fronto-parallel (depth ``Z_c`` everywhere).
    Occlusion: where the empty scene's known depth is nearer than the plane by more than
    :data:`OCCLUSION_TOL_M` (5 mm; a tie within float rounding is no occluder), the scene wins.
    Objects without a distance keep ``fallback_depth`` (the learned estimate of the frame)
    where given, else the scene depth, and get ``extra["depth_mode"] = "kept"``.

    Args:
        scene_depth: :class:`SceneDepth` or float ``(H, W)`` metres (0 = unknown).
        mask: ``(H, W)`` foreground mask (as in :func:`extract_objects`).
        objects: from :func:`extract_objects` (same mask).
        camera: optional camera (scaled to the mask's size).
        labels: the label image from :func:`label_objects`; recomputed if omitted.
        fallback_depth: optional float ``(H, W)`` metres for objects without a contact point.
    Returns:
        float32 ``(H, W)`` metres, 0 = unknown.
    Raises:
        MaskDepthError: shape mismatch, or a scene depth that is not in metres.
    """
    import cv2

    if hasattr(scene_depth, "depth") and not getattr(scene_depth, "metric", True):
        raise MaskDepthError(f"the {scene_depth.source} scene depth is {scene_depth.unit}, not metres: give a camera to align it")
    d = scene_depth.depth if hasattr(scene_depth, "depth") else np.asarray(scene_depth)
    d = np.where(np.isfinite(d) & (d > 0), d, 0).astype(np.float32)
    H, W = d.shape
    m = np.asarray(mask)
    if m.shape != (H, W):
        raise MaskDepthError(f"mask is {m.shape[1] if m.ndim > 1 else '?'}x{m.shape[0]} but the scene depth is {W}x{H}")
    if labels is None:
        fg = m if m.dtype == bool else (m >= 128 if (m.dtype == np.uint8 and m.max(initial=0) > 1) else m > 0)
        _, labels, _, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if camera is not None:
        camera = camera.scaled_to(W, H)
    out = d.copy()
    if fallback_depth is not None:
        fallback_depth = np.where(np.isfinite(fallback_depth) & (fallback_depth > 0), fallback_depth, 0).astype(np.float32)
    for o in objects:
        x0, y0, x1, y1 = o.bbox
        sl = (slice(y0, y1 + 1), slice(x0, x1 + 1))
        comp = labels[sl] == o.label
        if o.distance_m is None or o.contact_px is None:
            o.extra["depth_mode"] = "kept"
            if fallback_depth is not None:
                out[sl][comp] = fallback_depth[sl][comp]
            continue
        Zc = float(o.distance_m)
        if camera is not None:
            n = camera.forward_horizontal()
            P = camera.ray(*o.contact_point) * Zc
            uu, vv = np.meshgrid(np.arange(x0, x1 + 1, dtype=np.float64), np.arange(y0, y1 + 1, dtype=np.float64))
            den = camera.ray(uu, vv) @ n
            with np.errstate(divide="ignore", invalid="ignore"):
                plane = np.where(den > 1e-9, (n @ P) / den, 0.0)
        else:
            plane = np.full(comp.shape, Zc)
        scene = d[sl]
        occluded = (scene > 0) & (scene < plane - OCCLUSION_TOL_M)
        val = np.where(occluded, scene, plane).astype(np.float32)
        out[sl][comp] = val[comp]
        o.extra["depth_mode"] = "plane"
        o.extra["occluded_px"] = int((occluded & comp).sum())
    return out


def objects_json(objects: list, image_size: tuple[int, int], note: str | None = None) -> dict:
    """``objects.json`` (issue 12): ``{"image_size": [W, H], "objects": [{"id", "bbox":
    [x0, y0, x1, y1], "area_px", "contact_px": [x, y] | null, "distance_m", "height_m",
    "depth_source"}, ...]}`` plus ``"note"`` (top level when given; per object when it has a reason)."""
    d: dict[str, Any] = {"image_size": [int(image_size[0]), int(image_size[1])], "objects": [o.to_json() for o in objects]}
    if note:
        d["note"] = note
    return d
