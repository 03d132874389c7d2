"""Planning a dataset: its sources with their splits, the samples per split, the shards,
and the grid-mode combination of each sample.

Grid mode: sample ``i`` of a split is combination ``perm[i]`` of a fixed pseudo-random
permutation (:func:`grid_perm`, so every shard mixes backgrounds), decoded in mixed radix
``((b · F + f) · flips + flip) · P + p`` (:func:`grid_combo`).
"""

from __future__ import annotations

import numpy as np

from ..errors import MaskDepthError
from . import sources as S
from .format import shard_name
from .generate_config import GenerateConfig

SPLIT_CODE = {"train": 0, "val": 1, "test": 2}  # the split's number in every sample's seed


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
        raise MaskDepthError("no backgrounds: give bg_dir, rgbd_dir or render (a number of rooms)")
    if not fgs:
        raise MaskDepthError("no foregrounds: give fg_dir or procedural_fg (a number of silhouettes)")
    S.assign_splits(bgs, fgs, cfg.seed, cfg.val_frac, cfg.test_frac)
    # splits without sources of their own fall back to the training ones, so training needs some
    for what, srcs in (("background", bgs), ("foreground", fgs)):
        if not any(s.split == "train" for s in srcs):
            raise MaskDepthError(
                f"no {what} falls in the training split ({len(srcs)} held out for val/test): add more, or change seed, val_frac or test_frac"
            )
    table = load_height_table(cfg.fg_heights)
    for f in fgs:
        rng_, key = height_range(table, f.id, f.category, f.path)
        f.height_range_m, f.height_key = [float(rng_[0]), float(rng_[1])], key
    return bgs, fgs


def plan(cfg: GenerateConfig) -> tuple[list[S.BgSource], list[S.FgSource], dict | None]:
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
            out.append({"name": shard_name(split, j), "split": split, "start": start, "count": min(cfg.shard_size, n - start)})
    return out


def grid_perm(seed: int, split: str, n: int) -> np.ndarray:
    """The fixed permutation of the ``n`` grid combinations of ``split``: int64 ``(n,)``."""
    return np.random.default_rng([int(seed), 0x6D1D, SPLIT_CODE[split]]).permutation(n)


def grid_combo(combo: int, n_fgs: int, flips: int, placements: int) -> tuple[int, int, int, int]:
    """Decode grid combination ``combo`` into ``(background, foreground, flip, placement)`` indices (mixed radix)."""
    p_i, r = combo % placements, combo // placements
    fl, r = r % flips, r // flips
    f_i, b_i = r % n_fgs, r // n_fgs
    return b_i, f_i, fl, p_i
