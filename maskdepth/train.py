"""``maskdepth train``: the training loop, checkpoints, resume, TensorBoard.

AdamW with a one-cycle schedule (Smith & Topin 2017; linear warm-up, cosine
decay), gradient clipping, BCE+Dice mask loss and log-depth depth loss
(:mod:`maskdepth.losses`). Every ``ckpt_every`` steps and at the end of every
epoch the run directory gets ``checkpoints/last.pt`` (model, optimiser,
scheduler, step, epoch, RNG states), written atomically; ``resume=True`` continues
from it at the exact batch: the order of samples in an epoch is a permutation
drawn from ``seed + epoch``, so the remaining batches are known.
"""
from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from .checkpoint import read_checkpoint, save_checkpoint
from .data.dataset import MaskDepthDataset
from .data.tools import dataset_stats
from .errors import MaskDepthError
from .io import atomic_write_json
from .losses import MultiTaskLoss
from .model.net import CONFIGURABLE_PRESETS, INPUT_MULTIPLE, create_model, set_mask_prior


@dataclass
class TrainConfig:
    """Training settings (defaults: the shipped model's recipe on a 2-core CPU)."""

    data: str
    run_dir: str
    model: str = "small"
    pretrained: bool = True
    fusion: str = "concat"  # "concat" (6-channel input) or "diff" (shared encoder, feature difference); small/tiny only
    mask_refine: bool = False  # full-resolution mask refinement (model.blocks.MaskRefiner); small/tiny only
    mask_prior: Optional[float] = None  # untrained P(foreground); None = the training set's mask fraction (stats.json), 0.5 = logit 0
    epochs: int = 4
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_frac: float = 0.05
    mask_weight: float = 1.0
    depth_weight: float = 1.0
    dice_weight: float = 1.0
    grad_weight: float = 0.5
    depth_loss: str = "l1_grad"  # losses.DEPTH_LOSSES
    task_weighting: str = "fixed"  # losses.TASK_WEIGHTINGS
    res_schedule: Optional[list[int]] = None  # training sizes in equal step stages, e.g. [96, 128]; None = data size
    grad_clip: float = 1.0
    workers: int = 2
    seed: int = 0
    ckpt_every: int = 200
    log_every: int = 20
    max_steps: Optional[int] = None
    max_minutes: Optional[float] = None
    stop_at_step: Optional[int] = None
    train_limit: Optional[int] = None
    val_limit: Optional[int] = 512
    device: str = "auto"
    channels_last: bool = True  # NHWC activations: 1.5x training throughput on this CPU (results/train_throughput.md)
    threads: Optional[int] = None


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


def check_res_schedule(sizes) -> list[int]:
    """Validate a resolution schedule: a non-empty list of positive multiples of
    :data:`~maskdepth.model.net.INPUT_MULTIPLE` (32) pixels. Returns it as ints.

    Raises: MaskDepthError otherwise.
    """
    try:
        out = [int(v) for v in sizes]
    except (TypeError, ValueError):
        out = []
    if not out or any(v <= 0 or v % INPUT_MULTIPLE for v in out):
        raise MaskDepthError(f"--res-schedule sizes must be positive multiples of {INPUT_MULTIPLE}, got {sizes!r}")
    return out


@torch.no_grad()
def resize_batch(batch: dict, size: int) -> dict:
    """Resize a training batch to ``size × size`` (resolution schedules): ``bg``/``fg_bg``
    ``(B, 3, H, W)`` bilinear with antialiasing, ``mask``/``depth`` ``(B, 1, H, W)`` nearest
    (keeps the mask binary and invalid depth 0). Other keys are unchanged. No copy when
    the batch already has that size."""
    if batch["bg"].shape[-1] == size and batch["bg"].shape[-2] == size:
        return batch
    out = dict(batch)
    for k in ("bg", "fg_bg"):
        out[k] = F.interpolate(batch[k], size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    for k in ("mask", "depth"):
        out[k] = F.interpolate(batch[k], size=(size, size), mode="nearest")
    return out


@torch.no_grad()
def validate(model, loader, loss_fn, device, max_batches: Optional[int] = None) -> dict:
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
        m = (batch["depth_kind"] == 1)[:, None, None, None] & (batch["depth"] > 0)
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
    from .viz import colorize_depth, gray_to_rgb, grid

    rows = []
    model.eval()
    with torch.no_grad():
        for i in range(min(n, len(ds))):
            s = ds[i]
            logits, log_depth = model(s["bg"][None].to(device), s["fg_bg"][None].to(device))
            gt_d = s["depth"][0].numpy()
            pd = torch.exp(log_depth)[0, 0].cpu().numpy()
            valid = gt_d > 0
            lo, hi = (np.percentile(gt_d[valid], [2, 98]) if valid.any() and int(s["depth_kind"]) == 1 else np.percentile(pd, [2, 98]))
            rows.append([
                (s["bg"].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
                (s["fg_bg"].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
                gray_to_rgb(s["mask"][0].numpy() > 0.5),
                gray_to_rgb((logits[0, 0] > 0).cpu().numpy()),
                colorize_depth(gt_d, lo, hi) if int(s["depth_kind"]) == 1 else np.zeros_like(gray_to_rgb(valid)),
                colorize_depth(pd, lo, hi),
            ])
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
            raise MaskDepthError(last[len(prefix):] if last.startswith(prefix) else last) from None
        yield batch


def dataset_mask_prior(data: str, default: float = 0.5) -> float:
    """The mean foreground fraction of a generated dataset (``stats.json``
    ``mask_fraction_mean``), clipped to [0.01, 0.5], for :func:`set_mask_prior`;
    ``default`` when the dataset has no statistics."""
    try:
        frac = float(dataset_stats(data)["mask_fraction_mean"])
    except (MaskDepthError, KeyError, TypeError, ValueError):
        return default
    return min(max(frac, 0.01), 0.5)


def train(cfg: TrainConfig, resume: bool = False, quiet: bool = False) -> dict:
    """Train a model; returns a summary dict (also written to ``run_dir/summary.json``).

    Raises:
        MaskDepthError: bad dataset, run directory in use without ``resume``,
            or a checkpoint that does not fit.
    """
    from torch.utils.tensorboard import SummaryWriter

    import torch.distributed as dist

    rank, world, local_rank = dist_info()
    main_proc = rank == 0
    run = Path(cfg.run_dir)
    ckpt_path = run / "checkpoints" / "last.pt"
    if cfg.batch_size % world:
        raise MaskDepthError(f"--batch-size {cfg.batch_size} (global) must be divisible by the {world} processes")
    if run.exists() and ckpt_path.exists() and not resume:
        raise MaskDepthError(f"run directory {run} already has a checkpoint: use --resume to continue it, or another --run-dir")
    if resume and not ckpt_path.exists():
        raise MaskDepthError(f"--resume: no checkpoint at {ckpt_path}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = _device(cfg.device, local_rank)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)

    train_ds = MaskDepthDataset(cfg.data, "train", hflip=True, limit=cfg.train_limit)
    val_ds = MaskDepthDataset(cfg.data, "val", hflip=False, limit=cfg.val_limit)
    if len(train_ds) < cfg.batch_size:
        raise MaskDepthError(f"training split has {len(train_ds)} samples, fewer than --batch-size {cfg.batch_size}")
    steps_per_epoch = len(train_ds) // cfg.batch_size
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)

    if cfg.res_schedule:
        check_res_schedule(cfg.res_schedule)
    overrides = {"fusion": cfg.fusion, "mask_refine": cfg.mask_refine} if cfg.model in CONFIGURABLE_PRESETS else {}
    if (cfg.fusion != "concat" or cfg.mask_refine) and not overrides:
        raise MaskDepthError(f"--fusion and --mask-refine apply to the {' and '.join(CONFIGURABLE_PRESETS)} presets, not {cfg.model!r}")
    if cfg.mask_prior is None:
        cfg = replace(cfg, mask_prior=dataset_mask_prior(cfg.data))
    if not 0.0 < cfg.mask_prior < 1.0:
        raise MaskDepthError(f"--mask-prior must be in (0, 1), got {cfg.mask_prior}")
    try:
        loss_fn = MultiTaskLoss(cfg.mask_weight, cfg.depth_weight, cfg.dice_weight, cfg.grad_weight, cfg.depth_loss, cfg.task_weighting)
    except ValueError as exc:
        raise MaskDepthError(str(exc)) from exc
    model = create_model(cfg.model, pretrained=cfg.pretrained, **overrides).to(device)
    set_mask_prior(model, cfg.mask_prior)
    loss_fn = loss_fn.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = model  # what runs forward/backward: the model, or its DDP wrapper
    if world > 1:
        if device.type == "cuda":
            net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[local_rank] if device.type == "cuda" else None)
    groups = [{"params": list(model.parameters())}]
    if list(loss_fn.parameters()):  # learned task weights: no weight decay (it would pull log-variances to 0)
        groups.append({"params": list(loss_fn.parameters()), "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = cfg.warmup_frac
    if float(warmup * max(total_steps, 1)) - 1 == 0:  # a one-step warm-up makes OneCycleLR divide by zero
        warmup = warmup * 1.5 if warmup * 1.5 <= 1 else warmup * 0.5
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=max(total_steps, 1), pct_start=warmup, anneal_strategy="cos", div_factor=10.0, final_div_factor=100.0
    )
    step, history = 0, []
    if resume:
        ck = read_checkpoint(ckpt_path)
        if ck["model"]["preset"] != cfg.model:
            raise MaskDepthError(f"{ckpt_path}: holds a {ck['model']['preset']!r} model, config asks for {cfg.model!r}")
        model.load_state_dict(ck["state_dict"])
        st = ck["train"]
        planned = st["scheduler"].get("total_steps", total_steps)
        if total_steps > planned:  # OneCycleLR would raise ValueError past its last step
            raise MaskDepthError(
                f"{ckpt_path}: its learning-rate schedule ends at step {planned}; cannot resume to {total_steps} steps "
                "(resume with the --epochs/--max-steps/--batch-size/--train-limit of the original run)"
            )
        opt.load_state_dict(st["optimizer"])
        if "loss" in st:
            loss_fn.load_state_dict(st["loss"])
        sched.load_state_dict(st["scheduler"])
        step = st["step"]
        history = st.get("history", [])
        _set_rng_state(st["rng"])
    if main_proc:
        run.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run / "train_config.json", asdict(cfg))
        for stale in ckpt_path.parent.glob(f"{ckpt_path.name}.*.tmp") if ckpt_path.parent.is_dir() else ():
            try:  # a temporary checkpoint of a run killed mid-write (never renamed into place)
                stale.unlink()
            except OSError:
                pass
    writer = SummaryWriter(str(run / "tb")) if main_proc else None

    def checkpoint():
        if not main_proc:
            dist.barrier()
            return
        save_checkpoint(
            ckpt_path,
            model,
            {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "step": step, "epoch": step // steps_per_epoch, "rng": _rng_state(), "history": history, "config": asdict(cfg),
             "loss": loss_fn.state_dict()},
            meta={"data": cfg.data, "steps": step, "size": int(cfg.res_schedule[-1]) if cfg.res_schedule else train_ds.size, "world_size": world},
        )
        if world > 1:
            dist.barrier()

    t0 = time.time()
    model.train()
    bar = tqdm(total=total_steps, initial=step, desc="train", unit="step", disable=quiet or not main_proc, dynamic_ncols=True)
    per_rank_batch = cfg.batch_size // world
    stopped_early = False
    while step < total_steps:
        epoch, start = divmod(step, steps_per_epoch)
        sampler = EpochSampler(len(train_ds), cfg.seed, epoch, start * cfg.batch_size, rank=rank, world=world)
        g = torch.Generator().manual_seed(cfg.seed * 7919 + step)
        loader = DataLoader(train_ds, batch_size=per_rank_batch, sampler=sampler, num_workers=cfg.workers, drop_last=True, generator=g, persistent_workers=False, pin_memory=device.type == "cuda")
        for batch in _one_line_worker_errors(loader):
            batch = _to(batch, device)
            if cfg.res_schedule:
                batch = resize_batch(batch, int(cfg.res_schedule[min(len(cfg.res_schedule) - 1, step * len(cfg.res_schedule) // total_steps)]))
            if cfg.channels_last:
                for k in ("bg", "fg_bg"):
                    batch[k] = batch[k].contiguous(memory_format=torch.channels_last)
            logits, log_depth = net(batch["bg"], batch["fg_bg"])
            loss, parts = loss_fn(logits, log_depth, batch)
            if not math.isfinite(parts["total"]):
                raise MaskDepthError(f"loss became {parts['total']} at step {step}: lower --lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            bar.set_postfix(mask=f"{parts['mask']:.3f}", depth=f"{parts['depth']:.3f}")
            if main_proc and (step % cfg.log_every == 0 or step == 1):
                for k, v in parts.items():
                    writer.add_scalar(f"train/loss_{k}", v, step)
                writer.add_scalar("train/lr", sched.get_last_lr()[0], step)
                history.append({"step": step, **{f"train_loss_{k}": v for k, v in parts.items()}, "lr": sched.get_last_lr()[0]})
            end_of_epoch = step % steps_per_epoch == 0
            if step % cfg.ckpt_every == 0 and not end_of_epoch:
                checkpoint()
            out_of_time = (cfg.max_minutes is not None and (time.time() - t0) / 60 > cfg.max_minutes) or (
                cfg.stop_at_step is not None and step >= cfg.stop_at_step
            )
            if world > 1:  # every rank stops at the same step: rank 0's clock decides
                flag = torch.tensor([int(out_of_time)])
                dist.broadcast(flag, 0)
                out_of_time = bool(flag.item())
            if end_of_epoch or step >= total_steps or out_of_time:
                if main_proc:
                    val_loader = DataLoader(val_ds, batch_size=cfg.batch_size, num_workers=0)
                    v = validate(model, val_loader, loss_fn, device) if len(val_ds) else {}
                    for k, val in v.items():
                        writer.add_scalar(f"val/{k}", val, step)
                    if len(val_ds):
                        writer.add_image("val/samples", _grid_for_tb(model, val_ds, device), step, dataformats="HWC")
                    history.append({"step": step, "epoch": step / steps_per_epoch, **{f"val_{k}": val for k, val in v.items()}})
                checkpoint()
                if out_of_time:
                    stopped_early = True
                    break
            if step >= total_steps:
                break
        if stopped_early:
            break
    bar.close()
    in_sync = None
    if world > 1:  # every rank must hold the same weights
        sig = torch.stack([p.detach().double().sum() for p in model.parameters()]).cpu()
        sigs = [torch.zeros_like(sig) for _ in range(world)]
        dist.all_gather(sigs, sig)
        in_sync = all(torch.equal(sigs[0], x) for x in sigs[1:])
    summary = {"steps": step, "total_steps": total_steps, "stopped_early_by_time": stopped_early, "seconds_this_run": time.time() - t0, "history": history,
               "checkpoint": str(ckpt_path), "world_size": world, "ranks_in_sync": in_sync}
    if main_proc:
        writer.close()
        atomic_write_json(run / "summary.json", summary)
    if world > 1:
        dist.barrier()
    return summary
