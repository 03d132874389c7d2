"""DDP through torchrun: 2 CPU processes (gloo) on the tiny model stay in sync, resume, and
match single-process training at equal global batch up to BatchNorm's per-rank statistics."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from maskdepth.checkpoint import read_checkpoint

TORCHRUN = Path(sys.executable).with_name("torchrun")


def _train(data, run_dir, nproc, extra=()):
    cmd = [
        sys.executable,
        "-m",
        "maskdepth.cli",
        "train",
        "--data",
        str(data),
        "--run-dir",
        str(run_dir),
        "--model",
        "tiny",
        "--no-pretrained",
        "--batch-size",
        "8",
        "--max-steps",
        "6",
        "--workers",
        "0",
        "--ckpt-every",
        "3",
        "--quiet",
        *extra,
    ]
    if nproc > 1:
        cmd = [str(TORCHRUN), "--standalone", "--nproc_per_node", str(nproc), "-m", "maskdepth.cli", *cmd[3:]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads((Path(run_dir) / "summary.json").read_text())


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed beside this Python")
def test_ddp_two_processes_sync_resume_and_match(tiny_dataset, tmp_path):
    full = _train(tiny_dataset, tmp_path / "ddp", 2)
    assert full["world_size"] == 2 and full["ranks_in_sync"] is True and full["steps"] == 6

    # interrupted at step 3 (after its checkpoint), then resumed: exactly the uninterrupted weights
    part = _train(tiny_dataset, tmp_path / "ddp_resumed", 2, ["--stop-at-step", "3"])
    assert part["steps"] == 3 and read_checkpoint(tmp_path / "ddp_resumed/checkpoints/last.pt")["train"]["step"] == 3
    resumed = _train(tiny_dataset, tmp_path / "ddp_resumed", 2, ["--resume"])
    assert resumed["steps"] == 6 and resumed["ranks_in_sync"] is True
    a = read_checkpoint(tmp_path / "ddp/checkpoints/last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "ddp_resumed/checkpoints/last.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    # single process, same global batch: same samples, same flips, same loss normalisation;
    # only BatchNorm differs (per-rank batch statistics; SyncBatchNorm is GPU-only), so the
    # weights are close but not equal.
    _train(tiny_dataset, tmp_path / "single", 1)
    s = read_checkpoint(tmp_path / "single/checkpoints/last.pt")["state_dict"]
    # BatchNorm running statistics are rank 0's own under DDP on CPU: compare the learned weights.
    learned = [k for k in a if a[k].is_floating_point() and "running_" not in k]
    diffs = [float((a[k] - s[k]).abs().max()) for k in learned]
    assert max(diffs) < 0.02, max(diffs)
