"""The network one frame ahead, for live sources.

On a live source (a stream, a device, or a file with ``--realtime``) :class:`PredictAhead` takes
the latest frame from the :class:`~maskdepth.live.source.FrameSource` and runs the network on it
(:meth:`FrameStep.predict <maskdepth.video.FrameStep.predict>`, against the current background)
in a thread of its own, while the loop measures, tracks and writes the previous frame: the
network (ONNX Runtime, which releases the GIL) and the loop's NumPy/OpenCV work overlap on two
cores. At most one predicted frame waits for the loop; newer frames wait in the source, which
keeps only the latest (drops are counted there). Frames are handed over in order. A frame that
cannot be predicted ahead (the background is not ready yet, or was reset, or the frame has
another size than the background) is handed over without a prediction and the loop does it
all. Files and folders without ``--realtime`` do not use it, so their results never depend on
the machine's speed.
"""

from __future__ import annotations

import queue
import threading

from .source import Frame, FrameSource


class PredictAhead:
    """Predict frames of ``source`` ahead of the loop (see the module docstring).

    Args:
        source: an opened live :class:`~maskdepth.live.source.FrameSource`.
        watch: the :class:`~maskdepth.live.watch.Watch` whose ``step`` (``FrameStep`` or ``None``) and
            ``bgm`` (background model) are read for each frame.
    """

    def __init__(self, source: FrameSource, watch):
        self.source, self.watch = source, watch
        self.q: queue.Queue = queue.Queue(maxsize=1)
        self.stopping = threading.Event()
        self.ended = False
        self.thread = threading.Thread(target=self._run, name="maskdepth-watch-predict", daemon=True)
        self.thread.start()

    def _prediction(self, f: Frame):
        step, bgm = self.watch.step, self.watch.bgm
        if step is None or not bgm.ready:
            return None
        bg = bgm.background
        if bg is None or bg.shape != f.image.shape:
            return None
        return step.predict(bg, f.image)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                f = self.source.read(0.2)
                if f is None:
                    if self.source.finished:
                        self._put(("end", None))
                        return
                    continue
                self._put(("frame", (f, self._prediction(f))))
            except BaseException as e:  # handed to the loop
                self._put(("error", e))
                return

    def _put(self, item) -> None:
        while not self.stopping.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, timeout: float = 0.2):
        """``(frame, prediction or None)`` in order, or ``None`` when nothing came within ``timeout``
        seconds (:attr:`ended` once a ``--realtime`` file is done). Raises what reading or predicting raised."""
        try:
            kind, value = self.q.get(timeout=timeout)
        except queue.Empty:
            return None
        if kind == "error":
            raise value
        if kind == "end":
            self.ended = True
            return None
        return value

    def close(self) -> None:
        """Stop the thread (after the prediction in progress)."""
        self.stopping.set()
        self.thread.join(timeout=10)
