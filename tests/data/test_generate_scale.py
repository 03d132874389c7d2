"""Generation at scale (maskdepth.data.generate): grid mode enumerates exactly bgs x fgs x flips x
placements per split with whole backgrounds and foregrounds held out; presets; byte-identical
output whatever the worker count or cutout-cache size; resume after a run killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from maskdepth.data import shards
from maskdepth.data.dataset import MaskDepthDataset
from maskdepth.data.generate import generate
from maskdepth.data.generate_config import GenerateConfig, config_from_preset, grid_from_args
from maskdepth.data.plan import plan_sources, shard_list, split_counts
from maskdepth.errors import MaskDepthError
from tests.helpers import REPO

GRID = {"bgs": {"train": 3, "val": 1, "test": 1}, "fgs": {"train": 2, "val": 1, "test": 1}, "flips": 2, "placements": 3}


def grid_cfg(out, **kw):
    return config_from_preset("small20k", out_dir=str(out), grid=GRID, size=64, shard_size=12, **kw)


@pytest.fixture(scope="module")
def grid_ds(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "ds"
    man = generate(grid_cfg(out), workers=1, quiet=True)
    return out, man


def test_grid_enumerates_the_exact_product(grid_ds):
    out, man = grid_ds
    assert man["split_counts"] == {"train": 36, "val": 6, "test": 6}
    sel_b, sel_f = man["grid"]["backgrounds"], man["grid"]["foregrounds"]
    assert {sp: len(v) for sp, v in sel_b.items()} == GRID["bgs"] and {sp: len(v) for sp, v in sel_f.items()} == GRID["fgs"]
    # held out whole: no background or foreground in two splits
    for sel in (sel_b, sel_f):
        ids = [i for v in sel.values() for i in v]
        assert len(ids) == len(set(ids))
    split_of = {b["id"]: b["split"] for b in man["backgrounds"]} | {f["id"]: f["split"] for f in man["foregrounds"]}
    for sp in ("train", "val", "test"):
        ds = MaskDepthDataset(out, sp)
        combos = set()
        for i in range(len(ds)):
            m = ds.raw(i)["meta"]
            g = m["grid"]
            assert m["bg_id"] == sel_b[sp][g["bg"]] and m["fg_id"] == sel_f[sp][g["fg"]]
            assert split_of[m["bg_id"]] == split_of[m["fg_id"]] == sp
            assert m["placement"]["flip"] == bool(g["flip"])
            combos.add((g["bg"], g["fg"], g["flip"], g["placement"]))
        nb, nf = GRID["bgs"][sp], GRID["fgs"][sp]
        assert combos == {(b, f, fl, p) for b in range(nb) for f in range(nf) for fl in range(2) for p in range(3)}
    # the permutation spreads backgrounds over shards
    first = MaskDepthDataset(out, "train", limit=12)
    assert len({first.raw(i)["meta"]["bg_id"] for i in range(12)}) >= 2


def test_grid_same_bytes_any_workers_and_cache_size(grid_ds, tmp_path, monkeypatch):
    out, man = grid_ds
    generate(grid_cfg(tmp_path / "w2"), workers=2, quiet=True)
    monkeypatch.setattr(shards, "CUTOUT_CACHE_BYTES", 1)  # evict every resized cutout at once
    generate(grid_cfg(tmp_path / "nocache"), workers=1, quiet=True)
    for sh in man["shards"]:
        ref = (out / "shards" / f"{sh['name']}.tar").read_bytes()
        assert (tmp_path / "w2" / "shards" / f"{sh['name']}.tar").read_bytes() == ref
        assert (tmp_path / "nocache" / "shards" / f"{sh['name']}.tar").read_bytes() == ref


def test_presets():
    c = config_from_preset("classic400k", out_dir="x")
    assert c.size == 224 and c.preset == "classic400k"
    assert split_counts(c) == {"train": 400_000, "val": 4_000, "test": 4_000}
    assert sum(s["count"] for s in shard_list(c)) == 408_000 and len(shard_list(c)) == 408
    # embedded sources: just enough rooms / silhouettes for every split of the grid
    bgs, fgs = plan_sources(c)
    for sp in ("train", "val", "test"):
        assert sum(b.split == sp for b in bgs) >= c.grid["bgs"][sp]
        assert sum(f.split == sp for f in fgs) >= c.grid["fgs"][sp]
    c = config_from_preset("small20k", out_dir="x")
    assert split_counts(c)["train"] == 20_000 and c.size == 128
    c = config_from_preset("tiny", out_dir="x")
    assert (c.size, c.n_samples, c.render, c.procedural_fg) == (64, 200, 8, 8)
    c = config_from_preset("classic400k", out_dir="x", bg_dir="photos", procedural_fg=None, size=128)
    assert c.render == 0 and c.size == 128 and c.procedural_fg > 0  # given sources are kept, explicit settings win
    with pytest.raises(MaskDepthError, match="unknown preset"):
        config_from_preset("huge", out_dir="x")
    assert grid_from_args("classic400k", None, None, None, 5)["placements"] == 5
    assert grid_from_args(None, "4,1,1", "3,1,0", None, None) == {
        "bgs": {"train": 4, "val": 1, "test": 1},
        "fgs": {"train": 3, "val": 1, "test": 0},
        "flips": 2,
        "placements": 1,
    }
    with pytest.raises(MaskDepthError, match="^grid_bgs must be three counts") as e:
        grid_from_args(None, "4,1", "3,1,1", None, None)
    assert e.value.param == "grid_bgs"
    with pytest.raises(MaskDepthError, match="needs grid_bgs and grid_fgs"):
        grid_from_args(None, None, None, 2, None)


def test_grid_needs_enough_sources(tmp_path, bg_dir, fg_dir):
    cfg = GenerateConfig(
        out_dir=str(tmp_path / "g"),
        bg_dir=str(bg_dir),
        fg_dir=str(fg_dir),
        size=64,
        grid=GRID | {"bgs": {"train": 50, "val": 0, "test": 0}},
    )
    with pytest.raises(MaskDepthError, match="needs 50 backgrounds"):
        generate(cfg, workers=1, quiet=True)
    assert not (tmp_path / "g").exists()


def test_cli_grid_options(tmp_path, capsys):
    from maskdepth.cli import main

    rc = main(["generate", "--out", str(tmp_path / "a"), "--preset", "classic400k", "-n", "10"])
    err = capsys.readouterr().err
    assert rc == 2 and "grid mode" in err
    rc = main(
        [
            "generate",
            "--out",
            str(tmp_path / "b"),
            "--render",
            "6",
            "--procedural-fg",
            "6",
            "--grid-bgs",
            "2,0,0",
            "--grid-fgs",
            "2,0,0",
            "--flips",
            "1",
            "--placements",
            "2",
            "--size",
            "64",
            "--workers",
            "1",
            "--quiet",
            "--val-frac",
            "0",
            "--test-frac",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "8 samples" in out


# --------------------------------------------------------------------------- resume after SIGKILL
ARGS = [
    "generate",
    "--render",
    "3",
    "--procedural-fg",
    "3",
    "-n",
    "2400",
    "--size",
    "64",
    "--shard-size",
    "300",
    "--seed",
    "5",
    "--workers",
    "1",
    "--quiet",
]


def _cli(*args, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "maskdepth.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, **kw
    )


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    killed, ref = tmp_path / "killed", tmp_path / "ref"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen(
        [sys.executable, "-m", "maskdepth.cli", *ARGS, "--out", str(killed)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    t0 = time.time()
    try:
        while not list((killed / "shards").glob("*.tar")):  # first shard done: the second is under way
            assert p.poll() is None, "generation ended before it could be killed; make it longer"
            assert time.time() - t0 < 120
            time.sleep(0.01)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert not (killed / "manifest.json").exists()
    done = sorted(x.name for x in (killed / "shards").glob("*.tar"))
    assert 1 <= len(done) < 9
    (killed / "shards" / "train-00003.tar.abc.tmp").write_bytes(b"half a shard")  # what a kill inside a write leaves
    r = _cli(*ARGS, "--out", str(killed), "--resume")
    assert r.returncode == 0, r.stderr
    assert not list(killed.glob("*/*.tmp"))
    r = _cli(*ARGS, "--out", str(ref))
    assert r.returncode == 0, r.stderr
    names = sorted(x.name for x in (ref / "shards").iterdir())
    assert names == sorted(x.name for x in (killed / "shards").iterdir()) and len(names) == 18  # 9 shards + indices
    for n in names:
        assert (killed / "shards" / n).read_bytes() == (ref / "shards" / n).read_bytes(), n
    assert (killed / "stats.json").read_bytes() == (ref / "stats.json").read_bytes()
    man_k, man_r = (json.loads((d / "manifest.json").read_text()) for d in (killed, ref))
    assert man_k["shards"] == man_r["shards"] and man_k["complete"]
    r = _cli("dataset", "verify", str(killed), "--quiet")
    assert r.returncode == 0, r.stderr
