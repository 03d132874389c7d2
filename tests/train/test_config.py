"""YAML config: sections or flat keys, flags override, unknown keys and bad YAML rejected."""

import pytest
import yaml

from maskdepth.cli import main, parse_command
from maskdepth.train.config import TrainConfig


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return str(p)


def test_section_values_and_flag_override(tmp_path):
    p = _write(tmp_path, "train: {data: d, run_dir: r, epochs: 3, batch_size: 16, pretrained: false}\n")
    args = parse_command(["train", "--config", p, "--epochs", "7"])
    assert args.epochs == 7  # the flag wins
    assert args.batch_size == 16 and args.data == "d" and args.pretrained is False
    assert parse_command(["train", "--config", p, "--pretrained"]).pretrained is True


def test_flat_config_and_show(tmp_path, capsys):
    p = _write(tmp_path, "data: d\nrun_dir: r\nlr: 0.01\n")
    assert main(["config", "show", "train", "--config", p]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)["train"]
    assert shown["lr"] == 0.01 and shown["data"] == "d" and shown["epochs"] == 4


@pytest.mark.parametrize(
    "text, needle",
    [
        ("train: {data: d, run_dir: r, bogus: 1}\n", "unknown key(s) for `train`: bogus"),
        ("nonsense_section: {a: 1}\ntrain: {data: d}\n", "unknown section"),
        ("train: [1,\n", "malformed YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("train: {data: d, run_dir: r, pretrained: 3}\n", "must be true or false"),
        ("train: {data: d, run_dir: r, no_pretrained: true}\n", "unknown key(s) for `train`: no_pretrained"),
        ("train: {data: d, run_dir: r, model: huge}\n", "model must be one of"),
        ("train: {data: d, run_dir: r, res_schedule: [64, 100]}\n", "res_schedule must be of type"),
    ],
)
def test_bad_configs_one_line_error(tmp_path, capsys, text, needle):
    p = _write(tmp_path, text)
    assert main(["train", "--config", p]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("maskdepth: error:") and needle in err[0]


def test_wrong_type_names_the_file(tmp_path, capsys):
    p = _write(tmp_path, "train: {data: d, run_dir: r, epochs: many}\n")
    assert main(["train", "--config", p]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and p in err[0] and "epochs must be of type int" in err[0]


def test_missing_config_file(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_every_train_setting_is_a_flag_and_a_yaml_key(tmp_path):
    """TrainConfig is the one source: each field has a flag, a help text and a YAML key."""
    import dataclasses

    parser_opts = parse_command(["train", "--data", "d", "--run-dir", "r"])
    for f in dataclasses.fields(TrainConfig):
        assert hasattr(parser_opts, f.name), f.name
        assert f.metadata.get("help"), f"{f.name} has no help text"
    args = parse_command(
        [
            "train",
            "--data",
            "d",
            "--run-dir",
            "r",
            "--grad-clip",
            "0.5",
            "--val-limit",
            "9",
            "--no-channels-last",
            "--res-schedule",
            "64,96",
        ]
    )
    assert (args.grad_clip, args.val_limit, args.channels_last, args.res_schedule) == (0.5, 9, False, [64, 96])


def test_required_options_from_the_file_or_the_flags(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:  # argparse's usage error, as for any missing flag
        main(["train", "--epochs", "1"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--data" in err[0] and "--run-dir" in err[0]
    p = _write(tmp_path, "data: d\n")
    assert parse_command(["train", "--config", p, "--run-dir", "r"]).data == "d"


def test_run_config_replays(tmp_path):
    """A run's config.yaml (every TrainConfig field) parses back to the same TrainConfig."""
    from dataclasses import asdict

    from maskdepth.config import build, to_yaml

    cfg = TrainConfig(data="d", run_dir="r", model="tiny", pretrained=False, res_schedule=[64, 96], mask_prior=0.1, warmup_frac=0.2)
    p = tmp_path / "config.yaml"
    p.write_text(to_yaml("train", asdict(cfg)))
    assert build(TrainConfig, parse_command(["train", "--config", str(p)])) == cfg
    flat = yaml.safe_load(p.read_text())["train"]
    assert set(flat) == {f for f in asdict(cfg)}  # YAML keys are the field names
