"""Multiply-accumulate counting: forward hooks on ``nn.Conv2d`` and ``nn.Linear``,
cross-checked with ``torch.utils.flop_counter.FlopCounterMode``."""

from __future__ import annotations


def count_macs(model, height: int, width: int) -> dict:
    """Multiply-accumulates of one forward pass on one pair (batch 1) of ``height × width``.

    Counted with forward hooks on ``nn.Conv2d`` (``out.numel() × in_channels / groups × kh × kw``)
    and ``nn.Linear`` (``out.numel() × in_features``); 1 MAC = 1 multiply-add; nothing else
    is counted (see :mod:`maskdepth.bench`).

    Args:
        model: a ``torch.nn.Module`` taking ``(bg, fg_bg)`` float32 ``(1, 3, H, W)``.
        height, width: input size in pixels (multiples of 32).
    Returns: ``{"macs": int, "conv2d": int, "linear": int, "flop_counter_macs": int | None}``;
        the last is ``FlopCounterMode`` FLOPs / 2 (``None`` when unavailable).
    """
    import torch
    from torch import nn

    counts = {"conv2d": 0, "linear": 0}

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        counts["conv2d"] += out.numel() * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m, inp, out):
        counts["linear"] += out.numel() * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(x, x.clone())
    finally:
        for h in handles:
            h.remove()
    flop_macs = flop_counter_macs(model, x)
    model.train(was_training)
    return {"macs": int(counts["conv2d"] + counts["linear"]), **{k: int(v) for k, v in counts.items()}, "flop_counter_macs": flop_macs}


def flop_counter_macs(model, x) -> int | None:
    """``FlopCounterMode`` FLOPs / 2 of ``model(x, x.clone())`` (``x``: float32 ``(1, 3, H, W)``),
    the optional cross-check of :func:`count_macs`; ``None`` when the counter is unavailable or fails."""
    import torch

    try:
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as fc, torch.inference_mode():
            model(x, x.clone())
        return int(fc.get_total_flops()) // 2
    except Exception:  # optional cross-check only
        return None
