"""Training throughput on this machine (a benchmark, not a test): samples/s of full training
steps (data loading, forward, backward, AdamW step) of the default model at 128 px, under
the options that may raise it: DataLoader workers, channels_last, bf16 autocast, torch.compile.

    python -m benchmarks.train_throughput --data work/real128 [--steps 12] [--out results/train_throughput]

Writes ``<out>.json`` and ``<out>.md``. Each configuration runs ``--warmup`` untimed steps,
then ``--steps`` timed steps, ``--repeats`` times; the table gives min/median/max samples/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from benchmarks.common import command_line, write_json_md
from maskdepth.data.dataset import MaskDepthDataset
from maskdepth.model import create_model
from maskdepth.train.loop import EpochSampler
from maskdepth.train.losses import MultiTaskLoss


def run(cfg: dict, ds, args) -> list[float]:
    torch.manual_seed(0)
    model = create_model("small", pretrained=False)
    if cfg.get("channels_last"):
        model = model.to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if cfg.get("compile") else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = MultiTaskLoss()
    loader = DataLoader(
        ds,
        batch_size=args.batch,
        sampler=EpochSampler(len(ds), 0, 0),
        num_workers=cfg["workers"],
        drop_last=True,
        persistent_workers=cfg["workers"] > 0,
    )
    it = iter(loader)
    rates = []
    for r in range(args.repeats):
        n_steps = args.warmup + args.steps if r == 0 else args.steps
        t0 = None
        for s in range(n_steps):
            if r == 0 and s == args.warmup or (r > 0 and s == 0):
                t0 = time.perf_counter()
            b = next(it)
            bg, fg = b["bg"], b["fg_bg"]
            if cfg.get("channels_last"):
                bg, fg = bg.contiguous(memory_format=torch.channels_last), fg.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(cfg.get("bf16"))):
                logits, log_depth = step_model(bg, fg)
            loss, _ = loss_fn(logits.float(), log_depth.float(), b)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rates.append(args.steps * args.batch / (time.perf_counter() - t0))
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="work/real128")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compile", action="store_true", help="also try torch.compile (slow to compile on CPU)")
    ap.add_argument("--out", default="results/train_throughput")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    ds = MaskDepthDataset(args.data, "train", hflip=True)
    configs = [
        {"name": "baseline: 0 workers, fp32", "workers": 0},
        {"name": "1 DataLoader worker", "workers": 1},
        {"name": "2 DataLoader workers", "workers": 2},
        {"name": "1 worker + channels_last", "workers": 1, "channels_last": True},
        {"name": "1 worker + bf16 autocast", "workers": 1, "bf16": True},
    ]
    if args.compile:
        configs.append({"name": "1 worker + torch.compile", "workers": 1, "compile": True})
    rows = []
    for c in configs:
        try:
            rates = run(c, ds, args)
            rows.append({**c, "samples_per_s": {"min": min(rates), "median": statistics.median(rates), "max": max(rates)}})
        except Exception as e:  # a backend that does not work here is reported, not fatal
            rows.append({**c, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"})
        print(rows[-1], flush=True)
    cmd = command_line("train_throughput")
    base = rows[0]["samples_per_s"]["median"]
    out = {
        "command": cmd,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "loadavg": os.getloadavg(),
        },
        "batch": args.batch,
        "size": ds.size,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    md = [
        f"# Training throughput (default model, {ds.size} px, batch {args.batch}, CPU)",
        "",
        f"Command: `{cmd}`",
        "",
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} logical CPUs; load average at the end {os.getloadavg()}",
        "",
        "| configuration | samples/s median (min–max) | vs baseline |",
        "|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            md.append(f"| {r['name']} | failed: {r['error']} | – |")
        else:
            v = r["samples_per_s"]
            md.append(f"| {r['name']} | {v['median']:.1f} ({v['min']:.1f}–{v['max']:.1f}) | {v['median'] / base:.2f}× |")
    write_json_md(args.out, out, "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
