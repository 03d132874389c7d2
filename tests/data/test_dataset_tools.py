"""``maskdepth dataset stats|show|verify`` on small generated datasets: a clean dataset verifies;
a flipped byte inside a member's data, a missing background, a mask with bad values and a
stray shard are each reported on one line naming the file, with a non-zero exit."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import numpy as np
import pytest
from PIL import Image

from maskdepth.cli import main
from maskdepth.data.tools import dataset_stats, verify_dataset
from tests.helpers import generate_dataset


@pytest.fixture(scope="module")
def ds(tmp_path_factory, bg_dir, rgbd_dir):
    out = tmp_path_factory.mktemp("tools") / "ds"
    generate_dataset(out, bg_dir=str(bg_dir), rgbd_dir=str(rgbd_dir), render=2, procedural_fg=4, n_samples=40, size=64, shard_size=16)
    return out


def run(capsys, *args):
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_verify_clean_dataset(ds, capsys):
    rc, out, err = run(capsys, "dataset", "verify", ds, "--quiet", "--workers", "2")
    assert rc == 0, err
    assert "OK" in out and "40 samples" in out
    probs, summ = verify_dataset(ds)
    assert probs == [] and summ["samples"] == 40


def _flip_member_byte(tar_path, member_suffix):
    with tarfile.open(tar_path) as tf:
        m = next(m for m in tf.getmembers() if m.name.endswith(member_suffix))
    data = bytearray(tar_path.read_bytes())
    pos = m.offset_data + m.size // 2
    data[pos] ^= 0xFF
    tar_path.write_bytes(bytes(data))
    return m.name


def test_verify_catches_a_flipped_byte(ds, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(ds, bad)
    name = _flip_member_byte(bad / "shards" / "train-00001.tar", ".fg_bg.jpg")
    rc, out, err = run(capsys, "dataset", "verify", bad, "--quiet", "--workers", "1")
    assert rc == 1
    lines = err.strip().splitlines()
    assert any("shards/train-00001.tar" in ln and "sha256" in ln for ln in lines), err
    assert all(ln.startswith("maskdepth: verify: ") for ln in lines)
    assert "problem(s)" in lines[-1]
    assert not any("train-00000" in ln for ln in lines)  # other shards are fine
    del name


def test_verify_catches_other_problems(ds, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(ds, bad)
    man = json.loads((bad / "manifest.json").read_text())
    # a background file goes missing
    b = man["backgrounds"][0]["id"].replace("/", "__")
    (bad / "backgrounds" / f"{b}.png").unlink()
    # a mask with a value other than 0/255, re-packed with a matching index (so only the content is wrong)
    t = bad / "shards" / "val-00000.tar"
    with tarfile.open(t) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for m, data in members:
            if m.name.endswith(".mask.png"):
                a = np.zeros((64, 64), np.uint8)
                a[3, 3] = 128
                b2 = io.BytesIO()
                Image.fromarray(a).save(b2, format="PNG")
                data = b2.getvalue()
                m.size = len(data)
            tf.addfile(m, io.BytesIO(data))
    t.write_bytes(buf.getvalue())
    idx = json.loads((bad / "shards" / "val-00000.json").read_text())
    import hashlib

    idx["sha256"] = hashlib.sha256(t.read_bytes()).hexdigest()
    (bad / "shards" / "val-00000.json").write_text(json.dumps(idx))
    shutil.copy(bad / "shards" / "train-00000.tar", bad / "shards" / "train-00099.tar")  # stray
    probs, _ = verify_dataset(bad)
    text = "\n".join(probs)
    assert f"backgrounds/{b}.png: missing" in text
    assert "val-00000.tar:val_" in text and "values other than 0 and 255" in text
    assert "train-00099.tar: not in the manifest" in text


def test_stats_and_recompute(ds, capsys):
    rc, out, err = run(capsys, "dataset", "stats", ds)
    assert rc == 0 and "samples: 40" in out and "fg_bg mean" in out
    rc, out, _ = run(capsys, "dataset", "stats", ds, "--json")
    st = json.loads(out)
    assert st["samples"] == 40
    re = dataset_stats(ds, recompute=True, workers=2)
    assert re["samples"] == 40 and re["samples_per_split"] == st["samples_per_split"]
    np.testing.assert_allclose(re["fg_bg"]["mean"], st["fg_bg"]["mean"], atol=3e-3)  # JPEG vs pre-JPEG pixels
    np.testing.assert_allclose(re["fg_bg"]["std"], st["fg_bg"]["std"], atol=3e-3)
    assert re["mask_fraction_mean"] == pytest.approx(st["mask_fraction_mean"], abs=1e-9)
    assert re["depth_kinds"] == st["depth_kinds"]
    assert re["metric_depth_m"]["valid_pixels"] == st["metric_depth_m"]["valid_pixels"]
    assert re["metric_depth_m"]["mean"] == pytest.approx(st["metric_depth_m"]["mean"], rel=1e-6)
    rc, out, _ = run(capsys, "dataset", "stats", ds, "--recompute", "--write", "--quiet")
    assert rc == 0 and (ds / "stats_recomputed.json").exists()
    (ds / "stats_recomputed.json").unlink()


def test_show_contact_sheet(ds, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    rc, o, err = run(capsys, "dataset", "show", ds, "-n", "5", "--out", out, "--cell", "64", "--split", "train")
    assert rc == 0, err
    im = np.asarray(Image.open(out))
    assert im.shape == (18 + 5 * 66 + 2, 4 * 66 + 2, 3)
    rc, _, err = run(capsys, "dataset", "show", tmp_path / "nothing", "--out", tmp_path / "x.png")
    assert rc == 2 and "manifest" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()
    rc, _, err = run(capsys, "dataset", "show", ds, "-n", "0", "--out", tmp_path / "x.png")  # checked by the library, named
    assert rc == 2 and "-n must be at least 1, got 0" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_dataset_and_teacher_actions_read_a_config(ds, tmp_path, capsys):
    """`--config FILE` works for the commands with an action as for the others: a flat file or a section named with the
    action (`dataset stats`), flags over the file, `config show` prints what would run, and a bad key is one line."""
    flat = tmp_path / "stats.yaml"
    flat.write_text("json: true\nworkers: 1\n")
    rc, out, err = run(capsys, "dataset", "stats", ds, "--config", flat)
    assert rc == 0, err
    assert json.loads(out)["samples"] == 40  # JSON, as the file says
    sectioned = tmp_path / "all.yaml"
    sectioned.write_text(
        "dataset stats:\n  json: true\ndataset verify:\n  workers: 1\n  quiet: true\nteacher download:\n  cache_dir: /tmp/c\n"
    )
    rc, out, _ = run(capsys, "config", "show", "dataset", "verify", ds, "--config", sectioned, "--workers", "2")
    assert rc == 0 and "dataset verify:" in out and "workers: 2" in out and "quiet: true" in out  # the flag wins
    rc, out, _ = run(capsys, "config", "show", "teacher", "download", "midas_v21_small_256", "--config", sectioned)
    assert rc == 0 and "cache_dir: /tmp/c" in out
    rc, out, _ = run(capsys, "dataset", "verify", ds, "--config", sectioned)
    assert rc == 0 and "OK" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("jsn: true\n")
    rc, _, err = run(capsys, "dataset", "stats", ds, "--config", bad)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "jsn" in err
