"""The `maskdepth predict` contract for a fixed camera (issue 12): the files written, `--bg-depth` in each
format giving depth.png equal to the measured depth away from the foreground (unknown stays 0),
`--camera`, folders, and bad inputs (one line, exit 2, nothing written). Shipped model (ONNX Runtime)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from maskdepth.cli import main
from maskdepth.data.procedural import procedural_foreground
from maskdepth.scene import camera_from_pitch
from tests.helpers import smooth_texture

W, H = 120, 90
FILES = ["depth.json", "depth.png", "depth_color.png", "mask.png", "objects.json", "overlay.png"]
OBJECT_KEYS = {"id", "bbox", "area_px", "contact_px", "distance_m", "height_m", "depth_source"}
CAM = camera_from_pitch(110.0, (W, H), 20.0, 2.6)


def truth_depth() -> np.ndarray:
    """float32 (H, W) metres: the camera's floor, a wall at 9 m above it, a 6x8 block of unknown pixels."""
    z = CAM.floor_depth_map()
    z = np.where((z > 0) & (z < 9.0), z, 9.0).astype(np.float32)
    z[2:8, 100:108] = 0
    return z


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("fixed_cam")
    rng = np.random.default_rng(12)
    bg = smooth_texture(rng, H, W)
    img = bg.copy()
    fg = procedural_foreground(rng, "person", 40)
    h, w = fg.shape[:2]
    y1, x0 = 80, 50
    a = fg[..., 3:4].astype(np.float32) / 255
    img[y1 - h : y1, x0 : x0 + w] = (a * fg[..., :3] + (1 - a) * img[y1 - h : y1, x0 : x0 + w]).round().astype(np.uint8)
    Image.fromarray(bg).save(d / "bg.png")
    Image.fromarray(img).save(d / "img.png")
    z = truth_depth()
    Image.fromarray(np.rint(np.repeat(np.repeat(z, 2, 0), 2, 1) * 1000).astype(np.uint16)).save(d / "depth_mm.png")  # 2x: resized
    zt = z.copy()
    zt[z == 0] = np.nan  # unknown as NaN in float formats
    cv2.imwrite(str(d / "depth_m.tiff"), zt)
    np.save(d / "depth_m.npy", zt)
    (d / "camera.json").write_text(json.dumps(CAM.to_json()))
    return d


def run(args, capsys):
    rc = main(["predict", *args])
    return rc, capsys.readouterr()


def free_of_foreground(mask: np.ndarray) -> np.ndarray:
    """Pixels at least 3 px from the predicted foreground."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)) == 0


@pytest.mark.parametrize("name", ["depth_mm.png", "depth_m.tiff", "depth_m.npy"])
def test_bg_depth_formats_end_to_end(scene, tmp_path, capsys, name):
    out = tmp_path / "out"
    rc, cap = run(
        ["--bg", str(scene / "bg.png"), "--image", str(scene / "img.png"), "--out", str(out), "--bg-depth", str(scene / name)], capsys
    )
    assert rc == 0, cap.err
    assert sorted(p.name for p in out.iterdir()) == FILES
    mm = np.asarray(Image.open(out / "depth.png"))
    mask = np.asarray(Image.open(out / "mask.png")) > 0
    assert mm.dtype == np.uint16 and mm.shape == (H, W)
    z = truth_depth()
    free = free_of_foreground(mask)
    assert free.mean() > 0.5
    np.testing.assert_array_equal(mm[free], np.rint(z * 1000).astype(np.uint16)[free])  # the measured depth, to the mm
    assert (mm[2:8, 100:108][free[2:8, 100:108]] == 0).all()  # unknown stays unknown
    color = np.asarray(Image.open(out / "depth_color.png"))
    assert (color[2:8, 100:108][free[2:8, 100:108]] == 0).all()  # drawn black
    meta = json.loads((out / "depth.json").read_text())
    assert meta["depth_source"] == "measured" and meta["unit"] == "millimetre" and meta["invalid_value"] == 0
    assert meta["scene"]["source"] == "measured" and meta["camera"] is None
    assert meta["scene"]["params"]["file"] == name
    assert meta["known_fraction"] == pytest.approx((mm > 0).mean())
    objs = json.loads((out / "objects.json").read_text())
    assert set(objs) == {"image_size", "objects"} and objs["image_size"] == [W, H]
    assert objs["objects"], "the shipped model finds the pasted person"
    for o in objs["objects"]:
        assert OBJECT_KEYS <= set(o) and len(o["bbox"]) == 4 and o["area_px"] > 0
        if o["contact_px"] is not None:
            x, y = (int(round(v)) for v in o["contact_px"])
            win = z[max(0, y - 1) : y + 3, max(0, x - 2) : x + 3]  # rows about the contact pixel's bottom edge y + 0.5
            assert o["depth_source"] == "measured"
            assert o["distance_m"] == pytest.approx(float(np.median(win[win > 0])), abs=2e-3)  # the scene's depth under the feet
    overlay = np.asarray(Image.open(out / "overlay.png"))
    assert overlay.shape == (H, W, 3)


def test_camera_ground_plane(scene, tmp_path, capsys):
    out = tmp_path / "out"
    rc, cap = run(
        ["--bg", str(scene / "bg.png"), "--image", str(scene / "img.png"), "--out", str(out), "--camera", str(scene / "camera.json")],
        capsys,
    )
    assert rc == 0, cap.err
    meta = json.loads((out / "depth.json").read_text())
    assert meta["depth_source"] == "ground_plane" and meta["camera"] == CAM.to_json()
    objs = json.loads((out / "objects.json").read_text())["objects"]
    assert objs and all(o["depth_source"] == "ground_plane" for o in objs)
    assert "ground_plane" in cap.out


def test_folder_with_one_bg(scene, tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    img = np.asarray(Image.open(scene / "img.png"))
    Image.fromarray(img).save(frames / "a.png")
    Image.fromarray(np.roll(img, -20, axis=1)).save(frames / "b.png")
    out = tmp_path / "out"
    rc, cap = run(
        ["--bg", str(scene / "bg.png"), "--image", str(frames), "--out", str(out), "--bg-depth", str(scene / "depth_m.npy")], capsys
    )
    assert rc == 0, cap.err
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]
    for stem in "ab":
        assert sorted(p.name for p in (out / stem).iterdir()) == FILES
        assert json.loads((out / stem / "depth.json").read_text())["depth_source"] == "measured"


def _bad_files(d):
    Image.fromarray(np.full((90, 100), 3000, np.uint16)).save(d / "aspect.png")
    Image.fromarray(np.zeros((H, W), np.uint16)).save(d / "zero.png")
    (d / "garbage.png").write_bytes(b"not a png at all")
    np.save(d / "nan.npy", np.full((H, W), np.nan, np.float32))
    (d / "below.json").write_text(json.dumps({**CAM.to_json(), "horizon_y": H + 5}))
    cam = CAM.to_json()
    del cam["camera_height_m"]
    (d / "missing.json").write_text(json.dumps(cam))
    (d / "notjson.json").write_text("{focal_px: 1")


BAD = [
    (["--bg-depth", "aspect.png"], "aspect"),
    (["--bg-depth", "zero.png"], "no known pixel"),
    (["--bg-depth", "nan.npy"], "no known pixel"),
    (["--bg-depth", "garbage.png"], "unreadable"),
    (["--bg-depth", "nope.png"], "not found"),
    (["--camera", "below.json"], "horizon"),
    (["--camera", "missing.json"], "camera_height_m"),
    (["--camera", "notjson.json"], "unreadable"),
    (["--person-detector", "nope.onnx"], "person detector not found"),
    (["--person-detector", "notjson.json"], "cannot load the model"),
]


@pytest.mark.parametrize("extra,match", BAD, ids=[b[1] + ":" + b[0][1] for b in BAD])
def test_bad_inputs_one_line_and_nothing_written(scene, tmp_path, capsys, extra, match):
    _bad_files(tmp_path)
    out = tmp_path / "out"
    args = ["--bg", str(scene / "bg.png"), "--image", str(scene / "img.png"), "--out", str(out), extra[0], str(tmp_path / extra[1])]
    rc, cap = run(args, capsys)
    assert rc == 2
    err = cap.err.strip()
    assert err.startswith("maskdepth: error:") and "\n" not in err and match in err
    assert not out.exists()


def test_bg_depth_with_a_folder_of_backgrounds(scene, tmp_path, capsys):
    bgs = tmp_path / "bgs"
    bgs.mkdir()
    Image.open(scene / "bg.png").save(bgs / "img.png")
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.open(scene / "img.png").save(frames / "img.png")
    out = tmp_path / "out"
    for flag, f in (("--bg-depth", "depth_m.npy"), ("--camera", "camera.json")):
        rc, cap = run(["--bg", str(bgs), "--image", str(frames), "--out", str(out), flag, str(scene / f)], capsys)
        assert rc == 2 and "one fixed camera" in cap.err and "\n" not in cap.err.strip()
        assert not out.exists()


@pytest.fixture(scope="module")
def teacher_onnx(tmp_path_factory):
    """A tiny ONNX 'teacher': positive disparity growing toward the bottom rows (nearer floor), (1, 3, 64, 64) -> (1, 1, 64, 64)."""
    torch = pytest.importorskip("torch")
    import warnings

    class Teacher(torch.nn.Module):
        def forward(self, x):
            rows = torch.linspace(0.1, 1.0, x.shape[2]).view(1, 1, -1, 1)
            return rows + 0.01 * x.mean(1, keepdim=True)

    path = tmp_path_factory.mktemp("teacher") / "teacher.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Teacher(), torch.rand(1, 3, 64, 64), str(path), dynamo=False, opset_version=17, input_names=["image"], output_names=["d"]
        )
    return path


def test_teacher_source(scene, teacher_onnx, tmp_path, capsys):
    base = ["--bg", str(scene / "bg.png"), "--image", str(scene / "img.png"), "--teacher", str(teacher_onnx)]
    rc, cap = run([*base, "--out", str(tmp_path / "a"), "--camera", str(scene / "camera.json")], capsys)
    assert rc == 0, cap.err
    meta = json.loads((tmp_path / "a" / "depth.json").read_text())
    assert meta["depth_source"] == "teacher" and meta["scene"]["unit"] == "m" and meta["camera"] == CAM.to_json()
    rc, cap = run([*base, "--out", str(tmp_path / "b")], capsys)  # no camera: relative only, the learned depth is used
    assert rc == 0, cap.err
    meta = json.loads((tmp_path / "b" / "depth.json").read_text())
    assert meta["depth_source"] == "learned" and any("relative" in n for n in meta["scene"]["notes"])
    rc, cap = run(
        [
            "--bg",
            str(scene / "bg.png"),
            "--image",
            str(scene / "img.png"),
            "--teacher",
            str(tmp_path / "no.onnx"),
            "--out",
            str(tmp_path / "c"),
        ],
        capsys,
    )
    assert rc == 2 and "\n" not in cap.err.strip() and "not found" in cap.err
    assert not (tmp_path / "c").exists()


# ----------------------------------------------------------------------------- issue 18: silent wrong answers


def test_cache_dir_follows_the_depth_file(scene, tmp_path, capsys):
    """--bg-depth d_a.png (4 m) then d_b.png (2 m) with one --cache-dir: 4 m then 2 m, and depth.json names each file."""
    cache = tmp_path / "cache"
    for name, metres in (("d_a.png", 4.0), ("d_b.png", 2.0)):
        Image.fromarray(np.full((H, W), int(metres * 1000), np.uint16)).save(tmp_path / name)
        out = tmp_path / name.replace(".png", "")
        args = ["--bg", str(scene / "bg.png"), "--image", str(scene / "img.png"), "--out", str(out)]
        rc, cap = run([*args, "--bg-depth", str(tmp_path / name), "--cache-dir", str(cache)], capsys)
        assert rc == 0, cap.err
        meta = json.loads((out / "depth.json").read_text())
        assert meta["scene"]["params"]["file"] == name
        mm = np.asarray(Image.open(out / "depth.png"))
        free = free_of_foreground(np.asarray(Image.open(out / "mask.png")) > 0)
        assert (mm[free] == int(metres * 1000)).all()
        dist = [o["distance_m"] for o in json.loads((out / "objects.json").read_text())["objects"] if o["distance_m"] is not None]
        assert dist and all(d == pytest.approx(metres) for d in dist)


def test_bg_depth_in_millimetres_is_refused_or_converted(scene, tmp_path, capsys):
    z = truth_depth()
    np.save(tmp_path / "mm.npy", z * 1000)  # millimetres in a format read as metres
    base = ["--bg", str(scene / "bg.png"), "--image", str(scene / "img.png"), "--bg-depth", str(tmp_path / "mm.npy")]
    rc, cap = run([*base, "--out", str(tmp_path / "a")], capsys)
    err = cap.err.strip()
    assert rc == 2 and "\n" not in err and "millimetres" in err and "--bg-depth-unit mm" in err
    assert not (tmp_path / "a").exists()
    rc, cap = run([*base, "--out", str(tmp_path / "b"), "--bg-depth-unit", "mm"], capsys)
    assert rc == 0, cap.err
    mm = np.asarray(Image.open(tmp_path / "b" / "depth.png"))
    free = free_of_foreground(np.asarray(Image.open(tmp_path / "b" / "mask.png")) > 0)
    np.testing.assert_array_equal(mm[free], np.rint(z * 1000).astype(np.uint16)[free])
    meta = json.loads((tmp_path / "b" / "depth.json").read_text())
    assert meta["scene"]["params"]["unit"] == "mm"
    with pytest.raises(SystemExit) as e:  # argparse refuses another unit
        run([*base, "--out", str(tmp_path / "c"), "--bg-depth-unit", "km"], capsys)
    assert e.value.code == 2 and not (tmp_path / "c").exists()


@pytest.fixture(scope="module")
def depth_like_teacher_onnx(tmp_path_factory):
    """A tiny ONNX 'teacher' that outputs depth, not disparity: growing toward the top rows (farther)."""
    torch = pytest.importorskip("torch")
    import warnings

    class Teacher(torch.nn.Module):
        def forward(self, x):
            rows = torch.linspace(1.0, 0.1, x.shape[2]).view(1, 1, -1, 1)
            return rows + 0.01 * x.mean(1, keepdim=True)

    path = tmp_path_factory.mktemp("teacher_depth") / "teacher.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Teacher(), torch.rand(1, 3, 64, 64), str(path), dynamo=False, opset_version=17, input_names=["image"], output_names=["d"]
        )
    return path


def test_teacher_with_camera_keeps_the_camera_floor_and_refuses_a_negative_scale(
    scene, teacher_onnx, depth_like_teacher_onnx, tmp_path, capsys
):
    base = ["--bg", str(scene / "bg.png"), "--image", str(scene / "img.png"), "--camera", str(scene / "camera.json")]
    rc, cap = run([*base, "--teacher", str(teacher_onnx), "--out", str(tmp_path / "a")], capsys)
    assert rc == 0, cap.err
    objs = [o for o in json.loads((tmp_path / "a" / "objects.json").read_text())["objects"] if o["distance_m"] is not None]
    assert objs
    for o in objs:  # the contact point is on the camera's floor: its exact depth, at the pixel's bottom edge
        x, y = o["contact_px"]
        assert o["depth_source"] == "ground_plane"
        assert o["distance_m"] == pytest.approx(float(CAM.floor_depth(x, y + 0.5)), abs=1e-3)
    rc, cap = run([*base, "--teacher", str(depth_like_teacher_onnx), "--out", str(tmp_path / "b")], capsys)
    err = cap.err.strip()
    assert rc == 2 and "\n" not in err and "negative" in err
    assert not (tmp_path / "b").exists()
