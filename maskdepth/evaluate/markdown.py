"""``metrics.md``: the Markdown tables (masks, depth, robustness) of a :func:`maskdepth.evaluate.run.evaluate` summary."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["markdown_table"]


def _fmt(v: float | None, ci: Sequence[float] | None = None) -> str:
    if v is None:
        return "–"
    s = f"{v:.3f}"
    if ci:
        s += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return s


def _n(v: dict, *keys: str):
    """The count of values averaged for the first of ``keys`` present (``<key>_n``), else ``n``."""
    return next((v[k + "_n"] for k in keys if v.get(k) is not None and k + "_n" in v), v.get("n"))


ROBUSTNESS_COLUMNS = (
    ("exposure_0.8", "exposure ×0.8"),
    ("exposure_1.2", "exposure ×1.2"),
    ("shift_2px", "shift (2, 1) px"),
    ("jpeg_30", "JPEG q30"),
    ("noise_6", "noise σ 6"),
)


def robustness_table(robustness: dict) -> list[str]:
    """Markdown lines of the robustness table: per real pair set and method, IoU clean and under each
    perturbation with its drop from clean in parentheses, and the worst drop (``metrics.json``
    ``robustness``, see :func:`maskdepth.evaluate.run.evaluate`). No lines when there is nothing."""
    if not robustness:
        return []
    lines = [
        "## Robustness (real pairs)",
        "",
        "IoU with the *frame* changed as a camera would change it between the background shot and the frame "
        "(the background stays); in parentheses the drop from clean. The shift moves the frame and its GT together.",
        "",
        "| set | method | n | clean | " + " | ".join(t for _, t in ROBUSTNESS_COLUMNS) + " | worst drop |",
        "|---|---|---|---|" + "---|" * len(ROBUSTNESS_COLUMNS) + "---|",
    ]
    for s, methods in robustness.items():
        for m, e in methods.items():
            cells = [f"{e[k]['iou']:.3f} ({e[k]['drop']:+.3f})" if k in e else "–" for k, _ in ROBUSTNESS_COLUMNS]
            lines.append(f"| {s} | {m} | {e['n']} | {e['clean']:.3f} | " + " | ".join(cells) + f" | {e['worst_drop']:.3f} ({e['worst']}) |")
    return lines + [""]


def markdown_table(summary: dict, command: str = "", robustness: dict | None = None) -> str:
    """Markdown tables (mask, depth and, when given, robustness) of an evaluation summary.

    Args:
        summary: ``{set: {method: {"n", "iou", "iou_n", "iou_ci95", "dice", ..., "aligned_absrel", ...}}}``
            (the ``summary`` of ``metrics.json``); missing or ``None`` values print as "–". The ``n``
            column is the number of values averaged for the table's headline metric (``iou`` or
            ``fpr``; ``aligned_absrel`` or ``metric_absrel``).
        command: the command line, shown above the tables when given.
        robustness: the ``robustness`` of ``metrics.json`` (:func:`robustness_table`).
    Returns: the text of ``metrics.md`` (ends with a newline).
    """
    lines = ["# maskdepth evaluation", ""]
    if command:
        lines += ["Made by:", "", "```", command, "```", ""]
    lines += [
        "## Masks",
        "",
        "`n`: the number of values averaged. 95 % intervals resample the units of independence: on composites the "
        "backgrounds and the cutouts (two-way cluster bootstrap), on real pairs and depth sets the frames (frames of one "
        "video are correlated too: those intervals are optimistic).",
        "",
        "| set | method | n | IoU [95% CI] | Dice | boundary F | FP rate (empty frames) | FP blobs per empty frame |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, methods in summary.items():
        for m, v in methods.items():
            if v.get("iou") is not None or v.get("fpr") is not None:
                lines.append(
                    f"| {s} | {m} | {_n(v, 'iou', 'fpr')} | {_fmt(v.get('iou'), v.get('iou_ci95'))} | {_fmt(v.get('dice'))} | {_fmt(v.get('boundary_f'))} | {_fmt(v.get('fpr'))} | {_fmt(v.get('fp_blobs'))} |"
                )
    lines += [
        "",
        "## Depth",
        "",
        "`metric`: the network's metres as they are; `aligned`: after per-image least-squares scale/shift in disparity space. RMSE in metres.",
        "",
        "| set | method | n | AbsRel metric | δ1 metric | AbsRel aligned [95% CI] | RMSE aligned | δ1 aligned | SSIM aligned |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s, methods in summary.items():
        for m, v in methods.items():
            if v.get("aligned_absrel") is not None or v.get("metric_absrel") is not None:
                lines.append(
                    f"| {s} | {m} | {_n(v, 'aligned_absrel', 'metric_absrel')} | {_fmt(v.get('metric_absrel'))} | {_fmt(v.get('metric_delta1'))} | "
                    f"{_fmt(v.get('aligned_absrel'), v.get('aligned_absrel_ci95'))} | {_fmt(v.get('aligned_rmse'))} | {_fmt(v.get('aligned_delta1'))} | {_fmt(v.get('aligned_ssim'))} |"
                )
    objects = [(s, m, v) for s, methods in summary.items() for m, v in methods.items() if v.get("object_absrel") is not None]
    if objects:
        lines += [
            "",
            "## Objects (metric depth on the ground-truth foreground)",
            "",
            "`object AbsRel`: |median predicted - median true depth| / median true depth over the object's pixels "
            "(the distance this tool reports); `fg AbsRel`: per-pixel AbsRel over them.",
            "",
            "| set | method | n | object AbsRel [95% CI] | fg AbsRel |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {s} | {m} | {v.get('object_absrel_n')} | {_fmt(v['object_absrel'], v.get('object_absrel_ci95'))} | {_fmt(v.get('fg_absrel'))} |"
            for s, m, v in objects
        ]
    lines += [""] + robustness_table(robustness or {})
    return "\n".join(lines).rstrip("\n") + "\n"
