"""The camera's background when there is no empty photo: the product's model-guided estimate.

``maskdepth adapt`` without ``bg`` estimates the background exactly as ``maskdepth watch`` does
without ``--bg`` (:meth:`maskdepth.live.background.BackgroundModel.initialise`: per pixel, the median over
the buffered frames with the least motion around it, re-taken where the base model calls the pixel
foreground; LaBGen-P, Laugraud et al. 2016, guided by the network). A plain temporal median takes in
anyone who stands still for half of the clip (a ghost that the composites are then pasted on).

The settings are :class:`~maskdepth.live.background.BackgroundConfig`'s defaults except one, decided
before any clip was scored: ``watch`` buffers ``init_frames`` frames, one every ``init_stride``, from the
start of a live stream; here all the frames are at hand, so the stride is ``len(frames) // init_frames``
(at least 1) and the buffer spans the whole set of frames read instead of its first seconds. Every frame
read is fed in order, so the motion is measured between consecutive frames read. The judge is the base
model being adapted (the one ``watch`` would run). Only the initialisation is used: ``adapt`` has one
background per camera; keeping it current is ``watch``'s job at run time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from ..errors import MaskDepthError
from ..live.background import BackgroundConfig, BackgroundModel


@dataclasses.dataclass
class EstimatedBg:
    """An estimated background: ``bg`` ``uint8 (H, W, 3)`` RGB at the frames' size, ``uncertain_fraction`` in [0, 1]
    (share of pixels never seen confidently as background by the model in ``min_support`` buffered frames),
    ``buffered`` frames used, ``stride`` between them (in frames read)."""

    bg: np.ndarray
    uncertain_fraction: float
    buffered: int
    stride: int

    def describe(self) -> str:
        """One line for logs and ``adapt.json``."""
        return (
            f"estimated from the frames (watch's model-guided initialisation, maskdepth/live/background.py: {self.buffered} frames, "
            f"one every {self.stride} read; uncertain {100 * self.uncertain_fraction:.1f} % of the pixels)"
        )


def estimate_bg(
    frames: Iterable[np.ndarray], predict_prob, config: BackgroundConfig | None = None, count: int | None = None
) -> EstimatedBg:
    """The background of one fixed camera from its frames (module docstring).

    Args:
        frames: ``uint8 (H, W, 3)`` RGB frames of one camera, in time order, all the same size (at least one): a
            sequence, or any iterable (read once, in order, only as far as needed) when ``count`` is given.
        predict_prob: ``predict_prob(bg, frame) -> float32 (H, W)`` the base model's foreground probability in [0, 1]
            (called about ``init_frames * (init_iterations + 1)`` times).
        config: the estimator's settings (default :class:`~maskdepth.live.background.BackgroundConfig`()); its
            ``init_stride`` is replaced by ``max(1, count // init_frames)``.
        count: how many frames ``frames`` holds (default ``len(frames)``).
    Returns:
        :class:`EstimatedBg`.
    Raises:
        MaskDepthError: no frames.
    """
    n = len(frames) if count is None else int(count)
    cfg = config or BackgroundConfig()
    cfg = dataclasses.replace(cfg, init_stride=max(1, n // cfg.init_frames))
    model = BackgroundModel(cfg)
    buffered = 0
    for i, f in enumerate(frames):
        buffered += i % cfg.init_stride == 0
        if model.initialise(f, predict_prob):
            break
    else:
        if not buffered:
            raise MaskDepthError("no frames to estimate the background from", param="frames")
        model.finish_initialisation(predict_prob)
    return EstimatedBg(model.background.copy(), model.uncertain_fraction(), min(buffered, cfg.init_frames), cfg.init_stride)
