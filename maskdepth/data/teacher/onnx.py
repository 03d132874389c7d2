"""Monocular-depth *teacher* in ONNX (MiDaS, Depth Anything, ...), for photos without depth.

A teacher predicts relative inverse depth (disparity) with unknown scale and shift.

Normalisation. Every teacher output ``d`` is normalised per *image it was run on* with
robust percentiles, ``d' = clip((d - p2) / (p98 - p2), 1/65535, 1)`` (p2, p98 = 2nd/98th
percentiles of that image's disparity), so 1 = nearest, 1/65535 = farthest; stored as
``round(d' * 65535)`` in a uint16 PNG, where 0 means *invalid* everywhere (loss masks,
occlusion tests). The floor keeps the farthest ~2 % of a label (clipped to the 2nd
percentile) valid after the uint16 encoding: clipping to 0 would mark them invalid (issue 13).
A non-finite teacher output stays invalid (0). Such labels are only meaningful up to scale and
shift and train with a scale-and-shift-invariant loss (Ranftl et al., "Towards Robust
Monocular Depth Estimation", TPAMI 2020). The two generator modes differ in *which*
image that is:

* ``per_background`` (default): the teacher runs once per background photo; the
  background's label is normalised over the background. A pasted foreground takes the
  background's normalised disparity at its contact point (the same geometric rule as for
  metric depth), and pixels of the background with a larger disparity (nearer) occlude
  it. Labels of all composites of one background share one scale and shift, the
  foreground's label is exactly consistent with the floor it stands on, and the cost is
  one inference per background instead of one per composite.
* ``per_composite``: the teacher runs on every finished composite (after augmentation,
  before JPEG) and the label is normalised over that composite: the teacher's own view of
  the foreground (its relief, but also its errors on pasted cutouts), at one inference
  per sample. Kept to compare with.

Teachers are ONNX files: give a path, or the name of a registry entry
(:mod:`maskdepth.data.teacher.registry`, ``maskdepth teacher download NAME``) that is already
in the cache. The code path is tested with small ONNX models the tests export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import MaskDepthError
from ...io import resize

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


class OnnxTeacher:
    """Run an ONNX monocular-depth model on RGB images.

    Args:
        path: ``.onnx`` file with one input ``(1, 3, H, W)`` float32 (ImageNet
            mean/std normalised RGB) and one output ``(1, H', W')`` or
            ``(1, 1, H', W')`` relative disparity.
        input_size: side used when the model's input size is dynamic (default 256,
            MiDaS v2.1 small).
    Raises:
        MaskDepthError: the file is missing or is not a loadable ONNX model.
    """

    def __init__(self, path: str, input_size: int = 256):
        import onnxruntime as ort

        p = Path(resolve_teacher(path))
        if not p.exists():
            raise MaskDepthError(f"teacher model not found: {p}")
        try:
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            self.session = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise MaskDepthError(f"{p}: not a loadable ONNX model ({str(e).splitlines()[0][:200]})") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        self.hw = tuple(s if isinstance(s, int) and s > 0 else input_size for s in shape[2:4])
        self.path = str(p)

    def disparity(self, rgb: np.ndarray) -> np.ndarray:
        """Normalised disparity of one image.

        Args:
            rgb: ``uint8 (H, W, 3)``.
        Returns:
            ``float32 (H, W)`` in [1/65535, 1], larger = nearer (see the module docstring; 0 only
            where the teacher's output is not finite or has no spread).
        """
        H, W = rgb.shape[:2]
        x = resize(rgb, self.hw).astype(np.float32) / 255.0
        x = ((x - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None]
        out = self.session.run(None, {self.input_name: x.astype(np.float32)})[0]
        d = np.asarray(out, np.float32).reshape(out.shape[-2], out.shape[-1])
        d = resize(d, (H, W))
        return normalise_disparity(d)


DISPARITY_FLOOR = 1.0 / 65535.0
"""Smallest normalised disparity of a valid pixel: one step of the uint16 label coding (0 = invalid)."""


def normalise_disparity(d: np.ndarray) -> np.ndarray:
    """Robust per-image normalisation of a relative disparity (see the module docstring).

    Args:
        d: ``float (H, W)`` relative disparity (larger = nearer, any scale and shift).
    Returns:
        ``float32 (H, W)``: ``clip((d - p2) / (p98 - p2), 1/65535, 1)`` over the finite pixels
        (2nd/98th percentiles of them), so every valid pixel stays > 0 after the uint16
        encoding; 0 (invalid) where ``d`` is not finite, and everywhere when the image has
        no finite pixel or no spread (p98 - p2 < 1e-12: no depth information).
    """
    d = np.asarray(d, np.float32)
    ok = np.isfinite(d)
    if not ok.any():
        return np.zeros(d.shape, np.float32)
    lo, hi = np.percentile(d[ok], [2, 98])
    if hi - lo < 1e-12:
        return np.zeros(d.shape, np.float32)
    out = np.clip((d - lo) / (hi - lo), DISPARITY_FLOOR, 1.0)
    return np.where(ok, out, 0.0).astype(np.float32)


def resolve_teacher(name_or_path: str) -> str:
    """The ONNX file of a teacher: an existing path as is, else a registry name whose
    verified file is in the cache (:func:`maskdepth.data.teacher.registry.cached_path`).

    Raises:
        MaskDepthError: neither (the message says how to download a registry model).
    """
    p = Path(name_or_path)
    if p.exists():
        return str(p)
    from .registry import cached_path, registry

    reg = registry()
    if str(name_or_path) in reg:
        c = cached_path(str(name_or_path))
        if c is not None:
            return str(c)
        raise MaskDepthError(
            f"teacher model not found: {name_or_path} is not downloaded yet; run `maskdepth teacher download {name_or_path}`"
        )
    raise MaskDepthError(f"teacher model not found: {p}")


_LOADED: OnnxTeacher | None = None  # the last teacher loaded in this process


def load_teacher(name_or_path: str) -> OnnxTeacher:
    """The teacher ``name_or_path`` (see :func:`resolve_teacher`), loaded once per process and reused.

    Raises:
        MaskDepthError: the model is not found or cannot be loaded.
    """
    global _LOADED
    path = resolve_teacher(name_or_path)
    if _LOADED is None or _LOADED.path != str(Path(path)):
        _LOADED = OnnxTeacher(path)
    return _LOADED
