"""maskdepth.scene.pieces and ``join_pieces`` of the objects step: a person broken into bands is one object standing at
its own feet; people one behind the other, side by side pieces and far gaps stay apart."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.events.synthetic import walker_object
from maskdepth.scene import camera_from_pitch, compose_depth, label_objects
from maskdepth.scene.pieces import piece_groups

CAM = camera_from_pitch(600.0, (640, 480), 25.0, 3.0)


def _box(xy, height_m: float = 1.7):
    return walker_object(CAM, xy, 0, height_m=height_m).bbox


def _bands(box, cuts, gap_px):
    """The horizontal bands of ``box`` cut at ``cuts`` (fractions of its height), ``gap_px`` rows apart."""
    x0, y0, x1, y1 = box
    edges = [y0] + [int(round(y0 + c * (y1 - y0))) for c in cuts] + [y1 + gap_px]
    return [(x0, a, x1, b - gap_px) for a, b in zip(edges, edges[1:])]


def _mask(boxes):
    m = np.zeros((480, 640), bool)
    for x0, y0, x1, y1 in boxes:
        m[y0 : y1 + 1, x0 : x1 + 1] = True
    return m


@pytest.mark.parametrize("camera", [CAM, None])
def test_a_person_in_three_bands_is_one_object_at_its_feet(camera):
    whole = _box((0.3, 5.0))
    pieces = _bands(whole, [0.3, 0.6], 3)
    assert piece_groups(pieces, camera) == [[0, 1, 2]]
    objs, labels = label_objects(_mask(pieces), camera=camera)  # joined by default
    [o] = objs
    assert o.bbox == whole
    assert o.contact_px[1] == whole[3]  # the lower piece's feet
    assert (labels == o.label).sum() == o.area_px == _mask(pieces).sum()
    if camera is not None:
        assert o.height_m == pytest.approx(1.7, abs=0.05)
        depth = compose_depth(np.full((480, 640), 20.0, np.float32), _mask(pieces), objs, camera, labels=labels)
        assert (depth[_mask(pieces)] < 20.0).all()  # every piece on the person's plane
    plain, _ = label_objects(_mask(pieces), camera=camera, join_pieces=False)
    assert len(plain) == 3


def test_two_people_one_behind_the_other_stay_apart():
    near, far = _box((0.0, 3.0)), _box((0.0, 7.0))
    assert far[3] < near[1]  # seen from above, the far one's feet above the near one's head
    gap = near[1] - far[3] - 1
    assert 0 <= gap * 3.5 / CAM.focal_px <= 0.25  # close enough in rows: only the height keeps them apart
    assert piece_groups([far, near], CAM) == [[0], [1]]


def test_side_by_side_and_far_apart_are_not_pieces():
    a = _box((0.0, 5.0))
    b = _box((0.6, 5.0))
    assert piece_groups([a, b], CAM) == [[0], [1]]  # sharing rows
    x0, y0, x1, y1 = a
    upper, lower = (x0, y0, x1, y0 + 40), (x0, y0 + 90, x1, y1)  # a 49-row gap: far over 0.25 m
    assert piece_groups([upper, lower], CAM) == [[0], [1]]
    shifted = (x1 + 5, y0, x1 + 5 + (x1 - x0), y0 + 40)  # columns do not overlap
    assert piece_groups([shifted, (x0, y0 + 43, x1, y1)], CAM) == [[0], [1]]


def test_without_a_camera_the_gap_is_a_share_of_the_height():
    assert piece_groups([(0, 0, 20, 40), (0, 45, 20, 99)], None) == [[0, 1]]  # 4 rows of 100
    assert piece_groups([(0, 0, 20, 40), (0, 55, 20, 99)], None) == [[0], [1]]  # 14 rows of 100
    assert piece_groups([], None) == []


def test_the_fixed_camera_joins_unless_asked_to_keep_the_pieces():
    from maskdepth.inference.config import SceneConfig
    from maskdepth.inference.files import _fixed_camera
    from maskdepth.scene.fixed_camera import FixedCamera

    mask = _mask(_bands(_box((0.3, 5.0)), [0.3, 0.6], 3))
    bg = np.zeros((480, 640, 3), np.uint8)
    depth = lambda: np.ones((480, 640), np.float32)  # noqa: E731
    assert len(FixedCamera(bg, camera=CAM).objects(mask, depth).objects) == 1
    assert len(FixedCamera(bg, camera=CAM, join_pieces=False).objects(mask, depth).objects) == 3
    names = ("bg.png", "image.png")
    assert _fixed_camera(bg, bg, SceneConfig(keep_pieces=True), None, names).join_pieces is False  # --keep-pieces
    assert _fixed_camera(bg, bg, SceneConfig(), None, names).join_pieces is True


def test_many_stacked_pieces_join_column_by_column():
    boxes = [(20 + 60 * c, 300 + 40 * r, 50 + 60 * c, 336 + 40 * r) for c in range(10) for r in range(10)]  # 3-row gaps
    groups = piece_groups(boxes, None)
    assert groups == [[10 * c + r for r in range(10)] for c in range(10)]
