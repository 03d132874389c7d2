"""``maskdepth generate``: plan → prepare backgrounds → write shards → manifest + statistics.

The orchestrator; each step is a module of its own:

* settings, presets and their checks: :mod:`maskdepth.data.generate_config`;
* sources, splits, samples per split and shards: :mod:`maskdepth.data.plan`;
* backgrounds: :mod:`maskdepth.data.backgrounds`;
* samples and shard tars (worker processes): :mod:`maskdepth.data.shards`;
* statistics: :mod:`maskdepth.data.stats`;
* the on-disk format (layout, depth coding, sample members, tar index): :mod:`maskdepth.data.format`.

Determinism: the same settings make byte-identical shards whatever the number of workers
or machines (``--shard-index/--num-shards``; see :mod:`maskdepth.data.shards`). ``resume``
skips complete shards and backgrounds and rewrites the others (stale temporary files of a
killed run are removed first).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ..errors import MaskDepthError
from ..io import atomic_write_json
from . import sources as S
from .backgrounds import prepare_one, texture_pool
from .format import DEPTH_CODING, FORMAT_VERSION, bg_paths
from .generate_config import GenerateConfig, same_settings, validate_config
from .plan import plan, shard_list, split_counts
from .shards import init_worker, shard_complete, write_shard
from .stats import background_stats, dataset_sums
from .teacher import load_teacher
from .workers import pool_map

__all__ = ["generate", "prepare_backgrounds", "GenerateConfig", "shard_complete"]


def _remove_stale_tmp(out: Path) -> None:
    """Delete temporary files a killed run left (``<name>.<random>.tmp`` of atomic writes)."""
    stale = list((out / "shards").glob("*.tmp")) + list((out / "backgrounds").glob("*.tmp"))
    stale += [p for n in ("manifest.json", "stats.json", "generate_config.json") for p in out.glob(f"{n}.*.tmp")]
    for p in stale:
        try:
            p.unlink()
        except OSError:
            pass


def prepare_backgrounds(cfg: GenerateConfig, bgs: list[S.BgSource], workers: int = 1, quiet: bool = True) -> None:
    """Prepare (render, load, label) and write every background of ``bgs`` not yet prepared.

    Raises:
        MaskDepthError: unreadable sources, a bad teacher, or unwritable output.
    """
    out = Path(cfg.out_dir)
    textures = texture_pool(bgs) if cfg.render else []
    cfg_dict = asdict(cfg)
    todo = [(b, cfg_dict, textures) for b in bgs if not bg_paths(out, b.id)["meta"].exists()]
    if todo:
        pool_map(prepare_one, todo, workers, desc="backgrounds", quiet=quiet)


def _check_shards(shard_index: int | None, num_shards: int | None) -> None:
    if (shard_index is None) != (num_shards is None):
        raise MaskDepthError("must go together with num_shards (give both or neither)", param="shard_index")
    if num_shards is not None and not (0 <= shard_index < num_shards):
        raise MaskDepthError(f"must be in [0, {num_shards})", param="shard_index")


def _check_out_dir(out: Path, cfg_dict: dict, may_continue: bool) -> None:
    """Refuse a non-empty ``out`` unless it may be continued, and a dataset made with other settings."""
    cfg_path = out / "generate_config.json"
    if out.exists() and any(out.iterdir()):
        if not may_continue:
            raise MaskDepthError(f"is not empty ({out}): continue it with resume, or use another directory", param="out_dir")
        if cfg_path.exists():
            old = json.loads(cfg_path.read_text())
            if not same_settings(old, cfg_dict):
                raise MaskDepthError(f"holds a dataset generated with other settings ({cfg_path}); use a new directory", param="out_dir")


def _make_out_dirs(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "shards").mkdir(exist_ok=True)
        (out / "backgrounds").mkdir(exist_ok=True)
    except OSError as e:
        raise MaskDepthError(f"cannot be created ({out}): {e.strerror}", param="out_dir") from None


def _write_shards(cfg_dict: dict, todo: list[dict], bg_json: list, fg_json: list, selection, workers: int, quiet: bool) -> None:
    if todo:
        pool_map(
            write_shard,
            todo,
            workers,
            initializer=init_worker,
            initargs=(cfg_dict, bg_json, fg_json, selection),
            desc="composites",
            total=sum(s["count"] for s in todo),
            quiet=quiet,
        )


def _manifest(cfg: GenerateConfig, cfg_dict: dict, selection, bg_json: list, fg_json: list, shards: list[dict], complete: bool) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "config": cfg_dict,
        "depth_coding": dict(DEPTH_CODING),
        "augmentation": {"probabilities": dict(cfg.aug), "doc": "maskdepth.data.augment"},
        "split_counts": split_counts(cfg),
        "grid": None if selection is None else {"spec": cfg.grid, "backgrounds": selection["bgs"], "foregrounds": selection["fgs"]},
        "backgrounds": bg_json,
        "foregrounds": fg_json,
        "shards": shards,
        "complete": complete,
    }


def generate(
    cfg: GenerateConfig,
    workers: int = 2,
    resume: bool = False,
    shard_index: int | None = None,
    num_shards: int | None = None,
    quiet: bool = False,
) -> dict:
    """Generate a dataset; return the manifest.

    Args:
        workers: processes on this machine (the output does not depend on it). With more than one, the worker
            processes are spawned and import the calling script: call ``generate`` under
            ``if __name__ == "__main__":`` (as for PyTorch's ``DataLoader`` workers).
        resume: keep complete shards and backgrounds, redo the rest (and remove stale
            temporary files of a killed run). Without it an existing non-empty
            ``out_dir`` is refused.
        shard_index, num_shards: make only shards ``i`` with ``i % num_shards == shard_index``
            (no coordination needed between machines; both or neither); the manifest and statistics
            are written once every shard is present.
    Raises:
        MaskDepthError: bad sources or settings (see :func:`validate_config`), ``shard_index`` without
            ``num_shards`` (or the reverse) or outside ``[0, num_shards)``, an ``out_dir`` in the way,
            or unwritable output; the message names the parameter.
    """
    out = Path(cfg.out_dir)
    validate_config(cfg)
    _check_shards(shard_index, num_shards)
    cfg_dict = asdict(cfg)
    _check_out_dir(out, cfg_dict, may_continue=bool(resume or num_shards))
    # fail on bad sources before writing anything
    bgs, fgs, selection = plan(cfg)
    if cfg.teacher:
        load_teacher(cfg.teacher)  # fail early on a bad model
    _make_out_dirs(out)
    if resume and num_shards is None:
        _remove_stale_tmp(out)
    atomic_write_json(out / "generate_config.json", cfg_dict)

    prepare_backgrounds(cfg, bgs, workers, quiet)

    shards = shard_list(cfg)
    mine = [s for i, s in enumerate(shards) if num_shards is None or i % num_shards == shard_index]
    todo = [s for s in mine if not shard_complete(out, s["name"])]
    bg_json = [b.to_json() for b in bgs]
    fg_json = [f.to_json() for f in fgs]
    _write_shards(cfg_dict, todo, bg_json, fg_json, selection, workers, quiet)
    complete = all(shard_complete(out, s["name"]) for s in shards) if num_shards else True
    manifest = _manifest(cfg, cfg_dict, selection, bg_json, fg_json, shards, complete)
    if manifest["complete"]:
        stats = dataset_sums(out, shards).summary(background_stats(out, (b.id for b in bgs)))
        atomic_write_json(out / "stats.json", stats)
        atomic_write_json(out / "manifest.json", manifest)
    return manifest
