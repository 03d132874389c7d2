"""What the tracker's colour cue costs: tracker + events engine per frame with and without the frames' colours.

The events page's throughput (``results/events.md``, 'Latency and throughput') times the tracker and the engine on
detections without frames, so without the colour cue that ``watch`` and ``predict --video`` run (each object's colour
descriptor from its mask component's pixels, :func:`maskdepth.scene.appearance.object_colours`, colour in the
tracker's contests and relinking, and, since 2026-12-07, the colour boxes of people on merged blobs,
``ByteTracker(colour_boxes=True)``). Here the same clips are drawn in colour (``benchmarks.events_appearance.painter``)
and timed both ways: ``ByteTracker.update(objects)`` and ``ByteTracker.update(objects, image=frame, labels=labels)``,
each followed by the engine's update and the objects' records, best of 3 runs per clip, on this machine.

Usage: ``python -m benchmarks.events_colour_cost [--clips 5] [--first-seed 200]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import md_table, write_json_md
from benchmarks.events_synthetic import CAMERAS, WALKERS, make_path, simulate_masks, timed_seconds

OUT = Path(__file__).resolve().parents[1] / "results" / "events_colour_cost"


class _Keep:
    """A ``paint`` for :func:`simulate_masks` that keeps each frame and its component labels."""

    def __init__(self, cname: str, seed: int):
        from benchmarks.events_appearance import painter

        self.painter, self.frames = painter(cname, seed), []

    def __call__(self, t: float, seen: list, objects: list, labels) -> None:
        self.frames.append((self.painter.render(t, seen), labels.copy()))


def clip(cname: str, seed: int) -> tuple[list, list]:
    """``(detections per frame, [(frame, labels)])`` of a masks clip (the events page's ``clip_frames`` seeds)."""
    rng = np.random.default_rng(1000 * seed + 7)
    ways = [make_path(rng) for _ in range(WALKERS)]
    keep = _Keep(cname, seed)
    return simulate_masks(CAMERAS[cname], ways, rng, keep), keep.frames


def run(n_clips: int, first_seed: int) -> dict:
    """Per camera: frames, ms per frame without and with colours (summed over the clips)."""
    out = {}
    for cname, cam in CAMERAS.items():
        frames = plain = coloured = 0.0
        for seed in range(first_seed, first_seed + n_clips):
            dets, pictures = clip(cname, seed)
            frames += len(dets)
            plain += timed_seconds(cam, dets, True)
            coloured += timed_seconds(cam, dets, True, pictures)
        out[cname] = {"frames": int(frames), "ms_per_frame_plain": 1e3 * plain / frames, "ms_per_frame_colour": 1e3 * coloured / frames}
        print(cname, out[cname], flush=True)
    return out


def markdown(res: dict, cmd: str) -> str:
    """The page ``results/events_colour_cost.md``."""
    rows = [
        [
            c,
            v["frames"],
            f"{v['ms_per_frame_plain']:.2f}",
            f"{v['ms_per_frame_colour']:.2f}",
            f"{v['ms_per_frame_colour'] - v['ms_per_frame_plain']:+.2f}",
        ]
        for c, v in res["cameras"].items()
    ]
    head = ["camera", "frames", "tracker + engine, no frames (ms/frame)", "with the frames' colours (ms/frame)", "colour cue (ms/frame)"]
    lines = ["# What the tracker's colour cue costs", "", __doc__.split("\n\n")[1].replace("\n", " "), "", f"Command: `{cmd}`", ""]
    lines += md_table(head, rows) + [""]
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m benchmarks.events_colour_cost`` (the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=200)
    a = ap.parse_args(argv)
    cmd = f"python -m benchmarks.events_colour_cost --clips {a.clips} --first-seed {a.first_seed}"
    res = {"cameras": run(a.clips, a.first_seed), "clips": a.clips, "first_seed": a.first_seed, "command": cmd}
    write_json_md(OUT, res, markdown(res, cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
