"""The overlay draws zones, lines (floor ones projected) and speeds."""

from __future__ import annotations

import numpy as np

from maskdepth.events import EventEngine, parse_zones
from maskdepth.scene import SceneObject, camera_from_pitch
from maskdepth.viz import draw_objects, draw_zones, object_label

CAM = camera_from_pitch(600.0, (640, 480), 25.0, 3.0)


def test_zones_and_floor_lines_are_drawn_where_they_are():
    z = parse_zones(
        {
            "zones": [{"name": "a", "polygon_px": [[100, 100], [200, 100], [200, 200], [100, 200]]}],
            "lines": [{"name": "l", "floor_m": [[-2, 6], [2, 6]]}],
        },
        camera=CAM,
    )
    zs, ls = EventEngine(zones=z, camera=CAM).overlay_shapes()
    img = np.zeros((480, 640, 3), np.uint8)
    out = draw_zones(img, zs, ls)
    assert out[150, 150].any() and not out[300, 50].any()  # tinted inside the zone only
    (u0, v0), (u1, v1) = ls[0][1]
    assert abs(v0 - v1) < 1e-6 and out[int(round(v0)), int(round(0.5 * (u0 + u1)))].any()  # the projected line, horizontal here
    assert draw_zones(img, [], []) is img


def test_speed_in_the_label():
    o = SceneObject(3, (10, 10, 40, 90), 100, (25, 50), (25, 90), (25, 10), distance_m=4.24)
    assert object_label(o, 1.26) == "3 · 4.2 m · 1.3 m/s" and object_label(o) == "3 · 4.2 m"
    img = np.zeros((120, 120, 3), np.uint8)
    a, b = draw_objects(img, [o], speeds=[1.26]), draw_objects(img, [o])
    assert (a != b).any()
