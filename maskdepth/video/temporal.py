"""What a video adds over single frames: time. Temporal smoothing (:class:`ProbSmoother`,
:class:`DepthSmoother`), the flicker metric (:class:`FlickerMeter`, :func:`flicker`) and a background
made from the clip itself (:func:`parse_bg_from`, :func:`background_from_video`).

Temporal smoothing (``smooth=ALPHA`` in (0, 1]): an exponential moving average of the
mask probability, ``s_t = ALPHA * x_t + (1 - ALPHA) * s_(t-1)`` (the mask is ``s_t >= threshold``,
:class:`ProbSmoother`), and the same EMA of the log of the composed depth over **known pixels only**
(:class:`DepthSmoother`): a pixel unknown (0) in this frame stays 0 and forgets its past, a pixel
known now but not in the previous frame restarts from its new value, so unknown pixels are never
mixed in. ``ALPHA = 1`` is no smoothing; smaller is smoother (and lags more behind motion).

Flicker: the mean, over consecutive frame pairs, of the fraction of mask pixels that
change, ``|M_t XOR M_(t-1)| / |M_t OR M_(t-1)|`` (0 when both masks are empty). It counts
true motion as well as flicker, so compare values on the same clip only. ``predict --video``
measures it for the raw masks and for the smoothed masks (with ``smooth``, or with
:data:`DEFAULT_COMPARE_ALPHA` when no smoothing is asked for) in the same run.

Background from the video (``bg_from``): ``"first"``, the first frame (which must then be empty), or
``"median:N"``, the per-pixel median of ``N`` frames spread evenly over the clip (which removes
anything that moves).
"""

from __future__ import annotations

import copy
import os

import numpy as np

from ..errors import MaskDepthError
from ..inference.predictor import Prediction
from .io import VideoInfo, iter_frames, probe

__all__ = [
    "DEFAULT_COMPARE_ALPHA",
    "DEFAULT_BG_FROM",
    "parse_bg_from",
    "background_from_video",
    "FlickerMeter",
    "flicker",
    "ProbSmoother",
    "DepthSmoother",
]

DEFAULT_COMPARE_ALPHA = 0.5
"""EMA factor used to report 'flicker with smoothing' when no ``smooth`` is given."""

DEFAULT_BG_FROM = "median:30"
"""Background used when neither a background image nor ``bg_from`` is given."""


def parse_bg_from(spec: str) -> tuple[str, int]:
    """``"first"`` → ``("first", 1)``; ``"median:N"`` → ``("median", N)`` (1 <= N <= 500).

    Raises: MaskDepthError for anything else.
    """
    s = str(spec).strip().lower()
    if s == "first":
        return "first", 1
    if s.startswith("median"):
        n_s = s[len("median") :].lstrip(":") or "30"
        try:
            n = int(n_s)
        except ValueError:
            n = -1
        if 1 <= n <= 500:
            return "median", n
    raise MaskDepthError(f"must be 'first' or 'median:N' with 1 <= N <= 500, got {spec!r}", param="bg_from")


def background_from_video(path: str | os.PathLike, spec: str = DEFAULT_BG_FROM, info: VideoInfo | None = None) -> np.ndarray:
    """A background image made from the video itself.

    Args:
        path: the video.
        spec: ``"first"`` (the first frame) or ``"median:N"`` (per-pixel median of ``N``
            frames spread evenly over the clip; fewer when the clip is shorter).
        info: :func:`probe`'s result, when already known.
    Returns:
        ``uint8 (H, W, 3)`` RGB at the video's size.
    Raises:
        MaskDepthError: bad ``spec`` or unreadable video.
    """
    kind, n = parse_bg_from(spec)
    if kind == "first":
        for f in iter_frames(path):
            return f
        raise MaskDepthError(f"{path}: no frames")
    info = info or probe(path)
    total = max(info.frames, 1)
    want = set(np.unique(np.round(np.linspace(0, total - 1, min(n, total))).astype(int)).tolist())
    picked = [f for i, f in enumerate(iter_frames(path)) if i in want]
    if not picked:
        raise MaskDepthError(f"{path}: no frames")
    return np.median(np.stack(picked), axis=0).round().astype(np.uint8)


class FlickerMeter:
    """Running flicker metric of a mask sequence (see the module docstring).

    ``update(mask)`` takes ``bool (H, W)``; ``value`` is the mean changed fraction over
    the consecutive pairs seen so far (``None`` before the second frame).
    """

    def __init__(self):
        self.prev: np.ndarray | None = None
        self.values: list[float] = []

    def update(self, mask: np.ndarray) -> None:
        """Add one frame's ``(H, W)`` mask (any dtype; non-zero = foreground) to the flicker statistics."""
        m = np.asarray(mask, bool)
        if self.prev is not None:
            union = int(np.count_nonzero(self.prev | m))
            self.values.append(int(np.count_nonzero(self.prev ^ m)) / union if union else 0.0)
        self.prev = m

    @property
    def value(self) -> float | None:
        return float(np.mean(self.values)) if self.values else None


def flicker(masks) -> float | None:
    """Flicker of a sequence of ``bool (H, W)`` masks (mean changed fraction; ``None`` for < 2 masks)."""
    fm = FlickerMeter()
    for m in masks:
        fm.update(m)
    return fm.value


class ProbSmoother:
    """EMA of the network's mask probability over the frames (see the module docstring).

    Args:
        alpha: weight of the newest frame, in (0, 1].
        threshold: the mask is ``prob >= threshold`` (the predictor's).

    ``update(p)`` takes the frame's :class:`~maskdepth.inference.predictor.Prediction` and returns a
    copy whose ``prob`` is the smoothed float32 ``(H, W)`` probability ``alpha * x_t + (1 - alpha) * s_(t-1)``
    (the first frame's own probability at the start) and whose ``mask`` is it thresholded; its ``depth``
    is the network's, unchanged.
    """

    def __init__(self, alpha: float, threshold: float):
        self.alpha, self.threshold = float(alpha), threshold
        self.prob: np.ndarray | None = None

    def update(self, p: Prediction) -> Prediction:
        """The EMA of the probability with this frame's ``p`` (float32 ``(H, W)`` in [0, 1]): a copy of ``p`` whose
        ``prob`` is the smoothed probability and ``mask`` it thresholded (``depth`` shared, still lazy)."""
        self.prob = p.prob.copy() if self.prob is None else self.alpha * p.prob + (1.0 - self.alpha) * self.prob
        s = copy.copy(p)  # shares the network's depth (computed once, on first access)
        s.mask, s.prob = self.prob >= self.threshold, self.prob
        return s


class DepthSmoother:
    """EMA of log-depth over known pixels only (see the module docstring).

    ``update(depth)`` takes float ``(H, W)`` metres with 0 (or a non-finite value) =
    unknown and returns float32 ``(H, W)``: ``exp(ALPHA log d_t + (1 - ALPHA) log s_(t-1))``
    where the pixel is known now and was known in the previous frame, ``d_t`` where it is
    known only now, 0 where it is unknown now (and its history is forgotten).
    """

    def __init__(self, alpha: float):
        self.alpha = float(alpha)
        self.state: np.ndarray | None = None  # log-depth, NaN = unknown

    def update(self, depth: np.ndarray) -> np.ndarray:
        """This frame's float32 ``(H, W)`` depth in metres (0 / non-finite = unknown) into the EMA of log-depth;
        returns the smoothed float32 ``(H, W)`` metres (0 where unknown in this frame; see the class docstring)."""
        d = np.asarray(depth, np.float32)
        known = np.isfinite(d) & (d > 0)
        logd = np.where(known, np.log(np.where(known, d, 1.0)), np.nan).astype(np.float32)
        if self.state is not None and self.state.shape == logd.shape:
            both = known & np.isfinite(self.state)
            logd[both] = self.alpha * logd[both] + (1.0 - self.alpha) * self.state[both]
        self.state = logd
        return np.where(known, np.exp(np.where(known, logd, 0.0)), 0.0).astype(np.float32)
