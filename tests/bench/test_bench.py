"""Tests for maskdepth.bench (MAC counting, target logic, `maskdepth bench --quick`)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from maskdepth import cli
from maskdepth.bench import count_macs, evaluate_targets, physical_cores, summarize, time_calls
from maskdepth.model import create_model

TINY_MACS_64 = 1_105_632  # measured once for the ``tiny`` preset at 64x64 (hook count == FlopCounterMode)


class _TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = nn.Linear(8, 4)

    def forward(self, bg, fg_bg):
        x = self.dw(self.conv(fg_bg))
        return self.fc(x.mean(dim=(2, 3))), bg


def test_count_macs_convention():
    c = count_macs(_TwoLayer(), 32, 64)
    conv = 8 * 32 * 64 * 3 * 3 * 3  # out elements x in_ch x kh x kw
    dw = 8 * 32 * 64 * 1 * 3 * 3  # groups: in_ch / groups = 1
    assert c["conv2d"] == conv + dw and c["linear"] == 4 * 8 and c["macs"] == conv + dw + 32
    assert c["flop_counter_macs"] == c["macs"]  # torch >= 2.1 always has FlopCounterMode: the cross-check must run and agree


def test_count_macs_tiny_matches_flop_counter():
    m = create_model("tiny", pretrained=False)
    c64, c128 = count_macs(m, 64, 64), count_macs(m, 128, 128)
    assert c64["macs"] > 0 and c128["macs"] == 4 * c64["macs"]  # fully convolutional: scales with pixels
    # an independent count: FlopCounterMode's FLOPs / 2 must be there and equal the hook count
    assert c64["flop_counter_macs"] == c64["macs"] and c128["flop_counter_macs"] == c128["macs"]
    assert c64["macs"] == TINY_MACS_64 and c64["linear"] == 0


def test_int8_quantization_writes_nothing_into_the_current_directory(tmp_path, monkeypatch):
    from maskdepth.bench import int8_parity, quantize_int8
    from maskdepth.export import export_model

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    torch.manual_seed(0)
    m = create_model("tiny", pretrained=False).eval()
    with torch.no_grad():  # zero-initialised output convs would be folded away, leaving nothing to quantise
        for p in m.parameters():
            if not p.any():
                p.normal_(0, 0.1)
    export_model(m, tmp_path / "m.onnx", size=64, source="test")
    info = quantize_int8(tmp_path / "m.onnx", tmp_path / "m.int8.onnx")
    assert list(cwd.iterdir()) == []  # ORT's sym_shape_infer_temp.onnx / <uuid>.data stay in a temporary directory
    assert (tmp_path / "m.int8.onnx").stat().st_size > 0
    assert set(info) == {"preprocessed", "preprocess_error"} and info["preprocessed"] == (info["preprocess_error"] is None)
    par = int8_parity(tmp_path / "m.onnx", tmp_path / "m.int8.onnx", 64, 1)
    assert par["shape"] == [1, 3, 64, 64] and 0.0 <= par["mask_agreement"] <= 1.0


def test_timing_helpers():
    r = time_calls(lambda: sum(range(1000)), iters=7, warmup=1)
    assert r["iters"] == 7 and 0 < r["p50_ms"] <= r["p95_ms"] and r["wall_s"] > 0
    assert summarize([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0}
    assert physical_cores() >= 1


def _rec(name, role, pps):
    return {
        "name": name,
        "role": role,
        "results": [{"backend": b, "size": s, "batch": 1, "pairs_per_s": {"min": v, "median": v, "max": v}} for (b, s), v in pps.items()],
    }


def test_targets_logic():
    recs = [
        _rec(
            "default",
            "main",
            {
                ("torch", 128): 90.0,
                ("onnxruntime", 128): 150.0,
                ("onnxruntime_int8", 128): 999.0,
                ("torch", 224): 20.0,
                ("onnxruntime", 224): 25.0,
            },
        ),
        _rec("peer_b", "peer", {("torch", 128): 10.0, ("onnxruntime", 128): 12.0, ("onnxruntime", 224): 6.0}),
        _rec("peer_c", "peer", {("onnxruntime", 128): 40.0, ("onnxruntime", 224): 4.0}),
    ]
    t = {x["name"]: x for x in evaluate_targets(recs)}
    assert t["pairs_per_s_128"]["met"] is True and t["pairs_per_s_128"]["value"] == 150.0  # int8 never counts
    assert t["pairs_per_s_128"]["backend"] == "onnxruntime"
    assert t["pairs_per_s_224"]["met"] is False and t["pairs_per_s_224"]["value"] == 25.0
    assert t["speedup_vs_fastest_peer_128"]["value"] == 3.75 and t["speedup_vs_fastest_peer_128"]["met"] is False
    assert t["speedup_vs_fastest_peer_224"]["value"] == pytest.approx(25 / 6, abs=0.01)
    none = {x["name"]: x for x in evaluate_targets(recs[:1])}
    assert none["speedup_vs_fastest_peer_128"]["met"] is None


def test_bench_quick_writes_report(tmp_path, capsys):
    out = tmp_path / "res"
    assert cli.main(["bench", "--quick", "--out-dir", str(out), "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    rep = json.loads((out / "bench.json").read_text())
    md = (out / "bench.md").read_text()
    assert "## Targets" in md and "| tiny | onnxruntime | 64 | 8 |" in md
    assert rep["format"] == "maskdepth-bench" and rep["command"].startswith("maskdepth ")  # cli records sys.argv
    for k in ("machine", "settings", "models", "targets", "notes", "prepost_ms", "elapsed_s"):
        assert k in rep
    m = rep["machine"]
    assert m["cpu_model"] and m["physical_cores"] >= 1 and m["torch"] and m["onnxruntime"] and m["bench_threads"] == 1
    st = rep["settings"]
    assert st["sizes"] == [64] and st["batches"] == [1, 8] and st["repeats"] == 1
    (model,) = rep["models"]
    assert model["preset"] == "tiny" and model["params"] == 6238 and model["macs"]["64"]["macs"] > 0
    assert set(model["peak_rss_mib"]) == {"torch", "onnxruntime"} and all(v > 0 for v in model["peak_rss_mib"].values())
    assert model["workers"]["onnxruntime"]["torch_imported"] is False  # the ORT memory figure is torch-free
    assert max(model["onnx_parity"].values()) <= 1e-4
    got = {(r["backend"], r["size"], r["batch"]) for r in model["results"]}
    assert got == {(b, 64, n) for b in ("torch", "onnxruntime") for n in (1, 8)}
    for r in model["results"]:
        assert len(r["runs"]) == 1
        for fig in (r["latency_ms"]["p50"], r["latency_ms"]["p95"], r["pairs_per_s"]):
            assert 0 < fig["min"] <= fig["median"] <= fig["max"]
    assert len(rep["targets"]) == 5 and all(t["met"] is None for t in rep["targets"])  # 128/224, the 720p API: not measured in quick mode
    assert rep["api"] is None and rep["targets"][-1]["name"] == "api_pairs_per_s_720p"
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def test_bench_bad_backend_is_one_line_error(tmp_path, capsys):
    assert cli.main(["bench", "--quick", "--out-dir", str(tmp_path), "--backends", "tensorrt", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("maskdepth: error: unknown backend") and "\n" not in err
    assert not (tmp_path / "bench.json").exists()


def test_api_throughput_measures_the_pipeline_at_720p():
    """The API figure of bench.md: real calls of maskdepth.load("default").predict(...).objects on a 1280x720 pair."""
    from maskdepth.bench.targets import evaluate_targets
    from maskdepth.bench.timing import api_pair, api_throughput

    bg, fg = api_pair()
    assert bg.shape == fg.shape == (720, 1280, 3) and (bg != fg).any(axis=2).mean() > 0.02
    rec = api_throughput(1, 2, hw=(72, 128))
    assert rec["input_hw"] == [72, 128] and rec["pairs_per_s"]["median"] > 0
    t = evaluate_targets([], dict(rec, pairs_per_s={"min": 30.0, "median": 30.0, "max": 30.0}))[-1]
    assert t["met"] is True and t["value"] == 30.0
    t = evaluate_targets([], dict(rec, pairs_per_s={"min": 10.0, "median": 10.0, "max": 10.0}))[-1]
    assert t["met"] is False
