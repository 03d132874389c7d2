"""The machine a benchmark runs on: physical cores, background CPU load, library versions, and
the peak resident memory of this process (from ``/proc`` on Linux, with fallbacks elsewhere)."""

from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np


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


def _cpu_times() -> tuple[float, float] | None:
    try:
        f = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = f[3] + (f[4] if len(f) > 4 else 0.0)
    return sum(f), idle


def background_load(seconds: float = 1.0) -> float | None:
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
