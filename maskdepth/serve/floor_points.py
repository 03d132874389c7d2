"""``POST /calibrate/floor-points`` of ``maskdepth serve``: a JSON body of floor points with known
metres → the ``camera.json`` fitted from them (:mod:`maskdepth.scene.calibrate.floor`)."""

from __future__ import annotations

import json
import math

from ..errors import MaskDepthError
from .uploads import HttpError

FLOOR_POINTS_KEYS = ("image_size", "points", "focal_px", "fov_deg", "n_boot", "seed")
"""The keys a request body may have."""

FLOOR_POINTS_SCHEMA = {
    "type": "object",
    "required": ["image_size", "points"],
    "additionalProperties": False,
    "properties": {
        "image_size": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2, "description": "[W, H] of the bg"},
        "points": {
            "type": "array",
            "minItems": 4,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["px", "floor_m"],
                "properties": {
                    "px": {"type": "array", "items": {"type": "number"}, "description": "[u, v] pixel (centres at integers)"},
                    "floor_m": {"type": "array", "items": {"type": "number"}, "description": "[x, y] metres, any frame on the floor"},
                },
            },
        },
        "focal_px": {"type": "number", "description": "focal length in pixels at image_size"},
        "fov_deg": {"type": "number", "description": "horizontal field of view in degrees (instead of focal_px)"},
        "n_boot": {"type": "integer", "minimum": 0, "maximum": 1000, "description": "bootstrap resamples (default 200)"},
        "seed": {"type": "integer", "description": "bootstrap seed (default 0)"},
    },
}
"""The request body's JSON schema (shown at ``/docs``)."""

_API_PARAMS = {"fov": "fov_deg"}
"""The fit's parameters under another name in this API's request (``fov`` of :func:`maskdepth.calibration.focal_from_fov`)."""


def _whole(v, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _api_message(e: MaskDepthError) -> str:
    """A fit's error in this API's terms: its parameter named as the request's key."""
    msg, param = Exception.__str__(e), getattr(e, "param", None)
    return f"{_API_PARAMS.get(param, param)} {msg}" if param else msg


def _parse_body(body: bytes, max_pixels: int) -> dict:
    """The request's JSON object, its keys and ``image_size``, ``n_boot``, ``seed``, ``focal_px``, ``fov_deg`` checked."""
    try:
        d = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise HttpError(400, f"not valid JSON ({str(e).splitlines()[0][:120]})") from None
    if not isinstance(d, dict):
        raise HttpError(400, f'expected a JSON object {{"image_size": [W, H], "points": [...], "focal_px": F}}, got {type(d).__name__}')
    unknown = sorted(set(d) - set(FLOOR_POINTS_KEYS))
    if unknown:
        raise HttpError(400, f"unknown key(s) {', '.join(map(repr, unknown))} (expected {', '.join(FLOOR_POINTS_KEYS)})")
    size = d.get("image_size")
    if not (isinstance(size, list) and len(size) == 2 and all(_whole(x, 1, 1 << 20) for x in size)) or size[0] * size[1] > max_pixels:
        raise HttpError(400, f"'image_size' must be [W, H], whole pixels > 0 and at most {max_pixels / 1e6:g} Mpx, got {size!r}")
    n_boot, seed = d.get("n_boot", 200), d.get("seed", 0)
    if not _whole(n_boot, 0, 1000) or not _whole(seed, 0, 2**32 - 1):
        raise HttpError(400, f"'n_boot' must be a whole number 0-1000 and 'seed' 0-2^32, got {n_boot!r}, {seed!r}")
    for k in ("focal_px", "fov_deg"):
        v = d.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            raise HttpError(400, f"'{k}' must be a number or null, got {v!r}")
    return d


def floor_points_camera(body: bytes, max_pixels: int) -> dict:
    """``POST /calibrate/floor-points``: the request's JSON (:data:`FLOOR_POINTS_SCHEMA`) → the
    ``camera.json`` dictionary of :meth:`maskdepth.scene.calibrate.floor.FloorPointsFit.to_json`.

    Args:
        body: the request body (UTF-8 JSON).
        max_pixels: the largest ``W * H`` accepted for ``image_size``.
    Raises:
        :class:`~maskdepth.serve.uploads.HttpError` 400 with one line (bad JSON, unknown keys, a bad size, focal or points, a fit that fails).
    """
    from ..calibration import focal_from_fov
    from ..scene.calibrate.floor import fit_camera_from_floor_points, parse_floor_points

    d = _parse_body(body, max_pixels)
    size, focal, fov = d["image_size"], d.get("focal_px"), d.get("fov_deg")
    try:
        if focal is not None and fov is not None:
            raise MaskDepthError("give 'focal_px' or 'fov_deg', not both (neither: estimated from the points)")
        f = focal_from_fov(fov, size[0]) if fov is not None else focal
        px, floor = parse_floor_points({"points": d.get("points")}, size, where="points")
        fit = fit_camera_from_floor_points(px, floor, size, focal_px=f, n_boot=d.get("n_boot", 200), seed=d.get("seed", 0))
    except MaskDepthError as e:
        raise HttpError(400, _api_message(e)) from None
    return fit.to_json()
