"""The options of ``maskdepth watch``, declared once (:func:`maskdepth.config.option` fields →
command-line flags, YAML keys of ``--config``, :func:`~maskdepth.live.watch.run_watch`'s settings)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option

REFINE_CHOICES = ("auto", "none", "guided")


@dataclass
class WatchConfig:
    """Settings of one ``maskdepth watch`` run (see :mod:`maskdepth.live.watch` for what each does)."""

    source: str = option("", "stream URL, /dev/videoN or index, video file, or folder of frames", cli=False)
    out: str = option(None, "output folder (objects.jsonl, events.jsonl, watch.json, state/; a second run with it resumes)", metavar="DIR")
    bg: str | None = option(None, "photo of the empty scene (default: the background is initialised from the stream)", metavar="BG")
    camera: str | None = option(None, "camera.json of this camera (ground-plane distances)", metavar="FILE")
    bg_depth: str | None = option(None, "measured depth of the empty scene (uint16 PNG mm, float32 TIFF m, .npy m)", metavar="FILE")
    zones: str | None = option(None, "zones.json (checked now; zone events come with the events issue)", metavar="FILE")
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
    checkpoint: str | None = option(None, "model checkpoint or .onnx file (default: the shipped model)")
    size: int | None = option(None, "short side fed to the network (default: the model's training size)")
    backend: str = option(
        "auto", "auto (onnx for a .onnx checkpoint and the shipped model), torch or onnx", choices=("auto", "torch", "onnx")
    )
    refine: str = option("auto", "how the mask reaches the frame's resolution: auto, none or guided", choices=REFINE_CHOICES)
    quiet: bool = option(False, "no line per status update on stderr")
