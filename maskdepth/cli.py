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
import time
import warnings

from .config import CommandOptions
from .errors import MaskDepthError


def _command_line() -> str:
    return "maskdepth " + " ".join(shlex.quote(a) for a in sys.argv[1:])


# ----------------------------------------------------------------------------- generate


def _add_generate(sub):
    from .data.generate_config import GenerateConfig, GenerateRunConfig, GridOptions

    p = sub.add_parser(
        "generate",
        help="composite a training set (bg, fg_bg, mask, depth) into shards",
        description="Paste RGBA cutouts onto backgrounds (photos, RGB-D frames, rendered rooms) and write a sharded dataset. "
        "Presets: tiny (200 at 64 px), small20k (grid 50x20x2x10 at 128 px), classic400k (grid 100x100x2x20 = "
        "400,000 train + 4,000 val + 4,000 test at 224 px); without sources a preset renders rooms and silhouettes.",
    )
    o = CommandOptions(p, "generate")
    o.add_dataclass(GenerateConfig, unset_defaults=True, required=("out_dir",))  # unset: a --preset fills in what is not given
    o.add_dataclass(GridOptions)
    o.add("--no-aug", action="store_true", help="no augmentation (same composites, without shadows, exposure, ...)")  # = --aug none
    o.add_dataclass(GenerateRunConfig)
    p.set_defaults(func=cmd_generate)
    return o


def cmd_generate(a) -> int:
    from dataclasses import asdict, fields

    from .config import build
    from .data.generate import generate
    from .data.generate_config import GenerateConfig, GenerateRunConfig, GridOptions, config_from_options

    given = {f.name: getattr(a, f.name) for f in fields(GenerateConfig) if hasattr(a, f.name)}  # None: not given (a preset fills in)
    cfg = config_from_options(given, build(GridOptions, a), no_aug=a.no_aug)
    man = generate(cfg, **asdict(build(GenerateRunConfig, a)))
    n = sum(s["count"] for s in man["shards"])
    print(f"dataset: {cfg.out_dir} ({n} samples in {len(man['shards'])} shards; complete={man['complete']})")
    return 0


# ----------------------------------------------------------------------------- dataset


def _add_dataset(sub):
    from .data.tools_config import DatasetShowConfig, DatasetStatsConfig, DatasetVerifyConfig

    p = sub.add_parser(
        "dataset",
        help="inspect a generated dataset: stats, a contact sheet, an integrity check",
        description="maskdepth dataset stats|show|verify DIR",
    )
    ds = p.add_subparsers(dest="dataset_command", metavar="ACTION")
    ds.required = True
    options = []
    for action, cls, func, about in (
        ("stats", DatasetStatsConfig, cmd_dataset_stats, "print the dataset statistics (stats.json)"),
        ("show", DatasetShowConfig, cmd_dataset_show, "contact sheet PNG of random samples: bg, fg_bg, mask, depth"),
        (
            "verify",
            DatasetVerifyConfig,
            cmd_dataset_verify,
            "check every shard (sha256, keys), sample (decode, shape, dtype, range) and background",
        ),
    ):
        q = ds.add_parser(action, help=about)
        q.add_argument("dir", metavar="DIR")
        o = CommandOptions(q, f"dataset {action}")
        o.add_dataclass(cls)
        q.set_defaults(func=func)
        options.append(o)
    return options


def cmd_dataset_stats(a) -> int:
    from .config import build
    from .data.tools import format_stats, run_dataset_stats
    from .data.tools_config import DatasetStatsConfig

    st = run_dataset_stats(build(DatasetStatsConfig, a))
    print(json.dumps(st, indent=2) if a.json else format_stats(st, a.dir))
    return 0


def cmd_dataset_show(a) -> int:
    from .config import build
    from .data.tools import run_dataset_show
    from .data.tools_config import DatasetShowConfig

    sheet = run_dataset_show(build(DatasetShowConfig, a))
    print(f"contact sheet: {a.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


def cmd_dataset_verify(a) -> int:
    from .config import build
    from .data.tools import run_dataset_verify
    from .data.tools_config import DatasetVerifyConfig

    probs, summ = run_dataset_verify(build(DatasetVerifyConfig, a))
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
    from .data.tools_config import TeacherDownloadConfig

    p = sub.add_parser(
        "teacher",
        help="download a monocular-depth teacher model (verified, cached)",
        description="maskdepth teacher download NAME | maskdepth teacher list",
    )
    ts = p.add_subparsers(dest="teacher_command", metavar="ACTION")
    ts.required = True
    q = ts.add_parser("download", help="download a registry model into the cache and verify its sha256")
    q.add_argument("name", metavar="NAME", help="registry name, e.g. midas_v21_small_256 (see `maskdepth teacher list`)")
    o = CommandOptions(q, "teacher download")
    o.add_dataclass(TeacherDownloadConfig)
    q.set_defaults(func=cmd_teacher_download)
    q = ts.add_parser("list", help="list the registry (name, size, URL, whether its checksum was verified here)")
    q.set_defaults(func=cmd_teacher_list)
    return [o]


def cmd_teacher_download(a) -> int:
    from .config import build
    from .data.teacher.registry import run_download
    from .data.tools_config import TeacherDownloadConfig

    path, status = run_download(build(TeacherDownloadConfig, a))
    print(f"{a.name}: {path} ({status}, sha256 verified)")
    return 0


def cmd_teacher_list(a) -> int:
    from .data.teacher.registry import cached_path, registry

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


def _add_train(sub):
    from .train.config import TrainConfig

    p = sub.add_parser(
        "train",
        help="train the multi-task network on a generated dataset",
        description="Train one network (shared encoder, mask head + depth head). Resumable with --resume. "
        "Writes RUN_DIR/config.yaml: `maskdepth train --config RUN_DIR/config.yaml` replays the run.",
    )
    o = CommandOptions(p, "train")
    o.add_dataclass(TrainConfig, required=("data", "run_dir"))
    o.add("--resume", action="store_true", help="continue from run-dir/checkpoints/last.pt")
    o.add("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
    return o


def cmd_train(a) -> int:
    from .config import build
    from .train.config import TrainConfig
    from .train.loop import train

    s = train(build(TrainConfig, a), resume=a.resume, quiet=a.quiet)
    print(f"trained {s['steps']}/{s['total_steps']} steps; checkpoint: {s['checkpoint']}")
    return 0


# ----------------------------------------------------------------------------- adapt


def _add_adapt(sub):
    from .adapt.config import AdaptConfig

    p = sub.add_parser(
        "adapt",
        help="fine-tune the model for one fixed camera from its unlabelled frames",
        description="Composites on the camera's own background with its look, pseudo-labels where the model and the classical "
        "difference agree, the choice on held-out composites. Writes OUT/model.onnx (+ sidecar), model.pt, adapt.json; "
        "a rerun with the same --out continues.",
    )
    o = CommandOptions(p, "adapt")
    o.add_dataclass(AdaptConfig, required=("out",))
    o.add("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_adapt)
    return o


def cmd_adapt(a) -> int:
    started = time.perf_counter()  # the budget counts the imports (PyTorch) too
    from .adapt.config import AdaptConfig
    from .adapt.run import adapt
    from .config import build

    s = adapt(build(AdaptConfig, a), quiet=a.quiet, started=started)
    iou = s["held_out_iou"]
    if "bg" in s["outputs"]:
        print(f"background: {s['camera']['bg']} -> {s['outputs']['bg']}")
    print(
        f"{'adapted' if s['kept_adapted'] else 'base model kept'}: held-out IoU {iou['base']:.4f} -> {iou['written_model']:.4f} "
        f"({s['steps']} steps, {s['loop_s']:.0f} s; {s['stopped']}) -> {s['outputs']['model_onnx']}"
    )
    return 0


# ----------------------------------------------------------------------------- evaluate


def _add_evaluate(sub):
    from .evaluate.config import EvaluateConfig

    p = sub.add_parser(
        "evaluate",
        help="metrics of a model and the baselines on held-out composites and real photos",
        description="Mask IoU/Dice/boundary F and depth AbsRel/RMSE/delta1/SSIM, model and baselines side by side.",
    )
    o = CommandOptions(p, "evaluate")
    o.add_dataclass(EvaluateConfig, required=("out",))
    o.add("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)
    return o


def cmd_evaluate(a) -> int:
    from .config import build
    from .evaluate.config import EvaluateConfig
    from .evaluate.markdown import markdown_table
    from .evaluate.run import run_evaluate

    res = run_evaluate(build(EvaluateConfig, a), command=_command_line(), quiet=a.quiet)
    print(markdown_table(res["summary"]))
    return 0


# ----------------------------------------------------------------------------- predict


def _add_predict(sub):
    p = sub.add_parser(
        "predict",
        help="mask, depth and the distance of every object for an image pair, or folders of them",
        description="Writes mask.png (0/255), depth.png (uint16 mm, 0 = unknown) + depth.json (unit, depth source, camera), "
        "objects.json (each object's box, contact point, distance and height), depth_color.png, overlay.png; "
        "for a folder, one sub-folder per image. The empty scene's depth comes from --bg-depth (measured), "
        "--camera (ground plane), --teacher, or the network itself (learned), computed once per background.",
    )
    from .inference.config import PredictConfig

    o = CommandOptions(p, "predict")
    o.add_dataclass(PredictConfig)
    from dataclasses import fields

    from .video.config import VideoConfig

    o.add_dataclass(VideoConfig, exclude=[f.name for f in fields(PredictConfig)])
    p.set_defaults(func=cmd_predict)
    return o


def cmd_predict(a) -> int:
    from .config import build
    from .inference.config import PredictConfig
    from .inference.files import run_predict

    if a.video:
        return _predict_video(a)
    for opt, flag in (("bg_from", "--bg-from"), ("smooth", "--smooth"), ("frames", "--frames"), ("zones", "--zones")):
        if getattr(a, opt) is not None:
            raise MaskDepthError(f"{flag} goes with --video")
    if not a.bg or not a.image:
        raise MaskDepthError("predict needs --bg and --image (or --video)")
    for r in run_predict(build(PredictConfig, a)):
        if a.json:
            print(json.dumps(r))
        else:
            print(f"{r['image']}: mask {100 * r['mask_fraction']:.1f}%, {r['objects']} object(s), depth: {r['depth_source']} -> {r['out']}")
    return 0


def _predict_video(a) -> int:
    from .config import build
    from .video.config import VideoConfig
    from .video.convert import run_video

    if a.image:
        raise MaskDepthError("give --image or --video, not both")
    if a.cache_dir:
        raise MaskDepthError("--cache-dir goes with --image (a video computes its scene depth once per run)")
    rec = run_video(build(VideoConfig, a))
    if a.json:
        print(json.dumps(rec))
    else:
        f = rec["flicker"]
        fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
        print(
            f"{a.video}: {rec['frames']} frames at {rec['timing']['fps']:.1f} fps, mask {100 * rec['mask_fraction_mean']:.1f}% -> {a.out}"
        )
        print(
            f"flicker (mean fraction of mask pixels changing per frame): raw {fmt(f['raw'])}, "
            f"smoothed (EMA alpha {f['smoothed_alpha']:g}) {fmt(f['smoothed'])}"
        )
    return 0


# ----------------------------------------------------------------------------- calibrate


def _add_calibrate(sub):
    from .calibration import CalibrateConfig

    p = sub.add_parser(
        "calibrate",
        help="estimate camera.json (horizon, camera height, 95 %% intervals) from the people a fixed camera sees",
        description="Runs the model on each frame against the empty background (--bg, or estimated from the frames "
        "as `watch` does without one), takes every foreground component "
        "seen whole as an upright person (feet on the floor, head --person-height above it), and fits the horizon "
        "row and the camera height by robust least squares with 95 % intervals from a bootstrap over tracked people (Hoiem et al. 2006; "
        "Criminisi et al. 2000). With --bg-depth the floor plane of the measured depth is fitted too (RANSAC) and "
        "written when it succeeds. Writes camera.json for `maskdepth predict --camera`.",
    )
    o = CommandOptions(p, "calibrate")
    o.add_dataclass(CalibrateConfig, required=("out",))
    o.add("--json", action="store_true", help="print the fit as JSON")
    p.set_defaults(func=cmd_calibrate)
    return o


def cmd_calibrate(a) -> int:
    from .calibration import CalibrateConfig, run_calibrate, run_floor_points
    from .config import build

    cfg = build(CalibrateConfig, a)
    if cfg.floor_points is not None:  # a camera from floor points (maskdepth.scene.calibrate.floor)
        fit = run_floor_points(cfg)
        print(json.dumps(fit.to_json()) if a.json else "\n".join([*fit.lines(), f"wrote {cfg.out} (from {fit.n_points} floor points)"]))
        return 0
    run = run_calibrate(cfg)
    if a.json:
        print(json.dumps(run.to_json()))
    else:
        for line in run.lines():
            print(line)
        print(f"wrote {cfg.out} ({'floor plane of --bg-depth' if run.method == 'depth_plane' else 'fitted from people'})")
    return 0


# ----------------------------------------------------------------------------- demo


def _add_demo(sub):
    from .demo import DemoConfig

    p = sub.add_parser(
        "demo",
        help="the whole job on an embedded default: generate → train → evaluate → predict → report",
        description="With no data options it renders its own rooms and silhouettes; with --bg-dir/--fg-dir/--rgbd-dir "
        "(or MASKDEPTH_DATA pointing at a folder laid out like ../shared/data) it uses real photos.",
    )
    o = CommandOptions(p, "demo")
    o.add_dataclass(DemoConfig)
    o.add("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)
    return o


def cmd_demo(a) -> int:
    from .config import build
    from .demo import DemoConfig, run_demo

    print(f"report: {run_demo(build(DemoConfig, a), quiet=a.quiet)}")
    return 0


# ----------------------------------------------------------------------------- export


def _add_export(sub):
    from .export import ExportConfig

    p = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX (checked against PyTorch)",
        description="Writes OUT (.onnx: inputs bg, fg_bg float32 Nx3xHxW in [0,1]; outputs mask_logits, log_depth; "
        "dynamic N, H, W) and OUT.json (opset, preset, params, parity). Fails if onnxruntime and PyTorch "
        "differ by more than --tolerance.",
    )
    o = CommandOptions(p, "export")
    o.add_dataclass(ExportConfig, required=("out",))
    p.set_defaults(func=cmd_export)
    return o


def cmd_export(a) -> int:
    from .config import build
    from .export import ExportConfig, run_export, sidecar_path

    side = run_export(build(ExportConfig, a))
    d = side["parity"]["max_abs_diff"]
    print(
        f"exported {side['preset']} ({side['params']:,} params, opset {side['opset']}) -> {a.out}; "
        f"parity max|diff| mask_logits {d['mask_logits']:.2e}, log_depth {d['log_depth']:.2e}; metadata {sidecar_path(a.out)}"
    )
    return 0


# ----------------------------------------------------------------------------- bench


def _add_bench(sub):
    from .bench.config import BenchConfig

    p = sub.add_parser(
        "bench",
        help="params, MACs, latency, throughput and memory on this machine (torch vs onnxruntime)",
        description="Writes OUT_DIR/bench.json and bench.md; run it on an otherwise idle machine.",
    )
    o = CommandOptions(p, "bench")
    o.add_dataclass(BenchConfig)
    p.set_defaults(func=cmd_bench)
    return o


def cmd_bench(a) -> int:
    from .bench import run_bench
    from .bench.config import BenchConfig
    from .config import build

    rep = run_bench(build(BenchConfig, a, command=_command_line()))
    for t in rep["targets"]:
        print(f"{t['target']}: " + ("not measured" if t["met"] is None else f"{t['value']} -> {'met' if t['met'] else 'NOT met'}"))
    print(f"wrote {rep['files']['json']} and {rep['files']['markdown']}")
    return 0


# ----------------------------------------------------------------------------- serve


def _add_serve(sub):
    from .serve.config import ServeConfig

    p = sub.add_parser(
        "serve",
        help="a local web page and JSON API (POST /predict) for the model",
        description="Serves one page (upload a background and an image, or use the bundled example; mask, depth with a "
        "scale bar, overlay) and a JSON API documented at /docs. Binds 127.0.0.1 by default.",
    )
    o = CommandOptions(p, "serve")
    o.add_dataclass(ServeConfig)
    o.add("--workers-note", action="store_true", help="explain how requests are scheduled and how to scale, then exit")
    p.set_defaults(func=cmd_serve)
    return o


def cmd_serve(a) -> int:
    from .config import build
    from .serve import WORKERS_NOTE, run_serve
    from .serve.config import ServeConfig

    if a.workers_note:
        print(WORKERS_NOTE)
        return 0
    run_serve(build(ServeConfig, a))
    return 0


# ----------------------------------------------------------------------------- report


def _add_report(sub):
    from .evaluate.config import ReportConfig

    p = sub.add_parser(
        "report",
        help="one self-contained HTML page for a training run (curves, evaluation, samples, config)",
        description="Reads RUN_DIR/summary.json and train_config.json (and EVAL_DIR/metrics.json, metrics.md, grids); "
        "writes OUT/report.html with every image embedded, plus the PNGs.",
    )
    o = CommandOptions(p, "report")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a `maskdepth train` run directory")
    o.add_dataclass(ReportConfig)
    p.set_defaults(func=cmd_report)
    return o


def cmd_report(a) -> int:
    from .config import build
    from .evaluate.config import ReportConfig
    from .evaluate.report import run_report

    print(f"report: {run_report(build(ReportConfig, a))}")
    return 0


# ----------------------------------------------------------------------------- events-report


def _add_events_report(sub):
    from .events.report import EventsReportConfig

    p = sub.add_parser(
        "events-report",
        help="HTML page of a watch (or predict --video) folder: counts per zone and line over time, dwell times, top view in metres",
        description="Reads DIR/events.jsonl (and DIR/objects.jsonl) and writes one self-contained HTML page with PNGs: zone entries "
        "and line crossings over time, a dwell-time histogram, and the tracks on the floor in metres.",
    )
    o = CommandOptions(p, "events-report")
    p.add_argument("watch_dir", metavar="DIR", help="folder with events.jsonl")
    o.add_dataclass(EventsReportConfig, exclude=("watch_dir",))
    p.set_defaults(func=cmd_events_report)
    return o


def cmd_events_report(a) -> int:
    from .config import build
    from .events.report import EventsReportConfig, run_events_report
    from .extras import require

    require("train", "maskdepth events-report", ("matplotlib",))
    print(f"events report: {run_events_report(build(EventsReportConfig, a))}")
    return 0


# ----------------------------------------------------------------------------- watch


def _add_watch(sub):
    from .live.config import WatchConfig

    p = sub.add_parser(
        "watch",
        help="watch a live camera (RTSP/HTTP stream, device, video file, folder of frames): objects, events, a maintained background",
        description="Writes DIR/objects.jsonl (one line per frame, with floor positions and speeds when a camera is known), "
        "events.jsonl (enter, exit, zone_enter, zone_exit, line_cross with --zones, stationary, absorbed, background_reset, "
        "stream_lost, stream_restored; also to --events-stdout, --webhook and --mqtt), watch.json "
        "(frames, drops, reconnects, fps, latency, background state, event sinks; rewritten every few seconds), state/ (a second run "
        "with the same --out resumes) and, with --save-masks, masks/<k>.png. Streams are reconnected after --stall-timeout "
        "seconds without frames. SIGINT/SIGTERM stop cleanly (exit 0).",
    )
    o = CommandOptions(p, "watch")
    p.add_argument(
        "source", metavar="SOURCE", help="rtsp(s)://, http(s):// (MJPEG, HLS), /dev/videoN or N, a video file, or a folder of frames"
    )
    o.add_dataclass(WatchConfig, exclude=("source",), required=("out",))
    p.set_defaults(func=cmd_watch)
    return o


def cmd_watch(a) -> int:
    from .config import build
    from .extras import require
    from .live.config import WatchConfig

    require("video", "maskdepth watch", ("av",))
    if a.serve is not None:
        require("live", "maskdepth watch --serve")
    from .live.source import redact
    from .live.watch import run_watch

    log = None if a.quiet else (lambda line: print(f"maskdepth: {line}", file=sys.stderr, flush=True))
    try:
        st = run_watch(build(WatchConfig, a), log=log)
    except Exception as e:  # a camera URL's password never reaches the terminal, whatever failed
        if not isinstance(e, ImportError):
            e.args = (redact(Exception.__str__(e)),)
        raise
    lat = st["latency_ms"]
    print(
        f"{st['source']}: {st['frames']} frames at {st['fps'] or 0:.1f} fps (latency p50 {lat['p50']} ms, p99 {lat['p99']} ms), "
        f"{st['frames_dropped']} dropped, {st['reconnects']} reconnects; stopped: {st['stop_reason']} -> {a.out}"
    )
    from .events.sinks import delivery_warnings

    for line in delivery_warnings(st.get("sinks", {})):
        print(f"maskdepth: warning: {line} (watch.json: sinks)", file=sys.stderr, flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``maskdepth`` parser; ``parser.commands`` maps each command with options to its
    :class:`~maskdepth.config.CommandOptions` (for ``--config`` and ``config show``)."""
    from . import __version__

    p = _Parser(prog="maskdepth", description="Foreground mask and depth from a background photo and a photo of the same scene.")
    p.add_argument("--version", action="version", version=f"maskdepth {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p.commands = {}
    for add in (
        _add_generate,
        _add_dataset,
        _add_teacher,
        _add_train,
        _add_adapt,
        _add_evaluate,
        _add_predict,
        _add_calibrate,
        _add_demo,
        _add_export,
        _add_bench,
        _add_serve,
        _add_report,
        _add_watch,
        _add_events_report,
    ):
        added = add(sub)  # a command's options, a list of them (one per action: dataset, teacher) or None
        options = added if isinstance(added, list) else [added] if added is not None else []
        for o in options:
            o.parser.add_argument(
                "--config",
                metavar="FILE",
                help="YAML config of this command's options (keys: the option names with _, e.g. batch_size; flags given here override it)",
            )
            p.commands[o.name] = o  # an action's name has two words: "dataset verify"
    c = sub.add_parser(
        "config",
        help="show the effective configuration of a command",
        description="maskdepth config show COMMAND [--config FILE] [flags]: print the settings COMMAND would run with, as YAML.",
    )
    c.add_argument("action", choices=["show"])
    c.add_argument("show_command", metavar="COMMAND", help="the command whose settings to show (with its action: dataset verify)")
    c.add_argument("rest", nargs=argparse.REMAINDER, help="--config FILE and flags of COMMAND")
    c.set_defaults(func=lambda a: cmd_config(a, p))
    p.command_names = [*(n for n in p.commands if " " not in n), "dataset", "teacher", "config"]
    p.section_names = [*p.commands, "config"]
    return p


def parse_command(argv: list[str], parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Parse ``argv`` the way ``maskdepth`` does: flags, then ``--config FILE`` beneath them.

    A config file's values become the command's defaults, so flags given in ``argv`` win;
    required options are checked after the file is applied.
    Raises: MaskDepthError for a bad config file; SystemExit (status 2) for bad flags.
    """
    from .config import load_config, section

    parser = parser or build_parser()
    args = parser.parse_args(argv)
    opts = parser.commands.get(_command_name(args))
    if opts is not None and getattr(args, "config", None):
        opts.apply(section(load_config(args.config), opts.name, parser.section_names, args.config), args.config)
        args = parser.parse_args(argv)
    if opts is not None:
        opts.check(args)
    args._parser = opts.parser if opts is not None else None
    return args


def _command_name(args: argparse.Namespace) -> str:
    """The command's name as ``parser.commands`` keys it: ``train``, or with its action ``dataset verify``."""
    action = getattr(args, f"{args.command}_command", None)
    return f"{args.command} {action}" if action else args.command


def _flag_for(param: str, parser: argparse.ArgumentParser | None) -> str:
    """The one place a library parameter name becomes what the user typed: its flag
    (``bg_depth`` → ``--bg-depth``), a positional's name (``SOURCE``), or the parameter itself."""
    for action in getattr(parser, "_actions", []):
        if action.dest == param:
            return action.option_strings[-1] if action.option_strings else (action.metavar or param.upper())
    return "--" + param.replace("_", "-") if parser is None else param


def _error_line(e: MaskDepthError, args: argparse.Namespace | None = None) -> str:
    param = getattr(e, "param", None)
    msg = Exception.__str__(e)
    if param:
        msg = f"{_flag_for(param, getattr(args, '_parser', None))} {msg}"
    return f"maskdepth: error: {msg}"


def cmd_config(a, parser) -> int:
    from .config import to_yaml

    name = f"{a.show_command} {a.rest[0]}" if a.rest and f"{a.show_command} {a.rest[0]}" in parser.commands else a.show_command
    if name not in parser.commands:
        raise MaskDepthError(f"unknown command {name!r} (commands with settings: {', '.join(parser.commands)})")
    args = parse_command([a.show_command, *a.rest], parser)
    print(to_yaml(name, parser.commands[name].effective(args)), end="")
    return 0


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"maskdepth: warning: {message}\n"


def main(argv=None) -> int:
    """Run one ``maskdepth`` command; returns the exit status (0 ok, 2 user error, 1 unexpected, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_command(argv)
    except MaskDepthError as e:
        print(_error_line(e), file=sys.stderr)
        return 2
    previous, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:  # warnings print as one line while the command runs; callers (tests, notebooks) get their format back
        return _run(args)
    finally:
        warnings.formatwarning = previous


def _run(args) -> int:
    try:
        return int(args.func(args) or 0)
    except MaskDepthError as e:
        print(_error_line(e, args), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("maskdepth: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # last resort: one line, never a traceback unless asked for
        from .extras import missing_extra_error

        if isinstance(e, ImportError) and (err := missing_extra_error(args.command, e)):
            print(f"maskdepth: error: {err}", file=sys.stderr)
            return 2
        if os.environ.get("MASKDEPTH_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"maskdepth: error: unexpected {type(e).__name__}: {msg[:300]} (set MASKDEPTH_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
