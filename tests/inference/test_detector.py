"""The ONNX person detector (maskdepth.inference.detector) with small detectors the tests export themselves."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.inference.detector import PersonDetector, decode, letterbox
from tests.helpers import fixed_output_onnx

S = 64


def _rows(rows, n: int = 16) -> np.ndarray:
    """``rows`` padded with zero rows (score 0) to ``n``: a detector has far more candidates than attributes."""
    r = np.asarray(rows, np.float32)
    return np.vstack([r, np.zeros((n - len(r), r.shape[1]), np.float32)])


def _yolov8(rows) -> np.ndarray:
    """(1, 4 + 2, N) from rows (cx, cy, w, h, person score, other-class score)."""
    return _rows(rows).T[None]


def test_letterbox_scales_to_fit_and_centres_on_grey():
    rgb = np.full((64, 128, 3), 255, np.uint8)
    x, scale, pad = letterbox(rgb, S)
    assert x.shape == (1, 3, S, S) and x.dtype == np.float32 and scale == 0.5 and list(pad) == [0, 16]
    assert x[0, :, 16:48].min() == 1.0 and x[0, :, :16].max() == pytest.approx(114 / 255)


def test_a_yolov8_detector_gives_person_boxes_in_frame_pixels_after_nms(tmp_path):
    # frame 128 x 64 -> scale 0.5, top pad 16: frame box (20, 8)-(59, 55) is input (10, 20)-(30, 44)
    raw = _yolov8([[20, 32, 20, 24, 0.9, 0.0], [21, 32, 20, 24, 0.8, 0.0], [50, 32, 10, 20, 0.0, 0.9], [50, 32, 10, 20, 0.1, 0.0]])
    det = PersonDetector(fixed_output_onnx(tmp_path / "d.onnx", raw))
    boxes = det(np.zeros((64, 128, 3), np.uint8))
    assert boxes.shape == (1, 5)  # the duplicate went to NMS, the other class and the low score to the threshold
    np.testing.assert_allclose(boxes[0], [20, 8, 59, 55, 0.9], atol=1e-5)
    assert det.size == S


def test_a_yolov5_output_multiplies_objectness_and_the_attribute_axis_is_found():
    rows = _rows([[20, 32, 20, 24, 0.5, 0.9, 0.1], [40, 32, 20, 24, 0.9, 0.9, 0.1]]).astype(np.float64)
    boxes, scores = decode(rows[None], "yolov5", 0)  # (1, N, 5 + C)
    np.testing.assert_allclose(scores[:2], [0.45, 0.81])
    np.testing.assert_allclose(boxes[0], [10, 20, 30, 44])
    b8, s8 = decode(_yolov8([[20, 32, 20, 24, 0.7, 0.2]] * 9).astype(np.float64), "yolov8", 0)
    assert b8.shape == (16, 4) and np.allclose(s8[:9], 0.7) and not s8[9:].any()
    with pytest.raises(MaskDepthError, match="no class 3"):
        decode(rows[None], "yolov5", 3)


def test_nobody_found_is_an_empty_array(tmp_path):
    det = PersonDetector(fixed_output_onnx(tmp_path / "d.onnx", _yolov8([[20, 32, 20, 24, 0.1, 0.0]] * 3)))
    assert det(np.zeros((48, 48, 3), np.uint8)).shape == (0, 5)


def test_bad_detector_files_and_settings_are_one_line(tmp_path):
    with pytest.raises(MaskDepthError, match="not found"):
        PersonDetector(str(tmp_path / "missing.onnx"))
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(MaskDepthError, match="cannot load the model"):
        PersonDetector(str(tmp_path / "junk.onnx"))
    path = fixed_output_onnx(tmp_path / "d.onnx", _yolov8([[20, 32, 20, 24, 0.9, 0.0]] * 3))
    for kw, name in (({"score": 0}, "score"), ({"nms_iou": 1.5}, "nms_iou"), ({"layout": "ssd"}, "layout")):
        with pytest.raises(MaskDepthError, match=name):
            PersonDetector(path, **kw)
