"""`maskdepth demo` settings (DemoConfig) and its data checks; the whole demo runs in the smoke tests
of the README, not here (minutes of training)."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from maskdepth.cli import main, parse_command
from maskdepth.config import build
from maskdepth.demo import DemoConfig, resolve_data
from maskdepth.errors import MaskDepthError


def test_demo_settings_are_flags_and_yaml_keys(capsys):
    args = parse_command(["demo", "--num-samples", "64", "--size", "64", "--bg-dir", "b", "--fg-dir", "f"])
    cfg = build(DemoConfig, args)
    assert (cfg.n_samples, cfg.size, cfg.bg_dir, cfg.fg_dir, cfg.out, cfg.model) == (64, 64, "b", "f", "demo_out", "small")
    cli_fields = [f.name for f in dataclasses.fields(DemoConfig) if f.metadata.get("cli", True)]
    assert main(["config", "show", "demo", "--n-samples", "10"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)["demo"]
    assert list(shown) == [*cli_fields, "quiet"] and shown["n_samples"] == 10 and "model" not in shown


def test_real_backgrounds_need_cutouts(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MASKDEPTH_DATA", raising=False)
    with pytest.raises(MaskDepthError, match="^fg_dir is needed with real backgrounds") as e:
        resolve_data(DemoConfig(out=str(tmp_path / "o"), bg_dir=str(tmp_path)))
    assert e.value.param == "fg_dir"
    assert main(["demo", "--rgbd-dir", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["maskdepth: error: --fg-dir is needed with real backgrounds (the foreground cutouts to paste)"]
    assert not (tmp_path / "o").exists()


def test_data_from_maskdepth_data(tmp_path, monkeypatch):
    for d in ("real/bg", "real/fg", "realtest"):
        (tmp_path / d).mkdir(parents=True)
    monkeypatch.setenv("MASKDEPTH_DATA", str(tmp_path))
    cfg = resolve_data(DemoConfig(out="o"))
    assert (cfg.bg_dir, cfg.fg_dir, cfg.rgbd_dir, cfg.realtest) == (
        str(tmp_path / "real/bg"),
        str(tmp_path / "real/fg"),
        None,
        str(tmp_path / "realtest"),
    )
    assert resolve_data(DemoConfig(out="o", fg_dir="mine")).bg_dir is None  # a data option given: the environment is not used
    monkeypatch.setenv("MASKDEPTH_DATA", str(tmp_path / "nope"))
    with pytest.raises(MaskDepthError, match="not a directory"):
        resolve_data(DemoConfig(out="o"))
