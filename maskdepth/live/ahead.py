"""The next frame's network beside the loop, for live sources (a 2-stage pipeline on two cores).

On a live source (a stream, a device, or a file with ``realtime``) ``maskdepth watch`` runs the network
of frame ``k + 1`` in a worker thread while the loop measures, tracks, writes and hands to the background
model frame ``k`` (ONNX Runtime, OpenCV and most of numpy release the GIL, so the two stages share the two
cores). Results still come out in frame order: the loop takes frame ``k``'s network only after it has
given the worker frame ``k + 1``. Frame ``k + 1`` is predicted against the background as it was when the
frame was handed over (the model's updates run beside the loop there anyway, :mod:`maskdepth.live.maintain`).

Files and folders without ``realtime`` keep the strict order of one frame at a time (frame ``k`` against the
background after ``k`` updates), so their results do not depend on the machine's speed.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor


class NetworkAhead:
    """One worker thread that runs ``predict(frame)`` for the frame handed over, one frame in flight.

    Args:
        predict: ``predict(image, *args) -> Prediction`` (called in the worker thread with a frame's image and
            the arguments given with it to :meth:`swap`).
    """

    def __init__(self, predict):
        self.predict = predict
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maskdepth-watch-network")
        self.pending: tuple | None = None  # (frame, future of (prediction, seconds))

    def _timed(self, image, *args):
        t = time.perf_counter()
        return self.predict(image, *args), time.perf_counter() - t

    def swap(self, frame, *args) -> tuple | None:
        """Hand ``frame`` over (``predict(frame.image, *args)`` starts in the worker) and return the one handed
        over before it: ``(frame, prediction, network_seconds)`` once its network is done, or ``None``.

        Raises: whatever that frame's ``predict`` raised."""
        fut: Future = self.pool.submit(self._timed, frame.image, *args)
        prev, self.pending = self.pending, (frame, fut)
        return self._result(prev)

    def flush(self) -> tuple | None:
        """The frame in flight, ``(frame, prediction, network_seconds)`` once done, or ``None`` (then none is in flight)."""
        prev, self.pending = self.pending, None
        return self._result(prev)

    @staticmethod
    def _result(prev) -> tuple | None:
        if prev is None:
            return None
        frame, fut = prev
        pred, seconds = fut.result()
        return frame, pred, seconds

    def close(self) -> None:
        """Drop the frame in flight (its network is left to finish) and stop the worker."""
        self.pending = None
        self.pool.shutdown(wait=True, cancel_futures=True)
