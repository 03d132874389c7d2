"""Trustworthy pseudo-labels on the camera's own frames, and the mean teacher that makes them.

A pixel of a frame gets a label only where two independent judges agree with high confidence:
the mean teacher (an exponential moving average of the student's weights; Tarvainen & Valpola,
"Mean teachers are better role models", NeurIPS 2017) and the classical difference against the
background (:func:`maskdepth.evaluate.baselines.classical_mask`, threshold 30):

* foreground: teacher probability > ``FG_PROB`` and classical mask on;
* background: teacher probability < ``BG_PROB`` and the raw difference below ``BG_DIFF`` grey levels;
* elsewhere: no label (weight 0).

The caller caps their influence: they fill at most a ``pseudo_frac`` share of a batch and their loss
is weighted by ``pseudo_weight`` <= 1 against the exact composites' (:mod:`.run`).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from ..evaluate.baselines import classical_mask

FG_PROB, BG_PROB, BG_DIFF = 0.9, 0.1, 15


def make_teacher(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of ``model`` (eval mode, no gradients), the mean teacher's start."""
    t = copy.deepcopy(model).eval()
    for p in t.parameters():
        p.requires_grad_(False)
    return t


@torch.no_grad()
def ema_update(teacher: torch.nn.Module, student: torch.nn.Module, decay: float) -> None:
    """``teacher <- decay * teacher + (1 - decay) * student`` for parameters; buffers copied."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
    for t, s in zip(teacher.buffers(), student.buffers()):
        t.copy_(s)


def agreement_labels(prob: np.ndarray, bg: np.ndarray, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(target, weight)`` ``float32 (h, w)`` from the teacher's ``prob`` ``(h, w)`` in [0, 1] and the
    classical difference of ``frame`` against ``bg`` (uint8 ``(h, w, 3)``); module docstring."""
    cls = classical_mask(bg, frame)
    diff = np.abs(frame.astype(np.int16) - bg.astype(np.int16)).max(axis=2)
    fg = (prob > FG_PROB) & cls
    bgm = (prob < BG_PROB) & (diff < BG_DIFF) & ~cls
    return fg.astype(np.float32), (fg | bgm).astype(np.float32)


def pseudo_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted BCE-with-logits over the labelled pixels, ``(B, 1, H, W)`` each; 0 when none is labelled."""
    n = weight.sum()
    if float(n) == 0:
        return logits.sum() * 0.0
    return (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight).sum() / n
