"""``maskdepth watch SOURCE --out DIR``: a fixed camera watched live.

Per frame, the one pipeline (:func:`maskdepth.inference.pipeline.run_frame`): the network's mask of
the frame against the *maintained* background (:class:`~maskdepth.live.background.BackgroundModel`),
the objects on the camera's scene (:class:`~maskdepth.scene.fixed_camera.FixedCamera`: ``bg_depth``,
``camera``, ``teacher``, else the network's own depth) and their ids from the scene's
tracker (:func:`~maskdepth.scene.tracking.make_tracker`); the events engine (:class:`maskdepth.events.EventEngine`: enter,
exit, zone_enter, zone_exit, line_cross, stationary; speeds and floor positions in metres); then the
background model is updated with the frame and says what changed (``background_reset``,
``absorbed``). The frame's full-resolution depth is never composed: no output of ``watch`` needs it.

Without ``bg`` the first frames initialise the background
(:meth:`BackgroundModel.initialise`); those before the one that makes it ready produce no
objects and no masks and are counted in ``watch.json`` as ``frames_initialising``.

Outputs in the ``out`` folder:

* ``objects.jsonl``: one line per processed frame, ``{"frame": k, "time_s": t_s, "objects": [...]}``,
  the format of ``predict --video``'s ``objects.jsonl`` (``k``: the frame's 0-based index in the
  source; ``time_s``: seconds from the stream's start, from its timestamps), each object with
  ``floor_xy_m`` and ``speed_m_s`` (null without a camera, :meth:`EventEngine.object_record`) and ``person_bbox`` where
  the tracker's box of its person differs from its ``bbox`` (:func:`~maskdepth.events.pipeline.person_bbox`);
* ``events.jsonl``: one line per event, ``{"type", "time" (ISO 8601 UTC, ms), "t_s", "frame", ...}``,
  written by the events package's one writer (:class:`maskdepth.events.sinks.JsonlSink`, which
  also feeds ``events_stdout``, ``webhook`` and ``mqtt``): the engine's events above, and the
  loop's ``stream_lost`` (``reason``), ``stream_restored`` (``down_s``), ``stream_resized``
  (``from``, ``to``: ``[W, H]``; the background, scene, tracks and engine restart at the new size:
  ``bg`` resized when its aspect ratio is within 5 %, else the background is initialised again; a
  camera file of another aspect ratio stops the run with one line), and the background model's
  ``background_reset`` and ``absorbed``. ``stationary`` has one meaning (the engine's): a confirmed
  track whose anchor stayed still for ``stationary_after`` seconds; the background model only
  decides which still objects are absorbed (those born still, after ``absorb_after`` seconds);
* ``watch.json``: rewritten atomically every ``status_every`` seconds and at exit (see :meth:`Watch.status`);
* ``masks/<k>.png`` with ``save_masks``: 0/255 at the frame's size;
* ``state/``: the maintained background (:meth:`BackgroundModel.save`) and ``watch_state.json``
  (what resuming needs: the next frame of a file or folder, the next track id, the frame
  count), saved every ``state_every`` seconds and at exit. A second run with the same
  ``out`` resumes: it starts from the saved background (not from ``bg``), a file or folder
  continues after the last processed frame (a live source's frame numbers continue, so no
  ``masks/<k>.png`` is overwritten), and both JSON-lines files are appended to. ``state/lock`` is
  held while a run writes: a second ``watch`` on the same ``out`` is refused with one line.

Stopping: SIGINT/SIGTERM finish the current frame, then the tracks exit (``exit`` events, reason
``"end of stream"``), the state and ``watch.json`` are written and the run returns (exit 0); so do
``duration`` (wall-clock seconds), ``max_frames`` (frames processed by this run) and the end of a
file or folder. Everything given is checked before anything is written (``source`` opened and its
first frame decoded; ``bg``, ``camera``, ``bg_depth`` and ``zones`` read and matched to the frame
size; the webhook URL and the MQTT broker's form).
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import MaskDepthError
from ..events.engine import EventEngine
from ..events.pipeline import EventStream, objects_line, open_events
from ..inference.pipeline import FrameResult, frame_result, run_frame
from ..inference.predictor import Predictor, check_pair, content_size
from ..io import encode_png, load_rgb
from ..scene import load_camera
from ..scene.fixed_camera import FixedCamera
from ..scene.tracking import make_tracker
from .ahead import NetworkAhead
from .config import WatchConfig
from .maintain import LIVE_UPDATE_INTERVAL_S, AsyncBackground
from .outputs import JsonLinesLog, Latency, load_state, save_state, utc_now_iso
from .source import Frame, FrameSource, SourceOptions, parse_source, redact

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _seconds(param: str, v: float | None) -> None:
    if v is not None and not (v > 0 and math.isfinite(v)):
        raise MaskDepthError(f"must be a positive number of seconds, got {v}", param=param)


def _check_sinks(cfg: WatchConfig) -> None:
    """The webhook URL, the broker's form and paho-mqtt (checked before anything is written)."""
    from ..events.sinks import check_url, parse_host_port

    if cfg.webhook:
        check_url(cfg.webhook, "webhook")
    if cfg.mqtt:
        import importlib.util

        parse_host_port(cfg.mqtt)
        if importlib.util.find_spec("paho") is None:
            raise MaskDepthError("needs the [events] extra: pip install 'maskdepth[events]' (paho-mqtt is not installed)", param="mqtt")
    name = cfg.camera_name
    if not name or any(c in name for c in "/+#") or name.strip() != name:
        raise MaskDepthError(f"must be non-empty without '/', '+', '#' or edge spaces, got {name!r}", param="camera_name")


def check_config(cfg: WatchConfig) -> None:
    """Check the settings that need no file (one-line MaskDepthError naming the parameter)."""
    if not cfg.out:
        raise MaskDepthError("is required (the output folder)", param="out")
    for name in ("duration", "stall_timeout", "open_timeout", "absorb_after", "status_every", "state_every", "stationary_after"):
        _seconds(name, getattr(cfg, name))
    for name in ("absorb_after", "status_every", "state_every", "stationary_after"):
        if getattr(cfg, name) is None:
            raise MaskDepthError("must be a positive number of seconds, got None", param=name)
    if cfg.max_frames is not None and cfg.max_frames < 1:
        raise MaskDepthError(f"must be at least 1, got {cfg.max_frames}", param="max_frames")
    if cfg.camera and cfg.bg_depth:
        raise MaskDepthError("cannot be given with a camera: give one of the two", param="bg_depth")
    if cfg.serve is not None:
        if not 0 <= cfg.serve <= 65535:
            raise MaskDepthError(f"must be a port in 0..65535, got {cfg.serve}", param="serve")
        if cfg.host not in LOOPBACK and not cfg.token_file:
            raise MaskDepthError(f"{cfg.host} exposes the page beyond this machine: give a token_file (or keep 127.0.0.1)", param="host")
    _check_sinks(cfg)


class _TimedPredictor:
    """A predictor whose ``predict`` time is summed in :attr:`seconds` (the network's share of a frame).

    ``small_of(bg, (h, w))``, when set and the model is a :class:`~maskdepth.inference.predictor.Predictor`,
    gives ``bg`` already at the network's content size (the background model keeps it, made beside the
    loop for live sources): the same pixels ``predict`` would make, not made again."""

    def __init__(self, predictor):
        self.predictor, self.seconds = predictor, 0.0
        self.small_of = None

    def small_hw(self, hw: tuple[int, int]) -> tuple[int, int] | None:
        """The network's content size for frames of ``hw`` (``None`` for a model that is not a ``Predictor``)."""
        return content_size(*hw, self.predictor.size) if isinstance(self.predictor, Predictor) else None

    def predict(self, bg: np.ndarray, frame: np.ndarray, bg_small=None):
        """``predictor.predict(bg, frame)``, timed. A scene's ``bg_small`` is never passed here (only to a
        ``Predictor`` itself): ``bg`` at the network's size comes from ``small_of``, made from ``bg`` itself."""
        t = time.perf_counter()
        try:
            return self.untimed(bg, frame, self._small(bg, frame))
        finally:
            self.seconds += time.perf_counter() - t

    def _small(self, bg: np.ndarray, frame: np.ndarray) -> np.ndarray | None:
        hw = self.small_hw(frame.shape[:2])
        return None if hw is None or self.small_of is None else self.small_of(bg, hw)

    def untimed(self, bg: np.ndarray, frame: np.ndarray, bg_small: np.ndarray | None) -> object:
        """``predictor.predict(bg, frame, bg_small=bg_small)`` (without ``bg_small`` when ``None``), not timed."""
        if bg_small is None:
            return self.predictor.predict(bg, frame)
        return self.predictor.predict(bg, frame, bg_small=bg_small)

    def __getattr__(self, name):
        return getattr(self.predictor, name)


@dataclass
class WatchFrame:
    """What ``watch`` made of one frame (given to the live page).

    Attributes:
        result: the pipeline's :class:`~maskdepth.inference.pipeline.FrameResult` (``mask`` bool ``(H, W)``).
        objects: the tracked objects (:class:`~maskdepth.scene.objects.SceneObject`, ids from the tracker).
        records: their ``objects.jsonl`` entries (with ``floor_xy_m``, ``speed_m_s`` and, for a person in a merged blob,
            ``person_bbox``: :func:`~maskdepth.events.pipeline.object_records`).
        hidden: the entries of the people hidden inside another's blob (:func:`~maskdepth.events.pipeline.hidden_records`).
    """

    result: FrameResult
    objects: list
    records: list
    hidden: list = field(default_factory=list)

    @property
    def mask(self) -> np.ndarray:
        """The frame's foreground, ``bool (H, W)``."""
        return self.result.mask


def _load_bg(path: str) -> np.ndarray:
    """The ``bg`` photo (errors name the parameter)."""
    try:
        return load_rgb(path)
    except MaskDepthError as e:
        raise MaskDepthError(Exception.__str__(e), param="bg") from None


def _write_png(path: Path, a: np.ndarray) -> None:
    """A mask PNG, written under a temporary name and renamed (no fsync: one per frame)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(encode_png(a))
        os.replace(tmp, path)
    except OSError as e:
        raise MaskDepthError(f"cannot write {path.name}: {e.strerror or e}") from None


class Watch:
    """One run of ``maskdepth watch`` (see the module docstring); :func:`run_watch` drives it.

    Args:
        cfg: the :class:`~maskdepth.live.config.WatchConfig`.
        predictor: a :class:`~maskdepth.inference.predictor.Predictor` (``predict(bg, image)``, ``threshold``).
        background_cls, background_config_cls: the background model and its config class
            (default :class:`maskdepth.live.background.BackgroundModel` and ``BackgroundConfig``).
    Raises:
        MaskDepthError: bad settings or inputs (before anything is written).
    """

    def __init__(self, cfg: WatchConfig, predictor, background_cls=None, background_config_cls=None):
        if background_cls is None or background_config_cls is None:
            from .background import BackgroundConfig, BackgroundModel

            background_cls, background_config_cls = background_cls or BackgroundModel, background_config_cls or BackgroundConfig
        check_config(cfg)
        self.cfg, self.predictor = cfg, _TimedPredictor(predictor)
        ref = weakref.WeakMethod(self._bg_small)  # no cycle: a finished Watch is freed at once (its state/lock released)
        self.predictor.small_of = lambda bg, hw: None if ref() is None else ref()(bg, hw)
        self.BG = background_cls
        self.bg_config = background_config_cls(absorb_after_s=float(cfg.absorb_after), stationary_after_s=float(cfg.stationary_after))
        self.spec = parse_source(cfg.source)
        self.out, self.state_dir = Path(cfg.out), Path(cfg.out) / "state"
        self.bg_image = _load_bg(cfg.bg) if cfg.bg else None
        self.resumed = load_state(self.state_dir) if self.state_dir.is_dir() else None
        same = self.resumed is not None and self.resumed.get("source") == self.spec.shown
        start_at = int(self.resumed.get("next_frame", 0)) if same else 0  # live: the frame numbers continue
        self.source = FrameSource(
            self.spec,
            SourceOptions(stall_timeout=cfg.stall_timeout, open_timeout=cfg.open_timeout, realtime=cfg.realtime, start_at=start_at),
        ).open()
        self.first: Frame | None = self.source.read(1.0)
        self.stream: EventStream | None = None
        self.listeners: list = []
        try:
            self._start_scene(self.first.image.shape[:2])
        except BaseException:
            self.source.close()
            raise
        self._init_counters(start_at)

    def _init_counters(self, start_at: int) -> None:
        self.k_next = start_at
        self.frames = self.frames_init = 0
        self.latency = Latency()
        self.last_frame: int | None = None
        self.last_t_s = 0.0
        self.stop_reason: str | None = None
        self.t_start, self.started_iso = time.monotonic(), utc_now_iso()
        self.tracker_next = int((self.resumed or {}).get("tracker_next_id", 1))
        self.prev_total = int((self.resumed or {}).get("frames_total", 0))
        self.was_resumed = self.resumed is not None
        self.server = None
        self.stage_s: Counter = Counter()
        self.stop_event: threading.Event | None = None

    @property
    def events(self) -> Counter:
        """Events written so far, by type."""
        return self.stream.counts if self.stream is not None else Counter()

    # ------------------------------------------------------------------ scene and background

    def _start_scene(self, hw: tuple[int, int]) -> None:
        """Background model, fixed camera, tracker and events engine for frames of ``hw`` (checks the files against it)."""
        H, W = hw
        bg = None
        if self.bg_image is not None:
            bg = check_pair(self.bg_image, np.empty((H, W, 3), np.uint8), name=f"source ({W}x{H})")
        # the camera / depth files must fit this frame size: checked now, with the frame as a stand-in bg
        checked = FixedCamera(bg if bg is not None else np.zeros((H, W, 3), np.uint8), **self.cfg.fixed_camera_settings())
        self.engine = self._new_engine(W, H)
        self.bgm = None
        if self.resumed is not None and self.resumed.get("size") == [W, H]:
            self.bgm = self.BG.load(self.state_dir / "background", self.bg_config)
        if self.bgm is None:
            self.bgm = self.BG(self.bg_config, bg)
        self.hw, self.scene = (H, W), None
        # nominal rate: update() gets each frame's time
        self.tracker = make_tracker(fps=25.0, camera=checked.camera, **self.cfg.tracker_settings())

    def _new_engine(self, W: int, H: int) -> EventEngine:
        """The events engine for frames of ``W x H`` (zones and camera read and checked; the time base kept)."""
        from ..events.zones import load_zones

        cam = load_camera(self.cfg.camera) if self.cfg.camera else None
        zones = load_zones(self.cfg.zones, camera=cam) if self.cfg.zones else None
        epoch0 = self.engine.epoch0 if getattr(self, "engine", None) is not None else None
        return EventEngine(zones, cam, None, (W, H), stationary_after=float(self.cfg.stationary_after), epoch0=epoch0)

    def _make_scene(self) -> FixedCamera:
        """The fixed camera on the current background (made when the background is first ready, again
        after a ``background_reset``); the tracker and its ids carry over."""
        self.tracker.next_id = max(self.tracker.next_id, self.tracker_next)
        return FixedCamera(self.bgm.background, **self.cfg.fixed_camera_settings())

    def _bg_small(self, bg: np.ndarray, hw: tuple[int, int]) -> np.ndarray | None:
        """The maintained background ``bg`` at the network's size ``hw`` (kept by the model; ``None``: made by ``predict``)."""
        small = getattr(self.bgm, "background_small", None)
        return small(hw, of=bg) if small is not None and self.bgm.ready and bg.shape[:2] == self.hw else None

    def _prob(self, bg: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return self.predictor.predict(bg, frame).prob

    # ------------------------------------------------------------------ per frame

    def process(self, f: Frame, network: tuple | None = None) -> WatchFrame | None:
        """One frame: initialise or predict → measure → track → events → update the background → write.
        ``network``: ``(prediction, seconds)`` of the frame's network already run (:meth:`hand_over`).
        Returns what was made of it (``None`` while the background initialises)."""
        if f.image.shape[:2] != self.hw:
            self._resized(f)
        if not self.bgm.ready and not self.bgm.initialise(f.image, self._prob):
            self.frames_init += 1
            return None
        out = self._measure(f, network)
        events = self._maintain(f, out)
        if any(e.get("type") == "background_reset" for e in events):
            self.scene = None
        self.objects_log.write(objects_line(f.index, f.t_s, out.records, out.hidden))
        self.stream.publish_objects(objects_line(f.index, f.t_s, out.records, out.hidden, time_key="t_s"))
        if self.cfg.save_masks:
            _write_png(self.out / "masks" / f"{f.index}.png", out.mask.astype(np.uint8) * 255)
        self.emit(events, f.index, f.t_s)
        self.frames += 1
        self.latency.add(1000.0 * (time.monotonic() - f.decoded_at))
        return out

    def _measure(self, f: Frame, ahead: tuple | None = None) -> WatchFrame:
        """The pipeline on the frame (its network already run when ``ahead`` = ``(prediction, seconds)``), the
        tracker, the events engine (its events sent)."""
        if self.scene is None:
            self.scene = self._make_scene()
        t, n0 = time.perf_counter(), self.predictor.seconds
        if ahead is None:
            res = run_frame(self.predictor, f.image, bg=self.bgm.background, scene=self.scene)
        else:
            res = frame_result(ahead[0], self.scene, self.predictor, f.image)
        objects = self.tracker.update(res.objects, t_s=f.t_s, image=f.image, labels=res.labels)
        network = self.predictor.seconds - n0  # in this thread (ahead: only a learned bg depth, made once)
        self.stage_s["network"] += network + (0.0 if ahead is None else ahead[1])
        self.stage_s["measure_track"] += time.perf_counter() - t - network
        # the engine (with the tracker's hidden tracks) and the event sinks, as predict --video; the objects go out after the bg update
        _, records, hidden = self.stream.step(objects, f.index, t_s=f.t_s, tracker=self.tracker, publish_objects=False)
        return WatchFrame(res, objects, records, hidden)

    def _maintain(self, f: Frame, out: WatchFrame) -> list[dict]:
        """Update the background with the frame (beside the loop for live sources); returns its events."""
        r = out.result
        if self.spec.live or self.cfg.realtime:  # keep up with real time: maintenance beside the loop
            if not isinstance(self.bgm, AsyncBackground):
                self.bgm = AsyncBackground(self.bgm, small_hw=self.predictor.small_hw(self.hw), min_interval_s=LIVE_UPDATE_INTERVAL_S)
            return self.bgm.submit(f.index, f.image, r.mask, r.prob, out.objects, f.t_s)
        t = time.perf_counter()
        events = self.bgm.update(f.image, r.mask, r.prob, out.objects, f.t_s)
        self.stage_s["background_update"] += time.perf_counter() - t
        self.stage_s["background_updates"] += 1
        return events

    def _resized(self, f: Frame) -> None:
        H, W = f.image.shape[:2]
        old = [self.hw[1], self.hw[0]]
        self.tracker_next = self.tracker.next_id
        self.resumed = None
        self._drain_background()
        self.stream.emit(self.engine.close(self.last_t_s, self.last_frame if self.last_frame is not None else f.index))
        self._start_scene((H, W))
        self.stream.engine = self.engine
        self.emit([{"type": "stream_resized", "from": old, "to": [W, H]}], f.index, f.t_s)

    def emit(self, events: list[dict], frame: int | None, t_s: float) -> None:
        """Write the loop's and the background's events (dicts with ``type``; their own ``t_s`` and
        ``frame`` kept when given) with ``time``, ``t_s`` and ``frame`` added, through the event sinks
        (``events.jsonl`` and the others) and the page's listeners."""
        recs = []
        for e in events:
            e = dict(e)
            t, k = float(e.pop("t_s", t_s)), e.pop("frame", frame)
            rec = {"type": e.pop("type"), "time": utc_now_iso(), "t_s": round(t, 3), "frame": k, **e}
            recs.append({key: (redact(v) if isinstance(v, str) else v) for key, v in rec.items()})
        if recs:
            self.stream.emit(recs)

    def _drain_background(self) -> None:
        """Live sources: wait for the background updates in flight, write their events, stop the worker."""
        if isinstance(self.bgm, AsyncBackground):
            events = self.bgm.drain()
            self.bgm.close()
            if self.stream is not None:
                self.emit(events, self.last_frame, self.last_t_s)

    # ------------------------------------------------------------------ status and state

    def status(self, running: bool = True) -> dict:
        """``watch.json``: ``source`` (redacted), ``frames`` (processed by this run), ``frames_total``
        (all runs on this ``out``), ``frames_initialising``, ``frames_dropped``, ``reconnects``,
        ``fps`` (frames processed per wall-clock second over this run), ``latency_ms`` (frame decoded
        → results written: ``p50``, ``p99``, ``max``, ``n``), ``stage_ms`` (:meth:`_stage_ms`), ``background`` (the model's
        ``status_json``), ``stream`` (``lost``, ``size``), ``events`` (counts by type), ``sinks`` (each
        event sink's counters: ``JsonlSink``, ``StdoutSink``, ``WebhookSink``: posted / failed / retries /
        dropped / queued / last_error, ``MqttSink``: connected / published / dropped / reconnects),
        ``sink_failures`` (events a sink could not deliver, :meth:`EventStream.sink_failures`), ``tracker`` (its method
        and settings, :meth:`~maskdepth.scene.tracking.ByteTracker.describe`),
        ``uptime_s``, ``started``, ``updated``, ``resumed``, ``running``, ``stop_reason``, ``version``."""
        up = time.monotonic() - self.t_start
        sinks = self.stream.stats()["sinks"] if self.stream is not None else {}
        return {
            "source": self.spec.shown,
            "source_kind": self.spec.kind,
            "frames": self.frames,
            "frames_total": self.prev_total + self.frames,
            "frames_initialising": self.frames_init,
            "frames_dropped": self.source.frames_dropped,
            "reconnects": self.source.reconnects,
            "fps": round(self.frames / up, 3) if up > 0 else None,
            "latency_ms": self.latency.to_json(),
            "stage_ms": self._stage_ms(),
            "background": self.bgm.status_json(),
            "tracker": self.tracker.describe(),
            "stream": {"lost": self.source.lost, "size": [self.hw[1], self.hw[0]], "last_frame": self.last_frame},
            "events": dict(self.events),
            "sinks": sinks,
            "sink_failures": self.stream.sink_failures() if self.stream is not None else 0,
            "uptime_s": round(up, 3),
            "started": self.started_iso,
            "updated": utc_now_iso(),
            "resumed": self.was_resumed,
            "running": running,
            "stop_reason": self.stop_reason,
            "version": __version__,
        }

    def _stage_ms(self) -> dict:
        """Mean milliseconds per processed frame in the network and in measure + track + events, and per
        background update (which runs beside the loop for live sources)."""
        n, st = max(self.frames, 1), self.stage_s
        upd, upd_s = st["background_updates"], st["background_update"]
        if isinstance(self.bgm, AsyncBackground):
            upd, upd_s = self.bgm.updates, self.bgm.update_seconds
        return {
            "network": round(1000 * st["network"] / n, 2),
            "measure_track": round(1000 * st["measure_track"] / n, 2),
            "background_update": round(1000 * upd_s / upd, 2) if upd else None,
        }

    def save(self) -> None:
        """Save ``state/`` (the background when it is ready, and the resume record)."""
        if self.bgm.ready:
            self.bgm.save(self.state_dir / "background")
        prev = self.prev_total
        save_state(
            self.state_dir,
            {
                "source": self.spec.shown,
                "next_frame": self.k_next,
                "frames_total": prev + self.frames,
                "tracker_next_id": int(self.tracker.next_id),
                "size": [self.hw[1], self.hw[0]],
                "saved": utc_now_iso(),
            },
        )

    # ------------------------------------------------------------------ the loop

    def open_outputs(self) -> None:
        """Create ``out`` (and ``masks/``, ``state/``), open ``objects.jsonl`` and the event sinks
        (``events.jsonl``, and stdout, the webhook and the MQTT broker when asked)."""
        try:
            for d in (self.out, self.state_dir, *([self.out / "masks"] if self.cfg.save_masks else [])):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise MaskDepthError(f"cannot create {e.filename}: {e.strerror or e}") from None
        self._lock()
        self.objects_log = JsonLinesLog(self.out / "objects.jsonl")
        cfg = self.cfg
        self.stream = open_events(self.out, stdout=cfg.events_stdout, webhook=cfg.webhook, mqtt=cfg.mqtt, camera_name=cfg.camera_name)
        self.stream.engine = self.engine
        self.stream.listeners = self.listeners

    def _lock(self) -> None:
        """One watch per ``--out``: an exclusive lock on ``state/lock`` (released when the process ends).

        Raises: MaskDepthError: another process holds it."""
        import fcntl

        self.lock_file = open(self.state_dir / "lock", "a+")
        try:
            fcntl.flock(self.lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.lock_file.close()
            raise MaskDepthError(f"{self.out} is being written by another maskdepth watch (state/lock is held)") from None

    def write_status(self, running: bool = True) -> dict:
        """Rewrite ``watch.json`` atomically; returns it."""
        from ..io import atomic_write_json

        st = self.status(running)
        atomic_write_json(self.out / "watch.json", st)
        return st

    def _should_stop(self, f: Frame | None) -> str | None:
        if self.stop_reason:
            return self.stop_reason
        if self.stop_event is not None and self.stop_event.is_set():
            return "stopped"
        if f is None and self.source.finished:
            return "end of source"
        if self.cfg.max_frames is not None and self.frames >= self.cfg.max_frames:
            return "max_frames"
        if self.cfg.duration is not None and time.monotonic() - self.t_start >= self.cfg.duration:
            return "duration"
        return None

    def loop(self, on_frame=None) -> None:
        """Read and process frames until a stop (see the module docstring); ``on_frame(frame, result)``
        is called after each processed frame (the page's overlay). Live sources run the next frame's
        network beside the loop (:mod:`maskdepth.live.ahead`); files and folders one frame at a time."""
        pending, self.first = self.first, None
        ahead = NetworkAhead(self._network_ahead) if (self.spec.live or self.cfg.realtime) else None
        now = time.monotonic()
        next_status, next_state = now + self.cfg.status_every, now + self.cfg.state_every
        try:
            while True:
                f, pending = (pending or self.source.read(0.2)), None
                done = self._step(f, ahead, on_frame)
                self.emit(self.source.pop_events(), self.last_frame, self.last_t_s)
                self.stop_reason = self._should_stop(done)
                if self.stop_reason:
                    return
                now = time.monotonic()
                if now >= next_status:
                    self.write_status()
                    next_status = now + self.cfg.status_every
                if now >= next_state:
                    self.save()
                    next_state = now + self.cfg.state_every
        finally:
            if ahead is not None:
                ahead.close()

    def _step(self, f: Frame | None, ahead: NetworkAhead | None, on_frame) -> Frame | None:
        """Process ``f`` (with ``ahead``: hand it over and process the frame handed over before it; a frame that
        cannot be handed over, or none, first flushes the one in flight). Returns the last frame processed
        (``None``: none, the source had nothing)."""
        if ahead is None:
            if f is not None:
                self._done(f, self.process(f), on_frame)
            return f
        if f is not None and self._can_hand_over(f, ahead):
            prev = ahead.swap(f, *self._network_inputs())
            if prev is not None:
                self._done(prev[0], self.process(prev[0], prev[1:]), on_frame)
            return f
        prev = ahead.flush()
        if prev is not None:
            self._done(prev[0], self.process(prev[0], prev[1:]), on_frame)
        if f is not None and (self.cfg.max_frames is None or self.frames < self.cfg.max_frames):
            self._done(f, self.process(f), on_frame)
            return f
        return prev[0] if prev is not None else None

    def _done(self, f: Frame, r: WatchFrame | None, on_frame) -> None:
        self.k_next, self.last_frame, self.last_t_s = f.index + 1, f.index, f.t_s
        if on_frame is not None:
            on_frame(f, r)

    def _can_hand_over(self, f: Frame, ahead: NetworkAhead) -> bool:
        """A ready background of the frame's size, and room under ``max_frames`` for it and the frame in flight."""
        in_flight = 1 if ahead.pending is not None else 0
        room = self.cfg.max_frames is None or self.frames + in_flight + 1 <= self.cfg.max_frames
        return room and self.bgm.ready and f.image.shape[:2] == self.hw

    def _network_inputs(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The background the next frame is predicted against and its copy at the network's size (loop thread)."""
        bg = self.bgm.background
        hw = self.predictor.small_hw(self.hw)
        return bg, (self._bg_small(bg, hw) if hw is not None else None)

    def _network_ahead(self, image: np.ndarray, bg: np.ndarray, bg_small: np.ndarray | None):
        """The network of a frame handed over (worker thread; timed by :class:`NetworkAhead`)."""
        return self.predictor.untimed(bg, image, bg_small)

    def finish(self) -> dict | None:
        """At exit: the tracks exit, save the state, write the final ``watch.json``, close the files,
        the sinks and the source. Returns ``watch.json`` (``None`` when it could not be written). Never raises."""
        st = None
        steps = [self.source.close]
        if self.stream is not None:
            steps += [self._drain_background, self._end_tracks, self.objects_log.close, self.stream.close, self.save]
        for fn in steps:
            try:
                fn()
            except (MaskDepthError, OSError):
                pass
        if self.stream is not None:
            try:
                st = self.write_status(running=False)
            except (MaskDepthError, OSError):
                pass
        return st

    def _end_tracks(self) -> None:
        """``exit`` (and ``zone_exit``) events of the tracks still alive at the stop."""
        if self.last_frame is not None:
            self.stream.finish(self.last_frame, self.last_t_s)


class _Signals:
    """SIGINT/SIGTERM set ``watch.stop_reason`` (the loop finishes its frame, then stops); the previous
    handlers come back on exit. Only in the main thread (elsewhere Python allows no handlers)."""

    def __init__(self, watch: Watch):
        self.watch, self.old = watch, {}

    def _handler(self, signum, _frame) -> None:
        self.watch.stop_reason = f"signal {signal.Signals(signum).name}"

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self.old[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for s, h in self.old.items():
            signal.signal(s, h)


def _ort_options(cfg: WatchConfig) -> dict:
    """ONNX Runtime for watch: intra-op threads that do not spin while they wait (the same outputs, bit for bit; the
    default pool burns CPU the decoder, the background update and the post-processing need: ~35 → ~14 CPU ms per call
    at 720p, results/live_speed.md). Live sources use one thread (the next frame's network has a core of its own,
    :mod:`maskdepth.live.ahead`); files and folders, one frame at a time, one per core."""
    return {"threads": 1 if parse_source(cfg.source).live or cfg.realtime else None, "spinning": False}


def run_watch(cfg: WatchConfig, predictor=None, background_cls=None, background_config_cls=None, log=None, stop=None) -> dict:
    """Run ``maskdepth watch`` (see the module docstring) until the source ends or a stop.

    Args:
        cfg: the settings (:class:`~maskdepth.live.config.WatchConfig`).
        predictor: a :class:`~maskdepth.inference.predictor.Predictor` (default: :func:`~maskdepth.inference.predictor.load_predictor`
            of ``cfg.checkpoint``, ``cfg.size``, ``cfg.backend``, ``cfg.refine``).
        background_cls, background_config_cls: the background model (see :class:`Watch`).
        log: callable taking one line (progress messages; default: none).
        stop: a :class:`threading.Event`; once set, the run stops after the current frame
            (``stop_reason`` ``"stopped"``), as on SIGTERM (for a watch run in a thread).
    Returns: the final ``watch.json`` record.
    Raises:
        MaskDepthError: bad settings or inputs (nothing written), or an output that cannot be
            written (a full disk: the state and ``watch.json`` are still attempted).
    """
    from ..inference.predictor import load_predictor

    check_config(cfg)
    if predictor is None:
        predictor = load_predictor(cfg.checkpoint, cfg.size, backend=cfg.backend, refine=cfg.refine, ort_options=_ort_options(cfg))
    w = Watch(cfg, predictor, background_cls, background_config_cls)
    w.stop_event = stop
    server = None
    try:
        on_frame = None
        if cfg.serve is not None:  # before any output: a port in use or a bad token file writes nothing
            from .server import start_server

            server = start_server(w, cfg)
            on_frame = server.publish
            if log:
                log(f"serving http://{cfg.host}:{server.port}/ (metrics: /metrics)")
        w.open_outputs()
        w.write_status()
        if log:
            log(f"watching {w.spec.shown} -> {cfg.out}" + (" (resumed)" if w.was_resumed else ""))
        with _Signals(w):
            w.loop(on_frame)
    except BaseException as e:
        w.stop_reason = redact(f"error: {e}") if not isinstance(e, KeyboardInterrupt) else "signal SIGINT"
        w.finish()
        if server is not None:
            server.stop()
        raise
    st = w.finish()
    if server is not None:
        server.stop()
    return st if st is not None else w.status(running=False)
