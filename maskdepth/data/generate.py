"""``maskdepth generate``: plan → prepare backgrounds → write shards → manifest + statistics.

Output layout (``out_dir``)::

    backgrounds/<bg>.png          each background once, uint8 RGB at the dataset size
    backgrounds/<bg>.depth.png    its depth label (uint16; see DEPTH CODING), if any
    backgrounds/<bg>.json         kind, split, intrinsics K at the dataset size, depth_kind
    shards/<split>-<nnnnn>.tar    WebDataset-layout tar: <key>.fg_bg.jpg, <key>.mask.png,
                                  <key>.depth.png (when labelled), <key>.json
    shards/<split>-<nnnnn>.json   per-shard index: keys, sha256 of the tar, statistics sums
    manifest.json                 config, sources with their split, shard list
    stats.json                    mean/std of fg_bg and bg (RGB, [0, 1]), mask and depth statistics

DEPTH CODING: ``depth_kind == "metric"`` → uint16 millimetres, 0 = invalid;
``"teacher"`` → uint16 = normalised disparity × 65535 (relative, larger = nearer);
``"none"`` → no depth file.

Determinism: every sample draws from its own ``numpy.random.default_rng([seed, split, index])``
and every background from ``default_rng([seed, 7, index])``, tar headers have fixed
mtime/uid/names, so the same command makes byte-identical shards whatever the
number of workers or machines (``--shard-index/--num-shards``). A shard is complete
when its tar and index exist and the index's sha256 matches; ``resume`` skips
complete shards and rewrites the others (files are written to a temporary name,
fsynced and renamed, so a killed run never leaves a partial shard under the final name).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
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
    center_crop_square,
    encode_jpeg,
    encode_png,
    load_depth_mm,
    load_rgb,
    load_rgba,
    read_json,
    resize,
)
from . import sources as S
from .composite import CLASS_HEIGHTS_M, crop_to_alpha, paste, sample_placement_ground_prior, sample_placement_metric

SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
FORMAT_VERSION = 1


@dataclass
class GenerateConfig:
    """Settings of one dataset. Defaults: 128 px, 80/10/10 split, 1000 samples a shard."""

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


# ----------------------------------------------------------------------------- planning

def plan_sources(cfg: GenerateConfig) -> tuple[list[S.BgSource], list[S.FgSource]]:
    """All background and foreground sources with their split.

    Raises:
        MaskDepthError: no background or no foreground source, or a bad directory.
    """
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
    return bgs, fgs


def split_counts(cfg: GenerateConfig) -> dict[str, int]:
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
    """Load/render one background at ``cfg.size``², with its depth label and intrinsics.

    Returns ``{"rgb": uint8 (S,S,3), "depth": float32 (S,S) or None, "depth_kind",
    "K": list or None, "support": bool (S,S) or None}``; depth in metres for
    ``metric``, normalised disparity for ``teacher``.
    """
    size = cfg.size
    support = None
    K = None
    if b.kind == "render":
        from .render import render_room

        scene = render_room(np.random.default_rng([cfg.seed, 7, index]), size=size, textures=textures or None)
        rgb, depth, K = scene.rgb, scene.depth.astype(np.float32), scene.K
        support = scene.labels == 0
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
    if kind == "none" and teacher is not None:
        depth = teacher.disparity(rgb)
        kind = "teacher"
    return {"rgb": rgb, "depth": depth, "depth_kind": kind, "K": None if K is None else np.asarray(K).tolist(), "support": support}


def encode_depth(depth: np.ndarray, kind: str) -> bytes:
    """uint16 PNG of a depth label (see DEPTH CODING in the module docstring)."""
    if kind == "metric":
        a = np.clip(np.rint(depth * 1000.0), 0, 65535).astype(np.uint16)
    elif kind == "teacher":
        a = np.clip(np.rint(depth * 65535.0), 0, 65535).astype(np.uint16)
    else:
        raise ValueError(f"no depth coding for depth_kind {kind!r}")
    return encode_png(a)


def decode_depth(a: np.ndarray, kind: str) -> np.ndarray:
    """Inverse of :func:`encode_depth` on the decoded uint16 array → float32 (metres or [0, 1])."""
    return a.astype(np.float32) / (1000.0 if kind == "metric" else 65535.0)


def _bg_paths(out: Path, bg_id: str) -> dict[str, Path]:
    stem = bg_file_stem(bg_id)
    d = out / "backgrounds"
    return {"rgb": d / f"{stem}.png", "depth": d / f"{stem}.depth.png", "support": d / f"{stem}.support.png", "meta": d / f"{stem}.json"}


def _prepare_one(args):
    b, index, cfg_dict, textures = args
    cfg = GenerateConfig(**cfg_dict)
    out = Path(cfg.out_dir)
    p = _bg_paths(out, b.id)
    if p["meta"].exists():  # resume: meta is written last
        return
    teacher = _teacher(cfg) if cfg.teacher else None
    r = prepare_background(b, index, cfg, textures, teacher)
    atomic_write_bytes(p["rgb"], encode_png(r["rgb"]))
    if r["depth"] is not None:
        atomic_write_bytes(p["depth"], encode_depth(r["depth"], r["depth_kind"]))
    if r["support"] is not None:
        atomic_write_bytes(p["support"], encode_png(r["support"].astype(np.uint8) * 255))
    atomic_write_json(p["meta"], {"id": b.id, "kind": b.kind, "split": b.split, "depth_kind": r["depth_kind"], "K": r["K"], "has_support": r["support"] is not None})


_TEACHER = None


def _teacher(cfg: GenerateConfig):
    global _TEACHER
    if _TEACHER is None or _TEACHER.path != str(Path(cfg.teacher)):
        from .teacher import OnnxTeacher

        _TEACHER = OnnxTeacher(cfg.teacher)
    return _TEACHER


def load_background(out_dir: str | Path, bg_id: str) -> dict:
    """Read a prepared background back: rgb, depth (float32 or None), depth_kind, K, support."""
    p = _bg_paths(Path(out_dir), bg_id)
    meta = read_json(p["meta"], "background meta")
    rgb = load_rgb(p["rgb"])
    depth = decode_depth(load_depth_mm(p["depth"]), meta["depth_kind"]) if meta["depth_kind"] != "none" else None
    support = (np.asarray(load_rgb(p["support"]))[..., 0] > 127) if meta.get("has_support") else None
    return {**meta, "rgb": rgb, "depth": depth, "K": None if meta["K"] is None else np.asarray(meta["K"]), "support": support}


# ----------------------------------------------------------------------------- samples

_W: dict = {}  # per-process worker state: backgrounds and foregrounds, loaded once


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


def _init_worker(cfg_dict: dict, bgs: list[dict], fgs: list[dict]):
    # An exception escaping a multiprocessing.Pool initializer kills the worker and the
    # pool respawns it forever (a hang). Keep the error; _write_shard raises it instead.
    _W.pop("init_error", None)
    try:
        _init_worker_state(cfg_dict, bgs, fgs)
    except Exception as e:
        _W["init_error"] = e


def _init_worker_state(cfg_dict: dict, bgs: list[dict], fgs: list[dict]):
    cfg = GenerateConfig(**cfg_dict)
    _W["cfg"] = cfg
    _W["bgs"] = {b["id"]: load_background(cfg.out_dir, b["id"]) for b in bgs}
    _W["bg_by_split"] = {
        sp: {k: sorted(b["id"] for b in bgs if b["split"] == sp and b["kind"] == k) for k in ("photo", "rgbd", "render")} for sp in S.SPLITS
    }
    _W["fgs"] = {f["id"]: (f, _load_fg(S.FgSource(**f), cfg.size)) for f in fgs}
    _W["fg_by_split"] = {sp: sorted(f["id"] for f in fgs if f["split"] == sp) for sp in S.SPLITS}
    _W["teacher"] = _teacher(cfg) if (cfg.teacher and cfg.teacher_mode == "per_composite") else None


def make_sample(split: str, index: int) -> tuple[dict, dict, dict]:
    """Make sample ``index`` of ``split`` in a worker (state from :func:`_init_worker`).

    A split without backgrounds or foregrounds of its own (tiny inputs) draws from
    the training ones; the sample's JSON records which were used.

    Returns ``(files, meta, stats)``: ``files`` maps extension (``fg_bg.jpg`` ...) to
    bytes; ``meta`` is the sample's JSON; ``stats`` holds sums for the dataset statistics.
    """
    cfg: GenerateConfig = _W["cfg"]
    rng = np.random.default_rng([cfg.seed, SPLIT_CODE[split], index])
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
    bg = _W["bgs"][bg_id]
    fg_src, fg = _W["fgs"][fg_id]
    lo, hi = CLASS_HEIGHTS_M.get(fg_src["category"], CLASS_HEIGHTS_M["person"])
    height_m = fg_src.get("height_m") or float(rng.uniform(lo, hi))
    S_ = cfg.size
    teacher_pc = _W["teacher"] is not None and bg["depth_kind"] in ("teacher", "none")
    if bg["depth_kind"] == "metric":
        pl = sample_placement_metric(rng, bg["depth"], bg["K"], fg.shape, height_m, support=bg["support"])
        comp = paste(bg["rgb"], fg, pl, bg["depth"])
        depth, depth_kind = comp.depth, "metric"
    else:
        pl = sample_placement_ground_prior(rng, (S_, S_), fg.shape, height_m)
        if bg["depth_kind"] == "teacher" and not teacher_pc:
            # per-background teacher: the fg takes the bg disparity at its contact point
            u, v = pl.contact_uv
            pl.fg_depth = float(bg["depth"][min(max(v, 0), S_ - 1), min(max(u, 0), S_ - 1)])
            comp = paste(bg["rgb"], fg, pl, bg["depth"], larger_is_nearer=True)
            depth, depth_kind = comp.depth, "teacher"
        else:
            comp = paste(bg["rgb"], fg, pl, None)
            depth, depth_kind = None, "none"
            if teacher_pc:  # the old way: run the teacher on every composite
                depth, depth_kind = _W["teacher"].disparity(comp.fg_bg), "teacher"
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
        "mask_fraction": float(comp.mask.mean()),
    }
    files = {
        "fg_bg.jpg": encode_jpeg(comp.fg_bg, cfg.jpeg_quality),
        "mask.png": encode_png(comp.mask.astype(np.uint8) * 255),
    }
    if depth is not None:
        files["depth.png"] = encode_depth(depth, depth_kind)
    files["json"] = json.dumps(meta, sort_keys=True).encode()
    stats = {
        "rgb_sum": comp.fg_bg.reshape(-1, 3).astype(np.float64).sum(0) / 255.0,
        "rgb_sq": (comp.fg_bg.reshape(-1, 3).astype(np.float64) / 255.0) ** 2,
        "pixels": comp.fg_bg.shape[0] * comp.fg_bg.shape[1],
    }
    stats["rgb_sq"] = stats["rgb_sq"].sum(0)
    if depth is not None and depth_kind == "metric":
        v = depth[depth > 0]
        stats["depth"] = (float(v.sum()), float((v**2).sum()), int(v.size), float(v.min()) if v.size else 0.0, float(v.max()) if v.size else 0.0)
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
    return hashlib.sha256(tar.read_bytes()).hexdigest() == want


def _write_shard(shard: dict) -> dict:
    if "init_error" in _W:
        raise _W["init_error"]
    cfg: GenerateConfig = _W["cfg"]
    out = Path(cfg.out_dir)
    samples, keys, kinds = [], [], {}
    acc = {"rgb_sum": np.zeros(3), "rgb_sq": np.zeros(3), "pixels": 0, "mask_fraction_sum": 0.0, "depth": [0.0, 0.0, 0, np.inf, 0.0]}
    for i in range(shard["start"], shard["start"] + shard["count"]):
        files, meta, st = make_sample(shard["split"], i)
        samples.append((meta["key"], files))
        keys.append(meta["key"])
        kinds[meta["depth_kind"]] = kinds.get(meta["depth_kind"], 0) + 1
        acc["rgb_sum"] += st["rgb_sum"]
        acc["rgb_sq"] += st["rgb_sq"]
        acc["pixels"] += st["pixels"]
        acc["mask_fraction_sum"] += meta["mask_fraction"]
        if "depth" in st:
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
    tot = {"rgb_sum": np.zeros(3), "rgb_sq": np.zeros(3), "pixels": 0, "mask": 0.0, "count": 0, "kinds": {}, "d": [0.0, 0.0, 0, np.inf, 0.0]}
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
        d = tot["d"]
        ds = st["depth"]
        d[0] += ds[0]
        d[1] += ds[1]
        d[2] += ds[2]
        if ds[2]:
            d[3] = min(d[3], ds[3])
            d[4] = max(d[4], ds[4])
    mean = tot["rgb_sum"] / max(tot["pixels"], 1)
    std = np.sqrt(np.maximum(tot["rgb_sq"] / max(tot["pixels"], 1) - mean**2, 0))
    d = tot["d"]
    dmean = d[0] / d[2] if d[2] else None
    return {
        "samples": tot["count"],
        "samples_per_split": per_split,
        "fg_bg": {"mean": mean.tolist(), "std": std.tolist(), "range": "RGB in [0, 1]"},
        "bg": _bg_stats(out, bgs),
        "mask_fraction_mean": tot["mask"] / max(tot["count"], 1),
        "depth_kinds": tot["kinds"],
        "metric_depth_m": None
        if not d[2]
        else {"mean": dmean, "std": float(np.sqrt(max(d[1] / d[2] - dmean**2, 0))), "min": d[3], "max": d[4], "valid_pixels": d[2]},
    }


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
        resume: keep complete shards and backgrounds, redo the rest. Without it an
            existing non-empty ``out_dir`` is refused.
        shard_index, num_shards: make only shards ``i`` with ``i % num_shards == shard_index``
            (no coordination needed between machines); the manifest and statistics are
            written once every shard is present.
    Raises:
        MaskDepthError: bad sources, an output directory in the way, or unwritable output.
    """
    out = Path(cfg.out_dir)
    if cfg.size % 32:
        raise MaskDepthError(f"--size must be a multiple of 32, got {cfg.size}")
    if cfg.teacher_mode not in ("per_background", "per_composite"):
        raise MaskDepthError(f"--teacher-mode must be per_background or per_composite, got {cfg.teacher_mode}")
    if num_shards is not None and not (0 <= (shard_index or 0) < num_shards):
        raise MaskDepthError(f"--shard-index must be in [0, {num_shards})")
    cfg_dict = asdict(cfg)
    cfg_path = out / "generate_config.json"
    if out.exists() and any(out.iterdir()):
        if not (resume or num_shards):
            raise MaskDepthError(f"output directory {out} is not empty: use --resume to continue it, or another directory")
        if cfg_path.exists():
            old = json.loads(cfg_path.read_text())
            if {k: v for k, v in old.items() if k != "out_dir"} != {k: v for k, v in cfg_dict.items() if k != "out_dir"}:
                raise MaskDepthError(f"{out} was generated with other settings ({cfg_path}); use a new directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "shards").mkdir(exist_ok=True)
        (out / "backgrounds").mkdir(exist_ok=True)
    except OSError as e:
        raise MaskDepthError(f"cannot create output directory {out}: {e.strerror}") from None
    atomic_write_json(cfg_path, cfg_dict)

    bgs, fgs = plan_sources(cfg)
    if cfg.teacher:
        _teacher(cfg)  # fail early on a bad model
    textures = _texture_pool(bgs) if cfg.render else []
    todo_bg = [(b, i, cfg_dict, textures) for i, b in enumerate(bgs) if not _bg_paths(out, b.id)["meta"].exists()]
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
            initargs=(cfg_dict, bg_json, fg_json),
            desc="composites",
            total=sum(s["count"] for s in todo),
            quiet=quiet,
        )
    manifest = {
        "format_version": FORMAT_VERSION,
        "config": cfg_dict,
        "depth_coding": {"metric": "uint16 millimetres, 0 = invalid", "teacher": "uint16 normalised disparity x 65535, larger = nearer"},
        "backgrounds": bg_json,
        "foregrounds": fg_json,
        "shards": shards,
        "complete": all(shard_complete(out, s["name"]) for s in shards) if num_shards else True,
    }
    if manifest["complete"]:
        atomic_write_json(out / "stats.json", aggregate(out, shards, bgs))
        atomic_write_json(out / "manifest.json", manifest)
    return manifest
