"""``maskdepth evaluate``: the model and the baselines, side by side, on every test set.

Test sets:

* ``composites/<kind>``: the held-out test split of a generated dataset (backgrounds *and*
  foregrounds never seen in training), per background kind (photo, rgbd, render);
* ``pairs/<scene>``: real bg / frame pairs with ground-truth masks
  (``<realtest>/pairs/<scene>/{bg.png,frames/,gt/}``; CDnet coding: 255 foreground,
  0 and 50 background, 85 and 170 ignored); frames whose GT has no foreground count
  only for the false-positive rate;
* ``depth/<set>``: real RGB + measured depth (``<realtest>/depth/<set>/{rgb,depth}``,
  uint16 mm); the image is fed as both bg and fg_bg (no foreground).

Metrics (:mod:`maskdepth.evaluate.metrics`): mask IoU, Dice, boundary F (DAVIS), false-positive
rate; depth AbsRel, RMSE (metres), δ1, SSIM. Depth is reported twice: ``metric`` (the
network's metres as they are) and ``aligned`` (per-image least-squares scale and shift
in disparity space, MiDaS protocol), the only fair view for relative baselines and for
cameras unlike the training ones. Set values are means of per-image values; ``n`` is the
number of values averaged (``<key>_n`` per metric). 95 % intervals resample the units of
independence: on composites the backgrounds and the cutouts (two-way cluster bootstrap,
:func:`maskdepth.evaluate.metrics.cluster_bootstrap_ci`: composites sharing a photo or a cutout err
together), elsewhere the frames (:func:`maskdepth.evaluate.metrics.bootstrap_ci`; frames of one video
are not independent either, so those intervals are optimistic).

Robustness (real pairs with GT): every scored frame is also evaluated under the five camera
changes of :data:`maskdepth.evaluate.perturb.ROBUSTNESS` applied to the frame (exposure x0.8 and x1.2,
a (2, 1)-px camera shift moving the frame and its GT together, JPEG quality 30, Gaussian
noise sigma 6 seeded per frame), for the model and the classical baseline; ``metrics.json``
``robustness`` holds the IoU under each, the drop from clean (with a paired frame bootstrap
interval) and the worst drop.

Baselines in the same run: ``classical`` (|fg_bg − bg|, threshold 30, morphology),
``mog2`` (OpenCV MOG2 fed the background), ``ground_plane`` (depth from image row,
aligned), ``bg_depth`` (composites only: the background's own depth, i.e. the scene
without the foreground; an oracle that knows the empty scene's depth).

``metrics.md`` is rendered by :mod:`maskdepth.evaluate.markdown`.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import MaskDepthError
from ..inference.predictor import Predictor, load_predictor
from ..io import atomic_write_json, atomic_write_text, file_sha256, load_depth_mm, load_mask, load_rgb, save_png
from ..viz import colorize_depth, gray_to_rgb, grid, overlay
from . import baselines as B
from . import metrics as M
from . import perturb as P
from .config import EvaluateConfig
from .markdown import markdown_table

MASK_KEYS = ("iou", "dice", "boundary_f")
CI_KEYS = (
    "iou",
    "boundary_f",
    "metric_absrel",
    "metric_delta1",
    "aligned_absrel",
    "aligned_delta1",
    "object_absrel",
)  # headline numbers with bootstrap 95 % CIs
DEPTH_KEYS = ("absrel", "rmse", "delta1", "ssim")
OBJECT_KEYS = ("fg_absrel", "object_absrel")  # metric depth on the ground-truth foreground (metrics.object_depth_errors)


def mask_scores(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> dict:
    """IoU, Dice and boundary F of one predicted mask (bool (H,W)) against GT."""
    return {"iou": M.mask_iou(pred, gt, valid), "dice": M.mask_dice(pred, gt, valid), "boundary_f": M.boundary_f(pred, gt, valid)}


def depth_scores(pred: np.ndarray, gt: np.ndarray, align: bool) -> dict:
    """AbsRel, RMSE, δ1, SSIM of a depth map (metres) against GT (metres, 0 = invalid).

    ``align``: first fit scale and shift per image in disparity space.
    """
    valid = np.isfinite(gt) & (gt > 0)
    if valid.sum() < 10:
        return {k: float("nan") for k in DEPTH_KEYS}
    p = M.align_depth(pred, gt, valid, space="disparity") if align else pred
    out = M.depth_metrics(p, gt, valid)
    out["ssim"] = M.ssim(np.where(valid, p, 0).astype(np.float32), np.where(valid, gt, 0).astype(np.float32), valid)
    return out


def _summary(rows: list[dict], keys) -> dict:
    """Means of ``keys`` over ``rows`` with ``<key>_n`` (values averaged) and, for :data:`CI_KEYS`,
    ``<key>_ci95``: a two-way cluster bootstrap over backgrounds and cutouts when every row names
    its ``bg`` and ``fg`` (composites), else a bootstrap of the rows (frames). ``n`` is the count of
    the first key's values (the row's headline metric); ``ci_unit`` says what was resampled."""
    clustered = bool(rows) and all("bg" in r and "fg" in r for r in rows)
    out: dict = {"n": 0, "ci_unit": "backgrounds x cutouts (two-way cluster bootstrap)" if clustered else "frames"}
    for i, k in enumerate(keys):
        sel = [r for r in rows if r.get(k) is not None and np.isfinite(r[k])]
        vals = np.array([r[k] for r in sel], np.float64)
        out[k] = float(vals.mean()) if vals.size else None
        out[k + "_n"] = int(vals.size)
        if i == 0:
            out["n"] = int(vals.size)
        if k in CI_KEYS and vals.size:
            if clustered:
                lo, hi = M.cluster_bootstrap_ci(vals, [r["bg"] for r in sel], [r["fg"] for r in sel], seed=0)
            else:
                lo, hi = M.bootstrap_ci(vals, seed=0)
            out[k + "_ci95"] = [float(lo), float(hi)]
    return out


class _Collector:
    """Per-image rows for each (set, method); summarised at the end."""

    def __init__(self):
        self.rows: dict[tuple[str, str], list[dict]] = {}
        self.robust: dict[tuple[str, str], list[dict]] = {}

    def add(self, set_name: str, method: str, row: dict):
        self.rows.setdefault((set_name, method), []).append(row)

    def add_robust(self, set_name: str, method: str, row: dict):
        """One frame's IoU clean (``"clean"``) and under each perturbation (its name)."""
        self.robust.setdefault((set_name, method), []).append(row)

    def robustness(self) -> dict:
        """``{set: {method: {"n", "clean", "<perturbation>": {"iou", "drop", "drop_ci95"}, "worst_drop", "worst"}}}``:
        mean IoU over the frames, the drop = clean - perturbed mean, its 95 % interval from a
        paired bootstrap of the per-frame drops, and the largest drop."""
        out: dict = {}
        for (s, m), rows in self.robust.items():
            clean = np.array([r["clean"] for r in rows], np.float64)
            e: dict = {"n": len(rows), "clean": float(clean.mean())}
            for p in P.ROBUSTNESS:
                v = np.array([r[p.name] for r in rows], np.float64)
                lo, hi = M.bootstrap_ci(clean - v, seed=0)
                e[p.name] = {"iou": float(v.mean()), "drop": float(clean.mean() - v.mean()), "drop_ci95": [lo, hi]}
            worst = max(P.ROBUSTNESS, key=lambda p: e[p.name]["drop"])
            e["worst_drop"], e["worst"] = e[worst.name]["drop"], worst.name
            out.setdefault(s, {})[m] = e
        return out

    def summary(self) -> dict:
        out: dict = {}
        for (s, m), rows in self.rows.items():
            keys = [
                k
                for k in (*MASK_KEYS, "fpr", "fp_blobs", *[f"{a}_{k}" for a in ("metric", "aligned") for k in DEPTH_KEYS], *OBJECT_KEYS)
                if any(k in r for r in rows)
            ]
            out.setdefault(s, {})[m] = _summary(rows, keys)
        return out


# ----------------------------------------------------------------------------- sets


def eval_composites(
    predictor: Predictor, data_dir: str, col: _Collector, split: str = "test", limit: int | None = None, quiet=False, grid_rows=None
):
    """The held-out split of a generated dataset (see module docstring)."""
    from ..data.dataset import MaskDepthDataset

    ds = MaskDepthDataset(data_dir, split, limit=limit)
    if len(ds) == 0:
        raise MaskDepthError(f"{data_dir}: the {split} split is empty")
    for i in tqdm(range(len(ds)), desc=f"composites/{split}", unit="img", disable=quiet):
        r = ds.raw(i)
        kind = r["meta"]["bg_kind"]
        pred = predictor.predict(r["bg"], r["fg_bg"])
        key = r["meta"]["key"]
        ident = {"key": key, "bg": r["meta"]["bg_id"], "fg": r["meta"]["fg_id"]}  # the units of the cluster bootstrap
        rows = {}
        for method, m in (
            ("model", pred.mask),
            ("classical", B.classical_mask(r["bg"], r["fg_bg"])),
            ("mog2", B.mog2_mask(r["bg"], r["fg_bg"])),
        ):
            rows[method] = {**ident, **mask_scores(m, r["mask"])}
            col.add("composites/all", method, dict(rows[method]))
        if r["meta"]["depth_kind"] == "metric" and r["depth"] is not None:
            gt = r["depth"]
            bg_depth = ds.background(r["meta"]["bg_id"])["depth"]
            fill = float(np.median(bg_depth[bg_depth > 0])) if (bg_depth > 0).any() else 1.0
            gp = B.ground_plane_depth(*gt.shape)
            for method, d, align_modes in (
                ("model", pred.depth, ("metric", "aligned")),
                ("bg_depth", np.where(bg_depth > 0, bg_depth, fill), ("metric", "aligned")),
                ("ground_plane", gp, ("aligned",)),
            ):
                row = rows.setdefault(method, dict(ident))
                for a in align_modes:
                    row.update({f"{a}_{k}": v for k, v in depth_scores(d, gt, a == "aligned").items()})
            rows["model"].update(M.object_depth_errors(pred.depth, gt, r["mask"]))
        for method, row in rows.items():
            col.add(f"composites/{kind}", method, row)
        if grid_rows is not None and len(grid_rows) < 8 and i % max(1, len(ds) // 8) == 0:
            gt = r["depth"] if r["depth"] is not None else None
            valid = gt is not None and (gt > 0).any() and r["meta"]["depth_kind"] == "metric"
            lo, hi = np.percentile(gt[gt > 0], [2, 98]) if valid else np.percentile(pred.depth, [2, 98])
            grid_rows.append(
                [
                    r["bg"],
                    r["fg_bg"],
                    gray_to_rgb(r["mask"]),
                    gray_to_rgb(pred.mask),
                    colorize_depth(gt, lo, hi) if valid else np.zeros_like(r["bg"]),
                    colorize_depth(pred.depth, lo, hi),
                ]
            )


CLASSICAL_SWEEP = tuple(range(10, 85, 5))  # thresholds (grey levels) of the classical_best baseline


def _empty_frame_row(key: str, m: np.ndarray, valid: np.ndarray | None) -> dict:
    return {"key": key, "fpr": M.false_positive_rate(m, valid), "fp_blobs": M.false_positive_blobs(m, valid)}


def eval_pairs(predictor: Predictor, pairs_dir: Path, col: _Collector, quiet=False, grid_rows=None) -> int | None:
    """Real bg/frame pairs with GT masks (scenes without ``gt/`` are skipped).

    Besides ``classical`` (threshold 30) it scores ``classical_best``: the classical
    baseline at the single threshold of :data:`CLASSICAL_SWEEP` with the best mean of
    per-scene mean IoU over all scenes, chosen on these test pairs themselves (an oracle
    upper bound for any one threshold, no per-scene tuning). Returns that threshold
    (None without scenes).
    """
    sweep: dict[int, list[tuple[str, dict]]] = {t: [] for t in CLASSICAL_SWEEP}
    for scene in sorted(p for p in pairs_dir.iterdir() if (p / "gt").is_dir()):
        bg = load_rgb(scene / "bg.png")
        set_name = f"pairs/{scene.name}"
        frames = sorted((scene / "gt").glob("*.png"))
        for gtp in tqdm(frames, desc=set_name, unit="img", disable=quiet):
            img = load_rgb(scene / "frames" / gtp.name)
            fg, valid = M.cdnet_gt(load_mask(gtp))
            pred = predictor.predict(bg, img)
            classical = B.classical_masks(bg, img, (B.CLASSICAL_THRESHOLD, *CLASSICAL_SWEEP))
            methods = (("model", pred.mask), ("classical", classical[B.CLASSICAL_THRESHOLD]), ("mog2", B.mog2_mask(bg, img)))
            for method, m in methods:
                if fg.any():
                    col.add(set_name, method, {"key": gtp.stem, **mask_scores(m, fg, valid)})
                else:
                    col.add(set_name + "/empty", method, _empty_frame_row(gtp.stem, m, valid))
            for t in CLASSICAL_SWEEP:
                m = classical[t]
                if fg.any():
                    sweep[t].append((set_name, {"key": gtp.stem, **mask_scores(m, fg, valid)}))
                else:
                    sweep[t].append((set_name + "/empty", _empty_frame_row(gtp.stem, m, valid)))
            if fg.any():
                eval_robustness(predictor, bg, img, load_mask(gtp), f"{scene.name}/{gtp.stem}", set_name, col)
            if grid_rows is not None and fg.any() and len(grid_rows) < 8:
                grid_rows.append([bg, img, gray_to_rgb(fg), gray_to_rgb(pred.mask), overlay(img, pred.mask), colorize_depth(pred.depth)])

    def score(t):
        scenes: dict[str, list[float]] = {}
        for s, row in sweep[t]:
            if "iou" in row:
                scenes.setdefault(s, []).append(row["iou"])
        return float(np.mean([np.mean(v) for v in scenes.values()])) if scenes else -1.0

    if not any(sweep.values()):
        return None
    best = max(CLASSICAL_SWEEP, key=score)
    for s, row in sweep[best]:
        col.add(s, "classical_best", row)
    return best


ROBUSTNESS_SEED = 13


def eval_robustness(
    predictor: Predictor, bg: np.ndarray, img: np.ndarray, gt_raw: np.ndarray, frame_id: str, set_name: str, col: _Collector
):
    """IoU of the model and the classical baseline (threshold 30) on one real frame, clean and under
    every perturbation of :data:`maskdepth.evaluate.perturb.ROBUSTNESS` (the frame changes, the background
    does not; a camera shift moves the GT with the frame). Noise is drawn from
    ``default_rng([ROBUSTNESS_SEED, crc32(frame_id)])``, the same for every model."""
    rows: dict[str, dict] = {}
    fg, valid = M.cdnet_gt(gt_raw)
    for name, frame, (f, v) in [("clean", img, (fg, valid))] + [
        (
            p.name,
            p.apply(img, np.random.default_rng([ROBUSTNESS_SEED, zlib.crc32(frame_id.encode())])),
            M.cdnet_gt(P.shift_labels(gt_raw, *p.shift)) if p.shift else (fg, valid),
        )
        for p in P.ROBUSTNESS
    ]:
        for method, m in (("model", predictor.predict(bg, frame).mask), ("classical", B.classical_mask(bg, frame))):
            rows.setdefault(method, {"key": frame_id.rsplit("/", 1)[-1]})[name] = M.mask_iou(m, f, v)
    for method, row in rows.items():
        col.add_robust(set_name, method, row)


def eval_depth_pairs(predictor: Predictor, set_name: str, pairs: list[tuple[str, Path, Path]], col: _Collector, quiet=False):
    """Depth-only evaluation of ``(key, rgb_path, depth_png_mm)`` pairs: the image is fed as
    both bg and fg_bg (nothing entered the scene), so the mask should be empty (``fpr``)."""
    from ..io import resize

    for key, rgbp, dp in tqdm(pairs, desc=set_name, unit="img", disable=quiet):
        img = load_rgb(rgbp)
        gt = load_depth_mm(dp).astype(np.float32) / 1000.0
        if gt.shape != img.shape[:2]:
            gt = resize(gt, img.shape[:2], nearest=True)
        pred = predictor.predict(img, img)
        row = _empty_frame_row(key, pred.mask, None)
        row.update({f"metric_{k}": v for k, v in depth_scores(pred.depth, gt, False).items()})
        row.update({f"aligned_{k}": v for k, v in depth_scores(pred.depth, gt, True).items()})
        col.add(set_name, "model", row)
        gp = B.ground_plane_depth(*gt.shape)
        col.add(set_name, "ground_plane", {"key": key, **{f"aligned_{k}": v for k, v in depth_scores(gp, gt, True).items()}})


def eval_depth_sets(predictor: Predictor, depth_dir: Path, col: _Collector, quiet=False):
    """Real RGB + measured depth (``<set>/rgb/<id>.png|jpg``, ``<set>/depth/<id>.png`` mm)."""
    for d in sorted(p for p in depth_dir.iterdir() if (p / "rgb").is_dir()):
        pairs = []
        for dp in sorted((d / "depth").glob("*.png")):
            rgbp = next((d / "rgb" / (dp.stem + e) for e in (".png", ".jpg") if (d / "rgb" / (dp.stem + e)).exists()), None)
            if rgbp is not None:
                pairs.append((dp.stem, rgbp, dp))
        eval_depth_pairs(predictor, f"depth/{d.name}", pairs, col, quiet)


def eval_rgbd_scene(predictor: Predictor, rgbd_dir: str, scene: str, col: _Collector, every: int = 1, quiet=False):
    """Frames of one RGB-D scene (e.g. the held-out TUM scene ``tum_fr3_cabinet``), depth only."""
    from ..data.sources import rgbd_backgrounds

    frames = [b for b in rgbd_backgrounds(rgbd_dir, every) if b.group == f"rgbd/{scene}"]
    if not frames:
        raise MaskDepthError(f"{rgbd_dir}: no frames of scene {scene!r}")
    eval_depth_pairs(predictor, f"depth/{scene}", [(b.id.rsplit("/", 1)[-1], Path(b.path), Path(b.depth_path)) for b in frames], col, quiet)


def evaluate(
    predictor: Predictor,
    out_dir: str,
    data_dir: str | None = None,
    realtest_dir: str | None = None,
    rgbd_dir: str | None = None,
    rgbd_scene: str = "tum_fr3_cabinet",
    split: str = "test",
    limit: int | None = None,
    command: str = "",
    quiet: bool = False,
    extra: dict | None = None,
) -> dict:
    """Evaluate on the chosen sets; write ``metrics.json``, ``metrics.md``, ``test_grid.png``
    and ``realpairs_grid.png`` (when the sets exist) into ``out_dir``. Returns the JSON dict.

    Raises: MaskDepthError when no test set is given or found.
    """
    if not data_dir and not realtest_dir and not rgbd_dir:
        raise MaskDepthError("nothing to evaluate: give data_dir (a generated dataset), realtest_dir and/or rgbd_dir")
    col = _Collector()
    best_threshold = None
    out = Path(out_dir)
    comp_rows: list = []
    pair_rows: list = []
    if data_dir:
        eval_composites(predictor, data_dir, col, split, limit, quiet, comp_rows)
    if realtest_dir:
        rt = Path(realtest_dir)
        if not rt.is_dir():
            raise MaskDepthError(f"not found: {rt}", param="realtest_dir")
        if (rt / "pairs").is_dir():
            best_threshold = eval_pairs(predictor, rt / "pairs", col, quiet, pair_rows)
        if (rt / "depth").is_dir():
            eval_depth_sets(predictor, rt / "depth", col, quiet)
    if rgbd_dir:
        eval_rgbd_scene(predictor, rgbd_dir, rgbd_scene, col, quiet=quiet)
    summary = col.summary()
    result = {
        "protocol": {
            "depth_metric": "network metres as they are",
            "depth_aligned": "per-image least-squares scale and shift in disparity space (MiDaS)",
            "mask_threshold": predictor.threshold,
            "input_short_side": predictor.size,
            "cdnet_coding": "255 fg; 0, 50 bg; 85, 170 ignored",
            "classical_baseline": f"max-channel |fg_bg - bg| > {B.CLASSICAL_THRESHOLD}, Gaussian 3, open 3, close 5",
            "classical_best_threshold": best_threshold,
            "classical_best": "the classical baseline at the one threshold (of 10, 15, ..., 80) with the best mean per-scene IoU on the test pairs (oracle)",
            "fp_blobs": "8-connected predicted components of >= 0.1 % of the image on frames with empty ground truth",
            "ci": "percentile bootstrap 95 % of the mean, 1000 resamples, seed 0; composites: two-way cluster bootstrap over "
            "backgrounds and cutouts (Owen 2007), real pairs and depth sets: over frames; n = values averaged",
            "robustness": "real pairs with GT: IoU with the frame perturbed (" + ", ".join(p.doc for p in P.ROBUSTNESS) + "); "
            f"model vs classical (threshold {B.CLASSICAL_THRESHOLD}); drop = clean - perturbed, paired frame bootstrap; noise seed {ROBUSTNESS_SEED}",
            "choices": "real pairs and test composites are reported once and never used for a choice (docs/evaluation.md)",
        },
        "command": command,
        "summary": summary,
        "robustness": col.robustness(),
        "robustness_per_image": {f"{s}|{m}": rows for (s, m), rows in col.robust.items()},
        "per_image": {f"{s}|{m}": rows for (s, m), rows in col.rows.items()},
        **(extra or {}),
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "metrics.json", result)
    atomic_write_text(out / "metrics.md", markdown_table(summary, command, result["robustness"]))
    titles = ["bg", "fg_bg", "GT mask", "pred mask", "GT depth", "pred depth"]
    if comp_rows:
        save_png(out / "test_grid.png", grid(comp_rows, titles=titles))
    if pair_rows:
        save_png(out / "realpairs_grid.png", grid(pair_rows, titles=["bg", "frame", "GT mask", "pred mask", "overlay", "pred depth"]))
    return result


def check_config(cfg: EvaluateConfig) -> None:
    """Raise MaskDepthError (one line, naming the parameters) for settings that cannot run:
    no test set, or a ``realtest`` folder that does not exist."""
    if not cfg.data and not cfg.realtest and not cfg.rgbd_test:
        raise MaskDepthError("nothing to evaluate: give data (a generated dataset), realtest and/or rgbd_test")
    if cfg.realtest and not Path(cfg.realtest).is_dir():
        raise MaskDepthError(f"not found: {cfg.realtest}", param="realtest")


def run_evaluate(cfg: EvaluateConfig, command: str = "", quiet: bool = False) -> dict:
    """``maskdepth evaluate``: load the model of ``cfg`` (:func:`~maskdepth.inference.predictor.load_predictor`)
    and :func:`evaluate` it on the sets ``cfg`` names, into ``cfg.out``.

    Args:
        cfg: the settings (see :class:`~maskdepth.evaluate.config.EvaluateConfig`).
        command: the command line, recorded in ``metrics.json`` and ``metrics.md``.
        quiet: no progress bars.
    Returns: the ``metrics.json`` dict, with the model recorded (``checkpoint``, ``model_file``,
        ``model_sha256``, ``backend``, ``refine``).
    Raises: MaskDepthError for settings :func:`check_config` rejects, an unusable model or test set.
    """
    check_config(cfg)
    pred = load_predictor(cfg.checkpoint, size=cfg.size, backend=cfg.backend, refine=cfg.refine)
    model_file = Path(pred.source) if pred.source else None
    extra = {
        "checkpoint": cfg.checkpoint or "shipped default",
        "model_file": str(pred.source) if pred.source else None,
        "model_sha256": file_sha256(model_file) if model_file and model_file.is_file() else None,
        "backend": pred.backend,
        "refine": pred.refine,
    }
    return evaluate(
        pred,
        cfg.out,
        data_dir=cfg.data,
        realtest_dir=cfg.realtest,
        rgbd_dir=cfg.rgbd_test,
        rgbd_scene=cfg.rgbd_scene,
        split=cfg.split,
        limit=cfg.limit,
        command=command,
        quiet=quiet,
        extra=extra,
    )
