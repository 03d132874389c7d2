"""Mask and depth losses, and their weighting.

* Mask: binary cross-entropy on logits + soft Dice (Milletari et al., V-Net, 3DV 2016).
* Depth, metric labels: L1 on log-depth over valid pixels (scale-aware; Eigen et al.
  NIPS 2014 use log-depth) + a multi-scale gradient-matching term on the log-depth
  difference (Li & Snavely, MegaDepth, CVPR 2018; MiDaS, Ranftl et al. TPAMI 2020).
* Depth, teacher labels (relative disparity): scale-and-shift-invariant MSE on
  disparity, ``exp(-log_depth)`` aligned to the label per image by least squares
  (MiDaS, Ranftl et al. TPAMI 2020, eq. 4).
* Samples without a depth label (``depth_kind == 0``) contribute only to the mask loss.
* Depth-loss variants for metric labels (``DEPTH_LOSSES``, ablations in results/quality.md):
  ``l1`` (log-depth L1 only), ``l1_grad`` (default, above), ``l1_grad_ssim`` (+ (1 − SSIM)/2
  as in DenseDepth, Alhashim & Wonka 2018) and ``ssi`` (the MiDaS scale-and-shift-invariant
  loss on disparity ``1/depth``: learns relative depth only).
* Task weighting: fixed weights, or learned homoscedastic uncertainty (Kendall, Gal &
  Cipolla, "Multi-task learning using uncertainty to weigh losses", CVPR 2018) in its common
  form ``Σ_i exp(−s_i)·L_i + s_i`` with ``s_i = log σ_i²`` learned.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data.format import DEPTH_METRIC as METRIC
from ..data.format import DEPTH_NONE as NONE  # noqa: F401  (re-exported: the depth-kind codes live with the format)
from ..data.format import DEPTH_TEACHER as TEACHER
from .config import DEPTH_LOSSES, TASK_WEIGHTINGS  # noqa: F401  (the choices live with the settings)

LOG_DEPTH_RANGE = 4.0  # SSIM dynamic range L of log-depth: ln(10 m / 0.18 m)


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


def _gaussian_window(size: int = 11, sigma: float = 1.5, device=None, dtype=None) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_map(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Differentiable SSIM map (Wang et al., IEEE TIP 2004; Gaussian 11×11, σ 1.5,
    K1 0.01, K2 0.03, reflect padding) of two ``(B, 1, H, W)`` float tensors.

    Returns ``(B, 1, H, W)`` in [-1, 1]. ``data_range`` is the dynamic range L of the values.
    """
    w = _gaussian_window(device=a.device, dtype=a.dtype)
    pad = w.shape[-1] // 2

    def blur(x):
        return F.conv2d(F.pad(x, (pad, pad, pad, pad), mode="reflect"), w)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def metric_depth_loss_per_sample(
    log_depth: torch.Tensor, depth: torch.Tensor, grad_weight: float = 0.5, ssim_weight: float = 0.0
) -> torch.Tensor:
    """Per-sample L1 on log-depth + gradient matching (+ optional SSIM term) over pixels
    with ``depth > 0``.

    Args:
        log_depth: ``(B, 1, H, W)`` predicted natural-log depth (metres).
        depth: ``(B, 1, H, W)`` label in metres, 0 = invalid.
        grad_weight: weight of :func:`gradient_loss` (0 = plain L1).
        ssim_weight: weight of ``(1 − SSIM)/2`` between predicted and label log-depth
            (invalid pixels take the label's value in both, so they add no error), as in
            DenseDepth (Alhashim & Wonka, arXiv:1812.11941), with L = :data:`LOG_DEPTH_RANGE`.
    Returns: ``(B,)``; 0 for a sample with no valid pixel.
    """
    valid = depth > 0
    log_gt = torch.log(depth.clamp(min=1e-3))
    diff = (log_depth - log_gt) * valid
    n = valid.flatten(1).sum(1).clamp(min=1)
    loss = diff.abs().flatten(1).sum(1) / n
    if grad_weight:
        loss = loss + grad_weight * gradient_loss(diff, valid)
    if ssim_weight:
        s = ssim_map(log_gt * valid + diff, log_gt * valid, LOG_DEPTH_RANGE)
        loss = loss + ssim_weight * ((1 - s) / 2).clamp(0, 1).flatten(1).mean(1)
    return loss


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


def depth_loss(
    log_depth: torch.Tensor, depth: torch.Tensor, depth_kind: torch.Tensor, grad_weight: float = 0.5, kind: str = "l1_grad"
) -> torch.Tensor:
    """Depth loss of a batch mixing label kinds (``depth_kind``: (B,) int64 0/1/2).

    Each sample's loss (metric: :func:`metric_depth_loss_per_sample` in the variant
    ``kind`` of :data:`DEPTH_LOSSES`, or for ``"ssi"`` :func:`ssi_disparity_loss_per_sample`
    on ``1/depth``; teacher: :func:`ssi_disparity_loss_per_sample`; none: 0) is summed and
    divided by the batch size ``B``: every sample weighs the same, so the mean over
    equal-sized DDP shards of a batch equals the loss of the whole batch.

    Raises:
        ValueError: ``kind`` not in :data:`DEPTH_LOSSES`.
    """
    if kind not in DEPTH_LOSSES:
        raise ValueError(f"unknown depth loss {kind!r} (expected one of {', '.join(DEPTH_LOSSES)})")
    B = log_depth.shape[0]
    total = log_depth.sum() * 0.0
    m = depth_kind == METRIC
    if m.any():
        if kind == "ssi":
            d = depth[m]
            per = ssi_disparity_loss_per_sample(log_depth[m], torch.where(d > 0, 1.0 / d.clamp(min=1e-3), torch.zeros_like(d)))
        else:
            per = metric_depth_loss_per_sample(
                log_depth[m], depth[m], 0.0 if kind == "l1" else grad_weight, 0.5 if kind == "l1_grad_ssim" else 0.0
            )
        total = total + per.sum() / B
    t = depth_kind == TEACHER
    if t.any():
        total = total + ssi_disparity_loss_per_sample(log_depth[t], depth[t]).sum() / B
    return total


class MultiTaskLoss(torch.nn.Module):
    """Total loss of the two tasks.

    ``weighting="fixed"``: ``mask_weight·L_mask + depth_weight·L_depth``.
    ``weighting="uncertainty"``: ``exp(−s_m)·L_mask + s_m + exp(−s_d)·L_depth + s_d`` with
    learned ``log_vars = (s_m, s_d)`` (Kendall et al. CVPR 2018; start at 0, train them with
    the model and without weight decay); ``mask_weight``/``depth_weight`` are then unused.
    ``dice_weight`` 0 makes the mask loss plain BCE; ``depth_loss`` picks the variant of
    :func:`depth_loss`.

    ``forward(mask_logits (B,1,H,W), log_depth (B,1,H,W), batch)`` returns
    ``(total, {"mask": ..., "depth": ..., "total": ...})`` with detached float parts.

    Raises:
        ValueError: unknown ``weighting`` or ``depth_loss``.
    """

    def __init__(
        self,
        mask_weight: float = 1.0,
        depth_weight: float = 1.0,
        dice_weight: float = 1.0,
        grad_weight: float = 0.5,
        depth_loss: str = "l1_grad",
        weighting: str = "fixed",
    ):
        super().__init__()
        if weighting not in TASK_WEIGHTINGS:
            raise ValueError(f"unknown task weighting {weighting!r} (expected one of {', '.join(TASK_WEIGHTINGS)})")
        if depth_loss not in DEPTH_LOSSES:
            raise ValueError(f"unknown depth loss {depth_loss!r} (expected one of {', '.join(DEPTH_LOSSES)})")
        self.mask_weight, self.depth_weight = mask_weight, depth_weight
        self.dice_weight, self.grad_weight = dice_weight, grad_weight
        self.depth_loss_kind, self.weighting = depth_loss, weighting
        self.log_vars = torch.nn.Parameter(torch.zeros(2)) if weighting == "uncertainty" else None

    def forward(self, mask_logits, log_depth, batch):
        lm = mask_loss(mask_logits, batch["mask"], self.dice_weight)
        ld = depth_loss(log_depth, batch["depth"], batch["depth_kind"], self.grad_weight, self.depth_loss_kind)
        if self.log_vars is None:
            total = self.mask_weight * lm + self.depth_weight * ld
        else:
            s = self.log_vars
            total = torch.exp(-s[0]) * lm + s[0] + torch.exp(-s[1]) * ld + s[1]
        return total, {"mask": float(lm.detach()), "depth": float(ld.detach()), "total": float(total.detach())}
