"""``maskdepth export``: a checkpoint → an ONNX graph, checked against PyTorch.

The exported graph has the same interface as the PyTorch model
(:mod:`maskdepth.model`):

* inputs ``bg`` and ``fg_bg``: ``float32 (N, 3, H, W)``, RGB, channels first,
  values in [0, 1] (the ``(x - 0.5) / 0.5`` normalisation is *inside* the
  graph); H and W multiples of 32;
* outputs ``mask_logits`` (``sigmoid`` → P(foreground)) and ``log_depth``
  (natural log of depth in metres): ``float32 (N, 1, H, W)``;
* the N, H and W axes are dynamic (named ``batch``, ``height``, ``width``).

After the export the graph is run with ONNX Runtime (CPU provider) on a
random pair at the requested size and at a second size/batch (which
exercises the dynamic axes) and compared with PyTorch; the export fails with
:class:`~maskdepth.errors.MaskDepthError` (and writes nothing) when the
largest absolute difference of either output exceeds the tolerance
(default 1e-3).  The ``.onnx`` file is written atomically, followed by a
sidecar ``<out>.json`` (see :func:`export_model`) that :func:`maskdepth.inference.predictor.load_predictor`
reads for the network input size.

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)``; it
folds BatchNorm into the convolutions and needs no extra package.  ``torch``
is imported inside the functions that need it.  :func:`ort_session`,
:func:`read_sidecar` and :func:`sidecar_path` live in :mod:`maskdepth.inference.runtime` (no
PyTorch, shared with :mod:`maskdepth.inference.predictor`) and are re-exported here.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import option
from .errors import MaskDepthError
from .inference.runtime import DEFAULT_CHECKPOINT, ort_session, read_sidecar, sidecar_path
from .io import atomic_write_bytes, atomic_write_json

if TYPE_CHECKING:  # annotations only: torch is imported where the export runs
    import torch

__all__ = [
    "INPUT_NAMES",
    "OUTPUT_NAMES",
    "DEFAULT_OPSET",
    "PARITY_TOLERANCE",
    "INPUT_CONVENTION",
    "onnx_bytes",
    "ort_session",
    "parity_check",
    "export_model",
    "ExportConfig",
    "run_export",
    "export_checkpoint",
    "sidecar_path",
    "read_sidecar",
]

INPUT_NAMES = ("bg", "fg_bg")
OUTPUT_NAMES = ("mask_logits", "log_depth")
DEFAULT_OPSET = 17
PARITY_TOLERANCE = 1e-3
"""Largest allowed ``max |onnxruntime - torch|`` of either output (logits / log metres)."""

INPUT_CONVENTION: dict[str, Any] = {
    "inputs": {
        "bg": "float32 (N, 3, H, W) RGB in [0, 1], background photo without the foreground",
        "fg_bg": "float32 (N, 3, H, W) RGB in [0, 1], same scene with the foreground",
    },
    "outputs": {
        "mask_logits": "float32 (N, 1, H, W); sigmoid(mask_logits) = P(pixel is foreground)",
        "log_depth": "float32 (N, 1, H, W); natural log of depth in metres (depth = exp(log_depth))",
    },
    "height_width_multiple": 32,
    "normalisation": "inside the graph: (x - 0.5) / 0.5",
    "dynamic_axes": {"0": "batch", "2": "height", "3": "width"},
}


def _check_size(size: int) -> int:
    if not isinstance(size, int) or size < 32 or size % 32:
        raise MaskDepthError(f"must be a positive multiple of 32, got {size}", param="size")
    return size


def onnx_bytes(model: torch.nn.Module, size: int = 128, opset: int = DEFAULT_OPSET) -> bytes:
    """Serialised ONNX graph of ``model`` (eval mode, CPU, float32), traced at
    ``(1, 3, size, size)`` with dynamic batch/height/width axes.

    Args:
        model: module with ``forward(bg, fg_bg) -> (mask_logits, log_depth)``.
        size: trace size in pixels (multiple of 32).
        opset: ONNX opset version (>= 11 for bilinear ``Resize``).
    Returns: the ``ModelProto`` bytes (validated with ``onnx.checker``).
    Raises: MaskDepthError when tracing/export or the ONNX check fails.
    """
    import onnx
    import torch

    _check_size(size)
    model = model.to("cpu").float().eval()
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    names = list(INPUT_NAMES) + list(OUTPUT_NAMES)
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer warnings
            torch.onnx.export(
                model,
                (x, x.clone()),
                buf,
                opset_version=int(opset),
                dynamo=False,
                input_names=list(INPUT_NAMES),
                output_names=list(OUTPUT_NAMES),
                dynamic_axes={n: {0: "batch", 2: "height", 3: "width"} for n in names},
                do_constant_folding=True,
            )
        data = buf.getvalue()
        onnx.checker.check_model(onnx.load_from_string(data))
    except MaskDepthError:
        raise
    except Exception as e:  # the exporter raises many types
        msg = str(e).splitlines()[0][:200] if str(e) else ""
        raise MaskDepthError(f"ONNX export failed (opset {opset}): {type(e).__name__}: {msg}") from None
    return data


def parity_check(model: torch.nn.Module, session, shapes: Sequence[tuple[int, int, int]], seed: int = 0) -> list[dict]:
    """Run ``model`` (PyTorch, CPU) and ``session`` (ONNX Runtime) on random pairs.

    Args:
        model: the PyTorch module (eval mode).
        session: an onnxruntime session of its export.
        shapes: ``(batch, height, width)`` per check; H, W multiples of 32.
        seed: RNG seed of the uniform [0, 1) float32 inputs.
    Returns: one dict per shape: ``shape`` [N, 3, H, W], ``<output>_max_abs_diff``
        (float, logits / log metres) and ``<output>_std`` (spread of the torch
        output, to show the comparison is not of constants).
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for b, h, w in shapes:
        bg, fg = torch.rand(b, 3, h, w, generator=g), torch.rand(b, 3, h, w, generator=g)
        with torch.inference_mode():
            ref = [t.float().numpy() for t in model(bg, fg)]
        got = session.run(list(OUTPUT_NAMES), {"bg": bg.numpy(), "fg_bg": fg.numpy()})
        rec: dict[str, Any] = {"shape": [b, 3, h, w]}
        for name, r, o in zip(OUTPUT_NAMES, ref, got):
            if o.shape != r.shape:
                raise MaskDepthError(f"ONNX output {name} has shape {list(o.shape)}, PyTorch {list(r.shape)}")
            rec[f"{name}_max_abs_diff"] = float(np.abs(o.astype(np.float64) - r).max())
            rec[f"{name}_std"] = float(r.std())
        out.append(rec)
    return out


def export_model(
    model: torch.nn.Module,
    out: str | os.PathLike,
    size: int = 128,
    opset: int = DEFAULT_OPSET,
    tolerance: float = PARITY_TOLERANCE,
    source: str | None = None,
    meta: dict | None = None,
    run_size: int | None = None,
) -> dict:
    """Export ``model`` to ``out`` (ONNX) after a parity check; write ``out + ".json"``.

    Parity: onnxruntime (CPU provider, optimisation level ALL) vs PyTorch on random pairs of shape
    ``(1, 3, size, size)`` and ``(2, 3, size, size + 64)`` (second batch size and width exercise the dynamic axes).

    Args:
        model: preset model (``model.preset``, ``model.config``) returning ``(mask_logits, log_depth)``.
        out: path of the ``.onnx`` file; its directory is created.
        size: the short side traced and checked (multiple of 32); the sidecar's ``size`` (predict's default) unless
            ``run_size`` (any integer >= 32, the network pads; ``maskdepth adapt`` chooses it per camera) is given.
        opset: ONNX opset.
        tolerance: largest allowed max-abs difference of either output.
        source: where the weights came from (checkpoint path), for the sidecar.
        meta: checkpoint ``meta`` dict (kept in the sidecar under ``checkpoint_meta``).
    Returns: the sidecar dict: ``format``, ``onnx``, ``sha256``, ``bytes``, ``opset``, ``preset``, ``config``, ``params``,
        ``size`` (``run_size`` or ``size``), ``trace_size`` (``size``), ``source``, ``parity`` (``tolerance``, ``checks`` and
        ``max_abs_diff`` per output), ``convention`` (:data:`INPUT_CONVENTION`), versions and ``created`` (UTC ISO time).
    Raises: MaskDepthError: export failure, parity above ``tolerance`` (nothing is written then), or an unwritable ``out``.
    """
    import onnx
    import onnxruntime as ort
    import torch

    _check_size(size)
    t0 = time.perf_counter()
    model = model.to("cpu").float().eval()
    data = onnx_bytes(model, size=size, opset=opset)
    session = ort_session(data, providers=["CPUExecutionProvider"])
    checks = parity_check(model, session, [(1, size, size), (2, size, size + 64)])
    worst = {n: max(c[f"{n}_max_abs_diff"] for c in checks) for n in OUTPUT_NAMES}
    if not all(np.isfinite(v) and v <= tolerance for v in worst.values()):
        raise MaskDepthError(
            "ONNX parity check failed: max |onnxruntime - torch| = "
            + ", ".join(f"{n} {v:.3g}" for n, v in worst.items())
            + f" > {tolerance:g}; nothing written"
        )
    out = Path(out)
    sidecar = {
        "format": "maskdepth-onnx",
        "version": 1,
        "onnx": out.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "opset": int(opset),
        "preset": getattr(model, "preset", None),
        "config": getattr(model, "config", None),
        "params": int(sum(p.numel() for p in model.parameters())),
        "size": int(run_size or size),
        "trace_size": int(size),
        "source": source,
        "checkpoint_meta": meta or {},
        "parity": {
            "tolerance": float(tolerance),
            "reference": "PyTorch float32 CPU",
            "runtime": "onnxruntime CPUExecutionProvider, graph optimisation ALL",
            "inputs": "uniform random [0, 1) float32, seed 0",
            "checks": checks,
            "max_abs_diff": worst,
        },
        "convention": INPUT_CONVENTION,
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "onnxruntime_version": ort.__version__,
        "export_seconds": round(time.perf_counter() - t0, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_bytes(out, data)
    atomic_write_json(sidecar_path(out), _jsonable(sidecar))
    return sidecar


def _jsonable(o: Any) -> Any:
    """Make checkpoint meta JSON-safe (tuples → lists, tensors/numbers → floats, others → str)."""
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (str, bool, int, float)) or o is None:
        return o
    if isinstance(o, (np.generic,)):
        return o.item()
    if hasattr(o, "numel") and hasattr(o, "item") and o.numel() == 1:  # a one-element tensor
        return o.item()
    return str(o)


def export_checkpoint(
    checkpoint: str | os.PathLike | None,
    out: str | os.PathLike,
    size: int | None = None,
    opset: int = DEFAULT_OPSET,
    tolerance: float = PARITY_TOLERANCE,
) -> dict:
    """Load a maskdepth checkpoint and :func:`export_model` it.

    Args:
        checkpoint: ``.pt`` written by ``maskdepth train`` (``None``: the shipped
            default, ``maskdepth/weights/default.pt``).
        out: ``.onnx`` path.
        size: input short side for the parity check and the sidecar (default: the
            checkpoint's training size ``meta.size``, else 128).
    Returns: the sidecar dict (see :func:`export_model`).
    Raises: MaskDepthError: missing/corrupt checkpoint (no shipped model), export or
        parity failure; in every case no ``.onnx`` is written.
    """
    from .checkpoint import load_model

    path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
    if not path.exists():
        if checkpoint:
            raise MaskDepthError(f"not found: {path}", param="checkpoint")
        raise MaskDepthError(f"is needed: no shipped model in this install ({path} is missing)", param="checkpoint")
    model, ck = load_model(path)
    meta = ck.get("meta") or {}
    if size is None:
        s = meta.get("size") if isinstance(meta, dict) else None
        size = int(s) if isinstance(s, int) and s >= 32 and s % 32 == 0 else 128
    return export_model(model, out, size=size, opset=opset, tolerance=tolerance, source=str(path), meta=meta)


@dataclass(kw_only=True)
class ExportConfig:
    """The settings of ``maskdepth export``: each field is also its flag (``--tolerance``) and YAML key."""

    checkpoint: str | None = option(None, "model checkpoint (default: the shipped model)")
    out: str = option(help="output .onnx path")
    opset: int = option(DEFAULT_OPSET, "ONNX opset")
    size: int | None = option(None, "input size for the parity check and predict (default: the checkpoint's training size, else 128)")
    tolerance: float = option(PARITY_TOLERANCE, "largest allowed max |onnxruntime - torch|")


def run_export(cfg: ExportConfig) -> dict:
    """``maskdepth export``: :func:`export_checkpoint` with the settings of ``cfg``.

    Returns: the sidecar dict. Raises: MaskDepthError as :func:`export_checkpoint` (naming ``checkpoint``
    or ``size``); nothing is written then.
    """
    return export_checkpoint(cfg.checkpoint, cfg.out, size=cfg.size, opset=cfg.opset, tolerance=cfg.tolerance)
