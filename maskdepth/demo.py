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
from dataclasses import dataclass, replace
from pathlib import Path

from .config import option
from .errors import MaskDepthError
from .io import atomic_write_text


@dataclass
class DemoConfig:
    """The settings of ``maskdepth demo``: each field is also its flag (``bg_dir`` → ``--bg-dir``) and YAML key.

    With none of ``bg_dir``, ``fg_dir``, ``rgbd_dir`` the folders come from ``MASKDEPTH_DATA`` when it is set,
    else the demo renders its own rooms and silhouettes.
    """

    out: str = option("demo_out", "output folder")
    bg_dir: str | None = option(None, "background photos (real/bg layout)")
    fg_dir: str | None = option(None, "RGBA foreground cutouts (real/fg layout); needed with real backgrounds")
    rgbd_dir: str | None = option(None, "RGB-D backgrounds with measured depth (rgbd/tum_rgbd layout)")
    realtest: str | None = option(None, "real test photos (default: MASKDEPTH_DATA/realtest when present)")
    minutes: float = option(6.0, "training time budget in minutes")
    n_samples: int = option(4000, "composites generated (train/val/test)", flags=("--num-samples",))
    size: int = option(96, "composite and network input size in pixels")
    model: str = option("small", "model preset", cli=False)


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


def resolve_data(cfg: DemoConfig) -> DemoConfig:
    """``cfg`` with the data folders of ``MASKDEPTH_DATA`` filled in when none is given.

    Raises: MaskDepthError when real backgrounds come without ``fg_dir``, or ``MASKDEPTH_DATA`` is not a folder.
    """
    env = _data_from_env() if not (cfg.bg_dir or cfg.fg_dir or cfg.rgbd_dir) else {}
    cfg = replace(
        cfg,
        bg_dir=cfg.bg_dir or env.get("bg_dir"),
        fg_dir=cfg.fg_dir or env.get("fg_dir"),
        rgbd_dir=cfg.rgbd_dir or env.get("rgbd_dir"),
        realtest=cfg.realtest or env.get("realtest"),
    )
    if (cfg.bg_dir or cfg.rgbd_dir) and not cfg.fg_dir:
        raise MaskDepthError("is needed with real backgrounds (the foreground cutouts to paste)", param="fg_dir")
    return cfg


def _generate(cfg: DemoConfig, quiet: bool) -> str:
    """Generate the demo's composites into ``OUT/dataset`` (resumable); returns the dataset folder."""
    from .data.generate import generate
    from .data.generate_config import GenerateConfig

    real = bool(cfg.bg_dir or cfg.rgbd_dir)
    gen = GenerateConfig(
        out_dir=str(Path(cfg.out) / "dataset"),
        bg_dir=cfg.bg_dir,
        fg_dir=cfg.fg_dir,
        rgbd_dir=cfg.rgbd_dir,
        render=0 if real else 200,
        procedural_fg=0 if cfg.fg_dir else 60,
        n_samples=cfg.n_samples,
        size=cfg.size,
        shard_size=500,
    )
    generate(gen, workers=os.cpu_count() or 1, resume=True, quiet=quiet)
    return gen.out_dir


def _train(cfg: DemoConfig, data_dir: str, quiet: bool) -> dict:
    """Train for the time budget into ``OUT/run`` (a rerun resumes); returns the training summary."""
    from .train.loop import TrainConfig, train

    run_dir = Path(cfg.out) / "run"
    prev = run_dir / "train_config.json"
    resume = (run_dir / "checkpoints" / "last.pt").exists()
    # a resumed demo keeps the step count (and so the learning-rate schedule) it started with
    if resume and prev.exists():
        steps = json.loads(prev.read_text())["max_steps"]
    else:
        steps = _steps_for_budget(cfg.model, cfg.size, 32, cfg.minutes)
    tc = TrainConfig(
        data=data_dir,
        run_dir=str(run_dir),
        model=cfg.model,
        epochs=1000,
        batch_size=32,
        lr=2e-3,
        workers=1,
        max_steps=steps,
        max_minutes=cfg.minutes * 1.5,
        ckpt_every=100,
        val_limit=128,
    )
    return train(tc, resume=resume, quiet=quiet)


def _evaluate(cfg: DemoConfig, data_dir: str, quiet: bool):
    """Evaluate the trained model into ``OUT/eval``; returns ``(predictor, metrics.json dict)``."""
    from .checkpoint import load_model
    from .evaluate.run import evaluate
    from .inference.predictor import Predictor

    out = Path(cfg.out)
    net, _ = load_model(out / "run" / "checkpoints" / "last.pt")
    predictor = Predictor(net, size=cfg.size)
    res = evaluate(predictor, str(out / "eval"), data_dir=data_dir, realtest_dir=cfg.realtest, command="maskdepth demo", quiet=quiet)
    return predictor, res


def _predict_test_pairs(predictor, data_dir: str, out: Path, n: int = 4) -> None:
    """Write the predictor's outputs for the first ``n`` test composites into ``out/predictions/<key>``."""
    from .data.dataset import MaskDepthDataset
    from .inference.outputs import write_outputs
    from .inference.pipeline import run_frame

    test = MaskDepthDataset(data_dir, "test", limit=n)
    for i in range(len(test)):
        r = test.raw(i)
        write_outputs(out / "predictions" / r["meta"]["key"], r["fg_bg"], run_frame(predictor, r["fg_bg"], bg=r["bg"]))


def _report(cfg: DemoConfig, steps: int, timings: dict, summary: dict) -> str:
    """The text of ``report.md``: the data used, the model, the timings, the grids and the metrics table."""
    from .evaluate.markdown import markdown_table

    if cfg.bg_dir or cfg.rgbd_dir:
        data_line = f"real photos: bg `{cfg.bg_dir}`, fg `{cfg.fg_dir}`, RGB-D `{cfg.rgbd_dir}`"
    else:
        data_line = "the embedded default: 200 rendered rooms (exact depth) and 60 procedural silhouettes"
    report = [
        "# maskdepth demo report",
        "",
        f"Data: {data_line}; {cfg.n_samples} composites at {cfg.size} px (held-out backgrounds and foregrounds for val/test).",
        f"Model: `{cfg.model}`, trained {steps} steps ({cfg.minutes} min budget) on the CPU.",
        f"Real test photos: `{cfg.realtest}`." if cfg.realtest else "Real test photos: none given.",
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
    if (Path(cfg.out) / "eval" / "realpairs_grid.png").exists():
        report += ["## Real pairs", "", "![real pairs](eval/realpairs_grid.png)", ""]
    report += [markdown_table(summary).replace("# maskdepth evaluation", "## Metrics"), "", "Per-pair outputs: `predictions/`."]
    return "\n".join(report) + "\n"


def run_demo(cfg: DemoConfig, quiet: bool = False) -> str:
    """Run generate → train → evaluate → predict and write ``<cfg.out>/report.md``; returns its path.

    A rerun with the same ``cfg.out`` resumes the dataset and the training run.
    Raises: MaskDepthError for unusable data folders (naming ``fg_dir``, ``bg_dir``, ...) or an output folder in the way.
    """
    cfg = resolve_data(cfg)
    timings = {}
    t0 = time.time()
    data_dir = _generate(cfg, quiet)
    timings["generate_s"] = time.time() - t0
    t1 = time.time()
    summary = _train(cfg, data_dir, quiet)
    timings["train_s"] = time.time() - t1
    t2 = time.time()
    predictor, res = _evaluate(cfg, data_dir, quiet)
    timings["evaluate_s"] = time.time() - t2
    _predict_test_pairs(predictor, data_dir, Path(cfg.out))
    timings["total_s"] = time.time() - t0
    path = Path(cfg.out) / "report.md"
    atomic_write_text(path, _report(cfg, summary["steps"], timings, res["summary"]))
    return str(path)
