"""The tiny encoder: a random-init toy encoder for tests and quick runs."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from maskdepth.model.base import ModelConfigError
from maskdepth.model.blocks import ConvBNAct, DWSepConv

__all__ = ["TinyEncoder"]


class TinyEncoder(nn.Module):
    """Toy encoder: 3×3/2 ConvBNAct stem then four stride-2 DWSepConvs.

    Features at strides 2, 4, 8, 16, 32 with ``channels`` channels.
    """

    def __init__(self, in_channels: int = 6, channels: Sequence[int] = (8, 12, 16, 24, 32)) -> None:
        super().__init__()
        channels = tuple(channels)
        layers: list[nn.Module] = [ConvBNAct(in_channels, channels[0], 3, stride=2, act="relu")]
        for c_in, c_out in pairwise(channels):
            layers.append(DWSepConv(c_in, c_out, 3, stride=2, act="relu"))
        self.layers = nn.ModuleList(layers)
        self.in_channels = in_channels
        self.feature_strides = (2, 4, 8, 16, 32)
        self.feature_channels = channels

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channels of the features ``forward`` returns (strides 2, 4, 8, 16, 32)."""
        return self.feature_channels

    def load_pretrained(self, weights: str = "imagenet") -> None:
        """The tiny encoder has no pretrained weights: always :class:`ModelConfigError`."""
        raise ModelConfigError(f"encoder 'tiny' has no pretrained weights ({weights!r})")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: float (B, ``in_channels``, H, W), H and W multiples of 32 → five float
        features (B, channels[i], H/s, W/s) for s = 2, 4, 8, 16, 32."""
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats
