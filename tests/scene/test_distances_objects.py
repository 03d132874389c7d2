"""Issue 18, silent wrong answers in object measurement (maskdepth.scene.objects): occlusion ties (defect 0),
the teacher against the camera's floor at contact points (5), a head cut by the frame (6) and one contact
convention, the bottom edge of the lowest foreground pixel (7). Exact synthetic cameras; no network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maskdepth.scene import (
    SceneDepth,
    camera_from_pitch,
    compose_depth,
    extract_objects,
    ground_plane_scene_depth,
    label_objects,
    teacher_to_metric,
)
from tests.scene.people import H, W, person_mask, scene_camera


@pytest.fixture(scope="module")
def cam():
    return scene_camera()


# ----------------------------------------------------------------------------- defect 0: occlusion ties


def test_occlusion_tie_within_float32_rounding_is_stable(cam):
    """A cut-out standing exactly at the person's plane (scene depth = the plane's depth in float32, rounded either
    way) is no occluder: the float32 scene and the float64 plane tie, and the answer must not flip with the rounding."""
    mask, _ = person_mask(cam, 160.0, 200.0)
    F = ground_plane_scene_depth(cam).depth
    objs, labels = label_objects(mask, F, cam, scene_source="ground_plane")
    o = objs[0]
    x0, y0, x1, y1 = o.bbox
    box = (slice(y0, y1 + 1), slice(x0, x1 + 1))
    hole = F.copy()
    hole[box] = 0  # unknown scene under the person: the composed depth is the plane itself (float32)
    plane32 = compose_depth(hole, mask, objs, cam, labels=labels)[box]
    counts, depths = [], []
    for scene_box in (np.nextafter(plane32, np.float32(0)), plane32, np.nextafter(plane32, np.float32(np.inf))):
        sd = F.copy()
        sd[box] = scene_box
        depths.append(compose_depth(sd, mask, objs, cam, labels=labels)[box])
        counts.append(o.extra["occluded_px"])
    assert counts == [0, 0, 0], counts  # within float32 rounding of the plane: not in front of it
    for d in depths:
        np.testing.assert_array_equal(d[mask[box]], plane32[mask[box]])


def test_occluder_a_centimetre_in_front_still_wins(cam):
    mask, _ = person_mask(cam, 160.0, 200.0)
    F = ground_plane_scene_depth(cam).depth
    objs, labels = label_objects(mask, F, cam, scene_source="ground_plane")
    x0, y0, x1, y1 = objs[0].bbox
    box = (slice(y0, y1 + 1), slice(x0, x1 + 1))
    hole = F.copy()
    hole[box] = 0
    plane32 = compose_depth(hole, mask, objs, cam, labels=labels)[box]
    sd = F.copy()
    sd[box] = plane32 - np.float32(0.01)
    compose_depth(sd, mask, objs, cam, labels=labels)
    assert objs[0].extra["occluded_px"] == int(mask[box].sum())


# ----------------------------------------------------------------------------- defect 6: head outside the frame


def test_height_is_null_when_the_head_is_cut_by_the_top_of_the_frame():
    low = camera_from_pitch(500.0, (W, H), 15.0, 1.6)  # a narrow view from below head height: near heads leave the frame
    mask, top = person_mask(low, 160.0, 200.0, height=1.75)
    assert top[1] < -5  # the head is above row 0: the bbox touches row 0
    scene = ground_plane_scene_depth(low)
    o = extract_objects(mask, scene, low)[0]
    assert o.bbox[1] == 0
    assert o.distance_m == pytest.approx(float(low.floor_depth(160.0, 200.5)), rel=1e-6)  # the feet are seen: distance stands
    assert o.height_m is None
    assert o.reason is not None and "head outside the frame" in o.reason
    assert o.to_json()["height_m"] is None and "head outside the frame" in o.to_json()["note"]
    # without a camera (fronto-parallel, focal length only) the same rule
    o2 = extract_objects(mask, scene.depth, None, focal_px=low.focal_px)[0]
    assert o2.distance_m is not None and o2.height_m is None and "head outside the frame" in o2.reason
    # the whole person in view (a lower row of the top, shorter) keeps its height and no note
    whole, top2 = person_mask(low, 160.0, 200.0, height=1.0)
    assert top2[1] > 2
    w = extract_objects(whole, scene, low)[0]
    assert w.reason is None and w.height_m == pytest.approx(1.0, rel=0.02)


# ----------------------------------------------------------------------------- defect 7: the contact point is v + 0.5

FAR = camera_from_pitch(850.0, (1280, 720), 3.0, 3.0)  # a road camera: 1 px is ~2 % of the distance at 95 m


def _row_at(cam, u, z):
    """Continuous image row where the floor is at camera depth ``z`` (bisection; rows grow nearer)."""
    lo, hi = cam.horizon_y + 1e-6, float(cam.image_size[1])
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cam.floor_depth(u, mid) > z else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("z", [49.0, 95.0])
@pytest.mark.parametrize("source", ["ground_plane", "measured"])
def test_distance_unbiased_at_range(z, source):
    """Feet exactly on a pixel edge: the distance is the floor's at that edge (within 0.2 %), and over a sweep of
    sub-pixel foot positions (pixels foreground when their centre is above the foot) the mean error is within 0.2 %."""
    Wf, Hf = FAR.image_size
    u = 640.0
    scene = ground_plane_scene_depth(FAR) if source == "ground_plane" else SceneDepth(FAR.floor_depth_map(), "measured")
    y_f = _row_at(FAR, u, z)
    v = int(round(y_f - 0.5))
    mask, _ = person_mask(FAR, u, v, half_w=4, shape=(Hf, Wf))
    o = extract_objects(mask, scene, FAR, min_area_px=20)[0]
    truth = float(FAR.floor_depth(u, v + 0.5))
    assert o.distance_m / truth - 1 == pytest.approx(0, abs=0.002), (o.distance_m, truth)
    errs = []
    for d in np.linspace(-0.45, 0.45, 10):
        yf = v + 0.5 + d
        m, _ = person_mask(FAR, u, int(math.floor(yf)), half_w=4, shape=(Hf, Wf))
        errs.append(extract_objects(m, scene, FAR, min_area_px=20)[0].distance_m / float(FAR.floor_depth(u, yf)) - 1)
    assert abs(np.mean(errs)) < 0.002, errs


def test_contact_point_is_the_bottom_edge_everywhere(cam):
    """compose_depth's plane passes through the same contact point as distance_m: at the feet's bottom edge the
    plane's depth is the object's distance (the plane is vertical through (u, v + 0.5))."""
    from maskdepth.scene.calibrate.people import observations_from_objects

    mask, _ = person_mask(cam, 160.0, 200.0)
    objs = extract_objects(mask, ground_plane_scene_depth(cam), cam)
    o = objs[0]
    assert o.contact_point == (160.0, 200.5) and o.contact_px == (160.0, 200.0)
    assert o.distance_m == pytest.approx(float(cam.floor_depth(160.0, 200.5)), rel=1e-9)
    obs = observations_from_objects(objs)
    assert obs[0, 1] == o.contact_point[1]
    depth = compose_depth(ground_plane_scene_depth(cam), mask, objs, cam)
    # pixel row 200 (centre) of the plane is nearer than its bottom edge by the floor's slope over half a pixel
    z_edge = o.distance_m
    assert depth[200, 160] < z_edge and depth[200, 160] == pytest.approx(z_edge, rel=5e-3)


# ----------------------------------------------------------------------------- defect 5: teacher vs the camera's floor


def _teacher_scene(cam, warp=0.08):
    """A teacher's disparity of a room (floor, wall at 6 m) that is affine in disparity on the wall but bent on the
    floor (up to ``warp`` of the nearest floor's disparity), as a real monocular teacher is."""
    F = cam.floor_depth_map().astype(np.float64)
    true = np.where((F > 0) & (F < 6.0), F, 6.0)
    rows = np.linspace(0, 1, F.shape[0])[:, None] ** 2
    disp = 3.0 / true + 0.2 + warp * (3.0 / F.max()) * rows * (F < 6.0)
    return F, true, disp


def test_camera_floor_wins_over_the_teacher_on_floor_pixels_and_contact_points(cam):
    F, true, disp = _teacher_scene(cam)
    sd = teacher_to_metric(disp, cam)
    assert sd.source == "teacher" and sd.metric
    floor = (F > 0) & (F < 5.0)
    agree = floor & (np.abs(sd.depth / np.where(F > 0, F, 1) - 1) < 0.02)
    assert agree.mean() > 0.1
    np.testing.assert_array_equal(sd.depth[agree], F.astype(np.float32)[agree])  # the camera's exact floor
    assert (sd.depth[F > 0] <= F.astype(np.float32)[F > 0] * (1 + 1e-6)).all()  # never beyond the floor
    mask, _ = person_mask(cam, 160.0, 220.0)
    o = extract_objects(mask, sd, cam)[0]
    assert o.distance_m == pytest.approx(float(cam.floor_depth(160.0, 220.5)), rel=1e-9)
    assert o.depth_source == "ground_plane"


def test_teacher_with_a_negative_alignment_scale_is_refused(cam):
    from maskdepth.errors import MaskDepthError

    F, true, _ = _teacher_scene(cam, warp=0.0)
    depth_like = true / true.max()  # a depth-like output taken for a disparity: larger = farther
    with pytest.raises(MaskDepthError) as e:
        teacher_to_metric(depth_like, cam)
    msg = str(e.value)
    assert "\n" not in msg and "negative" in msg and "disparity" in msg
