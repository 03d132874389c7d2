"""Issue 18, silent wrong answers in the scene-depth sources (maskdepth.scene.depth_sources / fixed_camera): the disk
cache keyed by the content of everything that made a scene depth (defect 1), and a depth file in millimetres
taken for metres (defect 8). Tiny ONNX models are written with the ``onnx`` helper (the [train] extra)."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.scene import SceneDepthCache, camera_from_pitch, load_bg_depth
from maskdepth.scene.fixed_camera import FixedCamera

W, H = 64, 48
CAM = camera_from_pitch(60.0, (W, H), 25.0, 2.5)


def _bg(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)


def _png_mm(path, metres):
    cv2.imwrite(str(path), np.full((H, W), int(round(metres * 1000)), np.uint16))
    return path


def _onnx(path, out: np.ndarray, inputs=("image",)):
    """Write an ONNX model whose output is the constant ``out`` ``(1, 1, h, w)`` plus 0 x the mean of the first
    input (so it depends on it); ``inputs`` float32 ``(1, 3, h, w)``. With two inputs it returns ``out`` twice
    (a stand-in for the mask/depth network)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    h, w = out.shape[-2:]
    nodes = [
        helper.make_node("ReduceMean", [inputs[0]], ["m"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["m", "zero"], ["m0"]),
        helper.make_node("Add", ["C", "m0"], ["y"]),
    ]
    outs = ["y"]
    if len(inputs) == 2:
        nodes.append(helper.make_node("Identity", ["y"], ["y2"]))
        outs = ["y", "y2"]
    graph = helper.make_graph(
        nodes,
        "stand_in",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, h, w]) for n in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 1, h, w]) for n in outs],
        initializer=[
            numpy_helper.from_array(out.reshape(1, 1, h, w).astype(np.float32), "C"),
            numpy_helper.from_array(np.zeros((), np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


# ----------------------------------------------------------------------------- defect 1: cache keys by content


def test_measured_depth_is_never_answered_from_another_files_cache(tmp_path):
    bg, cache = _bg(), tmp_path / "cache"
    a, b = _png_mm(tmp_path / "d_a.png", 4.0), _png_mm(tmp_path / "d_b.png", 2.0)
    sa = FixedCamera(bg, bg_depth=a, cache_dir=cache).scene_depth()
    sb = FixedCamera(bg, bg_depth=b, cache_dir=cache).scene_depth()
    assert float(np.median(sa.depth)) == pytest.approx(4.0) and sa.params["file"] == "d_a.png"
    assert float(np.median(sb.depth)) == pytest.approx(2.0) and sb.params["file"] == "d_b.png"
    _png_mm(a, 3.0)  # the same name, new content
    sc = FixedCamera(bg, bg_depth=a, cache_dir=cache).scene_depth()
    assert float(np.median(sc.depth)) == pytest.approx(3.0)
    assert sc.params["sha256"] != sa.params["sha256"]


def _rows(lo, hi, power=1.0, h=64, w=64):
    return np.tile((np.linspace(0, 1, h) ** power * (hi - lo) + lo)[:, None], (1, w))


def test_teacher_cache_keyed_by_the_model_bytes_not_its_name(tmp_path):
    bg, cache = _bg(), tmp_path / "cache"
    t1 = _onnx(tmp_path / "one" / "teacher.onnx", _rows(0.1, 1.0))
    t2 = _onnx(tmp_path / "two" / "teacher.onnx", _rows(0.1, 1.0, power=3.0))  # same name, another teacher
    s1 = FixedCamera(bg, camera=CAM, teacher=str(t1), cache_dir=cache).scene_depth()
    s2 = FixedCamera(bg, camera=CAM, teacher=str(t2), cache_dir=cache).scene_depth()
    fresh = FixedCamera(bg, camera=CAM, teacher=str(t2)).scene_depth()  # no cache
    np.testing.assert_array_equal(s2.depth, fresh.depth)
    assert not np.array_equal(s1.depth, s2.depth)
    assert len(list(cache.glob("scene_*.npz"))) == 2


def test_ground_plane_cache_keyed_by_the_network(tmp_path):
    bg, cache = _bg(), tmp_path / "cache"
    near = np.full((H, W), 1.0, np.float32)
    far = np.full((H, W), 3.0, np.float32)
    far[: H // 2] = 30.0  # another network: the top half is a far wall, not floor
    near[: H // 2] = 5.0
    a = FixedCamera(bg, camera=CAM, cache_dir=cache).scene_depth(lambda: near, learned_key="net-a")
    b = FixedCamera(bg, camera=CAM, cache_dir=cache).scene_depth(lambda: far, learned_key="net-b")
    assert not np.array_equal(a.depth, b.depth)
    calls = []
    again = FixedCamera(bg, camera=CAM, cache_dir=cache).scene_depth(lambda: calls.append(1) or far, learned_key="net-b")
    assert calls == [] and np.array_equal(again.depth, b.depth)  # a hit for the same network
    # no identity for the network: never stored nor read (another model's answer cannot come back)
    n0 = len(list(cache.glob("scene_*.npz")))
    x = FixedCamera(bg, camera=CAM, cache_dir=cache).scene_depth(lambda: near)
    y = FixedCamera(bg, camera=CAM, cache_dir=cache).scene_depth(lambda: far)
    assert np.array_equal(x.depth, a.depth) and np.array_equal(y.depth, b.depth)
    assert len(list(cache.glob("scene_*.npz"))) == n0


def test_network_key_is_the_weights_sha256(tmp_path):
    from maskdepth.inference.predictor import Predictor

    m = _onnx(tmp_path / "a" / "net.onnx", _rows(0.0, 1.0), inputs=("bg", "fg_bg"))
    copy = tmp_path / "b" / "other_name.onnx"
    copy.parent.mkdir()
    copy.write_bytes(m.read_bytes())
    assert Predictor(str(m)).key == Predictor(str(copy)).key  # same bytes, another name: the same network
    st = m.stat()
    _onnx(m, _rows(0.0, 2.0), inputs=("bg", "fg_bg"))  # new weights, same name and size
    assert m.stat().st_size == st.st_size
    os.utime(m, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime
    assert Predictor(str(m)).key != Predictor(str(copy)).key
    assert Predictor(str(m), size=64).key != Predictor(str(m), size=128).key


# ----------------------------------------------------------------------------- defect 8: millimetres taken for metres


def test_npy_and_tiff_in_millimetres_are_refused_naming_the_unit(tmp_path):
    d = np.full((H, W), 4000.0, np.float32)  # a wall 4 m away, written in millimetres
    d[:5] = 0
    pn, pt = tmp_path / "d.npy", tmp_path / "d.tiff"
    np.save(pn, d)
    assert cv2.imwrite(str(pt), d)
    for p in (pn, pt):
        with pytest.raises(MaskDepthError) as e:
            load_bg_depth(p, (H, W))
        msg = str(e.value)
        assert "\n" not in msg and "millimetres" in msg and "bg_depth_unit mm" in msg and "4000" in msg
        sd = load_bg_depth(p, (H, W), unit="mm")
        assert float(np.median(sd.depth[5:])) == pytest.approx(4.0) and np.all(sd.depth[:5] == 0)
        assert sd.params["unit"] == "mm"
        far = load_bg_depth(p, (H, W), unit="m")  # said so: a 4 km scene is taken as given
        assert float(np.median(far.depth[5:])) == pytest.approx(4000.0)
    # plausible metres pass, PNG stays millimetres by default
    np.save(pn, d / 1000)
    assert float(np.median(load_bg_depth(pn, (H, W)).depth[5:])) == pytest.approx(4.0)
    assert float(np.median(load_bg_depth(_png_mm(tmp_path / "d.png", 4.0)).depth)) == pytest.approx(4.0)
    with pytest.raises(MaskDepthError, match="unit"):
        load_bg_depth(pn, (H, W), unit="cm")


def test_fixed_camera_passes_the_unit(tmp_path):
    p = tmp_path / "d.npy"
    np.save(p, np.full((H, W), 2500.0, np.float32))
    with pytest.raises(MaskDepthError, match="millimetres"):
        FixedCamera(_bg(), bg_depth=p)
    fc = FixedCamera(_bg(), bg_depth=p, bg_depth_unit="mm")
    assert float(np.median(fc.scene_depth().depth)) == pytest.approx(2.5)


def test_cache_key_changes_with_every_part():
    c = SceneDepthCache("unused")
    bg = _bg()
    base = c.key(bg, "teacher", {"teacher_sha256": "a", "camera": CAM.to_json()})
    assert base != c.key(bg, "teacher", {"teacher_sha256": "b", "camera": CAM.to_json()})
    assert base != c.key(bg, "teacher", {"teacher_sha256": "a", "camera": CAM.scaled_to(128, 96).to_json()})
    assert base != c.key(_bg(1), "teacher", {"teacher_sha256": "a", "camera": CAM.to_json()})
