"""Prediction (maskdepth.predict): output files, sizes, folder mode, bg/image size checks."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import smooth_texture
from PIL import Image

from maskdepth.errors import MaskDepthError
from maskdepth.predict import check_pair, load_predictor, network_size, predict_paths

W, H = 70, 50  # odd-sized pair, not a multiple of 32


@pytest.fixture(scope="module")
def predictor(tiny_checkpoint):
    return load_predictor(str(tiny_checkpoint))


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("pair")
    rng = np.random.default_rng(5)
    bg = smooth_texture(rng, H, W)
    img = bg.copy()
    img[15:45, 30:45] = (250, 20, 20)
    Image.fromarray(bg).save(d / "bg.png")
    Image.fromarray(img).save(d / "image.png")
    return d, bg, img


def check_outputs(out, h, w):
    m = Image.open(out / "mask.png")
    assert m.mode == "L" and m.size == (w, h)
    assert set(np.unique(np.asarray(m)).tolist()) <= {0, 255}
    d = Image.open(out / "depth.png")
    assert d.size == (w, h) and np.asarray(d).dtype == np.uint16 and d.mode.startswith("I;16")
    mm = np.asarray(d)
    assert mm.min() >= 1  # depth is positive everywhere; 0 would mean invalid
    meta = json.loads((out / "depth.json").read_text())
    assert meta["unit"] == "millimetre" and meta["to_metres"] == 0.001 and meta["dtype"] == "uint16"
    assert meta["min_m"] == pytest.approx(mm.min() / 1000, abs=1e-3) and meta["max_m"] == pytest.approx(mm.max() / 1000, abs=1e-3)
    assert 0.0 <= meta["mask_fraction"] <= 1.0
    assert meta["mask_fraction"] == pytest.approx((np.asarray(m) > 0).mean())
    for name in ("depth_color.png", "overlay.png"):
        im = Image.open(out / name)
        assert im.mode == "RGB" and im.size == (w, h)


def test_predictor_uses_checkpoint_size(predictor):
    assert predictor.size == 64 and predictor.backend == "torch"
    assert network_size(H, W, 64) == (64, 96)


def test_prediction_arrays(predictor, pair):
    _, bg, img = pair
    p = predictor.predict(bg, img)
    assert p.mask.shape == p.prob.shape == p.depth.shape == (H, W)
    assert p.mask.dtype == bool and p.prob.dtype == np.float32 and p.depth.dtype == np.float32
    assert (p.depth > 0).all() and np.isfinite(p.depth).all()
    assert ((p.prob >= 0) & (p.prob <= 1)).all()
    np.testing.assert_array_equal(p.mask, p.prob >= predictor.threshold)
    q = predictor.predict(bg, img)  # deterministic
    np.testing.assert_array_equal(p.depth, q.depth)


def test_predict_writes_all_files(predictor, pair, tmp_path):
    d, _, _ = pair
    recs = predict_paths(predictor, str(d / "bg.png"), str(d / "image.png"), str(tmp_path / "out"), quiet=True)
    assert len(recs) == 1 and recs[0]["out"] == str(tmp_path / "out")
    check_outputs(tmp_path / "out", H, W)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["depth.json", "depth.png", "depth_color.png", "mask.png", "overlay.png"]


def test_predict_folder_mode(predictor, pair, tmp_path):
    d, bg, img = pair
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.fromarray(img).save(frames / "a.png")
    Image.fromarray(img[:, ::-1].copy()).save(frames / "b.jpg")
    (frames / "notes.txt").write_text("not an image")
    recs = predict_paths(predictor, str(d / "bg.png"), str(frames), str(tmp_path / "out"), quiet=True)
    assert [r["image"] for r in recs] == [str(frames / "a.png"), str(frames / "b.jpg")]
    for stem in ("a", "b"):
        check_outputs(tmp_path / "out" / stem, H, W)
    # two folders paired by file name
    bgs = tmp_path / "bgs"
    bgs.mkdir()
    Image.fromarray(bg).save(bgs / "a.png")
    recs = predict_paths(predictor, str(bgs), str(frames), str(tmp_path / "out2"), quiet=True)
    assert [r["image"] for r in recs] == [str(frames / "a.png")]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MaskDepthError, match="no images"):
        predict_paths(predictor, str(d / "bg.png"), str(empty), str(tmp_path / "out3"), quiet=True)


def test_bg_of_other_size_same_aspect_warns(predictor, pair, tmp_path):
    _, bg, img = pair
    big = np.asarray(Image.fromarray(bg).resize((2 * W, 2 * H)))
    with pytest.warns(UserWarning, match="resizing bg"):
        p = predictor.predict(big, img)
    assert p.mask.shape == (H, W)
    Image.fromarray(big).save(tmp_path / "bg_big.png")
    Image.fromarray(img).save(tmp_path / "img.png")
    with pytest.warns(UserWarning):
        predict_paths(predictor, str(tmp_path / "bg_big.png"), str(tmp_path / "img.png"), str(tmp_path / "out"), quiet=True)
    check_outputs(tmp_path / "out", H, W)


def test_bg_of_other_aspect_is_refused(predictor, pair, tmp_path):
    _, bg, img = pair
    wide = np.zeros((H, 2 * W, 3), np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MaskDepthError, match="different framing"):
            predictor.predict(wide, img)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    Image.fromarray(img).save(tmp_path / "img.png")
    with pytest.raises(MaskDepthError, match="different framing"):
        predict_paths(predictor, str(tmp_path / "wide.png"), str(tmp_path / "img.png"), str(tmp_path / "out"), quiet=True)
    assert not (tmp_path / "out").exists()


def test_check_pair_rejects_bad_arrays():
    ok = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(MaskDepthError, match="too small"):
        check_pair(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(MaskDepthError, match="uint8"):
        check_pair(ok.astype(np.float32), ok)
    with pytest.raises(MaskDepthError, match="uint8"):
        check_pair(ok, ok[..., 0])
    assert check_pair(ok, ok) is ok
