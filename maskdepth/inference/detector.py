"""A person detector in ONNX: each person's box, even where people overlap and the mask has one component for them.

maskdepth ships no detector and none can be had on the machines it is developed on (``../shared/models/MODELS.md``);
its users can export one (for example ``yolo export model=yolov8n.pt format=onnx`` with Ultralytics, AGPL-3.0, or a
YOLOv5 / YOLOX export) and pass it with ``--person-detector MODEL.onnx``. The objects step then splits a mask component
that two or more person boxes lie on into one object per person (:mod:`maskdepth.scene.person_boxes`). As for the
depth teachers, the code path is tested with small ONNX models the tests export; what a detector would give the
tracker on the synthetic walker clips is measured with a simulated one (``results/events_per_person.md``).

Model contract:

* one input ``(1, 3, S, S)`` float32 RGB in [0, 1], the frame letterboxed (aspect kept, scaled to fit, centred on
  grey 114/255: Ultralytics' convention); ``S`` from the model (640 when dynamic);
* one output, either ``layout="yolov8"``: ``(1, 4 + C, N)`` (or ``(1, N, 4 + C)``) of ``cx, cy, w, h`` in input
  pixels then ``C`` class scores, or ``layout="yolov5"``: ``(1, N, 5 + C)`` of ``cx, cy, w, h``, objectness, ``C``
  class scores (score = objectness x class score). The attribute axis is the shorter of the last two.

Boxes of ``person_class`` (COCO's 0) scoring at least ``score`` are kept after non-maximum suppression at IoU
``nms_iou`` (OpenCV's ``cv2.dnn.NMSBoxes``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from .runtime import ort_session

LAYOUTS = ("yolov8", "yolov5")
LETTERBOX_GREY = 114


class PersonDetector:
    """Person boxes of an RGB frame from an ONNX detector (see the module docstring).

    Args:
        path: the ``.onnx`` file.
        score: smallest kept score, in (0, 1] (default 0.35).
        nms_iou: IoU above which the lower-scoring of two boxes is dropped, in (0, 1] (default 0.5).
        person_class: index of the person class among the model's classes (default 0, COCO).
        layout: ``"yolov8"`` (default) or ``"yolov5"``.
        input_size: side used when the model's input size is dynamic (default 640).
    Raises:
        MaskDepthError: the file is missing or not a loadable ONNX model, its input is not ``(1, 3, S, S)``, or a
            setting is out of range (one line).
    """

    def __init__(
        self, path: str, score: float = 0.35, nms_iou: float = 0.5, person_class: int = 0, layout: str = "yolov8", input_size: int = 640
    ):
        for name, v in (("score", score), ("nms_iou", nms_iou)):
            if not 0 < v <= 1:
                raise MaskDepthError(f"must be in (0, 1] (got {v!r})", param=name)
        if layout not in LAYOUTS:
            raise MaskDepthError(f"must be one of {', '.join(LAYOUTS)} (got {layout!r})", param="layout")
        p = Path(path)
        if not p.is_file():
            raise MaskDepthError(f"person detector not found: {p}")
        self.session = ort_session(p, spinning=False)  # beside the network in a live loop: no busy-waiting threads
        inp = self.session.get_inputs()[0]
        if len(inp.shape) != 4 or inp.shape[1] not in (3, "3"):
            raise MaskDepthError(f"{p}: a person detector takes one (1, 3, S, S) image, this model takes {inp.shape}")
        side = [s for s in inp.shape[2:] if isinstance(s, int) and s > 0]
        self.input_name, self.size = inp.name, side[0] if side else int(input_size)
        self.score, self.nms_iou, self.person_class, self.layout = float(score), float(nms_iou), int(person_class), layout
        self.path = str(p)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """:meth:`detect`."""
        return self.detect(rgb)

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Person boxes of one frame.

        Args:
            rgb: uint8 ``(H, W, 3)`` RGB.
        Returns:
            float64 ``(K, 5)``: ``x0, y0, x1, y1`` (inclusive frame pixels, clipped to the frame) and the score,
            highest score first; ``(0, 5)`` when nobody is found.
        Raises:
            MaskDepthError: the model's output matches neither layout.
        """
        x, scale, pad = letterbox(rgb, self.size)
        out = np.asarray(self.session.run(None, {self.input_name: x})[0], np.float64)
        boxes, scores = decode(out, self.layout, self.person_class)
        keep = scores >= self.score
        boxes, scores = boxes[keep], scores[keep]
        if len(boxes):
            import cv2

            xywh = np.c_[boxes[:, :2], boxes[:, 2:] - boxes[:, :2]].tolist()
            idx = np.asarray(cv2.dnn.NMSBoxes(xywh, scores.tolist(), self.score, self.nms_iou), int).reshape(-1)
            boxes, scores = boxes[idx], scores[idx]
        H, W = rgb.shape[:2]
        frame = (boxes - np.r_[pad, pad]) / scale
        frame[:, 2:] -= 1.0  # exclusive right / bottom edges -> inclusive pixels
        frame = np.clip(frame, 0, [W - 1, H - 1, W - 1, H - 1])
        order = np.argsort(-scores, kind="stable")
        return np.c_[frame, scores][order].reshape(-1, 5)


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, np.ndarray]:
    """The detector's input: ``rgb`` (uint8 ``(H, W, 3)``) scaled by ``size / max(H, W)``, centred on grey.

    Returns:
        ``(x, scale, pad)``: float32 ``(1, 3, size, size)`` in [0, 1]; the scale; float ``(2,)`` the left and top padding
        in input pixels (frame pixel ``p`` is input pixel ``p * scale + pad``).
    """
    import cv2

    H, W = rgb.shape[:2]
    scale = size / max(H, W)
    w, h = max(1, round(W * scale)), max(1, round(H * scale))
    canvas = np.full((size, size, 3), LETTERBOX_GREY, np.uint8)
    left, top = (size - w) // 2, (size - h) // 2
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[top : top + h, left : left + w] = cv2.resize(np.ascontiguousarray(rgb), (w, h), interpolation=interp)
    x = canvas.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    return x, scale, np.array([left, top], np.float64)


def decode(out: np.ndarray, layout: str, person_class: int) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes (N, 4) x0, y0, x1, y1 in input pixels (right and bottom exclusive), person scores (N,))`` of a raw
    detector output ``(1, A, N)`` or ``(1, N, A)`` (the attribute axis ``A`` is the shorter; see the module docstring).

    Raises:
        MaskDepthError: not 3-D with batch 1, or too few attributes for ``person_class``.
    """
    if out.ndim != 3 or out.shape[0] != 1:
        raise MaskDepthError(f"person detector output must be (1, A, N), got {out.shape}")
    a = out[0] if out.shape[1] >= out.shape[2] else out[0].T  # (N, A)
    first = 4 if layout == "yolov8" else 5
    if a.shape[1] <= first + person_class:
        raise MaskDepthError(f"person detector output has {a.shape[1]} attributes: no class {person_class} in the {layout} layout")
    scores = a[:, first + person_class] * (a[:, 4] if layout == "yolov5" else 1.0)
    cx, cy, w, h = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    return np.c_[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], scores


@functools.lru_cache(maxsize=4)
def _cached(path: str) -> PersonDetector:
    return PersonDetector(path)


def load_person_detector(path) -> PersonDetector:
    """The :class:`PersonDetector` of an ``.onnx`` file with its default settings, loaded once per resolved path (a
    folder of pairs makes a fixed camera per pair). Raises: MaskDepthError for a missing or unloadable model."""
    return _cached(str(Path(path).resolve()))
