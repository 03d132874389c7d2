"""``maskdepth predict --video``: mask, depth and the objects of every frame of a fixed-camera video.

Outputs in ``out``:

* ``mask.mp4``: the foreground mask (white on black);
* ``depth.mp4``: the composed depth of each frame (the empty scene's depth with every
  object standing on it, :attr:`maskdepth.inference.pipeline.FrameResult.depth`), colourised
  (magma, near = bright, unknown = black) with one colour range for the whole clip
  (:func:`maskdepth.viz.depth_display_range` of the empty scene's known depth), so colours mean
  the same distance in every frame;
* ``overlay.mp4``: the mask tinted over the frame, each object's box, contact point and
  ``"id - distance"`` label (:func:`maskdepth.viz.draw_objects`);
* ``objects.jsonl``: one JSON line per frame, ``{"frame": i, "time_s": t, "objects":
  [...]}``, each object in the ``objects.json`` schema of issue 12 (``id``, ``bbox``,
  ``area_px``, ``contact_px``, ``distance_m``, ``height_m``, ``depth_source``) with the
  tracker's stable ``id``, plus ``floor_xy_m`` and ``speed_m_s`` (issue 21, :mod:`maskdepth.events`);
* ``events.jsonl``: the events of :class:`maskdepth.events.EventEngine` (enter, exit, stationary,
  and with ``zones`` zone_enter / zone_exit / line_cross), one JSON object per line;
* ``video.json`` (:func:`maskdepth.inference.outputs.video_json`): frame count, fps, sizes,
  background source, the scene depth source and the camera used, tracking statistics, smoothing,
  the flicker metric with and without smoothing, the depth colour range, timings;
* optionally per-frame files (``frames="png"``: ``frames/mask/NNNNNN.png`` 0/255 and
  ``frames/depth/NNNNNN.png`` uint16 millimetres (0 = unknown), described by
  ``frames/depth.json``; ``frames="npz"``: ``frames/NNNNNN.npz`` with ``mask`` bool (H, W),
  ``prob`` float32 (H, W) and ``depth`` float32 (H, W) metres, 0 = unknown).

Every output is written under a temporary name and renamed when the clip is done, so a
failure leaves no half-written file (:mod:`maskdepth.video.io`).

The background is a still image (``bg``), or made from the video itself (``bg_from``,
:func:`maskdepth.video.temporal.background_from_video`). A background of another size follows the
rule for image pairs (:func:`maskdepth.inference.predictor.check_pair`): same aspect ratio within
5 % → resized with a warning, otherwise refused.

Scene depth: one :class:`~maskdepth.scene.FixedCamera` for the clip, built from the
background and the optional ``bg_depth`` (measured), ``camera`` (``camera.json``, ground
plane) and ``teacher`` (ONNX monocular teacher) -- the empty scene's depth is computed
once; the network's depth of the empty scene, ``(bg, bg)``, is predicted once when the
source needs it (``ground_plane``, ``learned``).

Per frame (:class:`FrameStep`): the network (:meth:`Predictor.predict
<maskdepth.inference.predictor.Predictor.predict>`), with ``smooth`` its probability smoothed over
time (:mod:`maskdepth.video.temporal`), then the one pipeline
(:func:`maskdepth.inference.pipeline.frame_result`: the objects on the scene, the depth composed when
an output reads it) and the tracker.

Tracking (:class:`maskdepth.scene.Tracker`, ids stable across frames; the rule is in its
module docstring): constant-velocity boxes matched greedily on a combined IoU / centre
distance / size cost; two people whose masks merge while they cross give one detection,
and both tracks coast on their motion until they separate; a new object is reported with
``id`` 0 until its track is confirmed (``min_hits`` consecutive frames, except in the first
frames of the clip). ``video.json`` reports ``tracks_started`` (public ids) and the mean
track length in frames.

Decoding, inference and encoding run in three threads joined by bounded queues, so the
network is the bottleneck and memory stays bounded (the layout of RobustVideoMatting's
``convert_video``): a :class:`~maskdepth.video.io.FrameReader` (decode thread),
:func:`convert_video` (the per-frame loop) and a :class:`~maskdepth.video.io.VideoWriter` (encode
thread); :func:`predict_video` adds the background, the scene, the colour range, the events and
``video.json``; :func:`run_video` loads the model of a :class:`~maskdepth.video.config.VideoConfig`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..events.pipeline import EVENTS_FILE, open_events
from ..events.zones import load_zones
from ..extras import require
from ..inference import pipeline
from ..inference.outputs import video_json
from ..inference.pipeline import frame_result, network_on_scene
from ..inference.predictor import Prediction, Predictor, check_pair, learned_bg_depth_fn, load_predictor
from ..io import atomic_write_json, load_rgb
from ..scene import Camera, Tracker, load_camera
from ..scene.fixed_camera import FixedCamera
from ..scene.tracking import make_tracker
from ..viz import depth_display_range
from .config import VideoConfig
from .io import FrameReader, VideoInfo, VideoWriter, discard, iter_frames, probe, tmp_name, write_frames_json
from .temporal import (
    DEFAULT_BG_FROM,
    DEFAULT_COMPARE_ALPHA,
    DepthSmoother,
    FlickerMeter,
    ProbSmoother,
    background_from_video,
    flicker,
    parse_bg_from,
)

__all__ = [
    "run_video",
    "predict_video",
    "convert_video",
    "check_video_config",
    "FrameStep",
    "TrackedFrame",
    "ConvertStats",
    # in video.io / video.temporal, importable here too (maskdepth.calibration, maskdepth.adapt, benchmarks)
    "probe",
    "iter_frames",
    "VideoInfo",
    "FrameReader",
    "VideoWriter",
    "parse_bg_from",
    "background_from_video",
    "flicker",
    "FlickerMeter",
    "DepthSmoother",
    "DEFAULT_BG_FROM",
    "DEFAULT_COMPARE_ALPHA",
]


# ----------------------------------------------------------------------------- one frame


@dataclass
class TrackedFrame:
    """One frame through :class:`FrameStep`.

    Attributes:
        result: the pipeline's :class:`~maskdepth.inference.pipeline.FrameResult` (objects with ids
            1..n in label order; the composed depth on first access).
        objects: the tracked :class:`~maskdepth.scene.objects.SceneObject` list (``id`` 0 = not yet confirmed).
    """

    result: pipeline.FrameResult
    objects: list

    @property
    def mask(self) -> np.ndarray:
        """``bool (H, W)`` foreground (the smoothed one when the probability was smoothed)."""
        return self.result.mask

    @property
    def prob(self) -> np.ndarray:
        """``float32 (H, W)`` foreground probability in [0, 1]."""
        return self.result.prob

    @property
    def depth(self) -> np.ndarray:
        """``float32 (H, W)`` metres, 0 = unknown: the scene with each object on top (composed on first access)."""
        return self.result.depth


class FrameStep:
    """The per-frame step shared by ``predict --video`` (:func:`convert_video`) and ``watch``
    (:mod:`maskdepth.live.watch`): the network's prediction of ``(bg, frame)``
    (:meth:`Predictor.predict`), the objects on the fixed camera's scene through the one pipeline
    (:func:`maskdepth.inference.pipeline.frame_result`) and their stable ids (:meth:`Tracker.update`).

    Args:
        predictor: a :class:`~maskdepth.inference.predictor.Predictor` (anything with ``predict(bg, image)``).
        scene: the camera's :class:`~maskdepth.scene.fixed_camera.FixedCamera`, at the frames' size
            (the network's depth of its empty scene is predicted once, when the source needs it).
        tracker: a :class:`~maskdepth.scene.Tracker` (default ``Tracker()``).

    Attributes:
        infer_seconds, measure_seconds: wall time spent in the network (pre/post-processing
            included) and in measuring + tracking, summed over the frames.
    """

    def __init__(self, predictor: Predictor, scene: FixedCamera, tracker: Tracker | None = None):
        self.predictor, self.scene = predictor, scene
        self.tracker = tracker if tracker is not None else Tracker()
        self.infer_seconds, self.measure_seconds = 0.0, 0.0

    def predict(self, bg: np.ndarray, frame: np.ndarray) -> Prediction:
        """The network's :class:`~maskdepth.inference.predictor.Prediction` of ``frame`` (``uint8 (H, W, 3)`` RGB) against ``bg`` (same size)."""
        t = time.time()
        p = network_on_scene(self.predictor, frame, self.scene, bg)
        self.infer_seconds += time.time() - t
        return p

    def track(self, network: Prediction, frame: np.ndarray | None = None) -> TrackedFrame:
        """The objects of ``network`` (a :class:`Prediction`, possibly smoothed, at the scene's size) on the
        scene, and their tracked ids (``frame``, ``uint8 (H, W, 3)`` RGB, gives the tracker the objects' colours).
        Raises: MaskDepthError for another size or bad scene sources."""
        t = time.time()
        result = frame_result(network, self.scene, self.predictor, frame)
        objects = self.tracker.update(result.objects, image=frame, labels=result.labels)
        self.measure_seconds += time.time() - t
        return TrackedFrame(result, objects)

    def __call__(self, bg: np.ndarray, frame: np.ndarray) -> TrackedFrame:
        """predict → measure → track one frame (raw network mask, no smoothing). Raises what its parts raise."""
        return self.track(self.predict(bg, frame), frame)


# ----------------------------------------------------------------------------- the clip


@dataclass
class ConvertStats:
    """What :func:`convert_video` measured.

    Attributes:
        frames: frames predicted and handed to the writer.
        flicker_raw, flicker_smoothed: flicker of the raw and of the EMA-smoothed masks
            (fractions in [0, 1]; ``None`` below two frames).
        mask_fraction_mean: mean foreground fraction of the written masks.
        infer_seconds: time spent in the network (pre/post-processing included).
        measure_seconds: time spent measuring the objects and tracking them.
        track_frames: ``{track id: number of frames it was seen in}``.
        objects_per_frame_mean: mean number of objects per frame (``None`` without frames).
        last: the last frame's :class:`~maskdepth.inference.pipeline.FrameResult` (its depth source,
            scene and camera describe the clip), or ``None``.
    """

    frames: int
    flicker_raw: float | None
    flicker_smoothed: float | None
    mask_fraction_mean: float | None
    infer_seconds: float
    measure_seconds: float = 0.0
    track_frames: dict[int, int] = field(default_factory=dict)
    objects_per_frame_mean: float | None = None
    last: pipeline.FrameResult | None = None

    def tracking_json(self, tracker: Tracker) -> dict:
        """``video.json``'s ``tracking``: the tracker's settings and what it did."""
        lengths = list(self.track_frames.values())
        return {
            **tracker.describe(),
            "tracks_started": len(lengths),
            "mean_track_length_frames": float(np.mean(lengths)) if lengths else None,
            "max_track_length_frames": max(lengths) if lengths else None,
            "objects_per_frame_mean": self.objects_per_frame_mean,
        }


class _ClipMeter:
    """Running statistics of a clip for :class:`ConvertStats`: flicker of the raw and smoothed masks,
    mask fractions, objects per frame, frames per track."""

    def __init__(self):
        self.raw, self.smoothed = FlickerMeter(), FlickerMeter()
        self.mask_fracs: list[float] = []
        self.n_objects: list[int] = []
        self.track_frames: dict[int, int] = {}
        self.frames, self.last = 0, None

    def add(self, raw: Prediction, smoothed: Prediction, tracked: TrackedFrame) -> None:
        self.raw.update(raw.mask)
        self.smoothed.update(smoothed.mask)
        for o in tracked.objects:
            if o.id:  # 0: not yet confirmed
                self.track_frames[o.id] = self.track_frames.get(o.id, 0) + 1
        self.n_objects.append(len(tracked.objects))
        self.mask_fracs.append(float(tracked.mask.mean()))
        self.last = tracked.result

    def stats(self, step: FrameStep) -> ConvertStats:
        return ConvertStats(
            self.frames,
            self.raw.value,
            self.smoothed.value,
            float(np.mean(self.mask_fracs)) if self.mask_fracs else None,
            step.infer_seconds,
            step.measure_seconds,
            self.track_frames,
            float(np.mean(self.n_objects)) if self.n_objects else None,
            self.last,
        )


def convert_video(
    step: FrameStep, source: Iterable[tuple[int, np.ndarray]], outputs: VideoWriter, smooth: float | None = None, events=None, progress=None
) -> ConvertStats:
    """Predict every frame of ``source`` against the scene's bg, measure its objects, track them, and
    hand the results to ``outputs``.

    Per frame: the network's mask, probability and depth (:meth:`FrameStep.predict`); the EMA of the
    probability (:class:`~maskdepth.video.temporal.ProbSmoother`, with ``smooth`` or, for the flicker
    comparison only, :data:`~maskdepth.video.temporal.DEFAULT_COMPARE_ALPHA`); the objects of the written
    mask (the smoothed one with ``smooth``) and their ids (:meth:`FrameStep.track`); the composed depth,
    with ``smooth`` smoothed over known pixels only (:class:`~maskdepth.video.temporal.DepthSmoother`).

    Args:
        step: the clip's :class:`FrameStep` (predictor, fixed camera at the frames' size, tracker).
        source: ``(index, frame)`` pairs in order, frames ``uint8 (H, W, 3)`` RGB (a :class:`FrameReader`).
        outputs: a started :class:`VideoWriter` (or anything with its ``write``).
        smooth: EMA factor ALPHA in (0, 1] applied to the written mask probability and
            depth; ``None``: the raw predictions are written.
        events: a :class:`maskdepth.events.pipeline.EventStream` fed every frame's tracked objects
            (its records, with speeds and floor positions, go to ``objects.jsonl``), or ``None``.
        progress: an object with ``update(n)`` (a tqdm bar), or ``None``.
    Returns: :class:`ConvertStats`.
    Raises: whatever ``source``, the predictor, the scene or ``outputs`` raise.
    """
    alpha = float(smooth) if smooth is not None else float(DEFAULT_COMPARE_ALPHA)
    probs, depths = ProbSmoother(alpha, step.predictor.threshold), DepthSmoother(alpha) if smooth is not None else None
    meter, bg = _ClipMeter(), step.scene.bg
    for i, frame in source:
        raw = step.predict(bg, frame)
        smoothed = probs.update(raw)
        tracked = step.track(smoothed if smooth is not None else raw, frame)
        depth = depths.update(tracked.depth) if depths is not None else tracked.depth
        meter.add(raw, smoothed, tracked)
        records, hidden = events.step(tracked.objects, i, tracker=step.tracker)[1:] if events is not None else (None, None)
        if not outputs.write(i, frame, tracked.mask, tracked.prob, depth, tracked.objects, records, hidden):
            break
        meter.frames += 1
        if progress is not None:
            progress.update(1)
    return meter.stats(step)


# ----------------------------------------------------------------------------- settings and inputs


def check_video_config(cfg: VideoConfig) -> None:
    """Check the settings that need no file. Raises: MaskDepthError naming the parameter."""
    if not cfg.video:
        raise MaskDepthError("is required: the video file", param="video")
    if cfg.bg is not None and cfg.bg_from is not None:
        raise MaskDepthError(f"{cfg.bg_from!r} given with a bg image: give one or the other", param="bg_from")
    if isinstance(cfg.bg, (str, os.PathLike)) and Path(cfg.bg).is_dir():
        raise MaskDepthError(f"must be one background image for a video, not a folder: {cfg.bg}", param="bg")
    if cfg.bg_from is not None:
        parse_bg_from(cfg.bg_from)
    if cfg.smooth is not None and not (0.0 < float(cfg.smooth) <= 1.0):
        raise MaskDepthError(f"must be in (0, 1] (weight of the newest frame), got {cfg.smooth}", param="smooth")
    if cfg.frames not in (None, "png", "npz"):
        raise MaskDepthError(f"must be png or npz, got {cfg.frames!r}", param="frames")


@dataclass
class _Inputs:
    """Everything :func:`predict_video` checks before it writes: the video, its background (and its
    ``video.json`` description), the fixed camera, the camera file for the events, the zones, the colour range."""

    video: str | os.PathLike
    info: VideoInfo
    bg: np.ndarray
    bg_meta: dict
    scene: FixedCamera
    camera: Camera | None
    zones: object
    depth_range: tuple[float, float]


def _load_bg(path) -> np.ndarray:
    try:
        return load_rgb(path)
    except MaskDepthError as e:
        raise MaskDepthError(str(e), param="bg") from None  # "bg x.png: not an image" (the CLI: --bg x.png: ...)


def _background(video: str | os.PathLike, info: VideoInfo, bg, bg_from: str | None) -> tuple[np.ndarray, dict]:
    """The background at the video's size and its ``video.json`` description (see :func:`predict_video`)."""
    if bg is None:
        spec = bg_from or DEFAULT_BG_FROM
        kind, n_bg = parse_bg_from(spec)
        bg_img = background_from_video(video, spec, info)
        bg_meta = {"source": kind, "frames": min(n_bg, max(info.frames, 1)) if kind == "median" else 1, "spec": spec}
    else:
        bg_img = bg if isinstance(bg, np.ndarray) else _load_bg(bg)
        bg_meta = {
            "source": "file",
            "path": None if isinstance(bg, np.ndarray) else str(bg),
            "size": [int(bg_img.shape[1]), int(bg_img.shape[0])],
        }
    return check_pair(bg_img, np.empty((info.height, info.width, 3), np.uint8), name=f"video ({Path(video).name})"), bg_meta


def _depth_color_range(predictor: Predictor, scene: FixedCamera) -> tuple[float, float]:
    """One colour range for the whole clip: :func:`maskdepth.viz.depth_display_range` of the empty
    scene's depth (metres; the network's depth of the empty scene when the scene's own depth is not
    metric), widened when degenerate. Computing it loads the scene depth: bad scene files fail here."""
    learned_bg_depth = learned_bg_depth_fn(predictor, scene)
    sd = scene.scene_depth(learned_bg_depth)
    rng = depth_display_range(sd.depth if sd.metric else learned_bg_depth())
    if rng is None:  # cannot happen for a loaded scene (it has a known pixel); keep a usable range
        return 1.0, 10.0
    vmin, vmax = rng
    if vmax - vmin < 1e-3:
        vmin, vmax = vmin * 0.9, vmax * 1.1 + 1e-3
    return vmin, vmax


def _inputs(predictor: Predictor, cfg: VideoConfig) -> _Inputs:
    """Read and check every input of ``cfg`` (nothing is written). Raises: MaskDepthError."""
    info = probe(cfg.video)
    bg, bg_meta = _background(cfg.video, info, cfg.bg, cfg.bg_from)
    scene = FixedCamera(bg, **cfg.fixed_camera_settings())
    depth_range = _depth_color_range(predictor, scene)
    camera = cfg.camera if cfg.camera is None or isinstance(cfg.camera, Camera) else load_camera(os.fspath(cfg.camera))
    zones = None if cfg.zones is None else load_zones(cfg.zones, camera=camera)
    return _Inputs(cfg.video, info, bg, bg_meta, scene, camera, zones, depth_range)


# ----------------------------------------------------------------------------- running it


def _run_pipeline(step: FrameStep, inputs: _Inputs, cfg: VideoConfig, out: Path, events) -> tuple[ConvertStats, FrameReader, VideoWriter]:
    """Reader thread → :func:`convert_video` (this thread) → writer thread; stops both on any failure."""
    from tqdm import tqdm

    info = inputs.info
    stop, errors = threading.Event(), []
    reader = FrameReader(inputs.video, (info.height, info.width), stop, errors)
    writer = VideoWriter(out, info.width, info.height, info.fps, inputs.depth_range, stop, errors, frames=cfg.frames, crf=cfg.crf)
    writer.shapes = events.engine.overlay_shapes()
    reader.start()
    writer.start()
    bar = tqdm(total=info.frames or None, desc="video", unit="frame", disable=cfg.quiet, dynamic_ncols=True)
    try:
        stats = convert_video(step, reader, writer, smooth=cfg.smooth, events=events, progress=bar)
        writer.close()
    except BaseException:
        stop.set()
        writer.thread.join(timeout=10)
        writer.abort()
        raise
    finally:
        stop.set()
        bar.close()
        reader.join(timeout=10)
    return stats, reader, writer


def _run_with_events(step: FrameStep, inputs: _Inputs, cfg: VideoConfig, out: Path) -> tuple[ConvertStats, FrameReader, VideoWriter, dict]:
    """:func:`_run_pipeline` with the event stream writing ``events.jsonl`` (renamed into place at the end,
    deleted on failure). Returns the stats, the reader, the writer and the events' statistics."""
    info = inputs.info
    events_tmp = tmp_name(out / EVENTS_FILE)
    events = open_events(
        zones=inputs.zones, camera=inputs.camera, image_size=(info.width, info.height), fps=float(info.fps), events_path=events_tmp
    )
    try:
        stats, reader, writer = _run_pipeline(step, inputs, cfg, out, events)
        events.finish(stats.frames)
    except BaseException:
        events.close()
        discard(None, events_tmp)
        raise
    events.close()
    os.replace(events_tmp, out / EVENTS_FILE)
    return stats, reader, writer, events.stats()


def _make_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MaskDepthError(f"cannot create {out}: {e.strerror or e}") from None


def _record(inputs: _Inputs, cfg: VideoConfig, step: FrameStep, run: tuple, seconds: float) -> dict:
    """``video.json`` (:func:`maskdepth.inference.outputs.video_json`) from what the run measured."""
    stats, reader, writer, events = run
    info, n, (W, H) = inputs.info, stats.frames, (inputs.info.width, inputs.info.height)
    clip = {
        "input": str(inputs.video),
        "frames": n,
        "fps": float(info.fps),
        "size": [W, H],
        "encoded_size": [W + W % 2, H + H % 2],
        "codec_in": info.codec,
        "background": inputs.bg_meta,
        "mask_threshold": step.predictor.threshold,
    }
    flick = {
        "raw": stats.flicker_raw,
        "smoothed": stats.flicker_smoothed,
        "smoothed_alpha": float(cfg.smooth) if cfg.smooth is not None else DEFAULT_COMPARE_ALPHA,
    }
    outputs = (
        {k: f"{k}.mp4" for k in VideoWriter.VIDEOS}
        | {"objects": "objects.jsonl", "events": EVENTS_FILE}
        | ({"frames": f"frames/ ({cfg.frames})"} if cfg.frames else {})
    )
    timing = {
        "seconds": round(seconds, 3),
        "fps": round(n / max(seconds, 1e-9), 3),
        "infer_seconds": round(stats.infer_seconds, 3),
        "measure_track_seconds": round(stats.measure_seconds, 3),
        "decode_seconds": round(reader.seconds, 3),
        "encode_seconds": round(writer.seconds, 3),
    }
    rest = {
        "mask_fraction_mean": stats.mask_fraction_mean,
        "events": events,
        "depth_color_range_m": list(inputs.depth_range),
        "outputs": outputs,
        "timing": timing,
    }
    return video_json(clip, stats.last, stats.tracking_json(step.tracker), cfg.smooth, flick, rest)


def predict_video(predictor: Predictor, cfg: VideoConfig, tracker: Tracker | None = None) -> dict:
    """Predict mask, depth and objects for every frame of ``cfg.video``; write the videos,
    ``objects.jsonl``, ``events.jsonl`` and ``video.json`` into ``cfg.out`` (created).

    Args:
        predictor: a :class:`maskdepth.inference.predictor.Predictor` (anything with
            ``predict(bg, image)`` and ``threshold``).
        cfg: the :class:`~maskdepth.video.config.VideoConfig`: ``video`` (anything FFmpeg reads: MP4, MKV,
            AVI, MOV, ...), ``out``; ``bg`` (a path, or a ``uint8 (H, W, 3)`` RGB array) or ``bg_from``
            (``"first"`` or ``"median:N"``; default :data:`~maskdepth.video.temporal.DEFAULT_BG_FROM`);
            ``smooth`` (EMA factor in (0, 1] of the written probability and log-depth; ``None``: raw);
            ``frames`` (``None``, ``"png"``, ``"npz"``); the scene: ``bg_depth`` (a file, a float array in
            metres, or a :class:`~maskdepth.scene.SceneDepth`; resized nearest-exact), ``bg_depth_unit``,
            ``camera`` (a ``camera.json`` path or a :class:`~maskdepth.scene.Camera`, scaled to the video),
            ``teacher``; ``zones`` (``zones.json``: zone and line events, floor-metre zones need ``camera``);
            ``quiet``; ``crf`` (x264 quality, 0 lossless .. 51).
        tracker: the tracker giving stable ids (default :func:`~maskdepth.scene.tracking.make_tracker` at the clip's
            frame rate, with the scene's camera).
    Returns:
        The dict written to ``video.json`` (see the module docstring); its ``flicker`` holds ``raw``
        and ``smoothed`` (fractions in [0, 1]), ``depth_source`` the scene depth source, ``camera``
        the camera used (or ``None``) and ``tracking`` the tracker's settings, ``tracks_started`` and
        ``mean_track_length_frames``.
    Raises:
        MaskDepthError: unreadable video, background, depth or camera file, a background,
            depth map or camera of another framing, bad settings (:func:`check_video_config`),
            or an output that cannot be written. Nothing is written before the inputs are checked.
    """
    require("video", "maskdepth predict --video", ("av",))
    check_video_config(cfg)
    t_start = time.time()
    inputs = _inputs(predictor, cfg)
    out = Path(cfg.out)
    _make_out(out)
    if cfg.frames == "png":
        write_frames_json(out, cfg.smooth is not None)
    if tracker is None:
        tracker = make_tracker(fps=float(inputs.info.fps), camera=inputs.scene.camera, **cfg.tracker_settings())
    step = FrameStep(predictor, inputs.scene, tracker)
    run = _run_with_events(step, inputs, cfg, out)
    if run[0].frames == 0:
        raise MaskDepthError(f"{cfg.video}: no frames decoded")
    rec = _record(inputs, cfg, step, run, time.time() - t_start)
    atomic_write_json(out / "video.json", rec)
    return rec


def run_video(cfg: VideoConfig) -> dict:
    """``maskdepth predict --video``: check ``cfg`` (:func:`check_video_config`), load its model
    (:func:`~maskdepth.inference.predictor.load_predictor`) and run :func:`predict_video`.

    Returns: the ``video.json`` record. Raises: MaskDepthError naming the parameter for bad settings
    (before the model is loaded) and bad files.
    """
    check_video_config(cfg)
    predictor = load_predictor(cfg.checkpoint, size=cfg.size, backend=cfg.backend, refine=cfg.refine)
    return predict_video(predictor, cfg)
