"""Checkpoints: written atomically, validated on load.

A checkpoint is a ``torch.save`` dict::

    {"format": "maskdepth-checkpoint", "version": 1,
     "model": {"preset": str, "config": dict},   # enough to rebuild with create_model
     "state_dict": ..., "train": {... optimiser, scheduler, step, epoch, RNG ...} | None,
     "meta": {...}}

It is written to a temporary file in the same directory, fsynced and renamed
over the target, so the file on disk is always a complete checkpoint, even if
the process is killed mid-write.
"""

from __future__ import annotations

import io
import os
import pickle
import re
from pathlib import Path

import torch

from .errors import MaskDepthError
from .io import atomic_write_bytes

FORMAT = "maskdepth-checkpoint"
VERSION = 1


def _numpy_globals() -> list:
    """The numpy types a training checkpoint holds (``numpy.random.get_state()``), for ``weights_only`` loading."""
    import numpy as np

    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, train_state: dict | None = None, meta: dict | None = None) -> None:
    """Save ``model`` (with ``model.preset``/``model.config``) and optional training state atomically.

    Raises:
        MaskDepthError: the file cannot be written (the previous checkpoint stays intact).
    """
    obj = {
        "format": FORMAT,
        "version": VERSION,
        "model": {"preset": model.preset, "config": model.config},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train": train_state,
        "meta": meta or {},
    }
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load and validate a checkpoint dict (on CPU).

    Raises:
        MaskDepthError: missing, truncated/corrupt, or not a maskdepth checkpoint.
    """
    p = Path(path)
    if not p.exists():
        raise MaskDepthError(f"checkpoint not found: {p}")
    if p.is_dir():
        raise MaskDepthError(f"{p}: is a directory, not a checkpoint file")
    try:
        # weights_only: a checkpoint is data; unpickling arbitrary objects would let a file run code.
        # The training state holds numpy's RNG state (an ndarray), so those few numpy types are allowed.
        with torch.serialization.safe_globals(_numpy_globals()):
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        m = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if m:
            raise MaskDepthError(
                f"{p}: refused: the checkpoint holds a Python object ({m.group(1)}) other than tensors and "
                "plain data; loading it could run code"
            ) from None
        raise MaskDepthError(f"{p}: unreadable or corrupt checkpoint ({type(e).__name__})") from None
    except Exception as e:  # noqa: BLE001 (torch raises many types for corrupt files)
        raise MaskDepthError(f"{p}: unreadable or corrupt checkpoint ({type(e).__name__})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise MaskDepthError(f"{p}: not a maskdepth checkpoint (unknown format)")
    if obj.get("version") != VERSION:
        raise MaskDepthError(f"{p}: checkpoint version {obj.get('version')} is not supported (need {VERSION})")
    return obj


def load_model(path: str | os.PathLike, expect_preset: str | None = None) -> tuple[torch.nn.Module, dict]:
    """Rebuild the model stored in a checkpoint; returns ``(model in eval mode, checkpoint dict)``.

    Raises:
        MaskDepthError: bad file, unknown preset, or weights that do not fit the architecture.
    """
    from .model import model_from_config

    ck = read_checkpoint(path)
    preset = ck["model"]["preset"]
    if expect_preset and preset != expect_preset:
        raise MaskDepthError(f"{path}: checkpoint holds a {preset!r} model, expected {expect_preset!r}")
    try:
        model = model_from_config(ck["model"]["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise MaskDepthError(f"{path}: cannot rebuild model {preset!r} ({str(e).splitlines()[0][:160]})") from None
    try:
        model.load_state_dict(ck["state_dict"], strict=True)
    except RuntimeError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else (lines[0] if lines else type(e).__name__)  # line 0 is "Error(s) in loading state_dict ..."
        raise MaskDepthError(f"{path}: weights do not fit the {preset!r} architecture ({detail[:240]})") from None
    model.eval()
    return model, ck


def strip_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> dict:
    """Write a model-only copy of a training checkpoint (no optimiser, scheduler or RNG state),
    the form shipped in ``maskdepth/weights/``. Returns the stripped checkpoint's ``meta``.

    Raises: MaskDepthError (unreadable source, unwritable destination).
    """
    ck = read_checkpoint(src)
    hist = (ck.get("train") or {}).get("history", [])
    meta = {**ck.get("meta", {}), "source": str(src), "final_val": next((h for h in reversed(hist) if "val_loss_total" in h), None)}
    obj = {**ck, "train": None, "meta": meta}
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(dst, buf.getvalue())
    return meta


if __name__ == "__main__":  # python -m maskdepth.checkpoint strip SRC DST
    import sys

    if len(sys.argv) != 4 or sys.argv[1] != "strip":
        print("usage: python -m maskdepth.checkpoint strip SRC DST", file=sys.stderr)
        sys.exit(2)
    try:
        print(strip_checkpoint(sys.argv[2], sys.argv[3]))
    except MaskDepthError as e:
        print(f"maskdepth: error: {e}", file=sys.stderr)
        sys.exit(2)
