"""Realism augmentations (maskdepth.data.augment): parsing, deterministic and independent draws,
each augmentation's effect on images and labels, and in generated datasets: recorded per sample,
deterministic, and --no-aug reproduces the same composites without them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskdepth.data import augment as A
from maskdepth.data.dataset import MaskDepthDataset
from maskdepth.errors import MaskDepthError
from tests.helpers import generate_dataset


# --------------------------------------------------------------------------- parsing and draws
def test_parse_aug():
    assert A.parse_aug(None) == A.DEFAULT_AUG
    assert A.parse_aug("noise=0") == {k: v for k, v in A.DEFAULT_AUG.items() if k != "noise"}
    assert A.parse_aug("shadow=1,jpeg=0.25")["shadow"] == 1.0
    assert A.parse_aug("none") == {} and A.parse_aug("off") == {}
    for bad in ("blur=0.5", "shadow", "shadow=2", "shadow=x"):
        with pytest.raises(MaskDepthError, match="^aug items must be|^aug probability") as e:  # names the parameter (the CLI shows --aug)
            A.parse_aug(bad)
        assert e.value.param == "aug"


def test_draw_is_deterministic_and_independent():
    p_all = {k: 1.0 for k in A.AUG_NAMES}
    a = A.draw(np.random.default_rng([1, 2, 3]), p_all, 224)
    b = A.draw(np.random.default_rng([1, 2, 3]), p_all, 224)
    assert a == b and set(a) == set(A.AUG_NAMES)
    json.dumps(a)  # JSON-serialisable
    # switching one augmentation off leaves the others' parameters unchanged
    c = A.draw(np.random.default_rng([1, 2, 3]), {**p_all, "shadow": 0.0}, 224)
    assert "shadow" not in c and all(c[k] == a[k] for k in c)
    assert A.draw(np.random.default_rng(0), {}, 224) == {}
    # the generator is consumed identically whatever the probabilities
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    A.draw(r1, p_all, 64)
    A.draw(r2, {}, 64)
    assert r1.random() == r2.random()
    # ranges
    for s in range(200):
        d = A.draw(np.random.default_rng(s), p_all, 224)
        assert 25 <= d["jpeg"]["quality"] <= 95
        assert abs(d["misalign"]["dx"]) <= 0.016 * 224 + 1e-9 and abs(d["misalign"]["rot_deg"]) <= 1
        assert 1 <= d["noise"]["sigma"] <= 8 and 0.8 - 1e-6 <= d["exposure"]["gain"] <= 1.25 + 1e-6


def test_augmentations_cover_the_robustness_evaluation():
    """The generator trains at the strengths `maskdepth evaluate` tests (issue 13): exposure x0.8 and
    x1.2, a 2-px camera shift, JPEG quality 30, noise sigma 6, at the training size 128."""
    p_all = {k: 1.0 for k in A.AUG_NAMES}
    draws = [A.draw(np.random.default_rng(s), p_all, 128) for s in range(2000)]
    gains = [d["exposure"]["gain"] for d in draws]
    assert min(gains) <= 0.81 and max(gains) >= 1.2
    shifts = [max(abs(d["misalign"]["dx"]), abs(d["misalign"]["dy"])) for d in draws]
    assert max(shifts) >= 2.0
    assert min(d["jpeg"]["quality"] for d in draws) <= 30
    assert max(d["noise"]["sigma"] for d in draws) >= 6.0
    # and they are the evaluation's arithmetic: a pure gain is perturb.exposure, noise is perturb.add_noise
    from maskdepth.evaluate import perturb as P

    img = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(A.exposure(img, {"gain": 0.8, "gamma": 1.0, "bias": 0.0, "wb": [1, 1, 1]}), P.exposure(img, 0.8))
    bank = A.noise_bank(0, 16)
    np.testing.assert_array_equal(
        A.add_noise(img, {"sigma": 6.0, "ox": 0, "oy": 0, "sign": 1}, bank), P.add_noise(img, bank[:16, :16], 6.0)
    )


# --------------------------------------------------------------------------- effects
def _scene(S=64):
    rng = np.random.default_rng(0)
    bg = np.clip(rng.normal(150, 20, (S, S, 3)), 0, 255).astype(np.uint8)
    alpha = np.zeros((30, 12), np.float32)
    alpha[2:, 2:10] = 1.0
    return bg, alpha


def test_contact_shadow_darkens_the_floor_near_the_feet_only():
    bg, alpha = _scene()
    p = {"opacity": 0.5, "squash": 0.3, "shear": 0.5, "blur": 0.04, "contact_opacity": 0.6}
    out = A.contact_shadow(bg, alpha, x0=20, y0=20, params=p)  # feet on row 49
    assert out.shape == bg.shape and out.dtype == np.uint8
    diff = bg.astype(int) - out.astype(int)
    assert diff.min() >= 0 and diff.max() > 20  # only darker
    rows = np.nonzero(diff.max(axis=(1, 2)) > 2)[0]
    assert rows.min() >= 49 - 30 * 0.3 - 6 and rows.max() <= 49 + 6  # a squashed band about the contact row
    assert (diff[:30] == 0).all()  # nothing above the projected shadow changes
    # a nearer occluder in front of the foreground is not darkened
    depth = np.full(bg.shape[:2], 4.0, np.float32)
    depth[40:, :] = 1.0
    occl = A.contact_shadow(bg, alpha, 20, 20, p, bg_depth=depth, fg_depth=4.0)
    np.testing.assert_array_equal(occl[40:], bg[40:])


def test_exposure_and_noise():
    bg, _ = _scene()
    p = {"gain": 1.2, "gamma": 1.0, "bias": 0.0, "wb": [1.0, 1.0, 1.0]}
    out = A.exposure(bg, p)
    np.testing.assert_array_equal(out, np.clip(np.rint(bg * 1.2), 0, 255).astype(np.uint8))
    lut_mono = A.exposure(
        np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2), {"gain": 0.9, "gamma": 1.1, "bias": -5, "wb": [1, 1.02, 0.97]}
    )
    assert (np.diff(lut_mono.reshape(-1, 3).astype(int), axis=0) >= 0).all()  # monotonic per channel
    bank = A.noise_bank(0, 64)
    assert bank.shape == (128, 128, 3) and bank.dtype == np.float32
    np.testing.assert_array_equal(bank, A.noise_bank(0, 64))
    n = A.add_noise(bg, {"sigma": 3.0, "ox": 10, "oy": 64, "sign": -1}, bank)
    d = n.astype(float) - bg
    assert 2.0 < d.std() < 4.0 and abs(d.mean()) < 0.5


def test_misalign_moves_image_and_labels_together():
    S = 64
    img = np.zeros((S, S, 3), np.uint8)
    img[20:40, 25:35] = 255
    mask = img[..., 0] > 0
    depth = np.where(mask, np.float32(2.0), np.float32(5.0))
    p = {"dx": 2.0, "dy": -1.0, "rot_deg": 0.0}
    out, m, d, M = A.misalign(img, mask, depth, p)
    np.testing.assert_array_equal(m, np.roll(np.roll(mask, -1, axis=0), 2, axis=1))
    np.testing.assert_array_equal(d[m], 2.0)
    np.testing.assert_array_equal(d[~m], 5.0)
    np.testing.assert_array_equal(out[..., 0] > 127, m)
    assert M == [[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]
    _, m2, _, M2 = A.misalign(img, mask, None, {"dx": 0.3, "dy": 0.2, "rot_deg": 0.8})
    assert abs(int(m2.sum()) - int(mask.sum())) <= 0.1 * mask.sum() and M2[0][1] != 0


# --------------------------------------------------------------------------- in generated datasets
CFG = dict(render=3, procedural_fg=4, n_samples=60, size=64, shard_size=30, val_frac=0.0, test_frac=0.0)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("aug")
    on = generate_dataset(d / "on", aug={k: 0.35 for k in A.AUG_NAMES}, **CFG)
    off = generate_dataset(d / "off", aug={}, **CFG)
    return d / "on", d / "off", on, off


def test_augmentations_recorded_and_deterministic(pair, tmp_path):
    on, _, man, _ = pair
    ds = MaskDepthDataset(on, "train")
    counts = {k: 0 for k in A.AUG_NAMES}
    for i in range(len(ds)):
        meta = ds.raw(i)["meta"]
        for k in meta["aug"]:
            counts[k] += 1
        q = meta["aug"]["jpeg"]["quality"] if "jpeg" in meta["aug"] else 95
        assert meta["jpeg_quality"] == q
    assert all(8 <= c <= 35 for c in counts.values()), counts  # p = 0.35 of 60
    stats = json.loads((on / "stats.json").read_text())
    assert stats["augmentations"] == counts
    assert man["augmentation"]["probabilities"] == {k: 0.35 for k in A.AUG_NAMES}
    again = generate_dataset(tmp_path / "again", aug={k: 0.35 for k in A.AUG_NAMES}, **CFG)
    assert again["shards"] == man["shards"]
    for sh in man["shards"]:
        assert (tmp_path / "again" / "shards" / f"{sh['name']}.tar").read_bytes() == (on / "shards" / f"{sh['name']}.tar").read_bytes()


def test_no_aug_reproduces_the_composites(pair):
    on, off, _, _ = pair
    a, b = MaskDepthDataset(on, "train"), MaskDepthDataset(off, "train")
    assert len(a) == len(b) == 60
    n_same = 0
    for i in range(len(a)):
        ra, rb = a.raw(i), b.raw(i)
        ma, mb = ra["meta"], rb["meta"]
        assert mb["aug"] == {} and mb["jpeg_quality"] == 95
        for k in ("bg_id", "fg_id", "placement", "depth_kind"):
            assert ma[k] == mb[k]  # same composite ...
        augs = set(ma["aug"])
        if "misalign" not in augs:
            # ... and shadow, exposure, noise and JPEG change fg_bg only, never the labels
            np.testing.assert_array_equal(ra["mask"], rb["mask"])
            np.testing.assert_array_equal(ra["depth"], rb["depth"])
        if not augs:
            tar_a, key, fa = a.items[i]
            tar_b, _, fb = b.items[i]
            assert a._read(tar_a, fa["fg_bg.jpg"]) == b._read(tar_b, fb["fg_bg.jpg"])
            n_same += 1
        elif augs == {"shadow"}:
            diff = rb["fg_bg"].astype(int) - ra["fg_bg"].astype(int)
            assert diff.sum() > 0 and diff.max() > 5  # darker (JPEG spreads it over 8x8 blocks, so not "exactly where")
    assert n_same >= 1


def test_no_aug_cli_and_bad_aug(tmp_path, capsys):
    from maskdepth.cli import main

    rc = main(
        [
            "generate",
            "--out",
            str(tmp_path / "x"),
            "--render",
            "1",
            "--procedural-fg",
            "1",
            "-n",
            "4",
            "--size",
            "64",
            "--workers",
            "1",
            "--quiet",
            "--no-aug",
        ]
    )
    assert rc == 0
    cfg = json.loads((tmp_path / "x" / "generate_config.json").read_text())
    assert cfg["aug"] == {}
    with pytest.raises(SystemExit) as e:  # a bad --aug is a usage error of the flag (argparse), before any work
        main(
            [
                "generate",
                "--out",
                str(tmp_path / "y"),
                "--render",
                "1",
                "--procedural-fg",
                "1",
                "-n",
                "4",
                "--size",
                "64",
                "--aug",
                "blur=1",
            ]
        )
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--aug" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "y").exists()
    rc = main(
        [
            "generate",
            "--out",
            str(tmp_path / "z"),
            "--render",
            "1",
            "--procedural-fg",
            "1",
            "-n",
            "4",
            "--size",
            "64",
            "--workers",
            "1",
            "--quiet",
            "--aug",
            "shadow=1,noise=0",
        ]
    )
    assert rc == 0
    cfg = json.loads((tmp_path / "z" / "generate_config.json").read_text())
    assert cfg["aug"]["shadow"] == 1.0 and "noise" not in cfg["aug"]
