"""The Python API: ``model = maskdepth.load(...)``; ``model.predict(bg, image)``.

Example::

    import maskdepth
    from PIL import Image

    model = maskdepth.load("default")                 # shipped model (ONNX Runtime); or "runs/x/checkpoints/last.pt", or "model.onnx"
    pred = model.predict(Image.open("empty.jpg"), Image.open("with_person.jpg"))
    pred.mask        # bool (H, W): foreground
    pred.prob        # float32 (H, W): P(foreground) in [0, 1]
    pred.depth       # float32 (H, W): metres, 0 = unknown
    pred.depth_unit  # "m"
    pred.depth_source  # "measured" | "ground_plane" | "teacher" | "learned": what made the scene depth
    pred.objects     # [SceneObject(id, bbox, contact_px, distance_m, height_m, depth_source, ...)]
    pred.to_color()  # uint8 (H, W, 3): colourised depth (magma, near = bright, unknown = black)

    # a fixed camera: say what is known about its empty scene (any one, or none = learned)
    pred = model.predict(bg, image, bg_depth="empty_depth.png")   # measured: uint16 PNG mm, float TIFF m, .npy m
    pred = model.predict(bg, image, camera="camera.json")         # ground plane (maskdepth calibrate writes one)
    cam = model.camera(bg, camera="camera.json")                  # or compute the scene depth once, reuse it:
    for frame in frames:
        pred = model.predict(bg, frame, scene=cam)

The scene depth of a background is computed once: ``model.camera(...)`` returns a reusable
:class:`~maskdepth.scene.fixed_camera.FixedCamera`, and ``model.predict`` keeps the last few
cameras it built, keyed by the background's pixels and the sources given (so the same files
given again reuse it).

Inputs may be numpy arrays, PIL images or image file paths; they are converted to
``uint8 (H, W, 3)`` RGB (see :func:`as_rgb`). ``bg`` and ``image`` of different sizes
follow :func:`maskdepth.inference.predictor.check_pair`: same aspect ratio within 5 % → the
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


def _source_key(x: Any):
    """Hashable identity of a scene source given to :meth:`Model.predict`: a file by path, size
    and mtime; an array (or a SceneDepth's pixels) by its bytes' sha256; a Camera by its JSON;
    anything else by ``id``."""
    if x is None:
        return None
    if isinstance(x, (str, os.PathLike)):
        p = Path(x)
        try:
            st = p.stat()
            return ("file", str(p.resolve()), st.st_size, st.st_mtime_ns)
        except OSError:
            return ("file", str(p))  # missing: FixedCamera raises the one-line error
    if isinstance(getattr(x, "depth", None), np.ndarray):  # a SceneDepth: its pixels
        return ("scene", x.source, x.unit, _source_key(x.depth))
    if isinstance(x, np.ndarray):
        import hashlib

        return ("array", x.shape, x.dtype.str, hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest())
    if hasattr(x, "to_json"):
        import json

        return ("json", json.dumps(x.to_json(), sort_keys=True, default=str))
    return ("object", id(x))


class Model:
    """A loaded model; call :meth:`predict`. Made by :func:`load`.

    Attributes:
        predictor: the underlying :class:`maskdepth.inference.predictor.Predictor`.
        source: what was loaded (``"default"``, a checkpoint path or an ``.onnx`` path).
        backend: ``"torch"`` or ``"onnx"`` (``"default"`` is ``"onnx"`` when onnxruntime is installed).
        size: short side (pixels) the pair is resized to before the network.
        threshold: probability at or above which a pixel is foreground.
    """

    CAMERAS_KEPT = 4

    def __init__(self, predictor, source: str):
        self.predictor = predictor
        self.source = source
        self._cameras = None  # RecentCameras, made on first use (keeps `import maskdepth` light)

    def _cached_camera(self, bg: np.ndarray, bg_depth, camera, teacher, bg_depth_unit=None):
        """The FixedCamera for these inputs, reused while the bg's pixels and the sources are the
        same (the last :attr:`CAMERAS_KEPT`; files keyed by path, size and mtime)."""
        from .scene.depth_sources import image_key
        from .scene.fixed_camera import RecentCameras

        if self._cameras is None:
            self._cameras = RecentCameras(self.CAMERAS_KEPT)
        key = (image_key(bg), _source_key(bg_depth), _source_key(camera), _source_key(teacher), bg_depth_unit)
        make = lambda: self.camera(bg, bg_depth=bg_depth, camera=camera, teacher=teacher, bg_depth_unit=bg_depth_unit)  # noqa: E731
        return self._cameras.get(key, make)

    @property
    def backend(self) -> str:
        return self.predictor.backend

    @property
    def size(self) -> int:
        return self.predictor.size

    @property
    def threshold(self) -> float:
        return self.predictor.threshold

    def camera(
        self,
        bg: ImageLike,
        bg_depth=None,
        camera=None,
        teacher: str | os.PathLike | None = None,
        cache_dir=None,
        bg_depth_unit=None,
        person_detector=None,
    ):
        """A reusable fixed camera: its empty scene's depth is computed once (on the first
        frame that needs it) and kept, so pass it to :meth:`predict` for every frame.

        Args:
            bg: the empty scene (any input of :func:`as_rgb`), at the frames' size.
            bg_depth: measured depth of the empty scene: a file (``.png`` uint16 millimetres,
                ``.tif``/``.tiff`` float32 metres, ``.npy`` metres; 0 = unknown), or a float
                ``(H, W)`` array in metres. Resized to ``bg`` nearest-exact.
            camera: ``camera.json`` path or a :class:`maskdepth.scene.Camera` (ground plane).
            teacher: a monocular-depth ``.onnx`` model, run once on ``bg`` (metres from the
                camera's floor when ``camera`` is given, else relative).
            cache_dir: folder caching the scene depth across runs (keyed by the content of all its inputs).
            bg_depth_unit: ``"mm"`` or ``"m"`` for ``bg_depth``'s values (default: the format's;
                a median above 100 m is then refused as millimetres).
            person_detector: a person detector's ``.onnx`` file (:class:`maskdepth.inference.detector.PersonDetector`
                with its defaults; pass an instance for other settings) or a callable ``RGB frame -> (K, >= 4) boxes``:
                blobs that two or more people's boxes lie on are split into one object per person.
        Returns:
            :class:`maskdepth.scene.fixed_camera.FixedCamera` (``.source`` names the source).
        Raises:
            MaskDepthError: unreadable, all-unknown or other-aspect depth; a bad camera.
        """
        from .inference.detector import load_person_detector
        from .scene.fixed_camera import FixedCamera

        teacher = None if teacher is None else os.fspath(teacher)
        if isinstance(person_detector, (str, os.PathLike)):
            person_detector = load_person_detector(person_detector)
        return FixedCamera(
            as_rgb(bg, "bg"),
            bg_depth=bg_depth,
            camera=camera,
            teacher=teacher,
            cache_dir=cache_dir,
            bg_depth_unit=bg_depth_unit,
            person_detector=person_detector,
        )

    def predict(self, bg: ImageLike, image: ImageLike, bg_depth=None, camera=None, teacher=None, scene=None, bg_depth_unit=None):
        """Foreground mask, depth and objects for one pair.

        Args:
            bg: the empty scene; any input accepted by :func:`as_rgb`.
            image: the same scene (same fixed camera) with a foreground; same kinds.
            bg_depth, camera, teacher, bg_depth_unit: what is known about the empty scene (see
                :meth:`camera`); none of them: the network's own estimate (``"learned"``).
            scene: a :class:`~maskdepth.scene.fixed_camera.FixedCamera` from :meth:`camera`
                (instead of ``bg_depth``/``camera``/``teacher``).
        Returns:
            :class:`maskdepth.inference.pipeline.FrameResult` at the size ``(H, W)`` of ``image``:
            ``mask`` bool (H, W); ``prob`` float32 (H, W) in [0, 1]; ``depth`` float32
            (H, W) in metres, 0 = unknown (each object on a vertical plane at its contact
            point over the scene depth); ``depth_unit == "m"``; ``depth_source``;
            ``objects`` (list of :class:`maskdepth.scene.SceneObject`); ``to_color()`` →
            uint8 (H, W, 3).
        Raises:
            MaskDepthError: unusable input (type, dtype, shape, smaller than 8x8, or a
                ``bg`` whose aspect ratio differs from ``image``'s by more than 5 %), bad
                depth or camera, ``scene`` together with a source, a ``scene`` of another size.
        """
        import warnings

        from .inference.pipeline import run_frame
        from .inference.predictor import check_pair

        b, img = as_rgb(bg, "bg"), as_rgb(image, "image")
        if scene is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # predict() warns about a resized bg
                b_at = check_pair(b, img)
            scene = self._cached_camera(b_at, bg_depth, camera, teacher, bg_depth_unit)
        elif bg_depth is not None or camera is not None or teacher is not None:
            raise MaskDepthError("give scene= or bg_depth/camera/teacher, not both")
        return run_frame(self.predictor, img, bg=b, scene=scene)

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
        :class:`maskdepth.inference.pipeline.FrameResult`.
    Raises:
        MaskDepthError: the file is missing, unreadable or not a maskdepth model, or
            ``"default"`` is asked for and no model is shipped in this install.
    """
    from .inference.predictor import load_predictor

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
