"""Pieces shared by the benchmark scripts: the command line that reruns a script, number and interval formatting,
Markdown tables, the bootstrap intervals (from :mod:`maskdepth.evaluate.metrics`, never a copy), the training budget
of a run, the machine's CPU, and the atomic writing of a result as ``<out>.json`` + ``<out>.md``.

Run a benchmark from the repository root as ``python -m benchmarks.<name>``."""

from __future__ import annotations

import contextlib
import json
import math
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from string import Formatter

import numpy as np

from maskdepth.evaluate.metrics import bootstrap_ci, cluster_bootstrap_ci
from maskdepth.io import atomic_write_json, atomic_write_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
DASH = "–"


# ----------------------------------------------------------------------------- the command header
def command_line(module: str, argv: Sequence[str] | None = None, prefix: str = "python") -> str:
    """The command that reruns benchmark ``module`` with these arguments: ``<prefix> -m benchmarks.<module> <args>``,
    the arguments shell-quoted (``argv`` None: ``sys.argv[1:]``). ``prefix`` e.g. ``"OMP_NUM_THREADS=1 .venv/bin/python"``."""
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join([prefix, "-m", f"benchmarks.{module}", *(shlex.quote(str(a)) for a in args)])


# ----------------------------------------------------------------------------- numbers
def fmt(v, ci=None, nd: int = 3) -> str:
    """``v`` with ``nd`` decimals and its interval ``ci = [lo, hi]`` in brackets when given; ``–`` for None."""
    if v is None:
        return DASH
    s = f"{v:.{nd}f}"
    if ci:
        s += f" [{ci[0]:.{nd}f}, {ci[1]:.{nd}f}]"
    return s


def fmt_number(x, nd: int = 4) -> str:
    """A number for a Markdown table: integers as they are, floats with ``nd`` decimals, ``–`` for None/NaN/inf."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return DASH
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    return f"{float(x):.{nd}f}"


def fmt_ci(v, ci, nd: int = 4) -> str:
    """:func:`fmt_number` of ``v`` followed by its interval ``[lo, hi]`` (none when ``ci`` is None)."""
    if ci is None:
        return fmt_number(v, nd)
    return f"{fmt_number(v, nd)} [{fmt_number(ci[0], nd)}, {fmt_number(ci[1], nd)}]"


def clean(x):
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None, floats rounded to 6 digits."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return round(x, 6) if math.isfinite(x) else None
    return x


# ----------------------------------------------------------------------------- Markdown
def md_table(header: Sequence[str], rows: Sequence[Sequence], align: str = "---") -> list[str]:
    """Lines of a Markdown table: the header, the ``|---|`` rule (``align`` per column, e.g. ``"--:"``), one line per row
    (cells through ``str``)."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([align] * len(header)) + "|",
        *["| " + " | ".join(str(c) for c in r) + " |" for r in rows],
    ]


def template(name: str, **values) -> str:
    """``benchmarks/templates/<name>.md`` filled with :meth:`str.format` (every field named in the file must be given).

    Raises:
        KeyError: a field of the template missing from ``values``.
    """
    text = (TEMPLATES / f"{name}.md").read_text()
    missing = {f for _, f, _, _ in Formatter().parse(text) if f} - set(values)
    if missing:
        raise KeyError(f"template {name}.md: missing {sorted(missing)}")
    return text.format(**values)


def template_lines(name: str, **values) -> list[str]:
    """:func:`template` as a list of lines (its final newline dropped), to extend a page built as lines."""
    return template(name, **values).removesuffix("\n").split("\n")


def write_json_md(out: Path | str, result: dict, md: str) -> None:
    """Write ``<out>.json`` (indented) and ``<out>.md``, each atomically (never half-written)."""
    out = Path(out)
    atomic_write_json(out.with_suffix(".json"), result)
    atomic_write_text(out.with_suffix(".md"), md)


# ----------------------------------------------------------------------------- intervals
def mean_ci(values, groups, groups_b=None, seed: int = 0, n_boot: int = 1000):
    """Mean of the finite ``values`` with its 95 % interval from :func:`maskdepth.evaluate.metrics.cluster_bootstrap_ci`
    (whole ``groups`` resampled; with ``groups_b`` the crossed second factor, Owen's pigeonhole bootstrap).

    Returns ``(mean, [low, high] or None, n_groups)``: no interval with fewer than 2 groups; ``(None, None, 0)`` without
    finite values."""
    v = np.array([np.nan if x is None else x for x in values], np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return None, None, 0
    g = np.asarray(groups, dtype=object)
    ng = len(set(g[ok].tolist()))
    if ng < 2:
        return float(v[ok].mean()), None, ng
    lo, hi = cluster_bootstrap_ci(v, g, groups_b, n_boot=n_boot, seed=seed)
    return float(v[ok].mean()), [lo, hi], ng


def percentile_ci(values, stat=np.mean, n_boot: int = 2000, seed: int = 0) -> list[float] | None:
    """95 % percentile bootstrap interval of ``stat`` (``np.mean`` or ``np.median``) over independent ``values``
    (:func:`maskdepth.evaluate.metrics.bootstrap_ci`); None without values."""
    if len(values) == 0:
        return None
    lo, hi = bootstrap_ci(values, n_boot=n_boot, seed=seed, stat=stat)
    return [lo, hi]


# ----------------------------------------------------------------------------- budgets and the machine
def load(path: Path) -> dict:
    """The JSON object of ``path``; ``{}`` when there is no such file."""
    return json.loads(path.read_text()) if path.is_file() else {}


def tb_progress(run: Path) -> tuple[float, int] | None:
    """Training wall-clock minutes and last logged step of a run from its TensorBoard event files:
    minutes = the sum over files (one per resumed slice) of last - first event time; None without
    event files or TensorBoard."""
    files = sorted((run / "tb").glob("events.out.tfevents.*"))
    if not files:
        return None
    try:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    except ImportError:
        return None
    total, step = 0.0, 0
    for f in files:
        ev = [(e.wall_time, e.step) for e in EventFileLoader(str(f)).Load()]
        if ev:
            total += max(t for t, _ in ev) - min(t for t, _ in ev)
            step = max(step, *(k for _, k in ev))
    return total / 60, step


def _budget_slices(run: Path) -> list[dict]:
    path = run / "budget.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []


def run_budget(run: Path, device: str) -> dict:
    """Steps, planned steps, wall-clock minutes and device of a training run.

    Steps: ``summary.json`` (written at the end of every slice). Minutes: the run's
    ``budget.jsonl`` (slices trained by ``benchmarks/quality3.sh``: ``seconds``, ``device``) when it
    covers every step, else the TensorBoard event times (:func:`tb_progress`), else ``summary.json``'s
    ``seconds_this_run``. Device: the devices of ``budget.jsonl``, else ``device`` (given by the caller).
    While a run trains (no ``summary.json`` yet): steps = the last logged step, planned = ``train_config.json``'s ``max_steps``."""
    s = load(run / "summary.json")
    out = {"steps": s.get("steps"), "total_steps": s.get("total_steps"), "minutes": None, "device": device, "minutes_from": DASH}
    slices = _budget_slices(run)
    if (
        slices
        and min(x["steps_from"] for x in slices) == 0
        and out["steps"] is not None
        and max(x["steps_to"] for x in slices) >= out["steps"]
    ):
        out["minutes"], out["minutes_from"] = sum(x["seconds"] for x in slices) / 60, f"{run}/budget.jsonl"
        out["device"] = ", ".join(sorted({x["device"] for x in slices}))
    elif (tb := tb_progress(run)) is not None:
        out["minutes"], out["minutes_from"] = tb[0], f"{run}/tb event times"
        if out["steps"] is None:
            out["steps"], out["total_steps"] = tb[1], load(run / "train_config.json").get("max_steps")
    elif s:
        out["minutes"], out["minutes_from"] = s["seconds_this_run"] / 60, f"{run}/summary.json (last slice only)"
    return out


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``"unknown"`` where there is none)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def stop_process(proc, timeout_s: float = 10.0) -> None:
    """Stop a server subprocess started by a benchmark or a test: SIGTERM, then SIGKILL after ``timeout_s``."""
    import subprocess

    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
