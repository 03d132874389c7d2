#!/usr/bin/env python
"""Compare two ``maskdepth evaluate`` outputs number by number (the summary of metrics.json).

    python -m benchmarks.compare_metrics results/quality/shipped/metrics.json /tmp/q128_eval/metrics.json

Prints how many summary numbers each file holds, how many are compared, and the largest
absolute differences; exits 1 when any differs by more than ``--tolerance``.
"""

from __future__ import annotations

import argparse
import json
import sys


def flatten(d, prefix: str = "") -> dict[str, float]:
    """``{"a/b/c": number}`` for every number (not bool) in nested dicts."""
    out: dict[str, float] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}/{k}"))
    elif isinstance(d, (int, float)) and not isinstance(d, bool):
        out[prefix] = float(d)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", help="metrics.json of the reference run")
    p.add_argument("b", help="metrics.json of the run to check")
    p.add_argument("--tolerance", type=float, default=1e-3, help="largest allowed |a - b| (default 1e-3, the ONNX parity tolerance)")
    p.add_argument("--show", type=int, default=5, help="how many of the largest differences to print")
    args = p.parse_args(argv)
    a, b = (flatten(json.load(open(f))["summary"]) for f in (args.a, args.b))
    keys = sorted(set(a) & set(b))
    diffs = sorted(((abs(a[k] - b[k]), k) for k in keys), reverse=True)
    print(f"{len(a)} numbers in {args.a}, {len(b)} in {args.b}, {len(keys)} compared; only in one: {len(set(a) ^ set(b))}")
    for d, k in diffs[: args.show]:
        print(f"  {k}: {a[k]:.6f} vs {b[k]:.6f} (|diff| {d:.2e})")
    worst = diffs[0][0] if diffs else 0.0
    print(f"largest |diff| {worst:.2e} (tolerance {args.tolerance:g}): {'OK' if worst <= args.tolerance else 'DIFFERENT'}")
    return 0 if worst <= args.tolerance and not set(a) ^ set(b) else 1


if __name__ == "__main__":
    sys.exit(main())
