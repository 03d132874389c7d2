"""results/billboard.{md,json}: fronto vs upright billboard labels (issue 13 fix 6), from the evaluations
written by ``bash benchmarks/billboard.sh``::

    python -m benchmarks.billboard --eval runs/bb_eval --runs runs --out results/billboard

Reads ``<eval>/<model>_on_<labels>/metrics.json`` (``maskdepth evaluate --split val``) for model and
labels in {fronto, upright} and ``<runs>/bb_<model>/summary.json``. Differences are paired per
composite (same keys) with a two-way cluster bootstrap over backgrounds and cutouts. The decision
rule is the one written in billboard.sh; nothing is typed in by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.arms import budget_table, budgets, evaluation, fmt_diff, paired, rows
from benchmarks.arms import main as arms_main
from benchmarks.common import fmt

ARMS = ("fronto", "upright")
SETS = ("composites/rgbd", "composites/render")  # the metric-depth composites (where the billboard matters)
KEYS = ("object_absrel", "fg_absrel", "metric_absrel", "iou")
MAX_IOU_LOSS = 0.01


def build(ev: Path, runs: Path) -> dict:
    m = {(mo, la): evaluation(ev, f"{mo}_on_{la}") for mo in ARMS for la in ARMS}
    out: dict = {"runs": budgets(runs, {mo: f"bb_{mo}" for mo in ARMS}), "labels": {}}
    for la in ARMS:
        e: dict = {}
        for s in ("composites/all", *SETS):
            f, u = rows(m[("fronto", la)], s), rows(m[("upright", la)], s)
            e[s] = {k: paired(f, u, k) for k in KEYS}
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


def markdown(r: dict) -> str:
    L = [
        "# Fronto vs upright billboard labels (issue 13, fix 6)",
        "",
        "Command: `bash benchmarks/billboard.sh` (tables: `python -m benchmarks.billboard --eval runs/bb_eval --runs runs --out results/billboard`).",
        "",
        "Two datasets that differ only in `--billboard` (`configs/billboard_{fronto,upright}.yaml`: 12,000 composites, seed 5), "
        "one short run on each (small + refiner, same schedule and seed), every model evaluated on the **validation** composites "
        "of both datasets. Differences are upright-trained minus fronto-trained, paired per composite, 95 % interval from a "
        "two-way cluster bootstrap over backgrounds and cutouts. Object AbsRel: |median predicted - median true depth| / "
        "median true depth over the true foreground (network metres, no alignment).",
        "",
        *budget_table(r["runs"]),
    ]
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
                    L.append(f"| {s} | {k} | {v['n']} | {fmt(v['a'])} | {fmt(v['b'])} | {fmt_diff(v)} |")
    d = r["decision"]
    o, i = d["object_absrel"], d["iou"]
    L += [
        "",
        "## Decision (rule fixed in benchmarks/billboard.sh before the runs)",
        "",
        f"On the upright (physical) labels, metric composites: object AbsRel {fmt(o['a'])} (fronto-trained) vs {fmt(o['b'])} "
        f"(upright-trained), difference {fmt_diff(o)} (n = {o['n']}); "
        f"mask IoU difference {fmt(i['diff'], nd=4)} (n = {i['n']}). Default: **{d['default']}**.",
        "",
    ]
    return "\n".join(L)


def main(argv=None) -> int:
    return arms_main(__doc__, build, markdown, "results/billboard", "folder holding bb_fronto/ and bb_upright/", argv)


if __name__ == "__main__":
    sys.exit(main())
