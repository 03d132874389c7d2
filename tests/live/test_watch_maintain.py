"""Background maintenance beside the loop (live sources): latest frame only, events carry their frame."""

from __future__ import annotations

import time

import numpy as np
from live_helpers import StandInBackground, StandInConfig

from maskdepth.live.maintain import AsyncBackground


class SlowModel(StandInBackground):
    """The stand-in, 50 ms per update, an event on every update; the background's value = updates done."""

    def update(self, frame, mask, prob, objects, t_s):
        time.sleep(0.05)
        self.n += 1
        self._bg = np.full_like(self._bg, self.n)
        return [{"type": "stationary", "id": self.n}]


def test_latest_frame_only_and_events_with_their_frame():
    m = SlowModel(StandInConfig(), np.zeros((4, 4, 3), np.uint8))
    a = AsyncBackground(m)
    z = np.zeros((4, 4), bool)
    got = []
    for k in range(20):  # 20 frames in ~0.1 s: most updates are skipped, the loop never waits 50 ms
        t = time.monotonic()
        got += a.submit(k, None, z, z.astype(np.float32), [], k / 25)
        assert time.monotonic() - t < 0.03
        time.sleep(0.005)
    got += a.drain()
    a.close()
    assert a.updates == m.n and 1 <= a.updates < 20 and a.skipped == 20 - a.updates
    assert [e["id"] for e in got] == list(range(1, a.updates + 1))
    assert got[-1]["frame"] == 19 and got[-1]["t_s"] == 19 / 25  # the last frame is never skipped
    assert int(a.background[0, 0, 0]) == a.updates
    assert a.status_json()["updates_skipped"] == a.skipped


def test_predict_ahead_in_order_and_only_with_a_background(tmp_path):
    from types import SimpleNamespace

    from live_helpers import scene, walker_frames, write_folder

    from maskdepth.live.ahead import PredictAhead
    from maskdepth.live.source import FrameSource, SourceOptions, parse_source

    frames = walker_frames(scene(24, 32), 12)
    src = FrameSource(parse_source(str(write_folder(tmp_path / "f", frames))), SourceOptions(realtime=True)).open()
    calls = []

    class Step:
        def predict(self, bg, image):
            calls.append(image.shape)
            return "predicted"

    w = SimpleNamespace(step=None, bgm=StandInBackground(StandInConfig(), None))
    ahead = PredictAhead(src, w)
    got = []
    try:
        end = time.monotonic() + 20
        while not ahead.ended and time.monotonic() < end:
            item = ahead.read(0.2)
            if item is None:
                continue
            got.append((item[0].index, item[1]))
            if len(got) == 3:  # from now on the background is ready and a step exists
                w.step, w.bgm = Step(), StandInBackground(StandInConfig(), frames[0])
    finally:
        ahead.close()
        src.close()
    assert ahead.ended
    idx = [k for k, _ in got]
    assert idx == sorted(idx) and len(set(idx)) == len(idx) and idx[-1] == 11
    assert all(p is None for _, p in got[:3]) and got[-1][1] == "predicted"
    assert len(calls) == sum(p == "predicted" for _, p in got) and all(c == (24, 32, 3) for c in calls)
