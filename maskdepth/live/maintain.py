"""Background maintenance beside the video loop, for live sources.

:meth:`BackgroundModel.update <maskdepth.live.background.BackgroundModel.update>` costs more per
frame than the network at large frame sizes. On a live source (a stream, a device, or a file
with ``--realtime``) the loop must keep up with real time, so :class:`AsyncBackground` runs the
updates in a worker thread on the **latest** processed frame: while an update runs, newer frames
replace the waiting one (counted as ``updates_skipped`` in ``watch.json``'s ``background``). The
network keeps using the last finished background (the background changes slowly: its time
constants are seconds to minutes, and its rules are written in seconds of ``t_s``, not frames).
Events come back with the ``frame`` and ``t_s`` of the frame they were computed on. ``watch`` also
starts updates at most every :data:`LIVE_UPDATE_INTERVAL_S` seconds (the newest frame then), so the
maintenance leaves the network and the loop most of the two cores (Frigate likewise runs its motion
and detection at a reduced rate, 5 frames/s by default).

Files and folders without ``--realtime`` update the background synchronously on every frame,
so their results do not depend on the machine's speed.
"""

from __future__ import annotations

import threading
import time

import numpy as np

LIVE_UPDATE_INTERVAL_S = 0.1
"""Shortest time, in seconds, between the starts of two background updates of a live ``watch`` (10 per second at most)."""


class AsyncBackground:
    """A ready background model updated in a worker thread (see the module docstring).

    Args:
        model: a :class:`~maskdepth.live.background.BackgroundModel` (anything with its interface), ready.
        small_hw: ``(h, w)``: after each update the worker also resizes the background to it
            (:meth:`background_small`, the network's input, made off the loop); ``None``: not made.
        min_interval_s: shortest time in seconds between the starts of two updates (>= 0; 0: none): frames
            submitted meanwhile replace the waiting one (counted as skipped).
    """

    def __init__(self, model, small_hw: tuple[int, int] | None = None, min_interval_s: float = 0.0):
        self.model, self.small_hw, self.min_interval_s = model, small_hw, float(min_interval_s)
        self.next_at = 0.0  # time.monotonic() before which no update starts
        self.cv = threading.Condition()
        self.model_lock = threading.Lock()
        self.pending: tuple | None = None
        self.busy = False
        self.done: list[dict] = []
        self.error: BaseException | None = None
        self.updates = self.skipped = 0
        self.update_seconds = 0.0
        self.stopping = False
        self._latest = (model.background, self._resized(model))  # one tuple: read together, replaced at once
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
        return self._latest[0]

    def _resized(self, model) -> np.ndarray | None:
        small = getattr(model, "background_small", None)
        return small(self.small_hw) if small is not None and self.small_hw is not None else None

    def background_small(self, hw: tuple[int, int], of: np.ndarray | None = None) -> np.ndarray | None:
        """:attr:`background` (or ``of``, a background it returned earlier) resized to ``hw``, ``uint8 (h, w, 3)``:
        the copy the worker made when ``hw`` is its ``small_hw`` and ``of`` is still the latest, else made now."""
        bg, small = self._latest
        if of is not None and of is not bg:
            bg, small = of, None
        if small is not None and small.shape[:2] == tuple(hw):
            return small
        from ..io import resize

        return resize(bg, tuple(hw))

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
                while not self.stopping and (wait := self.next_at - time.monotonic()) > 0:
                    self.cv.wait(wait)  # newer frames replace the waiting one meanwhile
                (k, frame, mask, prob, objects, t_s), self.pending = self.pending, None
                self.busy, self.next_at = True, time.monotonic() + self.min_interval_s
            try:
                with self.model_lock:
                    t = time.perf_counter()
                    events = self.model.update(frame, mask, prob, objects, t_s)
                    bg, status = self.model.background, self.model.status_json()
                    small = self._resized(self.model)
                    self.update_seconds += time.perf_counter() - t
            except BaseException as e:
                with self.cv:
                    self.error, self.busy = e, False
                    self.cv.notify_all()
                continue
            with self.cv:
                self._latest, self._status = (bg, small), status
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
