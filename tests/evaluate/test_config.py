"""`maskdepth evaluate` settings declared once (EvaluateConfig): flags, YAML keys, `config show`,
and the checks that name parameters."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from maskdepth.cli import main, parse_command
from maskdepth.config import build
from maskdepth.errors import MaskDepthError
from maskdepth.evaluate.config import EvaluateConfig
from maskdepth.evaluate.run import check_config


def test_every_evaluate_setting_is_a_flag_with_help():
    args = parse_command(["evaluate", "--out", "o", "--data", "d", "--rgbd-test", "r", "--limit", "3", "--split", "val"])
    for f in dataclasses.fields(EvaluateConfig):
        assert hasattr(args, f.name), f.name
        assert f.metadata.get("help"), f"{f.name} has no help text"
    cfg = build(EvaluateConfig, args)
    assert (cfg.out, cfg.data, cfg.rgbd_test, cfg.limit, cfg.split) == ("o", "d", "r", 3, "val")
    assert (cfg.rgbd_scene, cfg.backend, cfg.refine, cfg.checkpoint) == ("tum_fr3_cabinet", "auto", "auto", None)


def test_config_show_evaluate(tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text("evaluate: {data: d, out: o, limit: 5, quiet: true}\n")
    assert main(["config", "show", "evaluate", "--config", str(p), "--split", "val"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)["evaluate"]
    assert shown["data"] == "d" and shown["limit"] == 5 and shown["split"] == "val" and shown["quiet"] is True
    assert list(shown) == [*(f.name for f in dataclasses.fields(EvaluateConfig)), "quiet"]


def test_out_is_required(capsys):
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--data", "d"])
    assert e.value.code == 2 and "--out" in capsys.readouterr().err


def test_checks_name_parameters(tmp_path, capsys):
    with pytest.raises(MaskDepthError, match="nothing to evaluate: give data"):
        check_config(EvaluateConfig(out="o"))
    with pytest.raises(MaskDepthError, match="^realtest not found") as e:
        check_config(EvaluateConfig(out="o", realtest=str(tmp_path / "nope")))
    assert e.value.param == "realtest"
    assert main(["evaluate", "--realtest", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"maskdepth: error: --realtest not found: {tmp_path / 'nope'}"]
    assert not (tmp_path / "o").exists()
