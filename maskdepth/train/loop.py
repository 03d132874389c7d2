"""``maskdepth train``: the training loop, checkpoints, resume, TensorBoard.

AdamW with a one-cycle schedule (Smith & Topin 2017; linear warm-up, cosine
decay), gradient clipping, BCE+Dice mask loss and log-depth depth loss
(:mod:`maskdepth.train.losses`). Every ``ckpt_every`` steps and at the end of every
epoch the run directory gets ``checkpoints/last.pt`` (model, optimiser,
scheduler, step, epoch, RNG states), written atomically; ``resume=True`` continues
from it at the exact batch: the order of samples in an epoch is a permutation
drawn from ``seed + epoch``, so the remaining batches are known.

Structure: :func:`setup_run` (checks, seeds, data, model, optimiser, resumed state; the
run's settings are saved by :func:`write_run_config`) → :func:`train_step` per batch →
:func:`run_validation` and :func:`save_state` at epoch ends, every ``ckpt_every`` steps
and when the time budget runs out; :func:`train` drives them.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from ..checkpoint import read_checkpoint, save_checkpoint
from ..config import to_yaml
from ..data.dataset import MaskDepthDataset
from ..data.format import DEPTH_METRIC
from ..errors import MaskDepthError
from ..io import atomic_write_json, atomic_write_text
from ..model import CONFIGURABLE_PRESETS, create_model, set_mask_prior
from .config import TrainConfig, check_res_schedule  # noqa: F401  (re-exported: maskdepth.train.loop.TrainConfig)
from .losses import MultiTaskLoss


class EpochSampler(Sampler):
    """``(index, flip)`` pairs of one epoch: a permutation and horizontal flips drawn from
    ``seed`` and ``epoch`` only, starting at global position ``start``, so a resumed run
    replays exactly the batches (and augmentations) an uninterrupted run would have seen,
    whatever the number of DataLoader workers.

    Under DDP, rank ``r`` of ``world`` takes every ``world``-th remaining position from ``r``:
    with a per-rank batch of ``B / world``, step ``k`` of all ranks together covers exactly
    the positions ``[k·B, (k+1)·B)`` that a single process with batch ``B`` would use.
    """

    def __init__(self, n: int, seed: int, epoch: int, start: int = 0, hflip: bool = True, rank: int = 0, world: int = 1):
        g = torch.Generator().manual_seed(seed * 100003 + epoch)
        perm = torch.randperm(n, generator=g)
        flips = (torch.rand(n, generator=g) < 0.5) if hflip else torch.zeros(n, dtype=torch.bool)
        self.order = list(zip(perm[start:].tolist(), flips[start:].tolist()))[rank::world]

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


def _device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and torch.cuda.is_available():
        return torch.device("cuda", local_rank)
    return torch.device(name)


def dist_info() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the torchrun environment (``(0, 1, 0)`` without it)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}


def _set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])


def _to(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def resize_batch(batch: dict, size: int) -> dict:
    """Resize a training batch to ``size × size`` (resolution schedules): ``bg``/``fg_bg``
    ``(B, 3, H, W)`` bilinear with antialiasing, ``mask``/``depth`` ``(B, 1, H, W)``
    ``nearest-exact`` (keeps the mask binary and invalid depth 0, and samples the label at
    the same pixel centres as the bilinear image; plain ``nearest`` sits (1 - out/in) / 2 px
    off it). Other keys are unchanged. No copy when the batch already has that size."""
    if batch["bg"].shape[-1] == size and batch["bg"].shape[-2] == size:
        return batch
    out = dict(batch)
    for k in ("bg", "fg_bg"):
        out[k] = F.interpolate(batch[k], size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    for k in ("mask", "depth"):
        out[k] = F.interpolate(batch[k], size=(size, size), mode="nearest-exact")
    return out


@torch.no_grad()
def validate(model, loader, loss_fn, device, max_batches: int | None = None) -> dict:
    """Mean loss, mask IoU (threshold 0.5) and metric-depth AbsRel over a loader."""
    model.eval()
    n, tot, inter, union, absrel_sum, absrel_n = 0, {"total": 0.0, "mask": 0.0, "depth": 0.0}, 0.0, 0.0, 0.0, 0
    for bi, batch in enumerate(loader):
        if max_batches is not None and bi >= max_batches:
            break
        batch = _to(batch, device)
        logits, log_depth = model(batch["bg"], batch["fg_bg"])
        _, parts = loss_fn(logits, log_depth, batch)
        b = batch["bg"].shape[0]
        for k in tot:
            tot[k] += parts[k] * b
        n += b
        pred = logits > 0
        gt = batch["mask"] > 0.5
        inter += float((pred & gt).sum())
        union += float((pred | gt).sum())
        m = (batch["depth_kind"] == DEPTH_METRIC)[:, None, None, None] & (batch["depth"] > 0)
        if m.any():
            d = torch.exp(log_depth)[m]
            g = batch["depth"][m]
            absrel_sum += float(((d - g).abs() / g).sum())
            absrel_n += int(m.sum())
    model.train()
    out = {f"loss_{k}": v / max(n, 1) for k, v in tot.items()}
    out["iou_pooled"] = inter / union if union else 1.0
    out["absrel_metric_pooled"] = absrel_sum / absrel_n if absrel_n else float("nan")
    return out


def _grid_for_tb(model, ds, device, n=6) -> np.ndarray:
    from ..viz import colorize_depth, gray_to_rgb, grid

    rows = []
    model.eval()
    with torch.no_grad():
        for i in range(min(n, len(ds))):
            s = ds[i]
            logits, log_depth = model(s["bg"][None].to(device), s["fg_bg"][None].to(device))
            gt_d = s["depth"][0].numpy()
            pd = torch.exp(log_depth)[0, 0].cpu().numpy()
            valid = gt_d > 0
            lo, hi = (
                np.percentile(gt_d[valid], [2, 98]) if valid.any() and int(s["depth_kind"]) == DEPTH_METRIC else np.percentile(pd, [2, 98])
            )
            rows.append(
                [
                    (s["bg"].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
                    (s["fg_bg"].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
                    gray_to_rgb(s["mask"][0].numpy() > 0.5),
                    gray_to_rgb((logits[0, 0] > 0).cpu().numpy()),
                    colorize_depth(gt_d, lo, hi) if int(s["depth_kind"]) == DEPTH_METRIC else np.zeros_like(gray_to_rgb(valid)),
                    colorize_depth(pd, lo, hi),
                ]
            )
    model.train()
    return grid(rows, titles=["bg", "fg_bg", "GT mask", "pred mask", "GT depth", "pred depth"])


def _one_line_worker_errors(loader):
    """Iterate a DataLoader. A MaskDepthError raised in a worker process (``--workers`` > 0) is
    re-raised by torch with the worker's whole traceback inside its message; keep only the
    original one-line message, so the command line still prints one line."""
    it = iter(loader)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except MaskDepthError as e:
            text = str(e)
            if "Original Traceback" not in text:
                raise
            last = text.rstrip().splitlines()[-1]
            prefix = f"{MaskDepthError.__module__}.{MaskDepthError.__name__}: "
            raise MaskDepthError(last[len(prefix) :] if last.startswith(prefix) else last) from None
        yield batch


def dataset_mask_prior(data: str, default: float = 0.5, split: str = "train") -> float:
    """The mean foreground fraction of the *training* split of a generated dataset, clipped to
    [0.01, 0.5], for :func:`set_mask_prior`; ``default`` when the dataset has no statistics.

    Read from the shard indices of ``split`` (``shards/<name>.json`` ``stats.mask_fraction_sum``
    over ``count``, the sums ``stats.json`` is merged from; :func:`maskdepth.data.stats.dataset_sums`),
    so validation and test samples never set a training choice: ``stats.json``'s
    ``mask_fraction_mean`` pools train, val and test (issue 13).
    """
    from ..data.stats import dataset_sums
    from ..io import read_json

    try:
        shards = [s for s in read_json(Path(data) / "manifest.json", "dataset manifest")["shards"] if s["split"] == split]
        sums = dataset_sums(data, shards)
        frac = sums.mask / sums.count
    except (MaskDepthError, OSError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return default
    return min(max(float(frac), 0.01), 0.5)


def write_run_config(run_dir: Path, cfg: TrainConfig) -> None:
    """Save a run's effective settings (after defaults are resolved, e.g. ``mask_prior``) into
    ``run_dir``: ``config.yaml`` (``maskdepth train --config RUN_DIR/config.yaml`` replays the
    run) and ``train_config.json`` (read by ``maskdepth report``). The one place they are written."""
    atomic_write_json(run_dir / "train_config.json", asdict(cfg))
    atomic_write_text(run_dir / "config.yaml", to_yaml("train", asdict(cfg)))  # `maskdepth train --config` replays it


@dataclass
class TrainRun:
    """The state of one training run between steps, made by :func:`setup_run`.

    ``model`` is the bare network (saved in checkpoints); ``net`` is what runs forward and
    backward (``model``, or its DistributedDataParallel wrapper). ``step`` counts optimiser
    steps over the whole run (also across resumes); ``history`` holds the records of
    ``summary.json`` (see :mod:`maskdepth.evaluate.report`). ``writer`` is the TensorBoard writer of
    rank 0 (``None`` on the other ranks).
    """

    cfg: TrainConfig
    run: Path
    ckpt_path: Path
    rank: int
    world: int
    device: torch.device
    train_ds: MaskDepthDataset
    val_ds: MaskDepthDataset
    steps_per_epoch: int
    total_steps: int
    model: torch.nn.Module
    net: torch.nn.Module
    loss_fn: MultiTaskLoss
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    step: int = 0
    history: list = field(default_factory=list)
    writer: Any = None

    @property
    def main_proc(self) -> bool:
        """Whether this is rank 0, the process that logs, validates and writes files."""
        return self.rank == 0


def _check_run_dir(cfg: TrainConfig, world: int, resume: bool) -> Path:
    """The checkpoint path of the run; raises MaskDepthError for a batch that does not split over
    the ranks, a run directory with a checkpoint but no ``resume``, or ``resume`` without one."""
    run = Path(cfg.run_dir)
    ckpt_path = run / "checkpoints" / "last.pt"
    if cfg.batch_size % world:
        raise MaskDepthError(f"{cfg.batch_size} (global) must be divisible by the {world} processes", param="batch_size")
    if run.exists() and ckpt_path.exists() and not resume:
        raise MaskDepthError(f"{run} already has a checkpoint: continue it with resume, or give another run directory", param="run_dir")
    if resume and not ckpt_path.exists():
        raise MaskDepthError(f"finds no checkpoint at {ckpt_path}", param="resume")
    return ckpt_path


def _init_process(cfg: TrainConfig, world: int, local_rank: int) -> torch.device:
    """Threads, device, the process group (DDP) and the seeds of torch, numpy and random."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = _device(cfg.device, local_rank)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    return device


def _resolve_model_options(cfg: TrainConfig) -> tuple[TrainConfig, dict]:
    """Check the model options; returns the config with ``mask_prior`` resolved and the
    ``create_model`` overrides (fusion, mask refinement) of the configurable presets."""
    if cfg.res_schedule:
        check_res_schedule(cfg.res_schedule)
    overrides = {"fusion": cfg.fusion, "mask_refine": cfg.mask_refine} if cfg.model in CONFIGURABLE_PRESETS else {}
    if (cfg.fusion != "concat" or cfg.mask_refine) and not overrides:
        presets = " and ".join(CONFIGURABLE_PRESETS)
        param = "fusion" if cfg.fusion != "concat" else "mask_refine"
        raise MaskDepthError(f"applies to the {presets} presets only, not {cfg.model!r}", param=param)
    if cfg.mask_prior is None:
        cfg = replace(cfg, mask_prior=dataset_mask_prior(cfg.data))
    if not 0.0 < cfg.mask_prior < 1.0:
        raise MaskDepthError(f"must be in (0, 1), got {cfg.mask_prior}", param="mask_prior")
    return cfg, overrides


def _build_model(cfg: TrainConfig, overrides: dict, device: torch.device, world: int, local_rank: int):
    """``(model, net, loss_fn)``: the network (mask prior set, ``channels_last`` if asked), what runs
    forward/backward (its DDP wrapper when ``world > 1``; SyncBatchNorm on GPU) and the loss."""
    try:
        loss_fn = MultiTaskLoss(cfg.mask_weight, cfg.depth_weight, cfg.dice_weight, cfg.grad_weight, cfg.depth_loss, cfg.task_weighting)
    except ValueError as exc:
        raise MaskDepthError(str(exc)) from exc
    model = create_model(cfg.model, pretrained=cfg.pretrained, **overrides).to(device)
    set_mask_prior(model, cfg.mask_prior)
    loss_fn = loss_fn.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = model
    if world > 1:
        if device.type == "cuda":
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[local_rank] if device.type == "cuda" else None)
    return model, net, loss_fn


def _build_optimizer(cfg: TrainConfig, model: torch.nn.Module, loss_fn: MultiTaskLoss, total_steps: int):
    """``(optimizer, scheduler)``: AdamW (no weight decay on learned task weights) and one-cycle."""
    groups = [{"params": list(model.parameters())}]
    if list(loss_fn.parameters()):  # learned task weights: no weight decay (it would pull log-variances to 0)
        groups.append({"params": list(loss_fn.parameters()), "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = cfg.warmup_frac
    if float(warmup * max(total_steps, 1)) - 1 == 0:  # a one-step warm-up makes OneCycleLR divide by zero
        warmup = warmup * 1.5 if warmup * 1.5 <= 1 else warmup * 0.5
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=cfg.lr,
        total_steps=max(total_steps, 1),
        pct_start=warmup,
        anneal_strategy="cos",
        div_factor=10.0,
        final_div_factor=100.0,
    )
    return opt, sched


def _restore_state(r: TrainRun) -> None:
    """Continue ``r`` from its ``checkpoints/last.pt``: weights, optimiser, loss, scheduler, step,
    history and RNG states. Raises MaskDepthError when the checkpoint does not fit the config."""
    ck = read_checkpoint(r.ckpt_path)
    if ck["model"]["preset"] != r.cfg.model:
        raise MaskDepthError(f"{r.ckpt_path}: holds a {ck['model']['preset']!r} model, config asks for {r.cfg.model!r}")
    r.model.load_state_dict(ck["state_dict"])
    st = ck["train"]
    planned = st["scheduler"].get("total_steps", r.total_steps)
    if r.total_steps > planned:  # OneCycleLR would raise ValueError past its last step
        raise MaskDepthError(
            f"{r.ckpt_path}: its learning-rate schedule ends at step {planned}; cannot resume to {r.total_steps} steps "
            "(resume with the epochs, max_steps, batch_size and train_limit of the original run)"
        )
    r.opt.load_state_dict(st["optimizer"])
    if "loss" in st:
        r.loss_fn.load_state_dict(st["loss"])
    r.sched.load_state_dict(st["scheduler"])
    r.step = st["step"]
    r.history = st.get("history", [])
    _set_rng_state(st["rng"])


def _prepare_run_dir(r: TrainRun) -> None:
    """Rank 0: create the run directory, save the config, remove stale temporary checkpoints."""
    r.run.mkdir(parents=True, exist_ok=True)
    write_run_config(r.run, r.cfg)
    for stale in r.ckpt_path.parent.glob(f"{r.ckpt_path.name}.*.tmp") if r.ckpt_path.parent.is_dir() else ():
        try:  # a temporary checkpoint of a run killed mid-write (never renamed into place)
            stale.unlink()
        except OSError:
            pass


def setup_run(cfg: TrainConfig, resume: bool = False) -> TrainRun:
    """Everything before the first step: checks, process group, seeds, datasets, model, loss,
    optimiser, schedule, the resumed state (``resume``), the run directory and TensorBoard.

    Raises:
        MaskDepthError: bad dataset or options, run directory in use without ``resume``,
            or a checkpoint that does not fit.
    """
    from torch.utils.tensorboard import SummaryWriter

    rank, world, local_rank = dist_info()
    ckpt_path = _check_run_dir(cfg, world, resume)
    device = _init_process(cfg, world, local_rank)
    train_ds = MaskDepthDataset(cfg.data, "train", hflip=True, limit=cfg.train_limit)
    val_ds = MaskDepthDataset(cfg.data, "val", hflip=False, limit=cfg.val_limit)
    if len(train_ds) < cfg.batch_size:
        raise MaskDepthError(f"{cfg.batch_size} is more than the {len(train_ds)} samples of the training split", param="batch_size")
    steps_per_epoch = len(train_ds) // cfg.batch_size
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    cfg, overrides = _resolve_model_options(cfg)
    model, net, loss_fn = _build_model(cfg, overrides, device, world, local_rank)
    opt, sched = _build_optimizer(cfg, model, loss_fn, total_steps)
    r = TrainRun(
        cfg=cfg,
        run=Path(cfg.run_dir),
        ckpt_path=ckpt_path,
        rank=rank,
        world=world,
        device=device,
        train_ds=train_ds,
        val_ds=val_ds,
        steps_per_epoch=steps_per_epoch,
        total_steps=total_steps,
        model=model,
        net=net,
        loss_fn=loss_fn,
        opt=opt,
        sched=sched,
    )
    if resume:
        _restore_state(r)
    if r.main_proc:
        _prepare_run_dir(r)
        r.writer = SummaryWriter(str(r.run / "tb"))
    return r


def train_step(r: TrainRun, batch: dict) -> dict:
    """One optimiser step on a batch of the training loader (moved to the device, resized by
    the resolution schedule, ``channels_last`` if asked); advances ``r.step``.

    Returns: the loss parts (floats: ``total``, ``mask``, ``depth``, ...).
    Raises: MaskDepthError when the loss is not finite.
    """
    cfg = r.cfg
    batch = _to(batch, r.device)
    if cfg.res_schedule:
        batch = resize_batch(batch, int(cfg.res_schedule[min(len(cfg.res_schedule) - 1, r.step * len(cfg.res_schedule) // r.total_steps)]))
    if cfg.channels_last:
        for k in ("bg", "fg_bg"):
            batch[k] = batch[k].contiguous(memory_format=torch.channels_last)
    logits, log_depth = r.net(batch["bg"], batch["fg_bg"])
    loss, parts = r.loss_fn(logits, log_depth, batch)
    if not math.isfinite(parts["total"]):
        raise MaskDepthError(f"is too high: the loss became {parts['total']} at step {r.step}; lower it", param="lr")
    r.opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(r.model.parameters(), cfg.grad_clip)
    r.opt.step()
    r.sched.step()
    r.step += 1
    return parts


def _log_train(r: TrainRun, parts: dict) -> None:
    """Rank 0, every ``log_every`` steps (and step 1): losses and learning rate to TensorBoard and the history."""
    if r.main_proc and (r.step % r.cfg.log_every == 0 or r.step == 1):
        for k, v in parts.items():
            r.writer.add_scalar(f"train/loss_{k}", v, r.step)
        r.writer.add_scalar("train/lr", r.sched.get_last_lr()[0], r.step)
        r.history.append({"step": r.step, **{f"train_loss_{k}": v for k, v in parts.items()}, "lr": r.sched.get_last_lr()[0]})


def run_validation(r: TrainRun) -> dict:
    """Rank 0: :func:`validate` on the validation split, logged to TensorBoard (with a sample
    grid) and appended to the history. Returns the metrics (``{}`` without validation samples)."""
    val_loader = DataLoader(r.val_ds, batch_size=r.cfg.batch_size, num_workers=0)
    v = validate(r.model, val_loader, r.loss_fn, r.device) if len(r.val_ds) else {}
    for k, val in v.items():
        r.writer.add_scalar(f"val/{k}", val, r.step)
    if len(r.val_ds):
        r.writer.add_image("val/samples", _grid_for_tb(r.model, r.val_ds, r.device), r.step, dataformats="HWC")
    r.history.append({"step": r.step, "epoch": r.step / r.steps_per_epoch, **{f"val_{k}": val for k, val in v.items()}})
    return v


def save_state(r: TrainRun) -> None:
    """Write ``checkpoints/last.pt`` (rank 0, atomically): model, optimiser, scheduler, loss, step,
    epoch, RNG states, history and config. Every rank waits for it under DDP."""
    if not r.main_proc:
        dist.barrier()
        return
    cfg = r.cfg
    save_checkpoint(
        r.ckpt_path,
        r.model,
        {
            "optimizer": r.opt.state_dict(),
            "scheduler": r.sched.state_dict(),
            "step": r.step,
            "epoch": r.step // r.steps_per_epoch,
            "rng": _rng_state(),
            "history": r.history,
            "config": asdict(cfg),
            "loss": r.loss_fn.state_dict(),
        },
        meta={
            "data": cfg.data,
            "steps": r.step,
            "size": int(cfg.res_schedule[-1]) if cfg.res_schedule else r.train_ds.size,
            "world_size": r.world,
        },
    )
    if r.world > 1:
        dist.barrier()


def _out_of_time(r: TrainRun, t0: float) -> bool:
    """Whether ``max_minutes`` (since ``t0``) or ``stop_at_step`` is reached; under DDP rank 0's
    clock decides for every rank, so all stop at the same step."""
    cfg = r.cfg
    out = (cfg.max_minutes is not None and (time.time() - t0) / 60 > cfg.max_minutes) or (
        cfg.stop_at_step is not None and r.step >= cfg.stop_at_step
    )
    if r.world > 1:
        flag = torch.tensor([int(out)])
        dist.broadcast(flag, 0)
        out = bool(flag.item())
    return out


def _epoch_loader(r: TrainRun) -> DataLoader:
    """The loader of the rest of the current epoch (from ``r.step``), this rank's share of it."""
    cfg = r.cfg
    epoch, start = divmod(r.step, r.steps_per_epoch)
    sampler = EpochSampler(len(r.train_ds), cfg.seed, epoch, start * cfg.batch_size, rank=r.rank, world=r.world)
    g = torch.Generator().manual_seed(cfg.seed * 7919 + r.step)
    return DataLoader(
        r.train_ds,
        batch_size=cfg.batch_size // r.world,
        sampler=sampler,
        num_workers=cfg.workers,
        drop_last=True,
        generator=g,
        persistent_workers=False,
        pin_memory=r.device.type == "cuda",
    )


def _run_epoch(r: TrainRun, bar, t0: float) -> bool:
    """Train the rest of the current epoch, checkpointing every ``ckpt_every`` steps and validating
    + checkpointing at its end (or at the last step, or when out of time). Returns whether the run
    stopped early (time budget / ``stop_at_step``)."""
    for batch in _one_line_worker_errors(_epoch_loader(r)):
        parts = train_step(r, batch)
        bar.update(1)
        bar.set_postfix(mask=f"{parts['mask']:.3f}", depth=f"{parts['depth']:.3f}")
        _log_train(r, parts)
        end_of_epoch = r.step % r.steps_per_epoch == 0
        if r.step % r.cfg.ckpt_every == 0 and not end_of_epoch:
            save_state(r)
        out_of_time = _out_of_time(r, t0)
        if end_of_epoch or r.step >= r.total_steps or out_of_time:
            if r.main_proc:
                run_validation(r)
            save_state(r)
            if out_of_time:
                return True
        if r.step >= r.total_steps:
            break
    return False


def _ranks_in_sync(r: TrainRun) -> bool | None:
    """Under DDP: whether every rank holds the same weights (``None`` for a single process)."""
    if r.world <= 1:
        return None
    sig = torch.stack([p.detach().double().sum() for p in r.model.parameters()]).cpu()
    sigs = [torch.zeros_like(sig) for _ in range(r.world)]
    dist.all_gather(sigs, sig)
    return all(torch.equal(sigs[0], x) for x in sigs[1:])


def train(cfg: TrainConfig, resume: bool = False, quiet: bool = False) -> dict:
    """Train a model; returns a summary dict (also written to ``run_dir/summary.json``).

    Raises:
        MaskDepthError: bad dataset, run directory in use without ``resume``,
            or a checkpoint that does not fit.
    """
    r = setup_run(cfg, resume)
    t0 = time.time()
    r.model.train()
    bar = tqdm(total=r.total_steps, initial=r.step, desc="train", unit="step", disable=quiet or not r.main_proc, dynamic_ncols=True)
    stopped_early = False
    while r.step < r.total_steps and not stopped_early:
        stopped_early = _run_epoch(r, bar, t0)
    bar.close()
    in_sync = _ranks_in_sync(r)
    summary = {
        "steps": r.step,
        "total_steps": r.total_steps,
        "stopped_early_by_time": stopped_early,
        "seconds_this_run": time.time() - t0,
        "history": r.history,
        "checkpoint": str(r.ckpt_path),
        "world_size": r.world,
        "ranks_in_sync": in_sync,
    }
    if r.main_proc:
        r.writer.close()
        atomic_write_json(r.run / "summary.json", summary)
    if r.world > 1:
        dist.barrier()
    return summary
