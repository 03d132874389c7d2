"""``maskdepth bench``'s options declared once (:class:`maskdepth.bench.config.BenchConfig`): the flags, YAML and
``config show`` come from it, and bad settings fail in the library naming the setting, before anything is written."""

from __future__ import annotations

import pytest
import yaml

from maskdepth import cli
from maskdepth.bench import BenchConfig, run_bench
from maskdepth.errors import MaskDepthError


@pytest.mark.parametrize(
    ("settings", "param"),
    [
        ({"sizes": [65]}, "sizes"),
        ({"batches": [0, 1]}, "batches"),
        ({"warmup": -1}, "warmup"),
        ({"threads": -2}, "threads"),
        ({"checkpoint": "x.pt", "model": "tiny"}, "model"),
        ({"model": "huge"}, "model"),
    ],
)
def test_bad_setting_names_its_field(tmp_path, settings, param):
    with pytest.raises(MaskDepthError) as e:
        run_bench(BenchConfig(out_dir=str(tmp_path / "out"), quick=True, quiet=True, **settings))
    assert e.value.param == param and "--" not in str(e.value)
    assert not (tmp_path / "out").exists()


def test_cli_shows_the_flag_of_a_bad_setting(tmp_path, capsys):
    assert cli.main(["bench", "--quick", "--quiet", "--sizes", "64,96,100", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("maskdepth: error: --sizes") and "100" in err and "\n" not in err
    assert not (tmp_path / "bench.json").exists()


def test_config_show_lists_every_field_with_flags_and_yaml(tmp_path, capsys):
    cfg = tmp_path / "bench.yaml"
    cfg.write_text("bench:\n  sizes: 64,128\n  backends: [torch]\n  quick: true\n")
    assert cli.main(["config", "show", "bench", "--config", str(cfg), "--batches", "2"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)["bench"]
    assert shown["sizes"] == [64, 128] and shown["backends"] == ["torch"] and shown["batches"] == [2] and shown["quick"] is True
    assert shown["out_dir"] == "results" and shown["repeats"] is None
    assert set(shown) == {f for f in BenchConfig.__dataclass_fields__ if f != "command"}  # command: recorded, not an option


def test_flags_keep_their_spelling_and_defaults():
    args = cli.parse_command(["bench"])
    assert args.out_dir == "results" and args.backends == ["torch", "onnxruntime"] and args.peers is False and args.quick is False
    assert all(getattr(args, k) is None for k in ("checkpoint", "model", "sizes", "batches", "repeats", "iters", "warmup", "threads"))
    args = cli.parse_command(
        ["bench", "--checkpoint", "c.pt", "--peers", "--out-dir", "o", "--backends", "torch, onnxruntime_int8", "--sizes", "64,96"]
        + ["--batches", "1", "--repeats", "2", "--iters", "3", "--warmup", "0", "--threads", "1", "--quick", "--quiet"]
    )
    assert (args.checkpoint, args.peers, args.out_dir, args.backends) == ("c.pt", True, "o", ["torch", "onnxruntime_int8"])
    assert (args.sizes, args.batches, args.repeats, args.iters, args.warmup, args.threads) == ([64, 96], [1], 2, 3, 0, 1)
    assert args.quick and args.quiet
