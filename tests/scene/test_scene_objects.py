"""maskdepth.scene.objects: components, contact points, distances, composed depth, objects.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.scene import (
    SceneDepth,
    compose_depth,
    extract_objects,
    ground_plane_scene_depth,
    label_objects,
    objects_json,
)
from tests.scene.people import H, W, person_mask, scene_camera


@pytest.fixture(scope="module")
def cam():
    return scene_camera()


def test_contact_point_distance_height_of_a_person(cam):
    mask, top = person_mask(cam, 160.0, 200.0)
    # noise: a 1-px spur under the feet and a few isolated speckles attached to the bottom
    mask[201:206, 160] = True
    mask[201, 150] = True
    objs = extract_objects(mask, ground_plane_scene_depth(cam), cam)
    assert len(objs) == 1
    o = objs[0]
    assert o.contact_px == (160.0, 200.0) and o.contact_point == (160.0, 200.5)
    assert o.distance_m == pytest.approx(float(cam.floor_depth(160.0, 200.5)), rel=1e-4)
    assert o.height_m == pytest.approx(1.7, rel=0.02)
    assert o.depth_source == "ground_plane" and o.reason is None
    assert o.bbox == (152, int(math.ceil(top[1])), 168, 205)


def test_measured_scene_depth_gives_the_distance(cam):
    mask, _ = person_mask(cam, 100.0, 180.0)
    F = cam.floor_depth_map()
    measured = SceneDepth(F * 1.01, "measured")  # a measured map (1 % off the camera's floor)
    o = extract_objects(mask, measured, cam)[0]
    assert o.depth_source == "measured"
    assert o.distance_m == pytest.approx(1.01 * float(cam.floor_depth(100.0, 180.5)), rel=1e-3)  # at the feet's bottom edge
    # no camera: distance from the scene depth, height from the focal length (fronto-parallel)
    o2 = extract_objects(mask, measured, None, focal_px=300.0)[0]
    assert o2.distance_m == pytest.approx(o.distance_m) and 1.2 < o2.height_m < 2.0
    # unknown depth under the feet and no camera: no guess
    d = F.copy()
    d[170:190, 90:110] = 0
    o3 = extract_objects(mask, d, None)[0]
    assert o3.distance_m is None and o3.reason and o3.contact_px is not None
    # unknown depth under the feet with a camera: the camera's floor
    o4 = extract_objects(mask, d, cam)[0]
    assert o4.depth_source == "ground_plane" and o4.distance_m == pytest.approx(float(cam.floor_depth(100.0, 180.5)), rel=1e-4)


def test_bottom_border_component_has_no_contact(cam):
    mask = np.zeros((H, W), bool)
    mask[180:H, 40:60] = True  # feet cut off by the frame
    mask2, _ = person_mask(cam, 200.0, 170.0, mask=mask)
    objs, labels = label_objects(mask2, None, cam)
    cut = [o for o in objs if o.bbox[3] == H - 1][0]
    assert cut.contact_px is None and cut.distance_m is None and cut.reason == "contact outside the frame"
    learned = np.full((H, W), 7.0, np.float32)
    depth = compose_depth(ground_plane_scene_depth(cam), mask2, objs, cam, labels=labels, fallback_depth=learned)
    assert np.all(depth[185:H, 45:55] == 7.0)  # kept the learned estimate, not guessed
    assert cut.extra["depth_mode"] == "kept"
    js = objects_json(objs, (W, H))
    entry = [e for e in js["objects"] if e["contact_px"] is None][0]
    assert entry["distance_m"] is None and entry["note"] == "contact outside the frame"


def test_occlusion_scene_nearer_wins(cam):
    mask, top = person_mask(cam, 160.0, 200.0)
    sd = ground_plane_scene_depth(cam).depth.copy()
    z_person = float(cam.floor_depth(160.0, 200.5))
    # a pole 1 m in front of the person, over its torso (the mask bleeds over it)
    sd[60:150, 155:165] = z_person - 1.0
    objs = extract_objects(mask, sd, cam)
    o = objs[0]
    assert o.distance_m == pytest.approx(z_person, rel=1e-4)  # the contact is on the floor
    depth = compose_depth(sd, mask, objs, cam)
    t = int(math.ceil(top[1]))
    assert 60 < t < 140
    assert np.all(depth[t:150, 155:165] == np.float32(z_person - 1.0))  # the scene wins
    r = 120
    assert depth[r, 153] == pytest.approx(z_person - (200.5 - r) / (200.5 - top[1]) * 1.7 * math.sin(cam.pitch), rel=3e-3)
    assert depth[r, 153] < z_person and depth[r, 153] > z_person - 1.0  # the person's plane elsewhere
    assert o.extra["occluded_px"] == (150 - t) * 10
    assert np.all(depth[~mask] == sd[~mask])  # the background is untouched


def test_hidden_contact_behind_a_nearer_object(cam):
    mask, _ = person_mask(cam, 160.0, 200.0)
    sd = ground_plane_scene_depth(cam).depth.copy()
    z_person = float(cam.floor_depth(160.0, 200.0))
    sd[171:215, 130:190] = z_person - 1.5  # a crate in front hides the legs: the mask stops above it
    mask[171:, :] = False
    o = extract_objects(mask, sd, cam)[0]
    assert o.contact_px is None and o.distance_m is None and o.reason == "contact hidden behind a nearer object"
    # the same person in the open is not flagged
    assert extract_objects(person_mask(cam, 160.0, 170.0)[0], ground_plane_scene_depth(cam), cam)[0].reason is None


def test_min_area_and_mask_formats(cam):
    m = np.zeros((H, W), np.uint8)
    m[100:103, 100:103] = 255  # 9 px speck
    m[50:120, 200:220] = 255
    objs = extract_objects(m, None, cam)
    assert len(objs) == 1 and objs[0].area_px == 70 * 20
    assert len(extract_objects(m, None, cam, min_area_px=5)) == 2
    with pytest.raises(MaskDepthError, match="mask must be"):
        extract_objects(np.zeros((H, W, 3)), None)
    with pytest.raises(MaskDepthError, match="scene depth is 10x10"):
        extract_objects(m, np.ones((10, 10), np.float32))


def test_objects_json_schema(cam):
    mask, _ = person_mask(cam, 160.0, 200.0)
    mask2, _ = person_mask(cam, 60.0, 150.0, mask=mask)
    js = objects_json(extract_objects(mask2, ground_plane_scene_depth(cam), cam), (W, H), note="demo")
    json.dumps(js)
    assert set(js) == {"image_size", "objects", "note"} and js["image_size"] == [W, H]
    assert len(js["objects"]) == 2
    for e in js["objects"]:
        assert set(e) == {"id", "bbox", "area_px", "contact_px", "distance_m", "height_m", "depth_source"}
        assert len(e["bbox"]) == 4 and len(e["contact_px"]) == 2
        assert e["depth_source"] in ("measured", "ground_plane", "teacher", "learned")


def test_recent_cameras_keeps_the_most_recently_used():
    from maskdepth.scene.fixed_camera import FixedCamera, RecentCameras

    bg = np.zeros((8, 8, 3), np.uint8)
    made = []

    def make():
        made.append(FixedCamera(bg))
        return made[-1]

    rc = RecentCameras(2)
    a = rc.get("a", make)
    assert rc.get("a", make) is a and len(made) == 1  # kept
    rc.get("b", make)
    rc.get("a", make)  # a becomes the most recent
    rc.get("c", make)  # drops b, the least recently used
    assert len(rc) == 2 and rc.get("a", make) is a and len(made) == 3
    rc.get("b", make)
    assert len(made) == 4  # b was dropped: made again
    with pytest.raises(ValueError, match="size"):
        RecentCameras(0)
