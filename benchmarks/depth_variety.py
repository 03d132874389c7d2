"""results/depth_variety.{md,json}: does rendered variety move learned depth past the row prior?
(issue 13 item 6), from the evaluations written by ``bash benchmarks/depth_variety.sh``::

    python benchmarks/depth_variety.py --eval runs/bb_eval --runs runs --out results/depth_variety

Reads ``<eval>/{variety,fronto}_on_{variety,fronto}/metrics.json`` (validation composites),
``<eval>/{variety,fronto}_realdepth/metrics.json`` (real RGB-D sets, reported once) and the runs'
``summary.json``. Composite differences are paired per composite with a two-way cluster bootstrap
(:func:`billboard.paired`); the row prior is the ``ground_plane`` baseline of the same evaluation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from billboard import _f, paired, rows  # noqa: E402

from maskdepth.io import atomic_write_text  # noqa: E402

ARMS = {"fronto": "bb_fronto", "variety": "dv_variety"}
KEYS = ("aligned_absrel", "metric_absrel", "object_absrel")
TARGET_RATIO = 0.85


def build(ev: Path, runs: Path) -> dict:
    out: dict = {"runs": {}, "val": {}, "real": {}}
    for a, run in ARMS.items():
        s = json.loads((runs / run / "summary.json").read_text())
        out["runs"][a] = {
            "run": run,
            "steps": s["steps"],
            "total_steps": s["total_steps"],
            "minutes": round(s.get("seconds_this_run", 0) / 60, 1),
        }
    for labels in ARMS:
        m = {a: json.loads((ev / f"{a}_on_{labels}" / "metrics.json").read_text()) for a in ARMS}
        e: dict = {}
        for k in KEYS:
            e[k] = paired(rows(m["fronto"], "composites/render"), rows(m["variety"], "composites/render"), k)
        e["row_prior_aligned_absrel"] = m["fronto"]["summary"].get("composites/render", {}).get("ground_plane", {}).get("aligned_absrel")
        out["val"][labels] = e
    for a in ARMS:
        s = json.loads((ev / f"{a}_realdepth" / "metrics.json").read_text())["summary"]
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
        "Command: `bash benchmarks/depth_variety.sh` (tables: `python benchmarks/depth_variety.py --eval runs/bb_eval --runs runs --out results/depth_variety`).",
        "",
        "Arm `variety` (`configs/depth_variety.yaml`: 800 rendered rooms instead of 400, cameras 0.5-2.5 m high, pitch -10..35 deg, "
        "field of view 45-95 deg, rooms 2.5-8 x 3-12 m, wider lighting) against the control `fronto` (`configs/billboard_fronto.yaml`); "
        "otherwise the same 12,000-composite recipe, model, schedule and seed. Validation composites: the rendered rooms of each "
        "dataset's validation split (the only metric depth in validation: every TUM frame is in train or test); differences are "
        "variety minus control, paired per composite, 95 % interval from a two-way cluster bootstrap over backgrounds and cutouts.",
        "",
        "| run | steps | minutes (CPU, 2 cores, shared) |",
        "|---|---|---|",
    ]
    L += [f"| {v['run']} | {v['steps']} / {v['total_steps']} | {v['minutes']} |" for v in r["runs"].values()]
    for labels, e in r["val"].items():
        L += [
            "",
            f"## Validation composites of the {labels} dataset (rendered rooms)",
            "",
            f"Row prior (`ground_plane`, aligned AbsRel): {_f(e['row_prior_aligned_absrel'])}.",
            "",
            "| metric | n | control | variety | difference [95% CI] |",
            "|---|---|---|---|---|",
        ]
        for k in KEYS:
            v = e[k]
            if v["n"]:
                L.append(
                    f"| {k} | {v['n']} | {_f(v['a'])} | {_f(v['b'])} | {_f(v['diff'], 4)} [{_f(v['ci95'][0], 4)}, {_f(v['ci95'][1], 4)}] |"
                )
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
            f"| {name} | {c.get('n')} | {_f(c.get('aligned_absrel'))} | {_f(c.get('ratio'), 2)} | {_f(v.get('aligned_absrel'))} | {_f(v.get('ratio'), 2)} |"
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", type=Path, default=Path("runs/bb_eval"), help="folder of the evaluations")
    ap.add_argument("--runs", type=Path, default=Path("runs"), help="folder holding bb_fronto/ and dv_variety/")
    ap.add_argument("--out", type=Path, default=Path("results/depth_variety"), help="output prefix (.md and .json)")
    a = ap.parse_args(argv)
    try:
        r = build(a.eval, a.runs)
    except (OSError, KeyError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    atomic_write_text(a.out.with_suffix(".json"), json.dumps(r, indent=2) + "\n")
    atomic_write_text(a.out.with_suffix(".md"), markdown(r))
    print(f"wrote {a.out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
