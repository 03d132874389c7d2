"""Timing: latency percentiles of repeated calls, min/median/max over runs, the in-process timing
of one backend (:func:`time_backend`, run in a fresh worker process by :func:`run_worker`) and
the Predictor's pre/post-processing time."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MaskDepthError
from ..io import atomic_write_json
from .machine import peak_rss_mib

PREPOST_INPUT_HW = (480, 640)


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
    return {
        "iters": iters,
        "p50_ms": float(np.percentile(lat, 50) * 1e3),
        "p95_ms": float(np.percentile(lat, 95) * 1e3),
        "mean_ms": float(lat.mean() * 1e3),
        "wall_s": float(wall),
    }


def summarize(values: Sequence[float]) -> dict:
    """``{"min", "median", "max"}`` of a list of numbers (over repeated runs)."""
    a = np.asarray(values, dtype=np.float64)
    return {"min": float(a.min()), "median": float(np.median(a)), "max": float(a.max())}


def _iters_for(batch: int, iters: int) -> int:
    return iters if batch <= 1 else max(3, math.ceil(iters / batch))


def time_backend(spec: dict) -> dict:
    """Time one backend of one model in this process (see :mod:`maskdepth.bench`).

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
        from ..checkpoint import load_model

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
        from ..export import ort_session

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
            results.append(
                {
                    "backend": backend,
                    "size": s,
                    "batch": b,
                    "iters_per_run": n,
                    "warmup_per_run": wu,
                    "repeats": len(runs),
                    "latency_ms": {"p50": summarize([r["p50_ms"] for r in runs]), "p95": summarize([r["p95_ms"] for r in runs])},
                    "pairs_per_s": summarize([r["pairs_per_s"] for r in runs]),
                    "runs": runs,
                }
            )
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"backend": backend, "results": results, **peak_rss_mib(), "loadavg_after": load, **extra}


def run_worker(spec: dict, tmp: Path, tag: str) -> dict:
    """Run :func:`time_backend` in a fresh ``python -m maskdepth.bench --worker`` process.

    ``spec``: see :func:`time_backend`; ``tmp``: folder for the spec and result files; ``tag``: their name.
    Returns: the worker's result dict. Raises: MaskDepthError when the worker fails (its last stderr line).
    """
    spec_p, out_p = tmp / f"{tag}.spec.json", tmp / f"{tag}.result.json"
    spec_p.write_text(json.dumps(spec))
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]), MKL_NUM_THREADS=str(spec["threads"]))
    proc = subprocess.run(
        [sys.executable, "-m", "maskdepth.bench", "--worker", str(spec_p), str(out_p)], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0 or not out_p.exists():
        lines = [l for l in (proc.stderr or "").strip().splitlines() if l.strip()]
        raise MaskDepthError(f"benchmark worker {tag} failed (exit {proc.returncode}): {lines[-1][:300] if lines else 'no output'}")
    return json.loads(out_p.read_text())


def prepost_ms(size: int, repeats: int, iters: int) -> dict:
    """Predictor pre/post-processing time (ms per pair) for a 640×480 pair at network size ``size``,
    with a network that returns zeros: ``{"input_hw", "network_short_side", "p50_ms": {"min", "median", "max"}}``
    over ``repeats`` runs of ``iters`` calls."""
    import torch

    from ..inference.predictor import Predictor

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


def worker_main(argv: Sequence[str]) -> int:
    """Entry point of ``python -m maskdepth.bench --worker SPEC.json RESULT.json`` (internal):
    runs :func:`time_backend` on the spec and writes its result atomically. Returns the exit status."""
    if len(argv) != 3 or argv[0] != "--worker":
        print("usage: python -m maskdepth.bench --worker SPEC.json RESULT.json (internal; use `maskdepth bench`)", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text())
    res = time_backend(spec)
    atomic_write_json(argv[2], res)
    return 0


API_INPUT_HW = (720, 1280)


def api_pair(hw: tuple[int, int] = API_INPUT_HW, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic ``uint8 (H, W, 3)`` pair for the API timing: a smooth textured room (blurred noise) and
    the same with two upright figures standing in it (so the pipeline measures real components)."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = hw
    bg = cv2.resize(rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    fg = bg.copy()
    for x0, y0, bw, bh, c in ((w // 4, h // 3, w // 14, h // 2, (200, 60, 40)), (3 * w // 5, h // 4, w // 12, 3 * h // 5, (40, 90, 200))):
        cv2.ellipse(fg, (x0 + bw // 2, y0 + bh // 2), (bw // 2, bh // 2), 0, 0, 360, c, -1)
    return bg, fg


def api_throughput(repeats: int, iters: int, model: str = "default", hw: tuple[int, int] = API_INPUT_HW) -> dict:
    """Pairs per second through the Python API with objects: ``maskdepth.load(model).predict(bg, image).objects``
    on a :func:`api_pair` of size ``hw`` (the full-resolution depth is composed on access only, and not accessed).

    Returns: ``{"model", "backend", "input_hw", "what", "p50_ms": {"min", "median", "max"}, "pairs_per_s": {...}}``
    over ``repeats`` runs of ``iters`` calls (after 3 warm-up calls).
    Raises: MaskDepthError when the model cannot be loaded.
    """
    from ..api import load

    m = load(model)
    bg, fg = api_pair(hw)
    runs = [time_calls(lambda: m.predict(bg, fg).objects, iters, 3)["p50_ms"] for _ in range(repeats)]
    return {
        "model": model,
        "backend": m.backend,
        "input_hw": list(hw),
        "what": "maskdepth.load(model).predict(bg, image).objects: mask and objects, depth composed on access (not accessed)",
        "p50_ms": summarize(runs),
        "pairs_per_s": summarize([1000.0 / r for r in runs]),
    }
