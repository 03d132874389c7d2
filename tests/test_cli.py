"""The ``maskdepth`` command line: help, one-line errors without tracebacks (and without
partial outputs), and a whole generate -> train -> evaluate -> predict run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskdepth.cli import build_parser, main
from tests.helpers import REPO, smooth_texture

SUBCOMMANDS = sorted(build_parser().command_names)


def run(capsys, *args):
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, match=None):
    assert rc != 0
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{err}"
    assert lines[0].startswith("maskdepth: error: "), err
    assert "Traceback" not in err and "unexpected" not in err, err
    if match:
        assert match in lines[0], err


# --------------------------------------------------------------------------- help
@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help(sub, capsys):
    with pytest.raises(SystemExit) as e:
        main([sub, "--help"])
    assert e.value.code == 0
    assert f"usage: maskdepth {sub}" in capsys.readouterr().out


def test_core_subcommands_exist():
    assert {"generate", "train", "evaluate", "predict", "demo"} <= set(SUBCOMMANDS)


def test_top_level_help_and_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(s in out for s in SUBCOMMANDS)
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and "maskdepth" in capsys.readouterr().out


# --------------------------------------------------------------------------- bad files
@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """Good and broken inputs: {name: path}."""
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(9)
    img = smooth_texture(rng, 50, 70)
    Image.fromarray(img).save(d / "good.png")
    Image.fromarray(img).save(d / "good.jpg", quality=90)
    data = (d / "good.jpg").read_bytes()
    (d / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (d / "empty.png").write_bytes(b"")
    (d / "notimage.png").write_bytes(b"hello, this is not a PNG file at all\n" * 20)
    Image.fromarray(np.zeros((50, 140, 3), np.uint8)).save(d / "wide.png")
    (d / "random.pt").write_bytes(rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())
    torch.save({"weights": torch.zeros(3), "epoch": 1}, d / "noformat.pt")
    for name in ("empty_dir", "rgb_fg", "trunc_bg", "zero_bg", "text_bg"):
        (d / name).mkdir()
    Image.fromarray(smooth_texture(rng, 40, 20)).save(d / "rgb_fg" / "person.png")  # RGB: no alpha
    (d / "trunc_bg" / "bg.jpg").write_bytes(data[: len(data) // 2])
    (d / "zero_bg" / "bg.jpg").write_bytes(b"")
    (d / "text_bg" / "bg.png").write_bytes(b"not an image")
    return {p.name: p for p in d.iterdir()}


GEN = ("generate", "--size", "64", "-n", "10", "--quiet")


@pytest.mark.parametrize(
    "args,match",
    [
        (("--bg-dir", "{missing}", "--procedural-fg", "2"), "not found"),
        (("--procedural-fg", "2"), "no backgrounds"),
        (("--bg-dir", "{empty_dir}", "--procedural-fg", "2"), "no images"),
        (("--bg-dir", "{bg_dir}", "--fg-dir", "{rgb_fg}", "--workers", "1"), "no alpha"),  # pool: see the subprocess test
        (("--bg-dir", "{trunc_bg}", "--procedural-fg", "2"), "truncated"),
        (("--bg-dir", "{zero_bg}", "--procedural-fg", "2"), "empty file"),
        (("--bg-dir", "{text_bg}", "--procedural-fg", "2"), "not a readable image"),
        (("--render", "1", "--procedural-fg", "1", "--shard-index", "0"), "go together"),
        (("--render", "1", "--procedural-fg", "1", "--aug", "none", "--no-aug"), "--aug conflicts with no_aug"),
        (("--render", "1", "--procedural-fg", "1", "--grid-bgs", "1,0,0", "--grid-fgs", "1,0,0"), "--num-samples does not apply"),
        (("--render", "1", "--procedural-fg", "1", "--flips", "1"), "--grid-bgs is needed"),
    ],
    ids=[
        "missing-bg-dir",
        "no-bg",
        "empty-dir",
        "fg-without-alpha",
        "truncated-bg",
        "zero-byte-bg",
        "text-bg",
        "shard-index",
        "aug-and-no-aug",
        "grid-and-n",
        "grid-without-counts",
    ],
)
def test_generate_errors(args, match, bad, bg_dir, tmp_path, capsys):
    paths = {**{k: str(v) for k, v in bad.items()}, "missing": str(tmp_path / "nope"), "bg_dir": str(bg_dir)}
    out = tmp_path / "ds"
    rc, _, err = run(capsys, *GEN, "--out", out, *[a.format(**paths) for a in args])
    assert_one_line_error(rc, err, match)
    assert not (out / "manifest.json").exists() and not list(out.glob("shards/*.tar"))


def test_generate_error_with_worker_pool_does_not_hang(bad, bg_dir, tmp_path):
    """An unusable cutout found inside the worker pool used to make the pool respawn workers forever."""
    cmd = [
        sys.executable,
        "-m",
        "maskdepth.cli",
        *GEN,
        "--workers",
        "2",
        "--out",
        str(tmp_path / "ds"),
        "--bg-dir",
        str(bg_dir),
        "--fg-dir",
        str(bad["rgb_fg"]),
    ]
    # on a hang, SIGABRT makes the child's faulthandler print where each of its threads waits (seen once in CI)
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env, start_new_session=True)
    try:
        _, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGABRT)
        _, err = p.communicate(timeout=30)
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the pool's workers too
        except ProcessLookupError:
            pass
        pytest.fail(f"generate with a worker pool hung on a bad cutout; its threads:\n{err[-6000:]}")
    assert_one_line_error(p.returncode, err, "no alpha")


@pytest.fixture()
def pred_args(bad, tiny_checkpoint, tmp_path):
    return {
        **{k: str(v) for k, v in bad.items()},
        "ckpt": str(tiny_checkpoint),
        "missing": str(tmp_path / "missing.pt"),
        "out": str(tmp_path / "pred"),
    }


@pytest.mark.parametrize(
    "bg,image,ckpt,match",
    [
        ("good.png", "truncated.jpg", "ckpt", "truncated"),
        ("good.png", "empty.png", "ckpt", "empty file"),
        ("good.png", "notimage.png", "ckpt", "not a readable image"),
        ("empty.png", "good.png", "ckpt", "empty file"),
        ("wide.png", "good.png", "ckpt", "different framing"),
        ("good.png", "wide.png", "ckpt", "different framing"),
        ("good.png", "missing", "ckpt", "not found"),
        ("good.png", "good.jpg", "random.pt", "corrupt checkpoint"),
        ("good.png", "good.jpg", "noformat.pt", "not a maskdepth checkpoint"),
        ("good.png", "good.jpg", "missing", "not found"),
        ("empty_dir", "good.png", "ckpt", "--bg is a folder"),
    ],
)
def test_predict_errors(bg, image, ckpt, match, pred_args, capsys):
    rc, out, err = run(
        capsys, "predict", "--bg", pred_args[bg], "--image", pred_args[image], "--checkpoint", pred_args[ckpt], "--out", pred_args["out"]
    )
    assert_one_line_error(rc, err, match)
    assert out == ""
    assert not (Path(pred_args["out"]) / "mask.png").exists()


def test_other_commands_errors(tmp_path, tiny_checkpoint, capsys):
    rc, _, err = run(capsys, "train", "--data", tmp_path / "nodata", "--run-dir", tmp_path / "run", "--model", "tiny", "--quiet")
    assert_one_line_error(rc, err, "manifest not found")
    rc, _, err = run(capsys, "evaluate", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "ev", "--quiet")
    assert_one_line_error(rc, err, "nothing to evaluate")
    rc, _, err = run(
        capsys, "evaluate", "--checkpoint", tiny_checkpoint, "--data", tmp_path / "nodata", "--out", tmp_path / "ev", "--quiet"
    )
    assert_one_line_error(rc, err, "manifest")
    assert not (tmp_path / "ev" / "metrics.json").exists()


def test_subprocess_error_has_no_traceback(bad, tiny_checkpoint, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "maskdepth.cli",
        "predict",
        "--bg",
        str(bad["good.png"]),
        "--image",
        str(bad["truncated.jpg"]),
        "--checkpoint",
        str(tiny_checkpoint),
        "--out",
        str(tmp_path / "o"),
    ]
    env = {k: v for k, v in os.environ.items() if k != "MASKDEPTH_DEBUG"}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert p.returncode == 2
    assert_one_line_error(p.returncode, p.stderr, "truncated")
    assert not (tmp_path / "o" / "mask.png").exists()


# --------------------------------------------------------------------------- the whole job
def test_generate_train_evaluate_predict(tmp_path, bg_dir, fg_dir, capsys):
    ds, run_dir, ev, pred = tmp_path / "ds", tmp_path / "run", tmp_path / "eval", tmp_path / "pred"
    rc, out, err = run(
        capsys,
        "generate",
        "--out",
        ds,
        "--render",
        "4",
        "--procedural-fg",
        "4",
        "-n",
        "48",
        "--size",
        "64",
        "--shard-size",
        "24",
        "--workers",
        "1",
        "--quiet",
    )
    assert rc == 0, err
    assert "48 samples" in out and "complete=True" in out
    rc, out, err = run(
        capsys,
        "train",
        "--data",
        ds,
        "--run-dir",
        run_dir,
        "--model",
        "tiny",
        "--no-pretrained",
        "--max-steps",
        "5",
        "--batch-size",
        "8",
        "--workers",
        "0",
        "--quiet",
    )
    assert rc == 0, err
    assert "trained 5/5 steps" in out
    ckpt = run_dir / "checkpoints" / "last.pt"
    assert ckpt.exists()
    rc, out, err = run(capsys, "evaluate", "--checkpoint", ckpt, "--data", ds, "--limit", "4", "--out", ev, "--quiet")
    assert rc == 0, err
    m = json.loads((ev / "metrics.json").read_text())
    assert (ev / "metrics.md").exists() and "| composites/all | model |" in (ev / "metrics.md").read_text()
    # the command's numbers are the metrics of these 4 composites, recomputed here from the library parts
    from maskdepth.data.dataset import MaskDepthDataset
    from maskdepth.evaluate import baselines, metrics
    from maskdepth.inference.predictor import load_predictor

    predictor, test = load_predictor(str(ckpt)), MaskDepthDataset(ds, "test", limit=4)
    raws = [test.raw(i) for i in range(4)]
    expect = {
        "model": [metrics.mask_iou(predictor.predict(r["bg"], r["fg_bg"]).mask, r["mask"]) for r in raws],
        "classical": [metrics.mask_iou(baselines.classical_mask(r["bg"], r["fg_bg"]), r["mask"]) for r in raws],
    }
    for method, ious in expect.items():
        s = m["summary"]["composites/all"][method]
        assert s["n"] == 4 and s["iou"] == pytest.approx(float(np.mean(ious)), abs=1e-6), method
    assert m["protocol"]["input_short_side"] == 64
    # the run's config.yaml replays it: same settings, same weights
    rc, out, err = run(capsys, "train", "--config", run_dir / "config.yaml", "--run-dir", tmp_path / "replay")
    assert rc == 0, err
    import yaml

    first, again = (yaml.safe_load((d / "config.yaml").read_text())["train"] for d in (run_dir, tmp_path / "replay"))
    assert again.pop("run_dir") != first.pop("run_dir") and again == first
    w1, w2 = (torch.load(d / "checkpoints" / "last.pt", weights_only=False)["state_dict"] for d in (run_dir, tmp_path / "replay"))
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    # predict on one held-out composite written out as files
    from maskdepth.data.dataset import MaskDepthDataset

    r = MaskDepthDataset(ds, "test").raw(0)
    Image.fromarray(r["bg"]).save(tmp_path / "bg.png")
    Image.fromarray(r["fg_bg"]).save(tmp_path / "img.png")
    rc, out, err = run(
        capsys, "predict", "--bg", tmp_path / "bg.png", "--image", tmp_path / "img.png", "--checkpoint", ckpt, "--out", pred, "--json"
    )
    assert rc == 0, err
    rec = json.loads(out.strip())
    assert rec["out"] == str(pred)
    for name in ("mask.png", "depth.png", "depth.json", "depth_color.png", "overlay.png"):
        assert (pred / name).exists(), name
    assert Image.open(pred / "mask.png").size == (64, 64)


def _usage_error(capsys, *args):
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_usage_errors_are_one_line(capsys):
    rc, out, err = _usage_error(capsys, "train", "--data", "x", "--run-dir", "y", "--res-schedule", "48")
    assert rc == 2 and out == ""
    assert err.strip().count("\n") == 0 and "multiples of 32" in err and "see maskdepth train --help" in err
    rc, _, err = _usage_error(capsys, "train", "--data", "x", "--run-dir", "y", "--depth-loss", "l2")
    assert rc == 2 and err.strip().count("\n") == 0 and "invalid choice" in err


def test_main_leaves_the_warning_hooks_alone(tmp_path, capsys):
    """``main`` prints warnings as one line but restores ``warnings.showwarning`` / ``formatwarning`` on return."""
    import warnings

    before = (warnings.showwarning, warnings.formatwarning)
    p = tmp_path / "c.yaml"
    p.write_text("train: {data: d, run_dir: r}\n")
    assert main(["config", "show", "train", "--config", str(p)]) == 0
    assert (warnings.showwarning, warnings.formatwarning) == before
