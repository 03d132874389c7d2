"""Writing the shards of a dataset: per-process worker state, one sample (:func:`make_sample`),
the tar writer and the completeness check.

Determinism: every sample draws from its own ``numpy.random.default_rng([seed, split, index])``
(placement) and ``default_rng([seed, split, index, 1])`` (augmentations); tar headers have
fixed mtime/uid/names and images are encoded by OpenCV with fixed settings
(:mod:`maskdepth.data.format`), so the same settings make byte-identical shards whatever the
number of workers or machines. A shard is complete when its tar and index exist and the
index's sha256 matches (:func:`shard_complete`); files are written to a temporary name,
fsynced and renamed, so a killed run never leaves a partial shard under the final name.

SAMPLE JSON (``<key>.json``): key, split, index, seed, bg_id, bg_kind, fg_id, fg_category,
depth_kind, placement (contact point, size, flip, contact depth, physical height, relief),
mask_fraction, jpeg_quality, aug (the augmentations applied and their parameters, see
:mod:`maskdepth.data.augment`; ``{}`` = none) and, in grid mode, grid (the combination).
Readers ignore fields they do not know, so datasets of format version 1 without the
newer fields still read.

Speed (see ``benchmarks/generate_bench.py``): only the cutout's bounding box is
composited, resized cutouts are cached per (foreground, height, flip), images are encoded
with OpenCV (JPEG 4:4:4, PNG with fixed filters), statistics use OpenCV reductions, and
sensor noise comes from a precomputed bank.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..io import atomic_write_bytes, atomic_write_json, file_sha256, load_rgba
from . import augment as A
from . import sources as S
from .composite import (
    CLASS_HEIGHTS_M,
    contact_candidates,
    crop_to_alpha,
    edge_distance,
    paste,
    prepare_cutout,
    resize_premultiplied,
    sample_placement_ground_prior,
    sample_placement_metric,
    upright_depth,
)
from .format import (
    DEPTH,
    FG_BG,
    MASK,
    META,
    encode_depth,
    encode_jpeg_rgb,
    encode_mask_png,
    load_background,
    opencv,
    sample_key,
    shard_paths,
)
from .generate_config import GenerateConfig
from .plan import SPLIT_CODE, grid_combo, grid_perm, split_counts
from .procedural import procedural_foreground
from .stats import Sums, depth_sums, image_sums, mask_fraction
from .teacher import load_teacher

_W: dict = {}  # per-process worker state: backgrounds and foregrounds, loaded once
CUTOUT_CACHE_BYTES = 96 * 2**20  # resized cutouts kept per worker process


def _load_fg(f: S.FgSource, size: int) -> np.ndarray:
    if f.path is not None:
        rgba = load_rgba(f.path)
    else:
        rgba = procedural_foreground(np.random.default_rng([f.seed, 11]), kind=f.category, height_px=max(64, size))
    try:
        return crop_to_alpha(rgba)
    except ValueError:
        raise MaskDepthError(f"{f.path or f.id}: foreground alpha is empty") from None


def init_worker(cfg_dict: dict, bgs: list[dict], fgs: list[dict], selection: dict | None = None) -> None:
    """Load this process's state for :func:`make_sample` / :func:`write_shard` (a pool initializer).

    ``bgs``/``fgs``: the sources' JSON (the backgrounds must be prepared); ``selection``:
    the grid selection of :func:`maskdepth.data.plan.plan` (``None`` in random mode).
    An error is kept and raised by :func:`write_shard`, so that it reaches the caller as itself (an exception
    escaping a pool's initializer only breaks the pool: ``BrokenProcessPool``, or with ``multiprocessing.Pool`` a
    worker respawned forever).
    """
    _W.clear()
    try:
        _init_worker_state(cfg_dict, bgs, fgs, selection)
    except Exception as e:
        _W["init_error"] = e


def _init_worker_state(cfg_dict: dict, bgs: list[dict], fgs: list[dict], selection: dict | None):
    cfg = GenerateConfig(**cfg_dict)
    opencv()
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
    _W["teacher"] = load_teacher(cfg.teacher) if (cfg.teacher and cfg.teacher_mode == "per_composite") else None
    _W["cut_cache"] = OrderedDict()
    _W["cut_bytes"] = 0
    _W["noise_bank"] = A.noise_bank(cfg.seed, cfg.size) if cfg.aug.get("noise", 0) > 0 else None
    _W["grid"] = None
    if cfg.grid is not None and selection is not None:
        counts = split_counts(cfg)
        _W["grid"] = {
            sp: {
                "bgs": selection["bgs"][sp],
                "fgs": selection["fgs"][sp],
                "flips": int(cfg.grid["flips"]),
                "placements": int(cfg.grid["placements"]),
                "perm": grid_perm(cfg.seed, sp, counts[sp]),
            }
            for sp in S.SPLITS
            if counts[sp] > 0
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


def _choose_pair(cfg: GenerateConfig, split: str, index: int, rng: np.random.Generator) -> tuple[str, str, bool | None, dict | None]:
    """``(bg_id, fg_id, flip, grid_rec)`` of a sample: the grid's combination ``perm[index]`` (flip decided,
    ``grid_rec`` its record) or a random draw (flip ``None``: decided by the placement, no record)."""
    g = (_W.get("grid") or {}).get(split)
    if g is None:
        bg_id, fg_id = _pick_random(cfg, split, rng)
        return bg_id, fg_id, None, None
    combo = int(g["perm"][index])
    b_i, f_i, fl, p_i = grid_combo(combo, len(g["fgs"]), g["flips"], g["placements"])
    return g["bgs"][b_i], g["fgs"][f_i], bool(fl), {"combo": combo, "bg": b_i, "fg": f_i, "flip": fl, "placement": p_i}


def _place_metric(cfg: GenerateConfig, rng, bg: dict, fg_shape: tuple, height_m: float, flip: bool | None):
    """Placement on a metric background: ``(placement, up)`` (``up`` the support plane's normal of an upright
    billboard, else ``None``); ``(None, None)`` when no contact point admits the cutout at its size."""
    up = None
    if cfg.billboard == "upright" and (bg.get("support_plane") or {}).get("normal"):
        up = np.asarray(bg["support_plane"]["normal"], np.float64)
    pl = sample_placement_metric(
        rng,
        bg["depth"],
        bg["K"],
        fg_shape,
        height_m,
        support=bg["support"],
        flip=flip,
        relief_m=cfg.relief,
        candidates=bg["candidates"],
        up_normal=up,
    )
    return (pl, up) if pl is not None else (None, None)


def _place(cfg: GenerateConfig, rng, bg: dict, fg_shape: tuple, height_m: float, flip: bool | None, teacher_pc: bool):
    """Where the cutout goes and the depth label it gets: ``(placement, label, larger_is_nearer, depth_kind, up)``.

    Metric backgrounds: a metric placement (``label`` the background's metres); when none fits (a near-range
    frame) the ground prior without a depth label. Other backgrounds: the ground prior; a per-background
    teacher label gives the cutout the background's disparity at its contact point.
    """
    S_ = cfg.size
    if bg["depth_kind"] == "metric":
        pl, up = _place_metric(cfg, rng, bg, fg_shape, height_m, flip)
        if pl is not None:
            return pl, bg["depth"], False, "metric", up
        # no contact point admits this cutout at its physical size (a near-range frame): pasted without a depth label
        pl = sample_placement_ground_prior(rng, (S_, S_), fg_shape, height_m, flip=flip)
        return pl, None, False, "none", None
    pl = sample_placement_ground_prior(rng, (S_, S_), fg_shape, height_m, flip=flip)
    if bg["depth_kind"] == "teacher" and not teacher_pc:
        # per-background teacher: the fg takes the bg disparity at its contact point
        u, v = pl.contact_uv
        pl.fg_depth = float(bg["depth"][min(max(v, 0), S_ - 1), min(max(u, 0), S_ - 1)])
        return pl, bg["depth"], True, "teacher", None
    return pl, None, False, "none", None


def _composite(cfg: GenerateConfig, bg: dict, fg_id: str, pl, label, larger_is_nearer: bool, depth_kind: str, up, augs: dict):
    """Paste the cutout (contact shadow first, then misalignment, exposure and noise as ``augs`` say):
    ``(fg_bg, mask, depth)``; ``augs["misalign"]`` gains the warp matrix."""
    cut, relief_map = _cutout(fg_id, pl.height_px, pl.flip, relief=pl.relief_m > 0 and depth_kind == "metric")
    bg_rgb = bg["rgb"]
    if "shadow" in augs:
        bg_rgb = A.contact_shadow(bg_rgb, cut[..., 3], pl.x0, pl.y0, augs["shadow"], label, pl.fg_depth, larger_is_nearer)
    dmap = upright_depth(bg["K"], pl.contact_uv, pl.fg_depth, up, pl.x0, pl.y0, cut.shape[:2]) if up is not None else None
    ground = bg["support"] if up is not None else None  # the floor never hides an upright figure's feet
    comp = paste(
        bg_rgb, None, pl, label, larger_is_nearer=larger_is_nearer, cutout=cut, relief_map=relief_map, fg_depth_map=dmap, ground=ground
    )
    fg_bg, mask, depth = comp.fg_bg, comp.mask, comp.depth
    if "misalign" in augs:
        fg_bg, mask, depth, M = A.misalign(fg_bg, mask, depth, augs["misalign"])
        augs["misalign"] = {**augs["misalign"], "matrix": M}
    if "exposure" in augs:
        fg_bg = A.exposure(fg_bg, augs["exposure"])
    if "noise" in augs:
        fg_bg = A.add_noise(fg_bg, augs["noise"], _W["noise_bank"])
    return fg_bg, mask, depth


def _encode(meta: dict, fg_bg: np.ndarray, mask: np.ndarray, depth, quality: int) -> tuple[dict, dict]:
    """The sample's members ``{ext: bytes}`` and its statistics sums (see :func:`make_sample`)."""
    files = {FG_BG: encode_jpeg_rgb(fg_bg, quality), MASK: encode_mask_png(mask)}
    if depth is not None:
        files[DEPTH] = encode_depth(depth, meta["depth_kind"])
    files[META] = json.dumps(meta, sort_keys=True).encode()
    stats = {
        "rgb": image_sums(fg_bg),
        "aug": list(meta["aug"]),
        "depth": depth_sums(depth) if depth is not None and meta["depth_kind"] == "metric" else None,
    }
    return files, stats


def make_sample(split: str, index: int) -> tuple[dict, dict, dict]:
    """Make sample ``index`` of ``split`` in a worker (state from :func:`init_worker`).

    Random mode: a split without backgrounds or foregrounds of its own (tiny inputs)
    draws from the training ones; the sample's JSON records which were used. Grid mode:
    the combination ``perm[index]`` of the split's own backgrounds and foregrounds.
    Draws, in order, from ``rng([seed, split code, index])``: the pair (random mode), the
    cutout's height, the placement; the augmentations from ``rng([seed, split code, index, 1])``.

    Returns ``(files, meta, stats)``: ``files`` maps extension (``fg_bg.jpg`` ...) to
    bytes; ``meta`` is the sample's JSON; ``stats`` holds its sums for the dataset statistics
    (``rgb``, ``depth``: :func:`maskdepth.data.stats.image_sums`, :func:`~maskdepth.data.stats.depth_sums`; ``aug``: names).
    """
    cfg: GenerateConfig = _W["cfg"]
    code = SPLIT_CODE[split]
    rng = np.random.default_rng([cfg.seed, code, index])
    bg_id, fg_id, flip, grid_rec = _choose_pair(cfg, split, index, rng)
    bg = _W["bgs"][bg_id]
    fg_src, fg_rgba, _ = _W["fgs"][fg_id]
    lo, hi = fg_src.get("height_range_m") or CLASS_HEIGHTS_M.get(fg_src["category"], CLASS_HEIGHTS_M["person"])
    height_m = fg_src.get("height_m") or float(rng.uniform(lo, hi))
    teacher_pc = _W["teacher"] is not None and bg["depth_kind"] in ("teacher", "none")
    pl, label, larger_is_nearer, depth_kind, up = _place(cfg, rng, bg, fg_rgba.shape, height_m, flip, teacher_pc)
    augs = A.draw(np.random.default_rng([cfg.seed, code, index, 1]), cfg.aug, cfg.size) if cfg.aug else {}
    fg_bg, mask, depth = _composite(cfg, bg, fg_id, pl, label, larger_is_nearer, depth_kind, up, augs)
    if teacher_pc:  # the old way: run the teacher on every composite
        depth, depth_kind = _W["teacher"].disparity(fg_bg), "teacher"
    quality = augs["jpeg"]["quality"] if "jpeg" in augs else cfg.jpeg_quality
    meta = {
        "key": sample_key(split, index),
        "split": split,
        "index": index,
        "seed": cfg.seed,
        "bg_id": bg_id,
        "bg_kind": bg["kind"],
        "fg_id": fg_id,
        "fg_category": fg_src["category"],
        "depth_kind": depth_kind,
        "placement": pl.to_json(),
        "mask_fraction": mask_fraction(mask),
        "jpeg_quality": int(quality),
        "aug": augs,
    }
    if grid_rec is not None:
        meta["grid"] = grid_rec
    files, stats = _encode(meta, fg_bg, mask, depth, quality)
    return files, meta, stats


def tar_bytes(samples: list[tuple[str, dict]]) -> bytes:
    """A USTAR tar of ``samples`` (``(key, {member: bytes})``), members ``<key>.<member>`` in order, with fixed
    headers (mtime 0, mode 644, uid/gid 0, no names): the same samples always give the same bytes."""
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
    tar, idx = shard_paths(out, name)
    if not (tar.exists() and idx.exists()):
        return False
    try:
        want = json.loads(idx.read_text())["sha256"]
    except (OSError, ValueError, KeyError):
        return False
    return file_sha256(tar) == want


def write_shard(shard: dict) -> dict:
    """Make the samples of ``shard`` (``{"name", "split", "start", "count"}``) and write its tar and
    index atomically (a pool task; state from :func:`init_worker`). Returns ``{"name", "count"}``.

    Raises:
        MaskDepthError: the worker's initialisation failed, or the output is unwritable.
    """
    if "init_error" in _W:
        raise _W["init_error"]
    cfg: GenerateConfig = _W["cfg"]
    samples, keys, sums = [], [], Sums()
    for i in range(shard["start"], shard["start"] + shard["count"]):
        files, meta, st = make_sample(shard["split"], i)
        samples.append((meta["key"], files))
        keys.append(meta["key"])
        sums.add_sample(meta["depth_kind"], st["aug"], st["rgb"], meta["mask_fraction"], st["depth"])
    data = tar_bytes(samples)
    tar, idx_path = shard_paths(cfg.out_dir, shard["name"])
    atomic_write_bytes(tar, data)
    s = sums.to_index()
    index = {
        "name": shard["name"],
        "split": shard["split"],
        "count": len(keys),
        "keys": keys,
        "depth_kinds": s["depth_kinds"],
        "aug_counts": s["aug_counts"],
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "stats": s["stats"],
    }
    atomic_write_json(idx_path, index)
    return {"name": shard["name"], "count": len(keys)}
