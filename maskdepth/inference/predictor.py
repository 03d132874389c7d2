"""The :class:`Predictor`: the network on (bg, fg_bg) pairs, used by every front end through the pipeline.

One pre/post-processing path: the pair is resized so its short side is
``size`` pixels keeping its aspect ratio (:func:`content_size`), padded at the
bottom and right to multiples of 32 (the network's stride; :func:`network_size`,
:func:`pad_to`), run through the network, and the mask probability and
log-depth are cropped back to the content and resized (bilinear) to the input size; the mask is
then refined at the input's own resolution in its uncertain band (``refine``, :mod:`maskdepth.inference.refine`:
``none`` = bilinear only, ``guided`` = a fast guided filter of the coarse probability guided by
the full-resolution frame, in the uncertain band only; ``auto`` = :data:`maskdepth.inference.refine.DEFAULT_REFINER`).

Backends: ONNX Runtime (``onnx``) runs an ``.onnx`` file exported by ``maskdepth export``;
PyTorch (``torch``) runs a ``.pt`` checkpoint. The shipped model exists as both
(:data:`maskdepth.inference.runtime.DEFAULT_ONNX`, :data:`maskdepth.inference.runtime.DEFAULT_CHECKPOINT`); it is
run with ONNX Runtime whenever that is installed. This module imports ``torch`` only inside
the torch backend, so prediction works in an install without the ``[train]`` extra.

``bg`` and image of different sizes: when their aspect ratios agree within 5 %
the background is resized to the image with a warning (a camera that saves
a different resolution); otherwise the pair is refused with a clear error,
because a different framing cannot be the same fixed camera.

Objects and a fixed camera's depth are not made here: :func:`maskdepth.inference.pipeline.run_frame`
turns a frame into a ``FrameResult`` (the one path from a frame to its objects); the network's
estimate of the empty scene, when a scene source needs it, comes from :func:`learned_bg_depth_fn`,
computed once per :class:`~maskdepth.scene.fixed_camera.FixedCamera` and kept on it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..extras import require
from ..io import file_sha256, resize
from ..scene.fixed_camera import FixedCamera
from .refine import refine_prob, resolve_refiner
from .runtime import DEFAULT_CHECKPOINT, DEFAULT_ONNX, WEIGHTS_DIR, onnxruntime_available, ort_session, read_sidecar

__all__ = [
    "Prediction",
    "Predictor",
    "network_size",
    "content_size",
    "pad_to",
    "check_pair",
    "load_predictor",
    "resolve_backend",
    "learned_bg_depth_fn",
    "WEIGHTS_DIR",
    "DEFAULT_CHECKPOINT",
    "DEFAULT_ONNX",
]


class Prediction:
    """What the network says about one (bg, fg_bg) pair, at the input resolution (no scene, no objects:
    :func:`maskdepth.inference.pipeline.run_frame` adds those).

    Attributes:
        mask: ``bool (H, W)`` foreground (probability >= ``threshold``).
        prob: ``float32 (H, W)`` foreground probability in [0, 1].
        depth: ``float32 (H, W)`` the network's monocular depth in metres of the scene *with* the
            foreground, > 0 everywhere, whose absolute scale is only as good as the training cameras'
            resemblance to this one; upsampled (bilinear, then ``exp``) from the network's log-depth on
            first access, so callers that need only the mask pay nothing for it.
        depth_unit: ``"m"``.
    """

    depth_unit = "m"

    def __init__(self, mask: np.ndarray, prob: np.ndarray, log_depth: np.ndarray):
        self.mask, self.prob, self._log_depth, self._depth = mask, prob, log_depth, None

    @property
    def depth(self) -> np.ndarray:
        """See the class docstring."""
        if self._depth is None:
            self._depth = np.exp(resize(self._log_depth, self.mask.shape)).astype(np.float32)
        return self._depth

    def __repr__(self) -> str:
        return f"Prediction(size={self.mask.shape[1]}x{self.mask.shape[0]}, mask_fraction={float(self.mask.mean()):.4f})"


def content_size(h: int, w: int, size: int) -> tuple[int, int]:
    """The image's size in the network: short side ``size``, the aspect ratio kept (each side rounded, >= 1)."""
    s = size / min(h, w)
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def network_size(h: int, w: int, size: int) -> tuple[int, int]:
    """Input size for the network: :func:`content_size` padded up to multiples of 32 (>= 32).

    The image is resized to :func:`content_size` and padded at the bottom and right (reflected
    pixels, :func:`pad_to`), never squashed: rounding each side to a multiple of 32 separately
    changed a 4:3 image's aspect by 6 % (320x240 -> 160x128) while training keeps fx = fy (issue 13).
    """
    ch, cw = content_size(h, w, size)
    return max(32, -(-ch // 32) * 32), max(32, -(-cw // 32) * 32)


def pad_to(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """``a`` (``(h, w, ...)``) padded at the bottom and right to ``hw`` with reflected pixels
    (``cv2.BORDER_REFLECT_101``; edge pixels repeated where the pad is not smaller than the image)."""
    import cv2

    h, w = a.shape[:2]
    ph, pw = hw[0] - h, hw[1] - w
    if ph == 0 and pw == 0:
        return a
    mode = cv2.BORDER_REFLECT_101 if ph < h and pw < w else cv2.BORDER_REPLICATE
    return cv2.copyMakeBorder(np.ascontiguousarray(a), 0, ph, 0, pw, mode)


def check_pair(bg: np.ndarray, image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``bg`` at the size of ``image`` (see module docstring); raise MaskDepthError if unusable."""
    for a, what in ((bg, "bg"), (image, name)):
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
            raise MaskDepthError(f"{what}: expected uint8 RGB (H, W, 3), got {a.dtype} {a.shape}")
        if min(a.shape[:2]) < 8:
            raise MaskDepthError(f"{what}: image too small ({a.shape[1]}x{a.shape[0]}); need at least 8x8 pixels")
    if bg.shape == image.shape:
        return bg
    ra, rb = bg.shape[1] / bg.shape[0], image.shape[1] / image.shape[0]
    if abs(ra / rb - 1) > 0.05:
        raise MaskDepthError(
            f"bg is {bg.shape[1]}x{bg.shape[0]} but {name} is {image.shape[1]}x{image.shape[0]}: different framing, not the same fixed camera"
        )
    warnings.warn(f"bg is {bg.shape[1]}x{bg.shape[0]}, {name} is {image.shape[1]}x{image.shape[0]}: resizing bg to match", stacklevel=2)
    return resize(bg, image.shape[:2])


class Predictor:
    """Run a trained model on (bg, fg_bg) pairs.

    Args:
        model: a ``torch.nn.Module`` returning ``(mask_logits, log_depth)``, or a
            path to an ``.onnx`` file (ONNX Runtime backend) exported by ``maskdepth export``.
        size: short side the pair is resized to before the network (default 128, the
            training resolution of the shipped model).
        threshold: probability above which a pixel is foreground.
        device: torch device for the PyTorch backend (ignored by ONNX Runtime, which
            uses CUDA when its CUDA provider is installed, else the CPU).
        refine: how the coarse mask reaches the input resolution: ``"auto"`` (the validated
            default, :data:`maskdepth.inference.refine.DEFAULT_REFINER`), ``"none"`` (bilinear) or
            ``"guided"`` (:mod:`maskdepth.inference.refine`). Raises MaskDepthError for another name.
        ort_options: keywords of :func:`~maskdepth.inference.runtime.ort_session` for the ONNX backend
            (``threads``, ``spinning``, ...); ignored by PyTorch.

    Attributes:
        backend: ``"onnx"`` or ``"torch"``.
        source: the file the model was loaded from (set by :func:`load_predictor`; the
            ``.onnx`` path for the ONNX backend), or ``None``.
    """

    def __init__(
        self, model, size: int = 128, threshold: float = 0.5, device: str = "cpu", refine: str = "auto", ort_options: dict | None = None
    ):
        self.size, self.threshold, self.refine = size, threshold, resolve_refiner(refine)
        self.source: str | None = None
        if isinstance(model, (str, os.PathLike)):
            self.session = ort_session(model, **(ort_options or {}))  # optimisation ALL; CUDA provider when present, else CPU
            self.backend, self.model, self.device, self.source = "onnx", None, str(device), str(model)
            self._weights_sha256: str | None = file_sha256(model)  # the bytes the session was built from
        else:
            import torch

            self.device = torch.device(device)
            self.model = model.to(self.device).eval()
            self.backend, self.session = "torch", None
            self._weights_sha256 = None  # hashed from the weights in memory on first use of key

    def _run(self, bg: np.ndarray, fg_bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network on uint8 batches ``(B, h, w, 3)`` (h, w multiples of 32) → (logits, log_depth) float32 (B, h, w)."""
        x_bg = np.ascontiguousarray(bg.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        x_fg = np.ascontiguousarray(fg_bg.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        if self.backend == "onnx":
            names = [i.name for i in self.session.get_inputs()]
            logits, log_depth = self.session.run(None, {names[0]: x_bg, names[1]: x_fg})
        else:
            import torch

            with torch.inference_mode():
                lt, ld = self.model(torch.from_numpy(x_bg).to(self.device), torch.from_numpy(x_fg).to(self.device))
            logits, log_depth = lt.float().cpu().numpy(), ld.float().cpu().numpy()
        return logits[:, 0], log_depth[:, 0]

    def coarse(
        self, bg: np.ndarray, fg_bg: np.ndarray, bg_small: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The network on one pair of equal size ``uint8 (H, W, 3)``, before any upsampling.

        Args:
            bg_small: ``bg`` already resized to :func:`content_size` (a fixed camera's, kept between
                frames: :meth:`FixedCamera.resized_bg <maskdepth.scene.fixed_camera.FixedCamera.resized_bg>`),
                or ``None`` to resize it here.
        Returns: ``(logits, log_depth, bg_small, fg_small)``: float32 ``(h, w)`` mask logits and
        log-depth over the content (padding cropped; ``(h, w)`` = :func:`content_size`), and the
        uint8 ``(h, w, 3)`` resized pair the network saw.
        Raises: MaskDepthError for a ``bg_small`` of another size than the content.
        """
        H, W = fg_bg.shape[:2]
        (ch, cw), nhw = content_size(H, W, self.size), network_size(H, W, self.size)
        if bg_small is not None and bg_small.shape[:2] != (ch, cw):
            raise MaskDepthError(f"bg_small is {bg_small.shape[1]}x{bg_small.shape[0]}, the network's content is {cw}x{ch}")
        bs, fs = (resize(bg, (ch, cw)) if bg_small is None else bg_small), resize(fg_bg, (ch, cw))
        logits, log_depth = self._run(pad_to(bs, nhw)[None], pad_to(fs, nhw)[None])
        return np.ascontiguousarray(logits[0, :ch, :cw]), np.ascontiguousarray(log_depth[0, :ch, :cw]), bs, fs

    def _infer(self, bg: np.ndarray, fg_bg: np.ndarray, bg_small: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The network on one pair of equal size: float32 ``(H, W)`` probability (refined, :attr:`refine`) and
        the float32 ``(h, w)`` log-depth over the content (:func:`content_size`; not yet upsampled)."""
        logits, log_depth, bs, fs = self.coarse(bg, fg_bg, bg_small)
        return refine_prob(logits, bg, fg_bg, self.refine, bg_small=bs, fg_small=fs), log_depth

    @property
    def key(self) -> str:
        """Identity of the network and its input size, for caches (the scene depth cache): ``"sha256:<hex>|size=<n>"``,
        the sha256 of the ONNX file's bytes read when the session was made, or of the PyTorch weights in memory
        (every ``state_dict`` tensor's name, dtype, shape and bytes; hashed once). Never a file's name or mtime."""
        if self._weights_sha256 is None:
            import hashlib

            import torch

            h = hashlib.sha256()
            for name, t in self.model.state_dict().items():
                a = t.detach().cpu().contiguous()
                h.update(f"{name}|{a.dtype}|{tuple(a.shape)}|".encode())
                h.update((a.float() if a.dtype == torch.bfloat16 else a).numpy().tobytes())
            self._weights_sha256 = h.hexdigest()
        return f"sha256:{self._weights_sha256}|size={self.size}"

    def predict(self, bg: np.ndarray, fg_bg: np.ndarray, bg_small: np.ndarray | None = None) -> Prediction:
        """The network on one pair: mask, probability and (lazily) its own depth.

        Args:
            bg, fg_bg: ``uint8 (H, W, 3)`` RGB (see the module docstring for sizes).
            bg_small: optional ``bg`` already at the network's content size (see :meth:`coarse`).
        Returns: :class:`Prediction` at ``(H, W)``. For objects and a fixed camera's depth use
            :func:`maskdepth.inference.pipeline.run_frame`.
        Raises: MaskDepthError for unusable inputs.
        """
        bg = check_pair(bg, fg_bg)
        prob, log_depth = self._infer(bg, fg_bg, bg_small)
        return Prediction(prob >= self.threshold, prob, log_depth)


def learned_bg_depth_fn(predictor, scene: FixedCamera):
    """The network's depth of the empty scene as a callable (what :meth:`FixedCamera.objects` needs for
    the ``learned`` and ``ground_plane`` sources): ``predictor.predict(bg, bg).depth``, float32
    ``(H, W)`` metres, predicted on the first call only and kept on ``scene``
    (:meth:`FixedCamera.learned_bg_depth`, keyed by the predictor's ``key``), so a camera used for
    many frames runs it once. ``predictor``: a :class:`Predictor` or anything with ``predict(bg, image)``."""
    return scene.learned_bg_depth(getattr(predictor, "key", "network"), lambda: predictor.predict(scene.bg, scene.bg).depth)


def resolve_backend(checkpoint: str | os.PathLike | None = None, backend: str = "auto") -> tuple[str, Path | None]:
    """Which backend runs which file.

    ``backend="auto"``: ``onnx`` for an ``.onnx`` ``checkpoint``, ``torch`` for any other file;
    with no ``checkpoint``, the shipped ``default.onnx`` with ONNX Runtime when onnxruntime is
    importable and the file is present, else the shipped ``default.pt`` with PyTorch.
    ``backend="torch"`` without a checkpoint is the shipped ``default.pt``; ``backend="onnx"``
    needs an ``.onnx`` checkpoint.

    Returns: ``(backend, path)``; ``path`` is ``None`` only for ``backend="onnx"`` without a checkpoint.
    Raises: MaskDepthError for an unknown backend.
    """
    if backend not in ("auto", "torch", "onnx"):
        raise MaskDepthError(f"unknown backend {backend!r} (expected torch, onnx or auto)")
    if checkpoint:
        if backend == "auto":
            backend = "onnx" if str(checkpoint).lower().endswith(".onnx") else "torch"
        return backend, Path(checkpoint)
    if backend == "auto":
        backend = "onnx" if DEFAULT_ONNX.exists() and onnxruntime_available() else "torch"
        return backend, DEFAULT_ONNX if backend == "onnx" else DEFAULT_CHECKPOINT
    return backend, DEFAULT_CHECKPOINT if backend == "torch" else None


def load_predictor(
    checkpoint: str | None = None,
    size: int | None = None,
    device: str = "cpu",
    backend: str = "auto",
    refine: str = "auto",
    ort_options: dict | None = None,
) -> Predictor:
    """A :class:`Predictor` for a checkpoint (default: the model shipped in ``maskdepth/weights``).

    The backend follows :func:`resolve_backend`: ONNX Runtime for ``.onnx`` files and, when
    installed, for the shipped model; PyTorch for ``.pt`` checkpoints (``backend="torch"``
    forces it for the shipped model). An ONNX model's input size defaults to the one in its
    ``<model>.onnx.json`` sidecar, else 128; a checkpoint's to ``meta.infer_size`` (the size ``maskdepth adapt``
    chose for its camera), else its training size ``meta.size``.
    ``refine``, ``ort_options``: see :class:`Predictor`.
    Raises: MaskDepthError when the file is missing or unusable, for an unknown backend or refiner, or
        when the backend's package is not installed (PyTorch comes with the ``[train]`` extra).
    """
    backend, path = resolve_backend(checkpoint, backend)
    if backend == "onnx":
        if path is None or not path.exists():
            raise MaskDepthError(
                f"ONNX model not found: {checkpoint}" + ("" if checkpoint else " (the onnx backend needs an .onnx checkpoint)")
            )
        side_size = (read_sidecar(path) or {}).get("size")
        return Predictor(path, size=size or (side_size if isinstance(side_size, int) else 128), refine=refine, ort_options=ort_options)
    if not path.exists():
        raise MaskDepthError(
            f"not found: {path}" + ("" if checkpoint else " (no shipped model in this install: give a checkpoint)"), param="checkpoint"
        )
    require("train", f"the PyTorch backend ({path.name})", ("torch",))
    from ..checkpoint import load_model

    model, ck = load_model(path)
    meta = ck.get("meta", {})
    size = size or meta.get("infer_size") or meta.get("size") or 128  # infer_size: chosen for its camera by maskdepth adapt
    pred = Predictor(model, size=size, device=device, refine=refine)
    pred.source = str(path)
    return pred
