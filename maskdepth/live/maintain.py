"""Background maintenance beside the video loop, for live sources.

:meth:`BackgroundModel.update <maskdepth.live.background.BackgroundModel.update>` costs more per
frame than the network at large frame sizes. On a live source (a stream, a device, or a file
with ``--realtime``) the loop must keep up with real time, so :class:`AsyncBackground` runs the
updates in a worker thread on the **latest** processed frame: while an update runs, newer frames
replace the waiting one (counted as ``updates_skipped`` in ``watch.json``'s ``background``). The
network keeps using the last finished background (the background changes slowly: its time
constants are seconds to minutes, and its rules are written in seconds of ``t_s``, not frames).
Events come back with the ``frame`` and ``t_s`` of the frame they were computed on.

Files and folders without ``--realtime`` update the background synchronously on every frame,
so their results do not depend on the machine's speed.
"""

from __future__ import annotations

import threading
import time

import numpy as np


class AsyncBackground:
    """A ready background model updated in a worker thread (see the module docstring).

    Args:
        model: a :class:`~maskdepth.live.background.BackgroundModel` (anything with its interface), ready.
    """

    def __init__(self, model):
        self.model = model
        self.cv = threading.Condition()
        self.model_lock = threading.Lock()
        self.pending: tuple | None = None
        self.busy = False
        self.done: list[dict] = []
        self.error: BaseException | None = None
        self.updates = self.skipped = 0
        self.update_seconds = 0.0
        self.stopping = False
        self._bg = model.background
        self._status = model.status_json()
        self.thread = threading.Thread(target=self._run, name="maskdepth-watch-background", daemon=True)
        self.thread.start()

    @property
    def ready(self) -> bool:
        """Always ``True`` (only a ready model is wrapped)."""
        return True

    @property
    def background(self) -> np.ndarray:
        """The last finished background, ``uint8 (H, W, 3)`` RGB (never one being written)."""
        return self._bg

    def status_json(self) -> dict:
        """The model's ``status_json`` after its last update, plus ``updates`` and ``updates_skipped``."""
        return {**self._status, "updates": self.updates, "updates_skipped": self.skipped, "maintenance": "async, latest frame"}

    def submit(self, k: int, frame: np.ndarray, mask: np.ndarray, prob: np.ndarray, objects: list, t_s: float) -> list[dict]:
        """Queue frame ``k`` for an update (replacing a frame still waiting) and return the events of the
        updates finished since the last call, each with its ``frame`` and ``t_s``.

        Raises: whatever an update raised (once).
        """
        with self.cv:
            if self.error is not None:
                e, self.error = self.error, None
                raise e
            if self.pending is not None:
                self.skipped += 1
            self.pending = (k, frame, mask, prob, objects, t_s)
            self.cv.notify_all()
            events, self.done = self.done, []
        return events

    def _run(self) -> None:
        while True:
            with self.cv:
                while self.pending is None and not self.stopping:
                    self.cv.wait()
                if self.pending is None:
                    return
                (k, frame, mask, prob, objects, t_s), self.pending = self.pending, None
                self.busy = True
            try:
                with self.model_lock:
                    t = time.perf_counter()
                    events = self.model.update(frame, mask, prob, objects, t_s)
                    bg, status = self.model.background, self.model.status_json()
                    self.update_seconds += time.perf_counter() - t
            except BaseException as e:
                with self.cv:
                    self.error, self.busy = e, False
                    self.cv.notify_all()
                continue
            with self.cv:
                self._bg, self._status = bg, status
                self.updates += 1
                self.done.extend({**e, "frame": k, "t_s": t_s} for e in events)
                self.busy = False
                self.cv.notify_all()

    def drain(self, timeout: float = 10.0) -> list[dict]:
        """Wait (at most ``timeout`` s) for the waiting and running updates; returns their events."""
        with self.cv:
            self.cv.wait_for(lambda: self.pending is None and not self.busy, timeout)
            events, self.done = self.done, []
        return events

    def save(self, directory) -> None:
        """:meth:`BackgroundModel.save`, between two updates."""
        with self.model_lock:
            self.model.save(directory)

    def close(self) -> None:
        """Stop the worker after the update in progress."""
        with self.cv:
            self.stopping = True
            self.cv.notify_all()
        self.thread.join(timeout=30)
