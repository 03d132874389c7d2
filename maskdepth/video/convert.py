"""``maskdepth predict --video``: mask, depth and the objects of every frame of a fixed-camera video.

Outputs in ``out_dir``:

* ``mask.mp4``: the foreground mask (white on black);
* ``depth.mp4``: the composed depth of each frame (the empty scene's depth with every
  object standing on it, :meth:`maskdepth.scene.FixedCamera.measure`), colourised (magma,
  near = bright, unknown = black) with one colour range for the whole clip (2nd-98th
  percentile of the empty scene's known depth), so colours mean the same distance in
  every frame;
* ``overlay.mp4``: the mask tinted over the frame, each object's box, contact point and
  ``"id - distance"`` label (:func:`maskdepth.viz.draw_objects`);
* ``objects.jsonl``: one JSON line per frame, ``{"frame": i, "time_s": t, "objects":
  [...]}``, each object in the ``objects.json`` schema of issue 12 (``id``, ``bbox``,
  ``area_px``, ``contact_px``, ``distance_m``, ``height_m``, ``depth_source``) with the
  tracker's stable ``id``, plus ``floor_xy_m`` and ``speed_m_s`` (issue 21, :mod:`maskdepth.events`);
* ``events.jsonl``: the events of :class:`maskdepth.events.EventEngine` (enter, exit, stationary,
  and with ``zones`` zone_enter / zone_exit / line_cross), one JSON object per line;
* ``video.json``: frame count, fps, sizes, background source, the scene depth source and
  the camera used, tracking statistics, smoothing, the flicker metric with and without
  smoothing, the depth colour range, timings;
* optionally per-frame files (``frames="png"``: ``frames/mask/NNNNNN.png`` 0/255 and
  ``frames/depth/NNNNNN.png`` uint16 millimetres (0 = unknown), described by
  ``frames/depth.json``; ``frames="npz"``: ``frames/NNNNNN.npz`` with ``mask`` bool (H, W),
  ``prob`` float32 (H, W) and ``depth`` float32 (H, W) metres, 0 = unknown).

Every output is written under a temporary name and renamed when the clip is done, so a
failure leaves no half-written file.

Videos are H.264 (libx264, yuv420p, CRF 18) in MP4, at the input's frame rate. yuv420p
needs even sides: an odd width or height is padded by one replicated pixel column/row
(``encoded_size`` in ``video.json``); per-frame files keep the exact input size.

The background is a still image (``bg``), or made from the video itself
(``bg_from="first"``: the first frame, which must then be empty; ``"median:N"``: the
per-pixel median of ``N`` frames spread evenly over the clip, which removes anything
that moves). A background of another size follows the rule for image pairs
(:func:`maskdepth.inference.predictor.check_pair`): same aspect ratio within 5 % → resized with a
warning, otherwise refused.

Scene depth: one :class:`~maskdepth.scene.FixedCamera` for the clip, built from the
background and the optional ``bg_depth`` (measured), ``camera`` (``camera.json``, ground
plane) and ``teacher`` (ONNX monocular teacher) -- the empty scene's depth is computed
once; the network's depth of the empty scene, ``(bg, bg)``, is predicted once when the
source needs it (``ground_plane``, ``learned``).

Tracking (:class:`maskdepth.scene.Tracker`, ids stable across frames; the rule is in its
module docstring): constant-velocity boxes matched greedily on a combined IoU / centre
distance / size cost; two people whose masks merge while they cross give one detection,
and both tracks coast on their motion until they separate; a new object is reported with
``id`` 0 until its track is confirmed (``min_hits`` consecutive frames, except in the first
frames of the clip). ``video.json`` reports ``tracks_started`` (public ids) and the mean
track length in frames.

Decoding, inference and encoding run in three threads joined by bounded queues, so the
network is the bottleneck and memory stays bounded (the layout of RobustVideoMatting's
``convert_video``): a :class:`FrameReader` (decode thread), :func:`convert_video` (the
per-frame loop: predict, smooth, measure, track, measure flicker) and a
:class:`VideoWriter` (encode thread); :func:`predict_video` is the command-level wrapper
that adds the background, the scene, the colour range and ``video.json``.

Temporal smoothing (``smooth=ALPHA`` in (0, 1]): an exponential moving average of the
mask probability, ``s_t = ALPHA * x_t + (1 - ALPHA) * s_(t-1)``, and the same EMA of the
log of the composed depth over **known pixels only** (:class:`DepthSmoother`): a pixel
unknown (0) in this frame stays 0 and forgets its past, a pixel known now but not in the
previous frame restarts from its new value, so unknown pixels are never mixed in.
``ALPHA = 1`` is no smoothing; smaller is smoother (and lags more behind motion).

Flicker: the mean, over consecutive frame pairs, of the fraction of mask pixels that
change, ``|M_t XOR M_(t-1)| / |M_t OR M_(t-1)|`` (0 when both masks are empty). It counts
true motion as well as flicker, so compare values on the same clip only. It is measured
for the raw masks and for the smoothed masks (with ``smooth``, or with
``DEFAULT_COMPARE_ALPHA`` when no smoothing is asked for) in the same run.
"""

from __future__ import annotations

import io
import json
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..data.format import depth_to_mm_u16
from ..errors import MaskDepthError
from ..events.pipeline import EVENTS_FILE, open_events
from ..events.zones import load_zones
from ..extras import require
from ..inference.predictor import Predictor, check_pair, learned_bg_depth_fn
from ..io import atomic_write_bytes, atomic_write_json, load_rgb, save_png
from ..scene import Camera, Tracker, load_camera
from ..scene.fixed_camera import FixedCamera, FrameDepth
from ..viz import colorize_depth, draw_objects, draw_zones, overlay

DEFAULT_COMPARE_ALPHA = 0.5
"""EMA factor used to report 'flicker with smoothing' when no ``smooth`` is given."""

DEFAULT_BG_FROM = "median:30"
"""Background used when neither a background image nor ``bg_from`` is given."""

_QUEUE = 8  # frames in flight between threads (each way)
_SENTINEL = None


@dataclass
class VideoInfo:
    """What :func:`probe` learns about a video.

    Attributes:
        width, height: frame size in pixels.
        fps: frame rate (frames per second, a ``Fraction``; 25 when the file does not say).
        frames: number of frames (from the container, or counted from the packets).
        codec: the video codec's name.
    """

    width: int
    height: int
    fps: Fraction
    frames: int
    codec: str


def _open(path: str | os.PathLike):
    import av

    p = Path(path)
    if not p.exists():
        raise MaskDepthError(f"--video not found: {p}")
    if p.is_dir():
        raise MaskDepthError(f"--video is a directory, not a video file: {p}")
    if p.stat().st_size == 0:
        raise MaskDepthError(f"{p}: empty file (0 bytes)")
    try:
        c = av.open(str(p), "r")
    except Exception as e:  # av raises FFmpegError subclasses (InvalidDataError, ...)
        raise MaskDepthError(f"{p}: not a readable video ({type(e).__name__})") from None
    if not c.streams.video:
        c.close()
        raise MaskDepthError(f"{p}: holds no video stream")
    return c


def probe(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate and frame count of a video file.

    Raises:
        MaskDepthError: missing, empty, not a video, or no video stream.
    """
    c = _open(path)
    try:
        s = c.streams.video[0]
        fps = s.average_rate or s.guessed_rate or Fraction(25)
        n = int(s.frames or 0)
        if n <= 0:  # not in the header: count packets (cheap: no decoding)
            n = sum(1 for pkt in c.demux(s) if pkt.size)
        w, h = s.codec_context.width, s.codec_context.height
        if not w or not h:
            raise MaskDepthError(f"{path}: video stream has no frame size")
        return VideoInfo(int(w), int(h), Fraction(fps), n, s.codec_context.name)
    finally:
        c.close()


def iter_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Decode a video: yields every frame as ``uint8 (H, W, 3)`` RGB, in order.

    Raises:
        MaskDepthError: unreadable file, or a decoding error (names the frame).
    """
    c = _open(path)
    i = 0
    try:
        try:
            for frame in c.decode(video=0):
                yield frame.to_ndarray(format="rgb24")
                i += 1
        except MaskDepthError:
            raise
        except Exception as e:
            raise MaskDepthError(f"{path}: cannot decode frame {i} ({type(e).__name__}: {str(e)[:120]})") from None
    finally:
        c.close()


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
    raise MaskDepthError(f"--bg-from must be 'first' or 'median:N' with 1 <= N <= 500, got {spec!r}")


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
        d = np.asarray(depth, np.float32)
        known = np.isfinite(d) & (d > 0)
        logd = np.where(known, np.log(np.where(known, d, 1.0)), np.nan).astype(np.float32)
        if self.state is not None and self.state.shape == logd.shape:
            both = known & np.isfinite(self.state)
            logd[both] = self.alpha * logd[both] + (1.0 - self.alpha) * self.state[both]
        self.state = logd
        return np.where(known, np.exp(np.where(known, logd, 0.0)), 0.0).astype(np.float32)


def _tmp_name(path: Path) -> Path:
    """The temporary name an output is written under before it is renamed to ``path``."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")


def _discard(handle, tmp: Path) -> None:
    """After a failure: close ``handle`` (errors ignored) and delete the temporary file ``tmp``."""
    try:
        handle.close()
    except Exception:
        pass
    try:
        os.unlink(tmp)
    except OSError:
        pass


class _Encoder:
    """One H.264 MP4 output, written to a temporary name and renamed on :meth:`close`."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, crf: int = 18):
        import av

        self.path = path
        self.tmp = _tmp_name(path)
        self.w, self.h = width + width % 2, height + height % 2
        self.c = av.open(str(self.tmp), "w", format="mp4")
        self.s = self.c.add_stream("libx264", rate=fps)
        self.s.width, self.s.height, self.s.pix_fmt = self.w, self.h, "yuv420p"
        self.s.options = {"crf": str(crf), "preset": "veryfast"}
        self.n = 0

    def write(self, rgb: np.ndarray) -> None:
        import av

        h, w = rgb.shape[:2]
        if (h, w) != (self.h, self.w):
            rgb = np.pad(rgb, ((0, self.h - h), (0, self.w - w), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self.n
        for pkt in self.s.encode(frame):
            self.c.mux(pkt)
        self.n += 1

    def close(self) -> None:
        for pkt in self.s.encode():
            self.c.mux(pkt)
        self.c.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        _discard(self.c, self.tmp)


class _JsonLines:
    """``objects.jsonl``: one JSON object per line, written to a temporary name and renamed on :meth:`close`."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp = _tmp_name(path)
        self.f = open(self.tmp, "w", encoding="utf-8")

    def write(self, record: dict) -> None:
        self.f.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        _discard(self.f, self.tmp)


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event, errors: list):
    while True:
        if errors:
            raise errors[0]
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set() and not errors:
                raise MaskDepthError("video pipeline stopped") from None


class _Link:
    """A bounded queue between two pipeline threads that gives up when the pipeline stops.

    ``stop`` is set by whichever side fails; ``errors`` collects the failures, in order, for
    the main thread to re-raise.
    """

    def __init__(self, stop: threading.Event, errors: list):
        self.q: queue.Queue = queue.Queue(maxsize=_QUEUE)
        self.stop, self.errors = stop, errors

    def put(self, item) -> bool:
        """Queue ``item``; ``False`` when the pipeline stopped first."""
        return _put(self.q, item, self.stop)

    def get(self):
        """Next item (``_SENTINEL`` at the end). Raises the first failure of another thread, or
        MaskDepthError("video pipeline stopped") when the pipeline stopped without one."""
        return _get(self.q, self.stop, self.errors)


class FrameReader:
    """Decodes a video in a background thread (PyAV), a bounded number of frames ahead.

    Iterating yields ``(index, frame)`` with ``frame`` ``uint8 (H, W, 3)`` RGB, in order.
    A decoding failure (or a frame of another size than ``size_hw``) stops the pipeline
    and is raised by the iteration. ``seconds`` is the time spent decoding.
    """

    def __init__(self, path: str | os.PathLike, size_hw: tuple[int, int], stop: threading.Event, errors: list):
        self.path, self.size_hw = path, tuple(size_hw)
        self.stop, self.errors = stop, errors
        self.link = _Link(stop, errors)
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._decode, name="maskdepth-decode", daemon=True)

    def start(self) -> FrameReader:
        """Start the decoding thread; returns ``self``."""
        self.thread.start()
        return self

    def _decode(self) -> None:
        H, W = self.size_hw
        try:
            t = time.time()
            gen = iter_frames(self.path)
            try:
                for i, f in enumerate(gen):
                    if f.shape[:2] != (H, W):
                        raise MaskDepthError(f"{self.path}: frame {i} is {f.shape[1]}x{f.shape[0]}, the stream said {W}x{H}")
                    self.seconds += time.time() - t
                    if not self.link.put((i, f)):
                        return
                    t = time.time()
            finally:
                gen.close()
            self.link.put(_SENTINEL)
        except BaseException as e:  # handed to the main thread
            self.errors.append(e)
            self.stop.set()

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        while True:
            item = self.link.get()
            if item is _SENTINEL:
                return
            yield item

    def join(self, timeout: float | None = 10) -> None:
        """Wait for the decoding thread (after the pipeline has stopped or the video ended)."""
        if self.thread.ident is not None:  # started
            self.thread.join(timeout=timeout)


class VideoWriter:
    """Writes the outputs of :func:`convert_video` in a background thread.

    Per frame: ``mask.mp4`` (white on black), ``depth.mp4`` (colourised with one fixed range
    ``depth_range`` in metres, near = bright, unknown = black), ``overlay.mp4`` (the mask
    tinted over the frame with each object's box and ``"id - distance"`` label), a line of
    ``objects.jsonl`` (``{"frame", "time_s", "objects"}``), and with ``frames="png"``
    ``frames/mask/NNNNNN.png`` (0/255) + ``frames/depth/NNNNNN.png`` (uint16 mm, 0 = unknown),
    with ``frames="npz"`` ``frames/NNNNNN.npz`` (``mask``, ``prob``, ``depth``).
    Videos and ``objects.jsonl`` go to temporary names, renamed on :meth:`close` and deleted
    on :meth:`abort`.
    ``seconds`` is the time spent encoding; ``frames_written`` counts the frames done.
    """

    VIDEOS = ("mask", "depth", "overlay")

    def __init__(
        self,
        out: Path,
        width: int,
        height: int,
        fps: Fraction,
        depth_range: tuple[float, float],
        stop: threading.Event,
        errors: list,
        frames: str | None = None,
        crf: int = 18,
    ):
        self.out, self.w, self.h, self.fps, self.crf = Path(out), int(width), int(height), fps, crf
        self.vmin, self.vmax = depth_range
        self.frames = frames
        self.stop, self.errors = stop, errors
        self.link = _Link(stop, errors)
        self.encoders: dict[str, _Encoder] = {}
        self.jsonl: _JsonLines | None = None
        self.shapes: tuple[list, list] = ([], [])  # zones and lines drawn on the overlay (pixels)
        self.seconds, self.frames_written = 0.0, 0
        self.thread = threading.Thread(target=self._encode, name="maskdepth-encode", daemon=True)

    def start(self) -> VideoWriter:
        """Start the encoding thread; returns ``self``."""
        self.thread.start()
        return self

    def write(
        self,
        i: int,
        frame: np.ndarray,
        mask: np.ndarray,
        prob: np.ndarray,
        depth: np.ndarray,
        objects: list | None = None,
        records: list | None = None,
    ) -> bool:
        """Queue frame ``i``: its RGB ``frame`` uint8 (H, W, 3), ``mask`` bool, ``prob`` float32 and
        ``depth`` float32 metres (0 = unknown), each (H, W), and its tracked ``objects``
        (:class:`~maskdepth.scene.objects.SceneObject` list) with, optionally, their ``objects.jsonl``
        ``records`` (:meth:`maskdepth.events.EventEngine.object_record`: speeds and floor positions).
        ``False`` when the pipeline stopped first."""
        return self.link.put((i, frame, mask, prob, depth, objects or [], records))

    def _write_frame(
        self, i: int, frame: np.ndarray, mask: np.ndarray, prob: np.ndarray, depth: np.ndarray, objects: list, records
    ) -> None:
        self.encoders["mask"].write(np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2))
        self.encoders["depth"].write(colorize_depth(depth, self.vmin, self.vmax))
        speeds = None if records is None else [r.get("speed_m_s") for r in records]
        self.encoders["overlay"].write(draw_objects(draw_zones(overlay(frame, mask), *self.shapes), objects, speeds=speeds))
        records = records if records is not None else [o.to_json() for o in objects]
        self.jsonl.write({"frame": int(i), "time_s": round(i / float(self.fps), 4), "objects": records})
        if self.frames == "png":
            save_png(self.out / "frames" / "mask" / f"{i:06d}.png", mask.astype(np.uint8) * 255)
            save_png(self.out / "frames" / "depth" / f"{i:06d}.png", depth_to_mm_u16(depth))
        elif self.frames == "npz":
            buf = io.BytesIO()
            np.savez_compressed(buf, mask=mask, prob=prob.astype(np.float32), depth=depth.astype(np.float32))
            atomic_write_bytes(self.out / "frames" / f"{i:06d}.npz", buf.getvalue())

    def _encode(self) -> None:
        try:
            for name in self.VIDEOS:
                self.encoders[name] = _Encoder(self.out / f"{name}.mp4", self.w, self.h, self.fps, self.crf)
            self.jsonl = _JsonLines(self.out / "objects.jsonl")
            while True:
                item = self.link.get()
                if item is _SENTINEL:
                    break
                t = time.time()
                self._write_frame(*item)
                self.frames_written += 1
                self.seconds += time.time() - t
            for e in self.encoders.values():
                e.close()
            self.jsonl.close()
        except BaseException as e:
            if not isinstance(e, MaskDepthError) or str(e) != "video pipeline stopped":
                self.errors.append(e if not isinstance(e, OSError) else MaskDepthError(f"cannot write to {self.out}: {e}"))
            self.stop.set()
            self.abort()

    def close(self) -> None:
        """Finish: flush the queue, close and rename the videos. Raises the first pipeline failure."""
        self.link.put(_SENTINEL)
        self.thread.join()
        if self.errors:
            raise self.errors[0]

    def abort(self) -> None:
        """Stop and delete the temporary video and ``objects.jsonl`` files (after a failure)."""
        for e in self.encoders.values():
            e.abort()
        if self.jsonl is not None:
            self.jsonl.abort()


@dataclass
class ConvertStats:
    """What :func:`convert_video` measured.

    Attributes:
        frames: frames predicted and handed to the writer.
        flicker_raw, flicker_smoothed: flicker of the raw and of the EMA-smoothed masks
            (fractions in [0, 1]; ``None`` below two frames).
        mask_fraction_mean: mean foreground fraction of the written masks.
        infer_seconds: time spent in the network (pre/post-processing included).
        measure_seconds: time spent in :meth:`FixedCamera.measure` and the tracker.
        track_frames: ``{track id: number of frames it was seen in}``.
        objects_per_frame_mean: mean number of objects per frame (``None`` without frames).
        last: the last frame's :class:`~maskdepth.scene.fixed_camera.FrameDepth` (its source,
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
    last: FrameDepth | None = None

    def tracking_json(self, tracker: Tracker) -> dict:
        """``video.json``'s ``tracking``: the tracker's settings and what it did."""
        lengths = list(self.track_frames.values())
        return {
            "method": "greedy matching on IoU + centre distance + size of constant-velocity predicted boxes, merge-aware (maskdepth.scene.Tracker)",
            "min_hits": tracker.min_hits,
            "iou_min": tracker.iou_min,
            "gate_px": tracker.gate_px,
            "gate_scale": tracker.gate_scale,
            "max_missed": tracker.max_missed,
            "tracks_started": len(lengths),
            "mean_track_length_frames": float(np.mean(lengths)) if lengths else None,
            "max_track_length_frames": max(lengths) if lengths else None,
            "objects_per_frame_mean": self.objects_per_frame_mean,
        }


@dataclass
class FrameResult:
    """One frame through :class:`FrameStep`.

    Attributes:
        mask: ``bool (H, W)`` foreground; prob: ``float32 (H, W)`` its probability in [0, 1].
        depth: the frame's :class:`~maskdepth.scene.fixed_camera.FrameDepth` (composed depth in
            metres, 0 = unknown; scene source; camera).
        objects: the tracked :class:`~maskdepth.scene.objects.SceneObject` list (``id`` 0 = not yet confirmed).
    """

    mask: np.ndarray
    prob: np.ndarray
    depth: FrameDepth
    objects: list


class FrameStep:
    """The per-frame step shared by ``predict --video`` (:func:`convert_video`) and ``watch``
    (:mod:`maskdepth.live.watch`): the network's mask and depth of ``(bg, frame)``
    (:meth:`Predictor.predict`), the objects on the fixed camera's scene
    (:meth:`FixedCamera.measure`) and their stable ids (:meth:`Tracker.update`).

    Args:
        predictor: a :class:`~maskdepth.inference.predictor.Predictor` (anything with ``predict(bg, image)``).
        scene: the camera's :class:`~maskdepth.scene.fixed_camera.FixedCamera`, at the frames' size.
        tracker: a :class:`~maskdepth.scene.Tracker` (default ``Tracker()``).
        learned_bg_depth: callable giving the network's depth of the scene's empty image
            (default :func:`~maskdepth.inference.predictor.learned_bg_depth_fn`, called at most once, when the source needs it).

    Attributes:
        infer_seconds, measure_seconds: wall time spent in the network (pre/post-processing
            included) and in measuring + tracking, summed over the frames.
    """

    def __init__(self, predictor: Predictor, scene: FixedCamera, tracker: Tracker | None = None, learned_bg_depth=None):
        self.predictor, self.scene = predictor, scene
        self.tracker = tracker if tracker is not None else Tracker()
        self.learned_bg_depth = learned_bg_depth if learned_bg_depth is not None else learned_bg_depth_fn(predictor, scene)
        self.infer_seconds, self.measure_seconds = 0.0, 0.0

    def predict(self, bg: np.ndarray, frame: np.ndarray):
        """The network's :class:`~maskdepth.inference.predictor.Prediction` of ``frame`` (``uint8 (H, W, 3)`` RGB) against ``bg`` (same size)."""
        t = time.time()
        p = self.predictor.predict(bg, frame)
        self.infer_seconds += time.time() - t
        return p

    def measure(self, mask: np.ndarray, learned_depth: np.ndarray) -> tuple[FrameDepth, list]:
        """Objects of ``mask`` (``bool (H, W)``) on the scene, with the network's ``learned_depth``
        (``float32 (H, W)`` metres), and their tracked ids: ``(FrameDepth, tracked objects)``."""
        t = time.time()
        fd = self.scene.measure(mask, learned_depth, self.learned_bg_depth)
        objects = self.tracker.update(fd.objects)
        self.measure_seconds += time.time() - t
        return fd, objects

    def __call__(self, bg: np.ndarray, frame: np.ndarray) -> FrameResult:
        """predict → measure → track one frame (raw network mask, no smoothing). Raises what its parts raise."""
        p = self.predict(bg, frame)
        fd, objects = self.measure(p.mask, p.depth)
        return FrameResult(p.mask, p.prob, fd, objects)


def convert_video(
    predictor: Predictor,
    source: Iterable[tuple[int, np.ndarray]],
    bg: np.ndarray,
    outputs: VideoWriter,
    smooth: float | None = None,
    compare_alpha: float = DEFAULT_COMPARE_ALPHA,
    progress=None,
    scene: FixedCamera | None = None,
    tracker: Tracker | None = None,
    learned_bg_depth=None,
    events=None,
) -> ConvertStats:
    """Predict every frame of ``source`` against ``bg``, measure its objects, track them, and
    hand the results to ``outputs``.

    Per frame: the network's mask and depth; with ``smooth`` the EMA-smoothed mask;
    ``scene.measure(mask, depth, learned_bg_depth)`` gives the composed depth and the
    objects; ``tracker.update`` gives them stable ids; with ``smooth`` the composed depth
    is smoothed over known pixels only (:class:`DepthSmoother`).

    Args:
        predictor: a :class:`maskdepth.inference.predictor.Predictor` (anything with ``predict(bg, image)``
            and ``threshold``).
        source: ``(index, frame)`` pairs in order, frames ``uint8 (H, W, 3)`` RGB (a :class:`FrameReader`).
        bg: the background, ``uint8 (H, W, 3)`` RGB at the frames' size.
        outputs: a started :class:`VideoWriter` (or anything with its ``write``).
        smooth: EMA factor ALPHA in (0, 1] applied to the written mask probability and
            depth; ``None``: the raw predictions are written.
        compare_alpha: EMA factor of the 'smoothed' flicker when ``smooth`` is ``None``.
        progress: an object with ``update(n)`` (a tqdm bar), or ``None``.
        scene: the clip's :class:`~maskdepth.scene.fixed_camera.FixedCamera` (default: one
            for ``bg`` alone, the ``learned`` source).
        tracker: a :class:`~maskdepth.scene.Tracker` (default ``Tracker()``).
        learned_bg_depth: callable giving the network's depth of ``(bg, bg)`` (default
            :func:`learned_bg_depth_fn`; called at most once, only when the source needs it).
        events: a :class:`maskdepth.events.pipeline.EventStream` fed every frame's tracked objects
            (its records, with speeds and floor positions, go to ``objects.jsonl``), or ``None``.
    Returns: :class:`ConvertStats`.
    Raises: whatever ``source``, the predictor, the scene or ``outputs`` raise.
    """
    alpha = float(smooth) if smooth is not None else float(compare_alpha)
    step = FrameStep(predictor, scene if scene is not None else FixedCamera(bg), tracker, learned_bg_depth)
    smoother = DepthSmoother(alpha) if smooth is not None else None
    raw_fm, smooth_fm = FlickerMeter(), FlickerMeter()
    s_prob = None
    mask_fracs: list[float] = []
    n_objects: list[int] = []
    track_frames: dict[int, int] = {}
    n, last = 0, None
    for i, frame in source:
        p = step.predict(bg, frame)
        s_prob = p.prob.copy() if s_prob is None else alpha * p.prob + (1.0 - alpha) * s_prob
        s_mask = s_prob >= predictor.threshold
        raw_fm.update(p.mask)
        smooth_fm.update(s_mask)
        mask, prob = (s_mask, s_prob) if smooth is not None else (p.mask, p.prob)
        last, objects = step.measure(mask, p.depth)
        depth = smoother.update(last.depth) if smoother is not None else last.depth
        for o in objects:
            if o.id:  # 0: not yet confirmed
                track_frames[o.id] = track_frames.get(o.id, 0) + 1
        n_objects.append(len(objects))
        mask_fracs.append(float(mask.mean()))
        records = events.step(objects, i, tracker=step.tracker)[1] if events is not None else None
        if not outputs.write(i, frame, mask, prob, depth, objects, records):
            break
        n += 1
        if progress is not None:
            progress.update(1)
    return ConvertStats(
        n,
        raw_fm.value,
        smooth_fm.value,
        float(np.mean(mask_fracs)) if mask_fracs else None,
        step.infer_seconds,
        step.measure_seconds,
        track_frames,
        float(np.mean(n_objects)) if n_objects else None,
        last,
    )


def _check_options(bg, bg_from: str | None, smooth: float | None, frames: str | None) -> None:
    if bg is not None and bg_from is not None:
        raise MaskDepthError("give either --bg or --bg-from, not both")
    if smooth is not None and not (0.0 < float(smooth) <= 1.0):
        raise MaskDepthError(f"--smooth must be in (0, 1] (weight of the newest frame), got {smooth}")
    if frames not in (None, "png", "npz"):
        raise MaskDepthError(f"--frames must be png or npz, got {frames!r}")


def _background(video: str | os.PathLike, info: VideoInfo, bg, bg_from: str | None) -> tuple[np.ndarray, dict]:
    """The background at the video's size and its ``video.json`` description (see :func:`predict_video`)."""
    if bg is None:
        spec = bg_from or DEFAULT_BG_FROM
        kind, n_bg = parse_bg_from(spec)
        bg_img = background_from_video(video, spec, info)
        bg_meta = {"source": kind, "frames": min(n_bg, max(info.frames, 1)) if kind == "median" else 1, "spec": spec}
    else:
        bg_img = bg if isinstance(bg, np.ndarray) else load_rgb(bg, name=f"--bg {bg}")
        bg_meta = {
            "source": "file",
            "path": None if isinstance(bg, np.ndarray) else str(bg),
            "size": [int(bg_img.shape[1]), int(bg_img.shape[0])],
        }
    return check_pair(bg_img, np.empty((info.height, info.width, 3), np.uint8), name=f"video ({Path(video).name})"), bg_meta


def _depth_color_range(scene: FixedCamera, learned_bg_depth) -> tuple[float, float]:
    """One colour range for the whole clip: 2nd-98th percentile of the empty scene's known depth
    (metres; the network's depth of the empty scene when the scene's own depth is not metric)."""
    sd = scene.scene_depth(learned_bg_depth)
    d = sd.depth if sd.metric else learned_bg_depth()
    known = d[np.isfinite(d) & (d > 0)]
    if known.size == 0:  # cannot happen for a loaded scene (it has a known pixel); keep a usable range
        return 1.0, 10.0
    vmin, vmax = (float(v) for v in np.percentile(known, [2, 98]))
    if vmax - vmin < 1e-3:
        vmin, vmax = vmin * 0.9, vmax * 1.1 + 1e-3
    return vmin, vmax


def _run_pipeline(
    predictor: Predictor,
    video,
    info: VideoInfo,
    bg: np.ndarray,
    out: Path,
    depth_range: tuple[float, float],
    smooth: float | None,
    frames: str | None,
    quiet: bool,
    crf: int,
    scene: FixedCamera,
    tracker: Tracker,
    learned_bg_depth,
    events=None,
) -> tuple[ConvertStats, FrameReader, VideoWriter]:
    """Reader thread → :func:`convert_video` (this thread) → writer thread; stops both on any failure."""
    from tqdm import tqdm

    stop, errors = threading.Event(), []
    reader = FrameReader(video, (info.height, info.width), stop, errors)
    writer = VideoWriter(out, info.width, info.height, info.fps, depth_range, stop, errors, frames=frames, crf=crf)
    if events is not None:
        writer.shapes = events.engine.overlay_shapes()
    reader.start()
    writer.start()
    bar = tqdm(total=info.frames or None, desc="video", unit="frame", disable=quiet, dynamic_ncols=True)
    try:
        stats = convert_video(
            predictor,
            reader,
            bg,
            writer,
            smooth=smooth,
            progress=bar,
            scene=scene,
            tracker=tracker,
            learned_bg_depth=learned_bg_depth,
            events=events,
        )
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


def predict_video(
    predictor: Predictor,
    video: str | os.PathLike,
    out_dir: str | os.PathLike,
    bg: str | os.PathLike | np.ndarray | None = None,
    bg_from: str | None = None,
    smooth: float | None = None,
    frames: str | None = None,
    quiet: bool = False,
    crf: int = 18,
    bg_depth=None,
    camera=None,
    teacher: str | os.PathLike | None = None,
    tracker: Tracker | None = None,
    bg_depth_unit: str | None = None,
    zones: str | os.PathLike | None = None,
) -> dict:
    """Predict mask, depth and objects for every frame of ``video``; write the videos,
    ``objects.jsonl`` and ``video.json``.

    Args:
        predictor: a :class:`maskdepth.inference.predictor.Predictor`.
        video: input video file (anything FFmpeg reads: MP4, MKV, AVI, MOV, ...).
        out_dir: output folder (created).
        bg: background image path or ``uint8 (H, W, 3)`` RGB array; excludes ``bg_from``.
        bg_from: ``"first"`` or ``"median:N"`` (default when ``bg`` is not given:
            :data:`DEFAULT_BG_FROM`).
        smooth: EMA factor ALPHA in (0, 1] applied to the mask probability and to the
            log-depth (known pixels only) of the written outputs; ``None``: outputs unsmoothed.
        frames: ``None``, ``"png"`` or ``"npz"``: also write per-frame files.
        quiet: no progress bar.
        crf: x264 quality of the output videos (0 lossless .. 51; 18 is visually lossless).
        bg_depth: the empty scene's measured depth (``--bg-depth``): a file (uint16 PNG
            millimetres, float32 TIFF metres, ``.npy`` metres), a float array in metres, or
            a :class:`~maskdepth.scene.SceneDepth`; resized to the video nearest-exact.
        camera: ``camera.json`` path or a :class:`~maskdepth.scene.Camera` (``--camera``),
            scaled to the video's size.
        teacher: path of a monocular-depth ONNX model (``--teacher``), run once on the bg.
        tracker: the :class:`~maskdepth.scene.Tracker` giving stable ids (default ``Tracker()``).
        bg_depth_unit: ``"mm"`` / ``"m"`` overriding ``bg_depth``'s format unit (``--bg-depth-unit``).
        zones: ``zones.json`` (``--zones``, :mod:`maskdepth.events.zones`): zone and line events in
            ``events.jsonl``; floor-metre zones need ``camera``.
    Returns:
        The dict written to ``out_dir/video.json`` (see the module docstring); its
        ``flicker`` holds ``raw`` and ``smoothed`` (fractions in [0, 1]), ``depth_source``
        the scene depth source, ``camera`` the camera used (or ``None``) and ``tracking``
        the tracker's settings, ``tracks_started`` and ``mean_track_length_frames``.
    Raises:
        MaskDepthError: unreadable video, background, depth or camera file, a background,
            depth map or camera of another framing, bad ``smooth``/``bg_from``/``frames``,
            or an output that cannot be written. Nothing is written before the inputs are
            checked.
    """
    require("video", "maskdepth predict --video", ("av",))
    _check_options(bg, bg_from, smooth, frames)
    t_start = time.time()
    info = probe(video)
    W, H = info.width, info.height
    bg_img, bg_meta = _background(video, info, bg, bg_from)
    teacher = None if teacher is None else os.fspath(teacher)
    scene = FixedCamera(bg_img, bg_depth=bg_depth, camera=camera, teacher=teacher, bg_depth_unit=bg_depth_unit)
    tracker = tracker if tracker is not None else Tracker()
    learned_bg_depth = learned_bg_depth_fn(predictor, scene)
    vmin, vmax = _depth_color_range(scene, learned_bg_depth)
    cam0 = camera if camera is None or isinstance(camera, Camera) else load_camera(os.fspath(camera))
    zones = None if zones is None else load_zones(zones, camera=cam0)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MaskDepthError(f"cannot create {out}: {e.strerror or e}") from None
    if frames == "png":
        atomic_write_json(
            out / "frames" / "depth.json",
            {
                "files": "frames/depth/NNNNNN.png",
                "dtype": "uint16",
                "unit": "millimetre",
                "to_metres": 0.001,
                "invalid_value": 0,
                "masks": "frames/mask/NNNNNN.png, 0 background / 255 foreground",
                "smoothed": smooth is not None,
            },
        )
    events_tmp = _tmp_name(out / EVENTS_FILE)
    events = open_events(zones=zones, camera=cam0, image_size=(W, H), fps=float(info.fps), events_path=events_tmp)
    try:
        stats, reader, writer = _run_pipeline(
            predictor, video, info, bg_img, out, (vmin, vmax), smooth, frames, quiet, crf, scene, tracker, learned_bg_depth, events
        )
        events.finish(stats.frames)
    except BaseException:
        events.close()
        _discard(None, events_tmp)
        raise
    events.close()
    os.replace(events_tmp, out / EVENTS_FILE)
    n = stats.frames
    if n == 0:
        raise MaskDepthError(f"{video}: no frames decoded")
    secs = time.time() - t_start
    fd = stats.last
    rec = {
        "input": str(video),
        "frames": n,
        "fps": float(info.fps),
        "size": [W, H],
        "encoded_size": [W + W % 2, H + H % 2],
        "codec_in": info.codec,
        "background": bg_meta,
        "mask_threshold": predictor.threshold,
        **fd.depth_json(),
        "tracking": stats.tracking_json(tracker),
        "smoothing": {
            "alpha": None if smooth is None else float(smooth),
            "applied_to_outputs": smooth is not None,
            "rule": "EMA of the mask probability, s_t = alpha * x_t + (1 - alpha) * s_(t-1), and the same EMA of log-depth "
            "over pixels known in both frames (unknown = 0 stays 0; newly known pixels restart)",
        },
        "flicker": {
            "definition": "mean over consecutive frames of |M_t xor M_(t-1)| / |M_t or M_(t-1)| (0 when both empty)",
            "raw": stats.flicker_raw,
            "smoothed": stats.flicker_smoothed,
            "smoothed_alpha": float(smooth) if smooth is not None else DEFAULT_COMPARE_ALPHA,
        },
        "mask_fraction_mean": stats.mask_fraction_mean,
        "events": events.stats(),
        "depth_color_range_m": [vmin, vmax],
        "depth_color_note": "2nd-98th percentile of the empty scene's known depth; magma, near = bright, unknown = black",
        "outputs": {k: f"{k}.mp4" for k in VideoWriter.VIDEOS}
        | {"objects": "objects.jsonl", "events": EVENTS_FILE}
        | ({"frames": f"frames/ ({frames})"} if frames else {}),
        "timing": {
            "seconds": round(secs, 3),
            "fps": round(n / max(secs, 1e-9), 3),
            "infer_seconds": round(stats.infer_seconds, 3),
            "measure_track_seconds": round(stats.measure_seconds, 3),
            "decode_seconds": round(reader.seconds, 3),
            "encode_seconds": round(writer.seconds, 3),
        },
    }
    atomic_write_json(out / "video.json", rec)
    return rec
