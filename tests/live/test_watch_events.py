"""``maskdepth watch`` with the events package: zones and lines on a folder clip (zone_enter / zone_exit /
line_cross, speeds and floor positions in objects.jsonl), stdout, a webhook that is down (counted in
watch.json, never blocking the loop), and a real Mosquitto broker.

The clip is the two-walker clip of ``tests/video/test_video_objects.py`` (known camera, a stand-in
predictor that thresholds |frame - bg|) written as a folder of PNG frames; the background model is
the stand-in of ``live_helpers`` (these tests are about the events, not the background rules).
"""

from __future__ import annotations

import collections
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from tests.helpers import free_port
from tests.live.live_helpers import StandInBackground, StandInConfig, read_jsonl, write_folder

pytest.importorskip("av")

from maskdepth.errors import MaskDepthError  # noqa: E402
from maskdepth.live.config import WatchConfig  # noqa: E402
from maskdepth.live.source import FOLDER_FPS  # noqa: E402
from maskdepth.live.watch import run_watch  # noqa: E402
from tests.events.test_events_sinks import MOSQUITTO, Broker, Subscriber, wait_for  # noqa: E402
from tests.video.test_video_objects import CAM, WALKERS, DiffPredictor, clip_frames, floor_bg  # noqa: E402

ZONES = {
    "zones": [{"name": "left", "polygon_px": [[0, 60], [60, 60], [60, 119], [0, 119]]}],
    "lines": [{"name": "middle", "px": [[80, 0], [80, 119]]}],
}
STAND_IN = {"background_cls": StandInBackground, "background_config_cls": lambda **k: StandInConfig(**k)}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(folder of frames, bg.png, camera.json, zones.json)."""
    from maskdepth.io import save_png
    from maskdepth.scene import save_camera

    d = tmp_path_factory.mktemp("watch_walkers")
    save_png(d / "bg.png", floor_bg())
    save_camera(CAM, d / "camera.json")
    (d / "zones.json").write_text(json.dumps(ZONES))
    return write_folder(d / "frames", clip_frames()), d / "bg.png", d / "camera.json", d / "zones.json"


def watch(clip, out, **kw) -> dict:
    frames, bg, cam, zones = clip
    cfg = WatchConfig(source=str(frames), out=str(out), bg=str(bg), camera=str(cam), zones=str(zones), quiet=True, **kw)
    return run_watch(cfg, predictor=DiffPredictor(), **STAND_IN)


def test_zones_and_lines_give_their_events_and_speeds(tmp_path, clip, capsys):
    out = tmp_path / "out"
    st = watch(clip, out, events_stdout=True)
    events = read_jsonl(out / "events.jsonl")
    kinds = [e["type"] for e in events]
    cross = sorted(e["from_side"] for e in events if e["type"] == "line_cross")
    # walker 0 goes right (from the line's right-hand side: the line points down the image), walker 1 goes left
    assert cross == ["left", "right"], events
    assert kinds.count("enter") >= 2 and kinds.count("exit") == kinds.count("enter")
    assert kinds.count("zone_enter") == kinds.count("zone_exit") >= 1  # the near walker's feet pass through "left"
    assert all(e["zone"] == "left" for e in events if e["type"].startswith("zone_"))
    assert all(list(e)[:4] == ["type", "time", "t_s", "frame"] for e in events)
    assert st["events"] == dict(collections.Counter(kinds)) and st["sink_failures"] == 0
    assert st["sinks"]["JsonlSink"]["events_written"] == len(events) == st["sinks"]["StdoutSink"]["events_printed"]
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed == events  # --events-stdout: the same lines
    # objects.jsonl: floor positions and speeds (the camera is known); the near walker moves 3.6 px/frame at its depth
    lines = read_jsonl(out / "objects.jsonl")
    assert all("floor_xy_m" in o and "speed_m_s" in o for r in lines for o in r["objects"])
    v, z = WALKERS[0][0], float(CAM.floor_depth(80, WALKERS[0][0]))
    true_speed = 3.6 * FOLDER_FPS * z / CAM.focal_px  # lateral: metres per pixel at depth z, frames at FOLDER_FPS
    speeds = [o["speed_m_s"] for r in lines[15:25] for o in r["objects"] if o["id"] and o["contact_px"] and abs(o["contact_px"][1] - v) < 3]
    speeds = [s for s in speeds if s is not None]
    assert speeds and np.median(speeds) == pytest.approx(true_speed, rel=0.15)
    assert any(o["floor_xy_m"] is not None for r in lines for o in r["objects"])


def test_bad_zones_and_sinks_fail_before_anything_is_written(tmp_path, clip):
    frames, bg, _, _ = clip
    zp = tmp_path / "zones.json"
    zp.write_text(json.dumps({"zones": [{"name": "z", "polygon_floor_m": [[0, 1], [1, 1], [1, 2]]}]}))
    out = tmp_path / "out"
    for kw, msg in (
        ({"zones": str(zp)}, "needs a camera"),
        ({"webhook": "ftp://x"}, "webhook must be an http"),
        ({"mqtt": "host:99999"}, "mqtt port must be"),
        ({"camera_name": "a/b"}, "camera_name must be"),
    ):
        with pytest.raises(MaskDepthError, match=msg) as e:
            run_watch(WatchConfig(source=str(frames), out=str(out), bg=str(bg), **kw), predictor=DiffPredictor(), **STAND_IN)
        assert "\n" not in str(e.value) and not out.exists()


class _SlowFailing(BaseHTTPRequestHandler):
    """Answers every POST with 500 after 1 s (an endpoint that is down behind a proxy)."""

    hits = 0

    def do_POST(self):  # noqa: N802 (http.server's name)
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(1.0)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.mark.parametrize("down", ["500", "not listening"])
def test_webhook_that_is_down_is_counted_and_never_blocks(tmp_path, clip, down):
    srv = None
    if down == "500":
        srv = ThreadingHTTPServer(("127.0.0.1", 0), _SlowFailing)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        url = f"http://user:secret@127.0.0.1:{srv.server_address[1]}/hook"
    else:
        url = f"http://user:secret@127.0.0.1:{free_port()}/hook"
    try:
        t = time.monotonic()
        st = watch(clip, tmp_path / "out", webhook=url)
        took = time.monotonic() - t
    finally:
        if srv is not None:
            srv.shutdown()
            srv.server_close()
    events = read_jsonl(tmp_path / "out" / "events.jsonl")
    hook = st["sinks"]["WebhookSink"]
    assert len(events) >= 6 and hook["posted"] == 0
    assert st["sink_failures"] == hook["failed"] + hook["dropped"] >= 1
    assert hook["last_error"] is not None and "secret" not in json.dumps(st)
    # the loop never waited for the endpoint: no frame took anywhere near a request's second, and the
    # whole run (36 frames, then at most ~2 s of draining and a join at exit) is far shorter than one try per event
    assert st["latency_ms"]["max"] < 800, st["latency_ms"]
    assert took < 20 and json.loads((tmp_path / "out" / "watch.json").read_text())["sink_failures"] == st["sink_failures"]


@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed (.ci/run installs it)")
def test_mqtt_gets_the_events_and_objects(tmp_path, clip):
    pytest.importorskip("paho.mqtt.client")
    port = free_port()
    broker = Broker(tmp_path, port)
    broker.start()
    sub = Subscriber(port, "maskdepth/cam1/#")
    try:
        assert wait_for(lambda: sub.connected, 10)
        st = watch(clip, tmp_path / "out", mqtt=f"127.0.0.1:{port}", camera_name="cam1", realtime=True)
        events = read_jsonl(tmp_path / "out" / "events.jsonl")
        got = lambda topic: [m for t, m in sub.got if t == topic]  # noqa: E731
        assert wait_for(lambda: len(got("maskdepth/cam1/events")) == len(events), 10), (len(sub.got), len(events))
        assert got("maskdepth/cam1/events") == events  # QoS 1: every event, in order
        objs = got("maskdepth/cam1/objects")
        assert objs and all(set(r) in ({"frame", "t_s", "objects"}, {"frame", "t_s", "objects", "hidden"}) for r in objs)
        lines = read_jsonl(tmp_path / "out" / "objects.jsonl")  # the same objects and hidden people as objects.jsonl
        assert [(r["objects"], r.get("hidden")) for r in objs] == [(r["objects"], r.get("hidden")) for r in lines[-len(objs) :]]
        assert st["sinks"]["MqttSink"]["published"] >= len(events) and st["sinks"]["MqttSink"]["broker"] == f"127.0.0.1:{port}"
    finally:
        sub.close()
        broker.stop()


def test_live_overlay_draws_zones_lines_ids_distances_speeds():
    """The MJPEG overlay of ``--serve``: the zones (tinted) and lines of zones.json, each object's box and
    its ``id - distance - speed`` label."""
    import types

    import cv2

    from maskdepth.events import EventEngine, parse_zones
    from maskdepth.live.server import LiveServer
    from maskdepth.live.watch import WatchFrame

    def draw(zones, speed, hidden=()):
        srv = types.SimpleNamespace(watch=types.SimpleNamespace(engine=EventEngine(zones, image_size=(160, 120))), _shapes=None)
        o = types.SimpleNamespace(id=3, bbox=(90, 20, 120, 100), contact_px=(105.0, 100.0), distance_m=4.2, height_m=1.7)
        out = WatchFrame(types.SimpleNamespace(mask=np.zeros((120, 160), bool)), [o], [{"speed_m_s": speed}], list(hidden))
        jpg = LiveServer.overlay_jpeg(srv, np.full((120, 160, 3), 90, np.uint8), out)
        return cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR).astype(int)

    plain, drawn = draw(None, None), draw(parse_zones(ZONES), 1.25)
    with_hidden = draw(None, None, [{"id": 7, "bbox": [130, 30, 155, 110]}])
    assert np.abs(with_hidden[28:33, 130:136] - plain[28:33, 130:136]).mean() > 10  # the hidden person's dashed box
    assert np.abs(drawn[95:105, 20:40] - plain[95:105, 20:40]).mean() > 5  # inside the zone "left": tinted
    assert np.abs(drawn[30:40, 140:150] - plain[30:40, 140:150]).mean() < 3  # elsewhere untouched
    assert np.abs(drawn[30:50, 79:82] - plain[30:50, 79:82]).mean() > 20  # the line "middle" at x = 80
    assert np.abs(drawn[5:18, 90:160] - plain[5:18, 90:160]).mean() > 3  # the label is longer with a speed
    assert np.abs(plain[40:60, 89:92] - 90).mean() > 20  # the box
