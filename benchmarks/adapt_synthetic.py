"""``maskdepth adapt`` on synthetic fixed cameras with known truth: the evidence for adapt's stopping rule
(``results/adapt_synthetic.{json,md}``).

The real clips may not choose anything (their masks are for reporting), and the held-out composites adapt chooses on
are its own yardstick, so a change to how adapt stops is checked here, on cameras whose every frame has an exact mask:

* a camera: one background photo of ``--bg-dir`` in the generator's ``val`` split
  (:func:`maskdepth.data.sources.split_of`, seed 0, 10 % / 10 %), centre-cropped to 4:3 and resized to 320 x 240;
* its frames: ``--frames`` composites of 0-3 procedural people and objects (seeds from 200000: never drawn by adapt,
  which trains on seeds < 100000 and holds out 100000-199999) pasted with adapt's own compositing
  (:class:`maskdepth.adapt.data.CompositeStream`), then the camera's look: an exposure gain drawn per frame in [0.85, 1.15], Gaussian
  noise sigma 4 and JPEG 75 (:data:`LOOK`); objects 17-125 px tall (:data:`BLOB_HEIGHTS`), as measured on the real clips;
* ``maskdepth adapt --bg BG --frames FRAMES`` (no masks), the same settings for every variant except the one compared,
  with ``--max-steps`` instead of a time budget so that the comparison does not depend on the machine's load;
* the CDnet-style F-measure (TP/FP/FN summed over the frames) of the base model and of each variant's written model
  (ONNX, default refiner, threshold 0.5) against the exact masks.

Variants: ``patience4`` (early stopping after 4 held-out scores without progress: the default before this check) and
``whole_budget`` (no early stopping; the best held-out score still chooses, the keep margin still applies).

Example::

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.adapt_synthetic --cameras 3 --max-steps 600 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import cv2
import numpy as np

from benchmarks.adapt_sequences import model_masks
from benchmarks.live_sequences import counts, f_measure
from maskdepth.adapt.camera import Camera
from maskdepth.adapt.data import CompositeStream
from maskdepth.data.composite import crop_to_alpha, prepare_cutout, resize_premultiplied
from maskdepth.data.procedural import procedural_foreground
from maskdepth.data.sources import photo_backgrounds, split_of
from maskdepth.evaluate.perturb import exposure, gaussian_noise, jpeg
from maskdepth.io import atomic_write_json, atomic_write_text, load_rgb, save_png

FRAME_SEED = 200000  # procedural seeds of the cameras' frames: outside adapt's train (< 100000) and held-out ranges
VARIANTS = {"patience4": ["--patience", "4"], "whole_budget": ["--patience", "1000000"]}
SIZE_WH = (320, 240)
BLOB_HEIGHTS = (24, 40, 64, 96)  # object heights in pixels (x U(0.7, 1.3)): those measured on the real clips (10-120 px)
LOOK = {"gain": (0.85, 1.15), "noise": 4.0, "jpeg": 75}  # the frames' exposure gain range, noise sigma, JPEG quality


class FrameStream(CompositeStream):
    """Adapt's compositing with procedural seeds of :data:`FRAME_SEED` and up: a camera's frames with exact masks."""

    def _cutout(self, rng: np.random.Generator, height: int) -> np.ndarray:
        seed = FRAME_SEED + int(rng.integers(100000))
        kind = "object" if seed % 3 == 2 else "person"
        pre = prepare_cutout(crop_to_alpha(procedural_foreground(np.random.default_rng(seed), kind, max(24, 2 * height))))
        return resize_premultiplied(pre, height, bool(rng.random() < 0.5))


def camera_bgs(bg_dir: str, n: int) -> list[Path]:
    """The first ``n`` (by name) background photos of ``bg_dir`` in the generator's val split."""
    return [Path(s.path) for s in sorted(photo_backgrounds(bg_dir), key=lambda s: s.id) if split_of(s.id, 0, 0.1, 0.1) == "val"][:n]


def camera_photo(bg_path: Path, wh: tuple[int, int] = SIZE_WH) -> np.ndarray:
    """The background photo centre-cropped to 4:3 and area-resized to ``wh``: ``uint8 (H, W, 3)``."""
    img = load_rgb(str(bg_path))
    h, w = img.shape[:2]
    ch, cw = (h, h * 4 // 3) if w * 3 >= h * 4 else (w * 3 // 4, w)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(img[y0 : y0 + ch, x0 : x0 + cw], wh, interpolation=cv2.INTER_AREA)


def run_cameras(run_camera, bgs: list[Path], args, res: dict, script: str, argv, write_md) -> None:
    """``run_camera(bg, args)`` for each camera in ``args.jobs`` processes; ``res["cameras"]`` by name, the command and
    the wall time in ``res``; writes ``args.out`` .json and .md (``write_md(res, path)``)."""
    t0 = time.perf_counter()
    res.setdefault("cameras", {})
    with ProcessPoolExecutor(args.jobs) as ex:
        futs = {ex.submit(run_camera, b, args): b for b in bgs}
        for f in as_completed(futs):
            res["cameras"][futs[f].stem] = f.result()
            print(futs[f].stem, json.dumps(res["cameras"][futs[f].stem]), flush=True)
    res["cameras"] = dict(sorted(res["cameras"].items()))
    res.update(args=vars(args), wall_s=time.perf_counter() - t0,
               command=f"OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.{script} " + " ".join(argv or []))  # fmt: skip
    atomic_write_json(Path(args.out + ".json"), res)
    write_md(res, Path(args.out + ".md"))


def camera_parser(doc: str, cameras: int, frames: int, jobs: int, name: str) -> argparse.ArgumentParser:
    """The options the synthetic-camera benchmarks share (``name``: the script, for the work and output paths)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bg-dir", default="../shared/data/real/bg")
    ap.add_argument("--fg-dir", default="../shared/data/real/fg")
    ap.add_argument("--cameras", type=int, default=cameras)
    ap.add_argument("--frames", type=int, default=frames)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=jobs)
    ap.add_argument("--work", default=f"/tmp/{name}")
    ap.add_argument("--out", default=f"results/{name}")
    ap.add_argument("--md-only", action="store_true", help="only rewrite OUT.md from OUT.json")
    return ap


def make_camera(bg_path: Path, root: Path, n_frames: int, seed: int) -> tuple[Path, Path, np.ndarray]:
    """Write ``root/bg.png`` and ``root/frames/frame_NNNN.jpg``; returns their paths and the masks ``bool (N, 240, 320)``."""
    bg = camera_photo(bg_path)
    cam = Camera(bg=bg, frames=np.zeros((0, *bg.shape), np.uint8), full_hw=bg.shape[:2], bg_source="synthetic",
                 blob_heights=list(BLOB_HEIGHTS))  # fmt: skip
    stream = FrameStream(cam, [], held_out=True, look=False, generic=False)
    rng = np.random.default_rng([seed, 31])
    (root / "frames").mkdir(parents=True, exist_ok=True)
    save_png(root / "bg.png", bg)
    masks = []
    for i in range(n_frames):
        s = stream.sample(rng)
        f = gaussian_noise(exposure(s.fg_bg, float(rng.uniform(*LOOK["gain"]))), LOOK["noise"], rng)
        cv2.imwrite(
            str(root / "frames" / f"frame_{i:04d}.jpg"),
            cv2.cvtColor(jpeg(f, LOOK["jpeg"]), cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, 95],
        )
        masks.append(s.mask)
    return root / "bg.png", root / "frames", np.stack(masks)


def score(onnx: str | None, bg: np.ndarray, frames: np.ndarray, masks: np.ndarray) -> float:
    """F-measure of a model (``None``: the shipped one) over ``frames`` (uint8 ``(N, H, W, 3)``) against ``masks``."""
    pred, _ = model_masks(onnx, bg, frames, 1)
    roi = np.ones(masks.shape[1:], bool)
    gt = masks.astype(np.uint8) * 255
    return round(f_measure(sum((counts(m, g, roi) for m, g in zip(pred, gt)), np.zeros(3, np.int64))), 4)


def run_camera(bg_path: Path, args) -> dict:
    """One camera: its frames, the base model's F, and each variant's adapt run and F."""
    from maskdepth.cli import main as cli_main

    root = Path(args.work) / bg_path.stem
    bg, frames, masks = make_camera(bg_path, root, args.frames, args.seed)
    bg_img, imgs = load_rgb(str(bg)), np.stack([load_rgb(str(p)) for p in sorted(frames.glob("*.jpg"))])  # as adapt reads them
    out = {"bg": str(bg_path), "frames": len(masks), "base_f": score(None, bg_img, imgs, masks), "variants": {}}
    for name, extra in VARIANTS.items():
        d = root / name
        t = time.perf_counter()
        rc = cli_main(["adapt", "--bg", str(bg), "--frames", str(frames), "--out", str(d), "--minutes", "1000", "--seed", "0", "--quiet",
                       "--threads", "1", "--max-steps", str(args.max_steps), *(["--fg-dir", args.fg_dir] if args.fg_dir else []), *extra])  # fmt: skip
        if rc:
            raise RuntimeError(f"adapt failed on {bg_path} ({name})")
        a = json.loads((d / "adapt.json").read_text())
        out["variants"][name] = {"f": score(str(d / "model.onnx"), bg_img, imgs, masks), "kept": a["kept_adapted"], "steps": a["steps"],
                                 "best_step": a["best_step"], "held_out_iou": a["held_out_iou"], "wall_s": round(time.perf_counter() - t, 1)}  # fmt: skip
    return out


def write_md(res: dict, path: Path) -> None:
    """The Markdown page of :func:`main`'s JSON."""
    names = list(VARIANTS)
    lines = [
        "# `maskdepth adapt` on synthetic cameras with known truth: when to stop",
        "",
        f"Made by `{res['command']}` ({res['wall_s']:.0f} s; two cameras at a time, one thread each). Described in the script's docstring: "
        f"{res['args']['cameras']} val-split background photos as fixed cameras at 320x240, {res['args']['frames']} frames each (procedural people and "
        "objects never drawn by adapt, a camera look of exposure 0.85-1.15, noise 4, JPEG 75), adapt without the masks for "
        f"{res['args']['max_steps']} steps (`--max-steps`, so the machine's load does not matter), F against the exact masks.",
        "",
        "| camera | base F | "
        + " | ".join(f"{n} F | {n} kept | {n} steps (best) | {n} held-out IoU base -> written" for n in names)
        + " |",
        "|---|---|" + "---|---|---|---|" * len(names),
    ]
    for cam, r in res["cameras"].items():
        cells = []
        for n in names:
            v = r["variants"][n]
            cells += [f"{v['f']:.4f}", "adapted" if v["kept"] else "base kept", f"{v['steps']} ({v['best_step']})",
                      f"{v['held_out_iou']['base']:.3f} -> {v['held_out_iou']['written_model']:.3f}"]  # fmt: skip
        lines.append(f"| {cam} | {r['base_f']:.4f} | " + " | ".join(cells) + " |")
    mean = {n: float(np.mean([r["variants"][n]["f"] - r["base_f"] for r in res["cameras"].values()])) for n in names}
    lines += ["", "Mean F gain over the base model: " + ", ".join(f"{n} {mean[n]:+.4f}" for n in names) + "."]
    notes = path.with_suffix(".notes.md")  # the hand-written reading, kept beside the generated table
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    atomic_write_text(path, "\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = camera_parser(__doc__, cameras=3, frames=80, jobs=2, name="adapt_synthetic")
    ap.add_argument("--max-steps", type=int, default=600)
    args = ap.parse_args(argv)
    if args.md_only:
        write_md(json.loads(Path(args.out + ".json").read_text()), Path(args.out + ".md"))
        return 0
    run_cameras(run_camera, camera_bgs(args.bg_dir, args.cameras), args, {}, "adapt_synthetic", argv, write_md)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
