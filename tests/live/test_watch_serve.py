"""``maskdepth watch --serve``: /metrics (Prometheus), /watch.json, /events (Server-Sent Events),
/stream.mjpg (MJPEG), the token for another host, and the live page in headless Chromium (Playwright
on the system Chromium; skipped, with the reason, only when Chromium is absent).

The watch runs in a thread of the test process on a folder of frames paced at 25 frames/s
(``--realtime``) with the stand-in background model emitting an event every 5 frames.
"""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from PIL import Image

from tests.helpers import chromium_or_skip, free_port
from tests.live.live_helpers import StandInBackground, StandInConfig, scene, walker_frames, write_folder

pytest.importorskip("av")
pytest.importorskip("prometheus_client")

from maskdepth.errors import MaskDepthError  # noqa: E402
from maskdepth.live.config import WatchConfig  # noqa: E402
from maskdepth.live.source import FrameSource, SourceOptions, parse_source  # noqa: E402
from maskdepth.live.watch import run_watch  # noqa: E402

TOKEN = "tok-0123456789abcdef"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("cam") / "f", walker_frames(scene(120, 160), 500))  # 20 s at 25 frames/s


class Running:
    """``run_watch`` in a thread (the stand-in background, one event every 5 frames)."""

    def __init__(self, cfg: WatchConfig):
        self.cfg, self.result, self.error = cfg, None, None
        self.stop = threading.Event()
        kw = {"background_cls": StandInBackground, "background_config_cls": lambda **k: StandInConfig(emit_every=5, **k)}
        self.thread = threading.Thread(target=self._run, args=(kw,), daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{cfg.serve}"
        end = time.monotonic() + 60
        while time.monotonic() < end and self.thread.is_alive():
            try:
                urllib.request.urlopen(self._req("/watch.json"), timeout=2).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not start: {self.error}")

    def _run(self, kw):
        try:
            self.result = run_watch(self.cfg, stop=self.stop, **kw)
        except BaseException as e:  # reported by the test
            self.error = e

    def _req(self, path: str, token: str | None = None):
        r = urllib.request.Request(self.base + path)
        if token:
            r.add_header("Authorization", f"Bearer {token}")
        return r

    def get(self, path: str, token: str | None = None, timeout: float = 10):
        return urllib.request.urlopen(self._req(path, token), timeout=timeout)

    def join(self, stop: bool = False):
        if stop:
            self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive() and self.error is None, self.error


def test_routes(tmp_path, folder):
    port = free_port()
    cfg = WatchConfig(source=str(folder), out=str(tmp_path / "out"), realtime=True, serve=port, duration=8)
    w = Running(cfg)
    st = json.loads(w.get("/watch.json").read())
    assert st["source"] == str(folder) and "latency_ms" in st
    with w.get("/events") as r:  # Server-Sent Events: one `data:` JSON line per event
        assert r.headers["Content-Type"] == "text/event-stream"
        line = ""
        while not line.startswith("data: "):
            line = r.readline().decode()
        ev = json.loads(line[6:])
        assert ev["type"] == "absorbed" and {"time", "t_s", "frame"} <= set(ev)
    with w.get("/stream.mjpg") as r:  # MJPEG: multipart parts of JPEG images
        assert r.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        assert r.readline().strip() == b"--frame"
        headers = {}
        while (h := r.readline().strip()) != b"":
            k, v = h.decode().split(": ", 1)
            headers[k] = v
        img = Image.open(io.BytesIO(r.read(int(headers["Content-Length"]))))
        assert headers["Content-Type"] == "image/jpeg" and img.size == (160, 120)
    text = w.get("/metrics").read().decode()
    for name in (
        "maskdepth_watch_frames_total",
        "maskdepth_watch_frames_dropped_total",
        "maskdepth_watch_reconnects_total",
        "maskdepth_watch_fps",
    ):
        assert name in text
    assert 'maskdepth_watch_events_total{type="absorbed"}' in text and "maskdepth_watch_latency_seconds_bucket" in text
    frames = float(next(x for x in text.splitlines() if x.startswith("maskdepth_watch_frames_total")).split()[-1])
    assert frames > 0
    with pytest.raises(urllib.error.HTTPError) as e:
        w.get("/nope")
    assert e.value.code == 404
    # the MJPEG stream is itself a SOURCE for watch: http:// read by FFmpeg (multipart JPEG)
    src = FrameSource(parse_source(f"{w.base}/stream.mjpg"), SourceOptions(open_timeout=10, stall_timeout=5)).open()
    try:
        got = [f for f in (src.read(2.0) for _ in range(20)) if f is not None][:3]
    finally:
        src.close()
    assert len(got) == 3 and all(f.image.shape == (120, 160, 3) for f in got) and src.spec.live
    w.join()
    assert w.result["stop_reason"] == "duration"


def test_other_host_needs_token(tmp_path, folder):
    with pytest.raises(MaskDepthError, match="token_file"):
        run_watch(WatchConfig(source=str(folder), out=str(tmp_path / "o"), serve=free_port(), host="0.0.0.0"))
    assert not (tmp_path / "o").exists()
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(MaskDepthError, match="at least 16"):
        run_watch(
            WatchConfig(source=str(folder), out=str(tmp_path / "o"), serve=free_port(), host="0.0.0.0", token_file=str(tmp_path / "short"))
        )
    assert not (tmp_path / "o").exists()
    (tmp_path / "tok").write_text(TOKEN + "\n")
    port = free_port()
    w = Running(
        WatchConfig(
            source=str(folder),
            out=str(tmp_path / "o"),
            serve=port,
            host="0.0.0.0",
            token_file=str(tmp_path / "tok"),
            realtime=True,
            duration=8,
        )
    )
    for path, tok in (("/watch.json", None), ("/metrics", "wrong-token-0123456789"), ("/", None)):
        with pytest.raises(urllib.error.HTTPError) as e:
            w.get(path, tok)
        assert e.value.code == 401
    assert w.get("/metrics", TOKEN).status == 200
    assert w.get(f"/watch.json?token={TOKEN}").status == 200
    w.join(stop=True)


def test_live_page_in_headless_chromium(tmp_path, folder):
    exe = chromium_or_skip("the live page")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed")
    port = free_port()
    w = Running(WatchConfig(source=str(folder), out=str(tmp_path / "out"), realtime=True, serve=port, duration=25))
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
    ]
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=exe, headless=True, args=args)
        try:
            page = ctx.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(w.base + "/")
            page.wait_for_function("document.getElementById('stream').naturalWidth === 160", timeout=20_000)
            page.wait_for_selector("#events li.event.absorbed", timeout=20_000)
            page.wait_for_function("Number(document.querySelector('#status td.frames')?.textContent) > 0", timeout=20_000)
            assert page.inner_text("#source") == str(folder)
            page.screenshot(path=str(tmp_path / "live_page.png"))
            assert not errors, errors
        finally:
            ctx.close()
    w.join(stop=True)
    assert w.result["stop_reason"] == "stopped" and not w.result["running"]


BLOCKER = """
import sys


class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _Block())
"""


@pytest.mark.parametrize(
    "blocked, flags, extra, module",
    [(("prometheus_client",), ["--serve", "8766"], "live", "prometheus_client"), (("av",), [], "video", "av")],
)
def test_missing_extra_one_line(tmp_path, folder, blocked, flags, extra, module):
    import os
    import subprocess
    import sys

    from tests.live.live_helpers import REPO

    d = tmp_path / "blocker"
    d.mkdir()
    (d / "sitecustomize.py").write_text(BLOCKER.format(blocked=blocked))
    env = {k: v for k, v in os.environ.items() if k not in ("MASKDEPTH_DEBUG", "PYTHONPATH")}
    env.update(PYTHONPATH=os.pathsep.join([str(d), str(REPO)]), OMP_NUM_THREADS="1")
    r = subprocess.run(
        [sys.executable, "-m", "maskdepth.cli", "watch", str(folder), "--out", str(tmp_path / "o"), *flags],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"needs the [{extra}] extra: pip install 'maskdepth[{extra}]' ({module} is not installed)" in r.stderr
    assert not (tmp_path / "o").exists()
