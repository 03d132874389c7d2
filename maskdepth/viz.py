"""Colour maps, overlays and sample grids (uint8 RGB images for files, reports and TensorBoard).

Needs numpy and OpenCV only; matplotlib only for colour maps other than ``magma``/``magma_r``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .io import resize

# matplotlib's "magma" sampled at 256 points, RGB uint8 (``(cmap(linspace(0, 1, 256))[:, :3] * 255).round()``),
# kept here so the prediction path draws depth without matplotlib (it comes with the [train] extra).
_MAGMA_HEX = (
    "00000401000501010601010802010902020b02020d03030f03031204041405041606051806051a07061c08071e0907200a08220b09240c09260d0a290e0b2b10"
    "0b2d110c2f120d31130d34140e36150e38160f3b180f3d19103f1a10421c10441d11471e114920114b21114e22115024125325125527125829115a2a115c2c11"
    "5f2d11612f116331116533106734106936106b38106c390f6e3b0f703d0f713f0f72400f74420f75440f764510774710784910784a10794c117a4e117b4f127b"
    "51127c52137c54137d56147d57157e59157e5a167e5c167f5d177f5f187f601880621980641a80651a80671b80681c816a1c816b1d816d1d816e1e81701f8172"
    "1f817320817521817621817822817922827b23827c23827e24828025828125818326818426818627818827818928818b29818c29818e2a81902a81912b81932b"
    "80942c80962c80982d80992d809b2e7f9c2e7f9e2f7fa02f7fa1307ea3307ea5317ea6317da8327daa337dab337cad347cae347bb0357bb2357bb3367ab5367a"
    "b73779b83779ba3878bc3978bd3977bf3a77c03a76c23b75c43c75c53c74c73d73c83e73ca3e72cc3f71cd4071cf4070d0416fd2426fd3436ed5446dd6456cd8"
    "456cd9466bdb476adc4869de4968df4a68e04c67e24d66e34e65e44f64e55064e75263e85362e95462ea5661eb5760ec5860ed5a5fee5b5eef5d5ef05f5ef160"
    "5df2625df2645cf3655cf4675cf4695cf56b5cf66c5cf66e5cf7705cf7725cf8745cf8765cf9785df9795df97b5dfa7d5efa7f5efa815ffb835ffb8560fb8761"
    "fc8961fc8a62fc8c63fc8e64fc9065fd9266fd9467fd9668fd9869fd9a6afd9b6bfe9d6cfe9f6dfea16efea36ffea571fea772fea973feaa74feac76feae77fe"
    "b078feb27afeb47bfeb67cfeb77efeb97ffebb81febd82febf84fec185fec287fec488fec68afec88cfeca8dfecc8ffecd90fecf92fed194fed395fed597fed7"
    "99fed89afdda9cfddc9efddea0fde0a1fde2a3fde3a5fde5a7fde7a9fde9aafdebacfcecaefceeb0fcf0b2fcf2b4fcf4b6fcf6b8fcf7b9fcf9bbfcfbbdfcfdbf"
)
_LUTS: dict[str, np.ndarray] = {}


def _lut(name: str) -> np.ndarray:
    """``uint8 (256, 3)`` colour table of a matplotlib colour map (magma and magma_r built in, others need matplotlib)."""
    if name not in _LUTS:
        if name in ("magma", "magma_r"):
            lut = np.frombuffer(bytes.fromhex("".join(_MAGMA_HEX)), np.uint8).reshape(256, 3).copy()
            _LUTS[name] = lut if name == "magma" else lut[::-1].copy()
        else:
            import matplotlib

            _LUTS[name] = (matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    return _LUTS[name]


def depth_display_range(depth: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, float] | None:
    """The one colour range rule for depth pictures: the 2nd and 98th percentiles of the known depth.

    Args:
        depth: ``float (H, W)`` metres (or disparity).
        valid: bool ``(H, W)`` pixels to use (default: finite and > 0, i.e. known).
    Returns: ``(vmin, vmax)`` as Python floats, or ``None`` when no pixel is valid.
    """
    d = np.asarray(depth, np.float32)
    if valid is None:
        valid = np.isfinite(d) & (d > 0)
    if not valid.any():
        return None
    lo, hi = _percentiles(d, valid)
    return float(lo), float(hi)


def _percentiles(d: np.ndarray, valid: np.ndarray):
    """2nd and 98th percentiles of ``d[valid]`` in ``d``'s dtype (the arithmetic colour maps were made with)."""
    return np.percentile(d[valid], [2, 98])


def colorize_depth(
    depth: np.ndarray, vmin: float | None = None, vmax: float | None = None, cmap: str = "magma_r", valid: np.ndarray | None = None
) -> np.ndarray:
    """Colour-map a depth (or disparity) map.

    Args:
        depth: ``float (H, W)``; pixels with ``valid`` False (default: depth <= 0 or
            non-finite) are drawn black.
        vmin, vmax: range mapped onto the colour map (default: :func:`depth_display_range` of the valid pixels).
        cmap: a perceptually uniform matplotlib map; the default ``magma_r`` draws
            near as bright and far as dark.
    Returns:
        ``uint8 (H, W, 3)``.
    """
    d = np.asarray(depth, np.float32)
    if valid is None:
        valid = np.isfinite(d) & (d > 0)
    if not valid.any():
        return np.zeros(d.shape + (3,), np.uint8)
    if vmin is None or vmax is None:
        lo, hi = _percentiles(d, valid)
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    t = np.clip((d - vmin) / max(vmax - vmin, 1e-6), 0, 1)
    idx = np.where(valid, (t * 255).round(), 0).astype(np.uint8)
    rgb = _lut(cmap)[idx]
    rgb[~valid] = 0
    return rgb


def overlay(image: np.ndarray, mask: np.ndarray, color=(0, 200, 255), alpha: float = 0.5) -> np.ndarray:
    """Tint ``mask`` pixels of ``image`` (uint8 (H,W,3)) with ``color`` and outline nothing; returns uint8 (H,W,3)."""
    out = image.astype(np.float32).copy()
    m = mask.astype(bool)
    out[m] = (1 - alpha) * out[m] + alpha * np.asarray(color, np.float32)
    return out.round().astype(np.uint8)


def gray_to_rgb(a: np.ndarray) -> np.ndarray:
    """bool/uint8 (H,W) → uint8 (H,W,3) (bool True → 255)."""
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    return np.repeat(a[..., None], 3, axis=2).astype(np.uint8)


def grid(rows: Sequence[Sequence[np.ndarray]], cell: int = 128, pad: int = 2, titles: Sequence[str] | None = None) -> np.ndarray:
    """Tile images (each uint8 (h,w,3), resized to ``cell``×``cell``) into one uint8 RGB image.

    ``titles`` (one per column) are drawn above the first row with OpenCV's Hershey font.
    """
    import cv2

    nr = len(rows)
    nc = max(len(r) for r in rows)
    top = 18 if titles else 0
    H = top + nr * (cell + pad) + pad
    W = nc * (cell + pad) + pad
    canvas = np.full((H, W, 3), 255, np.uint8)
    for i, r in enumerate(rows):
        for j, im in enumerate(r):
            y, x = top + pad + i * (cell + pad), pad + j * (cell + pad)
            canvas[y : y + cell, x : x + cell] = resize(np.asarray(im, np.uint8), (cell, cell))
    if titles:
        for j, t in enumerate(titles):
            cv2.putText(canvas, str(t)[:18], (pad + j * (cell + pad) + 2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def object_label(obj, speed_m_s: float | None = None) -> str:
    """``"1 · 4.2 m"``: an object's id and distance (``"1 · ?"`` without a distance; ``"? · 4.2 m"``
    for id 0, a track the video tracker has not confirmed yet), with ``" · 1.3 m/s"`` when a speed is given."""
    d = getattr(obj, "distance_m", None)
    ident = str(obj.id) if obj.id else "?"
    text = f"{ident} · {d:.1f} m" if d is not None else f"{ident} · ?"
    return text if speed_m_s is None else f"{text} · {speed_m_s:.1f} m/s"


def draw_objects(
    image: np.ndarray, objects: Sequence, color=(255, 255, 255), speeds: Sequence | None = None, person_boxes: Sequence | None = None
) -> np.ndarray:
    """Each object's bounding box, contact point and label (:func:`object_label`) drawn on a copy of ``image``,
    and inside it, thin in the same colour, its person's box where one is given (two people in one blob).

    Args:
        image: uint8 ``(H, W, 3)`` RGB (e.g. :func:`overlay`'s output).
        objects: items with ``id``, ``bbox`` ``(x0, y0, x1, y1)``, ``contact_px`` ``(x, y)`` or
            ``None`` and ``distance_m`` (:class:`maskdepth.scene.objects.SceneObject`).
        speeds: optional speed (m/s, or ``None``) of each object, added to its label.
        person_boxes: optional ``[x0, y0, x1, y1]`` pixels (or ``None``) of each object: its ``objects.jsonl``
            ``person_bbox`` (:func:`maskdepth.events.pipeline.person_bbox`), drawn 1 pixel thick.
    Returns: uint8 ``(H, W, 3)``.
    """
    import cv2

    out = np.ascontiguousarray(image.copy())
    scale = max(0.35, min(out.shape[:2]) / 600.0)
    thick = max(1, round(scale * 2))
    for k, o in enumerate(objects):
        x0, y0, x1, y1 = (int(v) for v in o.bbox)
        cv2.rectangle(out, (x0, y0), (x1, y1), color, thick)
        if person_boxes is not None and person_boxes[k] is not None:
            p0, q0, p1, q1 = (int(v) for v in person_boxes[k])
            cv2.rectangle(out, (p0, q0), (p1, q1), color, 1)
        if o.contact_px is not None:
            cv2.circle(out, (int(round(o.contact_px[0])), int(round(o.contact_px[1]))), thick + 2, (255, 64, 64), -1)
        text = object_label(o, speeds[k] if speeds is not None else None).replace("·", "-")  # Hershey fonts have no middle dot
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = max(th + 2, y0 - 3)
        cv2.rectangle(out, (x0, ty - th - 2), (x0 + tw + 2, ty + base - 1), (0, 0, 0), -1)
        cv2.putText(out, text, (x0 + 1, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)
    return out


def draw_hidden(image: np.ndarray, hidden: Sequence, color=(255, 255, 255), dash: int = 6) -> np.ndarray:
    """The people the tracker keeps inside another's merged blob drawn on a copy of ``image``: each one's box (its
    ``person_bbox``, the share of the blob found by colour, where the record has one, else its predicted ``bbox``)
    dashed (``dash`` pixels on, ``dash`` off) with the label ``"<id> hidden"``.

    Args:
        image: uint8 ``(H, W, 3)`` RGB.
        hidden: the frame's ``objects.jsonl`` ``hidden`` records (:func:`maskdepth.events.pipeline.hidden_records`:
            dicts with ``id`` and ``bbox`` ``[x0, y0, x1, y1]`` inclusive pixels, optionally ``person_bbox``).
        color: RGB of the boxes and labels.
        dash: length in pixels of the dashes and of the gaps (>= 1).
    Returns: uint8 ``(H, W, 3)`` (``image`` itself, untouched, when there is nothing to draw).
    """
    import cv2

    if not len(hidden):
        return image
    out = np.ascontiguousarray(image.copy())
    scale = max(0.35, min(out.shape[:2]) / 600.0)
    for r in hidden:
        x0, y0, x1, y1 = (int(v) for v in r.get("person_bbox") or r["bbox"])
        for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
            _dashed_line(out, np.array(a, float), np.array(b, float), color, dash)
        cv2.putText(out, f"{r['id']} hidden", (x0 + 1, y1 - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)
    return out


def _dashed_line(out: np.ndarray, a: np.ndarray, b: np.ndarray, color, dash: int) -> None:
    """A 1-pixel line from ``a`` to ``b`` (float ``(2,)`` pixels) in dashes of ``dash`` pixels, drawn into ``out``."""
    import cv2

    length = float(np.hypot(*(b - a)))
    for start in np.arange(0.0, max(length, 1.0), 2 * dash):
        p, q = a + (b - a) * start / max(length, 1.0), a + (b - a) * min(start + dash, length) / max(length, 1.0)
        cv2.line(out, tuple(int(round(v)) for v in p), tuple(int(round(v)) for v in q), color, 1)


def draw_tracked(
    image: np.ndarray,
    mask: np.ndarray,
    shapes: tuple = ((), ()),
    objects: Sequence = (),
    records: Sequence | None = None,
    hidden: Sequence = (),
) -> np.ndarray:
    """One frame's overlay as ``predict --video`` (``overlay.mp4``) and ``watch --serve`` show it: the mask tinted
    (:func:`overlay`), the zones and lines (:func:`draw_zones`), each tracked object's box, contact point and label
    with its speed and person box from its ``objects.jsonl`` record (:func:`draw_objects`), and the people hidden in a
    blob (:func:`draw_hidden`).

    Args:
        image: uint8 ``(H, W, 3)`` RGB frame.
        mask: bool ``(H, W)`` foreground.
        shapes: ``(zones, lines)`` in pixels (:meth:`maskdepth.events.EventEngine.overlay_shapes`).
        objects: the tracked objects (:class:`maskdepth.scene.objects.SceneObject`).
        records: their ``objects.jsonl`` records, in order (``speed_m_s``, ``person_bbox``), or ``None``.
        hidden: the frame's ``hidden`` records.
    Returns: uint8 ``(H, W, 3)``.
    """
    speeds = None if records is None else [r.get("speed_m_s") for r in records]
    people = None if records is None else [r.get("person_bbox") for r in records]
    drawn = draw_objects(draw_zones(overlay(image, mask), *shapes), objects, speeds=speeds, person_boxes=people)
    return draw_hidden(drawn, hidden or [])


ZONE_COLOR, LINE_COLOR = (64, 224, 96), (255, 196, 0)


def draw_zones(image: np.ndarray, zones: Sequence = (), lines: Sequence = (), alpha: float = 0.2) -> np.ndarray:
    """Zones (tinted polygons with their outline and name) and lines (a segment with an arrow from p0
    to p1 and its name) drawn on a copy of ``image``.

    Args:
        image: uint8 ``(H, W, 3)`` RGB.
        zones: ``(name, points)`` pairs, points float ``(N, 2)`` pixels.
        lines: ``(name, points)`` pairs, points float ``(2, 2)`` pixels ``[p0, p1]``.
        alpha: opacity of the zones' tint.
    Returns: uint8 ``(H, W, 3)`` (``image`` itself, untouched, when there is nothing to draw).
    """
    import cv2

    if not len(zones) and not len(lines):
        return image
    out = np.ascontiguousarray(image.copy())
    scale = max(0.35, min(out.shape[:2]) / 600.0)
    thick = max(1, round(scale * 2))
    if len(zones):
        tint = out.copy()
        for _, pts in zones:
            cv2.fillPoly(tint, [np.round(np.asarray(pts)).astype(np.int32)], ZONE_COLOR)
        out = cv2.addWeighted(tint, alpha, out, 1 - alpha, 0)
    for name, pts in zones:
        p = np.round(np.asarray(pts)).astype(np.int32)
        cv2.polylines(out, [p], True, ZONE_COLOR, thick, cv2.LINE_AA)
        cv2.putText(out, str(name), tuple(int(v) for v in p[0]), cv2.FONT_HERSHEY_SIMPLEX, scale, ZONE_COLOR, thick, cv2.LINE_AA)
    for name, pts in lines:
        p0, p1 = (tuple(int(round(v)) for v in q) for q in np.asarray(pts)[:2])
        cv2.arrowedLine(out, p0, p1, LINE_COLOR, thick, cv2.LINE_AA, tipLength=0.04)
        cv2.putText(out, str(name), p0, cv2.FONT_HERSHEY_SIMPLEX, scale, LINE_COLOR, thick, cv2.LINE_AA)
    return out
