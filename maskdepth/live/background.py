"""The background a fixed camera's masks are computed against: estimated without an empty scene,
kept current all day, saved and resumed (issue 20, "The background").

**Initialisation without an empty scene** (the scene background initialisation task of SBI2015 /
SBMnet, Maddalena & Petrosino 2015; Jodoin et al., IEEE TIP 2017). A plain temporal median takes in
anyone who stands still for half of the frames. :meth:`BackgroundModel.initialise` buffers
``init_frames`` frames (one every ``init_stride`` frames received) and

1. scores every buffered pixel by the *motion* around it (:func:`motion_score`: the pixels whose
   max-over-channels absolute difference with the previously received frame exceeds ``motion_thr``,
   counted in a square around it and over a few buffered frames before and after; LaBGen-P, Laugraud,
   Piérard and Van Droogenbroeck, "LaBGen-P: a pixel-level stationary background generation method
   based on LaBGen", ICPR 2016: the background is best seen in the frames with the least motion);
2. per pixel, takes the median over the ``select_fraction`` of frames with the lowest score;
3. asks the model what it knows: ``predict_prob(estimate, frame)`` on every buffered frame; pixels
   the network calls foreground (``P >= 0.5``, dilated by ``fg_dilate_px``) get a large penalty,
   so the median of step 2 is re-taken over frames where the pixel is background *and* quiet;
   repeated ``init_iterations`` times;
4. says where it is still unsure: a pixel with fewer than ``min_support`` buffered frames in which
   the network calls it confidently background (``P < p_bg``) is *uncertain*; the state is
   ``"uncertain"`` while more than ``uncertain_max`` of the frame is (``status_json`` gives the fraction).

**Maintenance** (:meth:`BackgroundModel.update`, after each processed frame):

* a **long-term** background (what the network's ``bg`` input is, :attr:`background`) is blended
  towards the frame (time constant ``long_tau_s``) only where the pixel is *confidently background*:
  ``P < p_bg``, away (``fg_dilate_px``) from the mask, and outside every tracked object's box;
  a **short-term** one (``short_tau_s``) is blended wherever ``P < p_bg``. Both as in BSUV-Net 2.0
  (Tezcan, Ishwar and Konrad, IEEE Access 2021), which feeds a long- and a short-term background;
  here the short-term one is what a relearn starts from;
* **illumination drift**: a per-channel gain ``median(frame / long)`` over the confidently-background
  pixels is applied to the whole long-term background every frame (clipped to ``[1/max_gain_step,
  max_gain_step]``), so the pixels hidden behind a still person follow the exposure and the white balance too;
* **still objects** (:mod:`maskdepth.live.stationary`): anything that came in moving and is tracked is
  never absorbed; an object born still is copied into both backgrounds after ``absorb_after_s``
  (600 s by default) with an ``absorbed`` event. The ``stationary`` event is not the background's: it
  is the events engine's, for every tracked object alike (:class:`maskdepth.events.EventEngine`);
  ``stationary_after_s`` here only marks the records listed as ``still_objects`` in the status;
* **sudden global change** (lights switched, the camera moved; Frigate's rule): when more than ``reset_fraction`` of
  the frame is foreground (``reason: "foreground"``) and the change is the scene's, not an object's
  (:meth:`BackgroundModel.scene_changed`: one gain per channel explains it, as when the lights change, or the frame is
  still, as a camera that was moved is; a person walking up to the camera is neither, and stays foreground), both
  backgrounds become the frame -- except behind the boxes of tracked objects
  that came in moving (seen in the last ``keep_recent_s``: the dark may hide them for a moment), where the old background times the new
  light (per-channel gain measured outside the boxes) is kept, so a still person stays foreground --, the
  records of objects born still are dropped (the reset took them in), a
  ``background_reset`` event is returned, and for ``relearn_s`` seconds the background follows the
  frame fast (``relearn_alpha``) everywhere except in the boxes of tracked objects that came in moving or are not known yet
  (not confirmed, or confirmed this frame: whether they came in moving is decided after the blend, and a person a passer-by
  parts from shows up so) and on foreground components that move (a component
  with a pixel that changed by more than ``motion_thr`` between consecutive frames in the last ``quiet_frames``), there only farther than
  ``2 fg_dilate_px`` from a moving pixel: an exposure that
  settles over a few frames, or the ghost of a person who was in the frame at the reset and walks
  away, does not produce a burst of false objects;
* **a light switched that the network shrugs off** (it is robust to exposure, so less than ``reset_fraction``
  of the frame turns foreground): when the per-channel gain measured on the confidently-background pixels
  (at least ``light_min_support`` of the frame) leaves ``[1/light_jump, light_jump]`` in one frame, the whole
  gain is applied at once, a ``background_reset`` event with ``reason: "light"`` is returned and the
  background relearns for ``relearn_s`` as after a reset;
* **a box that covers the frame is the change, not an object**: while the lights fade, most of the frame
  turns foreground in one blob before the fraction passes ``reset_fraction``, and the tracker hands that
  blob the id of somebody who came in moving. A box over more than ``reset_fraction`` of the frame's area
  is therefore left out of every rule here (the records, the boxes kept at a reset or guarded while
  relearning): kept, it would cover the whole frame, so a reset could keep nothing (a still person was
  taken into the background with the dark frame) and the relearning after it would be blocked everywhere;
* **ghosts** (the initial estimate kept an object that then leaves, and the floor it uncovers shows as
  a still foreground object): an object born still is tested once after ``ghost_after_s``; when its
  outline is an edge of the background but not of the frame (:func:`outline_edge_ratio` < ``ghost_ratio``)
  it is relearnt at once, without an event (counted as ``ghosts`` in :meth:`status_json`);
* a pixel still *uncertain* from the initialisation is relearnt as soon as the network calls it
  background with a box of no tracked object over it;
* **ghosts on uncertain pixels** (someone who moved about on one spot for the whole initialisation, then
  left: no buffered frame showed the spot, the estimate there is a blend of them): the network, compared
  with that wrong background, never calls the spot background, and the edge test fails when the blob's
  outline runs along a real edge of the scene. An uncertain pixel that has been foreground, in a component
  that stood still, for ``uncertain_still_s`` seconds, outside the boxes of tracked objects that came in
  moving, is relearnt from the frame at once, without an event (counted as ``ghosts``): a spot the
  initialisation never saw has no better evidence than a frame that stays the same. A component stands
  still in a frame when at most ``uncertain_still_frac`` of its pixels changed by more than ``motion_thr``
  since the previous frame (camera noise flickers a few pixels of any blob, a person who sways moves a
  good part of their outline). The clock is not saved: after a resume it starts again.

With a measured scene depth (``--bg-depth``) the depth is not touched by any of this: it stays the
empty scene's; an object absorbed into the colour background (a moved chair) is then background in
the mask but was never measured in depth.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import MaskDepthError
from ..io import atomic_write_bytes, save_png
from .stationary import StillObjects, StillRecord

__all__ = ["BackgroundConfig", "BackgroundModel", "STATE_VERSION", "STATE_FILE"]

STATE_VERSION = 1
"""Version of the saved state (``state/background.npz``); another version is refused with one line."""
STATE_FILE = "background.npz"


@dataclass
class BackgroundConfig:
    """Settings of :class:`BackgroundModel` (see the module docstring for what each rule does).

    Chosen on the synthetic clips of ``tests/test_live_background.py`` and ``benchmarks/live_sequences.py``
    (never on the real sequences reported in ``results/live.md``).

    Attributes:
        absorb_after_s: seconds an object born still stays foreground before it is absorbed (``--absorb-after``, > 0).
        stationary_after_s: seconds of stillness before an object born still is listed in ``still_objects``
            (capped at ``absorb_after_s``; the ``stationary`` event is the events engine's).
        reset_fraction: foreground fraction of a frame, in (0, 1], above which the background is relearnt (when the
            change is the scene's: ``reset_unexplained``, ``reset_still``).
        reset_unexplained: such a frame is a change of light when at most this fraction of its pixels, in [0, 1],
            differ by more than ``motion_thr`` from the background times one gain per channel.
        reset_still: ... or a moved camera when at most this fraction of its pixels, in [0, 1], changed by more than
            ``motion_thr`` since the previous frame (else it is an object moving close to the camera: no reset).
        init_frames: frames buffered for the initialisation (>= 1).
        init_stride: one frame buffered every ``init_stride`` frames received (>= 1).
        init_iterations: model-guided re-estimations (>= 0).
        select_fraction: fraction of the buffered frames, per pixel, over which the median is taken (0, 1].
        motion_frac: side of the square the motion is averaged over, as a fraction of the frame's short side.
        motion_span: buffered frames on either side whose motion counts for a frame (>= 0).
        fg_dilate_px: how far, in pixels, the network's foreground is grown before it excludes pixels.
        p_bg: probability below which a pixel is confidently background, in (0, 1).
        min_support: buffered frames a pixel must be confidently background in to be certain.
        uncertain_max: uncertain fraction of the frame at or below which the state is ``"ready"``.
        long_tau_s, short_tau_s: time constants in seconds of the long- and short-term backgrounds.
        max_gain_step: largest per-frame change of the illumination gain (>= 1).
        relearn_s: seconds of fast relearning after a reset; relearn_alpha: its blend weight per frame in (0, 1].
        motion_thr: grey levels of change since the previous frame that make a pixel move.
        quiet_frames: a pixel that moved in one of the last ``quiet_frames`` frames counts as moving (relearning).
        keep_recent_s: a reset keeps the old background behind objects that came in moving and were seen this recently.
        light_jump: a per-channel gain beyond ``[1/light_jump, light_jump]`` in one frame is a light switched (> 1).
        light_min_support: fraction of the frame that must be confidently background to measure that gain.
        ghost_after_s: seconds an object born still waits before the ghost test; ghost_ratio: the test's threshold.
        uncertain_still_s: seconds an uncertain pixel must stay foreground in a still component before it is
            relearnt from the frame (> 0; ``inf``: never); uncertain_still_frac: fraction of a component's pixels,
            in [0, 1), that may change in a frame in which it counts as still.
    """

    absorb_after_s: float = 600.0
    stationary_after_s: float = 30.0
    reset_fraction: float = 0.8
    reset_unexplained: float = 0.5
    reset_still: float = 0.05
    init_frames: int = 30
    init_stride: int = 2
    init_iterations: int = 2
    select_fraction: float = 0.25
    motion_frac: float = 0.15
    motion_span: int = 3
    fg_dilate_px: int = 5
    p_bg: float = 0.3
    min_support: int = 3
    uncertain_max: float = 0.01
    long_tau_s: float = 20.0
    short_tau_s: float = 1.0
    max_gain_step: float = 1.1
    relearn_s: float = 3.0
    relearn_alpha: float = 0.5
    motion_thr: float = 15.0
    quiet_frames: int = 3
    keep_recent_s: float = 5.0
    light_jump: float = 1.3
    ghost_after_s: float = 1.0
    ghost_ratio: float = 0.6
    light_min_support: float = 0.1
    uncertain_still_s: float = 4.0
    uncertain_still_frac: float = 0.05

    def __post_init__(self):
        checks = [
            (self.absorb_after_s > 0, "absorb_after_s must be > 0"),
            (self.stationary_after_s > 0, "stationary_after_s must be > 0"),
            (0 < self.reset_fraction <= 1, "reset_fraction must be in (0, 1]"),
            (0 <= self.reset_unexplained <= 1, "reset_unexplained must be in [0, 1]"),
            (0 <= self.reset_still <= 1, "reset_still must be in [0, 1]"),
            (self.init_frames >= 1 and self.init_stride >= 1, "init_frames and init_stride must be >= 1"),
            (0 < self.select_fraction <= 1, "select_fraction must be in (0, 1]"),
            (0 < self.motion_frac <= 1 and self.motion_span >= 0, "motion_frac must be in (0, 1] and motion_span >= 0"),
            (0 < self.p_bg < 1, "p_bg must be in (0, 1)"),
            (self.long_tau_s > 0 and self.short_tau_s > 0, "time constants must be > 0"),
            (self.max_gain_step >= 1 and self.light_jump > 1, "max_gain_step must be >= 1 and light_jump > 1"),
            (0 < self.relearn_alpha <= 1 and self.relearn_s >= 0, "relearn_alpha must be in (0, 1] and relearn_s >= 0"),
            (self.uncertain_still_s > 0, "uncertain_still_s must be > 0"),
            (0 <= self.uncertain_still_frac < 1, "uncertain_still_frac must be in [0, 1)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise MaskDepthError(f"background settings: {msg}")
        self.stationary_after_s = min(self.stationary_after_s, self.absorb_after_s)


def _dilate(m: np.ndarray, r: int) -> np.ndarray:
    """``bool (H, W)`` ``m`` grown by an elliptical kernel of radius ``r`` pixels (``r <= 0``: unchanged)."""
    if r <= 0:
        return m.astype(bool)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(m.astype(np.uint8), k).astype(bool)


def motion_energy(frame: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
    """``uint8 (H, W)`` max-over-channels ``|frame - prev|`` of two ``uint8 (H, W, 3)`` frames (zeros without ``prev``)."""
    if prev is None or prev.shape != frame.shape:
        return np.zeros(frame.shape[:2], np.uint8)
    c = cv2.split(cv2.absdiff(np.ascontiguousarray(frame), np.ascontiguousarray(prev)))
    return cv2.max(cv2.max(c[0], c[1]), c[2])


def select_median(frames: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Per pixel, the median of ``frames`` over the ``k`` frames with the lowest ``score``.

    Args:
        frames: ``uint8 (N, H, W, 3)``; score: ``float32 (N, H, W)``; k: 1..N.
    Returns:
        ``float32 (H, W, 3)``.
    """
    k = int(min(max(k, 1), frames.shape[0]))
    idx = np.argpartition(score, k - 1, axis=0)[:k] if k < frames.shape[0] else np.arange(frames.shape[0])[:, None, None]
    idx = np.broadcast_to(idx, (k,) + score.shape[1:])
    sel = np.take_along_axis(frames, idx[..., None], axis=0)
    return np.median(sel, axis=0).astype(np.float32)


def motion_score(motion: np.ndarray, cfg: BackgroundConfig) -> np.ndarray:
    """Per buffered frame and pixel, how much moves around it: ``float32 (N, H, W)``.

    The fraction of pixels whose motion energy exceeds ``motion_thr`` in the square of side
    ``motion_frac`` x the short side around the pixel, maximised over ``motion_span`` buffered frames
    on either side (a person who stands still moves now and then), plus 1e-3 x the mean motion energy
    in the square (breaks ties between frames where nothing moves).
    Args: motion: ``uint8 (N, H, W)`` (:func:`motion_energy`).
    """
    n, h, w = motion.shape
    side = max(1, int(round(cfg.motion_frac * min(h, w)))) | 1
    frac = np.stack([cv2.blur((m > cfg.motion_thr).astype(np.float32), (side, side)) for m in motion])
    raw = np.stack([cv2.blur(m.astype(np.float32), (side, side)) for m in motion])
    span = cfg.motion_span
    out = frac.copy()
    for d in range(1, span + 1):
        out[d:] = np.maximum(out[d:], frac[:-d])
        out[:-d] = np.maximum(out[:-d], frac[d:])
    return out + 1e-3 * raw


def estimate_background(frames: np.ndarray, motion: np.ndarray, predict_prob, cfg: BackgroundConfig) -> tuple[np.ndarray, np.ndarray]:
    """The background of a fixed camera from frames that are never empty (module docstring, steps 1-4).

    Args:
        frames: ``uint8 (N, H, W, 3)`` RGB frames of one camera (N >= 1).
        motion: ``uint8 (N, H, W)`` motion energy of each frame (:func:`motion_energy`).
        predict_prob: ``predict_prob(bg, frame) -> float32 (H, W)`` foreground probability in [0, 1]
            (``None``: motion only, every pixel uncertain).
        cfg: the settings.
    Returns:
        ``(bg, uncertain)``: ``float32 (H, W, 3)`` in [0, 255] and ``bool (H, W)``.
    """
    n = frames.shape[0]
    k = max(1, int(math.ceil(cfg.select_fraction * n)))
    score = motion_score(motion, cfg)
    bg = select_median(frames, score, k)
    if predict_prob is None:
        return bg, np.ones(frames.shape[1:3], bool)
    support = None
    for it in range(cfg.init_iterations + 1):
        u8 = np.clip(np.rint(bg), 0, 255).astype(np.uint8)
        probs = np.stack([np.asarray(predict_prob(u8, f), np.float32) for f in frames])
        support = (probs < cfg.p_bg).sum(axis=0)
        if it == cfg.init_iterations:
            break
        fg = np.stack([_dilate(p >= 0.5, cfg.fg_dilate_px) for p in probs])
        bg = select_median(frames, score + 1000.0 * fg + 10.0 * probs, k)
    return bg, support < min(cfg.min_support, n)


def static_components(mask: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """``bool (H, W)``: the pixels of the 8-connected components of ``mask`` (``bool (H, W)``) with no
    ``moving`` pixel (``bool (H, W)``; what stands still: ghosts, still objects)."""
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    labels = np.unique(lab[moving & mask])
    return mask & ~np.isin(lab, labels)


def _gain(frame: np.ndarray, bg: np.ndarray, sel: np.ndarray, step: float) -> np.ndarray:
    """Per-channel ``median(frame / bg)`` over the pixels ``sel`` (``float32 (3,)``; ones with < 64 pixels), clipped
    to ``[1/step, step]``. Large frames are subsampled on a regular grid to about 3 10^4 pixels (the median barely moves)."""
    s = max(1, int(math.sqrt(sel.size / 3e4)))
    sel = sel[::s, ::s]
    if np.count_nonzero(sel) < 64:
        return np.ones(3, np.float32)
    f, b = frame[::s, ::s][sel].astype(np.float32), bg[::s, ::s][sel]
    ok = (b > 8) & (b < 250) & (f < 250)
    g = np.array([np.median(f[ok[:, c], c] / b[ok[:, c], c]) if np.count_nonzero(ok[:, c]) >= 64 else 1.0 for c in range(3)])
    return np.clip(g, 1.0 / step, step).astype(np.float32)


def _blend(dst: np.ndarray, frame: np.ndarray, sel: np.ndarray, alpha: float) -> None:
    """In place: ``dst[sel] += alpha * (frame[sel] - dst[sel])`` (``cv2.accumulateWeighted``)."""
    if alpha > 0:
        cv2.accumulateWeighted(np.ascontiguousarray(frame), dst, float(alpha), mask=sel.astype(np.uint8))


_HELPER: tuple | None = None  # (pid, executor)


def _helper():
    """One worker thread shared by the background models of the process (independent per-pixel steps of an update);
    made again in a forked child (which inherits the executor but not its thread)."""
    global _HELPER
    import os

    if _HELPER is None or _HELPER[0] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        _HELPER = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="maskdepth-background-helper"))
    return _HELPER[1]


def _edges(img: np.ndarray) -> np.ndarray:
    """``float32 (h, w)`` Sobel gradient magnitude of the grey level of ``uint8 (h, w, 3)`` ``img``."""
    g = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))


def outline_edge_ratio(frame: np.ndarray, bg: np.ndarray, blob: np.ndarray) -> float:
    """How much more the outline of ``blob`` is an edge in ``frame`` than in ``bg``: ``(mean |grad frame| + 1) /
    (mean |grad bg| + 1)`` over the 1-pixel ring around the blob's border (``uint8 (h, w, 3)`` crops, ``bool (h, w)`` blob).

    A *ghost* (the background shown where the estimate still has an object that has left) has its outline
    in the background, not in the frame: ratio well below 1; a real object the other way round. The
    edge-matching test of ghost detection, e.g. Cucchiara, Grana, Piccardi and Prati, "Detecting moving
    objects, ghosts, and shadows in video streams", IEEE TPAMI 2003 (there with optical flow), and
    Lu and Wong's boundary-gradient test.
    """
    k = np.ones((3, 3), np.uint8)
    b = blob.astype(np.uint8)
    ring = (cv2.dilate(b, k) > 0) & ~(cv2.erode(b, k) > 0)
    if not ring.any():
        return 1.0
    return float((_edges(frame)[ring].mean() + 1.0) / (_edges(bg)[ring].mean() + 1.0))


def _box_mask(shape: tuple, objects: list, pad: int, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``bool (H, W)``: inside some object's ``bbox`` grown by ``pad`` pixels (``shape`` a crop of the frame whose
    top-left pixel is ``origin`` = ``(x, y)``: the boxes are shifted by it)."""
    m = np.zeros(shape, bool)
    for o in objects:
        x0, y0, x1, y1 = (int(v) for v in o.bbox)
        x0, x1, y0, y1 = x0 - origin[0], x1 - origin[0], y0 - origin[1], y1 - origin[1]
        m[max(0, y0 - pad) : max(0, y1 + pad + 1), max(0, x0 - pad) : max(0, x1 + pad + 1)] = True
    return m


class BackgroundModel:
    """The maintained background of one fixed camera (module docstring).

    Args:
        config: :class:`BackgroundConfig`.
        bg: a known background, ``uint8 (H, W, 3)`` RGB (``--bg``): ready at once, maintained the same way;
            ``None``: estimated by :meth:`initialise`.
    Raises:
        MaskDepthError: ``bg`` is not ``uint8 (H, W, 3)``.
    """

    def __init__(self, config: BackgroundConfig, bg: np.ndarray | None = None):
        self.config = config
        self.still = StillObjects(config.stationary_after_s, config.absorb_after_s)
        self._long: np.ndarray | None = None
        self._short: np.ndarray | None = None
        self._u8: np.ndarray | None = None
        self._small: tuple[np.ndarray, np.ndarray] | None = None  # (background, its resized copy)
        self.uncertain: np.ndarray | None = None
        self._buf: list[np.ndarray] = []
        self._motion: list[np.ndarray] = []
        self._prev: np.ndarray | None = None
        self._quiet: np.ndarray | None = None
        self._still_at: np.ndarray | None = None  # float64 (H, W): since when each uncertain pixel is still foreground
        self._seen = 0
        self._last_t: float | None = None
        self.relearn_until: float | None = None
        self.counts = {"resets": 0, "still_new": 0, "absorbed": 0, "ghosts": 0, "frames": 0}
        self.source = "estimated"
        if bg is not None:
            bg = np.asarray(bg)
            if bg.ndim != 3 or bg.shape[2] != 3 or bg.dtype != np.uint8:
                raise MaskDepthError(f"bg: expected uint8 RGB (H, W, 3), got {bg.dtype} {bg.shape}")
            self._set(bg.astype(np.float32), np.zeros(bg.shape[:2], bool))
            self.source = "given"

    # ------------------------------------------------------------------ state
    def _set(self, bg: np.ndarray, uncertain: np.ndarray) -> None:
        self._long, self._short = bg.astype(np.float32), bg.astype(np.float32).copy()
        self.uncertain, self._u8, self._still_at = uncertain, None, None
        self._buf, self._motion = [], []

    @property
    def ready(self) -> bool:
        """A background exists that masks can use (it may still be ``"uncertain"`` in places)."""
        return self._long is not None

    @property
    def background(self) -> np.ndarray | None:
        """The long-term background, ``uint8 (H, W, 3)`` RGB: the network's ``bg`` input; ``None`` before :attr:`ready`."""
        if self._long is None:
            return None
        if self._u8 is None:
            self._u8 = cv2.convertScaleAbs(self._long)  # rounded, saturated to [0, 255] (the values are >= 0)
        return self._u8

    def background_small(self, hw: tuple[int, int], of: np.ndarray | None = None) -> np.ndarray | None:
        """:attr:`background` (or ``of``, a background it returned earlier) area-resized to ``hw`` = ``(h, w)``
        (:func:`maskdepth.io.resize`, what the network's input is made of), ``uint8 (h, w, 3)``; kept until the
        background changes (``None`` before :attr:`ready`)."""
        bg = self.background if of is None else of
        if bg is None:
            return None
        if self._small is None or self._small[0] is not bg or self._small[1].shape[:2] != tuple(hw):
            from ..io import resize

            self._small = (bg, resize(bg, tuple(hw)))
        return self._small[1]

    @property
    def short_term(self) -> np.ndarray | None:
        """The short-term background, ``uint8 (H, W, 3)`` (``None`` before :attr:`ready`)."""
        return None if self._short is None else np.clip(np.rint(self._short), 0, 255).astype(np.uint8)

    def uncertain_fraction(self) -> float:
        """Fraction of the frame, in [0, 1], whose background was never seen confidently (1.0 before ready)."""
        return 1.0 if self.uncertain is None else float(self.uncertain.mean())

    def state(self) -> str:
        """``"initialising"`` (no background yet), ``"uncertain"`` (more than ``uncertain_max`` uncertain) or ``"ready"``."""
        if not self.ready:
            return "initialising"
        return "uncertain" if self.uncertain_fraction() > self.config.uncertain_max else "ready"

    def status_json(self) -> dict:
        """The background part of ``watch.json``: ``state``, ``source`` (``"given"`` / ``"estimated"``),
        ``uncertain_fraction``, ``init_frames`` buffered / needed, ``relearning``, counters of
        ``resets``/``still_new`` (objects born still, found still for ``stationary_after_s``)/``absorbed``/``ghosts``/``frames``
        and ``still_objects`` (ids born still, not absorbed)."""
        return {
            "state": self.state(),
            "source": self.source,
            "uncertain_fraction": round(self.uncertain_fraction(), 4),
            "init_frames": [len(self._buf), self.config.init_frames] if not self.ready else None,
            "relearning": self.relearn_until is not None,
            **self.counts,
            "still_objects": sorted(r.id for r in self.still.records.values() if r.stationary and not r.absorbed),
        }

    # ------------------------------------------------------------------ initialisation
    def initialise(self, frame: np.ndarray, predict_prob) -> bool:
        """Feed one frame; returns True once the background is estimated (then :attr:`ready`).

        Args:
            frame: ``uint8 (H, W, 3)`` RGB; a frame of another size than the buffered ones restarts the buffer.
            predict_prob: ``predict_prob(bg, frame) -> float32 (H, W)`` foreground probability in [0, 1]
                (called ``init_frames * (init_iterations + 1)`` times once the buffer is full).
        """
        if self.ready:
            return True
        if self._buf and self._buf[0].shape != frame.shape:
            self._buf, self._motion, self._prev, self._seen = [], [], None, 0
        if self._seen % self.config.init_stride == 0:
            self._buf.append(np.array(frame, np.uint8, copy=True))
            self._motion.append(motion_energy(frame, self._prev))
        self._seen += 1
        self._prev = np.array(frame, np.uint8, copy=True)
        if len(self._buf) < self.config.init_frames:
            return False
        return self.finish_initialisation(predict_prob)

    def finish_initialisation(self, predict_prob) -> bool:
        """Estimate from the frames buffered so far (a source that ended early); False when none is buffered."""
        if self.ready:
            return True
        if not self._buf:
            return False
        motion = list(self._motion)
        if len(motion) > 1:
            motion[0] = motion[1]  # the first frame has no predecessor: borrow its neighbour's motion
        bg, unc = estimate_background(np.stack(self._buf), np.stack(motion), predict_prob, self.config)
        self._set(bg, unc)
        return True

    # ------------------------------------------------------------------ maintenance
    def _alpha(self, tau: float, t_s: float) -> float:
        dt = 0.04 if self._last_t is None else min(max(t_s - self._last_t, 0.0), 10 * tau)
        return 1.0 - math.exp(-dt / tau) if dt > 0 else 0.0

    def _moving(self, frame: np.ndarray) -> np.ndarray:
        """``bool (H, W)``: pixels that changed by more than ``motion_thr`` since the previous frame in one
        of the last ``quiet_frames`` frames (and remembers ``frame`` as the previous one)."""
        m = motion_energy(frame, self._prev) > self.config.motion_thr
        if self._quiet is None or self._quiet.shape != m.shape:
            self._quiet = np.zeros(m.shape, np.uint16)
        self._quiet = np.where(m, 0, np.minimum(self._quiet + 1, 60000)).astype(np.uint16)
        self._prev = np.array(frame, np.uint8, copy=True)
        return self._quiet < self.config.quiet_frames

    def _frame_sized(self, bbox) -> bool:
        """True when the box ``(x0, y0, x1, y1)`` (inclusive pixels) covers more than ``reset_fraction`` of the
        frame's area: a global change (lights fading), not an object (module docstring)."""
        x0, y0, x1, y1 = (int(v) for v in bbox)
        h, w = self._long.shape[:2]
        return (x1 - x0 + 1) * (y1 - y0 + 1) > self.config.reset_fraction * h * w

    def _came_moving(self, t_s: float) -> list[StillRecord]:
        """Records of objects that came in moving, seen in the last ``keep_recent_s`` (a person the dark hides for a moment),
        without frame-sized boxes (a state saved by an older version may hold one)."""
        recent = [
            r
            for r in self.still.records.values()
            if r.moved and t_s - r.last_seen <= self.config.keep_recent_s and not self._frame_sized(r.seen_bbox or r.bbox)
        ]
        return [
            StillRecord(
                r.id, r.born_bbox, r.seen_bbox or r.bbox, True, r.still_since, r.last_seen, vacated=r.vacated, vacated_t=r.vacated_t
            )
            for r in recent
        ]

    def _guarded(self, objects: list, t_s: float, unknown_came_moving: bool) -> list:
        """What relearning must not touch: this frame's objects whose records say they came in moving (with
        ``unknown_came_moving``, also those without a record yet: not confirmed, or confirmed this frame, whose record
        is made after the blend) and the records of :meth:`_came_moving`; each has a ``bbox``."""
        records = self.still.records
        return [o for o in objects if getattr(records.get(int(o.id)), "moved", unknown_came_moving)] + self._came_moving(t_s)

    def scene_changed(self, frame: np.ndarray) -> bool:
        """Whether a frame that is mostly foreground shows a change of the scene rather than an object close to the
        camera: one gain per channel (the median of ``frame / background`` over the frame) explains it, with at most
        ``reset_unexplained`` of its pixels more than ``motion_thr`` grey levels from the background times that gain
        (the lights changed), or at most ``reset_still`` of its pixels changed by more than ``motion_thr`` since the
        previous frame (the camera was moved or the scene rearranged, and it is still now). A person walking up to the
        camera is neither: the frame differs from the background in its shape and moves.

        Args:
            frame: uint8 ``(H, W, 3)`` RGB of the background's size.
        Returns:
            ``True``: relearn the background (a reset).
        """
        cfg, s = self.config, max(1, int(math.sqrt(frame.shape[0] * frame.shape[1] / 3e4)))
        f, b = frame[::s, ::s].astype(np.float32), self._long[::s, ::s]
        g = _gain(frame, self._long, np.ones(frame.shape[:2], bool), 100.0)
        if float((np.abs(f - b * g).max(axis=2) > cfg.motion_thr).mean()) <= cfg.reset_unexplained:
            return True
        if self._prev is None or self._prev.shape != frame.shape:
            return True
        return float((motion_energy(frame[::s, ::s], self._prev[::s, ::s]) > cfg.motion_thr).mean()) <= cfg.reset_still

    def _reset(self, frame: np.ndarray, fraction: float, t_s: float) -> dict:
        """Relearn from ``frame``, except behind the boxes of objects that came in moving and were seen in the
        last ``keep_recent_s``: there the old background times the new light (per-channel gain measured outside them)."""
        f = frame.astype(np.float32)
        keep = self._came_moving(t_s)
        sel = _box_mask(frame.shape[:2], keep, self.config.fg_dilate_px)
        if sel.any() and np.count_nonzero(~sel) >= 64:
            g = _gain(frame, self._long, ~sel, 100.0)
            f[sel] = np.clip(self._long[sel] * g, 0, 255)
        self._long, self._short, self._u8 = f, f.copy(), None
        self.uncertain = np.zeros(frame.shape[:2], bool)
        self.still.records = {r.id: r for r in keep}
        self.relearn_until = t_s + self.config.relearn_s
        self.counts["resets"] += 1
        return {"type": "background_reset", "reason": "foreground", "foreground_fraction": round(fraction, 4)}

    def update(self, frame: np.ndarray, mask: np.ndarray, prob: np.ndarray, objects: list, t_s: float) -> list[dict]:
        """Maintain the background after one processed frame (module docstring).

        Args:
            frame: ``uint8 (H, W, 3)`` RGB, the frame the mask was computed on.
            mask: ``bool (H, W)`` its foreground (against :attr:`background`).
            prob: ``float32 (H, W)`` the network's foreground probability in [0, 1].
            objects: the frame's tracked objects (``.id``, 0 = not confirmed, and ``.bbox`` ``(x0, y0, x1, y1)``).
            t_s: the frame's time in seconds (non-decreasing).
        Returns:
            events: dicts ``{"type": "background_reset" | "absorbed", ...}`` without time fields.
        Raises:
            MaskDepthError: not :attr:`ready`, or ``frame`` of another size than the background.
        """
        if not self.ready:
            raise MaskDepthError("background not initialised yet: feed initialise() until it returns True")
        if frame.shape != self._long.shape:
            raise MaskDepthError(
                f"frame is {frame.shape[1]}x{frame.shape[0]} but the background is {self._long.shape[1]}x{self._long.shape[0]}"
            )
        cfg, mask = self.config, np.asarray(mask, bool)
        objects = [o for o in objects if not self._frame_sized(o.bbox)]
        self.counts["frames"] += 1
        fraction = float(mask.mean())
        if fraction > cfg.reset_fraction and self.scene_changed(frame):
            self._last_t = t_s
            self._prev = np.array(frame, np.uint8, copy=True)
            return [self._reset(frame, fraction, t_s)]
        a_long, a_short = self._alpha(cfg.long_tau_s, t_s), self._alpha(cfg.short_tau_s, t_s)
        self._last_t = t_s
        moving_job = _helper().submit(self._moving, frame)  # needs only the frame and the previous one: beside what follows
        bgish = np.asarray(prob) < cfg.p_bg
        boxes = _box_mask(mask.shape, objects, cfg.fg_dilate_px)
        conf = bgish & ~_dilate(mask | (np.asarray(prob) >= 0.5), cfg.fg_dilate_px) & ~boxes
        g = _gain(frame, self._long, conf, 100.0)
        events = []
        if np.max(np.abs(np.log(g))) > math.log(cfg.light_jump) and conf.mean() >= cfg.light_min_support:
            self.relearn_until = t_s + cfg.relearn_s  # the light changed at once: follow it now, relearn what it changed
            self.counts["resets"] += 1
            events.append({"type": "background_reset", "reason": "light", "gain": [round(float(v), 3) for v in g]})
        else:
            g = np.clip(g, 1.0 / cfg.max_gain_step, cfg.max_gain_step)
        if np.any(np.abs(g - 1) > 1e-4):
            short = _helper().submit(np.multiply, self._short, g, out=self._short)
            self._long *= g
            short.result()
        moving = moving_job.result()
        if self.relearn_until is not None:
            a_long = a_short = max(a_short, cfg.relearn_alpha)
            came_moving = self._guarded(objects, t_s, unknown_came_moving=True)
            calm = bgish | static_components(mask, moving) | (mask & ~_dilate(moving, 2 * cfg.fg_dilate_px))
            conf = bgish = calm & ~_box_mask(mask.shape, came_moving, cfg.fg_dilate_px)
            if t_s >= self.relearn_until:
                self.relearn_until = None
        short = _helper().submit(_blend, self._short, frame, bgish, a_short)  # two arrays apart: both cores (OpenCV frees the GIL)
        _blend(self._long, frame, conf, a_long)
        short.result()
        if self.uncertain is not None and self.uncertain.any():
            self._relearn_uncertain(frame, mask, conf, objects, t_s)
        else:
            self._still_at = None
        events += self._still(frame, mask, objects, t_s)
        self._ghosts(frame, mask, t_s)
        self._u8 = None
        return events

    def _relearn_uncertain(self, frame: np.ndarray, mask: np.ndarray, conf: np.ndarray, objects: list, t_s: float) -> None:
        """The uncertain pixels (module docstring): those ``conf`` (``bool (H, W)``, confidently background) take
        the frame, then :meth:`_still_uncertain`; both inside the box of the uncertain pixels grown by its
        larger side (the rest of the frame is not touched: a few ms less per 720p frame)."""
        x, y, w, h = cv2.boundingRect(self.uncertain.view(np.uint8))
        pad = max(w, h)
        x0, y0 = max(0, x - pad), max(0, y - pad)
        sl = (slice(y0, y + h + pad), slice(x0, x + w + pad))
        unc = self.uncertain[sl]  # views: written through
        fix = unc & conf[sl]
        self._long[sl][fix] = frame[sl][fix]
        unc &= ~fix
        self._still_uncertain(frame, mask, objects, t_s, sl, (x0, y0))

    def _still_uncertain(self, frame: np.ndarray, mask: np.ndarray, objects: list, t_s: float, sl: tuple, origin: tuple) -> None:
        """Relearn from ``frame`` the uncertain pixels that have been foreground (``mask``, ``bool (H, W)``) in a
        still component for ``uncertain_still_s`` seconds, outside the boxes of tracked objects that came in
        moving (module docstring, "ghosts on uncertain pixels"), within the crop ``sl`` of the frame whose
        top-left pixel is ``origin`` (components are cut at its border); one ``ghosts`` count per component
        and frame with pixels relearnt."""
        cfg = self.config
        if self._still_at is None or self._still_at.shape != mask.shape:
            self._still_at = np.full(mask.shape, t_s, np.float64)
        unc, still_at, crop = self.uncertain[sl], self._still_at[sl], mask[sl]  # views: written through
        stale = crop & unc
        np.putmask(still_at, ~stale, t_s)
        if not stale.any():
            return
        changed = self._quiet[sl] == 0  # changed by more than motion_thr since the previous frame (_moving)
        _, lab, stats, _ = cv2.connectedComponentsWithStats(crop.astype(np.uint8), connectivity=8)
        came = self._guarded(objects, t_s, unknown_came_moving=False)
        guard = _box_mask(crop.shape, came, cfg.fg_dilate_px, origin)
        long, short, img = self._long[sl], self._short[sl], frame[sl]
        for i in np.unique(lab[stale]):
            x, y, w, h = (int(v) for v in stats[i, :4])
            c = (slice(y, y + h), slice(x, x + w))
            comp = lab[c] == i
            since = still_at[c]
            if np.count_nonzero(changed[c] & comp) > cfg.uncertain_still_frac * np.count_nonzero(comp):
                since[comp] = t_s  # the blob moves: its clock restarts
                continue
            fix = comp & unc[c] & ~guard[c] & (t_s - since >= cfg.uncertain_still_s)
            if not fix.any():
                continue
            long[c][fix] = img[c][fix]
            short[c][fix] = img[c][fix]
            unc[c][fix] = False
            self.counts["ghosts"] += 1

    def _ghosts(self, frame: np.ndarray, mask: np.ndarray, t_s: float) -> None:
        """Relearn (no event) each object born still that, once still for ``ghost_after_s``, is a ghost by
        :func:`outline_edge_ratio` (< ``ghost_ratio``); each is tested once."""
        cfg = self.config
        for r in self.still.records.values():
            if r.moved or r.absorbed or r.checked or r.last_seen != t_s or t_s - r.still_since < cfg.ghost_after_s:
                continue
            r.checked = True
            x0, y0, x1, y1 = r.bbox
            sl = (slice(max(0, y0 - 2), y1 + 3), slice(max(0, x0 - 2), x1 + 3))
            blob = mask[sl]
            if np.count_nonzero(blob) < 16 or outline_edge_ratio(frame[sl], self.background[sl], blob) >= cfg.ghost_ratio:
                continue
            self._absorb(frame, mask, r)
            self.counts["ghosts"] += 1

    def _absorb(self, frame: np.ndarray, mask: np.ndarray, r) -> None:
        """Copy the object's foreground (``mask`` dilated by ``fg_dilate_px``, inside its padded box) from
        ``frame`` into both backgrounds and mark its record absorbed."""
        x0, y0, x1, y1 = r.bbox
        pad = self.config.fg_dilate_px
        sel = np.zeros(mask.shape, bool)
        sel[max(0, y0 - pad) : y1 + pad + 1, max(0, x0 - pad) : x1 + pad + 1] = True
        sel &= _dilate(mask, pad)
        self._long[sel] = frame[sel]
        self._short[sel] = frame[sel]
        r.absorbed = True

    def _still(self, frame: np.ndarray, mask: np.ndarray, objects: list, t_s: float) -> list[dict]:
        """Absorbed events; copies each absorbed object's pixels into both backgrounds (the records' own
        ``stationary`` marks are counted as ``still_new``, not sent: ``stationary`` is the events engine's)."""
        still, absorb = self.still.update(objects, t_s)
        self.counts["still_new"] += len(still)
        events = []
        for r in absorb:
            self._absorb(frame, mask, r)
            self.counts["absorbed"] += 1
            events.append({"type": "absorbed", "id": r.id, "bbox": list(r.bbox), "still_s": round(t_s - r.still_since, 3)})
        return events

    # ------------------------------------------------------------------ persistence
    def save(self, directory) -> None:
        """Write ``directory/background.npz`` atomically (tmp file + ``os.replace``): both backgrounds,
        the uncertain map, the still-object records, the counters and ``version`` = :data:`STATE_VERSION`;
        plus ``directory/background.png`` (the long-term background, for people). No-op before :attr:`ready`.
        Raises MaskDepthError when the directory is not writable (the previous state is left intact)."""
        if not self.ready:
            return
        meta = {
            "version": STATE_VERSION,
            "source": self.source,
            "counts": self.counts,
            "relearn_until": self.relearn_until,
            "last_t": self._last_t,
            "records": [r.to_json() for r in self.still.records.values()],
            "config": asdict(self.config),
        }
        buf = io.BytesIO()
        np.savez_compressed(buf, long=self._long, short=self._short, uncertain=self.uncertain, meta=np.array(json.dumps(meta)))
        d = Path(directory)
        atomic_write_bytes(d / STATE_FILE, buf.getvalue())
        save_png(d / "background.png", self.background)

    @classmethod
    def load(cls, directory, config: BackgroundConfig) -> BackgroundModel | None:
        """The model saved by :meth:`save` in ``directory``, with ``config`` for the settings (the
        saved ones are informative); ``None`` when there is no saved state.
        Raises MaskDepthError (one line) for an unreadable file or another ``version``."""
        path = Path(directory) / STATE_FILE
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in ("long", "short", "uncertain")}
        except (OSError, ValueError, KeyError) as e:
            raise MaskDepthError(f"background state {path} is unreadable ({e}); delete it to start a fresh background") from None
        if not isinstance(meta, dict) or meta.get("version") != STATE_VERSION:
            v = meta.get("version") if isinstance(meta, dict) else None
            raise MaskDepthError(
                f"background state {path} has version {v!r}, this maskdepth reads version {STATE_VERSION}; delete it to start afresh"
            )
        m = cls(config)
        try:
            m._long, m._short = arrays["long"].astype(np.float32), arrays["short"].astype(np.float32)
            m.uncertain = arrays["uncertain"].astype(bool)
            m.source, m.relearn_until, m._last_t = meta["source"], meta["relearn_until"], meta["last_t"]
            m.counts.update({k: v for k, v in meta["counts"].items() if k in m.counts})
            m.still.records = {r.id: r for r in (StillRecord.from_json(d) for d in meta["records"])}
        except (KeyError, TypeError, ValueError) as e:
            raise MaskDepthError(f"background state {path} is malformed ({e}); delete it to start afresh") from None
        if m._long.ndim != 3 or m._long.shape[2] != 3 or m._short.shape != m._long.shape:
            raise MaskDepthError(f"background state {path} is malformed (shape {m._long.shape})")
        return m
