"""``maskdepth watch``: a fixed camera watched live.

Layers (each module imports only the ones before it):

* :mod:`~maskdepth.live.config`: :class:`~maskdepth.live.config.WatchConfig`, the command's
  options declared once (flags, YAML keys);
* :mod:`~maskdepth.live.source`: one reader for every SOURCE (RTSP/HTTP/HLS streams, devices,
  video files, folders of frames), its watchdog and :func:`~maskdepth.live.source.redact`;
* :mod:`~maskdepth.live.outputs`: append-only JSON lines for ``objects.jsonl`` (whole lines only,
  also on a full disk; ``events.jsonl`` is written by the events package's
  :class:`~maskdepth.events.sinks.JsonlSink`), the latency record, the resume state;
* :mod:`~maskdepth.live.background` (+ :mod:`~maskdepth.live.stationary`): the maintained
  background (initialised without an empty scene, kept current);
* :mod:`~maskdepth.live.maintain`: its updates beside the loop for live sources (latest frame only,
  at most 10 per second);
* :mod:`~maskdepth.live.ahead`: the next frame's network beside the loop for live sources (results
  in frame order);
* :mod:`~maskdepth.live.server`: ``--serve``: ``/metrics``, the live page, MJPEG, Server-Sent Events;
* :mod:`~maskdepth.live.watch`: :func:`~maskdepth.live.watch.run_watch`, the loop: each frame through
  :func:`maskdepth.inference.pipeline.run_frame`, the scene's tracker and the events engine
  (:mod:`maskdepth.events`), then the background.

Nothing is imported here, so ``import maskdepth.live.source`` stays light.
"""
