"""Bad inputs from the committed corpus ``tests/fixtures/bad/`` (made by ``make_corpus.py`` there).

For each bad file: a one-line error naming the file and the problem, exit status 2 from
the command line (4xx JSON from the server), no traceback, nothing half-written. For each
acceptable variant (16-bit, palette, CMYK, grayscale, RGBA, EXIF-rotated, large): it works.

The cases already covered elsewhere are not repeated here (test_cli: truncated/empty/text
images for predict and generate, RGB cutouts; test_predict/test_video: bg size rules;
test_train: corrupt and foreign checkpoints; test_serve: upload limits). This file runs
the *corpus* through every entry point, plus bombs, exotic formats, EXIF, shards with
unsafe or corrupt members, malicious checkpoints, path-traversal upload names, and a burst
of malformed requests against a real ``maskdepth serve``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.common import stop_process
from maskdepth.cli import main
from maskdepth.errors import MaskDepthError
from tests.helpers import free_port

CORPUS = Path(__file__).resolve().parent / "fixtures" / "bad"
MARKER = "MASKDEPTH-PICKLE-EXECUTED"


def bad(name: str) -> Path:
    p = CORPUS / name
    assert p.exists(), f"corpus file missing: {p} (run python tests/fixtures/bad/make_corpus.py)"
    return p


def run_cli(capsys, *args):
    capsys.readouterr()
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:  # argparse errors
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, *needles):
    assert rc == 2, (rc, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{err}"
    assert lines[0].startswith("maskdepth: error: "), err
    assert "Traceback" not in err and "unexpected" not in err, err
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"


def no_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and (".tmp" in p.name)]


# --------------------------------------------------------------------------- the corpus itself
def test_corpus_is_small_and_reproducible(tmp_path):
    files = [p for p in CORPUS.iterdir() if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    assert total < 1_000_000, f"corpus is {total} bytes; keep it under 1 MB"
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    built = mod.build()
    committed = {p.name: p.read_bytes() for p in files if p.name != "make_corpus.py"}
    assert sorted(built) == sorted(committed), set(built) ^ set(committed)
    differ = [n for n in built if built[n] != committed[n]]
    # video and checkpoint bytes depend on the x264/torch build; everything else must be identical
    assert not [n for n in differ if not n.endswith((".mp4", ".pt"))], differ


# --------------------------------------------------------------------------- readers
READ_ERRORS = {
    "empty.png": "empty file (0 bytes)",
    "empty.jpg": "empty file (0 bytes)",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
    "png_header_only.png": "not a readable image",
    "not_image.png": "not a readable image",
    "not_image.jpg": "not a readable image",
    "random_bytes.png": "not a readable image",
    "jpeg_magic_then_garbage.jpg": "truncated",
    "bomb_declared_1gpx.png": "image too large",
    "bomb_declared_3gpx.jpg": "image too large",
    "bomb_100mpx_1bit.png": "image too large",
}
READ_OK = {  # name -> (H, W) after load_rgb (EXIF applied)
    "good_bg.png": (48, 64),
    "good_image.png": (48, 64),
    "good_image.jpg": (48, 64),
    "gray16.png": (48, 64),
    "rgb16.png": (48, 64),
    "palette.png": (48, 64),
    "cmyk.jpg": (48, 64),
    "gray.jpg": (48, 64),
    "gray.png": (48, 64),
    "rgba_as_image.png": (48, 64),
    "la.png": (48, 64),
    "progressive.jpg": (48, 64),
    "exif_rot6.jpg": (64, 48),
    "exif_bad_orientation.jpg": (48, 64),
    "exif_garbage.jpg": (48, 64),
    "tiny_1x1.png": (1, 1),
    "large_4000x3000.png": (3000, 4000),
    "fg_rgba.png": (40, 24),
}


@pytest.mark.parametrize("name", sorted(READ_ERRORS))
def test_unreadable_images_raise_one_line(name):
    from maskdepth.io import load_depth_mm, load_mask, load_rgb, load_rgba

    p = bad(name)
    for fn in (load_rgb, load_rgba, load_depth_mm, load_mask):
        with pytest.raises(MaskDepthError) as e:
            fn(p)
        msg = str(e.value)
        assert str(p) in msg and READ_ERRORS[name] in msg and "\n" not in msg, msg


def test_decompression_bomb_limit_holds():
    """maskdepth.io sets Pillow's limit; a 12 kB PNG that decodes to 100 Mpx (between 1x and 2x the
    limit, where Pillow only warns) is refused, not decoded into a 300 MB array."""
    from PIL import Image as PILImage

    import maskdepth.io  # noqa: F401  (sets the limit)

    assert PILImage.MAX_IMAGE_PIXELS == 64_000_000
    assert bad("bomb_100mpx_1bit.png").stat().st_size < 20_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either: it is an error
        for name in ("bomb_100mpx_1bit.png", "bomb_declared_1gpx.png", "bomb_declared_3gpx.jpg"):
            with pytest.raises(MaskDepthError, match="decompression-bomb limit"):
                maskdepth.io.load_rgb(bad(name))
            with pytest.raises(MaskDepthError, match="decompression-bomb limit"):
                maskdepth.io.decode_image(bad(name).read_bytes(), name)


@pytest.mark.parametrize("name", sorted(READ_OK))
def test_acceptable_images_load_as_rgb(name):
    from maskdepth.io import load_rgb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's note about palette transparency
        a = load_rgb(bad(name))
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and a.shape[:2] == READ_OK[name]
    if name not in ("tiny_1x1.png",):
        assert a.std() > 0 or name.startswith("large"), "decoded to a flat image"


def test_sixteen_bit_and_palette_values_are_sensible():
    from maskdepth.io import load_depth_mm, load_rgb

    ref = load_rgb(bad("good_image.png")).astype(int)
    for name, tol in (("rgb16.png", 1), ("palette.png", 40), ("cmyk.jpg", 40), ("progressive.jpg", 12), ("rgba_as_image.png", 0)):
        a = load_rgb(bad(name)).astype(int)
        assert np.abs(a - ref).mean() <= tol, (name, np.abs(a - ref).mean())
    g = load_rgb(bad("gray.png"))
    assert (g[..., 0] == g[..., 1]).all() and (g[..., 1] == g[..., 2]).all()
    d = load_depth_mm(bad("gray16.png"))  # a 16-bit PNG is also a valid depth map
    assert d.dtype == np.uint16 and d.max() == 65535 and d.min() == 0


def test_exif_rotation_is_applied():
    """exif_rot6.jpg stores 64x48 pixels with a red block at the stored top-left; orientation 6
    (rotate 90 deg clockwise for display) puts it at the displayed top-right of a 48x64 image."""
    from maskdepth.io import load_rgb

    a = load_rgb(bad("exif_rot6.jpg"))
    assert a.shape == (64, 48, 3)
    red = (a[..., 0] > 200) & (a[..., 1] < 80) & (a[..., 2] < 80)
    ys, xs = np.nonzero(red)
    assert len(ys) > 80
    assert ys.max() < 14 and xs.min() > 48 - 14, "red block not at the top-right: EXIF orientation not applied correctly"
    with Image.open(bad("exif_rot6.jpg")) as raw:  # the stored pixels really are the other way round
        assert raw.size == (64, 48)
    # a bogus orientation value (9) and garbage EXIF are ignored, not fatal
    assert load_rgb(bad("exif_bad_orientation.jpg")).shape == (48, 64, 3)
    assert load_rgb(bad("exif_garbage.jpg")).shape == (48, 64, 3)


@pytest.mark.parametrize(
    "name,expect",
    [
        ("fg_rgba.png", None),
        ("fg_la.png", None),
        ("fg_palette_transparent.png", None),
        ("fg_rgb_no_alpha.png", "no alpha channel"),
        ("fg_alpha_opaque.png", "fully opaque"),
        ("fg_alpha_empty.png", "alpha channel is empty"),
        ("rgba_as_image.png", "fully opaque"),
        ("cmyk.jpg", "no alpha channel"),
    ],
)
def test_cutouts_need_a_real_alpha_channel(name, expect):
    from maskdepth.io import load_rgba

    if expect is None:
        a = load_rgba(bad(name))
        assert a.shape == (40, 24, 4) and (a[..., 3] == 0).any() and (a[..., 3] == 255).any()
    else:
        with pytest.raises(MaskDepthError, match=expect) as e:
            load_rgba(bad(name))
        assert str(bad(name)) in str(e.value)


# --------------------------------------------------------------------------- predict (CLI)
PREDICT_BAD_IMAGE = {**READ_ERRORS, "tiny_1x1.png": "too small", "other_aspect_64x64.png": "different framing"}
PREDICT_OK_IMAGE = [
    "good_image.png",
    "good_image.jpg",
    "gray16.png",
    "rgb16.png",
    "palette.png",
    "cmyk.jpg",
    "gray.jpg",
    "gray.png",
    "rgba_as_image.png",
    "la.png",
    "progressive.jpg",
    "exif_bad_orientation.jpg",
    "exif_garbage.jpg",
]


@pytest.mark.parametrize("name", sorted(PREDICT_BAD_IMAGE))
@pytest.mark.parametrize("role", ["image", "bg"])
def test_predict_refuses_bad_file(role, name, tiny_ck, tmp_path, capsys):
    good = bad("good_bg.png")
    bg, image = (good, bad(name)) if role == "image" else (bad(name), good)
    out = tmp_path / "out"
    rc, stdout, err = run_cli(capsys, "predict", "--bg", bg, "--image", image, "--checkpoint", tiny_ck, "--out", out)
    needles = [PREDICT_BAD_IMAGE[name]]
    if PREDICT_BAD_IMAGE[name] not in ("different framing",):
        needles.append(name)  # the message names the file
    assert_one_line_error(rc, err, *needles)
    assert stdout == ""
    assert not out.exists() or not any(out.iterdir()), "nothing may be written for a refused pair"


@pytest.mark.parametrize("name", PREDICT_OK_IMAGE)
def test_predict_accepts_format_variants(name, tiny_ck, tmp_path, capsys):
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc, stdout, err = run_cli(
            capsys, "predict", "--bg", bad("good_bg.png"), "--image", bad(name), "--checkpoint", tiny_ck, "--out", out
        )
    assert rc == 0, err
    assert Image.open(out / "mask.png").size == (64, 48)
    assert Image.open(out / "depth.png").mode.startswith("I")
    assert not no_temp_files(out)


def test_predict_exif_rotated_image_gives_rotated_outputs(tiny_ck, tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = run_cli(
        capsys, "predict", "--bg", bad("exif_bg_portrait.png"), "--image", bad("exif_rot6.jpg"), "--checkpoint", tiny_ck, "--out", out
    )
    assert rc == 0, err
    assert Image.open(out / "mask.png").size == (48, 64)  # W x H of the *displayed* image
    ov = np.asarray(Image.open(out / "overlay.png"))
    assert ov.shape == (64, 48, 3)


def test_predict_bg_of_same_aspect_is_resized_with_warning(tiny_ck, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="resizing bg"):
        rc, _, err = run_cli(
            capsys,
            "predict",
            "--bg",
            bad("same_aspect_128x96.png"),
            "--image",
            bad("good_image.png"),
            "--checkpoint",
            tiny_ck,
            "--out",
            out,
        )
    assert rc == 0, err
    assert Image.open(out / "mask.png").size == (64, 48)


def test_predict_large_image_works(tiny_ck, tmp_path, capsys):
    """12 Mpx (4000x3000) is far below the bomb limit: it must work, at full resolution."""
    out = tmp_path / "out"
    rc, _, err = run_cli(
        capsys,
        "predict",
        "--bg",
        bad("large_bg_4000x3000.png"),
        "--image",
        bad("large_4000x3000.png"),
        "--checkpoint",
        tiny_ck,
        "--out",
        out,
    )
    assert rc == 0, err
    assert Image.open(out / "mask.png").size == (4000, 3000)


@pytest.mark.parametrize(
    "name,needle",
    [
        ("ckpt_empty.pt", "corrupt checkpoint"),
        ("ckpt_random.pt", "corrupt checkpoint"),
        ("ckpt_truncated.pt", "corrupt checkpoint"),
        ("ckpt_not_maskdepth.pt", "not a maskdepth checkpoint"),
        ("ckpt_other_arch.pt", "do not fit"),
        ("ckpt_peer_c_with_tiny_weights.pt", "do not fit"),
        ("ckpt_unknown_preset.pt", "unknown model preset"),
        ("ckpt_version99.pt", "version 99"),
        ("ckpt_pickle_exec.pt", "could run code"),
    ],
)
def test_predict_refuses_bad_checkpoint(name, needle, tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, err = run_cli(
        capsys, "predict", "--bg", bad("good_bg.png"), "--image", bad("good_image.png"), "--checkpoint", bad(name), "--out", out
    )
    assert_one_line_error(rc, err, needle, name)
    assert MARKER not in stdout + err, "unpickling the checkpoint ran code"
    assert not out.exists()


def test_checkpoint_pickle_cannot_run_code(capsys):
    """The checkpoint reader never unpickles arbitrary objects (torch.load weights_only)."""
    from maskdepth.checkpoint import read_checkpoint

    with pytest.raises(MaskDepthError, match="print"):
        read_checkpoint(bad("ckpt_pickle_exec.pt"))
    out, err = capsys.readouterr()
    assert MARKER not in out + err


# --------------------------------------------------------------------------- generate
GEN = ("generate", "--size", "64", "-n", "8", "--shard-size", "8", "--workers", "1", "--quiet")


@pytest.mark.parametrize(
    "name", ["bomb_100mpx_1bit.png", "bomb_declared_3gpx.jpg", "truncated.png", "random_bytes.png", "png_header_only.png"]
)
def test_generate_refuses_bad_background(name, tmp_path, capsys):
    bgd = tmp_path / "bgs"
    bgd.mkdir()
    shutil.copy(bad("good_bg.png"), bgd / "a_good.png")
    shutil.copy(bad(name), bgd / name)
    out = tmp_path / "ds"
    rc, _, err = run_cli(capsys, *GEN, "--out", out, "--bg-dir", bgd, "--procedural-fg", "2")
    assert_one_line_error(rc, err, name)
    assert not (out / "manifest.json").exists() and not list(out.glob("shards/*.tar"))
    assert not no_temp_files(out)


@pytest.mark.parametrize(
    "name,needle",
    [
        ("fg_alpha_opaque.png", "fully opaque"),
        ("fg_alpha_empty.png", "alpha channel is empty"),
        ("truncated.png", "truncated"),
        ("bomb_declared_1gpx.png", "image too large"),
    ],
)
def test_generate_refuses_bad_cutout(name, needle, tmp_path, capsys):
    fgd = tmp_path / "fgs"
    fgd.mkdir()
    shutil.copy(bad("fg_rgba.png"), fgd / "a_good.png")
    shutil.copy(bad(name), fgd / name)
    out = tmp_path / "ds"
    rc, _, err = run_cli(capsys, *GEN, "--out", out, "--render", "2", "--fg-dir", fgd)
    assert_one_line_error(rc, err, name, needle)
    assert not (out / "manifest.json").exists() and not list(out.glob("shards/*.tar"))


def test_generate_accepts_format_variants(tmp_path, capsys):
    """Backgrounds in 16-bit, palette, CMYK, grayscale, RGBA, EXIF-rotated form and cutouts as
    RGBA, LA and palette-with-transparency all make a dataset."""
    bgd, fgd = tmp_path / "bgs", tmp_path / "fgs"
    bgd.mkdir()
    fgd.mkdir()
    for n in ("gray16.png", "rgb16.png", "palette.png", "cmyk.jpg", "gray.jpg", "rgba_as_image.png", "exif_rot6.jpg", "progressive.jpg"):
        shutil.copy(bad(n), bgd / n)
    for n in ("fg_rgba.png", "fg_la.png", "fg_palette_transparent.png"):
        shutil.copy(bad(n), fgd / n)
    out = tmp_path / "ds"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc, stdout, err = run_cli(
            capsys,
            "generate",
            "--size",
            "64",
            "-n",
            "12",
            "--shard-size",
            "12",
            "--workers",
            "1",
            "--quiet",
            "--out",
            out,
            "--bg-dir",
            bgd,
            "--fg-dir",
            fgd,
            "--val-frac",
            "0",
            "--test-frac",
            "0",
        )
    assert rc == 0, err
    assert "12 samples" in stdout
    from maskdepth.data.dataset import MaskDepthDataset

    ds = MaskDepthDataset(out, "train")
    assert len(ds) == 12 and ds[0]["fg_bg"].shape == (3, 64, 64)


# --------------------------------------------------------------------------- video
@pytest.mark.parametrize(
    "video,bg,needle",
    [
        ("clip_64x48.mp4", "other_aspect_64x64.png", "different framing"),
        ("clip_64x48.mp4", "truncated.png", "truncated"),
        ("clip_64x48.mp4", "bomb_declared_1gpx.png", "image too large"),
        ("truncated.mp4", "good_bg.png", "truncated.mp4"),
        ("empty.mp4", "good_bg.png", "empty file"),
        ("not_video.mp4", "good_bg.png", "not a readable video"),
    ],
)
def test_video_bad_inputs(video, bg, needle, tiny_ck, tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, "predict", "--video", bad(video), "--bg", bad(bg), "--checkpoint", tiny_ck, "--out", out, "--quiet")
    assert_one_line_error(rc, err, needle)
    assert not (out / "mask.mp4").exists() and not (out / "video.json").exists()
    if out.exists():
        assert not [p for p in out.rglob("*") if p.is_file() and ".tmp" in p.name], "half-written video left behind"


def test_video_with_same_aspect_bg_works(tiny_ck, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="resizing bg"):
        rc, _, err = run_cli(
            capsys,
            "predict",
            "--video",
            bad("clip_64x48.mp4"),
            "--bg",
            bad("same_aspect_128x96.png"),
            "--checkpoint",
            tiny_ck,
            "--out",
            out,
            "--quiet",
        )
    assert rc == 0, err
    rec = json.loads((out / "video.json").read_text())
    assert rec["frames"] == 6 and rec["size"] == [64, 48]


# --------------------------------------------------------------------------- shards
@pytest.fixture()
def ds_copy(tiny_dataset, tmp_path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    return root


def _put_shard(root: Path, corpus_name: str, only: bool = False) -> Path:
    """Replace the first training shard by a corpus tar; ``only``: make it the only training shard."""
    tar = root / "shards" / "train-00000.tar"
    shutil.copy(bad(corpus_name), tar)
    if only:
        man = json.loads((root / "manifest.json").read_text())
        man["shards"] = [s for s in man["shards"] if s["split"] != "train" or s["name"] == "train-00000"]
        (root / "manifest.json").write_text(json.dumps(man))
    return tar


UNSAFE_OR_CORRUPT_SHARDS = {
    "shard_traversal.tar": "unsafe member name '../evil.json'",
    "shard_absolute.tar": "unsafe member name '/tmp/evil.json'",
    "shard_subdir.tar": "unsafe member name",
    "shard_dotdot_name.tar": "unsafe member name",
    "shard_truncated.tar": "",
    "shard_garbage.tar": "corrupt or truncated shard",
    "shard_symlink.tar": "lacks fg_bg/mask/json",
    "shard_missing_mask.tar": "lacks fg_bg/mask/json",
}


@pytest.mark.parametrize("name", sorted(UNSAFE_OR_CORRUPT_SHARDS))
def test_dataset_refuses_unsafe_or_corrupt_shard(name, ds_copy):
    from maskdepth.data.dataset import MaskDepthDataset

    tar = _put_shard(ds_copy, name)
    with pytest.raises(MaskDepthError) as e:
        ds = MaskDepthDataset(ds_copy, "train")
        for i in range(len(ds)):
            ds[i]
    msg = str(e.value)
    assert str(tar) in msg and UNSAFE_OR_CORRUPT_SHARDS[name] in msg and "\n" not in msg, msg
    assert not (ds_copy.parent / "evil.json").exists() and not Path("/tmp/evil.json").exists()


TRAIN = ("train", "--model", "tiny", "--no-pretrained", "--max-steps", "1", "--batch-size", "1", "--quiet")


@pytest.mark.parametrize(
    "name,needle",
    [
        ("shard_traversal.tar", "unsafe member name"),
        ("shard_garbage.tar", "corrupt or truncated"),
        ("shard_bad_image.tar", "not a readable image"),
        ("shard_unknown_background.tar", "render__99999"),
    ],
)
def test_train_refuses_bad_shard(name, needle, ds_copy, tmp_path, capsys):
    _put_shard(ds_copy, name, only=True)
    run = tmp_path / "run"
    rc, _, err = run_cli(capsys, *TRAIN, "--data", ds_copy, "--run-dir", run, "--workers", "0")
    assert_one_line_error(rc, err, needle)
    assert not (run / "checkpoints" / "last.pt").exists()


def test_train_bad_shard_with_dataloader_workers_is_one_line(ds_copy, tmp_path, capsys):
    """With --workers > 0 the error is raised in a DataLoader worker process; torch re-raises it in the
    main process with the worker's traceback inside the message. The command must still print one line."""
    _put_shard(ds_copy, "shard_bad_image.tar", only=True)
    rc, _, err = run_cli(capsys, *TRAIN, "--data", ds_copy, "--run-dir", tmp_path / "run", "--workers", "1")
    assert_one_line_error(rc, err, "train-00000.tar", "not a readable image")


@pytest.mark.parametrize("name", ["shard_bad_json.tar", "shard_json_missing_keys.tar"])
def test_dataset_refuses_corrupt_sample_json(name, ds_copy, tmp_path, capsys):
    """A sample whose JSON does not parse, or lacks bg_id/depth_kind: one line naming the shard (training)."""
    tar = _put_shard(ds_copy, name, only=True)
    rc, _, err = run_cli(capsys, *TRAIN, "--data", ds_copy, "--run-dir", tmp_path / "run", "--workers", "0")
    assert_one_line_error(rc, err, str(tar), "train_0000000")


def test_dataset_detects_shard_cut_short_by_corrupt_header(ds_copy):
    """A member header corrupted mid-archive makes tarfile stop as if the archive ended: the dataset must
    notice (not silently drop the rest of the shard's samples)."""
    import tarfile

    from maskdepth.data.dataset import MaskDepthDataset

    tar = ds_copy / "shards" / "train-00000.tar"
    with tarfile.open(tar) as tf:
        members = tf.getmembers()
    b = bytearray(tar.read_bytes())
    m = members[len(members) // 2]
    b[m.offset + 148 : m.offset + 156] = b"garbage!"  # the header checksum field
    tar.write_bytes(bytes(b))
    n_index = json.loads((ds_copy / "shards" / "train-00000.json").read_text())["count"]
    with pytest.raises(MaskDepthError, match="corrupt or truncated shard"):
        ds = MaskDepthDataset(ds_copy, "train")
        assert sum(1 for t, _, _ in ds.items if t == tar) == n_index  # else: samples silently lost


def test_dataset_detects_shard_truncated_at_member_boundary(ds_copy):
    import tarfile

    from maskdepth.data.dataset import MaskDepthDataset

    tar = ds_copy / "shards" / "train-00000.tar"
    with tarfile.open(tar) as tf:
        members = tf.getmembers()
    cut = members[len(members) // 2]
    tar.write_bytes(tar.read_bytes()[: cut.offset])  # ends right before a member header: no zero blocks
    n_index = json.loads((ds_copy / "shards" / "train-00000.json").read_text())["count"]
    with pytest.raises(MaskDepthError):
        ds = MaskDepthDataset(ds_copy, "train")
        n = sum(1 for t, _, _ in ds.items if t == tar)
        assert n == n_index, f"{n} of {n_index} samples read, no error"


def test_dataset_verify_refuses_traversal(tmp_path, ds_copy, capsys):
    tar = _put_shard(ds_copy, "shard_traversal.tar")
    rc, _, err = run_cli(capsys, "dataset", "verify", ds_copy, "--quiet")
    # verify lists every problem it finds (one line each), then a summary; a refused shard is one of them
    assert rc != 0 and "Traceback" not in err, err
    assert any("unsafe member name" in ln and str(tar) in ln for ln in err.splitlines()), err
    assert not (ds_copy.parent / "evil.json").exists()


# --------------------------------------------------------------------------- YAML config
@pytest.mark.parametrize(
    "command,name,needle",
    [
        ("train", "config_malformed.yaml", "YAML"),
        ("train", "config_unknown_key.yaml", "batch_sise"),
        ("train", "config_wrong_type.yaml", "epochs"),
        ("train", "config_not_mapping.yaml", "mapping"),
        ("generate", "config_malformed.yaml", "YAML"),
        ("generate", "config_unknown_key.yaml", "batch_sise"),  # also unknown to generate
    ],
)
def test_bad_config_file(command, name, needle, tmp_path, capsys):
    args = {"train": ["train", "--data", tmp_path / "d", "--run-dir", tmp_path / "r"], "generate": ["generate", "--out", tmp_path / "o"]}[
        command
    ]
    rc, _, err = run_cli(capsys, *args, "--config", bad(name))
    assert_one_line_error(rc, err, name)
    assert needle.lower() in err.lower()
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- server (in process)
@pytest.fixture(scope="module")
def client(tiny_ck):
    from maskdepth.inference.predictor import load_predictor
    from maskdepth.serve.app import create_app

    app = create_app(load_predictor(str(tiny_ck)), model_name="tiny-test", max_upload_mb=2.0, max_pixels=2_000_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


SERVER_EXPECT = {
    **{n: 400 for n in READ_ERRORS},
    "bomb_declared_1gpx.png": 413,
    "bomb_declared_3gpx.jpg": 413,
    "bomb_100mpx_1bit.png": 413,
    "large_4000x3000.png": 413,
    "tiny_1x1.png": 400,
    "other_aspect_64x64.png": 400,
    **{n: 200 for n in PREDICT_OK_IMAGE},
}


def _assert_json_error(r, status):
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    msg = r.json()["error"]
    assert "\n" not in msg and "Traceback" not in msg and 'File "' not in msg
    return msg


@pytest.mark.parametrize("name", sorted(SERVER_EXPECT))
def test_server_corpus(name, client):
    bg = bad("good_bg.png").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = client.post(
            "/predict", files={"bg": ("bg.png", bg, "image/png"), "image": (name, bad(name).read_bytes(), "application/octet-stream")}
        )
    want = SERVER_EXPECT[name]
    if want == 200:
        assert r.status_code == 200, r.text[:300]
        assert r.json()["stats"]["width"] == 64
    else:
        msg = _assert_json_error(r, want)
        assert msg.startswith("image") or "different framing" in msg, msg  # names the part


def test_upload_filenames_cannot_escape(client, tmp_path, monkeypatch):
    """Multipart file names like ../../etc/passwd are never used as paths: nothing is written outside
    the server's temp dir (in fact nothing is written at all: uploads stay in memory), temp files are gone."""
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    passwd_before = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() if Path("/etc/passwd").exists() else None
    before = {p for p in tmp_path.rglob("*")}
    bg, img = bad("good_bg.png").read_bytes(), bad("good_image.png").read_bytes()
    names = [
        "../../etc/passwd",
        "../../../../../../etc/passwd",
        "/etc/passwd",
        "..\\..\\evil.png",
        "evil\x00.png",
        "a/../../x.png",
        "%2e%2e%2fetc%2fpasswd",
        "." * 300,
        "ok.png",
    ]
    for n in names:
        r = client.post("/predict", files={"bg": (n, bg, "image/png"), "image": (n, img, "image/png")})
        assert r.status_code == 200, (n, r.text[:200])
        r = client.post("/predict", files={"bg": (n, bg, "image/png"), "image": (n, b"not an image", "image/png")})
        _assert_json_error(r, 400)
    after = {p for p in tmp_path.rglob("*")}
    assert after == before, f"files appeared: {sorted(map(str, after - before))}"
    assert not list(spool.iterdir()), "temporary files left behind"
    if passwd_before:
        assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() == passwd_before
    assert not (tmp_path / "a" / "etc").exists() and not (tmp_path / "evil.png").exists()


# --------------------------------------------------------------------------- server (real uvicorn): burst of malformed requests
def _raw(port: int, data: bytes, read: bool = True, pause: float = 0.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        if pause:
            time.sleep(pause)
        if not read:
            return b""
        chunks = []  # (no half-close: uvicorn takes EOF from the client as a disconnect and drops the request)
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except OSError:
            pass
        return b"".join(chunks)


def _multipart(parts: list[tuple[str, str, bytes, str]], boundary: str = "zzBOUNDARYzz") -> tuple[bytes, str]:
    body = b""
    for field, filename, data, ctype in parts:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _post(port: int, path: str, body: bytes, ctype: str, extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    return _raw(port, head.encode() + body)


def _status(resp: bytes) -> int:
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def test_server_survives_burst_of_malformed_requests(tiny_ck, tmp_path):
    port = free_port()
    log = open(tmp_path / "server.log", "w+")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maskdepth.cli",
            "serve",
            "--checkpoint",
            str(tiny_ck),
            "--port",
            str(port),
            "--max-upload-mb",
            "1",
            "--queue",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=str(tmp_path),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import urllib.request

        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.time() < deadline, "server did not start"
            time.sleep(0.2)
        bg, img = bad("good_bg.png").read_bytes(), bad("good_image.png").read_bytes()
        good_body, good_ct = _multipart([("bg", "bg.png", bg, "image/png"), ("image", "i.png", img, "image/png")])
        cases = [
            lambda: _raw(port, b"\x00\xff garbage that is not HTTP at all\r\n\r\n"),
            lambda: _raw(port, b"GET / HTTP/9.9\r\n\r\n"),
            lambda: _raw(port, b"BREW /predict HTTP/1.1\r\nHost: x\r\n\r\n"),
            lambda: _raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n"),
            lambda: _raw(port, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nshort", read=False),  # client gives up
            lambda: _raw(port, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"),
            lambda: _raw(port, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
            lambda: _raw(
                port,
                b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: multipart/form-data; boundary=q\r\n\r\nZZZ\r\n",
            ),
            lambda: _raw(port, b"POST /predict HTTP/1.1\r\nHost: x\r\n", pause=0.3, read=False),  # slow, incomplete headers
            lambda: _post(port, "/predict", good_body, "multipart/form-data; boundary=WRONG"),
            lambda: _post(port, "/predict", good_body[: len(good_body) // 2], good_ct),
            lambda: _post(port, "/predict", b"--zzBOUNDARYzz\r\nContent-Disposition: form-data\r\n\r\n", good_ct),
            lambda: _post(port, "/predict", b'{"bg": 1}', "application/json"),
            lambda: _post(port, "/predict", b"bg=1&image=2", "application/x-www-form-urlencoded"),
            lambda: _post(
                port,
                "/predict",
                _multipart([("bg", "../../etc/passwd", bg, "image/png"), ("image", "../x", b"\x89PNG junk", "image/png")])[0],
                good_ct,
            ),
            lambda: _post(
                port,
                "/predict",
                _multipart([("bg", "b", bad("bomb_declared_1gpx.png").read_bytes(), "image/png"), ("image", "i", img, "image/png")])[0],
                good_ct,
            ),
            lambda: _post(port, "/predict", _multipart([("f%d" % i, "x", b"x", "text/plain") for i in range(1200)])[0], good_ct),
            lambda: _post(port, "/predict", _multipart([("bg", "b", bg, "text/html"), ("image", "i", img, "image/png")])[0], good_ct),
            lambda: _post(port, "/predict", os.urandom(3000), good_ct),
            lambda: _post(port, "/predict/../../etc/passwd", good_body, good_ct),
            lambda: _raw(port, b"GET /static/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            lambda: _raw(port, b"GET /static/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            lambda: _raw(port, b"GET /example/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ]
        statuses: dict[int, int] = {}
        bodies = []
        lock = threading.Lock()

        def worker(k):
            for j in range(k, len(cases) * 6, 8):  # every case 6 times, 8 concurrent connections
                try:
                    resp = cases[j % len(cases)]()
                except OSError:
                    resp = b""
                with lock:
                    statuses[_status(resp)] = statuses.get(_status(resp), 0) + 1
                    bodies.append(resp)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert proc.poll() is None, "server died"
        assert not any(500 <= s < 600 and s != 503 for s in statuses), statuses
        for resp in bodies:
            assert b"Traceback" not in resp and b'File "' not in resp
            assert b"root:x:0:0" not in resp, "served /etc/passwd"
        # still healthy, and a good request still works
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
            assert json.loads(r.read())["status"] == "ok"
        ok = _post(port, "/predict", good_body, good_ct)
        assert _status(ok) == 200, ok[:300]
        print(f"burst of {sum(statuses.values())} malformed requests, statuses {dict(sorted(statuses.items()))}")
        assert not list(tmp_path.glob("**/passwd")) and not list(tmp_path.glob("**/x"))
    finally:
        stop_process(proc)
        log.seek(0)
        server_log = log.read()
        log.close()
    assert "Traceback" not in server_log, server_log[-3000:]
