"""results/billboard.{md,json}: fronto vs upright billboard labels (issue 13 fix 6), from the evaluations
written by ``bash benchmarks/billboard.sh``::

    python benchmarks/billboard.py --eval runs/bb_eval --runs runs --out results/billboard

Reads ``<eval>/<model>_on_<labels>/metrics.json`` (``maskdepth evaluate --split val``) for model and
labels in {fronto, upright} and ``<runs>/bb_<model>/summary.json``. Differences are paired per
composite (same keys) with a two-way cluster bootstrap over backgrounds and cutouts. The decision
rule is the one written in billboard.sh; nothing is typed in by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from maskdepth import metrics as M  # noqa: E402
from maskdepth.io import atomic_write_text  # noqa: E402

ARMS = ("fronto", "upright")
SETS = ("composites/rgbd", "composites/render")  # the metric-depth composites (where the billboard matters)
KEYS = (("object_absrel", "object AbsRel", False), ("fg_absrel", "fg AbsRel", False), ("metric_absrel", "AbsRel (image)", False))
MAX_IOU_LOSS = 0.01


def rows(metrics: dict, set_name: str, method: str = "model") -> dict[str, dict]:
    return {r["key"]: r for r in metrics["per_image"].get(f"{set_name}|{method}", [])}


def paired(a: dict[str, dict], b: dict[str, dict], key: str) -> dict:
    """Mean of b - a over composites scored in both, with a cluster-bootstrap 95 % interval."""
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


def build(ev: Path, runs: Path) -> dict:
    m = {(mo, la): json.loads((ev / f"{mo}_on_{la}" / "metrics.json").read_text()) for mo in ARMS for la in ARMS}
    out: dict = {"runs": {}, "labels": {}}
    for mo in ARMS:
        s = json.loads((runs / f"bb_{mo}" / "summary.json").read_text())
        out["runs"][mo] = {"steps": s["steps"], "total_steps": s["total_steps"], "minutes": round(s.get("seconds_this_run", 0) / 60, 1)}
    for la in ARMS:
        e: dict = {}
        for s in ("composites/all", *SETS):
            f, u = rows(m[("fronto", la)], s), rows(m[("upright", la)], s)
            e[s] = {k: paired(f, u, k) for k, _, _ in (*KEYS, ("iou", "IoU", True))}
        out["labels"][la] = e
    # the decision rule of billboard.sh, on the upright (physical) labels, metric composites pooled
    f = {**rows(m[("fronto", "upright")], SETS[0]), **rows(m[("fronto", "upright")], SETS[1])}
    u = {**rows(m[("upright", "upright")], SETS[0]), **rows(m[("upright", "upright")], SETS[1])}
    obj, iou = (
        paired(f, u, "object_absrel"),
        paired(rows(m[("fronto", "upright")], "composites/all"), rows(m[("upright", "upright")], "composites/all"), "iou"),
    )
    wins = obj["ci95"] is not None and obj["ci95"][1] < 0 and iou["diff"] is not None and iou["diff"] >= -MAX_IOU_LOSS
    out["decision"] = {"object_absrel": obj, "iou": iou, "default": "upright" if wins else "fronto"}
    return out


def _f(x, nd=3):
    return "-" if x is None else f"{x:.{nd}f}"


def markdown(r: dict) -> str:
    L = [
        "# Fronto vs upright billboard labels (issue 13, fix 6)",
        "",
        "Command: `bash benchmarks/billboard.sh` (tables: `python benchmarks/billboard.py --eval runs/bb_eval --runs runs --out results/billboard`).",
        "",
        "Two datasets that differ only in `--billboard` (`configs/billboard_{fronto,upright}.yaml`: 12,000 composites, seed 5), "
        "one short run on each (small + refiner, same schedule and seed), every model evaluated on the **validation** composites "
        "of both datasets. Differences are upright-trained minus fronto-trained, paired per composite, 95 % interval from a "
        "two-way cluster bootstrap over backgrounds and cutouts. Object AbsRel: |median predicted - median true depth| / "
        "median true depth over the true foreground (network metres, no alignment).",
        "",
        "| run | steps | wall-clock minutes (2-core CPU, shared with other runs while they overlapped) |",
        "|---|---|---|",
    ]
    L += [f"| bb_{a} | {v['steps']} / {v['total_steps']} | {v['minutes']} |" for a, v in r["runs"].items()]
    for la, e in r["labels"].items():
        L += [
            "",
            f"## On the {la} labels",
            "",
            "| set | metric | n | fronto-trained | upright-trained | difference [95% CI] |",
            "|---|---|---|---|---|---|",
        ]
        for s, ks in e.items():
            for k, v in ks.items():
                if v["n"]:
                    ci = v["ci95"]
                    L.append(
                        f"| {s} | {k} | {v['n']} | {_f(v['a'])} | {_f(v['b'])} | {_f(v['diff'], 4)} [{_f(ci[0], 4)}, {_f(ci[1], 4)}] |"
                    )
    d = r["decision"]
    o, i = d["object_absrel"], d["iou"]
    L += [
        "",
        "## Decision (rule fixed in benchmarks/billboard.sh before the runs)",
        "",
        f"On the upright (physical) labels, metric composites: object AbsRel {_f(o['a'])} (fronto-trained) vs {_f(o['b'])} "
        f"(upright-trained), difference {_f(o['diff'], 4)} [{_f((o['ci95'] or [None])[0], 4)}, {_f((o['ci95'] or [None, None])[1], 4)}] (n = {o['n']}); "
        f"mask IoU difference {_f(i['diff'], 4)} (n = {i['n']}). Default: **{d['default']}**.",
        "",
    ]
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", type=Path, default=Path("runs/bb_eval"), help="folder of <model>_on_<labels>/metrics.json")
    ap.add_argument("--runs", type=Path, default=Path("runs"), help="folder holding bb_fronto/ and bb_upright/")
    ap.add_argument("--out", type=Path, default=Path("results/billboard"), help="output prefix (.md and .json)")
    a = ap.parse_args(argv)
    try:
        r = build(a.eval, a.runs)
    except (OSError, KeyError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    atomic_write_text(a.out.with_suffix(".json"), json.dumps(r, indent=2) + "\n")
    atomic_write_text(a.out.with_suffix(".md"), markdown(r))
    print(f"wrote {a.out}.md: default {r['decision']['default']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
