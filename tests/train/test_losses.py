"""Losses: mask (BCE, Dice), depth variants (L1, +gradient, +SSIM, SSI) and task weighting."""

from __future__ import annotations

import math

import pytest
import torch

from maskdepth.train import losses as L


def _depth(seed=0, b=3, h=32, w=32):
    g = torch.Generator().manual_seed(seed)
    d = 0.5 + 4 * torch.rand(b, 1, h, w, generator=g)
    d[0, 0, :4] = 0  # invalid pixels
    return d


def _batch(depth, kind=None, seed=0):
    g = torch.Generator().manual_seed(seed + 1)
    b = depth.shape[0]
    return {
        "mask": (torch.rand(depth.shape, generator=g) > 0.5).float(),
        "depth": depth,
        "depth_kind": torch.full((b,), L.METRIC) if kind is None else kind,
    }


def test_dice_perfect_and_worst():
    t = torch.zeros(2, 1, 8, 8)
    t[:, :, 2:6, 2:6] = 1
    assert float(L.dice_loss(torch.where(t > 0, 20.0, -20.0), t)) < 1e-3
    assert float(L.dice_loss(torch.where(t > 0, -20.0, 20.0), t)) > 0.95


def test_mask_loss_dice_weight_zero_is_plain_bce():
    logits, t = torch.randn(2, 1, 8, 8), (torch.rand(2, 1, 8, 8) > 0.5).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, t)
    assert torch.allclose(L.mask_loss(logits, t, 0.0), bce)
    assert float(L.mask_loss(logits, t, 1.0)) > float(bce)


def test_ssim_map_identity_and_range():
    a = torch.rand(2, 1, 24, 24)
    assert torch.allclose(L.ssim_map(a, a), torch.ones_like(a), atol=1e-5)
    s = L.ssim_map(a, torch.rand(2, 1, 24, 24))
    assert s.shape == a.shape and float(s.max()) <= 1 + 1e-5 and float(s.min()) >= -1 - 1e-5
    assert float(s.mean()) < 0.5


@pytest.mark.parametrize("kind", L.DEPTH_LOSSES)
def test_depth_losses_zero_at_the_label_and_positive_off_it(kind):
    d = _depth()
    perfect = torch.log(d.clamp(min=1e-3))
    kinds = torch.full((3,), L.METRIC)
    assert float(L.depth_loss(perfect, d, kinds, kind=kind)) < 1e-4
    noisy = perfect + 0.3 * torch.randn(d.shape, generator=torch.Generator().manual_seed(3))
    assert float(L.depth_loss(noisy, d, kinds, kind=kind)) > 1e-3


def test_depth_loss_variants_order_and_invalid_pixels_ignored():
    d = _depth()
    pred = torch.log(d.clamp(min=1e-3)) + 0.2 * torch.randn(d.shape, generator=torch.Generator().manual_seed(4))
    k = torch.full((3,), L.METRIC)
    l1, l1g, l1gs = (float(L.depth_loss(pred, d, k, kind=x)) for x in ("l1", "l1_grad", "l1_grad_ssim"))
    assert l1 < l1g < l1gs  # each variant adds a non-negative term
    pred2 = pred.clone()
    pred2[0, 0, :4] = 99.0  # garbage where the label is invalid changes nothing
    for x in ("l1", "l1_grad", "l1_grad_ssim", "ssi"):
        assert math.isclose(float(L.depth_loss(pred2, d, k, kind=x)), float(L.depth_loss(pred, d, k, kind=x)), rel_tol=1e-5)


def test_ssi_ignores_disparity_scale_and_shift_but_l1_does_not():
    d = _depth()
    k = torch.full((3,), L.METRIC)
    disp = 1.0 / d.clamp(min=1e-3)
    pred = -torch.log(2.5 * disp + 0.1)  # disparity 2.5·d + 0.1: same relative depth, wrong scale
    assert float(L.depth_loss(pred, d, k, kind="ssi")) < 1e-6
    assert float(L.depth_loss(pred, d, k, kind="l1")) > 0.5


def test_samples_without_depth_label_add_nothing():
    d = _depth()
    kinds = torch.tensor([L.METRIC, L.NONE, L.NONE])
    pred = torch.zeros_like(d)
    one = float(L.depth_loss(pred[:1], d[:1], kinds[:1]))
    assert math.isclose(float(L.depth_loss(pred, d, kinds)), one / 3, rel_tol=1e-5)


def test_unknown_depth_loss_and_weighting_raise():
    with pytest.raises(ValueError, match="depth loss"):
        L.depth_loss(torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4), torch.ones(1, dtype=torch.long), kind="l2")
    with pytest.raises(ValueError, match="weighting"):
        L.MultiTaskLoss(weighting="gradnorm")
    with pytest.raises(ValueError, match="depth loss"):
        L.MultiTaskLoss(depth_loss="huber")


def test_fixed_weighting_is_weighted_sum():
    d = _depth()
    b = _batch(d)
    logits, ld = torch.randn(d.shape), torch.randn(d.shape)
    total, parts = L.MultiTaskLoss(mask_weight=1.0, depth_weight=2.0)(logits, ld, b)
    assert math.isclose(float(total), parts["mask"] + 2 * parts["depth"], rel_tol=1e-5)
    assert not list(L.MultiTaskLoss().parameters())


def test_uncertainty_weighting_formula_and_gradients():
    d = _depth()
    b = _batch(d)
    logits, ld = torch.randn(d.shape), torch.randn(d.shape)
    loss = L.MultiTaskLoss(weighting="uncertainty")
    assert loss.log_vars.shape == (2,)
    with torch.no_grad():
        loss.log_vars.copy_(torch.tensor([0.5, -1.0]))
    total, parts = loss(logits, ld, b)
    expect = math.exp(-0.5) * parts["mask"] + 0.5 + math.exp(1.0) * parts["depth"] - 1.0
    assert math.isclose(float(total.detach()), expect, rel_tol=1e-5)
    total.backward()
    g = loss.log_vars.grad
    # d/ds (exp(-s)·L + s) = 1 - exp(-s)·L
    assert torch.allclose(g, torch.tensor([1 - math.exp(-0.5) * parts["mask"], 1 - math.exp(1.0) * parts["depth"]]), atol=1e-4)
