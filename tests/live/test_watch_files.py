"""``maskdepth watch`` on folders and video files: outputs, stops, resume, bad inputs, a full disk.

The loop's tests use a stand-in background model (``live_helpers.StandInBackground``); the
SIGTERM-and-resume test runs the real command (real background model, shipped model) in a
subprocess.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.live.live_helpers import (
    REPO,
    StandInBackground,
    StandInConfig,
    read_jsonl,
    scene,
    walker_frames,
    write_folder,
    write_video,
)

pytest.importorskip("av")

from maskdepth.cli import main  # noqa: E402
from maskdepth.errors import MaskDepthError  # noqa: E402
from maskdepth.live.config import WatchConfig  # noqa: E402
from maskdepth.live.outputs import JsonLinesLog  # noqa: E402
from maskdepth.live.source import FrameSource, iter_source, parse_source, redact  # noqa: E402
from maskdepth.live.watch import run_watch  # noqa: E402

H, W = 72, 96


def stand_in(emit_every: int = 0, init_frames: int = 3):
    return {
        "background_cls": StandInBackground,
        "background_config_cls": lambda **k: StandInConfig(emit_every=emit_every, init_frames=init_frames, **k),
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("frames") / "cam", walker_frames(scene(H, W), 16))


def test_redact_every_url():
    s = "cannot open rtsp://admin:pa55@10.0.0.2:554/s and HTTPS://u@h/x?y; rtsp://cam/x stays"
    assert redact(s) == "cannot open rtsp://***@10.0.0.2:554/s and HTTPS://***@h/x?y; rtsp://cam/x stays"
    assert "pa55" not in redact(s)


def test_folder_sorted_by_name_any_names(tmp_path):
    names = ["b.png", "a10.png", "a2.jpg", "c.bmp", "notes.txt"]
    d = tmp_path / "f"
    d.mkdir()
    for i, n in enumerate(names[:4]):
        Image.fromarray(np.full((8, 8, 3), 10 * (i + 1), np.uint8)).save(d / n)
    (d / "notes.txt").write_text("not a frame")
    src = FrameSource(parse_source(str(d))).open()
    try:
        got = [(f.index, int(f.image[0, 0, 0])) for f in iter_source(src)]
    finally:
        src.close()
    # sorted: a10.png (20), a2.jpg (30), b.png (10), c.bmp (40)
    assert [k for k, _ in got] == [0, 1, 2, 3]
    assert [v for _, v in got][:1] == [20] and abs(got[1][1] - 30) <= 2 and got[2][1] == 10 and got[3][1] == 40


def test_video_file_every_frame_in_order(tmp_path):
    frames = [np.full((32, 48, 3), 8 * i, np.uint8) for i in range(12)]
    src = FrameSource(parse_source(str(write_video(tmp_path / "c.mp4", frames, fps=10)))).open()
    try:
        got = list(iter_source(src))
    finally:
        src.close()
    assert [f.index for f in got] == list(range(12))
    assert np.allclose([f.t_s for f in got], np.arange(12) / 10, atol=1e-6)
    assert src.frames_dropped == 0


def test_folder_outputs(tmp_path, folder):
    out = tmp_path / "out"
    st = run_watch(WatchConfig(source=str(folder), out=str(out), save_masks=True), **stand_in(emit_every=4))
    n = 16 - 2  # the stand-in is ready with the 3rd frame, which is processed too
    assert st["frames"] == n and st["frames_initialising"] == 2 and st["stop_reason"] == "end of source"
    assert st["frames_dropped"] == 0 and st["reconnects"] == 0 and st["fps"] > 0
    assert st["latency_ms"]["n"] == n and 0 < st["latency_ms"]["p50"] <= st["latency_ms"]["p99"]
    assert st["stage_ms"]["network"] > 0 and st["stage_ms"]["measure_track"] > 0 and st["stage_ms"]["background_update"] >= 0
    assert json.loads((out / "watch.json").read_text()) == st
    assert st["tracker"]["appearance_w"] == 1.0 and st["tracker"]["appearance_relink"] == 0.8  # colour on by default
    objs = read_jsonl(out / "objects.jsonl")
    assert [r["frame"] for r in objs] == list(range(2, 16))
    assert all(set(r) == {"frame", "time_s", "objects"} for r in objs)
    assert objs[1]["time_s"] == pytest.approx(3 / 25)
    masks = sorted((out / "masks").iterdir(), key=lambda p: int(p.stem))
    assert [int(p.stem) for p in masks] == list(range(2, 16))
    m = np.asarray(Image.open(masks[0]))
    assert m.shape == (H, W) and set(np.unique(m)) <= {0, 255}
    assert all({"floor_xy_m", "speed_m_s"} <= set(o) for r in objs for o in r["objects"])
    ev = read_jsonl(out / "events.jsonl")  # one writer: the background's events and the engine's
    assert all(list(e)[:4] == ["type", "time", "t_s", "frame"] and e["time"].endswith("Z") for e in ev)
    bg_ev = [e for e in ev if e.get("note") == "stand-in"]
    assert len(bg_ev) == n // 4 and all(e["type"] == "absorbed" for e in bg_ev)
    assert bg_ev[0]["frame"] == 5 and bg_ev[0]["t_s"] == pytest.approx(5 / 25)
    kinds = [e["type"] for e in ev if e.get("note") != "stand-in"]
    assert kinds.count("enter") >= 1 and kinds.count("enter") == kinds.count("exit"), kinds  # the tracks end with the source
    assert st["events"] == dict(collections.Counter(e["type"] for e in ev)) and st["sink_failures"] == 0
    state = json.loads((out / "state" / "watch_state.json").read_text())
    assert state["version"] == 1 and state["next_frame"] == 16


def test_no_track_colour(tmp_path, folder):
    """``--no-track-colour``: watch's tracker tracks by position alone (watch.json says so)."""
    st = run_watch(WatchConfig(source=str(folder), out=str(tmp_path / "o"), max_frames=4, track_colour=False), **stand_in())
    assert st["tracker"]["appearance_w"] == 0.0 and st["tracker"]["appearance_relink"] is None


def test_person_detector_runs_on_every_frame_watched(tmp_path, folder, monkeypatch):
    """``--person-detector``: watch loads the ONNX detector once and runs it on each frame it measures."""
    from maskdepth.inference import detector
    from tests.helpers import fixed_output_onnx

    rows = np.zeros((16, 6), np.float32)
    path = fixed_output_onnx(tmp_path / "person.onnx", rows.T[None])
    calls, detect = [], detector.PersonDetector.detect
    monkeypatch.setattr(detector.PersonDetector, "detect", lambda self, rgb: calls.append(rgb.shape) or detect(self, rgb))
    st = run_watch(WatchConfig(source=str(folder), out=str(tmp_path / "o"), max_frames=5, person_detector=path), **stand_in())
    assert st["frames"] == 5 and calls == [(H, W, 3)] * 5


def test_max_frames_and_resume_continue(tmp_path, folder):
    out = tmp_path / "out"
    st = run_watch(WatchConfig(source=str(folder), out=str(out), max_frames=4), **stand_in())
    assert st["frames"] == 4 and st["stop_reason"] == "max_frames" and not st["resumed"]
    st2 = run_watch(WatchConfig(source=str(folder), out=str(out)), **stand_in())
    assert st2["resumed"] and st2["frames_initialising"] == 0  # the saved background, no new initialisation
    assert st2["frames"] == 16 - 6 and st2["frames_total"] == 16 - 2
    frames = [r["frame"] for r in read_jsonl(out / "objects.jsonl")]
    assert frames == list(range(2, 16))  # continued after frame 5, nothing twice


def test_duration_stops(tmp_path, folder):
    t = time.monotonic()
    st = run_watch(WatchConfig(source=str(folder), out=str(tmp_path / "o"), realtime=True, duration=0.3), **stand_in())
    assert st["stop_reason"] == "duration" and time.monotonic() - t < 10


def test_partial_line_cut_on_reopen(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text('{"a":1}\n{"b":')
    log = JsonLinesLog(p)
    log.write({"c": 3})
    log.close()
    assert read_jsonl(p) == [{"a": 1}, {"c": 3}]


def _tiny_fs(path: Path) -> bool:
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def test_full_disk_on_events(tmp_path):
    """events.jsonl on a full filesystem: one-line error, no partial line (a 64 KiB tmpfs when mount
    is permitted, else /dev/full, where every write fails)."""
    folder = write_folder(tmp_path / "cam", walker_frames(scene(H, W), 60))  # 58 events of ~130 bytes > the page left
    out = tmp_path / "out"
    out.mkdir()
    small = tmp_path / "small"
    mounted = _tiny_fs(small)
    try:
        if mounted:
            (small / "filler").write_bytes(b"x" * (60 * 1024))  # leaves one page or less
            target = small / "events.jsonl"
        else:
            target = Path("/dev/full")
            if not target.exists():
                pytest.skip("neither mount nor /dev/full is available")
        os.symlink(target, out / "events.jsonl")
        with pytest.raises(MaskDepthError) as e:
            run_watch(WatchConfig(source=str(folder), out=str(out)), **stand_in(emit_every=1))
        msg = str(e.value)
        assert "\n" not in msg and "events.jsonl" in msg and "space" in msg.lower()
        if mounted:
            lines = read_jsonl(target)  # fails on a partial line
            assert 0 < len(lines) < 58 + 10 and sum(e["type"] == "absorbed" for e in lines) < 58
        st = json.loads((out / "watch.json").read_text())
        assert st["stop_reason"].startswith("error: cannot write events.jsonl")
    finally:
        if mounted:
            subprocess.run(["umount", str(small)], check=False)


BAD = [
    ("missing", "SOURCE not found"),
    ("empty_folder", "holds no images"),
    ("corrupt_first", "000.png: not a readable image"),
    ("/dev/video77", "device not found: /dev/video77"),
    ("77", "device not found: /dev/video77"),
    ("camera", "aspect ratios differ"),
    ("zones", "zones"),
]


@pytest.mark.parametrize("case,message", BAD)
def test_bad_inputs_one_line_nothing_written(tmp_path, folder, capsys, case, message):
    extra = []
    source = str(folder)
    if case == "missing":
        source = str(tmp_path / "nope")
    elif case == "empty_folder":
        (tmp_path / "empty").mkdir()
        source = str(tmp_path / "empty")
    elif case == "corrupt_first":
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "000.png").write_bytes(b"\x89PNG not really")
        source = str(tmp_path / "bad")
    elif case.startswith("/dev") or case.isdigit():
        source = case
    elif case == "camera":
        cam = {"focal_px": 100.0, "cx": 50.0, "cy": 50.0, "horizon_y": 30.0, "camera_height_m": 2.5, "image_size": [100, 100]}
        (tmp_path / "camera.json").write_text(json.dumps(cam))
        extra = ["--camera", str(tmp_path / "camera.json")]
    elif case == "zones":
        (tmp_path / "zones.json").write_text('{"zones": [{"name": "a", "polygon_px": [[0, 0], [1, 1]]}]}')
        extra = ["--zones", str(tmp_path / "zones.json")]
    out = tmp_path / "out"
    assert main(["watch", source, "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


def _wait_for(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_sigterm_then_restart_resumes_background(tmp_path):
    """The real command: SIGTERM mid-run finishes the frame, writes state and watch.json, exits 0;
    a second run on the same --out starts from the saved background (no initialisation)."""
    frames = walker_frames(scene(120, 160, seed=3), 200, seed=1)
    src = write_folder(tmp_path / "cam", frames)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "maskdepth.cli", "watch", str(src), "--out", str(out), "--status-every", "0.2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        def processing():
            try:
                return json.loads((out / "watch.json").read_text())["frames"] >= 5
            except (OSError, ValueError, KeyError):
                return False

        assert _wait_for(processing, 120), "watch never processed a frame"
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    st = json.loads((out / "watch.json").read_text())
    assert st["stop_reason"] == "signal SIGTERM" and not st["running"] and st["background"]["state"] != "initialising"
    state = json.loads((out / "state" / "watch_state.json").read_text())
    assert state["next_frame"] == st["stream"]["last_frame"] + 1
    n_lines = len(read_jsonl(out / "objects.jsonl"))
    assert n_lines == st["frames"]
    r = subprocess.run([*cmd, "--max-frames", "3"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    st2 = json.loads((out / "watch.json").read_text())
    assert st2["resumed"] and st2["frames_initialising"] == 0 and st2["frames"] == 3
    frames_done = [x["frame"] for x in read_jsonl(out / "objects.jsonl")]
    assert frames_done[n_lines:] == list(range(state["next_frame"], state["next_frame"] + 3))


def test_one_watch_per_out(tmp_path, folder):
    """A second watch on the same --out (two services started by mistake) is refused with one line."""
    import fcntl

    out = tmp_path / "out"
    (out / "state").mkdir(parents=True)
    with open(out / "state" / "lock", "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(MaskDepthError, match="another maskdepth watch"):
            run_watch(WatchConfig(source=str(folder), out=str(out)), **stand_in())
    assert not (out / "objects.jsonl").exists() and not (out / "watch.json").exists()
    assert run_watch(WatchConfig(source=str(folder), out=str(out), max_frames=2), **stand_in())["frames"] == 2


class _ChangingBackground(StandInBackground):
    """The stand-in whose background is uniform with value n after n updates."""

    def update(self, frame, mask, prob, objects, t_s):
        self.n += 1
        self._bg = np.full_like(self._bg, self.n)
        return []


class _RecordingPredictor:
    """Empty masks; records the value of the bg it was given on each frame (not the bg's own (bg, bg) pair)."""

    threshold = 0.5

    def __init__(self):
        self.bgs = []

    def predict(self, bg, image):
        from maskdepth.inference.predictor import Prediction

        if bg is not image:
            self.bgs.append(int(bg[0, 0, 0]))
        z = np.zeros(image.shape[:2], np.float32)
        return Prediction(z > 0, z, z)


def test_the_network_sees_the_maintained_background(tmp_path, folder):
    """Frame k is predicted against the background as the k updates before it left it (not the photo
    the scene was built from, nor a copy of it kept at the network's size)."""
    Image.fromarray(np.full((H, W, 3), 200, np.uint8)).save(tmp_path / "bg.png")
    pred = _RecordingPredictor()
    cfg = WatchConfig(source=str(folder), out=str(tmp_path / "out"), bg=str(tmp_path / "bg.png"))
    st = run_watch(cfg, predictor=pred, background_cls=_ChangingBackground, background_config_cls=lambda **k: StandInConfig(**k))
    assert st["frames"] == 16 and pred.bgs == [200, *range(1, 16)]
