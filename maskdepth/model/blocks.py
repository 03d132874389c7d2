"""Generic convolutional building blocks of the mask/depth networks.

Everything here is plain PyTorch (no torchvision/timm) and exports to ONNX
(opset 17) with dynamic batch/height/width:

* :class:`ConvBNAct`   – conv → BatchNorm → activation, with optional
  TensorFlow-style "same" padding (asymmetric on stride 2, done with a static
  :class:`torch.nn.ZeroPad2d` in front of the conv).
* :class:`DWSepConv`   – depthwise k×k ConvBNAct + pointwise 1×1 ConvBNAct.
* :class:`MBConv`      – EfficientNet-Lite inverted residual: expand 1×1 /
  depthwise k×k / project 1×1 (linear), no squeeze-excite, ReLU6, BN eps 1e-3,
  identity residual when stride is 1 and channels match.

The decoder stage lives in :mod:`maskdepth.model.decoders.unet`, the
prediction heads and the mask refiner in :mod:`maskdepth.model.heads`.

Module attribute names (``conv``, ``bn``, ``expand``, ``depthwise``,
``project``) are relied on by the EfficientNet-Lite weight loader in
:mod:`maskdepth.model.encoders.efficientnet` and are part of every
checkpoint's state-dict keys; keep them stable.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ConvBNAct",
    "DWSepConv",
    "MBConv",
    "feature_channels_ok",
    "make_activation",
    "tf_same_padding",
    "upsample2x",
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


def make_activation(act: str | None) -> nn.Module:
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
        act: str | None = "relu6",
        padding: str = "symmetric",
        bn_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if padding not in ("same", "symmetric"):
            raise ValueError(f"padding must be 'same' or 'symmetric', got {padding!r}")
        self.pad: nn.Module | None = None
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
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=conv_pad,
            groups=groups,
            bias=False,
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
        act: str | None = "relu",
        padding: str = "symmetric",
        bn_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.depthwise = ConvBNAct(
            in_channels,
            in_channels,
            kernel_size,
            stride,
            groups=in_channels,
            act=act,
            padding=padding,
            bn_eps=bn_eps,
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
        self.expand: ConvBNAct | None = None
        if expand_ratio != 1:
            self.expand = ConvBNAct(in_channels, hidden, 1, act=act, bn_eps=bn_eps)
        self.depthwise = ConvBNAct(
            hidden,
            hidden,
            kernel_size,
            stride,
            groups=hidden,
            act=act,
            padding=padding,
            bn_eps=bn_eps,
        )
        self.project = ConvBNAct(hidden, out_channels, 1, act=None, bn_eps=bn_eps)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        return x + y if self.use_residual else y


def feature_channels_ok(channels: Sequence[int], n: int) -> bool:
    """True when ``channels`` is a sequence of ``n`` positive ints (config check)."""
    return len(channels) == n and all(isinstance(c, int) and c > 0 for c in channels)
