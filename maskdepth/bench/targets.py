"""The speed targets of the "Speed and scale" issue, checked on the fastest float32 backend of
the main model (see :mod:`maskdepth.bench`)."""

from __future__ import annotations

from collections.abc import Sequence

BACKENDS = ("torch", "torch_cl", "onnxruntime", "onnxruntime_int8")
FP32_BACKENDS = ("torch", "torch_cl", "onnxruntime")
TARGETS = {"pairs_per_s_128": 100.0, "pairs_per_s_224": 30.0, "speedup_vs_fastest_peer": 5.0, "api_pairs_per_s_720p": 25.0}


def _best(rec: dict, size: int, batch: int, backends: Sequence[str] = FP32_BACKENDS) -> tuple[float, str] | None:
    """(median pairs/s, backend) of the fastest of ``backends`` at size/batch, or None."""
    cands = [
        (r["pairs_per_s"]["median"], r["backend"])
        for r in rec["results"]
        if r["size"] == size and r["batch"] == batch and r["backend"] in backends
    ]
    return max(cands) if cands else None


def evaluate_targets(records: Sequence[dict], api: dict | None = None) -> list[dict]:
    """Check the issue's targets on the fastest float32 backend of the main model, and (issue 19) the Python
    API's throughput at 1280x720 with objects (``api``: :func:`maskdepth.bench.timing.api_throughput`'s record).

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
        out.append(
            {
                "name": key,
                "target": f">= {thr:g} pairs/s at {size}x{size}, batch 1 ({main['name'] if main else 'main'} model)",
                "threshold": thr,
                "value": round(best[0], 2) if best else None,
                "backend": best[1] if best else None,
                "met": (best[0] >= thr) if best else None,
                "detail": "median over repeats of the fastest float32 backend" if best else f"{size}x{size} batch 1 not measured",
            }
        )
    thr = TARGETS["speedup_vs_fastest_peer"]
    for size in (128, 224):
        mb = _best(main, size, 1) if main else None
        pb = [(_best(p, size, 1), p["name"]) for p in peers]
        pb = [(v, n) for v, n in pb if v is not None]
        if mb and pb:
            (pv, pbk), pn = max(pb)
            ratio = mb[0] / pv
            out.append(
                {
                    "name": f"speedup_vs_fastest_peer_{size}",
                    "target": f">= {thr:g}x the batch-1 throughput of the fastest peer at {size}x{size}",
                    "threshold": thr,
                    "value": round(ratio, 2),
                    "backend": mb[1],
                    "met": ratio >= thr,
                    "detail": f"{mb[0]:.1f} pairs/s ({mb[1]}) vs {pn} {pv:.1f} pairs/s ({pbk}); quality not measured here, "
                    "so every peer counts (strictest reading)",
                }
            )
        else:
            out.append(
                {
                    "name": f"speedup_vs_fastest_peer_{size}",
                    "target": f">= {thr:g}x the fastest peer at {size}x{size}",
                    "threshold": thr,
                    "value": None,
                    "backend": None,
                    "met": None,
                    "detail": "peers not benchmarked (use --peers)" if not peers else f"{size}x{size} batch 1 not measured",
                }
            )
    out.append(_api_target(api))
    return out


def _api_target(api: dict | None) -> dict:
    thr = TARGETS["api_pairs_per_s_720p"]
    v = api["pairs_per_s"]["median"] if api else None
    return {
        "name": "api_pairs_per_s_720p",
        "target": f'>= {thr:g} pairs/s through maskdepth.load("default").predict at 1280x720 with objects',
        "threshold": thr,
        "value": None if v is None else round(v, 2),
        "backend": api["backend"] if api else None,
        "met": None if v is None else v >= thr,
        "detail": "median over repeats; mask and objects, full-resolution depth composed on access" if api else "not measured (--quick)",
    }
