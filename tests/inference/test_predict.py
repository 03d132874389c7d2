"""Prediction (maskdepth.inference.predictor): output files, sizes, folder mode, bg/image size checks, objects,
the scene passed through a FixedCamera (learned bg depth computed once), the 0-preserving depth codec."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from PIL import Image

from maskdepth.data.format import depth_to_mm_u16
from maskdepth.errors import MaskDepthError
from maskdepth.inference.config import SceneConfig
from maskdepth.inference.files import pair_paths
from maskdepth.inference.files import predict_paths as _predict_pairs
from maskdepth.inference.pipeline import run_frame
from maskdepth.inference.predictor import check_pair, load_predictor, network_size
from maskdepth.scene.fixed_camera import FixedCamera
from tests.helpers import smooth_texture


def predict_paths(predictor, bg, image, out, quiet=True, **scene):
    """Pairs of files or folders through the pipeline (what `maskdepth predict` does)."""
    return _predict_pairs(predictor, pair_paths(bg, image, out), SceneConfig(**scene), quiet=quiet)


FILES = ["depth.json", "depth.png", "depth_color.png", "mask.png", "objects.json", "overlay.png"]

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
    assert mm.min() >= 1  # the learned scene depth is positive everywhere; 0 would mean unknown
    meta = json.loads((out / "depth.json").read_text())
    assert meta["unit"] == "millimetre" and meta["to_metres"] == 0.001 and meta["dtype"] == "uint16"
    assert meta["min_m"] == pytest.approx(mm.min() / 1000, abs=1e-3) and meta["max_m"] == pytest.approx(mm.max() / 1000, abs=1e-3)
    assert meta["depth_source"] == "learned" and meta["scene"]["source"] == "learned" and meta["camera"] is None
    assert meta["known_fraction"] == 1.0
    objs = json.loads((out / "objects.json").read_text())
    assert objs["image_size"] == [w, h] and isinstance(objs["objects"], list)
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
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == FILES
    assert recs[0]["depth_source"] == "learned" and recs[0]["objects"] == len(
        json.loads((tmp_path / "out" / "objects.json").read_text())["objects"]
    )


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


def test_depth_to_mm_keeps_unknown_at_zero():
    d = np.array([[0.0, -1.0, np.nan, np.inf], [0.0004, 0.0006, 1.2344, 70.0]], np.float32)
    mm = depth_to_mm_u16(d)
    assert mm.dtype == np.uint16
    np.testing.assert_array_equal(mm, [[0, 0, 0, 0], [1, 1, 1234, 65535]])  # known depths never read as 0


class CountingPredictor:
    """Wraps a Predictor, counting network runs."""

    def __init__(self, p):
        self.p, self.runs = p, 0
        orig = p._infer

        def counted(*a):
            self.runs += 1
            return orig(*a)

        p._infer = counted


def test_prediction_objects_and_raw_depth(predictor, pair):
    _, bg, img = pair
    p = run_frame(predictor, img, bg=bg)  # no scene: the network's own depth, objects measured on it when first read
    assert p._objects is None and p.network._depth is None  # nothing measured or upsampled yet
    assert p.depth_source == "learned" and p.scene_depth is None and (p.depth > 0).all()
    assert p.depth_json() == {"depth_source": "learned", "scene": None, "camera": None}
    labels = sum(o.area_px for o in p.objects)
    assert labels <= int(p.mask.sum()) and all(o.depth_source == "learned" for o in p.objects)
    assert p.objects_json()["image_size"] == [W, H]


def test_scene_learned_bg_depth_computed_once(tiny_checkpoint, pair):
    _, bg, img = pair
    pr = load_predictor(str(tiny_checkpoint))
    c = CountingPredictor(pr)
    fc = FixedCamera(bg)
    a = run_frame(pr, img, bg=bg, scene=fc)
    assert c.runs == 2  # the pair, and (bg, bg) once for the scene
    b = run_frame(pr, img[:, ::-1].copy(), bg=bg, scene=fc)
    assert c.runs == 3  # the scene's estimate is kept on the FixedCamera
    assert a.depth_source == b.depth_source == "learned" and a.scene_depth is not None
    np.testing.assert_array_equal(a.scene_depth.depth, pr.predict(bg, bg).depth)
    # away from the foreground the frame's depth is the empty scene's
    free = ~a.mask
    np.testing.assert_allclose(a.depth[free], a.scene_depth.depth[free])
    with pytest.raises(MaskDepthError, match="fixed camera's bg"):
        run_frame(pr, img[:, :-2].copy(), bg=bg[:, :-2].copy(), scene=fc)


def test_folder_builds_one_fixed_camera(tiny_checkpoint, pair, tmp_path):
    d, _, img = pair
    pr = load_predictor(str(tiny_checkpoint))
    c = CountingPredictor(pr)
    frames = tmp_path / "frames"
    frames.mkdir()
    for k in range(3):
        Image.fromarray(np.roll(img, 5 * k, axis=1)).save(frames / f"f{k}.png")
    recs = predict_paths(pr, str(d / "bg.png"), str(frames), str(tmp_path / "out"), quiet=True)
    assert len(recs) == 3 and c.runs == 3 + 1  # one network run per image, one for the bg's scene depth
    for k in range(3):
        assert sorted(p.name for p in (tmp_path / "out" / f"f{k}").iterdir()) == FILES


class _DiffNet:
    """A stand-in network (torch module built lazily): logits = 40 (max-channel |fg_bg - bg| - 0.25), log-depth 0;
    it keeps its last inputs so a test can look at what the network saw."""

    @staticmethod
    def make():
        import torch

        class Net(torch.nn.Module):
            def forward(self, bg, fg_bg):
                self.seen = (bg.detach().clone(), fg_bg.detach().clone())
                d = (fg_bg - bg).abs().amax(1, keepdim=True)
                return 40.0 * (d - 0.25), torch.zeros_like(d)

        return Net()


def _box_pair(H=240, W=320, box=(57, 190, 101, 231)):
    rng = np.random.default_rng(3)
    bg = smooth_texture(rng, H, W)
    img = bg.copy()
    y0, y1, x0, x1 = box
    img[y0:y1, x0:x1] = np.where(bg[y0:y1, x0:x1] > 127, bg[y0:y1, x0:x1] - 120, bg[y0:y1, x0:x1] + 120)
    return bg, img


def test_network_keeps_the_aspect_ratio_and_the_mask_lands_in_place():
    """Issue 13, fix 4: 4:3 in, 4:3 through the network (padded to multiples of 32, not squashed),
    and a mask edge comes back within 1 px of where it is in the input."""
    from maskdepth.inference.predictor import Predictor, content_size

    assert network_size(240, 320, 128) == (128, 192) and content_size(240, 320, 128) == (128, 171)
    net = _DiffNet.make()
    pr = Predictor(net, size=128)
    box = (57, 190, 101, 231)  # 133 x 130 px
    bg, img = _box_pair(box=box)
    pred = pr.predict(bg, img)
    x_bg, x_fg = (t[0].numpy() for t in net.seen)
    assert x_bg.shape[1:] == (128, 192)
    # the box as the network saw it: its extent from the area under the difference profile (sub-pixel)
    d = np.abs(x_fg - x_bg).max(0)
    dn = d / np.median(d[d > 0.3])
    inside = dn > 0.5
    rows, cols = np.flatnonzero(inside.any(1)), np.flatnonzero(inside.any(0))
    mid_r, mid_c = (rows[0] + rows[-1]) // 2, (cols[0] + cols[-1]) // 2
    w_net = np.clip(dn[mid_r, : cols[-1] + 3], 0, 1).sum()
    h_net = np.clip(dn[: rows[-1] + 3, mid_c], 0, 1).sum()
    aspect_in = (box[3] - box[2]) / (box[1] - box[0])
    assert abs((w_net / h_net) / aspect_in - 1) < 0.01, (w_net, h_net)  # squashed to 160x128 it was 6 % off
    # the padding (columns 171-191) reflects the content (columns 0-170) about its last column
    np.testing.assert_array_equal(x_bg[:, :, 171:174], x_bg[:, :, 169:166:-1])
    # the round trip puts the mask edges back within 1 px
    m = pred.mask
    assert m.shape == (240, 320)
    r, c = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    for got, want in ((r[0], box[0]), (r[-1] + 1, box[1]), (c[0], box[2]), (c[-1] + 1, box[3])):
        assert abs(int(got) - want) <= 1, (got, want)


def test_onnx_backend_pads_like_torch(tmp_path):
    """The ONNX Runtime backend takes the same padded input (dynamic H, W) and gives the torch backend's mask."""
    import torch

    from maskdepth.inference.predictor import Predictor

    net = _DiffNet.make()
    path = tmp_path / "diff.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96)),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["bg", "fg_bg"],
            output_names=["logits", "log_depth"],
            dynamic_axes={k: {0: "b", 2: "h", 3: "w"} for k in ("bg", "fg_bg", "logits", "log_depth")},
        )
    bg, img = _box_pair()
    a = Predictor(str(path), size=128).predict(bg, img)
    b = Predictor(net, size=128).predict(bg, img)
    np.testing.assert_allclose(a.prob, b.prob, atol=1e-4)
    np.testing.assert_array_equal(a.mask, b.mask)
