"""Settings of ``maskdepth dataset stats|show|verify`` and ``maskdepth teacher download``: one dataclass
per command, the single source of its flags (see :mod:`maskdepth.config`). Light (no numpy), so the
command line is built without the tools.

The positional arguments (the dataset ``dir``, the teacher ``name``) are fields too, kept off the flags
(``cli=False``); the command line adds them as ``DIR`` / ``NAME``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..config import option

SPLITS = ("train", "val", "test")  # the splits of a generated dataset (maskdepth.data.format)


def all_cpus() -> int:
    """The number of CPUs of this machine (at least 1): the default number of worker processes."""
    return os.cpu_count() or 1


@dataclass(kw_only=True)
class DatasetStatsConfig:
    """``maskdepth dataset stats DIR`` (:func:`maskdepth.data.tools.run_dataset_stats`)."""

    dir: str = option(help="dataset directory", cli=False)
    json: bool = option(False, "print JSON")
    recompute: bool = option(False, "recompute from the decoded samples instead of reading stats.json")
    write: bool = option(False, "with --recompute: save the result as DIR/stats_recomputed.json")
    workers: int = option(help="parallel processes for recompute", default_factory=all_cpus)
    quiet: bool = option(False, "no progress bar")


@dataclass(kw_only=True)
class DatasetShowConfig:
    """``maskdepth dataset show DIR`` (:func:`maskdepth.data.tools.run_dataset_show`)."""

    dir: str = option(help="dataset directory", cli=False)
    split: str | None = option(None, "only this split (default: all)", choices=SPLITS)
    n: int = option(24, "samples (rows), >= 1", flags=("-n",))
    seed: int = option(0, "which samples")
    cell: int = option(128, "cell size in pixels")
    out: str = option("sheet.png", "output PNG")


@dataclass(kw_only=True)
class DatasetVerifyConfig:
    """``maskdepth dataset verify DIR`` (:func:`maskdepth.data.tools.run_dataset_verify`)."""

    dir: str = option(help="dataset directory", cli=False)
    workers: int = option(help="parallel processes", default_factory=all_cpus)
    quiet: bool = option(False, "no progress bar")


@dataclass(kw_only=True)
class TeacherDownloadConfig:
    """``maskdepth teacher download NAME`` (:func:`maskdepth.data.teacher.registry.run_download`)."""

    name: str = option(help="registry name, e.g. midas_v21_small_256 (see `maskdepth teacher list`)", cli=False)
    cache_dir: str | None = option(None, "cache folder (default $MASKDEPTH_CACHE/teachers or ~/.cache/maskdepth/teachers)")
    url: str | None = option(None, "download from this URL instead of the registry's")
    sha256: str | None = option(None, "expected sha256 (hex) instead of the registry's")
    quiet: bool = option(False, "no progress bar")
