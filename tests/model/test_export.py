"""Tests for maskdepth.export (ONNX export + parity) and the Predictor's ONNX Runtime backend."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from maskdepth import cli
from maskdepth.checkpoint import save_checkpoint
from maskdepth.errors import MaskDepthError
from maskdepth.export import export_checkpoint, export_model, read_sidecar, sidecar_path
from maskdepth.inference.predictor import load_predictor
from maskdepth.io import save_png
from maskdepth.model import create_model

ort = pytest.importorskip("onnxruntime")


def _trained_looking_tiny() -> torch.nn.Module:
    """Tiny model whose outputs vary (random heads and BN statistics), so parity is not trivially 0."""
    torch.manual_seed(0)
    m = create_model("tiny", pretrained=False)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
        for head in (m.mask_head.out, m.depth_head.out):
            head.weight.normal_(0.0, 0.5)
    return m.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    ck = d / "tiny.pt"
    save_checkpoint(ck, _trained_looking_tiny(), meta={"size": 64})
    out = d / "model.onnx"
    side = export_checkpoint(ck, out)  # size from the checkpoint meta (64)
    return ck, out, side


def _pair(b, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g), torch.rand(b, 3, h, w, generator=g)


def test_export_parity_and_sidecar(exported):
    ck, out, side = exported
    assert out.exists() and sidecar_path(out).exists()
    disk = json.loads(sidecar_path(out).read_text())
    assert disk == read_sidecar(out)
    assert disk["opset"] == 17 and disk["preset"] == "tiny" and disk["params"] == 6238 and disk["size"] == 64
    par = disk["parity"]
    assert par["max_abs_diff"]["mask_logits"] <= 1e-4 and par["max_abs_diff"]["log_depth"] <= 1e-4
    assert len(par["checks"]) == 2 and par["checks"][1]["shape"] == [2, 3, 64, 128]  # the second size/batch
    assert all(c["mask_logits_std"] > 0.01 and c["log_depth_std"] > 0.01 for c in par["checks"])  # non-trivial outputs
    assert set(disk["convention"]["inputs"]) == {"bg", "fg_bg"}
    assert disk["checkpoint_meta"] == {"size": 64} and disk["source"] == str(ck)
    assert not [p for p in out.parent.iterdir() if ".tmp" in p.name]


def test_onnx_graph_names_and_dynamic_axes(exported):
    import onnx

    ck, out, _ = exported
    g = onnx.load(str(out)).graph
    assert [i.name for i in g.input] == ["bg", "fg_bg"]
    assert [o.name for o in g.output] == ["mask_logits", "log_depth"]
    dims = [d.dim_param for d in g.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "", "height", "width"]
    model = load_predictor(str(ck)).model  # the same weights through PyTorch
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for b, h, w in ((1, 64, 64), (3, 96, 160)):  # two sizes and batches: dynamic axes work
        bg, fg = _pair(b, h, w, seed=h + w)
        got = sess.run(None, {"bg": bg.numpy(), "fg_bg": fg.numpy()})
        with torch.inference_mode():
            ref = model(bg, fg)
        for g_, r in zip(got, ref):
            assert g_.shape == (b, 1, h, w)
            assert np.abs(g_ - r.numpy()).max() <= 1e-4


def test_parity_failure_writes_nothing(tmp_path):
    out = tmp_path / "m.onnx"
    with pytest.raises(MaskDepthError, match="parity"):
        export_model(_trained_looking_tiny(), out, size=64, tolerance=1e-12)
    assert list(tmp_path.iterdir()) == []


def test_cli_export(exported, tmp_path, capsys):
    ck, _, _ = exported
    out = tmp_path / "sub" / "m.onnx"
    assert cli.main(["export", "--checkpoint", str(ck), "--out", str(out), "--size", "96"]) == 0
    assert "parity" in capsys.readouterr().out
    assert read_sidecar(out)["size"] == 96 and read_sidecar(out)["parity"]["checks"][0]["shape"] == [1, 3, 96, 96]


@pytest.mark.parametrize("what", ["corrupt", "missing", "no_default", "bad_size"])
def test_cli_export_errors(exported, tmp_path, capsys, monkeypatch, what):
    ck, _, _ = exported
    out = tmp_path / "m.onnx"
    args = ["export", "--out", str(out)]
    if what == "corrupt":
        bad = tmp_path / "bad.pt"
        bad.write_bytes(ck.read_bytes()[:200])
        args += ["--checkpoint", str(bad)]
    elif what == "missing":
        args += ["--checkpoint", str(tmp_path / "nope.pt")]
    elif what == "no_default":
        monkeypatch.setattr("maskdepth.export.DEFAULT_CHECKPOINT", tmp_path / "weights" / "default.pt")
    else:
        args += ["--checkpoint", str(ck), "--size", "100"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("maskdepth: error:") and "\n" not in err
    assert {"corrupt": "corrupt", "missing": "not found", "no_default": "--checkpoint", "bad_size": "multiple of 32"}[what] in err
    assert not out.exists() and not sidecar_path(out).exists()


def _photo_pair(h=90, w=120):
    """A smooth background and the same with a bright blob (uint8 RGB)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = np.stack([xx / w, yy / h, 0.5 + 0.3 * np.sin(xx / 9.0)], -1) * 200 + 20
    fg = bg.copy()
    blob = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (h / 4) ** 2
    fg[blob] = [230, 60, 40]
    return bg.astype(np.uint8), fg.astype(np.uint8)


def test_predictor_torch_vs_onnx(exported):
    ck, out, _ = exported
    pt = load_predictor(str(ck), backend="torch")
    ox = load_predictor(str(out), backend="onnx")
    assert load_predictor(str(out)).backend == "onnx"  # auto from the suffix
    assert ox.backend == "onnx" and ox.size == pt.size == 64  # size from the sidecar / checkpoint meta
    bg, fg = _photo_pair()
    a, b = pt.predict(bg, fg), ox.predict(bg, fg)
    assert a.mask.shape == b.mask.shape == (90, 120)
    assert 0.05 < a.mask.mean() < 0.95  # a non-trivial mask is compared
    differ = a.mask != b.mask
    assert differ.sum() <= 3 and np.all(np.abs(a.prob[differ] - 0.5) < 1e-3)
    assert np.abs(a.prob - b.prob).max() < 1e-4
    assert np.max(np.abs(b.depth - a.depth) / a.depth) < 1e-3


def test_cli_predict_onnx_backend(exported, tmp_path, capsys):
    _, out, _ = exported
    bg, fg = _photo_pair()
    save_png(tmp_path / "bg.png", bg)
    save_png(tmp_path / "img.png", fg)
    args = ["predict", "--bg", str(tmp_path / "bg.png"), "--image", str(tmp_path / "img.png"), "--quiet"]
    assert cli.main(args + ["--out", str(tmp_path / "o"), "--backend", "onnx", "--checkpoint", str(out)]) == 0
    assert (tmp_path / "o" / "mask.png").exists() and (tmp_path / "o" / "depth.png").exists()
    capsys.readouterr()
    assert cli.main(args + ["--out", str(tmp_path / "o2"), "--backend", "onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("maskdepth: error: ONNX model not found") and "\n" not in err


def test_export_of_the_mask_refiner_matches_pytorch(tmp_path):
    torch.manual_seed(1)
    m = create_model("tiny", pretrained=False, mask_refine=True)
    with torch.no_grad():
        for conv in (m.mask_head.out, m.mask_refiner.out, m.depth_head.out):
            conv.weight.normal_(0.0, 0.5)
    side = export_model(m.eval(), tmp_path / "refine.onnx", size=64)
    assert side["parity"]["max_abs_diff"]["mask_logits"] <= 1e-4
    assert all(c["mask_logits_std"] > 0.01 for c in side["parity"]["checks"])


def test_export_settings_are_flags_and_yaml_keys(tmp_path, capsys):
    """ExportConfig is the one source of `maskdepth export`'s options (`config show export` lists them)."""
    import dataclasses

    import yaml

    from maskdepth.config import build
    from maskdepth.export import ExportConfig

    cfg = build(ExportConfig, cli.parse_command(["export", "--out", "m.onnx", "--size", "64", "--tolerance", "0.01"]))
    assert cfg == ExportConfig(out="m.onnx", size=64, tolerance=0.01)
    assert cli.main(["config", "show", "export", "--out", "m.onnx"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)["export"]
    assert list(shown) == [f.name for f in dataclasses.fields(ExportConfig)] and shown["opset"] == 17
