"""Dataset generation (maskdepth.data.generate) and reading it back (maskdepth.data.dataset):
round trip, statistics, held-out splits, determinism, sharding across jobs, resume, teacher labels."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from maskdepth.data.augment import misalign_matrix
from maskdepth.data.composite import upright_depth
from maskdepth.data.dataset import MaskDepthDataset
from maskdepth.data.generate_config import GenerateConfig
from maskdepth.data.plan import split_counts
from maskdepth.data.shards import shard_complete
from maskdepth.errors import MaskDepthError
from tests.helpers import TINY_DATASET, generate_dataset

MM = 0.0005 + 1e-6  # depth is stored in whole millimetres


def tar_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "shards").glob("*.tar"))}


def all_files(root: Path, sub: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / sub).iterdir())}


# --------------------------------------------------------------------------- round trip
def test_round_trip_every_sample(tiny_dataset):
    man = json.loads((tiny_dataset / "manifest.json").read_text())
    counts = split_counts(GenerateConfig(out_dir="x", **TINY_DATASET))
    n_mask = n_warped = n_refused = n_upright = 0
    for split in ("train", "val", "test"):
        ds = MaskDepthDataset(tiny_dataset, split)
        assert len(ds) == counts[split] == sum(s["count"] for s in man["shards"] if s["split"] == split)
        keys = set()
        for i in range(len(ds)):
            item = ds[i]
            assert item["bg"].shape == item["fg_bg"].shape == (3, 64, 64)
            assert item["mask"].shape == item["depth"].shape == (1, 64, 64)
            for k in ("bg", "fg_bg", "mask", "depth"):
                assert item[k].dtype == torch.float32
            assert 0 <= float(item["fg_bg"].min()) and float(item["fg_bg"].max()) <= 1
            assert set(torch.unique(item["mask"]).tolist()) <= {0.0, 1.0}
            assert item["depth_kind"].dtype == torch.int64 and int(item["index"]) == i
            r = ds.raw(i)
            meta = r["meta"]
            if int(item["depth_kind"]) == 0:  # refused metric placement (issue 13): no depth label, never a shrunk one
                assert meta["depth_kind"] == "none" and meta["placement"]["method"] == "ground_prior" and r["depth"] is None
                n_refused += 1
                continue
            assert int(item["depth_kind"]) == 1  # metric

            assert meta["split"] == split and meta["key"] not in keys
            keys.add(meta["key"])
            np.testing.assert_array_equal(r["mask"], item["mask"][0].numpy() > 0.5)
            assert r["mask"].mean() == pytest.approx(meta["mask_fraction"])
            pl = meta["placement"]
            assert meta["depth_kind"] == "metric" and pl["method"] == "metric"
            d = r["depth"]
            assert d.dtype == np.float32
            if r["mask"].any():
                n_mask += 1
                if pl["billboard"] == "upright":  # the vertical plane through the contact point (the default)
                    n_upright += 1
                    bgr = ds.background(meta["bg_id"])
                    up = np.asarray(bgr["support_plane"]["normal"])
                    plane = upright_depth(
                        bgr["K"], tuple(pl["contact_uv"]), pl["fg_depth"], up, pl["x0"], pl["y0"], (pl["height_px"], pl["width_px"])
                    )
                    if "misalign" in meta["aug"]:  # warped with the frame: the values stay those of the plane
                        assert plane.min() - MM <= d[r["mask"]].min() and d[r["mask"]].max() <= plane.max() + MM
                    else:
                        ys, xs = np.nonzero(r["mask"])
                        assert np.abs(d[ys, xs] - plane[ys - pl["y0"], xs - pl["x0"]]).max() <= MM
                else:
                    assert np.abs(d[r["mask"]] - pl["fg_depth"]).max() <= MM
            # the foreground stands where the background has exactly that depth
            bgd = ds.background(meta["bg_id"])["depth"]
            u, v = pl["contact_uv"]
            assert abs(float(bgd[v, u]) - pl["fg_depth"]) <= MM
            # off the mask the label is the background's depth (moved with the scene when misaligned)
            if "misalign" in meta["aug"]:
                M = misalign_matrix(meta["aug"]["misalign"], bgd.shape)
                np.testing.assert_allclose(M, meta["aug"]["misalign"]["matrix"], atol=1e-6)
                bgd = cv2.warpAffine(bgd, M, bgd.shape[::-1], flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
                n_warped += 1
            np.testing.assert_allclose(d[~r["mask"]], bgd[~r["mask"]], atol=MM)
    assert n_mask > 100 and n_refused <= 3
    assert n_upright > 50  # the default billboard (results/billboard.md)
    assert 0 < n_warped < 120  # the default augmentation misaligns some samples (p = 0.3)


def test_manifest_and_stats(tiny_dataset):
    man = json.loads((tiny_dataset / "manifest.json").read_text())
    stats = json.loads((tiny_dataset / "stats.json").read_text())
    assert man["complete"] and man["format_version"] == 1
    assert len(man["backgrounds"]) == 8 and len(man["foregrounds"]) == 6
    assert stats["samples"] == 120
    assert stats["samples_per_split"] == split_counts(GenerateConfig(out_dir="x", **TINY_DATASET))
    for key in ("fg_bg", "bg"):
        assert len(stats[key]["mean"]) == 3
        assert all(0.0 <= m <= 1.0 for m in stats[key]["mean"])
        assert all(0.0 < s <= 0.5 for s in stats[key]["std"])
    assert 0.0 < stats["mask_fraction_mean"] < 1.0
    # rendered rooms: every sample metric, but for a cutout no contact point admits at its physical size
    # (issue 13: refused, pasted without a depth label instead of shrunk and relabelled)
    assert set(stats["depth_kinds"]) <= {"metric", "none"} and stats["depth_kinds"]["metric"] >= 0.97 * 120
    dm = stats["metric_depth_m"]
    assert 0.0 < dm["min"] <= dm["mean"] <= dm["max"] < 30.0
    for sh in man["shards"]:
        idx = json.loads((tiny_dataset / "shards" / f"{sh['name']}.json").read_text())
        assert idx["count"] == sh["count"] and len(idx["keys"]) == sh["count"]
        assert hashlib.sha256((tiny_dataset / "shards" / f"{sh['name']}.tar").read_bytes()).hexdigest() == idx["sha256"]


# --------------------------------------------------------------------------- splits
def test_splits_hold_out_backgrounds_and_foregrounds(bg_dir, fg_dir, rgbd_dir, tmp_path):
    out = tmp_path / "ds"
    man = generate_dataset(
        out,
        bg_dir=str(bg_dir),
        fg_dir=str(fg_dir),
        rgbd_dir=str(rgbd_dir),
        n_samples=40,
        size=64,
        shard_size=20,
        seed=1,
        val_frac=0.2,
        test_frac=0.3,
    )
    bsplit = {b["id"]: b["split"] for b in man["backgrounds"]}
    fsplit = {f["id"]: f["split"] for f in man["foregrounds"]}
    # RGB-D: whole scenes; the smaller scene is the test scene
    assert {b["split"] for b in man["backgrounds"] if b["group"] == "rgbd/room_b"} == {"test"}
    assert {b["split"] for b in man["backgrounds"] if b["group"] == "rgbd/room_a"} == {"train"}
    # precondition of this test: the test split has photos and cutouts of its own
    assert "test" in {s for k, s in bsplit.items() if k.startswith("photo/")}
    assert "test" in fsplit.values()

    used: dict[str, dict[str, set]] = {}
    for split in ("train", "val", "test"):
        ds = MaskDepthDataset(out, split)
        for i in range(len(ds)):
            meta = json.loads(ds._read(ds.items[i][0], ds.items[i][2]["json"]))
            used.setdefault(split, {"bg": set(), "fg": set()})
            used[split]["bg"].add(meta["bg_id"])
            used[split]["fg"].add(meta["fg_id"])
            assert bsplit[meta["bg_id"]] == split  # every split here has its own backgrounds ...
            assert fsplit[meta["fg_id"]] == split  # ... and foregrounds
    assert not used["train"]["bg"] & used["test"]["bg"]
    assert not used["train"]["fg"] & used["test"]["fg"]
    assert not used["train"]["bg"] & used["val"]["bg"]
    assert {b for b in used["test"]["bg"] if b.startswith("rgbd/")} <= {b for b in bsplit if b.startswith("rgbd/room_b/")}


# --------------------------------------------------------------------------- determinism
@pytest.fixture(scope="module")
def small_cfg(bg_dir, rgbd_dir):
    return dict(bg_dir=str(bg_dir), rgbd_dir=str(rgbd_dir), render=2, procedural_fg=4, n_samples=30, size=64, shard_size=10)


@pytest.fixture(scope="module")
def ref_ds(small_cfg, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "ds"
    generate_dataset(out, workers=1, **small_cfg)
    return out


def test_same_seed_same_bytes_any_workers(ref_ds, small_cfg, tmp_path):
    out = tmp_path / "w2"
    generate_dataset(out, workers=2, **small_cfg)
    ref = tar_bytes(ref_ds)
    assert len(ref) == 5  # train 24 -> 3 shards, val 3, test 3
    assert tar_bytes(out) == ref
    assert all_files(out, "backgrounds") == all_files(ref_ds, "backgrounds")
    assert (out / "stats.json").read_bytes() == (ref_ds / "stats.json").read_bytes()


def test_other_seed_other_bytes(ref_ds, small_cfg, tmp_path):
    out = tmp_path / "seed1"
    generate_dataset(out, workers=1, seed=1, **small_cfg)
    other, ref = tar_bytes(out), tar_bytes(ref_ds)
    assert other.keys() == ref.keys()
    assert all(other[k] != ref[k] for k in ref)


def test_shard_jobs_make_the_same_bytes(ref_ds, small_cfg, tmp_path):
    out = tmp_path / "jobs"
    m0 = generate_dataset(out, workers=1, shard_index=0, num_shards=2, **small_cfg)
    assert not m0["complete"] and not (out / "manifest.json").exists()
    done = set(tar_bytes(out))
    assert done == {"train-00000.tar", "train-00002.tar", "test-00000.tar"}
    m1 = generate_dataset(out, workers=1, shard_index=1, num_shards=2, **small_cfg)
    assert m1["complete"] and (out / "manifest.json").exists()
    assert tar_bytes(out) == tar_bytes(ref_ds)
    assert (out / "stats.json").read_bytes() == (ref_ds / "stats.json").read_bytes()
    with pytest.raises(MaskDepthError):
        generate_dataset(tmp_path / "bad", shard_index=2, num_shards=2, **small_cfg)


def test_resume_rewrites_missing_and_corrupt_shards(ref_ds, small_cfg, tmp_path):
    out = tmp_path / "res"
    shutil.copytree(ref_ds, out)
    sh = out / "shards"
    (sh / "train-00001.tar").unlink()
    (sh / "train-00001.json").unlink()
    t = sh / "val-00000.tar"
    with tarfile.open(t) as tf:  # cut inside a member's data (not in the tar's zero padding)
        m = tf.getmembers()[len(tf.getmembers()) // 2]
    t.write_bytes(t.read_bytes()[: m.offset_data + max(1, m.size // 2)])
    (sh / "test-00000.tar").unlink()  # tar gone, index left behind
    assert not shard_complete(out, "val-00000")
    with pytest.raises(MaskDepthError):  # a truncated shard is reported, not half-read
        MaskDepthDataset(out, "val")
    untouched = (sh / "train-00000.tar").stat().st_mtime_ns
    generate_dataset(out, workers=1, resume=True, **small_cfg)
    assert tar_bytes(out) == tar_bytes(ref_ds)
    assert all_files(out, "shards") == all_files(ref_ds, "shards")
    assert (sh / "train-00000.tar").stat().st_mtime_ns == untouched  # complete shards are kept
    assert len(MaskDepthDataset(out, "val")) == 3


def test_refuses_non_empty_out_dir(ref_ds, small_cfg, tmp_path):
    with pytest.raises(MaskDepthError, match="not empty"):
        generate_dataset(ref_ds, **small_cfg)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(MaskDepthError, match="not empty"):
        generate_dataset(stray, **small_cfg)
    assert sorted(p.name for p in stray.iterdir()) == ["notes.txt"]  # nothing written
    out = tmp_path / "other"
    shutil.copytree(ref_ds, out)
    with pytest.raises(MaskDepthError, match="other settings"):
        generate_dataset(out, resume=True, **{**small_cfg, "n_samples": 31})


def test_bad_sources_are_refused(tmp_path, fg_dir):
    with pytest.raises(MaskDepthError, match="no backgrounds"):
        generate_dataset(tmp_path / "a", procedural_fg=2, size=64)
    with pytest.raises(MaskDepthError, match="no foregrounds"):
        generate_dataset(tmp_path / "b", render=1, size=64)
    with pytest.raises(MaskDepthError, match="multiple of 32"):
        generate_dataset(tmp_path / "c", render=1, procedural_fg=1, size=50)
    with pytest.raises(MaskDepthError, match="not found"):
        generate_dataset(tmp_path / "d", bg_dir=str(tmp_path / "nope"), fg_dir=str(fg_dir), size=64)


def test_training_split_needs_sources(bg_dir, tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    (one / "bg_01.jpg").write_bytes((bg_dir / "bg_01.jpg").read_bytes())  # hashes to 'test' with seed 1
    with pytest.raises(MaskDepthError, match="training split"):
        generate_dataset(tmp_path / "a", bg_dir=str(one), procedural_fg=3, n_samples=10, size=64, seed=1, val_frac=0.2, test_frac=0.3)


# --------------------------------------------------------------------------- teacher labels
@pytest.fixture(scope="module")
def teacher_onnx(tmp_path_factory) -> Path:
    """A tiny conv 'depth model' in ONNX: (1, 3, 64, 64) -> (1, 1, 64, 64), positive."""

    class Teacher(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 1, 5, padding=2)

        def forward(self, x):
            return torch.nn.functional.softplus(self.conv(x)) + 0.1

    torch.manual_seed(0)
    m = Teacher().eval()
    path = tmp_path_factory.mktemp("teacher") / "teacher.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            m, torch.rand(1, 3, 64, 64), str(path), dynamo=False, opset_version=17, input_names=["image"], output_names=["disparity"]
        )
    return path


def _check_teacher_samples(out: Path, n: int):
    seen = 0
    for split in ("train", "val", "test"):
        ds = MaskDepthDataset(out, split)
        for i in range(len(ds)):
            r = ds.raw(i)
            item = ds[i]
            assert r["meta"]["depth_kind"] == "teacher" and int(item["depth_kind"]) == 2
            d = r["depth"]
            assert d is not None and d.shape == (64, 64)
            assert 0.0 <= d.min() and d.max() <= 1.0 and d.max() > d.min()
            seen += 1
    assert seen == n


def test_teacher_per_background(bg_dir, fg_dir, teacher_onnx, tmp_path):
    out = tmp_path / "t"
    generate_dataset(out, bg_dir=str(bg_dir), fg_dir=str(fg_dir), teacher=str(teacher_onnx), n_samples=20, size=64, shard_size=20)
    _check_teacher_samples(out, 20)
    ds = MaskDepthDataset(out, "train")
    for i in range(len(ds)):
        r = ds.raw(i)
        pl = r["meta"]["placement"]
        bg = ds.background(r["meta"]["bg_id"])
        assert bg["depth_kind"] == "teacher"
        if r["mask"].any():  # the fg takes the background's disparity at its contact point
            u, v = np.clip(pl["contact_uv"], 0, 63)
            np.testing.assert_allclose(r["depth"][r["mask"]], bg["depth"][v, u], atol=1e-6)
            np.testing.assert_allclose(r["depth"][r["mask"]], pl["fg_depth"], atol=1 / 65535)


def test_teacher_per_composite(bg_dir, fg_dir, teacher_onnx, tmp_path):
    out = tmp_path / "t"
    generate_dataset(
        out,
        bg_dir=str(bg_dir),
        fg_dir=str(fg_dir),
        teacher=str(teacher_onnx),
        teacher_mode="per_composite",
        n_samples=10,
        size=64,
        shard_size=10,
    )
    _check_teacher_samples(out, 10)


def test_bad_teacher_is_refused(bg_dir, fg_dir, tmp_path):
    with pytest.raises(MaskDepthError, match="not found"):
        generate_dataset(tmp_path / "a", bg_dir=str(bg_dir), fg_dir=str(fg_dir), teacher=str(tmp_path / "none.onnx"), size=64)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx model")
    with pytest.raises(MaskDepthError, match="ONNX"):
        generate_dataset(tmp_path / "b", bg_dir=str(bg_dir), fg_dir=str(fg_dir), teacher=str(junk), size=64)


# --------------------------------------------------------------------------- --render-ranges (issue 13)
def _gen_args(out: Path, *extra: str) -> list[str]:
    base = ["generate", "--out", str(out), "--render", "3", "--procedural-fg", "2", "-n", "4", "--size", "32"]
    return [*base, "--shard-size", "4", "--workers", "1", "--quiet", *extra]


def _camera_heights(out: Path) -> list[float]:
    return [json.loads(p.read_text())["support_plane"]["d_m"] for p in sorted((out / "backgrounds").glob("render*.json"))]


def test_render_ranges_option_reaches_the_rendered_rooms(tmp_path, capsys):
    from maskdepth.cli import main

    assert main(_gen_args(tmp_path / "cctv", "--render-ranges", "cctv,hfov=60:70")) == 0
    cfg = json.loads((tmp_path / "cctv" / "generate_config.json").read_text())
    assert cfg["render_ranges"] == {"cam_height": [2.2, 4.0], "pitch": [10.0, 40.0], "room_h": [4.2, 5.0], "hfov": [60.0, 70.0]}
    cctv = _camera_heights(tmp_path / "cctv")
    assert len(cctv) == 3 and all(2.2 <= h <= 4.0 for h in cctv)
    assert main(_gen_args(tmp_path / "default")) == 0
    assert json.loads((tmp_path / "default" / "generate_config.json").read_text())["render_ranges"] is None
    default = _camera_heights(tmp_path / "default")
    assert all(1.0 <= h <= 2.5 for h in default) and default != cctv
    # a resume with other ranges is refused; with the same ranges it goes through
    with pytest.raises(MaskDepthError, match="other settings"):
        generate_dataset(tmp_path / "cctv", render=3, procedural_fg=2, n_samples=4, size=32, shard_size=4, resume=True)
    assert main(_gen_args(tmp_path / "cctv", "--render-ranges", "cctv,hfov=60:70", "--resume")) == 0


@pytest.mark.parametrize(
    "spec,msg",
    [
        ("foo=1:2", "unknown name 'foo'"),
        ("cctvx", "unknown preset"),
        ("pitch=ten:20", "expected a number"),
        ("pitch=40:10", "low 40 > high 10"),
        ("pitch=10:95", "pitch must lie in"),
        ("cam_height=-1:2", "cam_height must be > 0"),
    ],
)
def test_bad_render_ranges_are_one_line_usage_errors(tmp_path, capsys, spec, msg):
    from maskdepth.cli import main

    with pytest.raises(SystemExit) as e:
        main(_gen_args(tmp_path / "x", "--render-ranges", spec))
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--render-ranges" in err and msg in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_render_ranges_yaml_mapping_and_legacy_datasets(tmp_path):
    from maskdepth.data.generate_config import LEGACY_CONFIG, parse_render_ranges_option, same_settings, validate_config

    assert parse_render_ranges_option({"preset": "cctv", "pitch": "15:20"})["pitch"] == [15.0, 20.0]
    cfg = GenerateConfig(out_dir=str(tmp_path), render=1, procedural_fg=1, render_ranges={"pitch": [50, 20]})
    with pytest.raises(MaskDepthError, match=r"^render_ranges pitch: low 50 > high 20"):
        validate_config(cfg)
    # a dataset made before the option existed resumes: the missing field means the default ranges
    assert LEGACY_CONFIG["render_ranges"] is None
    old = {"out_dir": "a", "size": 64}
    assert same_settings(old, {"out_dir": "b", "size": 64, "render_ranges": None})
    assert not same_settings(old, {"out_dir": "b", "size": 64, "render_ranges": {"pitch": [10.0, 40.0]}})


SCRIPT = """import sys
from maskdepth.data.generate import GenerateConfig, generate

def main():
    cfg = GenerateConfig(out_dir=sys.argv[1], render=4, procedural_fg=4, n_samples=16, size=64, shard_size=8)
    print(generate(cfg, workers=2, quiet=True)["complete"])

{call}
"""


@pytest.mark.parametrize("guarded", [True, False])
def test_worker_processes_from_a_script(tmp_path, guarded):
    """The workers are spawned and import the calling script: under a main guard it runs; without one (the script would
    run again in each worker) it stops at once with one clear line, not a hang or a respawn loop."""
    import os
    import subprocess
    import sys

    call = 'if __name__ == "__main__":\n    main()' if guarded else "main()"
    (tmp_path / "script.py").write_text(SCRIPT.format(call=call))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    p = subprocess.run(
        [sys.executable, "script.py", str(tmp_path / "ds")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    if guarded:
        assert p.returncode == 0 and p.stdout.strip() == "True", p.stderr[-2000:]
    else:
        assert p.returncode != 0
        assert p.stderr.strip().splitlines()[-1].startswith("maskdepth.errors.MaskDepthError: workers > 1: a worker process died")
