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
  ``prepost_ms`` (a 640×480 pair through :class:`maskdepth.inference.predictor.Predictor`
  with a network that returns zeros);
* ``peak_rss_mib``: peak resident memory of the worker process that ran one
  backend for one model (interpreter + framework + model + the largest
  activations); every backend of every model runs in its own fresh process
  (``python -m maskdepth.bench --worker``), and the onnxruntime worker never
  imports PyTorch.  The figure is ``VmHWM`` from ``/proc/self/status``;
  ``resource.getrusage().ru_maxrss`` is recorded too (``ru_maxrss_mib``) but
  Linux carries it over ``fork``/``exec`` from the parent, so it is not used.

Modules: :mod:`.macs` (counting), :mod:`.machine` (cores, load, memory), :mod:`.timing`
(timing, worker processes), :mod:`.quantize` (int8), :mod:`.targets`, :mod:`.markdown`
(``bench.md``), :mod:`.config` (:class:`BenchConfig`, the settings) and :mod:`.run` (the driver, :func:`run_bench`).

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

from .config import BenchConfig
from .machine import background_load, machine_info, peak_rss_mib, physical_cores
from .macs import count_macs
from .markdown import markdown_report
from .quantize import int8_parity, quantize_int8
from .run import BenchSettings, run_bench
from .targets import BACKENDS, FP32_BACKENDS, TARGETS, evaluate_targets
from .timing import summarize, time_calls

__all__ = [
    "BACKENDS",
    "FP32_BACKENDS",
    "TARGETS",
    "BenchConfig",
    "BenchSettings",
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
    "quantize_int8",
    "int8_parity",
]
