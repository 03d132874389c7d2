"""People in one mask component split by a person detector's boxes (maskdepth.scene.person_boxes, the objects step)."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.scene import camera_from_pitch, label_objects
from maskdepth.scene.objects import REASON_HIDDEN
from maskdepth.scene.person_boxes import boxes_on, split_component

CAM = camera_from_pitch(600.0, (640, 480), 25.0, 3.0)


def _mask(*boxes) -> np.ndarray:
    m = np.zeros((480, 640), bool)
    for x0, y0, x1, y1 in boxes:
        m[y0 : y1 + 1, x0 : x1 + 1] = True
    return m


NEAR, FAR = (300, 200, 340, 330), (305, 170, 335, 290)  # the far person's feet (row 290) are behind the near one


def test_without_boxes_two_overlapping_people_are_one_object():
    objs, _ = label_objects(_mask(NEAR, FAR), None, CAM)
    assert len(objs) == 1


def test_two_boxes_on_one_blob_make_two_people_and_the_far_ones_feet_are_hidden():
    objs, labels = label_objects(_mask(NEAR, FAR), None, CAM, person_boxes=[NEAR, FAR])
    assert len(objs) == 2
    near, far = sorted(objs, key=lambda o: -o.bbox[3])
    assert near.bbox == NEAR and near.contact_px is not None and near.distance_m is not None
    assert near.extra["person_box"] == tuple(float(v) for v in NEAR)
    assert near.to_json()["person_box"] == [float(v) for v in NEAR] and far.to_json()["note"] == REASON_HIDDEN
    alone, _ = label_objects(_mask(NEAR), None, CAM, person_boxes=[NEAR, FAR])  # FAR's person wholly behind: no pixels
    assert len(alone) == 1 and "person_box" not in alone[0].to_json()  # not split, so no person_box
    assert far.contact_px is None and far.reason == REASON_HIDDEN and far.distance_m is None
    assert far.bbox == (305, 170, 335, NEAR[1] - 1)  # its visible pixels: above the near person's head
    assert {int(v) for v in np.unique(labels)} == {0, near.label, far.label}  # every pixel has one of the two labels
    assert (labels == near.label).sum() + (labels == far.label).sum() == _mask(NEAR, FAR).sum()


def test_a_far_person_whose_feet_show_beside_the_near_one_keeps_them():
    far = (325, 170, 355, 290)
    objs, _ = label_objects(_mask(NEAR, far), None, CAM, person_boxes=[NEAR, far])
    (f,) = [o for o in objs if o.bbox[3] == 290]
    assert f.contact_px == (348.0, 290.0) and f.distance_m > max(o.distance_m for o in objs if o is not f)


def test_side_by_side_people_both_keep_their_feet():
    left, right = (200, 200, 240, 330), (238, 195, 280, 328)
    objs, _ = label_objects(_mask(left, right), None, CAM, person_boxes=[left, right])
    assert len(objs) == 2 and all(o.contact_px is not None for o in objs)
    a, b = sorted(objs, key=lambda o: o.bbox[0])
    assert a.contact_px[1] == 330 and b.contact_px[1] == 328


def test_one_box_or_boxes_elsewhere_change_nothing():
    ref, _ = label_objects(_mask(NEAR, FAR), None, CAM)
    for boxes in ([NEAR], [(10, 10, 40, 90), (50, 10, 80, 90)], np.zeros((0, 4))):
        objs, _ = label_objects(_mask(NEAR, FAR), None, CAM, person_boxes=boxes)
        assert [o.bbox for o in objs] == [o.bbox for o in ref] and "person_box" not in objs[0].extra


def test_a_box_lies_on_a_component_only_when_it_covers_enough_of_the_box():
    comp = _mask(NEAR)[200:331, 300:341]
    assert list(boxes_on(comp, (300, 200), np.array([NEAR, (280, 150, 420, 400), (500, 0, 600, 100)]))) == [0]


def test_split_needs_two_boxes_and_gives_small_parts_to_the_largest():
    comp = np.ones((100, 40), bool)
    with pytest.raises(ValueError, match="at least 2 boxes"):
        split_component(comp, (0, 0), np.array([(0, 0, 39, 99)]), 20)
    parts, box_of_part, hidden = split_component(comp, (0, 0), np.array([(0, 0, 39, 99), (39, 0, 39, 1)]), 20)
    assert box_of_part == [0] and hidden == [False] and (parts == 0).all()  # the 2-pixel part went back


class _Masks:
    """A fake predictor whose mask is given (depth 1 m everywhere: unused with the camera's floor)."""

    def __init__(self, mask):
        self.mask = mask

    def predict(self, bg, frame):
        m = self.mask

        class P:
            mask, prob, depth = m, m.astype(np.float32), np.ones(m.shape, np.float32)

        return P()


def test_a_fixed_cameras_person_detector_splits_the_frames_blob_on_the_one_path():
    """``FixedCamera(person_detector=...)`` through ``run_frame``: the detector sees the frame, the objects step splits."""
    from maskdepth.inference.pipeline import run_frame
    from maskdepth.scene.fixed_camera import FixedCamera

    frame, seen = np.zeros((480, 640, 3), np.uint8), []

    def detector(rgb):
        seen.append(rgb)
        return np.array([[*NEAR, 0.9], [*FAR, 0.8]], float)

    fake = _Masks(_mask(NEAR, FAR))
    assert len(run_frame(fake, frame, scene=FixedCamera(frame, camera=CAM)).objects) == 1
    res = run_frame(fake, frame, scene=FixedCamera(frame, camera=CAM, person_detector=detector))
    assert len(res.objects) == 2 and seen and seen[0] is frame
    assert set(np.unique(res.labels)) == {0, *(o.label for o in res.objects)}


def test_a_fixed_camera_takes_a_callable_detector_only():
    from maskdepth.errors import MaskDepthError
    from maskdepth.scene.fixed_camera import FixedCamera

    with pytest.raises(MaskDepthError, match="person_detector must be callable"):
        FixedCamera(np.zeros((48, 64, 3), np.uint8), person_detector="model.onnx")


def test_the_detector_is_not_run_on_a_frame_without_foreground():
    from maskdepth.inference.pipeline import run_frame
    from maskdepth.scene.fixed_camera import FixedCamera

    frame, calls = np.zeros((480, 640, 3), np.uint8), []
    scene = FixedCamera(frame, camera=CAM, person_detector=lambda rgb: calls.append(1) or np.zeros((0, 5)))
    assert run_frame(_Masks(np.zeros((480, 640), bool)), frame, scene=scene).objects == [] and calls == []
    run_frame(_Masks(_mask(NEAR)), frame, scene=scene)
    assert calls == [1]
