"""``maskdepth predict --video`` and :mod:`maskdepth.video` on short clips made here.

The clip: a real background photo (``../shared/data/real/bg/bg_0001.jpg`` beside the repo)
when present, else a synthetic one, with a procedural person walking across it, sensor
noise on every frame, encoded lossily with H.264.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

av = pytest.importorskip("av")

from maskdepth.cli import main  # noqa: E402
from maskdepth.errors import MaskDepthError  # noqa: E402
from tests.helpers import SHARED  # noqa: E402

REAL_BG = SHARED / "data" / "real" / "bg" / "bg_0001.jpg"
W, H, N = 112, 80, 14


def background(w: int = W, h: int = H) -> np.ndarray:
    """uint8 (h, w, 3): the real photo (centre crop to w:h, resized) or a smooth synthetic scene."""
    import cv2

    if REAL_BG.exists():
        from maskdepth.io import load_rgb

        a = load_rgb(REAL_BG)
        ah, aw = a.shape[:2]
        ch = min(ah, int(aw * h / w))
        cw = min(aw, int(ch * w / h))
        y0, x0 = (ah - ch) // 2, (aw - cw) // 2
        return cv2.resize(a[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(7)
    coarse = rng.uniform(40, 210, size=(4, 5, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def frames_with_walker(bg: np.ndarray, n: int, noise: float = 8.0, speed: float = 2.0, seed: int = 0) -> list[np.ndarray]:
    """``n`` frames: a procedural person walking right ``speed`` px a frame over ``bg``, Gaussian noise per frame."""
    from maskdepth.data.procedural import procedural_foreground

    rng = np.random.default_rng(seed)
    h, w = bg.shape[:2]
    fg = procedural_foreground(np.random.default_rng(3), "person", height_px=int(h * 0.8)).astype(np.float32)
    fh, fw = fg.shape[:2]
    out = []
    for i in range(n):
        x0, y0 = int(round(w * 0.15 + i * speed)), h - fh - 2
        f = bg.astype(np.float32)
        xa, xb = max(x0, 0), min(x0 + fw, w)
        if xb > xa:
            sub = fg[:, xa - x0 : xb - x0]
            a = sub[..., 3:] / 255.0
            f[y0 : y0 + fh, xa:xb] = a * sub[..., :3] + (1 - a) * f[y0 : y0 + fh, xa:xb]
        f += rng.normal(0, noise, f.shape)
        out.append(np.clip(f, 0, 255).round().astype(np.uint8))
    return out


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 10, crf: int = 26) -> Path:
    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=fps)
    s.height, s.width = frames[0].shape[:2]
    s.pix_fmt = "yuv420p" if s.width % 2 == 0 and s.height % 2 == 0 else "yuv444p"
    s.options = {"crf": str(crf), "preset": "ultrafast"}
    for f in frames:
        for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    return path


class DiffNet(torch.nn.Module):
    """A stand-in model with a meaningful mask: logits from max-channel |fg_bg - bg|."""

    def forward(self, bg, fg_bg):
        d = (fg_bg - bg).abs().amax(1, keepdim=True)
        return (d - 0.12) * 15.0, math.log(3.0) - d


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    d = tmp_path_factory.mktemp("clip")
    from PIL import Image

    bg = background()
    Image.fromarray(bg).save(d / "bg.png")
    return write_clip(d / "walk.mp4", frames_with_walker(bg, N)), d / "bg.png", bg


def _check_video(path: Path, n: int, w: int, h: int):
    from maskdepth.video.io import probe

    assert path.is_file() and path.stat().st_size > 0
    info = probe(path)
    assert (info.width, info.height) == (w, h)
    from maskdepth.video.io import iter_frames

    got = list(iter_frames(path))
    assert len(got) == n and got[0].shape == (h, w, 3)


def test_cli_video_outputs(tmp_path, tiny_ck, clip, capsys):
    video, _, _ = clip
    out = tmp_path / "out"
    rc = main(
        [
            "predict",
            "--video",
            str(video),
            "--bg-from",
            "median:7",
            "--out",
            str(out),
            "--checkpoint",
            str(tiny_ck),
            "--smooth",
            "0.5",
            "--frames",
            "npz",
            "--quiet",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "flicker" in printed and "raw" in printed and "smoothed" in printed
    for name in ("mask", "depth", "overlay"):
        _check_video(out / f"{name}.mp4", N, W, H)
    npz = sorted((out / "frames").glob("*.npz"))
    assert len(npz) == N
    z = np.load(npz[0])
    assert z["mask"].dtype == bool and z["mask"].shape == (H, W)
    assert z["prob"].dtype == np.float32 and z["depth"].dtype == np.float32 and (z["depth"] > 0).all()
    rec = json.loads((out / "video.json").read_text())
    assert rec["frames"] == N and rec["size"] == [W, H] and rec["background"] == {"source": "median", "frames": 7, "spec": "median:7"}
    assert rec["smoothing"]["alpha"] == 0.5 and rec["flicker"]["smoothed_alpha"] == 0.5
    assert rec["flicker"]["smoothed"] <= rec["flicker"]["raw"] + 1e-12
    assert not list(out.glob(".*tmp*"))  # temporary encoder files renamed away
    lines = [json.loads(x) for x in (out / "objects.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in lines] == list(range(N)) and all(isinstance(r["objects"], list) for r in lines)
    assert rec["depth_source"] == "learned" and rec["camera"] is None and rec["tracking"]["tracks_started"] >= 0


def test_smoothing_reduces_flicker(tmp_path, clip):
    """With a model whose mask follows the walker, EMA smoothing lowers the flicker metric."""
    from maskdepth.inference.predictor import Predictor
    from maskdepth.video.config import VideoConfig
    from maskdepth.video.convert import predict_video

    video, bg_path, _ = clip
    pred = Predictor(DiffNet(), size=64)
    rec = predict_video(pred, VideoConfig(video=video, out=tmp_path / "o", bg=bg_path, smooth=0.4, quiet=True))
    f = rec["flicker"]
    assert rec["frames"] == N
    assert 0.01 < rec["mask_fraction_mean"] < 0.5  # the mask is the walker, not everything
    assert f["raw"] > 0
    assert f["smoothed"] <= f["raw"], f
    # without --smooth the outputs are raw, and the comparison uses the default alpha
    rec2 = predict_video(pred, VideoConfig(video=video, out=tmp_path / "o2", bg=bg_path, quiet=True))
    assert rec2["smoothing"]["applied_to_outputs"] is False and rec2["flicker"]["raw"] == pytest.approx(f["raw"])
    assert rec2["flicker"]["smoothed"] <= rec2["flicker"]["raw"]


def test_bg_size_rules_and_odd_size(tmp_path, tiny_ck, clip, capsys):
    from PIL import Image

    _, _, bg = clip
    # odd-sized clip: videos padded to even sides, per-frame PNGs keep the exact size
    w, h = 75, 51
    small_bg = np.ascontiguousarray(bg[:h, :w])
    video = write_clip(tmp_path / "odd.mp4", frames_with_walker(small_bg, 5))
    # same aspect, another resolution: resized with a warning
    big = tmp_path / "bg_big.png"
    Image.fromarray(np.asarray(Image.fromarray(small_bg).resize((w * 2, h * 2)))).save(big)
    out = tmp_path / "odd_out"
    with pytest.warns(UserWarning, match="resizing bg"):
        rc = main(
            [
                "predict",
                "--video",
                str(video),
                "--bg",
                str(big),
                "--out",
                str(out),
                "--checkpoint",
                str(tiny_ck),
                "--frames",
                "png",
                "--quiet",
            ]
        )
    assert rc == 0
    rec = json.loads((out / "video.json").read_text())
    assert rec["size"] == [w, h] and rec["encoded_size"] == [w + 1, h + 1] and rec["frames"] == 5
    _check_video(out / "mask.mp4", 5, w + 1, h + 1)
    masks = sorted((out / "frames" / "mask").glob("*.png"))
    depths = sorted((out / "frames" / "depth").glob("*.png"))
    assert len(masks) == len(depths) == 5
    assert np.asarray(Image.open(masks[0])).shape == (h, w)
    d = Image.open(depths[0])
    assert d.mode.startswith("I") and d.size == (w, h)
    # another framing: refused with one line, exit 2
    wide = tmp_path / "bg_wide.png"
    Image.fromarray(np.zeros((h, w * 2, 3), np.uint8)).save(wide)
    capsys.readouterr()
    rc = main(["predict", "--video", str(video), "--bg", str(wide), "--out", str(tmp_path / "x"), "--checkpoint", str(tiny_ck), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "different framing" in err and len(err.strip().splitlines()) == 1
    # first frame as background
    rc = main(
        ["predict", "--video", str(video), "--bg-from", "first", "--out", str(tmp_path / "f"), "--checkpoint", str(tiny_ck), "--quiet"]
    )
    assert rc == 0 and json.loads((tmp_path / "f" / "video.json").read_text())["background"]["source"] == "first"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--smooth", "0"], "--smooth must be in (0, 1]"),
        (["--bg-from", "mean:3"], "--bg-from must be"),
        (["--image", "x.png"], "not both"),
    ],
)
def test_cli_video_bad_options(tmp_path, tiny_ck, clip, capsys, extra, message):
    video, _, _ = clip
    rc = main(["predict", "--video", str(video), "--out", str(tmp_path / "o"), "--checkpoint", str(tiny_ck), "--quiet", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1


def test_not_a_video(tmp_path, tiny_ck, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 50)
    rc = main(["predict", "--video", str(bad), "--bg-from", "first", "--out", str(tmp_path / "o"), "--checkpoint", str(tiny_ck)])
    err = capsys.readouterr().err
    assert rc == 2 and "not a readable video" in err
    with pytest.raises(MaskDepthError, match="not found"):
        from maskdepth.video.io import probe

        probe(tmp_path / "missing.mp4")


def test_flicker_metric():
    from maskdepth.video.temporal import flicker

    a = np.zeros((4, 4), bool)
    b = a.copy()
    b[0, :2] = True
    c = b.copy()
    c[0, 2:] = True
    assert flicker([a]) is None
    assert flicker([a, a]) == 0.0
    assert flicker([a, b]) == 1.0  # everything in the union changed
    assert flicker([b, c]) == 0.5  # 2 of the 4 union pixels changed
