"""Inspecting a generated dataset: statistics, a contact sheet, and a full integrity check.

The functions behind ``maskdepth dataset stats|show|verify``:

* :func:`dataset_stats` reads ``stats.json`` or recomputes it from the decoded samples;
* :func:`contact_sheet` draws random samples (bg, fg_bg, mask, depth) with :func:`maskdepth.viz.grid`;
* :func:`verify_dataset` checks every shard against its index (sha256, keys), the
  manifest (counts, names), every sample (decodes; shapes, dtypes and value ranges:
  fg_bg uint8 (S, S, 3), mask uint8 (S, S) in {0, 255}, depth uint16 (S, S) present
  exactly when ``depth_kind != "none"``; JSON key, split and background), and every
  background file, and returns one line per problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..io import atomic_write_json, decode_image, file_sha256, read_json, save_png
from .format import DEPTH, FG_BG, MASK, MEMBERS, META, REQUIRED_MEMBERS, bg_paths, iter_tar, shard_paths
from .stats import Sums, background_stats, shard_sums
from .tools_config import DatasetShowConfig, DatasetStatsConfig, DatasetVerifyConfig
from .workers import pool_map


def _manifest(root: Path) -> dict:
    return read_json(root / "manifest.json", "dataset manifest")


class UnsafeShard(MaskDepthError):
    """A shard with a member name that could write outside a folder when extracted (``..``, ``/``)."""


def recompute_stats(root: str | os.PathLike, workers: int = 1, quiet: bool = True) -> dict:
    """Statistics recomputed from the decoded samples (after JPEG, so they differ from the
    generation-time ``stats.json``, computed before JPEG, by about 1e-3; see :mod:`maskdepth.data.stats`).

    Returns the same structure as ``stats.json`` (minus ``augmentations``), plus
    ``"source": "recomputed from decoded samples"``.
    Raises:
        MaskDepthError: no manifest, or a shard is unreadable.
    """
    root = Path(root)
    man = _manifest(root)
    tars = [str(shard_paths(root, s["name"])[0]) for s in man["shards"]]
    parts = _map(shard_sums, tars, workers, quiet, "stats", [s["count"] for s in man["shards"]])
    tot = Sums(count_aug=False)
    for sh, p in zip(man["shards"], parts):
        tot.merge(p, sh["split"])
    return {"source": "recomputed from decoded samples", **tot.summary(background_stats(root, (b["id"] for b in man["backgrounds"])))}


def dataset_stats(root: str | os.PathLike, recompute: bool = False, workers: int = 1, quiet: bool = True) -> dict:
    """``stats.json`` of a dataset, or :func:`recompute_stats` when ``recompute``.

    Raises:
        MaskDepthError: no ``stats.json`` (incomplete dataset) and not ``recompute``.
    """
    root = Path(root)
    if recompute:
        return recompute_stats(root, workers=workers, quiet=quiet)
    return read_json(root / "stats.json", "dataset statistics (stats.json; an incomplete dataset has none)")


def format_stats(stats: dict, root: str = "") -> str:
    """Human-readable multi-line summary of a statistics dict."""
    f3 = lambda v: "[" + ", ".join(f"{x:.4f}" for x in v) + "]"  # noqa: E731
    lines = [f"dataset {root}".rstrip(), f"samples: {stats['samples']} " + json.dumps(stats.get("samples_per_split", {}))]
    if "source" in stats:
        lines.append(f"({stats['source']})")
    lines.append(f"fg_bg mean {f3(stats['fg_bg']['mean'])} std {f3(stats['fg_bg']['std'])} (RGB, [0, 1])")
    lines.append(f"bg    mean {f3(stats['bg']['mean'])} std {f3(stats['bg']['std'])}")
    lines.append(f"mask fraction (mean): {stats['mask_fraction_mean']:.4f}")
    lines.append("depth kinds: " + json.dumps(stats.get("depth_kinds", {})))
    dm = stats.get("metric_depth_m")
    if dm:
        lines.append(
            f"metric depth (m): mean {dm['mean']:.3f} std {dm['std']:.3f} min {dm['min']:.3f} max {dm['max']:.3f} "
            f"({dm['valid_pixels']} valid px)"
        )
    if stats.get("augmentations") is not None:
        lines.append("augmentations applied: " + json.dumps(stats["augmentations"]))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- contact sheet


def contact_sheet(root: str | os.PathLike, split: str | None = None, n: int = 24, seed: int = 0, cell: int = 128) -> np.ndarray:
    """A grid of ``n`` random samples, one per row: bg, fg_bg, mask, depth (colourised).

    Depth is drawn with :func:`maskdepth.viz.colorize_depth`, near = bright (metric depth
    with ``magma_r``, teacher disparity with ``magma``), invalid black; samples without a
    depth label get a grey cell.

    Args:
        root: dataset directory.
        split: ``train`` / ``val`` / ``test``, or ``None`` for all splits.
        n: number of samples (fewer when the dataset is smaller).
        seed: which samples (a fixed seed gives the same sheet).
        cell: pixel size of each cell.
    Returns:
        ``uint8 (H, W, 3)`` RGB.
    Raises:
        MaskDepthError: ``n`` < 1, no manifest, unknown split, empty selection.
    """
    from ..viz import colorize_depth, gray_to_rgb, grid
    from .dataset import MaskDepthDataset

    if n < 1:
        raise MaskDepthError(f"must be at least 1, got {n}", param="n")
    splits = [split] if split else ["train", "val", "test"]
    items = []
    for sp in splits:
        ds = MaskDepthDataset(root, sp)
        items += [(ds, i) for i in range(len(ds))]
    if not items:
        raise MaskDepthError(f"{root}: no samples in {split or 'any split'}")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(items), size=min(n, len(items)), replace=False)
    rows = []
    for j in sorted(pick):
        ds, i = items[j]
        r = ds.raw(i)
        d = r["depth"]
        kind = r["meta"]["depth_kind"]
        if d is None:
            dimg = np.full(r["fg_bg"].shape, 96, np.uint8)
        else:
            dimg = colorize_depth(d, cmap="magma_r" if kind == "metric" else "magma")
        rows.append([r["bg"], r["fg_bg"], gray_to_rgb(r["mask"]), dimg])
    return grid(rows, cell=cell, titles=["bg", "fg_bg", "mask", "depth"])


# ----------------------------------------------------------------------------- verify


def _verify_shard(args) -> tuple[list[str], int]:
    """Problems of one shard (file, index, sha256, keys, then every sample) and its number of samples."""
    root, sh, size, bg_ids = args
    root = Path(root)
    name = sh["name"]
    tar, idxp = shard_paths(root, name)
    rel = f"shards/{name}.tar"
    probs: list[str] = []
    if not tar.is_file():
        return [f"{rel}: missing"], 0
    try:
        idx = json.loads(idxp.read_text())
    except (OSError, ValueError) as e:
        return [f"shards/{name}.json: missing or unreadable index ({e.__class__.__name__})"], 0
    digest = file_sha256(tar)
    if digest != idx.get("sha256"):
        probs.append(f"{rel}: sha256 {digest[:16]}... does not match its index ({str(idx.get('sha256'))[:16]}...)")
    if idx.get("count") != sh["count"] or len(idx.get("keys", [])) != sh["count"]:
        probs.append(f"shards/{name}.json: {idx.get('count')} samples / {len(idx.get('keys', []))} keys, manifest says {sh['count']}")
    samples, order = _shard_samples(tar, rel, probs)
    if order != list(idx.get("keys", [])):
        probs.append(f"{rel}: its {len(order)} sample keys differ from the index's {len(idx.get('keys', []))}")
    for key in order:
        probs += _sample_problems(samples[key], key, f"{rel}:{key}", sh["split"], size, bg_ids)
    return probs, len(order)


def _shard_samples(tar: Path, rel: str, probs: list[str]) -> tuple[dict[str, dict[str, bytes]], list[str]]:
    """The members of a shard by sample key, and the keys in order; a damaged tar adds a problem to ``probs``
    (what was read before stays). Raises UnsafeShard: a member name that escapes (refused outright)."""
    samples: dict[str, dict[str, bytes]] = {}
    order: list[str] = []
    try:
        for key, ext, data in iter_tar(tar):
            if key not in samples:
                samples[key] = {}
                order.append(key)
            samples[key][ext] = data
    except MaskDepthError as e:
        if "unsafe member name" in str(e):  # refuse outright, like the Dataset: one line, exit 2
            raise UnsafeShard(str(e)) from None
        probs.append(f"{rel}: {str(e).split(': ', 1)[-1]}")
    return samples, order


def _sample_problems(files: dict[str, bytes], key: str, where: str, split: str, size: int, bg_ids) -> list[str]:
    """Problems of one sample: missing or unexpected members, then one line for its JSON and decoded images."""
    missing = [e for e in REQUIRED_MEMBERS if e not in files]
    if missing:
        return [f"{where}: missing {', '.join(missing)}"]
    probs = []
    extra = set(files) - set(MEMBERS)
    if extra:
        probs.append(f"{where}: unexpected member(s) {', '.join(sorted(extra))}")
    bad = []
    try:
        meta = json.loads(files[META])
        if meta.get("key") != key:
            bad.append(f"json key {meta.get('key')!r}")
        if meta.get("split") != split:
            bad.append(f"json split {meta.get('split')!r} in a {split} shard")
        if meta.get("bg_id") not in bg_ids:
            bad.append(f"background {meta.get('bg_id')!r} not in the manifest")
        kind = meta.get("depth_kind")
    except ValueError:
        return probs + [f"{where}: json does not parse"]
    bad += _image_problems(files, key, kind, size)
    if bad:
        probs.append(f"{where}: " + "; ".join(bad))
    return probs


def _image_problems(files: dict[str, bytes], key: str, kind, size: int) -> list[str]:
    """fg_bg ``uint8 (size, size, 3)``, mask ``uint8 (size, size)`` of 0/255, depth ``uint16 (size, size)``
    present exactly for depth_kind metric and teacher; an undecodable image is one problem."""
    bad = []
    try:
        img = decode_image(files[FG_BG], f"{key}.{FG_BG}")
        if img.dtype != np.uint8 or img.shape != (size, size, 3):
            bad.append(f"fg_bg {img.dtype} {img.shape}, want uint8 ({size}, {size}, 3)")
        m = decode_image(files[MASK], f"{key}.{MASK}")
        if m.dtype != np.uint8 or m.shape != (size, size):
            bad.append(f"mask {m.dtype} {m.shape}, want uint8 ({size}, {size})")
        elif not np.isin(m, (0, 255)).all():
            bad.append("mask has values other than 0 and 255")
        if kind in ("metric", "teacher"):
            if DEPTH not in files:
                bad.append(f"no depth.png for depth_kind {kind}")
            else:
                d = decode_image(files[DEPTH], f"{key}.{DEPTH}")
                if d.dtype != np.uint16 or d.shape != (size, size):
                    bad.append(f"depth {d.dtype} {d.shape}, want uint16 ({size}, {size})")
        elif kind == "none":
            if DEPTH in files:
                bad.append("depth.png present for depth_kind none")
        else:
            bad.append(f"unknown depth_kind {kind!r}")
    except MaskDepthError as e:
        bad.append(str(e))
    return bad


def _verify_backgrounds(root: Path, man: dict, size: int) -> list[str]:
    probs = []
    for b in man["backgrounds"]:
        p = bg_paths(root, b["id"])
        rel = lambda q: str(q.relative_to(root))  # noqa: E731
        try:
            meta = json.loads(p["meta"].read_text())
        except (OSError, ValueError):
            probs.append(f"{rel(p['meta'])}: missing or unreadable (background {b['id']})")
            continue
        checks = [("rgb", (size, size, 3), np.uint8)]
        if meta.get("depth_kind", "none") != "none":
            checks.append(("depth", (size, size), np.uint16))
        if meta.get("has_support"):
            checks.append(("support", None, None))
        for what, shape, dtype in checks:
            try:
                a = decode_image(p[what].read_bytes(), rel(p[what]))
            except (OSError, MaskDepthError) as e:
                probs.append(f"{rel(p[what])}: missing or unreadable ({e.__class__.__name__})")
                continue
            if shape is not None and (a.shape != shape or a.dtype != dtype):
                probs.append(f"{rel(p[what])}: {a.dtype} {a.shape}, want {np.dtype(dtype).name} {shape}")
    return probs


def _map(fn, jobs, workers, quiet, desc, weights):
    import sys

    quiet = quiet or not sys.stderr.isatty()  # a progress bar only on a terminal (stderr stays one line per problem)
    return pool_map(fn, jobs, workers if len(jobs) > 1 else 1, desc=desc, quiet=quiet, weights=weights, unit="sample")


def verify_dataset(root: str | os.PathLike, workers: int = 1, quiet: bool = True) -> tuple[list[str], dict]:
    """Check a dataset completely (see the module docstring).

    Returns:
        ``(problems, summary)``: one line per problem (empty = all good) and counts
        ``{"shards", "samples", "backgrounds"}`` of what was checked.
    Raises:
        MaskDepthError: no readable manifest (nothing to check against), or a shard with an
        unsafe member name (:class:`UnsafeShard`: refused outright, as the Dataset does).
    """
    root = Path(root)
    man = _manifest(root)
    size = int(man["config"]["size"])
    bg_ids = {b["id"] for b in man["backgrounds"]}
    probs = _verify_backgrounds(root, man, size)
    names = {s["name"] for s in man["shards"]}
    for p in sorted((root / "shards").glob("*.tar")):
        if p.stem not in names:
            probs.append(f"shards/{p.name}: not in the manifest")
    if not (root / "stats.json").is_file():
        probs.append("stats.json: missing")
    jobs = [(str(root), s, size, bg_ids) for s in man["shards"]]
    res = _map(_verify_shard, jobs, workers, quiet, "verify", [s["count"] for s in man["shards"]])
    n = 0
    for p, k in res:
        probs += p
        n += k
    return probs, {"shards": len(man["shards"]), "samples": n, "backgrounds": len(bg_ids)}


# ----------------------------------------------------------------------------- the commands


def run_dataset_stats(cfg: DatasetStatsConfig) -> dict:
    """``maskdepth dataset stats``: :func:`dataset_stats` of ``cfg.dir`` (no progress bar when ``cfg.json``);
    with ``cfg.recompute`` and ``cfg.write`` the result is also saved as ``DIR/stats_recomputed.json``.

    Raises:
        MaskDepthError: as :func:`dataset_stats`, or the file cannot be written.
    """
    st = dataset_stats(cfg.dir, recompute=cfg.recompute, workers=cfg.workers, quiet=cfg.quiet or cfg.json)
    if cfg.recompute and cfg.write:
        atomic_write_json(Path(cfg.dir) / "stats_recomputed.json", st)
    return st


def run_dataset_show(cfg: DatasetShowConfig) -> np.ndarray:
    """``maskdepth dataset show``: the :func:`contact_sheet` of ``cfg``, saved as the PNG ``cfg.out``.

    Returns:
        The sheet, ``uint8 (H, W, 3)`` RGB.
    Raises:
        MaskDepthError: as :func:`contact_sheet` (``n`` < 1 names ``n``), or the PNG cannot be written.
    """
    sheet = contact_sheet(cfg.dir, split=cfg.split, n=cfg.n, seed=cfg.seed, cell=cfg.cell)
    save_png(cfg.out, sheet)
    return sheet


def run_dataset_verify(cfg: DatasetVerifyConfig) -> tuple[list[str], dict]:
    """``maskdepth dataset verify``: :func:`verify_dataset` of ``cfg.dir`` (same return value and errors)."""
    return verify_dataset(cfg.dir, workers=cfg.workers, quiet=cfg.quiet)
