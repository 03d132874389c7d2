"""The ``maskdepth`` command: argument parsing only; the work is done by the pipeline modules.

Every user error becomes one line on stderr (``maskdepth: error: ...``) and exit status 2;
an unexpected failure prints one line too (set ``MASKDEPTH_DEBUG=1`` for the traceback).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import warnings
from pathlib import Path

from .errors import MaskDepthError


def _command_line() -> str:
    return "maskdepth " + " ".join(shlex.quote(a) for a in sys.argv[1:])


# ----------------------------------------------------------------------------- generate

def _add_generate(sub):
    p = sub.add_parser("generate", help="composite a training set (bg, fg_bg, mask, depth) into shards",
                       description="Paste RGBA cutouts onto backgrounds (photos, RGB-D frames, rendered rooms) and write a sharded dataset. "
                                   "Presets: tiny (200 at 64 px), small20k (grid 50x20x2x10 at 128 px), classic400k (grid 100x100x2x20 = "
                                   "400,000 train + 4,000 val + 4,000 test at 224 px); without sources a preset renders rooms and silhouettes.")
    p.add_argument("--out", required=True, help="output dataset directory")
    p.add_argument("--preset", choices=["tiny", "small20k", "classic400k"], help="start from a preset; explicit options override it")
    p.add_argument("--bg-dir", help="folder of RGB background photos (no depth)")
    p.add_argument("--fg-dir", help="folder of RGBA PNG foreground cutouts")
    p.add_argument("--rgbd-dir", help="folder of RGB-D frames with meta.json intrinsics (e.g. ../shared/data/rgbd/tum_rgbd)")
    p.add_argument("--rgbd-every", type=int, default=1, help="use every n-th RGB-D frame of a scene (default 1)")
    p.add_argument("--render", type=int, default=0, metavar="N", help="add N procedurally rendered rooms with exact depth")
    p.add_argument("--procedural-fg", type=int, default=0, metavar="N", help="add N procedural foreground silhouettes")
    p.add_argument("--fg-heights", metavar="FILE", help="CSV key,min_m,max_m of physical cutout heights (category:person, file name or id) "
                   "overriding the packaged maskdepth/data/fg_heights.csv")
    p.add_argument("--teacher", help="ONNX monocular-depth model (a path, or a name fetched by `maskdepth teacher download`) giving "
                   "relative depth labels to photos without depth")
    p.add_argument("--teacher-mode", default="per_background", choices=["per_background", "per_composite"],
                   help="run the teacher once per background (default) or on every composite")
    p.add_argument("-n", "--num-samples", type=int, help="random mode: total composites over train/val/test (default 1000)")
    p.add_argument("--grid-bgs", metavar="TRAIN,VAL,TEST", help="grid mode: backgrounds per split (every bg x fg x flip x placement once)")
    p.add_argument("--grid-fgs", metavar="TRAIN,VAL,TEST", help="grid mode: foregrounds per split")
    p.add_argument("--flips", type=int, choices=[1, 2], help="grid mode: 2 = each combination plain and mirrored (default 2)")
    p.add_argument("--placements", type=int, metavar="P", help="grid mode: random placements per (bg, fg, flip) (default 1)")
    p.add_argument("--mix", metavar="photo=W,rgbd=W,render=W", help="relative weight of each background kind (default all 1)")
    p.add_argument("--size", type=int, help="square output size in pixels, multiple of 32 (default 128)")
    p.add_argument("--aug", metavar="NAME=P,...", help="augmentation probabilities, names shadow, exposure, misalign, noise, jpeg "
                   "(default shadow=0.5,exposure=0.5,misalign=0.3,noise=0.3,jpeg=0.5; unnamed ones keep their default)")
    p.add_argument("--no-aug", action="store_true", help="no augmentation (same composites, without shadows, exposure, ...)")
    p.add_argument("--relief", type=float, metavar="M", help="foreground relief in metres: the middle of a cutout is up to M nearer "
                   "than its outline (default 0: flat)")
    p.add_argument("--billboard", choices=["fronto", "upright"], help="metric depth of a pasted cutout: fronto = the contact depth "
                   "everywhere (default); upright = a vertical plane through the contact point (backgrounds with a support plane)")
    p.add_argument("--jpeg-quality", type=int, help="JPEG quality of fg_bg when the jpeg augmentation does not apply (default 95)")
    p.add_argument("--plane-max-angle", type=float, metavar="DEG", help="RGB-D support plane: largest tilt from the camera's up axis (default 60)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-frac", type=float, default=0.1)
    p.add_argument("--test-frac", type=float, default=0.1)
    p.add_argument("--shard-size", type=int, help="samples per shard (default 1000)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (output does not depend on it)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run: keep complete shards, redo the rest")
    p.add_argument("--shard-index", type=int, help="make only shards i with i %% num_shards == shard_index")
    p.add_argument("--num-shards", type=int, help="number of independent jobs the shards are spread over")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_generate)


def cmd_generate(a) -> int:
    from .data.augment import parse_aug
    from .data.generate import config_from_preset, generate, grid_from_args, parse_mix

    if (a.shard_index is None) != (a.num_shards is None):
        raise MaskDepthError("--shard-index and --num-shards go together")
    if a.num_samples is not None and a.num_samples < 1:
        raise MaskDepthError("--num-samples must be at least 1")
    if a.no_aug and a.aug:
        raise MaskDepthError("give --aug or --no-aug, not both")
    cfg = config_from_preset(
        a.preset, out_dir=a.out, bg_dir=a.bg_dir, fg_dir=a.fg_dir, rgbd_dir=a.rgbd_dir, rgbd_every=a.rgbd_every, render=a.render,
        procedural_fg=a.procedural_fg, teacher=a.teacher, teacher_mode=a.teacher_mode, n_samples=a.num_samples, size=a.size,
        seed=a.seed, val_frac=a.val_frac, test_frac=a.test_frac, shard_size=a.shard_size, jpeg_quality=a.jpeg_quality,
        mix=parse_mix(a.mix) if a.mix else None, aug={} if a.no_aug else (parse_aug(a.aug) if a.aug else None), relief=a.relief,
        fg_heights=a.fg_heights, plane_max_angle=a.plane_max_angle, billboard=a.billboard,
        grid=grid_from_args(a.preset, a.grid_bgs, a.grid_fgs, a.flips, a.placements),
    )
    if cfg.grid is not None and a.num_samples is not None:
        raise MaskDepthError("-n/--num-samples does not apply to grid mode: the grid fixes the number of samples")
    man = generate(cfg, workers=a.workers, resume=a.resume, shard_index=a.shard_index, num_shards=a.num_shards, quiet=a.quiet)
    n = sum(s["count"] for s in man["shards"])
    print(f"dataset: {a.out} ({n} samples in {len(man['shards'])} shards; complete={man['complete']})")
    return 0


# ----------------------------------------------------------------------------- dataset

def _add_dataset(sub):
    p = sub.add_parser("dataset", help="inspect a generated dataset: stats, a contact sheet, an integrity check",
                       description="maskdepth dataset stats|show|verify DIR")
    ds = p.add_subparsers(dest="dataset_command", metavar="ACTION")
    ds.required = True
    q = ds.add_parser("stats", help="print the dataset statistics (stats.json)")
    q.add_argument("dir", metavar="DIR")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.add_argument("--recompute", action="store_true", help="recompute from the decoded samples instead of reading stats.json")
    q.add_argument("--write", action="store_true", help="with --recompute: save the result as DIR/stats_recomputed.json")
    q.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_dataset_stats)
    q = ds.add_parser("show", help="contact sheet PNG of random samples: bg, fg_bg, mask, depth")
    q.add_argument("dir", metavar="DIR")
    q.add_argument("--split", choices=["train", "val", "test"], help="only this split (default: all)")
    q.add_argument("-n", type=int, default=24, help="samples (rows), default 24")
    q.add_argument("--seed", type=int, default=0, help="which samples (default 0)")
    q.add_argument("--cell", type=int, default=128, help="cell size in pixels (default 128)")
    q.add_argument("--out", default="sheet.png", help="output PNG (default sheet.png)")
    q.set_defaults(func=cmd_dataset_show)
    q = ds.add_parser("verify", help="check every shard (sha256, keys), sample (decode, shape, dtype, range) and background")
    q.add_argument("dir", metavar="DIR")
    q.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_dataset_verify)


def cmd_dataset_stats(a) -> int:
    from .data.tools import dataset_stats, format_stats
    from .io import atomic_write_json

    st = dataset_stats(a.dir, recompute=a.recompute, workers=a.workers, quiet=a.quiet or a.json)
    if a.recompute and a.write:
        atomic_write_json(Path(a.dir) / "stats_recomputed.json", st)
    print(json.dumps(st, indent=2) if a.json else format_stats(st, a.dir))
    return 0


def cmd_dataset_show(a) -> int:
    from .data.tools import contact_sheet
    from .io import save_png

    if a.n < 1:
        raise MaskDepthError("-n must be at least 1")
    sheet = contact_sheet(a.dir, split=a.split, n=a.n, seed=a.seed, cell=a.cell)
    save_png(a.out, sheet)
    print(f"contact sheet: {a.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


def cmd_dataset_verify(a) -> int:
    from .data.tools import verify_dataset

    probs, summ = verify_dataset(a.dir, workers=a.workers, quiet=a.quiet)
    for line in probs:
        print(f"maskdepth: verify: {line}", file=sys.stderr)
    what = f"{summ['shards']} shards, {summ['samples']} samples, {summ['backgrounds']} backgrounds"
    if probs:
        print(f"maskdepth: verify: {len(probs)} problem(s) in {a.dir} ({what} checked)", file=sys.stderr)
        return 1
    print(f"{a.dir}: OK ({what})")
    return 0


# ----------------------------------------------------------------------------- teacher

def _add_teacher(sub):
    p = sub.add_parser("teacher", help="download a monocular-depth teacher model (verified, cached)",
                       description="maskdepth teacher download NAME | maskdepth teacher list")
    ts = p.add_subparsers(dest="teacher_command", metavar="ACTION")
    ts.required = True
    q = ts.add_parser("download", help="download a registry model into the cache and verify its sha256")
    q.add_argument("name", metavar="NAME", help="registry name, e.g. midas_v21_small_256 (see `maskdepth teacher list`)")
    q.add_argument("--cache-dir", help="cache folder (default $MASKDEPTH_CACHE/teachers or ~/.cache/maskdepth/teachers)")
    q.add_argument("--url", help="download from this URL instead of the registry's")
    q.add_argument("--sha256", help="expected sha256 (hex) instead of the registry's")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_teacher_download)
    q = ts.add_parser("list", help="list the registry (name, size, URL, whether its checksum was verified here)")
    q.set_defaults(func=cmd_teacher_list)


def cmd_teacher_download(a) -> int:
    from .data.teachers import download

    path, status = download(a.name, cache=a.cache_dir, url=a.url, sha256=a.sha256, quiet=a.quiet)
    print(f"{a.name}: {path} ({status}, sha256 verified)")
    return 0


def cmd_teacher_list(a) -> int:
    from .data.teachers import cached_path, registry

    for name, e in sorted(registry().items()):
        size = f"{e['size'] / 1e6:.1f} MB" if e.get("size") else "size ?"
        ver = "checksum verified here" if e.get("verified") else "checksum pinned but NOT verified here"
        where = cached_path(name)
        print(f"{name}: {size}, {e.get('url')} ({ver}){'; cached: ' + str(where) if where else ''}")
    return 0


# ----------------------------------------------------------------------------- train

class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (``maskdepth train: error: ... (see --help)``, exit 2);
    subcommand parsers inherit the class."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _size_list(text: str) -> list[int]:
    from .train import check_res_schedule

    try:
        return check_res_schedule([v for v in str(text).split(",") if v.strip()])
    except MaskDepthError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated positive multiples of 32 like 96,128, got {text!r}") from None


def _add_train(sub):
    from .losses import DEPTH_LOSSES, TASK_WEIGHTINGS
    from .model.net import FUSIONS
    from .train import TrainConfig

    d = TrainConfig(data="", run_dir="")
    p = sub.add_parser("train", help="train the multi-task network on a generated dataset",
                       description="Train one network (shared encoder, mask head + depth head). Resumable with --resume.")
    p.add_argument("--data", required=True, help="dataset directory made by `maskdepth generate`")
    p.add_argument("--run-dir", required=True, help="where checkpoints, TensorBoard logs and summaries go")
    p.add_argument("--model", default=d.model, help="preset: small (default), tiny, peer_b, peer_c")
    p.add_argument("--no-pretrained", action="store_true", help="random encoder init instead of ImageNet weights")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--depth-weight", type=float, default=d.depth_weight, help="weight of the depth loss (fixed task weighting)")
    p.add_argument("--dice-weight", type=float, default=d.dice_weight, help="weight of soft Dice in the mask loss (0 = BCE only; default 1)")
    p.add_argument("--depth-loss", choices=DEPTH_LOSSES, default=d.depth_loss,
                   help="depth loss on metric labels: l1 (log-depth), l1_grad (default, + gradient matching), "
                        "l1_grad_ssim (+ SSIM, DenseDepth), ssi (scale-and-shift-invariant on disparity, MiDaS)")
    p.add_argument("--task-weighting", choices=TASK_WEIGHTINGS, default=d.task_weighting,
                   help="fixed (default) or uncertainty (learned, Kendall et al. 2018)")
    p.add_argument("--fusion", choices=FUSIONS, default=d.fusion,
                   help="concat (default): one encoder on the 6-channel [bg, fg_bg]; diff: shared-weight encoder on each, feature difference")
    p.add_argument("--mask-refine", action="store_true",
                   help="add a full-resolution mask refinement block (input pixels + their difference; small/tiny presets)")
    p.add_argument("--mask-prior", type=float, metavar="P",
                   help="untrained foreground probability (mask-head bias log(P/(1-P)); default: the dataset's mask fraction; 0.5 = bias 0)")
    p.add_argument("--res-schedule", type=_size_list, metavar="S1,S2,...",
                   help="train at these sizes in equal stages of the steps, e.g. 64,96,128 (multiples of 32; default: the data's size)")
    p.add_argument("--workers", type=int, default=d.workers, help="DataLoader worker processes")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--ckpt-every", type=int, default=d.ckpt_every, help="checkpoint every N steps (and every epoch)")
    p.add_argument("--max-steps", type=int, help="stop after N optimiser steps in total")
    p.add_argument("--max-minutes", type=float, help="stop (after a checkpoint) when this much time has passed")
    p.add_argument("--stop-at-step", type=int, help="stop (after a checkpoint) at this step, keeping the full run's schedule (time-sliced jobs; continue with --resume)")
    p.add_argument("--train-limit", type=int, help="use only the first N training samples")
    p.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW activations (channels_last is ~1.5x faster on CPU)")
    p.add_argument("--resume", action="store_true", help="continue from run-dir/checkpoints/last.pt")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)


def cmd_train(a) -> int:
    from .train import TrainConfig, train

    cfg = TrainConfig(
        data=a.data, run_dir=a.run_dir, model=a.model, pretrained=not a.no_pretrained, epochs=a.epochs, batch_size=a.batch_size,
        lr=a.lr, weight_decay=a.weight_decay, depth_weight=a.depth_weight, dice_weight=a.dice_weight, depth_loss=a.depth_loss,
        task_weighting=a.task_weighting, fusion=a.fusion, mask_refine=a.mask_refine, mask_prior=a.mask_prior, res_schedule=a.res_schedule, workers=a.workers, threads=a.threads, seed=a.seed,
        ckpt_every=a.ckpt_every, max_steps=a.max_steps, max_minutes=a.max_minutes, stop_at_step=a.stop_at_step, channels_last=not a.no_channels_last, train_limit=a.train_limit, device=a.device,
    )
    s = train(cfg, resume=a.resume, quiet=a.quiet)
    print(f"trained {s['steps']}/{s['total_steps']} steps; checkpoint: {s['checkpoint']}")
    return 0


# ----------------------------------------------------------------------------- evaluate

def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="metrics of a model and the baselines on held-out composites and real photos",
                       description="Mask IoU/Dice/boundary F and depth AbsRel/RMSE/delta1/SSIM, model and baselines side by side.")
    p.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    p.add_argument("--data", help="generated dataset whose split is evaluated")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--realtest", help="folder laid out like ../shared/data/realtest (pairs/, depth/)")
    p.add_argument("--rgbd-test", help="RGB-D folder (like ../shared/data/rgbd/tum_rgbd) whose held-out scene is evaluated, depth only")
    p.add_argument("--rgbd-scene", default="tum_fr3_cabinet", help="the held-out scene of --rgbd-test (default tum_fr3_cabinet)")
    p.add_argument("--out", required=True, help="folder for metrics.json, metrics.md and grids")
    p.add_argument("--limit", type=int, help="evaluate only the first N composites")
    p.add_argument("--size", type=int, help="short side fed to the network (default: the checkpoint's training size)")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"], help="auto (default): onnx for a .onnx --checkpoint, else torch")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(a) -> int:
    from .evaluate import evaluate
    from .predict import load_predictor

    pred = load_predictor(a.checkpoint, size=a.size, backend=a.backend)
    res = evaluate(pred, a.out, data_dir=a.data, realtest_dir=a.realtest, rgbd_dir=a.rgbd_test, rgbd_scene=a.rgbd_scene, split=a.split, limit=a.limit, command=_command_line(), quiet=a.quiet,
                   extra={"checkpoint": a.checkpoint or "shipped default", "backend": pred.backend})
    from .evaluate import markdown_table

    print(markdown_table(res["summary"]))
    return 0


# ----------------------------------------------------------------------------- predict

def _add_predict(sub):
    p = sub.add_parser("predict", help="mask and depth for an image pair, or folders of them",
                       description="Writes mask.png (0/255), depth.png (uint16 mm) + depth.json, depth_color.png, overlay.png.")
    p.add_argument("--bg", help="background image (or a folder of backgrounds matched by file name); required unless --video with --bg-from")
    p.add_argument("--image", help="image with the foreground (or a folder of images); required unless --video")
    p.add_argument("--video", help="a video file instead of --image: writes mask.mp4, depth.mp4, overlay.mp4 and video.json")
    p.add_argument("--bg-from", metavar="first|median:N", help="--video without --bg: background from the first frame, or the per-pixel "
                   "median of N frames spread over the clip (default median:30)")
    p.add_argument("--smooth", type=float, metavar="ALPHA", help="--video: exponential moving average of mask probability and depth, "
                   "s = ALPHA*new + (1-ALPHA)*s, ALPHA in (0, 1]; smaller is smoother")
    p.add_argument("--frames", choices=["png", "npz"], help="--video: also write per-frame files (png: mask + uint16 mm depth; npz: mask, prob, depth in m)")
    p.add_argument("--out", default="prediction", help="output folder (default ./prediction)")
    p.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    p.add_argument("--size", type=int, help="short side fed to the network (default: the checkpoint's training size)")
    p.add_argument("--json", action="store_true", help="print a JSON record per pair")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"], help="auto (default): onnx for a .onnx --checkpoint, else torch")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_predict)


def cmd_predict(a) -> int:
    from .predict import load_predictor, predict_paths

    if a.video:
        return _predict_video(a)
    for opt, flag in (("bg_from", "--bg-from"), ("smooth", "--smooth"), ("frames", "--frames")):
        if getattr(a, opt) is not None:
            raise MaskDepthError(f"{flag} goes with --video")
    if not a.bg or not a.image:
        raise MaskDepthError("predict needs --bg and --image (or --video)")
    pred = load_predictor(a.checkpoint, size=a.size, backend=a.backend)
    recs = predict_paths(pred, a.bg, a.image, a.out, quiet=a.quiet)
    for r in recs:
        print(json.dumps(r) if a.json else f"{r['image']}: mask {100 * r['mask_fraction']:.1f}% -> {r['out']}")
    return 0


def _predict_video(a) -> int:
    from .predict import load_predictor
    from .video import predict_video

    if a.image:
        raise MaskDepthError("give --image or --video, not both")
    if a.bg and a.bg_from:
        raise MaskDepthError("give --bg or --bg-from, not both")
    if a.bg and Path(a.bg).is_dir():
        raise MaskDepthError("--video needs one background image (--bg FILE) or --bg-from, not a folder")
    if a.bg_from:
        from .video import parse_bg_from

        parse_bg_from(a.bg_from)  # fail before loading the model
    pred = load_predictor(a.checkpoint, size=a.size, backend=a.backend)
    rec = predict_video(pred, a.video, a.out, bg=a.bg, bg_from=a.bg_from, smooth=a.smooth, frames=a.frames, quiet=a.quiet)
    if a.json:
        print(json.dumps(rec))
    else:
        f = rec["flicker"]
        fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
        print(f"{a.video}: {rec['frames']} frames at {rec['timing']['fps']:.1f} fps, mask {100 * rec['mask_fraction_mean']:.1f}% -> {a.out}")
        print(f"flicker (mean fraction of mask pixels changing per frame): raw {fmt(f['raw'])}, "
              f"smoothed (EMA alpha {f['smoothed_alpha']:g}) {fmt(f['smoothed'])}")
    return 0


# ----------------------------------------------------------------------------- demo

def _add_demo(sub):
    p = sub.add_parser("demo", help="the whole job on an embedded default: generate → train → evaluate → predict → report",
                       description="With no data options it renders its own rooms and silhouettes; with --bg-dir/--fg-dir/--rgbd-dir "
                                   "(or MASKDEPTH_DATA pointing at a folder laid out like ../shared/data) it uses real photos.")
    p.add_argument("--out", default="demo_out", help="output folder (default ./demo_out)")
    p.add_argument("--bg-dir")
    p.add_argument("--fg-dir")
    p.add_argument("--rgbd-dir")
    p.add_argument("--realtest", help="real test photos (default: MASKDEPTH_DATA/realtest when present)")
    p.add_argument("--minutes", type=float, default=6.0, help="training time budget (default 6)")
    p.add_argument("--num-samples", type=int, default=4000)
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)


def cmd_demo(a) -> int:
    from .demo import run_demo

    report = run_demo(a.out, bg_dir=a.bg_dir, fg_dir=a.fg_dir, rgbd_dir=a.rgbd_dir, realtest=a.realtest, minutes=a.minutes,
                      n_samples=a.num_samples, size=a.size, quiet=a.quiet)
    print(f"report: {report}")
    return 0


# ----------------------------------------------------------------------------- export

def _add_export(sub):
    p = sub.add_parser("export", help="export a checkpoint to ONNX (checked against PyTorch)",
                       description="Writes OUT (.onnx: inputs bg, fg_bg float32 Nx3xHxW in [0,1]; outputs mask_logits, log_depth; "
                                   "dynamic N, H, W) and OUT.json (opset, preset, params, parity). Fails if onnxruntime and PyTorch "
                                   "differ by more than --tolerance.")
    p.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    p.add_argument("--out", required=True, help="output .onnx path")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--size", type=int, help="input size for the parity check and predict (default: the checkpoint's training size, else 128)")
    p.add_argument("--tolerance", type=float, default=1e-3, help="largest allowed max |onnxruntime - torch| (default 1e-3)")
    p.set_defaults(func=cmd_export)


def cmd_export(a) -> int:
    from .export import export_checkpoint, sidecar_path

    side = export_checkpoint(a.checkpoint, a.out, size=a.size, opset=a.opset, tolerance=a.tolerance)
    d = side["parity"]["max_abs_diff"]
    print(f"exported {side['preset']} ({side['params']:,} params, opset {side['opset']}) -> {a.out}; "
          f"parity max|diff| mask_logits {d['mask_logits']:.2e}, log_depth {d['log_depth']:.2e}; metadata {sidecar_path(a.out)}")
    return 0


# ----------------------------------------------------------------------------- bench

def _add_bench(sub):
    p = sub.add_parser("bench", help="params, MACs, latency, throughput and memory on this machine (torch vs onnxruntime)",
                       description="Writes OUT_DIR/bench.json and bench.md; run it on an otherwise idle machine.")
    p.add_argument("--checkpoint", help="model to time (default: the shipped model)")
    p.add_argument("--model", choices=["small", "tiny", "peer_b", "peer_c"], help="time a preset with random init instead")
    p.add_argument("--peers", action="store_true", help="also time peer_b and peer_c (random init)")
    p.add_argument("--out-dir", default="results", help="output folder (default ./results)")
    p.add_argument("--backends", default="torch,onnxruntime", help="comma list of torch, torch_cl, onnxruntime, onnxruntime_int8 (default torch,onnxruntime)")
    p.add_argument("--sizes", help="comma list of square input sizes, multiples of 32 (default 128,224)")
    p.add_argument("--batches", help="comma list of batch sizes (default 1,8)")
    p.add_argument("--repeats", type=int, help="R: runs per figure, reported as min/median/max (default 5)")
    p.add_argument("--iters", type=int, help="N: timed calls per run at batch 1; N/B at batch B (default 50)")
    p.add_argument("--warmup", type=int, help="warm-up calls before each run (default 10)")
    p.add_argument("--threads", type=int, help="CPU threads for torch and onnxruntime (default: physical cores)")
    p.add_argument("--quick", action="store_true", help="test mode: tiny preset, 64 px, 1 repeat of 5 calls, 1 thread")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_bench)


def _int_list(text, what):
    try:
        return [int(x) for x in text.split(",") if x.strip()] if text else None
    except ValueError:
        raise MaskDepthError(f"{what} must be a comma list of integers, got {text!r}") from None


def cmd_bench(a) -> int:
    from .bench import run_bench

    if a.checkpoint and a.model:
        raise MaskDepthError("give --checkpoint or --model, not both")
    rep = run_bench(a.out_dir, checkpoint=a.checkpoint, preset=a.model, peers=a.peers, quick=a.quick, repeats=a.repeats, iters=a.iters,
                    warmup=a.warmup, sizes=_int_list(a.sizes, "--sizes"), batches=_int_list(a.batches, "--batches"), threads=a.threads,
                    backends=[b.strip() for b in a.backends.split(",") if b.strip()], command=_command_line(), quiet=a.quiet)
    for t in rep["targets"]:
        print(f"{t['target']}: " + ("not measured" if t["met"] is None else f"{t['value']} -> {'met' if t['met'] else 'NOT met'}"))
    print(f"wrote {rep['files']['json']} and {rep['files']['markdown']}")
    return 0


# ----------------------------------------------------------------------------- serve

def _add_serve(sub):
    p = sub.add_parser("serve", help="a local web page and JSON API (POST /predict) for the model",
                       description="Serves one page (upload a background and an image, or use the bundled example; mask, depth with a "
                                   "scale bar, overlay) and a JSON API documented at /docs. Binds 127.0.0.1 by default.")
    p.add_argument("--checkpoint", help="model checkpoint or .onnx file (default: the shipped model)")
    p.add_argument("--size", type=int, help="short side fed to the network (default: the checkpoint's training size)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest request (both images), MB; larger gets 413 (default 20)")
    p.add_argument("--workers", type=int, default=1, help="inference threads (default 1; see --workers-note)")
    p.add_argument("--queue", type=int, default=32, help="requests that may wait for a worker before 503 (default 32)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds a request may wait and run before 504 (default 60)")
    p.add_argument("--workers-note", action="store_true", help="explain how requests are scheduled and how to scale, then exit")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=cmd_serve)


def cmd_serve(a) -> int:
    from .serve import WORKERS_NOTE, run

    if a.workers_note:
        print(WORKERS_NOTE)
        return 0
    run(checkpoint=a.checkpoint, host=a.host, port=a.port, size=a.size, max_upload_mb=a.max_upload_mb, workers=a.workers,
        queue_limit=a.queue, log_level=a.log_level, timeout_s=a.timeout)
    return 0


# ----------------------------------------------------------------------------- report

def _add_report(sub):
    p = sub.add_parser("report", help="one self-contained HTML page for a training run (curves, evaluation, samples, config)",
                       description="Reads RUN_DIR/summary.json and train_config.json (and EVAL_DIR/metrics.json, metrics.md, grids); "
                                   "writes OUT/report.html with every image embedded, plus the PNGs.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a `maskdepth train` run directory")
    p.add_argument("--eval", dest="eval_dir", metavar="EVAL_DIR", help="a `maskdepth evaluate` output folder")
    p.add_argument("--out", help="output folder (default RUN_DIR/report)")
    p.add_argument("--worst", type=int, default=10, help="how many worst test cases to show per metric (default 10)")
    p.add_argument("--no-render", action="store_true", help="list the worst cases without re-running the model on them")
    p.set_defaults(func=cmd_report)


def cmd_report(a) -> int:
    from .report import make_report

    path = make_report(a.run_dir, eval_dir=a.eval_dir, out_dir=a.out, worst=a.worst, render=not a.no_render)
    print(f"report: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="maskdepth", description="Foreground mask and depth from a background photo and a photo of the same scene.")
    p.add_argument("--version", action="version", version=f"maskdepth {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (_add_generate, _add_dataset, _add_teacher, _add_train, _add_evaluate, _add_predict, _add_demo, _add_export, _add_bench, _add_serve,
                _add_report):
        add(sub)
    for name, sp in sub.choices.items():
        sp.add_argument("--config", metavar="FILE", help="YAML config of this command's options (flags given here override it)")
    c = sub.add_parser("config", help="show the effective configuration of a command",
                       description="maskdepth config show COMMAND [--config FILE] [flags]: print the settings COMMAND would run with, as YAML.")
    c.add_argument("action", choices=["show"])
    c.add_argument("show_command", metavar="COMMAND", help="the command whose settings to show")
    c.add_argument("rest", nargs=argparse.REMAINDER, help="--config FILE and flags of COMMAND")
    c.set_defaults(func=lambda a: cmd_config(a, p))
    return p


def cmd_config(a, parser) -> int:
    import yaml

    from .config import effective, expand_argv

    if a.show_command == "config" or a.show_command not in _subparsers(parser).choices:
        raise MaskDepthError(f"unknown command {a.show_command!r}")
    sub_args = parser.parse_args(expand_argv([a.show_command, *a.rest], parser))
    print(yaml.safe_dump({a.show_command: effective(sub_args)}, sort_keys=False), end="")
    return 0


def _subparsers(parser):
    return next(x for x in parser._actions if isinstance(x, argparse._SubParsersAction))


def main(argv=None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        from .config import expand_argv

        argv = expand_argv(argv, parser)
    except MaskDepthError as e:
        print(f"maskdepth: error: {e}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    warnings.formatwarning = lambda msg, cat, *rest: f"maskdepth: warning: {msg}\n"
    try:
        return int(args.func(args) or 0)
    except MaskDepthError as e:
        print(f"maskdepth: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("maskdepth: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # last resort: one line, never a traceback unless asked for
        if os.environ.get("MASKDEPTH_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"maskdepth: error: unexpected {type(e).__name__}: {msg[:300]} (set MASKDEPTH_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
