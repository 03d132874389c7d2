"""The settings of ``maskdepth train``: one dataclass, the single source of its flags, YAML keys and
``RUN_DIR/config.yaml`` (see :mod:`maskdepth.config`). Torch-free, so the command line can be
built without importing PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option
from ..errors import MaskDepthError
from ..model.presets import FUSIONS, INPUT_MULTIPLE, MODEL_PRESETS

DEPTH_LOSSES = ("l1", "l1_grad", "l1_grad_ssim", "ssi")  # depth losses on metric labels (maskdepth.train.losses)
TASK_WEIGHTINGS = ("fixed", "uncertainty")  # how the mask and depth losses are weighted (maskdepth.train.losses)


def check_res_schedule(sizes) -> list[int]:
    """Validate a resolution schedule: a non-empty list of positive multiples of
    :data:`~maskdepth.model.presets.INPUT_MULTIPLE` (32) pixels. Returns it as ints.

    Raises: MaskDepthError otherwise.
    """
    try:
        out = [int(v) for v in sizes]
    except (TypeError, ValueError):
        out = []
    if not out or any(v <= 0 or v % INPUT_MULTIPLE for v in out):
        raise MaskDepthError(f"sizes must be positive multiples of {INPUT_MULTIPLE}, got {sizes!r}", param="res_schedule")
    return out


def _res_schedule(text: str) -> list[int]:
    """``"64,96,128"`` → ``[64, 96, 128]`` (checked by :func:`check_res_schedule`)."""
    try:
        return check_res_schedule([v for v in str(text).split(",") if v.strip()])
    except MaskDepthError:
        raise ValueError(f"sizes must be comma-separated positive multiples of 32 like 96,128, got {text!r}") from None


@dataclass
class TrainConfig:
    """Training settings (defaults: the shipped model's recipe on a 2-core CPU).

    Each field is also the ``maskdepth train`` flag of the same name (``batch_size`` →
    ``--batch-size``) and the YAML key of ``--config``; :func:`maskdepth.config.option` holds its help.
    """

    data: str = option(help="dataset directory made by `maskdepth generate`")
    run_dir: str = option(help="where checkpoints, TensorBoard logs, config.yaml and summaries go")
    model: str = option("small", "model preset", choices=MODEL_PRESETS)
    pretrained: bool = option(True, "ImageNet encoder weights (small preset); --no-pretrained: random init")
    fusion: str = option(
        "concat",
        "concat: one encoder on the 6-channel [bg, fg_bg]; diff: shared-weight encoder on each, feature difference (small/tiny only)",
        choices=FUSIONS,
    )
    mask_refine: bool = option(False, "full-resolution mask refinement block (input pixels + their difference; small/tiny only)")
    mask_prior: float | None = option(
        None,
        "untrained foreground probability (mask-head bias log(P/(1-P)); default: the training set's mask fraction; 0.5 = bias 0)",
        metavar="P",
    )
    epochs: int = option(4, "passes over the training set")
    batch_size: int = option(32, "global batch size (split over DDP ranks)")
    lr: float = option(2e-3, "peak learning rate (AdamW, one-cycle)")
    weight_decay: float = option(1e-4, "AdamW weight decay")
    warmup_frac: float = option(0.05, "fraction of the steps spent warming the learning rate up")
    mask_weight: float = option(1.0, "weight of the mask loss (fixed task weighting)")
    depth_weight: float = option(1.0, "weight of the depth loss (fixed task weighting)")
    dice_weight: float = option(1.0, "weight of soft Dice in the mask loss (0 = BCE only)")
    grad_weight: float = option(0.5, "weight of the depth-gradient matching term (l1_grad, l1_grad_ssim)")
    depth_loss: str = option(
        "l1_grad",
        "depth loss on metric labels: l1 (log-depth), l1_grad (+ gradient matching), "
        "l1_grad_ssim (+ SSIM, DenseDepth), ssi (scale-and-shift-invariant on disparity, MiDaS)",
        choices=DEPTH_LOSSES,
    )
    task_weighting: str = option("fixed", "fixed, or uncertainty (learned, Kendall et al. 2018)", choices=TASK_WEIGHTINGS)
    res_schedule: list[int] | None = option(
        None,
        "train at these sizes in equal stages of the steps, e.g. 64,96,128 (multiples of 32; default: the data's size)",
        metavar="S1,S2,...",
        parse=_res_schedule,
    )
    grad_clip: float = option(1.0, "clip the gradient norm at this value (0 = off)")
    workers: int = option(2, "DataLoader worker processes")
    seed: int = option(0, "seed of the weights, the sample order and the flips")
    ckpt_every: int = option(200, "checkpoint every N steps (and every epoch)")
    log_every: int = option(20, "log losses to TensorBoard every N steps")
    max_steps: int | None = option(None, "stop after N optimiser steps in total")
    max_minutes: float | None = option(None, "stop (after a checkpoint) when this much time has passed")
    stop_at_step: int | None = option(
        None, "stop (after a checkpoint) at this step, keeping the full run's schedule (time-sliced jobs; continue with --resume)"
    )
    train_limit: int | None = option(None, "use only the first N training samples")
    val_limit: int | None = option(512, "validate on at most N samples")
    device: str = option("auto", "auto (CUDA when present, else CPU), cpu, cuda")
    channels_last: bool = option(True, "NHWC activations (1.5x training throughput on this CPU, results/train_throughput.md)")
    threads: int | None = option(None, "torch CPU threads (default: torch's choice)")
