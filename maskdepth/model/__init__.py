"""Mask + depth networks (a package laid out like segmentation_models_pytorch).

* :mod:`~maskdepth.model.presets` – preset names and input constants, torch-free.
* :mod:`~maskdepth.model.base` – the interface every network shares, input checks, errors, init.
* :mod:`~maskdepth.model.blocks` – generic conv blocks (ConvBNAct, DWSepConv, MBConv).
* :mod:`~maskdepth.model.encoders` – encoder registry (:func:`get_encoder`):
  EfficientNet-Lite0 (+ its ImageNet weights and classifier), tiny.
* :mod:`~maskdepth.model.fusion` – how bg and fg_bg reach the encoder (concat, diff).
* :mod:`~maskdepth.model.decoders` – the U-Net decoder.
* :mod:`~maskdepth.model.heads` – prediction heads and the mask refiner.
* :mod:`~maskdepth.model.maskdepth_net` – MaskDepthNet: fusion → encoder → decoder → heads.
* :mod:`~maskdepth.model.peers` – the peers' networks, re-implemented.
* :mod:`~maskdepth.model.factory` – preset configurations and :func:`create_model`.

Callers use this package's names: ``from maskdepth.model import create_model``.
The names of :mod:`~maskdepth.model.presets` are imported eagerly; everything
else is imported (with PyTorch) on first use, so ``maskdepth.model.presets``
stays importable without PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

from maskdepth.model.presets import (
    DEFAULT_PRESET,
    FUSIONS,
    INPUT_MULTIPLE,
    MODEL_PRESETS,
)

_LAZY: dict[str, str] = {
    "DEPTH_PRIOR_M": "base",
    "InputShapeError": "base",
    "MaskDepthModel": "base",
    "ModelConfigError": "base",
    "check_inputs": "base",
    "count_parameters": "base",
    "set_mask_prior": "base",
    "ENCODERS": "encoders",
    "get_encoder": "encoders",
    "CONFIGURABLE_PRESETS": "factory",
    "PRESET_DESCRIPTIONS": "factory",
    "create_model": "factory",
    "model_from_config": "factory",
}

__all__ = [  # noqa: RUF022 (grouped: torch-free names, then the lazy ones)
    "DEFAULT_PRESET",
    "FUSIONS",
    "INPUT_MULTIPLE",
    "MODEL_PRESETS",
    "DEPTH_PRIOR_M",
    "InputShapeError",
    "MaskDepthModel",
    "ModelConfigError",
    "check_inputs",
    "count_parameters",
    "set_mask_prior",
    "ENCODERS",
    "get_encoder",
    "CONFIGURABLE_PRESETS",
    "PRESET_DESCRIPTIONS",
    "create_model",
    "model_from_config",
]


def __getattr__(name: str) -> Any:
    """Import the torch-backed public names on first access (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f"maskdepth.model.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
