"""benchmarks.common: the pieces the benchmark scripts share (command line, formatting, tables, templates, intervals)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import common
from maskdepth.evaluate.metrics import bootstrap_ci


def test_command_line_reruns_the_module_with_quoted_arguments():
    cmd = common.command_line("quality_table", ["--round", "3", "--device", "cpu: 2 cores"], prefix="OMP_NUM_THREADS=1 python")
    assert cmd == "OMP_NUM_THREADS=1 python -m benchmarks.quality_table --round 3 --device 'cpu: 2 cores'"
    assert common.command_line("billboard", []) == "python -m benchmarks.billboard"


def test_number_formats():
    assert common.fmt(None) == "–" and common.fmt(0.12345) == "0.123" and common.fmt(0.5, [0.25, 0.75], 2) == "0.50 [0.25, 0.75]"
    assert common.fmt_number(7) == "7" and common.fmt_number(np.int64(7)) == "7" and common.fmt_number(float("nan")) == "–"
    assert common.fmt_ci(0.5, None, 2) == "0.50" and common.fmt_ci(0.5, [0.4, float("inf")], 1) == "0.5 [0.4, –]"
    assert common.clean({"a": np.float32(0.1234567891), "b": [np.int64(3), float("nan")], "c": np.bool_(True)}) == {
        "a": 0.123457,
        "b": [3, None],
        "c": True,
    }


def test_md_table():
    assert common.md_table(["a", "b"], [[1, "x"], [2.5, None]]) == ["| a | b |", "|---|---|", "| 1 | x |", "| 2.5 | None |"]


def test_templates_need_every_field():
    lines = common.template_lines("quality_round3_protocol", min_frames=7)
    assert lines[0] == "## Protocol" and lines[-1] == "" and any("fewer than 7 scored frames" in x for x in lines)
    with pytest.raises(KeyError, match="min_frames"):
        common.template("quality_round3_protocol")


def test_percentile_ci_is_the_metrics_bootstrap():
    v = np.random.default_rng(1).normal(size=15).tolist()
    assert common.percentile_ci(v) == list(bootstrap_ci(v, n_boot=2000, seed=0))
    lo, hi = common.percentile_ci(v, np.median)
    assert lo < float(np.median(v)) < hi and [lo, hi] != common.percentile_ci(v)
    assert common.percentile_ci([]) is None


def test_mean_ci_resamples_groups():
    mean, ci, ng = common.mean_ci([1.0, 2.0, None, float("nan")], ["a", "a", "b", "b"])
    assert mean == 1.5 and ng == 1 and ci is None  # "b" has no finite value: one group left, no interval
    mean, ci, ng = common.mean_ci([1.0, 2.0, 3.0, 4.0], ["a", "b", "c", "d"])
    assert ng == 4 and ci[0] < mean < ci[1]
    assert common.mean_ci([None, math.nan], ["a", "b"]) == (None, None, 0)
