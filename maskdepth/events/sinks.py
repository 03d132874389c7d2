"""Where events go: ``events.jsonl``, stdout, a webhook, an MQTT broker.

Every sink has ``emit(events)`` (a list of event dicts, one frame's worth), ``objects(record)`` (one
``objects.jsonl`` record; only MQTT publishes it), ``stats()`` (a JSON-able dict for ``watch.json``)
and ``close()``. None of them blocks the video loop for long:

* :class:`JsonlSink`: appends whole lines with one ``os.write`` per frame's events (``O_APPEND``: the
  file is never rewritten; every batch is on disk when ``emit`` returns, so "flushed at least every
  second" holds). A failed or short write (a full disk) is cut back to the last whole line and raised
  as one :class:`~maskdepth.errors.MaskDepthError` line: no partial JSON line is left.
* :class:`WebhookSink`: ``POST`` of each event as JSON from a bounded queue by a worker thread
  (urllib); failures (connection errors, timeouts, HTTP 5xx, 408, 429; other 4xx are not retried) are
  retried with exponential backoff capped at ``backoff_max_s`` (the usual
  "exponential backoff" of e.g. AWS's architecture guidance, without jitter for reproducible tests);
  an event still failing after ``max_retries`` is dropped and counted; when the queue is full new
  events are dropped and counted: ``emit`` never waits.
* :class:`MqttSink`: paho-mqtt, topics ``maskdepth/<camera>/events`` (QoS 1) and
  ``maskdepth/<camera>/objects`` (QoS 0); paho's network thread reconnects with capped backoff while
  the broker is away, QoS 1 events published meanwhile wait in paho's bounded queue and go out on
  reconnection.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import MaskDepthError
from ..io import redact


def _line(e: dict) -> str:
    return json.dumps(e, separators=(",", ":"), allow_nan=False) + "\n"


def cut_partial_tail(fd: int) -> None:
    """Truncate the file open on ``fd`` back to its last newline: a line cut short by a killed process
    is removed when the file is opened again (whole lines are never touched)."""
    size = os.fstat(fd).st_size
    pos, keep = size, 0
    while pos > 0:
        n = min(65536, pos)
        i = os.pread(fd, n, pos - n).rfind(b"\n")
        if i >= 0:
            keep = pos - n + i + 1
            break
        pos -= n
    if keep != size:
        os.ftruncate(fd, keep)


class JsonlSink:
    """Append events to ``path`` (``events.jsonl``), one JSON object per line (see the module docstring).

    Raises (on construction or ``emit``):
        MaskDepthError: the file cannot be opened, or a write failed (the partial tail is removed first).
    """

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise MaskDepthError(f"cannot open {self.path} for events: {e.strerror}") from None
        cut_partial_tail(self.fd)
        self.written = 0

    def emit(self, events: list[dict]) -> None:
        """Append ``events`` (all or none of each line) and return once they are in the file."""
        if not events:
            return
        data = "".join(_line(e) for e in events).encode()
        size = os.fstat(self.fd).st_size
        try:
            view = memoryview(data)
            while view:
                n = os.write(self.fd, view)
                if n <= 0:
                    raise OSError(28, "No space left on device")
                view = view[n:]
        except OSError as e:
            try:
                os.ftruncate(self.fd, size)
            except OSError:
                pass
            raise MaskDepthError(f"cannot write {self.path.name}: {e.strerror or e}") from None
        self.written += len(events)

    def objects(self, record: dict) -> None:
        """Objects are written by ``objects.jsonl``'s own writer: nothing to do."""

    def stats(self) -> dict:
        """``{"events_written": n}``."""
        return {"events_written": self.written}

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class StdoutSink:
    """Print each event as one JSON line on standard output (flushed per frame)."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stdout
        self.written = 0

    def emit(self, events: list[dict]) -> None:
        """Write ``events`` and flush."""
        if events:
            self.stream.write("".join(_line(e) for e in events))
            self.stream.flush()
            self.written += len(events)

    def objects(self, record: dict) -> None:
        """Not printed."""

    def stats(self) -> dict:
        """``{"events_printed": n}``."""
        return {"events_printed": self.written}

    def close(self) -> None:
        """Nothing to close."""


def check_url(url: str, what: str = "webhook") -> str:
    """Validate an ``http://`` / ``https://`` URL with a host; returns it.

    Raises:
        MaskDepthError: another scheme or no host (the message never repeats user info).
    """
    try:
        u = urlsplit(url)
    except ValueError:
        u = None
    if u is None or u.scheme not in ("http", "https") or not u.hostname:
        raise MaskDepthError(f"must be an http:// or https:// URL with a host, got {redact_url(url)!r}", param=what)
    return url


redact_url = redact  # the one redaction of URLs (maskdepth.io.redact)


class WebhookSink:
    """POST every event as JSON to ``url`` from a bounded queue and a worker thread (see the module docstring).

    Args:
        url: ``http(s)://`` endpoint.
        max_queue: events waiting at most (default 1000); more are dropped and counted.
        timeout_s: per-request timeout (default 2 s).
        max_retries: retries after the first failure before an event is given up (default 4).
        backoff_s, backoff_max_s: first retry delay and its cap (doubling; defaults 0.25 s and 5 s).
    Raises:
        MaskDepthError: an invalid URL.
    """

    def __init__(
        self,
        url: str,
        max_queue: int = 1000,
        timeout_s: float = 2.0,
        max_retries: int = 4,
        backoff_s: float = 0.25,
        backoff_max_s: float = 5.0,
    ):
        self.url = check_url(url)
        self.q: queue.Queue = queue.Queue(maxsize=max_queue)
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self.counts = {"posted": 0, "failed": 0, "retries": 0, "dropped": 0}
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="maskdepth-webhook", daemon=True)
        self._thread.start()

    def emit(self, events: list[dict]) -> None:
        """Queue ``events`` without waiting; those that do not fit are dropped and counted."""
        for e in events:
            try:
                self.q.put_nowait(_line(e).encode())
            except queue.Full:
                self._count("dropped")

    def objects(self, record: dict) -> None:
        """Objects are not posted (one request per frame would flood the endpoint)."""

    def _count(self, k: str) -> None:
        with self._lock:
            self.counts[k] += 1

    def _post(self, body: bytes) -> None:
        req = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
            r.read()

    def _send(self, body: bytes) -> None:
        delay = self.backoff_s
        for attempt in range(self.max_retries + 1):
            try:
                self._post(body)
                self._count("posted")
                return
            except (OSError, urllib.error.URLError, ValueError) as e:
                self.last_error = type(e).__name__ + (f" {e.code}" if isinstance(e, urllib.error.HTTPError) else "")
                if isinstance(e, urllib.error.HTTPError) and e.code < 500 and e.code not in (408, 429):
                    break  # the endpoint refuses this event: sending it again would not help
            if attempt == self.max_retries or self._stop.wait(delay):
                break
            self._count("retries")
            delay = min(2 * delay, self.backoff_max_s)
        self._count("failed")

    def _run(self) -> None:
        while not (self._stop.is_set() and self.q.empty()):
            try:
                body = self.q.get(timeout=0.1)
            except queue.Empty:
                continue
            self._send(body)

    def stats(self) -> dict:
        """``{"posted", "failed", "retries", "dropped", "queued", "last_error"}`` (counts since the start)."""
        with self._lock:
            d = dict(self.counts)
        d["queued"] = self.q.qsize()
        d["last_error"] = self.last_error
        return d

    def close(self, drain_s: float = 2.0) -> None:
        """Give the worker up to ``drain_s`` seconds to send what is queued, then stop it (what is left is counted dropped)."""
        end = time.monotonic() + drain_s
        while not self.q.empty() and time.monotonic() < end and self._thread.is_alive():
            time.sleep(0.02)
        self._stop.set()
        self._thread.join(timeout=max(0.1, self.timeout_s + 0.5))
        while True:
            try:
                self.q.get_nowait()
            except queue.Empty:
                break
            self._count("dropped")


def delivery_warnings(sinks: dict) -> list[str]:
    """One line per sink that did not deliver everything, for the end of a run (``watch``'s summary).

    Args:
        sinks: ``{sink class name: its stats()}`` (``watch.json``'s ``sinks``).
    Returns:
        Lines (no prefix), empty when every sink delivered what it was given: a webhook's failed and dropped events
        with its last error; an MQTT broker that was never reached (what was queued for it is lost at exit), or the
        messages dropped while it was away.
    """
    out = []
    hook = sinks.get("WebhookSink")
    if hook and (hook.get("failed") or hook.get("dropped")):
        last = f" (last error: {hook['last_error']})" if hook.get("last_error") else ""
        out.append(f"webhook: {hook.get('failed', 0)} events failed and {hook.get('dropped', 0)} were dropped{last}")
    mq = sinks.get("MqttSink")
    if mq and not mq.get("connects"):
        out.append(
            f"MQTT broker {mq.get('broker')} was never reached: {mq.get('published', 0)} events queued for it were not "
            f"delivered and {mq.get('dropped', 0)} messages were dropped"
        )
    elif mq and mq.get("dropped"):
        out.append(f"MQTT broker {mq.get('broker')}: {mq['dropped']} messages dropped while it was away")
    return out


def parse_host_port(spec: str, default_port: int = 1883) -> tuple[str, int]:
    """``"HOST[:PORT]"`` -> ``(host, port)``, parsed as a URL's network location (:func:`urllib.parse.urlsplit`): an
    IPv6 address in brackets (``"[::1]:1883"``) is returned without them, the host in lower case.

    Raises:
        MaskDepthError: empty host, user info or a path, a host with a colon outside brackets (``"a:b:1883"``), or a
            port that is not 1-65535.
    """
    bad = f"must be HOST[:PORT] (an IPv6 address in brackets: [::1]:1883), got {spec!r}"
    try:
        u = urlsplit("//" + spec)
        host, port = u.hostname, u.port
    except ValueError as e:  # a port that is not a number (as in "a:b:1883"), out of range, or a bad bracketed address
        text = spec.rpartition("]")[2].rpartition(":")[2]
        if text.isdigit() and int(text) > 65535:
            raise MaskDepthError(f"port must be 1-65535, got {text}", param="mqtt") from None
        raise MaskDepthError(f"{bad}: {e}", param="mqtt") from None
    if not host or "@" in u.netloc or u.netloc != spec:
        raise MaskDepthError(bad, param="mqtt")
    port = default_port if port is None else port
    if not 0 < port < 65536:
        raise MaskDepthError(f"port must be 1-65535, got {port}", param="mqtt")
    return host, port


class MqttSink:
    """Publish events (QoS 1) and objects (QoS 0) to an MQTT broker with paho-mqtt (see the module docstring).

    Args:
        spec: ``"HOST[:PORT]"`` (port 1883 by default).
        camera: the camera's name in the topics ``maskdepth/<camera>/events`` and ``.../objects``.
        max_queue: QoS 1 messages paho keeps while the broker is away (default 1000; more are dropped and counted).
        reconnect_max_s: cap of paho's reconnection backoff (default 5 s).
    Raises:
        MaskDepthError: paho-mqtt is not installed (``pip install 'maskdepth[events]'``), a bad spec or camera name.
    """

    def __init__(self, spec: str, camera: str = "camera", max_queue: int = 1000, reconnect_max_s: float = 5.0, keepalive_s: int = 30):
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise MaskDepthError(
                "needs the [events] extra: pip install 'maskdepth[events]' (paho-mqtt is not installed)", param="mqtt"
            ) from None
        if not camera or any(c in camera for c in "/+#") or camera.strip() != camera:
            raise MaskDepthError(
                f"(the MQTT camera name) must be non-empty without '/', '+', '#' or edge spaces, got {camera!r}", param="camera_name"
            )
        self.host, self.port = parse_host_port(spec)
        self.topic_events, self.topic_objects = f"maskdepth/{camera}/events", f"maskdepth/{camera}/objects"
        self.counts = {"published": 0, "dropped": 0, "connects": 0, "disconnects": 0}
        self.connected = False
        self._rc_ok = (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)  # NO_CONN: queued for the reconnection
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"maskdepth-{camera}-{os.getpid()}")
        c.max_queued_messages_set(max_queue)
        c.reconnect_delay_set(min_delay=1, max_delay=max(1, int(reconnect_max_s)))
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.connect_async(self.host, self.port, keepalive=keepalive_s)
        c.loop_start()
        self.client = c

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if not reason_code.is_failure:
            self.connected = True
            self.counts["connects"] += 1

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if self.connected:
            self.counts["disconnects"] += 1
        self.connected = False

    def _publish(self, topic: str, payload: str, qos: int) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        self.counts["published" if info.rc in self._rc_ok and (qos or info.rc == 0) else "dropped"] += 1

    def emit(self, events: list[dict]) -> None:
        """Publish each event on ``maskdepth/<camera>/events`` (QoS 1: kept for the reconnection)."""
        for e in events:
            self._publish(self.topic_events, json.dumps(e, separators=(",", ":")), 1)

    def objects(self, record: dict) -> None:
        """Publish one frame's objects record on ``maskdepth/<camera>/objects`` (QoS 0: dropped while away)."""
        self._publish(self.topic_objects, json.dumps(record, separators=(",", ":")), 0)

    def stats(self) -> dict:
        """``{"broker", "connected", "published", "dropped", "connects", "disconnects"}``."""
        return {"broker": f"{self.host}:{self.port}", "connected": self.connected, **self.counts}

    def close(self, drain_s: float = 2.0) -> None:
        """Wait up to ``drain_s`` for queued messages while connected, then disconnect and stop paho's thread."""
        end = time.monotonic() + drain_s
        while self.connected and self.client.want_write() and time.monotonic() < end:
            time.sleep(0.02)
        self.client.disconnect()
        self.client.loop_stop()
