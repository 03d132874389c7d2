"""Events, zones and motion in metres (issue 21): what entered, where it went, how fast, for how long.

Modules: :mod:`.zones` (``zones.json``), :mod:`.motion` (floor positions, speeds, sizes in metres),
:mod:`.engine` (:class:`EventEngine`: enter / exit / zone_enter / zone_exit / line_cross / stationary),
:mod:`.sinks` (events.jsonl, stdout, webhook, MQTT), :mod:`.pipeline` (the engine and its sinks as one
step per frame, for ``predict --video`` and ``watch``), :mod:`.report` (``maskdepth events-report``).
Imports :mod:`maskdepth.scene` only (never video or live).
"""

from .engine import EventEngine, anchor_px, iso_utc
from .motion import Intrinsics, TrackMotion, floor_to_px, floor_xy, object_floor_xy
from .zones import Line, Zone, Zones, load_zones, parse_zones

__all__ = [
    "EventEngine",
    "anchor_px",
    "iso_utc",
    "Intrinsics",
    "TrackMotion",
    "floor_xy",
    "floor_to_px",
    "object_floor_xy",
    "Zone",
    "Line",
    "Zones",
    "load_zones",
    "parse_zones",
]
