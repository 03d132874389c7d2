"""The next frame's network beside the loop (live sources, ``maskdepth.live.ahead``): frame order, stops."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from tests.live.live_helpers import StandInBackground, StandInConfig, read_jsonl, scene, walker_frames, write_folder

pytest.importorskip("av")

from maskdepth.inference.predictor import Prediction  # noqa: E402
from maskdepth.live.ahead import NetworkAhead  # noqa: E402
from maskdepth.live.config import WatchConfig  # noqa: E402
from maskdepth.live.watch import run_watch  # noqa: E402

H, W = 72, 96


def _frame(k: int):
    return SimpleNamespace(index=k, image=np.full((2, 2, 3), k, np.uint8))


def test_results_come_back_in_order_one_frame_late():
    def predict(image, delay):
        time.sleep(delay)
        return int(image[0, 0, 0]), threading.current_thread().name

    a = NetworkAhead(predict)
    got = []
    for k, delay in enumerate((0.05, 0.0, 0.03, 0.0, 0.01)):  # uneven network times: the order stays
        r = a.swap(_frame(k), delay)
        assert (r is None) == (k == 0)
        if r is not None:
            got.append((r[0].index, r[1][0]))
            assert r[1][1].startswith("maskdepth-watch-network") and r[2] >= 0
    last = a.flush()
    got.append((last[0].index, last[1][0]))
    assert got == [(k, k) for k in range(5)]
    assert a.flush() is None
    a.close()


def test_an_error_in_the_worker_reaches_the_loop():
    def predict(image):
        raise ValueError(f"bad frame {int(image[0, 0, 0])}")

    a = NetworkAhead(predict)
    assert a.swap(_frame(0)) is None
    with pytest.raises(ValueError, match="bad frame 0"):
        a.swap(_frame(1))
    with pytest.raises(ValueError, match="bad frame 1"):
        a.flush()
    a.close()


class _ThreadRecordingPredictor:
    """Zero masks; records the thread each frame's network ran in (not the scene's own depth: bg against itself,
    predicted once in the loop's thread)."""

    threshold = 0.5

    def __init__(self):
        self.calls = []

    def predict(self, bg, image):
        if bg is not image:
            self.calls.append(threading.current_thread().name)
        z = np.zeros(image.shape[:2], np.float32)
        return Prediction(z > 0, z, z)


@pytest.mark.parametrize("max_frames", [None, 5])
def test_realtime_folder_runs_the_network_beside_the_loop_in_order(tmp_path, max_frames):
    folder = write_folder(tmp_path / "cam", walker_frames(scene(H, W), 16))
    Image.fromarray(np.full((H, W, 3), 128, np.uint8)).save(tmp_path / "bg.png")
    pred = _ThreadRecordingPredictor()
    cfg = WatchConfig(source=str(folder), out=str(tmp_path / "out"), bg=str(tmp_path / "bg.png"), realtime=True, max_frames=max_frames)
    st = run_watch(cfg, predictor=pred, background_cls=StandInBackground, background_config_cls=lambda **k: StandInConfig(**k))
    frames = [r["frame"] for r in read_jsonl(tmp_path / "out" / "objects.jsonl")]
    assert frames == sorted(set(frames)) and len(frames) == st["frames"] >= 1  # in order, each once
    if max_frames is not None:
        assert st["frames"] == max_frames and st["stop_reason"] == "max_frames"
    else:
        assert st["stop_reason"] == "end of source" and st["frames"] + st["frames_dropped"] == 16
    assert pred.calls and all(name.startswith("maskdepth-watch-network") for name in pred.calls)
    assert len(pred.calls) <= st["frames"] + 1  # at most the frame in flight at a stop is predicted and not written
    assert st["stage_ms"]["network"] >= 0
