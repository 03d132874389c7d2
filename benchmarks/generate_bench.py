"""Dataset-generation benchmark: composites per second, peak memory and bytes per sample.

Times a representative slice of a preset (default ``classic400k``: 408 shards of 1,000
composites at 224 px) with ``--shard-index 0 --num-shards K`` (every K-th shard, so the
slice spans the whole dataset: train, val and test) and extrapolates to the full preset.
Three modes:

* ``default``: real photos + TUM RGB-D (every 10th frame) + 60 rendered rooms, real cutouts
  (``../shared/data``; the embedded rendered rooms / procedural silhouettes when absent),
  default augmentation;
* ``teacher_per_background`` and ``teacher_per_composite``: photo backgrounds only, depth
  labels from a small ONNX "teacher" exported here (an 8-layer conv net at 256 px), run
  once per background vs once per composite.

Writes ``<out-dir>/generate_bench.json`` and ``.md`` with the machine, its load (the
1-minute load average before and after and the busiest other processes), and the
exact command. Run it on an otherwise idle machine::

    OMP_NUM_THREADS=1 python -m benchmarks.generate_bench            # ~10 min on 2 cores
    OMP_NUM_THREADS=1 python -m benchmarks.generate_bench --quick    # seconds: checks the script

Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

from benchmarks.common import command_line, cpu_model, write_json_md
from maskdepth.data import generate as G
from maskdepth.data.generate_config import config_from_preset
from maskdepth.data.plan import plan, shard_list
from maskdepth.data.teacher import load_teacher

REPO = Path(__file__).resolve().parents[1]


def machine_info() -> dict:
    import cv2
    import numpy as np

    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "memory_gib": mem,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "platform": platform.platform(),
    }


def load_info() -> dict:
    la = os.getloadavg()
    busy = []
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,etime,args", "--sort=-pcpu"], capture_output=True, text=True, timeout=10).stdout
        me = {os.getpid(), os.getppid()}
        for line in out.splitlines()[1:6]:
            parts = line.split(None, 3)
            if len(parts) == 4 and int(parts[0]) not in me and float(parts[1]) >= 5.0:
                busy.append({"pid": int(parts[0]), "cpu_percent": float(parts[1]), "elapsed": parts[2], "command": parts[3][:160]})
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return {"loadavg_1_5_15": [round(x, 2) for x in la], "busy_processes": busy}


def export_teacher(path: Path, side: int = 256) -> None:
    """A small conv encoder-decoder (3 -> 1 channels, positive output) at ``side`` px, as ONNX."""
    import torch

    class Teacher(torch.nn.Module):
        def __init__(self):
            super().__init__()
            c = 24
            self.enc = torch.nn.Sequential(
                torch.nn.Conv2d(3, c, 3, 2, 1),
                torch.nn.ReLU(),
                torch.nn.Conv2d(c, c, 3, 2, 1),
                torch.nn.ReLU(),
                torch.nn.Conv2d(c, c, 3, 2, 1),
                torch.nn.ReLU(),
                torch.nn.Conv2d(c, c, 3, 1, 1),
                torch.nn.ReLU(),
            )
            self.dec = torch.nn.Sequential(
                torch.nn.Upsample(scale_factor=2),
                torch.nn.Conv2d(c, c, 3, 1, 1),
                torch.nn.ReLU(),
                torch.nn.Upsample(scale_factor=2),
                torch.nn.Conv2d(c, c, 3, 1, 1),
                torch.nn.ReLU(),
                torch.nn.Upsample(scale_factor=2),
                torch.nn.Conv2d(c, 1, 3, 1, 1),
            )

        def forward(self, x):
            return torch.nn.functional.softplus(self.dec(self.enc(x))) + 0.01

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Teacher().eval(),
            torch.rand(1, 3, side, side),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["image"],
            output_names=["disparity"],
        )


def _cpu_seconds() -> float:
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def peak_rss_mb() -> dict:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"main_process_mb": round(self_kb / 1024, 1), "largest_worker_mb": round(child_kb / 1024, 1)}


def run_mode(name: str, cfg_kw: dict, preset: str, shards: int, workers: int, work: Path, quick: bool) -> dict:
    from dataclasses import asdict

    out = work / name
    if out.exists():
        shutil.rmtree(out)
    cfg = config_from_preset(preset, out_dir=str(out), **cfg_kw)
    all_shards = shard_list(cfg)
    K = max(1, len(all_shards) // shards)
    # 1) background preparation (a one-off cost per dataset), timed on its own
    bgs, _, _ = plan(cfg)
    (out / "backgrounds").mkdir(parents=True)
    (out / "shards").mkdir()
    tb = time.perf_counter()
    if cfg.teacher:
        load_teacher(cfg.teacher)
    G.prepare_backgrounds(cfg, bgs, workers, quiet=True)
    t_bg = time.perf_counter() - tb
    # 2) the slice: every K-th shard (the backgrounds are there, so generate() only composites)
    mine = [s for i, s in enumerate(all_shards) if i % K == 0]
    n = sum(s["count"] for s in mine)
    cpu0 = _cpu_seconds()
    t1 = time.perf_counter()
    G.generate(cfg, workers=workers, shard_index=0, num_shards=K, quiet=True)
    t_slice = time.perf_counter() - t1
    cpu = _cpu_seconds() - cpu0  # this process + its finished pool workers: independent of other load
    tar_bytes = sum((out / "shards" / f"{s['name']}.tar").stat().st_size for s in mine)
    bg_bytes = sum(p.stat().st_size for p in (out / "backgrounds").iterdir())
    total = sum(s["count"] for s in all_shards)
    rate = n / t_slice
    res = {
        "mode": name,
        "preset": preset,
        "config": {k: v for k, v in asdict(cfg).items() if k != "out_dir"},
        "workers": workers,
        "slice": {"shards": [s["name"] for s in mine], "samples": n, "every_kth_shard": K},
        "seconds": round(t_slice, 2),
        "samples_per_s": round(rate, 1),
        "ms_per_sample_per_worker": round(1000 * t_slice * workers / n, 3),
        "cpu_ms_per_sample": round(1000 * cpu / n, 3),
        "idle_estimate_samples_per_s": round(workers * n / cpu, 1),
        "backgrounds": {"count": len(bgs), "prepare_seconds": round(t_bg, 2), "bytes": bg_bytes},
        "bytes_per_sample": round(tar_bytes / n, 1),
        "full_dataset": {
            "samples": total,
            "shards": len(all_shards),
            "extrapolated_hours": round((total / rate + t_bg) / 3600, 3),
            "extrapolated_gb": round((tar_bytes / n * total + bg_bytes) / 1e9, 2),
            "note": f"extrapolated linearly from the {n}-sample slice (its time includes process-pool start-up and "
            "per-worker loading of backgrounds and cutouts) plus the measured background preparation",
        },
        "peak_rss": peak_rss_mb(),
    }
    print(
        f"{name}: {n} samples in {t_slice:.1f} s = {rate:.0f}/s with {workers} workers; {tar_bytes / n / 1024:.1f} KiB/sample; "
        f"{len(bgs)} backgrounds in {t_bg:.1f} s",
        flush=True,
    )
    if not quick and os.environ.get("KEEP_BENCH_DATA") != "1":
        shutil.rmtree(out, ignore_errors=True)
    return res


def markdown(rep: dict) -> str:
    L = [
        "# Dataset generation benchmark",
        "",
        f"Command: `{rep['command']}`",
        "",
        f"Machine: {rep['machine']['cpu']}, {rep['machine']['logical_cores']} logical cores, {rep['machine']['memory_gib']} GiB; "
        f"Python {rep['machine']['python']}, NumPy {rep['machine']['numpy']}, OpenCV {rep['machine']['opencv']}.",
        "",
        f"Load: 1/5/15-min load average {rep['load_before']['loadavg_1_5_15']} before, {rep['load_after']['loadavg_1_5_15']} after.",
    ]
    busy = rep["load_before"]["busy_processes"]
    if busy:
        L.append(
            "Other busy processes at the start (the figures below are lower than on an idle machine): "
            + "; ".join(f"pid {b['pid']} {b['cpu_percent']}% `{b['command'][:80]}`" for b in busy)
            + "."
        )
    else:
        L.append("No other process used >= 5 % CPU at the start.")
    d0 = rep["modes"][0]
    L += [
        "",
        f"Target: >= 400 composites/s at 224 px on 2 cores in the default mode -> measured (wall clock) "
        f"**{'met' if rep['target_met'] else 'NOT met'}** ({d0['samples_per_s']}/s); CPU time per composite "
        f"{d0['cpu_ms_per_sample']} ms, i.e. about {d0['idle_estimate_samples_per_s']}/s with {d0['workers']} workers on idle cores "
        "(an estimate that assumes the workers scale; the wall-clock figure is the measurement).",
        "",
        "| mode | slice | s | composites/s | CPU ms/composite | idle estimate /s | KiB/sample | backgrounds (s) | full preset: h, GB | peak RSS main / worker (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in rep["modes"]:
        f = m["full_dataset"]
        L.append(
            f"| {m['mode']} | {m['slice']['samples']} ({len(m['slice']['shards'])} shards) | {m['seconds']} | {m['samples_per_s']} | "
            f"{m['cpu_ms_per_sample']} | {m['idle_estimate_samples_per_s']} | {m['bytes_per_sample'] / 1024:.1f} | "
            f"{m['backgrounds']['count']} ({m['backgrounds']['prepare_seconds']}) | "
            f"{f['extrapolated_hours']}, {f['extrapolated_gb']} | {m['peak_rss']['main_process_mb']} / {m['peak_rss']['largest_worker_mb']} |"
        )
    L += [
        "",
        "The teacher modes use a random-weight conv net as the teacher: its disparity is noisy, so their depth PNGs "
        "compress far worse (KiB/sample) than a real teacher's smooth output would.",
    ]
    L += [
        "",
        f"Extrapolation: {rep['modes'][0]['full_dataset']['note']}. The slice is every K-th shard "
        "(`--shard-index 0 --num-shards K`), so it covers train, val and test.",
        "",
        "Contact sheet of composites from real photos, TUM RGB-D backgrounds and rendered rooms (`results/contact_sheet.png`):",
        "",
        "```bash",
        *rep["contact_sheet_commands"],
        "```",
        "",
    ]
    return "\n".join(L)


CONTACT_SHEET_COMMANDS = [
    "maskdepth generate --out work/sheet_ds --bg-dir ../shared/data/real/bg --fg-dir ../shared/data/real/fg "
    "--rgbd-dir ../shared/data/rgbd/tum_rgbd --rgbd-every 20 --render 30 -n 400 --size 224 --shard-size 200 --seed 3",
    "maskdepth dataset show work/sheet_ds -n 18 --seed 1 --cell 160 --out results/contact_sheet.png",
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="classic400k")
    ap.add_argument("--shards", type=int, default=4, help="shards in the timed slice (default 4 = 4,000 samples)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--shared", default=str(REPO.parent / "shared" / "data"), help="folder laid out like ../shared/data")
    ap.add_argument("--work-dir", default=str(REPO / "work" / "bench_generate"))
    ap.add_argument("--out-dir", default=str(REPO / "results"))
    ap.add_argument("--modes", default="default,teacher_per_background,teacher_per_composite")
    ap.add_argument("--quick", action="store_true", help="a few seconds: 64 px, 1 shard of 100, embedded sources (checks the script)")
    a = ap.parse_args(argv)
    work = Path(a.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    shared = Path(a.shared)
    have_shared = (
        (shared / "real" / "bg").is_dir() and (shared / "real" / "fg").is_dir() and (shared / "rgbd" / "tum_rgbd" / "meta.json").is_file()
    )
    teacher = work / "bench_teacher.onnx"
    modes_wanted = [m.strip() for m in a.modes.split(",") if m.strip()]
    if any(m.startswith("teacher") for m in modes_wanted):
        export_teacher(teacher)
    base = {}
    if a.quick:
        base = {
            "size": 64,
            "shard_size": 100,
            "grid": {"bgs": {"train": 4, "val": 1, "test": 1}, "fgs": {"train": 4, "val": 1, "test": 1}, "flips": 2, "placements": 3},
        }
    modes = []
    rep = {
        "command": command_line("generate_bench", argv, prefix=f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} python"),
        "machine": machine_info(),
        "load_before": load_info(),
        "shared_data": have_shared,
    }
    for m in modes_wanted:
        kw = dict(base)
        if m == "default":
            if have_shared and not a.quick:
                kw.update(
                    bg_dir=str(shared / "real" / "bg"),
                    fg_dir=str(shared / "real" / "fg"),
                    rgbd_dir=str(shared / "rgbd" / "tum_rgbd"),
                    rgbd_every=10,
                    render=60,
                )
        elif m in ("teacher_per_background", "teacher_per_composite"):
            if have_shared and not a.quick:
                kw.update(bg_dir=str(shared / "real" / "bg"), fg_dir=str(shared / "real" / "fg"))
            else:
                import numpy as np
                from PIL import Image

                pd = work / "photos"
                pd.mkdir(exist_ok=True)
                rng = np.random.default_rng(0)
                for i in range(12):
                    Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(pd / f"p{i:02d}.jpg")
                kw.update(bg_dir=str(pd), procedural_fg=12, val_frac=0.25, test_frac=0.25)
            kw.update(teacher=str(teacher), teacher_mode=m.split("teacher_")[1], mix={"photo": 1.0, "rgbd": 0.0, "render": 0.0})
        else:
            raise SystemExit(f"unknown mode {m}")
        modes.append(run_mode(m, kw, a.preset, 1 if a.quick else a.shards, a.workers, work, a.quick))
    rep["load_after"] = load_info()
    rep["modes"] = modes
    rep["target_met"] = bool(modes and modes[0]["mode"] == "default" and modes[0]["samples_per_s"] >= 400 and not a.quick)
    rep["contact_sheet_commands"] = CONTACT_SHEET_COMMANDS
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = "generate_bench_quick" if a.quick else "generate_bench"
    write_json_md(out / name, rep, markdown(rep))
    print(f"wrote {out / (name + '.json')} and {out / (name + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
