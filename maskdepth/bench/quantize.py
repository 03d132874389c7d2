"""Dynamic int8 quantisation of an exported graph (the ``onnxruntime_int8`` backend) and its
parity against the float32 graph.

ONNX Runtime's quantisation tools write temporary files into the *current directory* (its
symbolic shape inference saves ``sym_shape_infer_temp.onnx`` and a ``<uuid>.data`` there when
it gives up), so :func:`quantize_int8` runs them in a child process whose working directory is
a temporary directory, removed afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError

__all__ = ["quantize_int8", "quantize_int8_in_process", "int8_parity"]


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:200]}" if text else type(e).__name__


def quantize_int8_in_process(fp32: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Quantise ``fp32`` into ``out`` in this process (temporary files go to the current directory:
    use :func:`quantize_int8`).

    Dynamic int8 quantisation with uint8 weights (ORT's CPU ConvInteger needs uint8), after ORT's
    recommended pre-processing (shape inference + graph optimisation) into ``<out stem>.pre.onnx``;
    when the pre-processing fails the graph is quantised as exported and the reason is returned.

    Returns: ``{"preprocessed": bool, "preprocess_error": str | None}``.
    Raises: MaskDepthError: the quantisation itself failed.
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32, out = Path(fp32), Path(out)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice on the root logger
    info: dict = {"preprocessed": False, "preprocess_error": None}
    try:
        src = fp32
        try:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            pre = out.with_name(out.stem + ".pre.onnx")
            quant_pre_process(str(fp32), str(pre))
            src = pre
            info["preprocessed"] = True
        except Exception as e:  # optional step: quantise the exported graph instead, and say why
            info["preprocess_error"] = _one_line(e)
        quantize_dynamic(str(src), str(out), weight_type=QuantType.QUInt8)
    except Exception as e:
        raise MaskDepthError(f"int8 dynamic quantisation failed: {_one_line(e)}") from None
    finally:
        root.setLevel(level)
    return info


def quantize_int8(fp32: str | os.PathLike, out: str | os.PathLike) -> dict:
    """Quantise ``fp32`` into ``out`` (see :func:`quantize_int8_in_process`) in a child process
    whose working directory is a fresh temporary directory (removed afterwards), so ONNX
    Runtime's stray temporary files never land in the caller's current directory.

    Returns: ``{"preprocessed": bool, "preprocess_error": str | None}``.
    Raises: MaskDepthError: the quantisation failed (the child's last error line).
    """
    pkg_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (pkg_parent, os.environ.get("PYTHONPATH")) if p))
    with tempfile.TemporaryDirectory(prefix="maskdepth-quantize-") as workdir:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from maskdepth.bench.quantize import main; sys.exit(main(sys.argv[1:]))",
                str(Path(fp32).resolve()),
                str(Path(out).resolve()),
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
    lines = [line for line in (proc.stderr or "").strip().splitlines() if line.strip()]
    if proc.returncode != 0:
        msg = lines[-1][:300] if lines else "no output"
        prefix = f"{MaskDepthError.__module__}.{MaskDepthError.__name__}: "
        if msg.startswith(prefix):  # the child's own one-line MaskDepthError
            raise MaskDepthError(msg[len(prefix) :])
        raise MaskDepthError(f"int8 dynamic quantisation failed (exit {proc.returncode}): {msg}")
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        detail = lines[-1][:200] if lines else "no output"
        raise MaskDepthError(f"int8 dynamic quantisation: no result from the child process ({detail})") from None


def main(argv: Sequence[str]) -> int:
    """Child-process entry of :func:`quantize_int8`: ``FP32.onnx OUT.onnx``; prints the result as JSON."""
    if len(argv) != 2:
        print("usage: quantize FP32.onnx OUT.onnx (internal; use `maskdepth bench --backends onnxruntime_int8`)", file=sys.stderr)
        return 2
    print(json.dumps(quantize_int8_in_process(argv[0], argv[1])))
    return 0


def int8_parity(fp32: str | os.PathLike, int8: str | os.PathLike, size: int, threads: int) -> dict:
    """Compare the int8 graph with the float32 graph on one random ``(1, 3, size, size)`` pair.

    Returns: ``{"shape", "mask_logits_max_abs_diff", "log_depth_max_abs_diff", "mask_agreement"
    (fraction of pixels on the same side of logit 0), "depth_max_rel_diff", "note"}``.
    """
    from ..export import ort_session

    a = ort_session(fp32, threads=threads, providers=["CPUExecutionProvider"])
    b = ort_session(int8, threads=threads, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    feed = {"bg": rng.random((1, 3, size, size), dtype=np.float32), "fg_bg": rng.random((1, 3, size, size), dtype=np.float32)}
    (la, da), (lb, db) = a.run(None, feed), b.run(None, feed)
    return {
        "shape": [1, 3, size, size],
        "mask_logits_max_abs_diff": float(np.abs(la - lb).max()),
        "log_depth_max_abs_diff": float(np.abs(da - db).max()),
        "mask_agreement": float(((la >= 0) == (lb >= 0)).mean()),
        "depth_max_rel_diff": float(np.abs(np.expm1(db - da)).max()),
        "note": "vs the float32 onnxruntime graph on a random pair; random-init weights make this a weak check",
    }
