"""Shared fixtures: tiny inputs made in temporary folders, once per test session.

* ``bg_dir``: 6 RGB JPEG photos (80x60) of smooth random textures, ``bg_00.jpg`` ...;
* ``fg_dir``: 6 RGBA PNG cutouts (opaque ellipses / rectangles, transparent border), ``fg_00.png`` ...;
* ``rgbd_dir``: a folder laid out like ``../shared/data/rgbd/tum_rgbd`` with two scenes
  (``room_a``: 3 frames, ``room_b``: 2 frames, so ``room_b`` is the test scene) whose depth is
  an analytic floor plane (camera ``CAM_HEIGHT_M`` above it, level, horizon at ``cy``) with a
  far back wall and a nearer box (for occlusion);
* ``tiny_dataset``: ``generate --render 8 --procedural-fg 6 -n 120 --size 64 --shard-size 40``;
* ``tiny_checkpoint``: a ``tiny`` model trained a few steps on ``tiny_dataset``.

Everything is small so the whole suite runs in well under a few minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"

# RGB-D fixture geometry (pixels of the 80x60 frames, metres)
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


@pytest.fixture(scope="session")
def bg_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bg")
    rng = np.random.default_rng(100)
    for i in range(6):
        Image.fromarray(smooth_texture(rng, 60, 80)).save(d / f"bg_{i:02d}.jpg", quality=92)
    return d


@pytest.fixture(scope="session")
def fg_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fg")
    rng = np.random.default_rng(200)
    sizes = [(50, 24), (40, 30), (56, 20), (30, 30), (44, 26), (36, 18)]
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(make_cutout(rng, h, w, "ellipse" if i % 2 == 0 else "rect"), "RGBA").save(d / f"fg_{i:02d}.png")
    return d


@pytest.fixture(scope="session")
def rgbd_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("rgbd")
    (d / "rgb").mkdir()
    (d / "depth").mkdir()
    rng = np.random.default_rng(300)
    frames = []
    k = 0
    for scene, n in (("room_a", 3), ("room_b", 2)):
        for j in range(n):
            fid = f"{k:05d}"
            z = floor_box_depth(shift=j)
            mm = np.rint(z * 1000).astype(np.uint16)
            mm[0:3, 0:3] = 0  # a few invalid pixels, as in real sensors
            rgb = smooth_texture(rng, RGBD_H, RGBD_W)
            rgb[z == BOX_M] = (200, 40, 40)
            Image.fromarray(rgb).save(d / "rgb" / f"{fid}.png")
            Image.fromarray(mm).save(d / "depth" / f"{fid}.png")
            frames.append({"id": fid, "scene": scene})
            k += 1
    meta = {"scenes": {s: {"intrinsics": dict(RGBD_K)} for s in ("room_a", "room_b")}, "frames": frames}
    (d / "meta.json").write_text(json.dumps(meta))
    return d


def generate_dataset(out: Path, **kw) -> dict:
    """Run :func:`maskdepth.data.generate.generate` quietly; ``workers`` and ``resume`` go to it."""
    from maskdepth.data.generate import GenerateConfig, generate

    gen_kw = {k: kw.pop(k) for k in ("workers", "resume", "shard_index", "num_shards") if k in kw}
    gen_kw.setdefault("workers", 1)
    return generate(GenerateConfig(out_dir=str(out), **kw), quiet=True, **gen_kw)


TINY_DATASET = dict(render=8, procedural_fg=6, n_samples=120, size=64, shard_size=40)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """120 composites of 8 rendered rooms and 6 procedural silhouettes, 64 px, 5 shards."""
    out = tmp_path_factory.mktemp("tiny_ds") / "ds"
    generate_dataset(out, **TINY_DATASET)
    return out


TINY_TRAIN = dict(model="tiny", pretrained=False, epochs=100, batch_size=8, lr=1e-2, workers=0, log_every=1, val_limit=8, seed=0)


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_dataset, tmp_path_factory) -> Path:
    """``checkpoints/last.pt`` of a tiny model trained 6 steps (not to be modified by tests)."""
    from maskdepth.train import TrainConfig, train

    run = tmp_path_factory.mktemp("tiny_run") / "run"
    s = train(TrainConfig(data=str(tiny_dataset), run_dir=str(run), max_steps=6, **TINY_TRAIN), quiet=True)
    return Path(s["checkpoint"])


@pytest.fixture(scope="session")
def tiny_ck(tmp_path_factory) -> Path:
    """An untrained ``tiny`` model checkpoint (seed 0, training size 64)."""
    import torch

    from maskdepth.checkpoint import save_checkpoint
    from maskdepth.model import create_model

    torch.manual_seed(0)
    p = tmp_path_factory.mktemp("ck") / "tiny.pt"
    save_checkpoint(p, create_model("tiny", pretrained=False), meta={"size": 64})
    return p


def stop_process(proc) -> None:
    """Stop a server subprocess started by a test: SIGTERM, then SIGKILL after 10 s."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
