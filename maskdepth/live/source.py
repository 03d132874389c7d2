"""One reader for every SOURCE of ``maskdepth watch``, with a watchdog of its own.

SOURCE is one of:

* a stream URL: ``rtsp://``/``rtsps://`` (FFmpeg through PyAV, ``rtsp_transport=tcp``),
  ``http(s)://`` (MJPEG, HLS ``.m3u8``, anything FFmpeg reads over HTTP), also ``rtmp``,
  ``srt``, ``udp`` and ``tcp`` URLs;
* a device: ``/dev/videoN`` or an integer index ``N`` (= ``/dev/videoN``, Video4Linux2);
* a video file;
* a folder of frames: every image in it (``.jpg``, ``.png``, ...), sorted by file name.

**Live sources** (streams, devices) keep only the latest decoded frame: a frame replaced
before the loop took it is *dropped* and counted (:attr:`FrameSource.frames_dropped`), so
the loop never falls behind real time. **Files and folders** deliver every frame, in order
(the reader waits for the loop), unless ``realtime``: then they are paced at their own frame
rate (25 frames/s for a folder) and behave like a live source.

**Watchdog.** PyAV is given open and read timeouts (``timeout=(open, read)``, and FFmpeg's
``timeout`` for RTSP, ``rw_timeout`` for HTTP), but they are not always honoured (PyAV issues
#584 and #1243: a read can block forever). So each connection runs in a thread of its own
and a supervisor thread watches it: no frame for ``stall_timeout`` seconds (or the
connection ended, as a live stream should not), and the connection is abandoned (its thread
is left to die on its own; whatever it still decodes is ignored), a ``stream_lost`` event
is emitted, and a new connection is tried after a back-off that doubles from
``backoff_min_s`` up to ``backoff_max_s`` (reset once a connection delivers frames). The
first frame of a new connection emits ``stream_restored`` (``down_s``: seconds without
frames) and counts a reconnect. At start, a live source that delivers no frame within
``open_timeout`` seconds is refused (:class:`~maskdepth.errors.MaskDepthError`, one line),
whether or not FFmpeg returns.

**Frame size.** Frames are delivered at the size they are decoded at; a change of size
mid-stream (a camera reconfigured) is the loop's business (:mod:`maskdepth.live.watch`
emits ``stream_resized`` and restarts the background at the new size).

**Secrets.** A camera URL carries its password (``rtsp://user:pass@host/...``): every
message this module produces goes through :func:`redact`, and :attr:`SourceSpec.shown` is the
only form of the URL meant to be shown.
"""

from __future__ import annotations

import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..io import IMAGE_EXTS, load_rgb, redact

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https", "rtmp", "rtmps", "srt", "udp", "tcp")
"""URL schemes read as live streams."""

FOLDER_FPS = 25.0
"""Frame rate assumed for a folder of frames (``t_s = k / FOLDER_FPS``; pacing with ``realtime``)."""


@dataclass
class SourceSpec:
    """A parsed SOURCE.

    Attributes:
        kind: ``"stream"``, ``"device"``, ``"file"`` or ``"folder"``.
        target: what is opened (URL, device path or file path; may hold a password: never show it).
        shown: :func:`redact`'s form of ``target``, for every message.
        live: streams and devices (latest frame only, watchdog, reconnects).
    """

    kind: str
    target: str
    shown: str
    live: bool


def parse_source(text: str) -> SourceSpec:
    """Classify SOURCE (see the module docstring).

    Raises:
        MaskDepthError: an empty SOURCE, a path that does not exist, a device that does not exist.
    """
    s = str(text).strip()
    if not s:
        raise MaskDepthError("is empty", param="source")
    m = re.match(r"(?i)^([a-z][a-z0-9+.\-]*)://", s)
    if m and m.group(1).lower() in STREAM_SCHEMES:
        return SourceSpec("stream", s, redact(s), True)
    if m:
        raise MaskDepthError(
            f"has an unsupported scheme {m.group(1)!r}: {redact(s)} (streams: {', '.join(STREAM_SCHEMES)})", param="source"
        )
    if re.fullmatch(r"\d+", s):
        s = f"/dev/video{int(s)}"
    if s.startswith("/dev/"):
        if not os.path.exists(s):
            raise MaskDepthError(f"device not found: {s}")
        return SourceSpec("device", s, s, True)
    p = Path(s)
    if not p.exists():
        raise MaskDepthError(f"not found: {s} (a stream URL, /dev/videoN, a video file or a folder of frames)", param="source")
    if p.is_dir():
        return SourceSpec("folder", s, s, False)
    return SourceSpec("file", s, s, False)


def folder_frames(path: str | os.PathLike) -> list[Path]:
    """The image files of a folder of frames, sorted by name.

    Raises: MaskDepthError: no image in it, or an image that cannot be read (the first one is checked).
    """
    d = Path(path)
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise MaskDepthError(f"folder of frames holds no images ({', '.join(IMAGE_EXTS)}): {d}")
    return files


@dataclass
class Frame:
    """One decoded frame.

    Attributes:
        index: ``k``, the 0-based index of the frame in the source (dropped frames count).
        image: ``uint8 (H, W, 3)`` RGB.
        t_s: seconds from the stream's start, from its timestamps (files: presentation time;
            folders: ``k / FOLDER_FPS``; live: time of the connection's first frame since the
            source opened, plus the stream's timestamps since then).
        decoded_at: ``time.monotonic()`` when it was decoded (for the latency).
    """

    index: int
    image: np.ndarray
    t_s: float
    decoded_at: float


@dataclass
class _Connection:
    """One attempt to read a live source (its thread may be abandoned by the watchdog)."""

    started: float
    last_frame: float | None = None
    frames: int = 0
    done: bool = False
    abandoned: bool = False
    error: str | None = None
    t0: float | None = None  # stream time of its first frame
    offset: float = 0.0  # source time of its first frame


@dataclass
class SourceOptions:
    """How a source is read (see the module docstring).

    Attributes:
        stall_timeout: seconds without a frame before a live source is reconnected (> 0).
        open_timeout: seconds the first frame may take at start (> 0); also FFmpeg's open timeout.
        read_timeout: FFmpeg's read timeout in seconds (default: ``stall_timeout``).
        realtime: pace files and folders at their frame rate, latest frame only.
        start_at: skip the first ``start_at`` frames of a file or folder (resume); a live source numbers
            its frames from ``start_at`` on.
        backoff_min_s, backoff_max_s: the reconnect back-off (doubles, capped). The cap of 2 s keeps a
            stream that comes back within 5 s of its return (2 s at most to the next try, about 1.5 s
            to open an RTSP stream and decode its first key frame).
    """

    stall_timeout: float = 10.0
    open_timeout: float = 10.0
    read_timeout: float | None = None
    realtime: bool = False
    start_at: int = 0
    backoff_min_s: float = 0.25
    backoff_max_s: float = 2.0
    av_options: dict = field(default_factory=dict)


class FrameSource:
    """A SOURCE read in background threads (see the module docstring).

    Use: ``src = FrameSource(parse_source(text), SourceOptions(...)).open()``, then
    :meth:`read` until :attr:`finished`; :meth:`pop_events` gives the stream events;
    :meth:`close` at the end.

    Attributes:
        spec: the :class:`SourceSpec`.
        frames_dropped: frames replaced before the loop took them (live or ``realtime``).
        reconnects: connections restored after a loss.
        fps_hint: the source's nominal frame rate when known, else ``None``.
    """

    def __init__(self, spec: SourceSpec, options: SourceOptions | None = None):
        self.spec, self.opt = spec, options or SourceOptions()
        if self.opt.stall_timeout <= 0 or self.opt.open_timeout <= 0:
            raise MaskDepthError("and open_timeout must be > 0 seconds", param="stall_timeout")
        self.latest_only = spec.live or self.opt.realtime
        self.frames_dropped, self.reconnects = 0, 0
        self.fps_hint: float | None = None
        self._q: queue.Queue = queue.Queue(maxsize=4)
        self._slot: Frame | None = None
        self._cv = threading.Condition()
        self._events: list[dict] = []
        self._stop = threading.Event()
        self._ended = False
        self._error: BaseException | None = None
        self._lost_since: float | None = None
        self._k = int(self.opt.start_at)
        self._t_open = time.monotonic()
        self._threads: list[threading.Thread] = []
        self._last_error: str | None = None

    # ------------------------------------------------------------------ public

    def open(self) -> FrameSource:
        """Start reading and wait for the first frame.

        Raises:
            MaskDepthError: the source cannot be opened or gives no frame within ``open_timeout``
                seconds (live) / holds no readable frame (file, folder). The threads are stopped.
        """
        if self.spec.kind == "folder":
            files = folder_frames(self.spec.target)
            load_rgb(files[0])  # a bad folder fails here, before anything is written
            self._spawn(self._read_folder, files)
        elif self.spec.live:
            self._spawn(self._supervise)
        else:
            self._spawn(self._read_file)
        deadline = time.monotonic() + self.opt.open_timeout + (0 if self.spec.live else 60)
        with self._cv:
            while not self._has_frame() and not self._ended and self._error is None and time.monotonic() < deadline:
                self._cv.wait(0.05)
            ok, err, ended = self._has_frame(), self._error, self._ended
        if ok:
            return self
        self.close()
        if err is not None:
            raise err if isinstance(err, MaskDepthError) else MaskDepthError(redact(f"{self.spec.shown}: {err}"))
        if ended and self.opt.start_at:
            raise MaskDepthError(
                f"{self.spec.shown}: no frames after frame {self.opt.start_at} (all processed by the run this output folder resumes; give another one to start again)"
            )
        if ended:
            raise MaskDepthError(f"{self.spec.shown}: no frames")
        why = f"; last error: {self._last_error}" if self._last_error else ""
        raise MaskDepthError(redact(f"cannot open {self.spec.shown}: no frame within {self.opt.open_timeout:g} s{why}"))

    def read(self, timeout: float = 0.5) -> Frame | None:
        """The next frame (files, folders) or the latest one (live, ``realtime``); ``None`` when none
        came within ``timeout`` seconds or the source :attr:`finished`.

        Raises: MaskDepthError: a file or folder that cannot be decoded (names the frame).
        """
        end = time.monotonic() + timeout
        with self._cv:
            while True:
                if self._slot is not None:
                    f, self._slot = self._slot, None
                    return f
                if not self._q.empty():
                    f = self._q.get_nowait()
                    self._cv.notify_all()
                    return f
                if self._error is not None and not self.spec.live:
                    raise self._error
                left = end - time.monotonic()
                if self._ended or left <= 0:
                    return None
                self._cv.wait(min(left, 0.05))

    @property
    def finished(self) -> bool:
        """A file or folder delivered its last frame (never for a live source)."""
        with self._cv:
            return self._ended and self._slot is None and self._q.empty()

    @property
    def lost(self) -> bool:
        """A live source is currently without frames (between ``stream_lost`` and ``stream_restored``)."""
        return self._lost_since is not None

    def pop_events(self) -> list[dict]:
        """Stream events since the last call: ``{"type": "stream_lost" | "stream_restored", "t_s", ...}``."""
        with self._cv:
            ev, self._events = self._events, []
        return ev

    def close(self) -> None:
        """Stop the threads (a connection stuck inside FFmpeg is left to finish on its own)."""
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        deadline = time.monotonic() + 2.0
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ delivery

    def _spawn(self, target, *args) -> threading.Thread:
        t = threading.Thread(target=target, args=args, name="maskdepth-watch-source", daemon=True)
        self._threads.append(t)
        t.start()
        return t

    def _has_frame(self) -> bool:
        return self._slot is not None or not self._q.empty()

    def _t(self) -> float:
        return time.monotonic() - self._t_open

    def _deliver(self, image: np.ndarray, t_s: float) -> bool:
        """Hand one frame to the loop; ``False`` when the source is stopping."""
        f = Frame(self._k, image, float(t_s), time.monotonic())
        self._k += 1
        with self._cv:
            if self.latest_only:
                if self._slot is not None:
                    self.frames_dropped += 1
                self._slot = f
                self._cv.notify_all()
                return not self._stop.is_set()
            while not self._stop.is_set():
                try:
                    self._q.put_nowait(f)
                    self._cv.notify_all()
                    return True
                except queue.Full:
                    self._cv.wait(0.05)
        return False

    def _finish(self, error: BaseException | None = None) -> None:
        with self._cv:
            self._ended = True
            self._error = error
            self._cv.notify_all()

    def _pace(self, t_s: float) -> None:
        """With ``realtime``: wait until ``t_s`` seconds of the source have passed since it opened."""
        if self.opt.realtime:
            wait = t_s - self._t()
            if wait > 0:
                self._stop.wait(wait)

    # ------------------------------------------------------------------ files and folders

    def _read_folder(self, files: list[Path]) -> None:
        try:
            start = int(self.opt.start_at)
            self.fps_hint = FOLDER_FPS
            for k in range(start, len(files)):
                if self._stop.is_set():
                    return
                t_s = k / FOLDER_FPS
                img = load_rgb(files[k], name=f"frame {k} ({files[k].name})")
                self._pace(t_s - start / FOLDER_FPS)
                if not self._deliver(img, t_s):
                    return
            self._finish()
        except BaseException as e:
            self._finish(e if isinstance(e, MaskDepthError) else MaskDepthError(f"{self.spec.shown}: {type(e).__name__}: {e}"))

    def _read_file(self) -> None:
        i = 0
        try:
            c = _open_av(self.spec, self.opt)
            try:
                s = c.streams.video[0]
                rate = s.average_rate or s.guessed_rate
                self.fps_hint = float(rate) if rate else None
                t0 = None
                for frame in c.decode(video=0):
                    if self._stop.is_set():
                        return
                    t = frame.time if frame.time is not None else i / (self.fps_hint or 25.0)
                    t0 = t if t0 is None else t0
                    i += 1
                    if i <= self.opt.start_at:
                        continue
                    self._pace(t - t0)
                    if not self._deliver(frame.to_ndarray(format="rgb24"), t - t0):
                        return
            finally:
                c.close()
            self._finish()
        except MaskDepthError as e:
            self._finish(e)
        except BaseException as e:
            self._finish(MaskDepthError(redact(f"{self.spec.shown}: cannot decode frame {i} ({type(e).__name__}: {str(e)[:160]})")))

    # ------------------------------------------------------------------ live sources

    def _supervise(self) -> None:
        """Connect, watch, reconnect with back-off, until :meth:`close`."""
        delay = self.opt.backoff_min_s
        while not self._stop.is_set():
            conn = _Connection(time.monotonic())
            self._spawn(self._read_live, conn)
            reason = self._watch(conn)
            conn.abandoned = True
            self._last_error = conn.error or self._last_error
            if self._stop.is_set():
                return
            if conn.frames:
                delay = self.opt.backoff_min_s
            self._mark_lost(reason)
            self._stop.wait(delay)
            delay = min(delay * 2, self.opt.backoff_max_s)

    def _watch(self, conn: _Connection) -> str:
        """Wait until ``conn`` ends or stalls; returns why it is given up."""
        while not self._stop.wait(0.05):
            if conn.done:
                return conn.error or "the stream ended"
            last = conn.last_frame or conn.started
            limit = self.opt.stall_timeout if conn.last_frame else max(self.opt.stall_timeout, self.opt.open_timeout)
            if time.monotonic() - last > limit:
                return f"no frame for {limit:g} s"
        return "stopped"

    def _mark_lost(self, reason: str) -> None:
        if self._lost_since is None and not self._stop.is_set():
            self._lost_since = time.monotonic()
            with self._cv:
                self._events.append(
                    {"type": "stream_lost", "t_s": round(self._t(), 3), "reason": redact(reason), "source": self.spec.shown}
                )

    def _read_live(self, conn: _Connection) -> None:
        try:
            c = _open_av(self.spec, self.opt)
        except BaseException as e:
            conn.error, conn.done = redact(str(e)), True
            return
        try:
            rate = c.streams.video[0].average_rate
            self.fps_hint = float(rate) if rate else self.fps_hint
            for frame in c.decode(video=0):
                if conn.abandoned or self._stop.is_set():
                    return
                img = frame.to_ndarray(format="rgb24")
                now = time.monotonic()
                if conn.t0 is None:
                    conn.t0 = frame.time if frame.time is not None else 0.0
                    conn.offset = now - self._t_open
                t_s = conn.offset + ((frame.time - conn.t0) if frame.time is not None else now - self._t_open - conn.offset)
                conn.last_frame, conn.frames = now, conn.frames + 1
                self._restored()
                self._deliver(img, t_s)
        except BaseException as e:
            if type(e).__name__ == "ExitError":  # PyAV's interrupt callback: its read timeout fired
                conn.error = f"no frame for {self.opt.read_timeout or self.opt.stall_timeout:g} s (FFmpeg read timeout)"
            else:
                conn.error = redact(f"{type(e).__name__}: {str(e)[:160]}")
        finally:
            conn.done = True
            try:
                c.close()
            except Exception:
                pass

    def _restored(self) -> None:
        if self._lost_since is not None:
            down = time.monotonic() - self._lost_since
            self._lost_since = None
            with self._cv:
                self.reconnects += 1
                self._events.append(
                    {"type": "stream_restored", "t_s": round(self._t(), 3), "down_s": round(down, 3), "source": self.spec.shown}
                )


def _av_options(spec: SourceSpec, opt: SourceOptions) -> tuple[dict, str | None]:
    """FFmpeg options and format for ``spec``: TCP for RTSP, socket timeouts in microseconds."""
    read_us = str(int((opt.read_timeout or opt.stall_timeout) * 1e6))
    scheme = spec.target.split("://", 1)[0].lower() if "://" in spec.target else ""
    o: dict = {}
    fmt = None
    if scheme in ("rtsp", "rtsps"):
        o = {"rtsp_transport": "tcp", "timeout": read_us, "analyzeduration": "1000000"}
    elif scheme in ("http", "https"):
        o = {"rw_timeout": read_us}
    elif spec.kind == "device":
        fmt = "v4l2"
    o.update(opt.av_options)
    return o, fmt


def _open_av(spec: SourceSpec, opt: SourceOptions):
    """``av.open`` of a stream, device or file, with timeouts. Raises MaskDepthError (redacted, one line)."""
    import av

    if spec.kind == "file" and Path(spec.target).stat().st_size == 0:
        raise MaskDepthError(f"{spec.shown}: empty file (0 bytes)")
    options, fmt = _av_options(spec, opt)
    read_t = opt.read_timeout or opt.stall_timeout
    try:
        c = av.open(spec.target, "r", format=fmt, options=options, timeout=(opt.open_timeout, read_t))
    except Exception as e:  # FFmpegError subclasses, OSError
        raise MaskDepthError(redact(f"cannot open {spec.shown}: {type(e).__name__}: {str(e)[:160]}")) from None
    if not c.streams.video:
        c.close()
        raise MaskDepthError(f"{spec.shown}: holds no video stream")
    c.streams.video[0].thread_type = "AUTO"
    return c


def iter_source(source: FrameSource, timeout: float = 0.5) -> Iterator[Frame]:
    """Frames of an opened ``source`` until it finishes (live sources never do: stop by
    breaking out of the loop). Raises what :meth:`FrameSource.read` raises."""
    while not source.finished:
        f = source.read(timeout)
        if f is not None:
            yield f
