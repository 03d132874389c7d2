"""Files written by rename get the mode a plain write gives (0666 less the umask), not mkstemp's 0600:
reports, watch.json, camera.json and checkpoints are read by other users and by web servers."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from maskdepth.io import atomic_write_json, temp_beside
from maskdepth.scene.depth_sources import SceneDepth, SceneDepthCache


@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back."""
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.mark.parametrize("mask,want", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_follows_the_umask(tmp_path, umask, mask, want):
    umask(mask)
    atomic_write_json(tmp_path / "watch.json", {"frames": 1})
    assert _mode(tmp_path / "watch.json") == want
    with open(tmp_path / "plain.json", "w") as f:  # what a plain write gives, for comparison
        f.write("{}")
    assert _mode(tmp_path / "plain.json") == want


def test_temp_beside_names_and_mode(tmp_path, umask):
    umask(0o022)
    fd, tmp = temp_beside(tmp_path / "model.pt")
    os.close(fd)
    assert os.path.basename(tmp).startswith("model.pt.") and tmp.endswith(".tmp")  # the clean-ups' pattern
    assert _mode(tmp) == 0o644
    fd, tmp = temp_beside(tmp_path / "t.onnx", prefix=".t.onnx.", suffix=".part")
    os.close(fd)
    assert os.path.basename(tmp).startswith(".t.onnx.") and tmp.endswith(".part")


def test_scene_depth_cache_entry_mode(tmp_path, umask):
    umask(0o022)
    bg = np.zeros((4, 5, 3), np.uint8)
    p = SceneDepthCache(tmp_path / "cache").put(bg, "measured", {}, SceneDepth(np.ones((4, 5), np.float32), "measured"))
    assert _mode(p) == 0o644
