"""``maskdepth watch --serve PORT``: Prometheus metrics and a live page, on the standard library's
threaded HTTP server (one small thread per client; the video loop never waits for a client).

Routes:

* ``/``: the live page (the overlay, the events as they come, the status);
* ``/stream.mjpg``: the overlay (mask tint, boxes, ids, distances) as MJPEG
  (``multipart/x-mixed-replace``), at most :data:`MJPEG_FPS` frames/s, rendered only while a
  client watches;
* ``/events``: the events as Server-Sent Events (``text/event-stream``, one ``data:`` JSON
  line per event, a comment line every 10 s to keep proxies from closing it);
* ``/watch.json``: the status (:meth:`maskdepth.live.watch.Watch.status`);
* ``/metrics``: Prometheus text format (prometheus-client): ``maskdepth_watch_frames_total``,
  ``maskdepth_watch_frames_dropped_total``, ``maskdepth_watch_reconnects_total``,
  ``maskdepth_watch_events_total{type}``, ``maskdepth_watch_fps``, ``maskdepth_watch_stream_up``,
  ``maskdepth_watch_background_ready`` and the histogram ``maskdepth_watch_latency_seconds``
  (frame decoded → results written).

**Access.** It binds 127.0.0.1 by default. Another ``--host`` needs ``--token-file``: every
request must then carry the token, as ``Authorization: Bearer TOKEN`` or ``?token=TOKEN``
(the page passes it on to its stream and events), compared in constant time
(:func:`hmac.compare_digest`); anything else gets 401. The server speaks plain HTTP: to reach
it from elsewhere, put it behind a reverse proxy that terminates TLS (README, "Watching a
live camera"), and keep the token.
"""

from __future__ import annotations

import hmac
import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..errors import MaskDepthError

MJPEG_FPS = 10.0
"""Largest frame rate of ``/stream.mjpg``."""

LATENCY_BUCKETS = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
"""Bucket bounds (seconds) of ``maskdepth_watch_latency_seconds``."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskdepth watch</title>
<style>
body{font-family:system-ui,sans-serif;margin:1rem;background:#111;color:#eee}
#wrap{display:flex;gap:1rem;flex-wrap:wrap}
img{max-width:100%;background:#222;min-width:320px;min-height:240px}
#events{font-family:monospace;font-size:12px;max-height:70vh;overflow:auto;min-width:28rem}
td{padding:0 .6rem 0 0} small{color:#999}
</style></head><body>
<h1>maskdepth watch <small id="source"></small></h1>
<div id="wrap">
<div><img id="stream" alt="overlay"><table id="status"></table></div>
<div><h2>Events</h2><ol id="events" reversed></ol></div>
</div>
<p><small>Plain HTTP, 127.0.0.1 by default. To watch from elsewhere, serve it behind a reverse proxy that
terminates TLS (Caddy, nginx) and start watch with --host and --token-file; open the page with ?token=TOKEN.</small></p>
<script>
const q = new URLSearchParams(location.search); const tok = q.get("token");
const withTok = (u) => tok ? u + "?token=" + encodeURIComponent(tok) : u;
document.getElementById("stream").src = withTok("stream.mjpg");
const list = document.getElementById("events");
const es = new EventSource(withTok("events"));
es.onmessage = (m) => { const e = JSON.parse(m.data); const li = document.createElement("li");
  li.className = "event " + e.type; li.textContent = e.time + "  " + e.type + "  " + JSON.stringify(e);
  list.prepend(li); while (list.children.length > 200) list.lastChild.remove(); };
const rows = ["frames", "fps", "frames_dropped", "reconnects", "uptime_s"];
async function poll() {
  try { const s = await (await fetch(withTok("watch.json"))).json();
    document.getElementById("source").textContent = s.source;
    const t = document.getElementById("status"); t.innerHTML = "";
    for (const k of rows) t.insertRow().innerHTML = "<td>" + k + "</td><td class='" + k + "'>" + s[k] + "</td>";
    t.insertRow().innerHTML = "<td>latency p50/p99 ms</td><td>" + s.latency_ms.p50 + " / " + s.latency_ms.p99 + "</td>";
    t.insertRow().innerHTML = "<td>background</td><td class='background'>" + s.background.state + "</td>";
    t.insertRow().innerHTML = "<td>stream</td><td>" + (s.stream.lost ? "lost" : "up") + " " + s.stream.size.join("x") + "</td>";
  } catch (err) {}
  setTimeout(poll, 1000);
}
poll();
</script></body></html>
"""


def read_token(path: str) -> str:
    """The token of ``--token-file`` (surrounding whitespace removed).

    Raises: MaskDepthError: missing, unreadable or empty file, or a token under 16 characters.
    """
    try:
        tok = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise MaskDepthError(f"{path}: unreadable ({getattr(e, 'strerror', None) or e})", param="token_file") from None
    if len(tok) < 16:
        raise MaskDepthError(f"{path}: the token must be at least 16 characters", param="token_file")
    return tok


class _Collector:
    """prometheus-client collector reading the watch's counters at scrape time."""

    def __init__(self, watch):
        self.watch = watch

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        w = self.watch
        up = time.monotonic() - w.t_start
        yield CounterMetricFamily("maskdepth_watch_frames", "frames processed by this run", value=w.frames)
        yield CounterMetricFamily(
            "maskdepth_watch_frames_dropped", "frames replaced before they were processed", value=w.source.frames_dropped
        )
        yield CounterMetricFamily("maskdepth_watch_reconnects", "stream connections restored after a loss", value=w.source.reconnects)
        ev = CounterMetricFamily("maskdepth_watch_events", "events written, by type", labels=["type"])
        for k, v in sorted(w.events.items()):
            ev.add_metric([k], v)
        yield ev
        yield GaugeMetricFamily(
            "maskdepth_watch_fps", "frames processed per wall-clock second over the run", value=w.frames / up if up > 0 else 0
        )
        yield GaugeMetricFamily(
            "maskdepth_watch_stream_up", "1 while frames arrive, 0 while the stream is lost", value=0 if w.source.lost else 1
        )
        yield GaugeMetricFamily("maskdepth_watch_background_ready", "1 once the background is ready", value=1 if w.bgm.ready else 0)


class _HTTPServer(ThreadingHTTPServer):
    """One thread per client; a client that goes away mid-stream is normal (no traceback on stderr)."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass


class LiveServer:
    """The ``--serve`` HTTP server (see the module docstring).

    Args:
        watch: the running :class:`~maskdepth.live.watch.Watch`.
        host, port: where to listen (``port`` 0: any free port, see :attr:`port`).
        token: the required token, or ``None`` (loopback only: checked by the caller).
    Raises:
        MaskDepthError: the address cannot be bound (one line).
    """

    def __init__(self, watch, host: str, port: int, token: str | None = None):
        from prometheus_client import CollectorRegistry, Histogram

        self.watch, self.token = watch, token
        self.registry = CollectorRegistry()
        self.registry.register(_Collector(watch))
        self.latency = Histogram(
            "maskdepth_watch_latency_seconds", "frame decoded -> results written", buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.stopping = threading.Event()
        self.latest = None  # (seq, frame, result)
        self._shapes = None  # (engine, its zones and lines in pixels)
        self.seq = 0
        self.clients: list[queue.Queue] = []
        self.lock = threading.Lock()
        try:
            self.httpd = _HTTPServer((host, port), _handler(self))
        except OSError as e:
            raise MaskDepthError(f"cannot listen on {host}:{port}: {e.strerror or e}", param="serve") from None
        self.port = self.httpd.server_address[1]
        watch.listeners.append(self.push_event)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="maskdepth-watch-http", daemon=True
        )
        self.thread.start()

    def publish(self, frame, result) -> None:
        """After each frame (the loop's ``on_frame``; ``result``: a :class:`~maskdepth.live.watch.WatchFrame`
        or ``None``): keep it for the MJPEG stream, observe its latency."""
        self.latency.observe(max(0.0, time.monotonic() - frame.decoded_at))
        if result is not None:
            self.seq += 1
            self.latest = (self.seq, frame.image, result)

    def push_event(self, rec: dict) -> None:
        """Hand one event to every ``/events`` client (a slow client loses its oldest events)."""
        line = json.dumps(rec)
        with self.lock:
            for q in self.clients:
                if q.full():
                    try:
                        q.get_nowait()
                    except queue.Empty:
                        pass
                q.put_nowait(line)

    def stop(self) -> None:
        """Stop serving (open streams end within a second)."""
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def authorised(self, handler: BaseHTTPRequestHandler) -> bool:
        """The request carries the token (``Authorization: Bearer``, or ``?token=``), or none is required."""
        if self.token is None:
            return True
        auth = handler.headers.get("Authorization", "")
        given = auth[7:].strip() if auth.startswith("Bearer ") else (parse_qs(urlsplit(handler.path).query).get("token") or [""])[0]
        return hmac.compare_digest(given.encode(), self.token.encode())

    def overlay_jpeg(self, frame, result) -> bytes:
        """The overlay of one frame as JPEG bytes: the mask tinted, the zones and lines of ``zones``, each
        object's box, contact point and ``id - distance - speed`` label, its person's box (``person_bbox``), and the people
        hidden in a blob (dashed, :func:`~maskdepth.viz.draw_hidden`)."""
        import cv2

        from ..viz import draw_tracked

        engine = self.watch.engine
        if self._shapes is None or self._shapes[0] is not engine:
            self._shapes = (engine, engine.overlay_shapes())
        img = draw_tracked(frame, result.mask, self._shapes[1], result.objects, result.records, result.hidden)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        return buf.tobytes() if ok else b""


def _handler(server: LiveServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # no access log on stderr
            pass

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            route = urlsplit(self.path).path
            if not server.authorised(self):
                return self._send(401, b"token required\n", "text/plain")
            try:
                if route in ("/", "/index.html"):
                    return self._send(200, PAGE.encode(), "text/html; charset=utf-8")
                if route == "/watch.json":
                    return self._send(200, json.dumps(server.watch.status()).encode(), "application/json")
                if route == "/metrics":
                    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

                    return self._send(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)
                if route == "/stream.mjpg":
                    return self._mjpeg()
                if route == "/events":
                    return self._sse()
                return self._send(404, b"not found\n", "text/plain")
            except (BrokenPipeError, ConnectionResetError):
                return None

        def _mjpeg(self) -> None:
            _stream_mjpeg(self, server)

        def _sse(self) -> None:
            _stream_events(self, server)

    return Handler


def _stream_mjpeg(handler, server: LiveServer) -> None:
    """``/stream.mjpg``: the overlay as MJPEG, at most :data:`MJPEG_FPS` frames/s, until the client or the server stops."""
    handler.send_response(200)
    handler.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    last = 0
    while not server.stopping.is_set():
        latest = server.latest
        if latest is None or latest[0] == last:
            time.sleep(0.02)
            continue
        last = latest[0]
        jpg = server.overlay_jpeg(latest[1], latest[2])
        handler.wfile.write(
            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + str(len(jpg)).encode() + b"\r\n\r\n" + jpg + b"\r\n"
        )
        handler.wfile.flush()
        time.sleep(1.0 / MJPEG_FPS)


def _stream_events(handler, server: LiveServer) -> None:
    """``/events``: the events as Server-Sent Events (a comment every 10 s keeps proxies from closing it)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    q: queue.Queue = queue.Queue(maxsize=256)
    with server.lock:
        server.clients.append(q)
    try:
        handler.wfile.write(b": connected\n\n")
        handler.wfile.flush()
        quiet = time.monotonic()
        while not server.stopping.is_set():
            try:
                line = q.get(timeout=0.5)
            except queue.Empty:
                if time.monotonic() - quiet > 10:
                    handler.wfile.write(b": keep-alive\n\n")
                    handler.wfile.flush()
                    quiet = time.monotonic()
                continue
            handler.wfile.write(b"data: " + line.encode() + b"\n\n")
            handler.wfile.flush()
            quiet = time.monotonic()
    finally:
        with server.lock:
            server.clients.remove(q)


def start_server(watch, cfg) -> LiveServer:
    """Start ``--serve`` for ``watch`` with the settings of ``cfg`` (a :class:`~maskdepth.live.config.WatchConfig`).

    Raises: MaskDepthError: unreadable token file, or the address cannot be bound.
    """
    token = read_token(cfg.token_file) if cfg.token_file else None
    return LiveServer(watch, cfg.host, int(cfg.serve), token)
