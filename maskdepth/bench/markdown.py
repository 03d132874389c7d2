"""``bench.md``: the Markdown rendering of a :func:`maskdepth.bench.run_bench` report."""

from __future__ import annotations


def _mmm(d: dict, fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(d['median'])} ({fmt.format(d['min'])}–{fmt.format(d['max'])})"


def _header(report: dict) -> list[str]:
    m, st = report["machine"], report["settings"]
    return [
        "# maskdepth benchmark",
        "",
        f"Command: `{report['command']}`  ",
        f"Created: {report['created']} (elapsed {report['elapsed_s']} s)",
        "",
        "## Machine",
        "",
        f"- CPU: {m.get('cpu_model')}; {m.get('physical_cores')} physical cores, {m.get('logical_cpus')} logical CPUs"
        f"{', %s GiB RAM' % m['memory_gib'] if 'memory_gib' in m else ''}",
        f"- {m.get('platform')}, Python {m.get('python')}",
        f"- torch {m.get('torch')} (mkldnn {m.get('torch_mkldnn')}), onnxruntime {m.get('onnxruntime')}, onnx {m.get('onnx')}, numpy {m.get('numpy')}",
        f"- threads: {st['threads']} (torch.set_num_threads / ORT intra_op_num_threads); env {m.get('env') or '{}'}",
        f"- other load: {m.get('background_busy_cores_before')} busy cores before, {m.get('background_busy_cores_after')} after; "
        f"loadavg {m.get('loadavg_1_5_15')}",
        "",
    ]


def _targets(report: dict) -> list[str]:
    L = []
    if report["notes"]:
        L += ["## Notes", ""] + [f"- **{n}**" if "pessimistic" in n else f"- {n}" for n in report["notes"]] + [""]
    L += ["## Targets", "", "| target | value | backend | status |", "|---|---|---|---|"]
    for t in report["targets"]:
        status = "not measured" if t["met"] is None else ("**met**" if t["met"] else "**not met**")
        val = "–" if t["value"] is None else (f"{t['value']:.2f}x" if "speedup" in t["name"] else f"{t['value']:.1f} pairs/s")
        L.append(f"| {t['target']} | {val} | {t['backend'] or '–'} | {status} |")
    return L + ["", "Speed-up targets: " + next((t["detail"] for t in report["targets"] if "speedup" in t["name"]), ""), ""]


def _models(report: dict) -> list[str]:
    L = [
        "## Models",
        "",
        "| model | preset | role | params | " + " | ".join(f"GMAC @{s}" for s in report["models"][0]["macs"]) + " | weights |",
        "|---|---|---|---|" + "---|" * len(report["models"][0]["macs"]) + "---|",
    ]
    for r in report["models"]:
        L.append(
            f"| {r['name']} | {r['preset']} | {r['role']} | {r['params']:,} | "
            + " | ".join(f"{c['macs'] / 1e9:.3f}" for c in r["macs"].values())
            + f" | {r['source']} |"
        )
    return L + ["", "MACs: 1 MAC = 1 multiply-add, Conv2d + Linear layers only (forward hooks), one pair (batch 1).", ""]


def _speed(report: dict) -> list[str]:
    st = report["settings"]
    L = [
        f"## Speed (median (min–max) over {st['repeats']} runs; {st['iters']} timed calls per run at batch 1, "
        f"after {st['warmup']} warm-up calls)",
        "",
        "| model | backend | size | batch | latency p50 ms | latency p95 ms | pairs/s | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["models"]:
        for x in r["results"]:
            L.append(
                f"| {r['name']} | {x['backend']} | {x['size']} | {x['batch']} | {_mmm(x['latency_ms']['p50'])} | "
                f"{_mmm(x['latency_ms']['p95'])} | {_mmm(x['pairs_per_s'], '{:.1f}')} | {r['peak_rss_mib'].get(x['backend'])} |"
            )
    return L + [
        "",
        "Latency is per forward call (a whole batch at batch > 1). Peak RSS: the worker process that ran that backend "
        "for that model (its largest configuration).",
        "",
    ]


def _parity_lines(n: str, r: dict) -> list[str]:
    L = []
    if "onnx_parity" in r:
        L.append(f"- {n}: onnxruntime vs torch max |diff|: " + ", ".join(f"{k} {v:.2e}" for k, v in r["onnx_parity"].items()))
    if "channels_last_parity" in r:
        L.append(f"- {n}: channels_last vs torch max |diff|: " + ", ".join(f"{k} {v:.2e}" for k, v in r["channels_last_parity"].items()))
    if "int8_parity" in r:
        q = r["int8_parity"]
        L.append(
            f"- {n}: int8 vs float32 graph: mask_logits {q['mask_logits_max_abs_diff']:.3g}, log_depth "
            f"{q['log_depth_max_abs_diff']:.3g}, mask agreement {100 * q['mask_agreement']:.2f} %, "
            f"depth max rel diff {q['depth_max_rel_diff']:.3g}"
        )
    return L


def _parity_and_prepost(report: dict) -> list[str]:
    L = []
    par = [(r["name"], r) for r in report["models"] if "onnx_parity" in r or "int8_parity" in r or "channels_last_parity" in r]
    if par:
        L += ["## Parity", ""] + [x for n, r in par for x in _parity_lines(n, r)] + [""]
    pp = report.get("prepost_ms") or {}
    if pp:
        L += ["## Predictor pre/post-processing (not in the figures above)", ""]
        for s, v in pp.items():
            L.append(f"- 640x480 pair, network short side {s}: {_mmm(v['p50_ms'])} ms per pair (resize in/out, sigmoid, exp)")
        L.append("")
    api = report.get("api")
    if api:
        h, w = api["input_hw"]
        L += [
            "## The Python API at the user's resolution",
            "",
            f"- {w}x{h} pair, {api['what']} ({api['model']} model, {api['backend']}): {_mmm(api['p50_ms'])} ms per pair "
            f"(p50, min/median/max over repeats) = {_mmm(api['pairs_per_s'])} pairs/s",
            "",
        ]
    return L


def markdown_report(report: dict) -> str:
    """The ``bench.md`` text of a :func:`~maskdepth.bench.run.run_bench` report (the dict written as ``bench.json``):
    machine, notes, targets, models (params, GMACs), speed (latency, pairs/s, peak RSS), parity, pre/post-processing."""
    return "\n".join(_header(report) + _targets(report) + _models(report) + _speed(report) + _parity_and_prepost(report))
