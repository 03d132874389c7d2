"""The options of ``maskdepth bench``, declared once (:func:`maskdepth.config.option` fields → command-line flags,
YAML keys of ``--config``, :func:`~maskdepth.bench.run.run_bench`'s settings). Torch-free."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option
from ..errors import MaskDepthError

PRESETS = ("small", "tiny", "peer_b", "peer_c")  # the presets ``model`` may time with random init


def _int_list(text: str) -> list[int] | None:
    """``"128,224"`` → ``[128, 224]`` (None for empty text). Raises: ValueError for a non-integer item."""
    try:
        return [int(x) for x in str(text).split(",") if x.strip()] or None
    except ValueError:
        raise ValueError(f"must be a comma list of integers, got {text!r}") from None


def _name_list(text: str) -> list[str]:
    """``"torch,onnxruntime"`` → ``["torch", "onnxruntime"]`` (items stripped, empty ones dropped)."""
    return [b.strip() for b in str(text).split(",") if b.strip()]


@dataclass
class BenchConfig:
    """Settings of one ``maskdepth bench`` run (see :func:`maskdepth.bench.run.run_bench`).

    ``None`` for ``repeats``, ``iters``, ``warmup``, ``sizes``, ``batches`` and ``threads`` means the default of the
    mode: full (5, 50, 10, [128, 224], [1, 8], physical cores) or ``quick`` (1, 5, 2, [64], [1, 8], 1);
    :class:`~maskdepth.bench.run.BenchSettings` fills them in and checks them.
    """

    checkpoint: str | None = option(None, "model to time (default: the shipped model)")
    model: str | None = option(None, "time a preset with random init instead", choices=PRESETS)
    peers: bool = option(False, "also time peer_b and peer_c (random init)")
    out_dir: str = option("results", "output folder")
    backends: list[str] = option(
        default_factory=lambda: ["torch", "onnxruntime"],
        help="comma list of torch, torch_cl, onnxruntime, onnxruntime_int8",
        metavar="BACKENDS",
        parse=_name_list,
    )
    sizes: list[int] | None = option(None, "comma list of square input sizes, multiples of 32 (default 128,224)", parse=_int_list)
    batches: list[int] | None = option(None, "comma list of batch sizes (default 1,8)", parse=_int_list)
    repeats: int | None = option(None, "R: runs per figure, reported as min/median/max (default 5)")
    iters: int | None = option(None, "N: timed calls per run at batch 1; N/B at batch B (default 50)")
    warmup: int | None = option(None, "warm-up calls before each run (default 10)")
    threads: int | None = option(None, "CPU threads for torch and onnxruntime (default: physical cores)")
    quick: bool = option(False, "test mode: tiny preset, 64 px, 1 repeat of 5 calls, 1 thread")
    quiet: bool = option(False, "no progress lines on stderr")
    command: str | None = option(None, "the command line recorded in the report", cli=False)

    def check(self) -> None:
        """The checks that need no defaults filled in (the rest: :meth:`BenchSettings.resolve`).

        Raises: MaskDepthError naming the setting: both ``checkpoint`` and ``model`` given, or an unknown ``model``.
        """
        if self.checkpoint and self.model:
            raise MaskDepthError("cannot be given with a checkpoint (give one of them)", param="model")
        if self.model is not None and self.model not in PRESETS:
            raise MaskDepthError(f"must be one of {', '.join(PRESETS)}, got {self.model!r}", param="model")
