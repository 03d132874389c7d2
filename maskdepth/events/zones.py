"""``zones.json``: named zones (polygons) and lines (directed segments), in image pixels or floor metres.

The file (issue 21's contract)::

    {"zones": [{"name": "door", "polygon_px": [[x, y], ...]},
               {"name": "desk", "polygon_floor_m": [[x, y], ...], "inertia_frames": 5}],
     "lines": [{"name": "entry", "px": [[x0, y0], [x1, y1]]},
               {"name": "aisle", "floor_m": [[x0, y0], [x1, y1]], "min_crossing_frames": 2}],
     "image_size": [W, H]}

* ``polygon_px`` / ``px``: pixels (centres at integer coordinates, y down) at the camera's
  ``image_size``, or at the optional top-level ``image_size`` (needed to scale them when no camera
  is given; without either they are taken at the frame's own size). Frames of another size of the
  same aspect (within 1 %) get the coordinates scaled with ``x' = (x + 0.5) s - 0.5`` (the camera's rule).
* ``polygon_floor_m`` / ``floor_m``: metres on the floor, origin on the floor below the camera,
  x to the right, y forward along the floor (:func:`maskdepth.events.motion.floor_xy`); they
  need a camera (``camera.json``).
* ``inertia_frames`` (default 3): consecutive frames an anchor must be inside (outside) before a
  zone is entered (left), and on the other side of a line before a crossing counts;
  ``min_crossing_frames`` (lines only) overrides it for a line.
* ``born_still_s`` (zones only; default: the events engine's, 2 s): something that appears inside the zone and does not
  move enters it only once it moves or has been there this long (:class:`maskdepth.events.EventEngine`; with a camera
  or a measured depth, something person-tall enters at once: ``born_still_max_height_m``); 0: at once.

Every problem is one :class:`~maskdepth.errors.MaskDepthError` line naming the file and the entry.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MaskDepthError
from ..scene.camera import Camera

DEFAULT_INERTIA = 3
ZONE_KEYS = {"name", "polygon_px", "polygon_floor_m", "inertia_frames", "born_still_s"}
LINE_KEYS = {"name", "px", "floor_m", "inertia_frames", "min_crossing_frames"}
TOP_KEYS = {"zones", "lines", "image_size"}


@dataclass(frozen=True)
class Zone:
    """A named polygon.

    Attributes:
        name: unique among zones.
        points: float64 ``(N, 2)``, N >= 3, pixels (``space == "px"``) or floor metres (``"floor_m"``).
        space: ``"px"`` or ``"floor_m"``.
        inertia_frames: frames (>= 1) needed to confirm an entry or an exit.
        born_still_s: seconds (>= 0; 0: at once) a still object born inside waits before it enters; ``None``: the
            events engine's ``born_still_s``.
    """

    name: str
    points: np.ndarray
    space: str
    inertia_frames: int = DEFAULT_INERTIA
    born_still_s: float | None = None

    def contains(self, p) -> bool:
        """True when point ``p`` ``(x, y)`` (in :attr:`space`'s units) is inside or on the polygon (even-odd rule)."""
        return point_in_polygon(p, self.points)


@dataclass(frozen=True)
class Line:
    """A named directed segment ``p0 -> p1``.

    Attributes:
        name: unique among lines.
        points: float64 ``(2, 2)`` ``[p0, p1]`` in pixels or floor metres.
        space: ``"px"`` or ``"floor_m"``.
        min_crossing_frames: frames (>= 1) an anchor must stay on the new side before the crossing counts.
    """

    name: str
    points: np.ndarray
    space: str
    min_crossing_frames: int = DEFAULT_INERTIA


@dataclass(frozen=True)
class Zones:
    """The validated content of ``zones.json`` (see the module docstring).

    Attributes:
        zones, lines: tuples of :class:`Zone` / :class:`Line`.
        image_size: ``(W, H)`` the pixel coordinates refer to, or ``None`` (the frame's size).
    """

    zones: tuple[Zone, ...] = ()
    lines: tuple[Line, ...] = ()
    image_size: tuple[int, int] | None = None

    @property
    def needs_floor(self) -> bool:
        """True when any zone or line is in floor metres (a camera is then required)."""
        return any(z.space == "floor_m" for z in self.zones + self.lines)

    def for_frame(self, W: int, H: int) -> Zones:
        """The same zones with pixel coordinates scaled to frames of ``W x H``.

        Raises:
            MaskDepthError: the frame's aspect ratio differs from :attr:`image_size`'s by more than 1 %.
        """
        if self.image_size is None or tuple(self.image_size) == (W, H):
            return self
        W0, H0 = self.image_size
        sx, sy = W / W0, H / H0
        if abs(sx / sy - 1.0) > 0.01:
            raise MaskDepthError(f"zones are drawn on {W0}x{H0} images but the frame is {W}x{H}: aspect ratios differ by more than 1 %")
        s = np.array([sx, sy])

        def sc(item):
            return replace(item, points=(item.points + 0.5) * s - 0.5) if item.space == "px" else item

        return Zones(tuple(sc(z) for z in self.zones), tuple(sc(line) for line in self.lines), (int(W), int(H)))


def point_in_polygon(p, poly: np.ndarray) -> bool:
    """Even-odd ray casting (W. R. Franklin's PNPOLY); points on an edge count as inside.

    Args:
        p: ``(x, y)``.
        poly: ``(N, 2)`` vertices in order (closed implicitly).
    """
    x, y = float(p[0]), float(p[1])
    n = len(poly)
    inside = False
    for i in range(n):
        x0, y0 = poly[i - 1]
        x1, y1 = poly[i]
        if _on_segment(x, y, x0, y0, x1, y1):
            return True
        if (y1 > y) != (y0 > y) and x < (x0 - x1) * (y - y1) / (y0 - y1) + x1:
            inside = not inside
    return inside


def _on_segment(x, y, x0, y0, x1, y1, eps: float = 1e-9) -> bool:
    cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
    if abs(cross) > eps * max(1.0, math.hypot(x1 - x0, y1 - y0)):
        return False
    return min(x0, x1) - eps <= x <= max(x0, x1) + eps and min(y0, y1) - eps <= y <= max(y0, y1) + eps


def _points(v: Any, where: str, n_min: int, n_exact: int | None = None) -> np.ndarray:
    ok = isinstance(v, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in p)
        for p in v
    )
    if not ok:
        raise MaskDepthError(f"{where} must be a list of [x, y] number pairs, got {json.dumps(v)[:80]}")
    if n_exact is not None and len(v) != n_exact:
        raise MaskDepthError(f"{where} must have exactly {n_exact} points, got {len(v)}")
    if len(v) < n_min:
        raise MaskDepthError(f"{where} must have at least {n_min} points, got {len(v)}")
    a = np.asarray(v, np.float64)
    if n_exact == 2 and np.allclose(a[0], a[1]):
        raise MaskDepthError(f"{where}: the two end points are the same")
    if n_exact is None and abs(_area(a)) < 1e-12:
        raise MaskDepthError(f"{where}: the polygon has no area")
    return a


def _area(a: np.ndarray) -> float:
    x, y = a[:, 0], a[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _frames(d: dict, key: str, where: str, default: int) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise MaskDepthError(f"{where}: '{key}' must be a whole number >= 1, got {json.dumps(v)}")
    return v


def _seconds(d: dict, key: str, where: str) -> float | None:
    v = d.get(key)
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf):
        raise MaskDepthError(f"{where}: '{key}' must be a number of seconds >= 0, got {json.dumps(v)}")
    return None if v is None else float(v)


def _entry(d: Any, where: str, keys: set, geo: tuple[str, str]) -> tuple[str, str, Any]:
    if not isinstance(d, dict):
        raise MaskDepthError(f"{where} must be an object, got {type(d).__name__}")
    unknown = sorted(set(d) - keys)
    if unknown:
        raise MaskDepthError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(keys))})")
    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        raise MaskDepthError(f"{where}: 'name' must be a non-empty string")
    given = [k for k in geo if k in d]
    if len(given) != 1:
        raise MaskDepthError(f"{where} ('{name}'): give exactly one of '{geo[0]}' (pixels) or '{geo[1]}' (floor metres)")
    return name, given[0], d[given[0]]


def _image_size(v: Any, where: str) -> tuple[int, int] | None:
    if v is None:
        return None
    if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)):
        raise MaskDepthError(f"{where}: 'image_size' must be [W, H] in whole positive pixels, got {json.dumps(v)}")
    return (v[0], v[1])


def _unique(items, what: str, where: str) -> None:
    seen = set()
    for it in items:
        if it.name in seen:
            raise MaskDepthError(f"{where}: two {what} are named '{it.name}'")
        seen.add(it.name)


def parse_zones(d: Any, where: str = "zones.json", camera: Camera | None = None) -> Zones:
    """Validate a ``zones.json`` dictionary (see the module docstring).

    Args:
        d: the parsed JSON.
        where: the file's name, used in error messages.
        camera: the camera, needed for floor-metre entries; its ``image_size`` is the reference
            size of pixel coordinates unless the file gives ``image_size``.
    Returns:
        :class:`Zones`.
    Raises:
        MaskDepthError: (one line) not an object, unknown keys, a zone/line without a name or with
        both or neither geometry, fewer than 3 polygon points / not exactly 2 line points,
        non-numbers, a degenerate polygon or line, duplicate names, bad ``inertia_frames`` /
        ``min_crossing_frames``, nothing defined, or floor metres without a camera.
    """
    if not isinstance(d, dict):
        raise MaskDepthError(f"{where}: expected a JSON object with 'zones' and/or 'lines', got {type(d).__name__}")
    unknown = sorted(set(d) - TOP_KEYS)
    if unknown:
        raise MaskDepthError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(TOP_KEYS))})")
    for k in ("zones", "lines"):
        if not isinstance(d.get(k, []), list):
            raise MaskDepthError(f"{where}: '{k}' must be a list")
    zones, lines = [], []
    for i, z in enumerate(d.get("zones", [])):
        w = f"{where}: zones[{i}]"
        name, key, v = _entry(z, w, ZONE_KEYS, ("polygon_px", "polygon_floor_m"))
        pts = _points(v, f"{w} ('{name}') '{key}'", 3)
        space, inertia = "px" if key == "polygon_px" else "floor_m", _frames(z, "inertia_frames", w, DEFAULT_INERTIA)
        zones.append(Zone(name, pts, space, inertia, _seconds(z, "born_still_s", w)))
    for i, ln in enumerate(d.get("lines", [])):
        w = f"{where}: lines[{i}]"
        name, key, v = _entry(ln, w, LINE_KEYS, ("px", "floor_m"))
        pts = _points(v, f"{w} ('{name}') '{key}'", 2, n_exact=2)
        inertia = _frames(ln, "inertia_frames", w, DEFAULT_INERTIA)
        lines.append(Line(name, pts, "px" if key == "px" else "floor_m", _frames(ln, "min_crossing_frames", w, inertia)))
    if not zones and not lines:
        raise MaskDepthError(f"{where}: defines no zone and no line")
    _unique(zones, "zones", where)
    _unique(lines, "lines", where)
    size = _image_size(d.get("image_size"), where)
    out = Zones(tuple(zones), tuple(lines), size if size is not None else (camera.image_size if camera is not None else None))
    if out.needs_floor and camera is None:
        names = [z.name for z in out.zones + out.lines if z.space == "floor_m"]
        raise MaskDepthError(f"{where}: '{names[0]}' is in floor metres, which needs a camera (camera.json)")
    return out


def load_zones(path, camera: Camera | None = None) -> Zones:
    """Read and validate ``zones.json`` (:func:`parse_zones`).

    Raises:
        MaskDepthError: missing or unreadable file, invalid JSON (one line with its position), or
        any problem :func:`parse_zones` names.
    """
    p = Path(path)
    try:
        d = json.loads(p.read_text())
    except FileNotFoundError:
        raise MaskDepthError(f"zones file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise MaskDepthError(f"zones file {p} is unreadable: {str(e).splitlines()[0]}") from None
    except ValueError as e:
        raise MaskDepthError(f"zones file {p} is not valid JSON: {str(e).splitlines()[0]}") from None
    return parse_zones(d, where=str(p), camera=camera)
