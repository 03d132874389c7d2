"""``maskdepth predict`` and the :class:`Predictor` used by evaluate, serve and the Python API.

One pre/post-processing path: the pair is resized so its short side is
``size`` pixels with both sides rounded to multiples of 32 (the network's
stride), run through the network, and the mask probability and log-depth are
resized back (bilinear) to the input size.

Backends: ONNX Runtime (``onnx``) runs an ``.onnx`` file exported by ``maskdepth export``;
PyTorch (``torch``) runs a ``.pt`` checkpoint. The shipped model exists as both
(:data:`maskdepth.runtime.DEFAULT_ONNX`, :data:`maskdepth.runtime.DEFAULT_CHECKPOINT`); it is
run with ONNX Runtime whenever that is installed. This module imports ``torch`` only inside
the torch backend, so prediction works in an install without the ``[train]`` extra.

``bg`` and image of different sizes: when their aspect ratios agree within 5 %
the background is resized to the image with a warning (a camera that saves
a different resolution); otherwise the pair is refused with a clear error,
because a different framing cannot be the same fixed camera.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data.format import depth_to_mm_u16
from .errors import MaskDepthError
from .extras import require
from .io import IMAGE_EXTS, atomic_write_json, load_rgb, resize, save_png
from .runtime import DEFAULT_CHECKPOINT, DEFAULT_ONNX, WEIGHTS_DIR, onnxruntime_available, ort_session, read_sidecar
from .viz import colorize_depth, overlay

__all__ = [
    "Prediction",
    "Predictor",
    "network_size",
    "check_pair",
    "load_predictor",
    "resolve_backend",
    "write_outputs",
    "predict_paths",
    "WEIGHTS_DIR",
    "DEFAULT_CHECKPOINT",
    "DEFAULT_ONNX",
]


@dataclass
class Prediction:
    """What the model says about one (bg, fg_bg) pair, at the input resolution.

    Attributes:
        mask: ``bool (H, W)`` foreground (probability >= ``threshold``).
        prob: ``float32 (H, W)`` foreground probability in [0, 1].
        depth: ``float32 (H, W)`` depth in metres (> 0), the model's metric estimate
            for the scene *with* the foreground; monocular, so its absolute scale is only
            as good as the training cameras' resemblance to this one.
        depth_unit: ``"m"``.
    """

    mask: np.ndarray
    prob: np.ndarray
    depth: np.ndarray
    depth_unit: str = "m"

    def to_color(self, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
        """Colourised depth, ``uint8 (H, W, 3)`` (magma, near = bright)."""
        return colorize_depth(self.depth, vmin, vmax)


def network_size(h: int, w: int, size: int) -> tuple[int, int]:
    """Input size for the network: short side ``size``, both sides multiples of 32 (>= 32)."""
    s = size / min(h, w)
    return max(32, int(round(h * s / 32)) * 32), max(32, int(round(w * s / 32)) * 32)


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

    Attributes:
        backend: ``"onnx"`` or ``"torch"``.
        source: the file the model was loaded from (set by :func:`load_predictor`; the
            ``.onnx`` path for the ONNX backend), or ``None``.
    """

    def __init__(self, model, size: int = 128, threshold: float = 0.5, device: str = "cpu"):
        self.size, self.threshold = size, threshold
        self.source: str | None = None
        if isinstance(model, (str, os.PathLike)):
            self.session = ort_session(model)  # graph optimisation ALL; CUDA provider when present, else CPU
            self.backend, self.model, self.device, self.source = "onnx", None, str(device), str(model)
        else:
            import torch

            self.device = torch.device(device)
            self.model = model.to(self.device).eval()
            self.backend, self.session = "torch", None

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

    def predict(self, bg: np.ndarray, fg_bg: np.ndarray) -> Prediction:
        """Predict mask and depth for one pair.

        Args:
            bg, fg_bg: ``uint8 (H, W, 3)`` RGB (see the module docstring for sizes).
        Returns: :class:`Prediction` at ``(H, W)``.
        Raises: MaskDepthError for unusable inputs.
        """
        bg = check_pair(bg, fg_bg)
        H, W = fg_bg.shape[:2]
        h, w = network_size(H, W, self.size)
        logits, log_depth = self._run(resize(bg, (h, w))[None], resize(fg_bg, (h, w))[None])
        prob = 1.0 / (1.0 + np.exp(-resize(logits[0], (H, W))))
        depth = np.exp(resize(log_depth[0], (H, W))).astype(np.float32)
        return Prediction(mask=prob >= self.threshold, prob=prob.astype(np.float32), depth=depth)


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


def load_predictor(checkpoint: str | None = None, size: int | None = None, device: str = "cpu", backend: str = "auto") -> Predictor:
    """A :class:`Predictor` for a checkpoint (default: the model shipped in ``maskdepth/weights``).

    The backend follows :func:`resolve_backend`: ONNX Runtime for ``.onnx`` files and, when
    installed, for the shipped model; PyTorch for ``.pt`` checkpoints (``backend="torch"``
    forces it for the shipped model). An ONNX model's input size defaults to the one in its
    ``<model>.onnx.json`` sidecar, else 128; a checkpoint's to its training size ``meta.size``.
    Raises: MaskDepthError when the file is missing or unusable, for an unknown backend, or
        when the backend's package is not installed (PyTorch comes with the ``[train]`` extra).
    """
    backend, path = resolve_backend(checkpoint, backend)
    if backend == "onnx":
        if path is None or not path.exists():
            raise MaskDepthError(
                f"ONNX model not found: {checkpoint}" + ("" if checkpoint else " (--backend onnx needs --checkpoint MODEL.onnx)")
            )
        side_size = (read_sidecar(path) or {}).get("size")
        return Predictor(path, size=size or (side_size if isinstance(side_size, int) else 128))
    if not path.exists():
        raise MaskDepthError(
            f"checkpoint not found: {path}" + ("" if checkpoint else " (no shipped model in this install; pass --checkpoint)")
        )
    require("train", f"the PyTorch backend ({path.name})", ("torch",))
    from .checkpoint import load_model

    model, ck = load_model(path)
    size = size or ck.get("meta", {}).get("size") or 128
    pred = Predictor(model, size=size, device=device)
    pred.source = str(path)
    return pred


def write_outputs(out_dir: str | Path, image: np.ndarray, pred: Prediction) -> dict[str, str]:
    """Write ``mask.png`` (0/255), ``depth.png`` (uint16 mm), ``depth.json``, ``depth_color.png``, ``overlay.png``.

    Every file is written atomically. Returns the paths written.
    """
    out = Path(out_dir)
    mm = depth_to_mm_u16(pred.depth)
    files = {
        "mask": out / "mask.png",
        "depth": out / "depth.png",
        "depth_json": out / "depth.json",
        "depth_color": out / "depth_color.png",
        "overlay": out / "overlay.png",
    }
    save_png(files["mask"], pred.mask.astype(np.uint8) * 255)
    save_png(files["depth"], mm)
    atomic_write_json(
        files["depth_json"],
        {
            "file": "depth.png",
            "dtype": "uint16",
            "unit": "millimetre",
            "to_metres": 0.001,
            "invalid_value": 0,
            "kind": "metric estimate from a monocular network (absolute scale approximate)",
            "min_m": float(pred.depth.min()),
            "max_m": float(pred.depth.max()),
            "mask_fraction": float(pred.mask.mean()),
        },
    )
    save_png(files["depth_color"], pred.to_color())
    save_png(files["overlay"], overlay(image, pred.mask))
    return {k: str(v) for k, v in files.items()}


def _images_in(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def predict_paths(predictor: Predictor, bg: str, image: str, out_dir: str, quiet: bool = False) -> list[dict]:
    """Predict on a pair of files, or a bg file and a folder of images, or two folders
    of images paired by file name. Outputs go to ``out_dir`` (one sub-folder per image
    when ``image`` is a folder). Returns one record per pair.

    Raises: MaskDepthError (missing files, no images, no matching names, bad images).
    """
    from tqdm import tqdm

    bgp, imp, out = Path(bg), Path(image), Path(out_dir)
    if not bgp.exists():
        raise MaskDepthError(f"--bg not found: {bgp}")
    if not imp.exists():
        raise MaskDepthError(f"--image not found: {imp}")
    if imp.is_dir():
        images = _images_in(imp)
        if not images:
            raise MaskDepthError(f"--image folder holds no images: {imp}")
        if bgp.is_dir():
            bgs = {p.stem: p for p in _images_in(bgp)}
            pairs = [(bgs[p.stem], p, out / p.stem) for p in images if p.stem in bgs]
            if not pairs:
                raise MaskDepthError(f"no file names in {imp} match a background in {bgp}")
        else:
            pairs = [(bgp, p, out / p.stem) for p in images]
    else:
        if bgp.is_dir():
            raise MaskDepthError("--bg is a folder but --image is a file: give a bg file")
        pairs = [(bgp, imp, out)]
    records, bg_cache = [], {}
    for b, i, o in tqdm(pairs, desc="predict", unit="pair", disable=quiet or len(pairs) < 2):
        if b not in bg_cache:
            bg_cache = {b: load_rgb(b)}
        img = load_rgb(i)
        try:
            pred = predictor.predict(bg_cache[b], img)
        except MaskDepthError as e:
            raise MaskDepthError(f"bg {b}, image {i}: {e}") from None  # either may be the culprit: name both
        files = write_outputs(o, img, pred)
        records.append({"bg": str(b), "image": str(i), "out": str(o), "mask_fraction": float(pred.mask.mean()), "files": files})
    return records
