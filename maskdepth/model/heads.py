"""Prediction heads: the per-task output heads and the full-resolution mask refiner.

* :class:`PredictionHead` – optional DWSepConv + 1×1 conv to one channel
  (mask logits or log-depth at the decoder's stride).
* :class:`MaskRefiner` – full-resolution residual correction of the mask
  logits from the input pixels.

Attribute names (``refine``, ``out``, ``proj``, ``body``) are part of every
checkpoint's state-dict keys; keep them stable.
"""

from __future__ import annotations

import torch
from torch import nn

from maskdepth.model.blocks import ConvBNAct, DWSepConv, upsample2x

__all__ = ["MaskRefiner", "PredictionHead"]


class PredictionHead(nn.Module):
    """``[DWSepConv(in, mid)] → Conv2d 1×1 (mid → 1, with bias)``.

    ``mid_channels=0`` gives a bare 1×1 conv.  The last conv is ``self.out``
    (its bias is where a prior, e.g. log 2 m for depth, is put).
    """

    def __init__(self, in_channels: int, mid_channels: int = 0, act: str | None = "relu") -> None:
        super().__init__()
        self.refine: nn.Module = nn.Identity()
        if mid_channels:
            self.refine = DWSepConv(in_channels, mid_channels, act=act)
            in_channels = mid_channels
        self.out = nn.Conv2d(in_channels, 1, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.refine(x))


class MaskRefiner(nn.Module):
    """Full-resolution residual refinement of mask logits.

    The decoder ends at stride 2, so thin parts (arms, legs, chair legs) are
    blurred by the last ×2 upsampling.  This block looks at the input pixels
    again: ``refined = coarse + out(body(cat[coarse, fg_bg, bg, |fg_bg - bg|,
    up(proj(features))]))`` with two 3×3 :class:`ConvBNAct` at full resolution
    (receptive field 5×5 px).  ``out`` is zero-initialised, so an untrained
    refiner returns ``coarse`` unchanged.  The residual-refinement idea follows
    e.g. Deep Image Matting's refinement stage (Xu et al., CVPR 2017) and
    BASNet's residual refine module (Qin et al., CVPR 2019).

    Inputs: ``coarse`` (B, 1, H, W) float logits; ``features`` (B, C, H/2, W/2)
    decoder features (``C = feature_channels``); ``bg``, ``fg_bg`` (B, 3, H, W)
    normalised images (any fixed affine map of [0, 1]).  Output: (B, 1, H, W)
    float logits.
    """

    def __init__(self, feature_channels: int, mid_channels: int = 16, proj_channels: int = 8) -> None:
        super().__init__()
        self.proj = ConvBNAct(feature_channels, proj_channels, 1, act="relu")
        self.body = nn.Sequential(
            ConvBNAct(1 + 9 + proj_channels, mid_channels, 3, act="relu"),
            ConvBNAct(mid_channels, mid_channels, 3, act="relu"),
        )
        self.out = nn.Conv2d(mid_channels, 1, 1, bias=True)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, coarse: torch.Tensor, features: torch.Tensor, bg: torch.Tensor, fg_bg: torch.Tensor) -> torch.Tensor:
        x = torch.cat([coarse, fg_bg, bg, (fg_bg - bg).abs(), upsample2x(self.proj(features))], dim=1)
        return coarse + self.out(self.body(x))
