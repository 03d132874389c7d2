"""results/depth_variety.{md,json}: does rendered variety move learned depth past the row prior?
(issue 13 item 6), from the evaluations written by ``bash benchmarks/depth_variety.sh``::

    python -m benchmarks.depth_variety --eval runs/bb_eval --runs runs --out results/depth_variety

Reads ``<eval>/{variety,fronto}_on_{variety,fronto}/metrics.json`` (validation composites),
``<eval>/{variety,fronto}_realdepth/metrics.json`` (real RGB-D sets, reported once) and the runs'
``summary.json``. Composite differences are paired per composite with a two-way cluster bootstrap
(:func:`arms.paired`); the row prior is the ``ground_plane`` baseline of the same evaluation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.arms import budget_table, budgets, evaluation, fmt_diff, paired, rows
from benchmarks.arms import main as arms_main
from benchmarks.common import fmt

ARMS = {"fronto": "bb_fronto", "variety": "dv_variety"}
KEYS = ("aligned_absrel", "metric_absrel", "object_absrel")
TARGET_RATIO = 0.85


def build(ev: Path, runs: Path) -> dict:
    out: dict = {"runs": budgets(runs, ARMS), "val": {}, "real": {}}
    for labels in ARMS:
        m = {a: evaluation(ev, f"{a}_on_{labels}") for a in ARMS}
        e: dict = {}
        for k in KEYS:
            e[k] = paired(rows(m["fronto"], "composites/render"), rows(m["variety"], "composites/render"), k)
        e["row_prior_aligned_absrel"] = m["fronto"]["summary"].get("composites/render", {}).get("ground_plane", {}).get("aligned_absrel")
        out["val"][labels] = e
    for a in ARMS:
        s = evaluation(ev, f"{a}_realdepth")["summary"]
        for name, v in s.items():
            if not name.startswith("depth/") or "model" not in v:
                continue
            ours, prior = v["model"].get("aligned_absrel"), v.get("ground_plane", {}).get("aligned_absrel")
            out["real"].setdefault(name, {})[a] = {
                "n": v["model"].get("aligned_absrel_n"),
                "aligned_absrel": ours,
                "aligned_absrel_ci95": v["model"].get("aligned_absrel_ci95"),
                "row_prior": prior,
                "ratio": None if not ours or not prior else ours / prior,
            }
    return out


def markdown(r: dict) -> str:
    L = [
        "# Learned depth: does rendered variety beat the row prior? (issue 13, item 6)",
        "",
        "Command: `bash benchmarks/depth_variety.sh` (tables: `python -m benchmarks.depth_variety --eval runs/bb_eval --runs runs --out results/depth_variety`).",
        "",
        "Arm `variety` (`configs/depth_variety.yaml`: 800 rendered rooms instead of 400, cameras 0.5-2.5 m high, pitch -10..35 deg, "
        "field of view 45-95 deg, rooms 2.5-8 x 3-12 m, wider lighting) against the control `fronto` (`configs/billboard_fronto.yaml`); "
        "otherwise the same 12,000-composite recipe, model, schedule and seed. Validation composites: the rendered rooms of each "
        "dataset's validation split (the only metric depth in validation: every TUM frame is in train or test); differences are "
        "variety minus control, paired per composite, 95 % interval from a two-way cluster bootstrap over backgrounds and cutouts.",
        "",
        *budget_table(r["runs"]),
    ]
    for labels, e in r["val"].items():
        L += [
            "",
            f"## Validation composites of the {labels} dataset (rendered rooms)",
            "",
            f"Row prior (`ground_plane`, aligned AbsRel): {fmt(e['row_prior_aligned_absrel'])}.",
            "",
            "| metric | n | control | variety | difference [95% CI] |",
            "|---|---|---|---|---|",
        ]
        for k in KEYS:
            v = e[k]
            if v["n"]:
                L.append(f"| {k} | {v['n']} | {fmt(v['a'])} | {fmt(v['b'])} | {fmt_diff(v)} |")
    L += [
        "",
        "## Real RGB-D sets (reported once; not used for any choice)",
        "",
        f"Aligned AbsRel (per-image scale and shift in disparity); ratio = model / depth-from-row prior (target <= {TARGET_RATIO}).",
        "",
        "| set | n | control | ratio | variety | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, arms in r["real"].items():
        c, v = arms.get("fronto", {}), arms.get("variety", {})
        L.append(
            f"| {name} | {c.get('n')} | {fmt(c.get('aligned_absrel'))} | {fmt(c.get('ratio'), nd=2)} | {fmt(v.get('aligned_absrel'))} | {fmt(v.get('ratio'), nd=2)} |"
        )
    targets = ("depth/middlebury2014_trainingQ", "depth/tum_fr3_cabinet", "depth/7scenes_unregistered")
    best = {
        t: min((v["ratio"], a) for a, v in r["real"].get(t, {}).items() if v.get("ratio") is not None) for t in targets if r["real"].get(t)
    }
    met = [t for t, (ratio, _) in best.items() if ratio <= TARGET_RATIO]
    L += [
        "",
        "## Where it stops",
        "",
        "Best ratio of either arm on the three target sets: "
        + ", ".join(f"{t.split('/')[1]} {ratio:.2f} ({a})" for t, (ratio, a) in best.items())
        + f"; at or under {TARGET_RATIO}: {len(met)} of {len(best)}.",
    ]
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    return arms_main(__doc__, build, markdown, "results/depth_variety", "folder holding bb_fronto/ and dv_variety/", argv)


if __name__ == "__main__":
    sys.exit(main())
