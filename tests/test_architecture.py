"""The layout as a contract: the import graph of ``maskdepth`` has no cycle, imports flow one way
(cli → predict/evaluate/serve → train/export → model/data/metrics → io/errors/config), and no
module imports another module's private names. Lazy imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "maskdepth"

# lower layers never import higher ones (a module may import its own layer, without cycles);
# the root package holds __version__ and a lazy (PEP 562) API only, so it sits at the bottom
LAYERS = [
    {
        "maskdepth",
        "maskdepth.errors",
        "maskdepth.config",
        "maskdepth.io",
        "maskdepth.evaluate.perturb",
        "maskdepth.extras",
        "maskdepth.train.config",
        "maskdepth.model.presets",
    },
    {
        "maskdepth.data",
        "maskdepth.model",
        "maskdepth.evaluate.metrics",
        "maskdepth.inference.refine",
        "maskdepth.train.losses",
        "maskdepth.evaluate.baselines",
        "maskdepth.viz",
        "maskdepth.scene",
    },
    # events (issue 21) may import scene, never video or live (which call it)
    {"maskdepth.checkpoint", "maskdepth.inference.runtime", "maskdepth.export", "maskdepth.train", "maskdepth.events"},
    {
        "maskdepth.inference",  # runtime and refine sit lower (above)
        "maskdepth.calibration",
        "maskdepth.evaluate",  # metrics, baselines and perturb sit lower (above)
        "maskdepth.video",
        "maskdepth.demo",
        "maskdepth.adapt",  # adapt (issue 22) trains like train but reads frames and pads like predict
        "maskdepth.live.background",  # the background estimator, which adapt uses without an empty photo (issue 22)
        "maskdepth.live.stationary",  # (its still-object records)
    },
    # live (`maskdepth watch`) runs the video step, the scene and the events engine on a stream
    {"maskdepth.serve", "maskdepth.api", "maskdepth.live", "maskdepth.bench"},  # bench times the API too
    {"maskdepth.cli", "maskdepth.__main__"},
]


def _name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(p): p for p in PKG.rglob("*.py")}


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(mod: str) -> list[tuple[str, str]]:
    """``(target module, imported name or "")`` for every import of ours in ``mod``."""
    path = MODULES[mod]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names if a.name.split(".")[0] == "maskdepth"]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(mod, path.name == "__init__.py", node)
            if target.split(".")[0] != "maskdepth":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, "") if sub in MODULES else (target, a.name))
    return out


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}


def _layer(mod: str) -> int:
    best = None
    for i, layer in enumerate(LAYERS):
        for prefix in layer:
            if mod == prefix or (prefix != "maskdepth" and mod.startswith(prefix + ".")):
                if best is None or len(prefix) > best[1]:
                    best = (i, len(prefix))
    assert best is not None, f"{mod} is in no layer of tests/test_architecture.py: place it"
    return best[0]


def test_every_module_found():
    assert "maskdepth.cli" in MODULES and "maskdepth.inference.predictor" in MODULES and len(MODULES) > 30


def test_no_import_cycle():
    graph = _graph()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_imports_flow_one_way():
    bad = [
        f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
        for m, targets in _graph().items()
        for t in targets
        if _layer(t) > _layer(m) and not t.startswith(m + ".")
    ]  # a package's __init__ may re-export its own modules
    assert not bad, "\n".join(bad)


def test_no_private_names_across_modules():
    bad = [
        f"{m} imports {name} from {t}"
        for m in MODULES
        for t, name in _imports(m)
        if name.startswith("_") and not name.startswith("__") and t != m
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("fake", [{"a": {"b"}, "b": {"a"}}])
def test_the_cycle_check_can_fail(fake, monkeypatch):
    """The cycle test is not vacuous: a two-module cycle is reported."""
    import sys

    mod = sys.modules[__name__]
    monkeypatch.setattr(mod, "_graph", lambda: fake)
    with pytest.raises(AssertionError, match="import cycles"):
        test_no_import_cycle()


# ----------------------------------------------------------------------------- counted (issue 19)

MAX_LONG_FUNCTIONS = 5  # over LONG_LINES lines, each with a one-line "# long: <reason>" beside its def
LONG_LINES = 80
MEASURES = {"measure", "extract_objects", "label_objects", "compose_depth"}  # frame -> objects / composed depth
PIPELINE = "maskdepth.inference.pipeline"  # the one module outside scene/ that measures objects


def _functions(tree: ast.AST):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def long_functions(modules: dict[str, Path] = MODULES) -> list[tuple[str, int, bool]]:
    """``(module:function, lines, has_reason)`` for every function over :data:`LONG_LINES` lines."""
    out = []
    for m, path in modules.items():
        src = path.read_text()
        lines = src.splitlines()
        for f in _functions(ast.parse(src)):
            n = f.end_lineno - f.lineno + 1
            if n > LONG_LINES:
                head = " ".join(lines[max(0, f.lineno - 2) : f.lineno])
                out.append((f"{m}:{f.name}", n, "# long:" in head))
    return out


def flag_errors(modules: dict[str, Path] = MODULES) -> list[str]:
    """``raise`` statements outside the CLI whose message names a command-line flag (``--x``)."""
    import re

    out = []
    for m, path in modules.items():
        if m == "maskdepth.cli":
            continue
        src = path.read_text()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Raise) and node.exc is not None and re.search(r"--[a-z]", ast.get_source_segment(src, node.exc) or ""):
                out.append(f"{m}:{node.lineno}")
    return out


def measuring_modules(modules: dict[str, Path] = MODULES) -> set[str]:
    """Modules outside ``maskdepth.scene`` that call a function of :data:`MEASURES`."""
    out = set()
    for m, path in modules.items():
        if m == "maskdepth.scene" or m.startswith("maskdepth.scene."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in MEASURES:
                    out.add(m)
    return out


def test_few_long_functions_each_with_a_reason():
    found = long_functions()
    assert len(found) <= MAX_LONG_FUNCTIONS, f"{len(found)} functions over {LONG_LINES} lines (at most {MAX_LONG_FUNCTIONS}): {found}"
    assert all(reason for *_, reason in found), f"a long function needs a '# long: <reason>' line beside its def: {found}"


def test_library_errors_name_parameters_not_flags():
    assert flag_errors() == [], "library errors name parameters (MaskDepthError(..., param=...)); the CLI maps them to flags"


def test_one_module_outside_scene_measures_objects():
    assert measuring_modules() <= {PIPELINE}, f"only {PIPELINE} turns frames into objects outside scene/: {measuring_modules()}"


def test_the_counting_checks_can_fail(tmp_path):
    """The counts are not vacuous: a long function, a flag in an error and a second measurer are found."""
    body = "\n".join(f"    x{i} = {i}" for i in range(LONG_LINES + 1))
    p = tmp_path / "bad.py"
    p.write_text(f"def f():\n{body}\n\ndef g():\n    raise ValueError('--video not found')\n\ndef h(m):\n    return extract_objects(m)\n")
    fake = {"maskdepth.bad": p}
    assert long_functions(fake) == [("maskdepth.bad:f", LONG_LINES + 2, False)]
    assert flag_errors(fake) == [f"maskdepth.bad:{LONG_LINES + 5}"]
    assert measuring_modules(fake) == {"maskdepth.bad"}


def test_tests_are_laid_out_like_the_package():
    tests = Path(__file__).resolve().parent
    flat = sorted(p.name for p in tests.glob("test_*.py"))
    assert set(flat) <= {
        "test_architecture.py",
        "test_cli.py",
        "test_packaging.py",
        "test_faults.py",
        "test_bad_inputs.py",
        "test_fuzz.py",
        "test_io.py",  # maskdepth/io.py, the package's own top-level module
    }, flat
    old = "from conftest" + " import"  # shared test code lives in tests/helpers.py
    assert not [p for p in tests.rglob("*.py") if old in p.read_text()]
