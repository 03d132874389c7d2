"""Packaging: prediction without PyTorch, the extras' one-line errors, the shipped ONNX model.

* ``maskdepth predict`` runs in a subprocess where the packages of every extra (torch,
  matplotlib, fastapi, av, ...) are made unimportable by a ``sitecustomize`` meta-path blocker,
  i.e. with what ``pip install maskdepth`` (no extras) brings;
* a command whose extra is missing says which one, in one line;
* the shipped ``default.onnx`` is the export of ``default.pt`` (its sidecar) and predicts the
  same as it on a real pair, within the sidecar's parity tolerance;
* (slow) ``pip install .`` into a fresh virtual environment installs no torch, and
  ``maskdepth predict`` works there with the shipped model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskdepth.errors import MaskDepthError
from maskdepth.extras import EXTRA_MODULES, extra_of, missing_extra_error, require
from maskdepth.inference.runtime import DEFAULT_CHECKPOINT, DEFAULT_ONNX, read_sidecar, sidecar_path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_PAIR = SHARED / "data" / "realtest" / "pairs" / "wallflower_wavingtrees"
OUTPUTS = ["depth.json", "depth.png", "depth_color.png", "mask.png", "objects.json", "overlay.png"]
ALL_EXTRAS = tuple(m for mods in EXTRA_MODULES.values() for m in mods)

BLOCKER = '''\
import sys


class _Block:
    """Make the packages named in MASKDEPTH_TEST_BLOCK unimportable, as if not installed."""

    blocked = tuple(n for n in {blocked!r}.split(",") if n)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _Block())
'''


def _real_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A real (bg, image) pair from ../shared when present, else a smooth scene with a blob (PNG files)."""
    if REAL_PAIR.is_dir():
        return REAL_PAIR / "bg.png", sorted((REAL_PAIR / "frames").iterdir())[0]
    h, w = 90, 120
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = (np.stack([xx / w, yy / h, 0.5 + 0.3 * np.sin(xx / 9.0)], -1) * 200 + 20).astype(np.uint8)
    img = bg.copy()
    img[(yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (h / 4) ** 2] = (230, 60, 40)
    Image.fromarray(bg).save(tmp_path / "bg.png")
    Image.fromarray(img).save(tmp_path / "image.png")
    return tmp_path / "bg.png", tmp_path / "image.png"


def _cli(tmp_path: Path, blocked: tuple[str, ...], *args) -> subprocess.CompletedProcess:
    """``python -m maskdepth.cli ARGS`` with ``blocked`` packages unimportable (a sitecustomize on PYTHONPATH)."""
    d = tmp_path / "blocker"
    d.mkdir(exist_ok=True)
    (d / "sitecustomize.py").write_text(BLOCKER.format(blocked=",".join(blocked)))
    env = {k: v for k, v in os.environ.items() if k not in ("MASKDEPTH_DEBUG", "PYTHONPATH")}
    env.update(PYTHONPATH=os.pathsep.join([str(d), str(REPO)]), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "maskdepth.cli", *map(str, args)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env
    )


@pytest.mark.skipif(not DEFAULT_ONNX.exists(), reason="no shipped default.onnx in this install")
def test_predict_without_torch_or_any_extra(tmp_path):
    bg, img = _real_pair(tmp_path)
    p = _cli(tmp_path, ALL_EXTRAS, "predict", "--bg", bg, "--image", img, "--out", tmp_path / "out", "--json")
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == OUTPUTS
    rec = json.loads(p.stdout.strip().splitlines()[-1])
    assert 0.0 < rec["mask_fraction"] < 1.0
    depth = np.asarray(Image.open(tmp_path / "out" / "depth.png"))
    assert depth.dtype == np.uint16 and depth.min() >= 1
    probe = subprocess.run(
        [sys.executable, "-c", "import torch"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "blocker")},
    )
    assert probe.returncode != 0 and "No module named 'torch'" in probe.stderr


@pytest.mark.parametrize(
    "blocked, args, extra",
    [
        (("torch",), ["predict", "--backend", "torch"], "train"),
        (("av",), ["predict", "--video", "clip.mp4", "--bg-from", "first"], "video"),
        (("fastapi",), ["serve", "--port", "8765"], "serve"),
    ],
)
def test_missing_extra_is_one_line(tmp_path, blocked, args, extra):
    bg, img = _real_pair(tmp_path)
    if args[0] == "predict" and "--video" not in args:
        args = args + ["--bg", str(bg), "--image", str(img), "--out", str(tmp_path / "o")]
    if "--video" in args:
        shutil.copy(REPO / "tests" / "fixtures" / "bad" / "clip_64x48.mp4", tmp_path / "clip.mp4")
        args = args + ["--out", str(tmp_path / "o")]
    p = _cli(tmp_path, blocked, *args)
    err = p.stderr.strip()
    assert p.returncode == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("maskdepth: error:"), err
    assert f"[{extra}] extra" in err and f"pip install 'maskdepth[{extra}]'" in err and f"{blocked[0]} is not installed" in err
    assert not (tmp_path / "o" / "mask.png").exists()


def test_train_without_torch_names_the_extra(tmp_path):
    """Needs ``maskdepth.cli.main`` to turn an ImportError of an extra's package into :func:`missing_extra_error`."""
    p = _cli(tmp_path, ("torch",), "train", "--data", tmp_path / "ds", "--run-dir", tmp_path / "run")
    err = p.stderr.strip()
    assert p.returncode == 2 and len(err.splitlines()) == 1, err
    assert "maskdepth train needs the [train] extra: pip install 'maskdepth[train]' (torch is not installed)" in err


def test_extras_helpers():
    assert extra_of("torch.nn") == "train" and extra_of("av") == "video" and extra_of("fastapi") == "serve" and extra_of("numpy") is None
    e = missing_extra_error("train", ModuleNotFoundError("No module named 'no_such_pkg_xyz'", name="no_such_pkg_xyz"))
    assert e is None  # not a package of an extra: left to the caller
    assert missing_extra_error("train", ModuleNotFoundError("x", name="numpy")) is None
    require("train", "x", ("numpy",))  # installed: no error
    with pytest.raises(
        MaskDepthError,
        match=r"^maskdepth video needs the \[video\] extra: pip install 'maskdepth\[video\]' "
        r"\(no_such_pkg_xyz is not installed\)$",
    ):
        require("video", "maskdepth video", ("no_such_pkg_xyz",))


@pytest.mark.skipif(not DEFAULT_ONNX.exists(), reason="no shipped default.onnx in this install")
def test_shipped_onnx_is_the_export_of_default_pt(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    from maskdepth.checkpoint import read_checkpoint
    from maskdepth.inference.predictor import load_predictor
    from maskdepth.io import load_rgb

    side = read_sidecar(DEFAULT_ONNX)
    assert side is not None and sidecar_path(DEFAULT_ONNX).name == "default.onnx.json"
    assert side["sha256"] == hashlib.sha256(DEFAULT_ONNX.read_bytes()).hexdigest()
    assert Path(side["source"]).name == "default.pt"
    meta = read_checkpoint(DEFAULT_CHECKPOINT)["meta"]
    assert side["checkpoint_meta"]["steps"] == meta["steps"] and side["checkpoint_meta"]["source"] == meta["source"]
    tol = side["parity"]["tolerance"]
    assert max(side["parity"]["max_abs_diff"].values()) <= tol

    ox = load_predictor(None)  # ONNX Runtime is the default backend when installed
    pt = load_predictor(None, backend="torch")
    assert (ox.backend, pt.backend) == ("onnx", "torch") and ox.size == pt.size == side["size"]
    bg, img = (load_rgb(p) for p in _real_pair(tmp_path))
    a, b = pt.predict(bg, img), ox.predict(bg, img)
    assert 0.01 < a.mask.mean() < 0.99  # a non-trivial mask is compared
    # logits and log-depth differ by at most tol at the network's output; bilinear resizing keeps
    # that bound, the sigmoid divides it by 4 at most
    assert np.abs(a.prob - b.prob).max() <= tol / 4 + 1e-6
    assert np.abs(np.log(a.depth) - np.log(b.depth)).max() <= tol + 1e-6
    differ = a.mask != b.mask
    assert np.all(np.abs(a.prob[differ] - 0.5) <= tol / 4 + 1e-6)


def _copy_source(dst: Path) -> Path:
    """The files ``pip install`` needs (not the working tree itself: pip would write build/ into it)."""
    dst.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dst / name)
    shutil.copytree(REPO / "maskdepth", dst / "maskdepth", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dst


@pytest.mark.slow
@pytest.mark.skipif(not DEFAULT_ONNX.exists(), reason="no shipped default.onnx in this install")
def test_fresh_venv_install_has_no_torch_and_predicts(tmp_path):
    """``pip install .`` (no extras) in a new virtual environment: no torch, ``maskdepth predict`` works (about 20 s to 2 min)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MASKDEPTH_DEBUG")}
    env["OMP_NUM_THREADS"] = "1"
    probe = subprocess.run(
        [str(py), "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "probe"), "tqdm"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    if probe.returncode != 0:
        pytest.skip("pip cannot reach a package index: " + (probe.stderr.strip().splitlines() or ["?"])[-1][:200])
    src = _copy_source(tmp_path / "src")
    inst = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "-c", str(REPO / "requirements" / "constraints.txt"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert inst.returncode == 0, inst.stderr[-3000:]
    no_torch = subprocess.run([str(py), "-c", "import torch"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    for mod in ("matplotlib", "fastapi", "av", "tensorboard", "onnx"):
        r = subprocess.run([str(py), "-c", f"import {mod}"], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert r.returncode != 0, f"{mod} was installed without its extra"
    bg, img = _real_pair(tmp_path)
    exe = venv / "bin" / "maskdepth"
    p = subprocess.run(
        [str(exe), "predict", "--bg", str(bg), "--image", str(img), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == OUTPUTS
    assert 0 < np.asarray(Image.open(tmp_path / "out" / "mask.png")).mean() < 255
    p = subprocess.run(
        [str(exe), "predict", "--backend", "torch", "--bg", str(bg), "--image", str(img), "--out", str(tmp_path / "o2")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert p.returncode == 2 and "[train] extra" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_constraints_pin_every_installed_requirement():
    """constraints.txt pins (``==``) every distribution pyproject.toml asks for, and make uses it for every install."""
    pinned = {}
    for line in (REPO / "requirements" / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pinned[name.lower().replace("_", "-")] = version
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    for req in reqs:
        name = re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower().replace("_", "-")
        if name != "maskdepth":
            assert name in pinned, f"{name} (pyproject.toml) is not in constraints.txt: run make lock"
    make = (REPO / "Makefile").read_text()
    installs = [
        l for l in make.splitlines() if "pip install" in l and not l.startswith("#") and "venv-lock" not in l and "--upgrade pip" not in l
    ]
    assert installs and all("-c requirements/constraints.txt" in l for l in installs), installs
