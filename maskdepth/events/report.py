"""``maskdepth events-report DIR``: one self-contained HTML page about a watch (or ``predict --video``) folder.

Reads ``DIR/events.jsonl`` (and ``DIR/objects.jsonl`` for the tracks' floor positions, when present) and
draws, as matplotlib PNGs embedded in base64:

* counts over time: zone entries per zone and line crossings per line and side, per time bin;
* dwell times: histogram of ``dwell_s`` of ``zone_exit`` (per zone) and of ``exit`` (time in view);
* top view of the floor in metres (floor coordinates of :mod:`maskdepth.events.motion`): each track's
  ``floor_xy_m`` path, the camera at the origin, and floor-metre zones and lines from ``zones.json``
  (pixel ones too when a camera maps them to the floor).

Lines of ``events.jsonl`` that are not JSON objects with a ``type`` are skipped and counted on the page.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import option
from ..errors import MaskDepthError
from ..io import atomic_write_text
from ..scene.camera import Camera
from .motion import floor_xy
from .zones import Zones


def read_jsonl(path: Path) -> tuple[list[dict], int]:
    """``(records, n_bad)``: the JSON objects of a JSON-lines file and the number of lines that were not."""
    recs, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(r, dict):
                recs.append(r)
            else:
                bad += 1
    return recs, bad


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def counts_over_time(events: list[dict], bins: int = 24) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Bin edges (seconds, ``bins + 1``) and per series (``"zone <name>"``, ``"line <name> from <side>"``) the count per bin."""
    t = [float(e.get("t_s", 0.0)) for e in events] or [0.0]
    edges = np.linspace(0.0, max(max(t), 1e-6), bins + 1)
    series: dict[str, list[float]] = defaultdict(list)
    for e in events:
        if e.get("type") == "zone_enter":
            series[f"zone {e.get('zone')}"].append(float(e.get("t_s", 0.0)))
        elif e.get("type") == "line_cross":
            series[f"line {e.get('line')} from {e.get('from_side')}"].append(float(e.get("t_s", 0.0)))
    return edges, {k: np.histogram(v, edges)[0] for k, v in sorted(series.items())}


def _plot_counts(events: list[dict]) -> str | None:
    import matplotlib.pyplot as plt

    edges, series = counts_over_time(events)
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.2))
    centres = 0.5 * (edges[:-1] + edges[1:])
    for name, c in series.items():
        ax.step(centres, c, where="mid", label=f"{name} ({int(c.sum())})")
    ax.set_xlabel("time from the start of the stream (s)")
    ax.set_ylabel(f"count per {edges[1] - edges[0]:.3g} s")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def _plot_dwell(events: list[dict]) -> str | None:
    import matplotlib.pyplot as plt

    groups: dict[str, list[float]] = defaultdict(list)
    for e in events:
        if e.get("type") == "zone_exit" and e.get("dwell_s") is not None:
            groups[f"zone {e.get('zone')}"].append(float(e["dwell_s"]))
        elif e.get("type") == "exit" and e.get("dwell_s") is not None:
            groups["in view (exit)"].append(float(e["dwell_s"]))
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.2))
    hi = max(max(v) for v in groups.values())
    bins = np.linspace(0, max(hi, 1e-3), 21)
    for name, v in sorted(groups.items()):
        ax.hist(v, bins=bins, alpha=0.5, label=f"{name} (n={len(v)}, median {np.median(v):.1f} s)")
    ax.set_xlabel("dwell time (s)")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    return _png(fig)


def _floor_shapes(zones: Zones | None, camera: Camera | None) -> list[tuple[str, np.ndarray, bool]]:
    """``(name, floor points, closed)`` of each zone (closed) and line that can be drawn in floor metres."""
    out = []
    for item, closed in [(z, True) for z in (zones.zones if zones else ())] + [(ln, False) for ln in (zones.lines if zones else ())]:
        if item.space == "floor_m":
            out.append((item.name, item.points, closed))
        elif camera is not None:
            pts = [floor_xy(camera, u, v) for u, v in item.points]
            if all(p is not None for p in pts):
                out.append((item.name, np.asarray(pts), closed))
    return out


def _plot_top_view(objects: list[dict], zones: Zones | None, camera: Camera | None) -> str | None:
    import matplotlib.pyplot as plt

    tracks: dict[int, list] = defaultdict(list)
    for r in objects:
        for o in r.get("objects", []):
            if o.get("id") and o.get("floor_xy_m"):
                tracks[o["id"]].append(o["floor_xy_m"])
    shapes = _floor_shapes(zones, camera)
    if not tracks and not shapes:
        return None
    fig, ax = plt.subplots(figsize=(6, 6))
    for name, pts, closed in shapes:
        p = np.vstack([pts, pts[:1]]) if closed else pts
        ax.plot(p[:, 0], p[:, 1], "-", color="tab:green" if closed else "tab:orange", lw=2)
        ax.annotate(name, p[0], fontsize=8)
    for tid, pts in sorted(tracks.items()):
        a = np.asarray(pts, float)
        ax.plot(a[:, 0], a[:, 1], "-", lw=1, alpha=0.8)
        ax.annotate(str(tid), a[-1], fontsize=7)
    ax.plot([0], [0], "k^", ms=10, label="camera (floor below it)")
    ax.set_xlabel("x: to the right (m)")
    ax.set_ylabel("y: forward (m)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"top view of the floor: {len(tracks)} tracks")
    return _png(fig)


def _summary(events: list[dict]) -> str:
    kinds = Counter(e.get("type") for e in events)
    zone_in = Counter(e.get("zone") for e in events if e.get("type") == "zone_enter")
    zone_out = Counter(e.get("zone") for e in events if e.get("type") == "zone_exit")
    cross = Counter((e.get("line"), e.get("from_side")) for e in events if e.get("type") == "line_cross")
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{n}</td></tr>" for k, n in sorted(kinds.items(), key=lambda x: str(x[0])))
    zrows = "".join(
        f"<tr><td>{html.escape(str(z))}</td><td>{zone_in[z]}</td><td>{zone_out[z]}</td></tr>"
        for z in sorted(set(zone_in) | set(zone_out), key=str)
    )
    lrows = "".join(
        f"<tr><td>{html.escape(str(ln))}</td><td>{cross[(ln, 'left')]}</td><td>{cross[(ln, 'right')]}</td></tr>"
        for ln in sorted({k[0] for k in cross}, key=str)
    )
    out = f"<h2>Events</h2><table><tr><th>type</th><th>count</th></tr>{rows}</table>"
    if zrows:
        out += f"<h2>Zones</h2><table><tr><th>zone</th><th>entries</th><th>exits</th></tr>{zrows}</table>"
    if lrows:
        out += f"<h2>Lines</h2><table><tr><th>line</th><th>crossings from the left</th><th>from the right</th></tr>{lrows}</table>"
    return out


@dataclass
class EventsReportConfig:
    """The options of ``maskdepth events-report``, declared once (fields → flags, ``config show``)."""

    watch_dir: str = option("", "folder with events.jsonl (a watch or predict --video output folder)", cli=False)
    out: str | None = option(None, "HTML file (default DIR/events_report.html)")
    zones: str | None = option(None, "zones.json, to draw the zones and lines on the top view", metavar="FILE")
    camera: str | None = option(None, "camera.json (floor-metre zones; pixel zones mapped to the floor)", metavar="FILE")


def run_events_report(cfg: EventsReportConfig) -> Path:
    """``maskdepth events-report``: read ``cfg.camera`` and ``cfg.zones`` and write the page
    (:func:`make_events_report`); returns its path.

    Raises: MaskDepthError: an unreadable camera or zones file, or what :func:`make_events_report` raises.
    """
    from ..scene import load_camera
    from .zones import load_zones

    cam = load_camera(cfg.camera) if cfg.camera else None
    zones = load_zones(cfg.zones, camera=cam) if cfg.zones else None
    return make_events_report(cfg.watch_dir, cfg.out, zones=zones, camera=cam)


def make_events_report(watch_dir, out_path=None, zones: Zones | None = None, camera: Camera | None = None) -> Path:
    """Write the HTML report of ``watch_dir`` (see the module docstring) atomically; returns its path.

    Args:
        watch_dir: folder holding ``events.jsonl`` (and optionally ``objects.jsonl``).
        out_path: the HTML file (default ``watch_dir/events_report.html``).
        zones, camera: optional, to draw zones and lines on the top view.
    Raises:
        MaskDepthError: the folder or its ``events.jsonl`` is missing or unreadable, or the output cannot be written.
    """
    d = Path(watch_dir)
    if not d.is_dir():
        raise MaskDepthError(f"not a folder: {d}")
    ev_path = d / "events.jsonl"
    if not ev_path.is_file():
        raise MaskDepthError(f"{d} has no events.jsonl (made by `maskdepth watch`, or by `maskdepth predict` on a video)")
    try:
        events, bad = read_jsonl(ev_path)
        objects, bad_obj = read_jsonl(d / "objects.jsonl") if (d / "objects.jsonl").is_file() else ([], 0)
    except OSError as e:
        raise MaskDepthError(f"cannot read {d}: {e.strerror or e}") from None
    events = [e for e in events if "type" in e]
    import matplotlib

    matplotlib.use("Agg")
    figs = [
        ("Counts over time", _plot_counts(events)),
        ("Dwell times", _plot_dwell(events)),
        ("Top view of the floor (metres)", _plot_top_view(objects, zones, camera)),
    ]
    body = _summary(events)
    for title, png in figs:
        body += f"<h2>{title}</h2>" + (f'<img alt="{title}" src="data:image/png;base64,{png}">' if png else "<p>nothing to draw</p>")
    note = f"{len(events)} events, {len(objects)} frames of objects"
    if bad or bad_obj:
        note += f"; skipped {bad} unreadable line(s) of events.jsonl and {bad_obj} of objects.jsonl"
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>maskdepth events report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:1em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}</style></head><body>"
        f"<h1>Events of {html.escape(str(d))}</h1><p>{html.escape(note)}</p>{body}</body></html>"
    )
    out = Path(out_path) if out_path is not None else d / "events_report.html"
    try:
        atomic_write_text(out, page)
    except OSError as e:
        raise MaskDepthError(f"cannot write {out}: {e.strerror or e}") from None
    return out
