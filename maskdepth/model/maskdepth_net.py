"""MaskDepthNet: the one architecture of the ``small`` and ``tiny`` presets.

``forward`` is fusion → encoder → decoder → heads (→ mask refiner); the presets
differ only in their options (see :data:`maskdepth.model.factory.PRESET_CONFIGS`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from maskdepth.model.base import (
    DEPTH_PRIOR_M,
    MaskDepthModel,
    ModelConfigError,
    check_inputs,
    init_output_conv,
    init_weights,
    normalize_input,
)
from maskdepth.model.blocks import feature_channels_ok, upsample2x
from maskdepth.model.decoders.unet import UNetDecoder
from maskdepth.model.encoders import get_encoder
from maskdepth.model.fusion import (
    check_fusion,
    encode_fused,
    fused_channels,
    fusion_in_channels,
)
from maskdepth.model.heads import MaskRefiner, PredictionHead

__all__ = ["MaskDepthNet"]


class MaskDepthNet(MaskDepthModel):
    """Encoder on ``[bg, fg_bg]`` → U-Net decoder → mask and depth heads.

    * fusion (:mod:`maskdepth.model.fusion`): ``"concat"`` (default), one
      encoder pass over the 6-channel concatenation; ``"diff"``, one
      shared-weight 3-channel encoder on each image and the decoder sees
      ``cat([f(fg_bg), f(fg_bg) - f(bg)])`` at every stride.
    * encoder (:func:`~maskdepth.model.encoders.get_encoder`):
      ``"efficientnet_lite0"`` (preset ``small``; 6-channel stem, ImageNet
      filters repeated and scaled by 3/6 when pretrained, TF "same" padding by
      default) or ``"tiny"`` (``encoder_channels``, five ints).
    * decoder: :class:`~maskdepth.model.decoders.unet.UNetDecoder`, one stage
      per stride 16, 8, 4, 2 with ``decoder_channels`` channels and
      ``decoder_convs`` DW-separable convs each.
    * heads: :class:`~maskdepth.model.heads.PredictionHead` (DWSepConv to
      ``head_channels`` + 1×1 to one channel) at stride 2, then bilinear ×2 to
      the input resolution.  Depth-head bias = log(2.0): an untrained model
      predicts ≈ 2 m.
    * ``mask_refine=True``: a :class:`~maskdepth.model.heads.MaskRefiner`
      corrects the upsampled mask logits at full resolution from the input
      pixels and their difference.

    Inputs: ``bg``, ``fg_bg`` (B, 3, H, W) float32 in [0, 1], H and W multiples
    of 32 (:class:`~maskdepth.model.base.InputShapeError` otherwise); outputs
    (B, 1, H, W) mask logits and natural-log depth in metres.  Input
    normalisation ``(x - 0.5) / 0.5`` is done inside ``forward``.

    Raises:
        ModelConfigError: unknown fusion or encoder, or bad channel lists.
    """

    def __init__(
        self,
        encoder: str = "efficientnet_lite0",
        decoder_channels: Sequence[int] = (96, 64, 48, 32),
        decoder_convs: int = 2,
        head_channels: int = 32,
        padding: str = "same",
        encoder_channels: Sequence[int] | None = None,
        fusion: str = "concat",
        mask_refine: bool = False,
    ) -> None:
        super().__init__()
        check_fusion(fusion)
        self.fusion = fusion
        decoder_channels = tuple(int(c) for c in decoder_channels)
        if encoder == "efficientnet_lite0":
            if encoder_channels is not None:
                raise ModelConfigError("encoder_channels is fixed for efficientnet_lite0; leave it unset")
            options: dict = {"padding": padding}
        elif encoder == "tiny":
            encoder_channels = tuple(int(c) for c in (encoder_channels or (8, 12, 16, 24, 32)))
            if not feature_channels_ok(encoder_channels, 5):
                raise ModelConfigError(f"encoder_channels must be 5 positive ints, got {encoder_channels}")
            options = {"channels": encoder_channels}
        else:
            options = {}
        self.encoder: nn.Module = get_encoder(encoder, fusion_in_channels(fusion), **options)
        enc_ch = tuple(self.encoder.out_channels)
        self.decoder = UNetDecoder(fused_channels(enc_ch, fusion), decoder_channels, num_convs=decoder_convs)
        c_out = self.decoder.out_channels
        self.mask_head = PredictionHead(c_out, head_channels)
        self.depth_head = PredictionHead(c_out, head_channels)
        self.mask_refiner: MaskRefiner | None = MaskRefiner(c_out) if mask_refine else None

        # from-scratch init everywhere (pretrained encoder weights, if any, are loaded later)
        init_weights(self)
        if self.mask_refiner is not None:
            init_output_conv(self.mask_refiner.out, 0.0)  # an untrained refiner passes the coarse logits through
        init_output_conv(self.mask_head.out, 0.0)
        init_output_conv(self.depth_head.out, math.log(DEPTH_PRIOR_M))

        self.encoder_name = encoder
        self.preset = "small" if encoder == "efficientnet_lite0" else "tiny"
        self.config = {
            "name": self.preset,
            "encoder": encoder,
            "decoder_channels": list(decoder_channels),
            "decoder_convs": int(decoder_convs),
            "head_channels": int(head_channels),
            "padding": padding,
            "fusion": fusion,
            "mask_refine": bool(mask_refine),
        }
        if encoder == "tiny":
            self.config["encoder_channels"] = list(enc_ch)

    def mask_output_conv(self) -> nn.Conv2d:
        """The 1×1 output conv of the mask head."""
        return self.mask_head.out

    def load_encoder_weights(self, weights: str = "imagenet") -> None:
        """Load pretrained weights into the encoder (strict; the stem is adapted to
        its input channels).  ``weights``: ``"imagenet"`` or a weights file.

        Raises:
            ModelConfigError: the encoder has no pretrained weights (``tiny``).
            MaskDepthError: the weights cannot be found or read.
        """
        self.encoder.load_pretrained(weights)

    def forward(self, bg: torch.Tensor, fg_bg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(bg, fg_bg) float (B, 3, H, W) in [0, 1] → (mask_logits, log_depth), each float (B, 1, H, W)."""
        check_inputs(bg, fg_bg)
        bg_n, fg_n = normalize_input(bg), normalize_input(fg_bg)
        feats = encode_fused(self.encoder, bg_n, fg_n, self.fusion)
        y = self.decoder(feats)
        # decoder ends at stride 2: upsample the 1-channel outputs to full size
        mask_logits = upsample2x(self.mask_head(y))
        if self.mask_refiner is not None:
            mask_logits = self.mask_refiner(mask_logits, y, bg_n, fg_n)
        log_depth = upsample2x(self.depth_head(y))
        return mask_logits, log_depth
