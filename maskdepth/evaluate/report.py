"""``maskdepth report``: one self-contained HTML page for a training run.

Reads, from ``RUN_DIR`` (made by ``maskdepth train``):

* ``summary.json``: ``history``, a list of records ``{"step", "train_loss_<part>", "lr"}``
  and, at validations, ``{"step", "epoch", "val_loss_<part>", "val_iou_pooled",
  "val_absrel_metric_pooled"}``; when the run has no ``summary.json`` yet (still
  training, or interrupted) the history stored in ``checkpoints/last.pt`` is used;
* ``train_config.json``: the training settings (and, through its ``data``, the dataset's
  ``manifest.json`` configuration);

and, from ``EVAL_DIR`` (made by ``maskdepth evaluate``, optional): ``metrics.json``
(``summary`` and ``per_image``: ``"set|method"`` → rows with ``"key"``, ``"iou"``,
``"aligned_absrel"``, ...), ``metrics.md`` (used only when ``metrics.json`` is absent),
``test_grid.png``, ``realpairs_grid.png``.

Writes into ``OUT`` (default ``RUN_DIR/report``): ``report.html`` (every image embedded as
base64, so the one file can be mailed or archived), ``curves.png`` (losses, validation
metrics and learning rate against the optimiser step), ``worst_iou.png`` and
``worst_absrel.png`` (the model's worst test cases, re-run through the model when the
samples and the checkpoint can be found; otherwise they are listed only), and copies of
the evaluation grids.
"""

from __future__ import annotations

import base64
import html
import json
import math
import shlex
import time
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..io import atomic_write_bytes, atomic_write_text, encode_png, read_json, save_png
from .config import ReportConfig

__all__ = ["make_report", "run_report", "load_history", "worst_cases", "plot_curves"]


# ----------------------------------------------------------------------------- inputs


def load_history(run_dir: str | Path) -> tuple[list[dict], dict, str]:
    """The training history of a run.

    Returns:
        ``(history, summary, source)``: the list of history records (see the module
        docstring), the ``summary.json`` dict (``{}`` when read from a checkpoint) and
        where the history came from (a path).
    Raises:
        MaskDepthError: neither ``summary.json`` nor ``checkpoints/last.pt`` holds one.
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise MaskDepthError(f"run directory not found: {run}")
    sp = run / "summary.json"
    if sp.exists():
        s = read_json(sp, "run summary")
        if not isinstance(s, dict) or not isinstance(s.get("history", []), list):
            raise MaskDepthError(f"{sp}: not a training summary (no history list)")
        return s.get("history", []), s, str(sp)
    ck = run / "checkpoints" / "last.pt"
    if ck.exists():
        from ..checkpoint import read_checkpoint

        st = read_checkpoint(ck).get("train") or {}
        return list(st.get("history") or []), {"steps": st.get("step"), "from_checkpoint": True}, str(ck)
    raise MaskDepthError(f"{run}: no summary.json and no checkpoints/last.pt; is this a `maskdepth train` run directory?")


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _series(history: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [(r["step"], r[key]) for r in history if _finite(r.get(key)) and _finite(r.get("step"))]
    if not pts:
        return np.zeros(0), np.zeros(0)
    a = np.asarray(pts, np.float64)
    return a[:, 0], a[:, 1]


def _ema(y: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(y)
    s = y[0]
    for i, v in enumerate(y):
        s = alpha * v + (1 - alpha) * s
        out[i] = s
    return out


def plot_curves(history: list[dict]) -> np.ndarray | None:
    """Loss, validation-metric and learning-rate curves against the step.

    Returns: ``uint8 (H, W, 3)`` RGB image, or ``None`` when the history is empty.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keys = sorted({k for r in history for k in r if _finite(r.get(k))})
    train_keys = [k for k in keys if k.startswith("train_loss_")]
    val_loss_keys = [k for k in keys if k.startswith("val_loss_")]
    val_metric_keys = [k for k in keys if k.startswith("val_") and k not in val_loss_keys]
    if not (train_keys or val_loss_keys or val_metric_keys):
        return None
    fig = Figure(figsize=(13.5, 3.8), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    colours = {}
    ax = axes[0]
    for k in train_keys:
        x, y = _series(history, k)
        part = k[len("train_loss_") :]
        if len(x) > 20:
            ax.plot(x, y, lw=0.6, alpha=0.3, color=colours.get(part))
            (ln,) = ax.plot(x, _ema(y, 0.1), lw=1.6, label=f"train {part} (EMA)")
        else:
            (ln,) = ax.plot(x, y, lw=1.4, marker=".", label=f"train {part}")
        colours[part] = ln.get_color()
    for k in val_loss_keys:
        x, y = _series(history, k)
        part = k[len("val_loss_") :]
        ax.plot(x, y, ls="--", marker="o", ms=4, color=colours.get(part), label=f"val {part}")
    ax.set_title("losses")
    ax.set_xlabel("step")
    if any(_series(history, k)[1].size and (_series(history, k)[1] > 0).all() for k in train_keys):
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7)
    ax = axes[1]
    for k in val_metric_keys:
        x, y = _series(history, k)
        ax.plot(x, y, marker="o", ms=4, label=k[len("val_") :].replace("_", " "))
    ax.set_title("validation metrics")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no validation yet", ha="center", va="center", transform=ax.transAxes, color="0.5")
    ax = axes[2]
    x, y = _series(history, "lr")
    if x.size:
        ax.plot(x, y, color="0.3")
    else:
        ax.text(0.5, 0.5, "no learning rate logged", ha="center", va="center", transform=ax.transAxes, color="0.5")
    ax.set_title("learning rate")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def worst_cases(per_image: dict, metric: str, n: int = 10, method: str = "model") -> list[dict]:
    """The ``n`` worst rows of ``method`` for ``metric`` over every test set.

    Args:
        per_image: ``metrics.json["per_image"]`` (``"set|method"`` → list of rows).
        metric: ``"iou"`` (worst = lowest) or an AbsRel key such as ``"aligned_absrel"``
            (worst = highest). ``composites/all`` is skipped (it repeats the per-kind sets).
    Returns:
        Rows (dicts) with ``"set"`` added, worst first.
    """
    rows = []
    for name, rs in per_image.items():
        set_name, _, m = name.rpartition("|")
        if m != method or set_name == "composites/all":
            continue
        for r in rs:
            if _finite(r.get(metric)):
                rows.append({"set": set_name, **r})
    lower_is_worse = metric in ("iou", "dice", "boundary_f") or metric.endswith("delta1") or metric.endswith("ssim")
    rows.sort(key=lambda r: (r[metric] if lower_is_worse else -r[metric], r["set"], str(r.get("key"))))
    return rows[:n]


# ----------------------------------------------------------------------------- rendering the worst cases


class _Cases:
    """Finds the images of an evaluation row: composites in the dataset, real pairs / depth sets in realtest."""

    def __init__(self, data_dir: str | None, split: str, realtest: str | None):
        self.data_dir, self.split, self.realtest = data_dir, split, realtest
        self._ds = None
        self._index: dict[str, int] | None = None
        self.problems: list[str] = []

    def _dataset(self):
        if self._ds is None and self.data_dir:
            from ..data.dataset import MaskDepthDataset

            try:
                self._ds = MaskDepthDataset(self.data_dir, self.split)
                self._index = {key: i for i, (_, key, _) in enumerate(self._ds.items)}
            except MaskDepthError as e:
                self.problems.append(f"dataset not readable ({e})")
                self.data_dir = None
        return self._ds

    def load(self, set_name: str, key: str) -> dict | None:
        """``{"bg", "image", "gt_mask" (bool or None), "gt_depth" (float32 m or None)}`` or ``None`` if not found."""
        from ..io import load_depth_mm, load_mask, load_rgb, resize

        try:
            if set_name.startswith("composites/"):
                ds = self._dataset()
                if ds is None or key not in self._index:
                    return None
                r = ds.raw(self._index[key])
                metric = r["meta"].get("depth_kind") == "metric"
                return {"bg": r["bg"], "image": r["fg_bg"], "gt_mask": r["mask"], "gt_depth": r["depth"] if metric else None}
            if not self.realtest:
                return None
            rt = Path(self.realtest)
            kind, _, sub = set_name.partition("/")
            sub = sub.removesuffix("/empty")
            if kind == "pairs":
                scene = rt / "pairs" / sub
                from . import metrics as M

                gt_raw = load_mask(scene / "gt" / f"{key}.png")
                fg, _ = M.cdnet_gt(gt_raw)
                return {
                    "bg": load_rgb(scene / "bg.png"),
                    "image": load_rgb(scene / "frames" / f"{key}.png"),
                    "gt_mask": fg,
                    "gt_depth": None,
                }
            if kind == "depth":
                d = rt / "depth" / sub
                rgbp = next((d / "rgb" / (key + e) for e in (".png", ".jpg") if (d / "rgb" / (key + e)).exists()), None)
                if rgbp is None:
                    return None
                img = load_rgb(rgbp)
                gt = load_depth_mm(d / "depth" / f"{key}.png").astype(np.float32) / 1000.0
                if gt.shape != img.shape[:2]:
                    gt = resize(gt, img.shape[:2], nearest=True)
                return {"bg": img, "image": img, "gt_mask": None, "gt_depth": gt}
        except MaskDepthError as e:
            self.problems.append(f"{set_name} {key}: {e}")
        return None


def _label(img: np.ndarray, text: str) -> np.ndarray:
    import cv2

    from ..io import resize

    a = resize(np.ascontiguousarray(img), (128, 128)).copy()
    cv2.rectangle(a, (0, 0), (8 + 8 * len(text), 16), (0, 0, 0), -1)
    cv2.putText(a, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return a


def render_cases(rows: list[dict], cases: _Cases, predictor) -> tuple[np.ndarray | None, int]:
    """A grid of the rows that can be found: bg, image, GT mask, predicted mask, GT depth, predicted depth.

    Returns: ``(uint8 (H, W, 3) grid or None, number of rows rendered)``.
    """
    from ..viz import colorize_depth, gray_to_rgb, grid

    out = []
    for rank, r in enumerate(rows, 1):
        c = cases.load(r["set"], str(r.get("key")))
        if c is None:
            continue
        blank = np.full_like(c["image"], 235)
        pred = predictor.predict(c["bg"], c["image"]) if predictor is not None else None
        gt_d = c["gt_depth"]
        valid = gt_d is not None and (gt_d > 0).any()
        if valid:
            lo, hi = np.percentile(gt_d[gt_d > 0], [2, 98])
        elif pred is not None:
            lo, hi = np.percentile(pred.depth, [2, 98])
        else:
            lo = hi = None
        out.append(
            [
                _label(c["bg"], f"#{rank}"),
                c["image"],
                gray_to_rgb(c["gt_mask"]) if c["gt_mask"] is not None else blank,
                gray_to_rgb(pred.mask) if pred is not None else blank,
                colorize_depth(gt_d, lo, hi) if valid else blank,
                colorize_depth(pred.depth, lo, hi) if pred is not None else blank,
            ]
        )
    if not out:
        return None, 0
    return grid(out, titles=["bg", "image", "GT mask", "pred mask", "GT depth", "pred depth"]), len(out)


# ----------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1d2330;background:#f6f7f9;margin:0}
main{max-width:1120px;margin:0 auto;padding:20px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #e3e6eb;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 8px}
.muted{color:#667085}.card{background:#fff;border:1px solid #e3e6eb;border-radius:10px;padding:14px;margin:10px 0}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums;background:#fff}
th,td{border:1px solid #e3e6eb;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f2f5}
tr.model td{font-weight:600}
img{max-width:100%;height:auto;border:1px solid #e3e6eb;border-radius:6px;background:#fff}
pre{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:10px;overflow:auto;font-size:12px}
.kv td:first-child{color:#667085;white-space:nowrap}.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:800px){.grid2{grid-template-columns:1fr}}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _img_tag(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _fmt(v, nd: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "–"
        return f"{v:.{nd}g}" if (abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3)) else f"{v:.{nd}f}"
    return str(v)


def _kv_table(d: dict) -> str:
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(json.dumps(v) if isinstance(v, (dict, list)) else _fmt(v, 4))}</td></tr>" for k, v in d.items()
    )
    return f'<table class="kv">{rows}</table>'


def _ci(v, ci) -> str:
    s = _fmt(v)
    if ci and v is not None:
        s += f" <span class='muted'>[{_fmt(ci[0])}, {_fmt(ci[1])}]</span>"
    return s


def _eval_tables(summary: dict) -> str:
    mask_rows, depth_rows = [], []
    for s, methods in summary.items():
        for m, v in methods.items():
            cls = ' class="model"' if m == "model" else ""
            if v.get("iou") is not None or v.get("fpr") is not None:
                mask_rows.append(
                    f"<tr{cls}><td>{_e(s)}</td><td>{_e(m)}</td><td>{v.get('n')}</td><td>{_ci(v.get('iou'), v.get('iou_ci95'))}</td>"
                    f"<td>{_fmt(v.get('dice'))}</td><td>{_fmt(v.get('boundary_f'))}</td><td>{_fmt(v.get('fpr'))}</td></tr>"
                )
            if v.get("aligned_absrel") is not None or v.get("metric_absrel") is not None:
                depth_rows.append(
                    f"<tr{cls}><td>{_e(s)}</td><td>{_e(m)}</td><td>{v.get('n')}</td><td>{_fmt(v.get('metric_absrel'))}</td>"
                    f"<td>{_fmt(v.get('metric_delta1'))}</td><td>{_ci(v.get('aligned_absrel'), v.get('aligned_absrel_ci95'))}</td>"
                    f"<td>{_fmt(v.get('aligned_rmse'))}</td><td>{_fmt(v.get('aligned_delta1'))}</td><td>{_fmt(v.get('aligned_ssim'))}</td></tr>"
                )
    out = ""
    if mask_rows:
        out += (
            "<h3>Masks</h3><table><tr><th>set</th><th>method</th><th>n</th><th>IoU [95% CI]</th><th>Dice</th><th>boundary F</th>"
            "<th>FP rate (empty frames)</th></tr>" + "".join(mask_rows) + "</table>"
        )
    if depth_rows:
        out += (
            "<h3>Depth</h3><p class='muted'><code>metric</code>: the network's metres as they are; <code>aligned</code>: after per-image "
            "least-squares scale/shift in disparity space. RMSE in metres.</p><table><tr><th>set</th><th>method</th><th>n</th>"
            "<th>AbsRel metric</th><th>δ1 metric</th><th>AbsRel aligned [95% CI]</th><th>RMSE aligned (m)</th><th>δ1 aligned</th>"
            "<th>SSIM aligned</th></tr>" + "".join(depth_rows) + "</table>"
        )
    return out or "<p class='muted'>The evaluation summary is empty.</p>"


def _worst_table(rows: list[dict], metric: str) -> str:
    cols = [("iou", "IoU"), ("dice", "Dice"), ("aligned_absrel", "AbsRel aligned"), ("metric_absrel", "AbsRel metric"), ("fpr", "FP rate")]
    cols = [(k, t) for k, t in cols if any(k in r for r in rows)]
    head = "<tr><th>#</th><th>set</th><th>key</th>" + "".join(f"<th>{_e(t)}{' ▼' if k == metric else ''}</th>" for k, t in cols) + "</tr>"
    body = "".join(
        f"<tr><td>{i}</td><td>{_e(r['set'])}</td><td>{_e(r.get('key'))}</td>"
        + "".join(f"<td>{_fmt(r.get(k))}</td>" for k, _ in cols)
        + "</tr>"
        for i, r in enumerate(rows, 1)
    )
    return f"<table>{head}{body}</table>"


def _split_and_realtest(command: str) -> tuple[str, str | None]:
    split, realtest = "test", None
    try:
        args = shlex.split(command or "")
    except ValueError:
        args = (command or "").split()
    for i, a in enumerate(args):
        for flag in ("--split", "--realtest"):
            val = None
            if a == flag and i + 1 < len(args):
                val = args[i + 1]
            elif a.startswith(flag + "="):
                val = a.split("=", 1)[1]
            if val is not None:
                if flag == "--split":
                    split = val
                else:
                    realtest = val
    return split, realtest


def _read_eval(eval_dir: str | Path | None) -> tuple[Path | None, dict | None, str | None]:
    """``(eval folder, metrics.json dict, metrics.md text)`` of an evaluation folder (all ``None`` without one).

    Raises: MaskDepthError: the folder is missing or holds neither file.
    """
    if eval_dir is None:
        return None, None, None
    ev = Path(eval_dir)
    if not ev.is_dir():
        raise MaskDepthError(f"folder not found: {ev}", param="eval_dir")
    if (ev / "metrics.json").exists():
        return ev, read_json(ev / "metrics.json", "evaluation metrics"), None
    if (ev / "metrics.md").exists():
        return ev, None, (ev / "metrics.md").read_text(encoding="utf-8", errors="replace")
    raise MaskDepthError(f"{ev}: no metrics.json or metrics.md; is this a `maskdepth evaluate` output folder?")


def _header_section(run: Path, history: list[dict], summary: dict, hist_src: str) -> str:
    """The title and the run's key figures (steps, time, last validation)."""
    last_val = next((r for r in reversed(history) if any(k.startswith("val_") for k in r)), None)
    head = {
        "run directory": str(run.resolve()),
        "history from": hist_src,
        "steps": summary.get("steps"),
        "planned steps": summary.get("total_steps"),
        "stopped early (time budget)": summary.get("stopped_early_by_time"),
        "seconds (last session)": summary.get("seconds_this_run"),
        "checkpoint": summary.get("checkpoint"),
    }
    if last_val:
        head.update({f"last {k.replace('_', ' ')}": v for k, v in last_val.items() if k.startswith("val_")})
    head = {k: v for k, v in head.items() if v is not None}
    return (
        f"<h1>maskdepth run: {_e(run.resolve().name)}</h1><p class='muted'>Report made {_e(time.strftime('%Y-%m-%d %H:%M:%S'))} "
        f"by <code>maskdepth report</code>.</p><div class='card'>{_kv_table(head)}</div>"
    )


def _curves_section(history: list[dict], out: Path, files: dict) -> list[str]:
    """The training curves (``curves.png``, also embedded)."""
    parts = ["<h2>Training curves</h2>"]
    curves = plot_curves(history)
    if curves is None:
        return parts + ["<p class='muted'>No history recorded yet.</p>"]
    save_png(out / "curves.png", curves)
    files["curves"] = str(out / "curves.png")
    parts.append(
        _img_tag(encode_png(curves), "training curves")
        + "<p class='muted'>Training losses are logged every few steps (thin: raw, thick: moving average when there are many "
        "points); validation losses and metrics at each validation (IoU pooled over pixels, AbsRel of metric depth).</p>"
    )
    return parts


def _eval_section(ev: Path | None, metrics: dict | None, md_text: str | None, out: Path, files: dict) -> list[str]:
    """The evaluation tables, protocol and sample grids (copied into ``out``)."""
    parts = ["<h2>Evaluation</h2>"]
    if ev is None:
        return parts + ["<p class='muted'>No evaluation given (<code>--eval EVAL_DIR</code>, from <code>maskdepth evaluate</code>).</p>"]
    if metrics is None:
        parts.append(f"<p class='muted'>From {_e(ev / 'metrics.md')}:</p><pre>{_e(md_text)}</pre>")
    else:
        if metrics.get("command"):
            parts.append(f"<p class='muted'>Made by:</p><pre>{_e(metrics['command'])}</pre>")
        parts.append(_eval_tables(metrics.get("summary", {})))
        if metrics.get("protocol"):
            parts.append(f"<h3>Protocol</h3>{_kv_table(metrics['protocol'])}")
    for grid_name, title in (("test_grid.png", "Sample grid (held-out composites)"), ("realpairs_grid.png", "Sample grid (real pairs)")):
        if (ev / grid_name).exists():
            data = (ev / grid_name).read_bytes()
            atomic_write_bytes(out / grid_name, data)
            files[grid_name] = str(out / grid_name)
            parts.append(f"<h3>{_e(title)}</h3>" + _img_tag(data, title))
    return parts


def _worst_predictor(metrics: dict, run: Path, notes: list[str]):
    """The model that re-runs the worst cases: the evaluated checkpoint, else the run's last one
    (``None`` when there is none or it does not load; the reason goes to ``notes``)."""
    ck = metrics.get("checkpoint")
    ck_path = Path(ck) if isinstance(ck, str) and Path(ck).exists() else run / "checkpoints" / "last.pt"
    if not ck_path.exists():
        notes.append("no checkpoint found: ground truth only")
        return None
    from ..inference.predictor import load_predictor

    try:
        predictor = load_predictor(str(ck_path), size=(metrics.get("protocol") or {}).get("input_short_side"), backend="auto")
    except MaskDepthError as e:
        notes.append(f"model not loaded ({e}): ground truth only")
        return None
    notes.append(f"predictions by {ck_path}")
    return predictor


def _worst_section(metrics: dict, cfg: dict | None, run: Path, out: Path, files: dict, worst: int, render: bool) -> list[str]:
    """The ``worst`` lowest-IoU and highest-AbsRel test cases: tables and, with ``render``, grids
    of the cases re-run through the model (``worst_iou.png``, ``worst_absrel.png``)."""
    parts = ["<h2>Worst test cases</h2>"]
    split, realtest = _split_and_realtest(metrics.get("command", ""))
    data_dir = (cfg or {}).get("data")
    data_ok = bool(data_dir) and (Path(data_dir) / "manifest.json").exists()
    cases = _Cases(data_dir if data_ok else None, split, realtest if realtest and Path(realtest).is_dir() else None)
    notes: list[str] = []
    predictor = None
    if render:
        predictor = _worst_predictor(metrics, run, notes)
        if not data_ok:
            notes.append(f"dataset {data_dir!r} (train_config.json) not found: composites listed only")
    for metric, title, fname in (
        ("iou", "lowest mask IoU", "worst_iou.png"),
        ("aligned_absrel", "highest depth AbsRel (aligned)", "worst_absrel.png"),
    ):
        rows = worst_cases(metrics["per_image"], metric, worst)
        parts.append(f"<h3>{len(rows)} {_e(title)}</h3>")
        if not rows:
            parts.append(f"<p class='muted'>No per-image {_e(metric)} values for the model.</p>")
            continue
        parts.append(_worst_table(rows, metric))
        if render:
            g, n_found = render_cases(rows, cases, predictor)
            if g is not None:
                save_png(out / fname, g)
                files[fname] = str(out / fname)
                parts.append(
                    f"<p class='muted'>{n_found} of {len(rows)} found and re-run; numbered as in the table.</p>"
                    + _img_tag(encode_png(g), title)
                )
            else:
                parts.append("<p class='muted'>None of these samples could be found to render.</p>")
    if notes or cases.problems:
        parts.append("<p class='muted'>" + _e("; ".join(notes + cases.problems[:5])) + "</p>")
    return parts


def _config_section(cfg: dict | None, cfg_path: Path) -> list[str]:
    """The training settings and the dataset's generation settings (its ``manifest.json``)."""
    parts = ["<h2>Configuration</h2>"]
    if cfg is None:
        return parts + [f"<p class='muted'>{_e(cfg_path)} not found.</p>"]
    parts.append(f"<div class='grid2'><div><h3>Training ({_e(cfg_path.name)})</h3>{_kv_table(cfg)}</div>")
    man = Path(cfg.get("data", "")) / "manifest.json" if cfg.get("data") else None
    if man is not None and man.exists():
        try:
            mcfg = read_json(man, "dataset manifest").get("config", {})
            parts.append(f"<div><h3>Dataset ({_e(man)})</h3>{_kv_table(mcfg)}</div>")
        except (MaskDepthError, AttributeError):
            parts.append("<div><p class='muted'>Dataset manifest unreadable.</p></div>")
    else:
        parts.append("<div><p class='muted'>Dataset manifest not found.</p></div>")
    parts.append("</div>")
    return parts


def make_report(
    run_dir: str | Path,
    eval_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    worst: int = 10,
    render: bool = True,
    quiet: bool = True,
) -> Path:
    """Write ``report.html`` and its PNGs for a training run (see the module docstring).

    Args:
        run_dir: the ``maskdepth train`` run directory.
        eval_dir: a ``maskdepth evaluate`` output folder (optional).
        out_dir: output folder (default ``run_dir/report``).
        worst: number of worst test cases per metric (IoU, aligned AbsRel).
        render: re-run the model on the worst cases (needs the dataset named in
            ``train_config.json`` and a checkpoint); otherwise they are only listed.
    Returns:
        Path of ``report.html``.
    Raises:
        MaskDepthError: ``worst`` < 0, the run directory has no history, ``eval_dir`` is missing or
            holds no ``metrics.json``/``metrics.md``, or the output cannot be written.
    """
    if worst < 0:
        raise MaskDepthError(f"must be >= 0, got {worst}", param="worst")
    run = Path(run_dir)
    history, summary, hist_src = load_history(run)
    out = Path(out_dir) if out_dir else run / "report"
    cfg_path = run / "train_config.json"
    cfg = read_json(cfg_path, "training config") if cfg_path.exists() else None
    ev, metrics, md_text = _read_eval(eval_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MaskDepthError(f"cannot create {out}: {e.strerror or e}") from None
    files: dict[str, str] = {}
    parts = [_header_section(run, history, summary, hist_src)]
    parts += _curves_section(history, out, files)
    parts += _eval_section(ev, metrics, md_text, out, files)
    if metrics is not None and metrics.get("per_image"):
        parts += _worst_section(metrics, cfg, run, out, files, worst, render)
    parts += _config_section(cfg, cfg_path)
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>maskdepth report: {_e(run.resolve().name)}</title><style>{_CSS}</style></head><body><main>"
        + "\n".join(parts)
        + "</main></body></html>\n"
    )
    path = out / "report.html"
    atomic_write_text(path, page)
    return path


def run_report(cfg: ReportConfig) -> Path:
    """``maskdepth report``: :func:`make_report` with the settings of ``cfg``; returns the path of ``report.html``.

    Raises:
        MaskDepthError: as :func:`make_report` (naming the parameter where one is at fault).
    """
    return make_report(cfg.run_dir, eval_dir=cfg.eval_dir, out_dir=cfg.out, worst=cfg.worst, render=cfg.render)
