"""Geometry on measured depth (maskdepth.data.geometry, composite): RANSAC support plane against the
renderer's known floor plane, contact depth and perspective size with known intrinsics, per-pixel
occlusion with relief, the per-background support stored by the generator, and the heights table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskdepth.data.composite import (
    Placement,
    contact_candidates,
    crop_to_alpha,
    edge_distance,
    paste,
    sample_placement_metric,
)
from maskdepth.data.geometry import backproject, fit_support_plane, pixel_rays
from maskdepth.data.heights import height_range, load_height_table
from maskdepth.data.procedural import procedural_foreground
from maskdepth.data.render import FLOOR, render_room
from maskdepth.errors import MaskDepthError
from tests.helpers import CAM_HEIGHT_M, RGBD_H, RGBD_K, RGBD_W, generate_dataset


def angle_deg(a, b) -> float:
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


# --------------------------------------------------------------------------- plane fit
@pytest.mark.parametrize("size", [64, 128])
def test_plane_fit_matches_rendered_floor(size):
    for seed in range(6):
        scene = render_room(np.random.default_rng(seed), size=size)
        fit = fit_support_plane(scene.depth, scene.K, np.random.default_rng(seed))
        n, d = scene.floor_plane
        assert fit.method == "ransac_plane"
        assert angle_deg(fit.normal, n) < 2.0, seed
        assert abs(fit.d - d) < 0.02, seed  # camera height, metres
        floor = scene.labels == FLOOR
        iou = (fit.support & floor).sum() / (fit.support | floor).sum()
        assert iou > 0.85, (seed, iou)
        assert fit.normal @ np.array([0, -1, 0]) > 0  # points up
        assert 0 < fit.inlier_fraction <= 1 and fit.to_json()["method"] == "ransac_plane"


def test_plane_fit_with_sensor_noise_and_holes():
    rng = np.random.default_rng(0)
    for seed in range(4):
        scene = render_room(np.random.default_rng(seed), size=96)
        z = scene.depth * (1 + rng.normal(0, 0.0015 * scene.depth))  # Kinect-like sigma ~ 1.5 mm * Z^2
        z = np.round(z * 1000) / 1000  # millimetre quantisation
        z[rng.random(z.shape) < 0.15] = 0  # missing returns
        fit = fit_support_plane(z.astype(np.float32), scene.K, np.random.default_rng(seed))
        n, d = scene.floor_plane
        assert fit.method == "ransac_plane"
        assert angle_deg(fit.normal, n) < 2.0 and abs(fit.d - d) < 0.02


def test_plane_fit_is_deterministic_and_tolerates_roll():
    scene = render_room(np.random.default_rng(3), size=96)
    a = fit_support_plane(scene.depth, scene.K, np.random.default_rng(1))
    b = fit_support_plane(scene.depth, scene.K, np.random.default_rng(1))
    np.testing.assert_array_equal(a.normal, b.normal)
    np.testing.assert_array_equal(a.support, b.support)
    # a camera rolled by 20 deg (rotate the image about its centre): the floor is still found
    import cv2

    S = 96
    M = cv2.getRotationMatrix2D(((S - 1) / 2, (S - 1) / 2), 20, 1.0)
    z = cv2.warpAffine(scene.depth, M, (S, S), flags=cv2.INTER_NEAREST, borderValue=0)
    fit = fit_support_plane(z, scene.K, np.random.default_rng(0))
    n = scene.floor_plane[0]
    r = np.radians(20)  # image rotated by +20 deg = camera rolled: normal turns about the optical axis
    R = np.array([[np.cos(r), np.sin(r), 0], [-np.sin(r), np.cos(r), 0], [0, 0, 1]])
    assert fit.method == "ransac_plane"
    assert min(angle_deg(fit.normal, R @ n), angle_deg(fit.normal, R.T @ n)) < 2.0
    assert abs(fit.d - scene.floor_plane[1]) < 0.03


def test_plane_fit_falls_back_without_a_floor():
    K = np.array([[60.0, 0, 31.5], [0, 60.0, 31.5], [0, 0, 1]])
    wall = np.full((64, 64), 3.0, np.float32)  # a wall facing the camera: normal 90 deg from up
    fit = fit_support_plane(wall, K, np.random.default_rng(0))
    assert fit.method == "fallback_lower60" and fit.support is None and fit.normal is None
    assert fit.to_json()["support_fraction"] == 0.0
    ceiling_only = np.zeros((64, 64), np.float32)
    v = np.arange(64)[:, None] - 31.5
    ceiling_only[:20] = np.broadcast_to(60.0 * 1.0 / np.maximum(-v[:20], 1e-6), (20, 64))  # a plane 1 m *above* the camera
    fit = fit_support_plane(ceiling_only, K, np.random.default_rng(0))
    assert fit.method == "fallback_lower60"
    assert fit_support_plane(np.zeros((64, 64), np.float32), K).method == "fallback_lower60"
    with pytest.raises(ValueError):
        fit_support_plane(np.zeros((4, 4, 2)), K)


def test_pixel_rays_and_distortion():
    K = np.array([[50.0, 0, 20.0], [0, 55.0, 15.0], [0, 0, 1]])
    xn, yn = pixel_rays(K, (30, 40))
    assert xn[0, 0] == pytest.approx(-20 / 50) and yn[29, 0] == pytest.approx(14 / 55)
    P = backproject(np.full((30, 40), 2.0), K)
    assert P.shape == (30, 40, 3) and P[15, 20] == pytest.approx([0, 0, 2.0])
    dist = [0.26, -0.95, 0.0, 0.0, 1.16]  # TUM fr1
    xd, yd = pixel_rays(K, (30, 40), dist)
    assert np.abs(xd[15, 20]) < 1e-9 and np.abs(xd - xn).max() > 1e-3  # the centre does not move, the border does
    same = pixel_rays(K, (30, 40), [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(same[0], xn)


# --------------------------------------------------------------------------- contact depth and perspective
def test_contact_depth_and_perspective_on_rendered_room():
    scene = render_room(np.random.default_rng(5), size=128, n_boxes=(0, 0))
    n, d = scene.floor_plane
    support = scene.labels == FLOOR
    fy = scene.K[1, 1]
    fg = crop_to_alpha(procedural_foreground(np.random.default_rng(1), "person", 96))
    P = backproject(scene.depth, scene.K)
    sizes = []
    for seed in range(30):
        pl = sample_placement_metric(np.random.default_rng(seed), scene.depth, scene.K, fg.shape, 1.7, support=support)
        u, v = pl.contact_uv
        assert support[v, u]
        assert pl.fg_depth == pytest.approx(float(scene.depth[v, u]), abs=0)
        assert abs(n @ P[v, u] + d) < 1e-3  # the contact point lies on the floor plane
        assert abs(pl.height_px - fy * pl.height_m / pl.fg_depth) <= 0.5 + 1e-9  # h = f H / Z
        if pl.height_m == pytest.approx(1.7):
            sizes.append((pl.fg_depth, pl.height_px))
        comp = paste(scene.rgb, fg, pl, scene.depth)
        np.testing.assert_array_equal(comp.depth[comp.mask], np.float32(pl.fg_depth))
    z, h = np.array(sizes).T
    assert len(sizes) >= 10 and z.max() > 1.5 * z.min()
    np.testing.assert_allclose(h * z, fy * 1.7, rtol=0.05)  # nearer is larger, in proportion


def test_candidates_prefer_support_then_lower_part():
    depth = np.full((10, 10), 2.0, np.float32)
    depth[0, 0] = 0
    sup = np.zeros((10, 10), bool)
    sup[2, 3] = True
    vs, us = contact_candidates(depth, sup)
    assert list(zip(vs, us)) == [(2, 3)]
    vs, _ = contact_candidates(depth, None)
    assert vs.min() == 4  # lower 60 %


# --------------------------------------------------------------------------- occlusion and relief
def test_rendered_furniture_occludes_foregrounds_behind_it():
    from maskdepth.data.composite import prepare_cutout, resize_premultiplied

    fg = crop_to_alpha(procedural_foreground(np.random.default_rng(2), "person", 96))
    n_hidden = 0
    for seed in range(8):
        scene = render_room(np.random.default_rng(seed), size=96, n_boxes=(3, 3))
        support = scene.labels == FLOOR
        for k in range(6):
            pl = sample_placement_metric(np.random.default_rng([seed, k]), scene.depth, scene.K, fg.shape, 1.7, support=support)
            comp = paste(scene.rgb, fg, pl, scene.depth)
            cut = resize_premultiplied(prepare_cutout(fg), pl.height_px, pl.flip)
            a = np.zeros((96, 96), np.float32)
            y0, x0 = pl.y0, pl.x0
            ys, xs = slice(max(y0, 0), min(y0 + cut.shape[0], 96)), slice(max(x0, 0), min(x0 + cut.shape[1], 96))
            a[ys, xs] = cut[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0, 3]
            nearer = scene.depth < np.float32(pl.fg_depth)
            np.testing.assert_array_equal(comp.mask, (a >= 0.5) & ~nearer)  # visible part only
            hidden = (a >= 0.5) & nearer
            if hidden.any():
                # hidden by furniture in front; also by the back wall when standing close to it: a constant-depth
                # billboard leans back into the wall when the camera looks down (see the composite module docstring)
                n_hidden += int((scene.labels[hidden] >= 5).any())
                np.testing.assert_array_equal(comp.depth[hidden], scene.depth[hidden])
                np.testing.assert_array_equal(comp.fg_bg[hidden], scene.rgb[hidden])
    assert n_hidden >= 2


def test_relief_makes_the_middle_nearer_and_occludes_per_pixel():
    S = 64
    fg = np.zeros((40, 20, 4), np.uint8)
    fg[:, :] = (200, 60, 60, 255)
    depth = np.full((S, S), 5.0, np.float32)
    depth[:, 30:34] = 2.95  # a thin pole between the silhouette's outline (3.0 m) and its middle (2.9 m)
    pl = Placement(
        x0=22, y0=10, height_px=40, width_px=20, flip=False, contact_uv=(32, 49), fg_depth=3.0, height_m=1.7, method="metric", relief_m=0.1
    )
    comp = paste(np.zeros((S, S, 3), np.uint8), fg, pl, depth)
    inside = np.zeros((S, S), bool)
    inside[10:50, 22:42] = True
    e = np.zeros((S, S), np.float32)
    e[10:50, 22:42] = edge_distance(np.ones((40, 20), np.float32))
    want = 3.0 - 0.1 * e
    vis = inside & ~((depth < want) & (depth > 0))
    np.testing.assert_array_equal(comp.mask, vis)
    np.testing.assert_allclose(comp.depth[comp.mask], want[comp.mask], atol=1e-6)
    assert comp.depth[comp.mask].min() == pytest.approx(2.9, abs=1e-3)  # the middle is 10 cm nearer
    assert comp.mask[30, 31]  # middle of the figure: in front of the pole
    assert not comp.mask[12, 31]  # near the top edge: behind the pole
    flat = paste(np.zeros((S, S, 3), np.uint8), fg, Placement(**{**pl.__dict__, "relief_m": 0.0}), depth)
    assert not flat.mask[:, 30:34].any()  # a flat billboard at 3.0 m is hidden by the whole pole


def test_edge_distance():
    a = np.zeros((9, 9), np.float32)
    a[2:7, 2:7] = 1
    e = edge_distance(a)
    assert e.dtype == np.float32 and e.max() == 1.0 and e[4, 4] == 1.0 and e[0, 0] == 0 and 0 < e[2, 2] < 1


# --------------------------------------------------------------------------- generator: per-background support
def test_rgbd_backgrounds_get_a_fitted_support_plane(rgbd_dir, tmp_path):
    out = tmp_path / "ds"
    man = generate_dataset(out, rgbd_dir=str(rgbd_dir), procedural_fg=3, n_samples=12, size=64, shard_size=12, aug={})
    from maskdepth.data.dataset import MaskDepthDataset
    from maskdepth.data.format import load_background

    for b in man["backgrounds"]:
        bg = load_background(out, b["id"])
        sup = bg["support"]
        info = bg["support_plane"]
        assert info["method"] == "ransac_plane"
        # the fixture is a level camera CAM_HEIGHT_M above a flat floor
        assert abs(info["d_m"] - CAM_HEIGHT_M) < 0.02
        assert info["angle_to_up_deg"] < 2.0
        assert 0.2 < info["inlier_fraction"] < 1.0
        assert sup is not None and sup.shape == (64, 64)
        # support pixels are floor pixels: below the horizon, CAM_HEIGHT_M below the camera
        # (within the RANSAC threshold, <= 8 cm), and nearly every clear floor pixel is support
        K = bg["K"]
        P = backproject(bg["depth"], K)
        vs, us = np.nonzero(sup)
        assert (vs > K[1, 2]).all()
        assert np.abs(P[vs, us, 1] - CAM_HEIGHT_M).max() <= 0.08
        floor = (bg["depth"] > 0) & (np.abs(P[..., 1] - CAM_HEIGHT_M) < 0.02)
        assert (sup & floor).sum() >= 0.9 * floor.sum()
    ds = MaskDepthDataset(out, "train")
    for i in range(len(ds)):
        r = ds.raw(i)
        u, v = r["meta"]["placement"]["contact_uv"]
        assert ds.background(r["meta"]["bg_id"])["support"][v, u]


def test_rgbd_without_a_floor_records_the_fallback(tmp_path):
    from PIL import Image

    d = tmp_path / "rgbd"
    (d / "rgb").mkdir(parents=True)
    (d / "depth").mkdir()
    Image.fromarray(np.full((RGBD_H, RGBD_W, 3), 128, np.uint8)).save(d / "rgb" / "00000.png")
    Image.fromarray(np.full((RGBD_H, RGBD_W), 2500, np.uint16)).save(d / "depth" / "00000.png")  # only a wall
    (d / "meta.json").write_text(json.dumps({"scenes": {"w": {"intrinsics": RGBD_K}}, "frames": [{"id": "00000", "scene": "w"}]}))
    out = tmp_path / "ds"
    generate_dataset(out, rgbd_dir=str(d), procedural_fg=2, n_samples=4, size=64, shard_size=4, aug={})
    meta = json.loads((out / "backgrounds" / "rgbd__w__00000.json").read_text())
    assert meta["support_plane"]["method"] == "fallback_lower60" and meta["has_support"] is False
    assert not (out / "backgrounds" / "rgbd__w__00000.support.png").exists()


# --------------------------------------------------------------------------- heights table
def test_heights_table(tmp_path, fg_dir):
    t = load_height_table()
    assert t["category:person"] == (1.5, 1.9) and t["category:object"] == (0.45, 1.2)
    user = tmp_path / "h.csv"
    user.write_text("# mine\nkey,min_m,max_m,notes\nfg_00.png,1.2,1.2,child\ncategory:person,1.6,1.8,\n")
    t = load_height_table(str(user))
    assert height_range(t, "fg/fg_00", "person", str(fg_dir / "fg_00.png")) == ((1.2, 1.2), "fg_00.png")
    assert height_range(t, "fg/fg_01", "person", str(fg_dir / "fg_01.png")) == ((1.6, 1.8), "category:person")
    assert height_range(t, "fg/x", "object") == ((0.45, 1.2), "category:object")
    bad = tmp_path / "bad.csv"
    bad.write_text("key,min_m,max_m\nfg_00.png,2,1\n")
    with pytest.raises(MaskDepthError, match="row 2"):
        load_height_table(str(bad))
    with pytest.raises(MaskDepthError, match="not found"):
        load_height_table(str(tmp_path / "none.csv"))
    # used by the generator: a fixed height for one cutout
    out = tmp_path / "ds"
    user.write_text("key,min_m,max_m\nfg_00.png,1.2,1.2\ncategory:person,1.6,1.8\n")
    from tests.helpers import generate_dataset as gen

    man = gen(out, render=2, fg_dir=str(fg_dir), n_samples=40, size=64, shard_size=40, fg_heights=str(user), val_frac=0, test_frac=0)
    ranges = {f["id"]: f["height_range_m"] for f in man["foregrounds"]}
    assert ranges["fg/fg_00"] == [1.2, 1.2] and ranges["fg/fg_01"] == [1.6, 1.8]
    from maskdepth.data.dataset import MaskDepthDataset

    ds = MaskDepthDataset(out, "train")
    fixed = 0
    for i in range(len(ds)):
        m = ds.raw(i)["meta"]
        pl = m["placement"]
        if m["fg_id"] == "fg/fg_00":
            clipped = pl["height_px"] in (round(0.15 * 64), round(0.95 * 64))  # size clipped: height rescaled to match
            assert pl["height_m"] == pytest.approx(1.2) or clipped
            fixed += pl["height_m"] == pytest.approx(1.2)
        else:
            assert 1.6 <= pl["height_m"] <= 1.8 or pl["height_px"] in (round(0.15 * 64), round(0.95 * 64))
    assert fixed >= 1


# --------------------------------------------------------------------------- upright billboards
def test_upright_billboard_lies_on_a_vertical_plane():
    from maskdepth.data.composite import prepare_cutout, resize_premultiplied, upright_depth

    fg = crop_to_alpha(procedural_foreground(np.random.default_rng(4), "person", 96))
    n_checked = 0
    for seed in range(5):
        scene = render_room(np.random.default_rng(seed), size=128, n_boxes=(0, 0))
        n, d = scene.floor_plane
        K = scene.K
        pl = sample_placement_metric(np.random.default_rng(seed), scene.depth, K, fg.shape, 1.7, support=scene.labels == FLOOR, up_normal=n)
        assert pl.billboard == "upright"
        u, v = pl.contact_uv
        P0 = pl.fg_depth * np.linalg.inv(K) @ np.array([u, v, 1.0])
        if pl.height_m == pytest.approx(1.7):  # not clipped: the figure spans the projection of P0 + H n
            top = P0 + 1.7 * n
            assert abs((v - (K[1, 1] * top[1] / top[2] + K[1, 2])) - pl.height_px) <= 0.5 + 1e-9
        cut = resize_premultiplied(prepare_cutout(fg), pl.height_px, pl.flip)
        zmap = upright_depth(K, (u, v), pl.fg_depth, n, pl.x0, pl.y0, cut.shape[:2])
        ys, xs = np.mgrid[pl.y0 : pl.y0 + cut.shape[0], pl.x0 : pl.x0 + cut.shape[1]]
        X = zmap[..., None] * np.stack([(xs - K[0, 2]) / K[0, 0], (ys - K[1, 2]) / K[1, 1], np.ones_like(xs, float)], -1)
        m = P0 - (P0 @ n) * n
        assert np.abs((X - P0) @ m / np.linalg.norm(m)).max() < 1e-3  # every pixel on the vertical plane through P0
        assert zmap[v - pl.y0, u - pl.x0] == pytest.approx(pl.fg_depth, rel=1e-5)
        pitch = np.radians(scene.pitch_deg)
        assert zmap[0].mean() < pl.fg_depth - 0.5 * pl.height_m * np.sin(pitch)  # the head is nearer than the feet
        comp = paste(scene.rgb, fg, pl, scene.depth, fg_depth_map=zmap)
        # labels on the mask are the upright plane's depths, pixel by pixel
        inside = (ys >= 0) & (ys < 128) & (xs >= 0) & (xs < 128)
        got = np.full(zmap.shape, np.nan, np.float32)
        got[inside] = np.where(comp.mask[ys[inside], xs[inside]], comp.depth[ys[inside], xs[inside]], np.nan)
        ok = ~np.isnan(got)
        np.testing.assert_allclose(got[ok], zmap[ok], rtol=1e-6)
        n_checked += int(ok.sum() > 0)
    assert n_checked >= 4


def test_generate_upright_billboards(tmp_path):
    out = tmp_path / "up"
    generate_dataset(
        out, render=3, procedural_fg=3, n_samples=20, size=64, shard_size=20, val_frac=0, test_frac=0, aug={}, billboard="upright"
    )
    from maskdepth.data.dataset import MaskDepthDataset

    ds = MaskDepthDataset(out, "train")
    varying = 0
    for i in range(len(ds)):
        r = ds.raw(i)
        assert r["meta"]["placement"]["billboard"] == "upright"
        if r["mask"].sum() > 20:
            d = r["depth"][r["mask"]]
            varying += int(d.max() - d.min() > 0.05)
            rows = np.nonzero(r["mask"])[0]
            top, bot = r["depth"][r["mask"]][rows == rows.min()].mean(), r["depth"][r["mask"]][rows == rows.max()].mean()
            assert top < bot + 1e-3  # nearer at the head (camera looks down)
    assert varying >= 5


def test_upright_billboard_feet_not_hidden_by_the_floor():
    """An off-centre upright figure: its plane meets the floor on a slanted line while its bottom row
    is an image row, so the floor must not hide the feet on one side (``paste(ground=...)``)."""
    from maskdepth.data.composite import place_at, upright_depth

    cut = np.zeros((40, 30, 4), np.uint8)
    cut[..., :3], cut[..., 3] = 200, 255  # a full-alpha box: every bottom-row pixel is a foot pixel
    hidden_without, checked = 0, 0
    for seed in range(6):
        scene = render_room(np.random.default_rng(seed), size=128, n_boxes=(0, 0))
        n, _ = scene.floor_plane
        floor = scene.labels == FLOOR
        vs, us = np.nonzero(floor[:120])
        far = np.abs(us - 64) > 30  # well off-centre
        if not far.any():
            continue
        i = np.flatnonzero(far)[len(np.flatnonzero(far)) // 2]
        u, v, z = int(us[i]), int(vs[i]), float(scene.depth[vs[i], us[i]])
        pl = place_at((u, v), 40, cut.shape, False, z, 1.7, "metric", billboard="upright")
        zmap = upright_depth(scene.K, (u, v), z, n, pl.x0, pl.y0, (40, 30))
        cols = slice(max(pl.x0, 0), min(pl.x0 + 30, 128))
        bare = paste(scene.rgb, cut, pl, scene.depth, fg_depth_map=zmap)
        comp = paste(scene.rgb, cut, pl, scene.depth, fg_depth_map=zmap, ground=floor)
        hidden_without += int((~bare.mask[v, cols]).sum())
        assert comp.mask[v, cols].all()  # every foot pixel visible
        checked += 1
    assert checked >= 3
    assert hidden_without > 0  # the artefact exists without ``ground``
