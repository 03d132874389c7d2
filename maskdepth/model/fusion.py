"""Input fusion: how the two images, ``bg`` and ``fg_bg``, reach the encoder.

* ``"concat"`` (early fusion): one encoder pass over the 6-channel
  ``cat([bg, fg_bg])``; the decoder sees the encoder's features as they are.
* ``"diff"``: one shared-weight 3-channel encoder runs on bg and on fg_bg
  (stacked on the batch axis) and the decoder sees ``cat([f(fg_bg), f(fg_bg) -
  f(bg)])`` at every stride (a siamese change-detection design, e.g. Daudt et
  al., "Fully convolutional siamese networks for change detection", ICIP 2018,
  FC-Siam-diff): twice the encoder compute and twice the decoder input channels.

Fusion has no parameters; it only sets the encoder's input channels and the
decoder's skip channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from maskdepth.model.base import ModelConfigError
from maskdepth.model.presets import FUSIONS

__all__ = ["FUSIONS", "check_fusion", "encode_fused", "fused_channels", "fusion_in_channels"]


def check_fusion(fusion: str) -> None:
    """Raise :class:`ModelConfigError` unless ``fusion`` is one of :data:`FUSIONS`."""
    if fusion not in FUSIONS:
        raise ModelConfigError(f"unknown fusion {fusion!r} (expected one of {', '.join(FUSIONS)})")


def fusion_in_channels(fusion: str) -> int:
    """Input channels of the encoder under ``fusion``: 6 for concat, 3 for diff."""
    check_fusion(fusion)
    return 6 if fusion == "concat" else 3


def fused_channels(encoder_channels: Sequence[int], fusion: str) -> tuple[int, ...]:
    """Channels of the fused features the decoder receives, per stride."""
    check_fusion(fusion)
    return tuple(encoder_channels) if fusion == "concat" else tuple(2 * c for c in encoder_channels)


def encode_fused(encoder: nn.Module, bg: torch.Tensor, fg_bg: torch.Tensor, fusion: str) -> list[torch.Tensor]:
    """Run ``encoder`` on the pair under ``fusion``.

    Args:
        encoder: an encoder with :func:`fusion_in_channels` input channels.
        bg, fg_bg: float (B, 3, H, W), already normalised.
    Returns:
        the fused features, one float (B, C_i, H/s, W/s) per encoder stride, with
        C_i = :func:`fused_channels`.
    """
    if fusion == "concat":
        return encoder(torch.cat([bg, fg_bg], dim=1))
    # one shared-weight encoder pass over bg and fg_bg stacked on the batch axis
    both = encoder(torch.cat([bg, fg_bg], dim=0))
    n = bg.shape[0]
    return [torch.cat([f[n:], f[n:] - f[:n]], dim=1) for f in both]
