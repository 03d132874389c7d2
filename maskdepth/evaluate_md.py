"""``metrics.md``: the Markdown tables (masks, depth) of a :func:`maskdepth.evaluate.evaluate` summary."""

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


def markdown_table(summary: dict, command: str = "") -> str:
    """Markdown tables (mask and depth) of an evaluation summary.

    Args:
        summary: ``{set: {method: {"n", "iou", "iou_ci95", "dice", ..., "aligned_absrel", ...}}}``
            (the ``summary`` of ``metrics.json``); missing or ``None`` values print as "–".
        command: the command line, shown above the tables when given.
    Returns: the text of ``metrics.md`` (ends with a newline).
    """
    lines = ["# maskdepth evaluation", ""]
    if command:
        lines += ["Made by:", "", "```", command, "```", ""]
    lines += [
        "## Masks",
        "",
        "| set | method | n | IoU [95% CI] | Dice | boundary F | FP rate (empty frames) | FP blobs per empty frame |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, methods in summary.items():
        for m, v in methods.items():
            if v.get("iou") is not None or v.get("fpr") is not None:
                lines.append(
                    f"| {s} | {m} | {v['n']} | {_fmt(v.get('iou'), v.get('iou_ci95'))} | {_fmt(v.get('dice'))} | {_fmt(v.get('boundary_f'))} | {_fmt(v.get('fpr'))} | {_fmt(v.get('fp_blobs'))} |"
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
                    f"| {s} | {m} | {v['n']} | {_fmt(v.get('metric_absrel'))} | {_fmt(v.get('metric_delta1'))} | "
                    f"{_fmt(v.get('aligned_absrel'), v.get('aligned_absrel_ci95'))} | {_fmt(v.get('aligned_rmse'))} | {_fmt(v.get('aligned_delta1'))} | {_fmt(v.get('aligned_ssim'))} |"
                )
    return "\n".join(lines) + "\n"
