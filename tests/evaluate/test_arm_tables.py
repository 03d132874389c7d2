"""benchmarks/billboard.py and depth_variety.py: paired differences and the billboard decision rule,
on synthetic evaluations (the numbers are made here, so the verdict is known)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import billboard
from tests.helpers import REPO


def _metrics(obj: dict[str, float], iou: float, seed: int) -> dict:
    """A metrics.json with 40 metric composites (4 backgrounds x 10 cutouts) per kind."""
    rng = np.random.default_rng(seed)
    per = {}
    for kind, base in obj.items():
        rows = []
        for i in range(40):
            rows.append(
                {
                    "key": f"{kind}{i}",
                    "bg": f"b{i % 4}",
                    "fg": f"f{i % 10}",
                    "iou": iou + 0.01 * rng.standard_normal(),
                    "object_absrel": base + 0.01 * rng.standard_normal(),
                    "fg_absrel": base,
                    "metric_absrel": 0.2,
                    "aligned_absrel": 0.1,
                }
            )
        per[f"composites/{kind}|model"] = rows
    per["composites/all|model"] = [r for k in obj for r in per[f"composites/{k}|model"]]
    return {"per_image": per, "summary": {"composites/render": {"ground_plane": {"aligned_absrel": 0.2}}}}


def _write(ev: Path, runs: Path, upright_obj: float, upright_iou: float):
    for mo in billboard.ARMS:
        for la in billboard.ARMS:
            o = upright_obj if mo == "upright" else 0.20
            i = upright_iou if mo == "upright" else 0.85
            d = ev / f"{mo}_on_{la}"
            d.mkdir(parents=True, exist_ok=True)
            (d / "metrics.json").write_text(
                json.dumps(_metrics({"rgbd": o, "render": o}, i, seed=2 * billboard.ARMS.index(mo) + billboard.ARMS.index(la)))
            )
        (runs / f"bb_{mo}").mkdir(parents=True, exist_ok=True)
        (runs / f"bb_{mo}" / "summary.json").write_text(json.dumps({"steps": 10, "total_steps": 10, "seconds_this_run": 60}))


@pytest.mark.parametrize(
    ("upright_obj", "upright_iou", "default"),
    [(0.10, 0.85, "upright"), (0.30, 0.85, "fronto"), (0.10, 0.80, "fronto"), (0.20, 0.85, "fronto")],
)
def test_billboard_decision_rule(tmp_path, upright_obj, upright_iou, default):
    _write(tmp_path / "ev", tmp_path / "runs", upright_obj, upright_iou)
    r = billboard.build(tmp_path / "ev", tmp_path / "runs")
    d = r["decision"]
    assert d["default"] == default
    assert d["object_absrel"]["n"] == 80 and d["object_absrel"]["diff"] == pytest.approx(upright_obj - 0.20, abs=0.01)
    lo, hi = d["object_absrel"]["ci95"]
    assert lo <= d["object_absrel"]["diff"] <= hi


def test_billboard_cli_writes_both_files(tmp_path):
    _write(tmp_path / "ev", tmp_path / "runs", 0.10, 0.85)
    out = tmp_path / "res" / "bb"
    out.parent.mkdir()
    cmd = [sys.executable, "-m", "benchmarks.billboard", "--eval", str(tmp_path / "ev"), "--runs", str(tmp_path / "runs")]
    r = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "Default: **upright**" in out.with_suffix(".md").read_text()
    assert json.loads(out.with_suffix(".json").read_text())["decision"]["default"] == "upright"
    r = subprocess.run(
        [*cmd[:4], str(tmp_path / "missing"), *cmd[5:], "--out", str(out)], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert r.returncode == 2 and r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1
