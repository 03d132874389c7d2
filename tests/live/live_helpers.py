"""Helpers of the ``maskdepth watch`` tests: synthetic clips, a stand-in background model, the
RTSP server subprocess (GStreamer through the system Python), free ports.

The stand-in background model (:class:`StandInBackground`) implements the interface of
``maskdepth.live.background.BackgroundModel`` trivially (the first ``init_frames`` frames'
median; ``emit_every``: one ``absorbed`` event every that many frames), so the tests of the
loop, the outputs and the full disk do not depend on the background rules, which have tests
of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers import free_port

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SERVER = Path(__file__).with_name("rtsp_server.py")


@dataclass
class StandInConfig:
    absorb_after_s: float = 600.0
    stationary_after_s: float = 30.0
    init_frames: int = 3
    emit_every: int = 0


class StandInBackground:
    """The BackgroundModel interface, trivially (see the module docstring)."""

    def __init__(self, config: StandInConfig, bg: np.ndarray | None = None):
        self.config, self._bg, self._seen = config, bg, []
        self.n = 0

    @property
    def ready(self) -> bool:
        return self._bg is not None

    @property
    def background(self):
        return self._bg

    def status_json(self) -> dict:
        return {"state": "ready" if self.ready else "initialising", "stand_in": True}

    def initialise(self, frame, predict_prob) -> bool:
        self._seen.append(frame)
        if len(self._seen) >= self.config.init_frames:
            self._bg = np.median(np.stack(self._seen), axis=0).astype(np.uint8)
            self._seen = []
        return self.ready

    def update(self, frame, mask, prob, objects, t_s) -> list[dict]:
        self.n += 1
        if self.config.emit_every and self.n % self.config.emit_every == 0:
            return [{"type": "absorbed", "id": self.n, "bbox": [1, 2, 3, 4], "note": "stand-in"}]
        return []

    def save(self, directory) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self._bg).save(d / "bg.png")
        (d / "meta.json").write_text(json.dumps({"version": 1, "n": self.n}))

    @classmethod
    def load(cls, directory, config):
        d = Path(directory)
        if not (d / "bg.png").is_file():
            return None
        m = cls(config, np.asarray(Image.open(d / "bg.png").convert("RGB")))
        m.n = json.loads((d / "meta.json").read_text())["n"]
        m.loaded = True
        return m


def scene(h: int = 72, w: int = 96, seed: int = 0) -> np.ndarray:
    """uint8 (h, w, 3): a smooth random empty scene."""
    import cv2

    rng = np.random.default_rng(seed)
    coarse = rng.uniform(40, 210, size=(4, 5, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def walker_frames(bg: np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` frames of ``bg`` with a red block walking right and sensor noise."""
    rng = np.random.default_rng(seed)
    h, w = bg.shape[:2]
    out = []
    for i in range(n):
        f = bg.astype(np.float32) + rng.normal(0, 3, bg.shape)
        x = int(5 + i * (w - 30) / max(n - 1, 1))
        f[h // 4 : h - 4, x : x + 16] = (220, 40, 40)
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return out


def write_folder(d: Path, frames: list[np.ndarray], names=None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(d / (names[i] if names else f"img_{i:04d}.png"))
    return d


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for i, f in enumerate(frames):
            fr = av.VideoFrame.from_ndarray(f, format="rgb24")
            fr.pts = i
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def read_jsonl(path: Path) -> list[dict]:
    """Every line of a JSON-lines file, parsed (fails on a partial line)."""
    text = Path(path).read_text() if Path(path).exists() else ""
    assert text == "" or text.endswith("\n"), f"{path} ends with a partial line"
    return [json.loads(line) for line in text.splitlines()]


def gstreamer_missing() -> str | None:
    """Why the RTSP server cannot run here, or ``None`` when it can."""
    if not os.path.exists(SYSTEM_PYTHON):
        return "no /usr/bin/python3"
    probe = (
        "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0');"
        "from gi.repository import Gst, GstRtspServer; Gst.init(None);"
        "assert all(Gst.ElementFactory.find(e) for e in ('videotestsrc','x264enc','rtph264pay'))"
    )
    r = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=60)
    if r.returncode:
        return (
            "GStreamer RTSP server not installed (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 "
            f"gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav): {r.stderr.strip()[-200:]}"
        )
    return None


class RtspServer:
    """``tests/live/rtsp_server.py`` as a subprocess on 127.0.0.1 (``start``/``stop``/``kill`` again and again on one port)."""

    def __init__(self, port: int | None = None, *args: str):
        self.port, self.args, self.proc = port or free_port(), list(args), None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/test"

    def start(self, timeout: float = 30) -> RtspServer:
        cmd = [SYSTEM_PYTHON, str(RTSP_SERVER), "--port", str(self.port), *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            line = self.proc.stdout.readline()
            if line.startswith("READY"):
                return self
            if not line and self.proc.poll() is not None:
                break
        self.kill()
        raise RuntimeError(f"RTSP server did not start on port {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
