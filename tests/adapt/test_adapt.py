"""``maskdepth adapt`` (issue 22): a tiny adaptation improves a tiny model on a synthetic camera, the budget
is honoured, an interrupted run resumes, bad input gives one line and writes nothing, and the split
forward equals the model's own forward. Tiny everything (a ``tiny`` model at 64 px), one thread."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from maskdepth.adapt.split import decode, encode, set_trainable
from maskdepth.checkpoint import load_model, save_checkpoint
from maskdepth.cli import main
from maskdepth.data.composite import crop_to_alpha, paste, place_at, prepare_cutout, resize_premultiplied
from maskdepth.data.procedural import procedural_foreground
from maskdepth.model import create_model, set_mask_prior

H, W = 96, 128


def _camera(root: Path, n: int = 16) -> tuple[Path, Path]:
    """A synthetic fixed camera: a textured empty scene ``bg.png`` and ``n`` JPEG frames with one
    procedural person walking across (sensor noise sigma 3), half of them empty."""
    rng = np.random.default_rng(5)
    coarse = rng.uniform(40, 220, size=(6, 8, 3)).astype(np.float32)
    bg = np.clip(cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC) + rng.normal(0, 6, (H, W, 3)), 0, 255).astype(np.uint8)
    frames = root / "frames"
    frames.mkdir(parents=True)
    cut = prepare_cutout(crop_to_alpha(procedural_foreground(np.random.default_rng(1), "person", 120)))
    for i in range(n):
        img = bg
        if i % 2:
            c = resize_premultiplied(cut, 50, False)
            img = paste(bg, None, place_at((10 + 7 * i, 90), 50, c.shape, False, None, None, "ground_prior"), cutout=c).fg_bg
        img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(frames / f"{i:04d}.jpg"), img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(str(root / "bg.png"), bg[..., ::-1])
    return root / "bg.png", frames


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    return _camera(tmp_path_factory.mktemp("camera"))


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    """An untrained ``tiny`` model (seed 0, foreground prior 0.5: everything is foreground) as a maskdepth checkpoint for 64 px."""
    torch.manual_seed(0)
    p = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    model = create_model("tiny", pretrained=False)
    set_mask_prior(model, 0.5)
    save_checkpoint(p, model, None, {"size": 64})
    return p


def _adapt(camera, ckpt, out, *extra) -> int:
    bg, frames = camera
    args = ["adapt", "--bg", bg, "--frames", frames, "--out", out, "--checkpoint", ckpt, "--val-samples", 12, "--eval-every", 5]
    return main([str(a) for a in [*args, "--batch-size", 6, "--threads", 1, "--quiet", *extra]])


@pytest.mark.parametrize("part", ["heads", "decoder"])
def test_split_forward_equals_model_forward(tiny_ckpt, part):
    model, _ = load_model(tiny_ckpt)
    set_trainable(model, part)
    g = torch.Generator().manual_seed(0)
    bg, fg = torch.rand(2, 3, 64, 96, generator=g), torch.rand(2, 3, 64, 96, generator=g)
    with torch.no_grad():
        ref = model(bg, fg)
        got = decode(model, *encode(model, bg, fg, part), part)
    for r, o in zip(ref, got):
        torch.testing.assert_close(o, r)


def test_adapt_improves_tiny_model_and_predict_uses_it(camera, tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "cam"
    steps = ["--minutes", 1.5, "--max-steps", 250, "--eval-every", 10, "--patience", 30]
    assert _adapt(camera, tiny_ckpt, out, *steps, "--part", "decoder", "--lr", 1e-2) == 0
    s = json.loads((out / "adapt.json").read_text())
    iou = s["held_out_iou"]
    assert s["kept_adapted"], s["why"]
    assert iou["written_model"] > iou["base"] + 0.05, iou
    for f in ("model.pt", "model.onnx", "model.onnx.json"):
        assert (out / f).is_file()
    assert json.loads((out / "model.onnx.json").read_text())["parity"]["max_abs_diff"]["mask_logits"] < 1e-3
    bg, frames = camera
    pred_out = tmp_path / "pred"
    rc = main(
        ["predict", "--bg", str(bg), "--image", str(frames / "0001.jpg"), "--checkpoint", str(out / "model.onnx"), "--out", str(pred_out)]
    )
    assert rc == 0, capsys.readouterr().err
    assert any(pred_out.rglob("*mask*.png"))


def test_budget_is_honoured(camera, tiny_ckpt, tmp_path):
    out = tmp_path / "b"
    t = time.monotonic()
    assert _adapt(camera, tiny_ckpt, out, "--minutes", 0.05, "--patience", 1000) == 0
    wall = time.monotonic() - t
    s = json.loads((out / "adapt.json").read_text())
    assert s["stopped"].startswith("time budget")
    assert s["loop_s"] < 3.0 + 5.0  # the budget, plus at most one step and one score
    assert wall < 60, wall


def test_interrupted_run_resumes(camera, tiny_ckpt, tmp_path):
    out = tmp_path / "r"
    assert _adapt(camera, tiny_ckpt, out, "--max-steps", 5) == 0
    first = json.loads((out / "adapt.json").read_text())
    assert first["steps"] == 5 and first["runs"] == 1
    assert _adapt(camera, tiny_ckpt, out, "--max-steps", 10) == 0
    second = json.loads((out / "adapt.json").read_text())
    assert second["steps"] == 10 and second["runs"] == 2  # the state was reloaded: steps 6..10 followed 1..5
    assert second["history"][: len(first["history"])] == first["history"]
    assert second["loop_s"] >= first["loop_s"]


def test_bad_inputs_one_line_nothing_written(camera, tiny_ckpt, tmp_path, capsys):
    bg, frames = camera
    wide = tmp_path / "wide.png"
    cv2.imwrite(str(wide), np.zeros((H, 2 * W, 3), np.uint8))
    empty = tmp_path / "empty"
    empty.mkdir()
    notmodel = tmp_path / "not_a_model.pt"
    torch.save({"weights": torch.zeros(3)}, notmodel)
    cases = [
        (["--bg", wide, "--frames", frames, "--checkpoint", tiny_ckpt], "different framing"),
        (["--bg", bg, "--frames", empty, "--checkpoint", tiny_ckpt], "no images"),
        (["--bg", bg, "--frames", frames, "--checkpoint", notmodel], "not a maskdepth checkpoint"),
    ]
    for i, (args, words) in enumerate(cases):
        out = tmp_path / f"out{i}"
        rc = main(["adapt", *map(str, args), "--out", str(out), "--quiet"])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1 and words in err, err
        assert not out.exists()
