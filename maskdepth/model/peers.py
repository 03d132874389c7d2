"""Re-implementations of the peers' networks, for comparison on the same data.

* :class:`PeerBNet` (preset ``peer_b``): peer B's shared-encoder /
  two-decoder depthwise-separable net, 0.68 M parameters.
* :class:`PeerCNet` (preset ``peer_c``): two :class:`LeanUNet` (mask, depth) on
  ``fg_bg`` only, 2 × 0.51 M parameters.

Both follow the interface of :class:`~maskdepth.model.base.MaskDepthModel`.
Their attribute names are their checkpoints' state-dict keys; keep them stable.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from maskdepth.model.base import (
    DEPTH_PRIOR_M,
    MaskDepthModel,
    check_inputs,
    init_output_conv,
    init_weights,
    normalize_input,
)
from maskdepth.model.blocks import upsample2x

__all__ = ["LeanUNet", "PeerBNet", "PeerCNet"]


# --------------------------------------------------------------------------- #
# Peer B: shared plain + DW-sep encoder, two decoders (0.68 M)
# --------------------------------------------------------------------------- #
class _PeerBDWSep(nn.Sequential):
    """Peer B's depthwise_separable_conv: DW 3×3 (bias) → PW 1×1 (bias) → BN → ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=True),
            nn.Conv2d(c_in, c_out, 1, bias=True),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


def _peer_b_stream() -> nn.Sequential:
    """Full-resolution plain-conv stream for one 3-channel image, then max-pool /2."""
    layers: list[nn.Module] = []
    for c_in, c_out in ((3, 32), (32, 32), (32, 64)):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def _peer_b_decoder() -> nn.Sequential:
    def up() -> nn.Module:
        return nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False)

    return nn.Sequential(
        _PeerBDWSep(128, 256),
        _PeerBDWSep(256, 256),
        nn.Conv2d(256, 128, 1, bias=False),
        up(),  # stride 4 → 2
        _PeerBDWSep(128, 256),
        _PeerBDWSep(256, 256),
        nn.Conv2d(256, 128, 1, bias=False),
        up(),  # stride 2 → 1
        _PeerBDWSep(128, 128),
        nn.Conv2d(128, 1, 3, padding=1, bias=True),
    )


class PeerBNet(MaskDepthModel):
    """Re-implementation of peer B's 0.68 M network (``peer_b_dwsep_unet_layers.txt``).

    Reading of the layer table (128 px input, 677,824 params):

    * two identical full-resolution streams, one per 3-channel image (bg and
      fg_bg): conv3×3 3→32, 32→32, 32→64 (no bias, BN, ReLU each), max-pool /2;
    * shared: concat (128 ch, stride 2) → 2 × DW-sep 128→128 (DW 3×3 + PW 1×1,
      both with bias, then BN, ReLU) → max-pool /2 (stride 4);
    * two identical decoders (mask, depth) from that 128-ch stride-4 tensor:
      DW-sep 128→256, 256→256, conv1×1 256→128 (no bias), upsample ×2,
      DW-sep 128→256, 256→256, conv1×1 256→128, upsample ×2, DW-sep 128→128,
      conv3×3 128→1.  The channel counts leave no room for concatenated skip
      connections, so there are none.

    Adaptations (the only ones): the final 3×3 convs get a bias (+2 params,
    677,826 in all) so the depth output can start at log(2 m); their outputs
    are raw ``mask_logits`` / ``log_depth`` (no final activation); upsampling is
    bilinear (``align_corners=False``; the table does not say which mode);
    inputs are normalised with ``(x - 0.5) / 0.5`` inside; H, W must be
    multiples of 32 like every preset (the net itself only needs 4).
    """

    preset = "peer_b"

    def __init__(self) -> None:
        super().__init__()
        self.bg_stream = _peer_b_stream()
        self.fg_stream = _peer_b_stream()
        self.shared = nn.Sequential(_PeerBDWSep(128, 128), _PeerBDWSep(128, 128), nn.MaxPool2d(2))
        self.mask_decoder = _peer_b_decoder()
        self.depth_decoder = _peer_b_decoder()
        init_weights(self)
        init_output_conv(self.mask_decoder[-1], 0.0)
        init_output_conv(self.depth_decoder[-1], math.log(DEPTH_PRIOR_M))

    def forward(self, bg: torch.Tensor, fg_bg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(bg, fg_bg) float (B, 3, H, W) in [0, 1] → (mask_logits, log_depth), each float (B, 1, H, W)."""
        check_inputs(bg, fg_bg)
        x = torch.cat([self.bg_stream(normalize_input(bg)), self.fg_stream(normalize_input(fg_bg))], dim=1)
        x = self.shared(x)
        return self.mask_decoder(x), self.depth_decoder(x)

    def mask_output_conv(self) -> nn.Conv2d:
        """The last conv of the mask branch."""
        return self.mask_decoder[-1]


# --------------------------------------------------------------------------- #
# Peer C: lean U-Net (0.51 M), one per task, fg_bg only
# --------------------------------------------------------------------------- #
def _conv_block(c_in: int, c_out: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    """Peer C's conv_block: Conv2d (bias) → BN → ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=True),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class LeanUNet(nn.Module):
    """Peer C's lean U-Net, one output channel (``peer_c_unets_layers.txt``).

    Reading of the table (64 px input, 507,203 params; sizes at stride s = H/s)::

        e1 = block(3→16, 3×3)              s1
        e2 = block(16→32, 3×3, stride 2)   s2
        e3 = block(32→64, 3×3, stride 2)   s4
        e4 = block(64→128, 3×3)            s4
        b  = block(128→128, 1×1, stride 2) s8
        d1 = block(cat(up(b), e4) 256→128) s4
        d2 = block(128→32)                 s4
        d3 = block(cat(up(d2), e2) 64→64)  s2
        d4 = block(64→32)                  s2
        d5 = block(up(d4) 32→16)           s1   (no skip: 32 input channels)
        out = conv1×1 16→1

    (``up`` is functional ×2 upsampling, invisible in the table; bilinear here.)
    Adaptation: the table's last block also has BN + ReLU on the one output
    channel; they are dropped so the output is a raw logit / log-depth
    (507,201 params).
    """

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.e1 = _conv_block(in_channels, 16)
        self.e2 = _conv_block(16, 32, stride=2)
        self.e3 = _conv_block(32, 64, stride=2)
        self.e4 = _conv_block(64, 128)
        self.bottleneck = _conv_block(128, 128, k=1, stride=2)
        self.d1 = _conv_block(256, 128)
        self.d2 = _conv_block(128, 32)
        self.d3 = _conv_block(64, 64)
        self.d4 = _conv_block(64, 32)
        self.d5 = _conv_block(32, 16)
        self.out = nn.Conv2d(16, 1, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float (B, in_channels, H, W), H and W multiples of 8 → float (B, 1, H, W)."""
        e2 = self.e2(self.e1(x))
        e4 = self.e4(self.e3(e2))
        b = self.bottleneck(e4)
        d = self.d2(self.d1(torch.cat([upsample2x(b), e4], dim=1)))
        d = self.d4(self.d3(torch.cat([upsample2x(d), e2], dim=1)))
        d = self.d5(upsample2x(d))
        return self.out(d)


class PeerCNet(MaskDepthModel):
    """Peer C's setup: two separate :class:`LeanUNet` (0.51 M each), one for the
    mask and one for depth, both on ``fg_bg`` only — ``bg`` is checked but
    ignored (peer C trained on fg_bg alone; it enters only as ``0 * bg`` so
    that ONNX exports keep it as an input).  The table has one output channel
    and the report describes separate networks, hence two nets, not one with
    two channels.  Depth-net output bias starts at log(2 m).
    """

    preset = "peer_c"

    def __init__(self) -> None:
        super().__init__()
        self.mask_net = LeanUNet(3)
        self.depth_net = LeanUNet(3)
        init_weights(self)
        init_output_conv(self.mask_net.out, 0.0)
        init_output_conv(self.depth_net.out, math.log(DEPTH_PRIOR_M))

    def forward(self, bg: torch.Tensor, fg_bg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(bg, fg_bg) float (B, 3, H, W) in [0, 1] → (mask_logits, log_depth), each float (B, 1, H, W)."""
        check_inputs(bg, fg_bg)
        # ``0 * bg`` keeps bg a real input of exported ONNX graphs (an unused
        # input would be pruned), so every preset has the same (bg, fg_bg) interface.
        x = normalize_input(fg_bg) + 0.0 * bg
        return self.mask_net(x), self.depth_net(x)

    def mask_output_conv(self) -> nn.Conv2d:
        """The last conv of the mask branch."""
        return self.mask_net.out
