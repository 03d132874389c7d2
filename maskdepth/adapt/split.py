"""The network split at its encoder, for an adaptation that trains the decoder and the mask branch only.

What trains (``part``):

* ``"heads"`` (default): the mask head and the mask refiner only. The encoder and the decoder stay frozen,
  so their output is computed once without gradients and shared by the student, the mean teacher and
  the base model, and the depth output is the base model's, bit for bit.
* ``"decoder"``: the decoder too (more capacity, 3x the cost on a CPU); the depth head stays frozen and
  the decoder is held near the base model's depth by a distillation loss (:mod:`.run`).

The frozen part's output of the held-out composites is computed once per run.

:func:`encode` + :func:`decode` reproduce :meth:`maskdepth.model.maskdepth_net.MaskDepthNet.forward`
exactly (tests/test_adapt.py checks it), for the U-Net presets (``small``, ``tiny``).
"""

from __future__ import annotations

import torch

from ..errors import MaskDepthError
from ..model.base import check_inputs, normalize_input
from ..model.blocks import upsample2x
from ..model.fusion import encode_fused

PARTS = {"heads": ("mask_head", "mask_refiner"), "decoder": ("decoder", "mask_head", "mask_refiner")}


def check_splittable(model: torch.nn.Module, source: str) -> None:
    """Raise MaskDepthError unless ``model`` is a U-Net preset with encoder, decoder and both heads."""
    if not all(hasattr(model, n) for n in ("encoder", "decoder", "mask_head", "depth_head", "mask_refiner", "fusion")):
        raise MaskDepthError(f"{source}: adapt supports the U-Net presets (small, tiny), not {getattr(model, 'preset', '?')!r}")


def set_trainable(model: torch.nn.Module, part: str) -> list[torch.nn.Parameter]:
    """Freeze everything but the modules of ``PARTS[part]``; returns the trainable parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    out = []
    for name in PARTS[part]:
        m = getattr(model, name, None)
        if m is not None:
            for p in m.parameters():
                p.requires_grad_(True)
                out.append(p)
    return out


@torch.no_grad()
def encode(model, bg: torch.Tensor, fg_bg: torch.Tensor, part: str) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """``(features, bg_n, fg_n)`` of float ``(B, 3, H, W)`` inputs in [0, 1] (H, W multiples of 32), no gradients:
    the encoder's features, or for ``part="heads"`` the decoder's output as a one-element list."""
    check_inputs(bg, fg_bg)
    bg_n, fg_n = normalize_input(bg), normalize_input(fg_bg)
    feats = encode_fused(model.encoder, bg_n, fg_n, model.fusion)
    return ([model.decoder(feats)] if part == "heads" else feats), bg_n, fg_n


def decode(model, feats: list[torch.Tensor], bg_n: torch.Tensor, fg_n: torch.Tensor, part: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mask_logits, log_depth)`` float ``(B, 1, H, W)`` from :func:`encode`'s output with the same ``part`` (the rest of the forward)."""
    y = feats[0] if part == "heads" else model.decoder(feats)
    logits = upsample2x(model.mask_head(y))
    if model.mask_refiner is not None:
        logits = model.mask_refiner(logits, y, bg_n, fg_n)
    return logits, upsample2x(model.depth_head(y))


def take(enc: tuple, a: int, b: int) -> tuple:
    """Rows ``a:b`` of an :func:`encode` result."""
    feats, bg_n, fg_n = enc
    return [f[a:b] for f in feats], bg_n[a:b], fg_n[a:b]
