"""Where backgrounds and foregrounds come from, and which split each belongs to.

Three background kinds (``BgSource.kind``):

* ``photo``  – an RGB photo with no depth (``--bg-dir``); depth label only via a teacher;
* ``rgbd``   – an RGB-D frame with measured metric depth and intrinsics (``--rgbd-dir``,
  laid out like TUM in ``../shared/data/rgbd/tum_rgbd``: ``rgb/``, ``depth/`` in mm, ``meta.json``);
* ``render`` – a room the project renders itself (:mod:`maskdepth.data.render`), exact depth.

Splits hold out whole *groups* (a photo, an RGB-D scene, a rendered room) and whole
foregrounds, so no background or cutout of val/test is ever seen in training
(the student reports split composites at random and leaked both).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import MaskDepthError
from ..io import IMAGE_EXTS, list_images, read_json

SPLITS = ("train", "val", "test")


@dataclass
class BgSource:
    """One background before preparation.

    Attributes:
        id: unique id, ``<kind>/<name>`` (e.g. ``rgbd/tum_fr1_rpy/00000``).
        kind: ``photo`` | ``rgbd`` | ``render``.
        group: the unit that is split (photo id, RGB-D scene, room id).
        path / depth_path: files, or ``None`` for rendered rooms.
        intrinsics: ``{"fx","fy","cx","cy"}`` in pixels at the file's resolution (rgbd only).
        seed: render seed (render only).
        distortion: OpenCV lens distortion ``(k1, k2, p1, p2[, k3])`` of an RGB-D frame that
            is not undistorted (TUM fr1), used when back-projecting for the plane fit; ``None``
            when absent or all zero.
    """

    id: str
    kind: str
    group: str
    path: str | None = None
    depth_path: str | None = None
    intrinsics: dict | None = None
    seed: int | None = None
    split: str = "train"
    distortion: list | None = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class FgSource:
    """One foreground cutout: a file (RGBA PNG) or a procedural silhouette (``seed``).

    ``height_m`` fixes the physical height (metres); otherwise each sample draws it from
    ``height_range_m`` (set from the heights table, :mod:`maskdepth.data.heights`;
    ``height_key`` says which row).
    """

    id: str
    category: str
    path: str | None = None
    seed: int | None = None
    height_m: float | None = None
    split: str = "train"
    height_range_m: list | None = None
    height_key: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def split_of(key: str, seed: int, val_frac: float, test_frac: float) -> str:
    """Deterministic split of ``key``: a sha256 hash of ``seed:key`` mapped to [0, 1)."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big") / 2**64
    if h < test_frac:
        return "test"
    if h < test_frac + val_frac:
        return "val"
    return "train"


def _images(directory: str | Path, what: str, param: str) -> list[Path]:
    """:func:`maskdepth.io.list_images` whose errors name the parameter ``param`` (``bg_dir``, ``fg_dir``)."""
    d = Path(directory)
    if not d.is_dir():
        raise MaskDepthError(f"{'is not a directory' if d.exists() else 'not found'}: {d}", param=param)
    try:
        return list_images(d, what)
    except MaskDepthError:
        raise MaskDepthError(f"holds no images ({', '.join(IMAGE_EXTS)}): {d}", param=param) from None


def photo_backgrounds(bg_dir: str) -> list[BgSource]:
    """RGB photos in ``bg_dir`` (no depth). Raises MaskDepthError if missing or empty."""
    return [
        BgSource(id=f"photo/{p.stem}", kind="photo", group=f"photo/{p.stem}", path=str(p)) for p in _images(bg_dir, "background", "bg_dir")
    ]


def rgbd_backgrounds(rgbd_dir: str, every: int = 1) -> list[BgSource]:
    """RGB-D frames laid out like ``../shared/data/rgbd/tum_rgbd``.

    ``meta.json`` has ``scenes.<name>.intrinsics`` (fx, fy, cx, cy at the saved
    resolution) and ``frames`` (``id``, ``scene``); files are ``rgb/<id>.jpg|png``
    and ``depth/<id>.png`` (uint16 millimetres, 0 = invalid). ``every`` keeps every
    n-th frame of each scene (consecutive video frames are near-duplicates).

    Raises:
        MaskDepthError: missing directory, ``meta.json`` or frame files.
    """
    root = Path(rgbd_dir)
    if not root.is_dir():
        raise MaskDepthError(f"not found: {root}", param="rgbd_dir")
    meta = read_json(root / "meta.json", "RGB-D meta.json")
    try:
        scenes = meta["scenes"]
        frames = meta["frames"]
    except (KeyError, TypeError):
        raise MaskDepthError(f"{root / 'meta.json'}: needs 'scenes' (with intrinsics) and 'frames'") from None
    out, counter = [], {}
    for fr in frames:
        sc = fr["scene"]
        counter[sc] = counter.get(sc, -1) + 1
        if counter[sc] % every:
            continue
        rgb = next((root / "rgb" / f"{fr['id']}{e}" for e in (".jpg", ".png") if (root / "rgb" / f"{fr['id']}{e}").exists()), None)
        dep = root / "depth" / f"{fr['id']}.png"
        if rgb is None or not dep.exists():
            raise MaskDepthError(f"{root}: frame {fr['id']} lacks rgb/ or depth/ file")
        out.append(
            BgSource(
                id=f"rgbd/{sc}/{fr['id']}",
                kind="rgbd",
                group=f"rgbd/{sc}",
                path=str(rgb),
                depth_path=str(dep),
                intrinsics=dict(scenes[sc]["intrinsics"]),
                distortion=_distortion(scenes[sc]),
            )
        )
    if not out:
        raise MaskDepthError(f"{root}: no RGB-D frames listed in meta.json")
    return out


def _distortion(scene: dict) -> list | None:
    """OpenCV distortion coefficients of a scene in meta.json (``distortion`` list or
    ``distortion_original.k``, as in ``../shared/data/rgbd/tum_rgbd``); ``None`` if absent or zero."""
    k = scene.get("distortion")
    if isinstance(k, dict):
        k = k.get("k")
    if k is None and isinstance(scene.get("distortion_original"), dict):
        k = scene["distortion_original"].get("k")
    try:
        k = [float(x) for x in k] if k is not None else None
    except (TypeError, ValueError):
        return None
    return k if k and any(k) and len(k) in (4, 5, 8) else None


def render_backgrounds(n: int) -> list[BgSource]:
    """``n`` procedural rooms (seeds 0..n-1, mixed with the dataset seed at render time)."""
    return [BgSource(id=f"render/{i:05d}", kind="render", group=f"render/{i:05d}", seed=i) for i in range(n)]


def _categories_from_manifest(fg_dir: Path) -> dict[str, str]:
    """Per-cutout category ('person' / 'object') from a sidecar table.

    Looks for ``<fg_dir>/categories.csv`` (``file,category[,height_m]``) and, for the
    layout of ``../shared/data/real``, ``<fg_dir>/../MANIFEST.csv`` whose ``notes``
    column says "person/people cutout" or "furniture/object cutout".
    """
    cats: dict[str, str] = {}
    man = fg_dir.parent / "MANIFEST.csv"
    if man.exists():
        with man.open(newline="") as f:
            for row in csv.DictReader(f):
                if row.get("kind") == "fg":
                    notes = row.get("notes", "")
                    cats[Path(row["file"]).name] = "object" if "object" in notes else "person"
    side = fg_dir / "categories.csv"
    if side.exists():
        with side.open(newline="") as f:
            for row in csv.DictReader(f):
                cats[row["file"]] = row["category"]
    return cats


def file_foregrounds(fg_dir: str) -> list[FgSource]:
    """RGBA cutouts in ``fg_dir``; category from a sidecar table (default ``person``)."""
    d = Path(fg_dir)
    files = [p for p in _images(d, "foreground", "fg_dir") if p.suffix.lower() in (".png", ".webp", ".tif", ".tiff")]
    if not files:
        raise MaskDepthError(f"holds no PNG cutouts (foregrounds need an alpha channel): {d}", param="fg_dir")
    cats = _categories_from_manifest(d)
    return [FgSource(id=f"fg/{p.stem}", category=cats.get(p.name, "person"), path=str(p)) for p in files]


def procedural_foregrounds(n: int) -> list[FgSource]:
    """``n`` procedural silhouettes (2/3 people, 1/3 objects), for the embedded default."""
    return [FgSource(id=f"procfg/{i:04d}", category="object" if i % 3 == 2 else "person", seed=i) for i in range(n)]


def assign_splits(bgs: list[BgSource], fgs: list[FgSource], seed: int, val_frac: float, test_frac: float) -> None:
    """Set ``split`` on every source, in place.

    Photos and rendered rooms: by a hash of their group. RGB-D: whole scenes; with
    two or more scenes the smallest scene is the test scene (the TUM fr3 cabinet
    keyframes in ``../shared``), the rest train; with one scene everything trains.
    Foregrounds: by a hash of their id.
    """
    rgbd_scenes: dict[str, int] = {}
    for b in bgs:
        if b.kind == "rgbd":
            rgbd_scenes[b.group] = rgbd_scenes.get(b.group, 0) + 1
    test_scene = min(rgbd_scenes, key=lambda s: (rgbd_scenes[s], s)) if len(rgbd_scenes) >= 2 else None
    for b in bgs:
        if b.kind == "rgbd":
            b.split = "test" if b.group == test_scene else "train"
        else:
            b.split = split_of(b.group, seed, val_frac, test_frac)
    for f in fgs:
        f.split = split_of(f.id, seed, val_frac, test_frac)


# ----------------------------------------------------------------------------- grid mode


def _hash01(seed: int, key: str) -> float:
    return int.from_bytes(hashlib.sha256(f"grid:{seed}:{key}".encode()).digest()[:8], "big") / 2**64


def _quotas(n: int, avail: dict[str, int], weights: dict[str, float]) -> dict[str, int]:
    """Split ``n`` slots over kinds in proportion to ``weights`` (largest remainder), capped by
    ``avail``; slots a kind cannot fill go to the others. Deterministic."""
    q = {k: 0 for k in avail}
    left = n
    kinds = [k for k in avail if avail[k] > 0 and weights.get(k, 0.0) > 0]
    while left > 0 and kinds:
        wsum = sum(weights[k] for k in kinds)
        share = {k: left * weights[k] / wsum for k in kinds}
        base = {k: int(share[k]) for k in kinds}
        rem = left - sum(base.values())
        for k in sorted(kinds, key=lambda k: (-(share[k] - base[k]), k))[:rem]:
            base[k] += 1
        for k in kinds:
            take = min(base[k], avail[k] - q[k])
            q[k] += take
            left -= take
        kinds = [k for k in kinds if q[k] < avail[k]]
    return q


def select_grid(bgs: list[BgSource], fgs: list[FgSource], grid: dict, seed: int, mix: dict) -> tuple[dict, dict]:
    """Pick the backgrounds and foregrounds of each split for grid mode.

    Per split ``s``: ``grid["bgs"][s]`` backgrounds, shared among kinds in proportion to
    ``mix`` (largest remainder; a kind with too few gives its slots to the others), and
    ``grid["fgs"][s]`` foregrounds; within a kind, in the order of a hash of
    ``(seed, id)``. Sources keep the split :func:`assign_splits` gave them, so whole
    backgrounds and foregrounds stay held out.

    Returns:
        ``({split: [bg ids]}, {split: [fg ids]})``, each list in selection order.
    Raises:
        MaskDepthError (``param="grid"``): a split has fewer backgrounds or foregrounds than asked for.
    """
    out_b: dict[str, list[str]] = {}
    out_f: dict[str, list[str]] = {}
    for sp in SPLITS:
        nb = int(grid["bgs"].get(sp, 0))
        nf = int(grid["fgs"].get(sp, 0))
        by_kind: dict[str, list[BgSource]] = {}
        for b in bgs:
            if b.split == sp and mix.get(b.kind, 1.0) > 0:
                by_kind.setdefault(b.kind, []).append(b)
        for k in by_kind:
            by_kind[k].sort(key=lambda b: (_hash01(seed, b.id), b.id))
        avail = {k: len(v) for k, v in by_kind.items()}
        if nb and sum(avail.values()) < nb:
            have = ", ".join(f"{k} {n}" for k, n in sorted(avail.items())) or "none"
            raise MaskDepthError(
                f"needs {nb} backgrounds in the {sp} split, {sum(avail.values())} available ({have}): "
                "add backgrounds (e.g. render more rooms) or lower the grid's bgs count",
                param="grid",
            )
        q = _quotas(nb, avail, {k: mix.get(k, 1.0) for k in avail}) if nb else {}
        out_b[sp] = [b.id for k in sorted(q) for b in by_kind[k][: q[k]]]
        fpool = sorted((f for f in fgs if f.split == sp), key=lambda f: (_hash01(seed, f.id), f.id))
        if nf and len(fpool) < nf:
            raise MaskDepthError(
                f"needs {nf} foregrounds in the {sp} split, {len(fpool)} available: "
                "add cutouts (e.g. procedural_fg silhouettes) or lower the grid's fgs count",
                param="grid",
            )
        out_f[sp] = [f.id for f in fpool[:nf]]
    return out_b, out_f
