"""Decoders: turn the encoder's multi-stride features into one feature map."""

from maskdepth.model.decoders.unet import UNetDecoder, UpBlock

__all__ = ["UNetDecoder", "UpBlock"]
