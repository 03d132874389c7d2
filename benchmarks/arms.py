"""Shared pieces of the arm comparisons (:mod:`benchmarks.billboard`, :mod:`benchmarks.depth_variety`): per-composite rows of
an evaluation, paired differences with a two-way cluster bootstrap and their formatting, the runs'
budgets and the command line that writes ``<out>.json`` and ``<out>.md``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import fmt, md_table, run_budget, write_json_md
from maskdepth.evaluate import metrics as M


def rows(metrics: dict, set_name: str, method: str = "model") -> dict[str, dict]:
    """``{key: per-image row}`` of one set and method of a ``maskdepth evaluate`` metrics.json."""
    return {r["key"]: r for r in metrics["per_image"].get(f"{set_name}|{method}", [])}


def paired(a: dict[str, dict], b: dict[str, dict], key: str) -> dict:
    """Mean of ``b - a`` of metric ``key`` over the composites scored (finite) in both: ``{"n", "a", "b",
    "diff", "ci95"}``, the interval a two-way cluster bootstrap over backgrounds and cutouts
    (:func:`maskdepth.evaluate.metrics.cluster_bootstrap_ci`, Owen 2007); ``n`` 0 and ``None`` values when none is."""
    ks = [k for k in a if k in b and a[k].get(key) is not None and b[k].get(key) is not None]
    ks = [k for k in ks if np.isfinite(a[k][key]) and np.isfinite(b[k][key])]
    if not ks:
        return {"n": 0, "a": None, "b": None, "diff": None, "ci95": None}
    d = np.array([b[k][key] - a[k][key] for k in ks], np.float64)
    lo, hi = M.cluster_bootstrap_ci(d, [a[k]["bg"] for k in ks], [a[k]["fg"] for k in ks], seed=0)
    return {
        "n": len(ks),
        "a": float(np.mean([a[k][key] for k in ks])),
        "b": float(np.mean([b[k][key] for k in ks])),
        "diff": float(d.mean()),
        "ci95": [float(lo), float(hi)],
    }


def fmt_diff(v: dict, nd: int = 4) -> str:
    """A :func:`paired` result as ``diff [lo, hi]`` (:func:`benchmarks.common.fmt`)."""
    return fmt(v["diff"], v["ci95"], nd)


def budgets(runs: Path, names: dict[str, str]) -> dict:
    """``{arm: {"run", "steps", "total_steps", "minutes"}}`` of ``runs/<run>`` (:func:`benchmarks.common.run_budget`:
    wall-clock minutes over every slice of a resumed run)."""
    out = {}
    for arm, run in names.items():
        b = run_budget(runs / run, "cpu")
        if b["steps"] is None:
            raise FileNotFoundError(f"no training summary in {runs / run}")
        out[arm] = {
            "run": run,
            "steps": b["steps"],
            "total_steps": b["total_steps"],
            "minutes": None if b["minutes"] is None else round(b["minutes"], 1),
        }
    return out


def main(
    doc: str, build: Callable[[Path, Path], dict], markdown: Callable[[dict], str], default_out: str, runs_help: str, argv=None
) -> int:
    """The command line of an arm comparison: ``--eval``, ``--runs``, ``--out``; writes ``<out>.json`` and
    ``<out>.md`` atomically; a missing or unreadable input is one line on stderr and exit 2."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--eval", type=Path, default=Path("runs/bb_eval"), help="folder of the evaluations (<model>_on_<labels>/metrics.json)")
    ap.add_argument("--runs", type=Path, default=Path("runs"), help=runs_help)
    ap.add_argument("--out", type=Path, default=Path(default_out), help="output prefix (.md and .json)")
    a = ap.parse_args(argv)
    try:
        r = build(a.eval, a.runs)
        md = markdown(r)
    except (OSError, KeyError, TypeError, ValueError) as e:
        print(f"error: {a.eval} / {a.runs}: incomplete or unreadable evaluations ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    write_json_md(a.out, r, md)
    print(f"wrote {a.out}.md")
    return 0


def evaluation(ev: Path, name: str) -> dict:
    """``<ev>/<name>/metrics.json`` of ``maskdepth evaluate``."""
    return json.loads((ev / name / "metrics.json").read_text())


def budget_table(runs: dict) -> list[str]:
    """Markdown rows of :func:`budgets`."""
    header = ["run", "steps", "wall-clock minutes (2-core CPU, shared with other runs while they overlapped)"]
    return md_table(header, [[v["run"], f"{v['steps']} / {v['total_steps']}", fmt(v["minutes"], nd=1)] for v in runs.values()])
