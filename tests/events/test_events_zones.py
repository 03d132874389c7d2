"""zones.json: the contract's shapes load; every bad file is one clear MaskDepthError line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.events import load_zones, parse_zones
from maskdepth.events.zones import point_in_polygon
from maskdepth.scene import camera_from_pitch
from tests.helpers import REPO

CAM = camera_from_pitch(600.0, (640, 480), 25.0, 3.0)
SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]


def test_contract_example_loads(tmp_path):
    d = {
        "zones": [
            {"name": "door", "polygon_px": SQUARE},
            {"name": "desk", "polygon_floor_m": [[-1, 4], [1, 4], [1, 6]], "inertia_frames": 5},
        ],
        "lines": [{"name": "entry", "px": [[0, 0], [5, 5]]}, {"name": "aisle", "floor_m": [[-2, 5], [2, 5]], "min_crossing_frames": 2}],
    }
    p = tmp_path / "zones.json"
    p.write_text(json.dumps(d))
    z = load_zones(p, camera=CAM)
    assert [x.name for x in z.zones] == ["door", "desk"] and z.zones[1].inertia_frames == 5 and z.zones[0].inertia_frames == 3
    assert z.lines[0].min_crossing_frames == 3 and z.lines[1].min_crossing_frames == 2
    assert z.image_size == (640, 480) and z.needs_floor


def test_pixels_scale_with_the_frame_and_reject_another_aspect():
    z = parse_zones({"zones": [{"name": "a", "polygon_px": SQUARE}]}, camera=CAM)
    half = z.for_frame(320, 240)
    assert np.allclose(half.zones[0].points[2], [(10.5) * 0.5 - 0.5] * 2)
    with pytest.raises(MaskDepthError, match="aspect"):
        z.for_frame(640, 640)


def test_point_in_polygon_edges_and_concave():
    L = np.array([[0, 0], [10, 0], [10, 4], [4, 4], [4, 10], [0, 10]], float)
    assert point_in_polygon((2, 8), L) and not point_in_polygon((8, 8), L)
    assert point_in_polygon((10, 2), L) and point_in_polygon((0, 0), L)


BAD = [
    ([1, 2], "expected a JSON object"),
    ({}, "no zone and no line"),
    ({"zones": {}}, "'zones' must be a list"),
    ({"zones": [], "areas": []}, "unknown key"),
    ({"zones": ["door"]}, r"zones\[0\] must be an object"),
    ({"zones": [{"polygon_px": SQUARE}]}, "'name' must be a non-empty string"),
    ({"zones": [{"name": "a"}]}, "exactly one of 'polygon_px'"),
    ({"zones": [{"name": "a", "polygon_px": SQUARE, "polygon_floor_m": SQUARE}]}, "exactly one of"),
    ({"zones": [{"name": "a", "polygon_px": [[0, 0], [1, 1]]}]}, "at least 3 points"),
    ({"zones": [{"name": "a", "polygon_px": [[0, 0], [1, "x"], [2, 2]]}]}, "list of \\[x, y\\] number pairs"),
    ({"zones": [{"name": "a", "polygon_px": [[0, 0], [1, 1], [2, 2]]}]}, "no area"),
    ({"zones": [{"name": "a", "polygon_px": SQUARE, "inertia_frames": 0}]}, "'inertia_frames' must be a whole number >= 1"),
    ({"zones": [{"name": "a", "polygon_px": SQUARE, "color": "red"}]}, "unknown key\\(s\\) color"),
    ({"zones": [{"name": "a", "polygon_px": SQUARE}, {"name": "a", "polygon_px": SQUARE}]}, "two zones are named 'a'"),
    ({"lines": [{"name": "l", "px": [[0, 0], [1, 1], [2, 2]]}]}, "exactly 2 points"),
    ({"lines": [{"name": "l", "px": [[3, 3], [3, 3]]}]}, "end points are the same"),
    ({"lines": [{"name": "l", "px": [[0, 0], [1, 1]], "min_crossing_frames": 1.5}]}, "'min_crossing_frames' must be"),
    ({"lines": [{"name": "l", "floor_m": [[0, 1], [1, 1]]}]}, "needs a camera"),
    ({"zones": [{"name": "a", "polygon_px": SQUARE}], "image_size": [0, 3]}, "'image_size' must be"),
]


@pytest.mark.parametrize("d,msg", BAD)
def test_bad_zones_are_one_line(tmp_path, d, msg):
    p = tmp_path / "zones.json"
    p.write_text(json.dumps(d))
    with pytest.raises(MaskDepthError, match=msg) as e:
        load_zones(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(MaskDepthError, match="not found"):
        load_zones(tmp_path / "nope.json")
    p = tmp_path / "z.json"
    p.write_text('{"zones": [')
    with pytest.raises(MaskDepthError, match="not valid JSON") as e:
        load_zones(p)
    assert "\n" not in str(e.value)


def test_readme_example_is_valid():

    text = (REPO / "README.md").read_text()
    section = text.split("## Events and zones", 1)[1]
    block = section.split("```json", 1)[1].split("```", 1)[0]
    z = parse_zones(json.loads(block), camera=CAM)
    assert len(z.zones) == 2 and len(z.lines) == 2
