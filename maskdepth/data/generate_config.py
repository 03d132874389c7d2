"""Settings of ``maskdepth generate``: :class:`GenerateConfig`, the presets, and the parsing
and checking of the command-line forms (``--mix``, ``--grid-*``).

Two ways to choose what is composited:

* **random** (default): each sample draws its background kind (weights ``mix``), its
  background and foreground among its split's, and a placement; ``n_samples`` in all,
  ``val_frac``/``test_frac`` of them in val/test.
* **grid** (``grid={"bgs": {split: B}, "fgs": {split: F}, "flips": 1|2, "placements": P}``,
  the presets ``small20k`` and ``classic400k``): split ``s`` holds exactly
  ``B_s × F_s × flips × P`` samples, one per combination (background, foreground, flip,
  placement) of *its own* backgrounds and foregrounds (held out whole, so cross-split
  pairs are never made); see :mod:`maskdepth.data.plan`. ``classic400k`` = 100 × 100 × 2 × 20 =
  400,000 training composites at 224 px plus 10 × 10 × 2 × 20 = 4,000 each for val and
  test (408,000 in all); the backgrounds of a split are shared among kinds in proportion
  to ``mix`` (see :func:`maskdepth.data.sources.select_grid`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from ..config import option
from ..errors import MaskDepthError
from . import augment as A
from . import sources as S
from .render import RANGE_PRESETS, RenderRanges, parse_render_ranges


def _grid(btr, bva, bte, ftr, fva, fte, flips, placements) -> dict:
    return {
        "bgs": {"train": btr, "val": bva, "test": bte},
        "fgs": {"train": ftr, "val": fva, "test": fte},
        "flips": flips,
        "placements": placements,
    }


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
    ``billboard`` ``"upright"`` (a vertical plane through the contact point, on backgrounds with a
    support plane; the default since issue 13: better object depth on validation composites,
    ``results/billboard.md``) or ``"fronto"`` (every foreground pixel at the contact depth; see
    :mod:`maskdepth.data.composite`).
    """

    out_dir: str = option(help="output dataset directory", flags=("--out",))
    bg_dir: str | None = option(None, "folder of RGB background photos (no depth)")
    fg_dir: str | None = option(None, "folder of RGBA PNG foreground cutouts")
    rgbd_dir: str | None = option(None, "folder of RGB-D frames with meta.json intrinsics (e.g. ../shared/data/rgbd/tum_rgbd)")
    rgbd_every: int = option(1, "use every n-th RGB-D frame of a scene")
    render: int = option(0, "add N procedurally rendered rooms with exact depth", metavar="N")
    procedural_fg: int = option(0, "add N procedural foreground silhouettes (people, objects)", metavar="N")
    teacher: str | None = option(
        None,
        "ONNX monocular-depth model (a path, or a name fetched by `maskdepth teacher download`) "
        "giving relative depth labels to photos without depth",
    )
    teacher_mode: str = option(
        "per_background", "run the teacher once per background, or on every composite", choices=("per_background", "per_composite")
    )
    n_samples: int = option(1000, "random mode: total composites over train/val/test", flags=("-n", "--num-samples"))
    size: int = option(128, "square output size in pixels, a multiple of 32")
    seed: int = option(0, "seed of every random choice (same seed: byte-identical shards)")
    val_frac: float = option(0.1, "fraction of sources (and random-mode samples) held out for validation")
    test_frac: float = option(0.1, "fraction held out for test")
    shard_size: int = option(1000, "samples per shard tar")
    jpeg_quality: int = option(95, "JPEG quality of fg_bg when the jpeg augmentation does not apply")
    mix: dict = option(
        help="relative weight of each background kind",
        default_factory=lambda: {"photo": 1.0, "rgbd": 1.0, "render": 1.0},
        metavar="photo=W,rgbd=W,render=W",
        parse=lambda text: parse_mix(text),
    )
    aug: dict = option(
        help="augmentation probabilities, names shadow, exposure, misalign, noise, jpeg (unnamed ones keep their default; none = off)",
        default_factory=lambda: dict(A.DEFAULT_AUG),
        metavar="NAME=P,...",
        parse=A.parse_aug,
    )
    relief: float = option(
        0.0, "foreground relief in metres: the middle of a cutout is up to M nearer than its outline (0: flat)", metavar="M"
    )
    fg_heights: str | None = option(
        None,
        "CSV key,min_m,max_m of physical cutout heights (category:person, file name or id) "
        "overriding the packaged maskdepth/data/fg_heights.csv",
        metavar="FILE",
    )
    grid: dict | None = option(
        None, "grid mode spec (None = random mode); on the command line: --grid-bgs/--grid-fgs/--flips/--placements", cli=False
    )
    preset: str | None = option(None, "start from a preset; explicit options override it", choices=tuple(PRESETS))
    plane_max_angle: float = option(60.0, "RGB-D support plane: largest tilt from the camera's up axis, degrees", metavar="DEG")
    billboard: str = option(
        "upright",
        "metric depth of a pasted cutout: upright (default) = a vertical plane through the contact point "
        "(backgrounds with a support plane; results/billboard.md); fronto = the contact depth everywhere",
        choices=("fronto", "upright"),
    )
    render_ranges: dict | None = option(
        None,
        "ranges of the rendered rooms, cameras and lights, NAME=LOW:HIGH items or a preset name (cctv: camera "
        f"2.2-4 m high, pitch 10-40 deg, rooms 4.2-5 m high); names {', '.join(RenderRanges.__dataclass_fields__)} "
        "(photo_prob: one number); unnamed ones keep their default",
        metavar="cctv|NAME=LOW:HIGH,...",
        parse=lambda text: parse_render_ranges_option(text),
    )


@dataclass(kw_only=True)
class GridOptions:
    """The command-line form of :attr:`GenerateConfig.grid` (flags ``--grid-bgs``, ``--grid-fgs``,
    ``--flips``, ``--placements`` and the YAML keys of the same names); :func:`grid_from_args` turns them
    into the grid spec. All ``None``: the preset's grid (if any), else random mode."""

    grid_bgs: str | None = option(
        None, "grid mode: backgrounds per split (every bg x fg x flip x placement once)", metavar="TRAIN,VAL,TEST"
    )
    grid_fgs: str | None = option(None, "grid mode: foregrounds per split", metavar="TRAIN,VAL,TEST")
    flips: int | None = option(None, "grid mode: 2 = each combination plain and mirrored (default 2)", choices=(1, 2))
    placements: int | None = option(None, "grid mode: random placements per (bg, fg, flip) (default 1)", metavar="P")


def _all_cpus() -> int:
    return os.cpu_count() or 1


@dataclass(kw_only=True)
class GenerateRunConfig:
    """How one ``generate`` run is carried out; none of it changes the dataset's bytes. The keyword
    arguments of :func:`maskdepth.data.generate.generate` (``generate(cfg, **asdict(run))``)."""

    workers: int = option(help="parallel processes (output does not depend on it)", default_factory=_all_cpus)
    resume: bool = option(False, "continue an interrupted run: keep complete shards, redo the rest")
    shard_index: int | None = option(None, "make only shards i with i % num_shards == shard_index")
    num_shards: int | None = option(None, "number of independent jobs the shards are spread over")
    quiet: bool = option(False, "no progress bars")


def config_from_options(given: dict, grid: GridOptions, no_aug: bool = False) -> GenerateConfig:
    """The :class:`GenerateConfig` of ``maskdepth generate``: ``given`` settings (field name → value,
    ``None`` = not given, so the preset named by ``given["preset"]`` fills in), the grid's command-line form,
    and ``no_aug`` (no augmentation: ``aug = {}``, the command-line shortcut of ``aug`` ``none``).

    Raises:
        MaskDepthError: as :func:`config_from_preset` and :func:`grid_from_args`; ``aug`` given with ``no_aug``;
            ``n_samples`` given in grid mode (the grid fixes the number of samples).
    """
    given = dict(given)
    if no_aug:
        if given.get("aug") is not None:
            raise MaskDepthError("conflicts with no_aug (no augmentation at all): give one of them", param="aug")
        given["aug"] = {}
    preset = given.pop("preset", None)
    given["grid"] = grid_from_args(preset, grid.grid_bgs, grid.grid_fgs, grid.flips, grid.placements)
    cfg = config_from_preset(preset, **given)
    if cfg.grid is not None and given.get("n_samples") is not None:
        raise MaskDepthError("does not apply to grid mode: the grid fixes the number of samples", param="n_samples")
    return cfg


# settings of datasets made before a field existed (for --resume of older datasets)
LEGACY_CONFIG = {
    "aug": {},
    "relief": 0.0,
    "fg_heights": None,
    "grid": None,
    "preset": None,
    "plane_max_angle": 60.0,
    "billboard": "fronto",
    "render_ranges": None,
}


def _auto_count(make, need: dict[str, int], cfg: GenerateConfig, what: str) -> int:
    """Smallest n such that ``make(n)`` sources give every split at least ``need[split]`` (hash splits)."""
    have = {sp: 0 for sp in S.SPLITS}
    for n in range(1, 100_000):
        src = make(n)[-1]
        key = getattr(src, "group", None) or src.id
        have[S.split_of(key, cfg.seed, cfg.val_frac, cfg.test_frac)] += 1
        if all(have[sp] >= need.get(sp, 0) for sp in S.SPLITS):
            return n
    raise MaskDepthError(f"cannot find enough {what} for the grid's splits (val/test fractions too small?)")


def config_from_preset(name: str | None, **overrides) -> GenerateConfig:
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
        MaskDepthError (``param="mix"``): unknown kind, malformed item or negative weight.
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
            raise MaskDepthError(f"items must be kind=weight with kinds photo, rgbd, render and weights >= 0; got {item!r}", param="mix")
        mix[k.strip()] = w
    if not any(mix.values()):
        raise MaskDepthError("needs at least one positive weight", param="mix")
    return mix


def parse_render_ranges_option(spec) -> dict | None:
    """``render_ranges`` text (``--render-ranges``) or a YAML mapping -> canonical overrides ``{name: [lo, hi] | p}``
    (``None`` stays).

    See :func:`maskdepth.data.render.parse_render_ranges` (presets :data:`maskdepth.data.render.RANGE_PRESETS`).

    Raises:
        MaskDepthError (``param="render_ranges"``): unknown name or preset, malformed number, low > high or a
            physically impossible range (pitch >= 90, camera height <= 0, ...), one line.
    """
    try:
        return parse_render_ranges(spec)
    except ValueError as e:
        raise MaskDepthError(f"{e} (presets: {', '.join(RANGE_PRESETS)})", param="render_ranges") from None


def _split_triple(text: str, param: str) -> dict:
    try:
        vals = [int(x) for x in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != 3 or min(vals) < 0:
        raise MaskDepthError(f"must be three counts TRAIN,VAL,TEST (e.g. 100,10,10), got {text!r}", param=param)
    return dict(zip(S.SPLITS, vals))


def grid_from_args(
    preset: str | None, grid_bgs: str | None, grid_fgs: str | None, flips: int | None, placements: int | None
) -> dict | None:
    """Grid spec from the command-line forms (``None`` when none is given: the preset's grid, if any, stays).

    Args:
        preset: the preset whose grid is the starting point (``None`` or a preset without a grid: none).
        grid_bgs, grid_fgs: backgrounds / foregrounds per split as ``"TRAIN,VAL,TEST"`` counts
            (required without a grid preset).
        flips: 1 or 2 (default 2); placements: random placements per combination, >= 1 (default 1).
    Raises:
        MaskDepthError (naming ``grid_bgs``, ``grid_fgs`` or ``placements``): malformed counts, or a grid
            option without a grid.
    """
    if grid_bgs is None and grid_fgs is None and flips is None and placements is None:
        return None
    base = PRESETS.get(preset or "", {}).get("config", {}).get("grid")
    g = json.loads(json.dumps(base)) if base else None
    if g is None:
        if grid_bgs is None or grid_fgs is None:
            raise MaskDepthError(
                "is needed too: grid mode needs grid_bgs and grid_fgs (or a grid preset: small20k, classic400k)",
                param="grid_bgs" if grid_bgs is None else "grid_fgs",
            )
        g = {"bgs": {}, "fgs": {}, "flips": 2, "placements": 1}
    if grid_bgs is not None:
        g["bgs"] = _split_triple(grid_bgs, "grid_bgs")
    if grid_fgs is not None:
        g["fgs"] = _split_triple(grid_fgs, "grid_fgs")
    if flips is not None:
        g["flips"] = int(flips)
    if placements is not None:
        if placements < 1:
            raise MaskDepthError("must be at least 1", param="placements")
        g["placements"] = int(placements)
    return g


def _check_range(cfg: GenerateConfig, param: str, lo: float, hi: float | None = None, unit: str = "") -> None:
    v = getattr(cfg, param)
    if v < lo or (hi is not None and v > hi):
        want = f"in [{lo:g}, {hi:g}]{unit}" if hi is not None else f"at least {lo:g}"
        raise MaskDepthError(f"must be {want}, got {v}", param=param)


def _check_grid(grid: dict) -> None:
    try:
        ok = (
            grid["flips"] in (1, 2)
            and int(grid["placements"]) >= 1
            and all(int(grid[k].get(sp, 0)) >= 0 for k in ("bgs", "fgs") for sp in S.SPLITS)
        )
    except (KeyError, TypeError, AttributeError, ValueError):
        ok = False
    if not ok:
        raise MaskDepthError(f"must be {{bgs: {{split: n}}, fgs: {{split: n}}, flips: 1|2, placements: >=1}}, got {grid}", param="grid")
    if int(grid["bgs"].get("train", 0)) < 1 or int(grid["fgs"].get("train", 0)) < 1:
        raise MaskDepthError("needs at least one background and one foreground in the training split", param="grid")


def validate_config(cfg: GenerateConfig) -> None:
    """Check settings that cannot work.

    Raises:
        MaskDepthError: one line naming the setting (``param``): ``size`` not a multiple of 32 (>= 32),
            ``n_samples`` or ``shard_size`` < 1, ``jpeg_quality`` outside [1, 100], ``relief`` outside [0, 1] m,
            an unknown ``teacher_mode`` or ``billboard``, bad ``render_ranges``, ``aug`` or ``grid``.
    """
    if cfg.size % 32 or cfg.size < 32:
        raise MaskDepthError(f"must be a multiple of 32, got {cfg.size}", param="size")
    if cfg.teacher_mode not in ("per_background", "per_composite"):
        raise MaskDepthError(f"must be per_background or per_composite, got {cfg.teacher_mode}", param="teacher_mode")
    _check_range(cfg, "n_samples", 1)
    _check_range(cfg, "shard_size", 1)
    _check_range(cfg, "jpeg_quality", 1, 100)
    if cfg.billboard not in ("fronto", "upright"):
        raise MaskDepthError(f"must be fronto or upright, got {cfg.billboard}", param="billboard")
    _check_range(cfg, "relief", 0.0, 1.0, " metres")
    parse_render_ranges_option(cfg.render_ranges)
    bad = set(cfg.aug) - set(A.AUG_NAMES)
    if bad or any(not 0.0 <= float(p) <= 1.0 for p in cfg.aug.values()):
        raise MaskDepthError(
            f"must name augmentations among {', '.join(A.AUG_NAMES)} with probabilities in [0, 1]; got {cfg.aug}", param="aug"
        )
    if cfg.grid is not None:
        _check_grid(cfg.grid)


def same_settings(old: dict, new: dict) -> bool:
    """True when two ``generate_config.json`` dicts describe the same dataset (``out_dir`` aside; fields missing
    from an older dataset take their :data:`LEGACY_CONFIG` value)."""
    keys = (set(old) | set(new)) - {"out_dir"}
    return all(old.get(k, LEGACY_CONFIG.get(k)) == new.get(k, LEGACY_CONFIG.get(k)) for k in keys)
