"""maskdepth.scene.camera: camera.json, exact floor depth, projection, upright objects."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.scene import Camera, camera_from_pitch, compose_depth, extract_objects, load_camera, save_camera


def _rot_x(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_z(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _floor_depth_independent(f, cx, cy, pitch, roll, Hc, u, v):
    """Ray-plane intersection in a world frame (Y up, floor Y = 0, camera at (0, Hc, 0)).

    Camera-to-world rotation: a level camera (x right, y down, z forward) is
    diag(1, -1, 1) in world axes; pitch it down by `pitch` about its x axis and roll it about its z axis.
    """
    level = np.diag([1.0, -1.0, 1.0])
    R = level @ _rot_x(-pitch) @ _rot_z(-roll)  # camera -> world
    C = np.array([0.0, Hc, 0.0])
    r_cam = np.array([(u - cx) / f, (v - cy) / f, 1.0])
    r_w = R @ r_cam
    if r_w[1] >= 0:
        return 0.0
    t = -C[1] / r_w[1]
    X = C + t * r_w
    return float((R.T @ (X - C))[2])


@pytest.mark.parametrize("pitch_deg,roll_deg", [(0.0, 0.0), (20.0, 0.0), (35.0, 0.0), (15.0, 6.0), (25.0, -8.0)])
def test_floor_depth_matches_independent_ray_plane(pitch_deg, roll_deg):
    cam = camera_from_pitch(300.0, (160, 120), pitch_deg, 2.5, roll_deg=roll_deg)
    F = cam.floor_depth_map()
    assert F.dtype == np.float32 and F.shape == (120, 160)
    assert abs(cam.pitch_deg - pitch_deg) < 1e-9
    rng = np.random.default_rng(0)
    for _ in range(60):
        u, v = int(rng.integers(0, 160)), int(rng.integers(0, 120))
        ref = _floor_depth_independent(300.0, cam.cx, cam.cy, math.radians(pitch_deg), math.radians(roll_deg), 2.5, u, v)
        assert F[v, u] == pytest.approx(ref, rel=1e-5, abs=1e-6)
    # the closed form of the design note (roll 0)
    if roll_deg == 0:
        th = cam.pitch
        v = np.arange(120, dtype=np.float64)
        expect = 2.5 / (math.cos(th) * (v - cam.cy) / 300.0 + math.sin(th))
        below = expect > 0
        np.testing.assert_allclose(F[below, 7], expect[below], rtol=1e-5)
        assert np.all(F[~below, 7] == 0)  # above the horizon: 0 = unknown


def test_floor_point_projection_and_up():
    cam = camera_from_pitch(300.0, (160, 120), 22.0, 3.1, roll_deg=4.0)
    P = cam.floor_point(np.array([10.0, 80.0, 150.0]), np.array([100.0, 60.0, 110.0]))
    np.testing.assert_allclose(P @ cam.up_vector(), -3.1, atol=1e-9)
    np.testing.assert_allclose(cam.project(P), [[10, 100], [80, 60], [150, 110]], atol=1e-9)
    np.testing.assert_allclose(cam.ray(80.0, 60.0), [(80 - cam.cx) / 300, (60 - cam.cy) / 300, 1])
    assert np.linalg.norm(cam.up_vector()) == pytest.approx(1.0)
    # the horizon descends to the right with positive roll; the floor starts just below it
    hr = cam.horizon_row(np.array([0.0, 159.0]))
    assert hr[1] > hr[0]
    assert cam.floor_depth(0.0, hr[0] - 0.5) == 0 and cam.floor_depth(0.0, hr[0] + 0.5) > 0
    assert np.isnan(cam.floor_point(80.0, cam.horizon_y - 3)).all()


@pytest.mark.parametrize("pitch_deg", [0.0, 25.0])
def test_upright_top_nearer_than_feet_when_looking_down(pitch_deg):
    cam = camera_from_pitch(300.0, (160, 120), pitch_deg, 2.0 if pitch_deg == 0 else 3.0)
    # feet on the bottom edge of mask row 110: the contact point (u, v + 0.5) of SceneObject.contact_point
    u, v = 80.0, 110.5
    P = cam.floor_point(u, v)
    top = P + 1.7 * cam.up_vector()
    assert top[2] == pytest.approx(P[2] - 1.7 * math.sin(cam.pitch))  # Z_top = Z - H sin th
    # the composed depth of a person standing there: head row vs foot row
    t = cam.top_of(u, v, 1.7)
    mask = np.zeros((120, 160), bool)
    mask[int(math.ceil(t[1])) : int(v) + 1, 75:86] = True
    objs = extract_objects(mask, None, cam)
    d = compose_depth(np.zeros((120, 160), np.float32), mask, objs, cam)
    z_foot, z_head = d[int(v), 80], d[int(math.ceil(t[1])), 80]
    # the foot row's pixel centre (110) on the vertical plane through P facing the camera
    n = cam.forward_horizontal()
    r = cam.ray(u, int(v))
    assert z_foot == pytest.approx((n @ P) / (n @ r) * r[2], rel=1e-5)
    if pitch_deg == 0:
        assert z_head == pytest.approx(z_foot, rel=1e-6)
    else:
        assert z_head < z_foot - 0.5
        assert z_head == pytest.approx(P[2] - (v - math.ceil(t[1])) / (v - t[1]) * 1.7 * math.sin(cam.pitch), rel=2e-3)


def test_horizon_below_image_is_an_error(tmp_path):
    with pytest.raises(MaskDepthError, match="horizon at row 130.*below the last image row"):
        Camera(300.0, 79.5, 59.5, 130.0, 2.0, (160, 120))
    p = tmp_path / "cam.json"
    p.write_text(json.dumps({"focal_px": 300, "cx": 79.5, "cy": 59.5, "horizon_y": 500, "camera_height_m": 2, "image_size": [160, 120]}))
    with pytest.raises(MaskDepthError) as e:
        load_camera(p)
    assert "horizon" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "patch,msg",
    [
        ({"focal_px": 0}, "focal_px"),
        ({"camera_height_m": -1}, "camera_height_m"),
        ({"image_size": [160]}, "image_size"),
        ({"horizon_y": "up"}, "horizon_y"),
        ({"roll_deg": 60}, "roll_deg"),
        ({"camera_height_m_ci95": [1.0]}, "ci95"),
    ],
)
def test_bad_camera_values(tmp_path, patch, msg):
    d = {"focal_px": 300, "cx": 79.5, "cy": 59.5, "horizon_y": 20, "camera_height_m": 2, "image_size": [160, 120]}
    d.update(patch)
    p = tmp_path / "cam.json"
    p.write_text(json.dumps(d))
    with pytest.raises(MaskDepthError, match=msg):
        load_camera(p)


def test_missing_keys_and_bad_files(tmp_path):
    p = tmp_path / "cam.json"
    p.write_text(json.dumps({"focal_px": 300, "cx": 1}))
    with pytest.raises(MaskDepthError, match="missing key.*cy.*horizon_y.*camera_height_m.*image_size"):
        load_camera(p)
    p.write_text("{not json")
    with pytest.raises(MaskDepthError, match="unreadable"):
        load_camera(p)
    with pytest.raises(MaskDepthError, match="not found"):
        load_camera(tmp_path / "nope.json")


def test_save_load_round_trip_and_scaling(tmp_path):
    cam = Camera(300.0, 79.5, 59.5, 20.0, 2.75, (160, 120), roll_deg=3.0, horizon_y_ci95=(15.0, 26.0), camera_height_m_ci95=(2.5, None))
    p = tmp_path / "sub" / "camera.json"
    save_camera(cam, p)
    assert not [x for x in p.parent.iterdir() if x.suffix == ".tmp"]
    back = load_camera(p)
    assert back == cam
    assert json.loads(p.read_text())["camera_height_m_ci95"] == [2.5, None]
    big = load_camera(p, frame_size=(320, 240))
    assert big.focal_px == pytest.approx(600.0) and big.cx == pytest.approx(159.5) and big.horizon_y == pytest.approx(40.5)
    assert big.pitch == pytest.approx(cam.pitch)
    # the same physical floor point at both sizes
    assert big.floor_depth(2 * 50 + 0.5, 2 * 100 + 0.5) == pytest.approx(cam.floor_depth(50.0, 100.0))
    assert cam.scaled_to(161, 120).image_size == (161, 120)  # 0.6 % aspect change: accepted
    with pytest.raises(MaskDepthError, match="160x120.*200x120.*aspect"):
        cam.scaled_to(200, 120)
    with pytest.raises(MaskDepthError, match="scaled_to"):
        cam.floor_depth_map(240, 320)
