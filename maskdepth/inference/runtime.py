"""The inference runtime without PyTorch: the shipped model files, ONNX Runtime sessions, export sidecars.

Both :mod:`maskdepth.export` (which writes ``.onnx`` files) and :mod:`maskdepth.inference.predictor`
(which runs them) import this module; it imports neither, nor ``torch``, so an install
without the ``[train]`` extra can load and run the shipped ONNX model.

Shipped model (``maskdepth/weights``):

* ``default.pt``: the PyTorch checkpoint (read by the torch backend and by ``maskdepth export``);
* ``default.onnx``: the same network exported by ``maskdepth export``, with its sidecar
  ``default.onnx.json`` (input size, parity against PyTorch, versions). ONNX Runtime is the
  default inference backend whenever it is importable and this file is present.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import MaskDepthError

__all__ = ["WEIGHTS_DIR", "DEFAULT_CHECKPOINT", "DEFAULT_ONNX", "onnxruntime_available", "sidecar_path", "read_sidecar", "ort_session"]

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_CHECKPOINT = WEIGHTS_DIR / "default.pt"
"""The shipped PyTorch checkpoint."""
DEFAULT_ONNX = WEIGHTS_DIR / "default.onnx"
"""The shipped model exported to ONNX (sidecar ``default.onnx.json``)."""


def onnxruntime_available() -> bool:
    """True when the ``onnxruntime`` package can be imported (checked without importing it)."""
    try:
        return importlib.util.find_spec("onnxruntime") is not None
    except (ImportError, ValueError):
        return False


def sidecar_path(onnx_path: str | os.PathLike) -> Path:
    """``model.onnx`` → ``model.onnx.json`` (the export's metadata file)."""
    p = Path(onnx_path)
    return p.with_name(p.name + ".json")


def read_sidecar(onnx_path: str | os.PathLike) -> dict | None:
    """The sidecar dict of an exported model, or ``None`` when absent or unreadable."""
    try:
        d = json.loads(sidecar_path(onnx_path).read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def ort_session(
    model: bytes | str | os.PathLike,
    threads: int | None = None,
    providers: Sequence[str] | None = None,
    optimization: str = "all",
    spinning: bool = True,
):
    """An ``onnxruntime.InferenceSession`` with graph optimisation level ALL.

    Args:
        model: ONNX bytes or a path.
        threads: intra-op threads (``None``: onnxruntime's default, one per physical core).
        providers: execution providers (default: CUDA when available, then CPU).
        optimization: ``"all"`` (ORT_ENABLE_ALL), ``"extended"``, ``"basic"`` or ``"disable"``.
        spinning: ``False`` stops the intra-op threads from spinning while they wait (the same outputs; less CPU
            taken from the other work of a loop, e.g. ``watch``: results/live_speed.md).
    Raises: MaskDepthError when onnxruntime is not installed or cannot load the model.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise MaskDepthError("running an ONNX model needs onnxruntime: pip install onnxruntime") from None

    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }[optimization]
    if threads:
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
    if not spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    if providers is None:
        avail = ort.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in avail]
    src = model if isinstance(model, (bytes, bytearray)) else str(model)
    try:
        return ort.InferenceSession(src, so, providers=list(providers))
    except Exception as e:
        name = "<bytes>" if isinstance(model, (bytes, bytearray)) else str(model)
        msg = str(e).splitlines()[0][:200] if str(e) else ""
        raise MaskDepthError(f"{name}: onnxruntime cannot load the model ({type(e).__name__}: {msg})") from None
