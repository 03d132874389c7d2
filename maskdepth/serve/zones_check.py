"""``POST /zones/check`` of ``maskdepth serve``: a ``zones.json`` drawn on the page (or written by
hand) validated by the same parser as ``watch --zones`` and ``predict --video --zones``
(:func:`maskdepth.events.zones.parse_zones`), answered with a summary or one 400 line."""

from __future__ import annotations

import json

from ..errors import MaskDepthError
from .uploads import HttpError

ZONES_SCHEMA = {
    "type": "object",
    "description": "zones.json (README, 'Events and zones'); pixel coordinates only here (floor metres need a camera)",
    "properties": {
        "image_size": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 2,
            "maxItems": 2,
            "description": "[W, H] the pixels refer to",
        },
        "zones": {
            "type": "array",
            "items": {"type": "object", "description": '{"name", "polygon_px": [[x, y], ...], "inertia_frames"?, "born_still_s"?}'},
        },
        "lines": {
            "type": "array",
            "items": {"type": "object", "description": '{"name", "px": [[x0, y0], [x1, y1]], "min_crossing_frames"?}'},
        },
    },
}
"""The request body's JSON schema (shown at ``/docs``); :func:`maskdepth.events.zones.parse_zones` is the full check."""

ZONES_DESCRIPTION = (
    "Validates a zones.json with the parser `watch --zones` and `predict --video --zones` use. 200: "
    '`{"zones": [names], "lines": [names], "image_size": [W, H] or null}`; 400: one line naming the entry at fault. '
    "Floor-metre entries are refused here (they need the camera, which this endpoint does not take)."
)


def check_zones(body: bytes, max_pixels: int) -> dict:
    """``POST /zones/check``: validate a ``zones.json`` body.

    Args:
        body: the request body, UTF-8 JSON (the ``zones.json`` dictionary).
        max_pixels: the largest ``W * H`` accepted for the optional ``image_size``.
    Returns:
        ``{"zones": [str, ...], "lines": [str, ...], "image_size": [W, H] or None}``: the names, in
        the file's order, and the reference size of the pixel coordinates.
    Raises:
        :class:`~maskdepth.serve.uploads.HttpError` 400 with one line: not JSON, or any problem
        :func:`~maskdepth.events.zones.parse_zones` names (floor metres included: no camera here),
        or an ``image_size`` over ``max_pixels``.
    """
    from ..events.zones import parse_zones

    try:
        d = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise HttpError(400, f"not valid JSON ({str(e).splitlines()[0][:120]})") from None
    try:
        z = parse_zones(d, where="zones.json")
    except MaskDepthError as e:
        raise HttpError(400, str(e)) from None
    if z.image_size is not None and z.image_size[0] * z.image_size[1] > max_pixels:
        raise HttpError(400, f"zones.json: 'image_size' {list(z.image_size)} is over {max_pixels / 1e6:g} Mpx")
    return {
        "zones": [x.name for x in z.zones],
        "lines": [x.name for x in z.lines],
        "image_size": list(z.image_size) if z.image_size else None,
    }
