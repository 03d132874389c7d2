"""The output schemas, in one place: what a pair's files hold (``mask.png``, ``depth.png`` + ``depth.json``,
``objects.json``, ``depth_color.png``, ``overlay.png``).

``depth.json`` says how to read ``depth.png`` (uint16 millimetres, 0 = unknown) and what made it
(:data:`DEPTH_KIND`, ``depth_source``, the scene summary and the camera); ``objects.json`` is
:func:`maskdepth.scene.objects_json` (issue 12 schema). Video (``video.json``) and ``watch``
(``watch.json``, ``events.jsonl``) write their records with the same per-frame pieces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.format import depth_to_mm_u16
from ..io import atomic_write_json, save_png
from ..viz import draw_objects, overlay
from .pipeline import FrameResult

__all__ = ["DEPTH_KIND", "depth_json", "write_outputs", "video_json"]

DEPTH_KIND = {
    "measured": "the empty scene's measured depth (--bg-depth) with each object on a vertical plane at its contact point",
    "ground_plane": "exact floor depth from camera.json; the rest the learned estimate scaled to the floor; objects at their contact points",
    "teacher": "the teacher's depth of the empty scene (metres from the floor of camera.json) with objects at their contact points",
    "learned": "metric estimate from a monocular network (absolute scale approximate)",
}


def depth_json(result: FrameResult, mm: np.ndarray) -> dict:
    """``depth.json``: how to read ``depth.png`` and what made it.

    Args:
        result: the frame's :class:`~maskdepth.inference.pipeline.FrameResult`.
        mm: its depth as written, uint16 ``(H, W)`` millimetres (0 = unknown).
    Returns: ``{"file", "dtype", "unit", "to_metres", "invalid_value", "kind", "min_m", "max_m",
        "known_fraction", "mask_fraction", "depth_source", "scene", "camera"}``.
    """
    known = mm > 0
    return {
        "file": "depth.png",
        "dtype": "uint16",
        "unit": "millimetre",
        "to_metres": 0.001,
        "invalid_value": 0,
        "kind": DEPTH_KIND.get(result.depth_source, result.depth_source),
        "min_m": float(mm[known].min()) / 1000 if known.any() else None,
        "max_m": float(mm[known].max()) / 1000 if known.any() else None,
        "known_fraction": float(known.mean()),
        "mask_fraction": float(result.mask.mean()),
        **result.depth_json(),
    }


def write_outputs(out_dir: str | Path, image: np.ndarray, result: FrameResult) -> dict[str, str]:
    """Write one frame's files into ``out_dir`` (created), each atomically.

    Files: ``mask.png`` (0/255), ``depth.png`` (uint16 millimetres, **0 = unknown**,
    :func:`~maskdepth.data.format.depth_to_mm_u16`), ``depth.json`` (:func:`depth_json`),
    ``objects.json`` (:meth:`FrameResult.objects_json`), ``depth_color.png`` (magma, near = bright,
    unknown = black), ``overlay.png`` (mask tint plus each object's box, contact point and "id - distance" label).

    Args:
        out_dir: the folder.
        image: ``uint8 (H, W, 3)`` RGB frame the result is of.
        result: its :class:`~maskdepth.inference.pipeline.FrameResult`.
    Returns: ``{name: path}`` of the files written.
    Raises: MaskDepthError when a file cannot be written.
    """
    out = Path(out_dir)
    mm = depth_to_mm_u16(result.depth)
    files = {
        "mask": out / "mask.png",
        "depth": out / "depth.png",
        "depth_json": out / "depth.json",
        "objects": out / "objects.json",
        "depth_color": out / "depth_color.png",
        "overlay": out / "overlay.png",
    }
    save_png(files["mask"], result.mask.astype(np.uint8) * 255)
    save_png(files["depth"], mm)
    atomic_write_json(files["depth_json"], depth_json(result, mm))
    atomic_write_json(files["objects"], result.objects_json())
    save_png(files["depth_color"], result.to_color())
    save_png(files["overlay"], draw_objects(overlay(image, result.mask), result.objects))
    return {k: str(v) for k, v in files.items()}


VIDEO_SMOOTHING_RULE = (
    "EMA of the mask probability, s_t = alpha * x_t + (1 - alpha) * s_(t-1), and the same EMA of log-depth "
    "over pixels known in both frames (unknown = 0 stays 0; newly known pixels restart)"
)
FLICKER_DEFINITION = "mean over consecutive frames of |M_t xor M_(t-1)| / |M_t or M_(t-1)| (0 when both empty)"
DEPTH_COLOR_NOTE = "2nd-98th percentile of the empty scene's known depth; magma, near = bright, unknown = black"


def video_json(clip: dict, result: FrameResult, tracking: dict, smooth: float | None, flicker: dict, run: dict) -> dict:
    """``video.json`` of ``maskdepth predict --video`` (:func:`maskdepth.video.convert.predict_video`).

    Args:
        clip: ``input``, ``frames``, ``fps``, ``size``, ``encoded_size`` (``[W, H]``, even sides),
            ``codec_in``, ``background`` (its source), ``mask_threshold``: the first keys, in that order.
        result: the last frame's :class:`~maskdepth.inference.pipeline.FrameResult`: ``depth_source``,
            ``scene`` and ``camera`` describe the clip's fixed camera (:meth:`FrameResult.depth_json`).
        tracking: the tracker's settings and statistics.
        smooth: the EMA factor applied to the outputs, or ``None`` (outputs raw).
        flicker: ``raw``, ``smoothed`` (fractions in [0, 1] or ``None``) and ``smoothed_alpha``.
        run: ``mask_fraction_mean``, ``events`` (the event stream's statistics), ``depth_color_range_m``
            (``[vmin, vmax]`` metres), ``outputs`` (``{name: file}``), ``timing`` (seconds and fps).
    Returns: the record, keys in the order above (with the smoothing rule, the flicker definition
        and the colour note).
    """
    return {
        **clip,
        **result.depth_json(),
        "tracking": tracking,
        "smoothing": {
            "alpha": None if smooth is None else float(smooth),
            "applied_to_outputs": smooth is not None,
            "rule": VIDEO_SMOOTHING_RULE,
        },
        "flicker": {"definition": FLICKER_DEFINITION, **flicker},
        "mask_fraction_mean": run["mask_fraction_mean"],
        "events": run["events"],
        "depth_color_range_m": run["depth_color_range_m"],
        "depth_color_note": DEPTH_COLOR_NOTE,
        "outputs": run["outputs"],
        "timing": run["timing"],
    }
