"""Mask and depth losses, and their weighting.

* Mask: binary cross-entropy on logits + soft Dice (Milletari et al., V-Net, 3DV 2016).
* Depth, metric labels: L1 on log-depth over valid pixels (scale-aware; Eigen et al.
  NIPS 2014 use log-depth) + a multi-scale gradient-matching term on the log-depth
  difference (Li & Snavely, MegaDepth, CVPR 2018; MiDaS, Ranftl et al. TPAMI 2020).
* Depth, teacher labels (relative disparity): scale-and-shift-invariant MSE on
  disparity, ``exp(-log_depth)`` aligned to the label per image by least squares
  (MiDaS, Ranftl et al. TPAMI 2020, eq. 4).
* Samples without a depth label (``depth_kind == 0``) contribute only to the mask loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

NONE, METRIC, TEACHER = 0, 1, 2


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft Dice loss, averaged over the batch.

    Args:
        logits: ``(B, 1, H, W)`` float; target: same shape in {0, 1}.
    Returns: scalar in [0, 1].
    """
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    inter = (p * t).sum(1)
    return (1 - (2 * inter + eps) / (p.sum(1) + t.sum(1) + eps)).mean()


def mask_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 1.0) -> torch.Tensor:
    """BCE-with-logits + ``dice_weight`` × soft Dice. Shapes ``(B, 1, H, W)``."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    return bce + dice_weight * dice_loss(logits, target) if dice_weight else bce


def gradient_loss(diff: torch.Tensor, valid: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """Multi-scale gradient matching of a residual ``diff`` (B,1,H,W) over ``valid`` pixels.

    Returns ``(B,)``: per-sample mean absolute gradient of the residual, averaged over scales.
    """
    total = diff.new_zeros(diff.shape[0])
    for s in range(scales):
        if s:
            diff = diff[:, :, ::2, ::2]
            valid = valid[:, :, ::2, ::2]
        gx = (diff[..., :, 1:] - diff[..., :, :-1]).abs() * (valid[..., :, 1:] & valid[..., :, :-1])
        gy = (diff[..., 1:, :] - diff[..., :-1, :]).abs() * (valid[..., 1:, :] & valid[..., :-1, :])
        n = valid.flatten(1).sum(1).clamp(min=1)
        total = total + (gx.flatten(1).sum(1) + gy.flatten(1).sum(1)) / n
    return total / scales


def metric_depth_loss_per_sample(log_depth: torch.Tensor, depth: torch.Tensor, grad_weight: float = 0.5) -> torch.Tensor:
    """Per-sample L1 on log-depth + gradient matching over pixels with ``depth > 0``.

    Args:
        log_depth: ``(B, 1, H, W)`` predicted natural-log depth (metres).
        depth: ``(B, 1, H, W)`` label in metres, 0 = invalid.
    Returns: ``(B,)``; 0 for a sample with no valid pixel.
    """
    valid = depth > 0
    diff = (log_depth - torch.log(depth.clamp(min=1e-3))) * valid
    n = valid.flatten(1).sum(1).clamp(min=1)
    l1 = diff.abs().flatten(1).sum(1) / n
    return l1 + grad_weight * gradient_loss(diff, valid) if grad_weight else l1


def metric_depth_loss(log_depth: torch.Tensor, depth: torch.Tensor, grad_weight: float = 0.5) -> torch.Tensor:
    """Mean over samples of :func:`metric_depth_loss_per_sample` (scalar)."""
    return metric_depth_loss_per_sample(log_depth, depth, grad_weight).mean()


def ssi_disparity_loss_per_sample(log_depth: torch.Tensor, disparity: torch.Tensor) -> torch.Tensor:
    """Scale-and-shift-invariant MSE between ``exp(-log_depth)`` and a relative disparity label.

    Per image: ``s, t = argmin Σ (s·d̂ + t − d)²`` (closed form), loss = mean squared
    residual. Pixels with label 0 are ignored. Returns ``(B,)``.
    """
    pred = torch.exp(-log_depth).flatten(1)
    tgt = disparity.flatten(1)
    valid = (tgt > 0).float()
    n = valid.sum(1).clamp(min=1)
    mp = (pred * valid).sum(1) / n
    mt = (tgt * valid).sum(1) / n
    pc, tc = (pred - mp[:, None]) * valid, (tgt - mt[:, None]) * valid
    s = (pc * tc).sum(1) / (pc.pow(2).sum(1) + 1e-8)
    res = (s[:, None] * pc - tc) * valid
    return res.pow(2).sum(1) / n


def ssi_disparity_loss(log_depth: torch.Tensor, disparity: torch.Tensor) -> torch.Tensor:
    """Mean over samples of :func:`ssi_disparity_loss_per_sample` (scalar)."""
    return ssi_disparity_loss_per_sample(log_depth, disparity).mean()


def depth_loss(log_depth: torch.Tensor, depth: torch.Tensor, depth_kind: torch.Tensor, grad_weight: float = 0.5) -> torch.Tensor:
    """Depth loss of a batch mixing label kinds (``depth_kind``: (B,) int64 0/1/2).

    Each sample's loss (metric: :func:`metric_depth_loss_per_sample`; teacher:
    :func:`ssi_disparity_loss_per_sample`; none: 0) is summed and divided by the batch
    size ``B``: every sample weighs the same, so the mean over equal-sized DDP shards of a
    batch equals the loss of the whole batch.
    """
    B = log_depth.shape[0]
    total = log_depth.sum() * 0.0
    m = depth_kind == METRIC
    if m.any():
        total = total + metric_depth_loss_per_sample(log_depth[m], depth[m], grad_weight).sum() / B
    t = depth_kind == TEACHER
    if t.any():
        total = total + ssi_disparity_loss_per_sample(log_depth[t], depth[t]).sum() / B
    return total


class MultiTaskLoss(torch.nn.Module):
    """Total loss ``mask_weight·L_mask + depth_weight·L_depth``.

    Returns ``(total, {"mask": ..., "depth": ...})`` with detached parts for logging.
    """

    def __init__(self, mask_weight: float = 1.0, depth_weight: float = 1.0, dice_weight: float = 1.0, grad_weight: float = 0.5):
        super().__init__()
        self.mask_weight, self.depth_weight = mask_weight, depth_weight
        self.dice_weight, self.grad_weight = dice_weight, grad_weight

    def forward(self, mask_logits, log_depth, batch):
        lm = mask_loss(mask_logits, batch["mask"], self.dice_weight)
        ld = depth_loss(log_depth, batch["depth"], batch["depth_kind"], self.grad_weight)
        total = self.mask_weight * lm + self.depth_weight * ld
        return total, {"mask": float(lm.detach()), "depth": float(ld.detach()), "total": float(total.detach())}
