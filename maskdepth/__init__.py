"""maskdepth: foreground mask and depth from a background photo and a photo of the same scene.

Pipeline (one module each): ``data`` (composite, render, generate, dataset) →
``model`` → ``train`` → ``evaluate`` → ``inference`` → ``video``/``live`` → ``events``.

Python API (imported lazily, so ``import maskdepth`` stays light; prediction with the
shipped model runs on ONNX Runtime and needs no PyTorch)::

    model = maskdepth.load("default")          # or a .pt checkpoint, or a .onnx file
    pred = model.predict(bg, image)            # numpy uint8 RGB arrays, PIL images or paths
    pred.mask, pred.prob, pred.depth           # bool / float32 / float32 metres, (H, W)

See :mod:`maskdepth.api`.
"""

__version__ = "0.1.0"

__all__ = ["load", "Model", "Predictor", "Prediction", "FrameResult", "__version__"]

_LAZY = {
    "load": "api",
    "Model": "api",
    "Predictor": "inference.predictor",
    "Prediction": "inference.predictor",
    "FrameResult": "inference.pipeline",
}


def __getattr__(name):  # PEP 562: nothing heavy is imported until the API is used (torch only by the PyTorch backend)
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'maskdepth' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + [n for n in _LAZY if n not in globals()])
