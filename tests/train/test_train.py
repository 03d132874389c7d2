"""Training loop (maskdepth.train.loop) and checkpoints (maskdepth.checkpoint): the loss goes down,
resume continues exactly, checkpoints hold the training state, bad checkpoints are refused."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch

import maskdepth.train.loop as T
from maskdepth.checkpoint import load_model, read_checkpoint, save_checkpoint
from maskdepth.errors import MaskDepthError
from maskdepth.model import create_model
from tests.helpers import TINY_TRAIN


def cfg(data, run, **kw):
    return T.TrainConfig(data=str(data), run_dir=str(run), **{**TINY_TRAIN, **kw})


def weights(path) -> dict:
    return read_checkpoint(path)["state_dict"]


def test_loss_goes_down(tiny_dataset, tmp_path):
    s = T.train(cfg(tiny_dataset, tmp_path / "run", max_steps=16), quiet=True)
    assert s["steps"] == 16 and s["total_steps"] == 16
    losses = [h["train_loss_total"] for h in s["history"] if "train_loss_total" in h]
    assert len(losses) == 16 and all(math.isfinite(x) for x in losses)
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.92 * first, (first, last)
    val = [h for h in s["history"] if "val_loss_total" in h]
    assert val and math.isfinite(val[-1]["val_loss_total"])
    assert (tmp_path / "run" / "summary.json").exists() and (tmp_path / "run" / "train_config.json").exists()


class _Killed(Exception):
    pass


def test_resume_continues_exactly(tiny_dataset, tmp_path, monkeypatch):
    """8 steps in one go == 4 steps, killed right after the step-4 checkpoint, then --resume."""
    kw = dict(max_steps=8, ckpt_every=4)  # 12 steps an epoch: step 4 is mid-epoch
    one = T.train(cfg(tiny_dataset, tmp_path / "one", **kw), quiet=True)

    real_save = T.save_checkpoint

    def save_then_die(path, model, train_state=None, meta=None):
        real_save(path, model, train_state, meta)
        if train_state["step"] == 4:
            raise _Killed

    monkeypatch.setattr(T, "save_checkpoint", save_then_die)
    with pytest.raises(_Killed):
        T.train(cfg(tiny_dataset, tmp_path / "two", **kw), quiet=True)
    monkeypatch.setattr(T, "save_checkpoint", real_save)
    assert read_checkpoint(tmp_path / "two" / "checkpoints" / "last.pt")["train"]["step"] == 4
    with pytest.raises(MaskDepthError, match="resume"):  # a run dir with a checkpoint needs --resume
        T.train(cfg(tiny_dataset, tmp_path / "two", **kw), quiet=True)

    two = T.train(cfg(tiny_dataset, tmp_path / "two", **kw), resume=True, quiet=True)
    assert two["steps"] == 8
    ck1, ck2 = read_checkpoint(one["checkpoint"]), read_checkpoint(two["checkpoint"])
    assert ck2["train"]["step"] == 8 and ck2["meta"]["steps"] == 8
    h1 = [(h["step"], h["train_loss_total"]) for h in ck1["train"]["history"] if "train_loss_total" in h]
    h2 = [(h["step"], h["train_loss_total"]) for h in ck2["train"]["history"] if "train_loss_total" in h]
    assert [s for s, _ in h2] == list(range(1, 9))  # the step counter continued from 4
    np.testing.assert_allclose([x for _, x in h2], [x for _, x in h1], rtol=1e-5)
    for k, v in ck1["state_dict"].items():
        assert torch.allclose(v.float(), ck2["state_dict"][k].float(), atol=1e-5), k
    assert ck1["train"]["scheduler"]["last_epoch"] == ck2["train"]["scheduler"]["last_epoch"] == 8


def test_resume_refusals(tiny_dataset, tiny_checkpoint, tmp_path):
    with pytest.raises(MaskDepthError, match="no checkpoint"):
        T.train(cfg(tiny_dataset, tmp_path / "empty", max_steps=4), resume=True, quiet=True)
    run = tmp_path / "run"
    shutil.copytree(tiny_checkpoint.parent.parent, run)
    # the one-cycle schedule of a 6-step run cannot be stretched to 10 steps
    with pytest.raises(MaskDepthError, match="schedule"):
        T.train(cfg(tiny_dataset, run, max_steps=10), resume=True, quiet=True)
    with pytest.raises(MaskDepthError, match="tiny"):
        T.train(cfg(tiny_dataset, run, max_steps=6, model="peer_c"), resume=True, quiet=True)
    with pytest.raises(MaskDepthError, match="batch_size"):
        T.train(cfg(tiny_dataset, tmp_path / "big", batch_size=1000), quiet=True)


def test_one_step_warmup_does_not_crash(tiny_dataset, tmp_path):
    # warmup_frac * total_steps == 1 made torch's OneCycleLR divide by zero (e.g. --max-steps 20)
    s = T.train(cfg(tiny_dataset, tmp_path / "run", max_steps=2, warmup_frac=0.5), quiet=True)
    assert s["steps"] == 2


def test_checkpoint_holds_training_state(tiny_checkpoint):
    ck = read_checkpoint(tiny_checkpoint)
    assert ck["format"] == "maskdepth-checkpoint" and ck["version"] == 1
    assert ck["model"]["preset"] == "tiny" and ck["model"]["config"]["name"] == "tiny"
    st = ck["train"]
    assert st["step"] == 6 and st["epoch"] == 0
    assert st["optimizer"]["state"] and st["optimizer"]["param_groups"][0]["lr"] > 0
    assert st["scheduler"]["total_steps"] == 6 and st["scheduler"]["last_epoch"] == 6
    assert isinstance(st["rng"]["torch"], torch.Tensor)
    assert st["rng"]["numpy"][0] == "MT19937" and st["rng"]["python"]
    assert ck["meta"]["size"] == 64
    model, _ = load_model(tiny_checkpoint, expect_preset="tiny")
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, ck["state_dict"][k])


def test_bad_checkpoints_are_refused(tiny_checkpoint, tmp_path):
    data = tiny_checkpoint.read_bytes()
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.pt"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    plain = tmp_path / "plain.pt"
    torch.save({"state_dict": create_model("tiny").state_dict()}, plain)
    for p, msg in (
        (trunc, "corrupt"),
        (junk, "corrupt"),
        (empty, "corrupt"),
        (plain, "not a maskdepth checkpoint"),
        (tmp_path / "missing.pt", "not found"),
    ):
        with pytest.raises(MaskDepthError, match=msg):
            load_model(p)

    ck = torch.load(tiny_checkpoint, weights_only=False)
    other = dict(ck, model={"preset": "tiny", "config": {**ck["model"]["config"], "decoder_channels": [8, 8, 8, 8]}})
    torch.save(other, tmp_path / "other_arch.pt")
    with pytest.raises(MaskDepthError, match="do not fit"):
        load_model(tmp_path / "other_arch.pt")
    peer = dict(ck, model={"preset": "peer_c", "config": {"name": "peer_c"}})  # tiny weights, peer_c network
    torch.save(peer, tmp_path / "peer.pt")
    with pytest.raises(MaskDepthError, match="do not fit"):
        load_model(tmp_path / "peer.pt")
    torch.save(dict(ck, model={"preset": "huge", "config": {"name": "huge"}}), tmp_path / "huge.pt")
    with pytest.raises(MaskDepthError, match="huge"):
        load_model(tmp_path / "huge.pt")
    torch.save(dict(ck, version=99), tmp_path / "v99.pt")
    with pytest.raises(MaskDepthError, match="version"):
        load_model(tmp_path / "v99.pt")
    with pytest.raises(MaskDepthError, match="expected"):
        load_model(tiny_checkpoint, expect_preset="small")


def test_save_checkpoint_is_atomic_and_round_trips(tmp_path):
    m = create_model("tiny")
    p = tmp_path / "c" / "x.pt"
    save_checkpoint(p, m, meta={"note": 1})
    assert [q.name for q in p.parent.iterdir()] == ["x.pt"]  # no temporary left behind
    m2, ck = load_model(p)
    assert ck["train"] is None and ck["meta"] == {"note": 1}
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = m.eval()(x, x), m2(x, x)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_resize_batch_keeps_masks_binary_and_invalid_depth_zero():
    g = torch.Generator().manual_seed(0)
    depth = torch.rand(2, 1, 64, 64, generator=g) + 0.5
    depth[:, :, :16] = 0
    batch = {
        "bg": torch.rand(2, 3, 64, 64, generator=g),
        "fg_bg": torch.rand(2, 3, 64, 64, generator=g),
        "mask": (torch.rand(2, 1, 64, 64, generator=g) > 0.5).float(),
        "depth": depth,
        "depth_kind": torch.ones(2, dtype=torch.long),
    }
    out = T.resize_batch(batch, 32)
    assert out["bg"].shape == out["fg_bg"].shape == (2, 3, 32, 32)
    assert out["mask"].shape == out["depth"].shape == (2, 1, 32, 32)
    assert set(out["mask"].unique().tolist()) <= {0.0, 1.0}
    assert float(out["depth"][:, :, :8].abs().max()) == 0 and float(out["depth"][:, :, 8:].min()) >= 0.5
    assert out["depth_kind"] is batch["depth_kind"]
    assert T.resize_batch(batch, 64) is batch


def test_res_schedule_trains_at_each_size_and_records_the_last(tiny_dataset, tmp_path, monkeypatch):
    sizes = []
    real = T.resize_batch
    monkeypatch.setattr(T, "resize_batch", lambda b, s: (sizes.append(s), real(b, s))[1])
    s = T.train(cfg(tiny_dataset, tmp_path / "run", max_steps=4, res_schedule=[32, 64]), quiet=True)
    assert sizes == [32, 32, 64, 64]
    assert read_checkpoint(s["checkpoint"])["meta"]["size"] == 64
    with pytest.raises(MaskDepthError, match="multiples of 32"):
        T.train(cfg(tiny_dataset, tmp_path / "bad", max_steps=2, res_schedule=[48]), quiet=True)


def test_uncertainty_weighting_learns_and_resumes(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    T.train(cfg(tiny_dataset, run, max_steps=4, ckpt_every=2, task_weighting="uncertainty", stop_at_step=2), quiet=True)
    st = read_checkpoint(run / "checkpoints" / "last.pt")["train"]
    lv = st["loss"]["log_vars"]
    assert lv.shape == (2,) and float(lv.abs().max()) > 0  # learned, not stuck at 0
    groups = st["optimizer"]["param_groups"]
    assert len(groups) == 2 and groups[1]["weight_decay"] == 0.0
    s = T.train(cfg(tiny_dataset, run, max_steps=4, ckpt_every=2, task_weighting="uncertainty"), resume=True, quiet=True)
    assert s["steps"] == 4
    lv2 = read_checkpoint(run / "checkpoints" / "last.pt")["train"]["loss"]["log_vars"]
    assert not torch.equal(lv, lv2)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(depth_loss="l2"), "depth loss"),
        (dict(task_weighting="gradnorm"), "weighting"),
        (dict(model="peer_b", fusion="diff"), "fusion applies to"),
        (dict(model="peer_c", mask_refine=True), "mask_refine applies to"),
        (dict(mask_prior=1.0), "mask_prior"),
    ],
)
def test_bad_loss_and_fusion_options(tiny_dataset, tmp_path, kw, match):
    with pytest.raises(MaskDepthError, match=match):
        T.train(cfg(tiny_dataset, tmp_path / "run", max_steps=1, **kw), quiet=True)


def test_diff_fusion_and_loss_variants_train(tiny_dataset, tmp_path):
    s = T.train(cfg(tiny_dataset, tmp_path / "run", max_steps=3, fusion="diff", depth_loss="l1_grad_ssim", dice_weight=0.0), quiet=True)
    ck = read_checkpoint(s["checkpoint"])
    assert ck["model"]["config"]["fusion"] == "diff"
    model, _ = load_model(s["checkpoint"])
    assert model.config["fusion"] == "diff"


def _train_fraction(root) -> float:
    man = json.loads((root / "manifest.json").read_text())
    idx = [json.loads((root / "shards" / f"{s['name']}.json").read_text()) for s in man["shards"] if s["split"] == "train"]
    return sum(i["stats"]["mask_fraction_sum"] for i in idx) / sum(i["count"] for i in idx)


def test_mask_prior_is_the_train_split_fraction(tiny_dataset, tmp_path):
    """Issue 13, fix 5: the prior comes from the training split only, never from val/test samples."""
    import shutil

    frac = _train_fraction(tiny_dataset)
    assert T.dataset_mask_prior(str(tiny_dataset)) == pytest.approx(min(max(frac, 0.01), 0.5))
    assert T.dataset_mask_prior(str(tmp_path)) == 0.5  # no statistics: logit 0
    # a dataset whose val and test foreground fractions differ from train: only train counts
    d = tmp_path / "ds"
    (d / "shards").mkdir(parents=True)
    shutil.copy(tiny_dataset / "manifest.json", d / "manifest.json")
    man = json.loads((d / "manifest.json").read_text())
    assert {s["split"] for s in man["shards"]} >= {"train", "val"}
    for sh in man["shards"]:
        idx = json.loads((tiny_dataset / "shards" / f"{sh['name']}.json").read_text())
        if sh["split"] != "train":
            idx["stats"]["mask_fraction_sum"] = 0.45 * idx["count"]
        (d / "shards" / f"{sh['name']}.json").write_text(json.dumps(idx))
    idx = [json.loads(p.read_text()) for p in (d / "shards").glob("*.json")]
    pooled = sum(i["stats"]["mask_fraction_sum"] for i in idx) / sum(i["count"] for i in idx)
    assert pooled > frac + 0.03  # what train + val + test would have given
    stats = json.loads((tiny_dataset / "stats.json").read_text())
    (d / "stats.json").write_text(json.dumps({**stats, "mask_fraction_mean": pooled}))  # stats.json pools the splits
    assert T.dataset_mask_prior(str(d)) == pytest.approx(min(max(frac, 0.01), 0.5))
    s = T.train(cfg(tiny_dataset, tmp_path / "run", max_steps=1, mask_refine=True), quiet=True)
    assert read_checkpoint(s["checkpoint"])["train"]["config"]["mask_prior"] == pytest.approx(T.dataset_mask_prior(str(tiny_dataset)))
    model, _ = load_model(s["checkpoint"])
    assert model.config["mask_refine"] is True
