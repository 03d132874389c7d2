"""What every mask + depth network shares: the interface, input checks, errors, init.

Every network takes ``(bg, fg_bg)``: float (B, 3, H, W) RGB images in [0, 1]
(H and W multiples of :data:`INPUT_MULTIPLE`, else :class:`InputShapeError`, a
``ValueError``) and returns ``(mask_logits, log_depth)``, each float
(B, 1, H, W) at full input resolution:

* ``mask_logits``: ``sigmoid(mask_logits)`` is P(pixel is foreground);
* ``log_depth``: natural log of metric depth in metres (``depth = exp(log_depth)``).

Input normalisation lives inside the models (TF-Lite convention
``(x - 0.5) / 0.5``, :func:`normalize_input`), so an exported ONNX graph takes
raw [0, 1] images.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import nn

from maskdepth.errors import MaskDepthError
from maskdepth.model.presets import INPUT_MULTIPLE

__all__ = [
    "DEPTH_PRIOR_M",
    "INPUT_MULTIPLE",
    "InputShapeError",
    "MaskDepthModel",
    "ModelConfigError",
    "check_inputs",
    "count_parameters",
    "init_output_conv",
    "init_weights",
    "normalize_input",
    "set_mask_prior",
]

DEPTH_PRIOR_M = 2.0
"""An untrained model predicts about this depth (metres): depth-head bias = log(2)."""


class InputShapeError(MaskDepthError, ValueError):
    """Inputs of the wrong shape/dtype (e.g. H or W not a multiple of 32)."""


class ModelConfigError(MaskDepthError, ValueError):
    """Unknown preset, encoder or bad architecture option."""


def normalize_input(x: torch.Tensor) -> torch.Tensor:
    """TF-Lite / EfficientNet-Lite input convention: float images in [0, 1] → [-1, 1], same shape."""
    return (x - 0.5) / 0.5


def check_inputs(bg: torch.Tensor, fg_bg: torch.Tensor, multiple: int = INPUT_MULTIPLE) -> None:
    """Raise :class:`InputShapeError` unless both are float (B, 3, H, W), same shape,
    with H and W multiples of ``multiple``.  While tracing (ONNX export) the
    check still runs on the example inputs, without TracerWarnings; it leaves
    nothing in the exported graph."""
    if torch.jit.is_tracing():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            _check_inputs(bg, fg_bg, multiple)
    else:
        _check_inputs(bg, fg_bg, multiple)


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(d) for d in t.shape)


def _check_inputs(bg: torch.Tensor, fg_bg: torch.Tensor, multiple: int) -> None:
    for name, t in (("bg", bg), ("fg_bg", fg_bg)):
        if not isinstance(t, torch.Tensor):
            raise InputShapeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 4 or t.shape[1] != 3:
            raise InputShapeError(f"{name} must have shape (B, 3, H, W) (RGB, channels first), got {_shape(t)}")
        if not t.is_floating_point():
            raise InputShapeError(f"{name} must be a float tensor in [0, 1], got dtype {t.dtype}")
    if _shape(bg) != _shape(fg_bg):
        raise InputShapeError(f"bg and fg_bg must have the same shape, got bg {_shape(bg)} and fg_bg {_shape(fg_bg)}")
    h, w = int(bg.shape[2]), int(bg.shape[3])
    if h % multiple or w % multiple:
        hh = max(multiple, (h + multiple - 1) // multiple * multiple)
        ww = max(multiple, (w + multiple - 1) // multiple * multiple)
        raise InputShapeError(
            f"input height and width must be multiples of {multiple}, got input of shape "
            f"{_shape(bg)} (H={h}, W={w}); resize or pad it, e.g. to H={hh}, W={ww}"
        )


def init_weights(module: nn.Module) -> None:
    """From-scratch init of every conv / BN in ``module``: Kaiming-normal convs
    (fan_in: keeps activations O(1) even before BN statistics exist), zero
    biases, BN = identity.  Draws from torch's global RNG in ``module.modules()`` order."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def init_output_conv(conv: nn.Conv2d, bias: float) -> None:
    """Zero weights and a prior bias: an untrained model outputs exactly ``bias``
    (the weight gradient is non-zero, so training starts normally)."""
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.constant_(conv.bias, bias)


class MaskDepthModel(nn.Module):
    """Base class of every preset: ``preset`` (str), ``config`` (JSON-serialisable
    dict that rebuilds the architecture) and the mask output conv.

    Subclasses implement ``forward(bg, fg_bg) -> (mask_logits, log_depth)`` (see
    the module docstring for shapes) and :meth:`mask_output_conv`.
    """

    preset: str = ""
    config: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        self.config = {}

    def extra_repr(self) -> str:
        return f"preset={self.preset!r}"

    def mask_output_conv(self) -> nn.Conv2d:
        """The last conv of the mask branch (its bias sets the untrained
        foreground probability, see :func:`set_mask_prior`)."""
        raise NotImplementedError


def set_mask_prior(model: MaskDepthModel, prior: float) -> None:
    """Set the mask output bias so that an untrained model predicts foreground
    probability ``prior`` everywhere: ``bias = log(prior / (1 - prior))``
    (the prior-probability initialisation of RetinaNet, Lin et al., "Focal loss
    for dense object detection", ICCV 2017).  With ``prior`` ≈ the training
    set's foreground fraction (≈0.07 for composites) the first steps no longer
    spend themselves pushing every pixel's logit from 0 down to the background.

    Args:
        model: any preset.  prior: float in (0, 1); 0.5 gives bias 0.
    Raises:
        ModelConfigError: ``prior`` outside (0, 1).
    """
    if not 0.0 < prior < 1.0:
        raise ModelConfigError(f"mask prior must be in (0, 1), got {prior!r}")
    with torch.no_grad():
        model.mask_output_conv().bias.fill_(math.log(prior / (1.0 - prior)))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all of them, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
