"""The options of ``maskdepth watch``, declared once (:func:`maskdepth.config.option` fields →
command-line flags, YAML keys of ``--config``, :func:`~maskdepth.live.watch.run_watch`'s settings).

The model's options (``checkpoint``, ``size``, ``backend``, ``refine``) and the scene's
(``bg_depth``, ``bg_depth_unit``, ``camera``, ``teacher``) are the ones every command that runs
the model on frames shares (:class:`~maskdepth.inference.config.ModelConfig`,
:class:`~maskdepth.inference.config.SceneConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option
from ..inference.config import ModelConfig, SceneConfig, TrackConfig


@dataclass
class WatchConfig(ModelConfig, SceneConfig, TrackConfig):
    """Settings of one ``maskdepth watch`` run (see :mod:`maskdepth.live.watch` for what each does)."""

    source: str = option("", "stream URL, /dev/videoN or index, video file, or folder of frames", cli=False)
    out: str = option(None, "output folder (objects.jsonl, events.jsonl, watch.json, state/; a second run with it resumes)", metavar="DIR")
    bg: str | None = option(None, "photo of the empty scene (default: the background is initialised from the stream)", metavar="BG")
    zones: str | None = option(
        None,
        "zones.json: zone_enter / zone_exit / line_cross events for its zones and lines (see README, Events and zones)",
        metavar="FILE",
    )
    events_stdout: bool = option(False, "also print every event as one JSON line on standard output")
    webhook: str | None = option(
        None,
        "also POST every event as JSON to this http(s) URL (bounded queue, retries with backoff; failures counted in watch.json)",
        metavar="URL",
    )
    mqtt: str | None = option(
        None,
        "also publish to this MQTT broker: maskdepth/<camera-name>/events and .../objects (needs the [events] extra)",
        metavar="HOST[:PORT]",
    )
    camera_name: str = option("camera", "the camera's name in the MQTT topics", metavar="NAME")
    stationary_after: float = option(30.0, "seconds a tracked object stays still before its stationary event", metavar="S")
    save_masks: bool = option(False, "write masks/<k>.png (0/255 at the frame's size; k = the frame's 0-based index in the source)")
    duration: float | None = option(None, "stop cleanly after S seconds of wall-clock time", metavar="S")
    max_frames: int | None = option(None, "stop cleanly after N processed frames", metavar="N")
    realtime: bool = option(False, "files and folders: pace at their frame rate and keep only the latest frame (as a live camera)")
    serve: int | None = option(
        None, "serve /metrics (Prometheus), the live page, /stream.mjpg, /events and /watch.json on this port", metavar="PORT"
    )
    host: str = option("127.0.0.1", "interface of --serve (another than 127.0.0.1/localhost needs --token-file)")
    token_file: str | None = option(None, "file holding the token that --serve requires (Bearer header, or ?token=)", metavar="F")
    stall_timeout: float = option(10.0, "live sources: seconds without a frame before reconnecting", metavar="S")
    open_timeout: float = option(10.0, "seconds the first frame may take at start before the source is refused", metavar="S")
    absorb_after: float = option(600.0, "seconds after which a new still object (a bag left behind) joins the background", metavar="S")
    status_every: float = option(2.0, "seconds between rewrites of watch.json", metavar="S")
    state_every: float = option(30.0, "seconds between saves of state/ (also at exit)", metavar="S")
    quiet: bool = option(False, "no line per status update on stderr")
