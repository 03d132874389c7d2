"""Build results/quality.md and results/quality.json from the evaluations of the quality benchmarks.

Round 3 (issue 13; the default), written by ``bash benchmarks/quality3.sh``::

    python -m benchmarks.quality_table --shipped-val V.json --shipped-test T.json [--native-shipped N.json]
        [--main-run runs/q3_main --main-val V.json --main-test T.json --native-main N.json --device "cpu: 2 cores"]
        [--round2 results/quality_round2.json --round2-md results/quality_round2.md] [--shipped-only] [--out results/quality]

Inputs: ``metrics.json`` of ``maskdepth evaluate`` on the validation split (composites: the only
place where a choice is made) and on the test split + real sets (reported once), per model;
``benchmarks/native_refine.py``'s JSON (boundary F at the input's resolution on 704-px composites);
the main run's ``summary.json`` and TensorBoard event files (steps, wall-clock minutes); round 2's
page (peers keep their round-2 budget and results). Nothing here is typed in by hand: every number
is read from those files and every verdict computed from them (:func:`round3_targets`).

Round 2 (``--round 2``, ``benchmarks/quality.sh`` / ``quality_publish.sh``)::

    python -m benchmarks.quality_table --round 2 [--runs runs] [--out results/quality] [--shipped M.json]

Reads ``<runs>/q128_{main,peer_b,peer_c,peer_c_prior}/eval/metrics.json`` (the baselines come from the
main run's evaluation: they do not depend on the model), ``<runs>/abl2_*/eval/metrics.json``
and each run's ``summary.json`` (steps, training minutes).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

from benchmarks.common import command_line, fmt, load, run_budget, template_lines, write_json_md
from maskdepth.evaluate.markdown import robustness_table
from maskdepth.io import atomic_write_text

MAIN_RUN = "q128_main"
MODELS = (
    ("ours (small)", MAIN_RUN),
    ("peer_b", "q128_peer_b"),
    ("peer_c", "q128_peer_c"),
    ("peer_c + mask prior", "q128_peer_c_prior"),
)  # the last: peer_c given our mask-prior init (optional run)
ABL_PREFIX = "abl2_"
BASELINES = ("classical", "classical_best", "mog2", "ground_plane", "bg_depth")
SETS = (
    "composites/all",
    "composites/photo",
    "composites/rgbd",
    "composites/render",
    "pairs/cdnet_pedestrians",
    "pairs/cdnet_pedestrians/empty",
    "pairs/wallflower_wavingtrees",
    "depth/tum_fr3_cabinet",
    "depth/open3d_testdata_tum_sun",
    "depth/middlebury2014_trainingQ",
    "depth/7scenes_unregistered",
)
PAIR_SCENES = ("pairs/cdnet_pedestrians", "pairs/wallflower_wavingtrees")
REAL_DEPTH = ("depth/tum_fr3_cabinet", "depth/open3d_testdata_tum_sun", "depth/middlebury2014_trainingQ", "depth/7scenes_unregistered")
# (key, label, higher is better)
COLS = (
    ("iou", "IoU [95% CI]", True),
    ("boundary_f", "boundary F", True),
    ("fpr", "FP rate (empty)", False),
    ("fp_blobs", "FP blobs / empty frame", False),
    ("metric_absrel", "AbsRel metric [95% CI]", False),
    ("metric_delta1", "δ1 metric", True),
    ("aligned_absrel", "AbsRel aligned [95% CI]", False),
    ("aligned_delta1", "δ1 aligned [95% CI]", True),
    ("aligned_ssim", "SSIM aligned", True),
)
ABLATIONS = (
    ("base", "default recipe (6-ch concat, ImageNet init, mask prior, BCE+Dice, L1+grad, fixed weights, 96 px)"),
    ("mask_refine", "mask head: + full-resolution refinement (`--mask-refine`)"),
    ("fusion_diff", "input fusion: shared-weight encoder + feature difference"),
    ("no_mask_prior", "mask-head bias 0 (P = 0.5) instead of the foreground-fraction prior"),
    ("random_init", "encoder: random init instead of ImageNet"),
    ("mask_bce", "mask loss: BCE only (no Dice)"),
    ("depth_l1", "depth loss: L1 on log-depth only"),
    ("depth_l1_grad_ssim", "depth loss: L1 + gradient + SSIM (DenseDepth)"),
    ("depth_ssi", "depth loss: scale-and-shift-invariant (MiDaS)"),
    ("uncertainty", "task weighting: learned uncertainty (Kendall 2018)"),
    ("res_64_96", "resolution schedule 64 → 96 px"),
)


def cell(entry: dict, key: str) -> str:
    return fmt(entry.get(key), entry.get(key + "_ci95"))


def train_info(run: Path) -> tuple[str, str]:
    s = load(run / "summary.json")
    if not s:
        return "–", "–"
    return str(s["steps"]), f"{s['seconds_this_run'] / 60:.1f}"


# issue 7's fixed thresholds of round 2: (set, metric, target, ">=" or "<=", threshold)
ROUND2_THRESHOLDS = (
    ("composites/all", "iou", "held-out composites: mask IoU ≥ 0.97", ">=", 0.97),
    ("composites/all", "boundary_f", "held-out composites: boundary F ≥ 0.90", ">=", 0.90),
    ("composites/rgbd", "metric_absrel", "measured-depth composites: AbsRel ≤ 0.10 (metric)", "<=", 0.10),
    ("composites/rgbd", "metric_delta1", "measured-depth composites: δ1 ≥ 0.90 (metric)", ">=", 0.90),
)
ROUND2_DEPTH_THRESHOLDS = (
    ("depth/middlebury2014_trainingQ", "aligned_absrel", "Middlebury aligned AbsRel ≤ 0.06", "<=", 0.06),
    ("depth/middlebury2014_trainingQ", "aligned_delta1", "Middlebury aligned δ1 ≥ 0.95", ">=", 0.95),
)
# the evaluation cells of an ablation row: (JSON key, (set, metric)); the validation losses sit between cdnet_iou and rgbd
ABLATION_CELLS = (
    ("composites_iou", ("composites/all", "iou")),
    ("composites_boundary_f", ("composites/all", "boundary_f")),
    ("cdnet_iou", ("pairs/cdnet_pedestrians", "iou")),
    ("rgbd_aligned_absrel", ("composites/rgbd", "aligned_absrel")),
    ("render_aligned_absrel", ("composites/render", "aligned_absrel")),
    ("tum_aligned_absrel", ("depth/tum_fr3_cabinet", "aligned_absrel")),
    ("middlebury_aligned_absrel", ("depth/middlebury2014_trainingQ", "aligned_absrel")),
    ("7scenes_aligned_absrel", ("depth/7scenes_unregistered", "aligned_absrel")),
)


def _round2_args(argv) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--out", default="results/quality")
    ap.add_argument("--shipped", help="metrics.json of `maskdepth evaluate` run on the shipped checkpoint (checked against the main run's)")
    return ap.parse_args(argv)


def _budget_rows(runs: Path) -> list[str]:
    """Rows of round 2's training-budget table: one per model of :data:`MODELS` with a ``checkpoints/last.pt``."""
    from maskdepth.checkpoint import load_model
    from maskdepth.model import count_parameters

    rows = []
    for name, d in MODELS:
        steps, minutes = train_info(runs / d)
        ckpt = runs / d / "checkpoints" / "last.pt"
        if ckpt.is_file():
            model, _ = load_model(str(ckpt))
            arch = ", ".join(f"{k}={v}" for k, v in model.config.items() if k in ("name", "fusion", "mask_refine"))
            rows.append(f"| {name} | {arch} | {count_parameters(model):,} | {steps} | {minutes} |")
    return rows


def _shipped_check(shipped: str, main_eval: dict) -> list[str]:
    """The sentence that says whether the shipped checkpoint's evaluation reproduces the main run's (to 1e-4)."""
    sh = load(Path(shipped)).get("summary", {})
    diffs = []

    def close(x, y):
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            diffs.append(abs(x - y))
            return abs(x - y) <= 1e-4
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all([close(p, q) for p, q in zip(x, y)])
        return x == y

    same = bool(sh) and all(
        [
            all([close(v.get(k), sh.get(s, {}).get(m, {}).get(k)) for k in v])
            for s, methods in main_eval["summary"].items()
            for m, v in methods.items()
        ]
    )
    worst = max(diffs) if diffs else float("nan")
    noise = "; float32 sums differ in the last bits with the thread count, and a δ1 can move by one pixel)." if worst > 0 else ")."
    verdict = (
        f"reproduces every number of the main run's evaluation (largest difference {worst:.1e}" + noise
        if same
        else f"**differs** from the main run's evaluation (largest difference {worst:.1e})."
    )
    return ["", f"Shipped checkpoint check: `{shipped}` (the command above) " + verdict]


def _sets_table(methods: list[str], entry) -> list[str]:
    """Round 2's "Every test set" table: one row per set and method with any metric (``entry(method, set)``)."""
    lines = [
        "",
        "## Every test set",
        "",
        "| test set | method | n | " + " | ".join(c[1] for c in COLS) + " |",
        "|---|---|---|" + "---|" * len(COLS),
    ]
    for s in SETS:
        for m in methods:
            e = entry(m, s)
            if not e or all(e.get(k) is None for k, _, _ in COLS):
                continue
            lines.append(f"| {s} | {m} | {e.get('n', '–')} | " + " | ".join(cell(e, k) for k, _, _ in COLS) + " |")
    return lines


def _round2_checks(val) -> list[tuple[str, str, str]]:
    """Issue 7's targets of ours (``val(method, set, key)``): ``[(target, measured, verdict)]``."""
    checks = []

    def check(name, measured, ok):
        checks.append((name, measured, "met" if ok else "**not met**"))

    ours = functools.partial(val, "ours (small)")
    for s, k, label, op, t in ROUND2_THRESHOLDS:
        v = ours(s, k)
        check(label, fmt(v), v is not None and (v >= t if op == ">=" else v <= t))
    for s in PAIR_SCENES:
        v, b = ours(s, "iou"), val("classical_best", s, "iou")
        check(f"{s}: mask IoU ≥ 0.93", fmt(v), v is not None and v >= 0.93)
        check(f"{s}: IoU above the best single-threshold classical ({fmt(b)})", fmt(v), v is not None and b is not None and v > b)
    for s in ("pairs/cdnet_pedestrians/empty", *REAL_DEPTH):  # depth sets: the image is both bg and fg_bg
        v = ours(s, "fp_blobs")
        check(f"{s}: no false-positive blobs on empty frames (blobs per frame)", fmt(v), v is not None and v == 0)
    for s, k, label, op, t in ROUND2_DEPTH_THRESHOLDS:
        v = ours(s, k)
        check(label, fmt(v), v is not None and (v >= t if op == ">=" else v <= t))
    for s in ("depth/tum_fr3_cabinet", "depth/open3d_testdata_tum_sun"):
        v = ours(s, "aligned_absrel")
        check(f"{s} (held-out TUM/SUN) aligned AbsRel ≤ 0.10", fmt(v), v is not None and v <= 0.10)
        v = ours(s, "aligned_delta1")
        check(f"{s} aligned δ1 ≥ 0.90", fmt(v), v is not None and v >= 0.90)
    for s in REAL_DEPTH:
        v, g = ours(s, "aligned_absrel"), val("ground_plane", s, "aligned_absrel")
        label = f"{s}: aligned AbsRel ≤ half the ground-plane prior's ({fmt(g)} / 2 = {fmt(g / 2 if g else None)})"
        check(label, fmt(v), v is not None and g is not None and v <= g / 2)
    return checks


def _peer_cells(val, peers: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Set × metric cells where ours is ahead of every peer run, tied with the best one (to 3 decimals) or behind."""
    ahead, tied, behind = [], [], []
    for s_ in SETS:
        for k, _, hib in COLS:
            o = val("ours (small)", s_, k)
            ps = [val(p, s_, k) for p in peers]
            if o is None or any(p is None for p in ps):
                continue
            best = max(ps) if hib else min(ps)
            txt = f"{s_} {k}: ours {fmt(o)}, " + ", ".join(f"{p} {fmt(v)}" for p, v in zip(peers, ps))
            if (o > best) if hib else (o < best):
                ahead.append(txt)
            elif round(o, 3) == round(best, 3):
                tied.append(txt)
            else:
                behind.append(txt)
    return ahead, tied, behind


def _peer_check(val, peers: list[str]) -> tuple[tuple[str, str, str], list[str], list[str]]:
    """The "ahead of every peer run" target (strictly better than all = ahead; equal to the best peer, e.g. both
    at 0 false positives = tied; worse than either = behind), with the tied and behind cells."""
    ahead, tied, behind = _peer_cells(val, peers)
    total = len(ahead) + len(tied) + len(behind)
    name = (
        f"ahead of every peer run ({', '.join(peers)}) on every metric ({len(ahead)} ahead, {len(tied)} tied, "
        f"{len(behind)} behind of {total} set × metric cells)"
    )
    return (name, f"{len(behind)} behind", "met" if total > 0 and not behind else "**not met**"), tied, behind


def _targets_lines(checks: list[tuple[str, str, str]], tied: list[str], behind: list[str]) -> list[str]:
    lines = ["", "## Targets (issue 7)", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {n} | {m} | {ok} |" for n, m, ok in checks]
    if behind:
        lines += ["", "Cells where ours is behind a peer: " + "; ".join(behind) + "."]
    if tied:
        lines += ["", "Cells where ours ties the better peer (to 3 decimals): " + "; ".join(tied) + "."]
    return lines


def _ablation_row(runs: Path, name: str) -> tuple[dict, str] | None:
    """One ablation's JSON row and its run's steps; None when it has no evaluation."""
    ev = load(runs / f"{ABL_PREFIX}{name}" / "eval" / "metrics.json").get("summary", {})
    if not ev:
        return None

    def g(s, k):
        return ev.get(s, {}).get("model", {}).get(k)

    summ = load(runs / f"{ABL_PREFIX}{name}" / "summary.json")
    vals = [h for h in summ.get("history", []) if "val_loss_mask" in h]
    v = vals[-1] if vals else {}
    row = {k: g(s, m) for k, (s, m) in ABLATION_CELLS[:3]}
    row["val_loss_mask"] = None if name == "mask_bce" else v.get("val_loss_mask")
    row["val_absrel_metric_pooled"] = v.get("val_absrel_metric_pooled")
    row.update({k: g(s, m) for k, (s, m) in ABLATION_CELLS[3:]})
    steps, row["train_minutes"] = train_info(runs / f"{ABL_PREFIX}{name}")
    return row, steps


def _ablations(runs: Path) -> tuple[list[str], dict]:
    """Round 2's "Ablations" section (lines) and its JSON (``{name: row}``)."""
    abl_json, abl_rows, abl_steps = {}, [], "–"
    for name, desc in ABLATIONS:
        got = _ablation_row(runs, name)
        if got is None:
            abl_rows.append(f"| {desc} | not run |" + " |" * 11)
            continue
        row, abl_steps = got
        abl_json[name] = row
        cells = [
            ("n/c" if (k == "val_loss_mask" and name == "mask_bce") else fmt(x) if not isinstance(x, str) else x) for k, x in row.items()
        ]
        abl_rows.append(f"| {desc} | " + " | ".join(cells) + " |")
    ious = [r["composites_iou"] for r in abl_json.values() if r["composites_iou"] is not None]
    note = (
        "Mask IoU is 0.000 in every row: at this budget no run's mask logits cross the 0.5 threshold yet."
        if ious and max(ious) == 0
        else "Mask IoU and boundary F at threshold 0.5 on the first 600 test composites; CDnet: the 16 real pairs."
    )
    lines = template_lines("quality_round2_ablations", steps=abl_steps, prefix=ABL_PREFIX, note=note) + abl_rows
    return lines + ["", "Data mix (photos, TUM, rendered rooms): `results/ablation_render_mix.md` (0 vs 400 rendered rooms).", ""], abl_json


def main_round2(argv=None) -> int:
    """Round 2's page (``--round 2``): see the module docstring. Exit 1 without the main run's evaluation."""
    a = _round2_args(argv)
    runs = Path(a.runs)
    evals = {name: load(runs / d / "eval" / "metrics.json").get("summary", {}) for name, d in MODELS}
    evals = {name: ev for name, ev in evals.items() if ev or name == "ours (small)"}  # optional runs that were not made: no row
    peers = [name for name in evals if name != "ours (small)"]
    main_eval = load(runs / MAIN_RUN / "eval" / "metrics.json")
    if not main_eval:
        print(f"no evaluation at {runs}/{MAIN_RUN}/eval/metrics.json: run benchmarks/quality.sh first", file=sys.stderr)
        return 1

    def entry(method: str, s: str) -> dict:
        if method in evals:
            return evals[method].get(s, {}).get("model", {})
        return main_eval["summary"].get(s, {}).get(method, {})

    def val(method, s, k):
        return entry(method, s).get(k)

    lines = template_lines("quality_round2_intro", classical_best_threshold=main_eval["protocol"].get("classical_best_threshold"))
    lines += _budget_rows(runs) + (_shipped_check(a.shipped, main_eval) if a.shipped else [])
    lines += _sets_table(list(evals) + list(BASELINES), entry)
    peer_check, tied, behind = _peer_check(val, peers)
    checks = _round2_checks(val) + [peer_check]
    lines += _targets_lines(checks, tied, behind)
    abl_lines, abl_json = _ablations(runs)
    md = "\n".join(lines + abl_lines) + "\n"
    js = {
        "models": evals,
        "baselines": {b: {s: main_eval["summary"].get(s, {}).get(b) for s in SETS} for b in BASELINES},
        "targets": [{"target": n, "measured": m, "verdict": ok} for n, m, ok in checks],
        "ablations": abl_json,
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out.with_suffix(".md"), md)
    atomic_write_text(out.with_suffix(".json"), json.dumps(js, indent=1))
    print(md)
    return 0


# ============================================================================ round 3 (issue 13)

PAIR_MIN_FRAMES = 10  # a real pair scene with fewer scored frames is an anecdote, not a target (docs/evaluation.md)
PAIR_MARGIN = 0.01  # model IoU >= classical (threshold 30) + this, on every real pair scene with >= PAIR_MIN_FRAMES frames
WORST_DROP = 0.03  # the largest IoU drop under the five perturbations
COMPOSITE_IOU = 0.93  # held-out composites
NATIVE_BF = 0.95  # boundary F on held-out composites at the input's own resolution (704 px)
DEPTH_RATIO = 0.85  # learned aligned AbsRel <= this x the depth-from-row prior's, per set
BUDGET_TOLERANCE = 0.25  # "equal budget": training minutes within 25 % of each other
DEPTH_PRIOR_SETS = (
    ("depth/middlebury2014_trainingQ", "Middlebury"),
    ("depth/tum_fr3_cabinet", "TUM cabinet"),
    ("depth/7scenes_unregistered", "7-Scenes"),
)
COMPOSITE_SETS = ("composites/all", "composites/photo", "composites/rgbd", "composites/render")
NATIVE_TEST = "test: 720p-class composites (704x704)"
PEER_KEYS = tuple((k, hib) for k, _, hib in COLS)  # every metric of round 2's table
MAIN, SHIPPED = "main run (round 3)", "shipped model at the start of round 3"


def entry3(ev: dict, s: str, method: str = "model") -> dict:
    """``summary[s][method]`` of a ``metrics.json`` dict (empty when absent)."""
    return ev.get("summary", {}).get(s, {}).get(method, {}) or {}


def cell_n(e: dict, key: str) -> str:
    """``value [lo, hi]`` of ``key`` in a summary entry, or "–"."""
    return fmt(e.get(key), e.get(key + "_ci95"))


def round2_budgets(md: str) -> dict:
    """``{model: {"arch", "params", "steps", "minutes", "device"}}`` from the "Training budget" table of round 2's page
    (the device: the parenthesis of its minutes column's header, e.g. "2-core CPU")."""
    out, on, device = {}, False, "–"
    for line in md.splitlines():
        if line.startswith("## "):
            on = line.strip() == "## Training budget"
            continue
        if on and line.startswith("| model |") and "(" in line.rsplit("|", 2)[-2]:  # "training minutes (2-core CPU)"
            device = line.rsplit("|", 2)[-2].split("(", 1)[1].rstrip(") ")
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if on and line.startswith("|") and len(cells) == 5 and cells[0] not in ("model", "") and not cells[0].startswith("---"):
            try:
                out[cells[0]] = {"arch": cells[1], "params": cells[2], "steps": int(cells[3]), "minutes": float(cells[4]), "device": device}
            except ValueError:
                continue
    return out


def pair_scenes(ev: dict) -> list[str]:
    """The real pair sets with GT foreground (``pairs/<scene>``, not ``/empty``) of an evaluation."""
    return [
        s for s in ev.get("summary", {}) if s.startswith("pairs/") and not s.endswith("/empty") and entry3(ev, s).get("iou") is not None
    ]


def paired_diff(ev: dict, s: str, a: str, b: str) -> tuple[float, list[float]] | None:
    """Mean and 95 % frame-bootstrap interval of the per-frame IoU difference a - b on set ``s``."""
    from maskdepth.evaluate.metrics import bootstrap_ci

    pi = ev.get("per_image", {})
    ra, rb = {r["key"]: r.get("iou") for r in pi.get(f"{s}|{a}", [])}, {r["key"]: r.get("iou") for r in pi.get(f"{s}|{b}", [])}
    d = [ra[k] - rb[k] for k in ra if k in rb and ra[k] is not None and rb[k] is not None]
    if not d:
        return None
    lo, hi = bootstrap_ci(d, seed=0)
    return float(sum(d) / len(d)), [float(lo), float(hi)]


def native_summary(nat: dict) -> dict | None:
    """The held-out 704-px composites of a ``native_refine.py`` JSON with the default refiner:
    ``{"refiner", "n", "iou", "bf", "bf2", "iou_ci95", "bf_ci95", "ci_unit", "none": {...}, "delta": {...}}``.
    Intervals: two-way cluster bootstrap over backgrounds x cutouts when the per-image rows carry
    ``bg_id`` / ``fg_id``, else none (only the refiners' difference then has one)."""
    from maskdepth.evaluate.metrics import cluster_bootstrap_ci

    t = nat.get("sets", {}).get(NATIVE_TEST)
    if not t:
        return None
    ref = nat.get("default_refiner", "guided")
    out = {"refiner": ref, "n": t["n"], **{k: t[ref][k] for k in ("iou", "bf", "bf2")}, "none": t["none"], "delta": t.get("delta", {})}
    rows = t.get("per_image", [])
    if rows and all("bg_id" in r and "fg_id" in r for r in rows):
        for k in ("iou", "bf"):
            lo, hi = cluster_bootstrap_ci([r[ref][k] for r in rows], [r["bg_id"] for r in rows], [r["fg_id"] for r in rows], seed=0)
            out[k + "_ci95"] = [float(lo), float(hi)]
        out["ci_unit"] = "backgrounds x cutouts (two-way cluster bootstrap)"
    else:
        out["ci_unit"] = "none (this native_refine JSON has no per-image background/cutout ids: rerun benchmarks/native_refine.py)"
    return out


def choose_on_validation(models: dict) -> tuple[str, dict]:
    """The model with the best mean of IoU and boundary F on the validation composites
    (``composites/all`` of each model's ``val`` evaluation); on a tie the shipped model stays.
    Returns (name, {name: score})."""
    scores = {}
    for name, m in models.items():
        e = entry3(m["val"], "composites/all")
        if e.get("iou") is not None and e.get("boundary_f") is not None:
            scores[name] = (e["iou"] + e["boundary_f"]) / 2
    if not scores:
        return next(iter(models)), scores
    return max(scores, key=lambda n: (scores[n], n == SHIPPED)), scores  # a tie keeps the shipped model


def peer_cells(ev: dict, peers: dict) -> list[tuple[str, str, float, dict]]:
    """``(set, metric, ours, {peer: value})`` for every real set (``pairs/``, ``depth/``) and metric of
    :data:`PEER_KEYS` that the evaluation ``ev`` and at least one peer's round-2 summary both have.
    Composites are left out: the peers' test split (``work/q128``) is not this round's."""
    out = []
    sets = sorted({s for info in peers.values() for s in info["summary"] if s.startswith(("pairs/", "depth/"))})
    for s in sets:
        for k, _ in PEER_KEYS:
            o = entry3(ev, s).get(k)
            qs = {p: info["summary"].get(s, {}).get("model", {}).get(k) for p, info in peers.items()}
            qs = {p: q for p, q in qs.items() if q is not None}
            if o is not None and qs:
                out.append((s, k, o, qs))
    return out


def _target(target: str, value: str, goal: str, met, short: str = "") -> dict:
    """One row of :func:`round3_targets` (``short`` kept only when the target is not met)."""
    return {"target": target, "value": value, "goal": goal, "met": bool(met), "short": "" if met else short}


def _pair_targets(ev: dict, scenes: list[str]) -> list[dict]:
    """Model IoU ≥ classical + :data:`PAIR_MARGIN` on every real pair scene with enough frames."""
    out = []
    for s in scenes:
        m, c = entry3(ev, s)["iou"], entry3(ev, s, "classical").get("iou")
        ok = c is not None and m >= c + PAIR_MARGIN
        out.append(
            _target(
                f"clean real pairs {s} (n = {entry3(ev, s).get('iou_n', entry3(ev, s).get('n'))}): IoU ≥ classical + {PAIR_MARGIN}",
                fmt(m),
                f"≥ {fmt(c)} + {PAIR_MARGIN} = {fmt(None if c is None else c + PAIR_MARGIN)}",
                ok,
                f"{s}: model IoU {fmt(m)} vs classical {fmt(c)} (margin {m - c:+.3f}, needs ≥ +{PAIR_MARGIN})"
                if c is not None
                else f"{s}: no classical",
            )
        )
    if not scenes:
        out.append(
            _target(
                f"clean real pairs: a scene with ≥ {PAIR_MIN_FRAMES} frames",
                "none",
                "≥ 1 scene",
                False,
                "no real pair scene with enough frames",
            )
        )
    return out


def _robustness_target(ev: dict, scenes: list[str]) -> dict:
    """The worst IoU drop under the five perturbations over the pair ``scenes`` ≤ :data:`WORST_DROP`."""
    rob = ev.get("robustness", {})
    drops = {s: rob[s]["model"] for s in scenes if "model" in rob.get(s, {})}
    if not drops:
        return _target(
            "worst IoU drop under the five perturbations", "–", f"≤ {WORST_DROP}", False, "no robustness section in the evaluation"
        )
    s, e = max(drops.items(), key=lambda kv: kv[1]["worst_drop"])
    w = e["worst_drop"]
    return _target(
        f"worst IoU drop under the five perturbations (real pair scenes with ≥ {PAIR_MIN_FRAMES} frames; {s}, {e['worst']})",
        fmt(w),
        f"≤ {WORST_DROP}",
        w <= WORST_DROP,
        f"worst drop {fmt(w)} ({e['worst']} on {s}; IoU {fmt(e['clean'])} → {fmt(e[e['worst']]['iou'])}), needs ≤ {WORST_DROP}",
    )


def _composite_targets(ev: dict, nat: dict | None) -> list[dict]:
    """Held-out composites: IoU at the data's resolution, IoU and boundary F at native resolution (``nat``)."""
    e = entry3(ev, "composites/all")
    v = e.get("iou")
    out = [
        _target(
            f"held-out composites IoU ({e.get('iou_n', e.get('n', '–'))} composites at the data's resolution)",
            cell_n(e, "iou"),
            f"≥ {COMPOSITE_IOU}",
            v is not None and v >= COMPOSITE_IOU,
            f"held-out composites IoU {fmt(v)}, needs ≥ {COMPOSITE_IOU}",
        )
    ]
    for k, label, goal in (("iou", "IoU", COMPOSITE_IOU), ("bf", "boundary F", NATIVE_BF)):
        v = nat.get(k) if nat else None
        out.append(
            _target(
                f"held-out composites {label} at native resolution (704 px, refiner {nat['refiner'] if nat else '–'}, n = {nat['n'] if nat else '–'})",
                fmt(v, nat.get(k + "_ci95") if nat else None),
                f"≥ {goal}",
                v is not None and v >= goal,
                f"native-resolution {label} {fmt(v)}, needs ≥ {goal}" if v is not None else f"native-resolution {label}: not measured",
            )
        )
    return out


def _depth_and_fp_targets(ev: dict) -> list[dict]:
    """Learned depth vs the row prior on :data:`DEPTH_PRIOR_SETS`, and no false-positive blobs on empty frames."""
    out = []
    for s, label in DEPTH_PRIOR_SETS:
        m, g = entry3(ev, s).get("aligned_absrel"), entry3(ev, s, "ground_plane").get("aligned_absrel")
        r = m / g if m is not None and g else None
        out.append(
            _target(
                f"learned depth vs the row prior, {label} (aligned AbsRel {fmt(m)} / {fmt(g)})",
                fmt(r),
                f"≤ {DEPTH_RATIO}",
                r is not None and r <= DEPTH_RATIO,
                f"{label}: ratio {fmt(r)} (AbsRel {fmt(m)} vs row prior {fmt(g)}), needs ≤ {DEPTH_RATIO}",
            )
        )
    empty = {s: entry3(ev, s).get("fp_blobs") for s in ev.get("summary", {}) if (s.endswith("/empty") or s.startswith("depth/"))}
    empty = {s: v for s, v in empty.items() if v is not None}
    worst = max(empty.values()) if empty else None
    bad = [f"{s} {fmt(v)}" for s, v in empty.items() if v > 0]
    out.append(
        _target(
            f"false-positive blobs per empty frame (max over {len(empty)} sets)",
            fmt(worst),
            "0",
            worst is not None and worst == 0,
            "FP blobs per empty frame: " + ", ".join(bad) if bad else "no empty frames evaluated",
        )
    )
    return out


def _peer_target(ev: dict, peers: dict, budget_minutes: float | None) -> dict:
    """Ahead of (or tied with, to 3 decimals) every peer on every real-set cell, at equal budget (within
    :data:`BUDGET_TOLERANCE`)."""
    behind, cells = [], 0
    for s, k, o, qs in peer_cells(ev, peers):
        hib = dict(PEER_KEYS)[k]
        for p, q in qs.items():
            cells += 1
            if (round(o, 3) < round(q, 3)) if hib else (round(o, 3) > round(q, 3)):
                behind.append(f"{s} {k}: {fmt(o)} vs {p} {fmt(q)}")
    unequal = [
        f"{p} {info['minutes']:.1f} min"
        for p, info in peers.items()
        if budget_minutes is None
        or info.get("minutes") is None
        or abs(budget_minutes - info["minutes"]) > BUDGET_TOLERANCE * info["minutes"]
    ]
    short = []
    if behind:
        short.append(f"behind a peer in {len(behind)} of {cells} cells: " + "; ".join(behind))
    if unequal:
        ours = "–" if budget_minutes is None else f"{budget_minutes:.1f}"
        short.append(
            f"budget not equal (ours {ours} min vs "
            + ", ".join(unequal)
            + f"; equal = within {BUDGET_TOLERANCE:.0%}): not shown at equal budget"
        )
    return _target(
        f"ahead of every peer at equal budget ({', '.join(peers) or 'no peers'}; {cells} real-set comparisons)",
        f"{cells - len(behind)} of {cells} ahead or tied",
        "every cell, equal budget",
        bool(peers) and cells > 0 and not behind and not unequal,
        "; ".join(short) or "no peer evaluation to compare with",
    )


def round3_targets(model: dict, peers: dict, budget_minutes: float | None) -> list[dict]:
    """Every target of issue 13 for one model, computed from its evaluations.

    Args:
        model: ``{"test": metrics.json dict (test split + real sets), "native": native_summary() or None}``.
        peers: ``{name: {"summary": round-2 summary of the peer, "minutes": training minutes or None}}``.
        budget_minutes: the model's training minutes (None: unknown).
    Returns: ``[{"target", "value", "goal", "met" (bool), "short" (what fell short, with its number, or "")}]``.
    """
    ev = model["test"]
    scenes = [s for s in pair_scenes(ev) if (entry3(ev, s).get("iou_n") or entry3(ev, s).get("n") or 0) >= PAIR_MIN_FRAMES]
    return [
        *_pair_targets(ev, scenes),
        _robustness_target(ev, scenes),
        *_composite_targets(ev, model.get("native")),
        *_depth_and_fp_targets(ev),
        _peer_target(ev, peers, budget_minutes),
    ]


def _r3_choice(models: dict, headline: str, val_scores: dict, shipped_only: bool) -> list[str]:
    """The "Choice on validation composites" section."""
    L = [
        "## Choice on validation composites",
        "",
        "| model | n | IoU [95% CI] | boundary F [95% CI] | (IoU + F) / 2 | mask refiner |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in models.items():
        e, refine = entry3(m["val"], "composites/all"), m["test"].get("refine", "–")
        L.append(
            f"| {name} | {e.get('iou_n', e.get('n', '–'))} | {cell_n(e, 'iou')} | {cell_n(e, 'boundary_f')} | {fmt(val_scores.get(name))} | {refine} |"
        )
    if shipped_only:
        return L + ["", f"No choice yet: only the shipped model is evaluated. The targets below are judged on **{headline}**."]
    return L + [
        "",
        f"Chosen on validation: **{headline}** (best mean of IoU and boundary F; a tie keeps the shipped model). The targets below are judged on it.",
    ]


def _r3_budgets(models: dict, peers: dict, pending: dict | None) -> list[str]:
    """The "Training budget" section: every model, the runs still pending, the peers (round 2)."""
    L = [
        "",
        "## Training budget",
        "",
        "| model | optimiser steps (batch 32) | training minutes | device | retrained in round 3 |",
        "|---|---|---|---|---|",
    ]
    for name, b in [(name, m["budget"]) for name, m in models.items()] + list((pending or {}).items()):
        steps = "–" if b.get("steps") is None else str(b["steps"]) + (f" of {b['total_steps']}" if b.get("total_steps") else "")
        L.append(f"| {name} | {steps} | {fmt(b.get('minutes'), nd=1)} | {b.get('device', '–')} | {b.get('note', '')} |")
    for p, info in peers.items():
        L.append(
            f"| {p} (peer; {info.get('arch', '')}) | {info.get('steps', '–')} | {fmt(info.get('minutes'), nd=1)} | {info.get('device', '–')} | no: round-2 budget and results |"
        )
    return L + template_lines("quality_round3_peers_note")


def _r3_pairs(test: dict, headline: str) -> list[str]:
    """The "Real pairs, clean frames" section: per scene and model (and the baselines), then the robustness table."""
    scenes = sorted({s for ev in test.values() for s in pair_scenes(ev)})
    L = template_lines("quality_round3_pairs")
    first = test[headline]
    for s in scenes:
        rows = [(name, entry3(ev, s), paired_diff(ev, s, "model", "classical")) for name, ev in test.items()]
        rows += [(b, entry3(first, s, b), None) for b in ("classical", "classical_best", "mog2")]
        for name, e, d in rows:
            if not e:
                continue
            dd = f"{d[0]:+.3f} [{d[1][0]:+.3f}, {d[1][1]:+.3f}]" if d else "–"
            tag = "" if (e.get("iou_n") or e.get("n") or 0) >= PAIR_MIN_FRAMES else " (anecdote)"
            L.append(f"| {s}{tag} | {name} | {e.get('iou_n', e.get('n', '–'))} | {cell_n(e, 'iou')} | {cell_n(e, 'boundary_f')} | {dd} |")
    rob: dict = {}
    for s in scenes:
        for name, ev in test.items():
            if "model" in ev.get("robustness", {}).get(s, {}):
                rob.setdefault(s, {})[name] = ev["robustness"][s]["model"]
        if "classical" in first.get("robustness", {}).get(s, {}):
            rob.setdefault(s, {})["classical"] = first["robustness"][s]["classical"]
    return L + [""] + robustness_table(rob)


def _r3_composites(models: dict, headline: str) -> list[str]:
    """The "Held-out composites" section, at the data's resolution and at native resolution."""
    test = {name: m["test"] for name, m in models.items()}
    L = template_lines("quality_round3_composites")
    for s in COMPOSITE_SETS:
        for name, e in [(name, entry3(ev, s)) for name, ev in test.items()] + [("classical", entry3(test[headline], s, "classical"))]:
            if e.get("iou") is not None:
                L.append(f"| {s} | {name} | {e.get('iou_n', e.get('n'))} | {cell_n(e, 'iou')} | {cell_n(e, 'boundary_f')} |")
    L += template_lines("quality_round3_native")
    for name, m in models.items():
        nat = m.get("native")
        if not nat:
            L.append(f"| {name} | – | – | not measured | – | – | – | – | – |")
            continue
        d = nat["delta"].get("bf")
        dd = f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]" if d else "–"
        L.append(
            f"| {name} | {nat['refiner']} | {nat['n']} | {fmt(nat['iou'], nat.get('iou_ci95'))} | {fmt(nat['bf'], nat.get('bf_ci95'))} | "
            f"{fmt(nat['bf2'])} | {fmt(nat['none']['iou'])} / {fmt(nat['none']['bf'])} | {dd} | {nat['ci_unit']} |"
        )
    return L


def _r3_depth_and_empty(test: dict) -> list[str]:
    """The "Learned depth vs the depth-from-row prior" and "False positives on empty frames" sections."""
    L = [
        "",
        "## Learned depth vs the depth-from-row prior",
        "",
        f"Aligned AbsRel (per-image scale and shift in disparity space); target: model ≤ {DEPTH_RATIO} x the row prior (`ground_plane`). Intervals: frames.",
        "",
        "| set | model | n | model AbsRel [95% CI] | row prior AbsRel [95% CI] | ratio | ≤ " + f"{DEPTH_RATIO}? |",
        "|---|---|---|---|---|---|---|",
    ]
    for s, label in DEPTH_PRIOR_SETS:
        for name, ev in test.items():
            e, g = entry3(ev, s), entry3(ev, s, "ground_plane")
            if e.get("aligned_absrel") is None or not g.get("aligned_absrel"):
                continue
            r = e["aligned_absrel"] / g["aligned_absrel"]
            ok = "yes" if r <= DEPTH_RATIO else "**no**"
            L.append(
                f"| {label} | {name} | {e.get('aligned_absrel_n', e.get('n'))} | {cell_n(e, 'aligned_absrel')} | {cell_n(g, 'aligned_absrel')} | {r:.3f} | {ok} |"
            )
    L += ["", "## False positives on empty frames", "", "| set | model | n | FP rate | FP blobs per frame |", "|---|---|---|---|---|"]
    for s in sorted({s for ev in test.values() for s in ev.get("summary", {}) if s.endswith("/empty") or s.startswith("depth/")}):
        for name, ev in test.items():
            e = entry3(ev, s)
            if e.get("fp_blobs") is not None:
                L.append(f"| {s} | {name} | {e.get('fp_blobs_n', e.get('n'))} | {fmt(e.get('fpr'))} | {fmt(e.get('fp_blobs'))} |")
    return L


def _r3_peers_and_targets(ev: dict, headline: str, peers: dict, targets: list[dict]) -> tuple[list[str], list[str]]:
    """The peers table (real sets), the targets table and "What fell short" (lines), and the short-fall texts."""
    L = []
    pc = peer_cells(ev, peers)
    if pc:
        L += [
            "",
            f"## {headline} vs the peers (real sets; peers: round-2 results)",
            "",
            f"| set | metric | {headline} | " + " | ".join(peers) + " |",
            "|---|---|---|" + "---|" * len(peers),
            *[f"| {s} | {k} | {fmt(o)} | " + " | ".join(fmt(qs.get(p)) for p in peers) + " |" for s, k, o, qs in pc],
        ]
    L += [
        "",
        f"## Targets (issue 13), judged on {headline}",
        "",
        "| target | value | target | met? |",
        "|---|---|---|---|",
        *[f"| {t['target']} | {t['value']} | {t['goal']} | {'met' if t['met'] else '**not met**'} |" for t in targets],
        "",
        "## What fell short",
        "",
    ]
    short = [t["short"] for t in targets if not t["met"]]
    return L + ([f"- {x}" for x in short] if short else ["Nothing: every target is met."]), short


def round3_page(
    models: dict, headline: str, val_scores: dict, peers: dict, shipped_only: bool, commands: list[str], pending: dict | None = None
) -> tuple[str, dict]:
    """The Markdown page and JSON of round 3. ``models``: ``{name: {"val", "test", "native", "budget"}}``
    (``budget``: ``{"steps", "minutes", "device", "minutes_from", "note"}``); ``headline``: the model the
    targets are judged on (chosen on validation); ``peers``: ``{name: {"summary", "steps", "minutes", "device", "arch"}}``;
    ``pending``: ``{name: budget}`` of runs not evaluated yet (a budget row only)."""
    H = models[headline]
    targets = round3_targets(H, peers, H["budget"].get("minutes"))
    title = "# Model quality, round 3" + (": the shipped model alone (the main run is not finished)" if shipped_only else "")
    L = [title, "", "Made by (each evaluation's own command is recorded in its `metrics.json`):", "", "```", *commands, "```", ""]
    L += template_lines("quality_round3_protocol", min_frames=PAIR_MIN_FRAMES)
    L += _r3_choice(models, headline, val_scores, shipped_only) + _r3_budgets(models, peers, pending)
    L += _r3_pairs({name: m["test"] for name, m in models.items()}, headline) + _r3_composites(models, headline)
    L += _r3_depth_and_empty({name: m["test"] for name, m in models.items()})
    tail, short = _r3_peers_and_targets(H["test"], headline, peers, targets)
    js = {
        "round": 3,
        "shipped_only": shipped_only,
        "headline": headline,
        "validation_scores": val_scores,
        "budgets": {**{name: m["budget"] for name, m in models.items()}, **(pending or {})},
        "peers": {p: {k: v for k, v in info.items() if k != "summary"} for p, info in peers.items()},
        "models": {name: m["test"].get("summary", {}) for name, m in models.items()},  # test split + real sets, as in round 2
        "validation": {name: m["val"].get("summary", {}) for name, m in models.items()},
        "native": {name: m.get("native") for name, m in models.items()},
        "robustness": {name: m["test"].get("robustness", {}) for name, m in models.items()},
        "targets": targets,
        "fell_short": short,
        "commands": commands,
    }
    return "\n".join(L + tail) + "\n", js


def _round3_args(argv) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="round 3 of results/quality.md (issue 13)")
    ap.add_argument(
        "--round", type=int, choices=(3,), default=3, help="3: this page (default); --round 2: round 2's page (benchmarks/quality.sh)"
    )
    ap.add_argument("--shipped-val", required=True, help="metrics.json of the shipped model on the validation split")
    ap.add_argument("--shipped-test", required=True, help="metrics.json of the shipped model on the test split + real sets")
    ap.add_argument("--native-shipped", help="native_refine.py JSON of the shipped model")
    ap.add_argument(
        "--shipped-meta", default="maskdepth/weights/default.onnx.json", help="the shipped model's sidecar (its source run and steps)"
    )
    ap.add_argument("--main-run", help="the main run's directory (summary.json, tb/, budget.jsonl)")
    ap.add_argument("--main-val", help="metrics.json of the main run on the validation split")
    ap.add_argument("--main-test", help="metrics.json of the main run on the test split + real sets")
    ap.add_argument("--native-main", help="native_refine.py JSON of the main run")
    ap.add_argument("--device", default="cpu", help="the device the main run trained on, when its budget.jsonl does not say")
    ap.add_argument("--round2", default="results/quality.json", help="round 2's quality.json (the peers' results)")
    ap.add_argument("--round2-md", default="results/quality.md", help="round 2's quality.md (the training budgets)")
    ap.add_argument("--shipped-only", action="store_true", help="the page of the shipped model alone (no main run yet)")
    ap.add_argument("--out", default="results/quality", help="output stem: writes OUT.md and OUT.json")
    return ap.parse_args(argv)


def _need(path, what: str) -> dict:
    """The JSON object of an input the page cannot do without. Raises: MaskDepthError when it is missing."""
    from maskdepth.errors import MaskDepthError

    if not path or not Path(path).is_file():
        raise MaskDepthError(f"missing {what}: {path}")
    return load(Path(path))


def _shipped_budget(a: argparse.Namespace, budgets2: dict) -> dict:
    """The shipped model's training budget: round 2's main run, this round's main run, or its steps alone."""
    meta = load(Path(a.shipped_meta)).get("checkpoint_meta", {})
    src = meta.get("source", "")
    ship_budget = {"steps": meta.get("steps"), "device": "–", "minutes": None, "note": f"source {src or 'unknown'}"}
    if src.startswith("runs/q128_main") and "ours (small)" in budgets2:
        b = budgets2["ours (small)"]
        ship_budget.update(minutes=b["minutes"], device=b["device"], note=f"no: round 2's main run ({src})")
    elif a.main_run and src.startswith(a.main_run.rstrip("/") + "/"):
        ship_budget.update(run_budget(Path(a.main_run), a.device), note=f"yes: the main run ({src})")
    return ship_budget


def _round3_models(a: argparse.Namespace, budgets2: dict) -> dict:
    """``{name: {"val", "test", "native", "budget"}}`` of the main run (unless ``--shipped-only``) and the shipped model.

    Raises: MaskDepthError: a missing input, or no main run without ``--shipped-only``."""
    from maskdepth.errors import MaskDepthError

    models = {}
    if not a.shipped_only:
        if not a.main_run:
            raise MaskDepthError("--main-run is required without --shipped-only")
        models[MAIN] = {
            "val": _need(a.main_val, "--main-val"),
            "test": _need(a.main_test, "--main-test"),
            "native": native_summary(_need(a.native_main, "--native-main")) if a.native_main else None,
            "budget": {**run_budget(Path(a.main_run), a.device), "note": "yes (this run)"},
        }
    models[SHIPPED] = {
        "val": _need(a.shipped_val, "--shipped-val"),
        "test": _need(a.shipped_test, "--shipped-test"),
        "native": native_summary(_need(a.native_shipped, "--native-shipped")) if a.native_shipped else None,
        "budget": _shipped_budget(a, budgets2),
    }
    return models


def _round3_peers(r2: dict, budgets2: dict) -> dict:
    """``{peer: {"summary", "steps", "minutes", "device", "arch"}}`` from round 2's JSON and budget table."""
    peers = {}
    for p, summ in r2.get("models", {}).items():
        if p == "ours (small)":
            continue
        b = budgets2.get(p, {})
        peers[p] = {"summary": summ, **{k: b.get(k) for k in ("steps", "minutes", "device")}, "arch": b.get("arch", "")}
    return peers


def _round3_commands(a: argparse.Namespace, models: dict, argv) -> list[str]:
    """The commands that made the page: the script, each evaluation's, each native run's, this one's."""
    commands = [("bash benchmarks/quality3.sh --shipped-only" if a.shipped_only else "bash benchmarks/quality3.sh")]
    commands += [m[k]["command"] for m in models.values() for k in ("val", "test") if m[k].get("command")]
    for path in (a.native_main, a.native_shipped):
        if path and load(Path(path)).get("command"):
            commands.append(load(Path(path))["command"] + f"   # -> {path}")
    return commands + [command_line("quality_table", argv)]


def main_round3(argv=None) -> int:
    """Round 3's page: see the module docstring. Exit 2 with one line on stderr for a missing input."""
    from maskdepth.errors import MaskDepthError

    a = _round3_args(argv)
    try:
        r2 = load(Path(a.round2)) if a.round2 else {}
        budgets2 = round2_budgets(Path(a.round2_md).read_text()) if a.round2_md and Path(a.round2_md).is_file() else {}
        models = _round3_models(a, budgets2)
        headline, scores = choose_on_validation(models)
        pending = {}
        if a.shipped_only and a.main_run and Path(a.main_run).is_dir():
            pending[MAIN] = {**run_budget(Path(a.main_run), a.device), "note": "yes: training, not evaluated yet"}
        commands = _round3_commands(a, models, argv)
        md, js = round3_page(models, headline, scores, _round3_peers(r2, budgets2), a.shipped_only, commands, pending)
    except MaskDepthError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_json_md(a.out, js, md)
    print(md)
    return 0


def main(argv=None) -> int:
    """``--round 3`` (default) or ``--round 2``: see the module docstring."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--round", type=int, choices=(2, 3), default=3)
    a, rest = pre.parse_known_args(argv)
    return main_round2(rest) if a.round == 2 else main_round3(rest)


if __name__ == "__main__":
    sys.exit(main())
