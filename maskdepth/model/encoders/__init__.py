"""Encoder registry (in the manner of segmentation_models_pytorch's ``get_encoder``).

An encoder is an ``nn.Module`` with

* ``in_channels`` (int) and ``out_channels`` (tuple of int: channels of its
  features, shallowest first; ``feature_channels`` is the same tuple) and
  ``feature_strides`` (tuple of int, e.g. 2, 4, 8, 16, 32);
* ``forward(x)``: float (B, in_channels, H, W) → list of float
  (B, out_channels[i], H / feature_strides[i], W / feature_strides[i]);
* ``load_pretrained(weights)``: load ``"imagenet"`` or a weights file, strictly.

=====================  ===============================================  ============
name                   what                                             weights
=====================  ===============================================  ============
efficientnet_lite0     EfficientNet-Lite0 without its head (2.96 M)      "imagenet"
tiny                   3×3 stem + four stride-2 DW-separable convs       none
=====================  ===============================================  ============
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from maskdepth.model.base import ModelConfigError
from maskdepth.model.encoders.efficientnet import EfficientNetLite0Encoder
from maskdepth.model.encoders.tiny import TinyEncoder

__all__ = ["ENCODERS", "EfficientNetLite0Encoder", "TinyEncoder", "get_encoder"]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "efficientnet_lite0": EfficientNetLite0Encoder,
    "tiny": TinyEncoder,
}
ENCODERS: tuple[str, ...] = tuple(_REGISTRY)
"""Names :func:`get_encoder` knows."""


def get_encoder(name: str, in_channels: int = 3, weights: str | None = None, **options: Any) -> nn.Module:
    """Build encoder ``name`` for ``in_channels`` input channels.

    Args:
        name: one of :data:`ENCODERS`.
        in_channels: channels of the (normalised) input image, e.g. 6 for ``[bg, fg_bg]``.
        weights: ``None`` (PyTorch's default init), ``"imagenet"`` or the path of a
            weights file (EfficientNet-Lite0 only); a stem with more than 3 input
            channels gets the pretrained filters repeated and rescaled.
        options: encoder-specific keyword arguments (``padding`` for
            efficientnet_lite0, ``channels`` for tiny).
    Returns:
        the encoder module, with ``out_channels`` (see the module docstring).
    Raises:
        ModelConfigError: unknown name, or weights the encoder does not have.
        MaskDepthError: the pretrained weights cannot be found or read.
    """
    if name not in _REGISTRY:
        expected = " or ".join(repr(n) for n in ENCODERS)
        raise ModelConfigError(f"unknown encoder {name!r} (expected {expected})")
    encoder = _REGISTRY[name](in_channels, **options)
    if weights is not None:
        encoder.load_pretrained(weights)
    return encoder
