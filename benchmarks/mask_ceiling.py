"""How far a clip's own masks are from F = 1 under a one-pixel change: what "+0.02 F" asks of a model on each clip.

For each clip of ``../shared/data/sequences`` (and CDnet pedestrians), the CDnet F-measure (TP / FP / FN summed over every
frame, 170 "unknown" and the ROI not scored: :func:`benchmarks.live_sequences.counts`) of the ground-truth mask itself after
a one-pixel change: eroded or dilated by a 3x3 square, or shifted by one pixel (the mean of the four directions). A model
whose masks are as good as the annotation up to one pixel of boundary scores about these values; a model at F 0.97 where
a one-pixel erosion already scores 0.96 is at the annotation's boundary precision, and +0.02 would ask for better than it.
Nothing is chosen from this: it describes the clips' masks (``results/adapt.md`` reads it).

Usage: python -m benchmarks.mask_ceiling [--out results/mask_ceiling]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import write_json_md
from benchmarks.live_sequences import counts, f_measure, load_clip

SHARED = Path(__file__).resolve().parents[2] / "shared"
CHANGES = ("erode_1px", "dilate_1px", "shift_1px")


def changed(fg: np.ndarray, how: str) -> list[np.ndarray]:
    """The one-pixel changes of a ``bool (H, W)`` mask named ``how`` (a list: the shift's four directions)."""
    k = np.ones((3, 3), np.uint8)
    m = fg.astype(np.uint8)
    if how == "erode_1px":
        return [cv2.erode(m, k).astype(bool)]
    if how == "dilate_1px":
        return [cv2.dilate(m, k).astype(bool)]
    return [np.roll(fg, s, axis=a) for a in (0, 1) for s in (-1, 1)]


def clip_ceiling(clip: dict) -> dict:
    """``{change: F}`` of the clip's own GT after each one-pixel change, and the foreground's share within 1 px of its edge."""
    out, edge, fg_total = {}, 0, 0
    for how in CHANGES:
        fs = []
        for k in range(4 if how == "shift_1px" else 1):
            c = np.zeros(3, np.int64)
            for g in clip["gt"]:
                c += counts(changed(g == 255, how)[k], g, clip["roi"])
            fs.append(f_measure(c))
        out[how] = round(float(np.mean(fs)), 4)
    for g in clip["gt"]:
        fg = g == 255
        edge += int(np.count_nonzero(fg & ~changed(fg, "erode_1px")[0]))
        fg_total += int(np.count_nonzero(fg))
    out["fg_px_on_edge"] = round(edge / max(fg_total, 1), 4)
    out["frames"] = len(clip["gt"])
    return out


def markdown(res: dict) -> str:
    """The results page."""
    lines = [
        "# A clip's own masks under a one-pixel change",
        "",
        "Made by `.venv/bin/python -m benchmarks.mask_ceiling`. CDnet F (TP/FP/FN over every frame, 170 and outside the ROI not "
        "scored) of each clip's ground-truth mask after a one-pixel change (3x3 erosion, dilation, or a shift of one pixel: mean "
        "of four directions). It says how much of F is decided by one pixel of boundary, i.e. how far from 1 a model exact to "
        "the annotation's precision can be. Nothing is chosen from it.",
        "",
        "| clip | frames | foreground px within 1 px of the edge | F, GT eroded 1 px | F, GT dilated 1 px | F, GT shifted 1 px |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in res["clips"].items():
        lines.append(
            f"| {name} | {r['frames']} | {100 * r['fg_px_on_edge']:.1f} % | {r['erode_1px']:.3f} | {r['dilate_1px']:.3f} | "
            f"{r['shift_1px']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(SHARED), help="the shared data folder (default ../shared)")
    ap.add_argument("--out", default="results/mask_ceiling", help="output prefix (.json and .md)")
    a = ap.parse_args(argv)
    seq = Path(a.shared) / "data" / "sequences"
    res = {"clips": {}}
    for d in sorted(p for p in seq.iterdir() if (p / "gt").is_dir()):
        res["clips"][d.name] = clip_ceiling(load_clip(d))
        print(d.name, res["clips"][d.name], flush=True)
    cd = Path(a.shared) / "data" / "realtest" / "pairs" / "cdnet_pedestrians"
    if (cd / "gt").is_dir():
        from benchmarks.adapt_sequences import load_cdnet

        res["clips"]["cdnet_pedestrians"] = clip_ceiling(load_cdnet(cd))
    write_json_md(Path(a.out), res, markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
