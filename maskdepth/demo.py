"""``maskdepth demo``: the whole job in one command, on embedded default data or on real photos.

Embedded default (no data options, no ``MASKDEPTH_DATA``): rooms rendered by
:mod:`maskdepth.data.render` (exact metric depth) and procedural foreground
silhouettes. With ``--bg-dir/--fg-dir/--rgbd-dir``, or ``MASKDEPTH_DATA`` pointing at a
folder laid out like ``../shared/data`` (``real/bg``, ``real/fg``, ``rgbd/tum_rgbd``,
``realtest``), it uses those photos. Steps: generate → train (time-boxed) →
evaluate (held-out composites, and real photos when present) → predict on test
pairs → ``report.md`` with the sample grid, saying which data it used.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .errors import MaskDepthError
from .io import atomic_write_text


def _data_from_env() -> dict:
    root = os.environ.get("MASKDEPTH_DATA")
    if not root:
        return {}
    r = Path(root)
    if not r.is_dir():
        raise MaskDepthError(f"MASKDEPTH_DATA is not a directory: {r}")
    found = {
        "bg_dir": r / "real" / "bg",
        "fg_dir": r / "real" / "fg",
        "rgbd_dir": r / "rgbd" / "tum_rgbd",
        "realtest": r / "realtest",
    }
    return {k: str(v) for k, v in found.items() if v.is_dir()}


def _steps_for_budget(model: str, size: int, batch: int, minutes: float) -> int:
    """Optimiser steps that fit in ``minutes`` on this machine, from timing two steps (so the
    one-cycle schedule ends when the budget does)."""
    import torch

    from .model import create_model

    net = create_model(model, pretrained=False)
    opt = torch.optim.AdamW(net.parameters())
    x = torch.rand(batch, 3, size, size)
    times = []
    for _ in range(3):
        t = time.time()
        m, d = net(x, x)
        (m.mean() + d.mean()).backward()
        opt.step()
        times.append(time.time() - t)
    per_step = min(times[1:]) * 1.25  # + data loading and logging
    return max(20, int(minutes * 60 / per_step))


def run_demo(
    out_dir: str,
    bg_dir: str | None = None,
    fg_dir: str | None = None,
    rgbd_dir: str | None = None,
    realtest: str | None = None,
    minutes: float = 6.0,
    n_samples: int = 4000,
    size: int = 96,
    model: str = "small",
    quiet: bool = False,
) -> str:
    """Run generate → train → evaluate → predict and write ``<out_dir>/report.md``; returns its path.

    Raises: MaskDepthError for unusable data folders or an output folder in the way.
    """
    from .checkpoint import load_model
    from .data.generate import generate
    from .data.generate_config import GenerateConfig
    from .evaluate.markdown import markdown_table
    from .evaluate.run import evaluate
    from .inference.predictor import Predictor, write_outputs
    from .train.loop import TrainConfig, train

    out = Path(out_dir)
    env = _data_from_env() if not (bg_dir or fg_dir or rgbd_dir) else {}
    bg_dir, fg_dir, rgbd_dir = bg_dir or env.get("bg_dir"), fg_dir or env.get("fg_dir"), rgbd_dir or env.get("rgbd_dir")
    realtest = realtest or env.get("realtest")
    real = bool(bg_dir or rgbd_dir)
    if real and not fg_dir:
        raise MaskDepthError("real backgrounds need foreground cutouts too: give --fg-dir")
    t0 = time.time()
    timings = {}
    cfg = GenerateConfig(
        out_dir=str(out / "dataset"),
        bg_dir=bg_dir,
        fg_dir=fg_dir,
        rgbd_dir=rgbd_dir,
        render=0 if real else 200,
        procedural_fg=0 if fg_dir else 60,
        n_samples=n_samples,
        size=size,
        shard_size=500,
    )
    generate(cfg, workers=os.cpu_count() or 1, resume=True, quiet=quiet)
    timings["generate_s"] = time.time() - t0

    t1 = time.time()
    run_dir = out / "run"
    prev = run_dir / "train_config.json"
    resume = (run_dir / "checkpoints" / "last.pt").exists()
    # a resumed demo keeps the step count (and so the learning-rate schedule) it started with
    steps = json.loads(prev.read_text())["max_steps"] if resume and prev.exists() else _steps_for_budget(model, size, 32, minutes)
    tc = TrainConfig(
        data=cfg.out_dir,
        run_dir=str(run_dir),
        model=model,
        epochs=1000,
        batch_size=32,
        lr=2e-3,
        workers=1,
        max_steps=steps,
        max_minutes=minutes * 1.5,
        ckpt_every=100,
        val_limit=128,
    )
    summary = train(tc, resume=resume, quiet=quiet)
    timings["train_s"] = time.time() - t1

    t2 = time.time()
    net, _ = load_model(run_dir / "checkpoints" / "last.pt")
    predictor = Predictor(net, size=size)
    res = evaluate(predictor, str(out / "eval"), data_dir=cfg.out_dir, realtest_dir=realtest, command="maskdepth demo", quiet=quiet)
    timings["evaluate_s"] = time.time() - t2

    from .data.dataset import MaskDepthDataset

    test = MaskDepthDataset(cfg.out_dir, "test", limit=4)
    for i in range(len(test)):
        r = test.raw(i)
        write_outputs(out / "predictions" / r["meta"]["key"], r["fg_bg"], predictor.predict(r["bg"], r["fg_bg"]))
    timings["total_s"] = time.time() - t0

    data_line = (
        f"real photos: bg `{bg_dir}`, fg `{fg_dir}`, RGB-D `{rgbd_dir}`"
        if real
        else "the embedded default: 200 rendered rooms (exact depth) and 60 procedural silhouettes"
    )
    report = [
        "# maskdepth demo report",
        "",
        f"Data: {data_line}; {n_samples} composites at {size} px (held-out backgrounds and foregrounds for val/test).",
        f"Model: `{model}`, trained {summary['steps']} steps ({minutes} min budget) on the CPU.",
        f"Real test photos: `{realtest}`." if realtest else "Real test photos: none given.",
        "",
        "Time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()),
        "",
        "## Test predictions (held-out composites)",
        "",
        "![grid](eval/test_grid.png)",
        "",
        "Columns: bg, fg_bg, GT mask, predicted mask, GT depth, predicted depth.",
        "",
    ]
    if (out / "eval" / "realpairs_grid.png").exists():
        report += ["## Real pairs", "", "![real pairs](eval/realpairs_grid.png)", ""]
    report += [markdown_table(res["summary"]).replace("# maskdepth evaluation", "## Metrics"), "", "Per-pair outputs: `predictions/`."]
    atomic_write_text(out / "report.md", "\n".join(report) + "\n")
    return str(out / "report.md")
