"""``maskdepth generate``: plan → prepare backgrounds → write shards → manifest + statistics.

Output layout (``out_dir``)::

    backgrounds/<bg>.png          each background once, uint8 RGB at the dataset size
    backgrounds/<bg>.depth.png    its depth label (uint16; see DEPTH CODING), if any
    backgrounds/<bg>.support.png  where foregrounds may stand (0/255), if known: the floor of a
                                  rendered room, the RANSAC support plane of an RGB-D frame
    backgrounds/<bg>.json         kind, split, intrinsics K at the dataset size, depth_kind, has_support,
                                  support_plane (method, plane normal/offset, inlier fraction)
    shards/<split>-<nnnnn>.tar    WebDataset-layout tar: <key>.fg_bg.jpg, <key>.mask.png,
                                  <key>.depth.png (when labelled), <key>.json
    shards/<split>-<nnnnn>.json   per-shard index: keys, sha256 of the tar, statistics sums
    manifest.json                 config, sources with their split, shard list (written last)
    stats.json                    mean/std of fg_bg and bg (RGB, [0, 1]), mask and depth statistics

DEPTH CODING: ``depth_kind == "metric"`` → uint16 millimetres, 0 = invalid;
``"teacher"`` → uint16 = normalised disparity × 65535 (relative, larger = nearer);
``"none"`` → no depth file.

SAMPLE JSON (``<key>.json``): key, split, index, seed, bg_id, bg_kind, fg_id, fg_category,
depth_kind, placement (contact point, size, flip, contact depth, physical height, relief),
mask_fraction, jpeg_quality, aug (the augmentations applied and their parameters, see
:mod:`maskdepth.data.augment`; ``{}`` = none) and, in grid mode, grid (the combination).
Readers ignore fields they do not know, so datasets of format version 1 without the
newer fields still read.

Two ways to choose what is composited:

* **random** (default): each sample draws its background kind (weights ``mix``), its
  background and foreground among its split's, and a placement; ``n_samples`` in all,
  ``val_frac``/``test_frac`` of them in val/test.
* **grid** (``grid={"bgs": {split: B}, "fgs": {split: F}, "flips": 1|2, "placements": P}``,
  the presets ``small20k`` and ``classic400k``): split ``s`` holds exactly
  ``B_s × F_s × flips × P`` samples, one per combination (background, foreground, flip,
  placement) of *its own* backgrounds and foregrounds (held out whole, so cross-split
  pairs are never made). Sample ``i`` of a split is combination ``perm[i]`` of a fixed
  pseudo-random permutation (so every shard mixes backgrounds), decoded in mixed radix
  ``((b · F + f) · flips + flip) · P + p``. ``classic400k`` = 100 × 100 × 2 × 20 =
  400,000 training composites at 224 px plus 10 × 10 × 2 × 20 = 4,000 each for val and
  test (408,000 in all); the backgrounds of a split are shared among kinds in proportion
  to ``mix`` (see :func:`maskdepth.data.sources.select_grid`).

Determinism: every sample draws from its own ``numpy.random.default_rng([seed, split, index])``
(placement) and ``default_rng([seed, split, index, 1])`` (augmentations), every background
from ``default_rng([seed, 7, k])`` with ``k`` a hash of its id; tar headers have fixed
mtime/uid/names and images are encoded by OpenCV with fixed settings, so the same command
makes byte-identical shards whatever the number of workers or machines
(``--shard-index/--num-shards``). A shard is complete when its tar and index exist and
the index's sha256 matches; ``resume`` skips complete shards and rewrites the others
(files are written to a temporary name, fsynced and renamed, so a killed run never leaves
a partial shard under the final name; stale temporary files are removed on resume).

Speed (see ``benchmarks/generate_bench.py``): only the cutout's bounding box is
composited, resized cutouts are cached per (foreground, height, flip), images are encoded
with OpenCV (JPEG 4:4:4 as before, PNG with fixed filters), statistics use OpenCV
reductions, and sensor noise comes from a precomputed bank.
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Optional

import numpy as np
from tqdm import tqdm

from ..errors import MaskDepthError
from ..io import (
    atomic_write_bytes,
    atomic_write_json,
    file_sha256,
    center_crop_square,
    encode_png,
    load_depth_mm,
    load_rgb,
    load_rgba,
    read_json,
    resize,
)
from . import augment as A
from . import sources as S
from .composite import (
    CLASS_HEIGHTS_M,
    crop_to_alpha,
    edge_distance,
    paste,
    contact_candidates,
    prepare_cutout,
    resize_premultiplied,
    sample_placement_ground_prior,
    sample_placement_metric,
    upright_depth,
)

SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
FORMAT_VERSION = 1


def _grid(btr, bva, bte, ftr, fva, fte, flips, placements) -> dict:
    return {"bgs": {"train": btr, "val": bva, "test": bte}, "fgs": {"train": ftr, "val": fva, "test": fte},
            "flips": flips, "placements": placements}


# Presets: settings of GenerateConfig, plus the embedded sources used when no --bg-dir,
# --rgbd-dir, --render, --fg-dir or --procedural-fg is given ("auto": as many rendered
# rooms / procedural silhouettes as the grid's splits need, found deterministically).
PRESETS: dict[str, dict] = {
    "tiny": {
        "about": "200 composites at 64 px in random mode (smoke tests, CI)",
        "config": {"size": 64, "n_samples": 200, "shard_size": 100},
        "embedded": {"render": 8, "procedural_fg": 8},
    },
    "small20k": {
        "about": "grid 50 bgs x 20 fgs x 2 flips x 10 placements = 20,000 train (+500 val, +500 test) at 128 px",
        "config": {"size": 128, "shard_size": 1000, "grid": _grid(50, 5, 5, 20, 5, 5, 2, 10)},
        "embedded": "auto",
    },
    "classic400k": {
        "about": "grid 100 bgs x 100 fgs x 2 flips x 20 placements = 400,000 train (+4,000 val, +4,000 test) at 224 px",
        "config": {"size": 224, "shard_size": 1000, "grid": _grid(100, 10, 10, 100, 10, 10, 2, 20)},
        "embedded": "auto",
    },
}


@dataclass
class GenerateConfig:
    """Settings of one dataset. Defaults: 128 px, 80/10/10 split, 1000 samples a shard, augmentation on.

    Attributes (beyond the sources): ``aug`` probabilities per augmentation
    (:mod:`maskdepth.data.augment`; ``{}`` = none); ``relief`` metres of per-pixel relief
    (0 = flat billboards); ``fg_heights`` a user heights table (:mod:`maskdepth.data.heights`);
    ``grid`` grid mode (see the module docstring; ``None`` = random mode); ``preset`` the
    preset the settings came from (recorded only); ``plane_max_angle`` the largest support
    plane tilt for RGB-D backgrounds (:func:`maskdepth.data.geometry.fit_support_plane`);
    ``billboard`` ``"fronto"`` (every foreground pixel at the contact depth, the default) or
    ``"upright"`` (a vertical plane through the contact point, on backgrounds with a support
    plane; see :mod:`maskdepth.data.composite`).
    """

    out_dir: str
    bg_dir: Optional[str] = None
    fg_dir: Optional[str] = None
    rgbd_dir: Optional[str] = None
    rgbd_every: int = 1
    render: int = 0
    procedural_fg: int = 0
    teacher: Optional[str] = None
    teacher_mode: str = "per_background"  # or "per_composite"
    n_samples: int = 1000
    size: int = 128
    seed: int = 0
    val_frac: float = 0.1
    test_frac: float = 0.1
    shard_size: int = 1000
    jpeg_quality: int = 95
    mix: dict = field(default_factory=lambda: {"photo": 1.0, "rgbd": 1.0, "render": 1.0})
    aug: dict = field(default_factory=lambda: dict(A.DEFAULT_AUG))
    relief: float = 0.0
    fg_heights: Optional[str] = None
    grid: Optional[dict] = None
    preset: Optional[str] = None
    plane_max_angle: float = 60.0
    billboard: str = "fronto"


# settings of datasets made before a field existed (for --resume of older datasets)
LEGACY_CONFIG = {"aug": {}, "relief": 0.0, "fg_heights": None, "grid": None, "preset": None, "plane_max_angle": 60.0, "billboard": "fronto"}


def _auto_count(make, need: dict[str, int], cfg: "GenerateConfig", what: str) -> int:
    """Smallest n such that ``make(n)`` sources give every split at least ``need[split]`` (hash splits)."""
    have = {sp: 0 for sp in S.SPLITS}
    for n in range(1, 100_000):
        src = make(n)[-1]
        key = getattr(src, "group", None) or src.id
        have[S.split_of(key, cfg.seed, cfg.val_frac, cfg.test_frac)] += 1
        if all(have[sp] >= need.get(sp, 0) for sp in S.SPLITS):
            return n
    raise MaskDepthError(f"cannot find enough {what} for the grid's splits (val/test fractions too small?)")


def config_from_preset(name: Optional[str], **overrides) -> GenerateConfig:
    """A :class:`GenerateConfig` from a preset (see :data:`PRESETS`) and explicit settings.

    ``overrides`` whose value is ``None`` are ignored (so CLI defaults do not mask the
    preset). Without any background source (``bg_dir``, ``rgbd_dir``, ``render``) or any
    foreground source (``fg_dir``, ``procedural_fg``) the preset's embedded sources fill in;
    for grid presets just enough rendered rooms / procedural silhouettes for every split.

    Raises:
        MaskDepthError: unknown preset name.
    """
    kw = {k: v for k, v in overrides.items() if v is not None}
    if name is None:
        return GenerateConfig(**kw)
    if name not in PRESETS:
        raise MaskDepthError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    pre = PRESETS[name]
    merged = {**json.loads(json.dumps(pre["config"])), **kw, "preset": name}
    cfg = GenerateConfig(**merged)
    has_bg = bool(cfg.bg_dir or cfg.rgbd_dir or cfg.render)
    has_fg = bool(cfg.fg_dir or cfg.procedural_fg)
    emb = pre["embedded"]
    if emb == "auto" and cfg.grid:
        if not has_bg:
            cfg.render = _auto_count(S.render_backgrounds, cfg.grid["bgs"], cfg, "rendered rooms")
        if not has_fg:
            cfg.procedural_fg = _auto_count(S.procedural_foregrounds, cfg.grid["fgs"], cfg, "procedural foregrounds")
    elif isinstance(emb, dict):
        if not has_bg:
            cfg.render = emb["render"]
        if not has_fg:
            cfg.procedural_fg = emb["procedural_fg"]
    return cfg


def parse_mix(text: str) -> dict:
    """``"photo=1,rgbd=3,render=1"`` → ``{"photo": 1.0, "rgbd": 3.0, "render": 1.0}`` (unnamed kinds weigh 1).

    Raises:
        MaskDepthError: unknown kind, malformed item or negative weight.
    """
    mix = {"photo": 1.0, "rgbd": 1.0, "render": 1.0}
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        k, sep, v = item.partition("=")
        try:
            w = float(v)
        except ValueError:
            w = -1.0
        if not sep or k.strip() not in mix or w < 0:
            raise MaskDepthError(f"--mix: expected kind=weight with kinds photo, rgbd, render and weights >= 0; got {item!r}")
        mix[k.strip()] = w
    if not any(mix.values()):
        raise MaskDepthError("--mix: at least one weight must be positive")
    return mix


def _split_triple(text: str, what: str) -> dict:
    try:
        vals = [int(x) for x in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != 3 or min(vals) < 0:
        raise MaskDepthError(f"{what} must be three counts TRAIN,VAL,TEST (e.g. 100,10,10), got {text!r}")
    return dict(zip(S.SPLITS, vals))


def grid_from_args(preset: Optional[str], bgs: Optional[str], fgs: Optional[str], flips: Optional[int], placements: Optional[int]) -> Optional[dict]:
    """Grid spec from the CLI options (``None`` when none is given: the preset's grid, if any, stays).

    Starts from the preset's grid when it has one; otherwise ``--grid-bgs`` and
    ``--grid-fgs`` are required (``flips`` default 2, ``placements`` default 1).

    Raises:
        MaskDepthError: malformed counts, or a grid option without a grid.
    """
    if bgs is None and fgs is None and flips is None and placements is None:
        return None
    base = PRESETS.get(preset or "", {}).get("config", {}).get("grid")
    g = json.loads(json.dumps(base)) if base else None
    if g is None:
        if bgs is None or fgs is None:
            raise MaskDepthError("grid mode needs --grid-bgs and --grid-fgs (or a grid preset: small20k, classic400k)")
        g = {"bgs": {}, "fgs": {}, "flips": 2, "placements": 1}
    if bgs is not None:
        g["bgs"] = _split_triple(bgs, "--grid-bgs")
    if fgs is not None:
        g["fgs"] = _split_triple(fgs, "--grid-fgs")
    if flips is not None:
        g["flips"] = int(flips)
    if placements is not None:
        if placements < 1:
            raise MaskDepthError("--placements must be at least 1")
        g["placements"] = int(placements)
    return g


def validate_config(cfg: GenerateConfig) -> None:
    """Raise MaskDepthError (one line) on settings that cannot work."""
    if cfg.size % 32 or cfg.size < 32:
        raise MaskDepthError(f"--size must be a multiple of 32, got {cfg.size}")
    if cfg.teacher_mode not in ("per_background", "per_composite"):
        raise MaskDepthError(f"--teacher-mode must be per_background or per_composite, got {cfg.teacher_mode}")
    if cfg.shard_size < 1:
        raise MaskDepthError("--shard-size must be at least 1")
    if not 1 <= cfg.jpeg_quality <= 100:
        raise MaskDepthError(f"--jpeg-quality must be in [1, 100], got {cfg.jpeg_quality}")
    if cfg.billboard not in ("fronto", "upright"):
        raise MaskDepthError(f"--billboard must be fronto or upright, got {cfg.billboard}")
    if not 0.0 <= cfg.relief <= 1.0:
        raise MaskDepthError(f"--relief must be in [0, 1] metres, got {cfg.relief}")
    bad = set(cfg.aug) - set(A.AUG_NAMES)
    if bad or any(not 0.0 <= float(p) <= 1.0 for p in cfg.aug.values()):
        raise MaskDepthError(f"aug: names must be among {', '.join(A.AUG_NAMES)} with probabilities in [0, 1]; got {cfg.aug}")
    if cfg.grid is not None:
        g = cfg.grid
        try:
            ok = g["flips"] in (1, 2) and int(g["placements"]) >= 1 and all(
                int(g[k].get(sp, 0)) >= 0 for k in ("bgs", "fgs") for sp in S.SPLITS)
        except (KeyError, TypeError, AttributeError, ValueError):
            ok = False
        if not ok:
            raise MaskDepthError(f"grid must be {{bgs: {{split: n}}, fgs: {{split: n}}, flips: 1|2, placements: >=1}}, got {g}")
        if int(g["bgs"].get("train", 0)) < 1 or int(g["fgs"].get("train", 0)) < 1:
            raise MaskDepthError("grid: the training split needs at least one background and one foreground")


# ----------------------------------------------------------------------------- planning

def plan_sources(cfg: GenerateConfig) -> tuple[list[S.BgSource], list[S.FgSource]]:
    """All background and foreground sources with their split (and the foregrounds' height ranges).

    Raises:
        MaskDepthError: no background or no foreground source, or a bad directory or heights table.
    """
    from .heights import height_range, load_height_table

    bgs: list[S.BgSource] = []
    if cfg.bg_dir:
        bgs += S.photo_backgrounds(cfg.bg_dir)
    if cfg.rgbd_dir:
        bgs += S.rgbd_backgrounds(cfg.rgbd_dir, cfg.rgbd_every)
    if cfg.render:
        bgs += S.render_backgrounds(cfg.render)
    fgs: list[S.FgSource] = []
    if cfg.fg_dir:
        fgs += S.file_foregrounds(cfg.fg_dir)
    if cfg.procedural_fg:
        fgs += S.procedural_foregrounds(cfg.procedural_fg)
    if not bgs:
        raise MaskDepthError("no backgrounds: give --bg-dir, --rgbd-dir or --render N")
    if not fgs:
        raise MaskDepthError("no foregrounds: give --fg-dir or --procedural-fg N")
    S.assign_splits(bgs, fgs, cfg.seed, cfg.val_frac, cfg.test_frac)
    # splits without sources of their own fall back to the training ones, so training needs some
    for what, srcs in (("background", bgs), ("foreground", fgs)):
        if not any(s.split == "train" for s in srcs):
            raise MaskDepthError(f"no {what} falls in the training split ({len(srcs)} held out for val/test): add more, or change --seed/--val-frac/--test-frac")
    table = load_height_table(cfg.fg_heights)
    for f in fgs:
        rng_, key = height_range(table, f.id, f.category, f.path)
        f.height_range_m, f.height_key = [float(rng_[0]), float(rng_[1])], key
    return bgs, fgs


def plan(cfg: GenerateConfig) -> tuple[list[S.BgSource], list[S.FgSource], Optional[dict]]:
    """Sources actually used and, in grid mode, the selection ``{"bgs": {split: ids}, "fgs": {split: ids}}``.

    In grid mode only the selected backgrounds and foregrounds are kept (and prepared).
    """
    bgs, fgs = plan_sources(cfg)
    if cfg.grid is None:
        return bgs, fgs, None
    sel_b, sel_f = S.select_grid(bgs, fgs, cfg.grid, cfg.seed, cfg.mix)
    keep_b = {i for ids in sel_b.values() for i in ids}
    keep_f = {i for ids in sel_f.values() for i in ids}
    return [b for b in bgs if b.id in keep_b], [f for f in fgs if f.id in keep_f], {"bgs": sel_b, "fgs": sel_f}


def split_counts(cfg: GenerateConfig) -> dict[str, int]:
    """Samples per split: random mode ``n_samples`` split by ``val_frac``/``test_frac``;
    grid mode ``B_s × F_s × flips × placements`` per split."""
    if cfg.grid is not None:
        g = cfg.grid
        return {sp: int(g["bgs"].get(sp, 0)) * int(g["fgs"].get(sp, 0)) * int(g["flips"]) * int(g["placements"]) for sp in S.SPLITS}
    n_test = int(round(cfg.n_samples * cfg.test_frac))
    n_val = int(round(cfg.n_samples * cfg.val_frac))
    return {"train": cfg.n_samples - n_val - n_test, "val": n_val, "test": n_test}


def shard_list(cfg: GenerateConfig) -> list[dict]:
    """Every shard of the dataset: ``{"name", "split", "start", "count"}`` in a fixed order."""
    out = []
    for split, n in split_counts(cfg).items():
        for j, start in enumerate(range(0, n, cfg.shard_size)):
            out.append({"name": f"{split}-{j:05d}", "split": split, "start": start, "count": min(cfg.shard_size, n - start)})
    return out


def bg_file_stem(bg_id: str) -> str:
    """File-name-safe form of a background id (``/`` → ``__``)."""
    return bg_id.replace("/", "__")


def _stable_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")


# ----------------------------------------------------------------------------- encoding

def _cv2():
    import cv2

    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would fight them
    return cv2


def encode_jpeg_rgb(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of ``uint8 (H, W, 3)`` RGB, 4:4:4 chroma (OpenCV; same bytes as Pillow's
    ``subsampling=0`` with the same libjpeg-turbo, about twice as fast)."""
    cv2 = _cv2()
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])
    if not ok:  # pragma: no cover
        raise MaskDepthError("JPEG encoding failed")
    return buf.tobytes()


def encode_mask_png(mask: np.ndarray) -> bytes:
    """PNG (8-bit gray, 0/255) of a bool mask; no filter + run-length zlib strategy (fast, small)."""
    cv2 = _cv2()
    a = mask.astype(np.uint8) * np.uint8(255)
    ok, buf = cv2.imencode(".png", a, [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
                                       cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE])
    if not ok:  # pragma: no cover
        raise MaskDepthError("PNG encoding failed")
    return buf.tobytes()


def depth_to_u16(depth: np.ndarray, kind: str) -> np.ndarray:
    """Quantise a depth label to its stored uint16 form (see DEPTH CODING)."""
    if kind == "metric":
        scale = np.float32(1000.0)
    elif kind == "teacher":
        scale = np.float32(65535.0)
    else:
        raise ValueError(f"no depth coding for depth_kind {kind!r}")
    a = np.asarray(depth, np.float32) * scale
    np.rint(a, out=a)
    np.clip(a, 0, 65535, out=a)
    return a.astype(np.uint16)


def encode_depth(depth: np.ndarray, kind: str) -> bytes:
    """uint16 PNG of a depth label (see DEPTH CODING in the module docstring)."""
    cv2 = _cv2()
    ok, buf = cv2.imencode(".png", depth_to_u16(depth, kind), [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB])
    if not ok:  # pragma: no cover
        raise MaskDepthError("PNG encoding failed")
    return buf.tobytes()


def decode_depth(a: np.ndarray, kind: str) -> np.ndarray:
    """Inverse of :func:`encode_depth` on the decoded uint16 array → float32 (metres or [0, 1])."""
    return a.astype(np.float32) / (1000.0 if kind == "metric" else 65535.0)


# ----------------------------------------------------------------------------- backgrounds

def _scaled_K(intr: dict, x0: int, y0: int, crop: int, size: int) -> np.ndarray:
    s = size / crop
    return np.array(
        [[intr["fx"] * s, 0, (intr["cx"] - x0 + 0.5) * s - 0.5], [0, intr["fy"] * s, (intr["cy"] - y0 + 0.5) * s - 0.5], [0, 0, 1]],
        np.float64,
    )


def _texture_pool(bgs: list[S.BgSource], limit: int = 64) -> list[np.ndarray]:
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
        from .render import FLOOR, render_room

        scene = render_room(rng, size=size, textures=textures or None)
        rgb, depth, K = scene.rgb, scene.depth.astype(np.float32), scene.K
        support = scene.labels == FLOOR
        n, d = scene.floor_plane
        info = {"method": "render_labels", "normal": [round(float(x), 6) for x in n], "d_m": round(float(d), 5),
                "inlier_fraction": round(float(support.mean()), 5), "support_fraction": round(float(support.mean()), 5)}
        kind = "metric"
    else:
        full = load_rgb(b.path)
        crop, x0, y0 = center_crop_square(full)
        rgb = resize(crop, (size, size))
        depth = None
        kind = "none"
        if b.kind == "rgbd":
            from .geometry import fit_support_plane

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
    return {"rgb": rgb, "depth": depth, "depth_kind": kind, "K": None if K is None else np.asarray(K).tolist(), "support": support,
            "support_info": info}


def _bg_paths(out: Path, bg_id: str) -> dict[str, Path]:
    stem = bg_file_stem(bg_id)
    d = out / "backgrounds"
    return {"rgb": d / f"{stem}.png", "depth": d / f"{stem}.depth.png", "support": d / f"{stem}.support.png", "meta": d / f"{stem}.json"}


def _prepare_one(args):
    b, cfg_dict, textures = args
    cfg = GenerateConfig(**cfg_dict)
    out = Path(cfg.out_dir)
    p = _bg_paths(out, b.id)
    if p["meta"].exists():  # resume: meta is written last
        return
    teacher = _teacher(cfg) if cfg.teacher else None
    r = prepare_background(b, _stable_key(b.id), cfg, textures, teacher)
    atomic_write_bytes(p["rgb"], encode_png(r["rgb"]))
    if r["depth"] is not None:
        atomic_write_bytes(p["depth"], encode_depth(r["depth"], r["depth_kind"]))
    if r["support"] is not None:
        atomic_write_bytes(p["support"], encode_png(r["support"].astype(np.uint8) * 255))
    atomic_write_json(p["meta"], {"id": b.id, "kind": b.kind, "split": b.split, "depth_kind": r["depth_kind"], "K": r["K"],
                                  "has_support": r["support"] is not None, "support_plane": r["support_info"]})


_TEACHER = None


def _teacher(cfg: GenerateConfig):
    global _TEACHER
    from .teacher import OnnxTeacher, resolve_teacher

    path = resolve_teacher(cfg.teacher)
    if _TEACHER is None or _TEACHER.path != str(Path(path)):
        _TEACHER = OnnxTeacher(path)
    return _TEACHER


def load_background(out_dir: str | Path, bg_id: str) -> dict:
    """Read a prepared background back.

    Returns the background's JSON fields plus ``rgb`` uint8 (S,S,3), ``depth`` float32
    (S,S) or ``None``, ``K`` float64 (3,3) or ``None``, ``support`` bool (S,S) or ``None``.
    Raises MaskDepthError for missing or unreadable files.
    """
    p = _bg_paths(Path(out_dir), bg_id)
    meta = read_json(p["meta"], "background meta")
    rgb = load_rgb(p["rgb"])
    depth = decode_depth(load_depth_mm(p["depth"]), meta["depth_kind"]) if meta["depth_kind"] != "none" else None
    support = (np.asarray(load_rgb(p["support"]))[..., 0] > 127) if meta.get("has_support") else None
    return {**meta, "rgb": rgb, "depth": depth, "K": None if meta["K"] is None else np.asarray(meta["K"]), "support": support}


# ----------------------------------------------------------------------------- samples

_W: dict = {}  # per-process worker state: backgrounds and foregrounds, loaded once
CUTOUT_CACHE_BYTES = 96 * 2**20  # resized cutouts kept per worker process


def _load_fg(f: S.FgSource, size: int) -> np.ndarray:
    if f.path is not None:
        rgba = load_rgba(f.path)
    else:
        from .render import procedural_foreground

        rgba = procedural_foreground(np.random.default_rng([f.seed, 11]), kind=f.category, height_px=max(64, size))
    try:
        return crop_to_alpha(rgba)
    except ValueError:
        raise MaskDepthError(f"{f.path or f.id}: foreground alpha is empty") from None


def _init_worker(cfg_dict: dict, bgs: list[dict], fgs: list[dict], selection: Optional[dict] = None):
    # An exception escaping a multiprocessing.Pool initializer kills the worker and the
    # pool respawns it forever (a hang). Keep the error; _write_shard raises it instead.
    _W.clear()
    try:
        _init_worker_state(cfg_dict, bgs, fgs, selection)
    except Exception as e:
        _W["init_error"] = e


def _grid_perm(seed: int, split: str, n: int) -> np.ndarray:
    return np.random.default_rng([int(seed), 0x6D1D, SPLIT_CODE[split]]).permutation(n)


def _init_worker_state(cfg_dict: dict, bgs: list[dict], fgs: list[dict], selection: Optional[dict]):
    cfg = GenerateConfig(**cfg_dict)
    _cv2()
    _W["cfg"] = cfg
    _W["bgs"] = {b["id"]: load_background(cfg.out_dir, b["id"]) for b in bgs}
    for bg in _W["bgs"].values():
        if bg["depth_kind"] == "metric":
            bg["candidates"] = contact_candidates(bg["depth"], bg["support"])
    _W["bg_by_split"] = {
        sp: {k: sorted(b["id"] for b in bgs if b["split"] == sp and b["kind"] == k) for k in ("photo", "rgbd", "render")} for sp in S.SPLITS
    }
    _W["fgs"] = {}
    for f in fgs:
        rgba = _load_fg(S.FgSource(**f), cfg.size)
        _W["fgs"][f["id"]] = (f, rgba, prepare_cutout(rgba))
    _W["fg_by_split"] = {sp: sorted(f["id"] for f in fgs if f["split"] == sp) for sp in S.SPLITS}
    _W["teacher"] = _teacher(cfg) if (cfg.teacher and cfg.teacher_mode == "per_composite") else None
    _W["cut_cache"] = OrderedDict()
    _W["cut_bytes"] = 0
    _W["noise_bank"] = A.noise_bank(cfg.seed, cfg.size) if cfg.aug.get("noise", 0) > 0 else None
    _W["grid"] = None
    if cfg.grid is not None and selection is not None:
        counts = split_counts(cfg)
        _W["grid"] = {
            sp: {"bgs": selection["bgs"][sp], "fgs": selection["fgs"][sp], "flips": int(cfg.grid["flips"]),
                 "placements": int(cfg.grid["placements"]), "perm": _grid_perm(cfg.seed, sp, counts[sp])}
            for sp in S.SPLITS if counts[sp] > 0
        }


def _cutout(fg_id: str, height_px: int, flip: bool, relief: bool):
    """Resized premultiplied cutout (and its relief map) from the per-worker LRU cache."""
    key = (fg_id, int(height_px), bool(flip))
    cache = _W["cut_cache"]
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
    else:
        cut = np.ascontiguousarray(resize_premultiplied(_W["fgs"][fg_id][2], height_px, flip))
        hit = [cut, None]
        cache[key] = hit
        _W["cut_bytes"] += cut.nbytes
        while _W["cut_bytes"] > CUTOUT_CACHE_BYTES and len(cache) > 1:
            _, old = cache.popitem(last=False)
            _W["cut_bytes"] -= old[0].nbytes + (old[1].nbytes if old[1] is not None else 0)
    if relief and hit[1] is None:
        hit[1] = edge_distance(hit[0][..., 3])
        _W["cut_bytes"] += hit[1].nbytes
    return hit[0], hit[1]


def _pick_random(cfg: GenerateConfig, split: str, rng: np.random.Generator) -> tuple[str, str]:
    kinds = [k for k, ids in _W["bg_by_split"][split].items() if ids and cfg.mix.get(k, 0) > 0]
    if not kinds:  # no background of this split: fall back to training backgrounds (recorded)
        kinds = [k for k, ids in _W["bg_by_split"]["train"].items() if ids]
        pool = _W["bg_by_split"]["train"]
    else:
        pool = _W["bg_by_split"][split]
    w = np.array([cfg.mix.get(k, 1.0) for k in kinds], np.float64)
    kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
    bg_id = pool[kind][int(rng.integers(len(pool[kind])))]
    fg_ids = _W["fg_by_split"][split] or _W["fg_by_split"]["train"]
    fg_id = fg_ids[int(rng.integers(len(fg_ids)))]
    return bg_id, fg_id


def make_sample(split: str, index: int) -> tuple[dict, dict, dict]:
    """Make sample ``index`` of ``split`` in a worker (state from :func:`_init_worker`).

    Random mode: a split without backgrounds or foregrounds of its own (tiny inputs)
    draws from the training ones; the sample's JSON records which were used. Grid mode:
    the combination ``perm[index]`` of the split's own backgrounds and foregrounds.

    Returns ``(files, meta, stats)``: ``files`` maps extension (``fg_bg.jpg`` ...) to
    bytes; ``meta`` is the sample's JSON; ``stats`` holds sums for the dataset statistics.
    """
    cv2 = _cv2()
    cfg: GenerateConfig = _W["cfg"]
    code = SPLIT_CODE[split]
    rng = np.random.default_rng([cfg.seed, code, index])
    flip = None
    grid_rec = None
    g = (_W.get("grid") or {}).get(split)
    if g is not None:
        combo = int(g["perm"][index])
        P, nfl, F = g["placements"], g["flips"], len(g["fgs"])
        p_i, r = combo % P, combo // P
        fl, r = r % nfl, r // nfl
        f_i, b_i = r % F, r // F
        bg_id, fg_id = g["bgs"][b_i], g["fgs"][f_i]
        flip = bool(fl)
        grid_rec = {"combo": combo, "bg": b_i, "fg": f_i, "flip": fl, "placement": p_i}
    else:
        bg_id, fg_id = _pick_random(cfg, split, rng)
    bg = _W["bgs"][bg_id]
    fg_src, fg_rgba, _ = _W["fgs"][fg_id]
    lo, hi = fg_src.get("height_range_m") or CLASS_HEIGHTS_M.get(fg_src["category"], CLASS_HEIGHTS_M["person"])
    height_m = fg_src.get("height_m") or float(rng.uniform(lo, hi))
    S_ = cfg.size
    teacher_pc = _W["teacher"] is not None and bg["depth_kind"] in ("teacher", "none")
    up = None
    if bg["depth_kind"] == "metric":
        if cfg.billboard == "upright" and (bg.get("support_plane") or {}).get("normal"):
            up = np.asarray(bg["support_plane"]["normal"], np.float64)
        pl = sample_placement_metric(rng, bg["depth"], bg["K"], fg_rgba.shape, height_m, support=bg["support"], flip=flip,
                                     relief_m=cfg.relief, candidates=bg["candidates"], up_normal=up)
        label, larger_is_nearer, depth_kind = bg["depth"], False, "metric"
    else:
        pl = sample_placement_ground_prior(rng, (S_, S_), fg_rgba.shape, height_m, flip=flip)
        if bg["depth_kind"] == "teacher" and not teacher_pc:
            # per-background teacher: the fg takes the bg disparity at its contact point
            u, v = pl.contact_uv
            pl.fg_depth = float(bg["depth"][min(max(v, 0), S_ - 1), min(max(u, 0), S_ - 1)])
            label, larger_is_nearer, depth_kind = bg["depth"], True, "teacher"
        else:
            label, larger_is_nearer, depth_kind = None, False, "none"
    cut, relief_map = _cutout(fg_id, pl.height_px, pl.flip, relief=pl.relief_m > 0 and depth_kind == "metric")

    augs = A.draw(np.random.default_rng([cfg.seed, code, index, 1]), cfg.aug, S_) if cfg.aug else {}
    bg_rgb = bg["rgb"]
    if "shadow" in augs:
        bg_rgb = A.contact_shadow(bg_rgb, cut[..., 3], pl.x0, pl.y0, augs["shadow"], label, pl.fg_depth, larger_is_nearer)
    dmap = upright_depth(bg["K"], pl.contact_uv, pl.fg_depth, up, pl.x0, pl.y0, cut.shape[:2]) if up is not None else None
    comp = paste(bg_rgb, None, pl, label, larger_is_nearer=larger_is_nearer, cutout=cut, relief_map=relief_map, fg_depth_map=dmap)
    fg_bg, mask, depth = comp.fg_bg, comp.mask, comp.depth
    if "misalign" in augs:
        fg_bg, mask, depth, M = A.misalign(fg_bg, mask, depth, augs["misalign"])
        augs["misalign"] = {**augs["misalign"], "matrix": M}
    if "exposure" in augs:
        fg_bg = A.exposure(fg_bg, augs["exposure"])
    if "noise" in augs:
        fg_bg = A.add_noise(fg_bg, augs["noise"], _W["noise_bank"])
    if teacher_pc:  # the old way: run the teacher on every composite
        depth, depth_kind = _W["teacher"].disparity(fg_bg), "teacher"
    quality = augs["jpeg"]["quality"] if "jpeg" in augs else cfg.jpeg_quality
    mask_fraction = cv2.countNonZero(mask.view(np.uint8)) / float(mask.size)
    key = f"{split}_{index:07d}"
    meta = {
        "key": key,
        "split": split,
        "index": index,
        "seed": cfg.seed,
        "bg_id": bg_id,
        "bg_kind": bg["kind"],
        "fg_id": fg_id,
        "fg_category": fg_src["category"],
        "depth_kind": depth_kind,
        "placement": pl.to_json(),
        "mask_fraction": mask_fraction,
        "jpeg_quality": int(quality),
        "aug": augs,
    }
    if grid_rec is not None:
        meta["grid"] = grid_rec
    files = {"fg_bg.jpg": encode_jpeg_rgb(fg_bg, quality), "mask.png": encode_mask_png(mask)}
    if depth is not None:
        files["depth.png"] = encode_depth(depth, depth_kind)
    files["json"] = json.dumps(meta, sort_keys=True).encode()
    s1 = cv2.sumElems(fg_bg)
    chans = cv2.split(fg_bg)
    stats = {
        "rgb_sum": np.array(s1[:3], np.float64) / 255.0,
        "rgb_sq": np.array([cv2.norm(c, cv2.NORM_L2SQR) for c in chans], np.float64) / 255.0**2,
        "pixels": fg_bg.shape[0] * fg_bg.shape[1],
        "aug": list(augs),
    }
    if depth is not None and depth_kind == "metric":
        valid = (depth > 0).view(np.uint8)
        n = cv2.countNonZero(valid)
        if n:
            mn, mx, _, _ = cv2.minMaxLoc(depth, mask=valid)
            stats["depth"] = (float(cv2.sumElems(depth)[0]), float(cv2.norm(depth, cv2.NORM_L2SQR)), int(n), float(mn), float(mx))
        else:
            stats["depth"] = (0.0, 0.0, 0, 0.0, 0.0)
    return files, meta, stats


def _tar_bytes(samples: list[tuple[str, dict]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for key, files in samples:
            for ext, data in files.items():
                ti = tarfile.TarInfo(f"{key}.{ext}")
                ti.size = len(data)
                ti.mtime = 0
                ti.mode = 0o644
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = ""
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def shard_complete(out: Path, name: str) -> bool:
    """True when ``shards/<name>.tar`` and its index exist and the sha256 matches."""
    tar, idx = out / "shards" / f"{name}.tar", out / "shards" / f"{name}.json"
    if not (tar.exists() and idx.exists()):
        return False
    try:
        want = json.loads(idx.read_text())["sha256"]
    except (OSError, ValueError, KeyError):
        return False
    return file_sha256(tar) == want


def _write_shard(shard: dict) -> dict:
    if "init_error" in _W:
        raise _W["init_error"]
    cfg: GenerateConfig = _W["cfg"]
    out = Path(cfg.out_dir)
    samples, keys, kinds, aug_counts = [], [], {}, {}
    acc = {"rgb_sum": np.zeros(3), "rgb_sq": np.zeros(3), "pixels": 0, "mask_fraction_sum": 0.0, "depth": [0.0, 0.0, 0, np.inf, 0.0]}
    for i in range(shard["start"], shard["start"] + shard["count"]):
        files, meta, st = make_sample(shard["split"], i)
        samples.append((meta["key"], files))
        keys.append(meta["key"])
        kinds[meta["depth_kind"]] = kinds.get(meta["depth_kind"], 0) + 1
        for a in st["aug"]:
            aug_counts[a] = aug_counts.get(a, 0) + 1
        acc["rgb_sum"] += st["rgb_sum"]
        acc["rgb_sq"] += st["rgb_sq"]
        acc["pixels"] += st["pixels"]
        acc["mask_fraction_sum"] += meta["mask_fraction"]
        if "depth" in st and st["depth"][2]:
            s, s2, n, mn, mx = st["depth"]
            d = acc["depth"]
            d[0] += s
            d[1] += s2
            d[2] += n
            d[3] = min(d[3], mn)
            d[4] = max(d[4], mx)
    data = _tar_bytes(samples)
    atomic_write_bytes(out / "shards" / f"{shard['name']}.tar", data)
    index = {
        "name": shard["name"],
        "split": shard["split"],
        "count": len(keys),
        "keys": keys,
        "depth_kinds": kinds,
        "aug_counts": {k: aug_counts[k] for k in sorted(aug_counts)},
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "stats": {
            "rgb_sum": acc["rgb_sum"].tolist(),
            "rgb_sq": acc["rgb_sq"].tolist(),
            "pixels": acc["pixels"],
            "mask_fraction_sum": acc["mask_fraction_sum"],
            "depth": [acc["depth"][0], acc["depth"][1], acc["depth"][2], acc["depth"][3] if acc["depth"][2] else 0.0, acc["depth"][4]],
        },
    }
    atomic_write_json(out / "shards" / f"{shard['name']}.json", index)
    return {"name": shard["name"], "count": len(keys)}


# ----------------------------------------------------------------------------- driver

def _pool_map(fn, items, workers, initializer=None, initargs=(), desc="", total=None, quiet=False):
    bar = tqdm(total=total if total is not None else len(items), desc=desc, unit="it", disable=quiet, dynamic_ncols=True)
    results = []
    if workers <= 1:
        if initializer:
            initializer(*initargs)
        for it in items:
            r = fn(it)
            results.append(r)
            bar.update(it["count"] if isinstance(it, dict) and "count" in it else 1)
    else:
        ctx = get_context("fork")
        with ctx.Pool(workers, initializer=initializer, initargs=initargs) as pool:
            for it, r in zip(items, pool.imap(fn, items)):
                results.append(r)
                bar.update(it["count"] if isinstance(it, dict) and "count" in it else 1)
    bar.close()
    return results


def _bg_stats(out: Path, bgs: list[S.BgSource]) -> dict:
    s, s2, n = np.zeros(3), np.zeros(3), 0
    for b in bgs:
        a = load_rgb(_bg_paths(out, b.id)["rgb"]).reshape(-1, 3).astype(np.float64) / 255.0
        s += a.sum(0)
        s2 += (a**2).sum(0)
        n += a.shape[0]
    mean = s / max(n, 1)
    return {"mean": mean.tolist(), "std": np.sqrt(np.maximum(s2 / max(n, 1) - mean**2, 0)).tolist()}


def aggregate(out: Path, shards: list[dict], bgs: list[S.BgSource]) -> dict:
    """Dataset statistics from the per-shard indices (and the backgrounds)."""
    tot = {"rgb_sum": np.zeros(3), "rgb_sq": np.zeros(3), "pixels": 0, "mask": 0.0, "count": 0, "kinds": {}, "aug": {}, "d": [0.0, 0.0, 0, np.inf, 0.0]}
    per_split: dict[str, int] = {}
    for sh in shards:
        idx = json.loads((out / "shards" / f"{sh['name']}.json").read_text())
        st = idx["stats"]
        tot["rgb_sum"] += st["rgb_sum"]
        tot["rgb_sq"] += st["rgb_sq"]
        tot["pixels"] += st["pixels"]
        tot["mask"] += st["mask_fraction_sum"]
        tot["count"] += idx["count"]
        per_split[idx["split"]] = per_split.get(idx["split"], 0) + idx["count"]
        for k, v in idx["depth_kinds"].items():
            tot["kinds"][k] = tot["kinds"].get(k, 0) + v
        for k, v in idx.get("aug_counts", {}).items():
            tot["aug"][k] = tot["aug"].get(k, 0) + v
        d = tot["d"]
        ds = st["depth"]
        d[0] += ds[0]
        d[1] += ds[1]
        d[2] += ds[2]
        if ds[2]:
            d[3] = min(d[3], ds[3])
            d[4] = max(d[4], ds[4])
    return summarise_totals(tot, per_split, _bg_stats(out, bgs))


def summarise_totals(tot: dict, per_split: dict[str, int], bg_stats: dict) -> dict:
    """The ``stats.json`` structure from accumulated sums.

    ``tot``: ``rgb_sum``/``rgb_sq`` (3,) sums of fg_bg RGB in [0, 1] and of its square,
    ``pixels``, ``mask`` (sum of per-sample mask fractions), ``count``, ``kinds``
    (depth_kind counts), optional ``aug`` (augmentation counts) and ``d`` = [sum, sum of
    squares, count, min, max] of valid metric depth in metres. Std is sqrt(E[x²] − E[x]²).
    """
    mean = tot["rgb_sum"] / max(tot["pixels"], 1)
    std = np.sqrt(np.maximum(tot["rgb_sq"] / max(tot["pixels"], 1) - mean**2, 0))
    d = tot["d"]
    dmean = d[0] / d[2] if d[2] else None
    out = {
        "samples": tot["count"],
        "samples_per_split": per_split,
        "fg_bg": {"mean": mean.tolist(), "std": std.tolist(), "range": "RGB in [0, 1]"},
        "bg": bg_stats,
        "mask_fraction_mean": tot["mask"] / max(tot["count"], 1),
        "depth_kinds": tot["kinds"],
    }
    if "aug" in tot:
        out["augmentations"] = {k: tot["aug"][k] for k in sorted(tot["aug"])}
    out["metric_depth_m"] = None if not d[2] else {
        "mean": dmean, "std": float(np.sqrt(max(d[1] / d[2] - dmean**2, 0))), "min": d[3], "max": d[4], "valid_pixels": d[2]}
    return out


def _same_settings(old: dict, new: dict) -> bool:
    keys = (set(old) | set(new)) - {"out_dir"}
    return all(old.get(k, LEGACY_CONFIG.get(k)) == new.get(k, LEGACY_CONFIG.get(k)) for k in keys)


def _remove_stale_tmp(out: Path) -> None:
    """Delete temporary files a killed run left (``<name>.<random>.tmp`` of atomic writes)."""
    stale = list((out / "shards").glob("*.tmp")) + list((out / "backgrounds").glob("*.tmp"))
    stale += [p for n in ("manifest.json", "stats.json", "generate_config.json") for p in out.glob(f"{n}.*.tmp")]
    for p in stale:
        try:
            p.unlink()
        except OSError:
            pass


def generate(
    cfg: GenerateConfig,
    workers: int = 2,
    resume: bool = False,
    shard_index: Optional[int] = None,
    num_shards: Optional[int] = None,
    quiet: bool = False,
) -> dict:
    """Generate a dataset; return the manifest.

    Args:
        workers: processes on this machine (the output does not depend on it).
        resume: keep complete shards and backgrounds, redo the rest (and remove stale
            temporary files of a killed run). Without it an existing non-empty
            ``out_dir`` is refused.
        shard_index, num_shards: make only shards ``i`` with ``i % num_shards == shard_index``
            (no coordination needed between machines); the manifest and statistics are
            written once every shard is present.
    Raises:
        MaskDepthError: bad sources or settings, an output directory in the way, or unwritable output.
    """
    out = Path(cfg.out_dir)
    validate_config(cfg)
    if num_shards is not None and not (0 <= (shard_index or 0) < num_shards):
        raise MaskDepthError(f"--shard-index must be in [0, {num_shards})")
    cfg_dict = asdict(cfg)
    cfg_path = out / "generate_config.json"
    if out.exists() and any(out.iterdir()):
        if not (resume or num_shards):
            raise MaskDepthError(f"output directory {out} is not empty: use --resume to continue it, or another directory")
        if cfg_path.exists():
            old = json.loads(cfg_path.read_text())
            if not _same_settings(old, cfg_dict):
                raise MaskDepthError(f"{out} was generated with other settings ({cfg_path}); use a new directory")
    # fail on bad sources before writing anything
    bgs, fgs, selection = plan(cfg)
    if cfg.teacher:
        _teacher(cfg)  # fail early on a bad model
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "shards").mkdir(exist_ok=True)
        (out / "backgrounds").mkdir(exist_ok=True)
    except OSError as e:
        raise MaskDepthError(f"cannot create output directory {out}: {e.strerror}") from None
    if resume and num_shards is None:
        _remove_stale_tmp(out)
    atomic_write_json(cfg_path, cfg_dict)

    textures = _texture_pool(bgs) if cfg.render else []
    todo_bg = [(b, cfg_dict, textures) for b in bgs if not _bg_paths(out, b.id)["meta"].exists()]
    if todo_bg:
        _pool_map(_prepare_one, todo_bg, workers, desc="backgrounds", quiet=quiet)

    shards = shard_list(cfg)
    mine = [s for i, s in enumerate(shards) if num_shards is None or i % num_shards == shard_index]
    todo = [s for s in mine if not shard_complete(out, s["name"])]
    bg_json = [b.to_json() for b in bgs]
    fg_json = [f.to_json() for f in fgs]
    if todo:
        _pool_map(
            _write_shard,
            todo,
            workers,
            initializer=_init_worker,
            initargs=(cfg_dict, bg_json, fg_json, selection),
            desc="composites",
            total=sum(s["count"] for s in todo),
            quiet=quiet,
        )
    manifest = {
        "format_version": FORMAT_VERSION,
        "config": cfg_dict,
        "depth_coding": {"metric": "uint16 millimetres, 0 = invalid", "teacher": "uint16 normalised disparity x 65535, larger = nearer"},
        "augmentation": {"probabilities": dict(cfg.aug), "doc": "maskdepth.data.augment"},
        "split_counts": split_counts(cfg),
        "grid": None if selection is None else {"spec": cfg.grid, "backgrounds": selection["bgs"], "foregrounds": selection["fgs"]},
        "backgrounds": bg_json,
        "foregrounds": fg_json,
        "shards": shards,
        "complete": all(shard_complete(out, s["name"]) for s in shards) if num_shards else True,
    }
    if manifest["complete"]:
        atomic_write_json(out / "stats.json", aggregate(out, shards, bgs))
        atomic_write_json(out / "manifest.json", manifest)
    return manifest
