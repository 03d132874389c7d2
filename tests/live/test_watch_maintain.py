"""Background maintenance beside the loop (live sources): latest frame only, events carry their frame."""

from __future__ import annotations

import time

import numpy as np

from maskdepth.live.maintain import AsyncBackground
from tests.live.live_helpers import StandInBackground, StandInConfig


class SlowModel(StandInBackground):
    """The stand-in, 50 ms per update, an event on every update; the background's value = updates done."""

    def update(self, frame, mask, prob, objects, t_s):
        time.sleep(0.05)
        self.n += 1
        self._bg = np.full_like(self._bg, self.n)
        return [{"type": "absorbed", "id": self.n}]


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


def test_min_interval_limits_the_update_rate_and_keeps_the_last_frame():
    class Recording(StandInBackground):
        def update(self, frame, mask, prob, objects, t_s):
            self.last_t_s = t_s
            return super().update(frame, mask, prob, objects, t_s)

    m = Recording(StandInConfig(), np.zeros((4, 4, 3), np.uint8))
    a = AsyncBackground(m, min_interval_s=0.1)
    z = np.zeros((4, 4), bool)
    t0 = time.monotonic()
    for k in range(60):  # ~0.3 s of frames every 5 ms: an update costs nothing, the interval is what limits them
        a.submit(k, None, z, z.astype(np.float32), [], k / 200)
        time.sleep(0.005)
    a.drain()
    elapsed = time.monotonic() - t0
    a.close()
    assert 2 <= a.updates <= elapsed / 0.1 + 2 and a.updates + a.skipped == 60
    assert m.n == a.updates and m.last_t_s == 59 / 200  # the newest frame is never skipped
