"""Labels sit on the image's pixel grid after every resize (issue 13, fix 2).

A vertical step edge is resized as an image (``io.resize``: INTER_AREA / bilinear; the
training batch resize: antialiased bilinear) and as a label (``nearest=True``; the batch's
mask/depth mode). The image's edge is found to a sub-pixel by interpolating where it
crosses 0.5; a label's edge is half-way between its last 0 and first 1. A single label
edge is quantised (up to 0.5 px), so the test averages the signed offset over every step
position (every phase of the step against the output grid): plain nearest is biased by
(1 - out/in) / 2 px (0.47 px at 480 -> 128); nearest-exact is not.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maskdepth.io import resize
from maskdepth.train.loop import resize_batch


def edge(row: np.ndarray) -> float:
    """Sub-pixel position (pixel-centre coordinates) where a rising 0 -> 1 row crosses 0.5."""
    i = int(np.flatnonzero(np.diff((row >= 0.5).astype(np.int8)))[0])
    a, b = float(row[i]), float(row[i + 1])
    return i + (0.5 - a) / (b - a)


def steps(n: int):
    for e in range(n // 4, 3 * n // 4):
        img = np.zeros((4, n), np.float32)
        img[:, e:] = 1.0
        yield img


# every resize of a label in the pipeline: RGB-D crops to the dataset size (480 -> 128 TUM,
# 240 / 320 -> 128 smaller frames, 224 -> 128), GT to an image size, up-scaling
@pytest.mark.parametrize("n,m", [(480, 128), (240, 128), (320, 128), (224, 128), (128, 96), (96, 128), (480, 224)])
def test_io_resize_label_edge_matches_image_edge(n, m):
    off = []
    for img in steps(n):
        rgb = resize(img, (4, m))
        lab = resize((img * 255).astype(np.uint8), (4, m), nearest=True).astype(np.float32) / 255.0
        dep = resize(img * 2.5 + 0.5, (4, m), nearest=True)  # depth in metres
        assert set(np.unique(lab)) <= {0.0, 1.0} and set(np.unique(dep)) <= {0.5, 3.0}  # never blended
        off.append(edge(lab[0]) - edge(rgb[0]))
        assert edge((dep[0] - 0.5) / 2.5) == edge(lab[0])
    assert abs(np.mean(off)) <= 0.1, f"label edge {np.mean(off):+.3f} px off the image edge at {n} -> {m}"
    assert np.max(np.abs(off)) <= 0.55  # one label edge is quantised to half a pixel, never more


@pytest.mark.parametrize(
    "n,m,tol",
    [
        (224, 128, 0.1),
        (160, 128, 0.1),
        (128, 96, 0.13),  # 4:3: a third of the output pixels sit exactly between two inputs; the tie costs 1/8 px
    ],
)
def test_resize_batch_label_edge_matches_image_edge(n, m, tol):
    imgs = list(steps(n))
    x = torch.from_numpy(np.stack([np.repeat(i[:1], n, 0) for i in imgs]))[:, None]  # (B, 1, n, n)
    batch = {"bg": x.repeat(1, 3, 1, 1), "fg_bg": x.repeat(1, 3, 1, 1), "mask": x, "depth": x * 2.0 + 1.0}
    out = resize_batch(batch, m)
    off = []
    for b in range(len(imgs)):
        rgb = out["fg_bg"][b, 0, 0].numpy()
        lab = out["mask"][b, 0, 0].numpy()
        assert set(np.unique(lab)) <= {0.0, 1.0} and set(np.unique(out["depth"][b].numpy())) <= {1.0, 3.0}
        off.append(edge(lab) - edge(rgb))
    assert abs(np.mean(off)) <= tol, f"label edge {np.mean(off):+.3f} px off the image edge at {n} -> {m}"
