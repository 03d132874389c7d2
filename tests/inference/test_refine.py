"""Native-resolution refinement of the coarse mask (issue 13, item 4): :mod:`maskdepth.inference.refine`."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.inference.refine import (
    DEFAULT_REFINER,
    REFINERS,
    GuidedParams,
    guided_coefficients,
    refine_prob,
    resolve_refiner,
    upsample_logits,
)


def _edge_pair(H: int, W: int, edge_x: float, rng=None):
    """A textured bg and a frame whose columns left of ``edge_x`` hold a foreground of another colour."""
    rng = rng or np.random.default_rng(0)
    bg = np.clip(120 + rng.normal(0, 6, (H, W, 3)), 0, 255).astype(np.uint8)
    fg = bg.copy()
    xs = np.arange(W)
    fg[:, xs < edge_x] = np.clip(np.array([200, 60, 40]) + rng.normal(0, 6, (H, int((xs < edge_x).sum()), 3)), 0, 255).astype(np.uint8)
    return bg, fg


def _coarse_logits(h: int, w: int, edge_x_small: float, slope: float = 1.5) -> np.ndarray:
    """A soft coarse logit ramp whose 0.5 contour sits at ``edge_x_small`` (low-resolution pixel units)."""
    x = np.arange(w, dtype=np.float32) + 0.5
    return np.tile(((edge_x_small - x) * slope)[None, :], (h, 1)).astype(np.float32)


def test_resolve_refiner_and_cli_choices():
    assert resolve_refiner("auto") == DEFAULT_REFINER and DEFAULT_REFINER in REFINERS
    assert resolve_refiner("none") == "none"
    with pytest.raises(MaskDepthError, match="unknown refiner"):
        resolve_refiner("bicubic")
    from maskdepth.inference.config import REFINE_CHOICES

    assert list(REFINE_CHOICES) == ["auto", *REFINERS]


def test_none_is_bilinear_upsampling_of_the_logits():
    rng = np.random.default_rng(1)
    lg = rng.normal(0, 3, (16, 24)).astype(np.float32)
    bg, fg = _edge_pair(100, 150, 70)
    p = refine_prob(lg, bg, fg, "none")
    import cv2

    want = 1 / (1 + np.exp(-cv2.resize(lg, (150, 100), interpolation=cv2.INTER_LINEAR)))
    assert p.shape == (100, 150) and p.dtype == np.float32
    np.testing.assert_allclose(p, want, atol=1e-6)


def test_confident_pixels_are_left_unchanged():
    """Outside the uncertain band (bilinear probability <= lo or >= hi) the guided result is the bilinear one, bit for bit."""
    H, W, h, w = 180, 260, 32, 46
    bg, fg = _edge_pair(H, W, 101.3)
    lg = _coarse_logits(h, w, 101.3 * w / W + 1.0)
    lg[:, :5] = 12.0  # confident foreground
    prm = GuidedParams()
    bil, gui = refine_prob(lg, bg, fg, "none"), refine_prob(lg, bg, fg, "guided", params=prm)
    confident = (bil <= prm.lo) | (bil >= prm.hi)
    assert confident.mean() > 0.5 and (~confident).any()
    np.testing.assert_array_equal(gui[confident], bil[confident])
    assert not np.array_equal(gui[~confident], bil[~confident])  # it does refine the band
    assert gui.min() >= 0 and gui.max() <= 1


@pytest.mark.parametrize("guide", ["frame", "diff"])
@pytest.mark.parametrize("edge_x", [83.0, 97.6, 140.2])
def test_sharpens_a_blurred_step_edge_to_within_one_pixel(edge_x, guide):
    """A coarse mask whose soft edge sits one low-resolution pixel (8 px here) off the true edge: bilinear upsampling keeps
    the error, the guided refiner puts the full-resolution edge within 1 px of the truth on every row."""
    H, W, h, w = 128, 256, 16, 32
    bg, fg = _edge_pair(H, W, edge_x, np.random.default_rng(int(edge_x)))
    lg = _coarse_logits(h, w, edge_x * w / W + 1.0)  # 1 low-res px = 8 full-res px too far right

    def edge_per_row(p):
        m = p >= 0.5
        return m.sum(1)  # the mask is the columns left of the edge: its width per row is the edge position

    bil = edge_per_row(refine_prob(lg, bg, fg, "none"))
    gui = edge_per_row(refine_prob(lg, bg, fg, "guided", params=GuidedParams(guide=guide)))
    want = int(np.ceil(edge_x))
    assert np.abs(bil - want).max() >= 4  # the test can fail: without refinement the edge is off
    assert np.abs(gui - want).max() <= 1, (gui.min(), gui.max(), want)


@pytest.mark.parametrize(
    ("H", "W", "h", "w"), [(37, 101, 8, 22), (101, 37, 22, 8), (333, 517, 128, 199), (9, 9, 128, 128), (240, 320, 128, 171)]
)
def test_odd_sizes_and_aspects(H, W, h, w):
    rng = np.random.default_rng(H * W)
    bg = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    fg = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    lg = rng.normal(0, 2, (h, w)).astype(np.float32)
    for method in ("none", "guided"):
        p = refine_prob(lg, bg, fg, method)
        assert p.shape == (H, W) and p.dtype == np.float32 and np.isfinite(p).all()
        assert p.min() >= 0 and p.max() <= 1
    if H <= h and W <= w:  # nothing to upsample: every refiner is the resized coarse probability
        np.testing.assert_array_equal(refine_prob(lg, bg, fg, "guided"), refine_prob(lg, bg, fg, "none"))


def test_deterministic_and_small_pair_is_optional():
    H, W, h, w = 150, 210, 40, 56
    bg, fg = _edge_pair(H, W, 90.4)
    lg = _coarse_logits(h, w, 90.4 * w / W - 0.7)
    a = refine_prob(lg, bg, fg, "guided")
    b = refine_prob(lg.copy(), bg.copy(), fg.copy(), "guided")
    np.testing.assert_array_equal(a, b)
    import cv2

    bs, fs = (cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA) for x in (bg, fg))
    np.testing.assert_array_equal(refine_prob(lg, bg, fg, "guided", bg_small=bs, fg_small=fs), a)


def test_guided_coefficients_reproduce_a_linear_input():
    """He et al.: where p is exactly a linear function of the guide, the filter returns p (eps -> 0)."""
    rng = np.random.default_rng(3)
    g = rng.uniform(-1, 1, (30, 40, 3)).astype(np.float32)
    p = (0.3 * g[..., 0] - 0.2 * g[..., 1] + 0.5 * g[..., 2] + 0.1).astype(np.float32)
    A, B = guided_coefficients(p, g, 2, 1e-8)
    np.testing.assert_allclose(np.einsum("hwc,hwc->hw", A, g) + B, p, atol=1e-3)


@pytest.mark.parametrize(
    ("edge_x", "guide", "smooth"), [(20.0, "frame", 3), (150.5, "frame", 1), (290.0, "frame", 3), (20.0, "diff", 1), (150.5, "diff", 3)]
)
def test_guided_equals_the_fast_guided_filter_of_the_whole_image(edge_x, guide, smooth):
    """Reference: coefficients on the whole low-resolution image, upsampled with cv2.resize, applied to the full-resolution
    difference (Wu et al. 2018) -- the refiner's cropped, band-only computation must give the same values in the band."""
    import cv2

    H, W, h, w = 210, 320, 42, 64
    bg, fg = _edge_pair(H, W, edge_x, np.random.default_rng(7))
    lg = _coarse_logits(h, w, edge_x * w / W + 0.8)
    prm = GuidedParams(guide=guide, smooth=smooth)
    bs, fs = (cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA) for x in (bg, fg))
    if guide == "frame":
        bs, bg_hr = np.zeros_like(bs), np.zeros_like(bg)
    else:
        bg_hr = bg
    # the guide as the refiner computes it (x * float32(1/255)): with eps 1e-5 a 1-ulp change of the guide moves q by ~1e-3
    A, B = guided_coefficients(1 / (1 + np.exp(-lg)), (fs.astype(np.float32) - bs) * np.float32(1 / 255), prm.radius, prm.eps)
    Au, Bu = cv2.resize(A, (W, H), interpolation=cv2.INTER_LINEAR), cv2.resize(B, (W, H), interpolation=cv2.INTER_LINEAR)
    g_hr = fg.astype(np.float32) - bg_hr
    if smooth > 1:
        g_hr = cv2.blur(fg.astype(np.float32), (smooth, smooth)) - cv2.blur(bg_hr.astype(np.float32), (smooth, smooth))
    want = np.clip(np.einsum("hwc,hwc->hw", Au, g_hr * np.float32(1 / 255)) + Bu, 0, 1)
    bil, got = refine_prob(lg, bg, fg, "none"), refine_prob(lg, bg, fg, "guided", params=prm)
    band = (bil > prm.lo) & (bil < prm.hi)
    assert band.any()
    np.testing.assert_allclose(got[band], want[band], atol=1e-4)


def test_upsample_logits_shrinks_with_area():
    lg = np.arange(64, dtype=np.float32).reshape(8, 8)
    assert upsample_logits(lg, (4, 4)).shape == (4, 4)
    assert upsample_logits(lg, (8, 8)) is not None


def test_bad_inputs_are_one_line_errors():
    bg, fg = _edge_pair(50, 60, 20)
    lg = np.zeros((10, 12), np.float32)
    with pytest.raises(MaskDepthError, match="unknown refiner"):
        refine_prob(lg, bg, fg, "magic")
    with pytest.raises(MaskDepthError, match="uint8"):
        refine_prob(lg, bg, fg[:40], "guided")
    with pytest.raises(MaskDepthError, match="unknown guide"):
        refine_prob(np.full((10, 12), 0.1, np.float32), bg, fg, "guided", params=GuidedParams(guide="depth"))


# ----------------------------------------------------------------------------- through the Predictor, both backends


def _predictors(backend: str):
    from maskdepth.inference.predictor import load_predictor

    if backend == "torch":
        pytest.importorskip("torch")
    try:
        return load_predictor(backend=backend, refine="none"), load_predictor(backend=backend, refine="guided")
    except MaskDepthError as e:
        pytest.skip(f"shipped {backend} model unavailable: {e}")


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_predictor_refine_keeps_shapes_and_confident_pixels(backend):
    """The shipped model (ONNX Runtime by default, and PyTorch): refine='guided' keeps every output's shape and
    changes only pixels inside the uncertain band of the bilinear probability."""
    none, guided = _predictors(backend)
    assert none.refine == "none" and guided.refine == "guided"
    H, W = 300, 420
    rng = np.random.default_rng(5)
    bg = np.clip(110 + rng.normal(0, 8, (H, W, 3)), 0, 255).astype(np.uint8)
    fg = bg.copy()
    yy, xx = np.mgrid[:H, :W]
    person = ((xx - 200) / 45) ** 2 + ((yy - 170) / 110) ** 2 < 1
    fg[person] = (40, 160, 220)
    a, b = none.predict(bg, fg), guided.predict(bg, fg)
    for p in (a, b):
        assert p.mask.shape == p.prob.shape == p.depth.shape == (H, W)
        assert p.mask.dtype == bool and p.prob.dtype == np.float32
    np.testing.assert_array_equal(a.depth, b.depth)
    prm = GuidedParams()
    confident = (a.prob <= prm.lo) | (a.prob >= prm.hi)
    np.testing.assert_array_equal(b.prob[confident], a.prob[confident])


def test_unknown_refine_is_refused_by_load_predictor():
    from maskdepth.inference.predictor import load_predictor

    with pytest.raises(MaskDepthError, match="unknown refiner"):
        load_predictor(refine="sharpest")


def test_cli_refine_flag(tmp_path, capsys):
    """``maskdepth predict --refine none|guided`` writes the same files; the mask differs only at the boundary."""
    from PIL import Image

    from maskdepth.cli import main

    H, W = 240, 320
    rng = np.random.default_rng(9)
    bg = np.clip(110 + rng.normal(0, 8, (H, W, 3)), 0, 255).astype(np.uint8)
    fg = bg.copy()
    yy, xx = np.mgrid[:H, :W]
    fg[((xx - 150) / 35) ** 2 + ((yy - 130) / 90) ** 2 < 1] = (40, 160, 220)
    Image.fromarray(bg).save(tmp_path / "bg.png")
    Image.fromarray(fg).save(tmp_path / "img.png")
    masks = {}
    for r in ("none", "guided"):
        rc = main(
            ["predict", "--bg", str(tmp_path / "bg.png"), "--image", str(tmp_path / "img.png"), "--out", str(tmp_path / r), "--refine", r]
        )
        assert rc == 0
        masks[r] = np.asarray(Image.open(tmp_path / r / "mask.png")) > 127
        assert masks[r].shape == (H, W)
    assert (masks["none"] != masks["guided"]).mean() < 0.05
    with pytest.raises(SystemExit) as e:
        main(["predict", "--bg", str(tmp_path / "bg.png"), "--image", str(tmp_path / "img.png"), "--refine", "sharpest"])
    assert e.value.code == 2
    assert "--refine" in capsys.readouterr().err


def _guided_reference(p, g, r, eps):
    """He et al. eq. 19-21 with a float64 3x3 solve per window (numpy.linalg.solve), box filters as the module's."""
    import cv2

    box = lambda a: cv2.boxFilter(a, -1, (2 * r + 1, 2 * r + 1), normalize=True, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    g, p = g.astype(np.float64), p.astype(np.float64)
    mi, mp = box(g), box(p)
    cov = box(g * p[..., None]) - mi * mp[..., None]
    S = np.stack([np.stack([box(g[..., i] * g[..., j]) - mi[..., i] * mi[..., j] for j in range(3)], -1) for i in range(3)], -2)
    a = np.linalg.solve(S + eps * np.eye(3), cov[..., None])[..., 0]
    return box(a), box(mp - (a * mi).sum(-1))


@pytest.mark.parametrize("seed", [1, 14])
def test_guided_coefficients_are_right_on_a_near_grey_guide(seed):
    """A near-grey guide (R = G = B but for a few grey levels, as on greyscale or infrared cameras) has a nearly rank-1
    window covariance: float32 cofactors gave coefficients 20x too large and outputs off by up to 4 (inf / NaN on a real
    frame). Against a float64 solve of the same equations."""
    rng = np.random.default_rng(seed)
    v = rng.integers(10, 256, (40, 60, 1)).astype(np.float32)
    g = np.repeat(v, 3, axis=2) + (rng.random((40, 60, 3)) < 0.1) * rng.integers(-4, 5, (40, 60, 3))
    g = (np.clip(g, 0, 255) / 255).astype(np.float32)
    p = rng.uniform(0, 1, (40, 60)).astype(np.float32)
    A, B = guided_coefficients(p, g, 3, 1e-5)
    A64, B64 = _guided_reference(p, g, 3, 1e-5)
    assert A.dtype == B.dtype == np.float32 and np.isfinite(A).all() and np.isfinite(B).all()
    out, ref = np.einsum("hwc,hwc->hw", A, g) + B, np.einsum("hwc,hwc->hw", A64, g) + B64
    np.testing.assert_allclose(out, ref, atol=1e-3)
