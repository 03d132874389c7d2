"""The Python API: ``model = maskdepth.load(...)``; ``model.predict(bg, image)``.

Example::

    import maskdepth
    from PIL import Image

    model = maskdepth.load("default")                 # shipped model (ONNX Runtime); or "runs/x/checkpoints/last.pt", or "model.onnx"
    pred = model.predict(Image.open("empty.jpg"), Image.open("with_person.jpg"))
    pred.mask        # bool (H, W): foreground
    pred.prob        # float32 (H, W): P(foreground) in [0, 1]
    pred.depth       # float32 (H, W): metres (> 0)
    pred.depth_unit  # "m"
    pred.to_color()  # uint8 (H, W, 3): colourised depth (magma, near = bright)

Inputs may be numpy arrays, PIL images or image file paths; they are converted to
``uint8 (H, W, 3)`` RGB (see :func:`as_rgb`). ``bg`` and ``image`` of different sizes
follow :func:`maskdepth.predict.check_pair`: same aspect ratio within 5 % → the
background is resized to the image (with a warning), otherwise :class:`MaskDepthError`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union

import numpy as np

from .errors import MaskDepthError

ImageLike = Union[np.ndarray, "Image.Image", str, os.PathLike]  # noqa: F821  (PIL.Image.Image)

__all__ = ["load", "Model", "as_rgb"]


def as_rgb(x: Any, name: str = "image") -> np.ndarray:
    """Convert an image-like input to ``uint8 (H, W, 3)`` RGB.

    Accepted:

    * ``numpy.ndarray`` of dtype ``uint8``: ``(H, W)`` grey, ``(H, W, 1)`` grey,
      ``(H, W, 3)`` RGB (channel order is taken as RGB, not OpenCV's BGR) or
      ``(H, W, 4)`` RGBA (alpha dropped); ``bool`` ``(H, W)`` as 0/255 grey;
    * ``PIL.Image.Image`` of any mode (``RGBA``, ``LA``, ``P``, ``L``, ``CMYK``, ...:
      converted with ``Image.convert("RGB")``; 16-bit grey is scaled to 0..255);
    * a path (``str`` / ``os.PathLike``) to an image file: read with
      :func:`maskdepth.io.load_rgb` (EXIF orientation applied).

    Returns:
        A C-contiguous ``uint8 (H, W, 3)`` array (a copy when a conversion was needed).
    Raises:
        MaskDepthError: another type, another dtype (e.g. float: scale it to 0..255
            ``uint8`` yourself, the intended range is ambiguous), another shape, or an
            unreadable file.
    """
    from PIL import Image

    from .io import load_rgb

    if isinstance(x, (str, os.PathLike)):
        return load_rgb(x, name=f"{name} ({x})")
    if isinstance(x, Image.Image):
        if x.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            a = np.asarray(x).astype(np.float64)
            a = (a / max(float(a.max()), 1.0) * 255.0).clip(0, 255).round().astype(np.uint8)
            return np.ascontiguousarray(np.repeat(a[..., None], 3, axis=2))
        return np.asarray(x.convert("RGB"), dtype=np.uint8).copy()
    if isinstance(x, np.ndarray):
        a = x
        if a.dtype == bool and a.ndim == 2:
            a = a.astype(np.uint8) * 255
        if a.dtype != np.uint8:
            raise MaskDepthError(f"{name}: expected a uint8 array (0..255), got dtype {a.dtype}")
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        elif a.ndim == 3 and a.shape[2] == 1:
            a = np.repeat(a, 3, axis=2)
        elif a.ndim == 3 and a.shape[2] == 4:
            a = a[..., :3]
        elif not (a.ndim == 3 and a.shape[2] == 3):
            raise MaskDepthError(f"{name}: expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {a.shape}")
        return np.ascontiguousarray(a)
    raise MaskDepthError(f"{name}: expected a numpy uint8 array, a PIL image or a file path, got {type(x).__name__}")


class Model:
    """A loaded model; call :meth:`predict`. Made by :func:`load`.

    Attributes:
        predictor: the underlying :class:`maskdepth.predict.Predictor`.
        source: what was loaded (``"default"``, a checkpoint path or an ``.onnx`` path).
        backend: ``"torch"`` or ``"onnx"`` (``"default"`` is ``"onnx"`` when onnxruntime is installed).
        size: short side (pixels) the pair is resized to before the network.
        threshold: probability at or above which a pixel is foreground.
    """

    def __init__(self, predictor, source: str):
        self.predictor = predictor
        self.source = source

    @property
    def backend(self) -> str:
        return self.predictor.backend

    @property
    def size(self) -> int:
        return self.predictor.size

    @property
    def threshold(self) -> float:
        return self.predictor.threshold

    def predict(self, bg: ImageLike, image: ImageLike):
        """Foreground mask and depth for one pair.

        Args:
            bg: the empty scene; any input accepted by :func:`as_rgb`.
            image: the same scene (same fixed camera) with a foreground; same kinds.
        Returns:
            :class:`maskdepth.predict.Prediction` at the size ``(H, W)`` of ``image``:
            ``mask`` bool (H, W); ``prob`` float32 (H, W) in [0, 1]; ``depth`` float32
            (H, W) in metres (> 0); ``depth_unit == "m"``; ``to_color()`` → uint8 (H, W, 3).
        Raises:
            MaskDepthError: unusable input (type, dtype, shape, smaller than 8x8, or a
                ``bg`` whose aspect ratio differs from ``image``'s by more than 5 %).
        """
        return self.predictor.predict(as_rgb(bg, "bg"), as_rgb(image, "image"))

    __call__ = predict

    def __repr__(self) -> str:
        return f"maskdepth.Model(source={self.source!r}, backend={self.backend!r}, size={self.size}, threshold={self.threshold})"


def load(model: str | os.PathLike = "default", size: int | None = None, device: str = "cpu", threshold: float = 0.5) -> Model:
    """Load a model for prediction.

    Args:
        model: ``"default"`` (the shipped model: ``maskdepth/weights/default.onnx`` run with
            ONNX Runtime when onnxruntime is installed, else ``default.pt`` with PyTorch),
            a checkpoint path (``.pt``, written by ``maskdepth train``; needs PyTorch, the
            ``[train]`` extra), or an ``.onnx`` file (run with ONNX Runtime; inputs ``bg``,
            ``fg_bg`` float32 (B, 3, H, W) in [0, 1]).
        size: short side in pixels the pair is resized to before the network (both sides
            rounded to multiples of 32); default: the checkpoint's training size
            (for ONNX files the size in their ``.onnx.json`` sidecar, else 128).
        device: torch device (``"cpu"``, ``"cuda"``, ...) for checkpoints; ignored for ONNX
            (ONNX Runtime uses CUDA when its CUDA provider is installed).
        threshold: mask threshold on the foreground probability, in (0, 1).
    Returns:
        A :class:`Model`; ``model.predict(bg, image)`` returns a
        :class:`maskdepth.predict.Prediction`.
    Raises:
        MaskDepthError: the file is missing, unreadable or not a maskdepth model, or
            ``"default"`` is asked for and no model is shipped in this install.
    """
    from .predict import load_predictor

    if not 0.0 < float(threshold) < 1.0:
        raise MaskDepthError(f"threshold must be in (0, 1), got {threshold}")
    if size is not None and int(size) < 32:
        raise MaskDepthError(f"size must be at least 32 pixels, got {size}")
    src = str(model)
    if src == "default":
        pred = load_predictor(None, size=size, device=device)
    elif Path(src).suffix.lower() == ".onnx":
        pred = load_predictor(src, size=size, backend="onnx")
    else:
        if not Path(src).exists():
            raise MaskDepthError(f'model not found: {src} (give "default", a .pt checkpoint or a .onnx file)')
        pred = load_predictor(src, size=size, device=device)
    pred.threshold = float(threshold)
    return Model(pred, src)
