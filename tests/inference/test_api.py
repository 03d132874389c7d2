"""The Python API: ``maskdepth.load(...).predict(bg, image)``."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import maskdepth
from maskdepth.errors import MaskDepthError

H, W = 48, 64


@pytest.fixture(scope="module")
def tiny_ck(tmp_path_factory) -> Path:
    from maskdepth.checkpoint import save_checkpoint
    from maskdepth.model import create_model

    torch.manual_seed(0)
    model = create_model("tiny", pretrained=False)
    with torch.no_grad():  # make the outputs depend on the input, so comparisons mean something
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    p = tmp_path_factory.mktemp("ck") / "tiny.pt"
    save_checkpoint(p, model, meta={"size": 64})
    return p


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    img = bg.copy()
    img[10:40, 20:40] = (250, 30, 30)
    return bg, img


def test_exports_are_lazy():
    # the prediction path imports no torch: only the PyTorch backend does
    code = "import sys, maskdepth; assert 'torch' not in sys.modules; assert callable(maskdepth.load); maskdepth.Predictor; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert maskdepth.Predictor is maskdepth.inference.predictor.Predictor
    assert maskdepth.Prediction is maskdepth.inference.predictor.Prediction
    assert {"load", "Predictor", "Prediction"} <= set(maskdepth.__all__)


def test_load_and_predict_numpy(tiny_ck, pair):
    model = maskdepth.load(tiny_ck)
    assert model.backend == "torch" and model.size == 64 and "tiny.pt" in repr(model)
    bg, img = pair
    p = model.predict(bg, img)
    assert isinstance(p, maskdepth.FrameResult)
    assert p.mask.shape == p.prob.shape == p.depth.shape == (H, W)
    assert p.mask.dtype == bool and p.prob.dtype == np.float32 and p.depth.dtype == np.float32
    assert ((p.prob >= 0) & (p.prob <= 1)).all() and (p.depth > 0).all() and p.depth_unit == "m"
    np.testing.assert_array_equal(p.mask, p.prob >= 0.5)
    c = p.to_color()
    assert c.dtype == np.uint8 and c.shape == (H, W, 3)


def test_pil_and_path_inputs_match_numpy(tiny_ck, pair, tmp_path):
    model = maskdepth.load(str(tiny_ck), size=64)
    bg, img = pair
    ref = model.predict(bg, img)
    rgba = Image.fromarray(np.dstack([img, np.full((H, W), 128, np.uint8)]), "RGBA")  # alpha is dropped
    p = model.predict(Image.fromarray(bg), rgba)
    np.testing.assert_allclose(p.prob, ref.prob, atol=1e-6)
    Image.fromarray(bg).save(tmp_path / "bg.png")
    Image.fromarray(img).save(tmp_path / "img.png")
    p = model(tmp_path / "bg.png", str(tmp_path / "img.png"))  # paths; __call__ == predict
    np.testing.assert_allclose(p.depth, ref.depth, rtol=1e-6)
    # grey inputs (PIL "L", numpy (H, W) and (H, W, 1)) become 3 equal channels
    g = (bg.mean(axis=2)).astype(np.uint8)
    a = model.predict(Image.fromarray(g, "L"), img)
    b = model.predict(g, img)
    c = model.predict(g[..., None], img)
    np.testing.assert_allclose(a.prob, b.prob, atol=1e-6)
    np.testing.assert_allclose(b.prob, c.prob, atol=1e-6)


def test_input_errors(tiny_ck, pair):
    model = maskdepth.load(tiny_ck)
    bg, img = pair
    with pytest.raises(MaskDepthError, match="uint8"):
        model.predict(bg.astype(np.float32) / 255, img)
    with pytest.raises(MaskDepthError, match="shape"):
        model.predict(bg[..., :2], img)
    with pytest.raises(MaskDepthError, match="PIL image or a file path"):
        model.predict([[1, 2]], img)
    with pytest.raises(MaskDepthError, match="different framing"):
        model.predict(np.zeros((H, W * 2, 3), np.uint8), img)
    with pytest.raises(MaskDepthError, match="too small"):
        model.predict(bg[:4, :4], img[:4, :4])
    with pytest.warns(UserWarning, match="resizing bg"):  # same aspect ratio, other size
        p = model.predict(np.asarray(Image.fromarray(bg).resize((W * 2, H * 2))), img)
    assert p.mask.shape == (H, W)


def test_load_errors(tmp_path):
    with pytest.raises(MaskDepthError, match="not found"):
        maskdepth.load(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(MaskDepthError, match="checkpoint"):
        maskdepth.load(bad)
    with pytest.raises(MaskDepthError, match="threshold"):
        maskdepth.load(bad, threshold=1.5)
    from maskdepth.inference.runtime import DEFAULT_CHECKPOINT

    if not DEFAULT_CHECKPOINT.exists():
        with pytest.raises(MaskDepthError, match="no shipped model"):
            maskdepth.load("default")


def test_load_default_is_the_shipped_model(pair):
    """``load("default")`` predicts exactly what the explicit shipped file predicts (ONNX Runtime
    when installed, else PyTorch), and agrees with the PyTorch checkpoint within the export's parity."""
    from maskdepth.inference.runtime import DEFAULT_CHECKPOINT, DEFAULT_ONNX, onnxruntime_available, read_sidecar

    if not DEFAULT_CHECKPOINT.exists():
        pytest.skip("no shipped model in this install")
    model = maskdepth.load("default")
    assert model.source == "default" and model.predictor.source is not None
    use_onnx = DEFAULT_ONNX.exists() and onnxruntime_available()
    explicit = maskdepth.load(DEFAULT_ONNX if use_onnx else DEFAULT_CHECKPOINT)
    assert model.backend == explicit.backend == ("onnx" if use_onnx else "torch") and model.size == explicit.size == 128
    assert Path(model.predictor.source) == (DEFAULT_ONNX if use_onnx else DEFAULT_CHECKPOINT)
    bg, img = pair
    a, b = model.predict(bg, img), explicit.predict(bg, img)
    np.testing.assert_array_equal(a.prob, b.prob)
    np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert 0.0 < a.mask.mean() < 1.0 and np.ptp(a.depth) > 0  # a real prediction, not a constant
    if use_onnx:
        tol = read_sidecar(DEFAULT_ONNX)["parity"]["tolerance"]
        c = maskdepth.load(DEFAULT_CHECKPOINT).predict(bg, img)
        assert np.abs(c.prob - a.prob).max() <= tol / 4 + 1e-6
        assert np.abs(np.log(c.depth) - np.log(a.depth)).max() <= tol + 1e-6


def test_onnx_model_matches_torch(tiny_ck, pair, tmp_path):
    pytest.importorskip("onnxruntime")
    from maskdepth.checkpoint import load_model

    model, _ = load_model(tiny_ck)
    names = ["bg", "fg_bg", "mask_logits", "log_depth"]
    buf = io.BytesIO()
    x = torch.rand(1, 3, 64, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (x, x),
            buf,
            opset_version=17,
            dynamo=False,
            input_names=names[:2],
            output_names=names[2:],
            dynamic_axes={n: {0: "batch", 2: "height", 3: "width"} for n in names},
        )
    onnx_path = tmp_path / "tiny.onnx"
    onnx_path.write_bytes(buf.getvalue())
    m_onnx = maskdepth.load(onnx_path, size=64)
    m_torch = maskdepth.load(tiny_ck, size=64)
    assert m_onnx.backend == "onnx"
    a, b = m_onnx.predict(*pair), m_torch.predict(*pair)
    np.testing.assert_allclose(a.prob, b.prob, atol=1e-4)
    np.testing.assert_allclose(a.depth, b.depth, rtol=1e-4)


def test_predict_with_measured_depth_and_objects(tiny_ck, pair, tmp_path):
    model = maskdepth.load(tiny_ck)
    bg, img = pair
    truth = np.linspace(2.0, 6.0, H, dtype=np.float32)[:, None] * np.ones((1, W), np.float32)
    truth[:3, :5] = 0  # unknown pixels stay unknown
    p = model.predict(bg, img, bg_depth=truth)
    assert p.depth_source == "measured" and p.depth_json()["scene"]["source"] == "measured"
    free = ~p.mask
    np.testing.assert_allclose(p.depth[free], truth[free], rtol=1e-6)
    assert (p.depth[:3, :5][free[:3, :5]] == 0).all()
    assert isinstance(p.objects, list) and all(o.depth_source in ("measured", "learned") for o in p.objects)
    np.save(tmp_path / "d.npy", truth)  # a file gives the same answer
    q = model.predict(bg, img, bg_depth=tmp_path / "d.npy")
    np.testing.assert_array_equal(p.depth, q.depth)
    with pytest.raises(MaskDepthError, match="aspect"):
        model.predict(bg, img, bg_depth=np.ones((H, 2 * W), np.float32))
    with pytest.raises(MaskDepthError, match="no known pixel"):
        model.predict(bg, img, bg_depth=np.zeros((H, W), np.float32))


def test_model_camera_is_reused(tiny_ck, pair):
    model = maskdepth.load(tiny_ck)
    bg, img = pair
    runs = []
    orig = model.predictor._infer
    model.predictor._infer = lambda *a: (runs.append(1), orig(*a))[1]
    cam = model.camera(bg)
    assert cam.source == "learned"
    a = model.predict(bg, img, scene=cam)
    b = model.predict(bg, img[:, ::-1].copy(), scene=cam)
    assert len(runs) == 3  # two frames, the bg's scene depth once
    assert a.depth_source == b.depth_source == "learned" and (a.depth > 0).all()
    model.predict(bg, img)  # the same bg given again: the cached camera (one more bg run the first time)
    model.predict(bg.copy(), img)
    assert len(runs) == 3 + 1 + 2
    with pytest.raises(MaskDepthError, match="not both"):
        model.predict(bg, img, scene=cam, bg_depth=np.ones((H, W), np.float32))
