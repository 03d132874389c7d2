"""The size ``maskdepth adapt`` writes for its camera, checked on synthetic cameras with exact masks
(``results/adapt_size.{json,md}``).

adapt chooses the short side its written model runs at (:mod:`maskdepth.adapt.infer_size`) on its own composites. Its
choice is checked here against the truth, on frames made another way than adapt's composites:

* a camera: a val-split background photo of ``--bg-dir`` (as :mod:`benchmarks.adapt_synthetic`), 4:3, 320 x 240;
* its frames: procedural people and objects (seeds from 200000, never drawn by adapt) and test-split cutouts of
  ``--fg-dir`` (adapt draws train and val cutouts) pasted with adapt's compositing at **3x** the camera's size, blurred
  by a Gaussian of 0.6 px (at the camera's size: the optics), area-reduced, then exposure 0.85-1.15, noise sigma 4,
  JPEG 75; the masks reduced the same way (area >= 0.5). adapt's own size composites are made at 2x without a blur;
* ``maskdepth adapt --bg BG --frames FRAMES --max-steps 1 --max-infer-size 320`` (the size choice alone: one training step, the written model
  is the base model unless that step passes the keep margin), then F (CDnet-style, TP/FP/FN pooled over the frames)
  of the written model at every candidate size against the exact masks, and of the shipped model at 128 (predict's
  default).

Cameras ``--skip`` .. ``--skip + --cameras - 1`` of the val split; the first four (``bg_0001``, ``bg_0007``,
``bg_0023``, ``bg_0034``) are where the size effect was first seen (exploratory), so the criterion is judged on the
others. Example::

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.adapt_size --cameras 8 --skip 4
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from benchmarks.adapt_synthetic import BLOB_HEIGHTS, LOOK, SIZE_WH, FrameStream, camera_bgs, camera_parser, camera_photo, run_cameras
from benchmarks.live_sequences import counts, f_measure
from maskdepth.adapt.camera import Camera
from maskdepth.adapt.data import real_cutouts
from maskdepth.evaluate.perturb import exposure, gaussian_noise, jpeg
from maskdepth.io import atomic_write_text, load_rgb, save_png

K, BLUR = 3, 0.6  # frames composited at K x the camera's size; optics blur sigma in the camera's pixels
CRITERION = (
    "Written before the run on the cameras after the first four: the size choice stays on by default if, over those cameras, "
    "the mean F of the written model at its chosen size minus the shipped model at 128 is at least +0.003 and no camera is "
    "worse than the shipped model at 128 by more than 0.002; otherwise --max-infer-size defaults to the training size (off)."
)


def make_frames(bg_path: Path, root: Path, n: int, seed: int, fg_dir: str | None) -> tuple[Path, Path, np.ndarray]:
    """``root/bg.png`` and ``root/frames/*.jpg`` (module docstring); returns their paths and the masks ``bool (n, 240, 320)``."""
    W, H = SIZE_WH
    big_bg = camera_photo(bg_path, (K * W, K * H))
    bg = cv2.resize(big_bg, (W, H), interpolation=cv2.INTER_AREA)
    cam = Camera(bg=big_bg, frames=np.zeros((0, *big_bg.shape), np.uint8), full_hw=big_bg.shape[:2], bg_source="synthetic",
                 blob_heights=[K * b for b in BLOB_HEIGHTS])  # fmt: skip
    stream = FrameStream(cam, real_cutouts(fg_dir, "test"), held_out=True, look=False, generic=False)
    rng = np.random.default_rng([seed, 37])
    (root / "frames").mkdir(parents=True, exist_ok=True)
    save_png(root / "bg.png", bg)
    masks = []
    for i in range(n):
        s = stream.sample(rng)
        f = cv2.GaussianBlur(s.fg_bg, (0, 0), BLUR * K)
        f = cv2.resize(f, (W, H), interpolation=cv2.INTER_AREA)
        f = jpeg(gaussian_noise(exposure(f, float(rng.uniform(*LOOK["gain"]))), LOOK["noise"], rng), LOOK["jpeg"])
        cv2.imwrite(str(root / "frames" / f"frame_{i:04d}.jpg"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        masks.append(cv2.resize(s.mask.astype(np.float32), (W, H), interpolation=cv2.INTER_AREA) >= 0.5)
    return root / "bg.png", root / "frames", np.stack(masks)


def f_at(model: str | None, size: int, bg: np.ndarray, frames: list, masks: np.ndarray) -> float:
    """F of ``model`` (``None``: the shipped one) run at ``size`` over the frames."""
    from maskdepth.inference.predictor import load_predictor

    pred = load_predictor(model, size=size, ort_options={"threads": 1})
    c = np.zeros(3, np.int64)
    for f, m in zip(frames, masks):
        c += counts(pred.predict(bg, f).mask, m.astype(np.uint8) * 255, np.ones(m.shape, bool))
    return round(f_measure(c), 4)


def run_camera(bg_path: Path, args) -> dict:
    """One camera: its frames, adapt's size choice, and F at every candidate size."""
    from maskdepth.cli import main as cli_main

    root = Path(args.work) / bg_path.stem
    bgp, frames_dir, masks = make_frames(bg_path, root, args.frames, args.seed, args.fg_dir)
    bg = load_rgb(str(bgp))
    frames = [load_rgb(str(p)) for p in sorted(frames_dir.glob("*.jpg"))]
    d = root / "adapt"
    rc = cli_main(["adapt", "--bg", str(bgp), "--frames", str(frames_dir), "--out", str(d), "--minutes", "1000", "--seed", "0",
                   "--quiet", "--threads", "1", "--max-steps", "1", "--max-infer-size", "320", *(["--fg-dir", args.fg_dir] if args.fg_dir else [])])  # fmt: skip
    if rc:
        raise RuntimeError(f"adapt failed on {bg_path}")
    a = json.loads((d / "adapt.json").read_text())["infer_size"]
    onnx = str(d / "model.onnx")
    truth = {str(s): f_at(onnx, s, bg, frames, masks) for s in a["candidates"]}
    return {"candidates": a["candidates"], "chosen": a["chosen"], "held_out_f": a["written_model"], "truth_f": truth,
            "shipped_128": f_at(None, 128, bg, frames, masks)}  # fmt: skip


def write_md(res: dict, path: Path) -> None:
    """The page of :func:`main`'s JSON."""
    cams = res["cameras"]
    first = set(res["exploratory"])
    lines = ["# The size `maskdepth adapt` writes for its camera, against the truth", "",
             f"Made by `{res['command']}` ({res['wall_s']:.0f} s). The cameras and frames are described in the script's docstring "
             "(frames made at 3x with an optics blur, test-split cutouts and procedural people adapt never draws; adapt's own size "
             "composites are made at 2x without a blur, with val-split cutouts). F: pooled over the frames against their exact masks. "
             "'adapt's F' is adapt's own estimate on its composites; 'true F' is against the frames' masks.", "", CRITERION, "",
             "| camera | candidates | adapt's F at each (its composites) | true F at each | chosen | best by truth | true F chosen | shipped at 128 | gain |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    gains = {}
    for name, r in cams.items():
        best = max(r["candidates"], key=lambda s: r["truth_f"][str(s)])
        fc = r["truth_f"][str(r["chosen"])]
        gains[name] = fc - r["shipped_128"]
        tag = " (exploratory)" if name in first else ""
        own = " / ".join("{:.4f}".format(r["held_out_f"][str(s)]["f"]) for s in r["candidates"])
        true = " / ".join("{:.4f}".format(r["truth_f"][str(s)]) for s in r["candidates"])
        sizes = ", ".join(map(str, r["candidates"]))
        lines.append(
            f"| {name}{tag} | {sizes} | {own} | {true} | {r['chosen']} | {best} | {fc:.4f} | {r['shipped_128']:.4f} | {gains[name]:+.4f} |"
        )
    fresh = [g for n, g in gains.items() if n not in first]
    if fresh:
        ok = np.mean(fresh) >= 0.003 and min(fresh) >= -0.002
        right = sum(r["chosen"] == max(r["candidates"], key=lambda s, r=r: r["truth_f"][str(s)]) for n, r in cams.items() if n not in first)
        lines += ["", f"On the {len(fresh)} cameras after the first four: mean gain {np.mean(fresh):+.4f}, worst {min(fresh):+.4f}; "
                  f"chosen = best by truth on {right} of {len(fresh)}. Criterion: **{'met' if ok else 'not met'}**."]  # fmt: skip
    notes = path.with_suffix(".notes.md")
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    atomic_write_text(path, "\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = camera_parser(__doc__, cameras=8, frames=60, jobs=1, name="adapt_size")  # --cameras: after --skip
    ap.add_argument("--skip", type=int, default=4, help="the first val-split cameras to leave out (default 4: the exploratory ones)")
    ap.add_argument("--with-exploratory", action="store_true", help="also the first four cameras (labelled exploratory)")
    args = ap.parse_args(argv)
    if args.md_only:
        write_md(json.loads(Path(args.out + ".json").read_text()), Path(args.out + ".md"))
        return 0
    allb = camera_bgs(args.bg_dir, args.skip + args.cameras)
    bgs = (allb[:4] if args.with_exploratory else []) + allb[args.skip :]
    run_cameras(run_camera, bgs, args, {"exploratory": [b.stem for b in allb[:4]]}, "adapt_size", argv, write_md)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
