import math

import numpy as np
import pytest

from maskdepth.evaluate import metrics as M


def _masks_4x4():
    # pred: 4 px (rows 0-1, cols 0-1); gt: 4 px (rows 0-1, cols 1-2); overlap 2, union 6.
    pred = np.zeros((4, 4), bool)
    gt = np.zeros((4, 4), bool)
    pred[0:2, 0:2] = True
    gt[0:2, 1:3] = True
    return pred, gt


def _square(n=100, top=30, left=30, size=40):
    m = np.zeros((n, n), bool)
    m[top : top + size, left : left + size] = True
    return m


# ----------------------------------------------------------------- masks


def test_iou_dice_hand_values():
    pred, gt = _masks_4x4()
    assert M.mask_iou(pred, gt) == pytest.approx(2 / 6)
    assert M.mask_dice(pred, gt) == pytest.approx(4 / 8)


def test_iou_dice_empty_and_identical():
    z = np.zeros((3, 3), bool)
    assert M.mask_iou(z, z) == 1.0
    assert M.mask_dice(z, z) == 1.0
    pred, _ = _masks_4x4()
    assert M.mask_iou(pred, pred) == 1.0
    assert M.mask_iou(pred, np.zeros_like(pred)) == 0.0
    assert M.mask_dice(pred, np.zeros_like(pred)) == 0.0


def test_iou_valid_excludes_pixels():
    pred, gt = _masks_4x4()
    valid = np.ones((4, 4), bool)
    valid[:, 0] = False  # drops the 2 pred-only pixels → IoU 2/4
    assert M.mask_iou(pred, gt, valid) == pytest.approx(2 / 4)
    assert M.mask_dice(pred, gt, valid) == pytest.approx(4 / 6)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        M.mask_iou(np.zeros((4, 4), bool), np.zeros((4, 5), bool))
    with pytest.raises(ValueError, match="shape"):
        M.mask_dice(np.zeros((4, 4), bool), np.zeros((4, 4), bool), np.ones((3, 4), bool))
    with pytest.raises(ValueError, match="shape"):
        M.depth_metrics(np.ones((2, 2)), np.ones((2, 3)), np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="shape"):
        M.ssim(np.ones((12, 12)), np.ones((12, 13)))
    with pytest.raises(ValueError):
        M.mask_iou(np.zeros(4, bool), np.zeros(4, bool))


def test_cdnet_gt_codes():
    raw = np.array([[0, 50, 85, 170, 255, 200, 100]], np.uint8)
    fg, valid = M.cdnet_gt(raw)
    assert fg.tolist() == [[False, False, False, False, True, True, False]]
    assert valid.tolist() == [[True, True, False, False, True, True, True]]
    assert fg.dtype == bool and valid.dtype == bool


def test_cdnet_ignored_pixels_do_not_change_iou():
    raw = np.zeros((6, 6), np.uint8)
    raw[1:4, 1:4] = 255
    pred = raw == 255
    fg, valid = M.cdnet_gt(raw)
    base = M.mask_iou(pred, fg, valid)
    assert base == 1.0
    raw2 = raw.copy()
    raw2[5, :] = 85  # outside ROI, pred wrongly says fg there
    raw2[0, 4:6] = 170  # unknown motion, pred wrongly says fg there
    pred2 = pred.copy()
    pred2[5, :] = True
    pred2[0, 4:6] = True
    fg2, valid2 = M.cdnet_gt(raw2)
    assert M.mask_iou(pred2, fg2, valid2) == base
    assert M.mask_dice(pred2, fg2, valid2) == 1.0
    # without the ignore map the same errors do count
    assert M.mask_iou(pred2, fg2) < 1.0


def test_false_positive_rate():
    pred = np.zeros((4, 4), bool)
    pred[0, :2] = True
    assert M.false_positive_rate(pred) == pytest.approx(2 / 16)
    valid = np.ones((4, 4), bool)
    valid[0, 0] = False
    assert M.false_positive_rate(pred, valid) == pytest.approx(1 / 15)
    assert math.isnan(M.false_positive_rate(pred, np.zeros((4, 4), bool)))


def test_boundary_f_identical_and_shifts():
    sq = _square()
    assert M.boundary_f(sq, sq) == 1.0
    # 100x100: bound_pix = ceil(0.008 * 141.4) = 2 → a 1-px shift is fully matched
    assert M.boundary_f(np.roll(sq, 1, axis=1), sq) == 1.0
    assert M.boundary_f(np.roll(sq, 2, axis=1), sq) == 1.0
    f3 = M.boundary_f(np.roll(sq, 3, axis=1), sq)
    f5 = M.boundary_f(np.roll(sq, 5, axis=1), sq)
    assert 0.0 < f5 < f3 < 1.0
    # tol >= 1 is a pixel count, as in the davis2017 toolkit
    assert M.boundary_f(np.roll(sq, 3, axis=1), sq, tol=3) == 1.0


def test_boundary_f_empty_cases_and_valid():
    sq = _square()
    z = np.zeros_like(sq)
    assert M.boundary_f(z, z) == 1.0
    assert M.boundary_f(sq, z) == 0.0
    assert M.boundary_f(z, sq) == 0.0
    # a spurious blob inside an ignored region does not count
    pred = sq.copy()
    pred[2:10, 80:95] = True
    assert M.boundary_f(pred, sq) < 1.0
    valid = np.ones_like(sq)
    valid[0:12, 75:100] = False
    assert M.boundary_f(pred, sq, valid) == 1.0


# ----------------------------------------------------------------- depth


def test_align_scale_shift_exact():
    rng = np.random.default_rng(1)
    target = rng.uniform(1, 5, (8, 9))
    s, t = 2.5, -0.7
    pred = (target - t) / s
    valid = np.ones_like(target, bool)
    valid[0, :] = False
    pred[0, :] = 1e6  # outliers outside valid must not matter
    pred[1, 1] = np.nan  # non-finite values are left out of the fit
    s_hat, t_hat = M.align_scale_shift(pred, target, valid)
    assert s_hat == pytest.approx(s, rel=1e-9)
    assert t_hat == pytest.approx(t, abs=1e-9)


def test_align_scale_shift_degenerate():
    a = np.ones((3, 3))
    assert M.align_scale_shift(a, a, np.zeros((3, 3), bool)) == (1.0, 0.0)
    s, t = M.align_scale_shift(a, a + 2, np.ones((3, 3), bool))  # constant pred
    assert (s, t) == (1.0, pytest.approx(2.0))


def test_align_depth_recovers_metric_depth_from_affine_disparity():
    rng = np.random.default_rng(2)
    gt = rng.uniform(1, 8, (10, 12)).astype(np.float32)
    pred_disp = (1.0 / gt - 0.05) / 3.0 + 0.0  # affine in disparity: 1/gt = 3*d + 0.05
    pred = (1.0 / pred_disp).astype(np.float32)
    valid = np.ones(gt.shape, bool)
    out = M.align_depth(pred, gt, valid)
    assert out.dtype == np.float32 and out.shape == gt.shape
    np.testing.assert_allclose(out, gt, rtol=1e-4)
    # an affine-in-depth prediction is recovered in depth space
    out_d = M.align_depth(0.5 * gt + 3.0, gt, valid, space="depth")
    np.testing.assert_allclose(out_d, gt, rtol=1e-4)
    with pytest.raises(ValueError):
        M.align_depth(pred, gt, valid, space="log")


def test_align_depth_stays_finite_and_positive():
    gt = np.array([[1.0, 2.0], [4.0, 0.0]], np.float32)  # 0 = missing
    pred = np.array([[1.0, 2.0], [4.0, 100.0]], np.float32)
    out = M.align_depth(pred, gt, gt > 0)
    assert np.all(np.isfinite(out)) and np.all(out > 0)
    assert out[1, 1] <= 10 * 4.0 + 1e-4  # floor: at most 10x the farthest GT depth


def test_depth_metrics_hand_values():
    pred = np.array([[1.0, 2.0]])
    gt = np.array([[1.0, 1.0]])
    m = M.depth_metrics(pred, gt, np.ones((1, 2), bool))
    assert m["absrel"] == pytest.approx(0.5)
    assert m["rmse"] == pytest.approx(math.sqrt(0.5))
    assert m["delta1"] == pytest.approx(0.5)


def test_depth_metrics_masks_and_nan():
    pred = np.array([[1.0, 2.0, 5.0, 7.0]])
    gt = np.array([[1.0, 1.0, 0.0, np.nan]])  # gt 0 / NaN are skipped
    m = M.depth_metrics(pred, gt, np.ones((1, 4), bool))
    assert m["absrel"] == pytest.approx(0.5)
    m = M.depth_metrics(pred, gt, np.zeros((1, 4), bool))
    assert all(math.isnan(v) for v in m.values())
    with pytest.raises(ValueError):
        M.depth_metrics(np.array([[np.nan, 1.0]]), np.ones((1, 2)), np.ones((1, 2), bool))


def test_ssim_identity_and_skimage():
    structural_similarity = pytest.importorskip("skimage.metrics").structural_similarity
    rng = np.random.default_rng(3)
    b = cv_smooth(rng.uniform(0, 10, (48, 40)))
    a = b + rng.normal(0, 0.5, b.shape)
    assert M.ssim(b, b) == pytest.approx(1.0)
    dr = float(b.max() - b.min())
    _, ref_map = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=dr, full=True)
    assert M.ssim(a, b) == pytest.approx(ref_map.mean(), abs=1e-6)
    assert M.ssim(a, b) < 0.99


def test_ssim_valid_region():
    rng = np.random.default_rng(4)
    b = cv_smooth(rng.uniform(0, 1, (32, 32)))
    a = b.copy()
    a[:, 16:] = rng.uniform(0, 1, (32, 16))  # garbage on the right half
    valid = np.zeros_like(b, bool)
    valid[:, :8] = True  # far (> window radius) from the garbage
    assert M.ssim(a, b, valid) == pytest.approx(1.0)
    assert M.ssim(a, b) < 0.9
    assert math.isnan(M.ssim(a, b, np.zeros_like(valid)))


def cv_smooth(x):
    import cv2

    return cv2.GaussianBlur(x, (7, 7), 2.0)


# ----------------------------------------------------------------- statistics


def test_bootstrap_ci():
    rng = np.random.default_rng(5)
    v = rng.normal(3.0, 1.0, 50)
    lo, hi = M.bootstrap_ci(v, n_boot=500, seed=7)
    assert lo < v.mean() < hi
    assert hi - lo < 1.5
    assert M.bootstrap_ci(v, n_boot=500, seed=7) == (lo, hi)
    assert M.bootstrap_ci(v, n_boot=500, seed=8) != (lo, hi)
    with_nan = np.concatenate([v, [np.nan, np.nan]])
    assert M.bootstrap_ci(with_nan, n_boot=500, seed=7) == (lo, hi)
    assert all(math.isnan(x) for x in M.bootstrap_ci([np.nan]))
    assert all(math.isnan(x) for x in M.bootstrap_ci([]))


def test_false_positive_blobs_counts_components_above_min_area():
    pred = np.zeros((100, 100), bool)
    assert M.false_positive_blobs(pred) == 0
    pred[10:20, 10:20] = True  # 100 px blob
    pred[50:52, 50:52] = True  # 4 px speck: below 0.1 % of 10,000 px = 10 px
    pred[80:90, 60:70] = True  # second blob
    assert M.false_positive_blobs(pred) == 2
    assert M.false_positive_blobs(pred, min_area_frac=0.0) == 3
    valid = np.ones_like(pred)
    valid[80:90, 60:70] = False  # ignored pixels are not false positives
    assert M.false_positive_blobs(pred, valid) == 1
    with pytest.raises(ValueError):
        M.false_positive_blobs(np.zeros((2, 2, 2), bool))


def _crossed(seed: int, n_a: int = 16, n_b: int = 12, sd_a: float = 1.0, sd_b: float = 1.0, sd_e: float = 0.05):
    """Values on a full n_a x n_b grid (backgrounds x cutouts): x = a effect + b effect + small noise."""
    rng = np.random.default_rng(seed)
    ea, eb = rng.normal(0, sd_a, n_a), rng.normal(0, sd_b, n_b)
    a, b = np.meshgrid(np.arange(n_a), np.arange(n_b), indexing="ij")
    a, b = a.ravel(), b.ravel()
    return ea[a] + eb[b] + rng.normal(0, sd_e, a.size), a, b


def test_cluster_bootstrap_is_wider_when_values_within_a_cluster_are_correlated():
    # images of one background are perfectly correlated: 20 backgrounds x 40 identical images
    rng = np.random.default_rng(0)
    per_bg = rng.normal(0.8, 0.1, 20)
    groups = np.repeat([f"bg{i}" for i in range(20)], 40)
    v = np.repeat(per_bg, 40)
    naive = M.bootstrap_ci(v, seed=0)
    clus = M.cluster_bootstrap_ci(v, groups, seed=0)
    assert clus[0] < v.mean() < clus[1]
    # the honest width is that of 20 independent values; the naive one believes in 800
    assert (clus[1] - clus[0]) > 4 * (naive[1] - naive[0])
    honest = M.bootstrap_ci(per_bg, seed=0)
    assert (clus[1] - clus[0]) == pytest.approx(honest[1] - honest[0], rel=0.25)
    # every value its own cluster: the ordinary bootstrap
    own = M.cluster_bootstrap_ci(v[:200] + rng.normal(0, 0.05, 200), np.arange(200), seed=0)
    ref = M.bootstrap_ci(v[:200] + rng.normal(0, 0.05, 200), seed=0)
    assert (own[1] - own[0]) == pytest.approx(ref[1] - ref[0], rel=0.3)


def test_two_way_cluster_bootstrap_covers_both_factors():
    v, a, b = _crossed(1)
    naive = M.bootstrap_ci(v, seed=0)
    one_a, one_b = M.cluster_bootstrap_ci(v, a, seed=0), M.cluster_bootstrap_ci(v, b, seed=0)
    two = M.cluster_bootstrap_ci(v, a, b, seed=0)
    w = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert w(two) > max(w(one_a), w(one_b)) and min(w(one_a), w(one_b)) > 1.5 * w(naive)  # each factor adds its share
    # coverage of the grand mean over new draws of backgrounds and cutouts (true mean 0)
    hits = sum(lo < 0 < hi for lo, hi in (M.cluster_bootstrap_ci(*_crossed(s), n_boot=300, seed=s) for s in range(40)))
    assert hits >= 33  # nominal 95 % (37 of 40 here)
    naive_hits = sum(lo < 0 < hi for lo, hi in (M.bootstrap_ci(_crossed(s)[0], n_boot=300, seed=s) for s in range(40)))
    assert naive_hits <= 20  # the image bootstrap covers about 40 % (16 of 40 here)
    # deterministic, NaNs dropped with their labels, errors
    assert M.cluster_bootstrap_ci(v, a, b, seed=3) == M.cluster_bootstrap_ci(v, a, b, seed=3)
    vn = np.concatenate([v, [np.nan]])
    assert M.cluster_bootstrap_ci(vn, np.append(a, 99), np.append(b, 99), seed=3) == M.cluster_bootstrap_ci(v, a, b, seed=3)
    assert all(math.isnan(x) for x in M.cluster_bootstrap_ci([np.nan], ["a"]))
    with pytest.raises(ValueError):
        M.cluster_bootstrap_ci(v, a[:-1])
    with pytest.raises(ValueError):
        M.cluster_bootstrap_ci(v, a, n_boot=0)


def test_object_depth_errors():
    gt = np.full((20, 20), 4.0, np.float32)
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    gt[mask] = 2.0
    pred = np.where(mask, 2.5, 4.0).astype(np.float32)  # the object 0.5 m too far, the rest exact
    out = M.object_depth_errors(pred, gt, mask)
    assert out["object_absrel"] == pytest.approx(0.25)
    assert out["fg_absrel"] == pytest.approx(0.25)
    gt[5:15, 5:10] = 0  # invalid pixels are not scored
    pred[5:15, 5:10] = 100.0
    assert M.object_depth_errors(pred, gt, mask)["object_absrel"] == pytest.approx(0.25)
    assert np.isnan(M.object_depth_errors(pred, gt, np.zeros_like(mask))["object_absrel"])


def _iou_population(n: int, shift: float, rng: np.random.Generator):
    """Samples of two models on the same composites: per-sample union (pixels), IoU of a, and of b = a's + shift + noise
    (the models share what makes a sample hard)."""
    union = rng.uniform(300, 6000, n)
    iou_a = np.clip(rng.beta(18, 2, n), 0, 1)
    iou_b = np.clip(iou_a + shift + rng.normal(0, 0.02, n), 0, 1)
    return iou_a * union, union, iou_b * union, union


def test_paired_pooled_iou_diff_ci_covers_the_truth_and_sees_a_real_difference():
    pop = _iou_population(200_000, 0.003, np.random.default_rng(0))
    truth = pop[2].sum() / pop[3].sum() - pop[0].sum() / pop[1].sum()
    rng, hits = np.random.default_rng(1), 0
    for s in range(60):  # 60 independent sets of 128 composites from the population
        ix = rng.integers(0, pop[0].size, 128)
        _, lo, hi = M.paired_pooled_iou_diff_ci(*(a[ix] for a in pop), n_boot=1000, seed=s)
        hits += lo <= truth <= hi
    assert hits >= 52, hits  # nominal 95 %: 57 of 60 expected
    d, lo, hi = M.paired_pooled_iou_diff_ci(*_iou_population(128, 0.02, np.random.default_rng(2)))
    assert 0 < lo < d < hi and d == pytest.approx(0.02, abs=0.01)  # a real gain is seen
    ia, ua, ib, ub = _iou_population(128, 0.0, np.random.default_rng(3))
    assert M.paired_pooled_iou_diff_ci(ia, ua, ia, ua)[0] == 0.0  # the same model: no difference
    assert M.paired_pooled_iou_diff_ci(ia, ua, ib, ub, seed=4) == M.paired_pooled_iou_diff_ci(ia, ua, ib, ub, seed=4)
    with pytest.raises(ValueError):
        M.paired_pooled_iou_diff_ci(ia, ua, ib[:-1], ub)
    with pytest.raises(ValueError):
        M.paired_pooled_iou_diff_ci(ia, ua, ib, ub, n_boot=0)
    assert all(np.isnan(M.paired_pooled_iou_diff_ci([0], [0], [0], [0])))


def test_wilson_ci_holds_its_level_on_20_clips_where_the_bootstrap_does_not():
    rng = np.random.default_rng(11)
    for p in (0.9, 0.95):
        draws = rng.random((400, 20)) < p  # 400 sets of 20 clips, each right with probability p
        wilson = np.mean([(lambda lo, hi: lo <= p <= hi)(*M.wilson_ci(int(d.sum()), 20)) for d in draws])
        boot = np.mean(
            [(lambda lo, hi: lo <= p <= hi)(*M.bootstrap_ci(d.astype(float), n_boot=300, seed=i)) for i, d in enumerate(draws[:100])]
        )
        assert wilson >= 0.92, (p, wilson)  # nominal 0.95
        assert boot <= 0.90, (p, boot)  # all 20 right gives [1, 1]
    lo, hi = M.wilson_ci(20, 20)
    assert hi == 1.0 and 0.8 < lo < 0.85  # 0.839
    assert M.wilson_ci(0, 5)[0] == 0.0 and M.wilson_ci(3, 10) == pytest.approx((0.108, 0.603), abs=1e-3)
    for bad in ((3, 2), (-1, 5), (1, 0)):
        with pytest.raises(ValueError):
            M.wilson_ci(*bad)


def test_count_mean_ci_holds_its_level_on_mostly_zero_counts_where_the_bootstrap_does_not():
    """Coverage on 20 clips of counts with known mean: Poisson (the quasi-Poisson interval's model) and a negative
    binomial of shape 1 (overdispersed); the percentile bootstrap under-covers where most counts are 0."""
    rng = np.random.default_rng(5)
    for mu in (0.1, 0.6, 1.0):
        pois = rng.poisson(mu, (300, 20)).astype(float)
        nb = rng.negative_binomial(1.0, 1.0 / (1.0 + mu), (300, 20)).astype(float)
        cov = [np.mean([(lambda lo, hi: lo <= mu <= hi)(*M.count_mean_ci(d)) for d in x]) for x in (pois, nb)]
        assert cov[0] >= 0.92 and cov[1] >= 0.89, (mu, cov)  # nominal 0.95 (0.93-0.99 in a 400-set simulation)
    boot = np.mean(
        [
            (lambda lo, hi: lo <= 0.1 <= hi)(*M.bootstrap_ci(d, n_boot=300, seed=i))
            for i, d in enumerate(rng.poisson(0.1, (200, 20)).astype(float))
        ]
    )
    assert boot <= 0.9, boot  # all-zero clips give [0, 0]
    lo, hi = M.count_mean_ci(np.zeros(20))
    assert lo == 0.0 and 0.18 < hi < 0.19  # Garwood: -ln(0.025) / 20
    lo, hi = M.count_mean_ci([1, 0, 2, 0, 1])
    assert lo < 0.8 < hi
    for bad in ([], [-1, 0], [np.nan]):
        with pytest.raises(ValueError):
            M.count_mean_ci(bad)
    with pytest.raises(ValueError):
        M.count_mean_ci([1], alpha=1.5)
