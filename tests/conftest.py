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

import numpy as np
import pytest
from PIL import Image

from tests.helpers import (  # noqa: F401
    BOX_M,
    CAM_HEIGHT_M,
    REPO,
    RGBD_H,
    RGBD_K,
    RGBD_W,
    SHARED,
    TINY_DATASET,
    TINY_TRAIN,
    WALL_M,
    floor_box_depth,
    generate_dataset,
    make_cutout,
    smooth_texture,
)


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


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """120 composites of 8 rendered rooms and 6 procedural silhouettes, 64 px, 5 shards."""
    out = tmp_path_factory.mktemp("tiny_ds") / "ds"
    generate_dataset(out, **TINY_DATASET)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_dataset, tmp_path_factory) -> Path:
    """``checkpoints/last.pt`` of a tiny model trained 6 steps (not to be modified by tests)."""
    from maskdepth.train.loop import TrainConfig, train

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
