"""The ``maskdepth bench`` driver: resolve the models, count, export, time every backend in its own
worker process, check the targets and write ``bench.json`` and ``bench.md`` (see :mod:`maskdepth.bench`)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MaskDepthError
from ..io import atomic_write_json, atomic_write_text
from .config import BenchConfig
from .machine import background_load, machine_info, physical_cores
from .macs import count_macs
from .markdown import markdown_report
from .quantize import int8_parity, quantize_int8
from .targets import BACKENDS, evaluate_targets
from .timing import api_throughput, prepost_ms, run_worker

PEER_PRESETS = ("peer_b", "peer_c")


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


def _resolve_models(checkpoint: str | None, preset: str | None, peers: bool, quick: bool) -> list[dict]:
    """``[{"name", "preset", "role", "source", "model", "checkpoint"}]`` for the main model and peers."""
    import torch

    from ..checkpoint import load_model
    from ..inference.predictor import DEFAULT_CHECKPOINT
    from ..model import create_model

    out = []
    if checkpoint:
        model, _ = load_model(checkpoint)
        out.append(
            {
                "name": model.preset,
                "preset": model.preset,
                "role": "main",
                "source": str(checkpoint),
                "model": model,
                "checkpoint": str(checkpoint),
            }
        )
    elif preset or quick:
        name = preset or "tiny"
        torch.manual_seed(0)
        model = _fill_zero_convs(create_model(name, pretrained=False).eval())
        out.append(
            {
                "name": name,
                "preset": name,
                "role": "main",
                "source": "random init (timing does not depend on the weights)",
                "model": model,
                "checkpoint": None,
            }
        )
    elif DEFAULT_CHECKPOINT.exists():
        model, _ = load_model(DEFAULT_CHECKPOINT)
        out.append(
            {
                "name": "default",
                "preset": model.preset,
                "role": "main",
                "source": str(DEFAULT_CHECKPOINT),
                "model": model,
                "checkpoint": str(DEFAULT_CHECKPOINT),
            }
        )
    else:
        torch.manual_seed(0)
        model = _fill_zero_convs(create_model("small", pretrained=False).eval())
        out.append(
            {
                "name": "default",
                "preset": "small",
                "role": "main",
                "source": f"random init: no shipped weights at {DEFAULT_CHECKPOINT}; the default architecture (preset small) is timed",
                "model": model,
                "checkpoint": None,
            }
        )
    if peers:
        for p in PEER_PRESETS:
            torch.manual_seed(0)
            out.append(
                {
                    "name": p,
                    "preset": p,
                    "role": "peer",
                    "source": "random init (timing does not depend on the weights)",
                    "model": _fill_zero_convs(create_model(p, pretrained=False).eval()),
                    "checkpoint": None,
                }
            )
    return out


@dataclass(frozen=True)
class BenchSettings:
    """The resolved options of one benchmark (see :func:`run_bench` for their meaning and defaults)."""

    repeats: int
    iters: int
    warmup: int
    sizes: list[int]
    batches: list[int]
    threads: int
    backends: list[str]
    quick: bool
    peers: bool

    @classmethod
    def resolve(cls, config: BenchConfig) -> BenchSettings:
        """Fill in the defaults of ``config`` (``quick`` or full mode) and check the values.

        Raises: MaskDepthError: an unknown backend, a size that is not a positive multiple of 32 (``sizes``),
            or a batch, repeat, iteration or thread count below 1 (warm-up below 0), naming the setting.
        """
        c, quick = config, config.quick
        s = cls(
            repeats=c.repeats or (1 if quick else 5),
            iters=c.iters or (5 if quick else 50),
            warmup=c.warmup if c.warmup is not None else (2 if quick else 10),
            sizes=list(c.sizes or ([64] if quick else [128, 224])),
            batches=list(c.batches or [1, 8]),
            threads=c.threads or (1 if quick else physical_cores()),
            backends=list(dict.fromkeys(c.backends)),
            quick=quick,
            peers=c.peers,
        )
        s._check()
        return s

    def _check(self) -> None:
        bad = [b for b in self.backends if b not in BACKENDS]
        if bad or not self.backends:  # the message names the values: "unknown backend(s) x; choose from ..."
            raise MaskDepthError(f"unknown backend(s) {', '.join(bad) or '(none)'}; choose from {', '.join(BACKENDS)}")
        for size in self.sizes:
            if size < 32 or size % 32:
                raise MaskDepthError(f"must be positive multiples of 32, got {size}", param="sizes")
        for name, low in (("batches", 1), ("repeats", 1), ("iters", 1), ("warmup", 0), ("threads", 1)):
            v = getattr(self, name)
            if min(v if isinstance(v, list) else [v]) < low:
                raise MaskDepthError(f"must be >= {low}, got {v}", param=name)

    def to_json(self) -> dict:
        """The ``settings`` of ``bench.json``."""
        return {
            "repeats": self.repeats,
            "iters": self.iters,
            "warmup": self.warmup,
            "sizes": self.sizes,
            "batches": self.batches,
            "threads": self.threads,
            "backends": self.backends,
            "quick": self.quick,
            "peers": self.peers,
            "mac_convention": "1 MAC = 1 multiply-add; Conv2d and Linear only (forward hooks), batch 1",
            "timed": "network forward on float32 inputs in memory; figures are min/median/max over repeats",
        }


def _channels_last_parity(model, size: int) -> dict:
    """Max |diff| of the two outputs between contiguous and ``channels_last`` on one random pair."""
    import torch

    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        ref = model(x, x.flip(-1))
        mcl = model.to(memory_format=torch.channels_last)
        got = mcl(x.contiguous(memory_format=torch.channels_last), x.flip(-1).contiguous(memory_format=torch.channels_last))
        model.to(memory_format=torch.contiguous_format)
    return {n: float((a - b).abs().max()) for n, a, b in zip(("mask_logits", "log_depth"), ref, got)}


def _prepare_backends(m: dict, rec: dict, st: BenchSettings, tmp: Path) -> dict:
    """Write what each backend loads into ``tmp`` (checkpoint copy, ONNX export, int8 graph),
    record the parity checks in ``rec``; returns ``{backend: path}``."""
    from ..checkpoint import save_checkpoint
    from ..export import export_model

    model, name = m["model"], m["name"]
    ck = m["checkpoint"]
    if ck is None:
        ck = str(tmp / f"{name}.pt")
        save_checkpoint(ck, model, meta={"note": "benchmark copy"})
    paths = {"torch": ck, "torch_cl": ck}
    if any(b.startswith("onnxruntime") for b in st.backends):
        onnx_p = tmp / f"{name}.onnx"
        side = export_model(model, onnx_p, size=st.sizes[0], source=m["source"])
        rec["onnx_parity"] = side["parity"]["max_abs_diff"]
        paths["onnxruntime"] = str(onnx_p)
        if "onnxruntime_int8" in st.backends:
            q = tmp / f"{name}.int8.onnx"
            rec["int8_quantization"] = quantize_int8(onnx_p, q)
            paths["onnxruntime_int8"] = str(q)
            rec["int8_parity"] = int8_parity(onnx_p, q, st.sizes[0], st.threads)
    if "torch_cl" in st.backends:
        rec["channels_last_parity"] = _channels_last_parity(model, st.sizes[0])
    return paths


def _measure_model(m: dict, st: BenchSettings, mac_sizes: Sequence[int], tmp: Path, log: Callable[[str], None]) -> dict:
    """Params, MACs, parity and the timings of every backend of one model: its ``bench.json`` record."""
    model, name = m["model"], m["name"]
    rec: dict[str, Any] = {k: m[k] for k in ("name", "preset", "role", "source")}
    rec["params"] = int(sum(p.numel() for p in model.parameters()))
    rec["macs"] = {str(s): count_macs(model, s, s) for s in mac_sizes}
    log(f"{name}: {rec['params']:,} params, " + ", ".join(f"{v['macs'] / 1e9:.3f} GMAC @{s}" for s, v in rec["macs"].items()))
    paths = _prepare_backends(m, rec, st, tmp)
    rec["results"], rec["peak_rss_mib"], rec["workers"] = [], {}, {}
    for b in st.backends:
        log(f"{name}: timing {b} (sizes {st.sizes}, batches {st.batches}, {st.repeats} x {st.iters} iters, {st.threads} threads)")
        spec = {
            "backend": b,
            "path": paths[b],
            "sizes": st.sizes,
            "batches": st.batches,
            "repeats": st.repeats,
            "iters": st.iters,
            "warmup": st.warmup,
            "threads": st.threads,
            "seed": 0,
        }
        w = run_worker(spec, tmp, f"{name}-{b}")
        rec["results"].extend(w.pop("results"))
        rec["peak_rss_mib"][b] = w.pop("peak_rss_mib")
        rec.setdefault("ru_maxrss_mib", {})[b] = w.pop("ru_maxrss_mib")
        rec["workers"][b] = w
    return rec


def _notes(records: Sequence[dict], backends: Sequence[str], busy: float | None) -> list[str]:
    """The report's notes: background load, missing weights, MAC cross-check mismatches, int8 caveats."""
    notes: list[str] = []
    if busy is not None and busy > 0.25:
        notes.append(
            f"other processes kept about {busy:.2f} of {os.cpu_count()} CPU cores busy around this run: "
            "timings are pessimistic; rerun on an idle machine for the record"
        )
    if any(m["source"].startswith("random init: no shipped") for m in records):
        notes.append("no shipped weights: the default architecture was timed with random init (speed does not depend on weights)")
    for rec in records:
        for s, c in rec["macs"].items():
            if c["flop_counter_macs"] is not None and c["flop_counter_macs"] != c["macs"]:
                notes.append(f"{rec['name']} @{s}: hook MACs {c['macs']:,} != FlopCounterMode MACs {c['flop_counter_macs']:,}")
    if "onnxruntime_int8" in backends:
        notes.append(
            "onnxruntime_int8 is dynamic int8 quantisation: reported separately, not used for the targets; "
            "its accuracy must be checked with maskdepth evaluate before use"
        )
        for rec in records:
            err = (rec.get("int8_quantization") or {}).get("preprocess_error")
            if err:
                notes.append(
                    f"{rec['name']}: ONNX Runtime's int8 pre-processing (quant_pre_process) failed, "
                    f"the exported graph was quantised as it is: {err}"
                )
    return notes


def run_bench(config: BenchConfig) -> dict:
    """Benchmark the main model (and peers) and write ``bench.json`` and ``bench.md`` into ``config.out_dir``.

    Args:
        config: the settings (:class:`~maskdepth.bench.config.BenchConfig`):
            ``out_dir``: output folder (created); both files are written atomically.
            ``checkpoint``: checkpoint of the main model; else ``model`` (a preset, random init); else the
            shipped default (random-init ``small`` when there is none, said in the report).
            ``peers``: also time presets ``peer_b`` and ``peer_c`` (random init).
            ``quick``: test mode: ``tiny`` (unless a model is given), 64 px, batches 1 and 8,
            1 repeat of 5 iterations after 2 warm-ups, 1 thread.
            ``repeats``, ``iters``, ``warmup``: R runs of N timed calls after W warm-up calls (default 5, 50, 10).
            ``sizes``: square input sizes in pixels, multiples of 32 (default 128 and 224).
            ``batches``: batch sizes (default 1 and 8). ``threads``: CPU threads for both backends (default: physical cores).
            ``backends``: subset of :data:`BACKENDS`. ``command``: the command line, recorded in the report.
            ``quiet``: no progress lines on stderr.
    Returns: the ``bench.json`` dict (``format``, ``command``, ``machine``, ``settings``,
        ``models`` [params, macs, onnx/int8 parity, int8_quantization, results, peak_rss_mib], ``prepost_ms``,
        ``api`` (the shipped model through ``maskdepth.load("default").predict`` at 1280x720 with objects; ``None`` with ``quick``),
        ``targets``, ``notes``, ``files``).
    Raises: MaskDepthError: bad settings (naming the setting), unusable checkpoint, failed export/parity or worker.
    """
    t_start = time.perf_counter()
    config.check()
    st = BenchSettings.resolve(config)
    quick, quiet = config.quick, config.quiet

    def log(msg: str) -> None:
        if not quiet:
            print(f"bench: {msg}", file=sys.stderr, flush=True)

    load_before = background_load(0.3 if quick else 2.0)
    machine = machine_info(st.threads)
    machine["background_busy_cores_before"] = load_before
    models = _resolve_models(config.checkpoint, config.model, config.peers, quick)
    mac_sizes = sorted(set([128, 224] + st.sizes)) if not quick else sorted(set(st.sizes))
    records = []
    with tempfile.TemporaryDirectory(prefix="maskdepth-bench-") as td:
        for m in models:
            records.append(_measure_model(m, st, mac_sizes, Path(td), log))
            m["model"] = None  # free memory before the next model
        prepost = {str(s): prepost_ms(s, st.repeats, max(3, st.iters // 2)) for s in st.sizes}
    api = api_throughput(st.repeats, max(20, st.iters)) if not quick else None  # the shipped model at 1280x720
    load_after = background_load(0.3 if quick else 2.0)
    machine["background_busy_cores_after"] = load_after
    busy = max([x for x in (load_before, load_after) if x is not None], default=None)
    report = {
        "format": "maskdepth-bench",
        "version": 1,
        "command": config.command or "maskdepth bench",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine,
        "settings": st.to_json(),
        "models": records,
        "prepost_ms": prepost,
        "api": api,
        "targets": evaluate_targets(records, api),
        "notes": _notes(records, st.backends, busy),
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    out = Path(config.out_dir)
    report["files"] = {"json": str(out / "bench.json"), "markdown": str(out / "bench.md")}
    atomic_write_json(out / "bench.json", report)
    atomic_write_text(out / "bench.md", markdown_report(report))
    return report
