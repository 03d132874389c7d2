"""Reading and writing a video's frames: PyAV decoding (:func:`probe`, :func:`iter_frames`, the
:class:`FrameReader` thread) and the outputs of ``maskdepth predict --video`` (the :class:`VideoWriter`
thread: H.264 MP4s, ``objects.jsonl``, per-frame files).

Videos are H.264 (libx264, yuv420p, CRF 18) in MP4, at the input's frame rate. yuv420p
needs even sides: an odd width or height is padded by one replicated pixel column/row
(``encoded_size`` in ``video.json``); per-frame files keep the exact input size.

Every output is written under a temporary name (:func:`tmp_name`) and renamed when the clip is
done, so a failure leaves no half-written file. The reader and the writer each run in a thread,
joined to the per-frame loop by bounded queues (``_Link``), so memory stays bounded.
PyAV is imported inside the functions that need it (the ``[video]`` extra).
"""

from __future__ import annotations

import io
import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..data.format import depth_to_mm_u16
from ..errors import MaskDepthError
from ..events.pipeline import objects_line
from ..io import atomic_write_bytes, atomic_write_json, save_png
from ..viz import colorize_depth, draw_tracked

__all__ = [
    "VideoInfo",
    "probe",
    "iter_frames",
    "FrameReader",
    "VideoWriter",
    "tmp_name",
    "discard",
    "write_frames_json",
]

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
        raise MaskDepthError(f"not found: {p}", param="video")
    if p.is_dir():
        raise MaskDepthError(f"is a directory, not a video file: {p}", param="video")
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


def tmp_name(path: Path) -> Path:
    """The temporary name an output is written under before it is renamed to ``path``."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")


def discard(handle, tmp: Path) -> None:
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
        self.tmp = tmp_name(path)
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
        discard(self.c, self.tmp)


class _JsonLines:
    """``objects.jsonl``: one JSON object per line, written to a temporary name and renamed on :meth:`close`."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp = tmp_name(path)
        self.f = open(self.tmp, "w", encoding="utf-8")

    def write(self, record: dict) -> None:
        self.f.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        discard(self.f, self.tmp)


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
        hidden: list | None = None,
    ) -> bool:
        """Queue frame ``i``: its RGB ``frame`` uint8 (H, W, 3), ``mask`` bool, ``prob`` float32 and
        ``depth`` float32 metres (0 = unknown), each (H, W), and its tracked ``objects``
        (:class:`~maskdepth.scene.objects.SceneObject` list) with, optionally, their ``objects.jsonl``
        ``records`` (:func:`maskdepth.events.pipeline.object_records`: speeds, floor positions, person boxes) and
        the records of the people hidden in another's blob (``hidden``: :func:`maskdepth.events.pipeline.hidden_records`).
        ``False`` when the pipeline stopped first."""
        return self.link.put((i, frame, mask, prob, depth, objects or [], records, hidden))

    def _write_frame(
        self, i: int, frame: np.ndarray, mask: np.ndarray, prob: np.ndarray, depth: np.ndarray, objects: list, records, hidden
    ) -> None:
        self.encoders["mask"].write(np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2))
        self.encoders["depth"].write(colorize_depth(depth, self.vmin, self.vmax))
        self.encoders["overlay"].write(draw_tracked(frame, mask, self.shapes, objects, records, hidden or []))
        records = records if records is not None else [o.to_json() for o in objects]
        self.jsonl.write(objects_line(i, i / float(self.fps), records, hidden))
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


def write_frames_json(out: Path, smoothed: bool) -> None:
    """``frames/depth.json``: how to read the per-frame PNGs of ``frames="png"`` (uint16 millimetres,
    0 = unknown; masks 0/255), and whether they are the smoothed outputs. Written atomically."""
    atomic_write_json(
        out / "frames" / "depth.json",
        {
            "files": "frames/depth/NNNNNN.png",
            "dtype": "uint16",
            "unit": "millimetre",
            "to_metres": 0.001,
            "invalid_value": 0,
            "masks": "frames/mask/NNNNNN.png, 0 background / 255 foreground",
            "smoothed": smoothed,
        },
    )
