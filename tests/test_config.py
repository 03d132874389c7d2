"""YAML config: sections or flat keys, flags override, unknown keys and bad YAML rejected."""
import yaml
import pytest

from maskdepth.cli import build_parser, main
from maskdepth.config import expand_argv
from maskdepth.errors import MaskDepthError


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return str(p)


def test_section_values_and_flag_override(tmp_path):
    p = _write(tmp_path, "train: {data: d, run_dir: r, epochs: 3, batch_size: 16, no_pretrained: true}\n")
    parser = build_parser()
    args = parser.parse_args(expand_argv(["train", "--config", p, "--epochs", "7"], parser))
    assert args.epochs == 7  # the flag wins
    assert args.batch_size == 16 and args.data == "d" and args.no_pretrained is True


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
        ("train: {data: d, run_dir: r, no_pretrained: 3}\n", "must be true or false"),
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
