"""Preparing the backgrounds of a dataset: each background once, at the dataset size, with
its depth label, intrinsics and support mask (files: :func:`maskdepth.data.format.bg_paths`).

Rendered rooms come from :func:`maskdepth.data.render.render_room` (exact depth, the floor as
support); RGB-D frames are centre-cropped with their depth and get the RANSAC support plane
(:func:`maskdepth.data.geometry.fit_support_plane`); photos get a teacher's disparity when a
teacher is given. Background ``b`` draws from ``default_rng([seed, 7, stable_key(b.id)])``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..io import atomic_write_bytes, atomic_write_json, center_crop_square, encode_png, load_depth_mm, load_rgb, resize
from . import sources as S
from .format import bg_paths, encode_depth
from .generate_config import GenerateConfig
from .geometry import fit_support_plane
from .render import FLOOR, render_ranges_from, render_room
from .teacher import load_teacher


def stable_key(text: str) -> int:
    """A 48-bit integer hash of ``text`` (sha256), stable across processes and machines: seeds a background."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")


def _scaled_K(intr: dict, x0: int, y0: int, crop: int, size: int) -> np.ndarray:
    s = size / crop
    return np.array(
        [[intr["fx"] * s, 0, (intr["cx"] - x0 + 0.5) * s - 0.5], [0, intr["fy"] * s, (intr["cy"] - y0 + 0.5) * s - 0.5], [0, 0, 1]],
        np.float64,
    )


def texture_pool(bgs: list[S.BgSource], limit: int = 64) -> list[np.ndarray]:
    """Up to ``limit`` training photos at 96x96, uint8 RGB: the textures of rendered rooms (none without photos)."""
    photos = [b for b in bgs if b.kind == "photo" and b.split == "train"][:limit]
    return [resize(load_rgb(b.path), (96, 96)) for b in photos]


def prepare_background(b: S.BgSource, index: int, cfg: GenerateConfig, textures, teacher) -> dict:
    """Load/render one background at ``cfg.size``², with its depth label, intrinsics and support.

    ``index`` seeds the renderer and the plane fit (``default_rng([cfg.seed, 7, index])``).

    Returns ``{"rgb": uint8 (S,S,3), "depth": float32 (S,S) or None, "depth_kind",
    "K": list or None, "support": bool (S,S) or None, "support_info": dict}``; depth in
    metres for ``metric``, normalised disparity for ``teacher``. ``support_info`` (stored as
    ``support_plane`` in the background's JSON) has ``method``: ``render_labels`` (the rendered floor), ``ransac_plane`` or ``fallback_lower60``
    (RGB-D, see :func:`maskdepth.data.geometry.fit_support_plane`), or ``none`` (photos:
    the ground-plane prior places foregrounds).
    """
    size = cfg.size
    support = None
    K = None
    info: dict = {"method": "none"}
    rng = np.random.default_rng([cfg.seed, 7, index])
    if b.kind == "render":
        scene = render_room(rng, size=size, textures=textures or None, ranges=render_ranges_from(cfg.render_ranges))
        rgb, depth, K = scene.rgb, scene.depth.astype(np.float32), scene.K
        support = scene.labels == FLOOR
        n, d = scene.floor_plane
        info = {
            "method": "render_labels",
            "normal": [round(float(x), 6) for x in n],
            "d_m": round(float(d), 5),
            "inlier_fraction": round(float(support.mean()), 5),
            "support_fraction": round(float(support.mean()), 5),
        }
        kind = "metric"
    else:
        full = load_rgb(b.path)
        crop, x0, y0 = center_crop_square(full)
        rgb = resize(crop, (size, size))
        depth = None
        kind = "none"
        if b.kind == "rgbd":
            dmm = load_depth_mm(b.depth_path)
            if dmm.shape != full.shape[:2]:
                raise MaskDepthError(f"{b.depth_path}: depth size {dmm.shape} differs from RGB {full.shape[:2]}")
            dcrop = dmm[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]]
            depth = resize(dcrop, (size, size), nearest=True).astype(np.float32) / 1000.0
            K = _scaled_K(b.intrinsics, x0, y0, crop.shape[0], size)
            kind = "metric"
            fit = fit_support_plane(depth, K, rng, distortion=b.distortion, max_angle_deg=cfg.plane_max_angle)
            support = fit.support
            info = fit.to_json()
    if kind == "none" and teacher is not None:
        depth = teacher.disparity(rgb)
        kind = "teacher"
    return {
        "rgb": rgb,
        "depth": depth,
        "depth_kind": kind,
        "K": None if K is None else np.asarray(K).tolist(),
        "support": support,
        "support_info": info,
    }


def prepare_one(args: tuple) -> None:
    """Prepare background ``b`` and write its files (``args = (b, cfg_dict, textures)``; a pool task).

    Skips a background whose JSON (written last) exists, so a resumed run redoes only the others.
    Raises:
        MaskDepthError: unreadable source files, or unwritable output.
    """
    b, cfg_dict, textures = args
    cfg = GenerateConfig(**cfg_dict)
    out = Path(cfg.out_dir)
    p = bg_paths(out, b.id)
    if p["meta"].exists():  # resume: meta is written last
        return
    teacher = load_teacher(cfg.teacher) if cfg.teacher else None
    r = prepare_background(b, stable_key(b.id), cfg, textures, teacher)
    atomic_write_bytes(p["rgb"], encode_png(r["rgb"]))
    if r["depth"] is not None:
        atomic_write_bytes(p["depth"], encode_depth(r["depth"], r["depth_kind"]))
    if r["support"] is not None:
        atomic_write_bytes(p["support"], encode_png(r["support"].astype(np.uint8) * 255))
    atomic_write_json(
        p["meta"],
        {
            "id": b.id,
            "kind": b.kind,
            "split": b.split,
            "depth_kind": r["depth_kind"],
            "K": r["K"],
            "has_support": r["support"] is not None,
            "support_plane": r["support_info"],
        },
    )
