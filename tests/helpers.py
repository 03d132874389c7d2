"""What the tests share besides fixtures: paths, the RGB-D fixture geometry, tiny dataset and
training settings, small image makers and a process stopper. Tests import from here
(``from tests.helpers import REPO``); ``conftest.py`` holds the pytest fixtures only."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]

SHARED = Path(__file__).resolve().parents[2] / "shared"

RGBD_W, RGBD_H = 80, 60

RGBD_K = {"fx": 60.0, "fy": 60.0, "cx": 39.5, "cy": 29.5}

CAM_HEIGHT_M = 1.2

WALL_M = 6.0

BOX_M = 1.0


def smooth_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """uint8 (h, w, 3) smooth random colours (bicubic-upsampled coarse noise)."""
    coarse = rng.uniform(30, 225, size=(4, 5, 3)).astype(np.float32)
    img = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 4, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_cutout(rng: np.random.Generator, h: int, w: int, shape: str) -> np.ndarray:
    """uint8 (h, w, 4): an opaque ellipse or rectangle with a transparent border of >= 2 px."""
    a = np.zeros((h, w), np.uint8)
    if shape == "ellipse":
        cv2.ellipse(a, (w // 2, h // 2), (w // 2 - 3, h // 2 - 3), 0, 0, 360, 255, -1)
    else:
        a[3 : h - 3, 3 : w - 3] = 255
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = rng.integers(0, 256, size=3, dtype=np.uint8)
    rgb[h // 2 :, :, 0] = 255 - rgb[0, 0, 0]  # two-tone so flips/halves are distinguishable
    return np.dstack([rgb, a])


def floor_box_depth(shift: int = 0) -> np.ndarray:
    """float64 (H, W) metres: floor plane below the horizon, wall at WALL_M, a box at BOX_M.

    Floor: a level camera CAM_HEIGHT_M above a flat floor sees it at row v with
    ``Z = fy * CAM_HEIGHT_M / (v - cy)``; rows where that exceeds WALL_M (and all rows
    above the horizon) show the back wall. The box covers columns ``56+shift .. 71+shift``,
    rows 8 .. 40.
    """
    v = np.arange(RGBD_H, dtype=np.float64)[:, None]
    dv = v - RGBD_K["cy"]
    with np.errstate(divide="ignore"):
        floor = np.where(dv > 0, RGBD_K["fy"] * CAM_HEIGHT_M / np.maximum(dv, 1e-9), np.inf)
    z = np.minimum(floor, WALL_M) * np.ones((1, RGBD_W))
    z[8:41, 56 + shift : 72 + shift] = BOX_M
    return z


def generate_dataset(out: Path, **kw) -> dict:
    """Run :func:`maskdepth.data.generate.generate` quietly; ``workers`` and ``resume`` go to it."""
    from maskdepth.data.generate import GenerateConfig, generate

    gen_kw = {k: kw.pop(k) for k in ("workers", "resume", "shard_index", "num_shards") if k in kw}
    gen_kw.setdefault("workers", 1)
    return generate(GenerateConfig(out_dir=str(out), **kw), quiet=True, **gen_kw)


TINY_DATASET = dict(render=8, procedural_fg=6, n_samples=120, size=64, shard_size=40)

TINY_TRAIN = dict(model="tiny", pretrained=False, epochs=100, batch_size=8, lr=1e-2, workers=0, log_every=1, val_limit=8, seed=0)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for the servers the tests start themselves)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_or_skip(what: str) -> str:
    """The headless Chromium executable (`.ci/run` installs Debian's `chromium`); without one, warn and skip
    the browser test of ``what`` (so a missing browser is visible, never a silent pass)."""
    import shutil
    import warnings

    import pytest

    for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if Path(p).exists():
            return p
    exe = shutil.which("chromium")
    if exe is None:
        reason = f"Chromium is not installed (apt-get install -y chromium): browser test of {what} skipped"
        warnings.warn(reason, stacklevel=2)
        pytest.skip(reason)
    return exe


def fixed_output_onnx(path: Path, raw: np.ndarray, side: int = 64) -> str:
    """Export an ONNX model of input ``(1, 3, side, side)`` whose output is always ``raw`` (plus 0 x the input): a
    stand-in person detector (``maskdepth.inference.detector``) whose boxes the test chooses."""
    import torch

    class Fixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("raw", torch.tensor(raw, dtype=torch.float32))

        def forward(self, x):
            return self.raw + 0.0 * x.mean()

    x = torch.rand(1, 3, side, side)
    torch.onnx.export(Fixed(), x, str(path), dynamo=False, opset_version=17, input_names=["images"], output_names=["out"])
    return str(path)
