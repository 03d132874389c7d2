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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import MaskDepthError
from ..io import list_images, read_json

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
    """

    id: str
    kind: str
    group: str
    path: Optional[str] = None
    depth_path: Optional[str] = None
    intrinsics: Optional[dict] = None
    seed: Optional[int] = None
    split: str = "train"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class FgSource:
    """One foreground cutout: a file (RGBA PNG) or a procedural silhouette (``seed``)."""

    id: str
    category: str
    path: Optional[str] = None
    seed: Optional[int] = None
    height_m: Optional[float] = None
    split: str = "train"

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


def photo_backgrounds(bg_dir: str) -> list[BgSource]:
    """RGB photos in ``bg_dir`` (no depth). Raises MaskDepthError if missing or empty."""
    return [BgSource(id=f"photo/{p.stem}", kind="photo", group=f"photo/{p.stem}", path=str(p)) for p in list_images(bg_dir, "--bg-dir")]


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
        raise MaskDepthError(f"--rgbd-dir not found: {root}")
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
        out.append(BgSource(id=f"rgbd/{sc}/{fr['id']}", kind="rgbd", group=f"rgbd/{sc}", path=str(rgb), depth_path=str(dep), intrinsics=dict(scenes[sc]["intrinsics"])))
    if not out:
        raise MaskDepthError(f"{root}: no RGB-D frames listed in meta.json")
    return out


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
    files = [p for p in list_images(d, "--fg-dir") if p.suffix.lower() in (".png", ".webp", ".tif", ".tiff")]
    if not files:
        raise MaskDepthError(f"--fg-dir holds no PNG cutouts (foregrounds need an alpha channel): {d}")
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
