"""U-Net decoder: a stack of :class:`UpBlock` stages from the deepest feature up to stride 2.

The decoder is an ``nn.ModuleList`` of its stages, so its state-dict keys are
``decoder.<stage>.convs.*`` (the keys of every shipped checkpoint); keep it so.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from maskdepth.model.base import ModelConfigError
from maskdepth.model.blocks import DWSepConv, feature_channels_ok, upsample2x

__all__ = ["UNetDecoder", "UpBlock"]


class UpBlock(nn.Module):
    """U-Net decoder stage: upsample ×2 → concat skip → ``num_convs`` DWSepConvs."""

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        num_convs: int = 2,
        act: str | None = "relu",
    ) -> None:
        super().__init__()
        if num_convs < 1:
            raise ValueError("UpBlock needs at least one conv")
        layers = [DWSepConv(in_channels + skip_channels, out_channels, act=act)]
        layers += [DWSepConv(out_channels, out_channels, act=act) for _ in range(num_convs - 1)]
        self.convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        x = upsample2x(x)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.convs(x)


class UNetDecoder(nn.ModuleList):
    """U-Net decoder: one :class:`UpBlock` per encoder stride above the first
    (bilinear ×2, concat the encoder feature of that stride, ``num_convs``
    depthwise-separable convs), from the deepest feature up.

    Args:
        encoder_channels: channels of the features it receives, shallowest first
            (e.g. strides 2, 4, 8, 16, 32: five ints).
        decoder_channels: output channels of each stage, deepest first
            (``len(encoder_channels) - 1`` positive ints).
        num_convs: DWSepConvs per stage (>= 1, else ``ValueError``).
    Raises:
        ModelConfigError: ``decoder_channels`` is not ``len(encoder_channels) - 1`` positive ints.

    ``forward(features)`` takes the encoder's list of float (B, C_i, H/s_i, W/s_i)
    features and returns float (B, ``out_channels``, H/s_0, W/s_0): for the
    EfficientNet/tiny encoders, stride 2.
    """

    def __init__(self, encoder_channels: Sequence[int], decoder_channels: Sequence[int], num_convs: int = 2) -> None:
        encoder_channels = tuple(int(c) for c in encoder_channels)
        decoder_channels = tuple(int(c) for c in decoder_channels)
        n = len(encoder_channels) - 1
        if not feature_channels_ok(decoder_channels, n):
            raise ModelConfigError(f"decoder_channels must be {n} positive ints, got {decoder_channels}")
        stages = []
        c_in = encoder_channels[-1]
        for skip_ch, c_out in zip(reversed(encoder_channels[:-1]), decoder_channels):
            stages.append(UpBlock(c_in, skip_ch, c_out, num_convs=num_convs))
            c_in = c_out
        super().__init__(stages)
        self.out_channels = c_in

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        y = features[-1]
        for up, skip in zip(self, reversed(features[:-1])):
            y = up(y, skip)
        return y
