"""``maskdepth bench``: size, compute, speed and memory of the model (and the peers) on this machine.

What is measured, per model:

* ``params``: number of parameters (all of them);
* ``macs``: multiply-accumulates for one (bg, fg_bg) pair, counted with forward
  hooks on every ``nn.Conv2d`` and ``nn.Linear`` (1 MAC = one multiply-add;
  conv: ``output elements × in_channels / groups × kh × kw``, linear:
  ``output elements × in_features``; biases, BatchNorm, activations,
  additions, resizing, pooling and normalisation are not counted).  The count
  is cross-checked with ``torch.utils.flop_counter.FlopCounterMode``
  (FLOPs / 2), reported as ``flop_counter_macs``;
* per backend, input size S (S×S pairs) and batch size B: latency of one
  forward call (ms; p50 and p95 over the timed iterations) and throughput
  (pairs/s = B × iterations / wall time), each as **min / median / max over R
  runs**; a run is W warm-up calls then N timed calls (for B > 1: W / B
  warm-up calls, at least 1, and N / B timed calls, at least 3, both rounded
  up, so every run processes about the same number of pairs).  The network is
  timed on float32 inputs already in memory: image decoding and the
  Predictor's resizing are not included; they are reported separately as
  ``prepost_ms`` (a 640×480 pair through :class:`maskdepth.predict.Predictor`
  with a network that returns zeros);
* ``peak_rss_mib``: peak resident memory of the worker process that ran one
  backend for one model (interpreter + framework + model + the largest
  activations); every backend of every model runs in its own fresh process
  (``python -m maskdepth.bench --worker``), and the onnxruntime worker never
  imports PyTorch.  The figure is ``VmHWM`` from ``/proc/self/status``;
  ``resource.getrusage().ru_maxrss`` is recorded too (``ru_maxrss_mib``) but
  Linux carries it over ``fork``/``exec`` from the parent, so it is not used.

Backends (``--backends``):

* ``torch``: PyTorch eager, float32, CPU, ``torch.set_num_threads(T)``,
  ``inference_mode``;
* ``torch_cl``: the same in ``channels_last`` memory format (same numbers up
  to float rounding; parity is reported);
* ``onnxruntime``: the :mod:`maskdepth.export` graph (parity-checked against
  PyTorch, max-abs ≤ 1e-3), CPU provider, graph optimisation level ALL,
  ``intra_op_num_threads = T``, sequential execution;
* ``onnxruntime_int8``: ``onnxruntime.quantization.quantize_dynamic``
  (uint8 weights and activations) of that graph.  Reported separately with
  its parity against the float32 graph; never used for the targets.

T (``--threads``) defaults to the number of physical cores.

Targets (from the "Speed and scale" issue) are checked on the fastest
float32 backend (``torch``, ``torch_cl`` or ``onnxruntime``) of the main
model: ≥ 100 pairs/s at 128×128 and ≥ 30 pairs/s at 224×224, batch 1; and
≥ 5× the batch-1 throughput of the fastest peer.  Quality is not measured
here (peers are random-init for timing); the peer ratio is taken against the
fastest peer of all, which is the strictest reading of "the fastest peer of
equal or worse quality" (``maskdepth evaluate`` gives the quality side).

Timings are only meaningful on an otherwise idle machine: the CPU load of
other processes is sampled before the run and reported, with a warning when
it exceeds a quarter of a core.
"""
from __future__ import annotations

import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .errors import MaskDepthError
from .io import atomic_write_json, atomic_write_text

__all__ = [
    "BACKENDS",
    "FP32_BACKENDS",
    "TARGETS",
    "count_macs",
    "peak_rss_mib",
    "physical_cores",
    "machine_info",
    "background_load",
    "time_calls",
    "summarize",
    "run_bench",
    "evaluate_targets",
    "markdown_report",
]

BACKENDS = ("torch", "torch_cl", "onnxruntime", "onnxruntime_int8")
FP32_BACKENDS = ("torch", "torch_cl", "onnxruntime")
PEER_PRESETS = ("peer_b", "peer_c")
TARGETS = {"pairs_per_s_128": 100.0, "pairs_per_s_224": 30.0, "speedup_vs_fastest_peer": 5.0}
PREPOST_INPUT_HW = (480, 640)


# --------------------------------------------------------------------------- #
# counting
# --------------------------------------------------------------------------- #
def count_macs(model, height: int, width: int) -> dict:
    """Multiply-accumulates of one forward pass on one pair (batch 1) of ``height × width``.

    Counted with forward hooks on ``nn.Conv2d`` (``out.numel() × in_channels / groups × kh × kw``)
    and ``nn.Linear`` (``out.numel() × in_features``); 1 MAC = 1 multiply-add; nothing else
    is counted (see the module docstring).

    Args:
        model: a ``torch.nn.Module`` taking ``(bg, fg_bg)`` float32 ``(1, 3, H, W)``.
        height, width: input size in pixels (multiples of 32).
    Returns: ``{"macs": int, "conv2d": int, "linear": int, "flop_counter_macs": int | None}``;
        the last is ``FlopCounterMode`` FLOPs / 2 (``None`` when unavailable).
    """
    import torch
    from torch import nn

    counts = {"conv2d": 0, "linear": 0}

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        counts["conv2d"] += out.numel() * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m, inp, out):
        counts["linear"] += out.numel() * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(x, x.clone())
    finally:
        for h in handles:
            h.remove()
    flop_macs = None
    try:
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as fc, torch.inference_mode():
            model(x, x.clone())
        flop_macs = int(fc.get_total_flops()) // 2
    except Exception:  # optional cross-check only
        flop_macs = None
    model.train(was_training)
    return {"macs": int(counts["conv2d"] + counts["linear"]), **{k: int(v) for k, v in counts.items()},
            "flop_counter_macs": flop_macs}


# --------------------------------------------------------------------------- #
# machine
# --------------------------------------------------------------------------- #
def physical_cores() -> int:
    """Physical CPU cores usable by this process (distinct (package, core) pairs of
    ``/proc/cpuinfo`` among the CPUs in our affinity mask; ``os.cpu_count()`` elsewhere)."""
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        allowed = None
    try:
        cores, cpu, pkg = set(), None, "0"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k == "processor":
                cpu, pkg = int(v), "0"
            elif k == "physical id":
                pkg = v
            elif k == "core id" and (allowed is None or cpu in allowed):
                cores.add((pkg, v))
        if cores:
            return len(cores)
    except (OSError, ValueError):
        pass
    return len(allowed) if allowed else (os.cpu_count() or 1)


def _cpu_times() -> Optional[tuple[float, float]]:
    try:
        f = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = f[3] + (f[4] if len(f) > 4 else 0.0)
    return sum(f), idle


def background_load(seconds: float = 1.0) -> Optional[float]:
    """CPU cores kept busy by all processes over ``seconds`` (from ``/proc/stat``;
    ``None`` where unavailable). Sampled while this process sleeps, so it is other load."""
    a = _cpu_times()
    time.sleep(seconds)
    b = _cpu_times()
    if a is None or b is None or b[0] <= a[0]:
        return None
    busy = 1.0 - (b[1] - a[1]) / (b[0] - a[0])
    return round(busy * (os.cpu_count() or 1), 3)


def machine_info(threads: int) -> dict:
    """CPU model, core counts, memory, library versions and thread settings (JSON-safe dict)."""
    import torch

    info: dict[str, Any] = {"hostname": platform.node(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        names = [l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")]
        info["cpu_model"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu_model"] = platform.processor()
    info["logical_cpus"] = os.cpu_count()
    try:
        info["cpus_in_affinity"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    info["physical_cores"] = physical_cores()
    try:
        kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
        info["memory_gib"] = round(kb / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    info["numpy"] = np.__version__
    info["torch"] = torch.__version__
    info["torch_default_threads"] = torch.get_num_threads()
    info["torch_mkldnn"] = bool(torch.backends.mkldnn.is_available())
    try:
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
        info["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError:
        info["onnxruntime"] = None
    try:
        import onnx

        info["onnx"] = onnx.__version__
    except ImportError:
        pass
    info["bench_threads"] = threads
    info["env"] = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS") if k in os.environ}
    try:
        info["loadavg_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


# --------------------------------------------------------------------------- #
# timing
# --------------------------------------------------------------------------- #
def time_calls(fn: Callable[[], Any], iters: int, warmup: int) -> dict:
    """Call ``fn`` ``warmup`` times, then ``iters`` times timed one by one.

    Returns: ``{"iters", "p50_ms", "p95_ms", "mean_ms", "wall_s"}`` (per-call latency in
    milliseconds, linear-interpolated percentiles; ``wall_s`` = seconds for all timed calls).
    """
    for _ in range(warmup):
        fn()
    lat = np.empty(iters)
    t_start = time.perf_counter()
    for i in range(iters):
        t0 = time.perf_counter()
        fn()
        lat[i] = time.perf_counter() - t0
    wall = time.perf_counter() - t_start
    return {"iters": iters, "p50_ms": float(np.percentile(lat, 50) * 1e3), "p95_ms": float(np.percentile(lat, 95) * 1e3),
            "mean_ms": float(lat.mean() * 1e3), "wall_s": float(wall)}


def summarize(values: Sequence[float]) -> dict:
    """``{"min", "median", "max"}`` of a list of numbers (over repeated runs)."""
    a = np.asarray(values, dtype=np.float64)
    return {"min": float(a.min()), "median": float(np.median(a)), "max": float(a.max())}


def _iters_for(batch: int, iters: int) -> int:
    return iters if batch <= 1 else max(3, math.ceil(iters / batch))


def _worker(spec: dict) -> dict:
    """Time one backend of one model in this process (see the module docstring).

    ``spec``: backend, path (checkpoint ``.pt`` or ``.onnx``), sizes, batches, repeats,
    iters, warmup, threads, seed. Returns ``{"backend", "results": [...], "peak_rss_mib", ...}``.
    """
    backend, threads = spec["backend"], int(spec["threads"])
    rng = np.random.default_rng(spec.get("seed", 0))
    extra: dict[str, Any] = {}
    if backend.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        from .checkpoint import load_model

        model, _ = load_model(spec["path"])
        cl = backend == "torch_cl"
        if cl:
            model = model.to(memory_format=torch.channels_last)
        extra["torch_threads"] = torch.get_num_threads()

        def make(b, s):
            xs = [torch.from_numpy(rng.random((b, 3, s, s), dtype=np.float32)) for _ in range(2)]
            if cl:
                xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]

            def fn():
                with torch.inference_mode():
                    return model(xs[0], xs[1])

            return fn
    else:
        from .export import ort_session

        sess = ort_session(spec["path"], threads=threads, providers=["CPUExecutionProvider"])
        extra["providers"] = sess.get_providers()
        extra["ort_intra_op_threads"] = threads
        extra["ort_graph_optimization"] = "ORT_ENABLE_ALL"
        extra["torch_imported"] = "torch" in sys.modules

        def make(b, s):
            feed = {"bg": rng.random((b, 3, s, s), dtype=np.float32), "fg_bg": rng.random((b, 3, s, s), dtype=np.float32)}
            return lambda: sess.run(None, feed)

    results = []
    for s in spec["sizes"]:
        for b in spec["batches"]:
            fn = make(b, s)
            n = _iters_for(b, spec["iters"])
            wu = spec["warmup"] if b <= 1 else max(1, math.ceil(spec["warmup"] / b))
            runs = []
            for _ in range(spec["repeats"]):
                r = time_calls(fn, n, wu)
                r["pairs_per_s"] = b * n / r["wall_s"]
                runs.append(r)
            results.append({
                "backend": backend, "size": s, "batch": b, "iters_per_run": n, "warmup_per_run": wu, "repeats": len(runs),
                "latency_ms": {"p50": summarize([r["p50_ms"] for r in runs]), "p95": summarize([r["p95_ms"] for r in runs])},
                "pairs_per_s": summarize([r["pairs_per_s"] for r in runs]),
                "runs": runs,
            })
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"backend": backend, "results": results, **peak_rss_mib(), "loadavg_after": load, **extra}


def peak_rss_mib() -> dict:
    """Peak resident memory of this process in MiB.

    Returns: ``{"peak_rss_mib": float, "ru_maxrss_mib": float}``. ``peak_rss_mib`` is
    ``VmHWM`` of ``/proc/self/status`` (the high-water mark of this process image)
    where available, else ``ru_maxrss``.  ``ru_maxrss`` (``resource.getrusage``) is
    kept for reference, but Linux carries it across ``fork``/``exec``, so in a worker
    started by a large parent it reports at least the parent's size.
    """
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    hwm = None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return {"peak_rss_mib": round(hwm if hwm is not None else ru, 1), "ru_maxrss_mib": round(ru, 1)}


def _run_worker(spec: dict, tmp: Path, tag: str) -> dict:
    """Run :func:`_worker` in a fresh ``python -m maskdepth.bench --worker`` process."""
    spec_p, out_p = tmp / f"{tag}.spec.json", tmp / f"{tag}.result.json"
    spec_p.write_text(json.dumps(spec))
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]), MKL_NUM_THREADS=str(spec["threads"]))
    proc = subprocess.run([sys.executable, "-m", "maskdepth.bench", "--worker", str(spec_p), str(out_p)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not out_p.exists():
        lines = [l for l in (proc.stderr or "").strip().splitlines() if l.strip()]
        raise MaskDepthError(f"benchmark worker {tag} failed (exit {proc.returncode}): {lines[-1][:300] if lines else 'no output'}")
    return json.loads(out_p.read_text())


# --------------------------------------------------------------------------- #
# pre/post-processing and int8
# --------------------------------------------------------------------------- #
def _prepost_ms(size: int, repeats: int, iters: int) -> dict:
    """Predictor pre/post-processing time (ms per pair) for a 640×480 pair at network size ``size``."""
    import torch

    from .predict import Predictor

    class _Zeros(torch.nn.Module):
        def forward(self, bg, fg_bg):
            z = torch.zeros(bg.shape[0], 1, bg.shape[2], bg.shape[3])
            return z, z

    p = Predictor(_Zeros(), size=size)
    rng = np.random.default_rng(0)
    h, w = PREPOST_INPUT_HW
    bg, fg = (rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(2))
    runs = [time_calls(lambda: p.predict(bg, fg), iters, 2)["p50_ms"] for _ in range(repeats)]
    return {"input_hw": [h, w], "network_short_side": size, "p50_ms": summarize(runs)}


def _quantize_int8(fp32: Path, out: Path) -> None:
    """Dynamic int8 quantisation (uint8 weights: ORT's CPU ConvInteger needs uint8) after ORT's
    recommended pre-processing (shape inference + graph optimisation; skipped if it fails)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice on the root logger
    try:
        src = fp32
        try:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            pre = out.with_name(out.stem + ".pre.onnx")
            quant_pre_process(str(fp32), str(pre))
            src = pre
        except Exception:
            src = fp32
        quantize_dynamic(str(src), str(out), weight_type=QuantType.QUInt8)
    except Exception as e:
        raise MaskDepthError(f"int8 dynamic quantisation failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}") from None
    finally:
        root.setLevel(level)


def _int8_parity(fp32: Path, int8: Path, size: int, threads: int) -> dict:
    """Compare the int8 graph with the float32 graph on one random pair (and report mask agreement)."""
    from .export import ort_session

    a = ort_session(fp32, threads=threads, providers=["CPUExecutionProvider"])
    b = ort_session(int8, threads=threads, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    feed = {"bg": rng.random((1, 3, size, size), dtype=np.float32), "fg_bg": rng.random((1, 3, size, size), dtype=np.float32)}
    (la, da), (lb, db) = a.run(None, feed), b.run(None, feed)
    return {
        "shape": [1, 3, size, size],
        "mask_logits_max_abs_diff": float(np.abs(la - lb).max()),
        "log_depth_max_abs_diff": float(np.abs(da - db).max()),
        "mask_agreement": float(((la >= 0) == (lb >= 0)).mean()),
        "depth_max_rel_diff": float(np.abs(np.expm1(db - da)).max()),
        "note": "vs the float32 onnxruntime graph on a random pair; random-init weights make this a weak check",
    }


# --------------------------------------------------------------------------- #
# driver
# --------------------------------------------------------------------------- #
def _fill_zero_convs(model) -> Any:
    """Give random-init output convs (initialised to exactly zero, see ``_init_output_conv``)
    random weights (normal, std 1/sqrt(fan_in), seed 0), so parity checks compare
    non-constant outputs and identical all-zero tensors are not merged by graph
    optimisers. Speed does not depend on the values. Returns ``model``."""
    import torch

    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d) and not bool(m.weight.any()):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / fan_in**0.5)
    return model


def _resolve_models(checkpoint: Optional[str], preset: Optional[str], peers: bool, quick: bool) -> list[dict]:
    """``[{"name", "preset", "role", "source", "model", "checkpoint"}]`` for the main model and peers."""
    import torch

    from .checkpoint import load_model
    from .model.net import create_model
    from .predict import DEFAULT_CHECKPOINT

    out = []
    if checkpoint:
        model, _ = load_model(checkpoint)
        out.append({"name": model.preset, "preset": model.preset, "role": "main", "source": str(checkpoint), "model": model,
                    "checkpoint": str(checkpoint)})
    elif preset or quick:
        name = preset or "tiny"
        torch.manual_seed(0)
        model = _fill_zero_convs(create_model(name, pretrained=False).eval())
        out.append({"name": name, "preset": name, "role": "main", "source": "random init (timing does not depend on the weights)",
                    "model": model, "checkpoint": None})
    elif DEFAULT_CHECKPOINT.exists():
        model, _ = load_model(DEFAULT_CHECKPOINT)
        out.append({"name": "default", "preset": model.preset, "role": "main", "source": str(DEFAULT_CHECKPOINT), "model": model,
                    "checkpoint": str(DEFAULT_CHECKPOINT)})
    else:
        torch.manual_seed(0)
        model = _fill_zero_convs(create_model("small", pretrained=False).eval())
        out.append({"name": "default", "preset": "small", "role": "main",
                    "source": f"random init: no shipped weights at {DEFAULT_CHECKPOINT}; the default architecture (preset small) is timed",
                    "model": model, "checkpoint": None})
    if peers:
        for p in PEER_PRESETS:
            torch.manual_seed(0)
            out.append({"name": p, "preset": p, "role": "peer", "source": "random init (timing does not depend on the weights)",
                        "model": _fill_zero_convs(create_model(p, pretrained=False).eval()), "checkpoint": None})
    return out


def run_bench(out_dir: str | os.PathLike = "results", checkpoint: Optional[str] = None, preset: Optional[str] = None,
              peers: bool = False, quick: bool = False, repeats: Optional[int] = None, iters: Optional[int] = None,
              warmup: Optional[int] = None, sizes: Optional[Sequence[int]] = None, batches: Optional[Sequence[int]] = None,
              threads: Optional[int] = None, backends: Sequence[str] = ("torch", "onnxruntime"),
              command: Optional[str] = None, quiet: bool = False) -> dict:
    """Benchmark the main model (and peers) and write ``bench.json`` and ``bench.md`` into ``out_dir``.

    Args:
        out_dir: output folder (created); both files are written atomically.
        checkpoint: checkpoint of the main model; else ``preset`` (random init); else the
            shipped default (random-init ``small`` when there is none, said in the report).
        peers: also time presets ``peer_b`` and ``peer_c`` (random init).
        quick: test mode: ``tiny`` (unless a model is given), 64 px, batches 1 and 8,
            1 repeat of 5 iterations after 2 warm-ups, 1 thread.
        repeats, iters, warmup: R runs of N timed calls after W warm-up calls (default 5, 50, 10).
        sizes: square input sizes in pixels, multiples of 32 (default 128 and 224).
        batches: batch sizes (default 1 and 8).
        threads: CPU threads for both backends (default: physical cores).
        backends: subset of :data:`BACKENDS`.
        command: the command line, recorded in the report.
    Returns: the ``bench.json`` dict (``format``, ``command``, ``machine``, ``settings``,
        ``models`` [params, macs, onnx parity, results, peak_rss_mib, prepost_ms],
        ``targets``, ``notes``, ``files``).
    Raises: MaskDepthError: bad options, unusable checkpoint, failed export/parity or worker.
    """
    from .export import export_model
    from .checkpoint import save_checkpoint

    t_start = time.perf_counter()
    repeats = repeats or (1 if quick else 5)
    iters = iters or (5 if quick else 50)
    warmup = warmup if warmup is not None else (2 if quick else 10)
    sizes = list(sizes or ([64] if quick else [128, 224]))
    batches = list(batches or [1, 8])
    threads = threads or (1 if quick else physical_cores())
    backends = list(dict.fromkeys(backends))
    bad = [b for b in backends if b not in BACKENDS]
    if bad or not backends:
        raise MaskDepthError(f"unknown backend(s) {', '.join(bad) or '(none)'}; choose from {', '.join(BACKENDS)}")
    for s in sizes:
        if s < 32 or s % 32:
            raise MaskDepthError(f"bench sizes must be positive multiples of 32, got {s}")
    if min(batches) < 1 or repeats < 1 or iters < 1 or warmup < 0 or threads < 1:
        raise MaskDepthError("batches, --repeats, --iters and --threads must be >= 1 (--warmup >= 0)")

    def log(msg: str) -> None:
        if not quiet:
            print(f"bench: {msg}", file=sys.stderr, flush=True)

    load_before = background_load(0.3 if quick else 2.0)
    machine = machine_info(threads)
    machine["background_busy_cores_before"] = load_before
    notes: list[str] = []
    models = _resolve_models(checkpoint, preset, peers, quick)
    mac_sizes = sorted(set([128, 224] + sizes)) if not quick else sorted(set(sizes))
    records = []
    with tempfile.TemporaryDirectory(prefix="maskdepth-bench-") as td:
        tmp = Path(td)
        for m in models:
            model, name = m["model"], m["name"]
            rec: dict[str, Any] = {k: m[k] for k in ("name", "preset", "role", "source")}
            rec["params"] = int(sum(p.numel() for p in model.parameters()))
            rec["macs"] = {}
            for s in mac_sizes:
                c = count_macs(model, s, s)
                rec["macs"][str(s)] = c
            log(f"{name}: {rec['params']:,} params, " + ", ".join(f"{v['macs'] / 1e9:.3f} GMAC @{s}" for s, v in rec["macs"].items()))
            ck = m["checkpoint"]
            if ck is None:
                ck = str(tmp / f"{name}.pt")
                save_checkpoint(ck, model, meta={"note": "benchmark copy"})
            paths = {"torch": ck, "torch_cl": ck}
            if any(b.startswith("onnxruntime") for b in backends):
                onnx_p = tmp / f"{name}.onnx"
                side = export_model(model, onnx_p, size=sizes[0], source=m["source"])
                rec["onnx_parity"] = side["parity"]["max_abs_diff"]
                paths["onnxruntime"] = str(onnx_p)
                if "onnxruntime_int8" in backends:
                    q = tmp / f"{name}.int8.onnx"
                    _quantize_int8(onnx_p, q)
                    paths["onnxruntime_int8"] = str(q)
                    rec["int8_parity"] = _int8_parity(onnx_p, q, sizes[0], threads)
            if "torch_cl" in backends:
                import torch

                x = torch.rand(1, 3, sizes[0], sizes[0], generator=torch.Generator().manual_seed(2))
                with torch.inference_mode():
                    ref = model(x, x.flip(-1))
                    mcl = model.to(memory_format=torch.channels_last)
                    got = mcl(x.contiguous(memory_format=torch.channels_last), x.flip(-1).contiguous(memory_format=torch.channels_last))
                    model.to(memory_format=torch.contiguous_format)
                rec["channels_last_parity"] = {n: float((a - b).abs().max()) for n, a, b in zip(("mask_logits", "log_depth"), ref, got)}
            rec["results"], rec["peak_rss_mib"], rec["workers"] = [], {}, {}
            for b in backends:
                log(f"{name}: timing {b} (sizes {sizes}, batches {batches}, {repeats} x {iters} iters, {threads} threads)")
                spec = {"backend": b, "path": paths[b], "sizes": sizes, "batches": batches, "repeats": repeats, "iters": iters,
                        "warmup": warmup, "threads": threads, "seed": 0}
                w = _run_worker(spec, tmp, f"{name}-{b}")
                rec["results"].extend(w.pop("results"))
                rec["peak_rss_mib"][b] = w.pop("peak_rss_mib")
                rec.setdefault("ru_maxrss_mib", {})[b] = w.pop("ru_maxrss_mib")
                rec["workers"][b] = w
            records.append(rec)
            m["model"] = None  # free memory before the next model
        prepost = {str(s): _prepost_ms(s, repeats, max(3, iters // 2)) for s in sizes}
    load_after = background_load(0.3 if quick else 2.0)
    machine["background_busy_cores_after"] = load_after
    busy = max([x for x in (load_before, load_after) if x is not None], default=None)
    if busy is not None and busy > 0.25:
        notes.append(f"other processes kept about {busy:.2f} of {os.cpu_count()} CPU cores busy around this run: "
                     "timings are pessimistic; rerun on an idle machine for the record")
    if any(m["source"].startswith("random init: no shipped") for m in records):
        notes.append("no shipped weights: the default architecture was timed with random init (speed does not depend on weights)")
    for rec in records:
        for s, c in rec["macs"].items():
            if c["flop_counter_macs"] is not None and c["flop_counter_macs"] != c["macs"]:
                notes.append(f"{rec['name']} @{s}: hook MACs {c['macs']:,} != FlopCounterMode MACs {c['flop_counter_macs']:,}")
    if "onnxruntime_int8" in backends:
        notes.append("onnxruntime_int8 is dynamic int8 quantisation: reported separately, not used for the targets; "
                     "its accuracy must be checked with maskdepth evaluate before use")
    report = {
        "format": "maskdepth-bench",
        "version": 1,
        "command": command or "maskdepth bench",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine,
        "settings": {"repeats": repeats, "iters": iters, "warmup": warmup, "sizes": sizes, "batches": batches, "threads": threads,
                     "backends": backends, "quick": quick, "peers": peers,
                     "mac_convention": "1 MAC = 1 multiply-add; Conv2d and Linear only (forward hooks), batch 1",
                     "timed": "network forward on float32 inputs in memory; figures are min/median/max over repeats"},
        "models": records,
        "prepost_ms": prepost,
        "targets": evaluate_targets(records),
        "notes": notes,
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    out = Path(out_dir)
    report["files"] = {"json": str(out / "bench.json"), "markdown": str(out / "bench.md")}
    atomic_write_json(out / "bench.json", report)
    atomic_write_text(out / "bench.md", markdown_report(report))
    return report


def _best(rec: dict, size: int, batch: int, backends: Sequence[str] = FP32_BACKENDS) -> Optional[tuple[float, str]]:
    """(median pairs/s, backend) of the fastest of ``backends`` at size/batch, or None."""
    cands = [(r["pairs_per_s"]["median"], r["backend"]) for r in rec["results"]
             if r["size"] == size and r["batch"] == batch and r["backend"] in backends]
    return max(cands) if cands else None


def evaluate_targets(records: Sequence[dict]) -> list[dict]:
    """Check the issue's targets on the fastest float32 backend of the main model.

    Returns: one dict per target: ``name``, ``target`` (text), ``threshold``, ``value``
    (median pairs/s or speed ratio; ``None`` when not measured), ``backend``, ``met``
    (bool, or ``None`` when not measured), ``detail``.
    """
    main = next((r for r in records if r["role"] == "main"), None)
    peers = [r for r in records if r["role"] == "peer"]
    out = []
    for size, key in ((128, "pairs_per_s_128"), (224, "pairs_per_s_224")):
        thr = TARGETS[key]
        best = _best(main, size, 1) if main else None
        out.append({
            "name": key, "target": f">= {thr:g} pairs/s at {size}x{size}, batch 1 ({main['name'] if main else 'main'} model)",
            "threshold": thr, "value": round(best[0], 2) if best else None, "backend": best[1] if best else None,
            "met": (best[0] >= thr) if best else None,
            "detail": "median over repeats of the fastest float32 backend" if best else f"{size}x{size} batch 1 not measured",
        })
    thr = TARGETS["speedup_vs_fastest_peer"]
    for size in (128, 224):
        mb = _best(main, size, 1) if main else None
        pb = [(_best(p, size, 1), p["name"]) for p in peers]
        pb = [(v, n) for v, n in pb if v is not None]
        if mb and pb:
            (pv, pbk), pn = max(pb)
            ratio = mb[0] / pv
            out.append({"name": f"speedup_vs_fastest_peer_{size}",
                        "target": f">= {thr:g}x the batch-1 throughput of the fastest peer at {size}x{size}",
                        "threshold": thr, "value": round(ratio, 2), "backend": mb[1], "met": ratio >= thr,
                        "detail": f"{mb[0]:.1f} pairs/s ({mb[1]}) vs {pn} {pv:.1f} pairs/s ({pbk}); quality not measured here, "
                                  "so every peer counts (strictest reading)"})
        else:
            out.append({"name": f"speedup_vs_fastest_peer_{size}", "target": f">= {thr:g}x the fastest peer at {size}x{size}",
                        "threshold": thr, "value": None, "backend": None, "met": None,
                        "detail": "peers not benchmarked (use --peers)" if not peers else f"{size}x{size} batch 1 not measured"})
    return out


def _mmm(d: dict, fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(d['median'])} ({fmt.format(d['min'])}–{fmt.format(d['max'])})"


def markdown_report(report: dict) -> str:
    """The ``bench.md`` text of a :func:`run_bench` report."""
    m, st = report["machine"], report["settings"]
    L = ["# maskdepth benchmark", "", f"Command: `{report['command']}`  ", f"Created: {report['created']} (elapsed {report['elapsed_s']} s)", ""]
    L += ["## Machine", "",
          f"- CPU: {m.get('cpu_model')}; {m.get('physical_cores')} physical cores, {m.get('logical_cpus')} logical CPUs"
          f"{', %s GiB RAM' % m['memory_gib'] if 'memory_gib' in m else ''}",
          f"- {m.get('platform')}, Python {m.get('python')}",
          f"- torch {m.get('torch')} (mkldnn {m.get('torch_mkldnn')}), onnxruntime {m.get('onnxruntime')}, onnx {m.get('onnx')}, numpy {m.get('numpy')}",
          f"- threads: {st['threads']} (torch.set_num_threads / ORT intra_op_num_threads); env {m.get('env') or '{}'}",
          f"- other load: {m.get('background_busy_cores_before')} busy cores before, {m.get('background_busy_cores_after')} after; "
          f"loadavg {m.get('loadavg_1_5_15')}", ""]
    if report["notes"]:
        L += ["## Notes", ""] + [f"- **{n}**" if "pessimistic" in n else f"- {n}" for n in report["notes"]] + [""]
    L += ["## Targets", "", "| target | value | backend | status |", "|---|---|---|---|"]
    for t in report["targets"]:
        status = "not measured" if t["met"] is None else ("**met**" if t["met"] else "**not met**")
        val = "–" if t["value"] is None else (f"{t['value']:.2f}x" if "speedup" in t["name"] else f"{t['value']:.1f} pairs/s")
        L.append(f"| {t['target']} | {val} | {t['backend'] or '–'} | {status} |")
    L += ["", "Speed-up targets: " + next((t["detail"] for t in report["targets"] if "speedup" in t["name"]), ""), ""]
    L += ["## Models", "", "| model | preset | role | params | " + " | ".join(f"GMAC @{s}" for s in report["models"][0]["macs"]) + " | weights |",
          "|---|---|---|---|" + "---|" * len(report["models"][0]["macs"]) + "---|"]
    for r in report["models"]:
        L.append(f"| {r['name']} | {r['preset']} | {r['role']} | {r['params']:,} | "
                 + " | ".join(f"{c['macs'] / 1e9:.3f}" for c in r["macs"].values()) + f" | {r['source']} |")
    L += ["", "MACs: 1 MAC = 1 multiply-add, Conv2d + Linear layers only (forward hooks), one pair (batch 1).", ""]
    L += [f"## Speed (median (min–max) over {st['repeats']} runs; {st['iters']} timed calls per run at batch 1, "
          f"after {st['warmup']} warm-up calls)", "",
          "| model | backend | size | batch | latency p50 ms | latency p95 ms | pairs/s | peak RSS MiB |", "|---|---|---|---|---|---|---|---|"]
    for r in report["models"]:
        for x in r["results"]:
            L.append(f"| {r['name']} | {x['backend']} | {x['size']} | {x['batch']} | {_mmm(x['latency_ms']['p50'])} | "
                     f"{_mmm(x['latency_ms']['p95'])} | {_mmm(x['pairs_per_s'], '{:.1f}')} | {r['peak_rss_mib'].get(x['backend'])} |")
    L += ["", "Latency is per forward call (a whole batch at batch > 1). Peak RSS: the worker process that ran that backend "
          "for that model (its largest configuration).", ""]
    par = [(r["name"], r) for r in report["models"] if "onnx_parity" in r or "int8_parity" in r or "channels_last_parity" in r]
    if par:
        L += ["## Parity", ""]
        for n, r in par:
            if "onnx_parity" in r:
                L.append(f"- {n}: onnxruntime vs torch max |diff|: " + ", ".join(f"{k} {v:.2e}" for k, v in r["onnx_parity"].items()))
            if "channels_last_parity" in r:
                L.append(f"- {n}: channels_last vs torch max |diff|: " + ", ".join(f"{k} {v:.2e}" for k, v in r["channels_last_parity"].items()))
            if "int8_parity" in r:
                q = r["int8_parity"]
                L.append(f"- {n}: int8 vs float32 graph: mask_logits {q['mask_logits_max_abs_diff']:.3g}, log_depth "
                         f"{q['log_depth_max_abs_diff']:.3g}, mask agreement {100 * q['mask_agreement']:.2f} %, "
                         f"depth max rel diff {q['depth_max_rel_diff']:.3g}")
        L.append("")
    pp = report.get("prepost_ms") or {}
    if pp:
        L += ["## Predictor pre/post-processing (not in the figures above)", ""]
        for s, v in pp.items():
            L.append(f"- 640x480 pair, network short side {s}: {_mmm(v['p50_ms'])} ms per pair (resize in/out, sigmoid, exp)")
        L.append("")
    return "\n".join(L)


def _worker_main(argv: Sequence[str]) -> int:
    if len(argv) != 3 or argv[0] != "--worker":
        print("usage: python -m maskdepth.bench --worker SPEC.json RESULT.json (internal; use `maskdepth bench`)", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text())
    res = _worker(spec)
    atomic_write_json(argv[2], res)
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
