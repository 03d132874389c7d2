"""``maskdepth predict --video``: mask and depth for every frame of a fixed-camera video.

Outputs in ``out_dir``:

* ``mask.mp4``: the foreground mask (white on black);
* ``depth.mp4``: depth colourised (magma, near = bright) with one colour range for the
  whole clip (2nd-98th percentile of the depth predicted for the empty background), so
  colours mean the same distance in every frame;
* ``overlay.mp4``: the mask tinted over the frame;
* ``video.json``: frame count, fps, sizes, background source, smoothing, the flicker
  metric with and without smoothing, the depth colour range, timings;
* optionally per-frame files (``frames="png"``: ``frames/mask/NNNNNN.png`` 0/255 and
  ``frames/depth/NNNNNN.png`` uint16 millimetres, described by ``frames/depth.json``;
  ``frames="npz"``: ``frames/NNNNNN.npz`` with ``mask`` bool (H, W), ``prob`` float32
  (H, W) and ``depth`` float32 (H, W) metres).

Videos are H.264 (libx264, yuv420p, CRF 18) in MP4, at the input's frame rate. yuv420p
needs even sides: an odd width or height is padded by one replicated pixel column/row
(``encoded_size`` in ``video.json``); per-frame files keep the exact input size.

The background is a still image (``bg``), or made from the video itself
(``bg_from="first"``: the first frame, which must then be empty; ``"median:N"``: the
per-pixel median of ``N`` frames spread evenly over the clip, which removes anything
that moves). A background of another size follows the rule for image pairs
(:func:`maskdepth.predict.check_pair`): same aspect ratio within 5 % → resized with a
warning, otherwise refused.

Decoding, inference and encoding run in three threads joined by bounded queues, so the
network is the bottleneck and memory stays bounded (the layout of RobustVideoMatting's
``convert_video``): a :class:`FrameReader` (decode thread), :func:`convert_video` (the
per-frame loop: predict, smooth, measure flicker) and a :class:`VideoWriter` (encode thread);
:func:`predict_video` is the command-level wrapper that adds the background, the colour
range and ``video.json``.

Temporal smoothing (``smooth=ALPHA`` in (0, 1]): an exponential moving average of the
mask probability and of log-depth, ``s_t = ALPHA * x_t + (1 - ALPHA) * s_(t-1)``;
``ALPHA = 1`` is no smoothing; smaller is smoother (and lags more behind motion).

Flicker: the mean, over consecutive frame pairs, of the fraction of mask pixels that
change, ``|M_t XOR M_(t-1)| / |M_t OR M_(t-1)|`` (0 when both masks are empty). It counts
true motion as well as flicker, so compare values on the same clip only. It is measured
for the raw masks and for the smoothed masks (with ``smooth``, or with
``DEFAULT_COMPARE_ALPHA`` when no smoothing is asked for) in the same run.
"""

from __future__ import annotations

import io
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .data.format import depth_to_mm_u16
from .errors import MaskDepthError
from .extras import require
from .io import atomic_write_bytes, atomic_write_json, load_rgb, save_png
from .predict import Predictor, check_pair
from .viz import colorize_depth, overlay

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


class _Encoder:
    """One H.264 MP4 output, written to a temporary name and renamed on :meth:`close`."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, crf: int = 18):
        import av

        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
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
        try:
            self.c.close()
        except Exception:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


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
    ``depth_range`` in metres, near = bright), ``overlay.mp4`` (the mask tinted over the frame),
    and with ``frames="png"`` ``frames/mask/NNNNNN.png`` (0/255) + ``frames/depth/NNNNNN.png``
    (uint16 mm), with ``frames="npz"`` ``frames/NNNNNN.npz`` (``mask``, ``prob``, ``depth``).
    Videos go to temporary names, renamed on :meth:`close` and deleted on :meth:`abort`.
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
        self.seconds, self.frames_written = 0.0, 0
        self.thread = threading.Thread(target=self._encode, name="maskdepth-encode", daemon=True)

    def start(self) -> VideoWriter:
        """Start the encoding thread; returns ``self``."""
        self.thread.start()
        return self

    def write(self, i: int, frame: np.ndarray, mask: np.ndarray, prob: np.ndarray, depth: np.ndarray) -> bool:
        """Queue frame ``i``: its RGB ``frame`` uint8 (H, W, 3), ``mask`` bool, ``prob`` float32 and
        ``depth`` float32 metres, each (H, W). ``False`` when the pipeline stopped first."""
        return self.link.put((i, frame, mask, prob, depth))

    def _write_frame(self, i: int, frame: np.ndarray, mask: np.ndarray, prob: np.ndarray, depth: np.ndarray) -> None:
        self.encoders["mask"].write(np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2))
        self.encoders["depth"].write(colorize_depth(depth, self.vmin, self.vmax))
        self.encoders["overlay"].write(overlay(frame, mask))
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
        """Stop and delete the temporary video files (after a failure)."""
        for e in self.encoders.values():
            e.abort()


@dataclass
class ConvertStats:
    """What :func:`convert_video` measured.

    Attributes:
        frames: frames predicted and handed to the writer.
        flicker_raw, flicker_smoothed: flicker of the raw and of the EMA-smoothed masks
            (fractions in [0, 1]; ``None`` below two frames).
        mask_fraction_mean: mean foreground fraction of the written masks.
        infer_seconds: time spent in the network (pre/post-processing included).
    """

    frames: int
    flicker_raw: float | None
    flicker_smoothed: float | None
    mask_fraction_mean: float | None
    infer_seconds: float


def convert_video(
    predictor: Predictor,
    source: Iterable[tuple[int, np.ndarray]],
    bg: np.ndarray,
    outputs: VideoWriter,
    smooth: float | None = None,
    compare_alpha: float = DEFAULT_COMPARE_ALPHA,
    progress=None,
) -> ConvertStats:
    """Predict every frame of ``source`` against ``bg`` and hand the results to ``outputs``.

    Args:
        predictor: a :class:`maskdepth.predict.Predictor`.
        source: ``(index, frame)`` pairs in order, frames ``uint8 (H, W, 3)`` RGB (a :class:`FrameReader`).
        bg: the background, ``uint8 (H, W, 3)`` RGB at the frames' size.
        outputs: a started :class:`VideoWriter` (or anything with its ``write``).
        smooth: EMA factor ALPHA in (0, 1] applied to the written mask probability and
            log-depth; ``None``: the raw predictions are written.
        compare_alpha: EMA factor of the 'smoothed' flicker when ``smooth`` is ``None``.
        progress: an object with ``update(n)`` (a tqdm bar), or ``None``.
    Returns: :class:`ConvertStats`.
    Raises: whatever ``source``, the predictor or ``outputs`` raise.
    """
    alpha = float(smooth) if smooth is not None else float(compare_alpha)
    raw_fm, smooth_fm = FlickerMeter(), FlickerMeter()
    s_prob = s_logd = None
    mask_fracs: list[float] = []
    infer_s, n = 0.0, 0
    for i, frame in source:
        t = time.time()
        p = predictor.predict(bg, frame)
        infer_s += time.time() - t
        logd = np.log(p.depth)
        if s_prob is None:
            s_prob, s_logd = p.prob.copy(), logd
        else:
            s_prob = alpha * p.prob + (1.0 - alpha) * s_prob
            s_logd = alpha * logd + (1.0 - alpha) * s_logd
        s_mask = s_prob >= predictor.threshold
        raw_fm.update(p.mask)
        smooth_fm.update(s_mask)
        if smooth is not None:
            mask, prob, depth = s_mask, s_prob, np.exp(s_logd).astype(np.float32)
        else:
            mask, prob, depth = p.mask, p.prob, p.depth
        mask_fracs.append(float(mask.mean()))
        if not outputs.write(i, frame, mask, prob, depth):
            break
        n += 1
        if progress is not None:
            progress.update(1)
    return ConvertStats(n, raw_fm.value, smooth_fm.value, float(np.mean(mask_fracs)) if mask_fracs else None, infer_s)


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


def _depth_color_range(predictor: Predictor, bg: np.ndarray) -> tuple[float, float]:
    """One colour range for the whole clip: 2nd-98th percentile of the empty scene's predicted depth (metres)."""
    empty = predictor.predict(bg, bg)
    vmin, vmax = (float(v) for v in np.percentile(empty.depth, [2, 98]))
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
) -> tuple[ConvertStats, FrameReader, VideoWriter]:
    """Reader thread → :func:`convert_video` (this thread) → writer thread; stops both on any failure."""
    from tqdm import tqdm

    stop, errors = threading.Event(), []
    reader = FrameReader(video, (info.height, info.width), stop, errors)
    writer = VideoWriter(out, info.width, info.height, info.fps, depth_range, stop, errors, frames=frames, crf=crf)
    reader.start()
    writer.start()
    bar = tqdm(total=info.frames or None, desc="video", unit="frame", disable=quiet, dynamic_ncols=True)
    try:
        stats = convert_video(predictor, reader, bg, writer, smooth=smooth, progress=bar)
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
) -> dict:
    """Predict mask and depth for every frame of ``video``; write the videos and ``video.json``.

    Args:
        predictor: a :class:`maskdepth.predict.Predictor`.
        video: input video file (anything FFmpeg reads: MP4, MKV, AVI, MOV, ...).
        out_dir: output folder (created).
        bg: background image path or ``uint8 (H, W, 3)`` RGB array; excludes ``bg_from``.
        bg_from: ``"first"`` or ``"median:N"`` (default when ``bg`` is not given:
            :data:`DEFAULT_BG_FROM`).
        smooth: EMA factor ALPHA in (0, 1] applied to the mask probability and log-depth
            of the written outputs; ``None``: outputs unsmoothed.
        frames: ``None``, ``"png"`` or ``"npz"``: also write per-frame files.
        quiet: no progress bar.
        crf: x264 quality of the output videos (0 lossless .. 51; 18 is visually lossless).
    Returns:
        The dict written to ``out_dir/video.json`` (see the module docstring); its
        ``flicker`` holds ``raw`` and ``smoothed`` (fractions in [0, 1]).
    Raises:
        MaskDepthError: unreadable video or background, a background of another framing,
            bad ``smooth``/``bg_from``/``frames``, or an output that cannot be written.
    """
    require("video", "maskdepth predict --video", ("av",))
    _check_options(bg, bg_from, smooth, frames)
    t_start = time.time()
    info = probe(video)
    W, H = info.width, info.height
    bg_img, bg_meta = _background(video, info, bg, bg_from)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MaskDepthError(f"cannot create {out}: {e.strerror or e}") from None
    vmin, vmax = _depth_color_range(predictor, bg_img)
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
    stats, reader, writer = _run_pipeline(predictor, video, info, bg_img, out, (vmin, vmax), smooth, frames, quiet, crf)
    n = stats.frames
    if n == 0:
        raise MaskDepthError(f"{video}: no frames decoded")
    secs = time.time() - t_start
    rec = {
        "input": str(video),
        "frames": n,
        "fps": float(info.fps),
        "size": [W, H],
        "encoded_size": [W + W % 2, H + H % 2],
        "codec_in": info.codec,
        "background": bg_meta,
        "mask_threshold": predictor.threshold,
        "smoothing": {
            "alpha": None if smooth is None else float(smooth),
            "applied_to_outputs": smooth is not None,
            "rule": "EMA of mask probability and log-depth: s_t = alpha * x_t + (1 - alpha) * s_(t-1)",
        },
        "flicker": {
            "definition": "mean over consecutive frames of |M_t xor M_(t-1)| / |M_t or M_(t-1)| (0 when both empty)",
            "raw": stats.flicker_raw,
            "smoothed": stats.flicker_smoothed,
            "smoothed_alpha": float(smooth) if smooth is not None else DEFAULT_COMPARE_ALPHA,
        },
        "mask_fraction_mean": stats.mask_fraction_mean,
        "depth_color_range_m": [vmin, vmax],
        "depth_color_note": "2nd-98th percentile of the empty background's predicted depth; magma, near = bright",
        "outputs": {k: f"{k}.mp4" for k in VideoWriter.VIDEOS} | ({"frames": f"frames/ ({frames})"} if frames else {}),
        "timing": {
            "seconds": round(secs, 3),
            "fps": round(n / max(secs, 1e-9), 3),
            "infer_seconds": round(stats.infer_seconds, 3),
            "decode_seconds": round(reader.seconds, 3),
            "encode_seconds": round(writer.seconds, 3),
        },
    }
    atomic_write_json(out / "video.json", rec)
    return rec
