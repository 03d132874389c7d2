"""Event sinks against real things: a file (and a file-size limit standing in for a full disk), an
http.server on 127.0.0.1 (and a port where nothing listens), a Mosquitto broker the test starts,
stops and starts again."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.events.sinks import (
    JsonlSink,
    MqttSink,
    StdoutSink,
    WebhookSink,
    check_url,
    delivery_warnings,
    parse_host_port,
    redact_url,
)
from tests.helpers import free_port


def ev(k: int) -> dict:
    return {"type": "enter", "time": "2026-01-01T00:00:00.000Z", "t_s": k / 10, "frame": k, "id": k}


def wait_for(cond, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


# ---------------------------------------------------------------------------- events.jsonl, stdout
def test_jsonl_appends_whole_lines_and_never_rewrites(tmp_path):
    p = tmp_path / "events.jsonl"
    p.write_text('{"type":"stream_lost"}\n')
    s = JsonlSink(p)
    s.emit([ev(1), ev(2)])
    assert len(p.read_text().splitlines()) == 3  # on disk when emit returns
    s.close()
    s2 = JsonlSink(p)
    s2.emit([ev(3)])
    s2.close()
    lines = [json.loads(x) for x in p.read_text().splitlines()]
    assert lines[0] == {"type": "stream_lost"} and [e["id"] for e in lines[1:]] == [1, 2, 3]
    assert s2.stats() == {"events_written": 1}


def test_jsonl_full_disk_leaves_no_partial_line(tmp_path):
    """RLIMIT_FSIZE makes write() stop short at a byte limit, as a full disk does: the sink cuts the
    partial tail and says so in one line."""
    p = tmp_path / "events.jsonl"
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))
        from maskdepth.errors import MaskDepthError
        from maskdepth.events.sinks import JsonlSink
        s = JsonlSink({str(p)!r})
        ev = lambda k: {{"type": "enter", "time": "2026-01-01T00:00:00.000Z", "t_s": k, "frame": k, "id": k}}
        try:
            for k in range(20):
                s.emit([ev(k), ev(k + 100)])
        except MaskDepthError as e:
            print(e)
            sys.exit(2)
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stdout.count("\n") == 1 and "cannot write events" in r.stdout
    text = p.read_text()
    assert text.endswith("\n") and all(json.loads(line)["type"] == "enter" for line in text.splitlines())
    assert len(text) <= 300


def test_stdout_sink():
    buf = io.StringIO()
    s = StdoutSink(buf)
    s.emit([ev(1)])
    assert json.loads(buf.getvalue())["id"] == 1 and s.stats()["events_printed"] == 1


def test_urls_and_brokers_are_validated():
    with pytest.raises(MaskDepthError, match="http:// or https://"):
        check_url("ftp://x/y")
    with pytest.raises(MaskDepthError) as e:
        check_url("rtsp://user:secret@cam/x")
    assert "secret" not in str(e.value)
    assert redact_url("https://u:p@h:8/a@b") == "https://***@h:8/a@b"
    assert parse_host_port("broker") == ("broker", 1883) and parse_host_port("b:1884") == ("b", 1884)
    assert parse_host_port("[::1]:1884") == ("::1", 1884) and parse_host_port("[::1]") == ("::1", 1883)
    for bad in (":1883", "b:0", "b:x", "bad:host:99", "[]:1883"):
        with pytest.raises(MaskDepthError):
            parse_host_port(bad)


# ---------------------------------------------------------------------------- webhook
class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv = self.server
        with srv.lock:
            srv.calls += 1
            fail = srv.calls <= srv.fail_first
            if not fail:
                srv.bodies.append(json.loads(body))
        self.send_response(srv.fail_code if fail else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def hook():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    srv.lock, srv.calls, srv.fail_first, srv.fail_code, srv.bodies = threading.Lock(), 0, 0, 500, []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    t.join(5)


def test_webhook_posts_every_event_and_retries(hook):
    hook.fail_first = 2  # the first event is refused twice, then accepted
    s = WebhookSink(f"http://127.0.0.1:{hook.server_address[1]}/events", backoff_s=0.05)
    s.emit([ev(k) for k in range(5)])
    assert wait_for(lambda: len(hook.bodies) == 5, 10)
    s.close()
    assert [b["id"] for b in hook.bodies] == list(range(5))
    st = s.stats()
    assert st["posted"] == 5 and st["retries"] == 2 and st["failed"] == 0 and st["dropped"] == 0


def test_webhook_client_errors_are_not_retried(hook):
    hook.fail_first, hook.fail_code = 1, 400  # the first event is refused for good
    s = WebhookSink(f"http://127.0.0.1:{hook.server_address[1]}/events", backoff_s=0.05)
    s.emit([ev(0), ev(1)])
    assert wait_for(lambda: len(hook.bodies) == 1, 10)
    s.close()
    st = s.stats()
    assert st["failed"] == 1 and st["retries"] == 0 and st["posted"] == 1 and st["last_error"] == "HTTPError 400"
    assert hook.calls == 2


def test_webhook_that_is_down_never_blocks_and_is_counted():
    s = WebhookSink(f"http://127.0.0.1:{free_port()}/events", max_queue=50, timeout_s=0.5, max_retries=2, backoff_s=0.05, backoff_max_s=0.1)
    t0 = time.perf_counter()
    for k in range(200):
        s.emit([ev(k)])
    emit_s = time.perf_counter() - t0
    assert emit_s < 0.5, f"emit blocked for {emit_s:.2f} s"
    assert wait_for(lambda: s.stats()["failed"] >= 2, 10)
    t0 = time.perf_counter()
    s.close(drain_s=0.5)
    assert time.perf_counter() - t0 < 3.0
    st = s.stats()
    assert st["dropped"] >= 200 - 50 - 1 and st["failed"] >= 2 and st["posted"] == 0
    assert st["failed"] + st["dropped"] == 200 and st["last_error"]
    (line,) = delivery_warnings({"WebhookSink": st, "JsonlSink": {"events_written": 200}})
    assert line.startswith(f"webhook: {st['failed']} events failed and {st['dropped']} were dropped (last error: ")


# ---------------------------------------------------------------------------- MQTT
MOSQUITTO = shutil.which("mosquitto") or (shutil.which("mosquitto", path="/usr/sbin") if sys.platform != "win32" else None)


class Broker:
    """A Mosquitto broker on 127.0.0.1:port, no persistence, anonymous."""

    def __init__(self, tmp_path, port: int):
        self.conf = tmp_path / "mosquitto.conf"
        self.conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.port, self.proc = port, None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        assert wait_for(up, 10), "mosquitto did not start"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Subscriber:
    def __init__(self, port: int, topic: str):
        import paho.mqtt.client as mqtt

        self.got, self.connected = [], False
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub")
        self.c.reconnect_delay_set(1, 1)

        def on_connect(client, userdata, flags, rc, props=None):
            client.subscribe(topic, qos=1)

        def on_subscribe(client, userdata, mid, rcs, props=None):
            self.connected = True

        def on_disconnect(client, userdata, flags, rc, props=None):
            self.connected = False

        self.c.on_connect, self.c.on_subscribe, self.c.on_disconnect = on_connect, on_subscribe, on_disconnect
        self.c.on_message = lambda client, userdata, msg: self.got.append((msg.topic, json.loads(msg.payload)))
        self.c.connect_async("127.0.0.1", port)
        self.c.loop_start()

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed (.ci/run installs it)")
def test_mqtt_events_and_objects_survive_a_broker_restart(tmp_path):
    pytest.importorskip("paho.mqtt.client")
    port = free_port()
    broker = Broker(tmp_path, port)
    broker.start()
    sub = sink = None
    try:
        sub = Subscriber(port, "maskdepth/cam1/#")
        assert wait_for(lambda: sub.connected, 10)
        sink = MqttSink(f"127.0.0.1:{port}", camera="cam1", reconnect_max_s=1)
        assert wait_for(lambda: sink.connected, 10)
        sink.emit([ev(1), ev(2)])
        sink.objects({"frame": 0, "objects": []})
        assert wait_for(lambda: len(sub.got) == 3, 10)
        assert {t for t, _ in sub.got} == {"maskdepth/cam1/events", "maskdepth/cam1/objects"}

        broker.stop()
        assert wait_for(lambda: not sink.connected, 10)
        t0 = time.perf_counter()
        sink.emit([ev(3)])  # while the broker is away: queued, never blocks
        assert time.perf_counter() - t0 < 0.2
        broker.start()
        assert wait_for(lambda: sink.connected and sub.connected, 15), "no reconnection after the broker came back"
        sink.emit([ev(4), ev(5)])
        assert wait_for(lambda: {4, 5} <= {m["id"] for t, m in sub.got if t.endswith("events")}, 10)
        ids = [m["id"] for t, m in sub.got if t.endswith("events")]
        st = sink.stats()
        assert st["connects"] >= 2 and st["disconnects"] >= 1 and st["dropped"] == 0
        assert delivery_warnings({"MqttSink": st}) == []  # everything reached the broker
        print("ids received:", ids)  # 3 arrives too when paho's queue outlives the broker's absence
    finally:
        if sink is not None:
            sink.close()
        if sub is not None:
            sub.close()
        broker.stop()


def test_mqtt_bad_camera_name():
    pytest.importorskip("paho.mqtt.client")
    with pytest.raises(MaskDepthError, match="camera name"):
        MqttSink("127.0.0.1:1", camera="a/b")


def test_mqtt_broker_never_reached_is_said_at_the_end():
    """No broker on the port: publishing never blocks, and the end-of-run summary says what was lost."""
    pytest.importorskip("paho.mqtt.client")
    sink = MqttSink(f"127.0.0.1:{free_port()}", camera="cam1", reconnect_max_s=1)
    try:
        sink.emit([ev(1), ev(2)])
        sink.objects({"frame": 0, "objects": []})
        time.sleep(0.3)
        st = sink.stats()
    finally:
        sink.close(drain_s=0.2)
    assert st["connects"] == 0 and not st["connected"]
    (line,) = delivery_warnings({"MqttSink": st})
    assert line.startswith(f"MQTT broker 127.0.0.1:{sink.port} was never reached")
