"""Settings of ``maskdepth predict --video``, declared once (fields → flags, YAML keys, ``config show``;
see :mod:`maskdepth.config`): the model (:class:`~maskdepth.inference.config.ModelConfig`), the fixed
camera's scene (:class:`~maskdepth.inference.config.SceneConfig`) and the video's own options.

The command line adds the fields that ``predict`` on images does not already have (``video``,
``bg_from``, ``smooth``, ``frames``, ``zones``); ``bg``, ``out``, ``json`` and ``quiet`` are the
``predict`` flags of the same names. :func:`maskdepth.video.convert.run_video` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option
from ..inference.config import ModelConfig, SceneConfig, TrackConfig


@dataclass
class VideoConfig(ModelConfig, SceneConfig, TrackConfig):
    """``maskdepth predict --video``: one fixed-camera video (:func:`maskdepth.video.convert.run_video`)."""

    video: str | None = option(None, "a video file instead of --image: writes mask.mp4, depth.mp4, overlay.mp4 and video.json")
    bg: str | None = option(None, "background image of the empty scene, at the video's framing (excludes bg_from)")
    bg_from: str | None = option(
        None,
        "--video without --bg: background from the first frame, or the per-pixel "
        "median of N frames spread over the clip (default median:30)",
        metavar="first|median:N",
    )
    smooth: float | None = option(
        None,
        "--video: exponential moving average of mask probability and depth, s = ALPHA*new + (1-ALPHA)*s, ALPHA in (0, 1]; smaller is smoother",
        metavar="ALPHA",
    )
    frames: str | None = option(
        None,
        "--video: also write per-frame files (png: mask + uint16 mm depth; npz: mask, prob, depth in m)",
        choices=("png", "npz"),
    )
    zones: str | None = option(
        None,
        "--video: zones.json (zones and lines in pixels or floor metres): zone_enter/zone_exit/line_cross in events.jsonl",
        metavar="FILE",
    )
    out: str = option("prediction", "output folder")
    json: bool = option(False, "print the video.json record")
    quiet: bool = option(False, "no progress bar")
    crf: int = option(18, "x264 quality of the output videos (0 lossless .. 51; 18 is visually lossless)", cli=False)
