"""The events engine and its sinks as one call per frame: what ``predict --video`` and ``watch`` use.

Usage (a video loop)::

    ev = open_events(out_dir, zones="zones.json", camera=cam, image_size=(W, H), fps=25.0)
    for i, frame in frames:
        objects = tracker.update(...)
        events, records, hidden = ev.step(objects, i, tracker=tracker)   # objects.jsonl entries (objects_line)
    ev.finish(n_frames)        # end of stream: exits of the live tracks
    ev.close()                 # flush and stop the sinks
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from ..errors import MaskDepthError
from ..scene.camera import Camera, load_camera
from .engine import EventEngine
from .motion import Intrinsics
from .sinks import JsonlSink, MqttSink, StdoutSink, WebhookSink
from .zones import Zones, load_zones

EVENTS_FILE = "events.jsonl"


def active_ids(tracker) -> set[int] | None:
    """The public ids of a :class:`~maskdepth.scene.Tracker`'s live tracks (a merged track is alive though
    unseen), or ``None`` when ``tracker`` is ``None``."""
    if tracker is None:
        return None
    return {t.id for t in tracker.tracks if t.id}


def hidden_objects(tracker) -> list:
    """Objects at the predicted boxes of the tracker's hidden tracks (:attr:`ByteTracker.hidden`: walkers inside
    another's merged blob; :func:`~maskdepth.scene.tracking.hidden_object`), for the engine, so their zones, lines and
    dwell keep counting, and for the frame's ``hidden`` records (:func:`hidden_records`), not the objects' records;
    ``[]`` for a tracker without them (``None``, the older ``Tracker``)."""
    from ..scene.tracking import hidden_object

    return [hidden_object(h) for h in getattr(tracker, "hidden", ())]


def person_bbox(obj, tracker) -> list[int] | None:
    """The ``person_bbox`` of a tracked object's ``objects.jsonl`` record: the box ``[x0, y0, x1, y1]`` (int
    pixels, inclusive, rounded) that ``tracker`` gives the person of ``obj``'s track this frame
    (:attr:`~maskdepth.scene.tracking.ByteTracker.person_boxes`: with a camera, a track on a merged blob that
    hides another track gets its own box inside the blob), or ``None`` where that box is the object's ``bbox``
    (a person seen alone), for an unconfirmed object (``id`` 0), without a tracker or with a tracker that has
    no person boxes (the older :class:`~maskdepth.scene.Tracker`).

    Args:
        obj: a tracked object (``id``, ``bbox`` ``(x0, y0, x1, y1)`` inclusive pixels), after ``tracker.update``
            of the same frame.
        tracker: the tracker that gave ``obj`` its id, or ``None``.
    """
    box = getattr(tracker, "person_boxes", {}).get(obj.id) if tracker is not None and obj.id else None
    return _differing_box(box, obj.bbox)


def _differing_box(box, bbox) -> list[int] | None:
    """``box`` rounded to int pixels, or ``None`` where it is ``None`` or rounds to ``bbox``."""
    if box is None:
        return None
    out = [int(round(float(v))) for v in box]
    return None if out == [int(v) for v in bbox] else out


def object_records(engine: EventEngine, objects, tracker=None) -> list[dict]:
    """The ``objects.jsonl`` records of one frame's tracked objects, in order: :meth:`EventEngine.object_record`
    (call after the engine's update of the same frame), plus ``person_bbox`` (:func:`person_bbox`) where the
    tracker's box of the object's person differs from its ``bbox``; absent otherwise. The one place both
    ``predict --video`` (:meth:`EventStream.step`) and ``watch`` make the records."""
    records = []
    for o in objects:
        r = engine.object_record(o)
        pb = person_bbox(o, tracker)
        if pb is not None:
            r["person_bbox"] = pb
        records.append(r)
    return records


def hidden_records(engine: EventEngine, hidden: list) -> list[dict]:
    """The ``objects.jsonl`` records of the people the tracker keeps inside another's merged blob this frame
    (``hidden``: :func:`hidden_objects` of the tracker, at their predicted boxes): :meth:`EventEngine.object_record` of
    each (``bbox``, ``contact_px``, ``floor_xy_m`` and ``speed_m_s`` from the engine's track; ``distance_m`` and
    ``height_m`` null, ``depth_source`` ``"predicted"``, ``note`` ``"hidden"``), plus ``person_bbox`` (int pixels,
    inclusive) where the tracker found the person's share of the blob by colour
    (:attr:`~maskdepth.scene.tracking.HiddenTrack.person_bbox`) and it differs from ``bbox``. Call after the engine's
    update of the same frame."""
    records = []
    for o in hidden:
        r = engine.object_record(o)
        pb = _differing_box((getattr(o, "extra", None) or {}).get("person_bbox"), o.bbox)
        if pb is not None:
            r["person_bbox"] = pb
        records.append(r)
    return records


def objects_line(frame: int, time_s: float, records: list[dict], hidden: list[dict] | None = None, time_key: str = "time_s") -> dict:
    """One frame's line of ``objects.jsonl`` (and of the MQTT objects topic, ``time_key="t_s"``):
    ``{"frame", "time_s", "objects": records}`` plus ``"hidden"`` (:func:`hidden_records`) when there are any;
    ``frame`` the frame's index, ``time_s`` seconds from the stream's start (rounded to 0.1 ms)."""
    line = {"frame": int(frame), time_key: round(float(time_s), 4), "objects": records}
    if hidden:
        line["hidden"] = hidden
    return line


class FrameEvents(NamedTuple):
    """What :meth:`EventStream.step` made of one frame."""

    events: list[dict]
    """The events sent to the sinks."""
    records: list[dict]
    """The ``objects.jsonl`` records of the frame's objects, in order (:func:`object_records`)."""
    hidden: list[dict]
    """The records of the people hidden inside another's blob (:func:`hidden_records`)."""


class EventStream:
    """An :class:`EventEngine` and its sinks (see the module docstring).

    Args:
        engine: the engine.
        sinks: objects with ``emit(events)``, ``objects(record)``, ``stats()`` and ``close()`` (:mod:`.sinks`).
        fps: frames per second, for ``t_s = frame / fps`` when :meth:`step` is given no time.
    Attributes:
        counts: events emitted per type.
        listeners: callables given each event dict after the sinks (``watch``'s live page).
    """

    def __init__(self, engine: EventEngine, sinks: list, fps: float | None = None):
        self.engine, self.sinks, self.fps = engine, list(sinks), fps
        self.counts: Counter = Counter()
        self.listeners: list = []

    def _t(self, frame: int, t_s: float | None) -> float:
        if t_s is not None:
            return float(t_s)
        if not self.fps:
            raise MaskDepthError("EventStream.step needs t_s when no fps is known")
        return frame / float(self.fps)

    def _emit(self, events: list[dict]) -> None:
        self.counts.update(e["type"] for e in events)
        for s in self.sinks:
            s.emit(events)
        for listener in list(self.listeners):
            for e in events:
                listener(e)

    def publish_objects(self, record: dict) -> None:
        """Hand one frame's ``objects.jsonl`` record to the sinks that publish objects (MQTT)."""
        for s in self.sinks:
            s.objects(record)

    def step(self, objects, frame: int, t_s: float | None = None, tracker=None, publish_objects: bool = True) -> FrameEvents:
        """One frame: update the engine, send its events to every sink, and return :class:`FrameEvents` (the events,
        the objects' records, :func:`object_records`, ``person_bbox`` included, and the hidden people's,
        :func:`hidden_records`; published as one :func:`objects_line` on the objects topic of the sinks that have
        one when ``publish_objects``).

        Args:
            objects: the frame's tracked objects (ids from the tracker; 0 = unconfirmed).
            frame: the frame's index.
            t_s: seconds from the stream's start (default ``frame / fps``).
            tracker: the :class:`~maskdepth.scene.Tracker` whose live ids decide exits (optional); its hidden
                tracks (:func:`hidden_objects`) go to the engine and to the hidden records, not to the objects'
                records; its person boxes go to the records (``person_bbox``), not to the engine.
        Raises:
            MaskDepthError: ``events.jsonl`` could not be written.
        """
        t, hidden = self._t(frame, t_s), hidden_objects(tracker)
        events = self.engine.update(list(objects) + hidden, t, frame, active_ids=active_ids(tracker))
        self._emit(events)
        out = FrameEvents(events, object_records(self.engine, objects, tracker), hidden_records(self.engine, hidden))
        if publish_objects:
            self.publish_objects(objects_line(frame, t, out.records, out.hidden, time_key="t_s"))
        return out

    def emit(self, events: list[dict]) -> None:
        """Send events made elsewhere (the watch loop's stream and background events) to every sink."""
        self._emit(events)

    def finish(self, frame: int, t_s: float | None = None) -> list[dict]:
        """End of the stream: exits (and zone exits) of every live track, sent and returned."""
        events = self.engine.close(self._t(frame, t_s), frame)
        self._emit(events)
        return events

    def stats(self) -> dict:
        """``{"events": {type: n}, "sinks": {name: stats}}`` for ``watch.json`` / ``video.json``."""
        return {"events": dict(self.counts), "sinks": {type(s).__name__: s.stats() for s in self.sinks}}

    def sink_failures(self) -> int:
        """Events (and object records) that a sink could not deliver: the webhook's ``failed`` and ``dropped``,
        the MQTT sink's ``dropped`` (``events.jsonl`` never fails silently: it raises)."""
        return sum(int(s.stats().get("failed", 0)) + int(s.stats().get("dropped", 0)) for s in self.sinks)

    def close(self) -> None:
        """Close every sink (each bounded in time)."""
        for s in self.sinks:
            s.close()


def open_events(
    out_dir=None,
    zones: str | os.PathLike | Zones | None = None,
    camera: Camera | str | os.PathLike | None = None,
    image_size: tuple[int, int] | None = None,
    fps: float | None = None,
    stdout: bool = False,
    webhook: str | None = None,
    mqtt: str | None = None,
    camera_name: str = "camera",
    intrinsics: Intrinsics | None = None,
    stationary_after: float | None = 30.0,
    events_path: str | os.PathLike | None = None,
    epoch0: float | None = None,
) -> EventStream:
    """Build the engine and the sinks from the command line's options (``--zones``, ``--events-stdout``,
    ``--webhook``, ``--mqtt``).

    Args:
        out_dir: folder of ``events.jsonl`` (appended); ``None``: no file.
        zones: ``zones.json`` path or :class:`Zones` (``None``: enter / exit / stationary only).
        camera: :class:`Camera` or ``camera.json`` path (scaled to ``image_size``).
        image_size: ``(W, H)`` of the frames.
        fps: frame rate for ``t_s`` when the caller gives frame indices only.
        stdout, webhook, mqtt: the other sinks (``mqtt``: ``HOST[:PORT]``; topics use ``camera_name``).
        intrinsics: pinhole intrinsics for positions from measured depth without a camera.
        stationary_after: seconds before a ``stationary`` event (``None``: off).
        events_path: write events here instead of ``out_dir/events.jsonl``.
        epoch0: POSIX time of ``t_s = 0`` (default: the wall clock at the first frame).
    Raises:
        MaskDepthError: a bad zones or camera file, floor zones without a camera, a bad URL or broker,
        paho-mqtt missing, or an events file that cannot be opened. Nothing is opened before the
        zones and camera are checked.
    """
    # zone pixels refer to the camera file's own image_size: the engine scales both to the frames
    cam = camera if isinstance(camera, Camera) or camera is None else load_camera(os.fspath(camera))
    z = zones if isinstance(zones, Zones) or zones is None else load_zones(zones, camera=cam)
    engine = EventEngine(z, cam, intrinsics, image_size, stationary_after=stationary_after, epoch0=epoch0)
    sinks: list = []
    try:
        path = events_path if events_path is not None else (Path(out_dir) / EVENTS_FILE if out_dir is not None else None)
        if path is not None:
            sinks.append(JsonlSink(path))
        if stdout:
            sinks.append(StdoutSink())
        if webhook:
            sinks.append(WebhookSink(webhook))
        if mqtt:
            sinks.append(MqttSink(mqtt, camera=camera_name))
    except BaseException:
        for s in sinks:
            s.close()
        raise
    return EventStream(engine, sinks, fps)
