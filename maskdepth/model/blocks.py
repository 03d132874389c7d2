"""Small convolutional building blocks for the mask/depth networks.

Everything here is plain PyTorch (no torchvision/timm) and exports to ONNX
(opset 17) with dynamic batch/height/width:

* :class:`ConvBNAct`   – conv → BatchNorm → activation, with optional
  TensorFlow-style "same" padding (asymmetric on stride 2, done with a static
  :class:`torch.nn.ZeroPad2d` in front of the conv).
* :class:`DWSepConv`   – depthwise k×k ConvBNAct + pointwise 1×1 ConvBNAct.
* :class:`MBConv`      – EfficientNet-Lite inverted residual: expand 1×1 /
  depthwise k×k / project 1×1 (linear), no squeeze-excite, ReLU6, BN eps 1e-3,
  identity residual when stride is 1 and channels match.
* :class:`UpBlock`     – bilinear ×2 upsample (``align_corners=False``), concat
  with a skip feature, then depthwise-separable convs (U-Net decoder stage).
* :class:`PredictionHead` – optional DWSepConv + 1×1 conv to one channel.

Module attribute names (``conv``, ``bn``, ``expand``, ``depthwise``,
``project``) are relied on by the EfficientNet-Lite weight loader in
:mod:`maskdepth.model.net`; keep them stable.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "tf_same_padding",
    "make_activation",
    "upsample2x",
    "ConvBNAct",
    "DWSepConv",
    "MBConv",
    "UpBlock",
    "PredictionHead",
]


def tf_same_padding(kernel_size: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) zero padding reproducing TensorFlow ``padding="SAME"``.

    Exact when the input size is a multiple of ``stride`` (always the case in
    these networks, whose inputs are multiples of 32): the total padding is then
    ``k_eff - stride`` and TF puts the odd pixel *after* (right/bottom).
    Examples: k=3,s=2 → (0, 1); k=5,s=2 → (1, 2); k=3,s=1 → (1, 1).
    """
    k_eff = (kernel_size - 1) * dilation + 1
    total = max(k_eff - stride, 0)
    return total // 2, total - total // 2


def make_activation(act: Optional[str]) -> nn.Module:
    """``"relu6"``, ``"relu"`` or ``None``/``"none"`` (identity)."""
    if act is None or act == "none":
        return nn.Identity()
    if act == "relu6":
        return nn.ReLU6(inplace=True)
    if act == "relu":
        return nn.ReLU(inplace=True)
    raise ValueError(f"unknown activation {act!r} (expected 'relu6', 'relu' or None)")


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Bilinear ×2 upsampling, ``align_corners=False`` (ONNX Resize, half_pixel)."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class ConvBNAct(nn.Module):
    """Conv2d (no bias) → BatchNorm2d → activation.

    Args:
        padding: ``"symmetric"`` (PyTorch style, ``k // 2`` on every side) or
            ``"same"`` (TensorFlow style; differs from symmetric only for even
            strides, where it pads less on the top/left).
        bn_eps: BatchNorm epsilon (1e-3 for EfficientNet-Lite weights).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        act: Optional[str] = "relu6",
        padding: str = "symmetric",
        bn_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if padding not in ("same", "symmetric"):
            raise ValueError(f"padding must be 'same' or 'symmetric', got {padding!r}")
        self.pad: Optional[nn.Module] = None
        if padding == "same":
            before, after = tf_same_padding(kernel_size, stride)
            if before == after:
                conv_pad = before
            else:
                self.pad = nn.ZeroPad2d((before, after, before, after))
                conv_pad = 0
        else:
            conv_pad = kernel_size // 2
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=conv_pad,
            groups=groups, bias=False,
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=bn_eps)
        self.act = make_activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = self.pad(x)
        return self.act(self.bn(self.conv(x)))


class DWSepConv(nn.Module):
    """Depthwise k×k ConvBNAct (carries the stride) + pointwise 1×1 ConvBNAct."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        act: Optional[str] = "relu",
        padding: str = "symmetric",
        bn_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.depthwise = ConvBNAct(
            in_channels, in_channels, kernel_size, stride, groups=in_channels,
            act=act, padding=padding, bn_eps=bn_eps,
        )
        self.pointwise = ConvBNAct(in_channels, out_channels, 1, act=act, bn_eps=bn_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class MBConv(nn.Module):
    """EfficientNet-Lite inverted-residual block (no squeeze-excite).

    expand 1×1 (skipped when ``expand_ratio == 1``) → depthwise k×k (stride) →
    linear project 1×1; ReLU6 after expand and depthwise; BatchNorm eps 1e-3;
    ``x + block(x)`` when ``stride == 1`` and ``in_channels == out_channels``.
    No drop-connect (stochastic depth).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: int,
        kernel_size: int,
        stride: int,
        act: str = "relu6",
        padding: str = "same",
        bn_eps: float = 1e-3,
    ) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.expand: Optional[ConvBNAct] = None
        if expand_ratio != 1:
            self.expand = ConvBNAct(in_channels, hidden, 1, act=act, bn_eps=bn_eps)
        self.depthwise = ConvBNAct(
            hidden, hidden, kernel_size, stride, groups=hidden, act=act,
            padding=padding, bn_eps=bn_eps,
        )
        self.project = ConvBNAct(hidden, out_channels, 1, act=None, bn_eps=bn_eps)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        return x + y if self.use_residual else y


class UpBlock(nn.Module):
    """U-Net decoder stage: upsample ×2 → concat skip → ``num_convs`` DWSepConvs."""

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        num_convs: int = 2,
        act: Optional[str] = "relu",
    ) -> None:
        super().__init__()
        if num_convs < 1:
            raise ValueError("UpBlock needs at least one conv")
        layers = [DWSepConv(in_channels + skip_channels, out_channels, act=act)]
        layers += [DWSepConv(out_channels, out_channels, act=act) for _ in range(num_convs - 1)]
        self.convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = upsample2x(x)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.convs(x)


class PredictionHead(nn.Module):
    """``[DWSepConv(in, mid)] → Conv2d 1×1 (mid → 1, with bias)``.

    ``mid_channels=0`` gives a bare 1×1 conv.  The last conv is ``self.out``
    (its bias is where a prior, e.g. log 2 m for depth, is put).
    """

    def __init__(self, in_channels: int, mid_channels: int = 0, act: Optional[str] = "relu") -> None:
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


def feature_channels_ok(channels: Sequence[int], n: int) -> bool:
    """True when ``channels`` is a sequence of ``n`` positive ints (config check)."""
    return len(channels) == n and all(isinstance(c, int) and c > 0 for c in channels)
